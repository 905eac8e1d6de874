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
from typing import Final

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
#: The one PCM format the API takes: "WAV | PCM | 256 kbps | 16 kHz, mono".
SAMPLE_RATE: Final = 16_000
BYTES_PER_SECOND: Final = SAMPLE_RATE * 2
PCM_CONTENT_TYPE: Final = f"audio/wav; codecs=audio/pcm; samplerate={SAMPLE_RATE}"
#: "Only the first chunk should contain the audio file's header"; its length
#: is not known yet. Microsoft's chunked-upload sample
#: (Azure-Samples/Cognitive-Speech-TTS, PronunciationAssessment) sends a
#: header saying zero bytes of audio, as here.
STREAMED_WAV_HEADER: Final = wav_header(SAMPLE_RATE, data_size=0)

_LOCALES: Final = {locale.casefold(): locale for locale in RECOGNITION_LOCALES}


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
        self, pcm: AsyncIterable[bytes], *, language: str
    ) -> Recognition:
        """Recognise 16 kHz, 16-bit mono PCM, uploaded while it still arrives.

        The upload starts with the first chunk; the answer comes right after
        `pcm` ends (raw samples, no header: as Home Assistant streams them).
        Audio past `MAX_AUDIO_SECONDS` is not sent: the text of what was
        sent is returned.

        Raises:
            InvalidRequestError: `field` is ``"recognition_language"``
                (before any request).
            NotOfferedError: The endpoint has no speech to text (a container).
            SpeechError: The service could not be reached or refused the
                request (see `AzureSpeechClient.async_recognize`), or answered
                ``Error``.

        """
        query = {"language": recognition_language(language), "format": "simple"}
        if self._profanity is not Profanity.MASKED:
            query["profanity"] = self._profanity.value
        audio = _LimitedPcm(pcm)
        # The connection is set up while the first audio comes.
        prepared = asyncio.create_task(self._client.async_prepare_recognition())
        async with aclosing(audio.chunks()) as chunks:
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
                    body, content_type=PCM_CONTENT_TYPE, query=query
                )
            except SpeechServiceError as err:
                if err.status != 404:
                    raise
                # "Speech service containers FAQ": speech-to-text containers
                # "only support the websocket based protocol".
                host = self._client.endpoints.host
                raise NotOfferedError(
                    f"{host} does not offer speech to text over REST", status=404
                ) from None
            finally:
                body.close()
        status, text = parse_recognition(data)
        if self._on_recognized is not None:
            self._on_recognized(audio.seconds)
        return Recognition(status, text, audio.seconds)


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


class _LimitedPcm:
    """A PCM stream framed as a WAV upload, cut at the service's 60 seconds."""

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
