"""Adding and reconfiguring voice profiles, and the account's own options.

A profile's forms: name and language, then a voice speaking it and the audio
format, then (Azure voices that take them) how the voice speaks.
"""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.cloud_speech.const import (
    CONF_ENCODING,
    CONF_LANGUAGE,
    CONF_OUTPUT_FORMAT,
    CONF_PITCH,
    CONF_RATE,
    CONF_ROLE,
    CONF_STYLE,
    CONF_STYLE_DEGREE,
    CONF_VOICE,
    CONF_VOLUME,
    DEFAULT_OUTPUT_FORMAT,
    OUTPUT_FORMATS,
)
from custom_components.cloud_speech.speech.convai import ConvaiEncoding
from custom_components.cloud_speech.speech.ssml import RATE_PERCENT_RANGE
from tests.voice_data import (
    AVA_HD_NAME,
    JENNY_MULTILINGUAL,
    OLD_BRITISH_MAN,
    ORLA,
    RACHEL,
    XIAOXIAO,
    YUNXI,
    YUNXI_ROLES,
    YUNXI_STYLES,
)

from .conftest import AZURE_CHINA_DATA
from .flow_helpers import (
    fields,
    option_values,
    profile_entities,
    profiles_of,
    selector_config,
    set_up_convai_entry,
    set_up_profiles,
    start_profile_flow,
    submit_options,
    submit_profile,
    suggested,
)
from .tts_calls import AZURE_ENTITY_ID

# The profile of conftest's migrated entry: its subentry id is the entry's.
CHINESE = {CONF_NAME: "Kitchen", CONF_LANGUAGE: "zh-CN"}
CHOOSE_YUNXI = {CONF_VOICE: YUNXI.short_name, CONF_OUTPUT_FORMAT: DEFAULT_OUTPUT_FORMAT}


# --- adding a profile ----------------------------------------------------------------


