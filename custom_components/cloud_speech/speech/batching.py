"""When to send the next batch of sentences: by the audio clock, not by arrival.

A service that synthesizes faster than an agent writes would otherwise get one
request per sentence. Each request is a billed transaction that repeats the
SSML markup, counts against a rate limit (Azure's free tier: 20 a minute) and
may open a connection. So the first sentence goes alone, at once, and every
later batch waits until the audio still ahead of the listener runs low, then
takes every sentence ready by then.

Everything here is a pure decision over times the caller passes in or an
injected `Clock` reads: no I/O, no asyncio, nothing of any one service.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

from .formats import WAV_HEADER_SIZE
from .models import AudioFormat, Codec, Container

type Clock = Callable[[], float]
"""Seconds on a monotonic clock, such as `time.monotonic` or the event loop's."""

# Azure stops a response at 10 minutes of audio (REST reference, "Audio
# outputs"). 2,000 characters is the pipeline's batch size so far: a Latin
# batch stays far below 10 minutes even at half speed (see SLOWEST_SPEECH).
MAX_BATCH_CHARACTERS: Final = 2000
MAX_BATCH_AUDIO_SECONDS: Final = 600.0

# No batch is sent with less audio than this still ahead, however fast the
# service has been: it absorbs what the first-byte history cannot predict (a
# Wi-Fi stall, a busy event loop, a new TLS connection). An assumption, not a
# measurement: a cold first byte (DNS, TCP, TLS, the service's own start) is
# rarely over a second, and 2.5 s is twice that with room to spare. A larger
# floor costs little: a batch goes a little earlier, with the sentences
# written by then. It stays under one spoken sentence (~15 characters a
# second, so 2.5 s is under 40 characters), so the sentence after the first
# still waits for the ones written while the first plays.
MIN_MARGIN_SECONDS: Final = 2.5
# First bytes of one service vary: a reused connection against a new one, a
# busy region. Three times the slowest recent one covers that spread; it only
# exceeds the floor for a service slower than 0.8 s to its first byte.
FIRST_BYTE_FACTOR: Final = 3.0
# "Recently": enough requests to remember a slow one, few enough that a cold
# start stops counting after a handful of requests.
RECENT_REQUESTS: Final = 8
# Requests in flight: the one being played and the one being prepared.
MAX_IN_FLIGHT: Final = 2
# asyncio's timers are no finer than this: a shorter wait is no wait.
_TIMER_RESOLUTION_SECONDS: Final = 0.001


@dataclass(frozen=True, slots=True)
class BatchLimits:
    """What one request may hold."""

    max_characters: int = MAX_BATCH_CHARACTERS
    max_audio_seconds: float = MAX_BATCH_AUDIO_SECONDS


@dataclass(frozen=True, slots=True)
class SpeechRate:
    """Characters spoken a second, for alphabetic text and for CJK text.

    One CJK character is a syllable or a word: about three times the audio of
    a Latin letter. Characters from U+2E80 on (CJK, kana, Hangul) count as
    CJK, everything else (spaces and punctuation too) as alphabetic.
    """

    alphabetic: float
    cjk: float

    def seconds(self, text: str) -> float:
        """The audio `text` takes at this rate."""
        cjk = sum(1 for character in text if ord(character) >= 0x2E80)
        return (len(text) - cjk) / self.alphabetic + cjk / self.cjk


# Neural voices speak about 15 characters a second in English (~150 words a
# minute) and 4 to 5 a second in Mandarin (~250 characters a minute); the
# pipeline's old note on fast CJK voices says the same.
# FASTEST_SPEECH gives the least audio a text can be, for audio not yet
# received: a third above those typical rates, so that a fast voice is not
# mistaken for more audio than it is. It gives way to the stream's own rate
# once one request has been measured.
FASTEST_SPEECH: Final = SpeechRate(alphabetic=20.0, cjk=7.0)
# SLOWEST_SPEECH gives the most audio a text can be, for the 10-minute limit:
# SSML prosody goes down to half speed ("x-slow" is 0.5), so half the typical
# rates. At this rate a CJK batch is capped at 1,200 characters, not 2,000.
SLOWEST_SPEECH: Final = SpeechRate(alphabetic=7.0, cjk=2.0)


