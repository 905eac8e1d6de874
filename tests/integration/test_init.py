"""Setting up, caching voices, unloading and removing entries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.cloud_speech.const import CONF_REGION, DOMAIN
from tests.emulator import Emulator, Fault

from .conftest import AZURE_CHINA_DATA, DEFAULT_OPTIONS
from .tts_calls import eventually


async def setup_entry(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


async def reload_entry(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_setup_fetches_voices_and_unload_cleans_up(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, emulator: Emulator
) -> None:
    await setup_entry(hass, mock_config_entry)

    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert len(mock_config_entry.runtime_data.voices) == len(emulator.voices)
    [request] = emulator.requests_for("voices")
    assert request.host == "chinaeast2.tts.speech.azure.cn"

    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.NOT_LOADED


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (Fault(target="voices", status=503, times=10), "cannot_connect"),
        (
            Fault(target="voices", status=200, body="<html>proxy error</html>"),
            "unexpected_response",
        ),
        (Fault(target="voices", status=200, body="[]"), "unexpected_response"),
    ],
    ids=["service_unavailable", "garbage", "empty_list"],
)
async def test_setup_without_cache_and_service_is_retried_later(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    emulator: Emulator,
    fault: Fault,
    reason: str,
) -> None:
    emulator.inject(fault)

    await setup_entry(hass, mock_config_entry)

    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY
    assert mock_config_entry.error_reason_translation_key == reason


async def test_rejected_key_at_setup_starts_reauth(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, emulator: Emulator
) -> None:
    emulator.keys.clear()

    await setup_entry(hass, mock_config_entry)

    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress()
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]


async def test_stored_region_that_no_longer_exists_is_a_setup_error(
    hass: HomeAssistant,
) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        data={**AZURE_CHINA_DATA, CONF_REGION: "atlantis"},
        options=DEFAULT_OPTIONS,
    )

    await setup_entry(hass, entry)

    assert entry.state is ConfigEntryState.SETUP_ERROR


async def test_setup_uses_the_cache_when_the_service_is_down(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, emulator: Emulator
) -> None:
    await setup_entry(hass, mock_config_entry)
    emulator.inject(Fault(target="voices", status=503, times=100))

    await reload_entry(hass, mock_config_entry)

    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert len(mock_config_entry.runtime_data.voices) == len(emulator.voices)
    # A fresh cache is trusted: no request at all on the reload.
    assert len(emulator.requests_for("voices")) == 1


async def test_stale_cache_is_refreshed_in_the_background(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    emulator: Emulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    await setup_entry(hass, mock_config_entry)
    emulator.voices.append(
        {**emulator.voices[0], "ShortName": "zh-CN-BrandNewNeural", "Locale": "zh-CN"}
    )
    freezer.tick(timedelta(days=2))

    await reload_entry(hass, mock_config_entry)

    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert mock_config_entry.runtime_data.voices.get("zh-CN-BrandNewNeural")


async def test_stale_cache_and_service_down_keeps_the_cached_voices(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    emulator: Emulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    await setup_entry(hass, mock_config_entry)
    # Not a retried status: retry back-off sleeps would wait on the frozen clock.
    emulator.inject(Fault(target="voices", status=200, body="<html>maintenance</html>"))
    freezer.tick(timedelta(days=2))

    await reload_entry(hass, mock_config_entry)

    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert len(mock_config_entry.runtime_data.voices) == len(emulator.voices)
    assert mock_config_entry.runtime_data.last_error


async def test_voice_list_is_refreshed_daily(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    emulator: Emulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    await setup_entry(hass, mock_config_entry)

    freezer.tick(timedelta(days=1, seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert len(emulator.requests_for("voices")) == 2


async def test_key_revoked_during_daily_refresh_starts_reauth(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    emulator: Emulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    await setup_entry(hass, mock_config_entry)
    emulator.keys.clear()

    freezer.tick(timedelta(days=1, seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)

    flows = hass.config_entries.flow.async_progress()
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]


@pytest.mark.parametrize(
    "stored",
    [
        {"fetched_at": "yesterday", "voices": []},
        {"fetched_at": "2026-11-22T00:00:00+00:00", "voices": [{"nope": 1}]},
        {"fetched_at": "2026-11-22T00:00:00+00:00", "voices": []},
    ],
)
async def test_unreadable_cache_is_ignored(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    mock_config_entry: MockConfigEntry,
    emulator: Emulator,
    stored: dict[str, Any],
) -> None:
    hass_storage[f"{DOMAIN}.voices.{mock_config_entry.entry_id}"] = {
        "version": 1,
        "key": f"{DOMAIN}.voices.{mock_config_entry.entry_id}",
        "data": stored,
    }

    await setup_entry(hass, mock_config_entry)

    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert len(emulator.requests_for("voices")) == 1


async def test_removing_the_entry_forgets_its_cached_voices(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    mock_config_entry: MockConfigEntry,
) -> None:
    await setup_entry(hass, mock_config_entry)
    key = f"{DOMAIN}.voices.{mock_config_entry.entry_id}"
    await hass.async_block_till_done()
    assert key in hass_storage

    await hass.config_entries.async_remove(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    assert key not in hass_storage


async def test_unloading_cancels_a_daily_refresh_in_flight(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, emulator: Emulator
) -> None:
    await setup_entry(hass, mock_config_entry)
    emulator.inject(Fault(target="voices", hang=True))
    # Real time keeps running (no frozen clock): connections must be able to close.
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(days=1, seconds=1))
    await emulator.wait_for_requests("voices", count=2)

    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)

    # The refresh was cancelled: its connection is gone, nothing waits on it.
    await eventually(lambda: emulator.open_requests == 0)


async def test_a_successful_refresh_clears_the_last_error(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    emulator: Emulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    await setup_entry(hass, mock_config_entry)
    mock_config_entry.runtime_data.last_error = "an old outage"

    freezer.tick(timedelta(days=1, seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert mock_config_entry.runtime_data.last_error is None
