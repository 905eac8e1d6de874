"""The voice list of an entry: cached on disk, refreshed daily by a coordinator."""

from __future__ import annotations

from dataclasses import dataclass
import logging

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import (
    ConfigEntryAuthFailed,
    ConfigEntryError,
    ConfigEntryNotReady,
)
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from .const import VOICE_CACHE_MAX_AGE
from .fallback import Fallback
from .helpers import SpeechClient, setup_error
from .speech.azure_recognizer import AzureRecognizer
from .speech.errors import SpeechError
from .speech.voices import VoiceCatalog
from .usage_meter import UsageMeter
from .voice_cache import VoiceCache, VoiceList

_LOGGER = logging.getLogger(__name__)


class VoiceListCoordinator(DataUpdateCoordinator[VoiceList]):
    """Fetches an entry's voice list once a day and keeps it in the cache.

    Setup starts from the cache when there is one, so a restart does not
    depend on the service; a failed refresh keeps the voices it had.
    """

    config_entry: CloudSpeechConfigEntry

    def __init__(
        self, hass: HomeAssistant, entry: CloudSpeechConfigEntry, client: SpeechClient
    ) -> None:
        """Keep the voice list of `entry`, fetched with `client`."""
        super().__init__(
            hass,
            _LOGGER,
            config_entry=entry,
            name=f"{entry.title} voice list",
            update_interval=VOICE_CACHE_MAX_AGE,
        )
        self.client = client
        self.cache = VoiceCache(hass, entry.entry_id)

    async def async_load(self) -> None:
        """Take the cached voices, or wait for the service when there are none.

        Raises ConfigEntryNotReady, ConfigEntryAuthFailed or ConfigEntryError
        when there is no cache and the service cannot give a list.
        """
        if cached := await self.cache.async_load():
            self.async_set_updated_data(cached)
        else:
            await self.async_config_entry_first_refresh()

    async def _async_update_data(self) -> VoiceList:
        """Fetch the voice list and cache it."""
        try:
            voices = await self.client.async_get_voices()
        except SpeechError as err:
            raise update_error(err) from err
        return await self.cache.async_save(voices)


def update_error(
    err: SpeechError,
) -> ConfigEntryAuthFailed | ConfigEntryError | UpdateFailed:
    """A failed refresh: reauth and lasting faults as at setup, else try again later."""
    error = setup_error(err)
    if not isinstance(error, ConfigEntryNotReady):
        return error
    return UpdateFailed(
        translation_domain=error.translation_domain,
        translation_key=error.translation_key,
        translation_placeholders=error.translation_placeholders,
        # A service that says when to come back is asked again then, not in a day.
        retry_after=getattr(err, "retry_after", None),
    )


@dataclass
class CloudSpeechData:
    """What a loaded entry keeps: its client, its voice list and its usage."""

    client: SpeechClient
    coordinator: VoiceListCoordinator
    usage: UsageMeter
    fallback: Fallback
    # Speech to text, for the accounts whose service offers it (Azure).
    recognizer: AzureRecognizer | None = None
    # The last failed call or voice list refresh, for diagnostics; the TTS
    # entity sets it when a call fails.
    last_error: str | None = None

    @property
    def voices(self) -> VoiceCatalog:
        """The voices the entry can use: the last list fetched or cached."""
        return self.coordinator.data.catalog

    @callback
    def async_voice_list_updated(self) -> None:
        """Remember how the last voice list refresh ended."""
        coordinator = self.coordinator
        self.last_error = (
            None if coordinator.last_update_success else str(coordinator.last_exception)
        )


type CloudSpeechConfigEntry = ConfigEntry[CloudSpeechData]
