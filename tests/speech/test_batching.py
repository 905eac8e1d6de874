"""Batches by the audio clock: boundaries, timing, 429s, and a simulated reply."""

from __future__ import annotations

from dataclasses import dataclass, field
import heapq

import pytest

from custom_components.cloud_speech.speech.batching import (
    MIN_MARGIN_SECONDS,
    AudioClock,
    BatchLimits,
    BatchRequest,
    BatchScheduler,
    ServiceHistory,
    bytes_per_second,
    take_batch,
)
from custom_components.cloud_speech.speech.formats import get_format
from custom_components.cloud_speech.speech.models import AudioFormat, Codec, Container

PCM_16K = get_format("raw-16khz-16bit-mono-pcm")  # 32,000 bytes a second
PCM_24K = get_format("raw-24khz-16bit-mono-pcm")  # 48,000 bytes a second
ONE_SECOND_24K = bytes(48000)
# Documented by the service, though not in the catalog Home Assistant can ask for.
BARE_OPUS = AudioFormat(
    "audio-24khz-16bit-48kbps-mono-opus",
    Container.RAW,
    Codec.OPUS,
    24000,
    "opus",
    bits_per_sample=16,
    bitrate_kbps=48,
)
MULAW = AudioFormat(
    "raw-8khz-8bit-mono-mulaw", Container.RAW, Codec.MULAW, 8000, "mulaw", 8
)
AMR = AudioFormat("amr-wb-16000hz", Container.AMR, Codec.AMR_WB, 16000, "amr")


class FakeClock:
    """A clock that moves only when a test moves it."""

    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def sentences(count: int, length: int = 80) -> list[str]:
    """`count` sentences of exactly `length` characters."""
    return [(f"Sentence {index}. " + "x" * length)[:length] for index in range(count)]


def playing(
    clock: FakeClock, seconds: float, *, first_byte: float = 0.15
) -> tuple[BatchScheduler, BatchRequest]:
    """A scheduler whose first request has delivered `seconds` of audio, just now."""
    scheduler = BatchScheduler(PCM_24K, clock)
    request = scheduler.request_sent(["Hello there."])
    clock.now += first_byte
    audio = bytes(round(48000 * seconds))
    scheduler.audio_received(request, audio)
    scheduler.audio_delivered(audio)
    scheduler.request_finished(request)
    return scheduler, request


# Audio seconds from bytes


@pytest.mark.parametrize(
    ("audio_format", "one_second"),
    [
        (get_format("raw-16khz-16bit-mono-pcm"), 32000),
        (get_format("riff-24khz-16bit-mono-pcm"), 48000),
        (get_format("audio-24khz-96kbitrate-mono-mp3"), 12000),
        (get_format("audio-48khz-192kbitrate-mono-mp3"), 24000),
        (BARE_OPUS, 6000),
        (MULAW, 8000),
    ],
    ids=lambda value: value.name if isinstance(value, AudioFormat) else None,
)
def test_a_second_of_audio_is_its_rate_in_bytes(
    audio_format: AudioFormat, one_second: int
) -> None:
    assert bytes_per_second(audio_format) == one_second


@pytest.mark.parametrize(
    "audio_format",
    [get_format("ogg-24khz-16bit-mono-opus"), AMR],
    ids=lambda value: value.name,
)
def test_formats_without_a_bitrate_cannot_be_timed(audio_format: AudioFormat) -> None:
    assert bytes_per_second(audio_format) is None
    assert not AudioClock(audio_format, FakeClock()).measurable


def test_two_channels_take_twice_the_bytes() -> None:
    stereo = AudioFormat(
        "stereo", Container.RAW, Codec.PCM, 16000, "pcm", 16, channels=2
    )

    assert bytes_per_second(stereo) == 64000


def test_the_streaming_wav_header_is_not_audio() -> None:
    clock = AudioClock(get_format("riff-16khz-16bit-mono-pcm"), FakeClock())

    clock.audio_delivered(bytes(40))  # most of the header
    clock.audio_delivered(bytes(4 + 32000))  # the rest of it, then a second

    assert clock.seconds_delivered == pytest.approx(1.0)


