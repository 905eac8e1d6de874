"""Build and check SSML, the markup every Azure synthesis request is written in.

All escaping of caller text for SSML happens here and nowhere else: the
builder escapes every piece of text and every attribute value, and the
validators only let through prosody and style values the service documents.
A user's own SSML document is checked (never expanded entities, a ``speak``
root, voices the service has, what HD voices take, the service's limit on
``voice`` elements) and completed where it is partial before it is sent.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
import math
import re
from typing import Final, TypeIs
from xml.etree import ElementTree
from xml.parsers import expat

from .errors import (
    InvalidRequestError,
    StyleRequiredError,
    UnknownVoiceError,
    UnsupportedByVoiceError,
)
from .models import Voice, VoiceSettings, same_language
from .voices import VoiceCatalog

SSML_NAMESPACE = "http://www.w3.org/2001/10/synthesis"
MSTTS_NAMESPACE = "https://www.w3.org/2001/mstts"
XML_NAMESPACE = "http://www.w3.org/XML/1998/namespace"
_XML_LANG = f"{{{XML_NAMESPACE}}}lang"

# Azure's "High definition voices" page: HD voices support none of these
# elements (by local name; some are SSML's, some mstts's), nor the settings
# that would write them.
HD_UNSUPPORTED_ELEMENTS: Final = frozenset(
    {
        "express-as",
        "prosody",
        "break",
        "phoneme",
        "audio",
        "silence",
        "audioduration",
        "backgroundaudio",
        "bookmark",
    }
)
HD_UNSUPPORTED_SETTINGS: Final = (
    "style",
    "style_degree",
    "role",
    "rate",
    "pitch",
    "volume",
)
# Children of speak that stay outside any voice element when a partial
# document is completed.
_TOP_LEVEL_ELEMENTS: Final = frozenset({"voice", "backgroundaudio"})

# The service refuses a request with more voice elements than this.
MAX_VOICE_ELEMENTS = 50

RATE_CONSTANTS = frozenset({"x-slow", "slow", "medium", "fast", "x-fast", "default"})
PITCH_CONSTANTS = frozenset({"x-low", "low", "medium", "high", "x-high", "default"})
VOLUME_CONSTANTS = frozenset(
    {"silent", "x-soft", "soft", "medium", "loud", "x-loud", "default"}
)

# Azure renders rates between half and twice the voice's own speed.
RATE_PERCENT_RANGE = (Decimal(-50), Decimal(100))
RATE_MULTIPLIER_RANGE = (Decimal("0.5"), Decimal(2))
# Azure renders pitches between 0.5 and 1.5 times the voice's own pitch.
PITCH_PERCENT_RANGE = (Decimal(-50), Decimal(50))
PITCH_SEMITONE_RANGE = (Decimal(-12), Decimal(12))
# No voice speaks near 1 kHz; anything beyond is a typo, not a wish.
PITCH_CHANGE_HERTZ_RANGE = (Decimal(-1000), Decimal(1000))
PITCH_ABSOLUTE_HERTZ_RANGE = (Decimal(1), Decimal(1000))
VOLUME_PERCENT_RANGE = (Decimal(-100), Decimal(100))
VOLUME_ABSOLUTE_RANGE = (Decimal(0), Decimal(100))
STYLE_DEGREE_RANGE = (Decimal("0.01"), Decimal(2))

# Values finer than this make no audible difference; rounding keeps float
# noise such as 0.30000000000000004 out of the SSML.
_DECIMAL_PLACES = Decimal("0.01")

_FORBIDDEN_CHARACTERS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]"
)
_TEXT_ESCAPES = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "'": "&apos;",
        # A parser turns a literal carriage return into a line feed.
        "\r": "&#13;",
    }
)
# A parser turns literal tabs and line feeds in attribute values into spaces.
_ATTRIBUTE_WHITESPACE_ESCAPES = str.maketrans({"\t": "&#9;", "\n": "&#10;"})

_NUMBER = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
_SIGNED_PERCENT = re.compile(rf"([+-])({_NUMBER})%")
_SIGNED_NUMBER = re.compile(rf"([+-])({_NUMBER})")
_UNSIGNED_NUMBER = re.compile(rf"({_NUMBER})")
_SIGNED_HERTZ = re.compile(rf"([+-])({_NUMBER})hz", re.IGNORECASE)
_UNSIGNED_HERTZ = re.compile(rf"({_NUMBER})hz", re.IGNORECASE)
_SIGNED_SEMITONES = re.compile(rf"([+-])({_NUMBER})st", re.IGNORECASE)

_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*")
_VOICE_LOCALE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})+")
_DOCUMENT_TYPE_DECLARATION = re.compile(r"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_XML_ENCODING = re.compile(
    r"\ufeff?\s*<\?xml\s[^>]*?\bencoding\s*=\s*[\"']([^\"']*)[\"']"
)
# What may precede the root element: an XML declaration and comments.
_PROLOG_ITEM = re.compile(r"<\?xml[\s?].*?\?>|<!--.*?-->", re.DOTALL)
_INCOMPLETE_PROLOG_ITEM = re.compile(r"<\?xml[\s?]|<!--", re.DOTALL)
_DOCTYPE_NAME = re.compile(r"<!DOCTYPE\s+([^\s\[>]+)[\s\[>]", re.IGNORECASE)
_SPEAK_TAG = re.compile(r"<speak[\s/>]")
# The root's start tag, up to where declarations can be added.
_SPEAK_START_TAG = re.compile(
    r"<speak(?=[\s/>])((?:\s+[^\s=/>]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*)"
)
_DECLARES_DEFAULT_NAMESPACE = re.compile(r"\sxmlns\s*=")
_DECLARES_MSTTS = re.compile(r"\sxmlns:mstts\s*=")


def remove_forbidden_characters(text: str) -> str:
    """Remove the characters XML 1.0 does not allow in a document.

    These are the C0 control characters other than tab, line feed and
    carriage return, lone surrogates, U+FFFE and U+FFFF.
    """
    return _FORBIDDEN_CHARACTERS.sub("", text)


def escape_text(text: str) -> str:
    """Make `text` safe as XML character data or a quoted attribute value.

    Characters XML forbids are removed; ``& < > " '`` become entity
    references and a carriage return a character reference, so that a parser
    gives back exactly the text without the forbidden characters.
    """
    return remove_forbidden_characters(text).translate(_TEXT_ESCAPES)


def _escape_attribute(value: str) -> str:
    return escape_text(value).translate(_ATTRIBUTE_WHITESPACE_ESCAPES)


def locale_of_voice_name(voice_name: str) -> str | None:
    """Return the locale a voice name starts with, or None when it starts with none.

    ``en-US-JennyNeural`` gives ``en-US``, ``zh-cn-YunxiNeural`` gives
    ``zh-cn``, ``zh-CN-henan-YundengNeural`` gives ``zh-CN-henan`` and
    ``en-US-Ava:DragonHDLatestNeural`` gives ``en-US``.
    """
    name = voice_name.partition(":")[0]
    locale, separator, _ = name.rpartition("-")
    if separator and _VOICE_LOCALE.fullmatch(locale):
        return locale
    return None


def build_ssml(text: str, settings: VoiceSettings) -> str:
    """Write the SSML document that speaks `text` as `settings` describe.

    The text is the only content of the innermost element, escaped and with
    nothing added around it. `settings` must already be validated (see
    `validate_settings`); they are escaped here all the same.

    Raises:
        InvalidRequestError: `settings` name no language and the voice name
            does not start with a locale.

    """
    language = _language_of(settings)
    wrappers = _expression(settings)
    opening_tags = "".join(
        _opening_tag(tag, attributes) for tag, attributes in wrappers
    )
    closing_tags = "".join(f"</{tag}>" for tag, _ in reversed(wrappers))
    return (
        f'<speak version="1.0" xmlns="{SSML_NAMESPACE}"'
        f' xmlns:mstts="{MSTTS_NAMESPACE}" xml:lang="{_escape_attribute(language)}">'
        f'<voice name="{_escape_attribute(settings.voice)}">'
        f"{opening_tags}{escape_text(text)}{closing_tags}"
        "</voice></speak>"
    )


def _expression(settings: VoiceSettings) -> list[tuple[str, dict[str, str]]]:
    """The elements around the text that make the voice speak as `settings` say."""
    wrappers: list[tuple[str, dict[str, str]]] = []
    if settings.style or settings.role:
        expression: dict[str, str] = {}
        if settings.style:
            expression["style"] = settings.style
            if settings.style_degree is not None:
                expression["styledegree"] = f"{settings.style_degree:g}"
        if settings.role:
            expression["role"] = settings.role
        wrappers.append(("mstts:express-as", expression))
    if settings.spoken_language:
        wrappers.append(("lang", {"xml:lang": settings.spoken_language}))
    prosody = {
        name: value
        for name, value in (
            ("rate", settings.rate),
            ("pitch", settings.pitch),
            ("volume", settings.volume),
        )
        if value
    }
    if prosody:
        wrappers.append(("prosody", prosody))
    return wrappers


def _opening_tag(tag: str, attributes: dict[str, str]) -> str:
    written = "".join(
        f' {name}="{_escape_attribute(value)}"' for name, value in attributes.items()
    )
    return f"<{tag}{written}>"


def starts_ssml_document(head: str) -> bool | None:
    """Whether a message beginning with `head` is an SSML document; None: can't tell yet.

    A message is SSML only when its first element is ``speak``: after a byte
    order mark, whitespace, an XML declaration and comments (each optional),
    a ``speak`` start tag, or a document type declaration followed by one
    (refused later, never parsed). Anything else that starts with ``<`` is
    text: ``<3 you``, ``<<Important>>``, ``<![CDATA[ … ]]>``.
    """
    text = head.removeprefix("\ufeff")
    while True:
        text = text.lstrip()
        if not (item := _PROLOG_ITEM.match(text)):
            break
        text = text[item.end() :]
    if not text or _INCOMPLETE_PROLOG_ITEM.match(text):
        return None
    if doctype := _DOCTYPE_NAME.match(text):
        # The root follows the declaration's internal subset, whose end takes
        # a parser to find: a speak tag anywhere after it makes a document,
        # refused for its declaration, never read aloud.
        if doctype.group(1) == "speak" or _SPEAK_TAG.search(text, doctype.end()):
            return True
        return None
    if _SPEAK_TAG.match(text):
        return True
    for start in ("<speak", "<!doctype ", "<?xml", "<!--"):
        if start.startswith(text.casefold()[: len(start)]) and len(text) <= len(start):
            return None
    if text[:9].casefold() == "<!doctype":
        return None  # its name is still to come
    return False


def complete_ssml_document(
    ssml: str, settings: VoiceSettings, voices: VoiceCatalog
) -> str:
    """Check an SSML document written by a user, completing it where it is partial.

    Documents with a document type declaration are refused before anything
    parses them, so no entity is ever expanded (billion laughs) or fetched.
    A partial document (``<speak>Hello <break time="500ms"/> world</speak>``)
    gets what Azure requires: ``version``, the SSML and mstts namespaces and
    ``xml:lang``; content outside any ``voice`` element is spoken by the
    voice `settings` name, as they describe (style, language and prosody, as
    for plain text). A complete document goes out as written.

    Raises:
        UnknownVoiceError: a ``voice`` names a voice not in `voices`.
        UnsupportedByVoiceError: an HD voice contains an element HD voices
            do not support.
        InvalidRequestError: the document is not well-formed, declares a
            document type or entities, contains characters XML forbids, its
            root is not ``speak`` or it has more ``voice`` elements than the
            service accepts; `field` is ``"ssml"``.

    """
    document = ssml.strip()
    if forbidden := _FORBIDDEN_CHARACTERS.search(document):
        raise _invalid_ssml(
            f"SSML contains U+{ord(forbidden.group()):04X} at position "
            f"{forbidden.start()}, a character XML does not allow"
        )
    if _DOCUMENT_TYPE_DECLARATION.search(document):
        raise _invalid_ssml(
            "SSML must not contain a document type or entity declaration"
        )
    if (declared := _XML_ENCODING.match(document)) and declared.group(
        1
    ).strip().lower() not in ("utf-8", "utf8"):
        # The document is sent as UTF-8; the service would decode it as declared.
        raise _invalid_ssml(
            f"SSML is sent as UTF-8, not {declared.group(1)!r}: "
            "remove the encoding from the XML declaration"
        )
    root, completed = _parse_declaring_namespaces(document)
    if root.tag != f"{{{SSML_NAMESPACE}}}speak":
        raise _invalid_ssml(
            f"SSML must have a speak root element, not {_local_name(root.tag)!r}"
        )
    if root.get("version") is None:
        root.set("version", "1.0")
        completed = True
    if _wrap_loose_content(root, settings):
        completed = True
    voice_elements = [
        element for element in root.iter() if _local_name(element.tag) == "voice"
    ]
    if len(voice_elements) > MAX_VOICE_ELEMENTS:
        raise _invalid_ssml(
            f"SSML has {len(voice_elements)} voice elements; the service accepts "
            f"at most {MAX_VOICE_ELEMENTS}"
        )
    spoken = [_check_voice_element(element, voices) for element in voice_elements]
    if any(voice.is_high_definition for voice in spoken):
        # Background audio plays under the whole document, whichever voice speaks.
        _refuse_hd_elements(root, next(v for v in spoken if v.is_high_definition))
    if root.get(_XML_LANG) is None:
        root.set(_XML_LANG, spoken[0].locale if spoken else _language_of(settings))
        completed = True
    return _serialize(root) if completed else document


def _parse_declaring_namespaces(document: str) -> tuple[ElementTree.Element, bool]:
    """Parse a user's document, declaring on its root the namespaces it omits.

    Unprefixed elements then are SSML's, as Azure requires, and ``mstts:``
    elements written without a declaration still parse. Returns the root and
    whether anything was declared.

    Raises:
        InvalidRequestError: not well-formed, with the position in `document`.

    """
    added = ""
    insert_at = 0
    if start := _SPEAK_START_TAG.search(document):
        insert_at = start.end()
        attributes = start.group(1)
        if not _DECLARES_DEFAULT_NAMESPACE.search(attributes):
            added += f' xmlns="{SSML_NAMESPACE}"'
        if "<mstts:" in document and not _DECLARES_MSTTS.search(attributes):
            added += f' xmlns:mstts="{MSTTS_NAMESPACE}"'
    try:
        # Safe: without a document type declaration there is nothing to expand
        # or fetch, and ElementTree never fetches external resources.
        root = ElementTree.fromstring(  # noqa: S314
            document[:insert_at] + added + document[insert_at:]
        )
    except ElementTree.ParseError as error:
        line, column = error.position
        insert_line = document.count("\n", 0, insert_at) + 1
        insert_column = insert_at - (document.rfind("\n", 0, insert_at) + 1)
        if line == insert_line and column >= insert_column + len(added):
            column -= len(added)  # where the user's own text has the error
        # Expat counts columns from 0, people and editors from 1.
        raise _invalid_ssml(
            f"SSML is not well-formed: {expat.ErrorString(error.code)}"
            f" at line {line}, column {column + 1}"
        ) from None
    return root, bool(added)


def _wrap_loose_content(root: ElementTree.Element, settings: VoiceSettings) -> bool:
    """Put content of `root` that is outside any voice into voices of `settings`.

    Returns whether anything was wrapped.
    """
    wrapped = False
    children: list[ElementTree.Element] = []
    leading_text = root.text
    root_text: str | None = None
    run: list[ElementTree.Element] = []

    def close_run() -> None:
        nonlocal wrapped, root_text
        if run or (leading_text and leading_text.strip()):
            voice, innermost = _voice_element(settings)
            innermost.text = leading_text
            innermost.extend(run)
            children.append(voice)
            wrapped = True
        elif children:
            children[-1].tail = leading_text
        else:
            root_text = leading_text

    for child in root:
        if _local_name(child.tag) in _TOP_LEVEL_ELEMENTS:
            close_run()
            leading_text, child.tail, run = child.tail, None, []
            children.append(child)
        else:
            run.append(child)
    close_run()
    if wrapped:
        root[:] = children
        root.text = root_text
    return wrapped


def _voice_element(
    settings: VoiceSettings,
) -> tuple[ElementTree.Element, ElementTree.Element]:
    """A voice element speaking as `settings` say, and its innermost element."""
    voice = ElementTree.Element(f"{{{SSML_NAMESPACE}}}voice", name=settings.voice)
    innermost = voice
    for tag, attributes in _expression(settings):
        namespace, _, local_name = tag.rpartition(":")
        uri = MSTTS_NAMESPACE if namespace == "mstts" else SSML_NAMESPACE
        element = ElementTree.SubElement(
            innermost,
            f"{{{uri}}}{local_name}",
            {
                _XML_LANG if key == "xml:lang" else key: v
                for key, v in attributes.items()
            },
        )
        innermost = element
    return voice, innermost


def _check_voice_element(element: ElementTree.Element, voices: VoiceCatalog) -> Voice:
    """The voice a voice element names, if the service has it and it can speak it."""
    name = (element.get("name") or "").strip()
    if not name:
        raise _invalid_ssml("Every voice element needs a name")
    voice = voices.get(name)
    if voice is None:
        suggestions = tuple(voices.closest_names(name))
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
        raise UnknownVoiceError(
            f"The service has no voice {name!r}{hint}", name, suggestions
        )
    if voice.is_high_definition:
        _refuse_hd_elements(element, voice)
    return voice


def _refuse_hd_elements(element: ElementTree.Element, voice: Voice) -> None:
    for inner in element.iter():
        if (local_name := _local_name(inner.tag)) in HD_UNSUPPORTED_ELEMENTS:
            raise UnsupportedByVoiceError(
                f"HD voice {voice.short_name} does not support the {local_name} "
                "element",
                field=local_name,
                voice=voice.short_name,
            )


def _language_of(settings: VoiceSettings) -> str:
    language = settings.language or locale_of_voice_name(settings.voice)
    if not language:
        raise InvalidRequestError(
            f"Cannot tell the language of voice {settings.voice!r}; set a language",
            field="language",
            value=settings.voice,
        )
    return language


# Prefixes for namespaces Azure documents; any other keeps a generated one.
_PREFERRED_PREFIXES: Final = {
    SSML_NAMESPACE: "",
    MSTTS_NAMESPACE: "mstts",
    XML_NAMESPACE: "xml",
}


def _serialize(root: ElementTree.Element) -> str:
    """Write a completed document, every namespace declared on the root.

    Written here rather than by ElementTree, which names namespaces ns0, ns1 …
    through process-wide state and writes ``<break />``.
    """
    prefixes = dict(_PREFERRED_PREFIXES)
    for element in root.iter():
        for name in (element.tag, *element.attrib):
            uri = name[1:].partition("}")[0] if name.startswith("{") else None
            if uri is not None and uri not in prefixes:
                prefixes[uri] = f"ns{len(prefixes)}"
    declarations = "".join(
        f' xmlns{":" + prefix if prefix else ""}="{_escape_attribute(uri)}"'
        for uri, prefix in prefixes.items()
        if uri != XML_NAMESPACE
    )

    def qualified(name: str) -> str:
        if not name.startswith("{"):
            return name
        uri, _, local_name = name[1:].partition("}")
        prefix = prefixes[uri]
        return f"{prefix}:{local_name}" if prefix else local_name

    parts: list[str] = []

    def write(element: ElementTree.Element, extra: str) -> None:
        tag = qualified(element.tag)
        attributes = "".join(
            f' {qualified(name)}="{_escape_attribute(value)}"'
            for name, value in element.attrib.items()
        )
        parts.append(f"<{tag}{extra}{attributes}")
        if element.text is None and len(element) == 0:
            parts.append("/>")
            return
        parts.append(">")
        if element.text:
            parts.append(escape_text(element.text))
        for child in element:
            write(child, "")
            if child.tail:
                parts.append(escape_text(child.tail))
        parts.append(f"</{tag}>")

    write(root, declarations)
    return "".join(parts)


def _local_name(tag: str) -> str:
    return tag.rpartition("}")[2]


def _invalid_ssml(message: str) -> InvalidRequestError:
    return InvalidRequestError(message, field="ssml")


@dataclass(frozen=True, slots=True)
class _ProsodyForm:
    """One way to write a prosody value: signed (a change) or unsigned."""

    pattern: re.Pattern[str]  # groups: sign and magnitude, or magnitude alone
    bounds: tuple[Decimal, Decimal]
    unit: str = ""


@dataclass(frozen=True, slots=True)
class _Prosody:
    """What one prosody attribute accepts; a bare number is a change in percent."""

    field: str
    constants: frozenset[str]
    percent_range: tuple[Decimal, Decimal]
    forms: tuple[_ProsodyForm, ...]
    expectation: str


_RATE = _Prosody(
    field="rate",
    constants=RATE_CONSTANTS,
    percent_range=RATE_PERCENT_RANGE,
    forms=(
        _ProsodyForm(_SIGNED_PERCENT, RATE_PERCENT_RANGE, "%"),
        _ProsodyForm(_UNSIGNED_NUMBER, RATE_MULTIPLIER_RANGE),
    ),
    expectation="expected x-slow, slow, medium, fast, x-fast, default, a change "
    "from -50% to +100% or a multiplier from 0.5 to 2",
)
_PITCH = _Prosody(
    field="pitch",
    constants=PITCH_CONSTANTS,
    percent_range=PITCH_PERCENT_RANGE,
    forms=(
        _ProsodyForm(_SIGNED_PERCENT, PITCH_PERCENT_RANGE, "%"),
        _ProsodyForm(_SIGNED_HERTZ, PITCH_CHANGE_HERTZ_RANGE, "Hz"),
        _ProsodyForm(_SIGNED_SEMITONES, PITCH_SEMITONE_RANGE, "st"),
        _ProsodyForm(_UNSIGNED_HERTZ, PITCH_ABSOLUTE_HERTZ_RANGE, "Hz"),
    ),
    expectation="expected x-low, low, medium, high, x-high, default, a change "
    "from -50% to +50%, a change in Hz such as +80Hz, a change from -12st to "
    "+12st or a pitch such as 600Hz",
)
_VOLUME = _Prosody(
    field="volume",
    constants=VOLUME_CONSTANTS,
    percent_range=VOLUME_PERCENT_RANGE,
    forms=(
        _ProsodyForm(_SIGNED_PERCENT, VOLUME_PERCENT_RANGE, "%"),
        _ProsodyForm(_SIGNED_NUMBER, VOLUME_PERCENT_RANGE),
        _ProsodyForm(_UNSIGNED_NUMBER, VOLUME_ABSOLUTE_RANGE),
    ),
    expectation="expected silent, x-soft, soft, medium, loud, x-loud, default, "
    "a change from -100% to +100%, a change from -100 to +100 or a volume from "
    "0 to 100",
)


def normalize_rate(value: str | float | int) -> str:
    """Check a speaking rate and write it the way SSML expects.

    A number is a change in percent (``10`` gives ``+10%``). Text is one of
    `RATE_CONSTANTS`, a signed change in percent (``+10%``, ``-20.5%``) or a
    multiplier of the voice's own rate (``0.5`` to ``2``). Changes stay
    within -50 % and +100 %, the range Azure renders.

    Raises:
        InvalidRequestError: `value` is none of these; `field` is ``"rate"``.

    """
    return _normalize_prosody(value, _RATE)


def normalize_pitch(value: str | float | int) -> str:
    """Check a pitch and write it the way SSML expects.

    A number is a change in percent (``10`` gives ``+10%``). Text is one of
    `PITCH_CONSTANTS`, a signed change in percent (-50 % to +50 %), in hertz
    (``+80Hz``) or in semitones (-12 to +12 ``st``), or an absolute pitch in
    hertz (``600Hz``).

    Raises:
        InvalidRequestError: `value` is none of these; `field` is ``"pitch"``.

    """
    return _normalize_prosody(value, _PITCH)


def normalize_volume(value: str | float | int) -> str:
    """Check a volume and write it the way SSML expects.

    A number is a change in percent (``10`` gives ``+10%``). Text is one of
    `VOLUME_CONSTANTS`, a signed change in percent (``+50%``) or in volume
    points (``+10``, ``-5.5``), each from -100 to +100, or an absolute volume
    from 0.0 (silent) to 100.0 (the voice's default and loudest).

    Raises:
        InvalidRequestError: `value` is none of these; `field` is ``"volume"``.

    """
    return _normalize_prosody(value, _VOLUME)


def _normalize_prosody(value: object, prosody: _Prosody) -> str:
    field = prosody.field
    if _is_number(value):
        number = _decimal(value, field)
        return _signed_in_range(number, prosody.percent_range, value, field) + "%"
    text = _text(value, field)
    if text.lower() in prosody.constants:
        return text.lower()
    for form in prosody.forms:
        if match := form.pattern.fullmatch(text):
            if form.pattern.groups == 2:
                written = _signed_match_in_range(match, form.bounds, value, field)
            else:
                number = Decimal(match.group(1))
                written = _unsigned_in_range(number, form.bounds, value, field)
            return written + form.unit
    raise _invalid_value(field, value, prosody.expectation)


def normalize_style_degree(value: float | int | str) -> float:
    """Check the intensity of a speaking style: from 0.01 to 2, 1 being the default.

    Raises:
        InvalidRequestError: `value` is not such a number; `field` is
            ``"style_degree"``.

    """
    field = "style_degree"
    if _is_number(value):
        degree = _decimal(value, field)
    elif isinstance(value, str) and _UNSIGNED_NUMBER.fullmatch(value.strip()):
        degree = Decimal(value.strip())
    else:
        raise _invalid_value(field, value, "expected a number from 0.01 to 2")
    return float(_unsigned_in_range(degree, STYLE_DEGREE_RANGE, value, field))


def validate_settings(settings: VoiceSettings, voice: Voice) -> VoiceSettings:
    """Check `settings` against what `voice` offers, and return them normalized.

    Prosody values and the style degree are normalized; style, role and
    spoken language are matched case-insensitively and take the voice's own
    spelling. A role or a style degree needs a style.

    Raises:
        InvalidRequestError: a setting is invalid or the voice does not offer
            it; `field` names the setting (``"style"``, ``"role"``,
            ``"style_degree"``, ``"rate"``, ``"pitch"``, ``"volume"`` or
            ``"language"``); `UnsupportedByVoiceError` for a setting an HD
            voice does not take.

    """
    if voice.is_high_definition:
        for field in HD_UNSUPPORTED_SETTINGS:
            if getattr(settings, field) is not None:
                raise UnsupportedByVoiceError(
                    f"HD voice {voice.short_name} does not take a "
                    f"{field.replace('_', ' ')}",
                    field=field,
                    voice=voice.short_name,
                )
    style = (
        None
        if settings.style is None
        else _choose(settings.style, voice.styles, "style", voice)
    )
    role = (
        None
        if settings.role is None
        else _choose(settings.role, voice.roles, "role", voice)
    )
    if role is not None and style is None:
        # Azure requires a style on mstts:express-as and ignores the element without one.
        raise StyleRequiredError(
            "A role needs a style", field="role", value=settings.role or ""
        )
    style_degree = settings.style_degree
    if style_degree is not None:
        if style is None:
            raise StyleRequiredError(
                "A style degree needs a style",
                field="style_degree",
                value=str(style_degree),
            )
        style_degree = normalize_style_degree(style_degree)
    if settings.language is not None and not _LANGUAGE_TAG.fullmatch(settings.language):
        raise _invalid_value(
            "language", settings.language, "expected a locale such as en-US"
        )
    spoken_language = settings.spoken_language
    if spoken_language is not None:
        spoken_language = _spoken_locale(spoken_language, voice)
    return replace(
        settings,
        style=style,
        role=role,
        style_degree=style_degree,
        spoken_language=spoken_language,
        rate=None if settings.rate is None else normalize_rate(settings.rate),
        pitch=None if settings.pitch is None else normalize_pitch(settings.pitch),
        volume=None if settings.volume is None else normalize_volume(settings.volume),
    )


def _choose(wanted: str, offered: tuple[str, ...], field: str, voice: Voice) -> str:
    for choice in offered:
        if choice.casefold() == wanted.casefold():
            return choice
    if not offered:
        message = f"Voice {voice.short_name} has no {field}s"
    else:
        message = (
            f"Voice {voice.short_name} has no {field} {wanted!r}; "
            f"it has {', '.join(offered)}"
        )
    raise InvalidRequestError(message, field=field, value=wanted)


def _spoken_locale(wanted: str, voice: Voice) -> str:
    for locale in voice.locales:
        if same_language(wanted, locale):
            return locale
    raise InvalidRequestError(
        f"Voice {voice.short_name} does not speak {wanted!r}; "
        f"it speaks {', '.join(voice.locales)}",
        field="language",
        value=wanted,
    )


def _is_number(value: object) -> TypeIs[int | float]:
    # bool is an int, but True is no rate.
    return isinstance(value, int | float) and not isinstance(value, bool)


def _decimal(value: float, field: str) -> Decimal:
    if not math.isfinite(value):
        raise _invalid_value(field, value, "expected a finite number")
    return Decimal(value)


def _text(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise _invalid_value(field, value, "expected a number or text")
    return value.strip()


def _signed_match_in_range(
    match: re.Match[str], bounds: tuple[Decimal, Decimal], value: object, field: str
) -> str:
    sign, magnitude = match.groups()
    number = Decimal(magnitude)
    return _signed_in_range(-number if sign == "-" else number, bounds, value, field)


def _signed_in_range(
    number: Decimal, bounds: tuple[Decimal, Decimal], value: object, field: str
) -> str:
    _check_range(number, bounds, value, field)
    rounded = _round(number)
    sign = "-" if rounded < 0 else "+"
    return sign + _plain_number(abs(rounded))


def _unsigned_in_range(
    number: Decimal, bounds: tuple[Decimal, Decimal], value: object, field: str
) -> str:
    _check_range(number, bounds, value, field)
    return _plain_number(number)


def _check_range(
    number: Decimal, bounds: tuple[Decimal, Decimal], value: object, field: str
) -> None:
    low, high = bounds
    if not low <= number <= high:
        raise _invalid_value(
            field, value, f"out of range {_plain_number(low)} to {_plain_number(high)}"
        )


def _round(number: Decimal) -> Decimal:
    return number.quantize(_DECIMAL_PLACES, rounding=ROUND_HALF_UP)


def _plain_number(number: Decimal) -> str:
    """Write a number rounded, without trailing zeros, exponent or negative zero."""
    rounded = _round(number)
    if rounded == 0:
        return "0"
    return format(rounded.normalize(), "f")


def _invalid_value(field: str, value: object, expectation: str) -> InvalidRequestError:
    return InvalidRequestError(
        f"Invalid {field.replace('_', ' ')} {value!r}: {expectation}",
        field=field,
        value=str(value),
    )
