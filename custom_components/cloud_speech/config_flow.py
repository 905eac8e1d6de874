"""Config flow for Cloud Speech: service → credentials → the first voice profile.

The entry is the account (service, cloud, region or endpoint, key); each voice
profile is a config subentry with its own TTS entity, added and changed by
VoiceProfileSubentryFlow (profile_flow.py). Each step has its own handler; credential_forms.py
says what the credential forms ask and the entry data they give,
voice_forms.py the voice forms. One check serves every set of credentials:
fetching the voice list proves the key works and gives the voices to choose
from.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, override

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryData,
    ConfigSubentryFlow,
    OptionsFlow,
)
from homeassistant.const import CONF_API_KEY, Platform
from homeassistant.core import callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.selector import (
    EntitySelector,
    EntitySelectorConfig,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)
import probatio as vol  # HA 2026 validates with probatio, the voluptuous successor

from . import CloudSpeechConfigEntry
from .const import (
    CONF_AUTH_MODE,
    CONF_CLOUD,
    CONF_ENDPOINT,
    CONF_FALLBACK_ENGINE,
    CONF_LANGUAGE,
    CONF_PROFANITY,
    CONF_SERVICE,
    CONF_VOICE,
    CONVAI_URL,
    CUSTOM_ENDPOINT_EXAMPLES,
    DOMAIN,
    PORTAL_URLS,
    SERVICE_AZURE,
    SERVICE_CONVAI,
    SUBENTRY_VOICE_PROFILE,
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
from .profile_flow import VoiceProfileSubentryFlow
from .speech.azure import AuthMode, AzureCloud
from .speech.azure_recognizer import Profanity
from .speech.voices import VoiceCatalog
from .usage_meter import allowance_fields, with_allowance
from .voice_cache import VoiceCache
from .voice_forms import (
    chosen_voice,
    default_language,
    language_schema,
    profile_title,
    voice_schema,
)


class CloudSpeechConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add, re-authenticate or reconfigure a speech service."""

    # 2: the voice moved from the entry's options to voice profile subentries.
    VERSION = 2
    MINOR_VERSION = 1

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
        """Ask for the voice of the first profile, among those speaking the language."""
        if user_input is not None:
            voice = chosen_voice(self._voices, user_input[CONF_VOICE])
            return self.async_create_entry(
                title=entry_title(self._data),
                data=self._data,
                subentries=[
                    ConfigSubentryData(
                        subentry_type=SUBENTRY_VOICE_PROFILE,
                        title=profile_title(None, voice),
                        data={
                            CONF_VOICE: voice.short_name,
                            CONF_LANGUAGE: self._language,
                        },
                        # Two profiles may share a voice, spoken differently.
                        unique_id=None,
                    )
                ],
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
                return self._async_update_and_reload(
                    entry,
                    data={**entry.data, CONF_API_KEY: data[CONF_API_KEY]},
                    unique_id=unique_id,
                    title=entry.title,
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
        """Settings of the account; voices are set in its profiles."""
        return CloudSpeechOptionsFlow()

    @classmethod
    @callback
    @override
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Voice profiles: "Add voice profile" on the entry."""
        return {SUBENTRY_VOICE_PROFILE: VoiceProfileSubentryFlow}

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
        return self._async_update_and_reload(
            entry, data=data, unique_id=unique_id, title=entry_title(data)
        )

    def _async_update_and_reload(
        self, entry: ConfigEntry, *, data: dict[str, Any], unique_id: str, title: str
    ) -> ConfigFlowResult:
        """Update the entry and reload it with the new data.

        A loaded entry reloads itself on every change (its update listener,
        which also brings up profiles as they are added); one whose setup
        failed has no listener yet and is reloaded here.
        """
        if entry.update_listeners:
            return self.async_update_and_abort(
                entry, data=data, unique_id=unique_id, title=title
            )
        return self.async_update_reload_and_abort(
            entry, data=data, unique_id=unique_id, title=title
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


class CloudSpeechOptionsFlow(OptionsFlow):
    """Settings of the account as a whole; each voice profile has its own."""

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show the account's settings; the entry reloads when they change."""
        if user_input is not None:
            options = with_allowance(self.config_entry.options, user_input)
            if not user_input.get(CONF_FALLBACK_ENGINE):
                options.pop(CONF_FALLBACK_ENGINE, None)  # cleared: no fallback
            return self.async_create_entry(data=options)
        own_engines = [
            entity.entity_id
            for entity in er.async_entries_for_config_entry(
                er.async_get(self.hass), self.config_entry.entry_id
            )
            if entity.domain == Platform.TTS
        ]
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(
                account_options_schema(self.config_entry.data, own_engines),
                # The service's own default, shown without being stored.
                {CONF_PROFANITY: Profanity.MASKED.value, **self.config_entry.options},
            ),
        )


def account_options_schema(
    data: Mapping[str, Any], own_engines: list[str]
) -> vol.Schema:
    """What the account's options form asks: a fallback, speech to text, allowances.

    The fallback is another TTS engine of this Home Assistant: the account's
    own voices (`own_engines`) would fail with it. Empty means none.
    """
    fields: dict[vol.Marker, Any] = {
        vol.Optional(CONF_FALLBACK_ENGINE): EntitySelector(
            EntitySelectorConfig(domain=Platform.TTS, exclude_entities=own_engines)
        )
    }
    if data.get(CONF_SERVICE) != SERVICE_CONVAI:
        # The REST API's `profanity` parameter; Convai has no speech to text.
        fields[vol.Optional(CONF_PROFANITY)] = SelectSelector(
            SelectSelectorConfig(
                options=[choice.value for choice in Profanity],
                translation_key=CONF_PROFANITY,
                mode=SelectSelectorMode.DROPDOWN,
            )
        )
    return vol.Schema(fields | allowance_fields(data))
