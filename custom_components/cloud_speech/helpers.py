"""Glue between config entry data and the speech clients."""

from __future__ import annotations

from collections.abc import Callable, Mapping
import hashlib
import logging
from typing import Any, Final, NamedTuple
from urllib.parse import urlsplit

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import (
    ConfigEntryAuthFailed,
    ConfigEntryError,
    ConfigEntryNotReady,
    HomeAssistantError,
    ServiceValidationError,
)
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo

from .const import (
    CONF_AUTH_MODE,
    CONF_CLOUD,
    CONF_ENDPOINT,
    CONF_PROFANITY,
    CONF_REGION,
    CONF_SERVICE,
    DOMAIN,
    SERVICE_AZURE,
    SERVICE_CONVAI,
)
from .speech.azure import AuthMode, AzureCloud, AzureSpeechClient, azure_endpoints
from .speech.azure_recognizer import AzureRecognizer, Profanity
from .speech.convai import CONVAI_BASE_URL, ConvaiClient
from .speech.errors import (
    InvalidOptionError,
    InvalidRequestError,
    NotOfferedError,
    NoVoiceForLanguageError,
    SpeechAuthenticationError,
    SpeechBadRequestError,
    SpeechConnectionError,
    SpeechError,
    SpeechRateLimitedError,
    SpeechResponseError,
    SpeechServiceError,
    StyleRequiredError,
    UnknownVoiceError,
    UnsupportedByVoiceError,
)
from .speech.http import Timeouts
from .speech.models import Voice
from .speech.ssml import HD_UNSUPPORTED_SETTINGS
from .speech.usage import billable_characters, convai_billable_characters
from .usage_meter import UsageMeter

_LOGGER = logging.getLogger(__name__)

CONVAI_TIMEOUTS = Timeouts(first_byte=60.0)

type SpeechClient = AzureSpeechClient | ConvaiClient


def create_client(
    hass: HomeAssistant,
    data: Mapping[str, Any],
    *,
    usage: UsageMeter | None = None,
    first_audio_budget: float | None = None,
) -> SpeechClient:
    """Build the client for an entry's (or a flow's) data.

    `usage` counts each synthesis request the service accepts, as the
    service bills it (see speech/usage.py for the rules and their sources).
    `first_audio_budget` bounds the wait for an Azure synthesis's first
    audio, retries included (an entry with a fallback engine). Convai answers
    only once a whole batch is synthesized, so it keeps its own deadlines.

    Raises InvalidRequestError when the data names no valid region or endpoint.
    """
    if data.get(CONF_SERVICE) == SERVICE_CONVAI:
        return ConvaiClient(
            async_get_clientsession(hass),
            api_key=data[CONF_API_KEY],
            base_url=data.get(CONF_ENDPOINT) or CONVAI_BASE_URL,
            # Convai answers only once the whole batch is synthesized.
            timeouts=CONVAI_TIMEOUTS,
            # Assumption: Convai documents no character billing; the
            # transcript's characters are our own measure of use.
            on_accepted=_counter(usage, convai_billable_characters),
        )
    endpoints = azure_endpoints(
        AzureCloud(data[CONF_CLOUD]),
        region=data.get(CONF_REGION),
        endpoint=data.get(CONF_ENDPOINT),
    )
    return AzureSpeechClient(
        async_get_clientsession(hass),
        endpoints,
        api_key=data.get(CONF_API_KEY) or None,
        auth_mode=AuthMode(data.get(CONF_AUTH_MODE, AuthMode.KEY)),
        first_audio_budget=first_audio_budget,
        # Azure bills each accepted request's SSML as sent, but its speak and
        # voice tags, a Chinese character twice: "Billable characters" in
        # https://learn.microsoft.com/azure/ai-services/speech-service/text-to-speech
        on_accepted=_counter(usage, billable_characters),
    )


def create_recognizer(
    client: SpeechClient, options: Mapping[str, Any], *, usage: UsageMeter
) -> AzureRecognizer | None:
    """Speech to text on the entry's account; None when its service has none (Convai)."""
    if isinstance(client, ConvaiClient):
        return None
    return AzureRecognizer(
        client,
        profanity=Profanity(options.get(CONF_PROFANITY, Profanity.MASKED)),
        # Azure bills speech to text by the audio's duration (usage_meter.py).
        on_recognized=usage.record_audio,
    )


