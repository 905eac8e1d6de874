"""Benchmarks of Cloud Speech through Home Assistant's TTS machinery.

Run with scripts/bench. Nothing here asserts a timing: every figure is printed
and written to benchmarks/RESULTS.md (see report.py), targets included.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
import contextlib
from dataclasses import dataclass, field
import io
import logging
import os
from pathlib import Path
import struct
import time
from typing import Any
from unittest.mock import patch
import wave

from homeassistant.components import tts
from homeassistant.components.tts.entity import TTSAudioRequest
from homeassistant.components.tts.helper import get_engine_instance
import pytest
from sentence_stream import SentenceBoundaryDetector

from benchmarks import report
from benchmarks.conftest import (
    CORE_ENGINE,
    ENTITY_ID,
    MP3_BYTES_PER_SECOND,
    SERVICE_SPEEDS,
    Bench,
)
from custom_components.cloud_speech.speech.ssml import build_ssml
from custom_components.cloud_speech.tts import AzureSpeechEntity
from tests.e2e.harness import (
    HASS_PYTHON_ENV,
    HomeAssistantApi,
    Stack,
    ffmpeg_conversions,
    free_port,
    logging_ffmpeg,
    request as http_request,
    write_config,
)
from tests.emulator import TEST_KEY
from tests.emulator.audio import mp3_frame_count

#: Measured runs per figure (warm-up runs come on top).
RUNS = int(os.environ.get("BENCH_RUNS", "30"))
WARMUP = 2
#: Whole streamed replies per service speed: each lasts as long as its audio.
STREAM_RUNS = int(os.environ.get("BENCH_STREAM_RUNS", "3"))
SPEAK_RUNS = 5  # a count, the same every run
CONCURRENT = int(os.environ.get("BENCH_CONCURRENT", "200"))

#: LLM-like text streaming: 4-character deltas every 33 ms (about 30 tokens/s).
DELTA_CHARACTERS = 4
DELTA_INTERVAL = 0.033

MP3 = {"preferred_format": "mp3"}
WAV_HEADER_BYTES = 44

NAMES = ("Ann", "Anna", "Annie", "Annika")  # lengths 3-6: every alignment mod 4
MORE_SENTENCES = (
    "The front door is locked.",
    "It is 21 degrees inside.",
    "Rain is expected at six.",
    "The garage door is open.",
    "Your next meeting starts at ten.",
    "The dishwasher has two minutes left.",
    "All windows upstairs are closed.",
    "The porch light turns on at sunset.",
    "Tomorrow will be sunny and warm.",
    "The robot vacuum is back on its dock.",
    "Your parcel was delivered at noon.",
    "The heating is set to eco mode.",
    "Nobody is at home right now.",
    "The freezer door was left open.",
    "Bedtime is in thirty minutes.",
    "The car is charged to eighty percent.",
    "The water heater is on.",
    "Two lights are on in the basement.",
    "Have a lovely evening.",
)


def first_sentence(run: int) -> str:
    """A distinct first sentence; its length cycles through every alignment."""
    return f"Hi {NAMES[run % 4]}, reply {run:05d} is ready."


def reply(run: int, sentences: int) -> str:
    return " ".join([first_sentence(run), *MORE_SENTENCES[: sentences - 1]])


def split_deltas(text: str) -> list[str]:
    return [
        text[i : i + DELTA_CHARACTERS] for i in range(0, len(text), DELTA_CHARACTERS)
    ]


async def one_piece(text: str) -> AsyncGenerator[str]:
    yield text


def percentiles(values: list[float]) -> tuple[float, float]:
    return report.median(values), report.p95(values)


@dataclass
class Fetch:
    """One request through Home Assistant's TTS machinery, seen by the consumer."""

    first_byte: float  # seconds from creating the stream to the first chunk
    size: int
    server: list[dict[str, Any]] = field(default_factory=list)
    # The first byte past a WAV header (Cloud Speech sends its header at once,
    # before Azure answers); the first chunk for other formats.
    first_audio: float = 0.0

    def server_first_byte(self, *, first_request: bool) -> float:
        """The emulator's own first-byte time of the request audio started with."""
        synthesis = [
            record
            for record in self.server
            if record["path"].endswith("/cognitiveservices/v1")
        ]
        if first_request:
            # Ours: the first sentence goes alone, so it is the shortest body.
            chosen = min(synthesis, key=lambda record: record["body_bytes"] or 0)
        else:
            [chosen] = synthesis
        return float(chosen["first_byte_s"])


