"""Cloud Speech speech to text: one entity per Azure account, on its device."""

from __future__ import annotations

from collections.abc import AsyncIterable
import logging
from typing import Final, override

from homeassistant.components.stt import (
    AudioBitRates,
    AudioChannels,
    AudioCodecs,
    AudioFormats,
    AudioSampleRates,
    SpeechMetadata,
    SpeechResult,
    SpeechResultState,
    SpeechToTextEntity,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import CloudSpeechConfigEntry
from .helpers import account_device, call_error
from .speech.azure_recognizer import AzureRecognizer, RecognitionAudio
from .speech.errors import SpeechAuthenticationError, SpeechError
from .speech.recognition_languages import RECOGNITION_LOCALES

_LOGGER = logging.getLogger(__name__)

# Recognition runs in the service; HA need not serialize calls to it.
PARALLEL_UPDATES = 0

# The pairs the REST API for short audio takes.
AUDIO_KINDS: Final = {
    (AudioFormats.WAV, AudioCodecs.PCM): RecognitionAudio.PCM,
    (AudioFormats.OGG, AudioCodecs.OPUS): RecognitionAudio.OGG_OPUS,
}


async def async_setup_entry(
    hass: HomeAssistant,
    entry: CloudSpeechConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the account's speech-to-text entity, when its service has one."""
    if (recognizer := entry.runtime_data.recognizer) is not None:
        async_add_entities([CloudSpeechSttEntity(entry, recognizer)])


class CloudSpeechSttEntity(SpeechToTextEntity):
    """Hears through the account's Azure Speech resource (REST API for short audio)."""

    _attr_has_entity_name = True
    _attr_translation_key = "speech_to_text"

    def __init__(
        self, entry: CloudSpeechConfigEntry, recognizer: AzureRecognizer
    ) -> None:
        """Recognise for `entry` with `recognizer`."""
        self._entry = entry
        self._recognizer = recognizer
        self._attr_unique_id = f"{entry.entry_id}_stt"
        self._attr_device_info = account_device(entry)

    @property
    @override
    def supported_languages(self) -> list[str]:
        """The speech-to-text locales of Azure's language-support page."""
        return list(RECOGNITION_LOCALES)

    @property
    @override
    def supported_formats(self) -> list[AudioFormats]:
        """WAV (raw PCM, framed by the recognizer) and Ogg, as the API takes."""
        return [AudioFormats.WAV, AudioFormats.OGG]

    @property
    @override
    def supported_codecs(self) -> list[AudioCodecs]:
        """PCM in WAV, Opus in Ogg: the API's two input formats."""
        return [AudioCodecs.PCM, AudioCodecs.OPUS]

    @property
    @override
    def supported_bit_rates(self) -> list[AudioBitRates]:
        """16-bit samples."""
        return [AudioBitRates.BITRATE_16]

    @property
    @override
    def supported_sample_rates(self) -> list[AudioSampleRates]:
        """The one rate the API takes."""
        return [AudioSampleRates.SAMPLERATE_16000]

    @property
    @override
    def supported_channels(self) -> list[AudioChannels]:
        """Mono."""
        return [AudioChannels.CHANNEL_MONO]

    @override
    async def async_process_audio_stream(
        self, metadata: SpeechMetadata, stream: AsyncIterable[bytes]
    ) -> SpeechResult:
        """Upload the audio as it arrives; the text comes right after it ends.

        Nothing recognised (silence, noise, another language) is a success
        without text, which Assist reports as "no text recognised". A failure
        is logged in the user's words and reported as an error, as core's
        speech-to-text entities do: Assist would log an exception with its
        traceback.
        """
        kind = AUDIO_KINDS.get((metadata.format, metadata.codec))
        if kind is None:
            # check_metadata takes format and codec one at a time.
            _LOGGER.error(
                "Speech to text takes WAV with PCM or Ogg with Opus, not %s with %s",
                metadata.format,
                metadata.codec,
            )
            return SpeechResult(None, SpeechResultState.ERROR)
        try:
            recognition = await self._recognizer.async_recognize(
                stream, language=metadata.language, kind=kind
            )
        except SpeechError as err:
            if isinstance(err, SpeechAuthenticationError):
                # Idempotent: HA keeps one reauth flow per entry.
                self._entry.async_start_reauth(self.hass)
            error = call_error(err)
            self._entry.runtime_data.last_error = str(err)
            _LOGGER.error("Speech to text failed: %s", error)
            return SpeechResult(None, SpeechResultState.ERROR)
        return SpeechResult(recognition.text, SpeechResultState.SUCCESS)