def _counter(
    usage: UsageMeter | None, billable: Callable[[str], int]
) -> Callable[[str], None] | None:
    """Count what a client sent, by the service's rule, in `usage`."""
    if usage is None:
        return None
    return lambda sent: usage.record(billable(sent))


def account_device(entry: ConfigEntry) -> DeviceInfo:
    """The account's device (usage sensors, speech to text), not a voice profile's."""
    if entry.data.get(CONF_SERVICE) == SERVICE_CONVAI:
        manufacturer, model = "Convai", "Convai TTS"
    else:
        manufacturer, model = "Microsoft", "Azure AI Speech"
    return DeviceInfo(
        identifiers={(DOMAIN, f"{entry.entry_id}_account")},
        name=entry.title,
        manufacturer=manufacturer,
        model=model,
        entry_type=DeviceEntryType.SERVICE,
    )


def client_host(client: SpeechClient) -> str:
    """The host a client talks to, for titles, messages and diagnostics."""
    if isinstance(client, ConvaiClient):
        return client.host
    return client.endpoints.host


def key_fingerprint(api_key: str | None) -> str:
    """A short, one-way fingerprint of a key: tells keys apart, reveals nothing."""
    if not api_key:
        return "nokey"
    return hashlib.sha256(api_key.encode()).hexdigest()[:16]


def resource_name(data: Mapping[str, Any]) -> str:
    """The region, or the custom endpoint's host and port, the entry talks to."""
    if data.get(CONF_REGION):
        return str(data[CONF_REGION])
    if data.get(CONF_ENDPOINT):
        return urlsplit(str(data[CONF_ENDPOINT])).netloc
    return urlsplit(CONVAI_BASE_URL).netloc


def unique_id_for(data: Mapping[str, Any]) -> str:
    """One entry per service resource and key; never contains the key itself."""
    return ":".join(
        (
            data.get(CONF_SERVICE, SERVICE_AZURE),
            str(data.get(CONF_CLOUD, "")),
            resource_name(data).lower(),
            key_fingerprint(data.get(CONF_API_KEY)),
        )
    )


def entry_title(data: Mapping[str, Any]) -> str:
    """Title like ``Azure Speech (chinaeast2)``, or ``Convai``."""
    if data.get(CONF_SERVICE) == SERVICE_CONVAI:
        if data.get(CONF_ENDPOINT):
            return f"Convai ({resource_name(data)})"
        return "Convai"
    return f"Azure Speech ({resource_name(data)})"


class Translation(NamedTuple):
    """A translation key of strings.json's exceptions, and its placeholders."""

    key: str
    placeholders: dict[str, str]


# What each invalid input of a call is called in strings.json's exceptions.
# Static, so that a test can check every key has a string.
INVALID_FIELD_KEYS: Final[Mapping[str, str]] = {
    "message": "empty_message",
    "voice": "invalid_voice",
    "language": "invalid_language",
    "style": "invalid_style",
    "role": "invalid_role",
    "style_degree": "invalid_style_degree",
    "rate": "invalid_rate",
    "pitch": "invalid_pitch",
    "volume": "invalid_volume",
    "ssml": "invalid_ssml",
    "recognition_language": "unsupported_recognition_language",
    "audio": "invalid_audio",
}
# The settings that only qualify a style.
NEEDS_STYLE_KEYS: Final[Mapping[str, str]] = {
    "role": "role_without_style",
    "style_degree": "style_degree_without_style",
}
# Any other invalid input names its option.
INVALID_OPTION_KEY: Final = "invalid_option"
# How the service failed, by the most specific class first.
SERVICE_ERROR_KEYS: Final[tuple[tuple[type[SpeechError], str], ...]] = (
    (SpeechAuthenticationError, "invalid_auth"),
    (SpeechRateLimitedError, "rate_limited"),
    (SpeechBadRequestError, "bad_request"),
    (SpeechResponseError, "unexpected_response"),
    (SpeechConnectionError, "cannot_connect"),
    (SpeechServiceError, "cannot_connect"),
    (SpeechError, "unknown_error"),
)
# A set of credentials that cannot be used, as its config flow form shows it
# (strings.json's config.error); anything else is "unknown".
FORM_ERROR_KEYS: Final[Mapping[str, str]] = {
    "invalid_auth": "invalid_auth",
    "cannot_connect": "cannot_connect",
    "rate_limited": "cannot_connect",
    "unexpected_response": "invalid_voice_list",
}


