"""The emulator served from a thread of the test process, its state in reach.

The other end-to-end tests start `python -m tests.emulator` as a subprocess
and can only read its log. A test that injects faults (`Emulator.inject`)
or looks at when a request's body arrived serves the emulator here instead,
on its own event loop in a thread, and passes `emulator_subprocess=False` to
the Stack. Everything that touches the emulator's state runs on that loop
(`EmulatorThread.run`), never from the test's thread directly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
import concurrent.futures
import contextlib
import contextvars
from dataclasses import dataclass, field
import logging
from pathlib import Path
import threading
import time

from aiohttp import web
import pytest_socket

from tests.emulator.app import IN_FLIGHT, make_app
from tests.emulator.state import Emulator, RecordedRequest

from .conftest import OWNER, setting_up
from .harness import (
    HomeAssistantApi,
    Stack,
    free_port,
    running_version,
    write_config,
)

#: The emulator's package logger: one line per request (as the subprocess logs).
_EMULATOR_LOGGER = logging.getLogger("tests.emulator")
#: How often the body watcher looks at a request's byte count.
_WATCH_INTERVAL = 0.005
_START_TIMEOUT = 10.0


@dataclass
class BodyArrival:
    """When a request's body reached the server (time.monotonic of this process)."""

    #: Its headers arrived: the handler started.
    started: float
    #: The query string of its URL (the recorded request has only the path).
    query: str = ""
    #: The first body byte arrived (None: no body, or not yet).
    first_byte: float | None = None
    #: The last time more body bytes arrived, and the count then.
    last_byte: float | None = None
    total_bytes: int = 0
    #: (time, bytes received so far) at every change.
    progress: list[tuple[float, int]] = field(default_factory=list)

    def bytes_before(self, moment: float) -> int:
        """How many body bytes had arrived by `moment`."""
        received = 0
        for at, total in self.progress:
            if at > moment:
                break
            received = total
        return received


_ARRIVAL: contextvars.ContextVar[BodyArrival | None] = contextvars.ContextVar(
    "e2e_body_arrival", default=None
)


class _TimedEmulator(Emulator):
    """Records when each request's body bytes arrived, beside the request log."""

    def __init__(self) -> None:
        super().__init__()
        self.body_arrivals: dict[int, BodyArrival] = {}

    def record_arrival(self, request: RecordedRequest) -> None:
        if (arrival := _ARRIVAL.get()) is not None:
            self.body_arrivals[id(request)] = arrival
        super().record_arrival(request)