async def fetch(
    bench: Bench,
    engine: str,
    *,
    message: str | None = None,
    deltas: AsyncGenerator[str] | None = None,
    options: dict[str, Any] | None = None,
) -> Fetch:
    """Fetch like a media player (message) or an Assist pipeline (deltas)."""
    start = time.perf_counter()
    stream = tts.async_create_stream(bench.hass, engine, options=options)
    if deltas is None:
        assert message is not None
        stream.async_set_message(message)
    else:
        stream.async_set_message_stream(deltas)
    header = WAV_HEADER_BYTES if stream.extension == "wav" else 0
    first: float | None = None
    first_audio: float | None = None
    size = 0
    async for chunk in stream.async_stream_result():
        if first is None and chunk:
            first = time.perf_counter()
        size += len(chunk)
        if first_audio is None and size > header:
            first_audio = time.perf_counter()
    assert first is not None
    assert first_audio is not None
    return Fetch(
        first - start,
        size,
        (await bench.stats())["timings"],
        first_audio=first_audio - start,
    )


async def raw_fetch(bench: Bench, ssml: str) -> Fetch:
    """The same first request from a bare aiohttp client on the same session."""
    start = time.perf_counter()
    async with bench.session.post(
        f"https://{bench.entry.data['region']}.tts.speech.microsoft.com/cognitiveservices/v1",
        data=ssml.encode(),
        headers={
            "Ocp-Apim-Subscription-Key": TEST_KEY,
            "Content-Type": "application/ssml+xml",
            "X-Microsoft-OutputFormat": "audio-24khz-96kbitrate-mono-mp3",
            "User-Agent": "benchmark",
        },
    ) as response:
        chunk = await response.content.readany()
        first = time.perf_counter()
        size = len(chunk)
        while chunk := await response.content.readany():
            size += len(chunk)
    return Fetch(first - start, size, (await bench.stats())["timings"])


def entity(bench: Bench) -> AzureSpeechEntity:
    engine = get_engine_instance(bench.hass, ENTITY_ID)
    assert isinstance(engine, AzureSpeechEntity)
    return engine


# --- 1 and 2: first byte, ours and core's, in the same runs -----------------


async def test_first_byte(bench: Bench) -> None:
    """Time to first audio byte at the consumer, minus the emulator's own."""
    settings = entity(bench).plan("en-US", {}).settings
    await bench.reset()
    figures: dict[str, Any] = {}
    for sentences in (1, 5):
        samples: dict[str, list[tuple[float, float]]] = {
            "ours_message": [],
            "ours_stream": [],
            "core_message": [],
            "bare_client": [],
        }
        for run in range(WARMUP + RUNS):
            text = reply(1000 * sentences + run, sentences)
            sentence = first_sentence(1000 * sentences + run)
            # Rotate the order so that no engine always goes first.
            names = list(samples)
            shift = run % len(names)
            for name in names[shift:] + names[:shift]:
                if name == "ours_message":
                    result = await fetch(bench, ENTITY_ID, message=text)
                elif name == "ours_stream":
                    result = await fetch(
                        bench, ENTITY_ID, deltas=one_piece(text), options=MP3
                    )
                elif name == "core_message":
                    result = await fetch(bench, CORE_ENGINE, message=text)
                else:
                    result = await raw_fetch(bench, build_ssml(sentence, settings))
                emulator_own = result.server_first_byte(
                    first_request=name != "core_message"
                )
                if run >= WARMUP:
                    samples[name].append(
                        (result.first_byte, result.first_byte - emulator_own)
                    )
        for name, values in samples.items():
            first_bytes = [value[0] for value in values]
            overheads = [value[1] for value in values]
            figures[f"{name}_{sentences}"] = {
                "runs": len(values),
                "first_byte": percentiles(first_bytes),
                "overhead": percentiles(overheads),
            }
            print(
                f"{name:>13} {sentences} sentence(s): first byte "
                f"{report.ms(report.median(first_bytes))} (p95 "
                f"{report.ms(report.p95(first_bytes))}), overhead "
                f"{report.ms(report.median(overheads))} (p95 "
                f"{report.ms(report.p95(overheads))})"
            )
    report.SECTIONS["first_byte"] = figures


