"""SSML building, escaping and checking: what reaches the service is what the user said."""

from __future__ import annotations

import math
import time
from xml.etree import ElementTree

from hypothesis import given, settings as hypothesis_settings, strategies as st
import pytest

from custom_components.cloud_speech.speech.errors import (
    InvalidRequestError,
    UnknownVoiceError,
    UnsupportedByVoiceError,
)
from custom_components.cloud_speech.speech.models import Gender, Voice, VoiceSettings
from custom_components.cloud_speech.speech.ssml import (
    HD_UNSUPPORTED_ELEMENTS,
    MAX_VOICE_ELEMENTS,
    build_ssml,
    complete_ssml_document,
    escape_text,
    locale_of_voice_name,
    normalize_pitch,
    normalize_rate,
    normalize_style_degree,
    normalize_volume,
    remove_forbidden_characters,
    starts_ssml_document,
    validate_settings,
)
from custom_components.cloud_speech.speech.voices import VoiceCatalog
from tests.voice_data import JENNY_MULTILINGUAL, YUNXI

SSML = "{http://www.w3.org/2001/10/synthesis}"
MSTTS = "{https://www.w3.org/2001/mstts}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

# Every code point, surrogates and controls included, with XML's specials often.
any_character = st.one_of(
    st.characters(exclude_categories=()),
    st.sampled_from("&<>\"'\r\n\t\x00\x0b\x1f\ud800\udfff\ufffe\uffff]]>"),
)
any_text = st.text(any_character)
# Attribute values that the parser gives back unchanged (no forbidden characters).
attribute_text = st.text(any_character).map(remove_forbidden_characters)
examples = hypothesis_settings(max_examples=200, deadline=None)


def parse(ssml: str) -> ElementTree.Element:
    return ElementTree.fromstring(ssml)  # noqa: S314 - our own output


def voice_element(root: ElementTree.Element) -> ElementTree.Element:
    voice = root.find(f"{SSML}voice")
    assert voice is not None
    return voice


def spoken_text(root: ElementTree.Element) -> str:
    return "".join(voice_element(root).itertext())


# --- escaping ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", "plain"),
        ("a\x00b\x08c\x0bd\x0ce\x1ff", "abcdef"),
        ("tab\tline\ncarriage\r", "tab\tline\ncarriage\r"),
        ("lone \ud800 and \udfff surrogates", "lone  and  surrogates"),
        ("not characters \ufffe\uffff", "not characters "),
        ("emoji 😀 and 中文", "emoji 😀 and 中文"),
    ],
)
def test_remove_forbidden_characters(text: str, expected: str) -> None:
    assert remove_forbidden_characters(text) == expected


def test_escape_text_escapes_markup_and_drops_forbidden_characters() -> None:
    assert (
        escape_text('<a href="x">Tom & Jerry\'s</a>\x00')
        == "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&apos;s&lt;/a&gt;"
    )


def test_escape_text_keeps_carriage_returns_through_parsing() -> None:
    assert escape_text("a\r\nb") == "a&#13;\nb"


# --- build_ssml ---------------------------------------------------------------


def test_build_ssml_writes_the_documented_skeleton() -> None:
    ssml = build_ssml("Hello", VoiceSettings(voice="en-US-JennyNeural"))

    assert ssml == (
        '<speak version="1.0" xmlns="http://www.w3.org/2001/10/synthesis"'
        ' xmlns:mstts="https://www.w3.org/2001/mstts" xml:lang="en-US">'
        '<voice name="en-US-JennyNeural">Hello</voice></speak>'
    )


def test_build_ssml_nests_wrappers_outermost_first() -> None:
    settings = VoiceSettings(
        voice="zh-cn-YunxiNeural",
        language="zh-CN",
        spoken_language="en-US",
        style="cheerful",
        style_degree=1.5,
        role="Boy",
        rate="+10%",
        pitch="-2st",
        volume="80",
    )

    ssml = build_ssml("你好", settings)

    assert ssml == (
        '<speak version="1.0" xmlns="http://www.w3.org/2001/10/synthesis"'
        ' xmlns:mstts="https://www.w3.org/2001/mstts" xml:lang="zh-CN">'
        '<voice name="zh-cn-YunxiNeural">'
        '<mstts:express-as style="cheerful" styledegree="1.5" role="Boy">'
        '<lang xml:lang="en-US">'
        '<prosody rate="+10%" pitch="-2st" volume="80">你好</prosody>'
        "</lang></mstts:express-as></voice></speak>"
    )


