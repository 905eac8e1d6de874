"""Re-authenticating after the service rejected the key: a new key, same resource."""

from __future__ import annotations

from collections.abc import Callable

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.cloud_speech.const import CONF_AUTH_MODE
from custom_components.cloud_speech.helpers import unique_id_for
from tests.emulator import Emulator, Fault

from .conftest import AZURE_CHINA_DATA, DEFAULT_OPTIONS
from .flow_helpers import (
    CONVAI_DATA,
    add_other_entry,
    fields,
    set_up_convai_entry,
    set_up_entry,
    submit,
)


@pytest.mark.usefixtures("init_integration")
async def test_reauth_with_a_new_key_updates_and_reloads_the_entry(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, emulator: Emulator
) -> None:
    emulator.keys = {"rotated-key": "chinaeast2"}
    result = await mock_config_entry.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_confirm"
    assert fields(result) == [CONF_API_KEY]
    assert result["description_placeholders"]["resource"] == "chinaeast2"

    result = await submit(hass, result, {CONF_API_KEY: " rotated-key "})
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert mock_config_entry.data == {**AZURE_CHINA_DATA, CONF_API_KEY: "rotated-key"}
    assert mock_config_entry.unique_id == unique_id_for(mock_config_entry.data)
    assert mock_config_entry.state is ConfigEntryState.LOADED


def _rotate_key(emulator: Emulator) -> None:
    emulator.keys = {"rotated-key": "chinaeast2"}


def _voice_list_fails(emulator: Emulator) -> None:
    _rotate_key(emulator)
    emulator.inject(Fault(target="voices", status=503, times=10))


@pytest.mark.parametrize(
    ("arrange", "typed_key", "errors"),
    [
        pytest.param(_rotate_key, "still-wrong", {"base": "invalid_auth"}, id="wrong"),
        pytest.param(
            _voice_list_fails, "rotated-key", {"base": "cannot_connect"}, id="failing"
        ),
    ],
)
@pytest.mark.usefixtures("init_integration")
async def test_reauth_errors_are_shown_and_the_flow_recovers(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    emulator: Emulator,
    *,
    arrange: Callable[[Emulator], None],
    typed_key: str,
    errors: dict[str, str],
) -> None:
    arrange(emulator)
    result = await mock_config_entry.start_reauth_flow(hass)

    result = await submit(hass, result, {CONF_API_KEY: typed_key})

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_confirm"
    assert result["errors"] == errors
    assert mock_config_entry.data == AZURE_CHINA_DATA

    emulator.faults.clear()
    result = await submit(hass, result, {CONF_API_KEY: "rotated-key"})
    assert result["reason"] == "reauth_successful"
    assert mock_config_entry.data[CONF_API_KEY] == "rotated-key"


@pytest.mark.usefixtures("init_integration")
async def test_reauth_with_the_key_of_another_entry_aborts(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, emulator: Emulator
) -> None:
    emulator.keys["other-key"] = None
    add_other_entry(hass, {**AZURE_CHINA_DATA, CONF_API_KEY: "other-key"})
    result = await mock_config_entry.start_reauth_flow(hass)

    result = await submit(hass, result, {CONF_API_KEY: "other-key"})

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert mock_config_entry.data == AZURE_CHINA_DATA


async def test_reauth_keeps_token_authentication_and_checks_the_key_with_it(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    data = {**AZURE_CHINA_DATA, CONF_AUTH_MODE: "token"}
    entry = await set_up_entry(hass, data, DEFAULT_OPTIONS)
    emulator.keys = {"rotated-key": "chinaeast2"}
    emulator.reset_requests()
    result = await entry.start_reauth_flow(hass)

    result = await submit(hass, result, {CONF_API_KEY: "rotated-key"})
    await hass.async_block_till_done()

    assert result["reason"] == "reauth_successful"
    assert entry.data == {**data, CONF_API_KEY: "rotated-key"}
    # The new key was exchanged for a token, as the entry will use it.
    assert emulator.requests_for("token")
    assert all(
        request.headers["Authorization"].startswith("Bearer ")
        for request in emulator.requests_for("voices")
    )


async def test_convai_reauth_with_a_new_key_updates_and_reloads_the_entry(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    entry = await set_up_convai_entry(hass)
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
