"""The shared HTTP machinery: error mapping, retries, timeouts and streaming.

HTTP behaviour runs against the emulator (its Azure hosts serve as a generic
service here); the pure helpers are tested directly.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import aiohttp
import pytest

from custom_components.cloud_speech.speech import http
from custom_components.cloud_speech.speech.errors import (
    SpeechAuthenticationError,
    SpeechBadRequestError,
    SpeechConnectionError,
    SpeechError,
    SpeechRateLimitedError,
    SpeechResponseError,
    SpeechServiceError,
    SpeechTimeoutError,
)
from custom_components.cloud_speech.speech.http import (
    MAX_REASON_LENGTH,
    RetryPolicy,
    Timeouts,
    clean_reason,
    default_reason,
    error_for_status,
    host_of,
    is_retryable,
    parse_retry_after,
    request_bytes,
    request_json,
    request_text,
    secret_values,
    stream_audio,
)
from tests.emulator import TEST_KEY, Emulator, Fault
from tests.speech.conftest import RETRY, TIMEOUTS, Sleeps

HOST = "chinaeast2.tts.speech.azure.cn"
SYNTHESIS_URL = f"https://{HOST}/cognitiveservices/v1"
VOICES_URL = f"https://{HOST}/cognitiveservices/voices/list"
TOKEN_URL = "https://chinaeast2.api.cognitive.azure.cn/sts/v1.0/issueToken"
SSML = (
    b'<speak version="1.0" xmlns="http://www.w3.org/2001/10/synthesis" xml:lang="en-US">'
    b'<voice name="en-US-JennyNeural">Hello there, this is a test.</voice></speak>'
)
SYNTHESIS_HEADERS = {
    "Ocp-Apim-Subscription-Key": TEST_KEY,
    "Content-Type": "application/ssml+xml",
    "X-Microsoft-OutputFormat": "audio-24khz-48kbitrate-mono-mp3",
    "User-Agent": "tests",
}
KEY_HEADERS = {"Ocp-Apim-Subscription-Key": TEST_KEY}


def synthesis(
    session: aiohttp.ClientSession, sleeps: Sleeps, **kwargs: object
) -> AsyncIterator[bytes]:
    options: dict[str, object] = {
        "headers": SYNTHESIS_HEADERS,
        "data": SSML,
        "timeouts": TIMEOUTS,
        "retry": RETRY,
        "sleep": sleeps,
    }
    options.update(kwargs)
    return stream_audio(session, "POST", SYNTHESIS_URL, **options)  # type: ignore[arg-type]


# --- pure helpers ------------------------------------------------------------------


NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("  ", None),
        ("0", 0.0),
        ("1", 1.0),
        (" 120 ", 120.0),
        ("1.5", 1.5),
        ("-1", None),
        ("nan", None),
        ("inf", None),
        ("soon", None),
        (format_datetime(NOW + timedelta(seconds=30), usegmt=True), 30.0),
        (format_datetime(NOW - timedelta(seconds=30), usegmt=True), 0.0),
        ("Thu, 01 Jan 2026 12:00:10 -0000", 10.0),
        ("Thu, 32 Jan 2026 12:00:10 GMT", None),
    ],
)
def test_retry_after_is_seconds_or_an_http_date(
    value: str | None, expected: float | None
) -> None:
    assert parse_retry_after(value, now=NOW) == expected


def test_retry_after_dates_default_to_now() -> None:
    later = datetime.now(UTC) + timedelta(hours=1)
    seconds = parse_retry_after(format_datetime(later, usegmt=True))
    assert seconds is not None
    assert 3590 < seconds <= 3600


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("", None),
        ("  \n", None),
        ("Voice not found.", "Voice not found."),
        ('{"error": {"code": "400", "message": "Bad SSML"}}', "Bad SSML"),
        ('{"message": "Too long"}', "Too long"),
        ('{"ERROR": "Invalid voice"}', "Invalid voice"),
        ('{"result": "Voice not supported"}', "Voice not supported"),
        ('{"detail": "Nope"}', "Nope"),
        ('{"error": {"code": "400"}}', None),
        ('{"message": "  ", "result": "fallback"}', "fallback"),
        ('"just a string"', "just a string"),
        ("[1, 2]", None),
        ("{not json", "{not json"),
        ("<!DOCTYPE html><html><body>502 Bad Gateway</body></html>", None),
        ("<speak> is invalid", "<speak> is invalid"),
    ],
)
def test_default_reason_understands_common_error_bodies(
    body: str, reason: str | None
) -> None:
    assert default_reason(body) == reason


def test_clean_reason_makes_service_text_safe_to_show() -> None:
    assert clean_reason(None) is None
    assert clean_reason(" \x00\n\t ") is None
    assert clean_reason("Line one.\r\n\tLine\x07 two.") == "Line one. Line two."
    long = clean_reason("word " * 100)
    assert long is not None
    assert len(long) == MAX_REASON_LENGTH
    assert long.endswith("…")
    assert (
        clean_reason("Key abcdef123456 and token zz", secrets=["abcdef123456", "zz"])
        == "Key *** and token zz"  # too short to be a secret worth hiding
    )


def test_secret_values_are_the_credential_headers_and_their_parts() -> None:
    assert secret_values(
        {
            "Authorization": "Bearer abc.def",
            "Ocp-Apim-Subscription-Key": "k1",
            "CONVAI-API-KEY": "k2",
            "Content-Type": "application/ssml+xml",
            "User-Agent": "tests",
        }
    ) == ["Bearer abc.def", "abc.def", "Bearer", "k1", "k1", "k2", "k2"]


@pytest.mark.parametrize(
    ("status", "error_type", "message"),
    [
        (
            401,
            SpeechAuthenticationError,
            "host.example rejected the credentials (HTTP 401)",
        ),
        (
            403,
            SpeechAuthenticationError,
            "host.example rejected the credentials (HTTP 403)",
        ),
        (
            429,
            SpeechRateLimitedError,
            "host.example is rate limiting requests (HTTP 429)",
        ),
        (
            400,
            SpeechBadRequestError,
            "host.example refused the request (HTTP 400): why",
        ),
        (
            415,
            SpeechBadRequestError,
            "host.example refused the content type (HTTP 415): why",
        ),
        (500, SpeechServiceError, "host.example failed (HTTP 500)"),
        (503, SpeechServiceError, "host.example failed (HTTP 503)"),
        (404, SpeechServiceError, "host.example answered with unexpected HTTP 404"),
        (302, SpeechServiceError, "host.example answered with unexpected HTTP 302"),
    ],
)
def test_statuses_map_to_errors(
    status: int, error_type: type[SpeechError], message: str
) -> None:
    error = error_for_status(status, "why", host="host.example")
    assert type(error) is error_type
    assert str(error) == message
    if isinstance(error, SpeechServiceError):
        assert error.status == status


def test_rate_limit_error_carries_retry_after() -> None:
    error = error_for_status(429, host="h", retry_after="7")
    assert isinstance(error, SpeechRateLimitedError)
    assert error.retry_after == 7.0
    assert str(error) == "h is rate limiting requests (HTTP 429); retry after 7 s"
    assert error_for_status(429, host="h", retry_after="later").retry_after is None  # type: ignore[attr-defined]


def test_bad_request_reason_uses_the_service_hook_and_survives_its_bugs() -> None:
    def convai(body: str) -> str | None:
        return body.upper()

    def broken(body: str) -> str | None:
        raise KeyError(body)

    error = error_for_status(400, "bad voice", host="h", reason_parser=convai)
    assert isinstance(error, SpeechBadRequestError)
    assert error.reason == "BAD VOICE"
    error = error_for_status(400, "bad voice", host="h", reason_parser=broken)
    assert isinstance(error, SpeechBadRequestError)
    assert error.reason is None
    assert str(error) == "h refused the request (HTTP 400)"


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (SpeechRateLimitedError("x"), True),
        (SpeechConnectionError("x"), True),
        (SpeechTimeoutError("x"), True),
        (SpeechServiceError("x", status=500), True),
        (SpeechServiceError("x", status=503), True),
        (SpeechServiceError("x", status=404), False),
        (SpeechServiceError("x"), False),
        (SpeechAuthenticationError("x"), False),
        (SpeechBadRequestError("x"), False),
        (SpeechResponseError("x"), False),
    ],
)
def test_only_transient_errors_are_retryable(
    error: SpeechError, retryable: bool
) -> None:
    assert is_retryable(error) is retryable


def test_retry_policy_delays() -> None:
    policy = RetryPolicy(attempts=4, max_retry_after=5.0, backoff=0.5)
    server = SpeechServiceError("x", status=502)
    assert [policy.delay(server, attempt) for attempt in (1, 2, 3, 4)] == [
        0.5,
        1.0,
        2.0,
        None,
    ]
    assert policy.delay(SpeechRateLimitedError("x", retry_after=5.0), 1) == 5.0
    assert policy.delay(SpeechRateLimitedError("x", retry_after=5.1), 1) is None
    assert policy.delay(SpeechRateLimitedError("x"), 2) == 1.0
    assert policy.delay(SpeechAuthenticationError("x"), 1) is None
    assert RetryPolicy(attempts=1).delay(server, 1) is None
    # A 503 that says when to come back is honoured like a 429.
    unavailable = SpeechServiceError("x", status=503, retry_after=3.0)
    assert policy.delay(unavailable, 1) == 3.0
    assert policy.delay(SpeechServiceError("x", status=503, retry_after=9.0), 1) is None


def test_unavailable_service_carries_retry_after() -> None:
    error = error_for_status(503, host="h", retry_after="3")
    assert isinstance(error, SpeechServiceError)
    assert error.retry_after == 3.0
    # Only a 503 means "come back later"; other 5xx keep the back-off.
    assert error_for_status(500, host="h", retry_after="3").retry_after is None  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"connect": 0},
        {"first_byte": -1},
        {"idle": float("inf")},
        {"total": float("nan")},
    ],
)
def test_timeouts_must_be_positive(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="Timeouts"):
        Timeouts(**kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [{"attempts": 0}, {"max_retry_after": -1}, {"backoff": float("inf")}],
)
def test_retry_policy_must_be_sane(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="RetryPolicy"):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://westeurope.tts.speech.microsoft.com/cognitiveservices/v1", "westeurope.tts.speech.microsoft.com"),
        ("http://user:secret@127.0.0.1:5000/x", "127.0.0.1:5000"),
        ("http://[::1]:5000/", "[::1]:5000"),
        ("http://[::1", "the service"),
        ("not a url", "the service"),
    ],
)  # fmt: skip
def test_host_of_names_only_the_host(url: str, host: str) -> None:
    assert host_of(url) == host


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (aiohttp.ClientOSError(104, "Connection reset by peer"), "Cannot connect to h: Connection reset by peer"),
        (aiohttp.ClientConnectionError("http://h/?key=x"), "Cannot connect to h: ClientConnectionError"),
        (aiohttp.ServerDisconnectedError(), "The connection to h broke off"),
        (aiohttp.ClientPayloadError("Response payload is not completed"), "The connection to h broke off"),
    ],
)  # fmt: skip
def test_connection_errors_keep_only_a_safe_detail(
    error: Exception, message: str
) -> None:
    """aiohttp's own messages may carry URLs or request details: not ours."""
    assert str(http._connection_error("h", error)) == message