def translate_error(err: SpeechError, voice: Voice | None = None) -> Translation:
    """The translated message for an error of the speech package.

    `voice` is the voice a call was validated against, to list what it offers.
    """
    match err:
        case UnknownVoiceError():
            return Translation(
                "unknown_ssml_voice",
                {"voice": err.value, "suggestions": ", ".join(err.suggestions) or "-"},
            )
        case UnsupportedByVoiceError(field=field) if field in HD_UNSUPPORTED_SETTINGS:
            return Translation(
                "hd_voice_unsupported_option", {"voice": err.voice, "option": field}
            )
        case UnsupportedByVoiceError():
            return Translation(
                "hd_voice_unsupported_element",
                {"voice": err.voice, "element": err.field},
            )
        case InvalidOptionError():
            return Translation(
                INVALID_OPTION_KEY, {"option": err.field, "value": err.value[:100]}
            )
        case NoVoiceForLanguageError():
            return Translation("no_voice_for_language", {"language": err.value})
        case StyleRequiredError(field=field) if field in NEEDS_STYLE_KEYS:
            return Translation(NEEDS_STYLE_KEYS[field], {})
        case InvalidRequestError(field=field) if field in INVALID_FIELD_KEYS:
            return Translation(
                INVALID_FIELD_KEYS[field],
                {
                    "value": err.value,
                    "error": str(err),
                    "voice": voice.short_name if voice else err.value,
                    "style": err.value,
                    "styles": ", ".join(voice.styles)
                    if voice and voice.styles
                    else "-",
                    "role": err.value,
                    "roles": ", ".join(voice.roles) if voice and voice.roles else "-",
                    "language": err.value,
                },
            )
        case InvalidRequestError():
            return Translation(
                INVALID_OPTION_KEY, {"option": err.field, "value": err.value[:100]}
            )
        case SpeechBadRequestError():
            return Translation("bad_request", {"reason": err.reason or str(err)})
        case NotOfferedError():
            return Translation("speech_to_text_not_offered", {"host": err.host})
    key = next(key for kind, key in SERVICE_ERROR_KEYS if isinstance(err, kind))
    return Translation(key, {"error": str(err)})


def call_error(err: SpeechError, voice: Voice | None = None) -> HomeAssistantError:
    """The error a call raises: bad input is the caller's to fix."""
    if isinstance(err, InvalidRequestError):
        return _translated(ServiceValidationError, translate_error(err, voice))
    return _translated(HomeAssistantError, translate_error(err, voice))


def setup_error(
    err: SpeechError,
) -> ConfigEntryAuthFailed | ConfigEntryError | ConfigEntryNotReady:
    """The error setting up an entry raises: reauth, a lasting fault, or retry."""
    if isinstance(err, InvalidRequestError):
        return _translated(
            ConfigEntryError, Translation("invalid_config", {"error": str(err)})
        )
    if isinstance(err, SpeechAuthenticationError):
        return _translated(ConfigEntryAuthFailed, translate_error(err))
    return _translated(ConfigEntryNotReady, translate_error(err))


def _translated[ErrorT: HomeAssistantError](
    kind: type[ErrorT], translation: Translation
) -> ErrorT:
    return kind(
        translation_domain=DOMAIN,
        translation_key=translation.key,
        translation_placeholders=translation.placeholders,
    )


def form_errors(err: Exception) -> dict[str, str]:
    """The errors a config flow form shows for credentials that failed."""
    if isinstance(err, InvalidRequestError) and err.field == "endpoint":
        return {CONF_ENDPOINT: "invalid_endpoint"}
    if isinstance(err, InvalidRequestError) and err.field == "api_key":
        return {"base": "invalid_auth"}  # a key no service would accept
    if isinstance(err, SpeechError) and (
        key := FORM_ERROR_KEYS.get(translate_error(err).key)
    ):
        return {"base": key}
    _LOGGER.error("Unexpected error", exc_info=err)
    return {"base": "unknown"}
