"""The emulator's network model: connection set-up and round trips.

Nothing here measures time: every delay the model applies is recorded on the
request (`connection_setup`, `arrival_delay`, `answer_delay`, `body_delays`),
and the tests assert those. Where a body chunk's delay depends on when it
really arrived, the test only waits (never asserts a duration) so that the
chunk is sent after the connection is ready, which fixes the delay exactly.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import sys
from types import SimpleNamespace
from typing import Any
import weakref

import aiohttp
from aiohttp.test_utils import TestClient, TestServer
import pytest

from benchmarks.emulator_proc import ConnectionCount, Timings, _control_app
from tests.emulator import TEST_KEY, Emulator, EmulatorServer
from tests.emulator.__main__ import _parse_arguments
from tests.emulator.audio import pcm16_tone, wav_container
from tests.emulator.network import Link, open_link

RTT = 0.02  # seconds: small, so the suite stays quick
VOICES = "https://westeurope.tts.speech.microsoft.com/cognitiveservices/voices/list"
STT = (
    "https://westeurope.stt.speech.microsoft.com"
    "/speech/recognition/conversation/cognitiveservices/v1?language=en-US"
)
KEY = {"Ocp-Apim-Subscription-Key": TEST_KEY}
WAV = "audio/wav; codecs=audio/pcm; samplerate=16000"


async def get_voices(session: aiohttp.ClientSession, url: str = VOICES) -> None:
    async with session.get(url, headers=KEY) as response:
        assert response.status == 200
        await response.read()


def delays(emulator: Emulator) -> list[tuple[bool, float, float, float]]:
    return [
        (r.new_connection, r.connection_setup, r.arrival_delay, r.answer_delay)
        for r in emulator.requests
    ]


# --- the model's arithmetic ------------------------------------------------------


def test_a_link_charges_setup_then_half_a_round_trip_each_way() -> None:
    link = Link(rtt=0.1, new_connection=True, secure=True, arrived_at=5.0, setup=0.2)

    assert link.half == pytest.approx(0.05)
    assert link.ready_at == pytest.approx(5.2)
    assert link.arrival_delay == pytest.approx(0.25)  # set-up + RTT/2
    assert link.body_ready_at(expect_continue=False) == pytest.approx(5.2)
    # The body waits for 100 Continue: the headers' way there and back.
    assert link.body_ready_at(expect_continue=True) == pytest.approx(5.3)


class FakeTransport:
    """Stands for one TCP connection (weakly referenced, like a real transport)."""


def fake_request(transport: object, *, secure: bool = True) -> Any:
    return SimpleNamespace(transport=transport, secure=secure)


@pytest.mark.parametrize(
    ("secure", "tls_round_trips", "setup_round_trips"),
    [
        (True, 1, 2),  # TCP + TLS 1.3
        (True, 2, 3),  # TCP + TLS 1.2
        (False, 1, 1),  # plain HTTP (a container): TCP only
    ],
)
async def test_a_new_connection_pays_tcp_and_tls_round_trips(
    secure: bool, tls_round_trips: int, setup_round_trips: int
) -> None:
    emulator = Emulator()
    emulator.network_rtt = 0.1
    emulator.tls_round_trips = tls_round_trips
    connections: Any = weakref.WeakKeyDictionary()
    transport = FakeTransport()

    first = open_link(emulator, connections, fake_request(transport, secure=secure))
    again = open_link(emulator, connections, fake_request(transport, secure=secure))

    assert first.new_connection
    assert first.setup == pytest.approx(setup_round_trips * 0.1)
    assert first.arrival_delay == pytest.approx(setup_round_trips * 0.1 + 0.05)
    assert not again.new_connection
    assert again.setup == 0
    assert again.arrival_delay == pytest.approx(0.05)
    assert emulator.connections_opened == 1


async def test_without_a_round_trip_time_nothing_is_delayed_but_connections_count() -> (
    None
):
    emulator = Emulator()
    connections: Any = weakref.WeakKeyDictionary()

    link = open_link(emulator, connections, fake_request(FakeTransport()))

    assert (link.new_connection, link.setup, link.arrival_delay) == (True, 0.0, 0.0)
    assert emulator.connections_opened == 1


# --- through the server ------------------------------------------------------


async def test_off_by_default_and_connections_are_still_counted(
    emulator: Emulator, emulator_session: aiohttp.ClientSession
) -> None:
    await get_voices(emulator_session)
    await get_voices(emulator_session)

    # The session keeps its connection: one set-up for both requests.
    assert emulator.connections_opened == 1
    assert delays(emulator) == [(True, 0.0, 0.0, 0.0), (False, 0.0, 0.0, 0.0)]


async def test_a_new_https_connection_costs_three_round_trips_a_reused_one_one(
    emulator: Emulator, emulator_session: aiohttp.ClientSession
) -> None:
    emulator.network_rtt = RTT

    await get_voices(emulator_session)
    await get_voices(emulator_session)

    [first, second] = emulator.requests
    assert first.new_connection
    # TCP 1 RTT + TLS 1.3 1 RTT, then RTT/2 there and RTT/2 back: 3 RTT.
    assert first.connection_setup == pytest.approx(2 * RTT)
    assert first.arrival_delay == pytest.approx(2.5 * RTT)
    assert first.answer_delay == pytest.approx(0.5 * RTT)
    assert not second.new_connection
    assert second.connection_setup == 0
    assert (second.arrival_delay, second.answer_delay) == pytest.approx(
        (0.5 * RTT, 0.5 * RTT)
    )
    assert emulator.connections_opened == 1


async def test_tls_1_2_costs_one_more_round_trip(
    emulator: Emulator, emulator_session: aiohttp.ClientSession
) -> None:
    emulator.network_rtt = RTT
    emulator.tls_round_trips = 2

    await get_voices(emulator_session)

    [record] = emulator.requests
    assert record.connection_setup == pytest.approx(3 * RTT)


async def test_plain_http_pays_no_tls(
    emulator: Emulator,
    emulator_server: EmulatorServer,
    emulator_session: aiohttp.ClientSession,
) -> None:
    emulator.network_rtt = RTT

    await get_voices(
        emulator_session, f"{emulator_server.http_url}/cognitiveservices/voices/list"
    )

    [record] = emulator.requests
    assert record.new_connection
    assert record.connection_setup == pytest.approx(RTT)  # TCP only


async def test_concurrent_requests_open_a_connection_each_then_reuse_them(
    emulator: Emulator, emulator_session: aiohttp.ClientSession
) -> None:
    emulator.network_rtt = RTT

    await asyncio.gather(get_voices(emulator_session), get_voices(emulator_session))
    await get_voices(emulator_session)

    assert [r.new_connection for r in emulator.requests] == [True, True, False]
    assert emulator.connections_opened == 2


async def test_a_client_that_closes_its_connections_pays_the_set_up_each_time(
    emulator: Emulator, emulator_server: EmulatorServer
) -> None:
    emulator.network_rtt = RTT
    connector = aiohttp.TCPConnector(
        resolver=emulator_server.resolver(), ssl=False, force_close=True
    )
    async with aiohttp.ClientSession(connector=connector) as session:
        await get_voices(session)
        await get_voices(session)

    assert [r.new_connection for r in emulator.requests] == [True, True]
    assert [r.connection_setup for r in emulator.requests] == pytest.approx(
        [2 * RTT, 2 * RTT]
    )
    assert emulator.connections_opened == 2


async def test_reset_requests_restarts_the_connection_count(
    emulator: Emulator, emulator_session: aiohttp.ClientSession
) -> None:
    await get_voices(emulator_session)
    emulator.reset_requests()

    await get_voices(emulator_session)

    assert emulator.connections_opened == 0  # the open connection was reused
    assert [r.new_connection for r in emulator.requests] == [False]


async def test_the_answer_waits_half_a_round_trip_also_for_errors(
    emulator: Emulator, emulator_session: aiohttp.ClientSession
) -> None:
    emulator.network_rtt = RTT

    async with emulator_session.get(VOICES) as response:  # no key: 401
        assert response.status == 401
        await response.read()

    [record] = emulator.requests
    assert record.status == 401
    assert record.answer_delay == pytest.approx(RTT / 2)


# --- a body streamed after the headers (speech to text) ---------------------------


async def test_a_streamed_upload_reaches_the_service_half_a_round_trip_late(
    emulator: Emulator, emulator_session: aiohttp.ClientSession
) -> None:
    emulator.network_rtt = RTT
    speech = pcm16_tone(8000, 16000)
    emulator.remember_speech(speech, "Good morning.")
    wav = wav_container(speech, 16000)
    late_chunks = 3

    async def body() -> AsyncIterator[bytes]:
        yield wav[:1000]  # before the connection is ready: held until then
        # Once the service has the headers, the 100 Continue's way back and
        # a little more: every later chunk leaves after the connection (and
        # the 100 Continue) are ready, so the model delays it by RTT/2 only.
        await emulator.wait_for_requests("recognition")
        await asyncio.sleep(RTT)
        step = (len(wav) - 1000) // late_chunks + 1
        for offset in range(1000, len(wav), step):
            yield wav[offset : offset + step]
            await asyncio.sleep(0.005)  # separate chunks on the server

    async with emulator_session.post(
        STT,
        data=body(),
        headers={**KEY, "Content-Type": WAV, "Accept": "application/json"},
        expect100=True,
    ) as response:
        assert response.status == 200
        assert (await response.json())["DisplayText"] == "Good morning."

    [record] = emulator.requests
    assert record.chunked
    assert record.expect_continue
    first, *later = record.body_delays
    # The first chunk really arrived between the headers and the end of the
    # set-up: it counts from the set-up, the 100 Continue's round trip and
    # its own way there, so at least RTT/2 and at most all of that.
    setup = record.connection_setup
    assert RTT / 2 <= first <= setup + RTT + RTT / 2 + 1e-9
    # Every later chunk and the end of the body: exactly its way there.
    assert len(later) >= 2
    assert later == pytest.approx([RTT / 2] * len(later))
    assert record.answer_delay == pytest.approx(RTT / 2)


async def test_an_upload_sent_at_once_waits_for_the_connection(
    emulator: Emulator, emulator_session: aiohttp.ClientSession
) -> None:
    emulator.network_rtt = RTT
    speech = pcm16_tone(4800, 16000)
    emulator.remember_speech(speech, "Hello.")

    async with emulator_session.post(
        STT,
        data=wav_container(speech, 16000),
        headers={**KEY, "Content-Type": WAV},
    ) as response:
        assert response.status == 200
        await response.read()

    [record] = emulator.requests
    assert not record.chunked
    setup = record.connection_setup
    assert setup == pytest.approx(2 * RTT)
    assert record.body_delays
    # Sent with the headers, so it arrives with them: set-up + RTT/2 at most.
    assert all(
        RTT / 2 <= delay <= setup + RTT / 2 + 1e-9 for delay in record.body_delays
    )


# --- switching it on: CLI and the benchmark's control API ------------------------


def test_the_command_line_takes_a_round_trip_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "argv", ["python -m tests.emulator", "--rtt", "0.05"])
    assert _parse_arguments().rtt == 0.05
    monkeypatch.setattr(sys, "argv", ["python -m tests.emulator"])
    assert _parse_arguments().rtt == 0.0


async def test_the_benchmark_control_api_sets_the_round_trip_time(
    socket_enabled: None,
) -> None:
    emulator = Emulator()
    client = TestClient(
        TestServer(_control_app(emulator, Timings(), ConnectionCount()))
    )
    await client.start_server()
    try:
        # Only the network keys: the service's pace stays as it was.
        response = await client.post(
            "/pace", json={"network_rtt": 0.2, "tls_round_trips": 2}
        )
        assert response.status == 200
        assert (emulator.network_rtt, emulator.tls_round_trips) == (0.2, 2)
        assert emulator.first_byte_delay == 0.0

        emulator.connections_opened = 3
        stats = await (await client.get("/stats")).json()
        assert stats["connections_opened"] == 3
        assert stats["new_connections"] == {}

        await client.post("/pace", json={"network_rtt": 0})
        assert emulator.network_rtt == 0.0
        await client.post("/reset")
        assert emulator.connections_opened == 0
    finally:
        await client.close()
