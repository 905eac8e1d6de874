"""Sentence-pipelined synthesis: speak the first sentence while the rest is written.

Text arrives in arbitrary pieces (an LLM's deltas, or one whole message). The
first complete sentence is synthesized alone, so audio starts as early as
possible. Later sentences wait until the audio still ahead of the listener
runs low (`batching.BatchScheduler`), then go together: a long reply takes a
handful of requests, not one per sentence. Audio is yielded strictly in
order, chunk by chunk, as it arrives.
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
import logging
import re

from sentence_stream import SentenceBoundaryDetector

from .batching import (
    MAX_BATCH_CHARACTERS,
    MAX_IN_FLIGHT,
    BatchLimits,
    BatchRequest,
    BatchScheduler,
    ServiceHistory,
)
from .errors import InvalidRequestError, SpeechError, SpeechRateLimitedError
from .http import RATE_LIMIT_HANDOFF
from .models import AudioFormat, Codec, Container

_LOGGER = logging.getLogger(__name__)

# Audio whose length its size cannot tell: the audio clock counts its text at
# the fastest speech rate instead (batching.FASTEST_SPEECH).
TIMED_BY_TEXT = AudioFormat("timed-by-text", Container.MP3, Codec.MP3, 24000, "mp3")

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
    batch: _Batch | None = None  # its request, once sent

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


class _Dropped:
    """Marks the end of a batch whose audio will not be played."""


_DROPPED = _Dropped()


@dataclass(eq=False)
class _Batch:
    """One request's audio, and the guess it speaks, if it is one."""

    request: BatchRequest
    audio: asyncio.Queue[bytes | _End | _Dropped | BaseException] = field(
        default_factory=asyncio.Queue
    )
    guess: _Guess | None = None
    task: asyncio.Task[None] | None = None
    dropped: bool = False
    # Its last 429 was handed to the pipeline (http.RATE_LIMIT_HANDOFF).
    rate_limit_is_ours: bool = False


