"""The files HACS and Home Assistant read agree with each other and with the code."""

from __future__ import annotations

from importlib.metadata import version
import json
from pathlib import Path
import tomllib

from homeassistant import components as core_components
from packaging.requirements import Requirement

from custom_components.cloud_speech.speech import __version__

ROOT = Path(__file__).parent.parent
INTEGRATION = ROOT / "custom_components" / "cloud_speech"


def load_json(path: Path) -> dict[str, object]:
    return json.loads(path.read_text(encoding="utf-8"))


def test_manifest_keys_are_ordered_as_hassfest_wants() -> None:
    keys = list(load_json(INTEGRATION / "manifest.json"))

    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])


def test_versions_agree() -> None:
    manifest = load_json(INTEGRATION / "manifest.json")
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))

    assert manifest["version"] == __version__ == pyproject["project"]["version"]


def test_the_only_requirement_fits_the_pin_of_home_assistants_elevenlabs() -> None:
    """A range, not a pin of our own: it must never fight another integration's."""
    manifest = load_json(INTEGRATION / "manifest.json")
    (requirement,) = (Requirement(text) for text in manifest["requirements"])  # type: ignore[attr-defined]
    elevenlabs = load_json(
        Path(core_components.__file__).parent / "elevenlabs" / "manifest.json"
    )
    (pinned,) = (
        Requirement(text)
        for text in elevenlabs["requirements"]  # type: ignore[attr-defined]
        if text.startswith("sentence-stream")
    )

    assert requirement.name == "sentence-stream"
    assert not requirement.specifier.contains("1.2.9")
    for pin in pinned.specifier:
        assert requirement.specifier.contains(pin.version)
    assert requirement.specifier.contains(version("sentence-stream"))


def test_hacs_knows_the_integration() -> None:
    hacs = load_json(ROOT / "hacs.json")

    assert hacs["name"] == load_json(INTEGRATION / "manifest.json")["name"]
    assert hacs["render_readme"] is True
    assert str(hacs["homeassistant"]).startswith("2026.")
    # The minimum HACS enforces is the release the whole suite runs against.
    assert hacs["homeassistant"] == version("homeassistant")
