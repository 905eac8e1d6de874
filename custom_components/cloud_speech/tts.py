"""The Cloud Speech text-to-speech entity."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Mapping
from contextlib import aclosing
from dataclasses import dataclass, replace
import hashlib
import logging
from typing import Any, override

from homeassistant.components.tts import (
    ATTR_PREFERRED_FORMAT,
    ATTR_PREFERRED_SAMPLE_BYTES,
    ATTR_PREFERRED_SAMPLE_CHANNELS,
    ATTR_PREFERRED_SAMPLE_RATE,
    ATTR_VOICE,
    TextToSpeechEntity,
    TTSAudioResponse,
    Voice as TtsVoice,
)
from homeassistant.components.tts.entity import TTSAudioRequest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import CloudSpeechConfigEntry
from .const import (
    CONF_ENCODING,
    CONF_LANGUAGE,
    CONF_OUTPUT_FORMAT,
    CONF_PITCH,
    CONF_RATE,
    CONF_ROLE,
    CONF_STYLE,
    CONF_STYLE_DEGREE,
    CONF_VOICE,
    CONF_VOLUME,
    DEFAULT_CONVAI_ENCODING,
    DEFAULT_OUTPUT_FORMAT,
    DOMAIN,
    VOICE_SETTINGS,
)
from .helpers import call_error
from .speech.azure import AzureSpeechClient
from .speech.convai import ConvaiClient, ConvaiEncoding
from .speech.errors import (
    InvalidRequestError,
    SpeechAuthenticationError,
    SpeechBadRequestError,
    SpeechError,
)
from .speech.formats import choose_format, get_format, streaming_variant, wav_header
from .speech.models import AudioFormat, Codec, Container, Voice, VoiceSettings
from .speech.pipeline import synthesize_pipelined
from .speech.ssml import (
    build_ssml,
    complete_ssml_document,
    remove_forbidden_characters,
    starts_ssml_document,
    validate_settings,
)
from .speech.voices import normalize_language_tag, voice_label
from .speech.wav import WavJoiner

_LOGGER = logging.getLogger(__name__)

# Synthesis runs in the service; HA need not serialize calls to it.
PARALLEL_UPDATES = 0

# Options that only make sense for the voice they were chosen with.
VOICE_SPECIFIC_OPTIONS = (CONF_STYLE, CONF_STYLE_DEGREE, CONF_ROLE)
# Set by the entity itself, to tell HA's cache when the entry's options change.
ATTR_ENTRY_OPTIONS = "entry_options"
# Enough text to tell a `<speak>` document from plain text, most of the time.
SSML_SNIFF_CHARACTERS = 7


async def async_setup_entry(
    hass: HomeAssistant,
    entry: CloudSpeechConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the entry's TTS entity."""
    client = entry.runtime_data.client
    if isinstance(client, ConvaiClient):
        async_add_entities([ConvaiSpeechEntity(entry, client)])
    else:
        async_add_entities([AzureSpeechEntity(entry, client)])


@dataclass(frozen=True, slots=True)
class AzurePlan:
    """Everything decided about an Azure call before any request is made."""

    settings: VoiceSettings
    audio_format: AudioFormat

    @property
    def extension(self) -> str:
        """The file extension of the audio."""
        return self.audio_format.extension


@dataclass(frozen=True, slots=True)
class ConvaiPlan:
    """Everything decided about a Convai call before any request is made."""

    voice: str
    encoding: ConvaiEncoding

    @property
    def extension(self) -> str:
        """The file extension of the audio."""
        return self.encoding.value


