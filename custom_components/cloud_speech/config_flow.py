"""Config flow for Cloud Speech: service → credentials → language → voice.

The same credential steps serve a new entry and a reconfiguration, and one
function checks every set of credentials of either service (new,
reconfigured or re-entered after the service rejected a key): it fetches the
voice list, which both proves the key works and gives the voices to choose
from. The language and voice steps then serve Azure and Convai alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
import logging
from typing import Any, Final, override

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant, callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.util import language as language_util
import probatio as vol  # HA 2026 validates with probatio, the voluptuous successor

from . import CloudSpeechConfigEntry
from .const import (
    CONF_CLOUD,
    CONF_ENCODING,
    CONF_ENDPOINT,
    CONF_LANGUAGE,
    CONF_OUTPUT_FORMAT,
    CONF_PITCH,
    CONF_RATE,
    CONF_REGION,
    CONF_ROLE,
    CONF_SERVICE,
    CONF_STYLE,
    CONF_STYLE_DEGREE,
    CONF_VOICE,
    CONF_VOLUME,
    CONVAI_ENCODINGS,
    DEFAULT_CONVAI_ENCODING,
    DEFAULT_OUTPUT_FORMAT,
    DOMAIN,
    OUTPUT_FORMATS,
    SERVICE_AZURE,
    SERVICE_CONVAI,
    VOICE_SETTINGS,
)
from .helpers import (
    create_client,
    entry_title,
    form_errors,
    resource_name,
    unique_id_for,
)
from .speech.azure import REGIONS, AzureCloud
from .speech.models import Voice
from .speech.ssml import (
    PITCH_PERCENT_RANGE,
    RATE_PERCENT_RANGE,
    STYLE_DEGREE_RANGE,
    VOLUME_PERCENT_RANGE,
)
from .speech.voices import VoiceCatalog, normalize_language_tag, voice_label
from .voice_cache import VoiceCache

_LOGGER = logging.getLogger(__name__)

#: Where each regional cloud's users find their key and region
#: (Azure portal → Speech resource → Keys and Endpoint).
PORTAL_URLS: Final[Mapping[AzureCloud, str]] = {
    AzureCloud.GLOBAL: "https://portal.azure.com",
    AzureCloud.CHINA: "https://portal.azure.cn",
    AzureCloud.US_GOVERNMENT: "https://portal.azure.us",
}
# Passed as placeholders: translations must not contain URLs.
CUSTOM_ENDPOINT_EXAMPLES: Final = {
    "resource_example": "https://NAME.cognitiveservices.azure.com",
    "container_example": "http://HOST:5000",
}
#: Where Convai users sign in to copy their API key.
CONVAI_URL: Final = "https://convai.com"
#: The collapsed part of the Convai form: the endpoint, which only a developer
#: (pointing the integration at an emulator or a proxy) changes.
SECTION_ADVANCED: Final = "advanced"
FALLBACK_LANGUAGE: Final = "en-US"


def _percent_slider(limits: tuple[Decimal, Decimal]) -> NumberSelector:
    return NumberSelector(
        NumberSelectorConfig(
            min=float(limits[0]),
            max=float(limits[1]),
            step=1,
            mode=NumberSelectorMode.SLIDER,
            unit_of_measurement="%",
        )
    )


# The ranges speech/ssml.py enforces per call (as Azure documents them): one
# source of truth for the form and for tts.speak's options.
STYLE_DEGREE_SELECTOR: Final = NumberSelector(
    NumberSelectorConfig(
        min=float(STYLE_DEGREE_RANGE[0]),
        max=float(STYLE_DEGREE_RANGE[1]),
        step=0.01,
        mode=NumberSelectorMode.BOX,
    )
)
RATE_SELECTOR: Final = _percent_slider(RATE_PERCENT_RANGE)
PITCH_SELECTOR: Final = _percent_slider(PITCH_PERCENT_RANGE)
VOLUME_SELECTOR: Final = _percent_slider(VOLUME_PERCENT_RANGE)
PASSWORD_SELECTOR: Final = TextSelector(
    TextSelectorConfig(type=TextSelectorType.PASSWORD)
)


class CredentialsCheckError(Exception):
    """Credentials that cannot be used; `errors` is what the form shows."""

    def __init__(self, errors: dict[str, str]) -> None:
        """Keep the form errors."""
        super().__init__(errors)
        self.errors = errors


async def async_fetch_voices(
    hass: HomeAssistant, data: Mapping[str, Any]
) -> VoiceCatalog:
    """Check credentials by fetching the voices they give access to.

    Raises CredentialsCheckError with the errors to show on the form.
    """
    try:
        client = create_client(hass, data)
        voices = await client.async_get_voices()
    except Exception as err:
        raise CredentialsCheckError(form_errors(err)) from err
    return VoiceCatalog(voices)


def default_language(
    catalog: VoiceCatalog, language: str, country: str | None
) -> str | None:
    """Return the offered language closest to Home Assistant's (``zh-Hans`` → ``zh-CN``)."""
    languages = catalog.languages
    if best := language_util.matches(language, languages, country=country):
        in_country = [tag for tag in best if country and tag.endswith(f"-{country}")]
        if not in_country and FALLBACK_LANGUAGE in best:
            # English in a country with no English voices of its own (HA matches
            # the variants alphabetically, which would give en-AU): en-US.
            return FALLBACK_LANGUAGE
        return best[0]
    if FALLBACK_LANGUAGE in languages:
        return FALLBACK_LANGUAGE
    return languages[0] if languages else None


