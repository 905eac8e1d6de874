"""Tests of the emulator itself: routing, auth, SSML rules, audio, faults, Convai."""

from __future__ import annotations

import asyncio
import io
import json
import math
import time
import wave

import aiohttp
import pytest

from tests.emulator import (
    CONVAI_TEST_KEY,
    TEST_KEY,
    Emulator,
    EmulatorServer,
    Fault,
)
from tests.emulator.audio import (
    OUTPUT_FORMATS,
    is_valid_wav,
    looks_like_amr_wb,
    looks_like_ogg,
    looks_like_webm,
    mp3_frame_count,
    mp3_frames,
    mp3_stream,
    synthesize_audio,
    wav_duration,
)
from tests.emulator.ssml import MSTTS_NAMESPACES
from tests.emulator.state import ManualClock
from tests.emulator.voices import SEED_VOICES

WESTEUROPE_TTS = "https://westeurope.tts.speech.microsoft.com/cognitiveservices/v1"
CHINA_VOICES = "https://chinaeast2.tts.speech.azure.cn/cognitiveservices/voices/list"
CONVAI_TTS = "https://api.convai.com/tts/"
CONVAI_VOICES = "https://api.convai.com/tts/get_available_voices"
KEY = {"Ocp-Apim-Subscription-Key": TEST_KEY}
CONVAI_KEY = {"CONVAI-API-KEY": CONVAI_TEST_KEY}


def ssml(
    inner: str,
    voice: str = "en-US-JennyNeural",
    *,
    mstts: str = "https://www.w3.org/2001/mstts",
) -> str:
    return (
        "<speak version='1.0' xmlns='http://www.w3.org/2001/10/synthesis' "
        f"xmlns:mstts='{mstts}' xml:lang='en-US'>"
        f"<voice name='{voice}'>{inner}</voice></speak>"
    )


def synthesis_headers(
    output_format: str = "riff-24khz-16bit-mono-pcm", **extra: str
) -> dict[str, str]:
    return {
        **KEY,
        "Content-Type": "application/ssml+xml",
        "X-Microsoft-OutputFormat": output_format,
        "User-Agent": "cloud-speech-tests",
        **extra,
    }


async def synthesize(
    session: aiohttp.ClientSession,
    body: str,
    *,
    url: str = WESTEUROPE_TTS,
    headers: dict[str, str] | None = None,
) -> tuple[int, str, bytes]:
    async with session.post(
        url, data=body.encode(), headers=headers or synthesis_headers()
    ) as response:
        return (
            response.status,
            response.headers.get("Content-Type", ""),
            await response.read(),
        )


async def read_into(response: aiohttp.ClientResponse, received: bytearray) -> None:
    async for chunk in response.content.iter_any():
        received += chunk


# --- routing and the voice list --------------------------------------------


@pytest.mark.parametrize(
    ("url", "cloud", "region"),
    [
        (
            "https://westeurope.tts.speech.microsoft.com/cognitiveservices/voices/list",
            "global",
            "westeurope",
        ),
        (CHINA_VOICES, "china", "chinaeast2"),
        (
            "https://usgovvirginia.tts.speech.azure.us/cognitiveservices/voices/list",
            "us_government",
            "usgovvirginia",
        ),
        (
            "https://my-speech.cognitiveservices.azure.com/tts/cognitiveservices/voices/list",
            "custom",
            None,
        ),
    ],
)
async def test_voice_list_on_every_cloud(
    emulator: Emulator,
    emulator_session: aiohttp.ClientSession,
    url: str,
    cloud: str,
    region: str | None,
) -> None:
    async with emulator_session.get(url, headers=KEY) as response:
        assert response.status == 200
        assert response.content_type == "application/json"
        voices = await response.json()
    assert len(voices) > 300
    assert len({voice["Locale"].lower() for voice in voices}) > 60
    for seed_voice in SEED_VOICES:
        assert seed_voice in voices
    by_name = {voice["ShortName"]: voice for voice in voices}
    assert "en-US-Ava:DragonHDLatestNeural" in by_name
    assert by_name["zh-CN-XiaoxiaoNeural"]["StyleList"]
    assert all(
        {"ShortName", "Locale", "Gender", "Name"} <= voice.keys() for voice in voices
    )
    [record] = emulator.requests
    assert (record.kind, record.cloud, record.region, record.status) == (
        "voices",
        cloud,
        region,
        200,
    )


