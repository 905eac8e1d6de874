"""A service's voices, looked up the way Home Assistant asks for them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict
import difflib
from typing import Any, Final

from .models import Gender, Voice

_GENDERS: Final = {gender.value.casefold(): gender for gender in Gender}


def text_of(value: object) -> str:
    """A voice list's text, stripped; "" for anything else."""
    return value.strip() if isinstance(value, str) else ""


def texts_of(value: object) -> tuple[str, ...]:
    """The non-empty texts of a voice list's array; () for anything else."""
    if not isinstance(value, list):
        return ()
    return tuple(text for item in value if (text := text_of(item)))


def gender_of(value: object) -> Gender:
    """A voice list's gender, in any letter case; unknown for anything else."""
    return _GENDERS.get(text_of(value).casefold(), Gender.UNKNOWN)


def normalize_language_tag(tag: str) -> str:
    """Spell a locale the way BCP 47 recommends: ``zh-cn`` → ``zh-CN``.

    Services are inconsistent (Azure's voice list has ``zh-cn`` next to
    ``zh-CN``); Home Assistant matches languages by these spellings.
    """
    parts = tag.replace("_", "-").split("-")
    normalized = [parts[0].lower()]
    for part in parts[1:]:
        if len(part) == 2 and part.isalpha():
            normalized.append(part.upper())
        elif len(part) == 4 and part.isalpha():
            normalized.append(part.title())
        else:
            normalized.append(part.lower())
    return "-".join(normalized)


def voice_label(voice: Voice) -> str:
    """Describe a voice for a picker: ``Jenny (Female, en-US, 14 styles)``."""
    details = [voice.gender.value] if voice.gender is not Gender.UNKNOWN else []
    details.append(normalize_language_tag(voice.locale))
    if voice.is_multilingual:
        details.append("multilingual")
    if voice.styles:
        details.append(f"{len(voice.styles)} styles")
    name = voice.display_name or voice.short_name
    return f"{name} ({', '.join(details)})"


def voice_to_dict(voice: Voice) -> dict[str, Any]:
    """Serialize a voice for a JSON cache."""
    return asdict(voice)


def voice_from_dict(data: Mapping[str, Any]) -> Voice:
    """Rebuild a voice from `voice_to_dict`'s output.

    Raises KeyError, TypeError or ValueError for data of another shape.
    """
    return Voice(
        short_name=str(data["short_name"]),
        display_name=str(data["display_name"]),
        locale=str(data["locale"]),
        gender=Gender(data.get("gender", Gender.UNKNOWN)),
        local_name=str(data.get("local_name", "")),
        locale_name=str(data.get("locale_name", "")),
        secondary_locales=tuple(data.get("secondary_locales", ())),
        styles=tuple(data.get("styles", ())),
        roles=tuple(data.get("roles", ())),
        sample_rate=data.get("sample_rate"),
        words_per_minute=data.get("words_per_minute"),
        voice_type=str(data.get("voice_type", "")),
        status=str(data.get("status", "")),
    )


class VoiceCatalog:
    """The voices of one service account, indexed for look-ups."""

    def __init__(self, voices: Iterable[Voice]) -> None:
        """Index `voices`, keeping the service's order."""
        self.voices: tuple[Voice, ...] = tuple(voices)
        self._by_name = {voice.short_name.casefold(): voice for voice in self.voices}

    def __len__(self) -> int:
        """Return the number of voices."""
        return len(self.voices)

    def get(self, name: str) -> Voice | None:
        """Return the voice called `name` (case-insensitive), if any."""
        return self._by_name.get(name.casefold())

    @property
    def languages(self) -> list[str]:
        """Every language some voice speaks, normalized and sorted."""
        return sorted(
            {
                normalize_language_tag(locale)
                for voice in self.voices
                for locale in voice.locales
            }
        )

    def voices_for(self, language: str) -> list[Voice]:
        """Voices that speak `language`: native speakers first, then multilingual ones.

        Each group keeps the service's order, so the choice is deterministic.
        """
        native = [voice for voice in self.voices if voice.speaks_natively(language)]
        multilingual = [
            voice
            for voice in self.voices
            if not voice.speaks_natively(language) and voice.speaks(language)
        ]
        return native + multilingual

    def voice_for(self, language: str, preferred: Voice | None) -> Voice | None:
        """The voice to use for `language`: `preferred` if it speaks it, else the first."""
        if preferred is not None and preferred.speaks(language):
            return preferred
        candidates = self.voices_for(language)
        return candidates[0] if candidates else None

    def closest_names(self, name: str, count: int = 3) -> list[str]:
        """The names of up to `count` voices spelled most like `name`."""
        names = {voice.short_name.casefold(): voice.short_name for voice in self.voices}
        return [
            names[close]
            for close in difflib.get_close_matches(name.casefold(), names, n=count)
        ]