def test_build_ssml_writes_only_the_prosody_attributes_set() -> None:
    ssml = build_ssml("Hi", VoiceSettings(voice="en-US-JennyNeural", pitch="high"))

    assert '<prosody pitch="high">Hi</prosody>' in ssml


def test_build_ssml_writes_a_role_without_a_style() -> None:
    ssml = build_ssml("Hi", VoiceSettings(voice="zh-cn-YunxiNeural", role="Boy"))

    assert '<mstts:express-as role="Boy">Hi</mstts:express-as>' in ssml


def test_build_ssml_writes_a_style_without_a_degree() -> None:
    ssml = build_ssml("Hi", VoiceSettings(voice="zh-cn-YunxiNeural", style="sad"))

    assert '<mstts:express-as style="sad">Hi</mstts:express-as>' in ssml


def test_build_ssml_writes_no_style_degree_without_a_style() -> None:
    settings = VoiceSettings(voice="zh-cn-YunxiNeural", role="Boy", style_degree=2)

    assert "styledegree" not in build_ssml("Hi", settings)


@pytest.mark.parametrize(
    ("voice", "language"),
    [
        ("en-US-JennyNeural", "en-US"),
        ("zh-cn-YunxiNeural", "zh-cn"),
        ("en-US-Ava:DragonHDLatestNeural", "en-US"),
        ("zh-CN-henan-YundengNeural", "zh-CN-henan"),
        ("iu-Latn-CA-SiqiniqNeural", "iu-Latn-CA"),
        ("wuu-CN-XiaotongNeural", "wuu-CN"),
    ],
)
def test_build_ssml_takes_the_language_from_the_voice_name(
    voice: str, language: str
) -> None:
    root = parse(build_ssml("Hi", VoiceSettings(voice=voice)))

    assert root.get(XML_LANG) == language
    assert voice_element(root).get("name") == voice


def test_build_ssml_prefers_the_language_of_the_settings() -> None:
    root = parse(
        build_ssml("Hi", VoiceSettings(voice="en-US-JennyNeural", language="en-GB"))
    )

    assert root.get(XML_LANG) == "en-GB"


@pytest.mark.parametrize("voice", ["MyCustomVoice", "Jenny", "x-Jenny", ""])
def test_build_ssml_needs_a_language_when_the_voice_name_has_none(voice: str) -> None:
    assert locale_of_voice_name(voice) is None
    with pytest.raises(InvalidRequestError) as raised:
        build_ssml("Hi", VoiceSettings(voice=voice))

    assert raised.value.field == "language"


@examples
@given(text=any_text)
def test_build_ssml_speaks_any_text_exactly(text: str) -> None:
    root = parse(build_ssml(text, VoiceSettings(voice="en-US-JennyNeural")))

    assert root.tag == f"{SSML}speak"
    assert spoken_text(root) == remove_forbidden_characters(text)


# Settings in every wrapper, with values only a careless caller would pass.
settings_with_every_wrapper = st.builds(
    VoiceSettings,
    voice=attribute_text,
    language=attribute_text.filter(bool),
    spoken_language=attribute_text.filter(bool),
    style=attribute_text.filter(bool),
    style_degree=st.floats(min_value=0.01, max_value=2),
    role=attribute_text.filter(bool),
    rate=attribute_text.filter(bool),
    pitch=attribute_text.filter(bool),
    volume=attribute_text.filter(bool),
)


@examples
@given(text=any_text, settings=settings_with_every_wrapper)
def test_build_ssml_keeps_any_text_and_attributes_intact_inside_every_wrapper(
    text: str, settings: VoiceSettings
) -> None:
    root = parse(build_ssml(text, settings))

    assert root.tag == f"{SSML}speak"
    assert root.get(XML_LANG) == settings.language
    voice_node = voice_element(root)
    assert voice_node.get("name") == settings.voice
    expression = voice_node.find(f"{MSTTS}express-as")
    assert expression is not None
    assert expression.get("style") == settings.style
    assert expression.get("role") == settings.role
    assert settings.style_degree is not None
    assert math.isclose(
        float(expression.get("styledegree", "nan")),
        settings.style_degree,
        abs_tol=0.005,
    )
    lang = expression.find(f"{SSML}lang")
    assert lang is not None
    assert lang.get(XML_LANG) == settings.spoken_language
    prosody = lang.find(f"{SSML}prosody")
    assert prosody is not None
    assert prosody.attrib == {
        "rate": settings.rate,
        "pitch": settings.pitch,
        "volume": settings.volume,
    }
    assert prosody.text == (remove_forbidden_characters(text) or None)
    assert spoken_text(root) == remove_forbidden_characters(text)


