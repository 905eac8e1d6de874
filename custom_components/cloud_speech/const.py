"""Constants for the Cloud Speech integration."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

DOMAIN: Final = "cloud_speech"

# Entry data: which service and how to reach it (secrets live here).
CONF_SERVICE: Final = "service"
SERVICE_AZURE: Final = "azure"
SERVICE_CONVAI: Final = "convai"
CONF_CLOUD: Final = "cloud"
CONF_REGION: Final = "region"
CONF_ENDPOINT: Final = "endpoint"
CONF_AUTH_MODE: Final = "auth_mode"

# Entry options: how to speak. Per-call tts options use the same names.
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

# How a voice speaks: set together in the options flow for the chosen voice,
# and accepted per call by the Azure entity.
VOICE_SETTINGS: Final = (
    CONF_STYLE,
    CONF_STYLE_DEGREE,
    CONF_ROLE,
    CONF_RATE,
    CONF_PITCH,
    CONF_VOLUME,
)

# The output formats offered in the options flow; any catalog format works per call.
OUTPUT_FORMATS: Final = (
    "audio-24khz-96kbitrate-mono-mp3",
    "audio-48khz-192kbitrate-mono-mp3",
    "riff-24khz-16bit-mono-pcm",
    "ogg-24khz-16bit-mono-opus",
)
DEFAULT_OUTPUT_FORMAT: Final = OUTPUT_FORMATS[0]

CONVAI_ENCODINGS: Final = ("wav", "mp3")
DEFAULT_CONVAI_ENCODING: Final = "wav"

# The voice list changes rarely; refetching it on every start would make setup
# depend on the service being up.
VOICE_CACHE_MAX_AGE: Final = timedelta(days=1)
