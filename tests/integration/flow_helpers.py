"""Driving the config, options and voice profile flows as the frontend does; reading forms."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    SOURCE_USER,
    ConfigEntry,
    ConfigFlowResult,
    ConfigSubentryData,
    SubentryFlowResult,
)
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, section
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.cloud_speech.config_flow import SECTION_ADVANCED
from custom_components.cloud_speech.const import (
    CONF_CLOUD,
    CONF_LANGUAGE,
    CONF_REGION,
    CONF_SERVICE,
    CONF_VOICE,
    DOMAIN,
    SERVICE_AZURE,
    SERVICE_CONVAI,
    SUBENTRY_VOICE_PROFILE,
)
from custom_components.cloud_speech.helpers import entry_title, unique_id_for
from tests.emulator import CONVAI_TEST_KEY, TEST_KEY
from tests.voice_data import RACHEL, YUNXI

CONVAI_DATA: dict[str, Any] = {
    CONF_SERVICE: SERVICE_CONVAI,
    CONF_API_KEY: CONVAI_TEST_KEY,
}
#: The Convai form's collapsed section, left empty: Convai itself.
NO_ENDPOINT: dict[str, Any] = {SECTION_ADVANCED: {}}
#: What the Azure forms store when the user keeps the default authentication.
KEY_AUTH: dict[str, Any] = {"auth_mode": "key"}


# --- driving flows -----------------------------------------------------------------


async def submit(
    hass: HomeAssistant, result: ConfigFlowResult, user_input: dict[str, Any]
) -> ConfigFlowResult:
    """Answer a config flow's form or menu."""
    return await hass.config_entries.flow.async_configure(result["flow_id"], user_input)


async def submit_options(
    hass: HomeAssistant, result: ConfigFlowResult, user_input: dict[str, Any]
) -> ConfigFlowResult:
    """Answer an options flow's form."""
    return await hass.config_entries.options.async_configure(
        result["flow_id"], user_input
    )


async def start_profile_flow(
    hass: HomeAssistant, entry: ConfigEntry, subentry_id: str | None = None
) -> SubentryFlowResult:
    """Open "Add voice profile", or reconfigure the profile `subentry_id`."""
    context: dict[str, Any] = {"source": SOURCE_USER}
    if subentry_id is not None:
        context = {"source": SOURCE_RECONFIGURE, "subentry_id": subentry_id}
    return await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_VOICE_PROFILE), context=context
    )


async def submit_profile(
    hass: HomeAssistant, result: SubentryFlowResult, user_input: dict[str, Any]
) -> SubentryFlowResult:
    """Answer a voice profile flow's form."""
    return await hass.config_entries.subentries.async_configure(
        result["flow_id"], user_input
    )


async def start_azure_flow(hass: HomeAssistant, cloud: str) -> ConfigFlowResult:
    """Open the flow, pick Azure and `cloud`; returns the credentials form."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await submit(hass, result, {"next_step_id": SERVICE_AZURE})
    return await submit(hass, result, {CONF_CLOUD: cloud})


async def start_convai_flow(hass: HomeAssistant) -> ConfigFlowResult:
    """Open the flow and pick Convai; returns the key form."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    return await submit(hass, result, {"next_step_id": SERVICE_CONVAI})


async def finish_with_voice(
    hass: HomeAssistant, result: ConfigFlowResult, language: str, voice: str
) -> ConfigFlowResult:
    """From the language form, choose `language` and `voice`: the entry is created."""
    assert result["step_id"] == "language", result.get("errors")
    result = await submit(hass, result, {CONF_LANGUAGE: language})
    return await submit(hass, result, {CONF_VOICE: voice})


async def create_china_entry(
    hass: HomeAssistant, api_key: str = TEST_KEY, region: str = "chinaeast2"
) -> ConfigFlowResult:
    """Run the whole flow for an Azure China resource, speaking Yunxi."""
    result = await start_azure_flow(hass, "china")
    result = await submit(hass, result, {CONF_REGION: region, CONF_API_KEY: api_key})
    return await finish_with_voice(hass, result, "zh-CN", YUNXI.short_name)


