"""Text and audio stream helpers: peeking, replaying, closing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator

import pytest

from custom_components.cloud_speech.speech.streams import (
    PeekedText,
    Replayable,
    closing,
    prepend,
    xml_characters,
)


async def pieces(*texts: str) -> AsyncIterator[str]:
    for text in texts:
        yield text


async def read(text: AsyncIterator[str]) -> list[str]:
    return [piece async for piece in text]


async def test_replayable_text_is_read_again_from_the_start() -> None:
    text = Replayable(pieces("Hello ", "there."))

    first = text.read()
    assert await anext(first) == "Hello "

    assert await read(text.read()) == ["Hello ", "there."]
    assert await read(first) == ["there."]


async def test_a_failing_source_fails_every_reader_where_it_broke_off() -> None:
    async def failing() -> AsyncIterator[str]:
        yield "Hello"
        raise RuntimeError("the agent failed")

    text = Replayable(failing())

    for _ in range(2):
        reader = text.read()
        assert await anext(reader) == "Hello"
        with pytest.raises(RuntimeError, match="the agent failed"):
            await anext(reader)


async def test_a_closed_replayable_text_stops_pulling_and_ends() -> None:
    async def endless() -> AsyncIterator[str]:
        yield "Hello"
        await asyncio.Event().wait()
        yield "never"  # pragma: no cover

    text = Replayable(endless())
    reader = text.read()
    assert await anext(reader) == "Hello"
    waiting = asyncio.create_task(anext(reader))
    await asyncio.sleep(0)

    text.close()

    with pytest.raises((StopAsyncIteration, asyncio.CancelledError)):
        await waiting
    assert await read(text.read()) == ["Hello"]


async def test_peeked_text_gives_back_every_piece_after_a_peek() -> None:
    text = PeekedText(pieces("  <sp", "eak>", "Hello", "</speak>"))

    assert await text.peek(7) == "  <speak>"
    assert await read(aiter(text)) == ["  <sp", "eak>", "Hello", "</speak>"]


async def test_peeking_past_the_end_gives_the_whole_text() -> None:
    text = PeekedText(pieces("Hi"))

    assert await text.peek(100) == "Hi"
    assert await read(aiter(text)) == ["Hi"]


async def test_prepend_and_closing_close_the_audio_and_the_text() -> None:
    closed: list[str] = []

    async def audio() -> AsyncGenerator[bytes]:
        try:
            yield b"2"
            yield b"3"
        finally:
            closed.append("audio")

    text = Replayable(pieces("Hello"))
    stream = closing(prepend(b"1", audio()), text)

    assert await anext(stream) == b"1"
    assert await anext(stream) == b"2"
    await stream.aclose()

    assert closed == ["audio"]
    assert await read(text.read()) == []


async def test_xml_characters() -> None:
    assert await read(xml_characters(pieces("He\x00llo", "\ufffe!"))) == [
        "Hello",
        "!",
    ]
