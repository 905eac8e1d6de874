"""Benchmark of first audio on real networks: round trips, ours and core's.

Run with scripts/bench (`scripts/bench -k real_networks` alone, about a
minute). Nothing here asserts a timing: the figures are printed and written to
benchmarks/RESULTS.md (see report.py), goals included.

The emulator's network model (tests/emulator/network.py, FIDELITY.md
"Network"; an assumption, not a measurement of Azure) charges each request
the round trips a path of round-trip time RTT would: a new HTTPS connection
1 RTT of TCP and 1 of TLS 1.3 before the request, then every request RTT/2
there and RTT/2 back. At RTT 0, 50 and 150 ms, side by side in the same runs:

a) announcement after idle: a one-sentence `tts.speak`-like fetch (media
   source: `async_create_stream`, `async_set_message`, the result read) after
   the idle pooled connections of HA's shared session have been closed, as
   HA's session does after 15 s idle (`Bench.close_idle_connections`);
b) the same right after a), on whatever connections a) left;
c) Assist-like streamed 20-sentence reply after idle: the result stream is
   created at run start (HA asks the entity `async_supports_streaming_input`
   then), the agent's first 60+ characters arrive GAP s later as one delta
   (HA's pipeline concatenates what it queued before it starts the TTS
   stream), the rest as LLM deltas; first audio counted from that first delta.

Engines: Cloud Speech (ours), HA core `microsoft` (pycsspeechtts: a token and
then the synthesis, each on a new connection of its own, and the whole audio
downloaded before HA gets any), and a bare aiohttp client on HA's session
(a) and b) only: the transport floor, one synthesis request). Core has no
streaming input: HA hands it the whole reply once the agent has finished, so
its c) is the time the rest of the reply takes to be written (computed from
the delta schedule, not waited) plus a measured fetch of the whole reply after
idle, CORE_REPLY_RUNS runs per RTT (each lasts seconds).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncGenerator
import contextlib
import os
import time
from typing import Any

from homeassistant.components import tts

from benchmarks import report
from benchmarks.bench_tts import (
    DELTA_INTERVAL,
    MP3,
    entity,
    first_sentence,
    raw_fetch,
    reply,
    split_deltas,
)
from benchmarks.conftest import CORE_ENGINE, EMULATOR_CONFIG, ENTITY_ID, Bench
from custom_components.cloud_speech.speech.ssml import build_ssml

#: Round-trip times measured, in seconds.
RTTS = (0.0, 0.050, 0.150)
#: Measured runs per RTT (one warm-up run, at the first RTT, comes on top:
#: the model is deterministic, code paths need loading once).
RUNS = int(os.environ.get("BENCH_NET_RUNS", "5"))
RUNS_AT = {0.0: RUNS, 0.050: RUNS, 0.150: max(3, RUNS - 2)}
CORE_REPLY_RUNS = int(os.environ.get("BENCH_NET_CORE_REPLY_RUNS", "1"))
WARMUP = 1
#: TLS 1.3: one round trip for the handshake.
TLS_ROUND_TRIPS = 1
#: The service's own first byte (the emulator's configured delay).
SERVICE_FIRST_BYTE = EMULATOR_CONFIG["first_byte_delay"]
#: From the run start (stream created) to the agent's first 60+ characters.
GAP = 0.5
#: Home Assistant's pipeline starts the TTS stream past this many characters
#: (assist_pipeline.default_pipeline.STREAM_RESPONSE_CHARS).
STREAM_RESPONSE_CHARS = 60
#: Least time between two "after idle" calls of ours: a throttle in the code
#: (on the order of a second) must see them as far apart as real idle
#: announcements are; the remainder is slept if the other engines' runs in
#: between took less.
IDLE_SPACING = 1.2

ENGINES = ("ours", "core", "bare")
SCENARIOS = ("idle", "warm", "reply")


def _counts(stats: dict[str, Any]) -> dict[str, Any]:
    """What the emulator saw in one scenario run."""
    requests = {kind: int(count) for kind, count in stats["requests"].items()}
    new = {kind: int(count) for kind, count in stats["new_connections"].items()}
    return {
        "requests": requests,
        "new_connections": new,
        "connections_opened": int(stats["connections_opened"]),
        "connections_accepted": int(stats.get("connections_accepted", 0)),
        "set_up_ahead": int(stats.get("set_up_ahead", 0)),
    }


def _own_first_byte(stats: dict[str, Any]) -> float | None:
    """The emulator's own first-byte time of the first synthesis answer."""
    synthesis = [
        record
        for record in stats["timings"]
        if record["path"].endswith("/cognitiveservices/v1")
    ]
    return float(synthesis[0]["first_byte_s"]) if synthesis else None


