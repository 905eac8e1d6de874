"""Batches by the audio clock, through the real pipeline.

The event loop's clock is moved by hand (`LoopClock`): the pipeline's timers
and the scheduler read the same clock, so "the audio ahead runs low" is a
jump of the clock, not a wait. The synthesizer answers when the test says,
with as many seconds of MP3 as the test says. Nothing here asserts a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable
import contextlib
from dataclasses import dataclass, field

import pytest

from custom_components.cloud_speech.speech.batching import MIN_MARGIN_SECONDS
from custom_components.cloud_speech.speech.errors import SpeechRateLimitedError
from custom_components.cloud_speech.speech.formats import get_format
from custom_components.cloud_speech.speech.http import RATE_LIMIT_HANDOFF
from custom_components.cloud_speech.speech.pipeline import synthesize_pipelined

MP3 = get_format("audio-24khz-96kbitrate-mono-mp3")
MP3_BYTES_PER_SECOND = 12_000


class LoopClock:
    """The running loop's clock, which a test can move forward."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        loop = asyncio.get_running_loop()
        real = loop.time
        self.offset = 0.0
        monkeypatch.setattr(loop, "time", lambda: real() + self.offset)

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@dataclass
class Answer:
    """How the service answers one request: audio, or a 429."""

    seconds: float = 0.0
    retry_after: float | None = None


@dataclass
class Service:
    """Answers each request when the test says, and records what it was asked."""

    requests: list[str] = field(default_factory=list)
    answers: list[asyncio.Future[Answer]] = field(default_factory=list)
    handed_off: list[bool] = field(default_factory=list)

    def __call__(self, text: str) -> AsyncIterator[bytes]:
        self.requests.append(text)
        answer: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self.answers.append(answer)
        return self._answer(answer)

    async def _answer(self, answer: asyncio.Future[Answer]) -> AsyncIterator[bytes]:
        result = await answer
        if result.retry_after is not None:
            # As http.stream_audio does: the pipeline may take the 429 over.
            handoff = RATE_LIMIT_HANDOFF.get()
            self.handed_off.append(handoff is not None and handoff(result.retry_after))
            raise SpeechRateLimitedError("429", retry_after=result.retry_after)
        yield bytes(round(result.seconds * MP3_BYTES_PER_SECOND))

    def answer(self, index: int, **answer: float) -> None:
        self.answers[index].set_result(Answer(**answer))


class Text:
    """Text the test writes piece by piece, like an agent."""

    def __init__(self) -> None:
        self._pieces: asyncio.Queue[str | None] = asyncio.Queue()

    def write(self, piece: str) -> None:
        self._pieces.put_nowait(piece)

    def end(self) -> None:
        self._pieces.put_nowait(None)

    async def read(self) -> AsyncIterator[str]:
        while (piece := await self._pieces.get()) is not None:
            yield piece


@dataclass
class Listener:
    """Plays the stream as it comes: the first byte starts the playback clock."""

    audio: AsyncGenerator[bytes]
    received: list[bytes] = field(default_factory=list)
    task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.ensure_future(self._listen())
        LISTENERS.append(self)

    async def close(self) -> None:
        """Leave, as Home Assistant does when the player goes: every request stops."""
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(BaseException):
                await self.task
        await self.audio.aclose()

    async def _listen(self) -> None:
        async for chunk in self.audio:
            self.received.append(chunk)

    @property
    def seconds(self) -> float:
        return sum(len(chunk) for chunk in self.received) / MP3_BYTES_PER_SECOND


LISTENERS: list[Listener] = []


@pytest.fixture(autouse=True)
async def close_listeners() -> AsyncIterator[None]:
    """Whatever a test leaves playing is closed before the lingering-task check."""
    yield
    while LISTENERS:
        await LISTENERS.pop().close()


async def until(condition: Callable[[], bool]) -> None:
    """Let the pipeline run until `condition` holds (events, not time)."""
    async with asyncio.timeout(5):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.001)


async def settle() -> None:
    """Let every task that can run, run."""
    for _ in range(20):
        await asyncio.sleep(0)


FIRST = "The lights in the kitchen are off."
SECOND = "The front door is locked."
THIRD = "Rain is expected at six."
FOURTH = "The garage door is open."


async def playing(
    monkeypatch: pytest.MonkeyPatch, first_seconds: float = 10.0
) -> tuple[LoopClock, Service, Text, Listener]:
    """A stream whose first sentence has been heard to its first byte."""
    clock = LoopClock(monkeypatch)
    service = Service()
    text = Text()
    listener = Listener(synthesize_pipelined(text.read(), service, audio_format=MP3))
    listener.start()
    text.write(FIRST + "\n\n")
    await until(lambda: len(service.requests) == 1)
    service.answer(0, seconds=first_seconds)
    await until(lambda: listener.seconds == first_seconds)
    return clock, service, text, listener


