"""Speech to text through the REST API for short audio, against the emulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
import math
import random
import shutil
import struct
import subprocess
from typing import Any

import pytest

from custom_components.cloud_speech.speech.azure import AzureSpeechClient
from custom_components.cloud_speech.speech.azure_recognizer import (
    BYTES_PER_SECOND,
    MAX_AUDIO_SECONDS,
    OGG_OPUS_CONTENT_TYPE,
    PCM_CONTENT_TYPE,
    AzureRecognizer,
    Profanity,
    RecognitionAudio,
    RecognitionStatus,
    parse_recognition,
    recognition_language,
)
from custom_components.cloud_speech.speech.errors import (
    InvalidRequestError,
    NotOfferedError,
    SpeechAuthenticationError,
    SpeechConnectionError,
    SpeechError,
    SpeechRateLimitedError,
    SpeechResponseError,
    SpeechServiceError,
    SpeechTimeoutError,
)
from custom_components.cloud_speech.speech.http import Timeouts
from custom_components.cloud_speech.speech.wav import parse_wav_header
from tests.emulator import Emulator, Fault

FRAME = 640  # 20 ms of 16 kHz 16-bit mono, as satellites send it
SENTENCE = "Turn on the kitchen light."
# Generous: the emulator decodes and matches the audio before it answers,
# and CI machines are loaded. Only the hung cases wait for a deadline.
RECOGNITION = Timeouts(connect=2.0, first_byte=5.0, upload=90.0)
HUNG_RECOGNITION = Timeouts(connect=1.0, first_byte=0.3, upload=5.0)


def tone(seconds: float, frequency: float = 440.0) -> bytes:
    """A loud, recognisable stand-in for speech."""
    samples = int(seconds * 16000)
    return struct.pack(
        f"<{samples}h",
        *(
            int(8000 * math.sin(2 * math.pi * frequency * n / 16000))
            for n in range(samples)
        ),
    )


def silence(seconds: float) -> bytes:
    return bytes(int(seconds * BYTES_PER_SECOND))


def noise(seconds: float) -> bytes:
    rng = random.Random(7)  # noqa: S311 - test audio, not a secret
    samples = int(seconds * 16000)
    return struct.pack(
        f"<{samples}h", *(rng.randint(-9000, 9000) for _ in range(samples))
    )


SPEECH = tone(1.0)


async def frames(pcm: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(pcm), FRAME):
        yield pcm[start : start + FRAME]
        await asyncio.sleep(0)


@pytest.fixture
def taught(emulator: Emulator) -> Emulator:
    """An emulator that hears SENTENCE in SPEECH."""
    emulator.remember_speech(SPEECH, SENTENCE)
    return emulator


@pytest.fixture
def recognizer(
    make_client: Callable[..., AzureSpeechClient],
) -> Callable[..., AzureRecognizer]:
    def make(**kwargs: Any) -> AzureRecognizer:
        client = make_client(recognition_timeouts=kwargs.pop("timeouts", RECOGNITION))
        return AzureRecognizer(client, **kwargs)

    return make


async def test_speech_is_uploaded_while_it_is_still_spoken(
    taught: Emulator, recognizer: Callable[..., AzureRecognizer]
) -> None:
    async def speaking() -> AsyncIterator[bytes]:
        half = len(SPEECH) // 2
        async for frame in frames(silence(0.2) + SPEECH[:half]):
            yield frame
        # The person has not finished: the service must already be hearing.
        # The emulator exposes counters, not events: poll them.
        while not (  # noqa: ASYNC110
            (requests := taught.requests_for("recognition"))
            and requests[0].chunk_count > 0
        ):
            await asyncio.sleep(0.01)
        async for frame in frames(SPEECH[half:] + silence(0.3)):
            yield frame

    result = await recognizer().async_recognize(speaking(), language="en-US")

    assert (result.status, result.text) == (RecognitionStatus.SUCCESS, SENTENCE)
    assert result.audio_seconds == pytest.approx(1.5)
    [request] = taught.requests_for("recognition")
    assert request.host == "chinaeast2.stt.speech.azure.cn"
    assert request.language == "en-US"
    assert request.content_type == PCM_CONTENT_TYPE
    assert request.chunked
    assert request.expect_continue
    header = parse_wav_header(request.body)
    assert header is not None
    assert (header.sample_rate, header.channels, header.bits_per_sample) == (
        16000,
        1,
        16,
    )
    assert request.body[header.data_offset :] == silence(0.2) + SPEECH + silence(0.3)


@pytest.mark.parametrize(
    ("audio", "status"),
    [
        (silence(1.0), RecognitionStatus.INITIAL_SILENCE_TIMEOUT),
        (noise(1.0), RecognitionStatus.NO_MATCH),
    ],
    ids=["silence", "noise"],
)
async def test_nothing_recognised_is_no_text_not_an_error(
    taught: Emulator,
    recognizer: Callable[..., AzureRecognizer],
    audio: bytes,
    status: RecognitionStatus,
) -> None:
    result = await recognizer().async_recognize(frames(audio), language="en-US")
    assert (result.status, result.text) == (status, "")


async def test_an_empty_stream_sends_no_request(
    taught: Emulator, recognizer: Callable[..., AzureRecognizer]
) -> None:
    result = await recognizer().async_recognize(frames(b""), language="en-US")
    assert (result.text, result.audio_seconds) == ("", 0.0)
    assert taught.requests_for("recognition") == []


async def test_audio_past_sixty_seconds_is_not_sent_and_the_text_still_comes(
    taught: Emulator, recognizer: Callable[..., AzureRecognizer]
) -> None:
    seconds: list[float] = []
    long_speech = SPEECH + silence(MAX_AUDIO_SECONDS + 1.0)
    result = await recognizer(on_recognized=seconds.append).async_recognize(
        frames(long_speech), language="en-US"
    )
    assert result.text == SENTENCE
    assert result.audio_seconds == seconds[0] == MAX_AUDIO_SECONDS
    [request] = taught.requests_for("recognition")
    header = parse_wav_header(request.body)
    assert header is not None
    assert (
        len(request.body) - header.data_offset == MAX_AUDIO_SECONDS * BYTES_PER_SECOND
    )


@pytest.mark.parametrize(
    ("language", "sent"),
    [("en-US", "en-US"), ("zh-cn", "zh-CN"), ("yue_CN", "yue-CN")],
)
def test_the_language_is_sent_as_the_service_spells_it(
    language: str, sent: str
) -> None:
    assert recognition_language(language) == sent


async def test_an_unsupported_language_is_refused_before_any_request(
    taught: Emulator, recognizer: Callable[..., AzureRecognizer]
) -> None:
    with pytest.raises(InvalidRequestError) as err:
        await recognizer().async_recognize(frames(SPEECH), language="tlh-QO")
    assert (err.value.field, err.value.value) == ("recognition_language", "tlh-QO")
    assert taught.requests == []


@pytest.mark.parametrize(
    ("profanity", "sent"),
    [(Profanity.MASKED, None), (Profanity.REMOVED, "removed"), (Profanity.RAW, "raw")],
)
async def test_the_profanity_option_reaches_the_service(
    taught: Emulator,
    recognizer: Callable[..., AzureRecognizer],
    profanity: Profanity,
    sent: str | None,
) -> None:
    await recognizer(profanity=profanity).async_recognize(
        frames(SPEECH), language="en-US"
    )
    [request] = taught.requests_for("recognition")
    # Masked is the service's default: it need not be said.
    assert request.profanity == sent


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault("recognition", status=401), SpeechAuthenticationError),
        (Fault("recognition", status=403), SpeechAuthenticationError),
        (
            Fault("recognition", status=429, headers={"Retry-After": "60"}),
            SpeechRateLimitedError,
        ),
        (Fault("recognition", status=500, times=2), SpeechServiceError),
        (Fault("recognition", status=503, times=2), SpeechServiceError),
        (Fault("recognition", status=404), NotOfferedError),
        (Fault("recognition", hang=True, times=2), SpeechTimeoutError),
        (Fault("recognition", cut_after=0, times=2), SpeechConnectionError),
        (
            Fault("recognition", body='{"RecognitionStatus": "Error"}'),
            SpeechServiceError,
        ),
        (Fault("recognition", body="<html>gateway</html>"), SpeechResponseError),
    ],
    ids=[
        "401",
        "403",
        "429-long",
        "500",
        "503",
        "404-container",
        "hung",
        "cut",
        "status-error",
        "not-json",
    ],
)
async def test_failures_raise_and_the_next_utterance_is_heard(
    taught: Emulator,
    recognizer: Callable[..., AzureRecognizer],
    fault: Fault,
    error: type[SpeechError],
) -> None:
    heard: list[float] = []
    speech_to_text = recognizer(
        on_recognized=heard.append,
        timeouts=HUNG_RECOGNITION if fault.hang else RECOGNITION,
    )
    taught.faults.append(fault)

    with pytest.raises(error):
        await speech_to_text.async_recognize(frames(SPEECH), language="en-US")
    assert heard == []  # a failed request is not billed

    result = await speech_to_text.async_recognize(frames(SPEECH), language="en-US")
    assert result.text == SENTENCE
    assert heard == [pytest.approx(1.0)]


async def test_a_failed_attempt_is_sent_again_with_all_the_audio(
    taught: Emulator, recognizer: Callable[..., AzureRecognizer]
) -> None:
    taught.faults.append(Fault("recognition", status=500))
    result = await recognizer().async_recognize(frames(SPEECH), language="en-US")
    assert result.text == SENTENCE
    first, second = taught.requests_for("recognition")
    assert (first.status, second.status) == (500, 200)
    header = parse_wav_header(second.body)
    assert header is not None
    assert second.body[header.data_offset :] == SPEECH


async def test_a_service_that_never_answers_is_given_up_on_after_the_speech_ends(
    taught: Emulator, recognizer: Callable[..., AzureRecognizer]
) -> None:
    """The wait counts from the end of the speech, however long it was."""
    taught.faults.append(Fault("recognition", hang=True, times=2))

    async def long_speech() -> AsyncIterator[bytes]:
        for _ in range(3):
            async for frame in frames(SPEECH):
                yield frame
            await asyncio.sleep(0.2)  # longer than the first-byte timeout

    with pytest.raises(SpeechTimeoutError):
        await recognizer(timeouts=HUNG_RECOGNITION).async_recognize(
            long_speech(), language="en-US"
        )


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"RecognitionStatus": "Success", "DisplayText": "Hi."}, ("Success", "Hi.")),
        ({"RecognitionStatus": "Success", "DisplayText": ""}, ("Success", "")),
        ({"RecognitionStatus": "BabbleTimeout"}, ("BabbleTimeout", "")),
        ({"RecognitionStatus": "SomethingNew"}, ("SomethingNew", "")),
    ],
)
def test_results_in_the_documented_shape(
    data: dict[str, str], expected: tuple[str, str]
) -> None:
    assert parse_recognition(data) == expected


@pytest.mark.parametrize("data", [[], {"DisplayText": "Hi."}, {"RecognitionStatus": 1}])
def test_results_in_another_shape_are_refused(data: object) -> None:
    with pytest.raises(SpeechResponseError):
        parse_recognition(data)


async def test_the_upload_rides_a_connection_opened_as_listening_starts(
    taught: Emulator, recognizer: Callable[..., AzureRecognizer]
) -> None:
    taught.network_rtt = 0.02  # TCP + TLS: 40 ms on a new connection

    async def speaking() -> AsyncIterator[bytes]:
        await asyncio.sleep(0.05)  # the first audio comes a moment after the call
        async for frame in frames(SPEECH):
            yield frame

    result = await recognizer().async_recognize(speaking(), language="en-US")

    assert result.text == SENTENCE
    [request] = taught.requests_for("recognition")
    assert request.connection_setup == 0.0
    assert taught.connections_opened == 1


def ogg_opus(pcm: bytes) -> bytes:
    """16 kHz mono PCM as Ogg Opus, as a browser or an app might send it."""
    ffmpeg = shutil.which("ffmpeg")
    assert ffmpeg is not None
    return subprocess.run(  # noqa: S603 - a fixed command line
        [
            ffmpeg,
            *("-hide_banner", "-loglevel", "error"),
            *("-f", "s16le", "-ar", "16000", "-ac", "1", "-i", "pipe:0"),
            *("-c:a", "libopus", "-f", "ogg", "pipe:1"),
        ],
        input=pcm,
        capture_output=True,
        check=True,
    ).stdout


async def pieces(data: bytes, size: int = 1000) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_ogg_opus_is_uploaded_as_it_is_and_recognised(
    taught: Emulator, recognizer: Callable[..., AzureRecognizer]
) -> None:
    ogg = ogg_opus(silence(0.2) + SPEECH + silence(0.3))
    result = await recognizer().async_recognize(
        pieces(ogg), language="en-US", kind=RecognitionAudio.OGG_OPUS
    )
    assert result.text == SENTENCE
    assert result.audio_seconds == pytest.approx(1.5, abs=0.05)
    [request] = taught.requests_for("recognition")
    assert request.content_type == OGG_OPUS_CONTENT_TYPE
    assert request.body == ogg


async def test_ogg_past_sixty_seconds_is_cut_at_a_page(
    taught: Emulator, recognizer: Callable[..., AzureRecognizer]
) -> None:
    ogg = ogg_opus(SPEECH + silence(MAX_AUDIO_SECONDS + 1.0))
    result = await recognizer().async_recognize(
        pieces(ogg, 4096), language="en-US", kind=RecognitionAudio.OGG_OPUS
    )
    assert result.text == SENTENCE
    assert MAX_AUDIO_SECONDS - 1 < result.audio_seconds <= MAX_AUDIO_SECONDS
    [request] = taught.requests_for("recognition")
    assert ogg.startswith(request.body)
    assert len(request.body) < len(ogg)


async def test_a_stream_that_is_not_ogg_is_refused_before_any_request(
    taught: Emulator, recognizer: Callable[..., AzureRecognizer]
) -> None:
    with pytest.raises(InvalidRequestError) as err:
        await recognizer().async_recognize(
            frames(SPEECH), language="en-US", kind=RecognitionAudio.OGG_OPUS
        )
    assert err.value.field == "audio"
    assert taught.requests == []
