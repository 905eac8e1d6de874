"""The voice list, cached on disk so setup does not depend on the service."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
import logging
from typing import Any, TypedDict

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .const import DOMAIN, VOICE_CACHE_MAX_AGE
from .speech.models import Voice
from .speech.voices import VoiceCatalog, voice_from_dict, voice_to_dict

_LOGGER = logging.getLogger(__name__)
STORAGE_VERSION = 1


class _StoredVoices(TypedDict):
    fetched_at: str
    voices: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class VoiceList:
    """The voices the service sent, and when it sent them."""

    catalog: VoiceCatalog
    fetched_at: datetime

    @property
    def age(self) -> timedelta:
        """How long ago the service sent the list."""
        return dt_util.utcnow() - self.fetched_at

    @property
    def is_stale(self) -> bool:
        """Whether the list is old enough to ask the service again."""
        return self.age >= VOICE_CACHE_MAX_AGE


class VoiceCache:
    """One entry's cached voice list."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Use the store that belongs to `entry_id`."""
        self._store: Store[_StoredVoices] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.voices.{entry_id}"
        )

    async def async_load(self) -> VoiceList | None:
        """Return the cached voices, or None when there is no usable cache."""
        stored = await self._store.async_load()
        if not stored:
            return None
        try:
            voices = tuple(voice_from_dict(voice) for voice in stored["voices"])
            fetched_at = datetime.fromisoformat(stored["fetched_at"])
        except (KeyError, TypeError, ValueError) as err:
            _LOGGER.warning("Ignoring an unreadable voice cache: %s", err)
            return None
        if not voices:
            return None
        return VoiceList(VoiceCatalog(voices), fetched_at)

    async def async_save(self, voices: Sequence[Voice]) -> VoiceList:
        """Cache `voices` as fetched now; return them as the list now cached."""
        fetched_at = dt_util.utcnow()
        await self._store.async_save(
            {
                "fetched_at": fetched_at.isoformat(),
                "voices": [voice_to_dict(voice) for voice in voices],
            }
        )
        return VoiceList(VoiceCatalog(voices), fetched_at)

    async def async_remove(self) -> None:
        """Delete the cache."""
        await self._store.async_remove()