async def test_voice_list_needs_a_valid_key(
    emulator: Emulator, emulator_session: aiohttp.ClientSession
) -> None:
    async with emulator_session.get(CHINA_VOICES) as response:
        assert response.status == 401
        assert "error" in await response.json()
    async with emulator_session.get(
        CHINA_VOICES, headers={"Ocp-Apim-Subscription-Key": "nope"}
    ) as response:
        assert response.status == 401
    assert [record.status for record in emulator.requests] == [401, 401]


async def test_key_is_bound_to_its_region(
    emulator: Emulator, emulator_session: aiohttp.ClientSession
) -> None:
    emulator.keys = {"west-key": "westeurope"}
    headers = {"Ocp-Apim-Subscription-Key": "west-key"}
    for url, expected in [
        (
            "https://westeurope.tts.speech.microsoft.com/cognitiveservices/voices/list",
            200,
        ),
        ("https://eastus.tts.speech.microsoft.com/cognitiveservices/voices/list", 401),
        (CHINA_VOICES, 401),
    ]:
        async with emulator_session.get(url, headers=headers) as response:
            assert response.status == expected, url


async def test_unknown_hosts_do_not_resolve(
    emulator_session: aiohttp.ClientSession,
) -> None:
    for url in (
        "https://example.com/cognitiveservices/v1",
        "https://atlantis.tts.speech.microsoft.com/cognitiveservices/voices/list",
    ):
        with pytest.raises(aiohttp.ClientConnectorError):
            await emulator_session.get(url)


async def test_unknown_path_is_404(
    emulator: Emulator, emulator_session: aiohttp.ClientSession
) -> None:
    async with emulator_session.get(
        "https://westeurope.tts.speech.microsoft.com/nothing", headers=KEY
    ) as response:
        assert response.status == 404
    async with emulator_session.get(WESTEUROPE_TTS, headers=KEY) as response:
        assert response.status == 405
    assert [record.kind for record in emulator.requests] == ["unknown", "unknown"]


# --- tokens ------------------------------------------------------------------


async def test_token_flow_and_expiry(
    emulator: Emulator, emulator_session: aiohttp.ClientSession
) -> None:
    async with emulator_session.post(
        "https://chinaeast2.api.cognitive.azure.cn/sts/v1.0/issueToken", headers=KEY
    ) as response:
        assert response.status == 200
        token = await response.text()
    assert len(token.split(".")) == 3
    bearer = {"Authorization": f"Bearer {token}"}
    async with emulator_session.get(CHINA_VOICES, headers=bearer) as response:
        assert response.status == 200
    # Tokens are bound to the region that issued them.
    async with emulator_session.get(
        CHINA_VOICES.replace("chinaeast2", "chinanorth2"), headers=bearer
    ) as response:
        assert response.status == 401
    emulator.expire_tokens()
    async with emulator_session.get(CHINA_VOICES, headers=bearer) as response:
        assert response.status == 401

    emulator.token_lifetime = 0.0
    async with emulator_session.post(
        "https://chinaeast2.api.cognitive.azure.cn/sts/v1.0/issueToken", headers=KEY
    ) as response:
        short_lived = await response.text()
    async with emulator_session.get(
        CHINA_VOICES, headers={"Authorization": f"Bearer {short_lived}"}
    ) as response:
        assert response.status == 401

    async with emulator_session.post(
        "https://chinaeast2.api.cognitive.azure.cn/sts/v1.0/issueToken"
    ) as response:
        assert response.status == 401
    assert [record.kind for record in emulator.requests].count("token") == 3


# --- synthesis rules ----------------------------------------------------------

