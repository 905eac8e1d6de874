"""Choosing the voice, the audio format and how the voice speaks, in the options."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
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
    SERVICE_CONVAI,
)
from custom_components.cloud_speech.speech.convai import ConvaiEncoding
from custom_components.cloud_speech.speech.ssml import RATE_PERCENT_RANGE
from tests.voice_data import (
    AVA_HD_NAME,
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
    selector_config,
    set_up_convai_entry,
    set_up_entry,
    submit_options,
    suggested,
)

CHOOSE_YUNXI = {CONF_VOICE: YUNXI.short_name, CONF_OUTPUT_FORMAT: DEFAULT_OUTPUT_FORMAT}


# --- Azure: voice and format ----------------------------------------------------------


@pytest.mark.usefixtures("init_integration")
async def test_options_offer_only_the_chosen_voices_styles_and_roles(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    result = await hass.config_entries.options.async_init(mock_config_entry.entry_id)

    assert result["step_id"] == "init"
    assert fields(result) == [CONF_VOICE, CONF_OUTPUT_FORMAT]
    assert len(option_values(result, CONF_VOICE)) == len(
        mock_config_entry.runtime_data.voices
    )
    assert suggested(result, CONF_VOICE) == YUNXI.short_name
    assert option_values(result, CONF_OUTPUT_FORMAT) == list(OUTPUT_FORMATS)
    assert selector_config(result, CONF_OUTPUT_FORMAT)["translation_key"] == (
        "output_format"
    )
    assert suggested(result, CONF_OUTPUT_FORMAT) == DEFAULT_OUTPUT_FORMAT

    result = await submit_options(
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
    # The voice the options offer is the one tests/voice_data.py describes.
    assert mock_config_entry.runtime_data.voices.get(YUNXI.short_name) == YUNXI
    assert option_values(result, CONF_STYLE) == list(YUNXI_STYLES)
    assert option_values(result, CONF_ROLE) == list(YUNXI_ROLES)
    rate = selector_config(result, CONF_RATE)
    assert (rate["min"], rate["max"], rate["step"], rate["mode"]) == (
        *map(float, RATE_PERCENT_RANGE),
        1,
        "slider",
    )


@pytest.mark.usefixtures("init_integration")
async def test_options_for_an_hd_voice_ask_no_style_or_prosody_and_drop_them(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    hass.config_entries.async_update_entry(
        mock_config_entry,
        options={CONF_VOICE: YUNXI.short_name, CONF_STYLE: "cheerful", CONF_RATE: 10},
    )
    await hass.async_block_till_done()
    result = await hass.config_entries.options.async_init(mock_config_entry.entry_id)

    result = await submit_options(
        hass, result, {CONF_VOICE: AVA_HD_NAME, CONF_OUTPUT_FORMAT: OUTPUT_FORMATS[0]}
    )
    await hass.async_block_till_done()

    # No settings step: HD voices take no style or prosody.
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert mock_config_entry.options == {
        CONF_VOICE: AVA_HD_NAME,
        CONF_LANGUAGE: "en-US",
        CONF_OUTPUT_FORMAT: OUTPUT_FORMATS[0],
    }
    assert mock_config_entry.state is ConfigEntryState.LOADED


@pytest.mark.usefixtures("init_integration")
async def test_options_are_stored_as_numbers_and_reload_the_entry(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    loaded = mock_config_entry.runtime_data
    result = await hass.config_entries.options.async_init(mock_config_entry.entry_id)
    result = await submit_options(
        hass,
        result,
        {CONF_VOICE: YUNXI.short_name, CONF_OUTPUT_FORMAT: OUTPUT_FORMATS[2]},
    )

    result = await submit_options(
        hass,
        result,
        {
            CONF_STYLE: "cheerful",
            CONF_STYLE_DEGREE: 1.5,
            CONF_ROLE: "Boy",
            CONF_RATE: 10.0,
            CONF_PITCH: -5,
            CONF_VOLUME: 20,
        },
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert mock_config_entry.options == {
        CONF_VOICE: YUNXI.short_name,
        CONF_LANGUAGE: "zh-CN",
        CONF_OUTPUT_FORMAT: OUTPUT_FORMATS[2],
        CONF_STYLE: "cheerful",
        CONF_STYLE_DEGREE: 1.5,
        CONF_ROLE: "Boy",
        CONF_RATE: 10,
        CONF_PITCH: -5,
        CONF_VOLUME: 20,
    }
    assert type(mock_config_entry.options[CONF_RATE]) is int
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert mock_config_entry.runtime_data is not loaded


@pytest.mark.usefixtures("init_integration")
async def test_voice_without_styles_shows_no_style_field(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    result = await hass.config_entries.options.async_init(mock_config_entry.entry_id)

    result = await submit_options(
        hass,
        result,
        {CONF_VOICE: ORLA.short_name, CONF_OUTPUT_FORMAT: DEFAULT_OUTPUT_FORMAT},
    )
    assert fields(result) == [CONF_RATE, CONF_PITCH, CONF_VOLUME]
    result = await submit_options(hass, result, {})

    # Orla speaks no Chinese: the default language follows the voice.
    assert mock_config_entry.options == {
        CONF_VOICE: ORLA.short_name,
        CONF_LANGUAGE: "ga-IE",
        CONF_OUTPUT_FORMAT: DEFAULT_OUTPUT_FORMAT,
    }


async def test_style_and_role_of_the_previous_voice_are_dropped(
    hass: HomeAssistant,
) -> None:
    entry = await set_up_entry(
        hass,
        AZURE_CHINA_DATA,
        {
            CONF_VOICE: YUNXI.short_name,
            CONF_LANGUAGE: "zh-CN",
            CONF_STYLE: "narration-relaxed",
            CONF_STYLE_DEGREE: 1.2,
            CONF_ROLE: "Narrator",
            CONF_RATE: 15,
        },
    )
    assert "narration-relaxed" not in XIAOXIAO.styles
    assert not XIAOXIAO.roles
    result = await hass.config_entries.options.async_init(entry.entry_id)

    result = await submit_options(
        hass,
        result,
        {CONF_VOICE: XIAOXIAO.short_name, CONF_OUTPUT_FORMAT: DEFAULT_OUTPUT_FORMAT},
    )
    assert CONF_ROLE not in fields(result)
    assert suggested(result, CONF_STYLE) is None
    assert suggested(result, CONF_STYLE_DEGREE) is None
    assert suggested(result, CONF_RATE) == 15
    result = await submit_options(hass, result, {CONF_RATE: 15})

    assert entry.options == {
        CONF_VOICE: XIAOXIAO.short_name,
        CONF_LANGUAGE: "zh-CN",
        CONF_OUTPUT_FORMAT: DEFAULT_OUTPUT_FORMAT,
        CONF_RATE: 15,
    }


async def test_style_the_new_voice_also_has_is_suggested(hass: HomeAssistant) -> None:
    entry = await set_up_entry(
        hass,
        AZURE_CHINA_DATA,
        {CONF_VOICE: YUNXI.short_name, CONF_STYLE: "cheerful", CONF_STYLE_DEGREE: 0.5},
    )
    result = await hass.config_entries.options.async_init(entry.entry_id)

    result = await submit_options(
        hass,
        result,
        {CONF_VOICE: XIAOXIAO.short_name, CONF_OUTPUT_FORMAT: DEFAULT_OUTPUT_FORMAT},
    )

    assert suggested(result, CONF_STYLE) == "cheerful"
    assert suggested(result, CONF_STYLE_DEGREE) == 0.5


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
    result = await hass.config_entries.options.async_init(mock_config_entry.entry_id)
    result = await submit_options(hass, result, CHOOSE_YUNXI)

    result = await submit_options(hass, result, settings)

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "voice_settings"
    assert result["errors"] == errors
    for key, value in settings.items():
        assert suggested(result, key) == value

    result = await submit_options(hass, result, {**settings, CONF_STYLE: "chat"})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert mock_config_entry.options[CONF_STYLE] == "chat"


async def test_options_need_a_loaded_entry(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    mock_config_entry.add_to_hass(hass)

    result = await hass.config_entries.options.async_init(mock_config_entry.entry_id)

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "not_loaded"


# --- Convai: voice and encoding ---------------------------------------------------------


async def test_convai_options_offer_every_voice_and_the_encoding(
    hass: HomeAssistant,
) -> None:
    entry = await set_up_convai_entry(hass)
    loaded = entry.runtime_data
    result = await hass.config_entries.options.async_init(entry.entry_id)

    assert result["step_id"] == SERVICE_CONVAI
    assert fields(result) == [CONF_VOICE, CONF_ENCODING]
    assert len(option_values(result, CONF_VOICE)) == len(loaded.voices)
    assert suggested(result, CONF_VOICE) == RACHEL.short_name
    assert option_values(result, CONF_ENCODING) == [e.value for e in ConvaiEncoding]
    assert selector_config(result, CONF_ENCODING)["translation_key"] == "encoding"
    assert suggested(result, CONF_ENCODING) == "wav"

    result = await submit_options(
        hass, result, {CONF_VOICE: RACHEL.short_name, CONF_ENCODING: "mp3"}
    )
    await hass.async_block_till_done()

    # No voice settings step: Convai voices have none.
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {
        CONF_VOICE: RACHEL.short_name,
        CONF_LANGUAGE: "en-US",
        CONF_ENCODING: "mp3",
    }
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data is not loaded

    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert suggested(result, CONF_ENCODING) == "mp3"


async def test_convai_options_language_follows_the_voice(hass: HomeAssistant) -> None:
    entry = await set_up_convai_entry(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)

    await submit_options(
        hass, result, {CONF_VOICE: OLD_BRITISH_MAN.short_name, CONF_ENCODING: "wav"}
    )

    # Old British Man speaks no American English: en-US would pick another voice.
    assert entry.options == {
        CONF_VOICE: OLD_BRITISH_MAN.short_name,
        CONF_LANGUAGE: "en-GB",
        CONF_ENCODING: "wav",
    }