# --- 3: streaming LLM deltas --------------------------------------------------


def boundary_delta(deltas: list[str], sentence: str) -> tuple[int, int | None]:
    """(delta completing `sentence`, delta after which the detector emits it)."""
    completing = next(
        index
        for index in range(len(deltas))
        if len("".join(deltas[: index + 1])) >= len(sentence)
    )
    detector = SentenceBoundaryDetector()
    for index, delta in enumerate(deltas):
        if list(detector.add_chunk(delta)):
            return completing, index
    return completing, None  # only at the end of the stream


async def llm(
    deltas: list[str], completing: int, marks: dict[str, float]
) -> AsyncGenerator[str]:
    start = time.perf_counter()
    for index, delta in enumerate(deltas):
        await asyncio.sleep(
            max(0.0, start + index * DELTA_INTERVAL - time.perf_counter())
        )
        if index == completing:
            marks["complete"] = time.perf_counter()
        yield delta


async def first_audio_of_stream(
    bench: Bench, deltas: list[str], completing: int
) -> float:
    """Seconds from the delta completing sentence 1 to the first audio byte.

    The run ends there: Home Assistant's loading task for it is cancelled, so
    the rest of a long reply costs no time (the figure is already taken).
    """
    marks: dict[str, float] = {}
    stream = tts.async_create_stream(bench.hass, ENTITY_ID, options=MP3)
    stream.async_set_message_stream(llm(deltas, completing, marks))
    async with contextlib.aclosing(stream.async_stream_result()) as audio:
        async for chunk in audio:
            if chunk:
                first = time.perf_counter()
                break
    loading = [
        task
        for task in asyncio.all_tasks()
        if task.get_name().startswith("tts_load_data_into_cache") and not task.done()
    ]
    for task in loading:
        task.cancel()
    await asyncio.gather(*loading, return_exceptions=True)
    await bench.stats()  # clears the emulator's timings
    return first - marks["complete"]


async def test_streaming(bench: Bench) -> None:
    """LLM-like deltas: first audio after the first sentence is complete."""
    figures: dict[str, Any] = {}
    for speed in SERVICE_SPEEDS:
        await bench.pace(speed)
        figures[speed] = await streaming_first_audio(bench)
    await bench.pace("fast")
    for speed, figure in figures.items():
        for sentences in (1, 20):
            print(
                f"stream {speed} {sentences:>2} sentence(s): first audio "
                f"{report.ms(figure[sentences]['first_audio'][0])} after sentence 1 "
                f"(p95 {report.ms(figure[sentences]['first_audio'][1])}); detector "
                f"wait {report.ms(figure[sentences]['detector_wait'][0])}; after "
                f"detection {report.ms(figure[sentences]['after_detection'][0])}"
            )
        print(f"stream {speed} ratio 20/1: {figure['ratio']:.3f}")
    report.SECTIONS["streaming"] = figures


async def streaming_first_audio(bench: Bench) -> dict[Any, Any]:
    samples: dict[int, list[float]] = {1: [], 20: []}
    lags: dict[int, list[float]] = {1: [], 20: []}
    for run in range(WARMUP + RUNS):
        for sentences in (1, 20) if run % 2 else (20, 1):
            text = reply(3000 + run, sentences)
            deltas = split_deltas(text)
            completing, emitted = boundary_delta(deltas, first_sentence(3000 + run))
            seconds = await first_audio_of_stream(bench, deltas, completing)
            if run >= WARMUP:
                samples[sentences].append(seconds)
                # How long the sentence detector must wait for the next
                # sentence's first letter before it can tell the sentence ended.
                lags[sentences].append(
                    0.0 if emitted is None else (emitted - completing) * DELTA_INTERVAL
                )
    figures: dict[Any, Any] = {
        sentences: {
            "runs": len(values),
            "first_audio": percentiles(values),
            "detector_wait": percentiles(lags[sentences]),
            "after_detection": percentiles(
                [
                    value - lag
                    for value, lag in zip(values, lags[sentences], strict=True)
                ]
            ),
        }
        for sentences, values in samples.items()
    }
    figures["ratio"] = report.median(samples[20]) / report.median(samples[1])
    return figures


