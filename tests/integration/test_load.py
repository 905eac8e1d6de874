"""Load: many announcements at once, through Home Assistant, against the emulator.

The integration gets a session with Home Assistant's own connection limits
(aiohttp_client: 4096 in all, 100 per host), so the figures are the ones a
real installation would see. All calls go to one host, so at most
`MAXIMUM_CONNECTIONS_PER_HOST` requests can be open at a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
import io
import time
from typing import Any
import wave

import aiohttp
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.aiohttp_client import (
    MAXIMUM_CONNECTIONS,
    MAXIMUM_CONNECTIONS_PER_HOST,
)
import pytest

from custom_components.cloud_speech.speech.http import Timeouts
from tests.emulator import Emulator, EmulatorServer, Fault

from .test_faults import (
    ClientTuning,
    assert_complete_mp3,
    assert_nothing_left_behind,
    assert_translated,
    tuned_clients,
)
from .tts_calls import speak

CALLS = 200
BURST_CALLS = 20


@pytest.fixture
async def emulator_session(
    emulator_server: EmulatorServer,
) -> AsyncIterator[aiohttp.ClientSession]:
    """A session limited the way Home Assistant's shared session is."""
    connector = aiohttp.TCPConnector(
        resolver=emulator_server.resolver(),
        ssl=False,
        limit=MAXIMUM_CONNECTIONS,
        limit_per_host=MAXIMUM_CONNECTIONS_PER_HOST,
    )
    async with aiohttp.ClientSession(connector=connector) as session:
        yield session


@pytest.fixture(autouse=True)
def real_clients() -> Iterator[ClientTuning]:
    """Production timeouts and real waits between retries, recorded."""
    with tuned_clients(ClientTuning(Timeouts(), real_sleep=True)) as tuning:
        yield tuning


def announcement(number: int) -> str:
    return f"Announcement number {number} for room {number % 17}."


@pytest.mark.usefixtures("init_integration")
async def test_two_hundred_concurrent_announcements_all_arrive_complete(
    hass: HomeAssistant,
    emulator: Emulator,
    record_property: Any,
) -> None:
    # Paced audio, so that calls really overlap at the service.
    emulator.bytes_per_second = 200_000
    emulator.reset_requests()
    # Half MP3, half WAV (a format HA must not convert).
    formats = ["mp3" if number % 2 else "wav" for number in range(CALLS)]

    started = time.monotonic()
    async with asyncio.timeout(30):
        results = await asyncio.gather(
            *(
                speak(
                    hass,
                    announcement(number),
                    options={"preferred_format": formats[number]},
                )
                for number in range(CALLS)
            ),
            return_exceptions=True,
        )
    elapsed = time.monotonic() - started

    failures = [result for result in results if isinstance(result, BaseException)]
    assert failures == []
    answers = {
        request.spoken_text: request for request in emulator.requests_for("synthesis")
    }
    assert len(answers) == CALLS
    assert {request.status for request in emulator.requests} == {200}
    for number, (extension, audio) in enumerate(results):
        answer = answers[announcement(number)]
        assert extension == formats[number]
        if extension == "mp3":
            assert_complete_mp3(audio, answer.response_body)
        else:
            with wave.open(io.BytesIO(audio)) as decoded:
                frames = decoded.readframes(-1)
            # The whole answer, after a header of our own (length unknown).
            assert audio.endswith(answer.response_body)
            assert frames == answer.response_body
    peak = emulator.peak_open_requests
    record_property("peak_open_requests", peak)
    record_property("seconds", round(elapsed, 2))
    assert 1 < peak <= MAXIMUM_CONNECTIONS_PER_HOST
    await assert_nothing_left_behind(emulator)


@pytest.mark.usefixtures("init_integration")
async def test_rate_limit_burst_ends_every_call_in_time(
    hass: HomeAssistant,
    emulator: Emulator,
    real_clients: ClientTuning,
    record_property: Any,
) -> None:
    """A burst of 50 refusals for 20 callers, retried with the real back-off.

    Every first and second attempt is refused (40); of the third attempts the
    first 10 are refused too: those callers get the rate-limit error, the
    other 10 their audio. Nobody waits longer than the policy's budget.
    """
    emulator.reset_requests()
    emulator.inject(Fault(status=429, times=50))

    started = time.monotonic()
    async with asyncio.timeout(10):
        results = await asyncio.gather(
            *(speak(hass, announcement(number)) for number in range(BURST_CALLS)),
            return_exceptions=True,
        )
    elapsed = time.monotonic() - started

    refused = [result for result in results if isinstance(result, BaseException)]
    spoken = [result for result in results if not isinstance(result, BaseException)]
    for error in refused:
        assert isinstance(error, HomeAssistantError)
        assert_translated(error, "rate_limited")
    for _, audio in spoken:
        assert audio
    statuses = [request.status for request in emulator.requests_for("synthesis")]
    record_property("refused_calls", len(refused))
    record_property("seconds", round(elapsed, 2))
    assert statuses.count(429) == 50
    assert statuses.count(200) == len(spoken)
    # Everyone made exactly three attempts.
    assert len(statuses) == 3 * BURST_CALLS
    assert (len(spoken), len(refused)) == (10, 10)
    # Three attempts at most, 0.5 s + 1 s apart.
    assert elapsed < 1.5 + 1.0
    assert sorted(set(real_clients.waits)) == [0.5, 1.0]
    await assert_nothing_left_behind(emulator)
