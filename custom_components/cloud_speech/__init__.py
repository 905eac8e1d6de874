"""Cloud Speech: Home Assistant text-to-speech through Azure AI Speech and Convai."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant

from .const import DOMAIN
from .coordinator import CloudSpeechConfigEntry, CloudSpeechData, VoiceListCoordinator
from .helpers import create_client, setup_error
from .speech.errors import InvalidRequestError
from .voice_cache import VoiceCache

__all__ = ["CloudSpeechConfigEntry", "CloudSpeechData"]

PLATFORMS = [Platform.TTS]


async def async_setup_entry(hass: HomeAssistant, entry: CloudSpeechConfigEntry) -> bool:
    """Set up an entry: its client, its voices (cached), then the TTS entity."""
    try:
        client = create_client(hass, entry.data)
    except InvalidRequestError as err:
        raise setup_error(err) from err

    coordinator = VoiceListCoordinator(hass, entry, client)
    await coordinator.async_load()
    entry.runtime_data = data = CloudSpeechData(client=client, coordinator=coordinator)
    # The entity reads the voices when it needs them; listening keeps the
    # daily refresh scheduled, as a coordinator only polls for its listeners.
    entry.async_on_unload(coordinator.async_add_listener(data.async_voice_list_updated))
    if coordinator.data.is_stale:
        entry.async_create_background_task(
            hass, coordinator.async_refresh(), f"{DOMAIN} voice list refresh"
        )

    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(
    hass: HomeAssistant, entry: CloudSpeechConfigEntry
) -> bool:
    """Unload an entry; the coordinator stops with it."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(
    hass: HomeAssistant, entry: CloudSpeechConfigEntry
) -> None:
    """Forget the cached voices of a removed entry."""
    await VoiceCache(hass, entry.entry_id).async_remove()
