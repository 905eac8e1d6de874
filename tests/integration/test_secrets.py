"""Secret hygiene: the API key stays between the user and the service.

The key is set to a unique marker; every path (setup, the config and reauth
flows, success and every failure the emulator can stage, token mode, an
unreachable host) runs with every logger at DEBUG. The marker must then be
nowhere: not in the log, not in any exception (its str, repr, arguments and
attributes, along the whole __cause__/__context__ chain, aiohttp's own
exceptions included), not in diagnostics, entry titles, unique ids, flow forms
or entity states.

Requests are traced as aiohttp sends them (scheme, port, headers): cloud
endpoints are HTTPS only, plain HTTP is used only for a custom endpoint the
user typed, and no key goes to an endpoint the user entered none for.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Iterator
from dataclasses import dataclass
import json
import logging
from typing import Any

import aiohttp
from homeassistant.config_entries import SOURCE_USER, ConfigEntry, ConfigEntryState
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from yarl import URL

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
)
from custom_components.cloud_speech.helpers import unique_id_for
from custom_components.cloud_speech.speech.azure import REGIONS, azure_endpoints
from tests.emulator import TEST_KEY, Emulator, EmulatorServer, Fault

from .test_faults import (
    ClientTuning,
    assert_complete_mp3,
    assert_translated,
    served_audio,
    tuned_clients,
)
from .tts_calls import speak

MARKER = "SECRET-MARKER-5f0c1d2e9a7b4c38"
KEY_HEADER = "Ocp-Apim-Subscription-Key"
ECHO_JSON = json.dumps({"error": {"code": "400", "message": f"Bad key {MARKER}"}})
ECHO_TEXT = f"{KEY_HEADER}: {MARKER} was refused"


@dataclass(frozen=True)
class SentRequest:
    """A request as aiohttp sent it."""

    method: str
    url: URL
    headers: dict[str, str]


@pytest.fixture
def wire() -> list[SentRequest]:
    """Every request the integration's session sends, in order."""
    return []


@pytest.fixture
async def emulator_session(
    emulator_server: EmulatorServer, wire: list[SentRequest]
) -> AsyncIterator[aiohttp.ClientSession]:
    """The emulator's session, traced at the moment each request is sent."""

    async def on_request_start(
        session: aiohttp.ClientSession,
        context: Any,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        wire.append(SentRequest(params.method, params.url, dict(params.headers)))

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_request_start)
    connector = aiohttp.TCPConnector(resolver=emulator_server.resolver(), ssl=False)
    async with aiohttp.ClientSession(
        connector=connector, trace_configs=[trace]
    ) as session:
        yield session


@pytest.fixture(autouse=True)
def tuning() -> Iterator[ClientTuning]:
    """Short timeouts and no real waits between retries: the paths, not the clock."""
    with tuned_clients(ClientTuning()) as tuning:
        yield tuning


@pytest.fixture
def debug_everywhere(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Capture every logger at DEBUG, the level a user turns on to report a bug."""
    caplog.set_level(logging.DEBUG)
    for name in list(logging.root.manager.loggerDict):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def exception_texts(error: BaseException) -> Iterator[str]:
    """Everything an exception chain can show: messages, reprs, args, attributes."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield str(current)
        yield repr(current)
        yield repr(current.args)
        yield repr(getattr(current, "__dict__", {}))
        pending += [current.__cause__, current.__context__]
        if isinstance(current, BaseExceptionGroup):
            pending += list(current.exceptions)


class Sweep:
    """Runs calls that may fail and keeps every exception to inspect."""

    def __init__(self) -> None:
        self.exceptions: list[BaseException] = []
        self.shown: list[Any] = []  # flow forms, titles, states: what users see

    async def attempt(self, call: Awaitable[Any]) -> Any:
        try:
            return await call
        except Exception as err:  # noqa: BLE001 - every failure is inspected
            self.exceptions.append(err)
            return None

    def leaks(self, caplog: pytest.LogCaptureFixture) -> list[str]:
        texts = [caplog.text]
        for record in caplog.records:
            texts.append(record.getMessage())
            if record.exc_info and record.exc_info[1] is not None:
                texts.extend(exception_texts(record.exc_info[1]))
        for error in self.exceptions:
            texts.extend(exception_texts(error))
        texts.extend(repr(item) for item in self.shown)
        return [text[:300] for text in texts if MARKER in text]


def visible(result: dict[str, Any]) -> dict[str, Any]:
    """What a flow result shows the user (the created entry's data is stored, not shown)."""
    return {
        key: value for key, value in result.items() if key not in ("data", "result")
    }


def engine_of(hass: HomeAssistant, entry: ConfigEntry) -> str:
    """The entity id of an entry's TTS entity (its first voice profile's)."""
    [entity] = [
        entity
        for entity in er.async_entries_for_config_entry(
            er.async_get(hass), entry.entry_id
        )
        if entity.domain == "tts"
    ]
    return entity.entity_id


async def start_flow(hass: HomeAssistant, cloud: str) -> dict[str, Any]:
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
    hass: HomeAssistant, result: dict[str, Any], user_input: dict[str, Any]
) -> dict[str, Any]:
    return await hass.config_entries.flow.async_configure(result["flow_id"], user_input)


