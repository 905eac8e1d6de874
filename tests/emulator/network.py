"""The network between the client and the emulated service: a round-trip model.

Every emulated host is 127.0.0.1, so a real connection costs next to nothing.
With `Emulator.network_rtt` > 0 each request pays what a real path of that
round-trip time (RTT) would cost (an assumption, see FIDELITY.md "Network"):

* a request on a NEW connection waits for the TCP handshake (1 RTT) and, on
  HTTPS, the TLS handshake (`Emulator.tls_round_trips`, 1 for TLS 1.3);
* every request then takes RTT/2 to reach the service (the handler runs
  only then), and its answer RTT/2 to come back (the response headers, and
  so the first body byte, go out RTT/2 late; later bytes stream as usual);
* a body streamed after the headers (speech to text) reaches the service
  RTT/2 after the client sent each chunk, and not before the connection is
  ready; with `Expect: 100-continue` not before the `100 Continue` has gone
  there and back (1 RTT more).

The delays are real sleeps; every one applied is recorded on the request
(`RecordedRequest.connection_setup`, `arrival_delay`, `answer_delay`) so
that tests assert the model, not the wall clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
import weakref

from aiohttp import StreamReader, web

from .state import Emulator

# Connections that have carried a request, by transport (one per TCP
# connection, TLS or not); weak, so closed connections drop out by themselves.
type Connections = weakref.WeakKeyDictionary[Any, float]
CONNECTIONS: web.AppKey[Connections] = web.AppKey(
    "connections", weakref.WeakKeyDictionary
)


@dataclass
class Link:
    """One request's path through the modelled network.

    Times are on the event loop's clock (`loop.time()`): the delays are real.
    """

    rtt: float
    new_connection: bool
    secure: bool
    arrived_at: float  # when the request's headers reached the emulator
    setup: float = 0.0  # TCP (+ TLS) set-up this request pays, in seconds

    @property
    def half(self) -> float:
        """One way: RTT/2."""
        return self.rtt / 2

    @property
    def ready_at(self) -> float:
        """When the client could send on the connection (after any set-up)."""
        return self.arrived_at + self.setup

    @property
    def arrival_delay(self) -> float:
        """Seconds from the real arrival to the modelled one: set-up + RTT/2."""
        return self.setup + self.half if self.rtt > 0 else 0.0

    def body_ready_at(self, expect_continue: bool) -> float:
        """The earliest time the client sends body bytes.

        With `Expect: 100-continue` the body waits for the `100 Continue`:
        the headers' way there and the interim answer's way back, 1 RTT.
        """
        return self.ready_at + (self.rtt if expect_continue else 0.0)


# When each connection was accepted (loop time), by transport: noted by
# `StampedProtocol` as it opens, so that set-up is counted from then.
OPENED_AT: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()


class StampedProtocol(asyncio.Protocol):
    """A server connection's protocol that notes when the connection opened.

    A client may open a connection ahead of its first request (to hide the
    handshakes); the set-up then runs while nothing is asked, and the first
    request pays only what is left of it.
    """

    def __init__(self, protocol: asyncio.Protocol, emulator: Emulator) -> None:
        self._protocol = protocol
        self._emulator = emulator

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        OPENED_AT[transport] = asyncio.get_running_loop().time()
        self._emulator.connections_accepted += 1
        self._protocol.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self._protocol.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._protocol.data_received(data)

    def eof_received(self) -> bool | None:
        return self._protocol.eof_received()

    def pause_writing(self) -> None:
        self._protocol.pause_writing()

    def resume_writing(self) -> None:
        self._protocol.resume_writing()


def open_link(
    emulator: Emulator, connections: Connections, request: web.Request
) -> Link:
    """Note a request's arrival: whether it opened a connection, and its set-up cost."""
    loop = asyncio.get_running_loop()
    now = loop.time()
    transport = request.transport
    new = transport is None or transport not in connections
    if transport is not None and new:
        connections[transport] = now
    if new:
        emulator.connections_opened += 1
    secure = request.secure
    rtt = max(0.0, emulator.network_rtt)
    setup = 0.0
    if rtt > 0 and new:
        # TCP: SYN out, SYN-ACK back. TLS 1.3: ClientHello out, ServerHello
        # .. Finished back; the client's Finished travels with the request.
        round_trips = 1 + (max(0, emulator.tls_round_trips) if secure else 0)
        setup = round_trips * rtt
        # A connection opened ahead (idle for at least its set-up) finished
        # its handshakes before this request: nothing is owed. One in use at
        # once owes all of it (a partial overlap is charged whole: pessimistic
        # for the client, and the same figure whatever the loopback's speed).
        opened_at = OPENED_AT.get(transport, now) if transport is not None else now
        if now - opened_at >= setup:
            setup = 0.0
    return Link(rtt, new, secure, now, setup)


async def sleep_until(when: float) -> None:
    """Sleep until loop time `when` (not at all if it has passed)."""
    delay = when - asyncio.get_running_loop().time()
    if delay > 0:
        await asyncio.sleep(delay)


@dataclass(eq=False)
class DelayedBody:
    """A request body as the modelled service receives it.

    Each chunk (and the end of the body) is released RTT/2 after it really
    arrived, and not before `ready_at` + RTT/2: what a client sending it over
    the modelled path could have achieved. A pump task reads the real body
    from the moment the headers arrive, so arrival times are exact even while
    the handler itself still waits for its request to "arrive".
    """

    content: StreamReader
    link: Link
    ready_at: float
    # Per release (each chunk, then the end): modelled minus real arrival.
    delays: list[float] = field(default_factory=list)
    _queue: asyncio.Queue[tuple[float, bytes | None] | BaseException] = field(
        default_factory=asyncio.Queue
    )
    _pump: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start reading the real body as it arrives."""
        self._pump = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            async for chunk in self.content.iter_any():
                self._queue.put_nowait((loop.time(), chunk))
        except Exception as err:  # noqa: BLE001 - handed to the reader
            self._queue.put_nowait(err)
        else:
            self._queue.put_nowait((loop.time(), None))

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body's chunks, each when the modelled service would have it."""
        try:
            while True:
                item = await self._queue.get()
                if isinstance(item, BaseException):
                    raise item
                at, chunk = item
                release = max(at, self.ready_at) + self.link.half
                self.delays.append(release - at)
                await sleep_until(release)
                if chunk is None:
                    return
                yield chunk
        finally:
            self.close()

    def close(self) -> None:
        """Stop reading (the handler is done or gone)."""
        if self._pump is not None and not self._pump.done():
            self._pump.cancel()
