"""The sentence pipeline: ordering, batching, look-ahead, failures, cancellation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from custom_components.cloud_speech.speech.errors import (
    InvalidRequestError,
    SpeechConnectionError,
    SpeechError,
)
from custom_components.cloud_speech.speech.formats import get_format
from custom_components.cloud_speech.speech.pipeline import (
    join_sentences,
    split_long_sentence,
    synthesize_pipelined,
)

# What the recording synthesizer "speaks" is its text: a few bytes, far less
# than a second of MP3, so the audio clock never holds a batch back here
# (tests/speech/test_pipeline_batching.py times batches).
MP3 = get_format("audio-24khz-96kbitrate-mono-mp3")


class RecordingSynthesizer:
    """Speaks each batch as its text in bytes, in two chunks, and records calls."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.batches: list[str] = []
        self.in_flight = 0
        self.peak_in_flight = 0
        self.fail_on = fail_on
        self.release = asyncio.Event()
        self.release.set()
        self.cancelled = 0

    async def __call__(self, text: str) -> AsyncIterator[bytes]:
        self.batches.append(text)
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            await self.release.wait()
            if self.fail_on is not None and self.fail_on in text:
                raise SpeechConnectionError("cut")
            half = len(text) // 2
            yield f"[{text[:half]}".encode()
            await asyncio.sleep(0)
            yield f"{text[half:]}]".encode()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.in_flight -= 1


async def deltas(*pieces: str, pause: float = 0) -> AsyncIterator[str]:
    for piece in pieces:
        yield piece
        await asyncio.sleep(pause)


async def collect(stream: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in stream])


async def test_first_sentence_alone_then_the_rest_batched_in_order() -> None:
    synthesizer = RecordingSynthesizer()

    audio = await collect(
        synthesize_pipelined(
            deltas("Hello. Two is here. Three is here. Four is here."),
            synthesizer,
            audio_format=MP3,
        )
    )

    assert synthesizer.batches[0] == "Hello."
    assert audio == b"".join(f"[{b}]".encode() for b in synthesizer.batches)
    assert " ".join(synthesizer.batches) == (
        "Hello. Two is here. Three is here. Four is here."
    )
    assert len(synthesizer.batches) <= 3


async def test_llm_deltas_start_speaking_at_the_first_complete_sentence() -> None:
    synthesizer = RecordingSynthesizer()
    reply = "Sure. " + " ".join(f"Sentence number {n} is here." for n in range(20))
    pieces = [reply[i : i + 4] for i in range(0, len(reply), 4)]

    stream = synthesize_pipelined(deltas(*pieces), synthesizer, audio_format=MP3)
    first = await anext(stream)
    # Only "Sure." can have been requested when its audio arrives.
    assert synthesizer.batches == ["Sure."]
    assert first.startswith(b"[")

    rest = await collect(stream)
    assert " ".join(synthesizer.batches) == reply
    assert first + rest == b"".join(f"[{b}]".encode() for b in synthesizer.batches)


async def test_at_most_two_requests_are_in_flight() -> None:
    synthesizer = RecordingSynthesizer()
    text = " ".join(f"Sentence {n} is long enough." for n in range(30))

    await collect(synthesizer_stream(text, synthesizer, max_characters=60))

    assert synthesizer.peak_in_flight <= 2
    assert len(synthesizer.batches) > 3


def synthesizer_stream(
    text: str, synthesizer: RecordingSynthesizer, max_characters: int
) -> AsyncIterator[bytes]:
    return synthesize_pipelined(
        deltas(text), synthesizer, audio_format=MP3, max_characters=max_characters
    )


async def test_batches_never_exceed_the_size_limit() -> None:
    synthesizer = RecordingSynthesizer()
    text = " ".join(f"Sentence {n} is long enough." for n in range(30))

    await collect(synthesizer_stream(text, synthesizer, max_characters=80))

    assert all(len(batch) <= 80 for batch in synthesizer.batches)


async def test_a_single_enormous_word_is_cut_to_request_size() -> None:
    synthesizer = RecordingSynthesizer()

    await collect(synthesizer_stream("x" * 450, synthesizer, max_characters=100))

    assert [len(batch) for batch in synthesizer.batches] == [100, 100, 100, 100, 50]


async def test_failure_in_a_later_batch_fails_the_stream_after_earlier_audio() -> None:
    synthesizer = RecordingSynthesizer(fail_on="Three")
    stream = synthesize_pipelined(
        deltas("Hello. Two is here. Three is here."),
        synthesizer,
        audio_format=MP3,
        max_characters=12,
    )

    received: list[bytes] = []

    async def play() -> None:
        async for chunk in stream:
            received.append(chunk)  # noqa: PERF401 - kept as it arrives

    with pytest.raises(SpeechConnectionError):
        await play()

    assert b"".join(received).startswith(b"[Hello.]")


