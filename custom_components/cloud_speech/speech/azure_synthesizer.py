"""Speaking through Azure AI Speech: SSML batches, joined into one stream."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from .azure import AzureSpeechClient
from .batching import ServiceHistory
from .errors import InvalidRequestError
from .formats import (
    DEFAULT_MP3_FORMAT_NAME,
    choose_format,
    get_format,
    streaming_variant,
    wav_header,
)
from .models import AudioFormat, Codec, Container, Voice, VoiceSettings
from .pipeline import synthesize_pipelined
from .ssml import (
    build_ssml,
    complete_ssml_document,
    starts_ssml_document,
    validate_settings,
)
from .streams import PeekedText, xml_characters
from .synthesis import (
    VOICE_SPECIFIC_OPTIONS,
    AudioStream,
    Option,
    SynthesisRequest,
    VoiceCatalogSource,
    VoicesAndHistory,
    default_voice,
    optional_text,
)

# Enough text to tell a `<speak>` document from plain text, most of the time.
SSML_SNIFF_CHARACTERS = 7


@dataclass(frozen=True, slots=True)
class AzurePlan:
    """Everything decided about an Azure call before any request is made."""

    settings: VoiceSettings
    audio_format: AudioFormat

    @property
    def extension(self) -> str:
        """The file extension of the audio."""
        return self.audio_format.extension


class AzureSynthesizer(VoicesAndHistory):
    """Speaks plain text in sentence batches, and SSML documents whole."""

    def __init__(
        self,
        client: AzureSpeechClient,
        voices: VoiceCatalogSource,
        history: ServiceHistory | None = None,
    ) -> None:
        """Speak through `client` (see `VoicesAndHistory` for the rest)."""
        super().__init__(voices, history)
        self._client = client

    def prepare(self, request: SynthesisRequest, voice: Voice) -> AzurePlan:
        """Validate the call's settings for `voice`, and choose the output format."""
        default = default_voice(self._voices(), request)

        def option(key: Option) -> Any:  # validated by validate_settings
            if voice.is_high_definition and key not in request.options:
                # HD voices take no style or prosody: the profile's are not
                # sent to them (a call's own are refused by the validation).
                return None
            if key in request.options:
                return request.options[key]
            if key in VOICE_SPECIFIC_OPTIONS and voice is not default:
                return None
            return request.defaults.get(key)

        language = request.language
        spoken_language = (
            language
            if voice.speaks(language) and not voice.speaks_natively(language)
            else None
        )
        settings = validate_settings(
            VoiceSettings(
                voice=voice.short_name,
                language=voice.locale,
                spoken_language=spoken_language,
                style=optional_text(option(Option.STYLE), Option.STYLE),
                style_degree=option(Option.STYLE_DEGREE),
                role=optional_text(option(Option.ROLE), Option.ROLE),
                rate=option(Option.RATE),
                pitch=option(Option.PITCH),
                volume=option(Option.VOLUME),
            ),
            voice,
        )
        return AzurePlan(settings, self._choose_format(request))

    def configured_extension(self, request: SynthesisRequest) -> str:
        """See `Synthesizer.configured_extension`."""
        return _configured_format(request).extension

    def _choose_format(self, request: SynthesisRequest) -> AudioFormat:
        """The native format for what the caller prefers, else the configured one."""
        configured = _configured_format(request)
        extension = request.options.get(Option.PREFERRED_FORMAT)
        sample_rate = request.integer(Option.PREFERRED_SAMPLE_RATE)
        channels = request.integer(Option.PREFERRED_SAMPLE_CHANNELS)
        sample_bytes = request.integer(Option.PREFERRED_SAMPLE_BYTES)
        if (
            extension in (None, configured.extension)
            and sample_rate in (None, configured.sample_rate)
            and channels in (None, configured.channels)
            and (
                sample_bytes is None
                or configured.container is not Container.RIFF
                or sample_bytes * 8 == configured.bits_per_sample
            )
        ):
            return configured
        return (
            choose_format(
                str(extension) if extension is not None else configured.extension,
                sample_rate,
                sample_channels=channels,
                sample_bytes=sample_bytes,
            )
            or configured
        )

    async def stream(self, plan: AzurePlan, text: AsyncIterable[str]) -> AudioStream:
        """See `Synthesizer.stream`; nothing is sent until the chunks are read."""
        return AudioStream(plan.extension, self._synthesize(plan, text))

    async def _synthesize(
        self, plan: AzurePlan, message: AsyncIterable[str]
    ) -> AsyncGenerator[bytes]:
        text = PeekedText(message)
        if await _is_ssml(text):
            # A whole document, completed where partial: one request.
            ssml = complete_ssml_document(
                "".join([piece async for piece in text]), plan.settings, self._voices()
            )
            async with aclosing(
                self._client.synthesize(ssml, plan.audio_format.name)
            ) as chunks:
                async for chunk in chunks:
                    yield chunk
            return

        # What XML cannot carry is never spoken: drop it before the pipeline, so
        # that a message of nothing else is refused as empty, not sent as such.
        batches: AsyncIterable[str] = xml_characters(text)
        audio_format = plan.audio_format
        header = b""
        if audio_format.container is Container.RIFF and audio_format.codec is Codec.PCM:
            # One WAV header of unknown length, then raw PCM from every batch.
            header = wav_header(
                audio_format.sample_rate, audio_format.bits_per_sample or 16
            )
            audio_format = streaming_variant(audio_format)

        if not audio_format.concatenable:
            # Ogg files cannot be joined: the whole text in one request, past
            # the sentence pipeline (which sends the first sentence alone).
            whole = "".join([piece async for piece in batches]).strip()
            if not whole:
                raise InvalidRequestError("There is no text to speak", field="message")
            async with aclosing(
                self._client.synthesize(
                    build_ssml(whole, plan.settings), audio_format.name
                )
            ) as chunks:
                async for chunk in chunks:
                    yield chunk
            return

        def synthesize(batch: str) -> AsyncIterator[bytes]:
            return self._client.synthesize(
                build_ssml(batch, plan.settings), audio_format.name
            )

        async with aclosing(
            synthesize_pipelined(
                batches, synthesize, audio_format=audio_format, history=self._history
            )
        ) as chunks:
            async for chunk in chunks:
                # The header goes with the first audio, not before it: the
                # first chunk says the service has spoken (`Synthesizer`).
                yield header + chunk
                header = b""


def _configured_format(request: SynthesisRequest) -> AudioFormat:
    name = request.defaults.get(Option.OUTPUT_FORMAT)
    return get_format(name if isinstance(name, str) else DEFAULT_MP3_FORMAT_NAME)


async def _is_ssml(text: PeekedText) -> bool:
    """Whether a message is an SSML document, reading no more of it than needed."""
    characters = SSML_SNIFF_CHARACTERS
    while (
        verdict := starts_ssml_document(head := await text.peek(characters))
    ) is None:
        if len(head.lstrip()) < characters:
            return False  # the whole message is read, and it never became one
        characters *= 2
    return verdict