class CloudSpeechEntity[PlanT: (AzurePlan, ConvaiPlan)](TextToSpeechEntity):
    """Speaks through the entry's speech service: what every service shares."""

    _attr_has_entity_name = True
    _attr_translation_key = "speech"
    _manufacturer: str
    _model: str

    def __init__(self, entry: CloudSpeechConfigEntry) -> None:
        """Create the entity of `entry`."""
        self._entry = entry
        self._attr_unique_id = entry.entry_id
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, entry.entry_id)},
            name=entry.title,
            manufacturer=self._manufacturer,
            model=self._model,
            entry_type=DeviceEntryType.SERVICE,
        )

    @property
    def _default_voice(self) -> Voice | None:
        return self._entry.runtime_data.voices.get(
            self._entry.options.get(CONF_VOICE, "")
        )

    @property
    @override
    def supported_languages(self) -> list[str]:
        """Every language some voice speaks, secondary locales included."""
        return self._entry.runtime_data.voices.languages

    @property
    @override
    def default_language(self) -> str:
        """The default voice's own language."""
        if (voice := self._default_voice) is not None:
            # The language chosen with the voice (a multilingual voice may have
            # been chosen for one of its secondary languages), else its own.
            configured = self._entry.options.get(CONF_LANGUAGE)
            if configured and voice.speaks(configured):
                return normalize_language_tag(configured)
            return normalize_language_tag(voice.locale)
        languages = self.supported_languages
        return "en-US" if "en-US" in languages else languages[0]

    @property
    def _cache_key_options(self) -> dict[str, str]:
        """An option that changes with the entry's options.

        HA caches audio by message, language and options; without it, audio
        made with the previous default voice or prosody would still be served
        after the options change. The entity ignores it otherwise.
        """
        fingerprint = hashlib.blake2s(
            repr(sorted(self._entry.options.items())).encode(), digest_size=6
        ).hexdigest()
        return {ATTR_ENTRY_OPTIONS: fingerprint}

    @override
    def async_get_supported_voices(self, language: str) -> list[TtsVoice]:
        """Voices for `language`, the default voice first."""
        voices = self._entry.runtime_data.voices.voices_for(language)
        default = self._default_voice
        if default in voices:
            voices.remove(default)
            voices.insert(0, default)
        return [TtsVoice(voice.short_name, voice_label(voice)) for voice in voices]

    @override
    async def async_stream_tts_audio(
        self, request: TTSAudioRequest
    ) -> TTSAudioResponse:
        """Stream speech for text that may still be arriving."""
        plan = self.plan(request.language, request.options)
        return TTSAudioResponse(plan.extension, self._audio(plan, request.message_gen))

    def plan(self, language: str, options: Mapping[str, Any]) -> PlanT:
        """Validate a call's options and decide everything about it.

        Raises ServiceValidationError; nothing has been sent at that point.
        """
        raise NotImplementedError

    def _synthesize(
        self, plan: PlanT, text: AsyncIterator[str]
    ) -> AsyncGenerator[bytes]:
        """The audio of `text`, as the service sends it."""
        raise NotImplementedError

    def _choose_voice(self, language: str, options: Mapping[str, Any]) -> Voice:
        """The voice a call names, else the default one if it speaks `language`."""
        voices = self._entry.runtime_data.voices
        if (name := options.get(ATTR_VOICE)) is not None:
            if (voice := voices.get(_text_option(options, ATTR_VOICE))) is None:
                raise ServiceValidationError(
                    translation_domain=DOMAIN,
                    translation_key="invalid_voice",
                    translation_placeholders={"voice": str(name)},
                )
            return voice
        if (voice := voices.voice_for(language, self._default_voice)) is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="no_voice_for_language",
                translation_placeholders={"language": language},
            )
        return voice

    async def _audio(
        self, plan: PlanT, message: AsyncIterator[str]
    ) -> AsyncGenerator[bytes]:
        """Yield the audio; any failure raises, so HA never caches a partial file."""
        try:
            # Closed at once when the listener leaves: requests stop now,
            # not whenever the garbage collector gets to them.
            async with aclosing(self._synthesize(plan, message)) as chunks:
                async for chunk in chunks:
                    yield chunk
        except SpeechError as err:
            self._entry.runtime_data.last_error = str(err)
            if isinstance(err, SpeechAuthenticationError):
                # Starting reauth is idempotent: HA keeps one flow per entry.
                self._entry.async_start_reauth(self.hass)
            raise call_error(err) from err


