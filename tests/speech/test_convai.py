"""The Convai client against the emulated Convai API."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
import json
from typing import Any

import aiohttp
import pytest

from custom_components.cloud_speech.speech.convai import (
    CONVAI_BASE_URL,
    ConvaiClient,
    ConvaiEncoding,
    convai_language_tag,
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
from custom_components.cloud_speech.speech.http import RetryPolicy, Timeouts
from custom_components.cloud_speech.speech.models import Gender, Voice
from tests.emulator import CONVAI_TEST_KEY, Emulator, EmulatorServer, Fault
from tests.emulator.audio import is_valid_wav, mp3_frame_count, wav_info
from tests.emulator.convai import MISSING_KEY, WRONG_KEY
from tests.emulator.voices import convai_voice_item

SECRET_KEY = "convai-secret-0123456789abcdef"
FAST_TIMEOUTS = Timeouts(connect=2, first_byte=0.5, idle=0.3, total=3)


class RecordingSleep:
    """Stands in for asyncio.sleep between retries: records, never waits."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def client(
    emulator_session: aiohttp.ClientSession, sleep: RecordingSleep
) -> ConvaiClient:
    return ConvaiClient(
        emulator_session, api_key=CONVAI_TEST_KEY, timeouts=FAST_TIMEOUTS, sleep=sleep
    )


async def read_all(stream: AsyncGenerator[bytes]) -> bytes:
    async with aclosing(stream) as chunks:
        return b"".join([chunk async for chunk in chunks])


async def read_into(received: list[bytes], stream: AsyncGenerator[bytes]) -> None:
    """Read a stream to its end, keeping what arrived before an error."""
    async with aclosing(stream) as chunks:
        async for chunk in chunks:
            received.append(chunk)  # noqa: PERF401 - keeps what came before an error


def voices_by_name(voices: list[Voice]) -> dict[str, Voice]:
    return {voice.short_name: voice for voice in voices}


# --- language codes ------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "tag"),
    [
        ("en-US", "en-US"),
        ("en-us", "en-US"),
        ("en_GB", "en-GB"),
        ("cmn-CN", "zh-CN"),
        ("cmn-TW", "zh-TW"),
        ("cmn-Hans-CN", "zh-Hans-CN"),
        ("yue-HK", "zh-HK"),
        ("yue", "zh-HK"),
        ("iw-IL", "he-IL"),
        ("iw", "he"),
        ("in-ID", "id-ID"),
        ("ji", "yi"),
        ("jw-ID", "jv-ID"),
        ("jw", "jv"),
        ("fil-PH", "fil-PH"),
        ("nb-NO", "nb-NO"),
        ("ar", "ar"),
        ("ar-XA", "ar"),
        ("es-419", "es-419"),
        (" de-DE ", "de-DE"),
    ],
)
def test_language_codes_map_to_home_assistant_tags(code: str, tag: str) -> None:
    assert convai_language_tag(code) == tag


@pytest.mark.parametrize("code", ["", "e", "english!", "en--US", "12-34", "en-"])
def test_something_that_is_not_a_language_code_is_refused(code: str) -> None:
    with pytest.raises(ValueError, match="Not a language code"):
        convai_language_tag(code)


# --- the voice list, parsed -------------------------------------------------------


def entry(voice_value: Any, lang_codes: Any = ("en-US",), **extra: Any) -> Any:
    """A voice's fields, as the Voice List API page lists them."""
    return {
        "voice_value": voice_value,
        "lang_codes": list(lang_codes) if isinstance(lang_codes, tuple) else lang_codes,
        "gender": "FEMALE",
        "sample_link": "https://example.com/sample.mp3",
        "deployment_env": ["PRODUCTION", "DEVELOPMENT"],
    } | extra