_LONG_AGENT = "a" * 255


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (ssml("Hi"), synthesis_headers(**{"Content-Type": "text/plain"}), 415),
        (ssml("Hi"), synthesis_headers("riff-96khz-16bit-mono-pcm"), 400),
        (ssml("Hi"), synthesis_headers(**{"User-Agent": _LONG_AGENT}), 400),
        (
            '<?xml version="1.0"?><!DOCTYPE speak [<!ENTITY x "y">]>' + ssml("&x;"),
            synthesis_headers(),
            400,
        ),
        ("<speak version='1.0'", synthesis_headers(), 400),
        (
            "<speak version='1.0'><voice name='en-US-JennyNeural'>Hi</voice></speak>",
            synthesis_headers(),
            400,
        ),
        (
            ssml("Hi").replace("version='1.0'", "version='1.1'"),
            synthesis_headers(),
            400,
        ),
        (ssml("Hi").replace("version='1.0' ", ""), synthesis_headers(), 400),
        (ssml("Hi").replace(" xml:lang='en-US'", ""), synthesis_headers(), 400),
        (
            ssml("Hi").replace("xml:lang='en-US'", "xml:lang=''"),
            synthesis_headers(),
            400,
        ),
        (
            ssml("Hi"),
            {
                key: value
                for key, value in synthesis_headers().items()
                if key != "X-Microsoft-OutputFormat"
            },
            400,
        ),
        (ssml("Hi", voice="en-US-NobodyNeural"), synthesis_headers(), 400),
        (
            ssml(
                "<mstts:express-as style='cheerful'>Hi</mstts:express-as>",
                voice="ga-IE-OrlaNeural",
            ),
            synthesis_headers(),
            400,
        ),
        (
            ssml(
                "<mstts:express-as style='chat' role='Girl'>Hi</mstts:express-as>",
                voice="zh-cn-YunxiNeural",
            ),
            synthesis_headers(),
            400,
        ),
        (
            ssml(
                "<mstts:express-as style='chat' styledegree='3'>Hi</mstts:express-as>",
                voice="zh-cn-YunxiNeural",
            ),
            synthesis_headers(),
            400,
        ),
        (ssml("<prosody rate='quick'>Hi</prosody>"), synthesis_headers(), 400),
        (ssml("<prosody volume='150'>Hi</prosody>"), synthesis_headers(), 400),
        (ssml("<lang xml:lang='de-DE'>Hallo</lang>"), synthesis_headers(), 400),
        (
            ssml("Hi").replace(
                "<voice", "<voice name='en-US-JennyNeural'>x</voice><voice" * 50, 1
            ),
            synthesis_headers(),
            400,
        ),
    ],
)
async def test_synthesis_rejects_invalid_requests(
    emulator: Emulator,
    emulator_session: aiohttp.ClientSession,
    body: str,
    headers: dict[str, str],
    status: int,
) -> None:
    answered, _, reason = await synthesize(emulator_session, body, headers=headers)
    assert answered == status, reason
    assert reason
    [record] = emulator.requests
    assert record.status == status
    assert not record.synthesized
    assert emulator.spoken_texts() == []


async def test_synthesis_accepts_rich_ssml(
    emulator: Emulator, emulator_session: aiohttp.ClientSession
) -> None:
    bodies = [
        ssml(
            "<mstts:express-as style='Cheerful' role='Boy' styledegree='1.5'>"
            "<prosody rate='+10%' pitch='-2st' volume='+5' contour='(0%,+20Hz) (50%,-10%)'>你好</prosody>"
            "</mstts:express-as>",
            voice="zh-cn-YunxiNeural",
        ),
        ssml(
            "<lang xml:lang='de-DE'>Hallo</lang><lang xml:lang='zh-CN'>你好</lang>",
            voice="en-US-JennyMultilingualNeural",
        ),
        ssml(
            "<prosody rate='1.2' pitch='600Hz' volume='loud'>Hi</prosody><break time='200ms'/>",
            voice="EN-us-jennyneural",
        ),
        ssml("Hi", voice="en-US-Ava:DragonHDLatestNeural"),
        ssml(
            "Hi",
            voice="Microsoft Server Speech Text to Speech Voice (de-DE, KatjaNeural)",
        ),
    ]
    for body in bodies:
        status, _, reason = await synthesize(emulator_session, body)
        assert status == 200, reason


async def test_spoken_text_is_recorded_unescaped(
    emulator: Emulator, emulator_session: aiohttp.ClientSession
) -> None:
    body = (
        "<speak version='1.0' xmlns='http://www.w3.org/2001/10/synthesis' xml:lang='en-US'>"
        '<voice name="en-US-JennyNeural">Tom &amp; Jerry &lt;3 "x"</voice>'
        "<voice name='de-DE-KatjaNeural'> und <prosody rate='slow'>mehr</prosody></voice></speak>"
    )
    status, _, _ = await synthesize(emulator_session, body)
    assert status == 200
    [record] = emulator.requests_for("synthesis")
    assert record.voice == "en-US-JennyNeural"
    assert record.spoken_text == 'Tom & Jerry <3 "x" und mehr'
    assert record.output_format == "riff-24khz-16bit-mono-pcm"
    assert record.headers["ocp-apim-subscription-key"] == TEST_KEY
    assert emulator.spoken_texts() == ['Tom & Jerry <3 "x" und mehr']


def _without(headers: dict[str, str], name: str) -> dict[str, str]:
    return {key: value for key, value in headers.items() if key != name}


