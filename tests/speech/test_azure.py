"""The Azure AI Speech client, against the emulator's Azure hosts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
import logging
import math
import socket
import traceback
from typing import Any

import aiohttp
import pytest

from custom_components.cloud_speech.speech import __version__
from custom_components.cloud_speech.speech.azure import (
    DEFAULT_USER_AGENT,
    REGIONS,
    TOKEN_REUSE_SECONDS,
    AuthMode,
    AzureCloud,
    AzureEndpoints,
    AzureSpeechClient,
    azure_endpoints,
    parse_voice_list,
)
from custom_components.cloud_speech.speech.errors import (
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
from custom_components.cloud_speech.speech.http import (
    RetryPolicy,
    Timeouts,
    open_connection,
)
from custom_components.cloud_speech.speech.models import Gender, Voice
from tests.emulator import TEST_KEY, Emulator, EmulatorServer, Fault
from tests.speech.conftest import Sleeps
from tests.voice_data import YUNXI

SSML = (
    '<speak version="1.0" xmlns="http://www.w3.org/2001/10/synthesis" '
    'xml:lang="zh-CN"><voice name="zh-cn-YunxiNeural">你好。今天天气很好。</voice></speak>'
)
MP3 = "audio-24khz-48kbitrate-mono-mp3"
SECRET = "SECRET-MARKER-123"
# Fast enough to keep the suite quick, long enough for a loaded CI machine.
TINY_TIMEOUTS = Timeouts(connect=0.5, first_byte=0.2, idle=0.2, total=1.0)


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def collect(stream: AsyncIterator[bytes]) -> list[bytes]:
    return [chunk async for chunk in stream]


async def drain(stream: AsyncIterator[bytes], received: list[bytes]) -> None:
    """Collect chunks into `received`, keeping them when the stream fails."""
    async for chunk in stream:
        received.append(chunk)  # noqa: PERF401 - a comprehension loses them on error


async def speak(client: AzureSpeechClient, ssml: str = SSML) -> bytes:
    return b"".join(await collect(client.synthesize(ssml, MP3)))


async def eventually(condition: Callable[[], bool]) -> None:
    """Wait (bounded by the test timeout, not by a wall-clock assertion)."""
    # The emulator exposes counters, not events: poll them.
    while not condition():  # noqa: ASYNC110
        await asyncio.sleep(0.01)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- endpoints ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("cloud", "region", "synthesis", "voices", "recognition", "token"),
    [
        (
            AzureCloud.GLOBAL,
            "westeurope",
            "https://westeurope.tts.speech.microsoft.com/cognitiveservices/v1",
            "https://westeurope.tts.speech.microsoft.com/cognitiveservices/voices/list",
            "https://westeurope.stt.speech.microsoft.com/speech/recognition/conversation/cognitiveservices/v1",
            "https://westeurope.api.cognitive.microsoft.com/sts/v1.0/issueToken",
        ),
        (
            AzureCloud.CHINA,
            "chinaeast2",
            "https://chinaeast2.tts.speech.azure.cn/cognitiveservices/v1",
            "https://chinaeast2.tts.speech.azure.cn/cognitiveservices/voices/list",
            "https://chinaeast2.stt.speech.azure.cn/speech/recognition/conversation/cognitiveservices/v1",
            "https://chinaeast2.api.cognitive.azure.cn/sts/v1.0/issueToken",
        ),
        (
            AzureCloud.US_GOVERNMENT,
            "usgovvirginia",
            "https://usgovvirginia.tts.speech.azure.us/cognitiveservices/v1",
            "https://usgovvirginia.tts.speech.azure.us/cognitiveservices/voices/list",
            "https://usgovvirginia.stt.speech.azure.us/speech/recognition/conversation/cognitiveservices/v1",
            "https://usgovvirginia.api.cognitive.microsoft.us/sts/v1.0/issueToken",
        ),
    ],
)
def test_each_cloud_has_its_own_hosts(  # noqa: PLR0917 - one per table column
    cloud: AzureCloud,
    region: str,
    synthesis: str,
    voices: str,
    recognition: str,
    token: str,
) -> None:
    assert azure_endpoints(cloud, region=region) == AzureEndpoints(
        synthesis_url=synthesis,
        voices_url=voices,
        recognition_url=recognition,
        token_url=token,
        host=synthesis.split("/")[2],
    )


def test_region_tables() -> None:
    assert len(REGIONS[AzureCloud.GLOBAL]) == 33
    assert REGIONS[AzureCloud.CHINA] == ("chinaeast2", "chinanorth2", "chinanorth3")
    assert REGIONS[AzureCloud.US_GOVERNMENT] == ("usgovarizona", "usgovvirginia")
    assert REGIONS[AzureCloud.CUSTOM] == ()


def test_region_is_case_insensitive_and_accepts_plain_strings() -> None:
    endpoints = azure_endpoints("china", region=" ChinaNorth3 ")  # type: ignore[arg-type]
    assert endpoints.host == "chinanorth3.tts.speech.azure.cn"


def test_unknown_cloud_is_rejected() -> None:
    with pytest.raises(InvalidRequestError) as err:
        azure_endpoints("germany", region="germanycentral")  # type: ignore[arg-type]
    assert err.value.field == "cloud"


@pytest.mark.parametrize(
    ("cloud", "region"),
    [
        (AzureCloud.GLOBAL, "chinaeast2"),
        (AzureCloud.CHINA, "westeurope"),
        (AzureCloud.CHINA, "chinaeast"),
        (AzureCloud.US_GOVERNMENT, "eastus"),
        (AzureCloud.GLOBAL, None),
        (AzureCloud.GLOBAL, "west europe"),
    ],
)
def test_region_must_belong_to_the_cloud(cloud: AzureCloud, region: str | None) -> None:
    with pytest.raises(InvalidRequestError) as err:
        azure_endpoints(cloud, region=region)
    assert err.value.field == "region"


@pytest.mark.parametrize(
    ("endpoint", "synthesis", "voices", "recognition", "token", "host"),
    [
        (
            "https://my-speech.cognitiveservices.azure.com/",
            "https://my-speech.cognitiveservices.azure.com/tts/cognitiveservices/v1",
            "https://my-speech.cognitiveservices.azure.com/tts/cognitiveservices/voices/list",
            "https://my-speech.cognitiveservices.azure.com/stt/speech/recognition/conversation/cognitiveservices/v1",
            "https://my-speech.cognitiveservices.azure.com/sts/v1.0/issueToken",
            "my-speech.cognitiveservices.azure.com",
        ),
        (
            "HTTPS://My-Speech.CognitiveServices.Azure.cn",
            "https://my-speech.cognitiveservices.azure.cn/tts/cognitiveservices/v1",
            "https://my-speech.cognitiveservices.azure.cn/tts/cognitiveservices/voices/list",
            "https://my-speech.cognitiveservices.azure.cn/stt/speech/recognition/conversation/cognitiveservices/v1",
            "https://my-speech.cognitiveservices.azure.cn/sts/v1.0/issueToken",
            "my-speech.cognitiveservices.azure.cn",
        ),
        (
            "http://127.0.0.1:5000",
            "http://127.0.0.1:5000/cognitiveservices/v1",
            "http://127.0.0.1:5000/cognitiveservices/voices/list",
            "http://127.0.0.1:5000/speech/recognition/conversation/cognitiveservices/v1",
            None,
            "127.0.0.1:5000",
        ),
        (
            " http://speech.lan:5000/some/prefix// ",
            "http://speech.lan:5000/some/prefix/cognitiveservices/v1",
            "http://speech.lan:5000/some/prefix/cognitiveservices/voices/list",
            "http://speech.lan:5000/some/prefix/speech/recognition/conversation/cognitiveservices/v1",
            None,
            "speech.lan:5000",
        ),
        (
            "http://[::1]:5000/",
            "http://[::1]:5000/cognitiveservices/v1",
            "http://[::1]:5000/cognitiveservices/voices/list",
            "http://[::1]:5000/speech/recognition/conversation/cognitiveservices/v1",
            None,
            "[::1]:5000",
        ),
    ],
)
def test_custom_subdomains_and_containers_use_different_paths(  # noqa: PLR0917 - one per table column
    endpoint: str,
    synthesis: str,
    voices: str,
    recognition: str,
    token: str | None,
    host: str,
) -> None:
    endpoints = azure_endpoints(AzureCloud.CUSTOM, endpoint=endpoint, region="ignored")
    assert endpoints == AzureEndpoints(synthesis, voices, recognition, token, host)


@pytest.mark.parametrize(
    "endpoint",
    [
        None,
        "",
        "ftp://speech.lan",
        "speech.lan:5000",
        "https://",
        "http:///path",
        "http://speech.lan:5000/?x=1",
        "http://speech.lan:5000/?",
        "http://speech.lan:5000/#top",
        "http://speech.lan:99999",
        "http://speech lan",
        "http://[::1",
    ],
)
def test_invalid_endpoints_are_rejected(endpoint: str | None) -> None:
    with pytest.raises(InvalidRequestError) as err:
        azure_endpoints(AzureCloud.CUSTOM, endpoint=endpoint)
    assert err.value.field == "endpoint"


def test_credentials_in_an_endpoint_are_rejected_without_echoing_them() -> None:
    with pytest.raises(InvalidRequestError) as err:
        azure_endpoints(AzureCloud.CUSTOM, endpoint=f"https://user:{SECRET}@speech.lan")
    assert err.value.field == "endpoint"
    assert SECRET not in str(err.value)
    assert SECRET not in repr(err.value)
    assert SECRET not in err.value.value


# --- construction --------------------------------------------------------------


def test_token_mode_needs_a_token_endpoint(
    make_client: Callable[..., AzureSpeechClient],
) -> None:
    container = azure_endpoints(AzureCloud.CUSTOM, endpoint="http://127.0.0.1:5000")
    with pytest.raises(InvalidRequestError) as err:
        make_client(container, auth_mode=AuthMode.TOKEN)
    assert err.value.field == "auth_mode"


def test_unknown_auth_mode_is_rejected(
    make_client: Callable[..., AzureSpeechClient],
) -> None:
    with pytest.raises(InvalidRequestError) as err:
        make_client(auth_mode="oauth")
    assert err.value.field == "auth_mode"


async def test_a_blank_key_sends_no_key(
    make_client: Callable[..., AzureSpeechClient],
    emulator: Emulator,
    emulator_server: EmulatorServer,
) -> None:
    client = make_client(
        azure_endpoints(AzureCloud.CUSTOM, endpoint=emulator_server.http_url),
        api_key="  ",
    )
    assert await speak(client)
    assert "Ocp-Apim-Subscription-Key" not in emulator.requests[0].headers


@pytest.mark.parametrize("api_key", [None, "", "  "])
def test_token_mode_needs_a_key(
    make_client: Callable[..., AzureSpeechClient], api_key: str | None
) -> None:
    with pytest.raises(InvalidRequestError) as err:
        make_client(api_key=api_key, auth_mode=AuthMode.TOKEN)
    assert err.value.field == "api_key"


@pytest.mark.parametrize(
    "user_agent", ["", " ", "x" * 255, "bad\r\nX-Injected: 1", "caf\u00e9"]
)
def test_user_agent_must_be_a_short_header_value(
    make_client: Callable[..., AzureSpeechClient], user_agent: str
) -> None:
    with pytest.raises(InvalidRequestError) as err:
        make_client(user_agent=user_agent)
    assert err.value.field == "user_agent"


def test_a_key_that_could_split_headers_is_rejected_without_echo(
    make_client: Callable[..., AzureSpeechClient],
) -> None:
    with pytest.raises(InvalidRequestError) as err:
        make_client(api_key=f"{SECRET}\r\nX-Injected: 1")
    assert err.value.field == "api_key"
    assert SECRET not in str(err.value)
    assert SECRET not in err.value.value


@pytest.mark.parametrize(
    ("ssml", "output_format", "field"),
    [
        ("", MP3, "ssml"),
        ("   ", MP3, "ssml"),
        (SSML, "", "output_format"),
        (SSML, "mp3\r\nX-Injected: 1", "output_format"),
    ],
)
async def test_synthesize_checks_its_arguments_before_any_request(
    make_client: Callable[..., AzureSpeechClient],
    emulator: Emulator,
    ssml: str,
    output_format: str,
    field: str,
) -> None:
    client = make_client()
    with pytest.raises(InvalidRequestError) as err:
        client.synthesize(ssml, output_format)
    assert err.value.field == field
    assert emulator.requests == []


def test_client_exposes_its_configuration(
    make_client: Callable[..., AzureSpeechClient],
) -> None:
    endpoints = azure_endpoints(AzureCloud.GLOBAL, region="eastus")
    client = make_client(endpoints, auth_mode="token")
    assert client.endpoints is endpoints
    assert client.auth_mode is AuthMode.TOKEN
    assert f"cloud_speech/{__version__}" == DEFAULT_USER_AGENT


# --- reaching the right hosts -------------------------------------------------


@pytest.mark.parametrize(
    ("cloud", "region"),
    [
        (AzureCloud.GLOBAL, "westeurope"),
        (AzureCloud.CHINA, "chinaeast2"),
        (AzureCloud.CHINA, "chinanorth3"),
        (AzureCloud.US_GOVERNMENT, "usgovarizona"),
    ],
)
@pytest.mark.parametrize("auth_mode", [AuthMode.KEY, AuthMode.TOKEN])
async def test_requests_reach_the_cloud_and_region(
    make_client: Callable[..., AzureSpeechClient],
    emulator: Emulator,
    cloud: AzureCloud,
    region: str,
    auth_mode: AuthMode,
) -> None:
    client = make_client(azure_endpoints(cloud, region=region), auth_mode=auth_mode)

    voices = await client.async_get_voices()
    audio = await speak(client)

    assert voices
    assert audio
    kinds = ["voices", "synthesis"]
    if auth_mode is AuthMode.TOKEN:
        kinds.insert(0, "token")
    assert [request.kind for request in emulator.requests] == kinds
    for request in emulator.requests:
        assert request.cloud == cloud.value
        assert request.region == region
        assert request.status == 200
    token_host = client.endpoints.token_url.split("/")[2]  # type: ignore[union-attr]
    assert [(r.host.split(":")[0], r.path) for r in emulator.requests][-2:] == [
        (client.endpoints.host, "/cognitiveservices/voices/list"),
        (client.endpoints.host, "/cognitiveservices/v1"),
    ]
    if auth_mode is AuthMode.TOKEN:
        assert emulator.requests[0].host.split(":")[0] == token_host
        assert emulator.requests[0].path == "/sts/v1.0/issueToken"


async def test_custom_subdomain_resource_uses_tts_paths_and_issues_tokens(
    make_client: Callable[..., AzureSpeechClient], emulator: Emulator
) -> None:
    endpoints = azure_endpoints(
        AzureCloud.CUSTOM, endpoint="https://my-speech.cognitiveservices.azure.com"
    )
    client = make_client(endpoints, auth_mode=AuthMode.TOKEN)

    await client.async_get_voices()
    await speak(client)

    assert [(r.kind, r.path, r.status) for r in emulator.requests] == [
        ("token", "/sts/v1.0/issueToken", 200),
        ("voices", "/tts/cognitiveservices/voices/list", 200),
        ("synthesis", "/tts/cognitiveservices/v1", 200),
    ]
    assert {r.host.split(":")[0] for r in emulator.requests} == {
        "my-speech.cognitiveservices.azure.com"
    }


async def test_container_works_without_a_key(
    make_client: Callable[..., AzureSpeechClient],
    emulator: Emulator,
    emulator_server: EmulatorServer,
) -> None:
    client = make_client(
        azure_endpoints(AzureCloud.CUSTOM, endpoint=emulator_server.http_url),
        api_key=None,
    )

    assert await client.async_get_voices()
    assert await speak(client)

    assert [(r.kind, r.cloud, r.path) for r in emulator.requests] == [
        ("voices", "container", "/cognitiveservices/voices/list"),
        ("synthesis", "container", "/cognitiveservices/v1"),
    ]
    assert all("Ocp-Apim-Subscription-Key" not in r.headers for r in emulator.requests)
    assert all("Authorization" not in r.headers for r in emulator.requests)


async def test_container_that_requires_a_key_rejects_none(
    make_client: Callable[..., AzureSpeechClient],
    emulator: Emulator,
    emulator_server: EmulatorServer,
) -> None:
    emulator.container_requires_key = True
    endpoints = azure_endpoints(AzureCloud.CUSTOM, endpoint=emulator_server.http_url)

    with pytest.raises(SpeechAuthenticationError):
        await speak(make_client(endpoints, api_key=""))
    assert await speak(make_client(endpoints, api_key=TEST_KEY))


# --- key mode --------------------------------------------------------------------


async def test_key_mode_sends_one_request_per_synthesis_with_the_documented_headers(
    make_client: Callable[..., AzureSpeechClient], emulator: Emulator
) -> None:
    client = make_client(user_agent="my-home/1.0")

    await speak(client)
    await speak(client)

    requests = emulator.requests_for("synthesis")
    assert len(emulator.requests) == len(requests) == 2
    for request in requests:
        assert request.method == "POST"
        assert request.headers["Ocp-Apim-Subscription-Key"] == TEST_KEY
        assert request.headers["Content-Type"] == "application/ssml+xml"
        assert request.headers["X-Microsoft-OutputFormat"] == MP3
        assert request.headers["User-Agent"] == "my-home/1.0"
        assert request.body == SSML.encode()
        assert request.voice == "zh-cn-YunxiNeural"
        assert request.output_format == MP3
        assert request.spoken_text is not None
        assert "今天天气很好" in request.spoken_text


async def test_key_of_another_region_is_rejected(
    make_client: Callable[..., AzureSpeechClient], emulator: Emulator
) -> None:
    emulator.keys["westeurope-key"] = "westeurope"
    europe = make_client(
        azure_endpoints(AzureCloud.GLOBAL, region="westeurope"),
        api_key="westeurope-key",
    )
    china = make_client(api_key="westeurope-key")

    assert await europe.async_get_voices()
    with pytest.raises(SpeechAuthenticationError, match="HTTP 401"):
        await china.async_get_voices()
    with pytest.raises(SpeechAuthenticationError):
        await speak(china)
    # Authentication failures are final: no retry.
    assert [r.status for r in emulator.requests] == [200, 401, 401]


# --- token mode --------------------------------------------------------------------


async def test_token_is_fetched_once_and_reused_for_nine_minutes(
    make_client: Callable[..., AzureSpeechClient], emulator: Emulator
) -> None:
    clock = FakeClock()
    client = make_client(auth_mode=AuthMode.TOKEN, clock=clock)

    await client.async_get_voices()
    for _ in range(3):
        await speak(client)
        clock.now += 100
    clock.now += TOKEN_REUSE_SECONDS - 301  # 8:59 after the token was issued
    await speak(client)

    assert [r.kind for r in emulator.requests] == ["token", "voices"] + [
        "synthesis"
    ] * 4
    token_request = emulator.requests[0]
    assert token_request.method == "POST"
    assert token_request.headers["Ocp-Apim-Subscription-Key"] == TEST_KEY
    assert token_request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert token_request.body == b""
    bearers = {r.headers["Authorization"] for r in emulator.requests[1:]}
    assert len(bearers) == 1
    assert bearers.pop().startswith("Bearer ey")
    assert all(
        "Ocp-Apim-Subscription-Key" not in r.headers for r in emulator.requests[1:]
    )

    clock.now += 1  # nine minutes: time for a new one
    await speak(client)

    assert [r.kind for r in emulator.requests[-2:]] == ["token", "synthesis"]
    assert emulator.requests[-1].headers["Authorization"] not in {
        r.headers["Authorization"] for r in emulator.requests[1:-2]
    }


async def test_expired_token_is_renewed_once_and_the_call_succeeds(
    make_client: Callable[..., AzureSpeechClient], emulator: Emulator
) -> None:
    client = make_client(auth_mode=AuthMode.TOKEN)
    await speak(client)

    emulator.expire_tokens()
    audio = await speak(client)
    emulator.expire_tokens()
    voices = await client.async_get_voices()

    assert audio
    assert voices
    assert [(r.kind, r.status) for r in emulator.requests] == [
        ("token", 200),
        ("synthesis", 200),
        ("synthesis", 401),
        ("token", 200),
        ("synthesis", 200),
        ("voices", 401),
        ("token", 200),
        ("voices", 200),
    ]


async def test_a_token_rejected_again_after_renewal_fails_and_403_is_not_renewed(
    make_client: Callable[..., AzureSpeechClient], emulator: Emulator
) -> None:
    client = make_client(auth_mode=AuthMode.TOKEN)
    emulator.inject(Fault(target="synthesis", status=401, times=5))
    emulator.inject(Fault(target="voices", status=403, times=5))

    with pytest.raises(SpeechAuthenticationError):
        await speak(client)
    with pytest.raises(SpeechAuthenticationError):
        await client.async_get_voices()

    # A 403 is not an expired token (forbidden, or a quota): no renewal.
    assert [(r.kind, r.status) for r in emulator.requests] == [
        ("token", 200),
        ("synthesis", 401),
        ("token", 200),
        ("synthesis", 401),
        ("voices", 403),
    ]


async def test_concurrent_first_calls_share_one_token_request(
    make_client: Callable[..., AzureSpeechClient], emulator: Emulator
) -> None:
    client = make_client(auth_mode=AuthMode.TOKEN)
    emulator.inject(Fault(target="token", delay=0.05))

    results = await asyncio.gather(
        client.async_get_voices(), *(speak(client) for _ in range(4))
    )

    assert all(results)
    assert len(emulator.requests_for("token")) == 1
    assert len({r.headers["Authorization"] for r in emulator.requests[1:]}) == 1


async def test_concurrent_rejections_of_one_token_renew_it_once(
    make_client: Callable[..., AzureSpeechClient], emulator: Emulator
) -> None:
    client = make_client(auth_mode=AuthMode.TOKEN)
    await client.async_get_voices()
    emulator.expire_tokens()

    results = await asyncio.gather(*(speak(client) for _ in range(4)))

    assert all(results)
    assert len(emulator.requests_for("token")) == 2


async def test_bad_key_on_the_token_endpoint_is_an_authentication_error(
    make_client: Callable[..., AzureSpeechClient], emulator: Emulator
) -> None:
    client = make_client(api_key="wrong-key", auth_mode=AuthMode.TOKEN)

    with pytest.raises(SpeechAuthenticationError, match="HTTP 401"):
        await speak(client)
    with pytest.raises(SpeechAuthenticationError):
        await client.async_get_voices()

    assert [(r.kind, r.status) for r in emulator.requests] == [("token", 401)] * 2


@pytest.mark.parametrize(
    "body", ["", "   ", "not a token", "<html>oops</html>\n<p>x</p>"]
)
async def test_a_token_endpoint_answering_garbage_is_a_response_error(
    make_client: Callable[..., AzureSpeechClient], emulator: Emulator, body: str
) -> None:
    emulator.inject(Fault(target="token", body=body))
    with pytest.raises(SpeechResponseError, match="did not return a token"):
        await speak(make_client(auth_mode=AuthMode.TOKEN))
    assert emulator.requests_for("synthesis") == []


async def test_token_endpoint_failures_are_retried(
    make_client: Callable[..., AzureSpeechClient], emulator: Emulator, sleeps: Sleeps
) -> None:
    emulator.inject(Fault(target="token", status=503))
    assert await speak(make_client(auth_mode=AuthMode.TOKEN))
    assert [(r.kind, r.status) for r in emulator.requests] == [
        ("token", 503),
        ("token", 200),
        ("synthesis", 200),
    ]
    assert sleeps == [0.01]


# --- voices ---------------------------------------------------------------------------


async def test_seed_voices_are_parsed_exactly(
    make_client: Callable[..., AzureSpeechClient], emulator: Emulator
) -> None:
    voices = {
        voice.short_name: voice for voice in await make_client().async_get_voices()
    }

    assert len(voices) == len(emulator.voices)
    assert voices["zh-cn-YunxiNeural"] == YUNXI
    jenny = voices["en-US-JennyMultilingualNeural"]
    assert jenny.display_name == "Jenny Multilingual"
    assert jenny.gender is Gender.FEMALE
    assert jenny.secondary_locales == (
        "de-DE", "en-AU", "en-CA", "en-GB", "es-ES", "es-MX", "fr-CA",
        "fr-FR", "it-IT", "ja-JP", "ko-KR", "pt-BR", "zh-cn",
    )  # fmt: skip
    assert jenny.words_per_minute == 190
    assert jenny.speaks("zh-CN")
    orla = voices["ga-IE-OrlaNeural"]
    assert (orla.locale, orla.locale_name, orla.styles, orla.roles) == (
        "ga-IE",
        "Irish (Ireland)",
        (),
        (),
    )
    assert voices["en-US-JennyNeural"].styles[:2] == ("assistant", "chat")


async def test_voice_names_with_a_colon_are_kept(
    make_client: Callable[..., AzureSpeechClient],
) -> None:
    voices = {
        voice.short_name: voice for voice in await make_client().async_get_voices()
    }

    ava = voices["en-US-Ava:DragonHDLatestNeural"]
    assert ava.status == "Preview"
    assert ava.is_multilingual


@pytest.mark.parametrize(
    "body",
    [
        "this is not JSON",
        '{"voices": []}',
        "[]",
        '[1, "two", null, {"ShortName": "no-locale"}, {"Locale": "en-US"}]',
        '[{"ShortName": "", "Locale": "en-US"}, {"ShortName": 5, "Locale": "en-US"}]',
        "\ufeff",
    ],
)
async def test_voice_list_in_the_wrong_shape_is_a_response_error(
    make_client: Callable[..., AzureSpeechClient], emulator: Emulator, body: str
) -> None:
    emulator.inject(Fault(target="voices", body=body))
    with pytest.raises(SpeechResponseError):
        await make_client().async_get_voices()
    # Nothing a retry could fix.
    assert len(emulator.requests) == 1


async def test_voice_entries_that_are_not_voices_are_skipped(
    make_client: Callable[..., AzureSpeechClient], emulator: Emulator
) -> None:
    emulator.voices = [
        "garbage",  # type: ignore[list-item]
        None,  # type: ignore[list-item]
        {"ShortName": "xx-XX-NoLocaleNeural"},
        {"Locale": "xx-XX"},
        {
            "ShortName": "xx-XX-OddNeural",
            "Locale": "xx-XX",
            "Gender": "Robot",
            "SampleRateHertz": "fast",
            "WordsPerMinute": 150.0,
            "StyleList": ["calm", 3, "", None],
            "SecondaryLocaleList": "en-US",
            "RolePlayList": None,
            "DisplayName": 7,
        },
        {
            "ShortName": "xx-XX-NeutralNeural",
            "Locale": "xx-XX",
            "Gender": "neutral",
            "SampleRateHertz": 48000,
            "WordsPerMinute": True,
        },
        {
            "ShortName": "xx-XX-FloatNeural",
            "Locale": "xx-XX",
            "SampleRateHertz": 16000.5,
        },
    ]

    voices = await make_client().async_get_voices()

    assert voices == [
        Voice(
            short_name="xx-XX-OddNeural",
            display_name="xx-XX-OddNeural",
            locale="xx-XX",
            gender=Gender.UNKNOWN,
            styles=("calm",),
            sample_rate=None,
            words_per_minute=150,
        ),
        Voice(
            short_name="xx-XX-NeutralNeural",
            display_name="xx-XX-NeutralNeural",
            locale="xx-XX",
            gender=Gender.NEUTRAL,
            sample_rate=48000,
            words_per_minute=None,
        ),
        Voice(
            short_name="xx-XX-FloatNeural",
            display_name="xx-XX-FloatNeural",
            locale="xx-XX",
        ),
    ]


def test_parse_voice_list_rejects_non_lists() -> None:
    for data in ({"ShortName": "x", "Locale": "y"}, None, "[]", 3):
        with pytest.raises(
            SpeechResponseError, match="empty or not in the documented shape"
        ):
            parse_voice_list(data)


# --- streaming ------------------------------------------------------------------------


async def test_audio_arrives_in_chunks_that_join_to_the_whole(
    make_client: Callable[..., AzureSpeechClient], emulator: Emulator
) -> None:
    emulator.chunk_size = 512
    emulator.bytes_per_second = 512 * 100  # paced, so chunks arrive one by one

    chunks = await collect(make_client().synthesize(SSML, MP3))

    (request,) = emulator.requests
    assert len(chunks) > 1
    assert all(chunks)
    assert b"".join(chunks) == request.response_body


async def test_first_chunk_is_yielded_before_the_rest_is_sent(
    make_client: Callable[..., AzureSpeechClient], emulator: Emulator
) -> None:
    emulator.chunk_size = 256
    emulator.inject(Fault(target="synthesis", stall_after=256))
    client = make_client(timeouts=TINY_TIMEOUTS)
    received: list[bytes] = []

    with pytest.raises(SpeechTimeoutError, match="stopped sending"):
        await drain(client.synthesize(SSML, MP3), received)

    (request,) = emulator.requests_for("synthesis")
    assert b"".join(received) == request.response_body[:256]


async def test_first_chunk_is_in_hand_while_the_emulator_is_still_sending(
    make_client: Callable[..., AzureSpeechClient], emulator: Emulator
) -> None:
    emulator.chunk_size = 128
    emulator.bytes_per_second = 128 * 200  # a chunk every 5 ms, for about 0.2 s
    stream = make_client().synthesize(SSML, MP3)

    async with aclosing(stream):
        first = await anext(stream)
        # The response is still being written: the chunk was not buffered.
        assert emulator.open_requests == 1
        rest = [chunk async for chunk in stream]

    (request,) = emulator.requests
    assert first + b"".join(rest) == request.response_body


async def test_a_stall_after_audio_began_is_not_retried(
    make_client: Callable[..., AzureSpeechClient], emulator: Emulator
) -> None:
    emulator.inject(Fault(target="synthesis", stall_after=100, times=3))
    client = make_client(timeouts=TINY_TIMEOUTS)

    with pytest.raises(SpeechTimeoutError):
        await speak(client)

    assert len(emulator.requests_for("synthesis")) == 1


async def test_a_connection_cut_after_audio_began_is_not_retried(
    make_client: Callable[..., AzureSpeechClient], emulator: Emulator
) -> None:
    emulator.inject(Fault(target="synthesis", cut_after=100, times=3))
    received: list[bytes] = []

    with pytest.raises(SpeechConnectionError, match="broke") as err:
        await drain(make_client().synthesize(SSML, MP3), received)

    assert not isinstance(err.value, SpeechTimeoutError)
    assert b"".join(received) == emulator.requests[0].response_body[:100]
    assert len(emulator.requests_for("synthesis")) == 1


@pytest.mark.parametrize("close", ["aclose", "break"])
async def test_stopping_early_releases_the_connection(
    make_client: Callable[..., AzureSpeechClient], emulator: Emulator, close: str
) -> None:
    emulator.chunk_size = 128
    emulator.bytes_per_second = 128 * 20
    client = make_client()

    if close == "aclose":
        stream = client.synthesize(SSML, MP3)
        assert await anext(stream)
        assert emulator.open_requests == 1
        await stream.aclose()
    else:
        async for chunk in client.synthesize(SSML, MP3):
            assert chunk
            break

    await eventually(lambda: emulator.open_requests == 0)
    assert len(emulator.requests) == 1


async def test_cancelling_a_stream_releases_the_connection(
    make_client: Callable[..., AzureSpeechClient], emulator: Emulator
) -> None:
    emulator.inject(Fault(target="synthesis", hang=True))
    task = asyncio.create_task(speak(make_client()))
    await eventually(lambda: emulator.open_requests == 1)

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    await eventually(lambda: emulator.open_requests == 0)


# --- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [401, 403])
async def test_rejected_credentials(
    make_client: Callable[..., AzureSpeechClient], emulator: Emulator, status: int
) -> None:
    emulator.inject(Fault(target="synthesis", status=status))
    with pytest.raises(SpeechAuthenticationError, match=f"HTTP {status}"):
        await speak(make_client())
    assert len(emulator.requests) == 1


async def test_rate_limiting_is_retried_after_retry_after_then_reported(
    make_client: Callable[..., AzureSpeechClient], emulator: Emulator, sleeps: Sleeps
) -> None:
    emulator.inject(
        Fault(target="synthesis", status=429, headers={"Retry-After": "1"}, times=3)
    )

    with pytest.raises(SpeechRateLimitedError) as err:
        await speak(make_client())

    assert err.value.retry_after == 1.0
    assert sleeps == [1.0, 1.0]
    assert len(emulator.requests) == 3


async def test_rate_limiting_without_retry_after_backs_off(
    make_client: Callable[..., AzureSpeechClient], emulator: Emulator, sleeps: Sleeps
) -> None:
    emulator.inject(Fault(target="voices", status=429, times=3))

    with pytest.raises(SpeechRateLimitedError) as err:
        await make_client().async_get_voices()

    assert err.value.retry_after is None
    assert sleeps == [0.01, 0.02]
    assert len(emulator.requests) == 3


async def test_a_long_retry_after_fails_at_once(
    make_client: Callable[..., AzureSpeechClient], emulator: Emulator, sleeps: Sleeps
) -> None:
    emulator.inject(
        Fault(target="synthesis", status=429, headers={"Retry-After": "30"})
    )

    with pytest.raises(SpeechRateLimitedError, match="retry after 30 s") as err:
        await speak(make_client())

    assert err.value.retry_after == 30.0
    assert sleeps == []
    assert len(emulator.requests) == 1


async def test_a_retry_succeeds_after_rate_limiting(
    make_client: Callable[..., AzureSpeechClient], emulator: Emulator, sleeps: Sleeps
) -> None:
    emulator.inject(Fault(target="synthesis", status=429, headers={"Retry-After": "0"}))
    assert await speak(make_client())
    assert sleeps == [0.0]
    assert [r.status for r in emulator.requests] == [429, 200]


async def test_bad_ssml_is_a_bad_request_with_the_service_reason(
    make_client: Callable[..., AzureSpeechClient], emulator: Emulator
) -> None:
    ssml = SSML.replace("zh-cn-YunxiNeural", "xx-XX-NobodyNeural")

    with pytest.raises(SpeechBadRequestError, match="HTTP 400") as err:
        await speak(make_client(), ssml)

    assert err.value.reason
    assert err.value.reason in str(err.value)
    assert len(emulator.requests) == 1


async def test_unknown_output_format_is_a_bad_request(
    make_client: Callable[..., AzureSpeechClient],
) -> None:
    with pytest.raises(SpeechBadRequestError) as err:
        await collect(make_client().synthesize(SSML, "audio-1khz-1kbitrate-mono-mp3"))
    assert err.value.reason is not None
    assert "audio-1khz-1kbitrate-mono-mp3" in err.value.reason


async def test_unsupported_media_type_is_a_bad_request(
    make_client: Callable[..., AzureSpeechClient], emulator: Emulator
) -> None:
    emulator.inject(
        Fault(target="synthesis", status=415, body="Use application/ssml+xml.")
    )
    with pytest.raises(SpeechBadRequestError, match="HTTP 415") as err:
        await speak(make_client())
    assert err.value.reason == "Use application/ssml+xml."


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_are_retried_then_reported(
    make_client: Callable[..., AzureSpeechClient],
    emulator: Emulator,
    sleeps: Sleeps,
    status: int,
) -> None:
    emulator.inject(Fault(target="synthesis", status=status, times=3))

    with pytest.raises(SpeechServiceError, match=f"HTTP {status}") as err:
        await speak(make_client())

    assert err.value.status == status
    assert len(emulator.requests) == 3
    assert sleeps == [0.01, 0.02]


async def test_a_retry_succeeds_after_one_503(
    make_client: Callable[..., AzureSpeechClient], emulator: Emulator
) -> None:
    emulator.inject(Fault(target="synthesis", status=503))

    audio = await speak(make_client())

    assert audio == emulator.requests[-1].response_body
    assert [r.status for r in emulator.requests] == [503, 200]


async def test_unknown_host_is_a_connection_error(
    make_client: Callable[..., AzureSpeechClient], sleeps: Sleeps
) -> None:
    client = make_client(
        azure_endpoints(AzureCloud.CUSTOM, endpoint="https://nowhere.invalid")
    )
    with pytest.raises(SpeechConnectionError, match=r"nowhere\.invalid") as err:
        await speak(client)
    assert not isinstance(err.value, SpeechTimeoutError)
    assert len(sleeps) == 2  # connection failures are worth a retry


async def test_connection_refused_is_a_connection_error(
    make_client: Callable[..., AzureSpeechClient],
) -> None:
    port = free_port()
    client = make_client(
        azure_endpoints(AzureCloud.CUSTOM, endpoint=f"http://127.0.0.1:{port}"),
        retry=RetryPolicy(attempts=1),
    )
    with pytest.raises(SpeechConnectionError, match=f"127.0.0.1:{port}"):
        await client.async_get_voices()


async def test_a_service_that_never_answers_times_out(
    make_client: Callable[..., AzureSpeechClient], emulator: Emulator
) -> None:
    emulator.inject(Fault(target="synthesis", hang=True, times=2))
    client = make_client(
        timeouts=TINY_TIMEOUTS, retry=RetryPolicy(attempts=2, backoff=0)
    )

    with pytest.raises(SpeechTimeoutError, match="did not answer"):
        await speak(client)

    assert len(emulator.requests) == 2


async def test_voice_list_that_never_completes_times_out(
    make_client: Callable[..., AzureSpeechClient], emulator: Emulator
) -> None:
    emulator.inject(Fault(target="voices", stall_after=1000))
    client = make_client(timeouts=TINY_TIMEOUTS, retry=RetryPolicy(attempts=1))

    with pytest.raises(SpeechTimeoutError):
        await client.async_get_voices()


# --- secrets ------------------------------------------------------------------------------


def _chain(error: BaseException) -> list[BaseException]:
    """The exceptions a traceback (or a log line with exc_info) shows."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        if current.__cause__ is not None or current.__suppress_context__:
            current = current.__cause__
        else:
            current = current.__context__
    return chain


