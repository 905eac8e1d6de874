"""Speech to text through Azure's REST API for short audio.

The contract is "Speech to text REST API for short audio"
(https://learn.microsoft.com/azure/ai-services/speech-service/rest-speech-to-text-short;
the 21Vianet copy is https://docs.azure.cn/en-us/ai-services/speech-service/rest-speech-to-text-short):
audio goes up as it is spoken (chunked transfer, the WAV header in the first
chunk only), at most 60 seconds of it, and one final result comes back.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterable, Callable
import contextlib
from contextlib import aclosing
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Protocol

from .azure import AzureSpeechClient
from .errors import (
    InvalidRequestError,
    NotOfferedError,
    SpeechResponseError,
    SpeechServiceError,
)
from .formats import wav_header
from .recognition_languages import RECOGNITION_LOCALES
from .streams import Replayable, prepend
from .voices import text_of

#: "Requests that use the REST API for short audio and transmit audio
#: directly can contain no more than 60 seconds of audio."
MAX_AUDIO_SECONDS: Final = 60
#: The API takes "WAV | PCM | 256 kbps | 16 kHz, mono" and
#: "OGG | OPUS | 256 kbps | 16 kHz, mono".
SAMPLE_RATE: Final = 16_000
BYTES_PER_SECOND: Final = SAMPLE_RATE * 2
PCM_CONTENT_TYPE: Final = f"audio/wav; codecs=audio/pcm; samplerate={SAMPLE_RATE}"
OGG_OPUS_CONTENT_TYPE: Final = "audio/ogg; codecs=opus"
#: Ogg Opus granule positions count 48 kHz samples, whatever the input rate
#: (RFC 7845, section 4).
OPUS_GRANULES_PER_SECOND: Final = 48_000
#: "Only the first chunk should contain the audio file's header"; its length
#: is not known yet. Microsoft's chunked-upload sample
#: (Azure-Samples/Cognitive-Speech-TTS, PronunciationAssessment) sends a
#: header saying zero bytes of audio, as here.
STREAMED_WAV_HEADER: Final = wav_header(SAMPLE_RATE, data_size=0)

_LOCALES: Final = {locale.casefold(): locale for locale in RECOGNITION_LOCALES}


class RecognitionAudio(StrEnum):
    """What the audio handed to `AzureRecognizer` is."""

    PCM = "pcm"  # raw 16 kHz 16-bit mono samples, no header (HA's pipelines)
    OGG_OPUS = "ogg_opus"  # an Ogg Opus stream, 16 kHz mono


class Profanity(StrEnum):
    """What the service does with profanity (the ``profanity`` parameter)."""

    MASKED = "masked"  # replaced with asterisks: the service's default
    REMOVED = "removed"
    RAW = "raw"


class RecognitionStatus(StrEnum):
    """The documented values of ``RecognitionStatus``."""

    SUCCESS = "Success"
    NO_MATCH = "NoMatch"
    INITIAL_SILENCE_TIMEOUT = "InitialSilenceTimeout"
    BABBLE_TIMEOUT = "BabbleTimeout"
    ERROR = "Error"


@dataclass(frozen=True, slots=True)
class Recognition:
    """What the service heard.

    Attributes:
        status: ``RecognitionStatus`` as the service said it (an undocumented
            one is kept as its text).
        text: The display text; "" when nothing was recognised.
        audio_seconds: The audio sent, in seconds (what Azure bills).

    """

    status: str
    text: str
    audio_seconds: float


def recognition_language(language: str) -> str:
    """The locale as the service spells it (``zh-cn`` → ``zh-CN``).

    Raises:
        InvalidRequestError: `field` is ``"recognition_language"``: the service does not
            recognise that language, and would answer 400.

    """
    locale = _LOCALES.get(language.replace("_", "-").casefold())
    if locale is None:
        raise InvalidRequestError(
            f"Speech to text does not support {language!r}",
            field="recognition_language",
            value=language,
        )
    return locale


class AzureRecognizer:
    """Recognises speech with an `AzureSpeechClient`, one utterance per call."""

    def __init__(
        self,
        client: AzureSpeechClient,
        *,
        profanity: Profanity = Profanity.MASKED,
        on_recognized: Callable[[float], None] | None = None,
    ) -> None:
        """Recognise through `client`.

        Args:
            client: The account's client (endpoints and credentials).
            profanity: What the service does with profanity.
            on_recognized: Called with the seconds of audio of each request
                the service answered, which Azure bills.

        """
        self._client = client
        self._profanity = Profanity(profanity)
        self._on_recognized = on_recognized

    async def async_recognize(
        self,
        audio: AsyncIterable[bytes],
        *,
        language: str,
        kind: RecognitionAudio = RecognitionAudio.PCM,
    ) -> Recognition:
        """Recognise 16 kHz mono speech, uploaded while it still arrives.

        The upload starts with the first chunk; the answer comes right after
        `audio` ends. PCM is raw samples, as Home Assistant streams them (the
        WAV header is added here); Ogg Opus goes as it is. Audio past
        `MAX_AUDIO_SECONDS` is not sent: the text of what was sent is
        returned.

        Raises:
            InvalidRequestError: `field` is ``"recognition_language"``
                (before any request), or ``"audio"`` (not an Ogg stream).
            NotOfferedError: The endpoint has no speech to text (a container).
            SpeechError: The service could not be reached or refused the
                request (see `AzureSpeechClient.async_recognize`), or answered
                ``Error``.

        """
        query = {"language": recognition_language(language), "format": "simple"}
        if self._profanity is not Profanity.MASKED:
            query["profanity"] = self._profanity.value
        limited: _LimitedAudio = (
            _LimitedPcm(audio) if kind is RecognitionAudio.PCM else _LimitedOgg(audio)
        )
        # The connection is set up while the first audio comes.
        prepared = asyncio.create_task(self._client.async_prepare_recognition())
        async with aclosing(limited.chunks()) as chunks:
            try:
                first = await anext(chunks, None)
                if first is not None:
                    await prepared
            finally:
                prepared.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await prepared
            if first is None:
                # Nothing was said: no request the service would only time out.
                return Recognition(RecognitionStatus.INITIAL_SILENCE_TIMEOUT, "", 0.0)
            body = Replayable(prepend(first, chunks))
            try:
                data = await self._client.async_recognize(
                    body, content_type=limited.content_type, query=query
                )
            except SpeechServiceError as err:
                if err.status != 404:
                    raise
                # "Speech service containers FAQ": speech-to-text containers
                # "only support the websocket based protocol".
                host = self._client.endpoints.host
                raise NotOfferedError(
                    f"{host} does not offer speech to text over REST", host=host
                ) from None
            finally:
                body.close()
        status, text = parse_recognition(data)
        if self._on_recognized is not None:
            self._on_recognized(limited.seconds)
        return Recognition(status, text, limited.seconds)


def parse_recognition(data: object) -> tuple[str, str]:
    """The status and text of a ``simple`` result.

    ``NoMatch``, ``InitialSilenceTimeout``, ``BabbleTimeout`` and any status
    the documents do not list give no text; so does a success whose text
    profanity removal left empty.

    Raises:
        SpeechServiceError: ``Error``: "The recognition service encountered
            an internal error and couldn't continue."
        SpeechResponseError: Not a result in the documented shape.

    """
    if not isinstance(data, dict) or not isinstance(
        status := data.get("RecognitionStatus"), str
    ):
        raise SpeechResponseError("The recognition result has no RecognitionStatus")
    if status == RecognitionStatus.ERROR:
        raise SpeechServiceError("The speech-to-text service failed to recognise")
    if status != RecognitionStatus.SUCCESS:
        return status, ""
    return status, text_of(data.get("DisplayText")) or ""


class _LimitedAudio(Protocol):
    """An upload as the service takes it, cut at its 60 seconds."""

    content_type: str

    @property
    def seconds(self) -> float:
        """Audio taken so far, in seconds."""

    def chunks(self) -> AsyncGenerator[bytes]:
        """The upload's bytes, up to the limit."""