# Every way the emulator can fail a synthesis request, most echoing the key.
SYNTHESIS_FAULTS = [
    Fault(status=400, body=ECHO_JSON),
    Fault(status=400, body=ECHO_TEXT),
    Fault(status=415, body=ECHO_TEXT),
    Fault(status=401, body=ECHO_TEXT),
    Fault(status=403, body=ECHO_JSON),
    Fault(status=429, body=ECHO_TEXT, headers={"Retry-After": "0"}, times=3),
    Fault(status=500, body=ECHO_TEXT, times=3),
    Fault(status=503, body=f"<html><body>{MARKER}</body></html>", times=3),
    Fault(status=307, headers={"Location": f"https://evil.example/?key={MARKER}"}),
    Fault(status=200, body=b""),
    Fault(cut_after=100),
    Fault(stall_after=100),
    Fault(hang=True, times=3),
]
TOKEN_FAULTS = [
    Fault(target="token", status=500, body=ECHO_TEXT, times=3),
    Fault(target="token", status=401, body=ECHO_JSON),
    Fault(target="token", status=400, body=ECHO_JSON),
    # A "token" that is no token: the body is never quoted back.
    Fault(target="token", status=200, body=f"Bearer {MARKER} and more"),
]


async def test_the_key_never_leaks_on_any_path(
    hass: HomeAssistant,
    emulator: Emulator,
    hass_client: ClientSessionGenerator,
    debug_everywhere: pytest.LogCaptureFixture,
) -> None:
    emulator.keys = {MARKER: None}
    sweep = Sweep()

    # The config flow: first the service echoes the key in a refusal, then it works.
    emulator.inject(Fault(target="voices", status=400, body=ECHO_JSON))
    result = await start_flow(hass, "china")
    result = await submit(
        hass, result, {CONF_REGION: "chinaeast2", CONF_API_KEY: MARKER}
    )
    assert result["errors"] == {"base": "unknown"}
    sweep.shown.append(visible(result))
    result = await submit(
        hass, result, {CONF_REGION: "chinaeast2", CONF_API_KEY: MARKER}
    )
    result = await submit(hass, result, {CONF_LANGUAGE: "zh-CN"})
    result = await submit(hass, result, {CONF_VOICE: "zh-cn-YunxiNeural"})
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    sweep.shown.append(visible(result))
    entry = result["result"]
    assert entry.state is ConfigEntryState.LOADED

    # Success.
    engine = engine_of(hass, entry)
    _, audio = await speak(hass, "All is well.", engine=engine)
    assert_complete_mp3(audio, served_audio(emulator))

    # Every failure of a synthesis request.
    for number, fault in enumerate(SYNTHESIS_FAULTS):
        emulator.inject(fault)
        await sweep.attempt(speak(hass, f"Failure number {number}.", engine=engine))
    await hass.async_block_till_done()
    assert len(sweep.exceptions) == len(SYNTHESIS_FAULTS)
    assert all(isinstance(error, HomeAssistantError) for error in sweep.exceptions)
    bad_request = sweep.exceptions[0]
    assert isinstance(bad_request, HomeAssistantError)
    assert_translated(bad_request, "bad_request")
    # The service's reason is kept, the key in it is not.
    assert "Bad key ***" in str(bad_request)

    # Re-authentication: the form, and a wrong key that the service echoes.
    [reauth] = [
        flow
        for flow in hass.config_entries.flow.async_progress()
        if flow["context"]["source"] == "reauth"
    ]
    sweep.shown.append(reauth)
    emulator.inject(Fault(target="voices", status=400, body=ECHO_TEXT))
    result = await hass.config_entries.flow.async_configure(
        reauth["flow_id"], {CONF_API_KEY: MARKER}
    )
    sweep.shown.append(visible(result))

    # Token mode: the token endpoint fails in every way, echoing the key.
    token_data = {
        CONF_SERVICE: SERVICE_AZURE,
        CONF_CLOUD: "china",
        CONF_REGION: "chinanorth2",
        CONF_API_KEY: MARKER,
        CONF_AUTH_MODE: "token",
    }
    token_entry = MockConfigEntry(
        domain=DOMAIN,
        title="Azure Speech (chinanorth2)",
        data=token_data,
        options={CONF_VOICE: "zh-cn-YunxiNeural"},
        unique_id=unique_id_for(token_data),
    )
    token_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(token_entry.entry_id)
    await hass.async_block_till_done()
    token_engine = "tts.azure_speech_chinanorth2_speech"
    await speak(hass, "Token mode works.", engine=token_engine)
    before = len(sweep.exceptions)
    for number, fault in enumerate(TOKEN_FAULTS):
        emulator.expire_tokens()
        emulator.inject(fault)
        await sweep.attempt(
            speak(hass, f"Token failure {number}.", engine=token_engine)
        )
    assert len(sweep.exceptions) == before + len(TOKEN_FAULTS)

    # A host that does not resolve: aiohttp's own connection errors.
    lost_data = {
        CONF_SERVICE: SERVICE_AZURE,
        CONF_CLOUD: "custom",
        CONF_ENDPOINT: "https://nowhere.invalid",
        CONF_API_KEY: MARKER,
    }
    lost_entry = MockConfigEntry(
        domain=DOMAIN, data=lost_data, unique_id=unique_id_for(lost_data)
    )
    lost_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(lost_entry.entry_id)
    await hass.async_block_till_done()
    assert lost_entry.state is ConfigEntryState.SETUP_RETRY
    sweep.shown.append(lost_entry.reason)
    result = await start_flow(hass, "custom")
    result = await submit(
        hass, result, {CONF_ENDPOINT: "https://nowhere.invalid", CONF_API_KEY: MARKER}
    )
    assert result["errors"] == {"base": "cannot_connect"}
    sweep.shown.append(visible(result))

    # What support and the UI get to see.
    for shown_entry in (entry, token_entry):
        diagnostics = await get_diagnostics_for_config_entry(
            hass, hass_client, shown_entry
        )
        assert diagnostics["last_error"]
        sweep.shown.append(diagnostics)
    for any_entry in hass.config_entries.async_entries(DOMAIN):
        sweep.shown += [any_entry.title, any_entry.unique_id, any_entry.reason]
    sweep.shown += [state.as_dict() for state in hass.states.async_all()]

    assert sweep.leaks(debug_everywhere) == []
    # The sweep saw the key where it belongs: in the requests to the service.
    assert any(
        request.headers.get(KEY_HEADER) == MARKER
        for request in emulator.requests_for("synthesis")
    )


