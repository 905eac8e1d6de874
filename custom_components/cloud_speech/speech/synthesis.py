"""What every synthesizer shares: the request, the protocol and the audio stream.

A call is prepared first (voice, settings and format decided, bad input
refused before anything is sent), then streamed: text in, audio out.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from .batching import ServiceHistory
from .errors import InvalidOptionError, InvalidRequestError, NoVoiceForLanguageError
from .models import Voice
from .voices import VoiceCatalog


class Option(StrEnum):
    """What a call's options and a profile's defaults may say, by name."""

    VOICE = "voice"
    # The language chosen with the profile's voice (a multilingual voice may
    # have been chosen for one of its secondary languages).
    LANGUAGE = "language"
    STYLE = "style"
    STYLE_DEGREE = "style_degree"
    ROLE = "role"
    RATE = "rate"
    PITCH = "pitch"
    VOLUME = "volume"
    OUTPUT_FORMAT = "output_format"  # Azure's, of formats.FORMATS
    ENCODING = "encoding"  # Convai's
    # What the caller would rather receive; served natively when the service can.
    PREFERRED_FORMAT = "preferred_format"
    PREFERRED_SAMPLE_RATE = "preferred_sample_rate"
    PREFERRED_SAMPLE_CHANNELS = "preferred_sample_channels"
    PREFERRED_SAMPLE_BYTES = "preferred_sample_bytes"


# Options that only make sense for the voice they were chosen with.
VOICE_SPECIFIC_OPTIONS = (Option.STYLE, Option.STYLE_DEGREE, Option.ROLE)


@dataclass(frozen=True, slots=True)
class SynthesisRequest:
    """One call: its language and options, and the profile's defaults.

    Both mappings are taken as given: any value may be of any type, and the
    synthesizer refuses what it cannot use (`InvalidOptionError`).
    """

    language: str
    options: Mapping[str, object] = field(default_factory=dict)
    defaults: Mapping[str, object] = field(default_factory=dict)

    def integer(self, option: Option) -> int | None:
        """The call's whole-number `option`, if given."""
        value = self.options.get(option)
        if value is None:
            return None
        if isinstance(value, int | float | str):
            try:
                return int(value)
            except ValueError, OverflowError:
                pass
        raise invalid_option(option, value)


@dataclass(frozen=True, slots=True)
class AudioStream:
    """The audio of a call: its file extension, and its bytes as they come.

    Close `chunks` (``aclose()``) when stopping early: requests stop at once.
    """

    extension: str
    chunks: AsyncGenerator[bytes]


class Synthesizer[PlanT](Protocol):
    """Speaks text through one service."""

    def configured_extension(self, request: SynthesisRequest) -> str:
        """The file extension of the profile's own format (`request.defaults`)."""
        ...

    def choose_voice(self, request: SynthesisRequest) -> Voice:
        """The voice the call names, else the default one if it speaks the language.

        Raises:
            InvalidRequestError: The voice is unknown (`field` ``"voice"``),
                no voice speaks the language (`NoVoiceForLanguageError`), or
                an option has the wrong type (`InvalidOptionError`).

        """
        ...

    def prepare(self, request: SynthesisRequest, voice: Voice) -> PlanT:
        """Decide everything about the call before anything is sent.

        Raises:
            InvalidRequestError: An option is invalid; `field` names it.

        """
        ...

    async def stream(self, plan: PlanT, text: AsyncIterable[str]) -> AudioStream:
        """Start speaking `text` as `plan` says.

        The first chunk carries the service's first audio (a header, if any,
        comes with it): a failure before it is a failure before any audio.

        Raises:
            SpeechError: Here, when the service refused before any audio; else
                while iterating the chunks.

        """
        ...


def choose_voice(voices: VoiceCatalog, request: SynthesisRequest) -> Voice:
    """The voice the call names, else the default voice if it speaks the language.

    Raises as `Synthesizer.choose_voice`.
    """
    if (name := request.options.get(Option.VOICE)) is not None:
        if not isinstance(name, str):
            raise invalid_option(Option.VOICE, name)
        if (voice := voices.get(name)) is None:
            raise InvalidRequestError(
                f"Unknown voice: {name!r}", field="voice", value=name
            )
        return voice
    default = default_voice(voices, request)
    if (voice := voices.voice_for(request.language, default)) is None:
        raise NoVoiceForLanguageError(
            f"No voice speaks {request.language!r}",
            field="language",
            value=request.language,
        )
    return voice


def default_voice(voices: VoiceCatalog, request: SynthesisRequest) -> Voice | None:
    """The profile's voice, if the service still has it."""
    name = request.defaults.get(Option.VOICE)
    return voices.get(name) if isinstance(name, str) else None


type VoiceCatalogSource = Callable[[], VoiceCatalog]


class VoicesAndHistory:
    """What every synthesizer keeps: where its voices come from, and its service's pace."""

    def __init__(
        self, voices: VoiceCatalogSource, history: ServiceHistory | None = None
    ) -> None:
        """Use the voices `voices()` lists at the time of each call.

        `history` is how the service answered recently: share one among the
        synthesizers of one resource, so that a new stream starts knowing it.
        """
        self._voices = voices
        self._history = ServiceHistory() if history is None else history

    def choose_voice(self, request: SynthesisRequest) -> Voice:
        """See `Synthesizer.choose_voice`."""
        return choose_voice(self._voices(), request)


def optional_text(value: object, option: Option) -> str | None:
    """`value` as text, None when absent or empty; refuses any other type."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise invalid_option(option, value)
    return value


def invalid_option(option: Option, value: object) -> InvalidOptionError:
    """The error for an option whose value has a type it can never have."""
    return InvalidOptionError(
        f"Invalid value for {option}: {value!r}",
        field=option.value,
        value=repr(value)[:100],
    )
