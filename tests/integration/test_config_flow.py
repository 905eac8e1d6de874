"""Adding, re-authenticating, reconfiguring and tuning a speech service in the UI.

Every credential check goes to the emulator: the flows run our real client.
"""

from __future__ import annotations

from collections.abc import Iterator
import json
from pathlib import Path
import re
from typing import Any
from unittest.mock import patch

import aiohttp
import homeassistant
from homeassistant.config_entries import SOURCE_USER, ConfigEntryState, ConfigFlowResult
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, section
import probatio
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

import custom_components.cloud_speech as integration
from custom_components.cloud_speech.config_flow import (
    SECTION_ADVANCED,
    CloudSpeechConfigFlow,
    CloudSpeechOptionsFlow,
)
from custom_components.cloud_speech.const import (
    CONF_CLOUD,
    CONF_ENCODING,
    CONF_ENDPOINT,
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
    CONVAI_ENCODINGS,
    DEFAULT_OUTPUT_FORMAT,
    DOMAIN,
    OUTPUT_FORMATS,
    SERVICE_AZURE,
    SERVICE_CONVAI,
)
from custom_components.cloud_speech.helpers import entry_title, unique_id_for
from custom_components.cloud_speech.speech.azure import REGIONS, AzureCloud
from tests.emulator import CONVAI_TEST_KEY, TEST_KEY, Emulator, EmulatorServer, Fault

from .conftest import AZURE_CHINA_DATA

YUNXI = "zh-cn-YunxiNeural"
XIAOXIAO = "zh-CN-XiaoxiaoNeural"
ORLA = "ga-IE-OrlaNeural"
YUNXI_STYLES = [
    "narration-relaxed",
    "embarrassed",
    "fearful",
    "cheerful",
    "disgruntled",
    "serious",
    "angry",
    "sad",
    "depressed",
    "chat",
    "assistant",
    "newscast",
]
INTEGRATION_DIR = Path(integration.__file__).parent


@pytest.fixture
def skip_setup() -> Iterator[None]:
    """Create entries without setting them up (the flow is what is tested)."""
    with patch("custom_components.cloud_speech.async_setup_entry", return_value=True):
        yield


# --- helpers -----------------------------------------------------------------


async def start_azure_flow(hass: HomeAssistant, cloud: str) -> ConfigFlowResult:
    """Open the flow, pick Azure and `cloud`; returns the credentials form."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": SERVICE_AZURE}
    )
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_CLOUD: cloud}
    )


async def submit(
    hass: HomeAssistant, result: ConfigFlowResult, user_input: dict[str, Any]
) -> ConfigFlowResult:
    return await hass.config_entries.flow.async_configure(result["flow_id"], user_input)


async def submit_options(
    hass: HomeAssistant, result: ConfigFlowResult, user_input: dict[str, Any]
) -> ConfigFlowResult:
    return await hass.config_entries.options.async_configure(
        result["flow_id"], user_input
    )


def schema_of(result: ConfigFlowResult) -> dict[Any, Any]:
    """A form's fields: markers to selectors."""
    assert result["type"] is FlowResultType.FORM
    schema = result["data_schema"]
    assert schema is not None
    return dict(schema.schema)


def fields(result: ConfigFlowResult) -> list[str]:
    """The names of a form's fields, in order."""
    return [str(marker) for marker in schema_of(result)]


def selector_config(result: ConfigFlowResult, name: str) -> dict[str, Any]:
    for marker, selector in schema_of(result).items():
        if str(marker) == name:
            return dict(selector.config)
    raise KeyError(name)


def option_values(result: ConfigFlowResult, name: str) -> list[str]:
    return [
        option if isinstance(option, str) else option["value"]
        for option in selector_config(result, name)["options"]
    ]


def suggested(result: ConfigFlowResult, name: str) -> Any:
    for marker in schema_of(result):
        if str(marker) == name:
            return (marker.description or {}).get("suggested_value")
    raise KeyError(name)


