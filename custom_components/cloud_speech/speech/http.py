"""HTTP machinery shared by every service client.

Turns failed responses into the package's exceptions, retries what is safe to
retry, applies timeouts and streams audio as it arrives. Service-agnostic: the
Azure and Convai clients both build on it.

Nothing here puts a header value (API key, token) into a message: aiohttp's
own exceptions can carry request details, so they are replaced by ours
(``raise ... from None``) with a message naming only the host and the error.
"""

from __future__ import annotations

import asyncio
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Mapping,
)
import contextlib
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
import json
import logging
import math
import re
from typing import Final, NoReturn, Protocol, TypedDict, Unpack
from urllib.parse import urlsplit

import aiohttp
from yarl import URL

from .errors import (
    InvalidRequestError,
    SpeechAuthenticationError,
    SpeechBadRequestError,
    SpeechConnectionError,
    SpeechError,
    SpeechRateLimitedError,
    SpeechResponseError,
    SpeechServiceError,
    SpeechTimeoutError,
)

_LOGGER = logging.getLogger(__name__)

#: The longest service-provided reason kept in an error.
MAX_REASON_LENGTH: Final = 200
#: How much of an error body is read to find the reason: enough for any
#: real message, bounded so a misbehaving proxy cannot make us buffer much.
MAX_ERROR_BODY: Final = 64 * 1024
#: Default cap on a non-streamed body (the Azure voice list is about 1 MiB).
DEFAULT_MAX_BODY: Final = 16 * 1024 * 1024
#: Header values shorter than this are not redacted from reasons: they are
#: content types and the like, and replacing them would mangle the text.
_MIN_SECRET_LENGTH: Final = 8
_REDACTED: Final = "***"
#: Visible ASCII and spaces only: anything else in a header value could split
#: the header.
HEADER_SAFE_RE: Final = re.compile(r"[\x20-\x7e]*")

type Sleep = Callable[[float], Awaitable[None]]

type ReasonParser = Callable[[str], str | None]


class BodyStream(Protocol):
    """A request body produced while it is sent (audio as it is spoken).

    `streams.Replayable` is one.
    """

    def read(self) -> AsyncIterator[bytes]:
        """The body from its start: each attempt of a request sends it anew."""

    async def wait_ended(self) -> None:
        """Return once the whole body is known: its source has ended."""


# Who waits out a 429 that says when to come back (`Retry-After`). Unset, or
# answering False: the retry policy, up to `RetryPolicy.max_retry_after`. The
# sentence pipeline sets it in each request's task: once audio is playing it
# answers True and the 429 is raised at once, because it waits only as long as
# the audio ahead lasts and sends the refused sentences with its next batch
# (speech/batching.py). A context variable, because the clients between them
# (azure.py, convai.py) need not know. Voice lists and tokens never set it.
RATE_LIMIT_HANDOFF: ContextVar[Callable[[float], bool] | None] = ContextVar(
    "rate_limit_handoff", default=None
)


