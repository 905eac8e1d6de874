"""Adding a speech service in the UI: service → credentials → language → voice.

Every credential check goes to the emulator: the flows run our real client.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from unittest.mock import patch

import aiohttp
from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import probatio
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.cloud_speech.config_flow import SECTION_ADVANCED
from custom_components.cloud_speech.const import (
    CONF_AUTH_MODE,
    CONF_CLOUD,
    CONF_ENDPOINT,
    CONF_LANGUAGE,
    CONF_REGION,
    CONF_SERVICE,
    CONF_VOICE,
    DOMAIN,
    SERVICE_AZURE,
    SERVICE_CONVAI,
)
from custom_components.cloud_speech.helpers import unique_id_for
from custom_components.cloud_speech.speech.azure import REGIONS, AzureCloud
from tests.emulator import CONVAI_TEST_KEY, TEST_KEY, Emulator, EmulatorServer, Fault
from tests.voice_data import JENNY, JENNY_MULTILINGUAL, MANDARIN, RACHEL, YUNXI

from .flow_helpers import (
    CONVAI_DATA,
    KEY_AUTH,
    NO_ENDPOINT,
    add_other_entry,
    advanced_section,
    create_china_entry,
    fields,
    finish_with_voice,
    marker_of,
    option_values,
    profile_entities,
    profiles_of,
    selector_config,
    start_azure_flow,
    start_convai_flow,
    submit,
    suggested,
    suggested_endpoint,
    tts_entity_of,
)
from .tts_calls import speak

CHINA_KEY = {CONF_REGION: "chinaeast2", CONF_API_KEY: TEST_KEY}
SUBDOMAIN = "https://my-speech.cognitiveservices.azure.com"


@pytest.fixture
def skip_setup() -> Iterator[None]:
    """Create entries without setting them up (the flow is what is tested)."""
    with patch("custom_components.cloud_speech.async_setup_entry", return_value=True):
        yield


# --- the service and the cloud ----------------------------------------------------


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

    assert result["step_id"] == "azure"
    assert option_values(result, CONF_CLOUD) == [cloud.value for cloud in AzureCloud]
    assert selector_config(result, CONF_CLOUD)["translation_key"] == "cloud"


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


# --- Azure: a new entry -------------------------------------------------------------


async def test_china_region_creates_entry_titled_by_region(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    """The one Azure flow test that sets the created entry up for real."""
    result = await start_azure_flow(hass, AzureCloud.CHINA)
    assert result["step_id"] == "azure_region"
    assert fields(result) == [CONF_REGION, CONF_API_KEY, CONF_AUTH_MODE]
    assert selector_config(result, CONF_API_KEY)["type"] == "password"
    assert result["description_placeholders"] == {
        "portal_url": "https://portal.azure.cn"
    }

    result = await submit(hass, result, CHINA_KEY)
    assert result["step_id"] == "language"
    result = await submit(hass, result, {CONF_LANGUAGE: "zh-CN"})
    assert result["step_id"] == "voice"
    assert result["description_placeholders"] == {"language": "zh-CN"}
    result = await submit(hass, result, {CONF_VOICE: YUNXI.short_name})
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Azure Speech (chinaeast2)"
    assert result["data"] == {
        CONF_SERVICE: SERVICE_AZURE,
        CONF_CLOUD: "china",
        CONF_REGION: "chinaeast2",
        CONF_API_KEY: TEST_KEY,
        **KEY_AUTH,
    }
    # The entry is the account; the voice is its first voice profile.
    assert result["options"] == {}
    entry = result["result"]
    assert profiles_of(entry) == {
        "Yunxi": {CONF_VOICE: YUNXI.short_name, CONF_LANGUAGE: "zh-CN"}
    }
    assert profile_entities(hass, entry) == {"Yunxi": "tts.yunxi"}
    assert entry.unique_id == unique_id_for(result["data"])
    assert entry.state is ConfigEntryState.LOADED
    assert {request.host for request in emulator.requests_for("voices")} == {
        "chinaeast2.tts.speech.azure.cn"
    }


@pytest.mark.usefixtures("skip_setup")
async def test_us_government_region_reaches_its_own_host(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    result = await start_azure_flow(hass, AzureCloud.US_GOVERNMENT)
    result = await submit(
        hass, result, {CONF_REGION: "usgovvirginia", CONF_API_KEY: TEST_KEY}
    )
    result = await finish_with_voice(hass, result, "en-US", JENNY.short_name)

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Azure Speech (usgovvirginia)"
    [request] = emulator.requests_for("voices")
    assert request.host == "usgovvirginia.tts.speech.azure.us"


@pytest.mark.usefixtures("skip_setup")
async def test_speech_container_without_key_creates_entry(
    hass: HomeAssistant, emulator: Emulator, emulator_server: EmulatorServer
) -> None:
    result = await start_azure_flow(hass, AzureCloud.CUSTOM)
    assert fields(result) == [CONF_ENDPOINT, CONF_API_KEY, CONF_AUTH_MODE]
    assert selector_config(result, CONF_ENDPOINT)["type"] == "url"
    assert isinstance(marker_of(result, CONF_API_KEY), probatio.Optional)

    result = await submit(hass, result, {CONF_ENDPOINT: emulator_server.http_url})
    result = await finish_with_voice(hass, result, "en-US", JENNY.short_name)

    assert result["type"] is FlowResultType.CREATE_ENTRY
    host = emulator_server.http_url.removeprefix("http://").rstrip("/")
    assert result["title"] == f"Azure Speech ({host})"
    assert result["data"] == {
        CONF_SERVICE: SERVICE_AZURE,
        CONF_CLOUD: "custom",
        CONF_ENDPOINT: emulator_server.http_url,
        **KEY_AUTH,
    }
    [request] = emulator.requests_for("voices")
    assert "Ocp-Apim-Subscription-Key" not in request.headers


@pytest.mark.usefixtures("skip_setup")
async def test_custom_subdomain_with_key_creates_entry(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    result = await start_azure_flow(hass, AzureCloud.CUSTOM)

    result = await submit(
        hass, result, {CONF_ENDPOINT: f" {SUBDOMAIN}/ ", CONF_API_KEY: TEST_KEY}
    )
    result = await finish_with_voice(hass, result, "en-US", JENNY.short_name)

    assert result["title"] == "Azure Speech (my-speech.cognitiveservices.azure.com)"
    assert result["data"][CONF_ENDPOINT] == f"{SUBDOMAIN}/"
    [request] = emulator.requests_for("voices")
    assert request.host == "my-speech.cognitiveservices.azure.com"


# --- Azure: token authentication -------------------------------------------------------


async def test_token_authentication_creates_an_entry_that_speaks_with_bearer_tokens(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    """The key is exchanged for a token; only the token goes to the speech host."""
    result = await start_azure_flow(hass, AzureCloud.CHINA)
    assert option_values(result, CONF_AUTH_MODE) == ["key", "token"]
    assert selector_config(result, CONF_AUTH_MODE)["translation_key"] == "auth_mode"
    assert suggested(result, CONF_AUTH_MODE) == "key"

    result = await submit(hass, result, {**CHINA_KEY, CONF_AUTH_MODE: "token"})
    result = await finish_with_voice(hass, result, "zh-CN", YUNXI.short_name)
    await hass.async_block_till_done()
    entry = result["result"]
    _, audio = await speak(hass, "今天天气很好。", engine=tts_entity_of(hass, entry))

    assert entry.data[CONF_AUTH_MODE] == "token"
    assert entry.state is ConfigEntryState.LOADED
    assert audio
    # One token for the flow's check, one for the entry's client.
    assert {token.host for token in emulator.requests_for("token")} == {
        "chinaeast2.api.cognitive.azure.cn"
    }
    speech_requests = emulator.requests_for("voices") + emulator.requests_for(
        "synthesis"
    )
    assert {request.status for request in speech_requests} == {200}
    for request in speech_requests:
        assert request.headers["Authorization"].startswith("Bearer ")
        assert "Ocp-Apim-Subscription-Key" not in request.headers
    assert emulator.spoken_texts() == ["今天天气很好。"]


@pytest.mark.usefixtures("skip_setup")
async def test_token_authentication_of_a_custom_subdomain(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    result = await start_azure_flow(hass, AzureCloud.CUSTOM)

    result = await submit(
        hass,
        result,
        {CONF_ENDPOINT: SUBDOMAIN, CONF_API_KEY: TEST_KEY, CONF_AUTH_MODE: "token"},
    )
    result = await finish_with_voice(hass, result, "en-US", JENNY.short_name)

    assert result["data"][CONF_AUTH_MODE] == "token"
    [token] = emulator.requests_for("token")
    assert token.host == "my-speech.cognitiveservices.azure.com"
    [voices] = emulator.requests_for("voices")
    assert voices.headers["Authorization"].startswith("Bearer ")


# --- Azure: what the form shows, and how it recovers -------------------------------


def _refuse_china_key(emulator: Emulator) -> None:
    emulator.keys["china-north-key"] = "chinanorth3"


def _voice_list_fails(emulator: Emulator) -> None:
    emulator.inject(Fault(target="voices", status=503, times=10))


def _voice_list_is_a_web_page(emulator: Emulator) -> None:
    """A 200 that is no voice list: a captive portal, a wrong proxy."""
    emulator.inject(Fault(target="voices", status=200, body="<html>Welcome</html>"))


def _nothing(emulator: Emulator) -> None:
    pass


@pytest.mark.parametrize(
    ("cloud", "user_input", "arrange", "errors", "requests_made"),
    [
        pytest.param(
            "china",
            {CONF_REGION: "chinanorth2", CONF_API_KEY: "wrong-key"},
            _nothing,
            {"base": "invalid_auth"},
            True,
            id="wrong-key",
        ),
        pytest.param(
            "china",
            {CONF_REGION: "chinaeast2", CONF_API_KEY: "china-north-key"},
            _refuse_china_key,
            {"base": "invalid_auth"},
            True,
            id="key-of-another-region",
        ),
        pytest.param(
            "global",
            {CONF_REGION: "eastus", CONF_API_KEY: "test\nkey"},
            _nothing,
            {"base": "invalid_auth"},
            False,
            id="key-no-service-could-accept",
        ),
        pytest.param(
            "global",
            {CONF_REGION: "eastus", CONF_API_KEY: TEST_KEY},
            _voice_list_fails,
            {"base": "cannot_connect"},
            True,
            id="service-failing",
        ),
        pytest.param(
            "global",
            {CONF_REGION: "westeurope", CONF_API_KEY: TEST_KEY},
            _voice_list_is_a_web_page,
            {"base": "invalid_voice_list"},
            True,
            id="answer-that-is-no-voice-list",
        ),
        pytest.param(
            "custom",
            {CONF_ENDPOINT: "http://127.0.0.1:1"},  # nothing listens on port 1
            _nothing,
            {"base": "cannot_connect"},
            False,
            id="unreachable-host",
        ),
        *(
            pytest.param(
                "custom",
                {CONF_ENDPOINT: endpoint},
                _nothing,
                {CONF_ENDPOINT: "invalid_endpoint"},
                False,
                id=f"invalid-endpoint-{name}",
            )
            for name, endpoint in [
                ("ftp", "ftp://speech.example.com"),
                ("no-host", "https://"),
                ("query", "https://speech.example.com/?key=1"),
                ("credentials", "http://user:password@speech.example.com"),
            ]
        ),
        pytest.param(
            "custom",
            {CONF_ENDPOINT: "http://127.0.0.1:5000", CONF_AUTH_MODE: "token"},
            _nothing,
            {CONF_AUTH_MODE: "token_unsupported"},
            False,
            id="token-from-a-container",
        ),
        pytest.param(
            "custom",
            {CONF_ENDPOINT: "speech.example.com", CONF_AUTH_MODE: "token"},
            _nothing,
            {CONF_ENDPOINT: "invalid_endpoint"},
            False,
            id="token-from-an-invalid-endpoint",
        ),
        pytest.param(
            "custom",
            {CONF_ENDPOINT: SUBDOMAIN, CONF_AUTH_MODE: "token"},
            _nothing,
            {CONF_API_KEY: "token_needs_key"},
            False,
            id="token-without-key",
        ),
    ],
)
@pytest.mark.usefixtures("skip_setup")
async def test_azure_credentials_errors_are_shown_and_the_flow_recovers(
    hass: HomeAssistant,
    emulator: Emulator,
    emulator_server: EmulatorServer,
    *,
    cloud: str,
    user_input: dict[str, Any],
    arrange: Callable[[Emulator], None],
    errors: dict[str, str],
    requests_made: bool,
) -> None:
    arrange(emulator)
    result = await start_azure_flow(hass, cloud)

    result = await submit(hass, result, user_input)

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == f"azure_{'custom' if cloud == 'custom' else 'region'}"
    assert result["errors"] == errors
    assert bool(emulator.requests) is requests_made
    # What the user typed is kept, so a typo is easy to fix.
    for name, value in user_input.items():
        assert suggested(result, name) == value

    emulator.faults.clear()
    if cloud == "custom":
        fixed = {CONF_ENDPOINT: emulator_server.http_url}
    else:
        fixed = {**user_input, CONF_API_KEY: TEST_KEY}
    result = await submit(hass, result, fixed)
    result = await finish_with_voice(hass, result, "en-US", JENNY.short_name)
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.usefixtures("skip_setup")
async def test_unexpected_error_shows_unknown_and_logs_it(
    hass: HomeAssistant,
    emulator_session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A bug (here: the HTTP library failing oddly) is logged for a report."""
    result = await start_azure_flow(hass, AzureCloud.GLOBAL)
    user_input = {CONF_REGION: "westeurope", CONF_API_KEY: TEST_KEY}

    with patch.object(
        emulator_session, "_request", side_effect=RuntimeError("library bug")
    ):
        result = await submit(hass, result, user_input)

    assert result["errors"] == {"base": "unknown"}
    assert "Unexpected error" in caplog.text
    assert "library bug" in caplog.text
    assert TEST_KEY not in caplog.text
    result = await submit(hass, result, user_input)
    assert result["step_id"] == "language"