def test_raw_pcm_counts_every_byte() -> None:
    clock = AudioClock(PCM_16K, FakeClock())

    clock.audio_delivered(bytes(16000))

    assert clock.seconds_delivered == pytest.approx(0.5)


def test_mp3_and_opus_count_by_bitrate() -> None:
    mp3 = AudioClock(get_format("audio-24khz-96kbitrate-mono-mp3"), FakeClock())
    opus = AudioClock(BARE_OPUS, FakeClock())

    mp3.audio_delivered(bytes(24000))
    opus.audio_delivered(bytes(3000))

    assert mp3.seconds_delivered == pytest.approx(2.0)
    assert opus.seconds_delivered == pytest.approx(0.5)


def test_nothing_plays_before_the_first_byte() -> None:
    clock = AudioClock(PCM_16K, FakeClock(10.0))

    assert clock.started_at is None
    assert clock.played(50.0) == 0


def test_playback_clock_starts_at_the_first_byte_out() -> None:
    fake = FakeClock(10.0)
    clock = AudioClock(PCM_16K, fake)

    clock.audio_delivered(bytes(3 * 32000))
    fake.now = 11.0
    clock.audio_delivered(bytes(32000))

    assert clock.started_at == 10.0
    assert clock.ahead(12.5) == pytest.approx(4.0 - 2.5)
    assert clock.ahead(15.0) == pytest.approx(-1.0)  # an underrun


# Batch boundaries


def test_a_batch_stops_before_the_character_cap() -> None:
    five = sentences(5, length=500)  # 3 joined are 1,502 characters, 4 are 2,003

    batch, rest = take_batch(five, BatchLimits(max_characters=2000))

    assert batch == five[:3]
    assert rest == five[3:]


def test_the_character_cap_counts_the_spaces_between_sentences() -> None:
    two = sentences(2, length=1000)  # 2,001 characters joined

    batch, _ = take_batch(two, BatchLimits(max_characters=2000))

    assert batch == two[:1]


def test_cjk_batches_stop_at_ten_minutes_of_slow_speech() -> None:
    # 400 characters at half speed (2 a second) are 200 s: three make 10 minutes,
    # long before 2,000 characters.
    cjk = ["\u4f60" * 399 + "\u3002"] * 5

    batch, rest = take_batch(cjk, BatchLimits(max_audio_seconds=600))

    assert len(batch) == 3
    assert len(rest) == 2


def test_latin_text_meets_the_character_cap_before_the_audio_cap() -> None:
    batch, _ = take_batch(sentences(25, length=79))  # 2,000 characters joined

    assert len(batch) == 25


def test_a_sentence_over_the_limits_still_goes_alone() -> None:
    long = sentences(2, length=3000)

    batch, rest = take_batch(long)

    assert batch == long[:1]
    assert rest == long[1:]


# When to send


def test_the_first_sentence_goes_alone_at_once() -> None:
    scheduler = BatchScheduler(PCM_24K, FakeClock())
    pending = sentences(3)

    assert scheduler.should_send(100.0, pending, message_complete=False)
    assert scheduler.next_batch(pending) == (pending[:1], pending[1:])


def test_a_whole_message_goes_in_two_requests() -> None:
    clock = FakeClock()
    scheduler = BatchScheduler(PCM_24K, clock)
    pending = sentences(5)

    batch, pending = scheduler.next_batch(pending)
    scheduler.request_sent(batch)

    assert scheduler.next_batch(pending) == (pending, [])


def test_no_request_while_enough_audio_is_ahead() -> None:
    clock = FakeClock()
    scheduler, _ = playing(clock, seconds=10.0)

    clock.now += 1.0  # 9 s ahead
    assert not scheduler.should_send(clock.now, ["More."], message_complete=False)
    assert scheduler.when_to_check(clock.now, ["More."], False) == pytest.approx(
        9.0 - MIN_MARGIN_SECONDS
    )