def bytes_per_second(audio_format: AudioFormat) -> float | None:
    """Bytes of one second of audio; None when the format does not say.

    PCM, A-law and mu-law have fixed-size samples. MP3 and bare Opus have a
    bitrate: Azure's MP3 is constant-bitrate; Opus may vary around it, and
    this assumes it does not (an assumption, not documented). Ogg/WebM
    without a bitrate, AMR and SILK cannot be timed from their size.
    """
    if audio_format.codec in (Codec.PCM, Codec.ALAW, Codec.MULAW):
        if audio_format.bits_per_sample is None:
            return None
        return (
            audio_format.sample_rate
            * audio_format.channels
            * audio_format.bits_per_sample
            / 8
        )
    if audio_format.codec in (Codec.MP3, Codec.OPUS) and audio_format.bitrate_kbps:
        return audio_format.bitrate_kbps * 1000 / 8
    return None


def take_batch(
    sentences: Sequence[str], limits: BatchLimits = BatchLimits()
) -> tuple[list[str], list[str]]:
    """Split off the longest run of leading sentences one request may hold.

    Sentences are joined with a space (counted, though CJK needs none), and
    their audio is estimated at `SLOWEST_SPEECH`. The first sentence is
    always taken, even alone over a limit: cutting sentences is the
    caller's job (see `pipeline.split_long_sentence`).
    """
    characters = -1  # no separator before the first sentence
    seconds = 0.0
    count = 0
    for sentence in sentences:
        characters += len(sentence) + 1
        seconds += SLOWEST_SPEECH.seconds(sentence)
        if count and (
            characters > limits.max_characters or seconds > limits.max_audio_seconds
        ):
            break
        count += 1
    return list(sentences[:count]), list(sentences[count:])


class AudioClock:
    """Audio handed to the player, against the time the player may have played.

    The player may start at the first byte, so the playback clock runs from
    then at real time. It never stops for a gap: after an underrun it runs
    ahead of the real player, which makes every later decision err early.
    """

    def __init__(self, audio_format: AudioFormat, clock: Clock) -> None:
        """Time audio in `audio_format`; a WAV stream's 44-byte header is not audio."""
        rate = bytes_per_second(audio_format)
        self._seconds_per_byte = None if rate is None else 1 / rate
        self._clock = clock
        self._header_bytes_left = (
            WAV_HEADER_SIZE if audio_format.container is Container.RIFF else 0
        )
        self.seconds_delivered = 0.0
        self.started_at: float | None = None

    @property
    def measurable(self) -> bool:
        """Whether this format's audio can be timed from its size."""
        return self._seconds_per_byte is not None

    def seconds_in(self, chunk: bytes) -> float:
        """Seconds of audio in `chunk` (0 when the format cannot say)."""
        if self._seconds_per_byte is None:
            return 0.0
        return len(chunk) * self._seconds_per_byte

    def audio_delivered(self, chunk: bytes) -> float:
        """Count `chunk` as handed to the player now; return its seconds."""
        if self.started_at is None and chunk:
            self.started_at = self._clock()
        header = min(self._header_bytes_left, len(chunk))
        self._header_bytes_left -= header
        seconds = self.seconds_in(chunk[header:])
        self.seconds_delivered += seconds
        return seconds

    def played(self, now: float) -> float:
        """The most audio a player can have played by `now`."""
        return 0.0 if self.started_at is None else max(0.0, now - self.started_at)

    def ahead(self, now: float) -> float:
        """Audio delivered but not yet played at `now`; negative after an underrun."""
        return self.seconds_delivered - self.played(now)


@dataclass(eq=False, slots=True)
class BatchRequest:
    """One request's sentences and what its audio did; a handle for the caller."""

    sentences: tuple[str, ...]
    sent_at: float
    first_byte_at: float | None = None
    last_byte_at: float | None = None
    seconds_received: float = 0.0
    # Audio after the first chunk, over the time after it: streaming speed.
    seconds_after_first_chunk: float = 0.0
    finished: bool = False

    @property
    def text(self) -> str:
        """The sentences as one text, for estimating its audio."""
        return " ".join(self.sentences)

    @property
    def in_flight(self) -> bool:
        """Whether audio may still come."""
        return not self.finished


