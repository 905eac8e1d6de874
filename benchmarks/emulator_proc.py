"""The test emulator in a process of its own, timed, with a small control API.

    python -m benchmarks.emulator_proc --first-byte-delay 0.15 --bytes-per-second 120000

Serves tests.emulator.EmulatorServer (HTTP and HTTPS on 127.0.0.1, free ports)
plus a control site, and prints one JSON line with the three ports. Running it
apart from the benchmark keeps its CPU out of the Home Assistant process, so
time.process_time() there measures Home Assistant and the integration only.

Control API (plain HTTP on the control port):
    GET  /stats  peak and open requests, request counts, connections opened
                 (`connections_opened`) and requests that opened one per kind
                 (`new_connections`), this process's CPU seconds, and the
                 server-side timings recorded since the last call (which
                 clears them)
    POST /reset  forget recorded requests and timings, restart the peak and
                 connection counts
    POST /pace   set `first_byte_delay` and `bytes_per_second` (JSON body):
                 the service speed the streaming batches are measured at;
                 `recognition_speed` and `recognition_latency`, when given,
                 set speech to text's processing model; `network_rtt`
                 (seconds, 0 = off) and `tls_round_trips` (1 = TLS 1.3,
                 2 = TLS 1.2), when given, set the network model
                 (tests/emulator/network.py). Each key may be left out to
                 keep its value, e.g. {"network_rtt": 0.2} alone
    POST /remember?text=...  teach the recogniser: the body is 16 kHz mono
                 16-bit PCM (`Emulator.remember_speech`)

The emulator's own first-byte time of a request is measured here, from the
moment its headers have been parsed (middleware entry) to the moment the
response headers go out (on_response_prepare), which the first audio chunk
follows without waiting. It covers the SSML check, synthesis and the
configured first-byte delay, and with `network_rtt` the modelled network:
a new connection's set-up and the request's way there (set-up + RTT/2)
before the handler, the answer's way back (RTT/2) before the headers.

Connections opened ahead (the emulator's network model, not this file,
decides what they cost: tests/emulator/network.py). `/stats` adds
`connections_accepted`, TCP connections the emulated hosts accepted (those
that never carried a request included: a client opening one ahead), and
`set_up_ahead`, requests that were the first on their connection and owed
no set-up (with `network_rtt` > 0: the connection had been opened ahead).
"""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
import json
import signal
import sys
import time
from typing import Any

from aiohttp import web, web_protocol

from tests.emulator import Emulator, EmulatorServer
import tests.emulator.server as emulator_server_module

type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_ARRIVAL: web.RequestKey[float] = web.RequestKey("benchmark_arrival", float)


