"""Billable characters as Azure counts them, speech-to-text audio, and the month they are counted in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
import unicodedata

import pytest

from custom_components.cloud_speech.speech.models import VoiceSettings
from custom_components.cloud_speech.speech.ssml import build_ssml
from custom_components.cloud_speech.speech.usage import (
    CHINESE_CHARACTERS,
    F0_AUDIO_HOURS_PER_MONTH,
    F0_NEURAL_CHARACTERS_PER_MONTH,
    SECONDS_PER_HOUR,
    MonthlyUsage,
    billable_characters,
    convai_billable_characters,
    month_key,
)

SPEAK = (
    '<speak version="1.0" xmlns="http://www.w3.org/2001/10/synthesis"'
    ' xmlns:mstts="https://www.w3.org/2001/mstts" xml:lang="en-US">'
)
VOICE = '<voice name="en-US-JennyNeural">'
CLOSE = "</voice></speak>"


def speak(content: str) -> str:
    """`content` in the speak and voice tags Azure does not bill."""
    return f"{SPEAK}{VOICE}{content}{CLOSE}"


# Plain text


def test_ascii_text_counts_each_character_punctuation_and_spaces_included() -> None:
    assert billable_characters(speak("Hello, world!")) == 13


def test_whitespace_tabs_and_line_breaks_count() -> None:
    assert billable_characters(speak("a\tb\nc\r\nd  e")) == 11


def test_an_ssml_of_only_speak_and_voice_tags_bills_nothing() -> None:
    assert billable_characters(speak("")) == 0
    assert billable_characters("") == 0


def test_characters_are_code_points_not_utf16_units_or_bytes() -> None:
    # An emoji outside the BMP is one code point (two UTF-16 units, 4 bytes);
    # é written with a combining accent is two code points.
    assert billable_characters(speak("😀")) == 1
    assert billable_characters(speak("e\u0301")) == 2


# Chinese characters


def test_each_chinese_character_counts_twice() -> None:
    assert billable_characters(speak("你好世界")) == 8


def test_chinese_punctuation_counts_once() -> None:
    assert billable_characters(speak("你好，世界。")) == 10


def test_kanji_count_twice_and_kana_once() -> None:
    # 日本 are kanji; ご and ざ are hiragana, イ is katakana.
    assert billable_characters(speak("日本ございイ")) == 2 * 2 + 4


def test_hanja_count_twice_and_hangul_once() -> None:
    assert billable_characters(speak("韓國 한국")) == 2 * 2 + 1 + 2


@pytest.mark.parametrize(
    "character",
    [
        "\u4e00",  # CJK Unified Ideographs, first
        "\u9fff",  # and last of the block
        "\u3400",  # Extension A
        "\U00020000",  # Extension B (Supplementary Ideographic Plane)
        "\U00030000",  # Extension G (Tertiary Ideographic Plane)
        "\uf900",  # CJK Compatibility Ideographs
        "\U0002f800",  # CJK Compatibility Ideographs Supplement
        "〇",  # IDEOGRAPHIC NUMBER ZERO, as in 二〇二六
        "〡",  # HANGZHOU NUMERAL ONE
    ],
)
def test_ideographs_in_every_block_count_twice(character: str) -> None:
    assert billable_characters(speak(character)) == 2


@pytest.mark.parametrize(
    "character",
    [
        "あ",  # hiragana
        "ア",  # katakana
        "ｱ",  # halfwidth katakana
        "한",  # hangul syllable
        "ㄱ",  # hangul compatibility jamo
        "々",  # iteration mark: Han script, but not an ideograph
        "⺀",  # CJK radical
        "、",  # ideographic comma
        "Ａ",  # fullwidth Latin
    ],
)
def test_characters_that_are_not_chinese_characters_count_once(
    character: str,
) -> None:
    assert billable_characters(speak(character)) == 1


def test_every_cjk_unified_ideograph_python_knows_counts_twice() -> None:
    ideographs = [
        chr(code)
        for code in range(0x3000, 0x40000)
        if unicodedata.name(chr(code), "").startswith(
            ("CJK UNIFIED IDEOGRAPH-", "CJK COMPATIBILITY IDEOGRAPH-")
        )
    ]
    assert len(ideographs) > 90_000
    assert all(CHINESE_CHARACTERS.fullmatch(c) for c in ideographs)


# Markup


def test_markup_inside_voice_counts_as_its_characters() -> None:
    expression = '<mstts:express-as style="cheerful" styledegree="1.5">'
    prosody = '<prosody rate="+10%" pitch="-5%">'
    content = f"{expression}{prosody}Hi</prosody></mstts:express-as>"
    assert billable_characters(speak(content)) == (
        len(expression) + len(prosody) + 2 + len("</prosody></mstts:express-as>")
    )


def test_break_and_lang_tags_count() -> None:
    content = '<lang xml:lang="de-DE">Ja</lang><break time="500ms"/>!'
    assert billable_characters(speak(content)) == len(content)


def test_speak_and_voice_tags_with_their_attributes_do_not_count() -> None:
    bare = "<speak><voice>Hi</voice></speak>"
    assert billable_characters(bare) == 2
    assert billable_characters(speak("Hi")) == 2


def test_every_voice_of_a_document_is_unbilled_and_content_between_them_bills() -> None:
    ssml = (
        f"{SPEAK}"
        '<voice name="en-US-JennyNeural">One</voice>\n'
        '<voice name="en-US-GuyNeural" effect="eq_car">Two</voice>'
        "</speak>"
    )
    assert billable_characters(ssml) == len("One") + len("\n") + len("Two")


def test_an_empty_voice_element_is_unbilled() -> None:
    assert billable_characters('<speak><voice name="x"/></speak>') == 0


def test_attribute_values_may_hold_a_closing_angle_bracket() -> None:
    assert billable_characters('<speak><voice name="a>b">Hi</voice></speak>') == 2


def test_tags_named_like_speak_or_voice_but_other_elements_count() -> None:
    content = "<mstts:voiceconversion/><speaker>x</speaker>"
    assert billable_characters(speak(content)) == len(content)


def test_a_voice_tag_inside_a_comment_is_billed_as_the_comment_it_is() -> None:
    comment = "<!-- <voice name='x'> -->"
    assert billable_characters(speak(comment + "Hi")) == len(comment) + 2


def test_xml_declaration_and_whitespace_between_tags_count() -> None:
    declaration = '<?xml version="1.0" encoding="UTF-8"?>'
    ssml = f"{declaration}\n{SPEAK}\n  {VOICE}Hi{CLOSE}"
    assert billable_characters(ssml) == len(declaration) + 1 + 3 + 2


def test_entity_references_count_as_written() -> None:
    # Assumption: references are markup (XML 1.0, 2.4), and Azure bills markup.
    assert billable_characters(speak("Tom &amp; Jerry")) == len("Tom &amp; Jerry")
    assert billable_characters(speak("&lt;3&#13;")) == 10


def test_a_typical_request_built_by_build_ssml() -> None:
    settings = VoiceSettings(
        voice="zh-CN-XiaoxiaoNeural",
        language="zh-CN",
        style="cheerful",
        style_degree=1.5,
        rate="+10%",
    )
    ssml = build_ssml("早上好, Tom & Jerry!", settings)
    expression = '<mstts:express-as style="cheerful" styledegree="1.5">'
    prosody = '<prosody rate="+10%">'
    text = "早上好, Tom &amp; Jerry!"
    closing = "</prosody></mstts:express-as>"
    assert billable_characters(ssml) == (
        len(expression) + len(prosody) + len(text) + 3 + len(closing)
    )


def test_plain_text_built_by_build_ssml_bills_only_the_escaped_text() -> None:
    ssml = build_ssml("It's 5 > 4", VoiceSettings(voice="en-US-JennyNeural"))
    assert billable_characters(ssml) == len("It&apos;s 5 &gt; 4")


# Convai


def test_convai_counts_each_character_of_the_transcript_once() -> None:
    assert convai_billable_characters("Hello, 世界!") == 10
    assert convai_billable_characters("") == 0


# Months


def test_month_key_is_the_utc_month() -> None:
    assert month_key(datetime(2026, 11, 30, 23, 59, tzinfo=UTC)) == "2026-11"
    # 1 December 00:30 in UTC+1 is still 30 November in UTC.
    plus_one = timezone(timedelta(hours=1))
    assert month_key(datetime(2026, 12, 1, 0, 30, tzinfo=plus_one)) == "2026-11"
    # 30 November 20:00 in UTC-5 is already December in UTC.
    minus_five = timezone(timedelta(hours=-5))
    assert month_key(datetime(2026, 11, 30, 20, 0, tzinfo=minus_five)) == "2026-12"


def test_month_key_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="time zone"):
        month_key(datetime(2026, 11, 1))


def test_usage_adds_characters_and_requests() -> None:
    now = datetime(2026, 11, 5, 12, tzinfo=UTC)
    usage = MonthlyUsage.starting(now).add(120, now).add(30, now)
    assert usage == MonthlyUsage(month="2026-11", characters=150, requests=2)


def test_usage_starts_again_in_a_new_utc_month() -> None:
    usage = MonthlyUsage(month="2026-11", characters=150, requests=2)
    december = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    assert usage.reset_if_new_month(december) == MonthlyUsage(month="2026-12")
    assert usage.add(10, december) == MonthlyUsage(
        month="2026-12", characters=10, requests=1
    )


def test_usage_carries_over_the_new_year() -> None:
    usage = MonthlyUsage(month="2026-12", characters=5, requests=1)
    january = datetime(2027, 1, 1, tzinfo=UTC)
    assert usage.reset_if_new_month(january) == MonthlyUsage(month="2027-01")


def test_usage_is_kept_within_the_month_and_when_the_clock_goes_back() -> None:
    usage = MonthlyUsage(month="2026-11", characters=150, requests=2)
    last_instant = datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC)
    assert usage.reset_if_new_month(last_instant) is usage
    october = datetime(2026, 10, 31, tzinfo=UTC)
    assert usage.reset_if_new_month(october) is usage


def test_usage_refuses_negative_characters() -> None:
    now = datetime(2026, 11, 5, tzinfo=UTC)
    with pytest.raises(ValueError, match="characters"):
        MonthlyUsage.starting(now).add(-1, now)


@pytest.mark.parametrize(
    ("month", "characters", "requests"),
    [("2026-13", 0, 0), ("2026-1", 0, 0), ("2026-11", -1, 0), ("2026-11", 0, -1)],
)
def test_usage_refuses_impossible_values(
    month: str, characters: int, requests: int
) -> None:
    with pytest.raises(ValueError):
        MonthlyUsage(month=month, characters=characters, requests=requests)


def test_percent_of_the_free_allowance() -> None:
    usage = MonthlyUsage(month="2026-11", characters=400_000, requests=9)
    assert usage.percent_of(F0_NEURAL_CHARACTERS_PER_MONTH) == 80.0
    with pytest.raises(ValueError, match="allowance"):
        usage.percent_of(0)


def test_usage_round_trips_through_storage() -> None:
    usage = MonthlyUsage(
        month="2026-11", characters=150, requests=2, audio_seconds=3.25, recognitions=1
    )
    assert usage.as_dict() == {
        "month": "2026-11",
        "characters": 150,
        "requests": 2,
        "audio_seconds": 3.25,
        "recognitions": 1,
    }
    assert MonthlyUsage.from_dict(usage.as_dict()) == usage


def test_usage_stored_before_speech_to_text_loads_with_no_audio() -> None:
    stored = {"month": "2026-11", "characters": 150, "requests": 2}
    assert MonthlyUsage.from_dict(stored) == MonthlyUsage(
        month="2026-11", characters=150, requests=2, audio_seconds=0.0, recognitions=0
    )


def test_stored_whole_seconds_load_as_seconds() -> None:
    stored = {"month": "2026-11", "audio_seconds": 12, "recognitions": 3}
    usage = MonthlyUsage.from_dict(stored)
    assert usage.audio_seconds == 12.0
    assert isinstance(usage.audio_seconds, float)


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"month": 202611},
        {"month": "2026-11", "characters": "150"},
        {"month": "2026-11", "audio_seconds": "12"},
        {"month": "2026-11", "audio_seconds": True},
        {"month": "2026-11", "audio_seconds": -1.0},
        {"month": "2026-11", "recognitions": 1.5},
    ],
)
def test_stored_usage_that_is_not_usage_is_refused(data: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        MonthlyUsage.from_dict(data)


# Speech-to-text audio: Azure bills its duration.


def test_audio_adds_seconds_and_counts_each_request() -> None:
    now = datetime(2026, 11, 5, 12, tzinfo=UTC)
    usage = MonthlyUsage.starting(now).add_audio(2.5, now).add_audio(4.25, now)
    assert usage == MonthlyUsage(month="2026-11", audio_seconds=6.75, recognitions=2)


def test_a_request_that_heard_nothing_still_counts_its_audio() -> None:
    now = datetime(2026, 11, 5, 12, tzinfo=UTC)
    usage = MonthlyUsage.starting(now).add_audio(0.0, now)
    assert usage.recognitions == 1
    assert usage.audio_seconds == 0.0


def test_audio_and_characters_are_counted_apart() -> None:
    now = datetime(2026, 11, 5, 12, tzinfo=UTC)
    usage = MonthlyUsage.starting(now).add(120, now).add_audio(3.0, now)
    assert usage == MonthlyUsage(
        month="2026-11", characters=120, requests=1, audio_seconds=3.0, recognitions=1
    )


def test_audio_starts_again_in_a_new_utc_month() -> None:
    usage = MonthlyUsage(
        month="2026-11", characters=150, requests=2, audio_seconds=60.0, recognitions=4
    )
    # 00:30 on 1 December in Shanghai is still November in UTC.
    shanghai = timezone(timedelta(hours=8))
    still_november = datetime(2026, 12, 1, 0, 30, tzinfo=shanghai)
    assert usage.add_audio(1.0, still_november).audio_seconds == 61.0

    december = datetime(2026, 12, 1, tzinfo=UTC)
    assert usage.add_audio(1.5, december) == MonthlyUsage(
        month="2026-12", audio_seconds=1.5, recognitions=1
    )


@pytest.mark.parametrize("seconds", [-0.1, float("nan"), float("inf")])
def test_audio_refuses_impossible_durations(seconds: float) -> None:
    now = datetime(2026, 11, 5, tzinfo=UTC)
    with pytest.raises(ValueError, match="seconds"):
        MonthlyUsage.starting(now).add_audio(seconds, now)


def test_audio_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="time zone"):
        MonthlyUsage(month="2026-11").add_audio(1.0, datetime(2026, 11, 5))


def test_audio_percent_of_the_free_hours() -> None:
    four_hours = 4 * SECONDS_PER_HOUR
    usage = MonthlyUsage(month="2026-11", characters=1, audio_seconds=four_hours)
    free = F0_AUDIO_HOURS_PER_MONTH * SECONDS_PER_HOUR
    assert usage.audio_percent_of(free) == 80.0
    # The characters' percentage is the characters' alone.
    assert usage.percent_of(F0_NEURAL_CHARACTERS_PER_MONTH) == 0.0002
    with pytest.raises(ValueError, match="allowance"):
        usage.audio_percent_of(0)