# --- streaming against the emulator ----------------------------------------------


async def test_stream_yields_the_body_in_chunks_and_releases_the_connection(
    emulator_session: aiohttp.ClientSession, emulator: Emulator, sleeps: Sleeps
) -> None:
    emulator.chunk_size = 1000

    chunks = [chunk async for chunk in synthesis(emulator_session, sleeps)]

    (request,) = emulator.requests
    assert len(chunks) > 1
    assert b"".join(chunks) == request.response_body
    assert emulator.open_requests == 0


async def test_nothing_is_sent_until_the_stream_is_iterated(
    emulator_session: aiohttp.ClientSession, emulator: Emulator, sleeps: Sleeps
) -> None:
    stream = synthesis(emulator_session, sleeps)
    await asyncio.sleep(0)
    assert emulator.requests == []
    await stream.aclose()  # type: ignore[attr-defined]
    assert emulator.requests == []


async def test_an_empty_audio_body_is_a_response_error(
    emulator_session: aiohttp.ClientSession, emulator: Emulator, sleeps: Sleeps
) -> None:
    emulator.inject(Fault(target="synthesis", body=b""))
    with pytest.raises(SpeechResponseError, match="returned no audio"):
        async for _ in synthesis(emulator_session, sleeps):
            pass  # pragma: no cover - never reached
    assert len(emulator.requests) == 1


