"""Every form, field, choice and error of the flows has its strings, in every language."""

from __future__ import annotations

import json
from pathlib import Path
import re
from typing import Any

import homeassistant

import custom_components.cloud_speech as integration
from custom_components.cloud_speech.config_flow import (
    CloudSpeechConfigFlow,
    CloudSpeechOptionsFlow,
    VoiceProfileSubentryFlow,
)
from custom_components.cloud_speech.const import (
    DOMAIN,
    OUTPUT_FORMATS,
    SERVICE_AZURE,
    SERVICE_CONVAI,
)
from custom_components.cloud_speech.helpers import NEEDS_STYLE_KEYS
from custom_components.cloud_speech.repairs import AddVoiceProfileRepairFlow
from custom_components.cloud_speech.speech.azure import AuthMode, AzureCloud
from custom_components.cloud_speech.speech.convai import ConvaiEncoding

INTEGRATION_DIR = Path(integration.__file__).parent


def load_json(path: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return result


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat |= flatten(value, f"{prefix}{key}::")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def resolve_references(strings: dict[str, Any]) -> dict[str, str]:
    """strings.json with [%key:…%] references replaced, as HA's build does."""
    common = flatten(
        load_json(Path(homeassistant.__file__).parent / "strings.json")["common"],
        "common::",
    )
    own = flatten(strings, f"component::{DOMAIN}::")
    reference = re.compile(r"\[%key:([^%]+)%\]")

    def resolve(text: str) -> str:
        return reference.sub(lambda match: resolve((common | own)[match[1]]), text)

    return {key: resolve(text) for key, text in flatten(strings).items()}


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", text))


STRINGS = load_json(INTEGRATION_DIR / "strings.json")
EN = flatten(load_json(INTEGRATION_DIR / "translations" / "en.json"))
ZH_HANS = flatten(load_json(INTEGRATION_DIR / "translations" / "zh-Hans.json"))


def test_english_translation_is_strings_json_resolved() -> None:
    assert resolve_references(STRINGS) == EN


def test_chinese_translation_has_every_key_and_placeholder() -> None:
    assert set(ZH_HANS) == set(EN)
    assert {key: placeholders(text) for key, text in ZH_HANS.items()} == {
        key: placeholders(text) for key, text in EN.items()
    }
    # Actually translated, not copied.
    for key in ("config::step::azure::title", "selector::auth_mode::options::token"):
        assert ZH_HANS[key] != EN[key]


def steps_of(flow: type) -> set[str]:
    """The steps a flow defines, its own and those its classes share."""
    return {
        name.removeprefix("async_step_")
        for klass in flow.__mro__
        if klass.__module__.startswith("custom_components.")
        for name in vars(klass)
        if name.startswith("async_step_")
    }


def test_every_form_step_and_field_has_strings() -> None:
    # reauth only opens reauth_confirm
    assert steps_of(CloudSpeechConfigFlow) - {"reauth"} <= set(
        STRINGS["config"]["step"]
    )
    assert steps_of(CloudSpeechOptionsFlow) <= set(STRINGS["options"]["step"])
    profile = STRINGS["config_subentries"]["voice_profile"]
    # Adding and reconfiguring open the profile form.
    assert steps_of(VoiceProfileSubentryFlow) - {"user", "reconfigure"} == set(
        profile["step"]
    )
    assert set(profile["initiate_flow"]) == {"user", "reconfigure"}
    fix_flow = STRINGS["issues"]["no_voice_profile"]["fix_flow"]
    # init only opens the profile form.
    assert steps_of(AddVoiceProfileRepairFlow) - {"init"} == set(fix_flow["step"])
    for step in [
        *STRINGS["config"]["step"].values(),
        *STRINGS["options"]["step"].values(),
        *profile["step"].values(),
        *fix_flow["step"].values(),
    ]:
        for part in [step, *step.get("sections", {}).values()]:
            assert set(part.get("data", {})) == set(part.get("data_description", {}))


def test_every_choice_has_a_label() -> None:
    assert set(STRINGS["config"]["step"]["user"]["menu_options"]) == {
        SERVICE_AZURE,
        SERVICE_CONVAI,
    }
    selectors = STRINGS["selector"]
    assert set(selectors["cloud"]["options"]) == {cloud.value for cloud in AzureCloud}
    assert set(selectors["auth_mode"]["options"]) == {mode.value for mode in AuthMode}
    assert set(selectors["output_format"]["options"]) == set(OUTPUT_FORMATS)
    assert set(selectors["encoding"]["options"]) == {e.value for e in ConvaiEncoding}


def test_every_form_error_the_flows_name_has_a_string() -> None:
    """Errors the flows set themselves; the service's come from helpers.form_errors."""
    source = "".join(
        (INTEGRATION_DIR / name).read_text(encoding="utf-8")
        for name in ("config_flow.py", "credential_forms.py")
    )
    named = set(re.findall(r"\{CONF_\w+: \"([a-z_]+)\"\}", source))

    assert named == {"api_key_required", "token_unsupported", "token_needs_key"}
    assert named <= set(STRINGS["config"]["error"])
    assert set(NEEDS_STYLE_KEYS.values()) <= set(
        STRINGS["config_subentries"]["voice_profile"]["error"]
    )


def test_translations_contain_no_urls() -> None:
    """URLs go in placeholders (hassfest rejects them in strings)."""
    for text in [*EN.values(), *ZH_HANS.values()]:
        assert "://" not in text