async def test_user_agent_is_required(emulator_session: aiohttp.ClientSession) -> None:
    async with emulator_session.post(
        WESTEUROPE_TTS,
        data=ssml("Hi").encode(),
        headers=_without(synthesis_headers(), "User-Agent"),
        skip_auto_headers=("User-Agent",),
    ) as response:
        assert response.status == 400
        assert "User-Agent" in await response.text()


@pytest.mark.parametrize("mstts", MSTTS_NAMESPACES)
async def test_both_mstts_namespaces_are_understood(
    emulator_session: aiohttp.ClientSession, mstts: str
) -> None:
    good = ssml("<mstts:express-as style='cheerful'>Hi</mstts:express-as>", mstts=mstts)
    status, _, reason = await synthesize(emulator_session, good)
    assert status == 200, reason
    # Checked, not skipped: an unknown style is refused in either namespace.
    bad = ssml("<mstts:express-as style='grumpy'>Hi</mstts:express-as>", mstts=mstts)
    status, _, reason = await synthesize(emulator_session, bad)
    assert status == 400
    assert b"grumpy" in reason


_HD_VOICE = "en-US-Ava:DragonHDLatestNeural"
_SPEAK_OPEN = (
    "<speak version='1.0' xmlns='http://www.w3.org/2001/10/synthesis' "
    "xmlns:mstts='https://www.w3.org/2001/mstts' xml:lang='en-US'>"
)


@pytest.mark.parametrize(
    ("body", "element"),
    [
        (ssml("<prosody rate='+10%'>Hi</prosody>", _HD_VOICE), "prosody"),
        (ssml("<emphasis>Hi</emphasis>", _HD_VOICE), "emphasis"),
        (ssml("<audio src='https://example.com/a.wav'>Hi</audio>", _HD_VOICE), "audio"),
        (ssml("<phoneme alphabet='ipa' ph='haɪ'>Hi</phoneme>", _HD_VOICE), "phoneme"),
        (ssml("<bookmark mark='here'/>Hi", _HD_VOICE), "bookmark"),
        (ssml("Hi<break time='200ms'/>", _HD_VOICE), "break"),
        (
            ssml("<mstts:express-as style='cheerful'>Hi</mstts:express-as>", _HD_VOICE),
            "mstts:express-as",
        ),
        (
            ssml(
                "<mstts:ttsembedding speakerProfileId='x'>Hi</mstts:ttsembedding>",
                _HD_VOICE,
            ),
            "mstts:ttsembedding",
        ),
        (ssml("<mstts:audioduration value='2s'/>Hi", _HD_VOICE), "mstts:audioduration"),
        (
            ssml(
                "<mstts:silence type='Leading' value='200ms'/>Hi",
                _HD_VOICE,
                mstts="http://www.w3.org/2001/mstts",
            ),
            "mstts:silence",
        ),
        (ssml("<mstts:viseme type='redlips_front'/>Hi", _HD_VOICE), "mstts:viseme"),
        (
            ssml(
                "<math xmlns='http://www.w3.org/1998/Math/MathML'><mi>x</mi></math>",
                _HD_VOICE,
            ),
            "math",
        ),
        (
            f"{_SPEAK_OPEN}<mstts:backgroundaudio src='https://example.com/a.wav'/>"
            f"<voice name='{_HD_VOICE}'>Hi</voice></speak>",
            "mstts:backgroundaudio",
        ),
    ],
)
async def test_hd_voices_refuse_unsupported_elements(
    emulator: Emulator,
    emulator_session: aiohttp.ClientSession,
    body: str,
    element: str,
) -> None:
    status, _, reason = await synthesize(emulator_session, body)
    assert status == 400
    assert f"does not support the {element} element" in reason.decode()
    # The same markup is fine for a voice that is not HD.
    status, _, reason = await synthesize(
        emulator_session, body.replace(_HD_VOICE, "en-US-JennyNeural")
    )
    assert status == 200, reason


async def test_hd_voices_accept_supported_elements(
    emulator_session: aiohttp.ClientSession,
) -> None:
    body = (
        f"{_SPEAK_OPEN}<voice name='{_HD_VOICE}' effect='eq_car' "
        "parameters='temperature=0.8'>"
        "<lexicon uri='https://example.com/lexicon.xml'/>"
        "<p><s>It is <say-as interpret-as='cardinal'>3</say-as> "
        "<sub alias='o clock'>o'clock</sub>.</s></p>"
        "<lang xml:lang='de-DE'>Hallo</lang></voice></speak>"
    )
    status, _, reason = await synthesize(emulator_session, body)
    assert status == 200, reason


