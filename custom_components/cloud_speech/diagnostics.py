"""Diagnostics for Cloud Speech: what support needs, never the key."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant

from . import CloudSpeechConfigEntry
from .helpers import client_host

TO_REDACT = {CONF_API_KEY}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: CloudSpeechConfigEntry
) -> dict[str, Any]:
    """Return diagnostics for an entry."""
    data = entry.runtime_data
    coordinator = data.coordinator
    voice_list = coordinator.data
    last_exception = coordinator.last_exception
    return {
        "entry": {
            "title": entry.title,
            "data": async_redact_data(dict(entry.data), TO_REDACT),
            "options": async_redact_data(dict(entry.options), TO_REDACT),
        },
        # How each voice profile speaks (its subentry's data holds no secret).
        "voice_profiles": {
            subentry.title: dict(subentry.data)
            for subentry in entry.subentries.values()
        },
        "service": {
            "host": client_host(data.client),
            "voice_count": len(voice_list.catalog),
            "language_count": len(voice_list.catalog.languages),
            "voices_fetched_at": voice_list.fetched_at.isoformat(),
            "voice_cache_age_seconds": round(voice_list.age.total_seconds()),
        },
        "voice_list_refresh": {
            "last_update_success": coordinator.last_update_success,
            # Messages of the speech package never hold the key.
            "last_exception": (
                f"{type(last_exception).__name__}: {last_exception}"
                if last_exception
                else None
            ),
        },
        # This month's counts and the allowance warnings raised.
        "usage": data.usage.as_diagnostics(),
        # The fallback engine, and how often and when last it spoke.
        "fallback": data.fallback.as_diagnostics(),
        "last_error": data.last_error,
    }