class AzureSpeechEntity(CloudSpeechEntity[AzurePlan]):
    """Speaks through Azure AI Speech."""

    _manufacturer = "Microsoft"
    _model = "Azure AI Speech"

    def __init__(
        self, entry: CloudSpeechConfigEntry, client: AzureSpeechClient
    ) -> None:
        """Create the entity of `entry`, speaking through `client`."""
        super().__init__(entry)
        self._client = client

    _attr_supported_options = [
        ATTR_VOICE,
        *VOICE_SETTINGS,
        ATTR_PREFERRED_FORMAT,
        ATTR_PREFERRED_SAMPLE_RATE,
        ATTR_PREFERRED_SAMPLE_CHANNELS,
        ATTR_PREFERRED_SAMPLE_BYTES,
    ]

    @property
    def _configured_format(self) -> AudioFormat:
        return get_format(
            self._entry.options.get(CONF_OUTPUT_FORMAT, DEFAULT_OUTPUT_FORMAT)
        )

    @property
    @override
    def default_options(self) -> Mapping[str, Any]:
        """Ask HA for the configured format, so it does not convert it to MP3."""
        return {
            ATTR_PREFERRED_FORMAT: self._configured_format.extension,
            **self._cache_key_options,
        }

    @override
    def plan(self, language: str, options: Mapping[str, Any]) -> AzurePlan:
        """Validate a call's options and decide voice, settings and format."""
        default_voice = self._default_voice
        voice = self._choose_voice(language, options)

        def option(key: str) -> Any:
            if voice.is_high_definition and key not in options:
                # HD voices take no style or prosody: the entry's are not
                # sent to them (a call's own are refused by the validation).
                return None
            if key in options:
                return options[key]
            if key in VOICE_SPECIFIC_OPTIONS and voice is not default_voice:
                return None
            return self._entry.options.get(key)

        spoken_language = (
            language
            if voice.speaks(language) and not voice.speaks_natively(language)
            else None
        )
        try:
            settings = validate_settings(
                VoiceSettings(
                    voice=voice.short_name,
                    language=voice.locale,
                    spoken_language=spoken_language,
                    style=_optional_text(option(CONF_STYLE), CONF_STYLE),
                    style_degree=option(CONF_STYLE_DEGREE),
                    role=_optional_text(option(CONF_ROLE), CONF_ROLE),
                    rate=option(CONF_RATE),
                    pitch=option(CONF_PITCH),
                    volume=option(CONF_VOLUME),
                ),
                voice,
            )
        except InvalidRequestError as err:
            raise call_error(err, voice) from err
        return AzurePlan(settings, self._choose_format(options))

    def _choose_format(self, options: Mapping[str, Any]) -> AudioFormat:
        """The service's native format for what HA prefers, else the configured one."""
        configured = self._configured_format
        extension = options.get(ATTR_PREFERRED_FORMAT)
        sample_rate = _int_option(options, ATTR_PREFERRED_SAMPLE_RATE)
        channels = _int_option(options, ATTR_PREFERRED_SAMPLE_CHANNELS)
        sample_bytes = _int_option(options, ATTR_PREFERRED_SAMPLE_BYTES)
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

    @override
    async def _synthesize(
        self, plan: AzurePlan, message: AsyncIterator[str]
    ) -> AsyncGenerator[bytes]:
        client = self._client
        text = _PeekedText(message)
        if await _is_ssml(text):
            # A whole document, completed where partial: one request.
            ssml = complete_ssml_document(
                "".join([piece async for piece in text]),
                plan.settings,
                self._entry.runtime_data.voices,
            )
            async with aclosing(
                client.synthesize(ssml, plan.audio_format.name)
            ) as chunks:
                async for chunk in chunks:
                    yield chunk
            return

        # What XML cannot carry is never spoken: drop it before the pipeline, so
        # that a message of nothing else is refused as empty, not sent as such.
        text = _PeekedText(_xml_characters(text))
        audio_format = plan.audio_format
        if audio_format.container is Container.RIFF and audio_format.codec is Codec.PCM:
            # One WAV header of unknown length, then raw PCM from every batch.
            yield wav_header(
                audio_format.sample_rate, audio_format.bits_per_sample or 16
            )
            audio_format = streaming_variant(audio_format)

        if not audio_format.concatenable:
            # Ogg/WebM/AMR files cannot be joined: the whole text in one request.
            whole = "".join([piece async for piece in text])
            text = _PeekedText(_once(whole))

        def synthesize(batch: str) -> AsyncIterator[bytes]:
            return client.synthesize(
                build_ssml(batch, plan.settings), audio_format.name
            )

        async with aclosing(synthesize_pipelined(text, synthesize)) as chunks:
            async for chunk in chunks:
                yield chunk