async def test_the_first_sentence_goes_alone_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    service = Service()
    text = Text()
    listener = Listener(synthesize_pipelined(text.read(), service, audio_format=MP3))
    listener.start()

    text.write(FIRST)  # looks finished: requested before the detector agrees
    await until(lambda: len(service.requests) == 1)
    text.write(f" {SECOND} {THIRD} {FOURTH}")
    text.end()
    await until(lambda: len(service.requests) == 2)
    service.answer(0, seconds=2.0)
    service.answer(1, seconds=6.0)
    assert listener.task is not None
    await listener.task

    # A short first sentence still in flight lets the rest go at once.
    assert service.requests == [FIRST, f"{SECOND} {THIRD} {FOURTH}"]


async def test_a_message_known_up_front_is_the_first_sentence_then_one_request() -> (
    None
):
    service = Service()

    async def message() -> AsyncIterator[str]:
        yield f"{FIRST} {SECOND} {THIRD} {FOURTH} Have a lovely evening."

    listener = Listener(synthesize_pipelined(message(), service, audio_format=MP3))
    listener.start()
    await until(lambda: len(service.requests) == 2)
    service.answer(0, seconds=2.0)
    service.answer(1, seconds=8.0)
    assert listener.task is not None
    await listener.task

    assert service.requests == [
        FIRST,
        f"{SECOND} {THIRD} {FOURTH} Have a lovely evening.",
    ]


async def test_no_request_while_enough_audio_is_ahead(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock, service, text, _ = await playing(monkeypatch, first_seconds=10.0)

    text.write(f"{SECOND} {THIRD} The")
    clock.advance(10.0 - MIN_MARGIN_SECONDS - 0.5)  # 3 s still ahead
    await settle()

    assert service.requests == [FIRST]


async def test_a_request_as_soon_as_the_audio_ahead_runs_low(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock, service, text, _ = await playing(monkeypatch, first_seconds=10.0)
    text.write(f"{SECOND} {THIRD} The")
    await settle()
    assert service.requests == [FIRST]

    clock.advance(10.0 - MIN_MARGIN_SECONDS + 0.1)  # 2.4 s ahead: below the margin

    await until(lambda: len(service.requests) == 2)
    # Every sentence complete by then, in one request.
    assert service.requests == [FIRST, f"{SECOND} {THIRD}"]


async def test_a_complete_message_goes_at_once_when_nothing_is_in_flight(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, service, text, listener = await playing(monkeypatch, first_seconds=10.0)

    text.write(f"{SECOND} {THIRD}")
    text.end()

    await until(lambda: len(service.requests) == 2)
    assert service.requests == [FIRST, f"{SECOND} {THIRD}"]
    service.answer(1, seconds=3.0)
    assert listener.task is not None
    await listener.task


async def test_a_429_that_fits_waits_then_merges_what_is_pending(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock, service, text, listener = await playing(monkeypatch, first_seconds=10.0)
    text.write(f"{SECOND} Ra")
    clock.advance(10.0 - MIN_MARGIN_SECONDS + 0.1)
    await until(lambda: len(service.requests) == 2)

    service.answer(1, retry_after=1.0)  # 1 s fits in the 2.4 s ahead
    text.write(f"in is expected at six. {FOURTH}")
    text.end()
    await settle()
    assert len(service.requests) == 2  # waiting out the Retry-After
    clock.advance(1.0)

    await until(lambda: len(service.requests) == 3)
    assert service.handed_off == [True]
    assert service.requests[2] == f"{SECOND} {THIRD} {FOURTH}"
    service.answer(2, seconds=5.0)
    assert listener.task is not None
    await listener.task
    assert listener.seconds == 15.0


async def test_a_429_that_cannot_fit_fails_after_the_audio_heard(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock, service, text, listener = await playing(monkeypatch, first_seconds=10.0)
    text.write(f"{SECOND} The")
    clock.advance(10.0 - MIN_MARGIN_SECONDS + 0.1)
    await until(lambda: len(service.requests) == 2)

    service.answer(1, retry_after=30.0)

    assert listener.task is not None
    with pytest.raises(SpeechRateLimitedError):
        await listener.task
    assert listener.seconds == 10.0
    assert len(service.requests) == 2


async def test_a_429_before_any_audio_is_left_to_the_retry_policy() -> None:
    service = Service()

    async def message() -> AsyncIterator[str]:
        yield FIRST

    listener = Listener(synthesize_pipelined(message(), service, audio_format=MP3))
    listener.start()
    await until(lambda: len(service.requests) == 1)
    service.answer(0, retry_after=1.0)

    assert listener.task is not None
    with pytest.raises(SpeechRateLimitedError):
        await listener.task
    # http.stream_audio would have waited it out within its policy.
    assert service.handed_off == [False]
    assert service.requests == [FIRST]