def _voices_and_audio(voices: int, audio: int) -> str:
    audio_element = "<audio src='https://example.com/a.wav'>x</audio>"
    return (
        _SPEAK_OPEN
        + "".join(
            f"<voice name='en-US-JennyNeural'>x{audio_element if index < audio else ''}</voice>"
            for index in range(voices)
        )
        + "</speak>"
    )


@pytest.mark.parametrize(
    ("voices", "audio", "status"),
    [(50, 0, 200), (51, 0, 400), (49, 1, 200), (49, 2, 400)],
)
async def test_voice_and_audio_elements_share_a_limit_of_50(
    emulator_session: aiohttp.ClientSession, voices: int, audio: int, status: int
) -> None:
    answered, _, reason = await synthesize(
        emulator_session, _voices_and_audio(voices, audio)
    )
    assert answered == status, reason


async def test_free_tier_allows_20_transactions_per_60_seconds(
    emulator: Emulator, emulator_session: aiohttp.ClientSession
) -> None:
    clock = ManualClock(1000.0)
    emulator.clock = clock
    emulator.free_tier = True
    emulator.keys["other-key"] = None
    for _ in range(20):
        status, _, reason = await synthesize(emulator_session, ssml("Hi"))
        assert status == 200, reason
        clock.advance(1)

    async def throttled(headers: dict[str, str]) -> str:
        async with emulator_session.post(
            WESTEUROPE_TTS, data=ssml("Hi").encode(), headers=headers
        ) as response:
            assert response.status == 429
            body = await response.json()
            assert body["error"]["code"] == "429"
            return response.headers["Retry-After"]

    # Now 1020: the first transaction (at 1000) leaves the window at 1060.
    assert await throttled(synthesis_headers()) == "40"
    # The voice list and the token endpoint are not transactions...
    async with emulator_session.get(
        WESTEUROPE_TTS.replace("v1", "voices/list"), headers=KEY
    ) as response:
        assert response.status == 200
    async with emulator_session.post(
        "https://westeurope.api.cognitive.microsoft.com/sts/v1.0/issueToken",
        headers=KEY,
    ) as response:
        assert response.status == 200
        token = await response.text()
    # ...a token draws on the quota of the key it came from...
    bearer = {
        **_without(synthesis_headers(), "Ocp-Apim-Subscription-Key"),
        "Authorization": f"Bearer {token}",
    }
    assert await throttled(bearer) == "40"
    # ...and another resource has its own quota.
    other = {**synthesis_headers(), "Ocp-Apim-Subscription-Key": "other-key"}
    status, _, _ = await synthesize(emulator_session, ssml("Hi"), headers=other)
    assert status == 200

    clock.advance(40)
    status, _, _ = await synthesize(emulator_session, ssml("Hi"), headers=bearer)
    assert status == 200
    assert await throttled(synthesis_headers()) == "1"
    assert len(emulator.spoken_texts()) == 22


@pytest.mark.parametrize(
    ("text", "seconds"), [("Nine char", 540.0), ("Eleven char", 600.0)]
)
async def test_audio_is_truncated_at_ten_minutes(
    emulator: Emulator,
    emulator_session: aiohttp.ClientSession,
    text: str,
    seconds: float,
) -> None:
    emulator.ms_per_character = 60_000.0  # a minute per character
    emulator.chunk_size = 1 << 20
    status, _, audio = await synthesize(
        emulator_session,
        ssml(text),
        headers=synthesis_headers("riff-8khz-8bit-mono-mulaw"),
    )
    assert status == 200
    assert wav_duration(audio) == seconds


async def test_wav_response_decodes(
    emulator: Emulator, emulator_session: aiohttp.ClientSession
) -> None:
    text = "Hello from the emulator"
    status, content_type, audio = await synthesize(emulator_session, ssml(text))
    assert (status, content_type) == (200, "audio/x-wav")
    assert is_valid_wav(audio)
    with wave.open(io.BytesIO(audio)) as reader:
        assert (
            reader.getframerate(),
            reader.getsampwidth(),
            reader.getnchannels(),
        ) == (24000, 2, 1)
        assert reader.getnframes() == round(
            len(text) * emulator.ms_per_character / 1000 * 24000
        )
    assert wav_duration(audio) == pytest.approx(len(text) * 0.06)
    assert emulator.requests[0].response_body == audio