class CredentialsRefused(str):
    """A reason saying the credentials were refused, whatever the HTTP status.

    A `ReasonParser` returns one for a service that refuses a key with HTTP
    400 (Convai's "API key not found"), so that it is reported as the
    `SpeechAuthenticationError` a 401 would be.
    """

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Timeouts:
    """How long to wait for a service, in seconds.

    Attributes:
        connect: Establishing the connection (DNS, TCP, TLS).
        first_byte: From the request being sent until the response headers and
            the first chunk of the body have arrived. The connection time
            comes on top, so the first chunk is awaited at most
            ``connect + first_byte``.
        idle: The longest gap between two chunks of the body.
        total: A whole non-streamed request (voice list, token), body included.
            Streamed audio has no total limit: a long text legitimately takes
            long, and `idle` catches a stalled stream.
        upload: The longest a streamed request body may take to send (audio
            uploaded as it is spoken); `first_byte` then counts from its end.

    """

    connect: float = 10.0
    first_byte: float = 15.0
    idle: float = 10.0
    total: float = 60.0
    upload: float = 90.0

    def __post_init__(self) -> None:
        """Reject values that would disable a timeout by accident."""
        for name in ("connect", "first_byte", "idle", "total", "upload"):
            value = getattr(self, name)
            if not (
                isinstance(value, int | float) and math.isfinite(value) and value > 0
            ):
                raise ValueError(f"Timeouts.{name} must be a positive number")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When to try a request again.

    Attributes:
        attempts: Attempts in all, the first one included (1 = never retry).
        max_retry_after: The longest ``Retry-After`` honoured, in seconds. A
            service asking for a longer wait fails the request at once (with
            `SpeechRateLimitedError.retry_after` set) rather than blocking.
        backoff: Delay before the first retry when the service gave no
            ``Retry-After``; doubled for each further retry.

    """

    attempts: int = 3
    max_retry_after: float = 5.0
    backoff: float = 0.5

    def __post_init__(self) -> None:
        """Reject a policy that could never send a request or wait forever."""
        if not isinstance(self.attempts, int) or self.attempts < 1:
            raise ValueError("RetryPolicy.attempts must be at least 1")
        if not (math.isfinite(self.max_retry_after) and self.max_retry_after >= 0):
            raise ValueError(
                "RetryPolicy.max_retry_after must be a non-negative number"
            )
        if not (math.isfinite(self.backoff) and self.backoff >= 0):
            raise ValueError("RetryPolicy.backoff must be a non-negative number")

    def delay(self, error: SpeechError, attempt: int) -> float | None:
        """Seconds to wait before retrying after `error`, or None to give up.

        Args:
            error: Why attempt number `attempt` (1-based) failed.
            attempt: How many attempts have been made so far.

        Returns:
            The delay, or None when the error is final or the budget is spent.

        """
        if attempt >= self.attempts or not is_retryable(error):
            return None
        retry_after = getattr(error, "retry_after", None)
        if isinstance(retry_after, float | int):
            if retry_after > self.max_retry_after:
                return None
            return float(retry_after)
        return float(self.backoff * 2 ** (attempt - 1))


DEFAULT_TIMEOUTS: Final = Timeouts()
DEFAULT_RETRY: Final = RetryPolicy()


def is_retryable(error: SpeechError) -> bool:
    """Whether the same request may succeed if sent again.

    Rate limiting, server errors (5xx), connection failures and timeouts are
    transient; everything else (credentials, bad requests, a response we
    cannot understand) fails the same way again.
    """
    if isinstance(error, SpeechRateLimitedError | SpeechConnectionError):
        return True
    return (
        isinstance(error, SpeechServiceError)
        and error.status is not None
        and error.status >= 500
    )


def parse_retry_after(
    value: str | None, *, now: datetime | None = None
) -> float | None:
    """Parse a ``Retry-After`` header: delay-seconds or an HTTP-date.

    Args:
        value: The header value, None when absent.
        now: The current time for HTTP-dates (tests pass a fixed one).

    Returns:
        Seconds to wait (a date in the past gives 0), or None when the header
        is absent or unusable.

    """
    if value is None or not (value := value.strip()):
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = parsedate_to_datetime(value)
    except TypeError, ValueError, IndexError:
        return None
    if when.tzinfo is None:
        # RFC 9110 dates are always GMT; a naive result means "-0000".
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def default_reason(body: str) -> str | None:
    """Extract a human reason from an error body.

    Understands the common JSON error shapes (``{"error": {"message": ...}}``,
    ``{"message": ...}``, ``{"ERROR": ...}``, ``{"result": ...}``,
    ``{"detail": ...}``) and otherwise uses the text itself. HTML pages (from
    proxies and gateways) are not a reason.
    """
    text = body.strip()
    if not text:
        return None
    if text[0] in '{["':
        try:
            data = json.loads(text)
        except ValueError:
            return text
        return _json_reason(data)
    if text[0] == "<" and "<html" in text[:512].casefold():
        return None
    return text


def _json_reason(data: object) -> str | None:
    """Find the message in a JSON error document."""
    if isinstance(data, str):
        return data
    if not isinstance(data, dict):
        return None
    for key in ("message", "Message", "error", "ERROR", "Error", "result", "detail"):
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return value
        if isinstance(value, dict) and (nested := _json_reason(value)):
            return nested
    return None


def clean_reason(reason: str | None, *, secrets: Iterable[str] = ()) -> str | None:
    """Make a service-provided reason safe and short enough to show.

    Collapses whitespace, removes control characters, replaces any of
    `secrets` (a service might echo a header back) and trims to
    `MAX_REASON_LENGTH` characters.
    """
    if reason is None:
        return None
    for secret in secrets:
        if len(secret) >= _MIN_SECRET_LENGTH:
            reason = reason.replace(secret, _REDACTED)
    text = " ".join("".join(c if c.isprintable() else " " for c in reason).split())
    if not text:
        return None
    if len(text) > MAX_REASON_LENGTH:
        text = text[: MAX_REASON_LENGTH - 1].rstrip() + "…"
    return text


def error_for_status(
    status: int,
    body: str = "",
    *,
    host: str,
    retry_after: str | None = None,
    reason_parser: ReasonParser = default_reason,
    secrets: Iterable[str] = (),
) -> SpeechError:
    """Map a failed response to the package's exception.

    Args:
        status: The HTTP status (anything but 2xx).
        body: The response body as text (only used for a reason).
        host: The host that answered, for the message.
        retry_after: The ``Retry-After`` header, if any.
        reason_parser: Extracts the service's reason from the body.
        secrets: Values that must not appear in the message (header values).

    Returns:
        `SpeechAuthenticationError` for 401/403 (and a 400/415 whose reason is
        `CredentialsRefused`), `SpeechRateLimitedError` for 429,
        `SpeechBadRequestError` for 400/415 and `SpeechServiceError` for
        anything else.

    """
    if status in (401, 403):
        return SpeechAuthenticationError(
            f"{host} rejected the credentials (HTTP {status})", status=status
        )
    if status == 429:
        seconds = parse_retry_after(retry_after)
        hint = f"; retry after {seconds:g} s" if seconds is not None else ""
        return SpeechRateLimitedError(
            f"{host} is rate limiting requests (HTTP 429){hint}", retry_after=seconds
        )
    if status in (400, 415):
        try:
            parsed = reason_parser(body)
        except Exception:  # noqa: BLE001 - a parser bug must not hide the real error
            parsed = None
        reason = clean_reason(parsed, secrets=secrets)
        detail = f": {reason}" if reason else ""
        if isinstance(parsed, CredentialsRefused):
            return SpeechAuthenticationError(
                f"{host} rejected the credentials (HTTP {status}){detail}",
                status=status,
            )
        what = "refused the request" if status == 400 else "refused the content type"
        return SpeechBadRequestError(
            f"{host} {what} (HTTP {status}){detail}", reason=reason
        )
    if status >= 500:
        # A 503 may say when to come back, as a 429 does.
        seconds = parse_retry_after(retry_after) if status == 503 else None
        return SpeechServiceError(
            f"{host} failed (HTTP {status})", status=status, retry_after=seconds
        )
    return SpeechServiceError(
        f"{host} answered with unexpected HTTP {status}", status=status
    )


def host_of(url: str) -> str:
    """Return the host (and explicit port) of `url` for messages, never credentials."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "the service"
        port = parts.port
    except ValueError:
        return "the service"
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{port}" if port is not None else host