async def test_a_connection_cut_before_any_audio_is_retried(
    emulator_session: aiohttp.ClientSession, emulator: Emulator, sleeps: Sleeps
) -> None:
    emulator.inject(Fault(target="synthesis", cut_after=0))

    audio = b"".join([c async for c in synthesis(emulator_session, sleeps)])

    assert audio == emulator.requests[-1].response_body
    assert [r.status for r in emulator.requests] == [200, 200]
    assert sleeps == [0.01]


async def test_a_stall_before_the_first_chunk_is_a_retried_timeout(
    emulator_session: aiohttp.ClientSession, emulator: Emulator, sleeps: Sleeps
) -> None:
    emulator.inject(Fault(target="synthesis", stall_after=0, times=2))
    timeouts = Timeouts(connect=0.5, first_byte=0.2, idle=5.0)

    with pytest.raises(SpeechTimeoutError, match=r"did not answer within 0\.7 s"):
        async for _ in synthesis(
            emulator_session, sleeps, timeouts=timeouts, retry=RetryPolicy(attempts=2)
        ):
            pass  # pragma: no cover - never reached

    assert len(emulator.requests) == 2
    assert sleeps == [0.5]


async def test_redirects_are_not_followed(
    emulator_session: aiohttp.ClientSession, emulator: Emulator, sleeps: Sleeps
) -> None:
    """Following one would send the key to whatever host the Location names."""
    emulator.inject(
        Fault(
            target="synthesis",
            status=307,
            headers={
                "Location": "https://westus.tts.speech.microsoft.com/cognitiveservices/v1"
            },
        )
    )
    with pytest.raises(SpeechServiceError, match="unexpected HTTP 307") as err:
        async for _ in synthesis(emulator_session, sleeps):
            pass  # pragma: no cover - never reached
    assert err.value.status == 307
    assert len(emulator.requests) == 1