# --- 3b: batches of a streamed reply, by the audio clock ------------------------


@dataclass
class Playback:
    """A whole streamed reply at the consumer: chunk arrival times and sizes."""

    arrivals: list[tuple[float, int]] = field(default_factory=list)

    def underrun(self) -> float:
        """How far a player started at the first byte ever got past the audio.

        Playing in real time from the first chunk's arrival, the player has
        played `t - t0` seconds when chunk i arrives at `t`, and has had the
        audio of chunks 0..i-1 only: the gap is the difference, when positive.
        """
        start = self.arrivals[0][0]
        received = 0.0
        worst = 0.0
        for arrived, size in self.arrivals:
            worst = max(worst, (arrived - start) - received)
            received += size / MP3_BYTES_PER_SECOND
        return worst


async def play_streamed_reply(bench: Bench, run: int) -> tuple[int, Playback]:
    """Stream a 20-sentence reply at the agent's pace; (synthesis requests, playback)."""
    await bench.reset()
    deltas = split_deltas(reply(5000 + run, 20))
    completing, _ = boundary_delta(deltas, first_sentence(5000 + run))
    stream = tts.async_create_stream(bench.hass, ENTITY_ID, options=MP3)
    stream.async_set_message_stream(llm(deltas, completing, {}))
    playback = Playback()
    async for chunk in stream.async_stream_result():
        if chunk:
            playback.arrivals.append((time.perf_counter(), len(chunk)))
    stats = await bench.stats()
    return int(stats["requests"].get("synthesis", 0)), playback


async def test_streaming_batches(bench: Bench) -> None:
    """Requests per streamed reply and playback underrun, at two service speeds.

    A run lasts as long as its audio (the last batch goes when the audio
    ahead runs low), about 37 s: STREAM_RUNS runs per speed, not RUNS.
    """
    figures: dict[str, Any] = {}
    for speed in SERVICE_SPEEDS:
        await bench.pace(speed)
        requests: list[int] = []
        underruns: list[float] = []
        for run in range(STREAM_RUNS):
            count, playback = await play_streamed_reply(bench, run)
            requests.append(count)
            underruns.append(playback.underrun())
        figures[speed] = {
            "runs": STREAM_RUNS,
            "requests": requests,
            "underrun_max": max(underruns),
            "underrun_median": report.median(underruns),
        }
        print(
            f"stream {speed}: requests per 20-sentence reply {requests}; underrun "
            f"max {report.ms(max(underruns))}, median "
            f"{report.ms(report.median(underruns))}"
        )
    await bench.pace("fast")
    speak_requests = []
    for run in range(SPEAK_RUNS):
        await bench.reset()
        await fetch(bench, ENTITY_ID, message=reply(6000 + run, 5))
        speak_requests.append(int((await bench.stats())["requests"]["synthesis"]))
    figures["speak_5"] = speak_requests
    print(f"tts.speak 5 sentences: requests {speak_requests}")
    report.SECTIONS["streaming_batches"] = figures


# --- 4: concurrency -------------------------------------------------------------


async def concurrent_run(bench: Bench, engine: str, base: int) -> dict[str, Any]:
    """CONCURRENT distinct messages at once, fetched like media players do."""

    async def one(index: int) -> bool:
        stream = tts.async_create_stream(bench.hass, engine)
        stream.async_set_message(first_sentence(base + index))
        audio = b"".join([chunk async for chunk in stream.async_stream_result()])
        return mp3_frame_count(audio) > 0

    await bench.reset()
    before = await bench.stats()
    cpu = time.process_time()
    wall = time.perf_counter()
    results = await asyncio.gather(
        *(one(index) for index in range(CONCURRENT)), return_exceptions=True
    )
    wall = time.perf_counter() - wall
    cpu = time.process_time() - cpu
    after = await bench.stats()
    failures = [result for result in results if result is not True]
    return {
        "requests": CONCURRENT,
        "failures": len(failures),
        "failure_examples": sorted({repr(failure)[:120] for failure in failures})[:3],
        "wall": wall,
        "peak_open": after["peak_open_requests"],
        "cpu_per_request": cpu / CONCURRENT,
        "emulator_cpu_per_request": (after["cpu_seconds"] - before["cpu_seconds"])
        / CONCURRENT,
        "emulator_requests": after["requests"],
    }