@pytest.mark.usefixtures("init_integration")
async def test_add_voice_profile_asks_name_language_voice_and_settings(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    result = await start_profile_flow(hass, mock_config_entry)
    assert result["step_id"] == "profile"
    assert fields(result) == [CONF_NAME, CONF_LANGUAGE]
    assert "zh-CN" in option_values(result, CONF_LANGUAGE)

    result = await submit_profile(hass, result, CHINESE)
    assert result["step_id"] == "voice"
    assert fields(result) == [CONF_VOICE, CONF_OUTPUT_FORMAT]
    assert result["description_placeholders"] == {"language": "zh-CN"}
    voices = option_values(result, CONF_VOICE)
    assert YUNXI.short_name in voices
    assert ORLA.short_name not in voices  # Orla speaks no Chinese
    assert option_values(result, CONF_OUTPUT_FORMAT) == list(OUTPUT_FORMATS)
    assert selector_config(result, CONF_OUTPUT_FORMAT)["translation_key"] == (
        "output_format"
    )
    assert suggested(result, CONF_OUTPUT_FORMAT) == DEFAULT_OUTPUT_FORMAT

    result = await submit_profile(
        hass,
        result,
        {CONF_VOICE: YUNXI.short_name, CONF_OUTPUT_FORMAT: OUTPUT_FORMATS[1]},
    )
    assert result["step_id"] == "voice_settings"
    assert fields(result) == [
        CONF_STYLE,
        CONF_STYLE_DEGREE,
        CONF_ROLE,
        CONF_RATE,
        CONF_PITCH,
        CONF_VOLUME,
    ]
    assert option_values(result, CONF_STYLE) == list(YUNXI_STYLES)
    assert option_values(result, CONF_ROLE) == list(YUNXI_ROLES)
    rate = selector_config(result, CONF_RATE)
    assert (rate["min"], rate["max"], rate["step"], rate["mode"]) == (
        *map(float, RATE_PERCENT_RANGE),
        1,
        "slider",
    )

    result = await submit_profile(
        hass,
        result,
        {CONF_STYLE: "cheerful", CONF_STYLE_DEGREE: 1.5, CONF_RATE: 10.0},
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Kitchen"
    assert profiles_of(mock_config_entry)["Kitchen"] == {
        CONF_VOICE: YUNXI.short_name,
        CONF_LANGUAGE: "zh-CN",
        CONF_OUTPUT_FORMAT: OUTPUT_FORMATS[1],
        CONF_STYLE: "cheerful",
        CONF_STYLE_DEGREE: 1.5,
        CONF_RATE: 10,
    }
    # Stored as the slider's whole percent, not 10.0.
    assert type(profiles_of(mock_config_entry)["Kitchen"][CONF_RATE]) is int
    assert mock_config_entry.state is ConfigEntryState.LOADED
    # The new profile has its entity; the first one keeps its own.
    assert profile_entities(hass, mock_config_entry) == {
        "Azure Speech (chinaeast2)": AZURE_ENTITY_ID,
        "Kitchen": "tts.kitchen",
    }
    assert hass.states.get("tts.kitchen") is not None


@pytest.mark.usefixtures("init_integration")
async def test_profile_without_a_name_is_named_after_its_voice(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    result = await start_profile_flow(hass, mock_config_entry)
    result = await submit_profile(hass, result, {CONF_LANGUAGE: "de-DE"})
    result = await submit_profile(
        hass,
        result,
        {
            CONF_VOICE: JENNY_MULTILINGUAL.short_name,
            CONF_OUTPUT_FORMAT: OUTPUT_FORMATS[0],
        },
    )
    result = await submit_profile(hass, result, {})
    await hass.async_block_till_done()

    assert result["title"] == "Jenny Multilingual"
    # A multilingual voice keeps the language it was chosen for.
    assert profiles_of(mock_config_entry)["Jenny Multilingual"][CONF_LANGUAGE] == (
        "de-DE"
    )
    assert profile_entities(hass, mock_config_entry)["Jenny Multilingual"] == (
        "tts.jenny_multilingual"
    )


@pytest.mark.usefixtures("init_integration")
async def test_an_hd_voice_asks_no_style_or_prosody(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    result = await start_profile_flow(hass, mock_config_entry)
    result = await submit_profile(
        hass, result, {CONF_NAME: "Night", CONF_LANGUAGE: "en-US"}
    )

    result = await submit_profile(
        hass, result, {CONF_VOICE: AVA_HD_NAME, CONF_OUTPUT_FORMAT: OUTPUT_FORMATS[0]}
    )

    # No settings step: HD voices take no style or prosody.
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {
        CONF_VOICE: AVA_HD_NAME,
        CONF_LANGUAGE: "en-US",
        CONF_OUTPUT_FORMAT: OUTPUT_FORMATS[0],
    }


@pytest.mark.usefixtures("init_integration")
async def test_a_voice_without_styles_gets_only_prosody(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    result = await start_profile_flow(hass, mock_config_entry)
    result = await submit_profile(hass, result, {CONF_LANGUAGE: "ga-IE"})
    result = await submit_profile(
        hass,
        result,
        {CONF_VOICE: ORLA.short_name, CONF_OUTPUT_FORMAT: OUTPUT_FORMATS[0]},
    )

    assert fields(result) == [CONF_RATE, CONF_PITCH, CONF_VOLUME]


@pytest.mark.parametrize(
    ("settings", "errors"),
    [
        pytest.param(
            {CONF_STYLE_DEGREE: 1.2},
            {CONF_STYLE_DEGREE: "style_degree_without_style"},
            id="style-degree",
        ),
        pytest.param({CONF_ROLE: "Boy"}, {CONF_ROLE: "role_without_style"}, id="role"),
        pytest.param(
            {CONF_STYLE_DEGREE: 1.2, CONF_ROLE: "Boy"},
            {
                CONF_STYLE_DEGREE: "style_degree_without_style",
                CONF_ROLE: "role_without_style",
            },
            id="both",
        ),
    ],
)
@pytest.mark.usefixtures("init_integration")
async def test_style_degree_or_role_without_style_is_shown_and_the_flow_recovers(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    settings: dict[str, Any],
    errors: dict[str, str],
) -> None:
    """Azure ignores them without a style; the entity would refuse every call."""
    result = await start_profile_flow(hass, mock_config_entry)
    result = await submit_profile(hass, result, CHINESE)
    result = await submit_profile(hass, result, CHOOSE_YUNXI)

    result = await submit_profile(hass, result, settings)

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "voice_settings"
    assert result["errors"] == errors
    for key, value in settings.items():
        assert suggested(result, key) == value

    result = await submit_profile(hass, result, {**settings, CONF_STYLE: "chat"})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_STYLE] == "chat"


async def test_add_voice_profile_needs_a_loaded_account(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    mock_config_entry.add_to_hass(hass)

    result = await start_profile_flow(hass, mock_config_entry)

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "entry_not_loaded"


# --- reconfiguring a profile -----------------------------------------------------------


async def test_reconfigure_suggests_the_profile_and_keeps_its_entity(
    hass: HomeAssistant, profiles_entry: MockConfigEntry
) -> None:
    profiles_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(profiles_entry.entry_id)
    await hass.async_block_till_done()
    before = profile_entities(hass, profiles_entry)

    result = await start_profile_flow(hass, profiles_entry, "kitchen-profile")
    assert suggested(result, CONF_NAME) == "Kitchen"
    assert suggested(result, CONF_LANGUAGE) == "zh-CN"
    result = await submit_profile(hass, result, {**CHINESE, CONF_NAME: "Dinner"})
    assert suggested(result, CONF_VOICE) == YUNXI.short_name
    result = await submit_profile(hass, result, CHOOSE_YUNXI)
    assert suggested(result, CONF_STYLE) == "cheerful"
    assert suggested(result, CONF_STYLE_DEGREE) == 1.5
    result = await submit_profile(hass, result, {CONF_STYLE: "sad", CONF_PITCH: -5})
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert profiles_of(profiles_entry)["Dinner"] == {
        CONF_VOICE: YUNXI.short_name,
        CONF_LANGUAGE: "zh-CN",
        CONF_OUTPUT_FORMAT: DEFAULT_OUTPUT_FORMAT,
        CONF_STYLE: "sad",
        CONF_PITCH: -5,
    }
    assert profiles_entry.state is ConfigEntryState.LOADED
    # Renamed, but the same entity: automations naming it keep working.
    entity = er.async_get(hass).async_get(before["Kitchen"])
    assert entity is not None
    assert entity.unique_id == "kitchen-profile"
    assert hass.states.get(before["Kitchen"]).name == "Dinner"  # type: ignore[union-attr]


async def test_reconfigure_to_an_hd_voice_drops_style_and_prosody(
    hass: HomeAssistant,
) -> None:
    entry = await set_up_profiles(
        hass,
        AZURE_CHINA_DATA,
        {"Boy": {CONF_VOICE: YUNXI.short_name, CONF_STYLE: "chat", CONF_RATE: 10}},
    )
    [subentry_id] = entry.subentries

    result = await start_profile_flow(hass, entry, subentry_id)
    result = await submit_profile(
        hass, result, {CONF_NAME: "Boy", CONF_LANGUAGE: "en-US"}
    )
    result = await submit_profile(
        hass, result, {CONF_VOICE: AVA_HD_NAME, CONF_OUTPUT_FORMAT: OUTPUT_FORMATS[0]}
    )

    assert result["type"] is FlowResultType.ABORT
    assert profiles_of(entry) == {
        "Boy": {
            CONF_VOICE: AVA_HD_NAME,
            CONF_LANGUAGE: "en-US",
            CONF_OUTPUT_FORMAT: OUTPUT_FORMATS[0],
        }
    }


async def test_style_and_role_of_the_previous_voice_are_dropped(
    hass: HomeAssistant,
) -> None:
    entry = await set_up_profiles(
        hass,
        AZURE_CHINA_DATA,
        {
            "Story": {
                CONF_VOICE: YUNXI.short_name,
                CONF_LANGUAGE: "zh-CN",
                CONF_STYLE: "narration-relaxed",
                CONF_STYLE_DEGREE: 1.2,
                CONF_ROLE: "Narrator",
                CONF_RATE: 15,
            }
        },
    )
    assert "narration-relaxed" not in XIAOXIAO.styles
    assert not XIAOXIAO.roles
    [subentry_id] = entry.subentries
    result = await start_profile_flow(hass, entry, subentry_id)
    result = await submit_profile(
        hass, result, {CONF_NAME: "Story", CONF_LANGUAGE: "zh-CN"}
    )

    result = await submit_profile(
        hass,
        result,
        {CONF_VOICE: XIAOXIAO.short_name, CONF_OUTPUT_FORMAT: DEFAULT_OUTPUT_FORMAT},
    )
    assert CONF_ROLE not in fields(result)
    assert suggested(result, CONF_STYLE) is None
    assert suggested(result, CONF_STYLE_DEGREE) is None
    assert suggested(result, CONF_RATE) == 15
    await submit_profile(hass, result, {CONF_RATE: 15})

    assert profiles_of(entry)["Story"] == {
        CONF_VOICE: XIAOXIAO.short_name,
        CONF_LANGUAGE: "zh-CN",
        CONF_OUTPUT_FORMAT: DEFAULT_OUTPUT_FORMAT,
        CONF_RATE: 15,
    }


# --- Convai ------------------------------------------------------------------------


async def test_convai_profile_asks_voice_and_encoding_only(hass: HomeAssistant) -> None:
    entry = await set_up_convai_entry(hass)
    result = await start_profile_flow(hass, entry)
    result = await submit_profile(
        hass, result, {CONF_NAME: "Narrator", CONF_LANGUAGE: "en-GB"}
    )

    assert fields(result) == [CONF_VOICE, CONF_ENCODING]
    assert option_values(result, CONF_ENCODING) == [e.value for e in ConvaiEncoding]
    assert selector_config(result, CONF_ENCODING)["translation_key"] == "encoding"
    assert suggested(result, CONF_ENCODING) == "wav"
    assert RACHEL.short_name not in option_values(result, CONF_VOICE)  # en-US only

    result = await submit_profile(
        hass, result, {CONF_VOICE: OLD_BRITISH_MAN.short_name, CONF_ENCODING: "mp3"}
    )
    await hass.async_block_till_done()

    # No voice settings step: Convai voices have none.
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert profiles_of(entry)["Narrator"] == {
        CONF_VOICE: OLD_BRITISH_MAN.short_name,
        CONF_LANGUAGE: "en-GB",
        CONF_ENCODING: "mp3",
    }
    assert profile_entities(hass, entry)["Narrator"] == "tts.narrator"


# --- the account's options ---------------------------------------------------------


@pytest.mark.usefixtures("init_integration")
async def test_account_options_keep_voices_out_and_reload_the_entry(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    loaded = mock_config_entry.runtime_data
    result = await hass.config_entries.options.async_init(mock_config_entry.entry_id)
    assert result["step_id"] == "init"
    assert CONF_VOICE not in fields(result)

    result = await submit_options(hass, result, {})
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert mock_config_entry.runtime_data is loaded  # nothing changed
