"""Two paths of the pipeline that only a slow network takes.

A 429 for a batch while the batch after it is already in flight, and a
first-sentence guess proved wrong while its request is still in flight. The
loop clock is moved by hand and the service answers when the test says, as
in test_pipeline_batching.py; nothing here asserts a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from custom_components.cloud_speech.speech.batching import MIN_MARGIN_SECONDS
from custom_components.cloud_speech.speech.pipeline import synthesize_pipelined

from .test_pipeline_batching import (
    FIRST,
    MP3,
    MP3_BYTES_PER_SECOND,
    THIRD,
    Listener,
    LoopClock,
    Service,
    Text,
    close_listeners,  # noqa: F401 - the autouse fixture, for this module too
    settle,
    until,
)

SHORT = "Done."  # little audio expected: a 429 on it can still be waited out


class TrackedService(Service):
    """A Service that also records which requests were cancelled."""

    def __init__(self) -> None:
        super().__init__()
        self.cancelled: list[str] = []
        self.open = 0

    def __call__(self, text: str) -> AsyncIterator[bytes]:
        chunks = super().__call__(text)
        return self._track(text, chunks)

    async def _track(
        self, text: str, chunks: AsyncIterator[bytes]
    ) -> AsyncIterator[bytes]:
        self.open += 1
        try:
            async for chunk in chunks:
                yield chunk
        except asyncio.CancelledError:
            self.cancelled.append(text)
            raise
        finally:
            self.open -= 1


def audio_of(seconds: float) -> int:
    return round(seconds * MP3_BYTES_PER_SECOND)


async def two_in_flight(
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[LoopClock, TrackedService, Text, Listener]:
    """10 s of the first sentence heard; SHORT and THIRD sent, neither answered."""
    clock = LoopClock(monkeypatch)
    service = TrackedService()
    text = Text()
    listener = Listener(synthesize_pipelined(text.read(), service, audio_format=MP3))
    listener.start()
    text.write(FIRST + "\n\n")
    await until(lambda: len(service.requests) == 1)
    service.answer(0, seconds=10.0)
    await until(lambda: listener.seconds == 10.0)

    text.write(f"{SHORT} Ra")
    clock.advance(10.0 - MIN_MARGIN_SECONDS + 0.1)  # 2.4 s ahead: SHORT goes
    await until(lambda: len(service.requests) == 2)
    text.write(f"{THIRD[2:]} The")
    await settle()
    assert len(service.requests) == 2  # SHORT's audio, not yet in, counts ahead
    # SHORT is expected to be short: the audio ahead runs low again while it
    # is still in flight, and THIRD goes as the second request in flight.
    clock.advance(1.5)
    await until(lambda: len(service.requests) == 3)
    assert service.requests == [FIRST, SHORT, THIRD]
    return clock, service, text, listener


async def test_a_429_while_the_next_batch_is_in_flight_resends_both_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock, service, text, listener = await two_in_flight(monkeypatch)

    # SHORT is refused with a Retry-After that fits in the audio ahead.
    service.answer(1, retry_after=0.5)
    await until(lambda: service.cancelled == [THIRD])
    # THIRD's request is cancelled: its sentence goes again, after SHORT's.
    assert service.handed_off == [True]
    text.write(" door is open.")
    text.end()
    await settle()
    assert len(service.requests) == 3  # waiting out the Retry-After
    clock.advance(0.5)
    await until(lambda: len(service.requests) == 4)
    assert service.requests[3] == f"{SHORT} {THIRD} The door is open."
    service.answer(3, seconds=4.0)
    assert listener.task is not None
    await listener.task

    # Nothing lost, nothing heard twice: the first sentence, then the resent
    # batch, whose audio is all that follows.
    assert [len(chunk) for chunk in listener.received] == [
        audio_of(10.0),
        audio_of(4.0),
    ]
    assert service.open == 0


async def test_a_429_after_the_next_batch_has_streamed_repeats_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock, service, text, listener = await two_in_flight(monkeypatch)

    # THIRD answers first (a reused connection against a new one), fully.
    service.answer(2, seconds=1.5)
    await settle()
    service.answer(1, retry_after=0.5)
    text.write(" door is open.")
    text.end()
    await settle()
    clock.advance(0.5)
    await until(lambda: len(service.requests) == 4)
    assert service.requests[3] == f"{SHORT} {THIRD} The door is open."
    service.answer(3, seconds=4.0)
    assert listener.task is not None
    await listener.task

    # THIRD is in the resent batch: its first answer must not be heard too,
    # and certainly not before SHORT.
    assert [len(chunk) for chunk in listener.received] == [
        audio_of(10.0),
        audio_of(4.0),
    ]


async def test_a_wrong_guess_in_flight_is_cancelled_and_never_heard() -> None:
    service = TrackedService()
    text = Text()
    listener = Listener(synthesize_pipelined(text.read(), service, audio_format=MP3))
    listener.start()

    text.write("It is etc.")  # looks finished: requested as a guess
    await until(lambda: len(service.requests) == 1)
    assert service.requests == ["It is etc."]
    # The text goes on where the guess put a boundary, before any answer.
    text.write(" and more. Bye.")
    await until(lambda: service.cancelled == ["It is etc."])
    text.end()
    await until(lambda: len(service.requests) == 3)
    assert service.requests[1:] == ["It is etc. and more.", "Bye."]
    service.answer(1, seconds=2.0)
    service.answer(2, seconds=1.0)
    assert listener.task is not None
    await listener.task

    assert [len(chunk) for chunk in listener.received] == [audio_of(2.0), audio_of(1.0)]
    assert service.answers[0].cancelled()  # the guess was never answered
    assert service.open == 0


async def test_a_wrong_guess_cancelled_mid_stream_is_not_heard() -> None:
    service = TrackedService()
    text = Text()
    listener = Listener(synthesize_pipelined(text.read(), service, audio_format=MP3))
    listener.start()

    text.write("It costs 3 euros.")
    await until(lambda: len(service.requests) == 1)
    service.answer(0, seconds=1.0)  # the guess's audio arrives, held back
    await settle()
    assert listener.received == []
    text.write("5 more. Bye.")
    text.end()
    await until(lambda: len(service.requests) == 3)
    assert service.requests[1:] == ["It costs 3 euros.5 more.", "Bye."]
    service.answer(1, seconds=2.0)
    service.answer(2, seconds=1.0)
    assert listener.task is not None
    await listener.task

    assert [len(chunk) for chunk in listener.received] == [audio_of(2.0), audio_of(1.0)]
