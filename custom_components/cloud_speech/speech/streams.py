"""Text and audio stream helpers the synthesizers build on.

A message arrives as an async stream of text pieces (an LLM's deltas, or one
whole message); audio leaves as an async stream of bytes. These helpers look
at the start of a text before it is consumed, read it again from the start,
and tie the end of the audio to the end of the text.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator
from contextlib import aclosing

from .ssml import remove_forbidden_characters


class Replayable[T]:
    """A stream (text pieces, audio chunks) that can be read again from the start.

    Pieces are pulled from the source by a task of their own, so a reader
    being cancelled never cancels (and so breaks) the source. A failure of
    the source is kept and raised to every reader that reaches it: a replay
    must not end quietly where the source broke off.
    """

    def __init__(self, source: AsyncIterator[T], *, eager: bool = False) -> None:
        """Read `source` only as far as some reader has asked.

        `eager` takes a piece (or the end) already there at once, not a loop
        turn later: a reader then sees the end of a whole message as soon as
        it would reading the source directly, which keeps the sentence
        pipeline's batches as they would be without a replay.
        """
        self._source = source
        self._eager = eager
        self._pieces: list[T] = []
        self._done = False
        self._error: Exception | None = None
        self._closed = False
        self._pulling: asyncio.Task[None] | None = None

    async def read(self) -> AsyncGenerator[T]:
        """Every piece from the first, then new ones as they arrive."""
        index = 0
        while True:
            while index >= len(self._pieces) and not self._done and not self._closed:
                if self._pulling is None or self._pulling.done():
                    self._pulling = asyncio.create_task(
                        self._pull(), eager_start=self._eager
                    )
                await asyncio.shield(self._pulling)
            if index >= len(self._pieces):
                if self._error is not None:
                    raise self._error
                return
            yield self._pieces[index]
            index += 1

    async def wait_ended(self) -> None:
        """Read the source to its end, whoever else reads; raises its failure."""
        async for _ in self.read():
            pass

    async def _pull(self) -> None:
        try:
            self._pieces.append(await anext(self._source))
        except StopAsyncIteration:
            self._done = True
        except Exception as err:  # noqa: BLE001 - raised to the readers
            self._error = err
            self._done = True

    def close(self) -> None:
        """Stop pulling from the source, for good.

        A reader still running (a pipeline being torn down) then sees the end
        of the text rather than starting another pull that nobody awaits.
        """
        self._closed = True
        if self._pulling is not None:
            self._pulling.cancel()


class PeekedText:
    """A text stream whose beginning can be looked at before it is consumed."""

    def __init__(self, stream: AsyncIterable[str]) -> None:
        """Peek into `stream`; iterating gives every piece, the peeked ones first."""
        self._stream = aiter(stream)
        self._head: list[str] = []

    async def peek(self, characters: int) -> str:
        """At least `characters` non-blank characters of the start, if there are."""
        while len("".join(self._head).lstrip()) < characters:
            try:
                self._head.append(await anext(self._stream))
            except StopAsyncIteration:
                break
        return "".join(self._head)

    def __aiter__(self) -> AsyncIterator[str]:
        """Every piece, the peeked ones first."""
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[str]:
        while self._head:
            yield self._head.pop(0)
        async for piece in self._stream:
            yield piece


async def prepend(first: bytes, rest: AsyncGenerator[bytes]) -> AsyncGenerator[bytes]:
    """`first`, then `rest`; closing this closes `rest`."""
    async with aclosing(rest):
        yield first
        async for chunk in rest:
            yield chunk


async def closing(
    audio: AsyncGenerator[bytes], text: Replayable[str]
) -> AsyncGenerator[bytes]:
    """Yield `audio`; when the listener leaves, stop its requests, then the text."""
    try:
        async with aclosing(audio):
            async for chunk in audio:
                yield chunk
    finally:
        text.close()


async def xml_characters(text: AsyncIterable[str]) -> AsyncIterator[str]:
    """`text` without the characters XML cannot carry (they are never spoken)."""
    async for piece in text:
        yield remove_forbidden_characters(piece)