async def setup_china_entry(
    hass: HomeAssistant, options: dict[str, Any]
) -> MockConfigEntry:
    """Set up the Azure China entry of the conftest, with other options."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        data=AZURE_CHINA_DATA,
        options=options,
        unique_id=unique_id_for(AZURE_CHINA_DATA),
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def create_china_entry(
    hass: HomeAssistant, api_key: str = TEST_KEY, region: str = "chinaeast2"
) -> ConfigFlowResult:
    """Run the whole flow for an Azure China resource, speaking Yunxi."""
    result = await start_azure_flow(hass, AzureCloud.CHINA)
    result = await submit(hass, result, {CONF_REGION: region, CONF_API_KEY: api_key})
    result = await submit(hass, result, {CONF_LANGUAGE: "zh-CN"})
    return await submit(hass, result, {CONF_VOICE: YUNXI})


# --- adding a service ----------------------------------------------------------


async def test_first_step_is_a_menu_of_services(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )

    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "user"
    assert result["menu_options"] == [SERVICE_AZURE, SERVICE_CONVAI]


async def test_azure_asks_for_the_cloud_first(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await submit(hass, result, {"next_step_id": SERVICE_AZURE})

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "azure"
    assert option_values(result, CONF_CLOUD) == [
        "global",
        "china",
        "us_government",
        "custom",
    ]
    assert selector_config(result, CONF_CLOUD)["translation_key"] == "cloud"


async def test_china_region_creates_entry_titled_by_region(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    """The one flow test that sets the created entry up for real."""
    result = await start_azure_flow(hass, AzureCloud.CHINA)
    assert result["step_id"] == "azure_region"
    assert fields(result) == [CONF_REGION, CONF_API_KEY]
    assert option_values(result, CONF_REGION) == [
        "chinaeast2",
        "chinanorth2",
        "chinanorth3",
    ]
    assert selector_config(result, CONF_API_KEY)["type"] == "password"
    assert result["description_placeholders"] == {
        "portal_url": "https://portal.azure.cn"
    }

    result = await submit(
        hass, result, {CONF_REGION: "chinaeast2", CONF_API_KEY: TEST_KEY}
    )
    assert result["step_id"] == "language"
    result = await submit(hass, result, {CONF_LANGUAGE: "zh-CN"})
    assert result["step_id"] == "voice"
    assert result["description_placeholders"] == {"language": "zh-CN"}
    result = await submit(hass, result, {CONF_VOICE: YUNXI})
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Azure Speech (chinaeast2)"
    assert result["data"] == {
        CONF_SERVICE: SERVICE_AZURE,
        CONF_CLOUD: "china",
        CONF_REGION: "chinaeast2",
        CONF_API_KEY: TEST_KEY,
    }
    assert result["options"] == {CONF_VOICE: YUNXI, CONF_LANGUAGE: "zh-CN"}
    entry = result["result"]
    assert entry.unique_id == unique_id_for(result["data"])
    assert entry.state is ConfigEntryState.LOADED
    assert {request.host for request in emulator.requests_for("voices")} == {
        "chinaeast2.tts.speech.azure.cn"
    }


@pytest.mark.parametrize(
    "cloud", [AzureCloud.GLOBAL, AzureCloud.CHINA, AzureCloud.US_GOVERNMENT]
)
async def test_region_list_is_the_clouds_own(
    hass: HomeAssistant, cloud: AzureCloud
) -> None:
    result = await start_azure_flow(hass, cloud)

    assert result["step_id"] == "azure_region"
    assert option_values(result, CONF_REGION) == list(REGIONS[cloud])
    assert selector_config(result, CONF_REGION)["mode"] == "dropdown"


@pytest.mark.usefixtures("skip_setup")
async def test_us_government_region_reaches_its_own_host(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    result = await start_azure_flow(hass, AzureCloud.US_GOVERNMENT)
    result = await submit(
        hass, result, {CONF_REGION: "usgovvirginia", CONF_API_KEY: TEST_KEY}
    )
    result = await submit(hass, result, {CONF_LANGUAGE: "en-US"})
    result = await submit(hass, result, {CONF_VOICE: "en-US-JennyNeural"})

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Azure Speech (usgovvirginia)"
    [request] = emulator.requests_for("voices")
    assert request.host == "usgovvirginia.tts.speech.azure.us"


@pytest.mark.usefixtures("skip_setup")
async def test_wrong_key_shows_invalid_auth_on_the_form(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    result = await start_azure_flow(hass, AzureCloud.CHINA)

    result = await submit(
        hass, result, {CONF_REGION: "chinanorth2", CONF_API_KEY: "wrong-key"}
    )

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "azure_region"
    assert result["errors"] == {"base": "invalid_auth"}
    # What the user typed is kept, so a typo is easy to fix.
    assert suggested(result, CONF_REGION) == "chinanorth2"
    assert suggested(result, CONF_API_KEY) == "wrong-key"

    result = await submit(
        hass, result, {CONF_REGION: "chinanorth2", CONF_API_KEY: TEST_KEY}
    )
    assert result["step_id"] == "language"


@pytest.mark.usefixtures("skip_setup")
async def test_key_of_another_region_shows_invalid_auth(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    emulator.keys["china-north-key"] = "chinanorth3"
    result = await start_azure_flow(hass, AzureCloud.CHINA)

    result = await submit(
        hass, result, {CONF_REGION: "chinaeast2", CONF_API_KEY: "china-north-key"}
    )

    assert result["errors"] == {"base": "invalid_auth"}


async def test_unreachable_host_shows_cannot_connect(hass: HomeAssistant) -> None:
    result = await start_azure_flow(hass, AzureCloud.CUSTOM)

    # Nothing listens on port 1.
    result = await submit(hass, result, {CONF_ENDPOINT: "http://127.0.0.1:1"})

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "azure_custom"
    assert result["errors"] == {"base": "cannot_connect"}
    assert suggested(result, CONF_ENDPOINT) == "http://127.0.0.1:1"


async def test_failing_service_shows_cannot_connect(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    emulator.inject(Fault(target="voices", status=503, times=10))
    result = await start_azure_flow(hass, AzureCloud.GLOBAL)

    result = await submit(hass, result, {CONF_REGION: "eastus", CONF_API_KEY: TEST_KEY})

    assert result["errors"] == {"base": "cannot_connect"}


async def test_answer_that_is_no_voice_list_says_so_without_a_traceback(
    hass: HomeAssistant, emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    """A 200 that is no voice list: a captive portal, a wrong proxy."""
    secret = "secret-key-in-a-garbage-answer"
    emulator.keys[secret] = None
    emulator.inject(Fault(target="voices", status=200, body="<html>Welcome</html>"))
    result = await start_azure_flow(hass, AzureCloud.GLOBAL)

    result = await submit(
        hass, result, {CONF_REGION: "westeurope", CONF_API_KEY: secret}
    )

    assert result["errors"] == {"base": "invalid_voice_list"}
    assert "Traceback" not in caplog.text
    assert secret not in caplog.text


async def test_unexpected_error_shows_unknown_and_logs_it(
    hass: HomeAssistant,
    emulator_session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A bug (here: the HTTP library failing oddly) is logged for a report."""
    result = await start_azure_flow(hass, AzureCloud.GLOBAL)

    with patch.object(
        emulator_session, "_request", side_effect=RuntimeError("library bug")
    ):
        result = await submit(
            hass, result, {CONF_REGION: "westeurope", CONF_API_KEY: TEST_KEY}
        )

    assert result["errors"] == {"base": "unknown"}
    assert "Unexpected error" in caplog.text
    assert "library bug" in caplog.text
    assert TEST_KEY not in caplog.text