async def test_concurrency(bench: Bench) -> None:
    figures = {
        "ours": await concurrent_run(bench, ENTITY_ID, 10_000),
        "core": await concurrent_run(bench, CORE_ENGINE, 20_000),
    }
    for name, figure in figures.items():
        print(
            f"{CONCURRENT} concurrent, {name}: {figure['failures']} failures, "
            f"wall {figure['wall']:.2f} s, peak open {figure['peak_open']}, "
            f"CPU {report.ms(figure['cpu_per_request'])}/request (emulator "
            f"{report.ms(figure['emulator_cpu_per_request'])}/request apart)"
        )
    report.SECTIONS["concurrency"] = figures


# --- 5: ffmpeg conversions ------------------------------------------------------

CONVERSION_CASES: dict[str, dict[str, Any]] = {
    "mp3 (tts.speak default, no options)": {},
    "mp3 (preferred_format=mp3)": {"preferred_format": "mp3"},
    "wav (preferred_format=wav only)": {"preferred_format": "wav"},
    "wav 16 kHz mono 16-bit (Assist satellite)": {
        "preferred_format": "wav",
        "preferred_sample_rate": 16000,
        "preferred_sample_channels": 1,
        "preferred_sample_bytes": 2,
    },
    "wav 22.05 kHz mono 16-bit": {
        "preferred_format": "wav",
        "preferred_sample_rate": 22050,
        "preferred_sample_channels": 1,
        "preferred_sample_bytes": 2,
    },
}
CONVERSION_RUNS = 10  # counts, not timings: every run gives the same answer


async def test_conversions(bench: Bench) -> None:
    """ffmpeg conversions HA starts, and what the entity itself returns."""
    original = tts._async_convert_audio  # noqa: SLF001 - the call being counted
    calls: list[dict[str, Any]] = []

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append({"from": args[1] if len(args) > 1 else None, **kwargs})
        return original(*args, **kwargs)

    figures: dict[str, Any] = {}
    # A conversion fails without ffmpeg, and HA logs it: expected, and counted.
    tts_logger = logging.getLogger("homeassistant.components.tts")
    level = tts_logger.level
    tts_logger.setLevel(logging.CRITICAL)
    try:
        with patch("homeassistant.components.tts._async_convert_audio", counting):
            for index, (case, options) in enumerate(CONVERSION_CASES.items()):
                figures[case] = await conversion_case(bench, index, options, calls)
    finally:
        tts_logger.setLevel(level)
    for case, figure in figures.items():
        counts = figure["through_ha"]
        print(
            f"{case}: conversions via message {counts['message']['conversions']}"
            f"/{CONVERSION_RUNS}, via stream {counts['stream']['conversions']}"
            f"/{CONVERSION_RUNS}; entity returns {figure['entity']['described']}"
        )
    report.SECTIONS["conversions"] = figures


async def conversion_case(
    bench: Bench, index: int, options: dict[str, Any], calls: list[dict[str, Any]]
) -> dict[str, Any]:
    counts = {}
    for path in ("message", "stream"):
        calls.clear()
        errors: list[str] = []
        first_bytes: list[float] = []
        for run in range(CONVERSION_RUNS):
            # Short texts: only counts are taken here, and PCM is bulky.
            text = f"Item {60_000 + 100 * index + 10 * len(counts) + run}."
            try:
                if path == "message":
                    result = await fetch(
                        bench, ENTITY_ID, message=text, options=options or None
                    )
                else:
                    result = await fetch(
                        bench,
                        ENTITY_ID,
                        deltas=one_piece(text),
                        options=options or None,
                    )
                first_bytes.append(result.first_audio)
            except Exception as err:  # noqa: BLE001 - ffmpeg is missing: counted
                errors.append(f"{type(err).__name__}: {err}"[:100])
                await bench.stats()
        counts[path] = {
            "requests": CONVERSION_RUNS,
            "conversions": len(calls),
            "failed": len(errors),
            "error": errors[0] if errors else None,
            "first_byte": report.median(first_bytes),
        }
    return {"through_ha": counts, "entity": await entity_check(bench, options)}


