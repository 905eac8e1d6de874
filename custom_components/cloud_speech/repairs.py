"""The "no voice profile" repair: an account left with no voice to speak with.

Home Assistant cannot refuse to delete a config subentry, so deleting the
last voice profile leaves the account loaded with no TTS entity. The issue
says so, and its fix flow adds a profile; adding one any other way (the
entry's "Add voice profile") clears it too, as every change reloads the entry.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from homeassistant.components.repairs import RepairsFlow, RepairsFlowResult
from homeassistant.config_entries import ConfigEntryState, ConfigSubentry
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import (
    CONF_LANGUAGE,
    CONF_SERVICE,
    CONF_VOICE,
    DOMAIN,
    SUBENTRY_VOICE_PROFILE,
)
from .coordinator import CloudSpeechConfigEntry
from .voice_forms import (
    chosen_voice,
    default_language,
    format_choice,
    profile_schema,
    profile_title,
    profile_with_voice,
    suggested_voice_and_format,
    voice_and_format_schema,
)

NO_VOICE_PROFILE = "no_voice_profile"


def no_voice_profile_issue_id(entry_id: str) -> str:
    """The issue of one account: each account can lose its last profile."""
    return f"{NO_VOICE_PROFILE}_{entry_id}"


@callback
def async_check_voice_profiles(
    hass: HomeAssistant, entry: CloudSpeechConfigEntry
) -> None:
    """Raise the issue when the entry has no voice profile, else clear it."""
    issue_id = no_voice_profile_issue_id(entry.entry_id)
    if any(
        subentry.subentry_type == SUBENTRY_VOICE_PROFILE
        for subentry in entry.subentries.values()
    ):
        ir.async_delete_issue(hass, DOMAIN, issue_id)
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        is_fixable=True,
        is_persistent=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key=NO_VOICE_PROFILE,
        translation_placeholders={"entry_title": entry.title},
        data={"entry_id": entry.entry_id},
    )


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, Any] | None
) -> RepairsFlow:
    """The fix flow of a "no voice profile" issue."""
    return AddVoiceProfileRepairFlow(str((data or {}).get("entry_id", "")))


class AddVoiceProfileRepairFlow(RepairsFlow):
    """Add a voice profile to an account that has none.

    The profile's name, language, voice and format; how the voice speaks is
    set afterwards by reconfiguring the profile. A repair flow cannot hand
    over to the subentry flow (only config flows have a next flow).
    """

    def __init__(self, entry_id: str) -> None:
        """Add a profile to the entry `entry_id`."""
        self._entry_id = entry_id
        self._name = ""
        self._profile: dict[str, Any] = {}

    def _entry(self) -> CloudSpeechConfigEntry | None:
        entry: CloudSpeechConfigEntry | None = self.hass.config_entries.async_get_entry(
            self._entry_id
        )
        if entry is None or entry.state is not ConfigEntryState.LOADED:
            return None
        return entry

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> RepairsFlowResult:
        """Start with the profile form (the manager passes the issue id in)."""
        return await self.async_step_profile()

    async def async_step_profile(
        self, user_input: dict[str, Any] | None = None
    ) -> RepairsFlowResult:
        """Ask for the profile's name and language."""
        if (entry := self._entry()) is None:
            # The voices to choose from come from the loaded entry.
            return self.async_abort(reason="entry_not_loaded")
        catalog = entry.runtime_data.voices
        if user_input is not None:
            self._name = user_input.get(CONF_NAME, "")
            self._profile[CONF_LANGUAGE] = user_input[CONF_LANGUAGE]
            return await self.async_step_voice()
        language = default_language(
            catalog, self.hass.config.language, self.hass.config.country
        )
        return self.async_show_form(
            step_id="profile",
            data_schema=self.add_suggested_values_to_schema(
                profile_schema(catalog), {CONF_LANGUAGE: language}
            ),
            description_placeholders={"entry_title": entry.title},
        )

    async def async_step_voice(
        self, user_input: dict[str, Any] | None = None
    ) -> RepairsFlowResult:
        """Ask for a voice speaking the language and the audio format; add the profile."""
        if (entry := self._entry()) is None:
            return self.async_abort(reason="entry_not_loaded")
        catalog = entry.runtime_data.voices
        choice = format_choice(entry.data.get(CONF_SERVICE))
        if user_input is not None:
            voice = chosen_voice(catalog, user_input[CONF_VOICE])
            profile = profile_with_voice(voice, {**self._profile, **user_input})
            # The entry reloads, which adds the entity and clears the issue.
            self.hass.config_entries.async_add_subentry(
                entry,
                ConfigSubentry(
                    data=MappingProxyType(profile),
                    subentry_type=SUBENTRY_VOICE_PROFILE,
                    title=profile_title(self._name, voice),
                    unique_id=None,
                ),
            )
            return self.async_create_entry(data={})
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
