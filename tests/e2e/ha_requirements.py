"""Print the requirements a real `hass` of the end-to-end tests would install.

    /opt/venv-latest/bin/python -m tests.e2e.ha_requirements

Run with the Python of the venv whose Home Assistant is examined (it reads
that package's own constants and manifests; nothing is started). scripts/setup
installs the output into the latest release's venv, so that `hass --skip-pip`
finds every package it imports, and a new release brings its own list.

The integrations are those Home Assistant sets up for the tests'
configuration (tests/e2e/harness.py): the configuration's keys, the core and
default integrations of `homeassistant.bootstrap`, the platforms `demo` sets up,
and the dependencies of the tests' custom integrations. Their requirements are
collected the way `homeassistant.requirements` does at startup: through
`dependencies` and `after_dependencies`, and the discovery integrations that a
manifest's discovery keys (zeroconf, usb, ...) pull in.
"""

from __future__ import annotations

from collections.abc import Iterable
import json
from pathlib import Path
import sys
from typing import Any

from homeassistant import bootstrap, requirements
import homeassistant.components
from homeassistant.components import demo

from .harness import INTEGRATION_DIR, STREAMING_AGENT_DIR, configured_domains

COMPONENTS_DIR = Path(homeassistant.components.__file__).parent


def _manifest(domain: str) -> dict[str, Any] | None:
    path = COMPONENTS_DIR / domain / "manifest.json"
    return json.loads(path.read_text()) if path.exists() else None


def loaded_domains() -> set[str]:
    """The built-in integrations the tests' hass sets up by name."""
    custom_dependencies = {
        dependency
        for directory in (INTEGRATION_DIR, STREAMING_AGENT_DIR)
        for dependency in json.loads((directory / "manifest.json").read_text())[
            "dependencies"
        ]
    }
    return (
        configured_domains()
        | set(bootstrap.CORE_INTEGRATIONS)
        | set(bootstrap.DEFAULT_INTEGRATIONS)
        | {
            str(platform)
            for platform in demo.COMPONENTS_WITH_CONFIG_ENTRY_DEMO_PLATFORM
        }
        | {str(platform) for platform in demo.COMPONENTS_WITH_DEMO_PLATFORM}
        | custom_dependencies
    )


def collect(domains: Iterable[str]) -> tuple[list[str], list[str]]:
    """Requirements (sorted, unique) and the integrations they came from."""
    pending = list(domains)
    seen: set[str] = set()
    found: set[str] = set()
    while pending:
        domain = pending.pop()
        if domain in seen:
            continue
        seen.add(domain)
        manifest = _manifest(domain)
        if manifest is None:
            continue  # not built in (a custom integration's own name), or gone
        found.update(manifest.get("requirements", []))
        pending += manifest.get("dependencies", [])
        pending += manifest.get("after_dependencies", [])
        pending += [
            discovery
            for discovery, keys in requirements.DISCOVERY_INTEGRATIONS.items()
            if any(key in manifest for key in keys)
        ]
    return sorted(found, key=str.lower), sorted(seen)


def main() -> None:
    """Print one requirement per line."""
    found, seen = collect(loaded_domains())
    sys.stderr.write(f"# {len(seen)} integrations: {' '.join(seen)}\n")
    sys.stdout.write("".join(f"{requirement}\n" for requirement in found))


if __name__ == "__main__":
    main()