# --- starts_ssml_document -----------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        "<speak>Hi</speak>",
        "<speak/>",
        '  \n<speak version="1.0">Hi</speak>  ',
        "<speak\nversion='1.0'>Hi</speak>",
        '<?xml version="1.0" encoding="utf-8"?>\n<speak>Hi</speak>',
        '\ufeff<?xml version="1.0"?><speak>Hi</speak>',
        "\ufeff \n<speak>Hi</speak>",
        "<!-- a note --><speak>Hi</speak>",
        "<?xml version='1.0'?><!-- one --> <!-- two --><speak>Hi</speak>",
        # Refused later as a declaration, never read aloud or parsed.
        "<!DOCTYPE speak><speak>Hi</speak>",
        "<!doctype speak [<!ENTITY a 'b'>]><speak>&a;</speak>",
    ],
)
def test_a_message_whose_first_element_is_speak_is_ssml(message: str) -> None:
    assert starts_ssml_document(message) is True


@pytest.mark.parametrize(
    "message",
    [
        "Hello",
        "<speaker>Hi</speaker>",
        "<SPEAK>Hi</SPEAK>",
        "Say <speak>Hi</speak>",
        "<voice>Hi</voice>",
        "<3 you",
        "<<Important>> the door is open",
        "<![CDATA[ <speak>Hi</speak> ]]>",
        "<?xml version='1.0'?> Hello",
        "<?xml version='1.0'?><voice name='x'>hi</voice>",
        "<!-- note --> hello",
        "<?php echo 1; ?> text",
        "<?xml version='1.0'?>Hello<?note?><speak>Hi</speak>",
    ],
)
def test_text_that_starts_with_a_bracket_is_not_ssml(message: str) -> None:
    assert starts_ssml_document(message) is False


@pytest.mark.parametrize(
    "head",
    [
        "",
        "  ",
        "<",
        "<sp",
        "<speak",
        "<?xml version='1.0'",
        "<!-- not yet",
        "<!DOC",
        "<!DOCTYPE ",
    ],
)
def test_the_start_of_a_message_may_not_tell_yet(head: str) -> None:
    assert starts_ssml_document(head) is None


def test_a_declaration_is_ssml_only_if_a_speak_element_follows() -> None:
    """Until the message ends, a speak element may still come: the caller decides."""
    assert starts_ssml_document("<!DOCTYPE lolz [<!ENTITY a 'b'>]><speak>&a;</speak>")
    assert (
        starts_ssml_document("\ufeff<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>") is None
    )


# --- complete_ssml_document ---------------------------------------------------

HD_AVA = Voice(
    short_name="en-US-Ava:DragonHDLatestNeural",
    display_name="Ava (Dragon HD Latest)",
    locale="en-US",
    gender=Gender.FEMALE,
)
JENNY = Voice(
    short_name="en-US-JennyNeural",
    display_name="Jenny",
    locale="en-US",
    gender=Gender.FEMALE,
    styles=("cheerful", "sad"),
)
CATALOG = VoiceCatalog((JENNY, YUNXI, JENNY_MULTILINGUAL, HD_AVA))
PLAIN_JENNY = VoiceSettings(voice="en-US-JennyNeural", language="en-US")


def complete(document: str, settings: VoiceSettings = PLAIN_JENNY) -> str:
    return complete_ssml_document(document, settings, CATALOG)


VALID_DOCUMENT = (
    '<speak version="1.0" xmlns="http://www.w3.org/2001/10/synthesis" xml:lang="en-US">'
    '<voice name="en-US-JennyNeural">Hello &amp; welcome</voice></speak>'
)
BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<speak version="1.0" xml:lang="en-US"><voice name="en-US-JennyNeural">&lol9;</voice></speak>
"""
EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE speak [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<speak version="1.0" xml:lang="en-US"><voice name="en-US-JennyNeural">&secret;</voice></speak>
"""


