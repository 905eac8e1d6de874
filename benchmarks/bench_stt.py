"""Benchmark of speech to text: from the end of speech to the text.

Run with scripts/bench (`scripts/bench -k speech_to_text` alone). Nothing here
asserts a timing: the figures are printed and written to benchmarks/RESULTS.md
(see report.py), targets included.

Two uploads of the same clip (3 s of speech, then the 0.7 s of silence after
which Home Assistant's voice activity detection ends the stream), against the
emulator's processing model (tests/emulator/FIDELITY.md, "Time to answer"):

- ours: `AzureRecognizer.async_recognize` fed 20 ms frames at real-time pace,
  as Home Assistant's pipeline hands them over; it uploads while they arrive;
- a bare client: one aiohttp POST of the whole WAV, sent when the speech has
  ended (what a client that buffers the utterance does).

The clock starts when the last frame is handed over (the end of the stream)
and stops when the text is back at the caller.
"""

from __future__ import annotations

import array
import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import math
import os
import sys
import time
from typing import Any

from benchmarks import report
from benchmarks.conftest import RECOGNITION_SPEEDS, REGION, Bench
from custom_components.cloud_speech.speech.azure_recognizer import (
    PCM_CONTENT_TYPE,
    AzureRecognizer,
)
from tests.emulator import TEST_KEY
from tests.emulator.audio import wav_container

#: Measured runs per figure (one warm-up run of each upload comes on top).
RUNS = int(os.environ.get("BENCH_STT_RUNS", "10"))
#: Streamed runs last as long as their audio: this many run at once, their
#: starts spread over one clip, so that no two end together.
LANES = 3

SAMPLE_RATE = 16_000
FRAME_SECONDS = 0.020
FRAME_BYTES = round(FRAME_SECONDS * SAMPLE_RATE) * 2
SPEECH_SECONDS = 3.0
#: Home Assistant's voice activity detection ends the stream after this much
#: silence (assist_pipeline.vad, default sensitivity).
TRAILING_SILENCE = 0.7
TEXT = "Turn on the kitchen lights and set them to forty percent."
URL = (
    f"https://{REGION}.stt.speech.microsoft.com"
    "/speech/recognition/conversation/cognitiveservices/v1"
)


def speech(seconds: float) -> bytes:
    """Speech-like (a non-periodic chirp) 16 kHz mono 16-bit PCM."""
    count = round(seconds * SAMPLE_RATE)
    samples = array.array("h")
    phase = 0.0
    for n in range(count):
        frequency = 250.0 + 900.0 * n / count
        phase += 2 * math.pi * frequency / SAMPLE_RATE
        envelope = math.sin(math.pi * n / count) ** 0.5
        samples.append(round(8000 * envelope * math.sin(phase)))
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()


def recognizer(bench: Bench) -> AzureRecognizer:
    found = bench.entry.runtime_data.recognizer
    assert isinstance(found, AzureRecognizer)
    return found


async def streamed_run(bench: Bench, clip: bytes) -> float:
    """Ours: frames at real-time pace; seconds from the end to the text."""
    marks: dict[str, float] = {}

    async def frames() -> AsyncIterator[bytes]:
        count = len(clip) // FRAME_BYTES
        start = time.perf_counter()
        for index in range(count):
            # A frame is handed over when its 20 ms have been spoken.
            due = start + (index + 1) * FRAME_SECONDS
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            if index == count - 1:
                marks["end"] = time.perf_counter()
            yield clip[index * FRAME_BYTES : (index + 1) * FRAME_BYTES]

    result = await recognizer(bench).async_recognize(frames(), language="en-US")
    done = time.perf_counter()
    assert result.text == TEXT, result
    return done - marks["end"]


async def whole_clip_run(bench: Bench, wav: bytes) -> float:
    """A bare client: the whole WAV in one POST once the speech has ended."""
    end = time.perf_counter()
    async with bench.session.post(
        URL,
        params={"language": "en-US", "format": "simple"},
        data=wav,
        headers={
            "Ocp-Apim-Subscription-Key": TEST_KEY,
            "Content-Type": PCM_CONTENT_TYPE,
            "Accept": "application/json",
        },
    ) as response:
        result = await response.json()
    done = time.perf_counter()
    assert result.get("DisplayText") == TEXT, result
    return done - end


async def lane(
    delay: float, runs: int, run: Callable[[], Awaitable[float]], out: list[float]
) -> None:
    await asyncio.sleep(delay)
    out.extend([await run() for _ in range(runs)])


async def measure(bench: Bench, speed: str, clip: bytes, wav: bytes) -> dict[str, Any]:
    """RUNS of each upload at one service speed, measured side by side."""
    await bench.recognition_pace(speed)
    await bench.reset()
    streamed: list[float] = []
    whole: list[float] = []
    clip_seconds = len(clip) / (2 * SAMPLE_RATE)
    per_lane = [len(range(lane_index, RUNS, LANES)) for lane_index in range(LANES)]
    await asyncio.gather(
        *(
            lane(
                index * clip_seconds / LANES,
                runs,
                lambda: streamed_run(bench, clip),
                streamed,
            )
            for index, runs in enumerate(per_lane)
        ),
        lane(0.05, RUNS, lambda: whole_clip_run(bench, wav), whole),
    )
    recognitions = (await bench.stats())["recognitions"]
    latency, _ = RECOGNITION_SPEEDS[speed]
    figures: dict[str, Any] = {"latency": latency}
    for name, values, chunked in (
        ("streamed", streamed, True),
        ("whole", whole, False),
    ):
        waits = [
            float(record["wait_s"])
            for record in recognitions
            if record["chunked"] is chunked and record["wait_s"] is not None
        ]
        wait = report.median(waits)
        figures[name] = {
            "runs": len(values),
            "median": report.median(values),
            "p90": report.p90(values),
            "wait_median": wait,
            "beyond_median": report.median(values) - wait,
            "beyond_p90": report.p90(values) - wait,
        }
        print(
            f"speech to text {speed}, {name}: text {report.ms(report.median(values))} "
            f"after the end (p90 {report.ms(report.p90(values))}); emulator's "
            f"modelled wait {report.ms(wait)}"
        )
    return figures


async def test_speech_to_text(bench: Bench) -> None:
    """Time from the end of speech to the text: streamed upload against whole."""
    load_at_start = [f"{load:.2f}" for load in os.getloadavg()]
    voice = speech(SPEECH_SECONDS)
    clip = voice + bytes(round(TRAILING_SILENCE * SAMPLE_RATE) * 2)
    wav = wav_container(clip, SAMPLE_RATE)
    await bench.remember(voice, TEXT)
    # Warm-up: connections open, code paths loaded (not measured).
    await bench.recognition_pace(None)
    await streamed_run(bench, clip)
    await whole_clip_run(bench, wav)
    speeds = {
        speed: await measure(bench, speed, clip, wav) for speed in RECOGNITION_SPEEDS
    }
    await bench.recognition_pace(None)
    report.SECTIONS[report.SPEECH_TO_TEXT] = {
        "conditions": report.speech_to_text_conditions(RUNS, LANES, load_at_start),
        "speeds": speeds,
    }