async def test_mp3_response_has_frames_at_the_right_rate(
    emulator_session: aiohttp.ClientSession,
) -> None:
    status, content_type, audio = await synthesize(
        emulator_session,
        ssml("Hello"),
        headers=synthesis_headers("audio-16khz-32kbitrate-mono-mp3"),
    )
    assert (status, content_type) == (200, "audio/mpeg")
    frames = mp3_frames(audio)
    assert {(frame.sample_rate, frame.bitrate_kbps) for frame in frames} == {
        (16000, 32)
    }
    assert len(frames) == math.ceil(0.3 * 16000 / 576)


async def test_every_output_format_is_served(
    emulator_session: aiohttp.ClientSession,
) -> None:
    for name, audio_format in OUTPUT_FORMATS.items():
        status, content_type, audio = await synthesize(
            emulator_session, ssml("Hi there"), headers=synthesis_headers(name.upper())
        )
        assert (status, content_type) == (200, audio_format.content_type), name
        checks = {
            "riff": is_valid_wav,
            "mp3": lambda data: mp3_frame_count(data) > 0,
            "ogg": looks_like_ogg,
            "webm": looks_like_webm,
            "amr": looks_like_amr_wb,
        }
        assert checks.get(audio_format.container, bool)(audio), name


# --- faults and timing ---------------------------------------------------------


async def test_fault_429_with_retry_after(
    emulator: Emulator, emulator_session: aiohttp.ClientSession
) -> None:
    emulator.inject(Fault(status=429, headers={"Retry-After": "1"}, times=2))
    for _ in range(2):
        async with emulator_session.post(
            WESTEUROPE_TTS, data=ssml("Hi"), headers=synthesis_headers()
        ) as response:
            assert response.status == 429
            assert response.headers["Retry-After"] == "1"
    status, _, _ = await synthesize(emulator_session, ssml("Hi"))
    assert status == 200
    assert emulator.faults == []
    assert [record.status for record in emulator.requests] == [429, 429, 200]
    # The fault answered before auth and synthesis, yet the text is recorded.
    assert emulator.requests[0].spoken_text == "Hi"
    assert emulator.spoken_texts() == ["Hi"]


async def test_fault_default_bodies(
    emulator: Emulator, emulator_session: aiohttp.ClientSession
) -> None:
    emulator.inject(Fault(target="any", status=503))
    emulator.inject(Fault(target="convai_voices", status=500))
    async with emulator_session.get(CHINA_VOICES, headers=KEY) as response:
        assert response.status == 503
        assert "Retry-After" not in response.headers
        assert await response.text()
    async with emulator_session.get(CONVAI_VOICES, headers=CONVAI_KEY) as response:
        assert response.status == 500
        assert await response.json() == {"result": "Internal server error"}


async def test_fault_cut_after(
    emulator: Emulator, emulator_session: aiohttp.ClientSession
) -> None:
    emulator.chunk_size = 300
    emulator.inject(Fault(cut_after=1000))
    received = bytearray()
    async with emulator_session.post(
        WESTEUROPE_TTS, data=ssml("Hello"), headers=synthesis_headers()
    ) as response:
        assert response.status == 200
        with pytest.raises(aiohttp.ClientPayloadError):
            await read_into(response, received)
    assert len(received) == 1000
    assert received == emulator.requests[0].response_body[:1000]


async def test_fault_stall_after(
    emulator: Emulator, emulator_session: aiohttp.ClientSession
) -> None:
    emulator.inject(Fault(stall_after=100))
    timeout = aiohttp.ClientTimeout(sock_read=0.2)
    async with emulator_session.post(
        WESTEUROPE_TTS, data=ssml("Hello"), headers=synthesis_headers(), timeout=timeout
    ) as response:
        assert response.status == 200
        with pytest.raises(TimeoutError):
            await response.read()
    assert emulator.requests[0].status == 200


async def test_fault_hang_is_cleaned_up_after_client_timeout(
    emulator: Emulator,
    emulator_server: EmulatorServer,
    emulator_session: aiohttp.ClientSession,
) -> None:
    """Uses all three fixtures; teardown must leave no task or timer behind."""
    emulator.inject(Fault(hang=True))
    with pytest.raises(TimeoutError):
        await emulator_session.post(
            WESTEUROPE_TTS,
            data=ssml("Hi"),
            headers=synthesis_headers(),
            timeout=aiohttp.ClientTimeout(total=0.2),
        )
    [record] = emulator.requests
    assert record.status == 0
    assert record.fault is not None
    assert record.fault.hang


