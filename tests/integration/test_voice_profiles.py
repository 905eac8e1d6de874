"""Voice profiles: several voices on one account, each its own TTS entity.

How each profile speaks, what an edit does to HA's cache, deleting profiles
(and the repair when the last one goes), and the migration of a version 1
entry, whose voice lived in its options, into its first profile.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.repairs import repairs_flow_manager
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.cloud_speech.const import (
    CONF_LANGUAGE,
    CONF_OUTPUT_FORMAT,
    CONF_RATE,
    CONF_STYLE,
    CONF_STYLE_DEGREE,
    CONF_VOICE,
    DOMAIN,
    SUBENTRY_VOICE_PROFILE,
)
from custom_components.cloud_speech.helpers import unique_id_for
from tests.emulator import Emulator
from tests.voice_data import AVA_HD_NAME, XIAOXIAO, YUNXI

from .conftest import AZURE_CHINA_DATA, DEFAULT_OPTIONS
from .flow_helpers import profile_entities, profiles_of, set_up_entry
from .tts_calls import AZURE_ENTITY_ID, speak, stream, text_stream

ISSUE_ID = "no_voice_profile_{}"


@pytest.fixture
async def profiles_integration(
    hass: HomeAssistant, profiles_entry: MockConfigEntry
) -> MockConfigEntry:
    """Set up conftest's account with three profiles: Kitchen, Boy and Night."""
    profiles_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(profiles_entry.entry_id)
    await hass.async_block_till_done()
    return profiles_entry


def last_ssml(emulator: Emulator) -> str:
    return emulator.requests_for("synthesis")[-1].body.decode()


# --- each profile its own entity, device and voice ---------------------------------