class Runner:
    """Runs the scenarios, spacing ours's "after idle" calls."""

    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        self.last_ours = -IDLE_SPACING

    async def idle(self, engine: str) -> None:
        """Make the next call one after idle: pooled connections closed."""
        if engine == "ours":
            await asyncio.sleep(
                max(0.0, self.last_ours + IDLE_SPACING - time.monotonic())
            )
        self.bench.close_idle_connections()
        # Let the closes reach the emulator before the call.
        await asyncio.sleep(0.01)

    async def announcement(self, engine: str, text: str) -> dict[str, Any]:
        """One-sentence message: seconds from the request to the first audio."""
        bench = self.bench
        await bench.reset()
        if engine == "bare":
            settings = entity(bench).plan("en-US", {}).settings
            result = await raw_fetch(bench, build_ssml(text, settings))
            first = result.first_byte
            # raw_fetch has taken (and so cleared) the timings already.
            stats = {**await bench.stats(), "timings": result.server}
        else:
            if engine == "ours":
                self.last_ours = time.monotonic()
            start = time.perf_counter()
            stream = tts.async_create_stream(bench.hass, _engine_id(engine))
            stream.async_set_message(text)
            first_at: float | None = None
            async for chunk in stream.async_stream_result():
                if first_at is None and chunk:
                    first_at = time.perf_counter()
            assert first_at is not None
            first = first_at - start
            stats = await bench.stats()
        return {"first_audio": first, "own": _own_first_byte(stats), **_counts(stats)}

    async def ours_reply(self, run: int) -> dict[str, Any]:
        """Assist-like streamed 20-sentence reply, the stream made at run start."""
        bench = self.bench
        await bench.reset()
        deltas = split_deltas(reply(run, 20))
        count = next(
            index + 1
            for index in range(len(deltas))
            if len("".join(deltas[: index + 1])) > STREAM_RESPONSE_CHARS
        )
        first_delta, rest = "".join(deltas[:count]), deltas[count:]
        self.last_ours = time.monotonic()
        # Run start: HA creates the result stream, asking the entity
        # async_supports_streaming_input.
        stream = tts.async_create_stream(bench.hass, ENTITY_ID, options=MP3)
        await asyncio.sleep(GAP)

        async def agent() -> AsyncGenerator[str]:
            yield first_delta
            start = time.perf_counter()
            for index, delta in enumerate(rest):
                await asyncio.sleep(
                    max(0.0, start + (index + 1) * DELTA_INTERVAL - time.perf_counter())
                )
                yield delta

        started = time.perf_counter()  # the first delta is there
        stream.async_set_message_stream(agent())
        async with contextlib.aclosing(stream.async_stream_result()) as audio:
            async for chunk in audio:
                if chunk:
                    first_at = time.perf_counter()
                    break
        # The figure is taken: the rest of the reply costs no time.
        loading = [
            task
            for task in asyncio.all_tasks()
            if task.get_name().startswith("tts_load_data_into_cache")
            and not task.done()
        ]
        for task in loading:
            task.cancel()
        await asyncio.gather(*loading, return_exceptions=True)
        stats = await bench.stats()
        return {
            "first_audio": first_at - started,
            "own": _own_first_byte(stats),
            **_counts(stats),
        }

    async def core_reply(self, run: int) -> dict[str, Any]:
        """Core: the rest of the reply's writing time, then the whole reply fetched."""
        deltas = split_deltas(reply(run, 20))
        count = next(
            index + 1
            for index in range(len(deltas))
            if len("".join(deltas[: index + 1])) > STREAM_RESPONSE_CHARS
        )
        writing = (len(deltas) - count) * DELTA_INTERVAL
        await self.idle("core")
        result = await self.announcement("core", reply(run, 20))
        return {
            **result,
            "first_audio": writing + result["first_audio"],
            "writing": writing,
        }


