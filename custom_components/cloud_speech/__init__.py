"""Cloud Speech: Home Assistant text-to-speech through Azure AI Speech and Convai."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
import logging

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.typing import ConfigType

from .const import DOMAIN, VOICE_CACHE_MAX_AGE
from .helpers import SpeechClient, create_client, setup_error
from .speech.errors import InvalidRequestError, SpeechAuthenticationError, SpeechError
from .speech.voices import VoiceCatalog
from .voice_cache import VoiceCache

_LOGGER = logging.getLogger(__name__)

PLATFORMS = [Platform.TTS]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


@dataclass
class CloudSpeechData:
    """What a loaded entry keeps: its client and the voices it can use."""

    client: SpeechClient
    voice_cache: VoiceCache
    voices: VoiceCatalog
    voices_fetched_at: datetime | None
    last_error: str | None = field(default=None)


type CloudSpeechConfigEntry = ConfigEntry[CloudSpeechData]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Set up the integration (entries come from the UI only)."""
    return True


async def async_setup_entry(hass: HomeAssistant, entry: CloudSpeechConfigEntry) -> bool:
    """Set up an entry: its client, its voices (cached), then the TTS entity."""
    try:
        client = create_client(hass, entry.data)
    except InvalidRequestError as err:
        raise setup_error(err) from err

    voice_cache = VoiceCache(hass, entry.entry_id)
    cached = await voice_cache.async_load()
    data = CloudSpeechData(
        client=client,
        voice_cache=voice_cache,
        voices=VoiceCatalog(cached.voices if cached else ()),
        voices_fetched_at=cached.fetched_at if cached else None,
    )

    if cached is None:
        # Without voices nothing can be spoken or validated: wait for the service.
        try:
            await async_refresh_voices(data)
        except SpeechError as err:
            raise setup_error(err) from err
    elif cached.is_stale:
        entry.async_create_background_task(
            hass,
            async_refresh_voices_quietly(hass, entry, data),
            f"{DOMAIN} voice list refresh",
        )

    entry.runtime_data = data

    @callback
    def refresh_daily(_now: datetime) -> None:
        # A task of the entry's: unloading cancels it, so a late answer never
        # writes the cache of a removed or reconfigured entry.
        entry.async_create_background_task(
            hass,
            async_refresh_voices_quietly(hass, entry, data),
            f"{DOMAIN} daily voice list refresh",
        )

    entry.async_on_unload(
        async_track_time_interval(hass, refresh_daily, VOICE_CACHE_MAX_AGE)
    )
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_refresh_voices(data: CloudSpeechData) -> None:
    """Fetch the voice list, keep it in memory and in the cache."""
    voices = await data.client.async_get_voices()
    data.voices = VoiceCatalog(voices)
    data.voices_fetched_at = await data.voice_cache.async_save(voices)
    data.last_error = None


async def async_refresh_voices_quietly(
    hass: HomeAssistant, entry: CloudSpeechConfigEntry, data: CloudSpeechData
) -> None:
    """Refresh in the background: failures keep the cached voices."""
    try:
        await async_refresh_voices(data)
    except SpeechAuthenticationError as err:
        data.last_error = str(err)
        entry.async_start_reauth(hass)
    except SpeechError as err:
        data.last_error = str(err)
        _LOGGER.warning(
            "Could not refresh the voice list, keeping the cached one: %s", err
        )


async def async_unload_entry(
    hass: HomeAssistant, entry: CloudSpeechConfigEntry
) -> bool:
    """Unload an entry."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(
    hass: HomeAssistant, entry: CloudSpeechConfigEntry
) -> None:
    """Forget the cached voices of a removed entry."""
    await VoiceCache(hass, entry.entry_id).async_remove()