class ConvaiSpeechEntity(CloudSpeechEntity[ConvaiPlan]):
    """Speaks through Convai."""

    _manufacturer = "Convai"
    _model = "Convai TTS"
    _attr_supported_options = [ATTR_VOICE, ATTR_PREFERRED_FORMAT]

    def __init__(self, entry: CloudSpeechConfigEntry, client: ConvaiClient) -> None:
        """Create the entity of `entry`, speaking through `client`."""
        super().__init__(entry)
        self._client = client
        # Voices that answered "Incorrect encoding" to MP3: asked for WAV from then on.
        self._refuse_mp3: set[str] = set()

    @property
    def _configured_encoding(self) -> ConvaiEncoding:
        return ConvaiEncoding(
            self._entry.options.get(CONF_ENCODING, DEFAULT_CONVAI_ENCODING)
        )

    @property
    @override
    def default_options(self) -> Mapping[str, Any]:
        """Ask HA for the configured encoding, so it does not convert it."""
        return {
            ATTR_PREFERRED_FORMAT: self._configured_encoding.value,
            **self._cache_key_options,
        }

    @override
    def plan(self, language: str, options: Mapping[str, Any]) -> ConvaiPlan:
        """Validate the voice and pick the encoding HA prefers, if Convai has it."""
        voice = self._choose_voice(language, options)
        preferred = options.get(ATTR_PREFERRED_FORMAT)
        encoding = (
            ConvaiEncoding(preferred)
            if preferred in tuple(ConvaiEncoding)
            else self._configured_encoding
        )
        if voice.short_name in self._refuse_mp3:
            encoding = ConvaiEncoding.WAV
        return ConvaiPlan(voice.short_name, encoding)

    @override
    async def async_stream_tts_audio(
        self, request: TTSAudioRequest
    ) -> TTSAudioResponse:
        """Stream speech; fall back to WAV when the voice refuses MP3.

        Whether a voice speaks MP3 shows only in the first answer, and the
        extension must be known before audio flows: the first chunk is awaited
        here, and on refusal the text is spoken again in WAV.
        """
        plan = self.plan(request.language, request.options)
        if plan.encoding is ConvaiEncoding.WAV:
            return TTSAudioResponse(
                plan.extension, self._audio(plan, request.message_gen)
            )
        text = _ReplayableText(request.message_gen)
        audio = self._audio(plan, text.read())
        try:
            first = await anext(audio)
        except HomeAssistantError as err:
            if not _refuses_encoding(err):
                text.close()
                raise
            _LOGGER.debug("Voice %s refuses MP3; using WAV", plan.voice)
            self._refuse_mp3.add(plan.voice)
            wav = replace(plan, encoding=ConvaiEncoding.WAV)
            return TTSAudioResponse(
                wav.extension, _closing(self._audio(wav, text.read()), text)
            )
        except BaseException:
            # Cancelled while waiting: the text is no longer wanted either.
            text.close()
            raise
        return TTSAudioResponse(plan.extension, _closing(_prepend(first, audio), text))

    @override
    async def _synthesize(
        self, plan: ConvaiPlan, message: AsyncIterator[str]
    ) -> AsyncGenerator[bytes]:
        client = self._client
        if plan.encoding is not ConvaiEncoding.WAV:
            async with aclosing(
                synthesize_pipelined(
                    message,
                    lambda batch: client.synthesize(batch, plan.voice, plan.encoding),
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
                    message,
                    lambda batch: joiner.response(
                        client.synthesize(batch, plan.voice, plan.encoding)
                    ),
                )
            ) as audio,
            aclosing(joiner.stream(audio)) as chunks,
        ):
            async for chunk in chunks:
                yield chunk