class Timings:
    """Server-side first-byte times, in the order the answers started."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    @web.middleware
    async def middleware(
        self, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        request[_ARRIVAL] = time.perf_counter()
        return await handler(request)

    async def on_prepare(
        self, request: web.Request, response: web.StreamResponse
    ) -> None:
        arrival = request.get(_ARRIVAL)
        if arrival is None:
            return
        self.records.append(
            {
                "host": request.host,
                "path": request.path,
                "status": response.status,
                "output_format": request.headers.get("X-Microsoft-OutputFormat"),
                "body_bytes": request.content_length,
                "first_byte_s": time.perf_counter() - arrival,
            }
        )


def _install_timings(timings: Timings) -> None:
    """Make EmulatorServer build its application with the timing hooks."""
    original = emulator_server_module.make_app

    def make_app(emulator: Emulator, **kwargs: Any) -> web.Application:
        app = original(emulator, **kwargs)
        app.middlewares.append(timings.middleware)
        app.on_response_prepare.append(timings.on_prepare)
        return app

    emulator_server_module.make_app = make_app


class ConnectionCount:
    """TCP connections accepted by the emulated sites (not the control site)."""

    def __init__(self) -> None:
        #: Local ports of the emulated sites.
        self.ports: set[int] = set()
        self.accepted = 0


def _install_connection_count(count: ConnectionCount) -> None:
    """Count connections as they are accepted, whether or not a request follows."""
    original_made = web_protocol.RequestHandler.connection_made

    def connection_made(
        self: web_protocol.RequestHandler, transport: asyncio.BaseTransport
    ) -> None:
        original_made(self, transport)
        sockname = transport.get_extra_info("sockname")
        if sockname and sockname[1] in count.ports:
            count.accepted += 1

    web_protocol.RequestHandler.connection_made = connection_made  # type: ignore[method-assign]


def _control_app(
    emulator: Emulator, timings: Timings, count: ConnectionCount
) -> web.Application:
    async def stats(_request: web.Request) -> web.Response:
        records, timings.records = timings.records, []
        synthesis = emulator.requests_for("synthesis")
        return web.json_response(
            {
                "peak_open_requests": emulator.peak_open_requests,
                "open_requests": emulator.open_requests,
                "requests": Counter(request.kind for request in emulator.requests),
                "connections_opened": emulator.connections_opened,
                "connections_accepted": count.accepted,
                "set_up_ahead": sum(
                    1
                    for request in emulator.requests
                    if emulator.network_rtt > 0
                    and request.new_connection
                    and request.connection_setup == 0
                ),
                "new_connections": Counter(
                    request.kind
                    for request in emulator.requests
                    if request.new_connection
                ),
                "statuses": Counter(
                    str(request.status) for request in emulator.requests
                ),
                "synthesis_formats": Counter(
                    request.output_format for request in synthesis
                ),
                "spoken_texts": [request.spoken_text for request in synthesis],
                "recognitions": [
                    {
                        "chunked": request.chunked,
                        "chunks": request.chunk_count,
                        "audio_seconds": request.audio_seconds,
                        "status": request.recognition_status,
                        "text": request.recognized_text,
                        "wait_s": request.recognition_wait,
                    }
                    for request in emulator.requests_for("recognition")
                ],
                "cpu_seconds": time.process_time(),
                "timings": records,
            }
        )

    async def reset(_request: web.Request) -> web.Response:
        emulator.reset_requests()
        timings.records = []
        count.accepted = 0
        return web.json_response({"ok": True})

    async def pace(request: web.Request) -> web.Response:
        body = await request.json()
        if "first_byte_delay" in body:
            emulator.first_byte_delay = float(body["first_byte_delay"])
        if "bytes_per_second" in body:
            emulator.bytes_per_second = float(body["bytes_per_second"])
        if "recognition_speed" in body:
            speed = body["recognition_speed"]
            emulator.recognition_speed = None if speed is None else float(speed)
        if "recognition_latency" in body:
            emulator.recognition_latency = float(body["recognition_latency"])
        if "network_rtt" in body:
            emulator.network_rtt = float(body["network_rtt"] or 0.0)
        if "tls_round_trips" in body:
            emulator.tls_round_trips = int(body["tls_round_trips"])
        return web.json_response({"ok": True})

    async def remember(request: web.Request) -> web.Response:
        emulator.remember_speech(await request.read(), request.query["text"])
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/stats", stats)
    app.router.add_post("/reset", reset)
    app.router.add_post("/pace", pace)
    app.router.add_post("/remember", remember)
    return app


async def _serve(arguments: argparse.Namespace) -> None:
    emulator = Emulator()
    emulator.first_byte_delay = arguments.first_byte_delay
    emulator.bytes_per_second = arguments.bytes_per_second or None
    emulator.chunk_size = arguments.chunk_size
    emulator.ms_per_character = arguments.ms_per_character
    timings = Timings()
    _install_timings(timings)
    count = ConnectionCount()
    _install_connection_count(count)
    control = web.AppRunner(
        _control_app(emulator, timings, count), handle_signals=False, access_log=None
    )
    await control.setup()
    control_site = web.TCPSite(control, "127.0.0.1", 0)
    async with EmulatorServer(emulator) as server:
        count.ports.update((server.http_port, server.https_port))
        await control_site.start()
        print(
            json.dumps(
                {
                    "http_port": server.http_port,
                    "https_port": server.https_port,
                    "control_port": control_site.port,
                }
            ),
            flush=True,
        )
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signal_number, stopping.set)
        await stopping.wait()
    await control.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.emulator_proc")
    parser.add_argument("--first-byte-delay", type=float, default=0.15)
    parser.add_argument("--bytes-per-second", type=float, default=120_000)
    parser.add_argument("--chunk-size", type=int, default=4096)
    parser.add_argument("--ms-per-character", type=float, default=60.0)
    asyncio.run(_serve(parser.parse_args()))
    sys.exit(0)


if __name__ == "__main__":
    main()
