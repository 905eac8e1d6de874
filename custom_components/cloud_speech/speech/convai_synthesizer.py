"""Speaking through Convai: one WAV (or MP3) file per batch, joined into one stream."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable
from contextlib import aclosing
from dataclasses import dataclass, replace
import logging
from typing import Final

from .batching import ServiceHistory
from .convai import ConvaiClient, ConvaiEncoding, parse_encoding
from .errors import EncodingNotSupportedError
from .models import AudioFormat, Codec, Container, Voice
from .pipeline import synthesize_pipelined
from .streams import Replayable, closing, prepend
from .synthesis import (
    AudioStream,
    Option,
    SynthesisRequest,
    VoiceCatalogSource,
    VoicesAndHistory,
)
from .wav import WavJoiner

_LOGGER = logging.getLogger(__name__)

# The audio the pipeline sees, for timing it (speech/batching.py). No Convai
# page names a rate or a bitrate. WAV is 16-bit mono PCM (assumption, see
# tests/emulator/FIDELITY.md) at 22,050 or 24,000 Hz: counted at 24,000, a
# 22,050 Hz voice's audio is taken for 8 % less than it is, which sends
# batches early, never late. Each response's header is dropped by the
# joiner, so the pipeline sees bare samples. MP3 is timed by its text alone
# (the pipeline's default: no bitrate known), which also errs early.
_WAV_TIMING: Final = AudioFormat(
    "convai-wav-samples", Container.RAW, Codec.PCM, 24000, "wav", bits_per_sample=16
)
_MP3_TIMING: Final = AudioFormat("convai-mp3", Container.MP3, Codec.MP3, 24000, "mp3")


@dataclass(frozen=True, slots=True)
class ConvaiPlan:
    """Everything decided about a Convai call before any request is made."""

    voice: str
    encoding: ConvaiEncoding

    @property
    def extension(self) -> str:
        """The file extension of the audio."""
        return self.encoding.value


class ConvaiSynthesizer(VoicesAndHistory):
    """Speaks plain text in sentence batches; falls back to WAV for voices without MP3."""

    def __init__(
        self,
        client: ConvaiClient,
        voices: VoiceCatalogSource,
        history: ServiceHistory | None = None,
    ) -> None:
        """Speak through `client` (see `VoicesAndHistory` for the rest)."""
        super().__init__(voices, history)
        self._client = client
        # Voices that refused MP3: asked for WAV from then on.
        self._refuse_mp3: set[str] = set()

    def prepare(self, request: SynthesisRequest, voice: Voice) -> ConvaiPlan:
        """Pick the encoding the caller prefers if Convai has it, else the profile's."""
        preferred = request.options.get(Option.PREFERRED_FORMAT)
        encoding = (
            ConvaiEncoding(preferred)
            if isinstance(preferred, str) and preferred in tuple(ConvaiEncoding)
            else _configured_encoding(request)
        )
        if voice.short_name in self._refuse_mp3:
            encoding = ConvaiEncoding.WAV
        return ConvaiPlan(voice.short_name, encoding)

    def configured_extension(self, request: SynthesisRequest) -> str:
        """See `Synthesizer.configured_extension`."""
        return _configured_encoding(request).value

    async def stream(self, plan: ConvaiPlan, text: AsyncIterable[str]) -> AudioStream:
        """See `Synthesizer.stream`; in WAV when the voice refuses MP3.

        Whether a voice speaks MP3 shows only in the first answer, and the
        extension must be known before audio flows: for MP3 the first chunk
        is awaited here, and on refusal the text is spoken again in WAV.
        """
        if plan.encoding is ConvaiEncoding.WAV:
            return AudioStream(plan.extension, self._synthesize(plan, text))
        replayable = Replayable(aiter(text))
        audio = self._synthesize(plan, replayable.read())
        try:
            first = await anext(audio)
        except EncodingNotSupportedError:
            _LOGGER.debug("Voice %s refuses MP3; using WAV", plan.voice)
            self._refuse_mp3.add(plan.voice)
            wav = replace(plan, encoding=ConvaiEncoding.WAV)
            return AudioStream(
                wav.extension,
                closing(self._synthesize(wav, replayable.read()), replayable),
            )
        except BaseException:
            # Failed, or cancelled while waiting: the text is no longer wanted.
            replayable.close()
            raise
        return AudioStream(plan.extension, closing(prepend(first, audio), replayable))

    async def _synthesize(
        self, plan: ConvaiPlan, text: AsyncIterable[str]
    ) -> AsyncGenerator[bytes]:
        client = self._client
        if plan.encoding is not ConvaiEncoding.WAV:
            async with aclosing(
                synthesize_pipelined(
                    text,
                    lambda batch: client.synthesize(batch, plan.voice, plan.encoding),
                    history=self._history,
                )
            ) as chunks:
                async for chunk in chunks:
                    yield chunk
            return

        # Each answer is a whole WAV file: every batch's header is dropped, and
        # one streaming header goes out before the first samples played.
        joiner = WavJoiner()
        async with (
            aclosing(
                synthesize_pipelined(
                    text,
                    lambda batch: joiner.response(
                        client.synthesize(batch, plan.voice, plan.encoding)
                    ),
                    audio_format=_WAV_TIMING,
                    history=self._history,
                )
            ) as audio,
            aclosing(joiner.stream(audio)) as chunks,
        ):
            async for chunk in chunks:
                yield chunk


def _configured_encoding(request: SynthesisRequest) -> ConvaiEncoding:
    return parse_encoding(request.defaults.get(Option.ENCODING, ConvaiEncoding.WAV))