def _refuses_encoding(err: HomeAssistantError) -> bool:
    cause = err.__cause__
    return isinstance(cause, SpeechBadRequestError) and (
        "encoding" in (cause.reason or str(cause)).casefold()
    )


async def _prepend(first: bytes, rest: AsyncGenerator[bytes]) -> AsyncGenerator[bytes]:
    async with aclosing(rest):
        yield first
        async for chunk in rest:
            yield chunk


async def _closing(
    audio: AsyncGenerator[bytes], text: _ReplayableText
) -> AsyncGenerator[bytes]:
    """Yield `audio`; when the listener leaves, stop its requests, then the text."""
    try:
        async with aclosing(audio):
            async for chunk in audio:
                yield chunk
    finally:
        text.close()


class _ReplayableText:
    """A text stream that can be read again from the start.

    Pieces are pulled from the source by a task of their own, so a reader
    being cancelled never cancels (and so breaks) the source. A failure of
    the source is kept and raised to every reader that reaches it: a replay
    must not end quietly where the source broke off.
    """

    def __init__(self, source: AsyncIterator[str]) -> None:
        self._source = source
        self._pieces: list[str] = []
        self._done = False
        self._error: Exception | None = None
        self._closed = False
        self._pulling: asyncio.Task[None] | None = None

    async def read(self) -> AsyncIterator[str]:
        """Every piece from the first, then new ones as they arrive."""
        index = 0
        while True:
            while index >= len(self._pieces) and not self._done and not self._closed:
                if self._pulling is None:
                    self._pulling = asyncio.create_task(self._pull())
                await asyncio.shield(self._pulling)
            if index >= len(self._pieces):
                if self._error is not None:
                    raise self._error
                return
            yield self._pieces[index]
            index += 1

    async def _pull(self) -> None:
        try:
            self._pieces.append(await anext(self._source))
        except StopAsyncIteration:
            self._done = True
        except Exception as err:  # noqa: BLE001 - raised to the readers
            self._error = err
            self._done = True
        finally:
            self._pulling = None

    def close(self) -> None:
        """Stop pulling from the source, for good.

        A reader still running (a pipeline being torn down) then sees the end
        of the text rather than starting another pull that nobody awaits.
        """
        self._closed = True
        if self._pulling is not None:
            self._pulling.cancel()


class _PeekedText:
    """A text stream whose beginning can be looked at before it is consumed."""

    def __init__(self, stream: AsyncIterator[str]) -> None:
        self._stream = stream
        self._head: list[str] = []

    async def peek(self, characters: int) -> str:
        """At least `characters` non-blank characters of the start, if there are."""
        while len("".join(self._head).lstrip()) < characters:
            try:
                self._head.append(await anext(self._stream))
            except StopAsyncIteration:
                break
        return "".join(self._head)

    def __aiter__(self) -> AsyncIterator[str]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[str]:
        while self._head:
            yield self._head.pop(0)
        async for piece in self._stream:
            yield piece


async def _is_ssml(text: _PeekedText) -> bool:
    """Whether a message is an SSML document, reading no more of it than needed."""
    characters = SSML_SNIFF_CHARACTERS
    while (
        verdict := starts_ssml_document(head := await text.peek(characters))
    ) is None:
        if len(head.lstrip()) < characters:
            return False  # the whole message is read, and it never became one
        characters *= 2
    return verdict


async def _xml_characters(text: AsyncIterable[str]) -> AsyncIterator[str]:
    async for piece in text:
        yield remove_forbidden_characters(piece)


async def _once(text: str) -> AsyncIterator[str]:
    yield text


def _text_option(options: Mapping[str, Any], key: str) -> str:
    value = options[key]
    if not isinstance(value, str):
        raise _invalid_option(key, value)
    return value


def _optional_text(value: Any, key: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _invalid_option(key, value)
    return value


def _int_option(options: Mapping[str, Any], key: str) -> int | None:
    value = options.get(key)
    if value is None:
        return None
    try:
        return int(value)
    except TypeError, ValueError:
        raise _invalid_option(key, value) from None


def _invalid_option(key: str, value: Any) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="invalid_option",
        translation_placeholders={"option": key, "value": repr(value)[:100]},
    )