def test_a_request_as_soon_as_the_audio_ahead_runs_low() -> None:
    clock = FakeClock()
    scheduler, _ = playing(clock, seconds=10.0)

    wait = scheduler.when_to_check(clock.now, ["More."], False)
    assert wait is not None
    clock.now += wait + 1e-6

    assert scheduler.should_send(clock.now, ["More."], message_complete=False)


def test_nothing_to_send_means_no_wake_up() -> None:
    clock = FakeClock()
    scheduler, _ = playing(clock, seconds=1.0)

    assert not scheduler.should_send(clock.now, [], message_complete=False)
    assert scheduler.when_to_check(clock.now, [], False) is None


def test_a_complete_message_goes_at_once_when_nothing_is_in_flight() -> None:
    clock = FakeClock()
    scheduler, _ = playing(clock, seconds=60.0)

    assert scheduler.should_send(clock.now, ["The end."], message_complete=True)


def test_with_a_request_in_flight_the_end_of_the_message_waits_its_turn() -> None:
    clock = FakeClock()
    scheduler, _ = playing(clock, seconds=60.0)
    scheduler.request_sent(["Second."])

    assert not scheduler.should_send(clock.now, ["The end."], message_complete=True)


def test_audio_still_coming_counts_as_ahead() -> None:
    clock = FakeClock()
    scheduler = BatchScheduler(PCM_24K, clock)
    scheduler.request_sent(sentences(1, length=200))  # at least 10 s of speech

    assert not scheduler.should_send(clock.now, ["Next."], message_complete=False)


def test_a_short_first_sentence_still_in_flight_lets_the_next_go() -> None:
    clock = FakeClock()
    scheduler = BatchScheduler(PCM_24K, clock)
    scheduler.request_sent(["Sure."])

    assert scheduler.should_send(clock.now, ["Next."], message_complete=False)


def test_never_more_than_two_requests_in_flight() -> None:
    clock = FakeClock()
    scheduler = BatchScheduler(PCM_24K, clock)
    scheduler.request_sent(["Sure."])
    scheduler.request_sent(["Yes."])

    assert not scheduler.should_send(clock.now, ["Next."], message_complete=True)
    assert scheduler.when_to_check(clock.now, ["Next."], True) is None


def test_a_dropped_first_request_makes_the_next_one_first_again() -> None:
    scheduler = BatchScheduler(PCM_24K, FakeClock())
    guess = scheduler.request_sent(["Dr."])
    scheduler.request_dropped(guess)
    pending = sentences(3)

    assert scheduler.next_batch(pending) == (pending[:1], pending[1:])


def test_ogg_waits_for_the_whole_message_and_sends_it_once() -> None:
    scheduler = BatchScheduler(get_format("ogg-24khz-16bit-mono-opus"), FakeClock())
    pending = sentences(30)

    assert not scheduler.should_send(100.0, pending, message_complete=False)
    assert scheduler.when_to_check(100.0, pending, False) is None
    assert scheduler.should_send(100.0, pending, message_complete=True)
    assert scheduler.next_batch(pending) == (pending, [])
    scheduler.request_sent(pending)
    assert not scheduler.should_send(100.0, ["More."], message_complete=True)


# The margin


def test_margin_is_the_floor_for_a_fast_service() -> None:
    scheduler, _ = playing(FakeClock(), seconds=5.0, first_byte=0.15)

    assert scheduler.margin(["More."]) == MIN_MARGIN_SECONDS


def test_margin_grows_with_a_slow_first_byte() -> None:
    scheduler, _ = playing(FakeClock(), seconds=5.0, first_byte=2.0)

    assert scheduler.margin(["More."]) == pytest.approx(6.0)