def voice_list(**sections: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The documented shape: each section an array of single-key objects."""
    return {
        section.replace("_", " "): [{name: value} for name, value in voices.items()]
        for section, voices in sections.items()
    }


def test_a_voice_entry_becomes_a_voice() -> None:
    data = {
        "Elevenlabs Voices": [
            {
                "Calm Narrator": entry(
                    "Calm Narrator Voice",
                    ("en-US", "de-DE", "iw-IL", "en-us", "he-IL"),
                    gender="MALE",
                )
            }
        ]
    }

    assert parse_voice_list(data) == [
        Voice(
            short_name="Calm Narrator Voice",
            display_name="Calm Narrator",
            locale="en-US",
            gender=Gender.MALE,
            secondary_locales=("de-DE", "he-IL"),
            voice_type="Elevenlabs Voices",
            status="PRODUCTION, DEVELOPMENT",
        )
    ]


def test_sections_as_objects_of_voices_are_read_too() -> None:
    """The shape this client read before it followed the documentation."""
    data = {
        "GCP": {"A": entry("a", deployment_env="prod")},
        "Azure Voices": [{"B": entry("b")}],
    }

    voices = parse_voice_list(data)

    assert [(v.short_name, v.display_name, v.status) for v in voices] == [
        ("a", "A", "prod"),
        ("b", "B", "PRODUCTION, DEVELOPMENT"),
    ]


@pytest.mark.parametrize(
    ("gender", "expected"),
    [
        ("FEMALE", Gender.FEMALE),
        ("male", Gender.MALE),
        ("NEUTRAL", Gender.NEUTRAL),
        ("", Gender.UNKNOWN),
        ("OTHER", Gender.UNKNOWN),
        (None, Gender.UNKNOWN),
    ],
)
def test_genders_are_read_in_any_case(gender: Any, expected: Gender) -> None:
    voices = parse_voice_list(voice_list(GCP_Voices={"A": entry("a", gender=gender)}))

    assert voices[0].gender is expected


def test_entries_that_are_not_voices_are_skipped() -> None:
    data = {
        "GCP Voices": [
            {"No value": entry("")},
            {"Value not text": entry(42)},
            {"No languages": entry("x1", [])},
            {"Languages not a list": entry("x2", {"en": "US"})},
            {"Only bad languages": entry("x3", ["??", 7, None])},
            {"Not a dict": ["voice_value", "x4"]},
            ["Not", "an", "object"],
            "text",
            {},
            {"Good": entry("good", ["!!", "en-AU"])},
            {"One language as text": entry("text", "cmn-CN")},
        ],
        "Broken section": "not a list",
        7: [{"Numbered section": entry("numbered")}],
        "Azure Voices": [{"Duplicate": entry("good", ["de-DE"])}],
    }

    voices = parse_voice_list(data)

    assert [(voice.short_name, voice.locale) for voice in voices] == [
        ("good", "en-AU"),
        ("text", "zh-CN"),
    ]


def test_an_array_element_with_several_voices_keeps_them_all() -> None:
    data = {"GCP Voices": [{"A": entry("a"), "B": entry("b")}]}

    assert [voice.short_name for voice in parse_voice_list(data)] == ["a", "b"]


def test_a_voice_without_a_name_is_named_by_its_value() -> None:
    voices = parse_voice_list(voice_list(GCP_Voices={"  ": entry("en-US-Wavenet-D")}))

    assert voices[0].display_name == "en-US-Wavenet-D"


@pytest.mark.parametrize(
    ("section", "extra"),
    [
        ("Realtime", {}),
        ("OpenAI Real-Time Voices", {}),
        ("GCP Voices", {"deployment_env": "realtime"}),
        ("GCP Voices", {"deployment_env": ["PRODUCTION", "REALTIME"]}),
        ("GCP Voices", {"deployment_env": "prod_real_time"}),
        ("GCP Voices", {"type": "REALTIME"}),
        ("GCP Voices", {"realtime": True}),
        ("GCP Voices", {"is_realtime": True}),
    ],
)
def test_realtime_voices_are_left_out(section: str, extra: dict[str, Any]) -> None:
    data = {section: [{"Live": entry("live", **extra)}], "Other": [{"B": entry("b")}]}

    assert [voice.short_name for voice in parse_voice_list(data)] == ["b"]


def test_a_false_realtime_flag_keeps_the_voice() -> None:
    voices = parse_voice_list(voice_list(GCP_Voices={"A": entry("a", realtime=False)}))

    assert [voice.short_name for voice in voices] == ["a"]


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        {},
        "voices",
        [{"voice_value": "a", "lang_codes": ["en-US"]}],
        {"GCP Voices": []},
        {"GCP Voices": [{}]},
        {"GCP Voices": {}},
        {"GCP Voices": [{"A": entry("a", [])}]},
        {"Realtime": [{"A": entry("a")}]},
    ],
)
def test_a_list_without_usable_voices_is_an_error(data: object) -> None:
    with pytest.raises(SpeechResponseError, match="voice list"):
        parse_voice_list(data)


# --- the voice list, fetched ------------------------------------------------------


async def test_the_emulated_voice_list_is_fetched_and_mapped(
    client: ConvaiClient, emulator: Emulator
) -> None:
    voices = voices_by_name(await client.async_get_voices())

    expected = {
        entry["voice_value"]
        for section in emulator.convai_voices.values()
        for item in section
        for entry in item.values()
    }
    assert set(voices) == expected
    assert voices["cmn-CN-Wavenet-A"].locale == "zh-CN"
    assert voices["zh-CN-XiaoxiaoNeural"].locale == "zh-CN"
    assert voices["he-IL-Wavenet-B"].locale == "he-IL"
    assert voices["yue-HK-Standard-A"].locale == "zh-HK"
    assert voices["ar-XA-Wavenet-A"].locale == "ar"
    assert voices["ar-SA-HamedNeural"].gender is Gender.MALE
    narrator = voices["Calm Narrator Voice"]
    assert narrator.display_name == "Calm Narrator"
    assert narrator.locale == "en-US"
    assert narrator.secondary_locales == ("de-DE", "fr-FR", "es-ES", "he-IL")
    assert narrator.voice_type == "Elevenlabs Voices"
    assert narrator.gender is Gender.FEMALE
    assert voices["Old British Man"].locale == "en-GB"
    request = emulator.requests_for("convai_voices")[0]
    assert request.method == "GET"
    assert request.headers["CONVAI-API-KEY"] == CONVAI_TEST_KEY


async def test_realtime_voices_in_the_emulated_list_are_left_out(
    client: ConvaiClient, emulator: Emulator
) -> None:
    emulator.convai_voices["Realtime Voices"] = [
        convai_voice_item("Live", "live-voice", ["en-US"])
    ]

    voices = voices_by_name(await client.async_get_voices())

    assert "live-voice" not in voices
    assert "en-US-JennyNeural" in voices


async def test_a_wrong_key_is_refused_when_listing_voices(
    emulator_session: aiohttp.ClientSession, emulator: Emulator
) -> None:
    client = ConvaiClient(emulator_session, api_key=SECRET_KEY)

    with pytest.raises(SpeechAuthenticationError) as caught:
        await client.async_get_voices()

    assert caught.value.status == 401
    assert "api.convai.com" in str(caught.value)
    assert SECRET_KEY not in str(caught.value)
    assert [r.status for r in emulator.requests_for("convai_voices")] == [401]


def key_refusal(target: str, refusal: tuple[int, str]) -> Fault:
    """What the emulator answers a missing or wrong key, on `target`.

    The client always sends its key; a proxy dropping the header is how a
    real "API key not found" would reach it.
    """
    status, reason = refusal
    return Fault(target=target, status=status, body=json.dumps({"ERROR": reason}))


# The Voice List API page's documented errors, and what each becomes.
DOCUMENTED_ERRORS = [
    pytest.param(MISSING_KEY, SpeechAuthenticationError, 400, 1, id="400 no key"),
    pytest.param(WRONG_KEY, SpeechAuthenticationError, 401, 1, id="401 wrong key"),
    pytest.param((500, "Internal server error"), SpeechServiceError, 500, 3, id="500"),
]


@pytest.mark.parametrize(("refusal", "error", "status", "attempts"), DOCUMENTED_ERRORS)
async def test_documented_voice_list_errors(
    client: ConvaiClient,
    emulator: Emulator,
    *,
    refusal: tuple[int, str],
    error: type[SpeechAuthenticationError | SpeechServiceError],
    status: int,
    attempts: int,
) -> None:
    fault = key_refusal("convai_voices", refusal)
    fault.times = attempts
    emulator.inject(fault)

    with pytest.raises(error) as caught:
        await client.async_get_voices()

    assert caught.value.status == status
    assert len(emulator.requests_for("convai_voices")) == attempts
    assert CONVAI_TEST_KEY not in str(caught.value)
    # The failure is not remembered: the next attempt lists the voices.
    assert await client.async_get_voices()


@pytest.mark.parametrize(("refusal", "error", "status", "attempts"), DOCUMENTED_ERRORS)
async def test_documented_errors_on_synthesis_too(
    client: ConvaiClient,
    emulator: Emulator,
    *,
    refusal: tuple[int, str],
    error: type[SpeechAuthenticationError | SpeechServiceError],
    status: int,
    attempts: int,
) -> None:
    fault = key_refusal("convai_synthesis", refusal)
    fault.times = attempts
    emulator.inject(fault)

    with pytest.raises(error) as caught:
        await read_all(client.synthesize("Hello.", "en-US-JennyNeural"))

    assert caught.value.status == status
    assert len(emulator.requests_for("convai_synthesis")) == attempts


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("API key not found", id="plain text"),
        pytest.param('{"API_ERROR": "API key not found."}', id="api error"),
        pytest.param('{"result": "api_key not found"}', id="result"),
    ],
)
async def test_a_missing_key_is_recognised_whatever_the_body(
    client: ConvaiClient, emulator: Emulator, body: str
) -> None:
    emulator.inject(Fault(target="convai_voices", status=400, body=body))

    with pytest.raises(SpeechAuthenticationError, match="HTTP 400"):
        await client.async_get_voices()


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"[]", id="empty list"),
        pytest.param(b'{"GCP": "nothing"}', id="wrong shape"),
        pytest.param(b"<html>oops</html>", id="not json"),
    ],
)
async def test_a_garbled_voice_list_is_an_error(
    client: ConvaiClient, emulator: Emulator, body: bytes
) -> None:
    emulator.inject(Fault(target="convai_voices", body=body))

    with pytest.raises(SpeechResponseError):
        await client.async_get_voices()


async def test_a_failing_voice_list_is_retried(
    client: ConvaiClient, emulator: Emulator, sleep: RecordingSleep
) -> None:
    emulator.inject(Fault(target="convai_voices", status=503))

    assert await client.async_get_voices()

    assert len(emulator.requests_for("convai_voices")) == 2
    assert sleep.delays == [0.5]


# --- configuration -------------------------------------------------------------


def test_the_default_base_url_is_convais(
    emulator_session: aiohttp.ClientSession,
) -> None:
    client = ConvaiClient(emulator_session, api_key="k")

    assert client.base_url == CONVAI_BASE_URL == "https://api.convai.com"
    assert client.host == "api.convai.com"


@pytest.mark.parametrize(
    ("url", "base_url", "host"),
    [
        (
            "http://127.0.0.1:5000/convai/",
            "http://127.0.0.1:5000/convai",
            "127.0.0.1:5000",
        ),
        (
            "HTTPS://Proxy.Example:8443",
            "https://proxy.example:8443",
            "proxy.example:8443",
        ),
        ("http://[::1]:5000/convai", "http://[::1]:5000/convai", "[::1]:5000"),
        (" https://api.convai.com/ ", "https://api.convai.com", "api.convai.com"),
    ],
)
def test_a_custom_base_url_is_normalized(
    emulator_session: aiohttp.ClientSession, url: str, base_url: str, host: str
) -> None:
    client = ConvaiClient(emulator_session, api_key="k", base_url=url)

    assert (client.base_url, client.host) == (base_url, host)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("", "required"),
        ("ftp://api.convai.com", "http:// or https://"),
        ("api.convai.com", "http:// or https://"),
        ("https://", "no host"),
        ("https://api.convai.com/?region=eu", "query or a fragment"),
        ("https://api.convai.com/#top", "query or a fragment"),
        ("https://api.convai.com:99999", "not a valid URL"),
        ("https://api.convai .com", "spaces"),
    ],
)
def test_an_unusable_base_url_is_refused(
    emulator_session: aiohttp.ClientSession, url: str, problem: str
) -> None:
    with pytest.raises(InvalidRequestError, match=problem) as caught:
        ConvaiClient(emulator_session, api_key="k", base_url=url)

    assert caught.value.field == "endpoint"


def test_credentials_in_the_base_url_are_refused_and_not_repeated(
    emulator_session: aiohttp.ClientSession,
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        ConvaiClient(
            emulator_session, api_key="k", base_url="https://me:hunter2@api.convai.com"
        )

    assert caught.value.field == "endpoint"
    assert "hunter2" not in str(caught.value)
    assert "hunter2" not in caught.value.value


@pytest.mark.parametrize("key", ["", "   ", "bad\nkey-123456789", "clé-secrète-123456"])
def test_an_unusable_key_is_refused_and_not_repeated(
    emulator_session: aiohttp.ClientSession, key: str
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        ConvaiClient(emulator_session, api_key=key)

    assert caught.value.field == "api_key"
    if key.strip():
        assert key.strip() not in str(caught.value)
        assert caught.value.value == ""


# --- synthesis ------------------------------------------------------------------------


async def test_wav_synthesis_returns_a_wav_file(
    client: ConvaiClient, emulator: Emulator
) -> None:
    audio = await read_all(client.synthesize("Hello from Convai.", "en-US-JennyNeural"))

    assert is_valid_wav(audio)
    info = wav_info(audio)
    assert info is not None
    assert info.sample_rate == 24000
    assert info.duration == pytest.approx(len("Hello from Convai.") * 0.06, abs=0.01)
    request = emulator.requests_for("convai_synthesis")[0]
    assert request.method == "POST"
    assert request.path == "/tts/"
    assert request.spoken_text == "Hello from Convai."
    assert request.voice == "en-US-JennyNeural"
    assert request.output_format == "wav"
    assert request.headers["CONVAI-API-KEY"] == CONVAI_TEST_KEY
    assert request.headers["Content-Type"] == "application/json"


async def test_mp3_synthesis_returns_mpeg_frames(
    client: ConvaiClient, emulator: Emulator
) -> None:
    audio = await read_all(
        client.synthesize("Hello.", "en-US-JennyNeural", ConvaiEncoding.MP3)
    )

    assert mp3_frame_count(audio) > 0
    assert emulator.requests_for("convai_synthesis")[0].output_format == "mp3"


async def test_the_encoding_may_be_given_as_text(client: ConvaiClient) -> None:
    audio = await read_all(
        client.synthesize("Hi.", "en-US-JennyNeural", "mp3")  # type: ignore[arg-type]
    )

    assert mp3_frame_count(audio) > 0


async def test_a_voice_value_with_spaces_and_unicode_text_are_sent_as_is(
    client: ConvaiClient, emulator: Emulator
) -> None:
    text = "Grüß Gott — „Zitat“ 你好"

    audio = await read_all(client.synthesize(text, "Old British Man"))

    assert wav_info(audio) is not None
    request = emulator.requests_for("convai_synthesis")[0]
    assert (request.voice, request.spoken_text) == ("Old British Man", text)
    assert json.loads(request.body) == {
        "transcript": text,
        "voice": "Old British Man",
        "encoding": "wav",
    }


async def test_audio_arriving_a_byte_at_a_time_is_passed_on(
    client: ConvaiClient, emulator: Emulator
) -> None:
    emulator.chunk_size = 1

    audio = await read_all(client.synthesize("Hi.", "en-US-JennyNeural"))

    assert is_valid_wav(audio)


async def test_the_client_works_through_an_emulator_base_url(
    emulator_session: aiohttp.ClientSession,
    emulator_server: EmulatorServer,
    emulator: Emulator,
) -> None:
    client = ConvaiClient(
        emulator_session,
        api_key=CONVAI_TEST_KEY,
        base_url=f"{emulator_server.http_url}/convai",
    )

    assert await client.async_get_voices()
    assert is_valid_wav(await read_all(client.synthesize("Hi.", "en-US-JennyNeural")))
    assert [request.path for request in emulator.requests] == [
        "/convai/tts/get_available_voices",
        "/convai/tts/",
    ]


@pytest.mark.parametrize(
    ("text", "voice", "encoding", "field"),
    [
        ("", "en-US-JennyNeural", ConvaiEncoding.WAV, "message"),
        ("   ", "en-US-JennyNeural", ConvaiEncoding.WAV, "message"),
        ("Hello.", "", ConvaiEncoding.WAV, "voice"),
        ("Hello.", "  ", ConvaiEncoding.WAV, "voice"),
        ("Hello.", "en-US-JennyNeural", "ogg", "encoding"),
    ],
)
def test_unusable_arguments_are_refused_before_any_request(
    client: ConvaiClient,
    emulator: Emulator,
    *,
    text: str,
    voice: str,
    encoding: ConvaiEncoding,
    field: str,
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        client.synthesize(text, voice, encoding)

    assert caught.value.field == field
    assert emulator.requests == []


async def test_a_wrong_key_is_refused(
    emulator_session: aiohttp.ClientSession, emulator: Emulator
) -> None:
    client = ConvaiClient(emulator_session, api_key=SECRET_KEY)

    with pytest.raises(SpeechAuthenticationError) as caught:
        await read_all(client.synthesize("Hello.", "en-US-JennyNeural"))

    assert "HTTP 401" in str(caught.value)
    assert SECRET_KEY not in str(caught.value)
    assert len(emulator.requests_for("convai_synthesis")) == 1


async def test_a_key_refusal_in_an_http_200_json_error_is_an_authentication_error(
    client: ConvaiClient, emulator: Emulator
) -> None:
    emulator.inject(
        Fault(
            target="convai_synthesis", status=200, body='{"ERROR": "API key not found"}'
        )
    )

    with pytest.raises(SpeechAuthenticationError, match="API key not found"):
        await read_all(client.synthesize("Hello.", "en-US-JennyNeural"))


async def test_mp3_refused_for_a_voice_is_a_bad_request_naming_the_encoding(
    client: ConvaiClient, emulator: Emulator
) -> None:
    with pytest.raises(SpeechBadRequestError) as caught:
        await read_all(
            client.synthesize("Hello.", "Old British Man", ConvaiEncoding.MP3)
        )

    assert caught.value.reason is not None
    assert "encoding" in caught.value.reason.lower()
    assert len(emulator.requests_for("convai_synthesis")) == 1  # not retried
    # The caller's fallback: the same voice in WAV.
    assert is_valid_wav(await read_all(client.synthesize("Hello.", "Old British Man")))


async def test_an_unknown_voice_is_a_bad_request_with_the_services_reason(
    client: ConvaiClient,
) -> None:
    with pytest.raises(SpeechBadRequestError, match="Invalid voice") as caught:
        await read_all(client.synthesize("Hello.", "no-such-voice"))

    assert caught.value.reason is not None
    assert "no-such-voice" in caught.value.reason


async def test_an_api_error_reason_is_read(
    client: ConvaiClient, emulator: Emulator
) -> None:
    emulator.inject(
        Fault(
            target="convai_synthesis",
            status=400,
            body='{"API_ERROR": "Transcript too long."}',
        )
    )

    with pytest.raises(SpeechBadRequestError) as caught:
        await read_all(client.synthesize("Hello.", "en-US-JennyNeural"))

    assert caught.value.reason == "Transcript too long."


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(
            Fault(
                target="convai_synthesis",
                status=200,
                body='{"ERROR": "transcript is required"}',
            ),
            id="json content type",
        ),
        pytest.param(
            Fault(
                target="convai_synthesis", body='{"ERROR": "transcript is required"}'
            ),
            id="audio content type",
        ),
        pytest.param(
            Fault(
                target="convai_synthesis",
                status=200,
                body=' \n{"ERROR": "transcript is required"}',
            ),
            id="leading whitespace",
        ),
    ],
)
async def test_an_http_200_with_a_json_error_is_a_bad_request_not_audio(
    client: ConvaiClient, emulator: Emulator, fault: Fault
) -> None:
    emulator.inject(fault)
    received: list[bytes] = []

    with pytest.raises(SpeechBadRequestError) as caught:
        await read_into(received, client.synthesize("Hello.", "en-US-JennyNeural"))

    assert received == []
    assert caught.value.reason == "transcript is required"
    assert "transcript is required" in str(caught.value)
    assert len(emulator.requests_for("convai_synthesis")) == 1


async def test_an_http_200_json_error_arriving_in_pieces_is_read_whole(
    client: ConvaiClient, emulator: Emulator
) -> None:
    emulator.chunk_size = 3
    emulator.inject(
        Fault(target="convai_synthesis", body='{"ERROR": "voice is required"}')
    )

    with pytest.raises(SpeechBadRequestError) as caught:
        await read_all(client.synthesize("Hello.", "en-US-JennyNeural"))

    assert caught.value.reason == "voice is required"


async def test_an_http_200_json_error_without_a_reason_is_still_refused(
    client: ConvaiClient, emulator: Emulator
) -> None:
    emulator.inject(Fault(target="convai_synthesis", status=200, body='{"ok": false}'))

    with pytest.raises(SpeechBadRequestError) as caught:
        await read_all(client.synthesize("Hello.", "en-US-JennyNeural"))

    assert caught.value.reason is None
    assert str(caught.value).endswith("(HTTP 200 without audio)")


async def test_a_long_json_error_body_is_read_only_in_part(
    client: ConvaiClient, emulator: Emulator
) -> None:
    emulator.chunk_size = 1024
    body = json.dumps({"ERROR": "x" * 200_000})
    emulator.inject(Fault(target="convai_synthesis", body=body))

    with pytest.raises(SpeechBadRequestError) as caught:
        await read_all(client.synthesize("Hello.", "en-US-JennyNeural"))

    # Cut off, the body is not JSON any more: its text is the reason.
    assert caught.value.reason is not None
    assert caught.value.reason.startswith('{"ERROR": "xxx')
    assert len(caught.value.reason) <= 200


@pytest.mark.parametrize(
    ("body", "encoding"),
    [
        pytest.param(
            b"<html><body>Gateway</body></html>", ConvaiEncoding.WAV, id="html"
        ),
        pytest.param(
            b"ID3\x04\x00\x00\x00\x00\x00\x00", ConvaiEncoding.WAV, id="mp3 for wav"
        ),
        pytest.param(
            b"RIFF\x24\x00\x00\x00WAVEfmt ", ConvaiEncoding.MP3, id="wav for mp3"
        ),
        pytest.param(b"\xff", ConvaiEncoding.MP3, id="one byte"),
        pytest.param(b"OggS\x00\x02", ConvaiEncoding.MP3, id="ogg for mp3"),
    ],
)
async def test_an_http_200_with_other_content_is_not_audio(
    client: ConvaiClient, emulator: Emulator, body: bytes, encoding: ConvaiEncoding
) -> None:
    emulator.inject(Fault(target="convai_synthesis", body=body))

    with pytest.raises(SpeechResponseError, match=f"not {encoding.upper()} audio"):
        await read_all(client.synthesize("Hello.", "en-US-JennyNeural", encoding))


async def test_mp3_starting_with_a_frame_header_is_audio(
    client: ConvaiClient, emulator: Emulator
) -> None:
    frame = b"\xff\xf3\x84\xc0" + bytes(140)
    emulator.inject(Fault(target="convai_synthesis", body=frame * 3))

    audio = await read_all(
        client.synthesize("Hello.", "en-US-JennyNeural", ConvaiEncoding.MP3)
    )

    assert audio == frame * 3


@pytest.mark.parametrize("status", [429, 500, 502, 503])
async def test_a_transient_failure_is_retried(
    client: ConvaiClient, emulator: Emulator, sleep: RecordingSleep, status: int
) -> None:
    emulator.inject(Fault(target="convai_synthesis", status=status))

    audio = await read_all(client.synthesize("Hello.", "en-US-JennyNeural"))

    assert is_valid_wav(audio)
    assert len(emulator.requests_for("convai_synthesis")) == 2
    assert sleep.delays == [0.5]


async def test_rate_limiting_honours_retry_after_then_gives_up(
    client: ConvaiClient, emulator: Emulator, sleep: RecordingSleep
) -> None:
    emulator.inject(
        Fault(
            target="convai_synthesis", status=429, headers={"Retry-After": "2"}, times=3
        )
    )

    with pytest.raises(SpeechRateLimitedError) as caught:
        await read_all(client.synthesize("Hello.", "en-US-JennyNeural"))

    assert caught.value.retry_after == 2
    assert sleep.delays == [2, 2]
    assert len(emulator.requests_for("convai_synthesis")) == 3


async def test_a_server_error_is_raised_once_the_retries_are_spent(
    client: ConvaiClient, emulator: Emulator, sleep: RecordingSleep
) -> None:
    emulator.inject(Fault(target="convai_synthesis", status=500, times=3))

    with pytest.raises(SpeechServiceError) as caught:
        await read_all(client.synthesize("Hello.", "en-US-JennyNeural"))

    assert caught.value.status == 500
    assert sleep.delays == [0.5, 1.0]
    assert len(emulator.requests_for("convai_synthesis")) == 3


async def test_the_retry_policy_is_the_callers(
    emulator_session: aiohttp.ClientSession, emulator: Emulator
) -> None:
    client = ConvaiClient(
        emulator_session, api_key=CONVAI_TEST_KEY, retry=RetryPolicy(attempts=1)
    )
    emulator.inject(Fault(target="convai_synthesis", status=503))

    with pytest.raises(SpeechServiceError):
        await read_all(client.synthesize("Hello.", "en-US-JennyNeural"))

    assert len(emulator.requests_for("convai_synthesis")) == 1


async def test_no_answer_before_the_first_byte_is_a_timeout_and_retried(
    client: ConvaiClient, emulator: Emulator, sleep: RecordingSleep
) -> None:
    emulator.inject(Fault(target="convai_synthesis", hang=True))

    audio = await read_all(client.synthesize("Hello.", "en-US-JennyNeural"))

    assert is_valid_wav(audio)
    assert len(emulator.requests_for("convai_synthesis")) == 2
    assert len(sleep.delays) == 1


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault(target="convai_synthesis", cut_after=3000), SpeechConnectionError),
        (Fault(target="convai_synthesis", stall_after=3000), SpeechTimeoutError),
    ],
    ids=["cut", "stall"],
)
async def test_a_stream_broken_after_audio_went_out_is_not_retried(
    client: ConvaiClient,
    emulator: Emulator,
    sleep: RecordingSleep,
    fault: Fault,
    error: type[SpeechError],
) -> None:
    emulator.chunk_size = 1000
    emulator.inject(fault)
    received: list[bytes] = []

    with pytest.raises(error):
        await read_into(
            received, client.synthesize("Hello there.", "en-US-JennyNeural")
        )

    assert received[0].startswith(b"RIFF")
    assert 0 < len(b"".join(received)) <= 3000
    assert len(emulator.requests_for("convai_synthesis")) == 1
    assert sleep.delays == []


async def test_stopping_early_releases_the_request(
    client: ConvaiClient, emulator: Emulator
) -> None:
    emulator.chunk_size = 100

    async with aclosing(client.synthesize("Hello there.", "en-US-JennyNeural")) as s:
        first = await anext(s)

    assert first.startswith(b"RIFF")
    # The next request still works on the same session.
    assert is_valid_wav(await read_all(client.synthesize("Hi.", "en-US-JennyNeural")))


# --- secrets ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (
            Fault(
                target="convai_synthesis",
                status=400,
                body=json.dumps({"result": f"Key {SECRET_KEY} is not allowed"}),
            ),
            SpeechBadRequestError,
        ),
        (
            Fault(
                target="convai_synthesis",
                status=200,
                body=json.dumps({"ERROR": f"Key {SECRET_KEY} is not allowed"}),
            ),
            SpeechBadRequestError,
        ),
        (
            Fault(
                target="convai_synthesis",
                status=200,
                body=json.dumps({"API_ERROR": f"Key {SECRET_KEY} is not allowed"}),
            ),
            SpeechBadRequestError,
        ),
        (
            Fault(target="convai_synthesis", status=401, body=SECRET_KEY),
            SpeechAuthenticationError,
        ),
        (
            Fault(
                target="convai_synthesis",
                status=400,
                body=json.dumps({"ERROR": f"API key not found: {SECRET_KEY}"}),
            ),
            SpeechAuthenticationError,
        ),
    ],
    ids=["400 echo", "200 echo", "200 api error echo", "401 echo", "400 no key echo"],
)
async def test_the_key_never_appears_in_an_error(
    emulator_session: aiohttp.ClientSession,
    emulator: Emulator,
    sleep: RecordingSleep,
    fault: Fault,
    error: type[SpeechError],
) -> None:
    emulator.convai_keys.add(SECRET_KEY)
    client = ConvaiClient(emulator_session, api_key=SECRET_KEY, sleep=sleep)
    emulator.inject(fault)

    with pytest.raises(error) as caught:
        await read_all(client.synthesize("Hello.", "en-US-JennyNeural"))

    assert SECRET_KEY not in str(caught.value)
    assert SECRET_KEY not in repr(caught.value.args)
    reason = getattr(caught.value, "reason", None)
    assert reason is None or SECRET_KEY not in reason


async def test_the_key_never_appears_in_a_connection_error(
    emulator_session: aiohttp.ClientSession, sleep: RecordingSleep
) -> None:
    client = ConvaiClient(
        emulator_session,
        api_key=SECRET_KEY,
        base_url="https://convai.invalid/convai",
        retry=RetryPolicy(attempts=2),
        sleep=sleep,
    )

    with pytest.raises(SpeechConnectionError) as caught:
        await read_all(client.synthesize("Hello.", "en-US-JennyNeural"))

    assert str(caught.value).startswith("Cannot connect to convai.invalid")
    assert SECRET_KEY not in str(caught.value)
    assert len(sleep.delays) == 1


async def test_a_lone_surrogate_is_dropped_not_a_unicode_error(
    client: ConvaiClient, emulator: Emulator
) -> None:
    audio = await read_all(client.synthesize("Hi \ud83d there.", "en-US-JennyNeural"))

    assert is_valid_wav(audio)
    assert emulator.requests_for("convai_synthesis")[-1].spoken_text == "Hi  there."


def test_text_of_nothing_but_a_lone_surrogate_is_refused(client: ConvaiClient) -> None:
    with pytest.raises(InvalidRequestError) as err:
        client.synthesize("\ud83d", "en-US-JennyNeural")

    assert err.value.field == "message"


# --- the accepted-request hook (usage meter) ------------------------------------


async def test_each_accepted_synthesis_reports_its_transcript_once(
    emulator_session: aiohttp.ClientSession, emulator: Emulator
) -> None:
    accepted: list[str] = []
    client = ConvaiClient(
        emulator_session, api_key=CONVAI_TEST_KEY, on_accepted=accepted.append
    )
    emulator.chunk_size = 64

    await client.async_get_voices()
    audio = await read_all(client.synthesize("Hello 你好.", "en-US-JennyNeural"))

    assert len(audio) > emulator.chunk_size
    assert accepted == ["Hello 你好."]


@pytest.mark.parametrize(
    "fault",
    [
        Fault(target="convai_synthesis", status=400),
        Fault(target="convai_synthesis", status=200, body='{"ERROR": "voice"}'),
        Fault(target="convai_synthesis", status=200, body="<html>proxy</html>"),
    ],
    ids=["http-400", "http-200-json-error", "http-200-not-audio"],
)
async def test_refusals_are_not_reported(
    emulator_session: aiohttp.ClientSession, emulator: Emulator, fault: Fault
) -> None:
    accepted: list[str] = []
    client = ConvaiClient(
        emulator_session, api_key=CONVAI_TEST_KEY, on_accepted=accepted.append
    )
    emulator.inject(fault)

    with pytest.raises(SpeechError):
        await read_all(client.synthesize("Hello.", "en-US-JennyNeural"))

    assert accepted == []
