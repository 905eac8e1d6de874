"""Glue between config entry data and the speech clients."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
import hashlib
from typing import Any
from urllib.parse import urlsplit

from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .const import (
    CONF_AUTH_MODE,
    CONF_CLOUD,
    CONF_ENDPOINT,
    CONF_REGION,
    CONF_SERVICE,
    DOMAIN,
    SERVICE_AZURE,
    SERVICE_CONVAI,
)
from .speech.azure import AuthMode, AzureCloud, AzureSpeechClient, azure_endpoints
from .speech.convai import CONVAI_BASE_URL, ConvaiClient
from .speech.errors import (
    InvalidRequestError,
    SpeechAuthenticationError,
    SpeechBadRequestError,
    SpeechConnectionError,
    SpeechError,
    SpeechRateLimitedError,
    SpeechResponseError,
    SpeechServiceError,
)
from .speech.http import Timeouts

CONVAI_TIMEOUTS = Timeouts(first_byte=60.0)

type SpeechClient = AzureSpeechClient | ConvaiClient


def create_client(hass: HomeAssistant, data: Mapping[str, Any]) -> SpeechClient:
    """Build the client for an entry's (or a flow's) data.

    Raises InvalidRequestError when the data names no valid region or endpoint.
    """
    if data.get(CONF_SERVICE) == SERVICE_CONVAI:
        return ConvaiClient(
            async_get_clientsession(hass),
            api_key=data[CONF_API_KEY],
            base_url=data.get(CONF_ENDPOINT) or CONVAI_BASE_URL,
            # Convai answers only once the whole batch is synthesized.
            timeouts=CONVAI_TIMEOUTS,
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


@contextmanager
def translate_speech_errors() -> Iterator[None]:
    """Turn errors of the speech package into translated Home Assistant errors.

    Authentication errors propagate unchanged so callers can start reauth, and
    invalid requests so callers can name the offending input.
    """
    try:
        yield
    except SpeechAuthenticationError, InvalidRequestError:
        raise
    except SpeechRateLimitedError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN, translation_key="rate_limited"
        ) from err
    except SpeechBadRequestError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="bad_request",
            translation_placeholders={"reason": err.reason or str(err)},
        ) from err
    except (SpeechConnectionError, SpeechServiceError, SpeechResponseError) as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="service_unavailable",
            translation_placeholders={"error": str(err)},
        ) from err
    except SpeechError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="unknown_error",
            translation_placeholders={"error": str(err)},
        ) from err