async def set_up_entry(
    hass: HomeAssistant, data: dict[str, Any], options: dict[str, Any]
) -> MockConfigEntry:
    """Add and set up an entry as version 1 stored it: the voice in its options.

    Setting it up migrates it: the options become its first voice profile.
    """
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=entry_title(data),
        data=data,
        options=options,
        unique_id=unique_id_for(data),
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def set_up_convai_entry(
    hass: HomeAssistant, data: dict[str, Any] | None = None
) -> MockConfigEntry:
    """Set up a Convai entry speaking with Rachel."""
    return await set_up_entry(
        hass,
        data or CONVAI_DATA,
        {CONF_VOICE: RACHEL.short_name, CONF_LANGUAGE: "en-US"},
    )


async def set_up_profiles(
    hass: HomeAssistant, data: dict[str, Any], profiles: dict[str, dict[str, Any]]
) -> MockConfigEntry:
    """Add and set up an entry as this version stores it: titled profiles."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=entry_title(data),
        data=data,
        unique_id=unique_id_for(data),
        version=2,
        minor_version=1,
        subentries_data=[
            ConfigSubentryData(
                data=profile,
                subentry_type=SUBENTRY_VOICE_PROFILE,
                title=title,
                unique_id=None,
            )
            for title, profile in profiles.items()
        ],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


def profiles_of(entry: ConfigEntry) -> dict[str, dict[str, Any]]:
    """An entry's voice profiles: title to data."""
    return {
        subentry.title: dict(subentry.data)
        for subentry in entry.subentries.values()
        if subentry.subentry_type == SUBENTRY_VOICE_PROFILE
    }


def profile_entities(hass: HomeAssistant, entry: ConfigEntry) -> dict[str, str]:
    """The TTS entity of each of an entry's profiles: profile title to entity id."""
    entities = {
        entity.config_subentry_id: entity.entity_id
        for entity in er.async_entries_for_config_entry(
            er.async_get(hass), entry.entry_id
        )
        if entity.domain == "tts"
    }
    return {
        subentry.title: entities[subentry.subentry_id]
        for subentry in entry.subentries.values()
        if subentry.subentry_id in entities
    }


def add_other_entry(hass: HomeAssistant, data: dict[str, Any]) -> None:
    """Another entry (not set up) that a flow must not collide with."""
    MockConfigEntry(
        domain=DOMAIN, data=data, unique_id=unique_id_for(data)
    ).add_to_hass(hass)


def tts_entity_of(hass: HomeAssistant, entry: ConfigEntry) -> str:
    """The entity id of an entry's only TTS entity."""
    [entity] = [
        entity
        for entity in er.async_entries_for_config_entry(
            er.async_get(hass), entry.entry_id
        )
        if entity.domain == "tts"
    ]
    return entity.entity_id


# --- reading forms ---------------------------------------------------------------


def schema_of(result: ConfigFlowResult) -> dict[Any, Any]:
    """A form's fields: markers to selectors."""
    assert result["type"] is FlowResultType.FORM
    schema = result["data_schema"]
    assert schema is not None
    return dict(schema.schema)


def marker_of(result: ConfigFlowResult, name: str) -> Any:
    """The marker (Required or Optional) of a form's field."""
    return next(marker for marker in schema_of(result) if str(marker) == name)


def fields(result: ConfigFlowResult) -> list[str]:
    """The names of a form's fields, in order."""
    return [str(marker) for marker in schema_of(result)]


def selector_config(result: ConfigFlowResult, name: str) -> dict[str, Any]:
    """The configuration of a field's selector."""
    return dict(schema_of(result)[marker_of(result, name)].config)


def option_values(result: ConfigFlowResult, name: str) -> list[str]:
    """The values a select field offers."""
    return [
        option if isinstance(option, str) else option["value"]
        for option in selector_config(result, name)["options"]
    ]


def suggested(result: ConfigFlowResult, name: str) -> Any:
    """The value a field is filled in with."""
    return (marker_of(result, name).description or {}).get("suggested_value")


def advanced_section(result: ConfigFlowResult) -> section:
    """The collapsible section of the Convai forms."""
    value = schema_of(result)[SECTION_ADVANCED]
    assert isinstance(value, section)
    return value


def suggested_endpoint(result: ConfigFlowResult) -> Any:
    """The endpoint the Convai form's section is filled in with."""
    [marker] = advanced_section(result).schema.schema
    return (marker.description or {}).get("suggested_value")
