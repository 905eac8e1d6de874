"""Count what the services bill, month by month: characters and audio.

Azure bills text to speech per character, and the free tier (F0) includes a
monthly allowance. The rules are those of the "Billable characters" section of
Azure's "Text to speech overview" page
(https://learn.microsoft.com/azure/ai-services/speech-service/text-to-speech#billable-characters):

- "billing is based on the total number of characters in each successfully
  processed request": only requests the service accepted are recorded, and
  accepted requests count even when no audio came back (the page: "regardless
  of whether audio output is produced").
- "All markup within the text field of the request body in the SSML format,
  except for `<speak>` and `<voice>` tags": every character of the SSML as
  sent counts, markup included, except the start and end tags of ``speak``
  and ``voice`` (with all their attributes).
- "Letters, punctuation, spaces, tabs, markup, and all white-space
  characters" and "Every code point defined in Unicode": whitespace and line
  breaks count, and characters are code points (Python's ``len``), not UTF-16
  units or bytes.
- "Each Chinese character is counted as two characters for billing, including
  kanji used in Japanese, hanja used in Korean, or hanzi used in other
  languages": Chinese characters (`CHINESE_CHARACTERS`) count twice; kana and
  hangul are not Chinese characters and count once. (Older versions of the
  page said "Each Chinese, Japanese, and Korean language character"; the
  current wording names only Chinese characters.)

Convai documents no per-character billing (its plans count interactions), so
`convai_billable_characters` is this integration's own measure: the
characters of each transcript sent.

Assumptions, labelled as such: entity and character references (``&amp;``,
``&#13;``) count as written, since XML 1.0 (section 2.4) calls them markup and
Azure counts markup; an XML declaration, comments and the whitespace between
tags count too. Only unprefixed ``speak`` and ``voice`` tags are recognised:
Azure's pages write SSML with SSML as the default namespace, as every
document this integration sends does.

Speech to text is billed by audio, not by characters: "you're charged for
the audio duration" (Azure's "Speech to text FAQ",
https://learn.microsoft.com/azure/ai-services/speech-service/faq-stt), so
`MonthlyUsage.add_audio` counts the seconds of audio sent in each request the
service answered, whatever it recognised in them. The free tier (F0)
includes 5 audio hours a month (`F0_AUDIO_HOURS_PER_MONTH`), as Azure's
pricing page (https://azure.microsoft.com/pricing/details/speech/) is quoted:
the page itself could not be read when this was written. Azure's own
rounding of each request's duration is not documented there; the seconds
counted are those of the audio as sent.

Everything here is pure: the callers decide what was accepted and when.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
import math
import re
from typing import Final, Self

# Azure's pricing page: "Neural: 0.5 million characters free per month" on
# the Free (F0) tier (https://azure.microsoft.com/pricing/details/speech/).
F0_NEURAL_CHARACTERS_PER_MONTH: Final = 500_000
# Speech to text on the Free (F0) tier: "5 audio hours free per month", as
# the pricing page (https://azure.microsoft.com/pricing/details/speech/) is
# quoted; the page was not readable from here to check the figure.
F0_AUDIO_HOURS_PER_MONTH: Final = 5
SECONDS_PER_HOUR: Final = 3600

# What Azure's "Each Chinese character is counted as two characters" covers:
# the code points that are both Ideographic and of the Han script in Unicode.
# Those are the CJK Unified Ideographs with all their extensions (the whole
# Supplementary and Tertiary Ideographic Planes, U+20000 to U+3FFFF, hold
# nothing else), the CJK Compatibility Ideographs (and their supplement, also
# in plane 2), and U+3006, U+3007 (the zero of 二〇二六) and the Hangzhou
# (Suzhou) numerals U+3021 to U+3029 and U+3038 to U+303A. Radicals, the
# iteration mark 々, CJK punctuation such as 、 and 。, kana, hangul and
# fullwidth Latin are not Chinese characters and count once.
CHINESE_CHARACTERS: Final = re.compile(
    "["
    "\u3006\u3007"  # IDEOGRAPHIC CLOSING MARK, IDEOGRAPHIC NUMBER ZERO
    "\u3021-\u3029"  # HANGZHOU NUMERAL ONE to NINE
    "\u3038-\u303a"  # HANGZHOU NUMERAL TEN to THIRTY
    "\u3400-\u4dbf"  # CJK Unified Ideographs Extension A
    "\u4e00-\u9fff"  # CJK Unified Ideographs
    "\uf900-\ufaff"  # CJK Compatibility Ideographs
    "\U00020000-\U0003ffff"  # Extensions B to J, Compatibility Supplement
    "]"
)

# Markup whose content is not a tag, even when it looks like one: a comment
# or CDATA section holding "<voice>" is billed as the text it is.
_NOT_A_TAG: Final = r"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>"
# A start, end or empty-element tag. Attribute values may contain ">".
_TAG: Final = (
    r"</?(?P<name>[^\s/>!?]++)"
    r"(?:\s++[^\s=/>]++\s*+=\s*+(?:\"[^\"]*+\"|'[^']*+'))*+\s*+/?>"
)
_MARKUP: Final = re.compile(f"{_NOT_A_TAG}|{_TAG}", re.DOTALL)
# The elements whose tags Azure does not bill.
_UNBILLED_ELEMENTS: Final = frozenset({"speak", "voice"})

_MONTH_KEY: Final = re.compile(r"[0-9]{4}-(?:0[1-9]|1[0-2])")


def billable_characters(ssml: str) -> int:
    """The characters Azure bills for synthesizing `ssml`, exactly as sent.

    Every code point counts, markup and whitespace included, except those of
    the ``speak`` and ``voice`` start and end tags; each Chinese character
    counts twice (see the module's docstring for the sources).
    """
    unbilled = sum(
        match.end() - match.start()
        for match in _MARKUP.finditer(ssml)
        if match.group("name") in _UNBILLED_ELEMENTS
    )
    return _characters(ssml) - unbilled


def convai_billable_characters(transcript: str) -> int:
    """The characters of a transcript sent to Convai, each code point once.

    Convai documents no character billing; this is the integration's measure
    of use, so a Chinese character counts once here.
    """
    return len(transcript)


def _characters(text: str) -> int:
    """Code points, a Chinese character counting twice."""
    return len(text) + len(CHINESE_CHARACTERS.findall(text))


def month_key(now: datetime) -> str:
    """The calendar month of `now` in UTC, such as ``"2026-11"``.

    Assumption: Azure's billing month is the UTC calendar month; its pages
    state billing times in UTC (custom voice hosting is "calculated at 00:00
    UTC every day"), and issue #13 asks for UTC months.

    Raises:
        ValueError: `now` is naive, so its instant is unknown.

    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"{now!r} has no time zone")
    return now.astimezone(UTC).strftime("%Y-%m")


@dataclass(frozen=True, slots=True)
class MonthlyUsage:
    """What was recorded in one calendar month (UTC).

    Attributes:
        month: The month, such as ``"2026-11"``.
        characters: Billable characters of the synthesis requests accepted.
        requests: Synthesis requests accepted.
        audio_seconds: Seconds of audio sent to speech to text (what Azure
            bills for it).
        recognitions: Speech-to-text requests answered.

    """

    month: str
    characters: int = 0
    requests: int = 0
    audio_seconds: float = 0.0
    recognitions: int = 0

    def __post_init__(self) -> None:
        """Refuse a month that is not ``YYYY-MM`` and negative counts."""
        if not isinstance(self.month, str) or not _MONTH_KEY.fullmatch(self.month):
            raise ValueError(f"Not a month such as 2026-11: {self.month!r}")
        for name in ("characters", "requests", "recognitions"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a whole number >= 0, not {value!r}")
        if not _is_duration(self.audio_seconds):
            raise ValueError(
                f"audio_seconds must be a number >= 0, not {self.audio_seconds!r}"
            )

    @classmethod
    def starting(cls, now: datetime) -> Self:
        """Nothing recorded yet, in the month of `now`."""
        return cls(month=month_key(now))

    def reset_if_new_month(self, now: datetime) -> Self:
        """These counts, or empty ones when `now` is in a later month.

        A `now` in an earlier month (a clock set back) keeps the counts:
        forgetting a month's use would understate it.
        """
        current = month_key(now)
        # "YYYY-MM" keys sort as the months do.
        if current > self.month:
            return type(self)(month=current)
        return self

    def add(self, characters: int, now: datetime) -> Self:
        """Record one accepted request of `characters` billable characters.

        Counts start again first when `now` is in a later month.

        Raises:
            ValueError: `characters` is negative, or `now` is naive.

        """
        if isinstance(characters, bool) or characters < 0:
            raise ValueError(f"characters must be >= 0, not {characters!r}")
        usage = self.reset_if_new_month(now)
        return replace(
            usage,
            characters=usage.characters + characters,
            requests=usage.requests + 1,
        )

    def add_audio(self, seconds: float, now: datetime) -> Self:
        """Record one speech-to-text request of `seconds` of audio.

        Azure bills the audio's duration, so a request that recognised
        nothing counts all the same. Counts start again first when `now` is
        in a later month.

        Raises:
            ValueError: `seconds` is negative or not finite, or `now` is naive.

        """
        if not _is_duration(seconds):
            raise ValueError(f"seconds must be a number >= 0, not {seconds!r}")
        usage = self.reset_if_new_month(now)
        return replace(
            usage,
            audio_seconds=usage.audio_seconds + seconds,
            recognitions=usage.recognitions + 1,
        )

    def percent_of(self, allowance: int) -> float:
        """The characters as a percentage of a monthly `allowance` of characters.

        Raises:
            ValueError: `allowance` is not positive.

        """
        return _percent(self.characters, allowance)

    def audio_percent_of(self, allowance_seconds: float) -> float:
        """The audio as a percentage of a monthly allowance of `allowance_seconds`.

        Raises:
            ValueError: `allowance_seconds` is not positive.

        """
        return _percent(self.audio_seconds, allowance_seconds)

    def as_dict(self) -> dict[str, str | int | float]:
        """The counts as JSON-ready data, for storage and diagnostics."""
        return {
            "month": self.month,
            "characters": self.characters,
            "requests": self.requests,
            "audio_seconds": self.audio_seconds,
            "recognitions": self.recognitions,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Self:
        """Counts written by `as_dict`; counts it did not write yet are 0.

        Usage stored before speech to text was counted has no audio: it
        loads with none.

        Raises:
            ValueError: `data` is not what `as_dict` writes.

        """
        month, characters, requests, audio_seconds, recognitions = (
            data.get("month"),
            data.get("characters", 0),
            data.get("requests", 0),
            data.get("audio_seconds", 0.0),
            data.get("recognitions", 0),
        )
        if not (
            isinstance(month, str)
            and isinstance(characters, int)
            and isinstance(requests, int)
            and isinstance(recognitions, int)
            and isinstance(audio_seconds, int | float)
            and not isinstance(audio_seconds, bool)
        ):
            # ValueError, as for a malformed month: one error for unreadable data.
            raise ValueError(f"Not stored usage: {dict(data)!r}")  # noqa: TRY004
        return cls(
            month=month,
            characters=characters,
            requests=requests,
            audio_seconds=float(audio_seconds),
            recognitions=recognitions,
        )


def _is_duration(seconds: object) -> bool:
    """Whether `seconds` is a finite number of seconds, not negative."""
    return (
        isinstance(seconds, int | float)
        and not isinstance(seconds, bool)
        and math.isfinite(seconds)
        and seconds >= 0
    )


def _percent(amount: float, allowance: float) -> float:
    """`amount` as a percentage of `allowance`.

    Raises:
        ValueError: `allowance` is not positive.

    """
    if not allowance > 0:
        raise ValueError(f"allowance must be > 0, not {allowance!r}")
    return 100 * amount / allowance