async def test_stopping_the_server_ends_hung_requests(
    emulator: Emulator, socket_enabled: None
) -> None:
    emulator.inject(Fault(target="voices", hang=True))
    async with EmulatorServer(emulator) as server, server.make_session() as session:
        request = asyncio.create_task(session.get(CHINA_VOICES, headers=KEY))
        await emulator.wait_for_requests("voices")
        await server.stop()
        with pytest.raises(aiohttp.ClientError):
            await request
        await server.stop()  # idempotent
    assert emulator.open_requests == 0


async def test_delay_pacing_and_concurrency(
    emulator: Emulator, emulator_session: aiohttp.ClientSession
) -> None:
    emulator.first_byte_delay = 0.1
    emulator.bytes_per_second = 100_000
    started = time.monotonic()
    results = await asyncio.gather(
        *(synthesize(emulator_session, ssml("Hello there")) for _ in range(3))
    )
    elapsed = time.monotonic() - started
    size = len(results[0][2])  # 0.66 s at 24 kHz: about 32 kB, so about 0.3 s paced
    assert all(status == 200 for status, _, _ in results)
    assert elapsed >= 0.1 + size / 100_000 * 0.9
    assert emulator.peak_open_requests == 3
    assert emulator.open_requests == 0
    emulator.reset_requests()
    assert emulator.requests == []
    assert emulator.peak_open_requests == 0


# --- container mode --------------------------------------------------------------


async def test_container_mode(
    emulator: Emulator,
    emulator_server: EmulatorServer,
    emulator_session: aiohttp.ClientSession,
) -> None:
    url = f"{emulator_server.http_url}/cognitiveservices/v1"
    headers = {
        key: value
        for key, value in synthesis_headers().items()
        if key != "Ocp-Apim-Subscription-Key"
    }
    status, _, _ = await synthesize(
        emulator_session, ssml("Hi"), url=url, headers=headers
    )
    assert status == 200
    localhost = f"http://localhost:{emulator_server.http_port}/cognitiveservices/v1"
    emulator.container_requires_key = True
    status, _, _ = await synthesize(
        emulator_session, ssml("Hi"), url=localhost, headers=headers
    )
    assert status == 401
    status, _, _ = await synthesize(
        emulator_session, ssml("Hi"), url=localhost, headers=synthesis_headers()
    )
    assert status == 200
    assert [record.cloud for record in emulator.requests] == ["container"] * 3
    async with emulator_session.get(
        f"{emulator_server.http_url}/convai/tts/get_available_voices",
        headers=CONVAI_KEY,
    ) as response:
        assert response.status == 200
    assert emulator.requests[-1].service == "convai"


# --- Convai -------------------------------------------------------------------------


async def test_convai_synthesis_wav_and_mp3(
    emulator: Emulator, emulator_session: aiohttp.ClientSession
) -> None:
    transcript = "In the quiet of the morning"
    async with emulator_session.post(
        CONVAI_TTS,
        json={"transcript": transcript, "voice": "Old British Man"},
        headers=CONVAI_KEY,
    ) as response:
        assert (response.status, response.content_type) == (200, "audio/wav")
        wav = await response.read()
    with wave.open(io.BytesIO(wav)) as reader:
        assert (
            reader.getframerate(),
            reader.getsampwidth(),
            reader.getnchannels(),
        ) == (22050, 2, 1)
    async with emulator_session.post(
        CONVAI_TTS,
        json={
            "transcript": transcript,
            "voice": "en-US-JennyNeural",
            "encoding": "mp3",
            "filename": "hello",
        },
        headers={"CONVAI-API_KEY": CONVAI_TEST_KEY},  # the seed's table spelling
    ) as response:
        assert (response.status, response.content_type) == (200, "audio/mpeg")
        assert "hello.mp3" in response.headers["Content-Disposition"]
        assert mp3_frame_count(await response.read()) > 0
    assert emulator.spoken_texts() == [transcript, transcript]
    assert [record.output_format for record in emulator.requests] == [None, "mp3"]
    assert emulator.requests[0].voice == "Old British Man"


