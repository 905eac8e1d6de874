"""Setting up, keeping the voice list (cache and daily refresh), unloading, removing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
import logging
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.cloud_speech import helpers
from custom_components.cloud_speech.const import CONF_REGION, DOMAIN
from custom_components.cloud_speech.speech.http import Timeouts
from tests.emulator import Emulator, Fault

from .conftest import AZURE_CHINA_DATA, DEFAULT_OPTIONS, cache_voices, voice_cache_key
from .tts_calls import eventually

NEW_VOICE = "zh-CN-BrandNewNeural"
# A silent service is given up on in a fraction of a second.
SHORT_TIMEOUTS = Timeouts(connect=0.3, first_byte=0.3, idle=0.3, total=1.0)
# A body the service never sends: not retried by the client, so no back-off
# sleep has to pass on a frozen clock.
MAINTENANCE_PAGE = Fault(target="voices", status=200, body="<html>maintenance</html>")


async def no_wait(_seconds: float) -> None:
    """Retry at once: the client's back-off is not what these tests are about."""


@pytest.fixture
def short_timeouts() -> Iterator[None]:
    """Build the entries' Azure clients with `SHORT_TIMEOUTS` and no back-off."""
    build = helpers.AzureSpeechClient

    def quick(*args: Any, **kwargs: Any) -> helpers.AzureSpeechClient:
        return build(*args, **{**kwargs, "timeouts": SHORT_TIMEOUTS, "sleep": no_wait})

    with patch.object(helpers, "AzureSpeechClient", quick):
        yield


