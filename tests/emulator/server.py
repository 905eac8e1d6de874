"""Serving the emulator on 127.0.0.1, and client sessions that reach it."""

from __future__ import annotations

import asyncio
import socket
from types import TracebackType
from typing import Any, Self

import aiohttp
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from .app import IN_FLIGHT, make_app
from .network import StampedProtocol
from .state import Emulator
from .tls import server_ssl_context

# Hung handlers are cancelled before shutdown; this only bounds the wait for
# anything that still lingers.
_SHUTDOWN_TIMEOUT = 0.5


class EmulatorResolver(AbstractResolver):
    """DNS for the emulator: every host it knows is 127.0.0.1, the rest don't exist.

    Ports 443 and 80 lead to the emulator's HTTPS and HTTP sites; other ports
    are kept, so http://localhost:PORT still works.
    """

    def __init__(self, server: EmulatorServer) -> None:
        self._server = server

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Resolve like DNS would if the emulated services were real."""
        self._server.emulator.dns_lookups += 1
        if not self._server.emulator.knows_host(host):
            # OSError is what a failed lookup raises; aiohttp turns it into
            # ClientConnectorDNSError (a ClientConnectorError).
            raise OSError(socket.EAI_NONAME, f"Name or service not known: {host}")
        if port == 443:
            port = self._server.https_port
        elif port == 80:
            port = self._server.http_port
        return [
            ResolveResult(
                hostname=host,
                host="127.0.0.1",
                port=port,
                family=socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
        ]

    async def close(self) -> None:
        """Nothing to release."""


class StampedSite(web.TCPSite):
    """A TCP site whose connections note when they opened (see network.py)."""

    def __init__(
        self, runner: web.AppRunner, emulator: Emulator, **kwargs: Any
    ) -> None:
        """Count and stamp the connections `emulator`'s sites accept."""
        super().__init__(runner, **kwargs)
        self._emulator = emulator

    async def start(self) -> None:
        """As `web.TCPSite.start`, with each connection's protocol stamped."""
        await web.BaseSite.start(self)
        server = self._runner.server
        assert server is not None
        # pylint: disable=protected-access - the site's own settings
        self._server = await asyncio.get_running_loop().create_server(
            lambda: StampedProtocol(server(), self._emulator),
            self._host,
            self._port,
            ssl=self._ssl_context,
            backlog=self._backlog,
            reuse_address=self._reuse_address,
            reuse_port=self._reuse_port,
        )
        sockets = self._server.sockets
        self._bound_port = sockets[0].getsockname()[1] if sockets else self._port


class EmulatorServer:
    """Serves an Emulator over HTTP and HTTPS on 127.0.0.1 (ports chosen freely).

    Use as `async with EmulatorServer(emulator) as server:`; leaving the block
    (or stop()) cancels hung handlers and closes every connection.
    """

    def __init__(
        self,
        emulator: Emulator,
        *,
        host: str = "127.0.0.1",
        http_port: int = 0,
        https_port: int | None = 0,
        log_requests: bool = False,
    ) -> None:
        """https_port=None serves plain HTTP only (the standalone emulator)."""
        self.emulator = emulator
        self._host = host
        self._requested_http_port = http_port
        self._requested_https_port = https_port
        self._log_requests = log_requests
        self._runner: web.AppRunner | None = None
        self._http_site: web.TCPSite | None = None
        self._https_site: web.TCPSite | None = None

    async def start(self) -> None:
        """Bind the sites and start answering."""
        if self._runner is not None:
            raise RuntimeError("EmulatorServer already started")
        app = make_app(self.emulator, log_requests=self._log_requests)
        # handler_cancellation: a client that disconnects cancels its handler,
        # which is how hung and stalled answers end without leaking tasks.
        runner = web.AppRunner(
            app,
            handle_signals=False,
            access_log=None,
            handler_cancellation=True,
            shutdown_timeout=_SHUTDOWN_TIMEOUT,
        )
        await runner.setup()
        self._runner = runner
        try:
            self._http_site = StampedSite(
                runner, self.emulator, host=self._host, port=self._requested_http_port
            )
            await self._http_site.start()
            if self._requested_https_port is not None:
                self._https_site = StampedSite(
                    runner,
                    self.emulator,
                    host=self._host,
                    port=self._requested_https_port,
                    ssl_context=server_ssl_context(),
                )
                await self._https_site.start()
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop serving and close every connection; safe to call twice."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        in_flight = runner.app[IN_FLIGHT]
        hung = [task for task in in_flight if not task.done()]
        for task in hung:
            task.cancel()
        if hung:
            await asyncio.wait(hung, timeout=_SHUTDOWN_TIMEOUT)
        await runner.cleanup()
        # Let connection callbacks scheduled by the close run now, not in
        # some later test.
        await asyncio.sleep(0)

    async def restart(self) -> None:
        """Close every connection, then serve again on the same ports.

        What an idle timeout does to a client's pooled connections, or an
        outage that ends.
        """
        self._requested_http_port = self.http_port
        if self._requested_https_port is not None:
            self._requested_https_port = self.https_port
        await self.stop()
        await self.start()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def http_port(self) -> int:
        """Port of the plain HTTP site."""
        if self._http_site is None:
            raise RuntimeError("EmulatorServer not started")
        return self._http_site.port

    @property
    def https_port(self) -> int:
        """Port of the HTTPS site."""
        if self._https_site is None:
            raise RuntimeError("EmulatorServer has no HTTPS site")
        return self._https_site.port

    @property
    def http_url(self) -> str:
        """http://127.0.0.1:PORT, which the emulator treats as a Speech container."""
        return f"http://{self._host}:{self.http_port}"

    @property
    def https_url(self) -> str:
        """https://127.0.0.1:PORT (self-signed)."""
        return f"https://{self._host}:{self.https_port}"

    def resolver(self) -> EmulatorResolver:
        """A resolver that sends the emulated hosts here."""
        return EmulatorResolver(self)

    def make_session(self, **kwargs: Any) -> aiohttp.ClientSession:
        """A client session whose every known host name leads to this server.

        TLS is not verified. The caller closes the session. Keyword arguments
        go to aiohttp.ClientSession (not `connector`).
        """
        connector = aiohttp.TCPConnector(resolver=self.resolver(), ssl=False)
        return aiohttp.ClientSession(connector=connector, **kwargs)