# --- where requests go -------------------------------------------------------------


CLOUD_ENTRIES = [
    pytest.param("global", {CONF_REGION: "westeurope"}, id="global"),
    pytest.param("china", {CONF_REGION: "chinanorth3"}, id="china"),
    pytest.param("us_government", {CONF_REGION: "usgovarizona"}, id="us_government"),
    pytest.param(
        "custom",
        {CONF_ENDPOINT: "https://my-speech.cognitiveservices.azure.com"},
        id="custom_subdomain",
    ),
]


@pytest.mark.parametrize(("cloud", "where"), CLOUD_ENTRIES)
@pytest.mark.parametrize("auth_mode", ["key", "token"])
async def test_cloud_endpoints_are_reached_over_https_only(
    hass: HomeAssistant,
    emulator: Emulator,
    wire: list[SentRequest],
    *,
    cloud: str,
    where: dict[str, str],
    auth_mode: str,
) -> None:
    data = {
        CONF_SERVICE: SERVICE_AZURE,
        CONF_CLOUD: cloud,
        **where,
        CONF_API_KEY: TEST_KEY,
        CONF_AUTH_MODE: auth_mode,
    }
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Speech",
        data=data,
        options={CONF_VOICE: "en-US-JennyNeural"},
        unique_id=unique_id_for(data),
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    _, audio = await speak(hass, "Over TLS.", engine=engine_of(hass, entry))

    assert_complete_mp3(audio, served_audio(emulator))
    endpoints = entry.runtime_data.client.endpoints
    client_urls = [endpoints.synthesis_url, endpoints.voices_url]
    client_urls += [endpoints.token_url] if endpoints.token_url else []
    assert all(URL(url).scheme == "https" for url in client_urls)
    kinds = {"synthesis", "voices"} | ({"token"} if auth_mode == "token" else set())
    assert {request.kind for request in emulator.requests} == kinds
    assert wire
    assert {(sent.url.scheme, sent.url.port) for sent in wire} == {("https", 443)}
    assert {sent.url.host for sent in wire} == {
        request.host for request in emulator.requests
    }
    assert {sent.url.host for sent in wire} <= {URL(url).host for url in client_urls}


