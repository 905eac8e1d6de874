"""Diagnostics for Cloud Speech: what support needs, never the key."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from . import CloudSpeechConfigEntry
from .helpers import client_host

TO_REDACT = {CONF_API_KEY}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: CloudSpeechConfigEntry
) -> dict[str, Any]:
    """Return diagnostics for an entry."""
    data = entry.runtime_data
    fetched_at = data.voices_fetched_at
    return {
        "entry": {
            "title": entry.title,
            "data": async_redact_data(dict(entry.data), TO_REDACT),
            "options": async_redact_data(dict(entry.options), TO_REDACT),
        },
        "service": {
            "host": client_host(data.client),
            "voice_count": len(data.voices),
            "language_count": len(data.voices.languages),
            "voices_fetched_at": fetched_at.isoformat() if fetched_at else None,
            "voice_cache_age_seconds": (
                round((dt_util.utcnow() - fetched_at).total_seconds())
                if fetched_at
                else None
            ),
        },
        "last_error": data.last_error,
    }
