"""Fixtures for the Home Assistant side: entries that talk to the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest.mock import patch

import aiohttp
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.cloud_speech.const import (
    CONF_CLOUD,
    CONF_REGION,
    CONF_SERVICE,
    CONF_VOICE,
    DOMAIN,
    SERVICE_AZURE,
)
from custom_components.cloud_speech.helpers import unique_id_for
from tests.emulator import TEST_KEY

AZURE_CHINA_DATA: dict[str, Any] = {
    CONF_SERVICE: SERVICE_AZURE,
    CONF_CLOUD: "china",
    CONF_REGION: "chinaeast2",
    CONF_API_KEY: TEST_KEY,
}
DEFAULT_OPTIONS: dict[str, Any] = {CONF_VOICE: "zh-cn-YunxiNeural"}


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/cloud_speech."""


@pytest.fixture(autouse=True)
def tts_cache_dir(tmp_path: Path) -> Iterator[Path]:
    """Give each test its own TTS file cache (HA's default lives in a shared folder)."""
    with patch("homeassistant.components.tts.DEFAULT_CACHE_DIR", str(tmp_path)):
        yield tmp_path


@pytest.fixture(autouse=True)
def route_to_emulator(emulator_session: aiohttp.ClientSession) -> Iterator[None]:
    """Send every request the integration makes to the emulator.

    Only Home Assistant's session factory is replaced: our clients, URLs and
    error handling run for real against the emulator's Azure hosts.
    """
    with patch(
        "custom_components.cloud_speech.helpers.async_get_clientsession",
        return_value=emulator_session,
    ):
        yield


@pytest.fixture
def mock_config_entry() -> MockConfigEntry:
    """An Azure China (chinaeast2) entry speaking with Yunxi."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Azure Speech (chinaeast2)",
        data=AZURE_CHINA_DATA,
        options=DEFAULT_OPTIONS,
        unique_id=unique_id_for(AZURE_CHINA_DATA),
    )


@pytest.fixture
async def init_integration(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> MockConfigEntry:
    """Set up the integration with `mock_config_entry`."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    return mock_config_entry
