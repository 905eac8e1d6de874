"""Diagnostics: useful to support, never the key."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from custom_components.cloud_speech.const import CONF_MONTHLY_ALLOWANCE
from custom_components.cloud_speech.usage_meter import CONF_MONTHLY_AUDIO_ALLOWANCE
from tests.emulator import TEST_KEY, Emulator, Fault

from .conftest import cache_voices


@pytest.mark.usefixtures("init_integration")
@pytest.mark.freeze_time("2026-11-22 12:00:00+00:00")
async def test_diagnostics_show_the_service_without_the_key(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    mock_config_entry: MockConfigEntry,
    snapshot: SnapshotAssertion,
) -> None:
    diagnostics = await get_diagnostics_for_config_entry(
        hass, hass_client, mock_config_entry
    )

    assert diagnostics == snapshot
    assert TEST_KEY not in str(diagnostics)


@pytest.mark.freeze_time("2026-11-22 12:00:00+00:00")
async def test_diagnostics_show_a_failed_voice_list_refresh(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    hass_storage: dict[str, Any],
    mock_config_entry: MockConfigEntry,
    emulator: Emulator,
) -> None:
    cache_voices(hass_storage, mock_config_entry, emulator, age=timedelta(days=2))
    emulator.inject(Fault(target="voices", status=200, body="<html>maintenance</html>"))
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)

    diagnostics = await get_diagnostics_for_config_entry(
        hass, hass_client, mock_config_entry
    )

    assert diagnostics["service"]["voice_count"] == len(emulator.voices)
    assert diagnostics["service"]["voices_fetched_at"] == "2026-11-20T12:00:00+00:00"
    assert diagnostics["service"]["voice_cache_age_seconds"] == 2 * 24 * 3600
    refresh = diagnostics["voice_list_refresh"]
    assert refresh["last_update_success"] is False
    assert refresh["last_exception"].startswith(
        "UpdateFailed: The speech service answered with something it does not document"
    )
    assert diagnostics["last_error"]
    assert TEST_KEY not in str(diagnostics)


@pytest.mark.freeze_time("2026-11-22 12:00:00+00:00")
async def test_diagnostics_show_this_months_usage_and_warnings(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    mock_config_entry: MockConfigEntry,
) -> None:
    mock_config_entry.add_to_hass(hass)
    # Version 2 keeps its options: the account's, no voice in them.
    hass.config_entries.async_update_entry(
        mock_config_entry,
        options={CONF_MONTHLY_ALLOWANCE: 10, CONF_MONTHLY_AUDIO_ALLOWANCE: 0.5},
        version=2,
    )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    ssml = (
        '<speak version="1.0" xmlns="http://www.w3.org/2001/10/synthesis" '
        'xml:lang="zh-CN"><voice name="zh-cn-YunxiNeural">你好。</voice></speak>'
    )
    async for _ in mock_config_entry.runtime_data.client.synthesize(
        ssml, "audio-24khz-48kbitrate-mono-mp3"
    ):
        pass
    mock_config_entry.runtime_data.usage.record_audio(1440.0)

    diagnostics = await get_diagnostics_for_config_entry(
        hass, hass_client, mock_config_entry
    )

    assert diagnostics["usage"] == {
        "month": "2026-11",
        "characters": 5,
        "requests": 1,
        "last_reset": "2026-11-01T00:00:00+00:00",
        "allowance": 10,
        "percent_used": 50.0,
        "warned": [],
        "audio_seconds": 1440.0,
        "recognitions": 1,
        "audio_allowance_hours": 0.5,
        "audio_percent_used": 80.0,
        "audio_warned": [80],
    }
    assert TEST_KEY not in str(diagnostics)
