"""SSML checks the emulated Azure synthesis endpoint applies.

Azure answers 400 with a short reason for SSML it cannot use; the emulator
does the same for the rules the product is expected to respect, so SSML bugs
show up as failures in tests rather than in production. FIDELITY.md gives the
source of each rule, or marks it as an assumption.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import math
import re
from typing import Any
import xml.etree.ElementTree as ET

SSML_NAMESPACE = "http://www.w3.org/2001/10/synthesis"
MSTTS_NAMESPACE = "https://www.w3.org/2001/mstts"
# Azure's own examples declare mstts both ways; older clients send http.
MSTTS_NAMESPACES = (MSTTS_NAMESPACE, "http://www.w3.org/2001/mstts")
MATHML_NAMESPACE = "http://www.w3.org/1998/Math/MathML"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
# "Max total number of distinct <voice> and <audio> tags in SSML" (quotas page).
MAX_VOICE_AND_AUDIO_ELEMENTS = 50
# HD voice names are voicename:basemodel:version, and DragonHD is the base model.
HD_VOICE_MARKER = ":DragonHD"
# (namespace, local name) of the elements the HD voices page marks "No".
HD_UNSUPPORTED: frozenset[tuple[str, str]] = frozenset(
    {
        *(
            (SSML_NAMESPACE, name)
            for name in ("prosody", "emphasis", "audio", "phoneme", "bookmark", "break")
        ),
        *(
            (namespace, name)
            for namespace in MSTTS_NAMESPACES
            for name in (
                "express-as",
                "ttsembedding",
                "audioduration",
                "backgroundaudio",
                "silence",
                "viseme",
            )
        ),
        (MATHML_NAMESPACE, "math"),
    }
)

_NUMBER = r"(?:\d+(?:\.\d+)?|\.\d+)"
_PITCH_NAMES = "x-low|low|medium|high|x-high|default"
_PITCH = rf"(?:{_PITCH_NAMES}|{_NUMBER}hz|[+-]{_NUMBER}(?:hz|st)|[+-]?{_NUMBER}%)"
_CONTOUR_POINT = rf"\(\s*{_NUMBER}%\s*,\s*[+-]?{_NUMBER}(?:hz|st|%)\s*\)"
_PROSODY_FORMS: dict[str, re.Pattern[str]] = {
    "rate": re.compile(
        rf"x-slow|slow|medium|fast|x-fast|default|{_NUMBER}|[+-]?{_NUMBER}%", re.I
    ),
    "pitch": re.compile(_PITCH, re.I),
    "range": re.compile(_PITCH, re.I),
    "volume": re.compile(
        rf"silent|x-soft|soft|medium|loud|x-loud|default|{_NUMBER}|[+-]{_NUMBER}|[+-]?{_NUMBER}%",
        re.I,
    ),
    "contour": re.compile(rf"\s*{_CONTOUR_POINT}(?:\s+{_CONTOUR_POINT})*\s*", re.I),
}
_DECLARATION = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.I)

VoiceLookup = Callable[[str], dict[str, Any] | None]


@dataclass(slots=True)
class SsmlCheck:
    """Outcome of checking one SSML document."""

    first_voice: str | None = None
    spoken_text: str | None = None
    error: str | None = None


def is_hd_voice(name: str) -> bool:
    """Whether a voice name names an Azure Speech HD (DragonHD) voice."""
    return HD_VOICE_MARKER.lower() in name.lower()


def _split_tag(tag: str) -> tuple[str, str]:
    """(namespace, local name) of an ElementTree tag."""
    if tag.startswith("{"):
        namespace, _, local_name = tag[1:].partition("}")
        return namespace, local_name
    return "", tag


def check_ssml(
    body: bytes, find_voice: VoiceLookup, *, require_namespace: bool = True
) -> SsmlCheck:
    """Parse and validate SSML; `error` holds the 400 reason, if any.

    first_voice and spoken_text are filled in whenever the document parses,
    even if it is then rejected, so that tests can see what was sent.
    """
    result = SsmlCheck()
    if not body.strip():
        result.error = "The request body is empty."
        return result
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        # Also keeps the DTD check below honest: it searches UTF-8 bytes.
        result.error = "SSML must be encoded in UTF-8."
        return result
    # Reject DTDs before expat sees them: no entity expansion, ever.
    if _DECLARATION.search(body):
        result.error = "DTD and entity declarations are not allowed in SSML."
        return result
    try:
        root = ET.fromstring(body)  # noqa: S314  # DTDs are rejected above
    except ET.ParseError as err:
        result.error = f"SSML is not well-formed XML: {err}."
        return result

    def is_ssml(element: ET.Element, local_name: str) -> bool:
        if element.tag == f"{{{SSML_NAMESPACE}}}{local_name}":
            return True
        return not require_namespace and element.tag == local_name

    voice_elements = [element for element in root.iter() if is_ssml(element, "voice")]
    if voice_elements:
        result.first_voice = voice_elements[0].get("name")
        result.spoken_text = "".join(
            "".join(voice.itertext()) for voice in voice_elements
        )
    result.error = _validate(root, voice_elements, find_voice, is_ssml)
    return result


def _validate(
    root: ET.Element,
    voice_elements: list[ET.Element],
    find_voice: VoiceLookup,
    is_ssml: Callable[[ET.Element, str], bool],
) -> str | None:
    if not is_ssml(root, "speak"):
        return f"The root element must be speak in namespace {SSML_NAMESPACE}."
    if root.get("version") != "1.0":
        return 'The speak element must have version="1.0".'
    if not (root.get(XML_LANG) or "").strip():
        return "The speak element must have an xml:lang attribute."
    if not voice_elements:
        return "SSML must contain at least one voice element."
    audio_count = sum(1 for element in root.iter() if is_ssml(element, "audio"))
    if len(voice_elements) + audio_count > MAX_VOICE_AND_AUDIO_ELEMENTS:
        return (
            f"SSML may contain at most {MAX_VOICE_AND_AUDIO_ELEMENTS} voice and "
            "audio elements."
        )
    for voice_element in voice_elements:
        name = voice_element.get("name")
        if not name:
            return "A voice element has no name attribute."
        voice = find_voice(name)
        if voice is None:
            return f"Unsupported voice {name}."
        # Background audio sits beside the voices, so it reaches them all.
        if is_hd_voice(str(voice.get("ShortName", name))) and (
            error := _check_hd(name, [*voice_element.iter(), *root])
        ):
            return error
        for element in voice_element.iter():
            if error := _check_element(element, voice, is_ssml):
                return error
    return None


def _check_hd(name: str, elements: list[ET.Element]) -> str | None:
    """Refuse elements that HD voices do not support (refusing is an assumption)."""
    for element in elements:
        namespace, local_name = _split_tag(str(element.tag))
        # Unqualified names count as SSML: stricter when the namespace is required.
        if (namespace or SSML_NAMESPACE, local_name) in HD_UNSUPPORTED:
            prefix = "mstts:" if namespace in MSTTS_NAMESPACES else ""
            return f"HD voice {name} does not support the {prefix}{local_name} element."
    return None


def _check_element(
    element: ET.Element,
    voice: dict[str, Any],
    is_ssml: Callable[[ET.Element, str], bool],
) -> str | None:
    short_name = voice.get("ShortName")
    namespace, local_name = _split_tag(str(element.tag))
    if namespace in MSTTS_NAMESPACES and local_name == "express-as":
        return _check_express_as(element, voice)
    if is_ssml(element, "prosody"):
        for attribute, value in element.attrib.items():
            form = _PROSODY_FORMS.get(attribute)
            if form is None:
                return f"Unsupported prosody attribute {attribute}."
            if not form.fullmatch(value):
                return f"Invalid prosody {attribute} value {value!r}."
            if (
                attribute == "volume"
                and value[:1].isdigit()
                and not value.endswith("%")
                and float(value) > 100
            ):
                return f"Invalid prosody volume value {value!r}."
    elif is_ssml(element, "lang"):
        language = element.get(XML_LANG)
        if not language:
            return "A lang element has no xml:lang attribute."
        allowed = [voice.get("Locale", ""), *voice.get("SecondaryLocaleList", [])]
        if language.lower() not in {locale.lower() for locale in allowed}:
            return f"Voice {short_name} does not speak {language}."
    return None


def _check_express_as(element: ET.Element, voice: dict[str, Any]) -> str | None:
    short_name = voice.get("ShortName")
    style = element.get("style")
    if not style:
        return "mstts:express-as needs a style attribute."
    if style.lower() not in {known.lower() for known in voice.get("StyleList", [])}:
        return f"Voice {short_name} has no style {style}."
    role = element.get("role")
    if role is not None and role.lower() not in {
        known.lower() for known in voice.get("RolePlayList", [])
    }:
        return f"Voice {short_name} has no role {role}."
    degree = element.get("styledegree")
    if degree is not None:
        try:
            value = float(degree)
        except ValueError:
            value = math.nan
        if not 0.01 <= value <= 2:
            return f"styledegree must be between 0.01 and 2, not {degree!r}."
    return None
