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
from dataclasses import dataclass, field
import re

from sentence_stream import SentenceBoundaryDetector

from .errors import InvalidRequestError, SpeechError

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


def _as_error(err: BaseException) -> Exception:
    """An error for the consumer: a foreign CancelledError must not hang it."""
    if isinstance(err, Exception):
        return err
    return SpeechError("Speech synthesis was cancelled")


class _End:
    """Marks the end of a queue."""


_END = _End()

# The detector only calls text a sentence once the next one has begun (a
# capital letter after a space): with an LLM's deltas that costs a token's
# time before the first request. So the first sentence is requested as soon as
# the text ends like one (terminal punctuation, then closing quotes or
# brackets, Latin or CJK), and its audio is held until the detector agrees.
_CLOSERS = "\"')]}\u00bb\u2019\u201d\u300d\u300f\uff09\u300b\u3011\u3015\u3009"
_LOOKS_FINISHED = re.compile(
    rf"(?:[^\d\s.][.!?\u2026]+|[\u3002\uff01\uff1f\u2026]+)[{re.escape(_CLOSERS)}]*$"
)


@dataclass(eq=False)
class _Guess:
    """A first sentence sent before the detector confirmed that it ended."""

    text: str
    verdict: asyncio.Future[bool] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    def settle(self, right: bool) -> None:
        if not self.verdict.done():
            self.verdict.set_result(right)


# The detector's own rule for an abbreviation ("Dr.", "St.", "Mrs."): a
# capital letter and up to two more letters before a final period. Written
# here, not imported from its private module, so that any 1.x release fits.
_LAST_WORD_WITH_PERIOD = re.compile(r"(?:^|\W)([^\W\d_]{1,3})\.$")


def _ends_with_abbreviation(text: str) -> bool:
    word = _LAST_WORD_WITH_PERIOD.search(text[-5:])
    return word is not None and word.group(1)[0].isupper()


def _worth_guessing(text: str, max_characters: int) -> bool:
    """Whether pending text is likely a whole sentence (not "Dr.", "2." or "e.g.")."""
    if not 0 < len(text) <= max_characters or "*" in text:
        return False  # too long for one request, or asterisks the detector drops
    if _LOOKS_FINISHED.search(text) is None or _ends_with_abbreviation(text):
        return False
    word = text.rsplit(maxsplit=1)[-1].rstrip(_CLOSERS + ".!?\u2026")
    return "." not in word


@dataclass(eq=False)
class _Batch:
    """One request's audio, and the guess it speaks, if it is one."""

    audio: asyncio.Queue[bytes | _End | BaseException]
    guess: _Guess | None = None
    task: asyncio.Task[None] | None = None


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
    sentences: asyncio.Queue[str | _Guess | _End | BaseException] = asyncio.Queue()
    batches: asyncio.Queue[_Batch | _End] = asyncio.Queue()
    slots = asyncio.Semaphore(lookahead)
    tasks: set[asyncio.Task[None]] = set()

    def start(coroutine: Coroutine[None, None, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(coroutine)
        tasks.add(task)
        return task

    async def read_sentences() -> None:
        # The detector rescans all it holds for each sentence and each piece: it
        # gets a batch at a time and never holds more than a batch, so that long
        # text costs linear time, not quadratic.
        detector = SentenceBoundaryDetector()
        guess: _Guess | None = None
        queued = False  # a sentence (or a guess) has been handed on

        def put(found: list[str]) -> None:
            nonlocal queued
            if guess is not None and not guess.verdict.done() and found:
                right = found[0] == guess.text
                guess.settle(right)
                if right:
                    found = found[1:]
            for sentence in found:
                queued = True
                for part in split_long_sentence(sentence, max_characters):
                    sentences.put_nowait(part)

        def flush_if_long() -> None:
            """Speak text that has run past a batch without ending a sentence."""
            buffered = detector.current_sentence + detector.remaining_text
            if len(buffered) <= max_characters:
                return
            pieces = split_long_sentence(detector.finish(), max_characters)
            *whole, rest = pieces or [""]
            put(whole)
            # The last, perhaps unfinished, word starts the next sentence.
            separator = buffered[len(buffered.rstrip()) :][-2:]
            put(list(detector.add_chunk(rest + separator)))

        try:
            async for piece in text:
                for start in range(0, len(piece), max_characters):
                    put(list(detector.add_chunk(piece[start : start + max_characters])))
                    flush_if_long()
                    await asyncio.sleep(0)  # one batch of work between yields
                pending = (detector.current_sentence + detector.remaining_text).strip()
                if guess is not None and pending and pending != guess.text:
                    # The text went on: no boundary where the guess put one.
                    guess.settle(False)
                if not queued and _worth_guessing(pending, max_characters):
                    guess = _Guess(pending)
                    queued = True
                    sentences.put_nowait(guess)
                # Let Home Assistant run between the pieces of a long text.
                await asyncio.sleep(0)
            put([rest] if (rest := detector.finish()) else [])
            if guess is not None:
                guess.settle(False)  # no-op when the detector agreed
        except BaseException as err:
            if guess is not None:
                guess.settle(False)
            sentences.put_nowait(_as_error(err))
            if not isinstance(err, Exception):
                raise
        finally:
            sentences.put_nowait(_END)

    held: list[str | _Guess | _End | BaseException] = []  # taken, not used yet

    async def next_sentence() -> str | _Guess | _End | BaseException:
        return held.pop() if held else await sentences.get()

    async def next_batch(first: bool) -> str | _Guess | _End:
        """Wait for one sentence, then take what else is ready (not for the first)."""
        item = await next_sentence()
        if isinstance(item, BaseException):
            raise item
        if isinstance(item, _End | _Guess):
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
        except BaseException as err:
            audio.put_nowait(_as_error(err))
            if not isinstance(err, Exception):
                raise
        else:
            audio.put_nowait(_END)

    async def schedule() -> None:
        first = True
        try:
            while True:
                await slots.acquire()
                item = await next_batch(first)
                if isinstance(item, _End):
                    break
                if isinstance(item, _Guess):
                    guess, batch_text = item, item.text
                else:
                    guess, batch_text = None, item
                # Created here, in playback order: a synthesizer may rely on it.
                # Before the batch is queued: if this raises, no batch waits forever.
                chunks = synthesize(batch_text)
                batch = _Batch(asyncio.Queue(), guess)
                batches.put_nowait(batch)
                batch.task = start(run_batch(chunks, batch.audio))
                # After a guess, the next batch goes alone too: it is the
                # first sentence again if the guess was wrong.
                first = guess is not None
        except Exception as err:  # noqa: BLE001 - handed to the consumer
            failed = _Batch(asyncio.Queue())
            failed.audio.put_nowait(err)
            batches.put_nowait(failed)
        batches.put_nowait(_END)

    start(read_sentences())
    start(schedule())
    spoke = False
    try:
        while not isinstance(batch := await batches.get(), _End):
            if batch.guess is not None and not await batch.guess.verdict:
                # A wrong guess: drop its request; the sentence comes again.
                if batch.task is not None:
                    batch.task.cancel()
                slots.release()
                continue
            while not isinstance(chunk := await batch.audio.get(), _End):
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
