"""Sentence-pipelined synthesis: speak the first sentence while the rest is written.

Text arrives in arbitrary pieces (an LLM's deltas, or one whole message). The
first complete sentence is synthesized alone, so audio starts as early as
possible; later sentences are batched into as few requests as the look-ahead
allows. Audio is yielded strictly in order, chunk by chunk, as it arrives.
"""

from __future__ import annotations

import asyncio
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Callable,
    Coroutine,
)
import contextlib

from sentence_stream import SentenceBoundaryDetector

from .errors import InvalidRequestError

# Azure truncates a response at 10 minutes of audio. 2,000 characters stay well
# below that even for fast CJK voices (about 5 characters a second).
MAX_BATCH_CHARACTERS = 2000
# Requests in flight: the one being played and the one being prepared.
DEFAULT_LOOKAHEAD = 2

type Synthesize = Callable[[str], AsyncIterator[bytes]]


def join_sentences(sentences: list[str]) -> str:
    """Join sentences the way they were written: no space after CJK punctuation."""
    text = ""
    for sentence in sentences:
        if text and not _ends_with_cjk(text):
            text += " "
        text += sentence
    return text


def _ends_with_cjk(text: str) -> bool:
    return ord(text[-1]) >= 0x2E80


def split_long_sentence(sentence: str, max_characters: int) -> list[str]:
    """Cut a sentence longer than a request may be, preferably at spaces."""
    pieces: list[str] = []
    while len(sentence) > max_characters:
        cut = sentence.rfind(" ", 0, max_characters + 1)
        if cut <= 0:
            cut = max_characters
        pieces.append(sentence[:cut].strip())
        sentence = sentence[cut:].strip()
    if sentence:
        pieces.append(sentence)
    return pieces


class _End:
    """Marks the end of a queue."""


_END = _End()


async def synthesize_pipelined(
    text: AsyncIterable[str],
    synthesize: Synthesize,
    *,
    lookahead: int = DEFAULT_LOOKAHEAD,
    max_characters: int = MAX_BATCH_CHARACTERS,
) -> AsyncGenerator[bytes]:
    """Yield the audio of `text`, synthesizing batches of sentences ahead of playback.

    `synthesize(batch_text)` returns one request's audio chunks. An error in
    any batch (or in `text`) is raised to the consumer when playback reaches
    it; nothing is skipped. Closing the generator cancels every request.
    Raises InvalidRequestError(field="message") when `text` has nothing to say.
    """
    sentences: asyncio.Queue[str | _End | BaseException] = asyncio.Queue()
    batches: asyncio.Queue[asyncio.Queue[bytes | _End | BaseException] | _End] = (
        asyncio.Queue()
    )
    slots = asyncio.Semaphore(lookahead)
    tasks: set[asyncio.Task[None]] = set()

    def start(coroutine: Coroutine[None, None, None]) -> None:
        tasks.add(asyncio.create_task(coroutine))

    async def read_sentences() -> None:
        detector = SentenceBoundaryDetector()
        try:
            async for piece in text:
                for sentence in detector.add_chunk(piece):
                    for part in split_long_sentence(sentence, max_characters):
                        sentences.put_nowait(part)
            for part in split_long_sentence(detector.finish(), max_characters):
                sentences.put_nowait(part)
        except Exception as err:  # noqa: BLE001 - handed to the consumer
            sentences.put_nowait(err)
        sentences.put_nowait(_END)

    held: list[str | _End | BaseException] = []  # taken from the queue, not used yet

    async def next_sentence() -> str | _End | BaseException:
        return held.pop() if held else await sentences.get()

    async def next_batch(first: bool) -> str | _End:
        """Wait for one sentence, then take what else is ready (not for the first)."""
        item = await next_sentence()
        if isinstance(item, BaseException):
            raise item
        if isinstance(item, _End):
            return item
        taken = [item]
        size = len(item)
        while not first and not held and not sentences.empty():
            item = sentences.get_nowait()
            if isinstance(item, str) and size + len(item) < max_characters:
                taken.append(item)
                size += len(item) + 1
            else:
                held.append(item)
        return join_sentences(taken)

    async def run_batch(
        chunks: AsyncIterator[bytes], audio: asyncio.Queue[bytes | _End | BaseException]
    ) -> None:
        try:
            async for chunk in chunks:
                audio.put_nowait(chunk)
        except Exception as err:  # noqa: BLE001 - handed to the consumer
            audio.put_nowait(err)
        else:
            audio.put_nowait(_END)

    async def schedule() -> None:
        first = True
        try:
            while True:
                await slots.acquire()
                batch = await next_batch(first)
                if isinstance(batch, _End):
                    break
                audio: asyncio.Queue[bytes | _End | BaseException] = asyncio.Queue()
                batches.put_nowait(audio)
                # Created here, in playback order: a synthesizer may rely on it.
                start(run_batch(synthesize(batch), audio))
                first = False
        except Exception as err:  # noqa: BLE001 - handed to the consumer
            failed: asyncio.Queue[bytes | _End | BaseException] = asyncio.Queue()
            failed.put_nowait(err)
            batches.put_nowait(failed)
        batches.put_nowait(_END)

    start(read_sentences())
    start(schedule())
    spoke = False
    try:
        while not isinstance(audio := await batches.get(), _End):
            while not isinstance(chunk := await audio.get(), _End):
                if isinstance(chunk, BaseException):
                    raise chunk
                spoke = True
                yield chunk
            slots.release()
        if not spoke:
            raise InvalidRequestError("There is no text to speak", field="message")
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
