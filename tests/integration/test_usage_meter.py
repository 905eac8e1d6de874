"""The usage meter: what an account used this month, counted as the service bills it.

Requests go through the entry's own client (built by the integration, with the
meter wired in) to the emulator, so only what the service accepted is counted.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.sensor import ATTR_LAST_RESET, ATTR_STATE_CLASS
from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT, CONF_API_KEY
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
    SAVE_DELAY_SECONDS,
    allowance_issue_id,
    storage_key,
)
from tests.emulator import CONVAI_TEST_KEY, Emulator, Fault

from . import tts_calls
from .conftest import AZURE_CHINA_DATA

CHARACTERS = "sensor.azure_speech_chinaeast2_billable_characters_this_month"
REQUESTS = "sensor.azure_speech_chinaeast2_synthesis_requests_this_month"
ALLOWANCE_USED = "sensor.azure_speech_chinaeast2_monthly_allowance_used"
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


def stored(
    month: str, characters: int, requests: int, warned: list[int] | None = None
) -> dict[str, Any]:
    return {
        "month": month,
        "characters": characters,
        "requests": requests,
        "warned": warned or [],
    }


def allowance_entry(allowance: int) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="Azure Speech (chinaeast2)",
        data=AZURE_CHINA_DATA,
        options={CONF_MONTHLY_ALLOWANCE: allowance},
        unique_id=unique_id_for(AZURE_CHINA_DATA),
        version=2,
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
    for entity_id in (CHARACTERS, REQUESTS):
        entity = entity_registry.async_get(entity_id)
        assert entity is not None
        assert entity.device_id == device.id
        assert entity.config_subentry_id is None
    requests = entity_registry.async_get(REQUESTS)
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
    assert state(hass, CHARACTERS) == "11"

    november.move_to("2026-12-01T00:00:00+00:00")
    async_fire_time_changed(hass)
    await hass.async_block_till_done()

    characters = hass.states.get(CHARACTERS)
    assert characters is not None
    assert characters.state == "0"
    assert characters.attributes[ATTR_LAST_RESET] == "2026-12-01T00:00:00+00:00"
    assert state(hass, REQUESTS) == "0"

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

    november.tick(timedelta(seconds=SAVE_DELAY_SECONDS + 1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()

    assert hass_storage[key]["data"] == stored("2026-11", 8, 2)


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


async def test_convai_accounts_are_offered_no_character_allowance(
    hass: HomeAssistant,
) -> None:
    data = {CONF_SERVICE: SERVICE_CONVAI, CONF_API_KEY: CONVAI_TEST_KEY}
    entry = MockConfigEntry(
        domain=DOMAIN, title="Convai", data=data, unique_id=unique_id_for(data)
    )
    await set_up(hass, entry)

    result = await hass.config_entries.options.async_init(entry.entry_id)

    assert CONF_MONTHLY_ALLOWANCE not in result["data_schema"].schema


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