class _LimitedPcm:
    """A PCM stream framed as a WAV upload, cut at the service's 60 seconds."""

    content_type = PCM_CONTENT_TYPE

    def __init__(self, pcm: AsyncIterable[bytes]) -> None:
        self._pcm = pcm
        self._samples_bytes = 0

    @property
    def seconds(self) -> float:
        """Audio taken so far, in seconds."""
        return self._samples_bytes / BYTES_PER_SECOND

    async def chunks(self) -> AsyncGenerator[bytes]:
        """The WAV header with the first audio, then the audio, up to the limit."""
        budget = MAX_AUDIO_SECONDS * BYTES_PER_SECOND
        header = STREAMED_WAV_HEADER
        async for received in self._pcm:
            if not (chunk := received[: budget - self._samples_bytes]):
                continue
            self._samples_bytes += len(chunk)
            yield header + chunk
            header = b""
            if self._samples_bytes >= budget:
                return


class _LimitedOgg:
    """An Ogg Opus stream sent page by page, up to the service's 60 seconds.

    A page's granule position is the audio at its end (48 kHz samples), so
    whole pages are sent while it stays within the limit.
    """

    content_type = OGG_OPUS_CONTENT_TYPE

    def __init__(self, ogg: AsyncIterable[bytes]) -> None:
        self._ogg = ogg
        self._granule = 0

    @property
    def seconds(self) -> float:
        """Audio taken so far, in seconds."""
        return self._granule / OPUS_GRANULES_PER_SECOND

    async def chunks(self) -> AsyncGenerator[bytes]:
        """Whole pages, as soon as each has arrived."""
        limit = MAX_AUDIO_SECONDS * OPUS_GRANULES_PER_SECOND
        pending = bytearray()
        async for received in self._ogg:
            pending += received
            pages = bytearray()
            while (size := _ogg_page_size(pending)) is not None:
                granule = int.from_bytes(pending[6:14], "little", signed=True)
                if granule > limit:
                    if pages:
                        yield bytes(pages)
                    return
                if granule >= 0:  # -1: no packet ends on this page
                    self._granule = granule
                pages += pending[:size]
                del pending[:size]
            if pages:
                yield bytes(pages)


def _ogg_page_size(data: bytearray) -> int | None:
    """The size of the Ogg page `data` starts with; None until it has all arrived.

    Raises:
        InvalidRequestError: `field` is ``"audio"``: not an Ogg page.

    """
    if len(data) < _OGG_HEADER_SIZE:
        return None
    if data[:4] != b"OggS":
        raise InvalidRequestError("The audio is not an Ogg stream", field="audio")
    header_size = _OGG_HEADER_SIZE + data[26]
    if len(data) < header_size:
        return None
    size = header_size + sum(data[_OGG_HEADER_SIZE:header_size])
    return size if len(data) >= size else None


# "OggS", version, type, granule (8), serial (4), sequence (4), CRC (4),
# segment count: RFC 3533, section 6.
_OGG_HEADER_SIZE: Final = 27