def test_margin_grows_with_the_batch_when_streaming_is_slower_than_real_time() -> None:
    clock = FakeClock()
    scheduler = BatchScheduler(PCM_24K, clock)
    request = scheduler.request_sent(["Hello there."])
    clock.now += 0.5
    scheduler.audio_received(request, ONE_SECOND_24K)
    clock.now += 2.0  # the next second of audio took two
    scheduler.audio_received(request, ONE_SECOND_24K)
    scheduler.request_finished(request)
    batch = ["x" * 70]  # 10 s at the slowest speech

    # Streamed at half real time, 10 s of audio fall 10 s behind the player.
    assert scheduler.margin(batch) == pytest.approx(MIN_MARGIN_SECONDS + 10.0)


def test_a_slow_first_byte_seen_by_the_entry_counts_for_the_next_stream() -> None:
    history = ServiceHistory()
    clock = FakeClock()
    first = BatchScheduler(PCM_24K, clock, history=history)
    request = first.request_sent(["Hello."])
    clock.now += 1.5
    first.audio_received(request, ONE_SECOND_24K)
    first.request_finished(request)

    second = BatchScheduler(PCM_24K, clock, history=history)

    assert second.margin(["More."]) == pytest.approx(4.5)


# Rate limits


def test_a_429_that_fits_in_the_audio_ahead_waits_then_merges() -> None:
    clock = FakeClock()
    scheduler, _ = playing(clock, seconds=10.0)
    pending = ["Two.", "Three."]
    failed = scheduler.request_sent(pending[:1])
    pending = pending[1:]

    assert scheduler.rate_limited(failed, retry_after=3.0)
    pending = [*failed.sentences, *pending, "Four."]  # back in front

    assert not scheduler.should_send(clock.now, pending, message_complete=True)
    assert scheduler.when_to_check(clock.now, pending, True) == pytest.approx(3.0)
    clock.now += 3.0
    assert scheduler.should_send(clock.now, pending, message_complete=True)
    assert scheduler.next_batch(pending) == (["Two.", "Three.", "Four."], [])


def test_a_429_longer_than_the_audio_ahead_fails() -> None:
    clock = FakeClock()
    scheduler, _ = playing(clock, seconds=3.0, first_byte=0.5)
    failed = scheduler.request_sent(["Two."])

    # 2.6 s of waiting and a 0.5 s first byte do not fit in 3 s.
    assert not scheduler.rate_limited(failed, retry_after=2.6)


def test_a_429_fits_when_the_wait_and_a_first_byte_do() -> None:
    clock = FakeClock()
    scheduler, _ = playing(clock, seconds=3.0, first_byte=0.5)

    assert scheduler.retry_fits(2.5, clock.now)
    assert not scheduler.retry_fits(2.51, clock.now)


def test_a_429_on_the_first_request_fails() -> None:
    clock = FakeClock()
    scheduler = BatchScheduler(PCM_24K, clock)
    first = scheduler.request_sent(["Hello."])

    assert not scheduler.rate_limited(first, retry_after=1.0)


# A simulated stream, event by event

VOICE_CHARACTERS_PER_SECOND = 15.0  # how fast the simulated voice speaks
CHUNK_SECONDS = 0.1  # audio per chunk the simulated service sends
AGENT_CHARACTERS_PER_SECOND = 30 * 4.0  # 30 tokens a second, 4 characters each


@dataclass(frozen=True)
class Service:
    first_byte: float
    real_time_factor: float


@dataclass
class Outcome:
    requests: list[list[str]] = field(default_factory=list)
    sent_at: list[float] = field(default_factory=list)
    worst_underrun: float = 0.0


def reply(count: int = 20) -> list[str]:
    """A reply of `count` sentences of about 87 characters."""
    return [
        f"Sentence {index:02d} of the answer covers the lights, the heating "
        "and the weather for the day."
        for index in range(count)
    ]