def _connection_error(host: str, error: BaseException) -> SpeechConnectionError:
    """Replace an aiohttp/OS error by ours, keeping only a safe detail."""
    if isinstance(error, aiohttp.ClientPayloadError | aiohttp.ServerDisconnectedError):
        return SpeechConnectionError(f"The connection to {host} broke off")
    if isinstance(error, aiohttp.ClientConnectorError):
        error = error.os_error
    detail = getattr(error, "strerror", None) or type(error).__name__
    return SpeechConnectionError(f"Cannot connect to {host}: {detail}")


async def read_error_text(
    response: aiohttp.ClientResponse, limit: int = MAX_ERROR_BODY
) -> str:
    """Read the start of a body that is not audio (an error); "" if unreadable.

    Reads at most `limit` bytes and never raises for a broken connection (the
    status alone still says what went wrong).
    """
    chunks: list[bytes] = []
    size = 0
    try:
        while size < limit and (chunk := await response.content.readany()):
            chunks.append(chunk)
            size += len(chunk)
    except aiohttp.ClientError, OSError:
        pass
    return b"".join(chunks)[:limit].decode(_charset(response) or "utf-8", "replace")


def _charset(response: aiohttp.ClientResponse) -> str | None:
    """Return the charset the response declares, if Python knows it."""
    charset = response.charset
    if not charset:
        return None
    try:
        "".encode(charset)
    except LookupError:
        return None
    return charset


