"""The usage meter: what an account used this month, counted as the service bills it.

Requests go through the entry's own client (built by the integration, with the
meter wired in) to the emulator, so only what the service accepted is counted.
Speech-to-text audio is recorded on the entry's meter as the recognizer
reports it: seconds of audio sent, which is what Azure bills.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.sensor import ATTR_LAST_RESET, ATTR_STATE_CLASS
from homeassistant.const import (
    ATTR_DEVICE_CLASS,
    ATTR_UNIT_OF_MEASUREMENT,
    CONF_API_KEY,
)
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.cloud_speech.const import (
    CONF_MONTHLY_ALLOWANCE,
    CONF_SERVICE,
    DOMAIN,
    SERVICE_CONVAI,
)
from custom_components.cloud_speech.helpers import unique_id_for
from custom_components.cloud_speech.speech.errors import (
    SpeechBadRequestError,
    SpeechError,
)
from custom_components.cloud_speech.speech.usage import billable_characters
from custom_components.cloud_speech.usage_meter import (
    CONF_MONTHLY_AUDIO_ALLOWANCE,
    SAVE_DELAY_SECONDS,
    Measure,
    allowance_issue_id,
    storage_key,
)
from tests.emulator import CONVAI_TEST_KEY, Emulator, Fault

from . import tts_calls
from .conftest import AZURE_CHINA_DATA

CHARACTERS = "sensor.azure_speech_chinaeast2_billable_characters_this_month"
REQUESTS = "sensor.azure_speech_chinaeast2_synthesis_requests_this_month"
ALLOWANCE_USED = "sensor.azure_speech_chinaeast2_monthly_allowance_used"
AUDIO = "sensor.azure_speech_chinaeast2_speech_to_text_audio_this_month"
RECOGNITIONS = "sensor.azure_speech_chinaeast2_speech_to_text_requests_this_month"
AUDIO_ALLOWANCE_USED = "sensor.azure_speech_chinaeast2_monthly_audio_allowance_used"
MP3 = "audio-24khz-48kbitrate-mono-mp3"
NOVEMBER = "2026-11-20T12:00:00+00:00"


def ssml(inner: str) -> str:
    """A document whose speak and voice tags Azure does not bill."""
    return (
        '<speak version="1.0" xmlns="http://www.w3.org/2001/10/synthesis" '
        f'xml:lang="zh-CN"><voice name="zh-cn-YunxiNeural">{inner}</voice></speak>'
    )


async def synthesize(entry: MockConfigEntry, document: str) -> None:
    """One synthesis request through the entry's client, read to its end."""
    client = entry.runtime_data.client
    async for _ in client.synthesize(document, MP3):
        pass


def state(hass: HomeAssistant, entity_id: str) -> str:
    current = hass.states.get(entity_id)
    assert current is not None, entity_id
    return current.state


def hear(entry: MockConfigEntry, seconds: float) -> None:
    """One speech-to-text request of `seconds` of audio, as the recognizer reports it."""
    entry.runtime_data.usage.record_audio(seconds)


def stored(
    month: str,
    characters: int,
    requests: int,
    warned: list[int] | None = None,
    *,
    audio_seconds: float = 0.0,
    recognitions: int = 0,
    audio_warned: list[int] | None = None,
) -> dict[str, Any]:
    return {
        "month": month,
        "characters": characters,
        "requests": requests,
        "audio_seconds": audio_seconds,
        "recognitions": recognitions,
        "warned": warned or [],
        "audio_warned": audio_warned or [],
    }


def allowance_entry(
    allowance: int | None = None, *, audio_hours: float | None = None
) -> MockConfigEntry:
    options: dict[str, Any] = {}
    if allowance is not None:
        options[CONF_MONTHLY_ALLOWANCE] = allowance
    if audio_hours is not None:
        options[CONF_MONTHLY_AUDIO_ALLOWANCE] = audio_hours
    return MockConfigEntry(
        domain=DOMAIN,
        title="Azure Speech (chinaeast2)",
        data=AZURE_CHINA_DATA,
        options=options,
        unique_id=unique_id_for(AZURE_CHINA_DATA),
        version=2,
    )