async def test_a_broken_error_body_still_gives_the_status(
    emulator_session: aiohttp.ClientSession, emulator: Emulator, sleeps: Sleeps
) -> None:
    emulator.inject(
        Fault(target="synthesis", status=400, body="Voice not found.", cut_after=5)
    )
    with pytest.raises(SpeechBadRequestError, match="HTTP 400") as err:
        async for _ in synthesis(emulator_session, sleeps):
            pass  # pragma: no cover - never reached
    assert err.value.reason == "Voice"


async def test_a_reason_echoing_a_credential_is_redacted(
    emulator_session: aiohttp.ClientSession, emulator: Emulator, sleeps: Sleeps
) -> None:
    token = "eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl"
    emulator.inject(
        Fault(target="synthesis", status=400, body=f"Token {token} is not valid here")
    )
    headers = SYNTHESIS_HEADERS | {"Authorization": f"Bearer {token}"}
    with pytest.raises(SpeechBadRequestError) as err:
        async for _ in synthesis(emulator_session, sleeps, headers=headers):
            pass  # pragma: no cover - never reached
    assert err.value.reason == "Token *** is not valid here"
    assert token not in str(err.value)


async def test_a_custom_reason_parser_reads_the_service_error_shape(
    emulator_session: aiohttp.ClientSession, emulator: Emulator, sleeps: Sleeps
) -> None:
    emulator.inject(
        Fault(target="synthesis", status=400, body='{"code": 7, "why": "no"}')
    )

    def parse(body: str) -> str | None:
        return body.split('"why": "')[1].rstrip('"}')

    with pytest.raises(SpeechBadRequestError) as err:
        async for _ in synthesis(emulator_session, sleeps, reason_parser=parse):
            pass  # pragma: no cover - never reached
    assert err.value.reason == "no"


# --- whole-body requests against the emulator ---------------------------------------