_SECRET_HEADER_HINTS: Final = ("key", "auth", "token", "secret", "cookie", "password")


def secret_values(headers: Mapping[str, str]) -> list[str]:
    """List the values of credential headers and their parts (a Bearer token)."""
    values: list[str] = []
    for name, value in headers.items():
        if any(hint in name.casefold() for hint in _SECRET_HEADER_HINTS):
            values.append(value)
            values.extend(value.split())
    # Longest first, so a whole value is replaced before any part of it.
    return sorted(values, key=len, reverse=True)


class RequestOptions(TypedDict, total=False):
    """How a request is sent, besides what it sends."""

    timeouts: Timeouts
    retry: RetryPolicy
    sleep: Sleep
    reason_parser: ReasonParser


class ReadOptions(RequestOptions, total=False):
    """How a request whose whole body is read is sent (`request_bytes`)."""

    data: bytes | None
    max_bytes: int


@dataclass(frozen=True, slots=True)
class _Request:
    """Everything needed to send one request again."""

    session: aiohttp.ClientSession
    method: str
    url: str
    headers: Mapping[str, str]
    data: bytes | BodyStream | None = None
    timeouts: Timeouts = DEFAULT_TIMEOUTS
    retry: RetryPolicy = DEFAULT_RETRY
    sleep: Sleep = asyncio.sleep
    reason_parser: ReasonParser = default_reason

    @property
    def host(self) -> str:
        return host_of(self.url)

    async def open(self) -> tuple[aiohttp.ClientResponse, bytes]:
        """Send once; return the 2xx response and its first chunk (b"" if empty).

        Raises:
            SpeechError: The attempt failed; the response is closed.

        """
        host = self.host
        response: aiohttp.ClientResponse | None = None
        streamed = self.streamed_body()
        watcher: asyncio.Task[None] | None = None
        try:
            async with asyncio.timeout(self._answer_deadline()) as deadline:
                if streamed is not None:
                    watcher = asyncio.create_task(
                        _answer_within(streamed, deadline, self.timeouts.first_byte)
                    )
                response = await self.session.request(
                    self.method,
                    self.url,
                    headers=dict(self.headers),
                    data=streamed.read() if streamed is not None else self.data,
                    # Azure asks for it with a streamed body: a refusal (a
                    # 401) then comes before any audio is sent.
                    expect100=streamed is not None,
                    # A redirect would carry the key to another host.
                    allow_redirects=False,
                    # Overrides the session's default total timeout, which
                    # would cut long audio; our own deadlines apply instead.
                    timeout=aiohttp.ClientTimeout(
                        total=None, connect=self.timeouts.connect
                    ),
                )
                if not 200 <= response.status < 300:
                    await self._fail(response)
                first = await response.content.readany()
        except BaseException as err:
            if response is not None:
                response.close()
            if watcher is not None:
                watcher.cancel()
            if isinstance(err, SpeechError):
                raise
            if isinstance(err, TimeoutError):
                raise SpeechTimeoutError(self._timeout_message()) from None
            if isinstance(err, aiohttp.ClientError | OSError):
                raise _connection_error(host, err) from None
            raise
        return response, first

    def streamed_body(self) -> BodyStream | None:
        """The body, when it is streamed as it is produced."""
        if self.data is None or isinstance(self.data, bytes):
            return None
        return self.data

    def _answer_deadline(self) -> float:
        """Seconds the answer may take; a streamed body's are rescheduled as it ends."""
        if self.streamed_body() is not None:
            # The body lasts as long as its source (a person speaking); the
            # upload limit bounds a source that never ends.
            return (
                self.timeouts.connect + self.timeouts.upload + self.timeouts.first_byte
            )
        return self.timeouts.connect + self.timeouts.first_byte

    def _timeout_message(self) -> str:
        if self.streamed_body() is not None:
            return (
                f"{self.host} did not answer within {self.timeouts.first_byte:g} s "
                f"of the end of the upload, or the upload took over "
                f"{self.timeouts.upload:g} s"
            )
        return (
            f"{self.host} did not answer within "
            f"{self.timeouts.connect + self.timeouts.first_byte:g} s"
        )

    async def _fail(self, response: aiohttp.ClientResponse) -> NoReturn:
        """Raise the error a non-2xx response stands for."""
        raise error_for_status(
            response.status,
            await read_error_text(response),
            host=self.host,
            retry_after=response.headers.get("Retry-After"),
            reason_parser=self.reason_parser,
            secrets=secret_values(self.headers),
        )

    async def with_retries[T](self, attempt: Callable[[], Awaitable[T]]) -> T:
        """Run `attempt` (one try of this request), retried as `retry` allows."""
        attempts = 0
        while True:
            attempts += 1
            try:
                return await attempt()
            except SpeechError as err:
                delay = self.retry.delay(err, attempts)
                # The caller is asked first: it may wait longer than the policy.
                if _caller_waits(err) or delay is None:
                    raise
                _LOGGER.debug(
                    "Retrying %s in %.2f s (attempt %d of %d failed): %s",
                    self.host,
                    delay,
                    attempts,
                    self.retry.attempts,
                    err,
                )
            await self.sleep(delay)

    async def next_chunk(self, response: aiohttp.ClientResponse) -> bytes:
        """Read the next chunk of the body (b"" at the end) within the idle timeout."""
        try:
            async with asyncio.timeout(self.timeouts.idle):
                return await response.content.readany()
        except TimeoutError:
            raise SpeechTimeoutError(
                f"{self.host} stopped sending for {self.timeouts.idle:g} s"
            ) from None
        except (aiohttp.ClientError, OSError) as err:
            raise _connection_error(self.host, err) from None