def test_a_complete_document_goes_out_as_written_stripped() -> None:
    assert complete(f"\n  {VALID_DOCUMENT}\n") == VALID_DOCUMENT


def test_a_complete_document_with_the_older_mstts_namespace_goes_out_as_written() -> (
    None
):
    document = (
        '<speak version="1.0" xmlns="http://www.w3.org/2001/10/synthesis" '
        'xmlns:mstts="http://www.w3.org/2001/mstts" xml:lang="zh-CN">'
        '<voice name="zh-cn-YunxiNeural"><mstts:express-as style="cheerful">'
        "你好</mstts:express-as></voice></speak>"
    )

    assert complete(document) == document


def test_a_bare_speak_gets_version_namespaces_language_and_the_entry_voice() -> None:
    completed = complete('<speak>Hello <break time="500ms"/> world</speak>')

    assert completed == (
        '<speak xmlns="http://www.w3.org/2001/10/synthesis" '
        'xmlns:mstts="https://www.w3.org/2001/mstts" version="1.0" xml:lang="en-US">'
        '<voice name="en-US-JennyNeural">Hello <break time="500ms"/> world</voice>'
        "</speak>"
    )


def test_loose_content_is_spoken_with_the_entry_voice_style_and_prosody() -> None:
    settings = VoiceSettings(
        voice="zh-cn-YunxiNeural",
        language="zh-cn",
        style="cheerful",
        role="Boy",
        rate="+10%",
    )

    root = parse(complete("<speak>你好<break/>世界</speak>", settings))

    assert root.get("version") == "1.0"
    assert root.get(XML_LANG) == "zh-cn"
    (voice,) = root
    assert voice.tag == f"{SSML}voice"
    assert voice.get("name") == "zh-cn-YunxiNeural"
    (expression,) = voice
    assert expression.tag == f"{MSTTS}express-as"
    assert expression.attrib == {"style": "cheerful", "role": "Boy"}
    (prosody,) = expression
    assert prosody.attrib == {"rate": "+10%"}
    assert prosody.text == "你好"
    assert [child.tag for child in prosody] == [f"{SSML}break"]
    assert prosody[0].tail == "世界"


def test_only_content_outside_voices_is_wrapped_and_voices_keep_their_own() -> None:
    document = (
        "<speak xml:lang='en-US'>First, "
        "<voice name='zh-cn-YunxiNeural'>你好</voice> "
        "then <emphasis>this</emphasis>.</speak>"
    )

    root = parse(complete(document))

    assert [(voice.get("name"), "".join(voice.itertext())) for voice in root] == [
        ("en-US-JennyNeural", "First, "),
        ("zh-cn-YunxiNeural", "你好"),
        ("en-US-JennyNeural", " then this."),
    ]
    assert root.get(XML_LANG) == "en-US"


def test_an_undeclared_mstts_prefix_is_declared() -> None:
    document = (
        "<speak version='1.0' xml:lang='zh-CN'><voice name='zh-cn-YunxiNeural'>"
        "<mstts:express-as style='sad'>好</mstts:express-as></voice></speak>"
    )

    root = parse(complete(document))

    assert root[0][0].tag == f"{MSTTS}express-as"


def test_the_language_of_a_document_without_one_is_its_first_voice() -> None:
    document = "<speak><voice name='zh-cn-YunxiNeural'>好</voice></speak>"

    assert parse(complete(document)).get(XML_LANG) == "zh-cn"


def test_text_written_inside_completed_documents_stays_escaped() -> None:
    completed = complete('<speak>Tom &amp; Jerry &lt;3 "you"</speak>')

    assert "".join(parse(completed).itertext()) == 'Tom & Jerry <3 "you"'


def test_an_unknown_voice_is_refused_with_the_closest_names() -> None:
    with pytest.raises(UnknownVoiceError) as raised:
        complete("<speak><voice name='en-US-JenyNeural'>Hi</voice></speak>")

    assert raised.value.value == "en-US-JenyNeural"
    assert raised.value.suggestions[0] == "en-US-JennyNeural"
    assert "en-US-JennyNeural" in str(raised.value)


def test_a_voice_without_a_name_is_refused() -> None:
    with pytest.raises(InvalidRequestError) as raised:
        complete("<speak><voice>Hi</voice></speak>")

    assert raised.value.field == "ssml"