async def _error_paths(
    make_client: Callable[..., AzureSpeechClient],
    emulator: Emulator,
    emulator_server: EmulatorServer,
) -> list[tuple[str, Callable[[], Awaitable[object]]]]:
    # Two attempts: retries log, and those lines must be safe too.
    retry = RetryPolicy(attempts=2, max_retry_after=2.0, backoff=0.01)
    key = make_client(api_key=SECRET, timeouts=TINY_TIMEOUTS, retry=retry)
    token = make_client(
        api_key=SECRET, auth_mode=AuthMode.TOKEN, timeouts=TINY_TIMEOUTS, retry=retry
    )
    unknown = make_client(
        azure_endpoints(AzureCloud.CUSTOM, endpoint="https://nowhere.invalid"),
        api_key=SECRET,
    )
    refused = make_client(
        azure_endpoints(AzureCloud.CUSTOM, endpoint=f"http://127.0.0.1:{free_port()}"),
        api_key=SECRET,
    )

    def fault(
        target: str, client: AzureSpeechClient, **kwargs: Any
    ) -> Callable[[], Awaitable[object]]:
        async def run() -> object:
            emulator.faults.clear()
            emulator.inject(Fault(target=target, times=5, **kwargs))
            if target == "voices":
                return await client.async_get_voices()
            return await speak(client)

        return run

    async def unknown_key() -> object:
        emulator.keys.pop(SECRET, None)
        try:
            return await speak(key)
        finally:
            emulator.keys[SECRET] = None

    return [
        ("unknown key", unknown_key),
        ("401", fault("synthesis", key, status=401, body=f"bad key {SECRET}")),
        (
            "400 echoing the key",
            fault("synthesis", key, status=400, body=f"key={SECRET}!"),
        ),
        ("415", fault("synthesis", key, status=415)),
        ("429", fault("synthesis", key, status=429, headers={"Retry-After": "99"})),
        ("500", fault("synthesis", key, status=500, body=SECRET)),
        ("hang", fault("synthesis", key, hang=True)),
        ("stall", fault("synthesis", key, stall_after=10)),
        ("cut", fault("synthesis", key, cut_after=10)),
        ("invalid json", fault("voices", key, body=f"{{{SECRET}")),
        (
            "token 401",
            fault("token", token, status=401, body=f'{{"message": "{SECRET}"}}'),
        ),
        ("token garbage", fault("token", token, body=f"{SECRET} {SECRET}")),
        ("unknown host", unknown.async_get_voices),
        ("refused", refused.async_get_voices),
    ]