async def _answer_within(
    body: BodyStream, deadline: asyncio.Timeout, seconds: float
) -> None:
    """Once `body`'s source has ended, the answer must come within `seconds`.

    From the end of the source, not of the upload: a service that holds the
    upload back (no ``100 Continue``) is given up on just as soon.
    """
    with contextlib.suppress(Exception):  # the upload itself reports it
        await body.wait_ended()
    deadline.reschedule(asyncio.get_running_loop().time() + seconds)


def _caller_waits(error: SpeechError) -> bool:
    """Whether the caller waits out this 429 itself (see `RATE_LIMIT_HANDOFF`)."""
    handoff = RATE_LIMIT_HANDOFF.get()
    retry_after = getattr(error, "retry_after", None)
    return (
        handoff is not None
        and isinstance(error, SpeechRateLimitedError)
        and retry_after is not None
        and handoff(retry_after)
    )


async def stream_audio(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str],
    data: bytes | None = None,
    **options: Unpack[RequestOptions],
) -> AsyncGenerator[bytes]:
    """Send a request and yield the response body as it arrives.

    Nothing is sent until the generator is first iterated. Failures before
    the first chunk is yielded are retried per `RequestOptions.retry` (see
    `is_retryable`); once audio has been handed out nothing is retried, since
    the caller may already have played it. The response is closed whenever
    the generator ends, including when the consumer stops early
    (``aclose()``, ``break`` followed by garbage collection, cancellation);
    wrap it in `contextlib.aclosing` to release the connection
    deterministically.

    Args:
        session: The aiohttp session (not closed here).
        method: The HTTP method.
        url: The URL.
        headers: Request headers; their values never appear in errors.
        data: The request body.
        options: ``timeouts`` (connect, first byte, idle), the ``retry``
            policy, ``sleep`` between retries (tests inject a fast one) and
            the ``reason_parser`` that extracts the service's reason from a
            400/415 body.

    Yields:
        Non-empty chunks of the body, the first one as soon as it arrives.

    Raises:
        SpeechAuthenticationError: HTTP 401/403, or a 400/415 whose reason
            is `CredentialsRefused`.
        SpeechRateLimitedError: HTTP 429 after the retries, or at once when
            ``Retry-After`` exceeds `RetryPolicy.max_retry_after` or the
            caller waits it out itself (`RATE_LIMIT_HANDOFF`).
        SpeechBadRequestError: HTTP 400/415.
        SpeechServiceError: HTTP 5xx after the retries, or another status.
        SpeechTimeoutError: No first chunk in time, or a stall mid-stream.
        SpeechConnectionError: The service could not be reached or the
            connection broke.
        SpeechResponseError: The service answered 2xx with an empty body.

    """
    request = _Request(session, method, url, headers, data, **options)
    response, chunk = await request.with_retries(request.open)
    if not chunk:
        response.release()
        raise SpeechResponseError(f"{request.host} returned no audio")
    try:
        while chunk:
            yield chunk
            chunk = await request.next_chunk(response)
    except BaseException:
        # Unread data is left: the connection cannot be reused.
        response.close()
        raise
    response.release()