@pytest.mark.parametrize(
    "inner",
    [
        "<mstts:express-as style='cheerful'>Hi</mstts:express-as>",
        "<prosody rate='+10%'>Hi</prosody>",
        "Hi <break time='1s'/>",
        "<phoneme alphabet='ipa' ph='haɪ'>Hi</phoneme>",
        "<audio src='https://example.com/a.wav'>Hi</audio>",
        "<mstts:silence type='Sentenceboundary' value='200ms'/>Hi",
        "<mstts:audioduration value='2s'/>Hi",
        "Hi <bookmark mark='here'/>",
    ],
)
def test_an_hd_voice_never_gets_an_element_it_does_not_support(inner: str) -> None:
    document = (
        f"<speak><voice name='en-US-Ava:DragonHDLatestNeural'>{inner}</voice></speak>"
    )

    with pytest.raises(UnsupportedByVoiceError) as raised:
        complete(document)

    assert raised.value.voice == "en-US-Ava:DragonHDLatestNeural"
    assert raised.value.field in HD_UNSUPPORTED_ELEMENTS


def test_background_audio_is_refused_when_an_hd_voice_speaks() -> None:
    document = (
        "<speak><mstts:backgroundaudio src='https://example.com/a.wav'/>"
        "<voice name='en-US-Ava:DragonHDLatestNeural'>Hi</voice></speak>"
    )

    with pytest.raises(UnsupportedByVoiceError) as raised:
        complete(document)

    assert raised.value.field == "backgroundaudio"


def test_a_bare_fragment_for_an_hd_entry_voice_is_refused_if_it_breaks() -> None:
    hd = VoiceSettings(voice="en-US-Ava:DragonHDLatestNeural", language="en-US")

    assert "<lang" not in complete("<speak>Hello</speak>", hd)
    with pytest.raises(UnsupportedByVoiceError):
        complete("<speak>Hello <break/></speak>", hd)


def test_hd_voices_speak_what_they_support() -> None:
    document = (
        "<speak><voice name='en-US-Ava:DragonHDLatestNeural'>"
        "<lang xml:lang='de-DE'>Hallo</lang> <say-as interpret-as='date'>2026-11-28</say-as>"
        "</voice></speak>"
    )

    assert "Hallo" in complete(document)


def test_complete_ssml_document_rejects_billion_laughs_without_expanding() -> None:
    started = time.perf_counter()
    with pytest.raises(InvalidRequestError) as raised:
        complete(BILLION_LAUGHS)

    assert time.perf_counter() - started < 0.1
    assert raised.value.field == "ssml"
    assert "declaration" in str(raised.value)


def test_complete_ssml_document_rejects_external_entities() -> None:
    with pytest.raises(InvalidRequestError) as raised:
        complete(EXTERNAL_ENTITY)

    assert raised.value.field == "ssml"


@pytest.mark.parametrize(
    "declaration",
    ["<!DOCTYPE speak>", "<!doctype speak>", "<!DocType speak>", "<! DOCTYPE speak>"],
)
def test_complete_ssml_document_rejects_a_doctype_in_any_case(declaration: str) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        complete(declaration + VALID_DOCUMENT)

    assert raised.value.field == "ssml"


def test_complete_ssml_document_rejects_an_entity_declaration_anywhere() -> None:
    with pytest.raises(InvalidRequestError) as raised:
        complete("<speak><!entity x 'y'></speak>")

    assert raised.value.field == "ssml"


@pytest.mark.parametrize(
    ("document", "position"),
    [
        ("<speak><voice>Hi</speak>", "mismatched tag at line 1, column 19"),
        ("<speak>Tom & Jerry</speak>", "(invalid token) at line 1, column 13"),
        ("<speak>\n<voice name=en-US>Hi</voice></speak>", "line 2, column 13"),
        ("<speak x='1'\n><voice name=en-US>Hi</voice></speak>", "line 2, column 14"),
        ("Hello", "syntax error at line 1, column 1"),
        ("", "no element found at line 1, column 1"),
    ],
)
def test_complete_ssml_document_rejects_malformed_xml_with_its_position(
    document: str, position: str
) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        complete(document)

    assert raised.value.field == "ssml"
    assert str(raised.value).startswith("SSML is not well-formed: ")
    assert str(raised.value).endswith(position)