def convai_entry() -> MockConfigEntry:
    data = {CONF_SERVICE: SERVICE_CONVAI, CONF_API_KEY: CONVAI_TEST_KEY}
    return MockConfigEntry(
        domain=DOMAIN, title="Convai", data=data, unique_id=unique_id_for(data)
    )


async def set_up(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


@pytest.fixture(autouse=True)
def november(freezer: FrozenDateTimeFactory) -> FrozenDateTimeFactory:
    freezer.move_to(NOVEMBER)
    return freezer


# --- what counts -------------------------------------------------------------


@pytest.mark.usefixtures("init_integration")
async def test_sensors_start_at_zero_for_the_month_in_utc(hass: HomeAssistant) -> None:
    for entity_id, unit in ((CHARACTERS, "characters"), (REQUESTS, "requests")):
        sensor = hass.states.get(entity_id)
        assert sensor is not None
        assert sensor.state == "0"
        assert sensor.attributes[ATTR_STATE_CLASS] == "total"
        assert sensor.attributes[ATTR_LAST_RESET] == "2026-11-01T00:00:00+00:00"
        assert sensor.attributes[ATTR_UNIT_OF_MEASUREMENT] == unit
    # No allowance, no percentage.
    assert hass.states.get(ALLOWANCE_USED) is None


async def test_ascii_text_counts_every_character_but_the_speak_and_voice_tags(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    await synthesize(init_integration, ssml("Hello, world."))

    assert state(hass, CHARACTERS) == "13"
    assert state(hass, REQUESTS) == "1"


async def test_each_chinese_character_counts_twice_kana_once(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    # 你好 and 世界: 2 each; the comma and the full stop: 1 each; kana: 1 each.
    await synthesize(init_integration, ssml("你好，世界。こんにちは"))

    assert state(hass, CHARACTERS) == str(4 + 1 + 4 + 1 + 5)


async def test_markup_inside_the_voice_counts_as_written(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    inner = '<prosody rate="+10%">Hi</prosody><break time="100ms"/>'
    await synthesize(init_integration, ssml(inner))

    assert state(hass, CHARACTERS) == str(len(inner))


async def test_each_request_counts_and_the_counts_add_up(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    await synthesize(init_integration, ssml("One."))
    await synthesize(init_integration, ssml("Two."))

    assert state(hass, CHARACTERS) == "8"
    assert state(hass, REQUESTS) == "2"


async def test_a_refused_request_is_not_counted(
    hass: HomeAssistant, init_integration: MockConfigEntry, emulator: Emulator
) -> None:
    emulator.inject(Fault(status=400))
    with pytest.raises(SpeechBadRequestError):
        await synthesize(init_integration, ssml("Refused."))

    assert state(hass, CHARACTERS) == "0"
    assert state(hass, REQUESTS) == "0"


async def test_a_rate_limited_request_counts_once_when_its_retry_is_accepted(
    hass: HomeAssistant, init_integration: MockConfigEntry, emulator: Emulator
) -> None:
    emulator.inject(Fault(status=429, headers={"Retry-After": "0"}))

    await synthesize(init_integration, ssml("Later."))

    assert [r.status for r in emulator.requests_for("synthesis")] == [429, 200]
    assert state(hass, REQUESTS) == "1"
    assert state(hass, CHARACTERS) == "6"


async def test_convai_counts_each_character_of_the_transcript_once(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    data = {CONF_SERVICE: SERVICE_CONVAI, CONF_API_KEY: CONVAI_TEST_KEY}
    entry = MockConfigEntry(
        domain=DOMAIN, title="Convai", data=data, unique_id=unique_id_for(data)
    )
    await set_up(hass, entry)
    client = entry.runtime_data.client

    async for _ in client.synthesize("Hello 你好.", "en-US-JennyNeural"):
        pass
    # Convai's HTTP 200 carrying a JSON error is a refusal.
    emulator.inject(
        Fault(target="convai_synthesis", status=200, body='{"ERROR": "busy"}')
    )
    with pytest.raises(SpeechError):
        async for _ in client.synthesize("Refused.", "en-US-JennyNeural"):
            pass

    assert state(hass, "sensor.convai_billable_characters_this_month") == "9"
    assert state(hass, "sensor.convai_synthesis_requests_this_month") == "1"


# --- where the sensors live ----------------------------------------------------


async def test_sensors_belong_to_an_account_device_of_their_own(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    device = device_registry.async_get_device_by_identifier(
        (DOMAIN, f"{init_integration.entry_id}_account"), init_integration.entry_id
    )
    assert device is not None
    assert device.entry_type is dr.DeviceEntryType.SERVICE
    for entity_id in (CHARACTERS, REQUESTS, AUDIO, RECOGNITIONS):
        entity = entity_registry.async_get(entity_id)
        assert entity is not None
        assert entity.device_id == device.id
        assert entity.config_subentry_id is None
    for entity_id in (REQUESTS, RECOGNITIONS):
        requests = entity_registry.async_get(entity_id)
        assert requests is not None
        assert requests.entity_category is er.EntityCategory.DIAGNOSTIC


# --- months ------------------------------------------------------------------


async def test_counts_start_again_when_the_utc_month_ends(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    november: FrozenDateTimeFactory,
) -> None:
    november.move_to("2026-11-30T23:59:59+00:00")
    await synthesize(init_integration, ssml("Last words."))
    hear(init_integration, 4.5)
    assert state(hass, CHARACTERS) == "11"
    assert state(hass, AUDIO) == "4.5"

    november.move_to("2026-12-01T00:00:00+00:00")
    async_fire_time_changed(hass)
    await hass.async_block_till_done()

    for entity_id, zero in ((CHARACTERS, "0"), (AUDIO, "0.0")):
        sensor = hass.states.get(entity_id)
        assert sensor is not None
        assert sensor.state == zero
        assert sensor.attributes[ATTR_LAST_RESET] == "2026-12-01T00:00:00+00:00"
    assert state(hass, REQUESTS) == "0"
    assert state(hass, RECOGNITIONS) == "0"

    # And again a month later: the watch is renewed.
    await synthesize(init_integration, ssml("New."))
    november.move_to("2027-01-01T00:00:00+00:00")
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert state(hass, CHARACTERS) == "0"


async def test_counts_of_an_earlier_month_are_not_restored(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    mock_config_entry: MockConfigEntry,
) -> None:
    key = storage_key(mock_config_entry.entry_id)
    hass_storage[key] = {"version": 1, "key": key, "data": stored("2026-10", 999, 9)}

    await set_up(hass, mock_config_entry)

    assert state(hass, CHARACTERS) == "0"


# --- persistence ---------------------------------------------------------------


async def test_counts_survive_a_restart(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    mock_config_entry: MockConfigEntry,
) -> None:
    key = storage_key(mock_config_entry.entry_id)
    hass_storage[key] = {"version": 1, "key": key, "data": stored("2026-11", 1234, 5)}

    await set_up(hass, mock_config_entry)

    assert state(hass, CHARACTERS) == "1234"
    assert state(hass, REQUESTS) == "5"


async def test_counts_are_written_after_a_delay_not_per_request(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    init_integration: MockConfigEntry,
    november: FrozenDateTimeFactory,
) -> None:
    key = storage_key(init_integration.entry_id)
    await synthesize(init_integration, ssml("One."))
    await synthesize(init_integration, ssml("Two."))
    assert key not in hass_storage

    hear(init_integration, 2.5)
    assert key not in hass_storage

    november.tick(timedelta(seconds=SAVE_DELAY_SECONDS + 1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()

    assert hass_storage[key]["data"] == stored(
        "2026-11", 8, 2, audio_seconds=2.5, recognitions=1
    )


async def test_unloading_writes_the_counts_and_a_reload_keeps_them(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    init_integration: MockConfigEntry,
) -> None:
    await synthesize(init_integration, ssml("Kept."))

    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()

    key = storage_key(init_integration.entry_id)
    assert hass_storage[key]["data"] == stored("2026-11", 5, 1)
    assert state(hass, CHARACTERS) == "5"
    await synthesize(init_integration, ssml("More."))
    assert state(hass, CHARACTERS) == "10"


async def test_an_unreadable_store_starts_the_counts_again(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    mock_config_entry: MockConfigEntry,
) -> None:
    key = storage_key(mock_config_entry.entry_id)
    hass_storage[key] = {"version": 1, "key": key, "data": {"month": "November"}}

    await set_up(hass, mock_config_entry)

    assert state(hass, CHARACTERS) == "0"


async def test_removing_the_entry_forgets_its_counts_and_warnings(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    issue_registry: ir.IssueRegistry,
) -> None:
    entry = allowance_entry(10)
    await set_up(hass, entry)
    await synthesize(entry, ssml("Twelve chars"))
    await hass.config_entries.async_unload(entry.entry_id)
    key = storage_key(entry.entry_id)
    assert key in hass_storage

    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()

    assert key not in hass_storage
    assert not [
        issue_id for domain, issue_id in issue_registry.issues if domain == DOMAIN
    ]


# --- the allowance -------------------------------------------------------------


async def test_allowance_shows_the_share_used(hass: HomeAssistant) -> None:
    entry = allowance_entry(200)
    await set_up(hass, entry)

    await synthesize(entry, ssml("x" * 50))

    used = hass.states.get(ALLOWANCE_USED)
    assert used is not None
    assert used.state == "25.0"
    assert used.attributes[ATTR_UNIT_OF_MEASUREMENT] == "%"
    assert used.attributes[ATTR_STATE_CLASS] == "measurement"
    assert ATTR_LAST_RESET not in used.attributes


async def test_issues_at_80_and_100_percent_once_each_then_cleared_next_month(
    hass: HomeAssistant,
    issue_registry: ir.IssueRegistry,
    november: FrozenDateTimeFactory,
) -> None:
    entry = allowance_entry(100)
    await set_up(hass, entry)
    at_80 = allowance_issue_id(80, entry.entry_id, "2026-11")
    at_100 = allowance_issue_id(100, entry.entry_id, "2026-11")

    await synthesize(entry, ssml("x" * 79))
    assert issue_registry.async_get_issue(DOMAIN, at_80) is None

    await synthesize(entry, ssml("x"))
    issue = issue_registry.async_get_issue(DOMAIN, at_80)
    assert issue is not None
    assert issue.severity is ir.IssueSeverity.WARNING
    assert issue.translation_key == "allowance_80"
    assert issue.translation_placeholders == {
        "entry_title": "Azure Speech (chinaeast2)",
        "characters": "80",
        "allowance": "100",
        "percent": "80",
        "month": "2026-11",
        "next_month": "2026-12",
        "portal_url": "https://portal.azure.cn",
    }

    # Ignored, it stays ignored: it is not raised again this month.
    ir.async_ignore_issue(hass, DOMAIN, at_80, True)
    await synthesize(entry, ssml("x" * 5))
    issue = issue_registry.async_get_issue(DOMAIN, at_80)
    assert issue is not None
    assert issue.dismissed_version is not None

    await synthesize(entry, ssml("x" * 15))
    issue = issue_registry.async_get_issue(DOMAIN, at_100)
    assert issue is not None
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_key == "allowance_100"
    # The used-up allowance says all the 80 % warning did.
    assert issue_registry.async_get_issue(DOMAIN, at_80) is None
    await synthesize(entry, ssml("x"))
    assert issue_registry.async_get_issue(DOMAIN, at_80) is None

    november.move_to("2026-12-01T00:00:00+00:00")
    async_fire_time_changed(hass)
    await hass.async_block_till_done()

    assert issue_registry.async_get_issue(DOMAIN, at_100) is None
    assert state(hass, ALLOWANCE_USED) == "0.0"
    # A new month warns again, under its own id.
    await synthesize(entry, ssml("x" * 80))
    assert issue_registry.async_get_issue(
        DOMAIN, allowance_issue_id(80, entry.entry_id, "2026-12")
    )


async def test_warnings_are_not_raised_again_after_a_restart(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    issue_registry: ir.IssueRegistry,
) -> None:
    entry = allowance_entry(100)
    key = storage_key(entry.entry_id)
    hass_storage[key] = {
        "version": 1,
        "key": key,
        "data": stored("2026-11", 85, 3, [80]),
    }

    await set_up(hass, entry)

    # The warning was raised (and perhaps dismissed) before the restart.
    assert (
        issue_registry.async_get_issue(
            DOMAIN, allowance_issue_id(80, entry.entry_id, "2026-11")
        )
        is None
    )


async def test_last_months_warnings_go_when_home_assistant_starts_in_a_new_month(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    issue_registry: ir.IssueRegistry,
) -> None:
    entry = allowance_entry(100)
    october = allowance_issue_id(100, entry.entry_id, "2026-10")
    ir.async_create_issue(
        hass,
        DOMAIN,
        october,
        is_fixable=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key="allowance_100",
    )
    key = storage_key(entry.entry_id)
    hass_storage[key] = {
        "version": 1,
        "key": key,
        "data": stored("2026-10", 100, 3, [80, 100]),
    }

    await set_up(hass, entry)

    assert issue_registry.async_get_issue(DOMAIN, october) is None
    assert state(hass, ALLOWANCE_USED) == "0.0"


async def test_allowance_is_set_and_removed_in_the_options(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    issue_registry: ir.IssueRegistry,
) -> None:
    await synthesize(init_integration, ssml("x" * 90))

    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert CONF_MONTHLY_ALLOWANCE in result["data_schema"].schema
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_MONTHLY_ALLOWANCE: 100.0}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()

    assert init_integration.options[CONF_MONTHLY_ALLOWANCE] == 100
    assert state(hass, ALLOWANCE_USED) == "90.0"
    at_80 = allowance_issue_id(80, init_integration.entry_id, "2026-11")
    assert issue_registry.async_get_issue(DOMAIN, at_80)

    # A larger allowance: below 80 % again, the warning goes.
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_MONTHLY_ALLOWANCE: 500_000}
    )
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, at_80) is None

    # An empty field: no allowance, no percentage sensor.
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    await hass.async_block_till_done()

    assert CONF_MONTHLY_ALLOWANCE not in init_integration.options
    assert hass.states.get(ALLOWANCE_USED) is None
    assert entity_registry.async_get(ALLOWANCE_USED) is None


async def test_convai_accounts_are_offered_no_allowance(hass: HomeAssistant) -> None:
    entry = convai_entry()
    await set_up(hass, entry)

    result = await hass.config_entries.options.async_init(entry.entry_id)

    assert CONF_MONTHLY_ALLOWANCE not in result["data_schema"].schema
    assert CONF_MONTHLY_AUDIO_ALLOWANCE not in result["data_schema"].schema


async def test_speech_through_the_tts_entity_is_counted(
    hass: HomeAssistant, init_integration: MockConfigEntry, emulator: Emulator
) -> None:
    await tts_calls.speak(hass, "Hello.")

    sent = emulator.requests_for("synthesis")
    assert len(sent) == 1
    assert state(hass, REQUESTS) == "1"
    assert state(hass, CHARACTERS) == str(billable_characters(sent[0].body.decode()))


async def test_a_request_accepted_after_unload_leaves_the_stored_counts_alone(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    init_integration: MockConfigEntry,
) -> None:
    old_client = init_integration.runtime_data.client
    await synthesize(init_integration, ssml("Kept."))
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()

    # The old client's meter is closed: the reloaded entry's meter owns the store.
    async for _ in old_client.synthesize(ssml("Late."), MP3):
        pass
    await synthesize(init_integration, ssml("More."))

    assert state(hass, CHARACTERS) == "10"
    await hass.config_entries.async_unload(init_integration.entry_id)
    key = storage_key(init_integration.entry_id)
    assert hass_storage[key]["data"] == stored("2026-11", 10, 2)


# --- speech-to-text audio ------------------------------------------------------


@pytest.mark.usefixtures("init_integration")
async def test_audio_sensors_start_at_zero_seconds_for_the_month(
    hass: HomeAssistant,
) -> None:
    audio = hass.states.get(AUDIO)
    assert audio is not None
    assert audio.state == "0.0"
    assert audio.attributes[ATTR_DEVICE_CLASS] == "duration"
    assert audio.attributes[ATTR_UNIT_OF_MEASUREMENT] == "s"
    assert audio.attributes[ATTR_STATE_CLASS] == "total"
    assert audio.attributes[ATTR_LAST_RESET] == "2026-11-01T00:00:00+00:00"
    recognitions = hass.states.get(RECOGNITIONS)
    assert recognitions is not None
    assert recognitions.state == "0"
    assert recognitions.attributes[ATTR_UNIT_OF_MEASUREMENT] == "requests"
    # No audio allowance, no percentage.
    assert hass.states.get(AUDIO_ALLOWANCE_USED) is None


async def test_speech_to_text_counts_the_seconds_of_audio_sent(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    hear(init_integration, 2.5)
    hear(init_integration, 1.25)
    # Azure bills the audio, so a request that recognised nothing counts too.
    hear(init_integration, 0.1)

    assert state(hass, AUDIO) == "3.85"
    assert state(hass, RECOGNITIONS) == "3"
    # Speech to text bills no characters.
    assert state(hass, CHARACTERS) == "0"
    assert state(hass, REQUESTS) == "0"


async def test_audio_counts_survive_a_restart(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    mock_config_entry: MockConfigEntry,
) -> None:
    key = storage_key(mock_config_entry.entry_id)
    hass_storage[key] = {
        "version": 1,
        "key": key,
        "data": stored("2026-11", 1234, 5, audio_seconds=95.5, recognitions=7),
    }

    await set_up(hass, mock_config_entry)

    assert state(hass, AUDIO) == "95.5"
    assert state(hass, RECOGNITIONS) == "7"
    assert state(hass, CHARACTERS) == "1234"


async def test_counts_stored_before_speech_to_text_load_with_no_audio(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    mock_config_entry: MockConfigEntry,
) -> None:
    key = storage_key(mock_config_entry.entry_id)
    old = {"month": "2026-11", "characters": 1234, "requests": 5, "warned": []}
    hass_storage[key] = {"version": 1, "key": key, "data": old}

    await set_up(hass, mock_config_entry)

    assert state(hass, CHARACTERS) == "1234"
    assert state(hass, AUDIO) == "0.0"
    assert state(hass, RECOGNITIONS) == "0"


async def test_unloading_writes_the_audio_and_a_reload_keeps_it(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    init_integration: MockConfigEntry,
) -> None:
    old_meter = init_integration.runtime_data.usage
    hear(init_integration, 3.0)

    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()

    key = storage_key(init_integration.entry_id)
    assert hass_storage[key]["data"] == stored(
        "2026-11", 0, 0, audio_seconds=3.0, recognitions=1
    )
    # The old meter is closed: the reloaded entry's meter owns the store.
    old_meter.record_audio(50.0)
    hear(init_integration, 2.0)
    assert state(hass, AUDIO) == "5.0"
    assert state(hass, RECOGNITIONS) == "2"


async def test_audio_allowance_shows_the_share_of_its_hours_used(
    hass: HomeAssistant,
) -> None:
    entry = allowance_entry(audio_hours=0.5)
    await set_up(hass, entry)

    hear(entry, 450.0)

    used = hass.states.get(AUDIO_ALLOWANCE_USED)
    assert used is not None
    assert used.state == "25.0"
    assert used.attributes[ATTR_UNIT_OF_MEASUREMENT] == "%"
    assert used.attributes[ATTR_STATE_CLASS] == "measurement"
    assert ATTR_LAST_RESET not in used.attributes
    # The characters have no allowance of their own here.
    assert hass.states.get(ALLOWANCE_USED) is None


async def test_audio_issues_at_80_and_100_percent_once_each_then_gone_when_raised(
    hass: HomeAssistant, issue_registry: ir.IssueRegistry
) -> None:
    # Half an hour: 1800 seconds.
    entry = allowance_entry(audio_hours=0.5)
    await set_up(hass, entry)
    at_80 = allowance_issue_id(80, entry.entry_id, "2026-11", Measure.AUDIO)
    at_100 = allowance_issue_id(100, entry.entry_id, "2026-11", Measure.AUDIO)
    assert at_80 == f"audio_allowance_80_{entry.entry_id}_2026-11"

    hear(entry, 1439.0)
    assert issue_registry.async_get_issue(DOMAIN, at_80) is None

    hear(entry, 1.0)
    issue = issue_registry.async_get_issue(DOMAIN, at_80)
    assert issue is not None
    assert issue.severity is ir.IssueSeverity.WARNING
    assert issue.is_persistent
    assert issue.translation_key == "audio_allowance_80"
    assert issue.translation_placeholders == {
        "entry_title": "Azure Speech (chinaeast2)",
        "hours": "0.4",
        "allowance": "0.5",
        "percent": "80",
        "month": "2026-11",
        "next_month": "2026-12",
        "portal_url": "https://portal.azure.cn",
    }
    # Audio is not characters: their warnings stay apart.
    assert (
        issue_registry.async_get_issue(
            DOMAIN, allowance_issue_id(80, entry.entry_id, "2026-11")
        )
        is None
    )

    # Ignored, it stays ignored: it is not raised again this month.
    ir.async_ignore_issue(hass, DOMAIN, at_80, True)
    hear(entry, 60.0)
    issue = issue_registry.async_get_issue(DOMAIN, at_80)
    assert issue is not None
    assert issue.dismissed_version is not None

    hear(entry, 300.0)
    issue = issue_registry.async_get_issue(DOMAIN, at_100)
    assert issue is not None
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_key == "audio_allowance_100"
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["hours"] == "0.5"
    assert issue.translation_placeholders["percent"] == "100"
    # The used-up allowance says all the 80 % warning did.
    assert issue_registry.async_get_issue(DOMAIN, at_80) is None

    # A larger allowance (the F0 tier's 5 hours): below 80 % again, both go.
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_MONTHLY_AUDIO_ALLOWANCE: 5}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()

    assert entry.options[CONF_MONTHLY_AUDIO_ALLOWANCE] == 5
    assert issue_registry.async_get_issue(DOMAIN, at_100) is None
    assert issue_registry.async_get_issue(DOMAIN, at_80) is None
    assert state(hass, AUDIO_ALLOWANCE_USED) == "10.0"


async def test_characters_and_audio_each_warn_against_their_own_allowance(
    hass: HomeAssistant, issue_registry: ir.IssueRegistry
) -> None:
    entry = allowance_entry(100, audio_hours=1)
    await set_up(hass, entry)

    await synthesize(entry, ssml("x" * 80))
    hear(entry, 60.0)

    assert issue_registry.async_get_issue(
        DOMAIN, allowance_issue_id(80, entry.entry_id, "2026-11")
    )
    assert (
        issue_registry.async_get_issue(
            DOMAIN, allowance_issue_id(80, entry.entry_id, "2026-11", Measure.AUDIO)
        )
        is None
    )
    assert state(hass, ALLOWANCE_USED) == "80.0"
    assert float(state(hass, AUDIO_ALLOWANCE_USED)) == pytest.approx(100 / 60)


async def test_audio_warnings_are_not_raised_again_after_a_restart(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    issue_registry: ir.IssueRegistry,
) -> None:
    entry = allowance_entry(audio_hours=1)
    key = storage_key(entry.entry_id)
    hass_storage[key] = {
        "version": 1,
        "key": key,
        "data": stored("2026-11", 0, 0, audio_seconds=3000.0, audio_warned=[80]),
    }

    await set_up(hass, entry)

    # The warning was raised (and perhaps dismissed) before the restart.
    at_80 = allowance_issue_id(80, entry.entry_id, "2026-11", Measure.AUDIO)
    assert issue_registry.async_get_issue(DOMAIN, at_80) is None
    # Past 100 % now: that one is new.
    hear(entry, 600.0)
    assert issue_registry.async_get_issue(
        DOMAIN, allowance_issue_id(100, entry.entry_id, "2026-11", Measure.AUDIO)
    )


async def test_last_months_audio_warnings_go_in_a_new_month(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    issue_registry: ir.IssueRegistry,
    november: FrozenDateTimeFactory,
) -> None:
    entry = allowance_entry(audio_hours=0.5)
    await set_up(hass, entry)
    hear(entry, 1800.0)
    at_100 = allowance_issue_id(100, entry.entry_id, "2026-11", Measure.AUDIO)
    assert issue_registry.async_get_issue(DOMAIN, at_100)

    november.move_to("2026-12-01T00:00:00+00:00")
    async_fire_time_changed(hass)
    await hass.async_block_till_done()

    assert issue_registry.async_get_issue(DOMAIN, at_100) is None
    assert state(hass, AUDIO_ALLOWANCE_USED) == "0.0"
    # A new month warns again, under its own id.
    hear(entry, 1440.0)
    assert issue_registry.async_get_issue(
        DOMAIN, allowance_issue_id(80, entry.entry_id, "2026-12", Measure.AUDIO)
    )


async def test_audio_allowance_is_set_and_removed_in_the_options(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    hear(init_integration, 900.0)

    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert CONF_MONTHLY_AUDIO_ALLOWANCE in result["data_schema"].schema
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_MONTHLY_AUDIO_ALLOWANCE: 2.5}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()

    assert init_integration.options[CONF_MONTHLY_AUDIO_ALLOWANCE] == 2.5
    assert CONF_MONTHLY_ALLOWANCE not in init_integration.options
    assert state(hass, AUDIO_ALLOWANCE_USED) == "10.0"

    # An empty field: no audio allowance, no percentage sensor.
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    await hass.async_block_till_done()

    assert CONF_MONTHLY_AUDIO_ALLOWANCE not in init_integration.options
    assert hass.states.get(AUDIO_ALLOWANCE_USED) is None
    assert entity_registry.async_get(AUDIO_ALLOWANCE_USED) is None
    # The audio counted so far is kept.
    assert state(hass, AUDIO) == "900.0"


async def test_removing_the_entry_forgets_its_audio_warnings(
    hass: HomeAssistant, issue_registry: ir.IssueRegistry
) -> None:
    entry = allowance_entry(audio_hours=0.5)
    await set_up(hass, entry)
    hear(entry, 1800.0)
    assert issue_registry.async_get_issue(
        DOMAIN, allowance_issue_id(100, entry.entry_id, "2026-11", Measure.AUDIO)
    )

    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()

    assert not [
        issue_id for domain, issue_id in issue_registry.issues if domain == DOMAIN
    ]


async def test_convai_accounts_have_no_speech_to_text_sensors(
    hass: HomeAssistant, entity_registry: er.EntityRegistry
) -> None:
    entry = convai_entry()
    await set_up(hass, entry)

    sensors = {
        entity.unique_id.removeprefix(f"{entry.entry_id}_")
        for entity in er.async_entries_for_config_entry(entity_registry, entry.entry_id)
        if entity.domain == "sensor"
    }
    assert sensors == {"characters", "requests"}
