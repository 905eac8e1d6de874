"""The aiohttp application: routing by Host, faults, recording and streaming."""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any
import weakref

from aiohttp import web

from . import azure, convai, network, recognition
from .convai import ConvaiPayload
from .exchange import (
    Context,
    Reply,
    azure_error,
    default_fault_reply,
    fault_body_reply,
    json_reply,
    text_reply,
)
from .hosts import find_endpoint, strip_port
from .ssml import SsmlCheck
from .state import Emulator, Fault, Headers, RecordedRequest

_LOGGER = logging.getLogger(__package__)

# Tasks currently inside a handler, so a stopping server can cancel hung ones.
IN_FLIGHT: web.AppKey[set[asyncio.Task[Any]]] = web.AppKey("in_flight", set)


def make_app(emulator: Emulator, *, log_requests: bool = False) -> web.Application:
    """An application serving every emulated host from one site."""
    app = web.Application()
    in_flight: set[asyncio.Task[Any]] = set()
    app[IN_FLIGHT] = in_flight
    connections: network.Connections = weakref.WeakKeyDictionary()
    app[network.CONNECTIONS] = connections
    handler = functools.partial(_handle, emulator, in_flight, connections, log_requests)
    app.router.add_route("*", "/{tail:.*}", handler)
    return app


async def _handle(
    emulator: Emulator,
    in_flight: set[asyncio.Task[Any]],
    connections: network.Connections,
    log_requests: bool,
    request: web.Request,
) -> web.StreamResponse:
    link = network.open_link(emulator, connections, request)
    host = request.headers.get("Host", request.host)
    site = emulator.site_for(host)
    endpoint, allowed_methods = (
        find_endpoint(site, request.method, request.path) if site else (None, [])
    )
    if endpoint is not None:
        service = endpoint.service
    else:
        service = "convai" if site is not None and site.role == "convai" else "azure"
    # Convai has no clouds or regions, also when reached through a container.
    azure_site = site if service == "azure" else None
    task = asyncio.current_task()
    assert task is not None
    in_flight.add(task)
    delayed_body: network.DelayedBody | None = None
    if link.rtt > 0 and endpoint is not None and endpoint.kind == "recognition":
        # Timed from now: the body streams in while the headers "travel".
        expect = request.headers.get("Expect", "").strip().lower() == "100-continue"
        delayed_body = network.DelayedBody(
            request.content, link, link.body_ready_at(expect)
        )
        delayed_body.start()
    try:
        # The service sees the request only after set-up and its way there.
        if link.arrival_delay > 0:
            await asyncio.sleep(link.arrival_delay)
    except BaseException:
        in_flight.discard(task)
        if delayed_body is not None:
            delayed_body.close()
        raise
    record = RecordedRequest(
        service=service,
        kind=endpoint.kind if endpoint else "unknown",
        method=request.method,
        host=strip_port(host),
        path=request.path,
        headers=Headers(request.headers),
        body=b"",
        status=0,
        cloud=azure_site.cloud if azure_site else None,
        region=azure_site.region if azure_site else None,
        voice=None,
        spoken_text=None,
        output_format=None,
        new_connection=link.new_connection,
        connection_setup=link.setup,
        arrival_delay=link.arrival_delay,
    )
    if delayed_body is not None:
        record.body_delays = delayed_body.delays
    emulator.record_arrival(record)
    emulator.open_requests += 1
    emulator.peak_open_requests = max(
        emulator.peak_open_requests, emulator.open_requests
    )
    try:
        try:
            # The recogniser reads its body itself, as it streams in.
            if endpoint is None or endpoint.kind != "recognition":
                record.body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return await _send(
                request,
                emulator,
                record,
                text_reply(413, "Request body too large."),
                None,
                link=link,
            )
        if site is None or endpoint is None:
            reply = azure_error(404, "Resource not found")
            if allowed_methods:
                reply = text_reply(405, "Method not allowed.")
                reply.headers["Allow"] = ", ".join(allowed_methods)
            return await _send(request, emulator, record, reply, None, link=link)
        context = Context(
            emulator,
            request,
            site,
            endpoint,
            record.body,
            record,
            delayed_body.chunks() if delayed_body is not None else None,
        )
        reply, fault = await _answer(context)
        return await _send(request, emulator, record, reply, fault, link=link)
    except Exception:
        record.status = 500
        raise
    finally:
        emulator.open_requests -= 1
        in_flight.discard(task)
        if delayed_body is not None:
            delayed_body.close()
        # One line per request (INFO for the standalone emulator, DEBUG in
        # tests); headers, and so keys, are never logged.
        level = logging.INFO if log_requests else logging.DEBUG
        if _LOGGER.isEnabledFor(level):
            _LOGGER.log(
                level,
                "%s %s%s -> %s [%s]%s%s",
                record.method,
                record.host,
                record.path,
                record.status or "no answer",
                record.kind,
                f" voice={record.voice}" if record.voice else "",
                f" format={record.output_format}" if record.output_format else "",
            )