async def test_no_error_reveals_the_key(
    make_client: Callable[..., AzureSpeechClient],
    emulator: Emulator,
    emulator_server: EmulatorServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    emulator.keys[SECRET] = None
    paths = await _error_paths(make_client, emulator, emulator_server)

    seen: set[type[SpeechError]] = set()
    for name, run in paths:
        with pytest.raises(SpeechError) as err:
            await run()
        seen.add(type(err.value))
        assert SECRET not in "".join(traceback.format_exception(err.value)), name
        for error in _chain(err.value):
            assert SECRET not in str(error), name
            assert SECRET not in repr(error), name
            assert SECRET not in repr(getattr(error, "reason", "")), name
        # Bearer tokens are credentials too.
        for request in emulator.requests:
            if bearer := request.headers.get("Authorization"):
                assert bearer.split()[-1] not in str(err.value), name

    assert SECRET not in caplog.text
    assert seen >= {
        SpeechAuthenticationError,
        SpeechBadRequestError,
        SpeechRateLimitedError,
        SpeechServiceError,
        SpeechTimeoutError,
        SpeechConnectionError,
        SpeechResponseError,
    }


# --- the accepted-request hook (usage meter) ------------------------------------


async def test_each_accepted_synthesis_reports_its_ssml_once(
    make_client: Callable[..., AzureSpeechClient], emulator: Emulator
) -> None:
    accepted: list[str] = []
    client = make_client(auth_mode=AuthMode.TOKEN, on_accepted=accepted.append)
    emulator.chunk_size = 64

    await client.async_get_voices()
    audio = await speak(client)

    # Once per request, not per chunk; never for the token or the voice list.
    assert len(audio) > emulator.chunk_size
    assert accepted == [SSML]


async def test_refused_and_retried_requests_are_not_reported(
    make_client: Callable[..., AzureSpeechClient], emulator: Emulator
) -> None:
    accepted: list[str] = []
    client = make_client(auth_mode=AuthMode.TOKEN, on_accepted=accepted.append)
    emulator.inject(Fault(status=400))
    with pytest.raises(SpeechBadRequestError):
        await speak(client)
    assert accepted == []

    # A 429 retried, and a token renewed after a 401: one accepted request each.
    emulator.inject(Fault(status=429, headers={"Retry-After": "0"}))
    await speak(client)
    emulator.expire_tokens()
    await speak(client)

    statuses = [r.status for r in emulator.requests_for("synthesis")]
    assert statuses == [400, 429, 200, 401, 200]
    assert accepted == [SSML, SSML]


async def test_a_stream_broken_after_it_began_was_accepted(
    make_client: Callable[..., AzureSpeechClient], emulator: Emulator
) -> None:
    """Azure bills accepted requests "regardless of whether audio output is produced"."""
    accepted: list[str] = []
    client = make_client(on_accepted=accepted.append)
    emulator.inject(Fault(cut_after=100))

    with pytest.raises(SpeechConnectionError):
        await speak(client)

    assert accepted == [SSML]


# --- connections opened ahead (real networks) ---------------------------------


async def test_a_connection_opened_ahead_carries_the_request_without_handshakes(
    emulator: Emulator, make_client: Callable[..., AzureSpeechClient]
) -> None:
    emulator.network_rtt = 0.02  # TCP + TLS: 40 ms on a new connection
    client = make_client()
    await client.async_prepare_synthesis()
    assert emulator.requests == []  # nothing sent: nothing billed or logged
    await asyncio.sleep(0.05)  # the run's first sentence is still being written

    await speak(client)

    [request] = emulator.requests_for("synthesis")
    assert request.new_connection
    assert request.connection_setup == 0.0
    assert emulator.connections_opened == 1


async def test_without_a_connection_ahead_the_first_request_pays_the_handshakes(
    emulator: Emulator, make_client: Callable[..., AzureSpeechClient]
) -> None:
    emulator.network_rtt = 0.02
    await speak(make_client())
    [request] = emulator.requests_for("synthesis")
    assert request.connection_setup == pytest.approx(0.04)


async def test_preparing_in_token_mode_fetches_the_token_ahead(
    emulator: Emulator, make_client: Callable[..., AzureSpeechClient]
) -> None:
    client = make_client(auth_mode=AuthMode.TOKEN)
    await client.async_prepare_synthesis()
    assert [r.kind for r in emulator.requests] == ["token"]
    await speak(client)
    assert [r.kind for r in emulator.requests] == ["token", "synthesis"]


async def test_preparing_never_fails_the_caller(
    emulator_session: aiohttp.ClientSession,
) -> None:
    nowhere = azure_endpoints(AzureCloud.CUSTOM, endpoint="http://nowhere.invalid:5000")
    client = AzureSpeechClient(emulator_session, nowhere, api_key=None)
    await client.async_prepare_synthesis()  # the request will say what is wrong
    assert not await open_connection(emulator_session, nowhere.synthesis_url)


async def test_the_key_path_spends_no_round_trip_it_need_not(
    emulator: Emulator, make_client: Callable[..., AzureSpeechClient]
) -> None:
    """No token, no redirect, one connection (and one DNS lookup) for many requests."""
    emulator.network_rtt = 0.01
    client = make_client()
    for _ in range(3):
        await speak(client)
    assert [request.kind for request in emulator.requests] == ["synthesis"] * 3
    assert [request.new_connection for request in emulator.requests] == [
        True,
        False,
        False,
    ]
    assert emulator.connections_opened == 1
    assert emulator.dns_lookups == 1


async def test_the_token_path_reuses_its_token_and_its_connections(
    emulator: Emulator, make_client: Callable[..., AzureSpeechClient]
) -> None:
    client = make_client(auth_mode=AuthMode.TOKEN)
    for _ in range(3):
        await speak(client)
    assert [request.kind for request in emulator.requests] == [
        "token",
        "synthesis",
        "synthesis",
        "synthesis",
    ]
    # One to the token host, one to the speech host, each looked up once.
    assert emulator.connections_opened == 2
    assert emulator.dns_lookups == 2


async def test_a_request_right_after_preparing_rides_the_same_connection(
    emulator: Emulator, make_client: Callable[..., AzureSpeechClient]
) -> None:
    """A player fetching just after tts_get_url: one connection, not two."""
    client = make_client()
    preparing = asyncio.create_task(client.async_prepare_synthesis())
    await asyncio.sleep(0)  # started, not finished

    await speak(client)
    await preparing

    assert emulator.connections_accepted == 1
    assert emulator.connections_opened == 1


async def test_a_first_audio_budget_covers_a_hung_token_endpoint_too(
    emulator: Emulator, make_client: Callable[..., AzureSpeechClient]
) -> None:
    """An announcement with somewhere else to go is not held by the token."""
    emulator.faults.append(Fault("token", hang=True, times=5))
    client = make_client(
        auth_mode=AuthMode.TOKEN,
        first_audio_budget=0.3,
        retry=RetryPolicy(backoff=0.01),
    )
    with pytest.raises(SpeechTimeoutError, match=r"no audio within 0\.3 s"):
        await speak(client)
    assert emulator.requests_for("synthesis") == []


async def test_what_the_token_takes_comes_off_the_synthesis_budget(
    emulator: Emulator, make_client: Callable[..., AzureSpeechClient]
) -> None:
    emulator.faults.append(Fault("token", delay=0.2))
    emulator.faults.append(Fault("synthesis", delay=0.2))
    client = make_client(
        auth_mode=AuthMode.TOKEN,
        first_audio_budget=0.3,
        retry=RetryPolicy(attempts=1),
    )
    with pytest.raises(SpeechTimeoutError):
        await speak(client)  # 0.2 s each: within 0.3 s apiece, not together


@pytest.mark.parametrize("budget", [0.0, -1.0, math.inf, math.nan])
def test_a_first_audio_budget_that_could_never_be_met_is_refused(
    make_client: Callable[..., AzureSpeechClient], budget: float
) -> None:
    with pytest.raises(ValueError, match="first_audio_budget"):
        make_client(first_audio_budget=budget)