def test_every_regional_endpoint_is_https() -> None:
    for cloud, regions in REGIONS.items():
        for region in regions:
            endpoints = azure_endpoints(cloud, region=region)
            for url in (
                endpoints.synthesis_url,
                endpoints.voices_url,
                endpoints.token_url,
            ):
                assert url is not None
                assert url.startswith("https://"), url


@pytest.mark.parametrize(
    ("typed_key", "key_sent"),
    [
        pytest.param("", False, id="no_key_typed"),
        pytest.param(TEST_KEY, True, id="key_typed"),
    ],
)
async def test_plain_http_only_for_a_container_the_user_typed_and_only_their_key(
    hass: HomeAssistant,
    emulator: Emulator,
    emulator_server: EmulatorServer,
    wire: list[SentRequest],
    *,
    typed_key: str,
    key_sent: bool,
) -> None:
    emulator.container_requires_key = key_sent
    result = await start_flow(hass, "custom")
    user_input = {CONF_ENDPOINT: emulator_server.http_url}
    if typed_key:
        user_input[CONF_API_KEY] = typed_key
    result = await submit(hass, result, user_input)
    result = await submit(hass, result, {CONF_LANGUAGE: "en-US"})
    result = await submit(hass, result, {CONF_VOICE: "en-US-JennyNeural"})
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY

    _, audio = await speak(
        hass, "Inside the house.", engine=engine_of(hass, result["result"])
    )

    assert_complete_mp3(audio, served_audio(emulator))
    assert {(sent.url.scheme, sent.url.host) for sent in wire} == {
        ("http", "127.0.0.1")
    }
    for sent in wire:
        assert (KEY_HEADER in sent.headers) is key_sent
        assert "Authorization" not in sent.headers
    for request in emulator.requests:
        assert (request.headers.get(KEY_HEADER) == TEST_KEY) is key_sent


@pytest.mark.usefixtures("init_integration")
@pytest.mark.parametrize("status", [301, 302, 307, 308])
async def test_a_redirect_never_carries_the_key_elsewhere(
    hass: HomeAssistant,
    emulator: Emulator,
    emulator_server: EmulatorServer,
    wire: list[SentRequest],
    status: int,
) -> None:
    emulator.inject(
        Fault(
            status=status,
            headers={"Location": f"{emulator_server.http_url}/cognitiveservices/v1"},
        )
    )
    wire.clear()

    with pytest.raises(HomeAssistantError) as err:
        await speak(hass, "Stay where you are.")

    assert f"HTTP {status}" in str(err.value)
    assert [(sent.url.scheme, sent.url.host) for sent in wire] == [
        ("https", "chinaeast2.tts.speech.azure.cn")
    ]
    assert {request.host for request in emulator.requests} == {
        "chinaeast2.tts.speech.azure.cn"
    }