def test_complete_ssml_document_rejects_a_root_other_than_speak() -> None:
    with pytest.raises(InvalidRequestError) as raised:
        complete("<voice name='en-US-JennyNeural'>Hi</voice>")

    assert raised.value.field == "ssml"
    assert "'voice'" in str(raised.value)


def test_complete_ssml_document_rejects_speak_in_another_namespace() -> None:
    with pytest.raises(InvalidRequestError) as raised:
        complete("<speak xmlns='http://example.com/'>Hi</speak>")

    assert raised.value.field == "ssml"


@pytest.mark.parametrize("character", ["\x00", "\x1b", "\ud800", "\uffff"])
def test_complete_ssml_document_rejects_characters_xml_forbids(character: str) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        complete(f"<speak>Hi{character}</speak>")

    assert raised.value.field == "ssml"
    assert f"U+{ord(character):04X} at position 9" in str(raised.value)


def many_voices(count: int) -> str:
    voices = "".join(
        f'<voice name="en-US-JennyNeural">Sentence {index}.</voice>'
        for index in range(count)
    )
    return f'<speak version="1.0" xmlns="http://www.w3.org/2001/10/synthesis">{voices}</speak>'


def test_complete_ssml_document_accepts_as_many_voices_as_the_service() -> None:
    document = many_voices(MAX_VOICE_ELEMENTS)

    assert complete(document).count("<voice ") == MAX_VOICE_ELEMENTS


def test_complete_ssml_document_rejects_more_voices_than_the_service_accepts() -> None:
    with pytest.raises(InvalidRequestError) as raised:
        complete(many_voices(MAX_VOICE_ELEMENTS + 1))

    assert raised.value.field == "ssml"
    assert "51 voice elements" in str(raised.value)


# --- prosody and style validators -------------------------------------------

INJECTION = '+10%" onload="'
NOT_A_VALUE = [
    INJECTION,
    "",
    "  ",
    None,
    True,
    False,
    [10],
    math.nan,
    math.inf,
    -math.inf,
]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (10, "+10%"),
        (-20, "-20%"),
        (0, "+0%"),
        (-0.0, "+0%"),
        (10.5, "+10.5%"),
        (10.0, "+10%"),
        (0.1 + 0.2, "+0.3%"),
        (-50, "-50%"),
        (100, "+100%"),
        ("x-slow", "x-slow"),
        ("slow", "slow"),
        ("medium", "medium"),
        ("FAST", "fast"),
        ("x-fast", "x-fast"),
        ("default", "default"),
        ("+10%", "+10%"),
        ("-20.5%", "-20.5%"),
        ("+10.50%", "+10.5%"),
        (" -50% ", "-50%"),
        ("+100%", "+100%"),
        ("-0%", "+0%"),
        ("0.5", "0.5"),
        ("1", "1"),
        ("1.25", "1.25"),
        ("2.0", "2"),
        (".75", "0.75"),
    ],
)
def test_normalize_rate_accepts(value: str | float, expected: str) -> None:
    assert normalize_rate(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        *NOT_A_VALUE,
        -50.01,
        101,
        "+100.01%",
        "-51%",
        "50%",
        "0.49",
        "2.01",
        "-1",
        "+1",
        "1e1",
        "\u0661\u0660%",  # Arabic-Indic digits
        "fastest",
        "+10 %",
        "+10%\nx",
        "10Hz",
    ],
)
def test_normalize_rate_rejects(value: object) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        normalize_rate(value)  # type: ignore[arg-type]

    assert raised.value.field == "rate"
    assert raised.value.value == str(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (10, "+10%"),
        (-50, "-50%"),
        (50.0, "+50%"),
        (12.345, "+12.35%"),
        ("x-low", "x-low"),
        ("low", "low"),
        ("Medium", "medium"),
        ("high", "high"),
        ("x-high", "x-high"),
        ("default", "default"),
        ("+50%", "+50%"),
        ("-12.5%", "-12.5%"),
        ("+80Hz", "+80Hz"),
        ("-20hz", "-20Hz"),
        ("600Hz", "600Hz"),
        ("1000HZ", "1000Hz"),
        ("+2st", "+2st"),
        ("-12st", "-12st"),
        ("+0.5ST", "+0.5st"),
    ],
)
def test_normalize_pitch_accepts(value: str | float, expected: str) -> None:
    assert normalize_pitch(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        *NOT_A_VALUE,
        51,
        -50.5,
        "+51%",
        "10%",
        "0Hz",
        "0.5Hz",
        "1001Hz",
        "+1001Hz",
        "-12.5st",
        "+13st",
        "2st",
        "600",
        "+10",
        "x-slow",
        '600Hz" onload="',
    ],
)
def test_normalize_pitch_rejects(value: object) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        normalize_pitch(value)  # type: ignore[arg-type]

    assert raised.value.field == "pitch"
    assert raised.value.value == str(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (10, "+10%"),
        (-100, "-100%"),
        (100.0, "+100%"),
        ("silent", "silent"),
        ("x-soft", "x-soft"),
        ("soft", "soft"),
        ("medium", "medium"),
        ("LOUD", "loud"),
        ("x-loud", "x-loud"),
        ("default", "default"),
        ("+50%", "+50%"),
        ("-50%", "-50%"),
        ("+10", "+10"),
        ("-5.5", "-5.5"),
        ("-100", "-100"),
        ("0", "0"),
        ("0.0", "0"),
        ("75", "75"),
        ("100.0", "100"),
    ],
)
def test_normalize_volume_accepts(value: str | float, expected: str) -> None:
    assert normalize_volume(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        *NOT_A_VALUE,
        101,
        -100.5,
        "+101%",
        "50%",
        "+101",
        "100.5",
        "+6dB",
        "fast",
    ],
)
def test_normalize_volume_rejects(value: object) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        normalize_volume(value)  # type: ignore[arg-type]

    assert raised.value.field == "volume"
    assert raised.value.value == str(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.01, 0.01),
        (1, 1.0),
        (2, 2.0),
        (1.5, 1.5),
        ("0.5", 0.5),
        (" 2 ", 2.0),
        (1.234, 1.23),
    ],
)
def test_normalize_style_degree_accepts(value: float | str, expected: float) -> None:
    assert normalize_style_degree(value) == expected