async def test_failure_of_the_text_source_fails_the_stream() -> None:
    async def broken() -> AsyncIterator[str]:
        yield "Hello there. "
        raise RuntimeError("agent crashed")

    with pytest.raises(RuntimeError, match="agent crashed"):
        await collect(
            synthesize_pipelined(broken(), RecordingSynthesizer(), audio_format=MP3)
        )


@pytest.mark.parametrize("text", ["", "   ", "\n\n"])
async def test_nothing_to_say_is_an_invalid_request(text: str) -> None:
    synthesizer = RecordingSynthesizer()

    with pytest.raises(InvalidRequestError) as err:
        await collect(synthesize_pipelined(deltas(text), synthesizer, audio_format=MP3))

    assert err.value.field == "message"
    assert synthesizer.batches == []


async def test_closing_the_stream_cancels_requests_in_flight() -> None:
    synthesizer = RecordingSynthesizer()
    stream = synthesize_pipelined(
        deltas("Hello. Two is here. Three is here. Four.", pause=0.01),
        synthesizer,
        audio_format=MP3,
    )
    await anext(stream)
    synthesizer.release.clear()  # later requests hang until cancelled
    await asyncio.sleep(0.05)

    await stream.aclose()

    assert synthesizer.in_flight == 0


def test_sentences_join_with_spaces_except_after_cjk() -> None:
    assert join_sentences(["Hello.", "World."]) == "Hello. World."
    assert join_sentences(["你好。", "我很好。"]) == "你好。我很好。"
    assert join_sentences(["你好。", "OK."]) == "你好。OK."


def test_long_sentences_are_cut_at_spaces() -> None:
    assert split_long_sentence("aaa bbb ccc", 7) == ["aaa bbb", "ccc"]
    assert split_long_sentence("", 7) == []


async def test_a_finished_first_sentence_is_sent_before_the_next_one_begins() -> None:
    synthesizer = RecordingSynthesizer()
    gate = asyncio.Event()

    async def reply() -> AsyncIterator[str]:
        yield "Hi there."
        await gate.wait()  # the next token is late
        yield " The door is locked."

    stream = synthesize_pipelined(reply(), synthesizer, audio_format=MP3)
    first = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0.01)
    assert synthesizer.batches == ["Hi there."]  # requested on the guess
    assert not first.done()  # but held until the detector agrees
    gate.set()
    audio = await first + await collect(stream)
    assert audio == b"[Hi there.][The door is locked.]"
    assert synthesizer.batches == ["Hi there.", "The door is locked."]


@pytest.mark.parametrize(
    ("pieces", "spoken"),
    [
        (["It is etc.", " and more. Bye."], ["It is etc. and more.", "Bye."]),
        (["It costs 3 euros.", "5 more. Bye."], ["It costs 3 euros.5 more.", "Bye."]),
    ],
)
async def test_a_wrong_guess_is_dropped_and_never_heard(
    pieces: list[str], spoken: list[str]
) -> None:
    synthesizer = RecordingSynthesizer()

    audio = await collect(
        synthesize_pipelined(deltas(*pieces, pause=0.01), synthesizer, audio_format=MP3)
    )

    assert synthesizer.batches[0] == pieces[0]  # the guess was requested...
    assert synthesizer.batches[1:] == spoken  # ...then dropped
    assert audio == b"".join(f"[{b}]".encode() for b in spoken)


async def test_a_guess_fails_cleanly_when_the_text_source_breaks() -> None:
    async def broken() -> AsyncIterator[str]:
        yield "Hello there."
        raise RuntimeError("agent crashed")

    with pytest.raises(RuntimeError, match="agent crashed"):
        await collect(
            synthesize_pipelined(broken(), RecordingSynthesizer(), audio_format=MP3)
        )


async def test_a_synthesizer_that_fails_at_once_fails_the_stream() -> None:
    def synthesize(batch: str) -> AsyncIterator[bytes]:
        raise ValueError("cannot even build the request")

    stream = synthesize_pipelined(deltas("Hello there."), synthesize, audio_format=MP3)

    with pytest.raises(ValueError, match="cannot even build"):
        async with asyncio.timeout(2):
            await collect(stream)


async def test_a_text_source_cancelled_on_its_own_fails_the_stream() -> None:
    async def torn_down() -> AsyncIterator[str]:
        yield "Hello there. "
        raise asyncio.CancelledError

    stream = synthesize_pipelined(torn_down(), RecordingSynthesizer(), audio_format=MP3)

    with pytest.raises(SpeechError):
        async with asyncio.timeout(2):
            await collect(stream)