async def request_bytes(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str],
    data: bytes | None = None,
    max_bytes: int = DEFAULT_MAX_BODY,
    **options: Unpack[RequestOptions],
) -> tuple[bytes, str | None]:
    """Send a request and return the whole body and its charset.

    Every attempt, body included, is limited by `Timeouts.total` (besides
    connect, first-byte and idle timeouts) and retried as a whole: nothing
    was handed to the caller yet.

    Returns:
        The body and the charset the response declared (None if none).

    Raises:
        SpeechError: As `stream_audio`; `SpeechResponseError` when the body
            exceeds `max_bytes`.

    """
    request = _Request(session, method, url, headers, data, **options)
    return await request.with_retries(lambda: _read_all(request, max_bytes))


async def _read_all(request: _Request, max_bytes: int) -> tuple[bytes, str | None]:
    """One attempt of `request_bytes` (or `upload_json`)."""
    # A streamed body lasts as long as its source: `open` bounds it instead.
    total = None if request.streamed_body() is not None else request.timeouts.total
    try:
        async with asyncio.timeout(total):
            response, chunk = await request.open()
            try:
                chunks: list[bytes] = []
                size = 0
                while chunk:
                    size += len(chunk)
                    if size > max_bytes:
                        _too_large(request.host, max_bytes)
                    chunks.append(chunk)
                    chunk = await request.next_chunk(response)
            except BaseException:
                response.close()
                raise
            response.release()
    except TimeoutError:
        raise SpeechTimeoutError(
            f"{request.host} did not answer within {request.timeouts.total:g} s"
        ) from None
    return b"".join(chunks), _charset(response)


def _too_large(host: str, max_bytes: int) -> NoReturn:
    """Refuse a body larger than we are willing to buffer."""
    raise SpeechResponseError(f"{host} returned more than {max_bytes} bytes")


async def request_text(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str],
    **options: Unpack[ReadOptions],
) -> str:
    """Send a request and return the body as text (as `request_bytes`).

    The body is decoded with the declared charset, UTF-8 otherwise; invalid
    bytes are replaced rather than failing.
    """
    body, charset = await request_bytes(
        session, method, url, headers=headers, **options
    )
    return body.decode(charset or "utf-8", "replace")


async def request_json(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str],
    **options: Unpack[ReadOptions],
) -> object:
    """Send a request and return the body parsed as JSON (as `request_bytes`).

    The content type is not checked (Speech containers and proxies vary);
    the body itself must be JSON.

    Raises:
        SpeechResponseError: The body is not valid JSON.

    """
    body, charset = await request_bytes(
        session, method, url, headers=headers, **options
    )
    return _parse_json(body, charset, url)


