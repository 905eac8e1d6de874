"""Moving an entry to another resource, region, endpoint or key; its voice is kept."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigEntryState
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
    CONF_REGION,
    CONF_SERVICE,
    SERVICE_AZURE,
)
from custom_components.cloud_speech.helpers import unique_id_for
from tests.emulator import CONVAI_TEST_KEY, TEST_KEY, Emulator, EmulatorServer

from .conftest import AZURE_CHINA_DATA, DEFAULT_OPTIONS
from .flow_helpers import (
    CONVAI_DATA,
    KEY_AUTH,
    NO_ENDPOINT,
    add_other_entry,
    advanced_section,
    fields,
    marker_of,
    set_up_convai_entry,
    set_up_entry,
    submit,
    suggested,
    suggested_endpoint,
    tts_entity_of,
)
from .tts_calls import speak

#: Stands for the emulator's container URL in the tables below.
CONTAINER = "container"

# --- Azure -------------------------------------------------------------------------


@pytest.mark.usefixtures("init_integration")
async def test_reconfigure_to_another_region_keeps_the_key(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, emulator: Emulator
) -> None:
    result = await mock_config_entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"
    assert suggested(result, CONF_CLOUD) == "china"

    result = await submit(hass, result, {CONF_CLOUD: "china"})
    assert result["step_id"] == "reconfigure_region"
    assert fields(result) == [CONF_REGION, CONF_API_KEY, CONF_AUTH_MODE]
    assert suggested(result, CONF_REGION) == "chinaeast2"
    assert suggested(result, CONF_AUTH_MODE) == "key"
    # The key is optional and never sent back to the browser.
    assert suggested(result, CONF_API_KEY) is None
    assert isinstance(marker_of(result, CONF_API_KEY), probatio.Optional)

    emulator.reset_requests()
    result = await submit(hass, result, {CONF_REGION: "chinanorth3"})
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert mock_config_entry.data == {
        **AZURE_CHINA_DATA,
        CONF_REGION: "chinanorth3",
        **KEY_AUTH,
    }
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
        **KEY_AUTH,
    }
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert all(
        "Ocp-Apim-Subscription-Key" not in request.headers
        for request in emulator.requests
        if request.cloud == "container"
    )


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


@pytest.mark.parametrize(
    ("cloud", "user_input", "errors", "fixed"),
    [
        pytest.param(
            # Another cloud: the old region means nothing there, and the
            # China key is refused.
            "global",
            {CONF_REGION: "westeurope"},
            {"base": "invalid_auth"},
            {CONF_REGION: "westeurope", CONF_API_KEY: "global-key"},
            id="stored-key-refused-elsewhere",
        ),
        pytest.param(
            "custom",
            {CONF_ENDPOINT: "speech.example.com"},
            {CONF_ENDPOINT: "invalid_endpoint"},
            {CONF_ENDPOINT: CONTAINER},
            id="invalid-endpoint",
        ),
        pytest.param(
            "custom",
            {CONF_ENDPOINT: "http://127.0.0.1:5000", CONF_AUTH_MODE: "token"},
            {CONF_AUTH_MODE: "token_unsupported"},
            {CONF_ENDPOINT: CONTAINER, CONF_AUTH_MODE: "key"},
            id="token-from-a-container",
        ),
    ],
)
@pytest.mark.usefixtures("init_integration")
async def test_reconfigure_errors_are_shown_and_the_flow_recovers(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    emulator: Emulator,
    emulator_server: EmulatorServer,
    *,
    cloud: str,
    user_input: dict[str, Any],
    errors: dict[str, str],
    fixed: dict[str, Any],
) -> None:
    emulator.keys = {TEST_KEY: "chinaeast2", "global-key": "westeurope"}
    result = await mock_config_entry.start_reconfigure_flow(hass)
    result = await submit(hass, result, {CONF_CLOUD: cloud})
    assert (
        suggested(result, CONF_REGION if cloud != "custom" else CONF_ENDPOINT) is None
    )

    result = await submit(hass, result, user_input)

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    for name, value in user_input.items():
        assert suggested(result, name) == value
    assert mock_config_entry.data == AZURE_CHINA_DATA

    if fixed.get(CONF_ENDPOINT) == CONTAINER:
        fixed = {**fixed, CONF_ENDPOINT: emulator_server.http_url}
    result = await submit(hass, result, {CONF_API_KEY: TEST_KEY, **fixed})
    await hass.async_block_till_done()
    assert result["reason"] == "reconfigure_successful"
    assert mock_config_entry.data[CONF_CLOUD] == cloud
    assert mock_config_entry.data[CONF_API_KEY] == fixed.get(CONF_API_KEY, TEST_KEY)


@pytest.mark.usefixtures("init_integration")
async def test_reconfigure_to_another_entrys_resource_aborts(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    add_other_entry(hass, {**AZURE_CHINA_DATA, CONF_REGION: "chinanorth2"})
    result = await mock_config_entry.start_reconfigure_flow(hass)
    result = await submit(hass, result, {CONF_CLOUD: "china"})

    result = await submit(hass, result, {CONF_REGION: "chinanorth2"})

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert mock_config_entry.data == AZURE_CHINA_DATA


@pytest.mark.usefixtures("init_integration")
async def test_reconfigure_to_token_authentication_speaks_with_bearer_tokens(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, emulator: Emulator
) -> None:
    result = await mock_config_entry.start_reconfigure_flow(hass)
    result = await submit(hass, result, {CONF_CLOUD: "china"})

    result = await submit(
        hass, result, {CONF_REGION: "chinaeast2", CONF_AUTH_MODE: "token"}
    )
    await hass.async_block_till_done()
    emulator.reset_requests()
    await speak(hass, "换成令牌了。", engine=tts_entity_of(hass, mock_config_entry))

    assert result["reason"] == "reconfigure_successful"
    assert mock_config_entry.data == {**AZURE_CHINA_DATA, CONF_AUTH_MODE: "token"}
    [synthesis] = emulator.requests_for("synthesis")
    assert synthesis.headers["Authorization"].startswith("Bearer ")
    assert "Ocp-Apim-Subscription-Key" not in synthesis.headers


async def test_reconfigure_keeps_token_authentication(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    data = {**AZURE_CHINA_DATA, CONF_AUTH_MODE: "token"}
    entry = await set_up_entry(hass, data, DEFAULT_OPTIONS)
    result = await entry.start_reconfigure_flow(hass)
    result = await submit(hass, result, {CONF_CLOUD: "china"})
    assert suggested(result, CONF_AUTH_MODE) == "token"

    # A form submitted without the choice (an older frontend, a script).
    result = await submit(hass, result, {CONF_REGION: "chinanorth2"})
    await hass.async_block_till_done()

    assert result["reason"] == "reconfigure_successful"
    assert entry.data == {**data, CONF_REGION: "chinanorth2"}
    assert entry.state is ConfigEntryState.LOADED
    assert (
        emulator.requests_for("token")[-1].host == "chinanorth2.api.cognitive.azure.cn"
    )


# --- Convai -------------------------------------------------------------------------


async def test_convai_reconfigure_asks_for_the_key_and_the_endpoint(
    hass: HomeAssistant, emulator: Emulator, emulator_server: EmulatorServer
) -> None:
    entry = await set_up_convai_entry(hass)
    result = await entry.start_reconfigure_flow(hass)

    # No cloud to choose: straight to the key.
    assert result["step_id"] == "reconfigure_convai"
    assert fields(result) == [CONF_API_KEY, SECTION_ADVANCED]
    assert isinstance(marker_of(result, CONF_API_KEY), probatio.Optional)
    assert suggested(result, CONF_API_KEY) is None  # never sent back to the browser
    assert suggested_endpoint(result) is None
    assert advanced_section(result).options == {"collapsed": True}

    endpoint = f"{emulator_server.http_url}/convai"
    emulator.reset_requests()
    result = await submit(hass, result, {SECTION_ADVANCED: {CONF_ENDPOINT: endpoint}})
    # The stored key is not sent to an endpoint it was not entered for.
    assert result["errors"] == {CONF_API_KEY: "api_key_required"}
    assert emulator.requests == []

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
    entry = await set_up_convai_entry(hass, data)
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
    entry = await set_up_convai_entry(hass)
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
    entry = await set_up_convai_entry(hass)
    emulator.convai_keys.add("second-convai-key")
    add_other_entry(hass, {**CONVAI_DATA, CONF_API_KEY: "second-convai-key"})
    result = await entry.start_reconfigure_flow(hass)

    result = await submit(
        hass, result, {CONF_API_KEY: "second-convai-key", **NO_ENDPOINT}
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert entry.data == CONVAI_DATA