@pytest.mark.parametrize(
    "value",
    [*NOT_A_VALUE, 0, 0.009, 2.001, "-1", "3", "two", "+1"],
)
def test_normalize_style_degree_rejects(value: object) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        normalize_style_degree(value)  # type: ignore[arg-type]

    assert raised.value.field == "style_degree"
    assert raised.value.value == str(value)


def test_validator_messages_name_the_value_and_the_range() -> None:
    with pytest.raises(
        InvalidRequestError, match=r"Invalid rate 101: out of range -50 to 100"
    ):
        normalize_rate(101)


# --- validate_settings ----------------------------------------------------------


def test_validate_settings_matches_style_and_role_to_the_voices_spelling() -> None:
    settings = VoiceSettings(
        voice=YUNXI.short_name,
        style="CHEERFUL",
        role="youngadultmale",
        style_degree=1.5,
    )

    validated = validate_settings(settings, YUNXI)

    assert validated.style == "cheerful"
    assert validated.role == "YoungAdultMale"
    assert validated.style_degree == 1.5


def test_validate_settings_normalizes_prosody() -> None:
    settings = VoiceSettings(
        voice=YUNXI.short_name, rate="+10.0%", pitch="-2ST", volume="LOUD"
    )

    validated = validate_settings(settings, YUNXI)

    assert (validated.rate, validated.pitch, validated.volume) == (
        "+10%",
        "-2st",
        "loud",
    )


def test_validate_settings_keeps_unset_settings_unset() -> None:
    settings = VoiceSettings(voice=YUNXI.short_name)

    assert validate_settings(settings, YUNXI) == settings


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        (VoiceSettings(voice=YUNXI.short_name, style="whispering"), "style"),
        (VoiceSettings(voice=YUNXI.short_name, style=""), "style"),
        (VoiceSettings(voice=YUNXI.short_name, role="Girl"), "role"),
        (VoiceSettings(voice=YUNXI.short_name, role="Boy"), "role"),
        (VoiceSettings(voice=YUNXI.short_name, style_degree=1.5), "style_degree"),
        (
            VoiceSettings(voice=YUNXI.short_name, style="sad", style_degree=3),
            "style_degree",
        ),
        (VoiceSettings(voice=YUNXI.short_name, rate="+200%"), "rate"),
        (VoiceSettings(voice=YUNXI.short_name, pitch="+20st"), "pitch"),
        (VoiceSettings(voice=YUNXI.short_name, volume="+200%"), "volume"),
        (VoiceSettings(voice=YUNXI.short_name, spoken_language="de-DE"), "language"),
        (VoiceSettings(voice=YUNXI.short_name, language='zh-CN" onload="'), "language"),
    ],
)
def test_validate_settings_rejects(settings: VoiceSettings, field: str) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        validate_settings(settings, YUNXI)

    assert raised.value.field == field