async def test_key_no_service_could_accept_shows_invalid_auth(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    result = await start_azure_flow(hass, AzureCloud.GLOBAL)

    # Pasted with a line break in the middle: it could never be sent.
    result = await submit(
        hass, result, {CONF_REGION: "eastus", CONF_API_KEY: "test\nkey"}
    )

    assert result["errors"] == {"base": "invalid_auth"}
    assert emulator.requests == []


@pytest.mark.parametrize(
    "endpoint",
    [
        "ftp://speech.example.com",
        "https://",
        "https://speech.example.com/?key=1",
        "http://user:password@speech.example.com",
    ],
)
async def test_invalid_endpoint_is_shown_on_the_endpoint_field(
    hass: HomeAssistant, emulator: Emulator, endpoint: str
) -> None:
    result = await start_azure_flow(hass, AzureCloud.CUSTOM)

    result = await submit(hass, result, {CONF_ENDPOINT: endpoint})

    assert result["errors"] == {CONF_ENDPOINT: "invalid_endpoint"}
    assert emulator.requests == []


@pytest.mark.usefixtures("skip_setup")
async def test_speech_container_without_key_creates_entry(
    hass: HomeAssistant, emulator: Emulator, emulator_server: EmulatorServer
) -> None:
    result = await start_azure_flow(hass, AzureCloud.CUSTOM)
    assert fields(result) == [CONF_ENDPOINT, CONF_API_KEY]
    assert selector_config(result, CONF_ENDPOINT)["type"] == "url"

    result = await submit(hass, result, {CONF_ENDPOINT: emulator_server.http_url})
    result = await submit(hass, result, {CONF_LANGUAGE: "en-US"})
    result = await submit(hass, result, {CONF_VOICE: "en-US-JennyNeural"})

    assert result["type"] is FlowResultType.CREATE_ENTRY
    host = emulator_server.http_url.removeprefix("http://").rstrip("/")
    assert result["title"] == f"Azure Speech ({host})"
    assert result["data"] == {
        CONF_SERVICE: SERVICE_AZURE,
        CONF_CLOUD: "custom",
        CONF_ENDPOINT: emulator_server.http_url,
    }
    [request] = emulator.requests_for("voices")
    assert "Ocp-Apim-Subscription-Key" not in request.headers


@pytest.mark.usefixtures("skip_setup")
async def test_custom_subdomain_with_key_creates_entry(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    result = await start_azure_flow(hass, AzureCloud.CUSTOM)

    result = await submit(
        hass,
        result,
        {
            CONF_ENDPOINT: " https://my-speech.cognitiveservices.azure.com/ ",
            CONF_API_KEY: TEST_KEY,
        },
    )
    result = await submit(hass, result, {CONF_LANGUAGE: "en-US"})
    result = await submit(hass, result, {CONF_VOICE: "en-US-JennyNeural"})

    assert result["title"] == "Azure Speech (my-speech.cognitiveservices.azure.com)"
    assert result["data"][CONF_ENDPOINT] == (
        "https://my-speech.cognitiveservices.azure.com/"
    )
    [request] = emulator.requests_for("voices")
    assert request.host == "my-speech.cognitiveservices.azure.com"


@pytest.mark.usefixtures("skip_setup")
async def test_same_resource_and_key_aborts_already_configured(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    mock_config_entry.add_to_hass(hass)

    result = await start_azure_flow(hass, AzureCloud.CHINA)
    result = await submit(
        hass, result, {CONF_REGION: "chinaeast2", CONF_API_KEY: TEST_KEY}
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


@pytest.mark.usefixtures("skip_setup")
async def test_same_region_with_another_key_is_another_entry(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, emulator: Emulator
) -> None:
    mock_config_entry.add_to_hass(hass)
    emulator.keys["second-key"] = "chinaeast2"

    result = await create_china_entry(hass, api_key="second-key")

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id != mock_config_entry.unique_id


@pytest.mark.usefixtures("skip_setup")
async def test_key_never_in_unique_id_or_title(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    secret = "0123456789abcdef0123456789abcdef"
    emulator.keys[secret] = "chinaeast2"

    result = await create_china_entry(hass, api_key=secret)

    entry = result["result"]
    assert entry.data[CONF_API_KEY] == secret
    assert entry.unique_id is not None
    assert secret not in entry.unique_id
    assert secret[:8] not in entry.unique_id
    assert secret not in entry.title


# --- language and voice --------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "country", "expected"),
    [
        ("en", None, "en-US"),
        ("en", "GB", "en-GB"),
        ("en", "DE", "en-US"),
        ("zh-Hans", None, "zh-CN"),
        ("zh-Hans", "CN", "zh-CN"),
        ("zh-Hant", "TW", "zh-TW"),
        ("de", "AT", "de-AT"),
        ("pt-BR", "PT", "pt-BR"),
        ("tlh", None, "en-US"),
    ],
)
async def test_language_defaults_to_home_assistants(
    hass: HomeAssistant, language: str, country: str | None, expected: str
) -> None:
    hass.config.language = language
    hass.config.country = country
    result = await start_azure_flow(hass, AzureCloud.CHINA)

    result = await submit(
        hass, result, {CONF_REGION: "chinaeast2", CONF_API_KEY: TEST_KEY}
    )

    assert result["step_id"] == "language"
    assert suggested(result, CONF_LANGUAGE) == expected


async def test_language_without_english_falls_back_to_the_first(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    hass.config.language = "fr"
    emulator.voices[:] = [
        voice
        for voice in emulator.voices
        if voice["Locale"] in ("ga-IE", "zh-CN")
        and not voice.get("SecondaryLocaleList")
    ]
    for voice in emulator.voices:
        if voice["Locale"] == "ga-IE":
            del voice["LocaleName"]
    result = await start_azure_flow(hass, AzureCloud.CHINA)

    result = await submit(
        hass, result, {CONF_REGION: "chinaeast2", CONF_API_KEY: TEST_KEY}
    )

    assert selector_config(result, CONF_LANGUAGE)["options"] == [
        {"value": "ga-IE", "label": "ga-IE"},  # no LocaleName: the tag alone
        {"value": "zh-CN", "label": "zh-CN — Chinese (Mandarin, Simplified)"},
    ]
    assert suggested(result, CONF_LANGUAGE) == "ga-IE"


async def test_languages_are_normalized_and_named(hass: HomeAssistant) -> None:
    result = await start_azure_flow(hass, AzureCloud.CHINA)

    result = await submit(
        hass, result, {CONF_REGION: "chinaeast2", CONF_API_KEY: TEST_KEY}
    )

    options = selector_config(result, CONF_LANGUAGE)["options"]
    labels = {option["value"]: option["label"] for option in options}
    assert labels["zh-CN"] == "zh-CN — Chinese (Mandarin, Simplified)"
    assert labels["ga-IE"] == "ga-IE — Irish (Ireland)"
    # Azure spells some locales "zh-cn": offered once, in the canonical case.
    assert "zh-cn" not in labels
    assert list(labels) == sorted(labels)


async def test_voice_list_is_filtered_by_language(hass: HomeAssistant) -> None:
    result = await start_azure_flow(hass, AzureCloud.GLOBAL)
    result = await submit(hass, result, {CONF_REGION: "eastus", CONF_API_KEY: TEST_KEY})

    result = await submit(hass, result, {CONF_LANGUAGE: "de-DE"})

    voices = option_values(result, CONF_VOICE)
    natives = [voice for voice in voices if voice.startswith("de-DE-")]
    assert voices[: len(natives)] == natives
    assert suggested(result, CONF_VOICE) == voices[0]
    # Multilingual voices that speak German come after the native ones.
    assert "en-US-JennyMultilingualNeural" in voices[len(natives) :]
    assert "en-US-JennyNeural" not in voices
    assert not any(voice.startswith("fr-FR-Denise") for voice in voices)


async def test_voice_labels_describe_the_voice(hass: HomeAssistant) -> None:
    result = await start_azure_flow(hass, AzureCloud.CHINA)
    result = await submit(
        hass, result, {CONF_REGION: "chinaeast2", CONF_API_KEY: TEST_KEY}
    )

    result = await submit(hass, result, {CONF_LANGUAGE: "zh-CN"})

    options = selector_config(result, CONF_VOICE)["options"]
    labels = {option["value"]: option["label"] for option in options}
    assert "Yunxi" in labels[YUNXI]
    assert "Male" in labels[YUNXI]
    assert "zh-CN" in labels[YUNXI]
    assert "12 styles" in labels[YUNXI]
    # Chinese is one of Jenny Multilingual's secondary locales ("zh-cn").
    assert "en-US-JennyMultilingualNeural" in labels


# --- options -------------------------------------------------------------------


@pytest.mark.usefixtures("init_integration")
async def test_options_offer_only_the_chosen_voices_styles_and_roles(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, emulator: Emulator
) -> None:
    result = await hass.config_entries.options.async_init(mock_config_entry.entry_id)

    assert result["step_id"] == "init"
    assert fields(result) == [CONF_VOICE, CONF_OUTPUT_FORMAT]
    assert len(option_values(result, CONF_VOICE)) == len(
        mock_config_entry.runtime_data.voices
    )
    assert suggested(result, CONF_VOICE) == YUNXI
    assert option_values(result, CONF_OUTPUT_FORMAT) == list(OUTPUT_FORMATS)
    assert selector_config(result, CONF_OUTPUT_FORMAT)["translation_key"] == (
        "output_format"
    )
    assert suggested(result, CONF_OUTPUT_FORMAT) == DEFAULT_OUTPUT_FORMAT

    result = await submit_options(
        hass, result, {CONF_VOICE: YUNXI, CONF_OUTPUT_FORMAT: OUTPUT_FORMATS[1]}
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
    assert option_values(result, CONF_STYLE) == YUNXI_STYLES
    assert option_values(result, CONF_ROLE) == ["Narrator", "YoungAdultMale", "Boy"]
    rate = selector_config(result, CONF_RATE)
    assert (rate["min"], rate["max"], rate["step"], rate["mode"]) == (
        -50,
        100,
        1,
        "slider",
    )


@pytest.mark.usefixtures("init_integration")
async def test_options_for_an_hd_voice_ask_no_style_or_prosody_and_drop_them(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    hass.config_entries.async_update_entry(
        mock_config_entry,
        options={CONF_VOICE: YUNXI, CONF_STYLE: "cheerful", CONF_RATE: 10},
    )
    await hass.async_block_till_done()
    result = await hass.config_entries.options.async_init(mock_config_entry.entry_id)

    result = await submit_options(
        hass,
        result,
        {
            CONF_VOICE: "en-US-Ava:DragonHDLatestNeural",
            CONF_OUTPUT_FORMAT: OUTPUT_FORMATS[0],
        },
    )
    await hass.async_block_till_done()

    # No settings step: HD voices take no style or prosody.
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert mock_config_entry.options == {
        CONF_VOICE: "en-US-Ava:DragonHDLatestNeural",
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
        hass, result, {CONF_VOICE: YUNXI, CONF_OUTPUT_FORMAT: OUTPUT_FORMATS[2]}
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
        CONF_VOICE: YUNXI,
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
        hass, result, {CONF_VOICE: ORLA, CONF_OUTPUT_FORMAT: DEFAULT_OUTPUT_FORMAT}
    )
    assert fields(result) == [CONF_RATE, CONF_PITCH, CONF_VOLUME]
    result = await submit_options(hass, result, {})

    # Orla speaks no Chinese: the default language follows the voice.
    assert mock_config_entry.options == {
        CONF_VOICE: ORLA,
        CONF_LANGUAGE: "ga-IE",
        CONF_OUTPUT_FORMAT: DEFAULT_OUTPUT_FORMAT,
    }


async def test_style_and_role_of_the_previous_voice_are_dropped(
    hass: HomeAssistant,
) -> None:
    entry = await setup_china_entry(
        hass,
        {
            CONF_VOICE: YUNXI,
            CONF_LANGUAGE: "zh-CN",
            CONF_STYLE: "narration-relaxed",
            CONF_STYLE_DEGREE: 1.2,
            CONF_ROLE: "Narrator",
            CONF_RATE: 15,
        },
    )
    result = await hass.config_entries.options.async_init(entry.entry_id)

    # Xiaoxiao has styles, but not "narration-relaxed", and no roles.
    result = await submit_options(
        hass, result, {CONF_VOICE: XIAOXIAO, CONF_OUTPUT_FORMAT: DEFAULT_OUTPUT_FORMAT}
    )
    assert CONF_ROLE not in fields(result)
    assert suggested(result, CONF_STYLE) is None
    assert suggested(result, CONF_STYLE_DEGREE) is None
    assert suggested(result, CONF_RATE) == 15
    result = await submit_options(hass, result, {CONF_RATE: 15})

    assert entry.options == {
        CONF_VOICE: XIAOXIAO,
        CONF_LANGUAGE: "zh-CN",
        CONF_OUTPUT_FORMAT: DEFAULT_OUTPUT_FORMAT,
        CONF_RATE: 15,
    }


async def test_style_the_new_voice_also_has_is_suggested(
    hass: HomeAssistant,
) -> None:
    entry = await setup_china_entry(
        hass, {CONF_VOICE: YUNXI, CONF_STYLE: "cheerful", CONF_STYLE_DEGREE: 0.5}
    )
    result = await hass.config_entries.options.async_init(entry.entry_id)

    result = await submit_options(
        hass, result, {CONF_VOICE: XIAOXIAO, CONF_OUTPUT_FORMAT: DEFAULT_OUTPUT_FORMAT}
    )

    assert suggested(result, CONF_STYLE) == "cheerful"
    assert suggested(result, CONF_STYLE_DEGREE) == 0.5


@pytest.mark.parametrize(
    ("settings", "errors"),
    [
        ({CONF_STYLE_DEGREE: 1.2}, {CONF_STYLE_DEGREE: "style_degree_without_style"}),
        ({CONF_ROLE: "Boy"}, {CONF_ROLE: "role_without_style"}),
        (
            {CONF_STYLE_DEGREE: 1.2, CONF_ROLE: "Boy"},
            {
                CONF_STYLE_DEGREE: "style_degree_without_style",
                CONF_ROLE: "role_without_style",
            },
        ),
    ],
)
@pytest.mark.usefixtures("init_integration")
async def test_style_degree_or_role_without_style_is_an_error(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    settings: dict[str, Any],
    errors: dict[str, str],
) -> None:
    """Azure ignores them without a style; the entity would refuse every call."""
    result = await hass.config_entries.options.async_init(mock_config_entry.entry_id)
    result = await submit_options(
        hass, result, {CONF_VOICE: YUNXI, CONF_OUTPUT_FORMAT: DEFAULT_OUTPUT_FORMAT}
    )

    result = await submit_options(hass, result, settings)

    assert result["type"] is FlowResultType.FORM
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


# --- re-authentication ---------------------------------------------------------


@pytest.mark.usefixtures("init_integration")
async def test_reauth_with_a_new_key_updates_and_reloads_the_entry(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, emulator: Emulator
) -> None:
    emulator.keys = {"rotated-key": "chinaeast2"}
    result = await mock_config_entry.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_confirm"
    assert fields(result) == [CONF_API_KEY]
    assert result["description_placeholders"]["resource"] == "chinaeast2"

    result = await submit(hass, result, {CONF_API_KEY: "rotated-key"})
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert mock_config_entry.data == {**AZURE_CHINA_DATA, CONF_API_KEY: "rotated-key"}
    assert mock_config_entry.unique_id == unique_id_for(mock_config_entry.data)
    assert mock_config_entry.state is ConfigEntryState.LOADED


@pytest.mark.usefixtures("init_integration")
async def test_reauth_with_a_wrong_key_shows_invalid_auth(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, emulator: Emulator
) -> None:
    result = await mock_config_entry.start_reauth_flow(hass)

    result = await submit(hass, result, {CONF_API_KEY: "still-wrong"})

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_auth"}
    assert mock_config_entry.data == AZURE_CHINA_DATA

    emulator.inject(Fault(target="voices", status=503, times=10))
    result = await submit(hass, result, {CONF_API_KEY: TEST_KEY})
    assert result["errors"] == {"base": "cannot_connect"}


@pytest.mark.usefixtures("init_integration")
async def test_reauth_with_the_key_of_another_entry_aborts(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, emulator: Emulator
) -> None:
    emulator.keys["other-key"] = None
    other_data = {**AZURE_CHINA_DATA, CONF_API_KEY: "other-key"}
    MockConfigEntry(
        domain=DOMAIN, data=other_data, unique_id=unique_id_for(other_data)
    ).add_to_hass(hass)
    result = await mock_config_entry.start_reauth_flow(hass)

    result = await submit(hass, result, {CONF_API_KEY: "other-key"})

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert mock_config_entry.data == AZURE_CHINA_DATA


# --- reconfiguration -----------------------------------------------------------


@pytest.mark.usefixtures("init_integration")
async def test_reconfigure_to_another_region_keeps_the_key(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, emulator: Emulator
) -> None:
    result = await mock_config_entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"
    assert suggested(result, CONF_CLOUD) == "china"

    result = await submit(hass, result, {CONF_CLOUD: "china"})
    assert result["step_id"] == "reconfigure_region"
    assert suggested(result, CONF_REGION) == "chinaeast2"
    # The key is optional and never sent back to the browser.
    assert suggested(result, CONF_API_KEY) is None
    assert isinstance(
        next(marker for marker in schema_of(result) if str(marker) == CONF_API_KEY),
        probatio.Optional,
    )

    emulator.reset_requests()
    result = await submit(hass, result, {CONF_REGION: "chinanorth3"})
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert mock_config_entry.data == {**AZURE_CHINA_DATA, CONF_REGION: "chinanorth3"}
    assert mock_config_entry.title == "Azure Speech (chinanorth3)"
    assert mock_config_entry.unique_id == unique_id_for(mock_config_entry.data)
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert emulator.requests_for("voices")[0].host == "chinanorth3.tts.speech.azure.cn"


@pytest.mark.usefixtures("init_integration")
async def test_reconfigure_to_a_speech_container_does_not_take_the_cloud_key_along(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    emulator_server: EmulatorServer,
    emulator: Emulator,
) -> None:
    result = await mock_config_entry.start_reconfigure_flow(hass)
    result = await submit(hass, result, {CONF_CLOUD: "custom"})
    assert result["step_id"] == "reconfigure_custom"
    assert suggested(result, CONF_ENDPOINT) is None

    result = await submit(hass, result, {CONF_ENDPOINT: emulator_server.http_url})
    await hass.async_block_till_done()

    assert result["reason"] == "reconfigure_successful"
    # The Azure key is only sent where the user typed it: not over plain HTTP
    # to a container it was never meant for.
    assert mock_config_entry.data == {
        CONF_SERVICE: SERVICE_AZURE,
        CONF_CLOUD: "custom",
        CONF_ENDPOINT: emulator_server.http_url,
    }
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert all(
        "Ocp-Apim-Subscription-Key" not in request.headers
        for request in emulator.requests
        if request.cloud == "container"
    )


@pytest.mark.usefixtures("init_integration")
async def test_reconfigure_with_a_new_key_checks_it(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, emulator: Emulator
) -> None:
    emulator.keys = {TEST_KEY: "chinaeast2", "global-key": "westeurope"}
    result = await mock_config_entry.start_reconfigure_flow(hass)
    result = await submit(hass, result, {CONF_CLOUD: "global"})
    # Another cloud: the old region means nothing there.
    assert suggested(result, CONF_REGION) is None

    result = await submit(hass, result, {CONF_REGION: "westeurope"})
    assert result["errors"] == {"base": "invalid_auth"}
    assert suggested(result, CONF_REGION) == "westeurope"

    result = await submit(
        hass, result, {CONF_REGION: "westeurope", CONF_API_KEY: "global-key"}
    )
    await hass.async_block_till_done()

    assert result["reason"] == "reconfigure_successful"
    assert mock_config_entry.data == {
        CONF_SERVICE: SERVICE_AZURE,
        CONF_CLOUD: "global",
        CONF_REGION: "westeurope",
        CONF_API_KEY: "global-key",
    }


@pytest.mark.usefixtures("init_integration")
async def test_reconfigure_to_another_entrys_resource_aborts(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    other_data = {**AZURE_CHINA_DATA, CONF_REGION: "chinanorth2"}
    MockConfigEntry(
        domain=DOMAIN, data=other_data, unique_id=unique_id_for(other_data)
    ).add_to_hass(hass)
    result = await mock_config_entry.start_reconfigure_flow(hass)
    result = await submit(hass, result, {CONF_CLOUD: "china"})

    result = await submit(hass, result, {CONF_REGION: "chinanorth2"})

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert mock_config_entry.data == AZURE_CHINA_DATA


@pytest.mark.usefixtures("init_integration")
async def test_reconfigure_to_an_invalid_endpoint_shows_the_error(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    result = await mock_config_entry.start_reconfigure_flow(hass)
    result = await submit(hass, result, {CONF_CLOUD: "custom"})

    result = await submit(hass, result, {CONF_ENDPOINT: "speech.example.com"})

    assert result["errors"] == {CONF_ENDPOINT: "invalid_endpoint"}


# --- Convai ----------------------------------------------------------------------

CONVAI_DATA: dict[str, Any] = {
    CONF_SERVICE: SERVICE_CONVAI,
    CONF_API_KEY: CONVAI_TEST_KEY,
}
RACHEL = "21m00Tcm4TlvDq8ikWAM"  # ElevenLabs, en-US
OLD_BRITISH_MAN = "Old British Man"  # ElevenLabs, en-GB
MANDARIN = "cmn-CN-Wavenet-A"  # listed by Convai as cmn-CN
NO_ENDPOINT: dict[str, Any] = {SECTION_ADVANCED: {}}


async def start_convai_flow(hass: HomeAssistant) -> ConfigFlowResult:
    """Open the flow and pick Convai; returns the key form."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    return await submit(hass, result, {"next_step_id": SERVICE_CONVAI})


def advanced_section(result: ConfigFlowResult) -> section:
    """The collapsible section of the Convai forms."""
    value = schema_of(result)[SECTION_ADVANCED]
    assert isinstance(value, section)
    return value


def suggested_endpoint(result: ConfigFlowResult) -> Any:
    [marker] = advanced_section(result).schema.schema
    assert str(marker) == CONF_ENDPOINT
    return (marker.description or {}).get("suggested_value")


async def setup_convai_entry(
    hass: HomeAssistant,
    data: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
) -> MockConfigEntry:
    """Set up a Convai entry (speaking with Rachel unless told otherwise)."""
    data = data or CONVAI_DATA
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=entry_title(data),
        data=data,
        options=options or {CONF_VOICE: RACHEL, CONF_LANGUAGE: "en-US"},
        unique_id=unique_id_for(data),
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def test_convai_key_creates_entry_titled_convai(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    """Key → language → voice; the one Convai flow test that sets the entry up."""
    result = await start_convai_flow(hass)
    assert result["step_id"] == SERVICE_CONVAI
    assert fields(result) == [CONF_API_KEY, SECTION_ADVANCED]
    assert selector_config(result, CONF_API_KEY)["type"] == "password"
    assert result["description_placeholders"] == {"convai_url": "https://convai.com"}

    result = await submit(
        hass, result, {CONF_API_KEY: f" {CONVAI_TEST_KEY} ", **NO_ENDPOINT}
    )
    assert result["step_id"] == "language"
    result = await submit(hass, result, {CONF_LANGUAGE: "en-US"})
    assert result["step_id"] == "voice"
    result = await submit(hass, result, {CONF_VOICE: RACHEL})
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Convai"
    assert result["data"] == CONVAI_DATA
    assert result["options"] == {CONF_VOICE: RACHEL, CONF_LANGUAGE: "en-US"}
    entry = result["result"]
    assert entry.unique_id == unique_id_for(CONVAI_DATA)
    assert entry.state is ConfigEntryState.LOADED
    assert {r.host for r in emulator.requests_for("convai_voices")} == {
        "api.convai.com"
    }
    assert emulator.requests_for("voices") == []  # nothing asked of Azure


async def test_convai_endpoint_is_a_collapsed_optional_field(
    hass: HomeAssistant,
) -> None:
    result = await start_convai_flow(hass)

    advanced = advanced_section(result)
    assert advanced.options == {"collapsed": True}
    [marker] = advanced.schema.schema
    assert isinstance(marker, probatio.Optional)
    assert dict(advanced.schema.schema[marker].config)["type"] == "url"


@pytest.mark.usefixtures("skip_setup")
async def test_wrong_convai_key_shows_invalid_auth_on_the_form(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    result = await start_convai_flow(hass)

    result = await submit(hass, result, {CONF_API_KEY: "wrong-key", **NO_ENDPOINT})

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == SERVICE_CONVAI
    assert result["errors"] == {"base": "invalid_auth"}
    assert suggested(result, CONF_API_KEY) == "wrong-key"
    assert [r.status for r in emulator.requests_for("convai_voices")] == [401]

    result = await submit(hass, result, {CONF_API_KEY: CONVAI_TEST_KEY, **NO_ENDPOINT})
    assert result["step_id"] == "language"


async def test_unreachable_convai_endpoint_shows_cannot_connect(
    hass: HomeAssistant,
) -> None:
    result = await start_convai_flow(hass)

    # Nothing listens on port 1.
    result = await submit(
        hass,
        result,
        {
            CONF_API_KEY: CONVAI_TEST_KEY,
            SECTION_ADVANCED: {CONF_ENDPOINT: "http://127.0.0.1:1"},
        },
    )

    assert result["errors"] == {"base": "cannot_connect"}
    # What was typed stays visible: the section opens on it.
    assert suggested_endpoint(result) == "http://127.0.0.1:1"
    assert advanced_section(result).options == {"collapsed": False}


async def test_failing_convai_shows_cannot_connect(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    emulator.inject(Fault(target="convai_voices", status=500, times=10))
    result = await start_convai_flow(hass)

    result = await submit(hass, result, {CONF_API_KEY: CONVAI_TEST_KEY, **NO_ENDPOINT})

    assert result["errors"] == {"base": "cannot_connect"}


async def test_convai_answer_that_is_no_voice_list_says_so(
    hass: HomeAssistant, emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    emulator.inject(Fault(target="convai_voices", status=200, body="{}"))
    result = await start_convai_flow(hass)

    result = await submit(hass, result, {CONF_API_KEY: CONVAI_TEST_KEY, **NO_ENDPOINT})

    assert result["errors"] == {"base": "invalid_voice_list"}
    assert "Traceback" not in caplog.text
    assert CONVAI_TEST_KEY not in caplog.text


async def test_invalid_convai_endpoint_is_shown_on_its_section(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    result = await start_convai_flow(hass)

    result = await submit(
        hass,
        result,
        {
            CONF_API_KEY: CONVAI_TEST_KEY,
            SECTION_ADVANCED: {CONF_ENDPOINT: "api.convai.com"},
        },
    )

    assert result["errors"] == {SECTION_ADVANCED: "invalid_endpoint"}
    assert advanced_section(result).options == {"collapsed": False}
    assert emulator.requests == []


@pytest.mark.usefixtures("skip_setup")
async def test_convai_emulator_endpoint_creates_entry_titled_by_host(
    hass: HomeAssistant, emulator: Emulator, emulator_server: EmulatorServer
) -> None:
    """A developer points the integration at the emulator's Convai API."""
    endpoint = f"{emulator_server.http_url}/convai"
    result = await start_convai_flow(hass)

    result = await submit(
        hass,
        result,
        {CONF_API_KEY: CONVAI_TEST_KEY, SECTION_ADVANCED: {CONF_ENDPOINT: endpoint}},
    )
    result = await submit(hass, result, {CONF_LANGUAGE: "en-US"})
    result = await submit(hass, result, {CONF_VOICE: RACHEL})

    host = emulator_server.http_url.removeprefix("http://")
    assert result["title"] == f"Convai ({host})"
    assert result["data"] == {**CONVAI_DATA, CONF_ENDPOINT: endpoint}
    [request] = emulator.requests_for("convai_voices")
    assert request.path == "/convai/tts/get_available_voices"


@pytest.mark.usefixtures("skip_setup")
async def test_same_convai_key_aborts_already_configured(hass: HomeAssistant) -> None:
    MockConfigEntry(
        domain=DOMAIN, data=CONVAI_DATA, unique_id=unique_id_for(CONVAI_DATA)
    ).add_to_hass(hass)
    result = await start_convai_flow(hass)

    result = await submit(hass, result, {CONF_API_KEY: CONVAI_TEST_KEY, **NO_ENDPOINT})

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


@pytest.mark.usefixtures("skip_setup")
async def test_convai_and_azure_entries_live_side_by_side(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    mock_config_entry.add_to_hass(hass)
    result = await start_convai_flow(hass)

    result = await submit(hass, result, {CONF_API_KEY: CONVAI_TEST_KEY, **NO_ENDPOINT})

    assert result["step_id"] == "language"


@pytest.mark.usefixtures("skip_setup")
async def test_convai_languages_are_mapped_and_default_to_home_assistants(
    hass: HomeAssistant,
) -> None:
    hass.config.language = "zh-Hans"
    result = await start_convai_flow(hass)

    result = await submit(hass, result, {CONF_API_KEY: CONVAI_TEST_KEY, **NO_ENDPOINT})

    # Convai lists Google's cmn-CN, yue-HK and iw-IL: offered as BCP 47 tags.
    assert option_values(result, CONF_LANGUAGE) == [
        "ar",
        "de-DE",
        "en-AU",
        "en-GB",
        "en-US",
        "es-ES",
        "fr-FR",
        "he-IL",
        "zh-CN",
        "zh-HK",
    ]
    assert suggested(result, CONF_LANGUAGE) == "zh-CN"

    result = await submit(hass, result, {CONF_LANGUAGE: "zh-CN"})
    assert option_values(result, CONF_VOICE) == [MANDARIN, "zh-CN-XiaoxiaoNeural"]
    assert suggested(result, CONF_VOICE) == MANDARIN
    labels = {
        o["value"]: o["label"] for o in selector_config(result, CONF_VOICE)["options"]
    }
    assert labels[MANDARIN] == "Mandarin Female (Female, zh-CN)"

    result = await submit(hass, result, {CONF_VOICE: MANDARIN})
    assert result["options"] == {CONF_VOICE: MANDARIN, CONF_LANGUAGE: "zh-CN"}


async def test_convai_options_offer_every_voice_and_the_encoding(
    hass: HomeAssistant,
) -> None:
    entry = await setup_convai_entry(hass)
    loaded = entry.runtime_data
    result = await hass.config_entries.options.async_init(entry.entry_id)

    assert result["step_id"] == SERVICE_CONVAI
    assert fields(result) == [CONF_VOICE, CONF_ENCODING]
    assert len(option_values(result, CONF_VOICE)) == len(loaded.voices)
    assert suggested(result, CONF_VOICE) == RACHEL
    assert option_values(result, CONF_ENCODING) == ["wav", "mp3"]
    assert selector_config(result, CONF_ENCODING)["translation_key"] == "encoding"
    assert suggested(result, CONF_ENCODING) == "wav"

    result = await submit_options(
        hass, result, {CONF_VOICE: RACHEL, CONF_ENCODING: "mp3"}
    )
    await hass.async_block_till_done()

    # No voice settings step: Convai voices have none.
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {
        CONF_VOICE: RACHEL,
        CONF_LANGUAGE: "en-US",
        CONF_ENCODING: "mp3",
    }
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data is not loaded

    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert suggested(result, CONF_ENCODING) == "mp3"


async def test_convai_options_language_follows_the_voice(hass: HomeAssistant) -> None:
    entry = await setup_convai_entry(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)

    await submit_options(
        hass, result, {CONF_VOICE: OLD_BRITISH_MAN, CONF_ENCODING: "wav"}
    )

    # Old British Man speaks no American English: en-US would pick another voice.
    assert entry.options == {
        CONF_VOICE: OLD_BRITISH_MAN,
        CONF_LANGUAGE: "en-GB",
        CONF_ENCODING: "wav",
    }


async def test_convai_reauth_with_a_new_key_updates_and_reloads_the_entry(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    entry = await setup_convai_entry(hass)
    emulator.convai_keys = {"rotated-convai-key"}
    result = await entry.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_confirm"
    assert fields(result) == [CONF_API_KEY]
    assert result["description_placeholders"]["resource"] == "api.convai.com"

    result = await submit(hass, result, {CONF_API_KEY: "wrong"})
    assert result["errors"] == {"base": "invalid_auth"}

    result = await submit(hass, result, {CONF_API_KEY: "rotated-convai-key"})
    await hass.async_block_till_done()

    assert result["reason"] == "reauth_successful"
    assert entry.data == {**CONVAI_DATA, CONF_API_KEY: "rotated-convai-key"}
    assert entry.unique_id == unique_id_for(entry.data)
    assert entry.state is ConfigEntryState.LOADED


async def test_convai_reconfigure_asks_for_the_key_and_the_endpoint(
    hass: HomeAssistant,
    emulator: Emulator,
    emulator_server: EmulatorServer,
) -> None:
    entry = await setup_convai_entry(hass)
    result = await entry.start_reconfigure_flow(hass)

    # No cloud to choose: straight to the key.
    assert result["step_id"] == "reconfigure_convai"
    assert fields(result) == [CONF_API_KEY, SECTION_ADVANCED]
    key = next(marker for marker in schema_of(result) if str(marker) == CONF_API_KEY)
    assert isinstance(key, probatio.Optional)
    assert suggested(result, CONF_API_KEY) is None  # never sent back to the browser
    assert suggested_endpoint(result) is None
    assert advanced_section(result).options == {"collapsed": True}

    endpoint = f"{emulator_server.http_url}/convai"
    result = await submit(hass, result, {SECTION_ADVANCED: {CONF_ENDPOINT: endpoint}})
    # The stored key is not sent to an endpoint it was not entered for.
    assert result["errors"] == {CONF_API_KEY: "api_key_required"}
    assert emulator.requests_for("convai_voices") == [
        request
        for request in emulator.requests_for("convai_voices")
        if request.host == "api.convai.com"
    ]

    result = await submit(
        hass,
        result,
        {CONF_API_KEY: CONVAI_TEST_KEY, SECTION_ADVANCED: {CONF_ENDPOINT: endpoint}},
    )
    await hass.async_block_till_done()

    assert result["reason"] == "reconfigure_successful"
    assert entry.data == {**CONVAI_DATA, CONF_ENDPOINT: endpoint}
    assert entry.title == f"Convai ({emulator_server.http_url.removeprefix('http://')})"
    assert entry.unique_id == unique_id_for(entry.data)
    assert entry.state is ConfigEntryState.LOADED
    assert emulator.requests_for("convai_voices")[-1].path == (
        "/convai/tts/get_available_voices"
    )


async def test_convai_reconfigure_back_to_convai_itself(
    hass: HomeAssistant, emulator_server: EmulatorServer
) -> None:
    data = {**CONVAI_DATA, CONF_ENDPOINT: f"{emulator_server.http_url}/convai"}
    entry = await setup_convai_entry(hass, data=data)
    result = await entry.start_reconfigure_flow(hass)

    # The current endpoint is shown, its section open.
    assert suggested_endpoint(result) == data[CONF_ENDPOINT]
    assert advanced_section(result).options == {"collapsed": False}

    result = await submit(hass, result, {SECTION_ADVANCED: {CONF_ENDPOINT: " "}})
    assert result["errors"] == {CONF_API_KEY: "api_key_required"}

    result = await submit(
        hass,
        result,
        {CONF_API_KEY: CONVAI_TEST_KEY, SECTION_ADVANCED: {CONF_ENDPOINT: " "}},
    )
    await hass.async_block_till_done()

    assert result["reason"] == "reconfigure_successful"
    assert entry.data == CONVAI_DATA
    assert entry.title == "Convai"
    assert entry.state is ConfigEntryState.LOADED


async def test_convai_reconfigure_checks_a_new_key(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    entry = await setup_convai_entry(hass)
    emulator.convai_keys.add("second-convai-key")
    result = await entry.start_reconfigure_flow(hass)

    result = await submit(hass, result, {CONF_API_KEY: "typo", **NO_ENDPOINT})
    assert result["step_id"] == "reconfigure_convai"
    assert result["errors"] == {"base": "invalid_auth"}

    result = await submit(
        hass, result, {CONF_API_KEY: "second-convai-key", **NO_ENDPOINT}
    )
    await hass.async_block_till_done()

    assert result["reason"] == "reconfigure_successful"
    assert entry.data == {**CONVAI_DATA, CONF_API_KEY: "second-convai-key"}
    assert entry.unique_id == unique_id_for(entry.data)


async def test_convai_reconfigure_to_another_entrys_key_aborts(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    entry = await setup_convai_entry(hass)
    emulator.convai_keys.add("second-convai-key")
    other = {**CONVAI_DATA, CONF_API_KEY: "second-convai-key"}
    MockConfigEntry(
        domain=DOMAIN, data=other, unique_id=unique_id_for(other)
    ).add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)

    result = await submit(
        hass, result, {CONF_API_KEY: "second-convai-key", **NO_ENDPOINT}
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert entry.data == CONVAI_DATA


# --- strings and translations ----------------------------------------------------


def load_json(path: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return result


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat |= flatten(value, f"{prefix}{key}::")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def resolve_references(strings: dict[str, Any]) -> dict[str, str]:
    """strings.json with [%key:…%] references replaced, as HA's build does."""
    common = flatten(
        load_json(Path(homeassistant.__file__).parent / "strings.json")["common"],
        "common::",
    )
    own = flatten(strings, f"component::{DOMAIN}::")
    reference = re.compile(r"\[%key:([^%]+)%\]")

    def resolve(text: str) -> str:
        return reference.sub(lambda match: resolve((common | own)[match[1]]), text)

    return {key: resolve(text) for key, text in flatten(strings).items()}


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", text))


STRINGS = load_json(INTEGRATION_DIR / "strings.json")
EN = flatten(load_json(INTEGRATION_DIR / "translations" / "en.json"))
ZH_HANS = flatten(load_json(INTEGRATION_DIR / "translations" / "zh-Hans.json"))


def test_english_translation_is_strings_json_resolved() -> None:
    assert resolve_references(STRINGS) == EN


def test_chinese_translation_has_every_key_and_placeholder() -> None:
    assert set(ZH_HANS) == set(EN)
    assert {key: placeholders(text) for key, text in ZH_HANS.items()} == {
        key: placeholders(text) for key, text in EN.items()
    }
    # Actually translated, not copied.
    assert ZH_HANS["config::step::azure::title"] != EN["config::step::azure::title"]


def test_every_form_step_and_selector_option_has_strings() -> None:
    forms = {
        name.removeprefix("async_step_")
        for name in vars(CloudSpeechConfigFlow)
        if name.startswith("async_step_")
    } - {"reauth"}  # reauth only opens reauth_confirm
    assert forms <= set(STRINGS["config"]["step"])
    option_forms = {
        name.removeprefix("async_step_")
        for name in vars(CloudSpeechOptionsFlow)
        if name.startswith("async_step_")
    }
    assert option_forms <= set(STRINGS["options"]["step"])
    for step in [
        *STRINGS["config"]["step"].values(),
        *STRINGS["options"]["step"].values(),
    ]:
        for part in [step, *step.get("sections", {}).values()]:
            assert set(part.get("data", {})) == set(part.get("data_description", {}))
    assert set(STRINGS["config"]["step"]["user"]["menu_options"]) == {
        SERVICE_AZURE,
        SERVICE_CONVAI,
    }
    assert set(STRINGS["selector"]["cloud"]["options"]) == {c.value for c in AzureCloud}
    assert set(STRINGS["selector"]["output_format"]["options"]) == set(OUTPUT_FORMATS)
    assert set(STRINGS["selector"]["encoding"]["options"]) == set(CONVAI_ENCODINGS)


def test_translations_contain_no_urls() -> None:
    """URLs go in placeholders (hassfest rejects them in strings)."""
    for text in [*EN.values(), *ZH_HANS.values()]:
        assert "://" not in text


@pytest.mark.usefixtures("init_integration")
async def test_reconfigure_uses_the_new_resources_voices_at_once(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    emulator: Emulator,
    emulator_server: EmulatorServer,
) -> None:
    # The container offers fewer voices than the cloud region had (cached).
    emulator.voices = emulator.voices[:3]
    result = await mock_config_entry.start_reconfigure_flow(hass)
    result = await submit(hass, result, {CONF_CLOUD: "custom"})

    result = await submit(hass, result, {CONF_ENDPOINT: emulator_server.http_url})
    await hass.async_block_till_done()

    assert result["reason"] == "reconfigure_successful"
    assert len(mock_config_entry.runtime_data.voices) == 3
