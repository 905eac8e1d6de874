"""Constants for the Cloud Speech integration."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Final

from .speech.azure import AzureCloud
from .speech.convai import ConvaiEncoding

DOMAIN: Final = "cloud_speech"

# Entry data: which service and how to reach it (secrets live here).
CONF_SERVICE: Final = "service"
SERVICE_AZURE: Final = "azure"
SERVICE_CONVAI: Final = "convai"
CONF_CLOUD: Final = "cloud"
CONF_REGION: Final = "region"
CONF_ENDPOINT: Final = "endpoint"
CONF_AUTH_MODE: Final = "auth_mode"

# Entry options (the account's): the billable characters a month may use,
# for the usage meter's percentage and warnings; absent means no allowance.
CONF_MONTHLY_ALLOWANCE: Final = "monthly_allowance"
# What speech to text does with profanity (an Azure account's option).
CONF_PROFANITY: Final = "profanity"
# Another TTS entity that speaks when the service cannot (an account option).
CONF_FALLBACK_ENGINE: Final = "fallback_engine"

# Voice profiles: config subentries of this type, each one TTS entity. A
# profile's data says how to speak (its title is its name); per-call tts
# options use the same names.
SUBENTRY_VOICE_PROFILE: Final = "voice_profile"
CONF_LANGUAGE: Final = "language"
CONF_VOICE: Final = "voice"
CONF_STYLE: Final = "style"
CONF_STYLE_DEGREE: Final = "style_degree"
CONF_ROLE: Final = "role"
CONF_RATE: Final = "rate"
CONF_PITCH: Final = "pitch"
CONF_VOLUME: Final = "volume"
CONF_OUTPUT_FORMAT: Final = "output_format"
CONF_ENCODING: Final = "encoding"

# How a voice speaks: set together in a profile for the chosen voice, and
# accepted per call by the Azure entity.
VOICE_SETTINGS: Final = (
    CONF_STYLE,
    CONF_STYLE_DEGREE,
    CONF_ROLE,
    CONF_RATE,
    CONF_PITCH,
    CONF_VOLUME,
)

# A profile's formats, offered in its flow. A call cannot
# name a catalog format: it may prefer an extension and a sample rate (Home
# Assistant's preferred_format options), which speech/formats.py maps to a
# native format when the service has one.
OUTPUT_FORMATS: Final = (
    "audio-24khz-96kbitrate-mono-mp3",
    "audio-48khz-192kbitrate-mono-mp3",
    "riff-24khz-16bit-mono-pcm",
    "ogg-24khz-16bit-mono-opus",
)
DEFAULT_OUTPUT_FORMAT: Final = OUTPUT_FORMATS[0]

DEFAULT_CONVAI_ENCODING: Final = ConvaiEncoding.WAV.value

# The language offered first when Home Assistant's is not spoken.
FALLBACK_LANGUAGE: Final = "en-US"

# Where each regional cloud's users find their key and region (Azure portal →
# Speech resource → Keys and Endpoint). URLs are placeholders of the strings:
# translations must not contain them.
PORTAL_URLS: Final[Mapping[AzureCloud, str]] = {
    AzureCloud.GLOBAL: "https://portal.azure.com",
    AzureCloud.CHINA: "https://portal.azure.cn",
    AzureCloud.US_GOVERNMENT: "https://portal.azure.us",
}
CUSTOM_ENDPOINT_EXAMPLES: Final[Mapping[str, str]] = {
    "resource_example": "https://NAME.cognitiveservices.azure.com",
    "container_example": "http://HOST:5000",
}
# Where Convai users sign in to copy their API key.
CONVAI_URL: Final = "https://convai.com"

# The voice list changes rarely; refetching it on every start would make setup
# depend on the service being up.
VOICE_CACHE_MAX_AGE: Final = timedelta(days=1)
