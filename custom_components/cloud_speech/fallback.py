"""Never silent: when the cloud cannot speak, another TTS engine of this Home Assistant does.

Glue, not speech: it calls Home Assistant's `tts` for the engine the owner
chose (typically Piper through Wyoming). `speech/` only says which failures
came before the first audio byte; this module decides which of them are an
outage (not the caller's mistake), hands the message to the other engine,
tells the owner through a repair issue and keeps Home Assistant's cache from
serving the other engine's audio as the cloud voice.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from datetime import datetime
import logging
from typing import Any, Final, TypedDict

from homeassistant.components.tts import (
    ATTR_PREFERRED_FORMAT,
    ATTR_PREFERRED_SAMPLE_BYTES,
    ATTR_PREFERRED_SAMPLE_CHANNELS,
    ATTR_PREFERRED_SAMPLE_RATE,
    TTSAudioResponse,
    async_create_stream,
)
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .const import CONF_FALLBACK_ENGINE, DOMAIN
from .speech.errors import InvalidRequestError, SpeechBadRequestError, SpeechError

_LOGGER = logging.getLogger(__name__)

#: With a fallback chosen, the cloud gets this long (all retries included)
#: to send its first audio byte. A healthy Azure answers a short text in a
#: few hundred milliseconds, and retrying a 5xx twice takes 1.5 s of waits;
#: six seconds of silence is an outage. The other engine then has two
#: seconds to start before the announcement is 8 s late.
FIRST_AUDIO_BUDGET: Final = 6.0

STORAGE_VERSION: Final = 1
# Counts change only during outages: saved soon, not at once.
SAVE_DELAY_SECONDS: Final = 5

# What a fallback engine is asked for: the format the player wants. The
# cloud voice's own options (voice, style, rate) mean nothing to it.
FORMAT_OPTIONS: Final = (
    ATTR_PREFERRED_FORMAT,
    ATTR_PREFERRED_SAMPLE_RATE,
    ATTR_PREFERRED_SAMPLE_CHANNELS,
    ATTR_PREFERRED_SAMPLE_BYTES,
)


class _StoredFallbacks(TypedDict):
    count: int
    last_time: str | None
    last_error: str | None


def is_outage(err: SpeechError) -> bool:
    """Whether the service failed, rather than the call asking for something wrong.

    Bad options, an unknown voice and bad SSML (refused before sending, or
    by the service with a 400) are the caller's to fix: no other engine
    should mask them. Everything else before the first audio byte is the
    service's: unreachable, cut, too slow, 5xx, a 429 we cannot wait out,
    credentials refused, or an answer that is not audio.
    """
    return not isinstance(err, InvalidRequestError | SpeechBadRequestError)


def issue_id(entry_id: str) -> str:
    """The repair issue saying an entry's announcements go to the fallback."""
    return f"fallback_active_{entry_id}"


class Fallback:
    """An entry's fallback engine: when it speaks, and what the owner is told."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry) -> None:
        """Follow `entry`'s choice; nothing is read until `async_load`."""
        self._hass = hass
        self._entry_id = entry.entry_id
        self._title = entry.title
        self.engine: str | None = entry.options.get(CONF_FALLBACK_ENGINE) or None
        self._store: Store[_StoredFallbacks] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.fallback.{entry.entry_id}"
        )
        self.count = 0
        self.last_time: datetime | None = None
        self.last_error: str | None = None
        self._in_outage = False

    async def async_load(self) -> None:
        """Read how often the fallback spoke, across restarts."""
        if stored := await self._store.async_load():
            self.count = int(stored.get("count", 0))
            if last := stored.get("last_time"):
                self.last_time = dt_util.parse_datetime(last)
            self.last_error = stored.get("last_error")

    @property
    def cache_generation(self) -> int:
        """Part of the cloud voice's cache key: a fallback moves it on.

        Home Assistant caches audio by message, language, options and engine,
        so the other engine's audio is cached under ours. Each fallback
        changes the options every later call gets, so the same message is
        never served from that entry again: once the service answers, it is
        the cloud voice. Stored, because the file cache outlives a restart.
        """
        return self.count

    @callback
    def available_engine(self) -> str | None:
        """The engine to hand a message to, or None (no choice, a loop, unavailable)."""
        if self.engine is None:
            return None
        registered = er.async_get(self._hass).async_get(self.engine)
        if registered is not None and registered.platform == DOMAIN:
            return None  # Cloud Speech again: the same outage, or a loop
        state = self._hass.states.get(self.engine)
        if state is None or state.state == STATE_UNAVAILABLE:
            return None
        return self.engine

    async def async_speak(
        self,
        language: str,
        options: Mapping[str, Any],
        message: AsyncGenerator[str],
    ) -> TTSAudioResponse:
        """Hand the whole message (as much as has arrived, then the rest) to the engine.

        It is asked for the format the player asked for; Home Assistant
        converts its audio when it cannot give that itself.

        Raises:
            HomeAssistantError: The engine cannot take it (no such engine, or
                neither the language nor its own default works).

        """
        engine = self.engine
        if engine is None:  # pragma: no cover - checked by available_engine
            raise HomeAssistantError("No fallback engine")
        wanted = {key: options[key] for key in FORMAT_OPTIONS if key in options}
        try:
            stream = async_create_stream(self._hass, engine, language, wanted)
        except HomeAssistantError:
            # Its voices may not speak the language: its own is better than silence.
            stream = async_create_stream(self._hass, engine, None, wanted)
        stream.async_set_message_stream(message)
        return TTSAudioResponse(stream.extension, stream.async_stream_result())

    @callback
    def record_fallback(self, reason: str) -> None:
        """Count a message the engine spoke; tell the owner at an outage's start."""
        self.count += 1
        self.last_time = dt_util.utcnow()
        self.last_error = reason
        self._store.async_delay_save(self._stored, SAVE_DELAY_SECONDS)
        if self._in_outage:
            return
        self._in_outage = True
        _LOGGER.warning(
            "%s cannot speak (%s): announcements go to %s until it can",
            self._title,
            reason,
            self.engine,
        )
        ir.async_create_issue(
            self._hass,
            DOMAIN,
            issue_id(self._entry_id),
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="fallback_active",
            translation_placeholders={
                "entry_title": self._title,
                "engine": self.engine or "-",
                "error": reason,
            },
        )

    @callback
    def record_success(self) -> None:
        """The cloud spoke: an outage, if any, is over."""
        if not self._in_outage:
            return
        self._in_outage = False
        _LOGGER.info("%s speaks again", self._title)
        ir.async_delete_issue(self._hass, DOMAIN, issue_id(self._entry_id))

    def as_diagnostics(self) -> dict[str, Any]:
        """The engine, how often it spoke, and when last."""
        return {
            "engine": self.engine,
            "count": self.count,
            "last_time": self.last_time.isoformat() if self.last_time else None,
            "last_error": self.last_error,
            "in_outage": self._in_outage,
        }

    def _stored(self) -> _StoredFallbacks:
        return {
            "count": self.count,
            "last_time": self.last_time.isoformat() if self.last_time else None,
            "last_error": self.last_error,
        }


async def async_remove_fallbacks(hass: HomeAssistant, entry_id: str) -> None:
    """Forget a removed entry's counts and its issue."""
    await Store[_StoredFallbacks](
        hass, STORAGE_VERSION, f"{DOMAIN}.fallback.{entry_id}"
    ).async_remove()
    ir.async_delete_issue(hass, DOMAIN, issue_id(entry_id))