@pytest.mark.parametrize(
    ("payload", "headers", "status", "answer"),
    [
        (
            {"voice": "en-US-JennyNeural"},
            CONVAI_KEY,
            200,
            {"ERROR": "transcript is required"},
        ),
        ({"transcript": "Hi"}, CONVAI_KEY, 200, {"ERROR": "voice is required"}),
        ({"transcript": "Hi", "voice": "x"}, {}, 400, {"ERROR": "API key not found"}),
        (
            {"transcript": "Hi", "voice": "x"},
            {"CONVAI-API-KEY": "wrong"},
            401,
            {"ERROR": "Invalid API key provided"},
        ),
        (
            {"transcript": "Hi", "voice": "Old British Man", "encoding": "mp3"},
            CONVAI_KEY,
            400,
            None,
        ),
        ({"transcript": "Hi", "voice": "no such voice"}, CONVAI_KEY, 400, None),
        (
            {"transcript": "Hi", "voice": "Old British Man", "encoding": "flac"},
            CONVAI_KEY,
            400,
            None,
        ),
    ],
)
async def test_convai_errors(
    emulator: Emulator,
    emulator_session: aiohttp.ClientSession,
    *,
    payload: dict[str, str],
    headers: dict[str, str],
    status: int,
    answer: dict[str, str] | None,
) -> None:
    async with emulator_session.post(
        CONVAI_TTS, json=payload, headers=headers
    ) as response:
        assert response.status == status
        assert response.content_type == "application/json"
        body = await response.json()
    if answer is not None:
        assert body == answer
    else:
        assert "result" in body
    assert emulator.spoken_texts() == []


async def test_convai_voice_list_has_the_documented_shape(
    emulator: Emulator, emulator_session: aiohttp.ClientSession
) -> None:
    """Sections of arrays of single-key objects (Convai's Voice List API page)."""
    async with emulator_session.get(CONVAI_VOICES, headers=CONVAI_KEY) as response:
        assert response.status == 200
        assert response.content_type == "application/json"
        voices = await response.json()
    assert voices == emulator.convai_voices
    assert {
        "GCP Voices",
        "Azure Voices",
        "Elevenlabs Voices",
        "OpenAI Voices",
    } <= voices.keys()
    for section in voices.values():
        assert isinstance(section, list)
        for item in section:
            [(name, entry)] = item.items()
            assert name
            assert {"voice_value", "lang_codes", "gender", "sample_link"} <= set(entry)
            assert entry["gender"] in ("MALE", "FEMALE")
    [hebrew] = [item for item in voices["GCP Voices"] if "Hebrew Male" in item]
    assert hebrew["Hebrew Male"]["lang_codes"] == ["iw-IL"]
    assert hebrew["Hebrew Male"]["deployment_env"] == ["PRODUCTION", "DEVELOPMENT"]


@pytest.mark.parametrize(
    ("headers", "fault", "status", "answer"),
    [
        pytest.param({}, None, 400, {"ERROR": "API key not found"}, id="no key"),
        pytest.param(
            {"CONVAI-API-KEY": "wrong"},
            None,
            401,
            {"ERROR": "Invalid API key provided"},
            id="wrong key",
        ),
        pytest.param(
            CONVAI_KEY,
            Fault(target="convai_voices", status=500),
            500,
            {"result": "Internal server error"},
            id="server failure",
        ),
    ],
)
async def test_convai_voice_list_documented_errors(
    emulator: Emulator,
    emulator_session: aiohttp.ClientSession,
    *,
    headers: dict[str, str],
    fault: Fault | None,
    status: int,
    answer: dict[str, str],
) -> None:
    if fault is not None:
        emulator.inject(fault)
    async with emulator_session.get(CONVAI_VOICES, headers=headers) as response:
        assert response.status == status
        assert response.content_type == "application/json"
        assert await response.json() == answer


# --- audio helpers ---------------------------------------------------------------


def test_audio_checkers() -> None:
    stream = mp3_stream(0.5, 24000, 48)
    id3 = b"ID3\x04\x00\x00\x00\x00\x00\x05" + bytes(5)
    assert mp3_frame_count(stream) == math.ceil(0.5 * 24000 / 576)
    assert mp3_frame_count(id3 + stream + id3 + stream) == 2 * mp3_frame_count(stream)
    assert mp3_frame_count(stream[:-1]) == mp3_frame_count(stream) - 1
    assert mp3_frame_count(b"\xff\xfb" + bytes(range(256)) * 8) == 0
    assert mp3_frame_count(json.dumps({"ERROR": "x"}).encode()) == 0
    wav = synthesize_audio("abc", "riff-8khz-8bit-mono-mulaw")
    assert is_valid_wav(wav)
    assert wav_duration(wav) == pytest.approx(0.18)
    assert not is_valid_wav(wav[:-1])
    assert wav_duration(
        synthesize_audio("", "riff-16khz-16bit-mono-pcm")
    ) == pytest.approx(0.1)
    assert looks_like_ogg(synthesize_audio("x", "ogg-24khz-16bit-mono-opus"))
    assert not looks_like_ogg(
        synthesize_audio("x", "audio-24khz-16bit-48kbps-mono-opus")
    )
