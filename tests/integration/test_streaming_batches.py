"""Batches by the audio clock, through Home Assistant, the entity and the emulator.

Home Assistant's event loop clock is moved by hand: the pipeline's timers and
its audio clock read it, so "the audio ahead runs low" is a jump, not a wait.
The emulator answers at once; its audio is 60 ms a character. No assertion
here is about time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
import pytest

from custom_components.cloud_speech.speech.batching import MIN_MARGIN_SECONDS
from tests.emulator import Emulator, Fault

from .test_faults import assert_translated
from .tts_calls import eventually, speak, stream

# 120 characters: 7.2 s of audio at the emulator's 60 ms a character.
FIRST = (
    "Good evening, the house is ready for the night and every window on the "
    "ground floor and upstairs has been closed for you."
)
FIRST_SECONDS = len(FIRST) * 0.060
SECOND = "The front door is locked."
THIRD = "Rain is expected at six."
FOURTH = "The garage door is open."


class LoopClock:
    """Home Assistant's loop clock, which a test can move forward."""

    def __init__(self, hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch) -> None:
        real = hass.loop.time
        self.offset = 0.0
        monkeypatch.setattr(hass.loop, "time", lambda: real() + self.offset)

    def advance(self, seconds: float) -> None:
        self.offset += seconds


class Agent:
    """A reply written piece by piece, when the test says."""

    def __init__(self) -> None:
        self._pieces: asyncio.Queue[str | None] = asyncio.Queue()

    def write(self, piece: str) -> None:
        self._pieces.put_nowait(piece)

    def end(self) -> None:
        self._pieces.put_nowait(None)

    async def reply(self) -> AsyncIterator[str]:
        while (piece := await self._pieces.get()) is not None:
            yield piece


async def settle() -> None:
    for _ in range(50):
        await asyncio.sleep(0)


def synthesis_texts(emulator: Emulator) -> list[str]:
    return [request.spoken_text for request in emulator.requests_for("synthesis")]


async def start_playing(
    hass: HomeAssistant, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> tuple[LoopClock, Agent, asyncio.Task[bytes]]:
    """Stream a reply whose long first sentence is being heard."""
    clock = LoopClock(hass, monkeypatch)
    agent = Agent()
    heard = asyncio.Event()
    playing = asyncio.ensure_future(
        stream(hass, agent.reply(), on_chunk=lambda _chunk: heard.set())
    )
    agent.write(FIRST + "\n\n")  # a blank line ends it without the next one
    await heard.wait()
    await eventually(lambda: emulator.requests_for("synthesis")[0].status == 200)
    return clock, agent, playing


@pytest.mark.usefixtures("init_integration")
async def test_tts_speak_of_five_sentences_is_the_first_then_one_request(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    sentences = [
        "Hello there.",
        SECOND,
        THIRD,
        FOURTH,
        "Have a lovely evening.",
    ]

    await speak(hass, " ".join(sentences))

    assert synthesis_texts(emulator) == [sentences[0], " ".join(sentences[1:])]


@pytest.mark.usefixtures("init_integration")
async def test_no_request_while_enough_audio_is_ahead_then_one_when_it_runs_low(
    hass: HomeAssistant, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock, agent, playing = await start_playing(hass, emulator, monkeypatch)

    agent.write(f"{SECOND} {THIRD} The")
    clock.advance(FIRST_SECONDS - MIN_MARGIN_SECONDS - 1.0)  # 3.5 s ahead
    await settle()
    assert synthesis_texts(emulator) == [FIRST]

    clock.advance(1.5)  # 2 s ahead: below the margin
    await eventually(lambda: len(emulator.requests_for("synthesis")) == 2)
    assert synthesis_texts(emulator) == [FIRST, f"{SECOND} {THIRD}"]

    agent.write(" end is near.")
    agent.end()
    await playing
    assert synthesis_texts(emulator)[2:] == ["The end is near."]


@pytest.mark.usefixtures("init_integration")
async def test_a_429_that_fits_in_the_audio_ahead_is_waited_out_and_merged(
    hass: HomeAssistant, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock, agent, playing = await start_playing(hass, emulator, monkeypatch)
    emulator.inject(Fault(status=429, headers={"Retry-After": "1"}))

    agent.write(f"{SECOND} Ra")
    clock.advance(FIRST_SECONDS - MIN_MARGIN_SECONDS + 0.5)  # 2 s ahead
    await eventually(lambda: emulator.requests_for("synthesis")[-1].status == 429)
    agent.write(f"in is expected at six. {FOURTH}")
    agent.end()
    await settle()
    assert len(emulator.requests_for("synthesis")) == 2  # waiting out Retry-After
    clock.advance(1.0)
    await playing

    assert synthesis_texts(emulator) == [FIRST, SECOND, f"{SECOND} {THIRD} {FOURTH}"]
    assert [r.status for r in emulator.requests_for("synthesis")] == [200, 429, 200]


@pytest.mark.usefixtures("init_integration")
async def test_a_429_longer_than_the_audio_ahead_fails_and_nothing_is_cached(
    hass: HomeAssistant,
    emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    tts_cache_dir: Path,
) -> None:
    clock, agent, playing = await start_playing(hass, emulator, monkeypatch)
    emulator.inject(Fault(status=429, headers={"Retry-After": "30"}))

    agent.write(f"{SECOND} The")
    clock.advance(FIRST_SECONDS - MIN_MARGIN_SECONDS + 0.5)

    with pytest.raises(HomeAssistantError) as err:
        await playing
    assert_translated(err.value, "rate_limited")
    assert [r.status for r in emulator.requests_for("synthesis")] == [200, 429]
    await hass.async_block_till_done()
    assert not any(tts_cache_dir.iterdir())
