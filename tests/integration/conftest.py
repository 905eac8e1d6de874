"""Fixtures for the Home Assistant side: entries that talk to the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest.mock import patch

import aiohttp
from homeassistant.config_entries import ConfigSubentryDataWithId
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.cloud_speech.const import (
    CONF_CLOUD,
    CONF_LANGUAGE,
    CONF_OUTPUT_FORMAT,
    CONF_PITCH,
    CONF_RATE,
    CONF_REGION,
    CONF_ROLE,
    CONF_SERVICE,
    CONF_STYLE,
    CONF_STYLE_DEGREE,
    CONF_VOICE,
    CONF_VOLUME,
    DOMAIN,
    SERVICE_AZURE,
    SUBENTRY_VOICE_PROFILE,
)
from custom_components.cloud_speech.helpers import unique_id_for
from custom_components.cloud_speech.speech.azure import parse_voice_list
from custom_components.cloud_speech.speech.voices import voice_to_dict
from tests.emulator import TEST_KEY, Emulator

AZURE_CHINA_DATA: dict[str, Any] = {
    CONF_SERVICE: SERVICE_AZURE,
    CONF_CLOUD: "china",
    CONF_REGION: "chinaeast2",
    CONF_API_KEY: TEST_KEY,
}
DEFAULT_OPTIONS: dict[str, Any] = {CONF_VOICE: "zh-cn-YunxiNeural"}
#: profiles_entry's profiles: subentry id → (title, data).
PROFILES: dict[str, tuple[str, dict[str, Any]]] = {
    "kitchen-profile": (
        "Kitchen",
        {
            CONF_VOICE: "zh-cn-YunxiNeural",
            CONF_LANGUAGE: "zh-CN",
            CONF_STYLE: "cheerful",
            CONF_STYLE_DEGREE: 1.5,
        },
    ),
    "boy-profile": (
        "Boy",
        {
            CONF_VOICE: "zh-cn-YunxiNeural",
            CONF_LANGUAGE: "zh-CN",
            CONF_STYLE: "chat",
            CONF_ROLE: "Boy",
            CONF_PITCH: 10,
        },
    ),
    "night-profile": (
        "Night",
        {
            CONF_VOICE: "zh-CN-XiaoxiaoNeural",
            CONF_LANGUAGE: "zh-CN",
            CONF_RATE: -20,
            CONF_VOLUME: -30,
            CONF_OUTPUT_FORMAT: "riff-24khz-16bit-mono-pcm",
        },
    ),
}


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
    """An Azure China (chinaeast2) entry speaking with Yunxi.

    Stored as version 1 did, the voice in its options: every test that sets
    it up also migrates it to a voice profile, and its entity keeps the id
    version 1 gave it (tts_calls.AZURE_ENTITY_ID).
    """
    return MockConfigEntry(
        domain=DOMAIN,
        title="Azure Speech (chinaeast2)",
        data=AZURE_CHINA_DATA,
        options=DEFAULT_OPTIONS,
        unique_id=unique_id_for(AZURE_CHINA_DATA),
        version=1,
    )


@pytest.fixture
def profiles_entry() -> MockConfigEntry:
    """The same Azure China account as this version stores it: three voice profiles.

    A cheerful Yunxi for the kitchen, Yunxi as a boy for the children, and a
    calm, slower Xiaoxiao at night, in another format.
    """
    return MockConfigEntry(
        domain=DOMAIN,
        title="Azure Speech (chinaeast2)",
        data=AZURE_CHINA_DATA,
        unique_id=unique_id_for(AZURE_CHINA_DATA),
        version=2,
        minor_version=1,
        subentries_data=[
            ConfigSubentryDataWithId(
                subentry_id=subentry_id,
                data=profile,
                subentry_type=SUBENTRY_VOICE_PROFILE,
                title=title,
                unique_id=None,
            )
            for subentry_id, (title, profile) in PROFILES.items()
        ],
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


def voice_cache_key(entry: MockConfigEntry) -> str:
    """The Store key of `entry`'s voice cache."""
    return f"{DOMAIN}.voices.{entry.entry_id}"


def cache_voices(
    hass_storage: dict[str, Any],
    entry: MockConfigEntry,
    emulator: Emulator,
    *,
    age: timedelta = timedelta(0),
) -> None:
    """Give `entry` a cache of the emulator's voices, written `age` ago.

    Setup then loads the voices from it without asking the service.
    """
    hass_storage[voice_cache_key(entry)] = {
        "version": 1,
        "key": voice_cache_key(entry),
        "data": {
            "fetched_at": (dt_util.utcnow() - age).isoformat(),
            "voices": [voice_to_dict(v) for v in parse_voice_list(emulator.voices)],
        },
    }