async def _answer(context: Context) -> tuple[Reply, Fault | None]:
    """The reply for a routed request, with any injected fault applied."""
    emulator, kind = context.emulator, context.endpoint.kind
    # Read the request's content first so it is recorded even if it is refused.
    ssml = azure.describe_synthesis(context) if kind == "synthesis" else None
    convai_payload = (
        convai.describe_synthesis(context) if kind == "convai_synthesis" else None
    )
    # The whole upload is read (and decoded as it arrives) before any answer.
    upload = await recognition.receive(context) if kind == "recognition" else None
    try:
        return await _reply(context, ssml, convai_payload, upload)
    finally:
        if upload is not None:
            upload.release(emulator)


async def _reply(
    context: Context,
    ssml: SsmlCheck | None,
    convai_payload: ConvaiPayload | None,
    upload: recognition.Upload | None,
) -> tuple[Reply, Fault | None]:
    """Take the request's fault, if any, and answer with it or the handler."""
    emulator, kind = context.emulator, context.endpoint.kind
    fault = emulator.take_fault(kind)
    context.record.fault = fault
    reply: Reply | None = None
    if fault is not None:
        if fault.delay > 0:
            await asyncio.sleep(fault.delay)
        if fault.hang:
            await _until_client_leaves()
        if fault.status is not None:
            if fault.body is not None:
                reply = fault_body_reply(fault.status, fault.body)
            else:
                reply = default_fault_reply(context.endpoint.service, fault.status)

    if reply is None:
        if ssml is not None:
            reply = await azure.handle_synthesis(context, ssml)
        elif convai_payload is not None:
            reply = await convai.handle_synthesis(context, convai_payload)
        elif upload is not None:
            reply = await recognition.handle(context, upload)
        elif kind == "voices":
            reply = await azure.handle_voices(context)
        elif kind == "token":
            reply = await azure.handle_token(context)
        elif kind == "convai_voices":
            reply = await convai.handle_voices(context)
        else:  # pragma: no cover - every routed kind is handled above
            reply = json_reply(500, {"error": f"no handler for {kind}"})
        if fault is not None and fault.body is not None:
            reply.body = (
                fault.body.encode() if isinstance(fault.body, str) else fault.body
            )

    if fault is not None:
        reply.headers.update(fault.headers)
    return reply, fault


async def _send(
    request: web.Request,
    emulator: Emulator,
    record: RecordedRequest,
    reply: Reply,
    fault: Fault | None,
    *,
    link: network.Link,
) -> web.StreamResponse:
    """Stream the reply, honouring the timing knobs and cut/stall faults."""
    record.status = reply.status
    record.response_body = reply.body
    response = web.StreamResponse(status=reply.status)
    response.headers.update(reply.headers)
    if "Content-Type" not in response.headers:
        response.headers["Content-Type"] = reply.content_type
    if not reply.is_audio:
        # Audio goes out chunked, like Azure's streaming; small bodies don't.
        response.content_length = len(reply.body)
    if reply.is_audio and emulator.first_byte_delay > 0:
        await asyncio.sleep(emulator.first_byte_delay)
    if link.rtt > 0:
        # The answer's way back: its first byte reaches the client RTT/2
        # after the service sent it; the rest follows as it streams.
        record.answer_delay = link.half
        await asyncio.sleep(link.half)
    await response.prepare(request)

    cut_after = fault.cut_after if fault is not None else None
    stall_after = fault.stall_after if fault is not None else None
    limits = [limit for limit in (cut_after, stall_after) if limit is not None]
    payload = reply.body[: min(limits)] if limits else reply.body
    await _stream(response, payload, emulator, paced=reply.is_audio)
    if cut_after is not None and cut_after == min(limits):
        # close() (not abort) so the bytes already written reach the client
        # before the connection ends.
        if request.transport is not None:
            request.transport.close()
        await _until_client_leaves()
    if stall_after is not None:
        await _until_client_leaves()
    await response.write_eof()
    return response


async def _stream(
    response: web.StreamResponse, payload: bytes, emulator: Emulator, *, paced: bool
) -> None:
    chunk_size = max(1, emulator.chunk_size)
    rate = emulator.bytes_per_second if paced else None
    loop = asyncio.get_running_loop()
    started = loop.time()
    sent = 0
    for offset in range(0, len(payload), chunk_size):
        chunk = payload[offset : offset + chunk_size]
        await response.write(chunk)
        sent += len(chunk)
        if rate:
            delay = started + sent / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)


async def _until_client_leaves() -> None:
    """Wait until the handler is cancelled: the client disconnected or the server stops."""
    await asyncio.get_running_loop().create_future()