@web.middleware
async def _watch_body(
    request: web.Request,
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> web.StreamResponse:
    """Note the time body bytes arrive while the emulator's handler runs.

    The handler reads the body in one go; the byte count of the request's
    stream grows as the client sends it, so watching it shows whether the
    client streamed its upload or sent it at the end.
    """
    arrival = BodyArrival(started=time.monotonic(), query=request.query_string)
    token = _ARRIVAL.set(arrival)
    content = request.content

    def look() -> None:
        if (total := content.total_bytes) != arrival.total_bytes:
            now = time.monotonic()
            if arrival.first_byte is None:
                arrival.first_byte = now
            arrival.last_byte = now
            arrival.total_bytes = total
            arrival.progress.append((now, total))

    async def watch() -> None:
        while True:
            look()
            await asyncio.sleep(_WATCH_INTERVAL)

    watcher = asyncio.create_task(watch())
    try:
        return await handler(request)
    finally:
        watcher.cancel()
        look()
        _ARRIVAL.reset(token)


class EmulatorThread:
    """The emulator (speaking through espeak-ng) on 127.0.0.1:port, in a thread."""

    def __init__(self, port: int, log_path: Path | None = None) -> None:
        """Describe it; start() serves it."""
        self.port = port
        self.emulator = _TimedEmulator()
        self.emulator.speak = True
        self._log_path = log_path
        self._log_handler: logging.Handler | None = None
        self._log_level = logging.NOTSET
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="e2e-emulator", daemon=True
        )
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """The emulated Speech container's endpoint."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Serve the emulator; returns once it listens."""
        if self._log_path is not None:
            self._log_handler = logging.FileHandler(self._log_path)
            self._log_handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
            _EMULATOR_LOGGER.addHandler(self._log_handler)
            self._log_level = _EMULATOR_LOGGER.level
            _EMULATOR_LOGGER.setLevel(logging.INFO)
        self._thread.start()
        self.run_async(self._serve, timeout=_START_TIMEOUT)

    def stop(self) -> None:
        """Stop serving and end the thread; safe to call twice."""
        if self._thread.is_alive():
            try:
                self.run_async(self._shutdown, timeout=_START_TIMEOUT)
            finally:
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._thread.join(_START_TIMEOUT)
        if not self._thread.is_alive() and not self._loop.is_closed():
            self._loop.close()
        if self._log_handler is not None:
            _EMULATOR_LOGGER.removeHandler(self._log_handler)
            _EMULATOR_LOGGER.setLevel(self._log_level)
            self._log_handler.close()
            self._log_handler = None

    def run[T](self, function: Callable[[Emulator], T], timeout: float = 10) -> T:
        """Call `function(emulator)` on the emulator's loop; return its result."""

        async def call() -> T:
            return function(self.emulator)

        return self.run_async(call, timeout=timeout)

    def run_async[T](
        self, function: Callable[[], Awaitable[T]], timeout: float = 10
    ) -> T:
        """Await `function()` on the emulator's loop; return its result."""
        future: concurrent.futures.Future[T] = asyncio.run_coroutine_threadsafe(
            _awaiting(function), self._loop
        )
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise

    def requests(self, kind: str | None = None) -> list[RecordedRequest]:
        """The requests received so far (of `kind`), oldest first."""
        return self.run(
            lambda emulator: [
                request
                for request in emulator.requests
                if kind is None or request.kind == kind
            ]
        )

    def body_arrival(self, request: RecordedRequest) -> BodyArrival:
        """When the body of a received request arrived."""
        return self.run(lambda _emulator: self.emulator.body_arrivals[id(request)])

    def wait_for_answered(
        self, kind: str, count: int, timeout: float = 10
    ) -> list[RecordedRequest]:
        """The requests of `kind` once `count` of them have been answered."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.requests(kind)
            if len(found) >= count and all(request.status for request in found):
                return found
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{len(found)} {kind} request(s) answered "
                    f"{[request.status for request in found]}, wanted {count}"
                )
            time.sleep(0.05)

    async def _serve(self) -> None:
        app = make_app(self.emulator, log_requests=True)
        app.middlewares.append(_watch_body)
        runner = web.AppRunner(
            app,
            handle_signals=False,
            access_log=None,
            handler_cancellation=True,
            shutdown_timeout=0.5,
        )
        await runner.setup()
        self._runner = runner
        await web.TCPSite(runner, "127.0.0.1", self.port).start()

    async def _shutdown(self) -> None:
        runner, self._runner = self._runner, None
        if runner is None:
            return
        # Hung answers (a `hang` fault) end now, as EmulatorServer.stop does.
        hung = [task for task in runner.app[IN_FLIGHT] if not task.done()]
        for task in hung:
            task.cancel()
        if hung:
            await asyncio.wait(hung, timeout=0.5)
        await runner.cleanup()


async def _awaiting[T](function: Callable[[], Awaitable[T]]) -> T:
    return await function()


@dataclass
class LiveStack:
    """hass, onboarded, beside the emulator in this process."""

    stack: Stack
    api: HomeAssistantApi
    emulator: EmulatorThread
    version: str


@contextlib.contextmanager
def live_stack(
    directory: Path,
    *,
    extra_configuration: str = "",
    configure: Callable[[Path], None] | None = None,
) -> Iterator[LiveStack]:
    """Start the emulator and hass (its config in `directory`), onboard; stop both after.

    `configure` adds to the config directory before hass starts. A failure
    while starting fails the module's set-up, with hass's log.
    """
    # Module fixtures come before the tests' socket_enabled; everything here
    # talks to 127.0.0.1 only.
    pytest_socket.enable_socket()
    config_dir = directory / "config"
    ha_port, emulator_port = free_port(), free_port()
    write_config(config_dir, port=ha_port, extra_configuration=extra_configuration)
    if configure is not None:
        configure(config_dir)
    emulator = EmulatorThread(emulator_port, directory / "emulator.log")
    stack = Stack(
        config_dir, ha_port, emulator_port, log_dir=directory, emulator_subprocess=False
    )
    try:
        with setting_up(stack):
            emulator.start()
            stack.start()
            api = HomeAssistantApi(stack.url)
            api.onboard(**OWNER)
            api.wait_until_running()
            version = running_version(api)
        yield LiveStack(stack, api, emulator, version)
    finally:
        try:
            stack.stop()
        finally:
            emulator.stop()
