"""Every message the integration can show has a string, in every language."""

from __future__ import annotations

import json
from pathlib import Path
import re
import string

import pytest

from custom_components.cloud_speech import helpers
from custom_components.cloud_speech.helpers import (
    FORM_ERROR_KEYS,
    form_errors,
    translate_error,
)
from custom_components.cloud_speech.speech import errors
from custom_components.cloud_speech.speech.errors import (
    InvalidRequestError,
    NotOfferedError,
    SpeechError,
    StyleRequiredError,
    UnknownVoiceError,
    UnsupportedByVoiceError,
)
from custom_components.cloud_speech.speech.models import Gender, Voice

INTEGRATION = Path(helpers.__file__).parent
STRING_FILES = [
    INTEGRATION / "strings.json",
    *sorted((INTEGRATION / "translations").glob("*.json")),
]
YUNXI = Voice("zh-cn-YunxiNeural", "Yunxi", "zh-cn", Gender.MALE, styles=("sad",))


def exception_messages(path: Path) -> dict[str, str]:
    strings = json.loads(path.read_text(encoding="utf-8"))
    return {key: value["message"] for key, value in strings["exceptions"].items()}


def placeholders(message: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(message) if name}


def all_subclasses(kind: type[SpeechError]) -> list[type[SpeechError]]:
    found = [kind]
    for subclass in kind.__subclasses__():
        found += all_subclasses(subclass)
    return found


def example(kind: type[SpeechError]) -> list[SpeechError]:
    """Instances of an error class, one for each way it is raised."""
    if kind is UnknownVoiceError:
        return [UnknownVoiceError("unknown", "en-US-X", ("en-US-JennyNeural",))]
    if kind is NotOfferedError:
        return [NotOfferedError("no speech to text", host="speech.lan:5000")]
    if kind is UnsupportedByVoiceError:
        return [
            UnsupportedByVoiceError("hd", field, "en-US-Ava:DragonHDLatestNeural")
            for field in ("rate", "break")
        ]
    if kind is StyleRequiredError:
        return [
            StyleRequiredError("needs", field) for field in helpers.NEEDS_STYLE_KEYS
        ]
    if issubclass(kind, InvalidRequestError):
        return [kind("invalid", field, "x") for field in raised_fields()]
    return [kind("failed")]


def raised_fields() -> set[str]:
    """Every field name the speech package raises an InvalidRequestError with."""
    source = "".join(
        path.read_text(encoding="utf-8")
        for path in (INTEGRATION / "speech").glob("*.py")
    )
    return set(re.findall(r"\bfield=\"([a-z_]+)\"", source)) | set(
        re.findall(r"_invalid_value\(\s*\"([a-z_]+)\"", source)
    )


CASES = [
    error for kind in all_subclasses(errors.SpeechError) for error in example(kind)
]


@pytest.mark.parametrize("path", STRING_FILES, ids=lambda path: path.name)
@pytest.mark.parametrize("error", CASES, ids=lambda err: f"{type(err).__name__}")
def test_every_speech_error_has_a_translated_message_with_its_placeholders(
    path: Path, error: SpeechError
) -> None:
    translation = translate_error(error, YUNXI)
    messages = exception_messages(path)

    assert translation.key in messages
    assert placeholders(messages[translation.key]) <= set(translation.placeholders)


@pytest.mark.parametrize("path", STRING_FILES, ids=lambda path: path.name)
def test_every_static_key_the_code_names_has_a_message(path: Path) -> None:
    """Keys raised without translate_error, named in the code as literals."""
    source = "".join(
        path_.read_text(encoding="utf-8") for path_ in INTEGRATION.glob("*.py")
    )
    named = set(re.findall(r"(?:translation_key=|Translation\()\"([a-z_]+)\"", source))
    messages = exception_messages(path)
    # Entity descriptions name their entity's strings, and repair issues
    # their issue's, not an exception's.
    strings = json.loads(path.read_text(encoding="utf-8"))
    entity_keys = {key for platform in strings["entity"].values() for key in platform}

    assert named
    assert named - entity_keys - set(strings["issues"]) <= set(messages)


@pytest.mark.parametrize("path", STRING_FILES, ids=lambda path: path.name)
def test_every_form_error_has_a_string(path: Path) -> None:
    config_errors = json.loads(path.read_text(encoding="utf-8"))["config"]["error"]
    keys = {key for error in CASES for key in form_errors(error).values()} | set(
        FORM_ERROR_KEYS.values()
    )

    assert keys <= set(config_errors)


def test_the_speech_package_raises_fields_the_table_knows() -> None:
    """A new field needs a choice: its own message, or the generic invalid_option."""
    handled = (
        set(helpers.INVALID_FIELD_KEYS)
        | set(helpers.NEEDS_STYLE_KEYS)
        # Entry data, reported by setup (invalid_config) or the form.
        | {"api_key", "endpoint", "region", "cloud", "auth_mode", "user_agent"}
        # Formats come from Home Assistant's preferred options, named as such.
        | {"output_format", "encoding"}
    )

    assert raised_fields() <= handled


@pytest.mark.parametrize("path", STRING_FILES, ids=lambda path: path.name)
def test_usage_sensors_and_allowance_issues_have_strings(path: Path) -> None:
    strings = json.loads(path.read_text(encoding="utf-8"))
    sensors = strings["entity"]["sensor"]
    issues = strings["issues"]
    placeholders_given = {
        "entry_title",
        "characters",
        "allowance",
        "percent",
        "month",
        "next_month",
        "portal_url",
    }

    for key in ("characters", "requests", "allowance_used"):
        assert sensors[key]["name"]
    assert sensors["characters"]["unit_of_measurement"]
    assert sensors["requests"]["unit_of_measurement"]
    for key in ("allowance_80", "allowance_100"):
        text = issues[key]["title"] + issues[key]["description"]
        assert placeholders(text) <= placeholders_given
        assert "S0" in text
    assert strings["options"]["step"]["init"]["data"]["monthly_allowance"]


@pytest.mark.parametrize("path", STRING_FILES, ids=lambda path: path.name)
def test_audio_sensors_and_audio_allowance_issues_have_strings(path: Path) -> None:
    strings = json.loads(path.read_text(encoding="utf-8"))
    sensors = strings["entity"]["sensor"]
    issues = strings["issues"]
    # What the usage meter gives an audio allowance issue.
    placeholders_given = {
        "entry_title",
        "hours",
        "allowance",
        "percent",
        "month",
        "next_month",
        "portal_url",
    }

    for key in ("audio", "recognitions", "audio_allowance_used"):
        assert sensors[key]["name"]
    # The audio sensor is a duration: Home Assistant names its unit.
    assert "unit_of_measurement" not in sensors["audio"]
    assert sensors["recognitions"]["unit_of_measurement"]
    for key in ("audio_allowance_80", "audio_allowance_100"):
        text = issues[key]["title"] + issues[key]["description"]
        assert placeholders(text) <= placeholders_given
        assert "{hours}" in text
        assert "S0" in text
    assert strings["options"]["step"]["init"]["data"]["monthly_audio_allowance"]