def simulate(
    written: list[tuple[float, str]], message_end: float, service: Service
) -> Outcome:
    """Run the scheduler against a written text and a service, event by event.

    The player starts at the first byte and never waits: the worst underrun
    is how far its clock ever got past the audio handed to it.
    """
    clock = FakeClock(0.0)
    scheduler = BatchScheduler(PCM_24K, clock)
    outcome = Outcome()
    events: list[tuple[float, int, str, int]] = []  # time, order, kind, index
    order = 0

    def at(time: float, kind: str, index: int = -1) -> None:
        nonlocal order
        heapq.heappush(events, (time, order, kind, index))
        order += 1

    for time, _ in written:
        at(time, "sentence")
    at(message_end, "end")
    texts = iter(text for _, text in written)
    pending: list[str] = []
    complete = False
    handles: list[BatchRequest] = []
    arrived: list[list[bytes]] = []  # per request, chunks not yet handed on
    chunk_counts: list[int] = []
    received: list[int] = []
    playing_request = 0

    while events:
        clock.now, _, kind, index = heapq.heappop(events)
        if kind == "sentence":
            pending.append(next(texts))
        elif kind == "end":
            complete = True
        elif kind == "chunk":
            chunk = bytes(round(48000 * CHUNK_SECONDS))
            scheduler.audio_received(handles[index], chunk)
            arrived[index].append(chunk)
            received[index] += 1
            if received[index] == chunk_counts[index]:
                scheduler.request_finished(handles[index])
        # Hand on audio in order, as the pipeline does.
        while playing_request < len(handles) and arrived[playing_request]:
            if scheduler.playback.started_at is not None:
                short = -scheduler.playback.ahead(clock.now)
                outcome.worst_underrun = max(outcome.worst_underrun, short)
            scheduler.audio_delivered(arrived[playing_request].pop(0))
            if handles[playing_request].finished and not arrived[playing_request]:
                playing_request += 1
        while scheduler.should_send(clock.now, pending, complete):
            batch, pending = scheduler.next_batch(pending)
            handles.append(scheduler.request_sent(batch))
            outcome.requests.append(batch)
            outcome.sent_at.append(clock.now)
            seconds = sum(len(text) + 1 for text in batch) / VOICE_CHARACTERS_PER_SECOND
            count = max(1, round(seconds / CHUNK_SECONDS))
            arrived.append([])
            chunk_counts.append(count)
            received.append(0)
            for chunk_index in range(count):
                streamed = chunk_index * CHUNK_SECONDS / service.real_time_factor
                at(clock.now + service.first_byte + streamed, "chunk", len(handles) - 1)
        wait = scheduler.when_to_check(clock.now, pending, complete)
        if wait is not None:
            at(clock.now + wait, "wake")
    assert not pending
    assert playing_request == len(handles)
    return outcome


def written_at_agent_speed(texts: list[str]) -> list[tuple[float, str]]:
    """Each sentence complete when its last character has been written."""
    written, characters = [], 0
    for text in texts:
        characters += len(text) + 1
        written.append((characters / AGENT_CHARACTERS_PER_SECOND, text))
    return written


FAST_SERVICE = Service(first_byte=0.15, real_time_factor=10.0)
SLOW_SERVICE = Service(first_byte=1.0, real_time_factor=2.0)


@pytest.mark.parametrize("service", [FAST_SERVICE, SLOW_SERVICE], ids=["fast", "slow"])
def test_a_streamed_reply_takes_few_requests_without_a_gap(service: Service) -> None:
    texts = reply()
    assert 1700 <= len(" ".join(texts)) <= 1800
    written = written_at_agent_speed(texts)

    outcome = simulate(written, message_end=written[-1][0], service=service)

    assert outcome.requests[0] == texts[:1]
    assert outcome.sent_at[0] == written[0][0]  # first audio as early as before
    assert [text for batch in outcome.requests for text in batch] == texts
    assert len(outcome.requests) <= 4
    assert outcome.worst_underrun <= 0.05


@pytest.mark.parametrize("service", [FAST_SERVICE, SLOW_SERVICE], ids=["fast", "slow"])
def test_a_message_known_up_front_takes_two_requests(service: Service) -> None:
    texts = reply(5)

    outcome = simulate([(0.0, text) for text in texts], 0.0, service)

    assert outcome.requests == [texts[:1], texts[1:]]
    assert outcome.worst_underrun <= 0.05