async def synthesize_pipelined(
    text: AsyncIterable[str],
    synthesize: Synthesize,
    *,
    audio_format: AudioFormat = TIMED_BY_TEXT,
    history: ServiceHistory | None = None,
    lookahead: int = MAX_IN_FLIGHT,
    max_characters: int = MAX_BATCH_CHARACTERS,
) -> AsyncGenerator[bytes]:
    """Yield the audio of `text`, synthesizing batches of sentences ahead of playback.

    `synthesize(batch_text)` returns one request's audio chunks, in
    `audio_format` as yielded here (by default, audio timed by its text
    only). When each batch goes, and what it holds, is
    `batching.BatchScheduler`'s decision; `history` (shared by the streams
    of one service) lets a new stream start knowing that service. An error in
    any batch (or in `text`) is raised to the consumer when playback reaches
    it; nothing is skipped. A 429 with Retry-After on a later batch is waited
    out when the wait fits in the audio ahead, and its sentences go with the
    next batch; otherwise it is raised. Closing the generator cancels every
    request. Raises InvalidRequestError(field="message") when `text` has
    nothing to say.
    """
    clock = asyncio.get_running_loop().time
    scheduler = BatchScheduler(
        audio_format,
        clock,
        limits=BatchLimits(max_characters=max_characters),
        history=history,
        max_in_flight=lookahead,
    )
    pending: list[str] = []  # complete sentences not sent yet, in order
    guess: _Guess | None = None
    message_complete = False
    text_error: Exception | None = None
    wake = asyncio.Event()  # a sentence, the end of the text, a request done
    batches: asyncio.Queue[_Batch | _End] = asyncio.Queue()  # in playback order
    live: list[_Batch] = []  # sent and not dropped, in order
    failed = False
    tasks: set[asyncio.Task[None]] = set()

    def start(coroutine: Coroutine[None, None, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(coroutine)
        tasks.add(task)
        return task

    def drop(batch: _Batch) -> None:
        """Forget a batch that will not be played; its sentences are the caller's."""
        batch.dropped = True
        scheduler.request_dropped(batch.request)
        if batch in live:
            live.remove(batch)
        if batch.task is not None:
            batch.task.cancel()
        batch.audio.put_nowait(_DROPPED)
        wake.set()

    def settle(right: bool) -> None:
        if guess is None or guess.verdict.done():
            return
        guess.settle(right)
        if not right and guess.batch is not None:
            drop(guess.batch)  # now, so that the real first sentence goes alone

    async def read_sentences() -> None:
        nonlocal guess, message_complete, text_error
        # The detector rescans all it holds for each sentence and each piece: it
        # gets a batch at a time and never holds more than a batch, so that long
        # text costs linear time, not quadratic.
        detector = SentenceBoundaryDetector()
        queued = False  # a sentence (or a guess) has been handed on

        def put(found: list[str]) -> None:
            nonlocal queued
            if guess is not None and not guess.verdict.done() and found:
                right = found[0] == guess.text
                settle(right)
                if right and guess.batch is not None:
                    found = found[1:]  # requested already
            for sentence in found:
                queued = True
                pending.extend(split_long_sentence(sentence, max_characters))
                wake.set()

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
            first_piece = True
            async for piece in text:
                if not first_piece:
                    # Let Home Assistant run between the pieces of a long text.
                    # Not after the last one: a message known whole is complete
                    # before the scheduler looks at it again.
                    await asyncio.sleep(0)
                first_piece = False
                for offset in range(0, len(piece), max_characters):
                    if offset:
                        await asyncio.sleep(0)  # one batch of work between yields
                    put(
                        list(
                            detector.add_chunk(piece[offset : offset + max_characters])
                        )
                    )
                    flush_if_long()
                unsure = (detector.current_sentence + detector.remaining_text).strip()
                if guess is not None and unsure and unsure != guess.text:
                    # The text went on: no boundary where the guess put one.
                    settle(False)
                if not queued and _worth_guessing(unsure, max_characters):
                    guess = _Guess(unsure)
                    queued = True
                    wake.set()
            put([rest] if (rest := detector.finish()) else [])
            settle(False)  # no-op when the detector agreed
        except BaseException as err:
            settle(False)
            text_error = _as_error(err)
            if not isinstance(err, Exception):
                raise
        finally:
            message_complete = True
            wake.set()

    def rate_limit_is_ours(batch: _Batch) -> Callable[[float], bool]:
        # The first batch, before any audio: a wait delays the start and cuts
        # nothing, so http's retry policy waits it out. After that the wait
        # must fit in the audio ahead, and the sentences go with the next batch.
        def ours(_retry_after: float) -> bool:
            batch.rate_limit_is_ours = scheduler.playback.started_at is not None or (
                bool(live) and live[0] is not batch
            )
            return batch.rate_limit_is_ours

        return ours

    def rate_limited(batch: _Batch, err: SpeechRateLimitedError) -> bool:
        """Put a refused batch's sentences back; whether to wait (see batching)."""
        assert err.retry_after is not None  # noqa: S101 - checked by the caller
        later = live[live.index(batch) + 1 :] if batch in live else []
        for other in later:
            drop(other)
        pending[:0] = [
            sentence for each in (batch, *later) for sentence in each.request.sentences
        ]
        fits = scheduler.rate_limited(batch.request, err.retry_after)
        if batch in live:
            live.remove(batch)
        return fits

    async def run_batch(batch: _Batch, chunks: AsyncIterator[bytes]) -> None:
        nonlocal failed
        RATE_LIMIT_HANDOFF.set(rate_limit_is_ours(batch))
        received = False
        try:
            async for chunk in chunks:
                received = True
                scheduler.audio_received(batch.request, chunk)
                batch.audio.put_nowait(chunk)
        except BaseException as err:
            if batch.dropped:
                raise
            if (
                isinstance(err, SpeechRateLimitedError)
                and batch.rate_limit_is_ours
                and not received
                and rate_limited(batch, err)
            ):
                _LOGGER.debug(
                    "Rate limited; waiting %.2f s, then sending %d sentence(s) as one",
                    err.retry_after,
                    len(pending),
                )
                batch.dropped = True
                batch.audio.put_nowait(_DROPPED)
                wake.set()
                return
            failed = True
            scheduler.request_dropped(batch.request)
            batch.audio.put_nowait(_as_error(err))
            wake.set()
            if not isinstance(err, Exception):
                raise
        else:
            scheduler.request_finished(batch.request)
            batch.audio.put_nowait(_END)
            wake.set()

    def send(sentences: list[str], batch_guess: _Guess | None) -> None:
        # Created here, in playback order: a synthesizer may rely on it.
        # Before the batch is queued: if this raises, no batch waits forever.
        chunks = synthesize(join_sentences(sentences))
        batch = _Batch(scheduler.request_sent(sentences), guess=batch_guess)
        if batch_guess is not None:
            batch_guess.batch = batch
        live.append(batch)
        batches.put_nowait(batch)
        batch.task = start(run_batch(batch, chunks))

    def fail(err: Exception) -> None:
        failed_batch = _Batch(BatchRequest((), clock()))
        failed_batch.audio.put_nowait(err)
        batches.put_nowait(failed_batch)

    async def schedule() -> None:
        try:
            while not failed:
                wake.clear()
                offered = guess if not pending and _unsent(guess, scheduler) else None
                offer = [offered.text] if offered is not None else pending
                if message_complete and not offer and scheduler.in_flight == 0:
                    if text_error is not None:
                        fail(text_error)
                    break
                wait = scheduler.when_to_check(clock(), offer, message_complete)
                if wait == 0:
                    if offered is not None:
                        send(offer, offered)
                    else:
                        batch, pending[:] = scheduler.next_batch(pending)
                        send(batch, None)
                    continue
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await wake.wait()
        except Exception as err:  # noqa: BLE001 - handed to the consumer
            fail(err)
        batches.put_nowait(_END)

    start(read_sentences())
    start(schedule())
    spoke = False
    try:
        while not isinstance(batch := await batches.get(), _End):
            if batch.guess is not None and not await batch.guess.verdict:
                continue  # a wrong guess, dropped: the sentence comes again
            if batch.dropped:
                # Refused along with an earlier batch (a 429): its sentences go
                # again in the next request, and audio it already received must
                # not be heard twice, nor before the earlier sentences.
                continue
            while not isinstance(chunk := await batch.audio.get(), _End | _Dropped):
                if isinstance(chunk, BaseException):
                    raise chunk
                spoke = True
                scheduler.audio_delivered(chunk)
                yield chunk
        if not spoke:
            raise InvalidRequestError("There is no text to speak", field="message")
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _unsent(guess: _Guess | None, scheduler: BatchScheduler) -> bool:
    """Whether `guess` is still worth sending: nothing sent, and not disproved."""
    return (
        guess is not None
        and guess.batch is None
        and not guess.verdict.done()
        and scheduler.requests_sent == 0
    )