@dataclass(slots=True)
class ServiceHistory:
    """How one service answered recently: share one per config entry.

    For each recent finished request: seconds from sending to its first
    byte, and its streaming speed after that in seconds of audio a second
    (the real-time factor; not known when all its audio came in one chunk).
    """

    first_bytes: deque[float] = field(
        default_factory=lambda: deque(maxlen=RECENT_REQUESTS)
    )
    real_time_factors: deque[float] = field(
        default_factory=lambda: deque(maxlen=RECENT_REQUESTS)
    )

    def record(self, request: BatchRequest) -> None:
        """Remember a finished request's first byte and streaming speed."""
        if request.first_byte_at is None:
            return
        self.first_bytes.append(request.first_byte_at - request.sent_at)
        if request.last_byte_at is not None and (
            streaming := request.last_byte_at - request.first_byte_at
        ):
            self.real_time_factors.append(request.seconds_after_first_chunk / streaming)

    @property
    def slowest_first_byte(self) -> float:
        """The slowest recent first byte in seconds; 0 before any."""
        return max(self.first_bytes, default=0.0)

    @property
    def slowest_real_time_factor(self) -> float | None:
        """The slowest recent streaming speed; None before any."""
        return min(self.real_time_factors, default=None)


class BatchScheduler:
    """Decides, for one stream, when the next request goes and what it holds.

    The caller reports what happens (`request_sent`, `audio_received`,
    `request_finished`, `request_dropped`, `audio_delivered`) and asks
    `should_send`, `next_batch` and `when_to_check`. Times are `clock()`
    seconds; a decision takes `now` so that one moment is judged once.
    """

    def __init__(
        self,
        audio_format: AudioFormat,
        clock: Clock,
        *,
        limits: BatchLimits = BatchLimits(),
        history: ServiceHistory | None = None,
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        """Schedule a stream of `audio_format`, learning into `history` if shared."""
        self.playback = AudioClock(audio_format, clock)
        self.history = ServiceHistory() if history is None else history
        self.limits = limits
        self._concatenable = audio_format.concatenable
        self._clock = clock
        self._max_in_flight = max_in_flight
        self._requests: list[BatchRequest] = []  # sent and not dropped, in order
        self._not_before = float("-inf")  # a Retry-After's end

    # What happened

    def request_sent(self, sentences: Sequence[str]) -> BatchRequest:
        """Note a request for `sentences` sent now; pass the handle on to the others."""
        request = BatchRequest(tuple(sentences), self._clock())
        self._requests.append(request)
        return request

    def audio_received(self, request: BatchRequest, chunk: bytes) -> None:
        """Note `chunk` of `request`'s audio arriving now, whether played yet or not."""
        if not chunk:
            return
        now = self._clock()
        seconds = self.playback.seconds_in(chunk)
        if request.first_byte_at is None:
            request.first_byte_at = now
        else:
            request.seconds_after_first_chunk += seconds
        request.last_byte_at = now
        request.seconds_received += seconds

    def request_finished(self, request: BatchRequest) -> None:
        """Note that `request`'s audio is complete."""
        request.finished = True
        self.history.record(request)

    def request_dropped(self, request: BatchRequest) -> None:
        """Forget a request whose audio will not be played (cancelled, failed, wrong guess).

        Its sentences are the caller's to send again; when it was the only
        request, the next one is the first again and goes alone.
        """
        if request in self._requests:
            self._requests.remove(request)

    def audio_delivered(self, chunk: bytes) -> None:
        """Note `chunk` handed to the player now; the first one starts the playback clock."""
        self.playback.audio_delivered(chunk)

    def rate_limited(self, request: BatchRequest, retry_after: float) -> bool:
        """Note a 429 for `request`: drop it, and send nothing for `retry_after` seconds.

        Returns whether to wait (see `retry_fits`). If so, put the request's
        sentences back before the pending ones: the next batch merges them.
        If not, fail the stream with the rate-limit error.
        """
        self.request_dropped(request)
        now = self._clock()
        self._not_before = max(self._not_before, now + retry_after)
        return self.retry_fits(retry_after, now)

    # Decisions

    def retry_fits(self, retry_after: float, now: float) -> bool:
        """Whether a request sent after `retry_after` seconds is heard without a gap.

        Its first byte must come before the audio ahead runs out. That is
        judged with the slowest recent first byte, not the safety margin:
        failing the whole message is worse than risking a short gap. With
        nothing sent yet there is no audio to wait in: only a zero wait fits.
        """
        expected = retry_after + self.history.slowest_first_byte
        return expected <= self.audio_ahead(now)

    def audio_ahead(self, now: float) -> float:
        """The audio ahead of the playback clock once every request in flight is in.

        Audio not yet received counts at `FASTEST_SPEECH`, scaled to how fast
        this stream's voice has turned out to speak: the least it can be.
        """
        scale = self._measured_speech_scale()
        expected = 0.0
        for request in self._requests:
            estimate = FASTEST_SPEECH.seconds(request.text) * scale
            if not self.playback.measurable:
                expected += estimate  # never measured: trust the text
            elif request.finished:
                expected += request.seconds_received
            else:
                expected += max(request.seconds_received, estimate)
        return expected - self.playback.played(now)

    def margin(self, batch: Sequence[str]) -> float:
        """The audio that must still be ahead when `batch` is sent.

        Its first byte must arrive before the audio ahead runs out: the
        larger of `MIN_MARGIN_SECONDS` and `FIRST_BYTE_FACTOR` times the
        slowest recent first byte. Once it streams, a service faster than
        real time only gains on the player; one slower than real time (a
        factor r < 1) falls behind by (1/r - 1) of the batch's audio while
        it streams, so that much more must be ahead.

        The whole batch's streaming time (audio / r) is not added: the
        player starts on the batch's first bytes, not its last. Adding it
        sends a 2x service's batches early and small (5 requests instead of
        3 for a 20-sentence reply) and prevents no gap.
        """
        first_byte = max(
            MIN_MARGIN_SECONDS, FIRST_BYTE_FACTOR * self.history.slowest_first_byte
        )
        factor = self.history.slowest_real_time_factor
        if factor is None or factor >= 1:
            return first_byte
        seconds = sum(SLOWEST_SPEECH.seconds(sentence) for sentence in batch)
        return first_byte + seconds * (1 / factor - 1)

    def next_batch(self, pending: Sequence[str]) -> tuple[list[str], list[str]]:
        """What to send now out of the complete sentences `pending`, and what stays.

        The first sentence of a stream goes alone, for the earliest audio; a
        format that cannot be joined (Ogg, WebM) is one request of everything.
        """
        if not self._concatenable:
            return list(pending), []
        if not self._requests:
            return list(pending[:1]), list(pending[1:])
        return take_batch(pending, self.limits)

    def should_send(
        self,
        now: float,
        pending: Sequence[str],
        message_complete: bool,
    ) -> bool:
        """Whether to send `next_batch(pending)` now.

        `pending` are the complete sentences not yet sent, `message_complete`
        whether the text has ended (every pending sentence is then all there
        is). Requests in flight are those sent and neither finished nor dropped.
        """
        return self.when_to_check(now, pending, message_complete) == 0

    def when_to_check(
        self,
        now: float,
        pending: Sequence[str],
        message_complete: bool,
    ) -> float | None:
        """Seconds until `should_send` turns true if nothing else happens; None: never.

        0 means now. The caller sleeps that long, or until a sentence comes,
        the text ends or a request finishes, whichever is first. Before the
        first byte the playback clock stands still, and the time given is as
        if it ran: the caller wakes early, asks again, never wakes late.
        """
        if not pending or (not self._concatenable and self._requests):
            return None
        if now < self._not_before:
            return self._not_before - now
        if not self._concatenable:
            return 0.0 if message_complete else None
        if not self._requests:
            return 0.0
        in_flight = self.in_flight
        if message_complete and in_flight == 0:
            return 0.0
        if in_flight >= self._max_in_flight:
            return None
        batch, _ = self.next_batch(pending)
        wait = self.audio_ahead(now) - self.margin(batch)
        # Closer than a timer can sleep: now, or the caller would spin.
        return wait if wait > _TIMER_RESOLUTION_SECONDS else 0.0

    @property
    def in_flight(self) -> int:
        """Requests sent whose audio is still coming."""
        return sum(1 for request in self._requests if request.in_flight)

    @property
    def requests_sent(self) -> int:
        """Requests sent and not dropped."""
        return len(self._requests)

    def _measured_speech_scale(self) -> float:
        """How much more audio this voice speaks than `FASTEST_SPEECH` predicts."""
        measured = [r for r in self._requests if r.finished and r.seconds_received]
        estimated = sum(FASTEST_SPEECH.seconds(r.text) for r in measured)
        if not estimated:
            return 1.0
        return sum(r.seconds_received for r in measured) / estimated