async def test_each_profile_is_an_entity_named_after_it_on_its_own_device(
    hass: HomeAssistant,
    profiles_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    entities = profile_entities(hass, profiles_integration)

    assert entities == {
        "Kitchen": "tts.kitchen",
        "Boy": "tts.boy",
        "Night": "tts.night",
    }
    for subentry_id, subentry in profiles_integration.subentries.items():
        entity = entity_registry.async_get(entities[subentry.title])
        assert entity is not None
        assert entity.unique_id == subentry_id
        assert entity.config_subentry_id == subentry_id
        assert hass.states.get(entity.entity_id).name == subentry.title  # type: ignore[union-attr]
        device = device_registry.async_get(entity.device_id or "")
        assert device is not None
        assert device.identifiers == {(DOMAIN, subentry_id)}
        assert device.name == subentry.title
        assert device.entry_type is dr.DeviceEntryType.SERVICE
        assert device.config_entry_id == profiles_integration.entry_id
        assert device.config_subentry_id == subentry_id


async def test_each_profile_speaks_with_its_own_voice_style_and_prosody(
    hass: HomeAssistant, profiles_integration: MockConfigEntry, emulator: Emulator
) -> None:
    await speak(hass, "饭好了。", engine="tts.kitchen")
    kitchen = last_ssml(emulator)
    await speak(hass, "我们去玩吧。", engine="tts.boy")
    boy = last_ssml(emulator)
    extension, _ = await speak(hass, "晚安。", engine="tts.night")
    night = emulator.requests_for("synthesis")[-1]

    assert 'name="zh-cn-YunxiNeural"' in kitchen
    assert 'style="cheerful"' in kitchen
    assert 'styledegree="1.5"' in kitchen
    assert "role=" not in kitchen
    assert 'style="chat"' in boy
    assert 'role="Boy"' in boy
    assert 'pitch="+10%"' in boy
    assert night.voice == XIAOXIAO.short_name
    assert "express-as" not in night.body.decode()
    assert 'rate="-20%"' in night.body.decode()
    assert 'volume="-30%"' in night.body.decode()
    # The profile's WAV at 24 kHz (streamed as raw PCM, framed here).
    assert night.output_format is not None
    assert night.output_format.endswith("24khz-16bit-mono-pcm")
    assert extension == "wav"


async def test_a_calls_options_override_its_profile_with_the_same_validation(
    hass: HomeAssistant, profiles_integration: MockConfigEntry, emulator: Emulator
) -> None:
    await stream(
        hass, text_stream("饭好了。"), options={CONF_STYLE: "sad"}, engine="tts.kitchen"
    )
    ssml = last_ssml(emulator)
    assert 'style="sad"' in ssml
    assert 'styledegree="1.5"' in ssml  # the profile's, with the call's style

    with pytest.raises(Exception, match="no style"):
        await speak(
            hass, "饭好了。", options={CONF_STYLE: "nope"}, engine="tts.kitchen"
        )


async def test_an_edited_profile_is_not_served_from_the_tts_cache(
    hass: HomeAssistant, profiles_integration: MockConfigEntry, emulator: Emulator
) -> None:
    await speak(hass, "饭好了。", cache=True, engine="tts.kitchen")
    await speak(hass, "饭好了。", cache=True, engine="tts.kitchen")
    assert len(emulator.requests_for("synthesis")) == 1  # the second from the cache

    kitchen = profiles_integration.subentries["kitchen-profile"]
    hass.config_entries.async_update_subentry(
        profiles_integration,
        kitchen,
        data={**kitchen.data, CONF_STYLE: "sad"},
    )
    await hass.async_block_till_done()
    await speak(hass, "饭好了。", cache=True, engine="tts.kitchen")

    requests = emulator.requests_for("synthesis")
    assert len(requests) == 2
    assert 'style="sad"' in requests[-1].body.decode()


# --- deleting profiles ---------------------------------------------------------------


async def test_deleting_a_profile_removes_its_entity_and_device_only(
    hass: HomeAssistant,
    profiles_integration: MockConfigEntry,
    emulator: Emulator,
    entity_registry: er.EntityRegistry,
    issue_registry: ir.IssueRegistry,
) -> None:
    device_registry = dr.async_get(hass)
    entity = entity_registry.async_get("tts.boy")
    assert entity is not None

    hass.config_entries.async_remove_subentry(profiles_integration, "boy-profile")
    await hass.async_block_till_done()

    assert entity_registry.async_get("tts.boy") is None
    assert hass.states.get("tts.boy") is None
    assert device_registry.async_get(entity.device_id or "") is None
    assert profiles_integration.state is ConfigEntryState.LOADED
    assert set(profile_entities(hass, profiles_integration)) == {"Kitchen", "Night"}
    await speak(hass, "饭好了。", engine="tts.kitchen")
    assert 'style="cheerful"' in last_ssml(emulator)
    assert not issue_registry.issues


async def test_deleting_the_last_profile_raises_a_repair_that_adds_one(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    emulator: Emulator,
    issue_registry: ir.IssueRegistry,
) -> None:
    entry = init_integration
    issue_id = ISSUE_ID.format(entry.entry_id)

    hass.config_entries.async_remove_subentry(entry, entry.entry_id)
    await hass.async_block_till_done()

    # The account stays loaded, with no TTS entity, and says so.
    assert entry.state is ConfigEntryState.LOADED
    assert hass.states.get(AZURE_ENTITY_ID) is None
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.is_fixable
    assert issue.severity is ir.IssueSeverity.WARNING
    assert issue.translation_key == "no_voice_profile"
    assert issue.translation_placeholders == {"entry_title": entry.title}

    assert await async_setup_component(hass, "repairs", {})
    flows = repairs_flow_manager(hass)
    assert flows is not None
    result = await flows.async_init(DOMAIN, data={"issue_id": issue_id})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "profile"
    assert result["description_placeholders"] == {"entry_title": entry.title}
    result = await flows.async_configure(
        result["flow_id"], {CONF_NAME: "Evening", CONF_LANGUAGE: "zh-CN"}
    )
    assert result["step_id"] == "voice"
    result = await flows.async_configure(
        result["flow_id"],
        {
            CONF_VOICE: XIAOXIAO.short_name,
            CONF_OUTPUT_FORMAT: "ogg-24khz-16bit-mono-opus",
        },
    )
    # The same forms as "Add voice profile": then how the voice speaks.
    assert result["step_id"] == "voice_settings"
    result = await flows.async_configure(result["flow_id"], {CONF_STYLE: "newscast"})
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert profiles_of(entry) == {
        "Evening": {
            CONF_VOICE: XIAOXIAO.short_name,
            CONF_LANGUAGE: "zh-CN",
            CONF_OUTPUT_FORMAT: "ogg-24khz-16bit-mono-opus",
            CONF_STYLE: "newscast",
        }
    }
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    await speak(hass, "晚上好。", engine="tts.evening")
    request = emulator.requests_for("synthesis")[-1]
    assert request.voice == XIAOXIAO.short_name
    assert 'style="newscast"' in request.body.decode()


async def test_the_repair_waits_for_a_loaded_account(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    entry = init_integration
    hass.config_entries.async_remove_subentry(entry, entry.entry_id)
    await hass.async_block_till_done()
    assert await async_setup_component(hass, "repairs", {})
    flows = repairs_flow_manager(hass)
    assert flows is not None
    result = await flows.async_init(
        DOMAIN, data={"issue_id": ISSUE_ID.format(entry.entry_id)}
    )
    await hass.config_entries.async_unload(entry.entry_id)

    result = await flows.async_configure(result["flow_id"], {CONF_LANGUAGE: "zh-CN"})

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "entry_not_loaded"


async def test_a_profile_added_otherwise_clears_the_repair_and_removal_forgets_it(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    entry = init_integration
    issue_id = ISSUE_ID.format(entry.entry_id)
    hass.config_entries.async_remove_subentry(entry, entry.entry_id)
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None

    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_VOICE_PROFILE), context={"source": "user"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_LANGUAGE: "en-US"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {CONF_VOICE: AVA_HD_NAME, CONF_OUTPUT_FORMAT: "riff-24khz-16bit-mono-pcm"},
    )
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None

    hass.config_entries.async_remove_subentry(entry, next(iter(entry.subentries)))
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None


# --- migration from version 1 --------------------------------------------------------


def stored_v1_entry(
    hass: HomeAssistant,
    options: dict[str, Any],
    *,
    disabled: bool = False,
) -> tuple[MockConfigEntry, str, str]:
    """A version 1 entry with the registry entries its setup made: entity, device."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Azure Speech (chinaeast2)",
        data=AZURE_CHINA_DATA,
        options=options,
        unique_id=unique_id_for(AZURE_CHINA_DATA),
        version=1,
    )
    entry.add_to_hass(hass)
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={(DOMAIN, entry.entry_id)},
        name=entry.title,
        manufacturer="Microsoft",
        model="Azure AI Speech",
        entry_type=dr.DeviceEntryType.SERVICE,
    )
    entity = er.async_get(hass).async_get_or_create(
        "tts",
        DOMAIN,
        entry.entry_id,
        config_entry=entry,
        device_id=device.id,
        suggested_object_id="kitchen_announcer",  # renamed by the user, say
        has_entity_name=True,
        translation_key="speech",
        disabled_by=er.RegistryEntryDisabler.USER if disabled else None,
    )
    return entry, entity.entity_id, device.id


async def test_a_version_1_entry_becomes_its_first_profile_with_the_same_entity(
    hass: HomeAssistant,
    emulator: Emulator,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    options = {
        CONF_VOICE: YUNXI.short_name,
        CONF_LANGUAGE: "zh-CN",
        CONF_STYLE: "cheerful",
        CONF_STYLE_DEGREE: 1.5,
        CONF_OUTPUT_FORMAT: "riff-24khz-16bit-mono-pcm",
    }
    entry, entity_id, device_id = stored_v1_entry(hass, options)

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert (entry.version, entry.minor_version) == (2, 1)
    assert entry.options == {}
    assert entry.title == "Azure Speech (chinaeast2)"
    [subentry] = entry.subentries.values()
    assert subentry.subentry_id == entry.entry_id
    assert subentry.subentry_type == SUBENTRY_VOICE_PROFILE
    assert subentry.title == entry.title
    assert dict(subentry.data) == options
    migrated = entity_registry.async_get(entity_id)
    assert migrated is not None
    assert migrated.entity_id == "tts.kitchen_announcer"
    assert migrated.unique_id == entry.entry_id
    assert migrated.config_subentry_id == subentry.subentry_id
    assert migrated.device_id == device_id
    device = device_registry.async_get(device_id)
    assert device is not None
    assert device.identifiers == {(DOMAIN, entry.entry_id)}
    assert device.config_entry_id == entry.entry_id
    assert device.config_subentry_id == subentry.subentry_id
    # It speaks as it did.
    extension, _ = await speak(hass, "你好。", engine=entity_id)
    assert extension == "wav"
    assert 'style="cheerful"' in last_ssml(emulator)


async def test_a_disabled_entity_stays_disabled_through_the_migration(
    hass: HomeAssistant, entity_registry: er.EntityRegistry
) -> None:
    entry, entity_id, _ = stored_v1_entry(hass, DEFAULT_OPTIONS, disabled=True)

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    migrated = entity_registry.async_get(entity_id)
    assert migrated is not None
    assert migrated.disabled_by is er.RegistryEntryDisabler.USER
    assert migrated.config_subentry_id == entry.entry_id
    assert hass.states.get(entity_id) is None


async def test_a_migrated_hd_voice_loses_the_style_and_prosody_it_cannot_take(
    hass: HomeAssistant,
) -> None:
    entry = await set_up_entry(
        hass,
        AZURE_CHINA_DATA,
        {CONF_VOICE: AVA_HD_NAME, CONF_STYLE: "cheerful", CONF_RATE: 10},
    )

    assert profiles_of(entry) == {entry.title: {CONF_VOICE: AVA_HD_NAME}}
    # It speaks, where the style would have been refused at every call.
    await speak(hass, "Hello.")


async def test_a_never_set_up_version_1_entry_keeps_its_version_1_entity_id(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """No registry entry yet (its setup always failed): YAML may name the id anyway."""
    assert profile_entities(hass, init_integration) == {
        init_integration.title: AZURE_ENTITY_ID
    }
    assert hass.states.get(AZURE_ENTITY_ID).name == init_integration.title  # type: ignore[union-attr]


async def test_an_entry_of_a_newer_release_is_left_alone(hass: HomeAssistant) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        data=AZURE_CHINA_DATA,
        unique_id=unique_id_for(AZURE_CHINA_DATA),
        version=3,
    )
    entry.add_to_hass(hass)

    assert not await hass.config_entries.async_setup(entry.entry_id)

    assert entry.state is ConfigEntryState.MIGRATION_ERROR
    assert entry.version == 3
