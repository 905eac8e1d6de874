"""The voice profile subentry flow: add a voice profile to an account, or change one.

Each profile is a config subentry of the account's entry, with its own TTS
entity; voice_forms.py says what its forms ask.
"""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import (
    SOURCE_USER,
    ConfigEntryState,
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.const import CONF_NAME
from homeassistant.data_entry_flow import FlowHandler, FlowResult

from .const import CONF_LANGUAGE, CONF_SERVICE, CONF_VOICE
from .coordinator import CloudSpeechConfigEntry
from .speech.models import Voice
from .speech.voices import voice_label
from .voice_forms import (
    chosen_voice,
    default_language,
    format_choice,
    needs_voice_settings,
    profile_schema,
    profile_title,
    profile_with_voice,
    suggested_voice_and_format,
    voice_and_format_schema,
    voice_settings_errors,
    voice_settings_for,
    voice_settings_schema,
    without_voice_settings,
)


class VoiceProfileSteps[ResultT: FlowResult[Any, Any]](FlowHandler[Any, ResultT, Any]):
    """The steps that ask for a voice profile, shared by the flows that make one.

    Name and language, then a voice speaking it and the audio format, then
    (Azure voices that take them) how the voice speaks. A flow says which
    entry it adds to (`_loaded_entry`) and what it does with the profile
    (`_async_finish`).
    """

    _voice: Voice  # chosen in the voice step

    def __init__(self) -> None:
        """Start with nothing chosen."""
        self._name = ""
        self._profile: dict[str, Any] = {}

    def _loaded_entry(self) -> CloudSpeechConfigEntry | None:
        """The account the profile belongs to, if it is loaded."""
        raise NotImplementedError

    def _async_finish(self, title: str, profile: dict[str, Any]) -> ResultT:
        """Keep the profile."""
        raise NotImplementedError

    async def async_step_profile(
        self, user_input: dict[str, Any] | None = None
    ) -> ResultT:
        """Ask for the profile's name and language."""
        if (entry := self._loaded_entry()) is None:
            # The voices to choose from come from the loaded entry.
            return self.async_abort(reason="entry_not_loaded")
        catalog = entry.runtime_data.voices
        if user_input is not None:
            self._name = user_input.get(CONF_NAME, "")
            self._profile[CONF_LANGUAGE] = user_input[CONF_LANGUAGE]
            return await self.async_step_voice()
        language = self._profile.get(CONF_LANGUAGE)
        if language not in catalog.languages:
            language = default_language(
                catalog, self.hass.config.language, self.hass.config.country
            )
        return self.async_show_form(
            step_id="profile",
            data_schema=self.add_suggested_values_to_schema(
                profile_schema(catalog),
                {CONF_NAME: self._name, CONF_LANGUAGE: language},
            ),
            description_placeholders={"entry_title": entry.title},
        )

    async def async_step_voice(
        self, user_input: dict[str, Any] | None = None
    ) -> ResultT:
        """Ask for a voice speaking the language, and the audio format."""
        if (entry := self._loaded_entry()) is None:
            return self.async_abort(reason="entry_not_loaded")
        catalog = entry.runtime_data.voices
        service = entry.data.get(CONF_SERVICE)
        choice = format_choice(service)
        if user_input is not None:
            self._voice = voice = chosen_voice(catalog, user_input[CONF_VOICE])
            self._profile = profile_with_voice(voice, {**self._profile, **user_input})
            if needs_voice_settings(service, voice):
                return await self.async_step_voice_settings()
            return self._async_finish(
                profile_title(self._name, voice), without_voice_settings(self._profile)
            )
        language = self._profile[CONF_LANGUAGE]
        voices = catalog.voices_for(language)
        return self.async_show_form(
            step_id="voice",
            data_schema=self.add_suggested_values_to_schema(
                voice_and_format_schema(voices, choice),
                suggested_voice_and_format(voices, choice, self._profile),
            ),
            description_placeholders={"language": language},
        )

    async def async_step_voice_settings(
        self, user_input: dict[str, Any] | None = None
    ) -> ResultT:
        """Ask how the chosen voice speaks: its own styles and roles, prosody."""
        voice = self._voice
        errors: dict[str, str] = {}
        if user_input is not None:
            settings = voice_settings_for(voice, user_input)
            # Shown on the fields rather than refused at each call.
            if not (errors := voice_settings_errors(voice, settings)):
                return self._async_finish(
                    profile_title(self._name, voice),
                    without_voice_settings(self._profile) | settings,
                )
        return self.async_show_form(
            step_id="voice_settings",
            data_schema=self.add_suggested_values_to_schema(
                voice_settings_schema(voice),
                user_input or voice_settings_for(voice, self._profile),
            ),
            errors=errors,
            description_placeholders={"voice": voice_label(voice)},
        )


class VoiceProfileSubentryFlow(
    VoiceProfileSteps[SubentryFlowResult], ConfigSubentryFlow
):
    """Add a voice profile to an account, or change one.

    The same forms for a new profile and a changed one, the changed one's
    choices suggested.
    """

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Add a voice profile."""
        return await self.async_step_profile()

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change a voice profile, its current choices suggested."""
        subentry = self._get_reconfigure_subentry()
        self._name = subentry.title
        self._profile = dict(subentry.data)
        return await self.async_step_profile()

    def _loaded_entry(self) -> CloudSpeechConfigEntry | None:
        entry: CloudSpeechConfigEntry = self._get_entry()
        return entry if entry.state is ConfigEntryState.LOADED else None

    def _async_finish(self, title: str, profile: dict[str, Any]) -> SubentryFlowResult:
        """Add the profile, or change it; the entry's listener reloads it."""
        if self.source == SOURCE_USER:
            return self.async_create_entry(title=title, data=profile)
        return self.async_update_and_abort(
            self._get_entry(),
            self._get_reconfigure_subentry(),
            title=title,
            data=profile,
        )