def _parse_json(body: bytes, charset: str | None, url: str) -> object:
    """Parse a JSON body; `SpeechResponseError` when it is not JSON."""
    try:
        # json.loads detects UTF-8/16/32 itself; a declared charset wins.
        return json.loads(body.decode(charset) if charset else body)
    except ValueError, UnicodeDecodeError, RecursionError:
        # RecursionError: nesting deeper than the parser can follow (hostile JSON).
        raise SpeechResponseError(f"{host_of(url)} returned invalid JSON") from None


async def upload_json(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str],
    body: BodyStream,
    max_bytes: int = DEFAULT_MAX_BODY,
    **options: Unpack[RequestOptions],
) -> object:
    """Stream a request body as it is produced; return the JSON answer.

    The body goes out with chunked transfer and ``Expect: 100-continue``
    while `body` is still producing it, so the answer can come as soon as it
    ends. Deadlines: `Timeouts.upload` for the body, then `Timeouts.first_byte`
    from the end of its source for the answer. A failed attempt is retried as
    `request_json` is, sending the body again from its start.

    Raises:
        SpeechError: As `request_json`.

    """
    request = _Request(session, method, url, headers, body, **options)
    data, charset = await request.with_retries(lambda: _read_all(request, max_bytes))
    return _parse_json(data, charset, url)


async def open_connection(
    session: aiohttp.ClientSession, url: str, *, timeouts: Timeouts = DEFAULT_TIMEOUTS
) -> bool:
    """Have a connection to `url`'s host open in `session`'s pool, sending nothing.

    A new HTTPS connection costs a TCP and a TLS round trip before a request
    can leave; opened while a reply is still being written (or while someone
    speaks), the request that follows pays only its own round trip. No
    request is sent, so nothing is billed or logged by the service. A
    connection already pooled is taken and put back, which restarts its idle
    time. Works with any session, Home Assistant's shared one included: the
    connection lands in the pool under the key its requests use.

    Returns:
        Whether a connection is ready. Never raises: a host that cannot be
        reached shows in the request itself.

    """
    connector = session.connector
    if connector is None or session.closed:
        return False
    request = aiohttp.ClientRequest("GET", URL(url), loop=asyncio.get_running_loop())
    try:
        async with asyncio.timeout(timeouts.connect):
            connection = await connector.connect(
                request,
                traces=[],
                timeout=aiohttp.ClientTimeout(total=None, connect=timeouts.connect),
            )
    except (aiohttp.ClientError, OSError, TimeoutError) as err:
        _LOGGER.debug("No connection to %s opened ahead: %s", host_of(url), err)
        return False
    connection.release()
    return True


def normalize_base_url(url: str) -> tuple[str, str]:
    """Check a user-given base URL; return it normalized, and its host for messages.

    Only http and https, with a host, and no credentials, query or fragment.
    Trailing slashes are dropped; the host keeps an explicit port.

    Raises:
        InvalidRequestError: `field` is ``"endpoint"``.

    """
    text = url.strip() if isinstance(url, str) else ""

    def invalid(problem: str, *, echo: bool = True) -> InvalidRequestError:
        return InvalidRequestError(
            f"Invalid endpoint: {problem}", field="endpoint", value=text if echo else ""
        )

    if not text:
        raise invalid("a URL is required")
    if not text.isprintable() or any(c.isspace() for c in text):
        raise invalid("it contains spaces or control characters", echo=False)
    try:
        parts = urlsplit(text)
        hostname = parts.hostname
        port = parts.port
    except ValueError:
        raise invalid("it is not a valid URL") from None
    if parts.username is not None or parts.password is not None:
        # Never echo it: the user info may be a password.
        raise invalid("credentials in the URL are not supported", echo=False)
    if parts.scheme.lower() not in ("http", "https"):
        raise invalid("the URL must start with http:// or https://")
    if not hostname:
        raise invalid("the URL has no host")
    if parts.query or parts.fragment or "?" in text or "#" in text:
        raise invalid("the URL must not have a query or a fragment")
    host = f"[{hostname}]" if ":" in hostname else hostname
    if port is not None:
        host = f"{host}:{port}"
    return f"{parts.scheme.lower()}://{host}{parts.path.rstrip('/')}", host