async def entity_check(bench: Bench, options: dict[str, Any]) -> dict[str, Any]:
    """Call the entity directly: the format it returns, and what it asked Azure for."""
    await bench.reset()
    response = await entity(bench).async_stream_tts_audio(
        TTSAudioRequest(
            "en-US",
            {**entity(bench).default_options, **options},
            one_piece("Done. All set."),
        )
    )
    audio = b"".join([chunk async for chunk in response.data_gen])
    formats = list((await bench.stats())["synthesis_formats"])
    if response.extension == "wav":
        with wave.open(io.BytesIO(audio)) as wav:
            rate, channels, width = (
                wav.getframerate(),
                wav.getnchannels(),
                wav.getsampwidth(),
            )
        described = f"wav {rate} Hz, {channels} ch, {8 * width}-bit"
        wanted = options.get("preferred_sample_rate")
        native = (wanted is None or wanted == rate) and channels == 1 and width == 2
    else:
        described = f"{response.extension}, {mp3_frame_count(audio)} MP3 frames"
        native = response.extension == options.get("preferred_format", "mp3")
    return {
        "extension": response.extension,
        "described": described,
        "azure_formats": formats,
        "native": native,
    }


# --- 5b: ffmpeg conversions on the latest release, through a real hass --------


def describe_audio(audio: bytes) -> str:
    """What a served file holds, from its header."""
    if audio[:4] == b"RIFF":
        _, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", audio, 20)
        return f"wav {rate} Hz, {channels} ch, {bits}-bit"
    return f"mp3 ({'MP3 frames' if mp3_frame_count(audio) else 'no MP3 frames'})"


def test_conversions_latest(tmp_path: Path, socket_enabled: None) -> None:
    """The same requests through a real `hass` of the latest release.

    That release cannot run in this process (its own venv, see
    requirements_latest.txt), so the end-to-end harness starts it with the
    emulator, adds Cloud Speech through the REST config flow, and counts the
    calls of an ffmpeg wrapper first on hass's PATH. Only the media-source
    path exists over HTTP (`tts_get_url`, then the URL fetched).
    """
    python = os.environ.get(HASS_PYTHON_ENV)
    if not python:
        pytest.skip(f"{HASS_PYTHON_ENV} is not set (scripts/bench sets it)")
    config_dir = tmp_path / "config"
    port = free_port()
    write_config(config_dir, port=port)
    log = tmp_path / "ffmpeg-calls.log"
    stack = Stack(
        config_dir,
        port,
        free_port(),
        log_dir=tmp_path,
        hass_env=logging_ffmpeg(tmp_path / "bin", log),
    )
    figures: dict[str, Any] = {}
    with stack:
        api = HomeAssistantApi(stack.url)
        api.onboard(name="Bench", username="bench", password="bench-password")
        api.wait_until_running()
        version = api.call("GET", "/api/config")["version"]
        flow = api.call(
            "POST", "/api/config/config_entries/flow", {"handler": "cloud_speech"}
        )
        for step in (
            {"next_step_id": "azure"},
            {"cloud": "custom"},
            {"endpoint": stack.emulator_url},
            {"language": "en-US"},
            {"voice": "en-US-JennyNeural"},
        ):
            flow = api.call(
                "POST", f"/api/config/config_entries/flow/{flow['flow_id']}", step
            )
        assert flow["type"] == "create_entry", flow
        [engine] = [
            state["entity_id"]
            for state in api.states()
            if state["entity_id"].startswith("tts.")
        ]
        for index, (case, options) in enumerate(CONVERSION_CASES.items()):
            before = len(ffmpeg_conversions(log))
            kinds = set()
            for run in range(CONVERSION_RUNS):
                answer = api.call(
                    "POST",
                    "/api/tts_get_url",
                    {
                        "engine_id": engine,
                        "message": f"Item {70_000 + 100 * index + run}.",
                        "options": options,
                    },
                )
                _, headers, audio = http_request("GET", answer["url"])
                kinds.add(f"{headers.get('Content-Type')}: {describe_audio(audio)}")
            figures[case] = {
                "requests": CONVERSION_RUNS,
                "conversions": len(ffmpeg_conversions(log)) - before,
                "served": ", ".join(sorted(kinds)),
            }
    for case, figure in figures.items():
        print(
            f"{case} on {version} (real hass): conversions "
            f"{figure['conversions']}/{figure['requests']}"
        )
    report.SECTIONS["conversions_latest"] = {"version": version, "cases": figures}
