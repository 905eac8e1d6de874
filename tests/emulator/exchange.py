"""What the service handlers work with: the request context and their reply."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from http import HTTPStatus
import json
from typing import Any

from aiohttp import web

from .hosts import Endpoint, Site
from .state import Emulator, RecordedRequest


@dataclass
class Reply:
    """An answer before it is sent; audio replies are paced and streamed."""

    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    is_audio: bool = False


@dataclass
class Context:
    """One request as the handlers see it."""

    emulator: Emulator
    request: web.Request
    site: Site
    endpoint: Endpoint
    body: bytes
    record: RecordedRequest
    # The body as the modelled service receives it, when the network model
    # delays it (network.DelayedBody.chunks); else request.content is read.
    body_chunks: AsyncIterator[bytes] | None = None


def json_reply(status: int, payload: Any) -> Reply:
    """A JSON answer."""
    return Reply(
        status,
        json.dumps(payload, ensure_ascii=False).encode(),
        "application/json; charset=utf-8",
    )


def text_reply(status: int, text: str) -> Reply:
    """A plain-text answer."""
    return Reply(status, text.encode(), "text/plain; charset=utf-8")


def azure_error(status: int, message: str) -> Reply:
    """The JSON error shape of Azure's API gateway."""
    return json_reply(status, {"error": {"code": str(status), "message": message}})


AZURE_UNAUTHORIZED_MESSAGE = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to "
    "provide a valid key for an active subscription and use a correct regional API "
    "endpoint for your resource."
)


def azure_rate_limited(retry_after: int) -> Reply:
    """The free tier's 429: the gateway's JSON error plus Retry-After."""
    reply = azure_error(
        429, f"Rate limit is exceeded. Try again in {retry_after} seconds."
    )
    reply.headers["Retry-After"] = str(retry_after)
    return reply


_AZURE_DEFAULT_TEXT = {
    500: "Internal server error.",
    502: "Bad gateway: the upstream speech service did not answer.",
    503: "Service unavailable. Please retry later.",
    504: "Gateway timeout: the speech service did not answer in time.",
}


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def default_fault_reply(service: str, status: int) -> Reply:
    """A realistic answer for an injected status when the fault gives no body."""
    if service == "convai":
        if status == 500:
            return json_reply(status, {"result": "Internal server error"})
        return json_reply(status, {"result": _phrase(status)})
    if status == 401:
        return azure_error(status, AZURE_UNAUTHORIZED_MESSAGE)
    if status == 429:
        return azure_error(status, "Rate limit is exceeded. Please retry later.")
    if status in (403, 404):
        return azure_error(status, _phrase(status))
    return text_reply(status, _AZURE_DEFAULT_TEXT.get(status, _phrase(status)))


def fault_body_reply(status: int, body: bytes | str) -> Reply:
    """An answer with a body a fault supplies; JSON-looking bodies say so."""
    data = body.encode() if isinstance(body, str) else body
    try:
        json.loads(data)
    except ValueError:
        content_type = "text/plain; charset=utf-8"
    else:
        content_type = "application/json; charset=utf-8"
    return Reply(status, data, content_type)