def test_validate_settings_accepts_a_role_with_a_style() -> None:
    settings = VoiceSettings(voice=YUNXI.short_name, style="chat", role="boy")

    validated = validate_settings(settings, YUNXI)

    assert (validated.style, validated.role) == ("chat", "Boy")


def test_validate_settings_lists_what_the_voice_offers() -> None:
    with pytest.raises(
        InvalidRequestError, match="it has Narrator, YoungAdultMale, Boy"
    ):
        validate_settings(VoiceSettings(voice=YUNXI.short_name, role="Girl"), YUNXI)


def test_validate_settings_rejects_a_style_for_a_voice_without_styles() -> None:
    settings = VoiceSettings(voice=JENNY_MULTILINGUAL.short_name, style="cheerful")

    with pytest.raises(InvalidRequestError, match="has no styles") as raised:
        validate_settings(settings, JENNY_MULTILINGUAL)

    assert raised.value.field == "style"


@pytest.mark.parametrize(
    ("spoken_language", "expected"),
    [
        ("de-DE", "de-DE"),
        ("DE-de", "de-DE"),
        ("zh-CN", "zh-cn"),
        ("zh_CN", "zh-cn"),
        ("en-us", "en-US"),
    ],
)
def test_validate_settings_accepts_the_languages_of_a_multilingual_voice(
    spoken_language: str, expected: str
) -> None:
    settings = VoiceSettings(
        voice=JENNY_MULTILINGUAL.short_name,
        spoken_language=spoken_language,
        language="en-US",
    )

    validated = validate_settings(settings, JENNY_MULTILINGUAL)

    assert validated.spoken_language == expected
    assert validated.language == "en-US"


def test_validate_settings_rejects_a_language_the_voice_does_not_speak() -> None:
    settings = VoiceSettings(
        voice=JENNY_MULTILINGUAL.short_name, spoken_language="ga-IE"
    )

    with pytest.raises(InvalidRequestError, match="does not speak 'ga-IE'") as raised:
        validate_settings(settings, JENNY_MULTILINGUAL)

    assert raised.value.field == "language"
    assert raised.value.value == "ga-IE"


def test_validated_settings_build_ssml_the_service_accepts() -> None:
    settings = validate_settings(
        VoiceSettings(
            voice=YUNXI.short_name,
            style="Cheerful",
            style_degree=0.014,
            rate="-10.0%",
            pitch="+5Hz",
        ),
        YUNXI,
    )

    ssml = build_ssml("好", settings)

    assert (
        '<mstts:express-as style="cheerful" styledegree="0.01">'
        '<prosody rate="-10%" pitch="+5Hz">好</prosody></mstts:express-as>'
    ) in ssml


def test_ssml_declaring_an_encoding_other_than_utf8_is_refused() -> None:
    """It is sent as UTF-8: the service would decode it as declared."""
    document = (
        "<?xml version='1.0' encoding='ISO-8859-1'?>"
        "<speak version='1.0' xml:lang='fr-FR'><voice name='v'>café</voice></speak>"
    )

    with pytest.raises(InvalidRequestError) as err:
        complete(document)

    assert err.value.field == "ssml"


@pytest.mark.parametrize(
    "setting",
    [
        {"style": "cheerful"},
        {"style": "cheerful", "style_degree": 2},
        {"style": "cheerful", "role": "Boy"},
        {"rate": "+10%"},
        {"pitch": "-5%"},
        {"volume": "+20%"},
    ],
)
def test_hd_voices_take_no_style_or_prosody(setting: dict[str, object]) -> None:
    settings = VoiceSettings(voice=HD_AVA.short_name, **setting)  # type: ignore[arg-type]

    with pytest.raises(UnsupportedByVoiceError) as raised:
        validate_settings(settings, HD_AVA)

    assert raised.value.field in setting
    assert "HD voice" in str(raised.value)


def test_hd_voices_are_known_by_their_name() -> None:
    assert HD_AVA.is_high_definition
    assert not JENNY.is_high_definition