async def test_request_json_returns_the_parsed_body(
    emulator_session: aiohttp.ClientSession, emulator: Emulator
) -> None:
    voices = await request_json(
        emulator_session, "GET", VOICES_URL, headers=KEY_HEADERS
    )
    assert voices == emulator.voices


async def test_request_json_rejects_invalid_json(
    emulator_session: aiohttp.ClientSession, emulator: Emulator
) -> None:
    emulator.inject(Fault(target="voices", body=b"\xff\xfe not json"))
    with pytest.raises(SpeechResponseError, match=f"{HOST} returned invalid JSON"):
        await request_json(emulator_session, "GET", VOICES_URL, headers=KEY_HEADERS)


async def test_request_json_without_a_charset_detects_the_encoding(
    emulator_session: aiohttp.ClientSession, emulator: Emulator
) -> None:
    emulator.inject(
        Fault(
            target="voices",
            body='[{"ShortName": "云希"}]'.encode("utf-16"),
            headers={"Content-Type": "application/json"},
        )
    )
    assert await request_json(
        emulator_session, "GET", VOICES_URL, headers=KEY_HEADERS
    ) == [{"ShortName": "云希"}]


async def test_request_text_decodes_with_the_declared_charset(
    emulator_session: aiohttp.ClientSession, emulator: Emulator
) -> None:
    emulator.inject(
        Fault(
            target="token",
            body="café".encode("latin-1"),
            headers={"Content-Type": "text/plain; charset=latin-1"},
        )
    )
    emulator.inject(
        Fault(
            target="token",
            body="café".encode(),
            headers={"Content-Type": "text/plain; charset=no-such-charset"},
        )
    )
    for _ in range(2):
        text = await request_text(
            emulator_session, "POST", TOKEN_URL, headers=KEY_HEADERS, data=b""
        )
        assert text == "café"


async def test_request_bytes_refuses_an_oversized_body(
    emulator_session: aiohttp.ClientSession, emulator: Emulator, sleeps: Sleeps
) -> None:
    emulator.chunk_size = 100
    with pytest.raises(SpeechResponseError, match="more than 1000 bytes"):
        await request_bytes(
            emulator_session,
            "GET",
            VOICES_URL,
            headers=KEY_HEADERS,
            max_bytes=1000,
            sleep=sleeps,
        )
    assert len(emulator.requests) == 1
    await asyncio.sleep(0)
    assert emulator.open_requests == 0


async def test_whole_body_requests_have_a_total_deadline(
    emulator_session: aiohttp.ClientSession, emulator: Emulator, sleeps: Sleeps
) -> None:
    emulator.chunk_size = 100
    emulator.inject(Fault(target="voices", stall_after=500))
    timeouts = Timeouts(connect=2.0, first_byte=2.0, idle=2.0, total=0.2)

    with pytest.raises(SpeechTimeoutError, match=r"did not answer within 0\.2 s"):
        await request_bytes(
            emulator_session,
            "GET",
            VOICES_URL,
            headers=KEY_HEADERS,
            timeouts=timeouts,
            retry=RetryPolicy(attempts=1),
            sleep=sleeps,
        )


async def test_whole_body_requests_are_retried_as_a_whole(
    emulator_session: aiohttp.ClientSession, emulator: Emulator, sleeps: Sleeps
) -> None:
    emulator.inject(Fault(target="voices", cut_after=1000))

    voices = await request_json(
        emulator_session,
        "GET",
        VOICES_URL,
        headers=KEY_HEADERS,
        retry=RETRY,
        sleep=sleeps,
    )

    assert voices == emulator.voices
    assert len(emulator.requests) == 2
    assert sleeps == [0.01]


async def test_whole_body_request_errors_are_mapped(
    emulator_session: aiohttp.ClientSession, emulator: Emulator, sleeps: Sleeps
) -> None:
    emulator.inject(Fault(target="voices", status=429, headers={"Retry-After": "60"}))
    with pytest.raises(SpeechRateLimitedError) as err:
        await request_text(
            emulator_session, "GET", VOICES_URL, headers=KEY_HEADERS, sleep=sleeps
        )
    assert err.value.retry_after == 60.0
    assert sleeps == []