async def setup_entry(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


async def reload_entry(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)


async def next_day(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    freezer.tick(timedelta(days=1, seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


def cached_at(hass_storage: dict[str, Any], entry: MockConfigEntry) -> datetime:
    return datetime.fromisoformat(
        hass_storage[voice_cache_key(entry)]["data"]["fetched_at"]
    )


def add_voice(emulator: Emulator) -> None:
    emulator.voices.append(
        {**emulator.voices[0], "ShortName": NEW_VOICE, "Locale": "zh-CN"}
    )


def refresh_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "custom_components.cloud_speech.coordinator"
        and record.levelno >= logging.WARNING
    ]


def reauth_sources(hass: HomeAssistant) -> list[str]:
    return [
        flow["context"]["source"] for flow in hass.config_entries.flow.async_progress()
    ]


# --- setup --------------------------------------------------------------------------


async def test_setup_fetches_and_caches_the_voices_and_unload_cleans_up(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    mock_config_entry: MockConfigEntry,
    emulator: Emulator,
) -> None:
    await setup_entry(hass, mock_config_entry)

    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert len(mock_config_entry.runtime_data.voices) == len(emulator.voices)
    [request] = emulator.requests_for("voices")
    assert request.host == "chinaeast2.tts.speech.azure.cn"
    cached = hass_storage[voice_cache_key(mock_config_entry)]["data"]["voices"]
    assert len(cached) == len(emulator.voices)

    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.NOT_LOADED


@pytest.mark.usefixtures("short_timeouts")
@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (Fault(target="voices", status=503, times=10), "cannot_connect"),
        (
            Fault(target="voices", status=200, body="<html>proxy error</html>"),
            "unexpected_response",
        ),
        (Fault(target="voices", status=200, body="[]"), "unexpected_response"),
        (Fault(target="voices", hang=True, times=10), "cannot_connect"),
    ],
    ids=["service_unavailable", "garbage", "empty_list", "timeout"],
)
async def test_setup_without_cache_is_retried_when_the_service_fails(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    mock_config_entry: MockConfigEntry,
    emulator: Emulator,
    *,
    fault: Fault,
    reason: str,
) -> None:
    emulator.inject(fault)

    await setup_entry(hass, mock_config_entry)

    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY
    assert mock_config_entry.error_reason_translation_key == reason
    assert voice_cache_key(mock_config_entry) not in hass_storage


async def test_rejected_key_at_setup_starts_reauth(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, emulator: Emulator
) -> None:
    emulator.keys.clear()

    await setup_entry(hass, mock_config_entry)

    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR
    assert mock_config_entry.error_reason_translation_key == "invalid_auth"
    assert reauth_sources(hass) == [SOURCE_REAUTH]


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


async def test_setup_with_a_cache_does_not_need_the_service(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    mock_config_entry: MockConfigEntry,
    emulator: Emulator,
) -> None:
    cache_voices(hass_storage, mock_config_entry, emulator, age=timedelta(hours=23))
    emulator.inject(Fault(target="any", status=503, times=100))

    await setup_entry(hass, mock_config_entry)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert len(mock_config_entry.runtime_data.voices) == len(emulator.voices)
    assert emulator.requests_for("voices") == []


async def test_reload_uses_the_cache_when_the_service_is_down(
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
    hass_storage: dict[str, Any],
    mock_config_entry: MockConfigEntry,
    emulator: Emulator,
) -> None:
    cache_voices(hass_storage, mock_config_entry, emulator, age=timedelta(days=2))
    add_voice(emulator)

    await setup_entry(hass, mock_config_entry)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert mock_config_entry.runtime_data.voices.get(NEW_VOICE)
    assert dt_util.utcnow() - cached_at(hass_storage, mock_config_entry) < timedelta(
        minutes=1
    )
    assert len(
        hass_storage[voice_cache_key(mock_config_entry)]["data"]["voices"]
    ) == len(emulator.voices)


async def test_setup_with_a_stale_cache_does_not_wait_for_the_service(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    mock_config_entry: MockConfigEntry,
    emulator: Emulator,
) -> None:
    cache_voices(hass_storage, mock_config_entry, emulator, age=timedelta(days=2))
    emulator.inject(Fault(target="voices", hang=True))

    await setup_entry(hass, mock_config_entry)

    assert mock_config_entry.state is ConfigEntryState.LOADED
    await emulator.wait_for_requests("voices")
    assert emulator.open_requests == 1
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await eventually(lambda: emulator.open_requests == 0)


async def test_stale_cache_and_service_down_keeps_the_cached_voices(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    mock_config_entry: MockConfigEntry,
    emulator: Emulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cache_voices(hass_storage, mock_config_entry, emulator, age=timedelta(days=2))
    written = cached_at(hass_storage, mock_config_entry)
    emulator.inject(MAINTENANCE_PAGE)

    await setup_entry(hass, mock_config_entry)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert len(emulator.requests_for("voices")) == 1
    data = mock_config_entry.runtime_data
    assert len(data.voices) == len(emulator.voices)
    assert data.last_error
    assert not data.coordinator.last_update_success
    assert cached_at(hass_storage, mock_config_entry) == written
    [message] = refresh_errors(caplog)
    assert "voice list" in message
    assert "answered with something it does not document" in message


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
    hass_storage[voice_cache_key(mock_config_entry)] = {
        "version": 1,
        "key": voice_cache_key(mock_config_entry),
        "data": stored,
    }

    await setup_entry(hass, mock_config_entry)

    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert len(emulator.requests_for("voices")) == 1


# --- the daily refresh --------------------------------------------------------------


async def test_voice_list_is_refreshed_daily_and_cached(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    mock_config_entry: MockConfigEntry,
    emulator: Emulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    await setup_entry(hass, mock_config_entry)
    add_voice(emulator)

    await next_day(hass, freezer)

    assert len(emulator.requests_for("voices")) == 2
    assert mock_config_entry.runtime_data.voices.get(NEW_VOICE)
    assert cached_at(hass_storage, mock_config_entry) == dt_util.utcnow()
    cached = hass_storage[voice_cache_key(mock_config_entry)]["data"]["voices"]
    assert NEW_VOICE in {voice["short_name"] for voice in cached}

    await next_day(hass, freezer)

    assert len(emulator.requests_for("voices")) == 3


async def test_nothing_is_fetched_before_a_day_has_passed(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    emulator: Emulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    await setup_entry(hass, mock_config_entry)

    freezer.tick(timedelta(hours=23))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert len(emulator.requests_for("voices")) == 1


async def test_failing_daily_refresh_keeps_the_voices_and_logs_once(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    mock_config_entry: MockConfigEntry,
    emulator: Emulator,
    *,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await setup_entry(hass, mock_config_entry)
    written = cached_at(hass_storage, mock_config_entry)
    voice_count = len(emulator.voices)
    add_voice(emulator)
    emulator.inject(Fault(target="voices", status=200, body="[]", times=2))

    await next_day(hass, freezer)
    await next_day(hass, freezer)

    assert len(emulator.requests_for("voices")) == 3
    data = mock_config_entry.runtime_data
    assert len(data.voices) == voice_count
    assert not data.coordinator.last_update_success
    assert data.last_error
    assert cached_at(hass_storage, mock_config_entry) == written
    assert len(refresh_errors(caplog)) == 1

    await next_day(hass, freezer)

    assert data.voices.get(NEW_VOICE)
    assert data.coordinator.last_update_success
    assert data.last_error is None
    assert "voice list data recovered" in caplog.text


async def test_rate_limited_refresh_is_tried_again_when_the_service_asks(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    emulator: Emulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    await setup_entry(hass, mock_config_entry)
    # Longer than the client waits by itself: the refresh fails at once.
    emulator.inject(Fault(target="voices", status=429, headers={"Retry-After": "600"}))
    await next_day(hass, freezer)
    assert len(emulator.requests_for("voices")) == 2

    freezer.tick(timedelta(seconds=601))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert len(emulator.requests_for("voices")) == 3
    assert mock_config_entry.runtime_data.coordinator.last_update_success


async def test_key_revoked_during_daily_refresh_starts_reauth_and_stops_polling(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    emulator: Emulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    await setup_entry(hass, mock_config_entry)
    emulator.keys.clear()

    await next_day(hass, freezer)

    assert reauth_sources(hass) == [SOURCE_REAUTH]
    assert len(mock_config_entry.runtime_data.voices) == len(emulator.voices)
    # A rejected key stays rejected until reauth reloads the entry.
    await next_day(hass, freezer)
    assert len(emulator.requests_for("voices")) == 2


async def test_a_successful_refresh_clears_the_last_error(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    emulator: Emulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    await setup_entry(hass, mock_config_entry)
    mock_config_entry.runtime_data.last_error = "an old outage"

    await next_day(hass, freezer)

    assert mock_config_entry.runtime_data.last_error is None


# --- unloading and removing ---------------------------------------------------------


async def test_unloading_stops_the_daily_refresh(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    emulator: Emulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    await setup_entry(hass, mock_config_entry)

    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await next_day(hass, freezer)
    await next_day(hass, freezer)

    assert len(emulator.requests_for("voices")) == 1


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


async def test_removing_the_entry_forgets_its_cached_voices(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    mock_config_entry: MockConfigEntry,
) -> None:
    await setup_entry(hass, mock_config_entry)
    assert voice_cache_key(mock_config_entry) in hass_storage

    await hass.config_entries.async_remove(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    assert voice_cache_key(mock_config_entry) not in hass_storage