def _engine_id(engine: str) -> str:
    return ENTITY_ID if engine == "ours" else CORE_ENGINE


async def measure_rtt(runner: Runner, rtt: float, index: int) -> dict[str, Any]:
    """Every scenario at one RTT, engines side by side in each run."""
    await runner.bench.network(rtt, TLS_ROUND_TRIPS)
    samples: dict[tuple[str, str], list[dict[str, Any]]] = {}
    runs = RUNS_AT[rtt]
    warmup = WARMUP if index == 0 else 0
    for run in range(warmup + runs):
        base = 100_000 + 10_000 * index + 10 * run
        # Rotate the order so that no engine always goes first.
        shift = run % len(ENGINES)
        for engine in ENGINES[shift:] + ENGINES[:shift]:
            await runner.idle(engine)
            idle = await runner.announcement(engine, first_sentence(base))
            warm = await runner.announcement(engine, first_sentence(base + 1))
            if run >= warmup:
                samples.setdefault(("idle", engine), []).append(idle)
                samples.setdefault(("warm", engine), []).append(warm)
        await runner.idle("ours")
        streamed = await runner.ours_reply(base + 2)
        if run >= warmup:
            samples.setdefault(("reply", "ours"), []).append(streamed)
    for run in range(CORE_REPLY_RUNS):
        samples.setdefault(("reply", "core"), []).append(
            await runner.core_reply(100_000 + 10_000 * index + 5_000 + run)
        )
    figures: dict[str, Any] = {}
    for (scenario, engine), values in samples.items():
        first = [value["first_audio"] for value in values]
        own = [value["own"] for value in values if value["own"] is not None]
        overheads = [
            value["first_audio"] - value["own"]
            for value in values
            if value["own"] is not None and "writing" not in value
        ]
        median = report.median(first)
        shapes = Counter(_shape(value) for value in values)
        figures[f"{scenario}_{engine}"] = {
            "runs": len(values),
            "first_audio": median,
            "p90": report.p90(first),
            "rtts": (median - SERVICE_FIRST_BYTE) / rtt if rtt else None,
            "own_first_byte": report.median(own),
            "overhead": report.median(overheads),
            "shape": shapes.most_common(1)[0][0],
            "shape_runs": shapes.most_common(1)[0][1],
            "writing": values[0].get("writing"),
        }
    return figures


def _shape(value: dict[str, Any]) -> str:
    """Requests (those on a new connection) and connections, in words."""
    parts = []
    for kind, count in sorted(value["requests"].items()):
        new = value["new_connections"].get(kind, 0)
        parts.append(f"{kind} {count} ({new} new)")
    text = ", ".join(parts) or "no request"
    text += (
        f"; {value['connections_opened']} opened by a request, "
        f"{value['connections_accepted']} accepted"
    )
    if value["set_up_ahead"]:
        text += f", {value['set_up_ahead']} set up ahead"
    return text


async def test_real_networks(bench: Bench) -> None:
    """First audio at RTT 0, 50 and 150 ms: round trips above the service's own."""
    load_at_start = [f"{load:.2f}" for load in os.getloadavg()]
    wall = time.perf_counter()
    runner = Runner(bench)
    rtts: dict[float, Any] = {}
    try:
        for index, rtt in enumerate(RTTS):
            rtts[rtt] = await measure_rtt(runner, rtt, index)
            for key, figure in rtts[rtt].items():
                rtt_text = (
                    "" if figure["rtts"] is None else f" = {figure['rtts']:.2f} RTT"
                )
                print(
                    f"RTT {rtt * 1000:.0f} ms {key:>10}: first audio "
                    f"{report.ms(figure['first_audio'])}{rtt_text} above the "
                    f"service's {report.ms(SERVICE_FIRST_BYTE)}; {figure['shape']} "
                    f"({figure['shape_runs']}/{figure['runs']} runs)"
                )
    finally:
        await bench.network(0.0)
    wall = time.perf_counter() - wall
    print(f"real networks: {wall:.1f} s of wall time")
    report.SECTIONS[report.REAL_NETWORKS] = {
        "conditions": report.real_networks_conditions(
            {rtt: RUNS_AT[rtt] for rtt in RTTS},
            WARMUP,
            CORE_REPLY_RUNS,
            load_at_start,
            wall,
        ),
        "rtts": rtts,
    }