def language_options(catalog: VoiceCatalog) -> list[SelectOptionDict]:
    """Every language, labelled with the service's name for it when known."""
    names: dict[str, str] = {}
    for voice in catalog.voices:
        if voice.locale_name:
            names.setdefault(normalize_language_tag(voice.locale), voice.locale_name)
    return [
        SelectOptionDict(
            value=tag, label=f"{tag} — {names[tag]}" if tag in names else tag
        )
        for tag in catalog.languages
    ]


def voice_options(voices: list[Voice] | tuple[Voice, ...]) -> list[SelectOptionDict]:
    """Voices for a picker."""
    return [
        SelectOptionDict(value=voice.short_name, label=voice_label(voice))
        for voice in voices
    ]


def voice_settings_schema(voice: Voice) -> vol.Schema:
    """How `voice` may speak: only its own styles and roles are offered.

    A role and a style degree only qualify a style (Azure ignores
    mstts:express-as without one), so a voice without styles gets neither.
    """
    schema: dict[vol.Marker, Any] = {}
    if voice.styles:
        schema[vol.Optional(CONF_STYLE)] = SelectSelector(
            SelectSelectorConfig(
                options=list(voice.styles), mode=SelectSelectorMode.DROPDOWN
            )
        )
        schema[vol.Optional(CONF_STYLE_DEGREE)] = STYLE_DEGREE_SELECTOR
    if voice.roles and voice.styles:
        schema[vol.Optional(CONF_ROLE)] = SelectSelector(
            SelectSelectorConfig(
                options=list(voice.roles), mode=SelectSelectorMode.DROPDOWN
            )
        )
    schema[vol.Optional(CONF_RATE)] = RATE_SELECTOR
    schema[vol.Optional(CONF_PITCH)] = PITCH_SELECTOR
    schema[vol.Optional(CONF_VOLUME)] = VOLUME_SELECTOR
    return vol.Schema(schema)


def voice_settings_for(voice: Voice, settings: Mapping[str, Any]) -> dict[str, Any]:
    """Return the voice settings in `settings` that `voice` can use.

    A style or role chosen for another voice is dropped, and the style
    degree with it when the style goes.
    """
    kept = {
        key: value
        for key in VOICE_SETTINGS
        if (value := settings.get(key)) is not None and value != ""
    }
    if (
        CONF_STYLE in kept and kept[CONF_STYLE] not in voice.styles
    ) or not voice.styles:
        kept.pop(CONF_STYLE, None)
        kept.pop(CONF_STYLE_DEGREE, None)
    if (CONF_ROLE in kept and kept[CONF_ROLE] not in voice.roles) or not voice.styles:
        kept.pop(CONF_ROLE, None)
    for key in (CONF_RATE, CONF_PITCH, CONF_VOLUME):
        # The sliders step by whole percents: store 10, not 10.0.
        if isinstance(value := kept.get(key), float) and value.is_integer():
            kept[key] = int(value)
    return kept


class CloudSpeechConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add, re-authenticate or reconfigure a speech service."""

    VERSION = 1

    def __init__(self) -> None:
        """Start with nothing chosen."""
        self._service = SERVICE_AZURE
        self._cloud = AzureCloud.GLOBAL
        self._data: dict[str, Any] = {}
        self._voices = VoiceCatalog(())
        self._language = ""

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
        return self.async_show_form(step_id="azure", data_schema=_cloud_schema())

    async def async_step_azure_region(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the region and key of a resource in a regional cloud."""
        return await self._async_step_credentials("azure_region", user_input)

    async def async_step_azure_custom(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a custom endpoint (or a Speech container) and its key."""
        return await self._async_step_credentials("azure_custom", user_input)

    async def async_step_convai(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the Convai API key (and, for developers, another endpoint)."""
        self._service = SERVICE_CONVAI
        return await self._async_step_credentials("convai", user_input)

    async def async_step_language(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask which language to speak by default."""
        if user_input is not None:
            self._language = user_input[CONF_LANGUAGE]
            return await self.async_step_voice()
        schema = vol.Schema(
            {
                vol.Required(CONF_LANGUAGE): SelectSelector(
                    SelectSelectorConfig(
                        options=language_options(self._voices),
                        mode=SelectSelectorMode.DROPDOWN,
                    )
                )
            }
        )
        default = default_language(
            self._voices, self.hass.config.language, self.hass.config.country
        )
        return self.async_show_form(
            step_id="language",
            data_schema=self.add_suggested_values_to_schema(
                schema, {CONF_LANGUAGE: default}
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
        schema = vol.Schema(
            {
                vol.Required(CONF_VOICE): SelectSelector(
                    SelectSelectorConfig(
                        options=voice_options(voices),
                        mode=SelectSelectorMode.DROPDOWN,
                    )
                )
            }
        )
        return self.async_show_form(
            step_id="voice",
            data_schema=self.add_suggested_values_to_schema(
                schema, {CONF_VOICE: voices[0].short_name}
            ),
            description_placeholders={"language": self._language},
        )

    async def async_step_reauth(
        self, entry_data: Mapping[str, Any]
    ) -> ConfigFlowResult:
        """Start re-authentication after the service rejected the key."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a new key for the same resource."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {**entry.data, CONF_API_KEY: user_input[CONF_API_KEY].strip()}
            try:
                await async_fetch_voices(self.hass, data)
            except CredentialsCheckError as err:
                errors = err.errors
            else:
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

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the cloud again, the current one suggested; Convai has none."""
        if self._get_reconfigure_entry().data.get(CONF_SERVICE) == SERVICE_CONVAI:
            return await self.async_step_reconfigure_convai()
        if user_input is not None:
            self._cloud = AzureCloud(user_input[CONF_CLOUD])
            if self._cloud is AzureCloud.CUSTOM:
                return await self.async_step_reconfigure_custom()
            return await self.async_step_reconfigure_region()
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                _cloud_schema(), self._get_reconfigure_entry().data
            ),
        )

    async def async_step_reconfigure_region(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the new region; an empty key keeps the current one."""
        return await self._async_step_credentials("reconfigure_region", user_input)

    async def async_step_reconfigure_custom(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the new endpoint; an empty key keeps the current one."""
        return await self._async_step_credentials("reconfigure_custom", user_input)

    async def async_step_reconfigure_convai(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a new Convai key or endpoint; an empty key keeps the current one."""
        self._service = SERVICE_CONVAI
        return await self._async_step_credentials("reconfigure_convai", user_input)

    @staticmethod
    @callback
    @override
    def async_get_options_flow(
        config_entry: CloudSpeechConfigEntry,
    ) -> CloudSpeechOptionsFlow:
        """Choose the voice and how it speaks."""
        return CloudSpeechOptionsFlow()

    async def _async_step_credentials(
        self, step_id: str, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        """Show, check and use the credentials of `self._service` (and `self._cloud`)."""
        reconfiguring = self.source == SOURCE_RECONFIGURE
        convai = self._service == SERVICE_CONVAI
        errors: dict[str, str] = {}
        if user_input is not None:
            try:
                data = self._credentials(user_input)
                self._voices = await async_fetch_voices(self.hass, data)
            except CredentialsCheckError as err:
                errors = err.errors
                if convai and CONF_ENDPOINT in errors:
                    # The field lives in a section, and forms show errors per
                    # top-level field: the section's.
                    errors = {SECTION_ADVANCED: errors[CONF_ENDPOINT]}
            else:
                return await self._async_use_credentials(data)
            suggested: Mapping[str, Any] = user_input
        elif reconfiguring:
            current = self._get_reconfigure_entry().data
            if convai:
                endpoint = current.get(CONF_ENDPOINT)
                suggested = {
                    SECTION_ADVANCED: {CONF_ENDPOINT: endpoint} if endpoint else {}
                }
            else:
                suggested = {
                    key: current[key]
                    for key in (CONF_REGION, CONF_ENDPOINT)
                    if key in current and current.get(CONF_CLOUD) == self._cloud
                }
        else:
            suggested = {}

        placeholders: Mapping[str, str]
        if convai:
            schema = _convai_schema(
                key_required=not reconfiguring,
                expanded=bool(suggested.get(SECTION_ADVANCED)),
            )
            placeholders = {"convai_url": CONVAI_URL}
        elif self._cloud is AzureCloud.CUSTOM:
            schema = _custom_schema()
            placeholders = CUSTOM_ENDPOINT_EXAMPLES
        else:
            schema = _region_schema(self._cloud, key_required=not reconfiguring)
            placeholders = {"portal_url": PORTAL_URLS[self._cloud]}
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(schema, suggested),
            errors=errors,
            description_placeholders=placeholders,
        )

    def _credentials(self, user_input: Mapping[str, Any]) -> dict[str, Any]:
        """Entry data for the form's input (and, reconfiguring, the entry's)."""
        data: dict[str, Any] = {}
        if self.source == SOURCE_RECONFIGURE:
            # Keep what the form does not ask for (such as the auth mode).
            data = {
                key: value
                for key, value in self._get_reconfigure_entry().data.items()
                if key not in (CONF_REGION, CONF_ENDPOINT)
            }
        data[CONF_SERVICE] = self._service
        if self._service == SERVICE_CONVAI:
            advanced = user_input.get(SECTION_ADVANCED) or {}
            # Empty: Convai itself (helpers.create_client's default).
            if endpoint := str(advanced.get(CONF_ENDPOINT) or "").strip():
                data[CONF_ENDPOINT] = endpoint
        else:
            data[CONF_CLOUD] = self._cloud.value
            if self._cloud is AzureCloud.CUSTOM:
                data[CONF_ENDPOINT] = str(user_input[CONF_ENDPOINT]).strip()
            else:
                data[CONF_REGION] = user_input[CONF_REGION]
        if api_key := str(user_input.get(CONF_API_KEY) or "").strip():
            data[CONF_API_KEY] = api_key
        elif (
            data.get(CONF_CLOUD) == AzureCloud.CUSTOM or self._service == SERVICE_CONVAI
        ) and data.get(CONF_ENDPOINT) != self._current_endpoint():
            # A stored key never goes on to a new endpoint (perhaps a container
            # on plain HTTP) that the user did not give it for.
            data.pop(CONF_API_KEY, None)
            if self._service == SERVICE_CONVAI:
                raise CredentialsCheckError({CONF_API_KEY: "api_key_required"})
        return data

    def _current_endpoint(self) -> str | None:
        """The reconfigured entry's custom endpoint, if any."""
        if self.source != SOURCE_RECONFIGURE:
            return None
        endpoint = self._get_reconfigure_entry().data.get(CONF_ENDPOINT)
        return str(endpoint) if endpoint else None

    async def _async_use_credentials(self, data: dict[str, Any]) -> ConfigFlowResult:
        """Update the reconfigured entry, or go on to choose a voice."""
        unique_id = unique_id_for(data)
        if self.source == SOURCE_RECONFIGURE:
            entry = self._get_reconfigure_entry()
            if self._belongs_to_another_entry(unique_id, entry):
                return self.async_abort(reason="already_configured")
            # The entry now talks to another resource: its voices, not the
            # cached ones of the old resource, are what setup must use.
            await VoiceCache(self.hass, entry.entry_id).async_save(self._voices.voices)
            return self.async_update_reload_and_abort(
                entry, data=data, unique_id=unique_id, title=entry_title(data)
            )
        await self.async_set_unique_id(unique_id)
        self._abort_if_unique_id_configured()
        self._data = data
        return await self.async_step_language()

    def _belongs_to_another_entry(self, unique_id: str, entry: ConfigEntry) -> bool:
        """Whether an entry other than `entry` already uses `unique_id`."""
        other = self.hass.config_entries.async_entry_for_domain_unique_id(
            DOMAIN, unique_id
        )
        return other is not None and other.entry_id != entry.entry_id


class CloudSpeechOptionsFlow(OptionsFlowWithReload):
    """Choose the default voice and audio format (for Azure: how the voice speaks)."""

    _voice: Voice  # chosen in the first step

    def __init__(self) -> None:
        """Start with nothing chosen."""
        self._options: dict[str, Any] = {}

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the voice and the output format."""
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
                return self.async_create_entry(data=self._options_without_settings())
            return await self.async_step_voice_settings()
        return self._show_voice_form(
            "init",
            CONF_OUTPUT_FORMAT,
            list(OUTPUT_FORMATS),
            DEFAULT_OUTPUT_FORMAT,
        )

    async def async_step_convai(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the Convai voice and encoding; Convai voices have no settings."""
        if user_input is not None:
            self._choose_voice(user_input)
            return self.async_create_entry(data=self._options)
        return self._show_voice_form(
            "convai", CONF_ENCODING, list(CONVAI_ENCODINGS), DEFAULT_CONVAI_ENCODING
        )

    def _show_voice_form(
        self, step_id: str, format_key: str, formats: list[str], default_format: str
    ) -> ConfigFlowResult:
        """The voice picker and the audio format picker (`format_key`)."""
        entry: CloudSpeechConfigEntry = self.config_entry
        schema = vol.Schema(
            {
                vol.Required(CONF_VOICE): SelectSelector(
                    SelectSelectorConfig(
                        options=voice_options(entry.runtime_data.voices.voices),
                        mode=SelectSelectorMode.DROPDOWN,
                    )
                ),
                vol.Required(format_key): SelectSelector(
                    SelectSelectorConfig(
                        options=formats,
                        translation_key=format_key,
                        mode=SelectSelectorMode.DROPDOWN,
                    )
                ),
            }
        )
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(
                schema, {format_key: default_format, **entry.options}
            ),
        )

    def _choose_voice(self, user_input: Mapping[str, Any]) -> None:
        """Keep the chosen voice and the options it implies."""
        entry: CloudSpeechConfigEntry = self.config_entry
        catalog = entry.runtime_data.voices
        # The selector only accepts the catalog's voices.
        voice = {voice.short_name: voice for voice in catalog.voices}[
            user_input[CONF_VOICE]
        ]
        self._voice = voice
        self._options = {**entry.options, **user_input}
        language = entry.options.get(CONF_LANGUAGE)
        if not language or not voice.speaks(language):
            # A default language the voice cannot speak would make the
            # entity pick another voice than the one chosen here.
            self._options[CONF_LANGUAGE] = normalize_language_tag(voice.locale)

    def _options_without_settings(self) -> dict[str, Any]:
        """The chosen options, less how the previous voice was set to speak."""
        return {
            key: value
            for key, value in self._options.items()
            if key not in VOICE_SETTINGS
        }

    async def async_step_voice_settings(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask how the chosen voice speaks."""
        voice = self._voice
        errors: dict[str, str] = {}
        if user_input is not None:
            settings = voice_settings_for(voice, user_input)
            # speech/ssml.py's rule, shown on the field rather than at each call.
            errors = {
                key: f"{key}_without_style"
                for key in (CONF_STYLE_DEGREE, CONF_ROLE)
                if key in settings and CONF_STYLE not in settings
            }
            if not errors:
                return self.async_create_entry(
                    data=self._options_without_settings() | settings
                )
            suggested = user_input
        else:
            suggested = voice_settings_for(voice, self.config_entry.options)
        return self.async_show_form(
            step_id="voice_settings",
            data_schema=self.add_suggested_values_to_schema(
                voice_settings_schema(voice), suggested
            ),
            errors=errors,
            description_placeholders={"voice": voice_label(voice)},
        )


def _cloud_schema() -> vol.Schema:
    """Return the Azure cloud picker."""
    return vol.Schema(
        {
            vol.Required(CONF_CLOUD): SelectSelector(
                SelectSelectorConfig(
                    options=[cloud.value for cloud in AzureCloud],
                    translation_key=CONF_CLOUD,
                    mode=SelectSelectorMode.LIST,
                )
            )
        }
    )


def _region_schema(cloud: AzureCloud, *, key_required: bool) -> vol.Schema:
    """Region and key of a resource in a regional cloud."""
    key = vol.Required if key_required else vol.Optional
    return vol.Schema(
        {
            vol.Required(CONF_REGION): SelectSelector(
                SelectSelectorConfig(
                    options=list(REGIONS[cloud]), mode=SelectSelectorMode.DROPDOWN
                )
            ),
            key(CONF_API_KEY): PASSWORD_SELECTOR,
        }
    )


def _custom_schema() -> vol.Schema:
    """Endpoint and optional key (Speech containers need none)."""
    return vol.Schema(
        {
            vol.Required(CONF_ENDPOINT): TextSelector(
                TextSelectorConfig(type=TextSelectorType.URL)
            ),
            vol.Optional(CONF_API_KEY): PASSWORD_SELECTOR,
        }
    )


def _convai_schema(*, key_required: bool, expanded: bool) -> vol.Schema:
    """The API key, and the endpoint in a section collapsed unless it is set."""
    key = vol.Required if key_required else vol.Optional
    return vol.Schema(
        {
            key(CONF_API_KEY): PASSWORD_SELECTOR,
            vol.Required(SECTION_ADVANCED): section(
                vol.Schema(
                    {
                        vol.Optional(CONF_ENDPOINT): TextSelector(
                            TextSelectorConfig(type=TextSelectorType.URL)
                        )
                    }
                ),
                {"collapsed": not expanded},
            ),
        }
    )
