"""Data shared by every speech service."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Gender(StrEnum):
    """A voice's gender as the services report it."""

    FEMALE = "Female"
    MALE = "Male"
    NEUTRAL = "Neutral"
    UNKNOWN = "Unknown"


@dataclass(frozen=True, slots=True)
class Voice:
    """A voice offered by a service.

    `short_name` is what a synthesis request names (Azure's ``ShortName``,
    Convai's ``voice_value``). Locales are kept as the service spells them
    (Azure returns ``zh-cn`` for some voices); compare them with
    `same_language`.
    """

    short_name: str
    display_name: str
    locale: str
    gender: Gender = Gender.UNKNOWN
    local_name: str = ""
    locale_name: str = ""
    secondary_locales: tuple[str, ...] = ()
    styles: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    sample_rate: int | None = None
    words_per_minute: int | None = None
    voice_type: str = ""
    status: str = ""

    @property
    def locales(self) -> tuple[str, ...]:
        """Every locale the voice speaks, its own first."""
        return (self.locale, *self.secondary_locales)

    @property
    def is_high_definition(self) -> bool:
        """Whether this is an HD voice, which takes no style, prosody or breaks.

        Azure names them ``<locale>-<name>:DragonHD…`` (Azure's "High
        definition voices" page); the voice list carries no other marker.
        """
        return ":dragonhd" in self.short_name.casefold()

    @property
    def is_multilingual(self) -> bool:
        """Whether the voice speaks more than its own locale."""
        return bool(self.secondary_locales)

    def speaks_natively(self, language: str) -> bool:
        """Whether `language` is the voice's own locale."""
        return same_language(language, self.locale)

    def speaks(self, language: str) -> bool:
        """Whether the voice speaks `language` (a locale such as ``en-US``)."""
        return any(same_language(language, locale) for locale in self.locales)


def same_language(first: str, second: str) -> bool:
    """Compare two locale tags the way BCP 47 does: case-insensitively."""
    return first.replace("_", "-").casefold() == second.replace("_", "-").casefold()


class Container(StrEnum):
    """How the audio of an output format is packaged."""

    RIFF = "riff"  # WAV: a RIFF header, then PCM
    RAW = "raw"  # bare samples, no header
    MP3 = "mp3"
    OGG = "ogg"
    WEBM = "webm"
    AMR = "amr"


class Codec(StrEnum):
    """The encoding of the samples."""

    PCM = "pcm"
    ALAW = "alaw"
    MULAW = "mulaw"
    MP3 = "mp3"
    OPUS = "opus"
    SILK = "silk"
    AMR_WB = "amr-wb"


@dataclass(frozen=True, slots=True)
class AudioFormat:
    """One output format of the service (``X-Microsoft-OutputFormat``)."""

    name: str
    container: Container
    codec: Codec
    sample_rate: int
    extension: str
    bits_per_sample: int | None = None
    bitrate_kbps: int | None = None
    channels: int = 1

    @property
    def concatenable(self) -> bool:
        """Whether two responses in this format, joined, still make one valid stream.

        MP3 frames and raw samples concatenate; files with a header or a
        container (WAV, Ogg, WebM, AMR) do not.
        """
        return self.container in (Container.MP3, Container.RAW)


@dataclass(frozen=True, slots=True)
class VoiceSettings:
    """How a voice should speak: everything SSML can say besides the text.

    Values are already validated (see `ssml.validate_settings`).
    """

    voice: str
    # xml:lang of the document; the voice's locale when None.
    language: str | None = None
    # A multilingual voice's secondary locale, spoken through <lang>.
    spoken_language: str | None = None
    style: str | None = None
    style_degree: float | None = None
    role: str | None = None
    rate: str | None = None
    pitch: str | None = None
    volume: str | None = None