async def test_answer_that_is_no_voice_list_logs_no_traceback_or_key(
    hass: HomeAssistant, emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "secret-key-in-a-garbage-answer"
    emulator.keys[secret] = None
    _voice_list_is_a_web_page(emulator)
    result = await start_azure_flow(hass, AzureCloud.GLOBAL)

    result = await submit(
        hass, result, {CONF_REGION: "westeurope", CONF_API_KEY: secret}
    )

    assert result["errors"] == {"base": "invalid_voice_list"}
    assert "Traceback" not in caplog.text
    assert secret not in caplog.text


# --- one entry per resource and key ------------------------------------------------


@pytest.mark.usefixtures("skip_setup")
async def test_same_resource_and_key_aborts_already_configured(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    mock_config_entry.add_to_hass(hass)

    result = await start_azure_flow(hass, AzureCloud.CHINA)
    result = await submit(hass, result, CHINA_KEY)

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


# --- language and voice ---------------------------------------------------------------


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

    result = await submit(hass, result, CHINA_KEY)

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

    result = await submit(hass, result, CHINA_KEY)

    assert selector_config(result, CONF_LANGUAGE)["options"] == [
        {"value": "ga-IE", "label": "ga-IE"},  # no LocaleName: the tag alone
        {"value": "zh-CN", "label": "zh-CN — Chinese (Mandarin, Simplified)"},
    ]
    assert suggested(result, CONF_LANGUAGE) == "ga-IE"


async def test_languages_are_normalized_and_named(hass: HomeAssistant) -> None:
    result = await start_azure_flow(hass, AzureCloud.CHINA)

    result = await submit(hass, result, CHINA_KEY)

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
    assert JENNY_MULTILINGUAL.short_name in voices[len(natives) :]
    assert JENNY.short_name not in voices
    assert not any(voice.startswith("fr-FR-Denise") for voice in voices)


async def test_voice_labels_describe_the_voice(hass: HomeAssistant) -> None:
    result = await start_azure_flow(hass, AzureCloud.CHINA)
    result = await submit(hass, result, CHINA_KEY)

    result = await submit(hass, result, {CONF_LANGUAGE: "zh-CN"})

    options = selector_config(result, CONF_VOICE)["options"]
    labels = {option["value"]: option["label"] for option in options}
    label = labels[YUNXI.short_name]
    assert YUNXI.display_name in label
    assert "Male" in label
    assert "zh-CN" in label
    assert f"{len(YUNXI.styles)} styles" in label
    # Chinese is one of Jenny Multilingual's secondary locales ("zh-cn").
    assert JENNY_MULTILINGUAL.short_name in labels


# --- Convai ---------------------------------------------------------------------------


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
    result = await finish_with_voice(hass, result, "en-US", RACHEL.short_name)
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Convai"
    assert result["data"] == CONVAI_DATA
    entry = result["result"]
    assert profiles_of(entry) == {
        "Rachel": {CONF_VOICE: RACHEL.short_name, CONF_LANGUAGE: "en-US"}
    }
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


def _convai_voice_list_fails(emulator: Emulator) -> None:
    emulator.inject(Fault(target="convai_voices", status=500, times=10))


def _convai_voice_list_is_empty(emulator: Emulator) -> None:
    emulator.inject(Fault(target="convai_voices", status=200, body="{}"))


@pytest.mark.parametrize(
    ("user_input", "arrange", "errors", "section_open"),
    [
        pytest.param(
            {CONF_API_KEY: "wrong-key", **NO_ENDPOINT},
            _nothing,
            {"base": "invalid_auth"},
            False,
            id="wrong-key",
        ),
        pytest.param(
            {CONF_API_KEY: CONVAI_TEST_KEY, **NO_ENDPOINT},
            _convai_voice_list_fails,
            {"base": "cannot_connect"},
            False,
            id="service-failing",
        ),
        pytest.param(
            {CONF_API_KEY: CONVAI_TEST_KEY, **NO_ENDPOINT},
            _convai_voice_list_is_empty,
            {"base": "invalid_voice_list"},
            False,
            id="answer-that-is-no-voice-list",
        ),
        pytest.param(
            {
                CONF_API_KEY: CONVAI_TEST_KEY,
                SECTION_ADVANCED: {CONF_ENDPOINT: "http://127.0.0.1:1"},
            },
            _nothing,
            {"base": "cannot_connect"},
            True,
            id="unreachable-endpoint",
        ),
        pytest.param(
            {
                CONF_API_KEY: CONVAI_TEST_KEY,
                SECTION_ADVANCED: {CONF_ENDPOINT: "api.convai.com"},
            },
            _nothing,
            # Forms show errors per top-level field: the section's.
            {SECTION_ADVANCED: "invalid_endpoint"},
            True,
            id="invalid-endpoint",
        ),
    ],
)
@pytest.mark.usefixtures("skip_setup")
async def test_convai_credentials_errors_are_shown_and_the_flow_recovers(
    hass: HomeAssistant,
    emulator: Emulator,
    caplog: pytest.LogCaptureFixture,
    *,
    user_input: dict[str, Any],
    arrange: Callable[[Emulator], None],
    errors: dict[str, str],
    section_open: bool,
) -> None:
    arrange(emulator)
    result = await start_convai_flow(hass)

    result = await submit(hass, result, user_input)

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == SERVICE_CONVAI
    assert result["errors"] == errors
    assert suggested(result, CONF_API_KEY) == user_input[CONF_API_KEY]
    # What was typed stays visible: the section opens on it.
    assert advanced_section(result).options == {"collapsed": not section_open}
    assert suggested_endpoint(result) == user_input[SECTION_ADVANCED].get(CONF_ENDPOINT)
    assert "Traceback" not in caplog.text
    assert CONVAI_TEST_KEY not in caplog.text

    emulator.faults.clear()
    result = await submit(hass, result, {CONF_API_KEY: CONVAI_TEST_KEY, **NO_ENDPOINT})
    result = await finish_with_voice(hass, result, "en-US", RACHEL.short_name)
    assert result["data"] == CONVAI_DATA


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
    result = await finish_with_voice(hass, result, "en-US", RACHEL.short_name)

    host = emulator_server.http_url.removeprefix("http://")
    assert result["title"] == f"Convai ({host})"
    assert result["data"] == {**CONVAI_DATA, CONF_ENDPOINT: endpoint}
    [request] = emulator.requests_for("convai_voices")
    assert request.path == "/convai/tts/get_available_voices"


@pytest.mark.usefixtures("skip_setup")
async def test_same_convai_key_aborts_already_configured(hass: HomeAssistant) -> None:
    add_other_entry(hass, CONVAI_DATA)
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
    assert option_values(result, CONF_VOICE) == [
        MANDARIN.short_name,
        "zh-CN-XiaoxiaoNeural",
    ]
    assert suggested(result, CONF_VOICE) == MANDARIN.short_name
    labels = {
        o["value"]: o["label"] for o in selector_config(result, CONF_VOICE)["options"]
    }
    assert labels[MANDARIN.short_name] == "Mandarin Female (Female, zh-CN)"

    result = await submit(hass, result, {CONF_VOICE: MANDARIN.short_name})
    assert profiles_of(result["result"]) == {
        "Mandarin Female": {CONF_VOICE: MANDARIN.short_name, CONF_LANGUAGE: "zh-CN"}
    }
