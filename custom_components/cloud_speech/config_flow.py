"""Config flow for Cloud Speech: service → credentials → language → voice.

Each step has its own handler; credential_forms.py says what the credential
forms ask and the entry data they give, voice_forms.py the voice forms. One
check serves every set of credentials: fetching the voice list proves the key
works and gives the voices to choose from.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, override

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.const import CONF_API_KEY
from homeassistant.core import callback
import probatio as vol  # HA 2026 validates with probatio, the voluptuous successor

from . import CloudSpeechConfigEntry
from .const import (
    CONF_AUTH_MODE,
    CONF_CLOUD,
    CONF_ENCODING,
    CONF_ENDPOINT,
    CONF_LANGUAGE,
    CONF_OUTPUT_FORMAT,
    CONF_SERVICE,
    CONF_VOICE,
    CONVAI_URL,
    CUSTOM_ENDPOINT_EXAMPLES,
    DEFAULT_CONVAI_ENCODING,
    DEFAULT_OUTPUT_FORMAT,
    DOMAIN,
    OUTPUT_FORMATS,
    PORTAL_URLS,
    SERVICE_AZURE,
    SERVICE_CONVAI,
)
from .credential_forms import (
    PASSWORD_SELECTOR,
    SECTION_ADVANCED,
    cloud_schema,
    convai_data,
    convai_schema,
    current_resource,
    custom_data,
    custom_schema,
    endpoint_typed,
    errors_in_section,
    region_data,
    region_schema,
    token_errors,
)
from .helpers import (
    create_client,
    entry_title,
    form_errors,
    resource_name,
    unique_id_for,
)
from .speech.azure import AuthMode, AzureCloud
from .speech.convai import ConvaiEncoding
from .speech.models import Voice
from .speech.voices import VoiceCatalog, voice_label
from .voice_cache import VoiceCache
from .voice_forms import (
    default_language,
    language_schema,
    options_for_voice,
    voice_and_format_schema,
    voice_schema,
    voice_settings_errors,
    voice_settings_for,
    voice_settings_schema,
    without_voice_settings,
)


class CloudSpeechConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add, re-authenticate or reconfigure a speech service."""

    VERSION = 1

    def __init__(self) -> None:
        """Start with nothing chosen."""
        self._cloud = AzureCloud.GLOBAL
        self._data: dict[str, Any] = {}
        self._voices = VoiceCatalog(())
        self._language = ""

    # --- a new service ---------------------------------------------------------

    @override
    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Let the user pick the service."""
        return self.async_show_menu(
            step_id="user", menu_options=[SERVICE_AZURE, SERVICE_CONVAI]
        )

    async def async_step_azure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask which Azure cloud the Speech resource lives in."""
        if user_input is not None:
            self._cloud = AzureCloud(user_input[CONF_CLOUD])
            if self._cloud is AzureCloud.CUSTOM:
                return await self.async_step_azure_custom()
            return await self.async_step_azure_region()
        return self.async_show_form(step_id="azure", data_schema=cloud_schema())

    async def async_step_azure_region(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the region and key of a resource in a regional cloud."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data = region_data(self._cloud, user_input, current={})
            if not (errors := await self._async_check(data)):
                return await self._async_add_service(data)
        return self._show_credentials_form(
            "azure_region",
            region_schema(self._cloud, key_required=True),
            user_input or {},
            errors,
            {"portal_url": PORTAL_URLS[self._cloud]},
        )

    async def async_step_azure_custom(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a custom endpoint (or a Speech container) and its key."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data = custom_data(user_input, current={})
            if not (errors := await self._async_check(data)):
                return await self._async_add_service(data)
        return self._show_credentials_form(
            "azure_custom",
            custom_schema(),
            user_input or {},
            errors,
            CUSTOM_ENDPOINT_EXAMPLES,
        )

    async def async_step_convai(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the Convai API key (and, for developers, another endpoint)."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data = convai_data(user_input, current={})
            if not (errors := await self._async_check(data)):
                return await self._async_add_service(data)
        return self._show_credentials_form(
            "convai",
            convai_schema(key_required=True, expanded=endpoint_typed(user_input)),
            user_input or {},
            errors_in_section(errors),
            {"convai_url": CONVAI_URL},
        )

    async def async_step_language(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask which language to speak by default."""
        if user_input is not None:
            self._language = user_input[CONF_LANGUAGE]
            return await self.async_step_voice()
        default = default_language(
            self._voices, self.hass.config.language, self.hass.config.country
        )
        return self.async_show_form(
            step_id="language",
            data_schema=self.add_suggested_values_to_schema(
                language_schema(self._voices), {CONF_LANGUAGE: default}
            ),
        )

    async def async_step_voice(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the voice among those speaking the chosen language."""
        if user_input is not None:
            return self.async_create_entry(
                title=entry_title(self._data),
                data=self._data,
                options={
                    CONF_VOICE: user_input[CONF_VOICE],
                    CONF_LANGUAGE: self._language,
                },
            )
        voices = self._voices.voices_for(self._language)
        return self.async_show_form(
            step_id="voice",
            data_schema=self.add_suggested_values_to_schema(
                voice_schema(voices), {CONF_VOICE: voices[0].short_name}
            ),
            description_placeholders={"language": self._language},
        )

    # --- a rejected key --------------------------------------------------------

    async def async_step_reauth(
        self, entry_data: Mapping[str, Any]
    ) -> ConfigFlowResult:
        """Start re-authentication after the service rejected the key."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a new key for the same resource, used the same way."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {**entry.data, CONF_API_KEY: user_input[CONF_API_KEY].strip()}
            if not (errors := await self._async_check(data)):
                unique_id = unique_id_for(data)
                if self._belongs_to_another_entry(unique_id, entry):
                    return self.async_abort(reason="already_configured")
                return self.async_update_reload_and_abort(
                    entry,
                    data_updates={CONF_API_KEY: data[CONF_API_KEY]},
                    unique_id=unique_id,
                )
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=vol.Schema({vol.Required(CONF_API_KEY): PASSWORD_SELECTOR}),
            errors=errors,
            description_placeholders={"resource": resource_name(entry.data)},
        )

    # --- another resource for the same entry -----------------------------------

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the cloud again, the current one suggested; Convai has none."""
        current = self._get_reconfigure_entry().data
        if current.get(CONF_SERVICE) == SERVICE_CONVAI:
            return await self.async_step_reconfigure_convai()
        if user_input is not None:
            self._cloud = AzureCloud(user_input[CONF_CLOUD])
            if self._cloud is AzureCloud.CUSTOM:
                return await self.async_step_reconfigure_custom()
            return await self.async_step_reconfigure_region()
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(cloud_schema(), current),
        )

    async def async_step_reconfigure_region(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the new region; an empty key keeps the current one."""
        current = self._get_reconfigure_entry().data
        errors: dict[str, str] = {}
        if user_input is not None:
            data = region_data(self._cloud, user_input, current)
            if not (errors := await self._async_check(data)):
                return await self._async_move_entry(data)
        return self._show_credentials_form(
            "reconfigure_region",
            region_schema(self._cloud, key_required=False),
            user_input or current_resource(current, self._cloud),
            errors,
            {"portal_url": PORTAL_URLS[self._cloud]},
        )

    async def async_step_reconfigure_custom(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the new endpoint; an empty key keeps the current one for it."""
        current = self._get_reconfigure_entry().data
        errors: dict[str, str] = {}
        if user_input is not None:
            data = custom_data(user_input, current)
            if not (errors := await self._async_check(data)):
                return await self._async_move_entry(data)
        return self._show_credentials_form(
            "reconfigure_custom",
            custom_schema(),
            user_input or current_resource(current, AzureCloud.CUSTOM),
            errors,
            CUSTOM_ENDPOINT_EXAMPLES,
        )

    async def async_step_reconfigure_convai(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a new Convai key or endpoint; an empty key keeps the current one."""
        current = self._get_reconfigure_entry().data
        errors: dict[str, str] = {}
        if user_input is not None:
            data = convai_data(user_input, current)
            if CONF_API_KEY not in data:
                errors = {CONF_API_KEY: "api_key_required"}
            elif not (errors := await self._async_check(data)):
                return await self._async_move_entry(data)
        else:
            endpoint = current.get(CONF_ENDPOINT)
            user_input = {
                SECTION_ADVANCED: {CONF_ENDPOINT: endpoint} if endpoint else {}
            }
        return self._show_credentials_form(
            "reconfigure_convai",
            convai_schema(key_required=False, expanded=endpoint_typed(user_input)),
            user_input,
            errors_in_section(errors),
            {"convai_url": CONVAI_URL},
        )

    @staticmethod
    @callback
    @override
    def async_get_options_flow(
        config_entry: CloudSpeechConfigEntry,
    ) -> CloudSpeechOptionsFlow:
        """Choose the voice and how it speaks."""
        return CloudSpeechOptionsFlow()

    # --- shared by the credential steps ----------------------------------------

    async def _async_check(self, data: Mapping[str, Any]) -> dict[str, str]:
        """The form errors of `data`; none when it gave the voices to choose from."""
        if errors := token_errors(data):
            return errors
        try:
            voices = await create_client(self.hass, data).async_get_voices()
        except Exception as err:  # noqa: BLE001 - form_errors logs the unexpected
            return form_errors(err)
        self._voices = VoiceCatalog(voices)
        return {}

    async def _async_add_service(self, data: dict[str, Any]) -> ConfigFlowResult:
        """Go on to choose a voice, unless the resource and key have an entry."""
        await self.async_set_unique_id(unique_id_for(data))
        self._abort_if_unique_id_configured()
        self._data = data
        return await self.async_step_language()

    async def _async_move_entry(self, data: dict[str, Any]) -> ConfigFlowResult:
        """Point the reconfigured entry at the checked resource."""
        entry = self._get_reconfigure_entry()
        unique_id = unique_id_for(data)
        if self._belongs_to_another_entry(unique_id, entry):
            return self.async_abort(reason="already_configured")
        # The entry now talks to another resource: its voices, not the
        # cached ones of the old resource, are what setup must use.
        await VoiceCache(self.hass, entry.entry_id).async_save(self._voices.voices)
        return self.async_update_reload_and_abort(
            entry, data=data, unique_id=unique_id, title=entry_title(data)
        )

    def _belongs_to_another_entry(self, unique_id: str, entry: ConfigEntry) -> bool:
        other = self.hass.config_entries.async_entry_for_domain_unique_id(
            DOMAIN, unique_id
        )
        return other is not None and other.entry_id != entry.entry_id

    def _show_credentials_form(
        self,
        step_id: str,
        schema: vol.Schema,
        suggested: Mapping[str, Any],
        errors: dict[str, str],
        placeholders: Mapping[str, str],
    ) -> ConfigFlowResult:
        """A credentials form, what was typed (never a stored key) filled in."""
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(
                schema, {CONF_AUTH_MODE: AuthMode.KEY.value, **suggested}
            ),
            errors=errors,
            description_placeholders=placeholders,
        )


class CloudSpeechOptionsFlow(OptionsFlowWithReload):
    """Choose the default voice and audio format (for Azure: how the voice speaks)."""

    _voice: Voice  # chosen in the first step

    def __init__(self) -> None:
        """Start with nothing chosen."""
        self._options: dict[str, Any] = {}

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the Azure voice and the output format."""
        entry: CloudSpeechConfigEntry = self.config_entry
        if entry.state is not ConfigEntryState.LOADED:
            # The voices come from the loaded entry.
            return self.async_abort(reason="not_loaded")
        if entry.data.get(CONF_SERVICE) == SERVICE_CONVAI:
            return await self.async_step_convai()
        if user_input is not None:
            self._choose_voice(user_input)
            if self._voice.is_high_definition:
                # HD voices take no style or prosody: nothing more to ask.
                return self.async_create_entry(
                    data=without_voice_settings(self._options)
                )
            return await self.async_step_voice_settings()
        return self._show_voice_form(
            "init", CONF_OUTPUT_FORMAT, list(OUTPUT_FORMATS), DEFAULT_OUTPUT_FORMAT
        )

    async def async_step_convai(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the Convai voice and encoding; Convai voices have no settings."""
        if user_input is not None:
            self._choose_voice(user_input)
            return self.async_create_entry(data=self._options)
        return self._show_voice_form(
            "convai",
            CONF_ENCODING,
            [encoding.value for encoding in ConvaiEncoding],
            DEFAULT_CONVAI_ENCODING,
        )

    async def async_step_voice_settings(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask how the chosen voice speaks."""
        voice = self._voice
        errors: dict[str, str] = {}
        if user_input is not None:
            settings = voice_settings_for(voice, user_input)
            # Shown on the fields rather than refused at each call.
            if not (errors := voice_settings_errors(voice, settings)):
                return self.async_create_entry(
                    data=without_voice_settings(self._options) | settings
                )
        suggested = user_input or voice_settings_for(voice, self.config_entry.options)
        return self.async_show_form(
            step_id="voice_settings",
            data_schema=self.add_suggested_values_to_schema(
                voice_settings_schema(voice), suggested
            ),
            errors=errors,
            description_placeholders={"voice": voice_label(voice)},
        )

    def _show_voice_form(
        self, step_id: str, format_key: str, formats: list[str], default_format: str
    ) -> ConfigFlowResult:
        """The voice picker and the audio format picker (`format_key`)."""
        entry: CloudSpeechConfigEntry = self.config_entry
        schema = voice_and_format_schema(
            entry.runtime_data.voices.voices, format_key, formats
        )
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(
                schema, {format_key: default_format, **entry.options}
            ),
        )

    def _choose_voice(self, user_input: Mapping[str, Any]) -> None:
        entry: CloudSpeechConfigEntry = self.config_entry
        # The selector only accepts the catalog's voices.
        self._voice = {
            voice.short_name: voice for voice in entry.runtime_data.voices.voices
        }[user_input[CONF_VOICE]]
        self._options = options_for_voice(self._voice, {**entry.options, **user_input})
