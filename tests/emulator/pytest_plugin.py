"""Fixtures: `emulator`, `emulator_server`, `emulator_session`.

Teardown runs in reverse order (session, then server), and completes before
pytest-homeassistant-custom-component's verify_cleanup looks for lingering
tasks and timers, because that autouse fixture is set up first.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import ssl
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from .server import EmulatorServer
from .state import Emulator


@pytest.fixture
def emulator() -> Emulator:
    """Fresh emulator state for the test."""
    return Emulator()


@pytest_asyncio.fixture
async def emulator_server(
    emulator: Emulator,
    socket_enabled: None,
) -> AsyncIterator[EmulatorServer]:
    """The emulator served on 127.0.0.1 (HTTP and HTTPS) for the test.

    Sockets are enabled (pytest-socket's socket_enabled); connections stay
    limited to 127.0.0.1, which is where every emulated host resolves.
    """
    loop = asyncio.get_running_loop()
    handler = loop.get_exception_handler()

    def ignore_aborted_handshakes(
        loop: asyncio.AbstractEventLoop, context: dict[str, Any]
    ) -> None:
        # A client that gives up on a request while its connection is being
        # set up (a cancelled guess, a fallback taking over) resets it during
        # the TLS handshake. A real server shrugs that off; asyncio reports it
        # to the loop the test's Home Assistant shares.
        if isinstance(
            context.get("exception"), ConnectionResetError | ssl.SSLError
        ) and "incoming connection" in str(context.get("message", "")):
            return
        if handler is None:
            loop.default_exception_handler(context)
        else:
            handler(loop, context)

    loop.set_exception_handler(ignore_aborted_handshakes)
    try:
        async with EmulatorServer(emulator) as server:
            yield server
    finally:
        loop.set_exception_handler(handler)


@pytest_asyncio.fixture
async def emulator_session(
    emulator_server: EmulatorServer,
) -> AsyncIterator[aiohttp.ClientSession]:
    """A client session that reaches every emulated host through the server."""
    async with emulator_server.make_session() as session:
        yield session
