"""Tests of the emulator's Speech to text REST API for short audio."""

from __future__ import annotations

import array
import asyncio
from collections.abc import AsyncIterator
import math
import shutil
import subprocess
import sys
import time

import aiohttp
import pytest

from tests.emulator import TEST_KEY, Emulator, EmulatorServer, Fault
from tests.emulator.audio import pcm16_tone, wav_container
from tests.emulator.recognition import ProcessingPace
from tests.emulator.state import ManualClock

PATH = "/speech/recognition/conversation/cognitiveservices/v1"
WESTEUROPE_STT = f"https://westeurope.stt.speech.microsoft.com{PATH}"
WAV = "audio/wav; codecs=audio/pcm; samplerate=16000"
OGG = "audio/ogg; codecs=opus"
KEY = {"Ocp-Apim-Subscription-Key": TEST_KEY}
TICKS = 625  # 100-ns ticks per sample at 16 kHz


def chirp(seconds: float, start_hz: float = 300.0, end_hz: float = 1200.0) -> bytes:
    """Distinct, speech-like (non-periodic) 16 kHz PCM for remember_speech."""
    count = round(seconds * 16000)
    samples = array.array("h")
    phase = 0.0
    for n in range(count):
        frequency = start_hz + (end_hz - start_hz) * n / count
        phase += 2 * math.pi * frequency / 16000
        envelope = math.sin(math.pi * n / count) ** 0.5
        samples.append(round(8000 * envelope * math.sin(phase)))
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()


def silence(seconds: float) -> bytes:
    return bytes(round(seconds * 16000) * 2)


def headers(content_type: str = WAV, **extra: str) -> dict[str, str]:
    return {**KEY, "Content-Type": content_type, "Accept": "application/json", **extra}


async def recognize(
    session: aiohttp.ClientSession,
    body: bytes | AsyncIterator[bytes],
    *,
    url: str = WESTEUROPE_STT,
    query: str = "language=en-US",
    request_headers: dict[str, str] | None = None,
    expect100: bool = False,
) -> tuple[int, dict[str, object] | str]:
    async with session.post(
        f"{url}?{query}" if query else url,
        data=body,
        headers=headers() if request_headers is None else request_headers,
        expect100=expect100,
    ) as response:
        if response.content_type == "application/json":
            return response.status, await response.json()
        return response.status, await response.text()


async def chunks(
    data: bytes, size: int = 3200, pause: float = 0.0
) -> AsyncIterator[bytes]:
    for offset in range(0, len(data), size):
        yield data[offset : offset + size]
        if pause:
            await asyncio.sleep(pause)


# --- hosts and paths -----------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "cloud", "region"),
    [
        (WESTEUROPE_STT, "global", "westeurope"),
        (f"https://chinaeast2.stt.speech.azure.cn{PATH}", "china", "chinaeast2"),
        (
            f"https://usgovvirginia.stt.speech.azure.us{PATH}",
            "us_government",
            "usgovvirginia",
        ),
        (f"https://my-speech.cognitiveservices.azure.com/stt{PATH}", "custom", None),
    ],
)
async def test_recognition_on_every_cloud(
    emulator: Emulator,
    emulator_session: aiohttp.ClientSession,
    url: str,
    cloud: str,
    region: str | None,
) -> None:
    speech = chirp(0.5)
    emulator.remember_speech(speech, "Turn on the light.")
    body = wav_container(silence(0.25) + speech + silence(0.25), 16000)
    status, result = await recognize(emulator_session, body, url=url)
    assert status == 200
    assert result == {
        "RecognitionStatus": "Success",
        "DisplayText": "Turn on the light.",
        "Offset": 4000 * TICKS + _lead(speech) * TICKS,
        "Duration": (len(speech) // 2 - _lead(speech) - _lead(_reverse(speech)))
        * TICKS,
    }
    [record] = emulator.requests_for("recognition")
    assert (record.cloud, record.region, record.language) == (cloud, region, "en-US")
    assert emulator.recognized_texts() == ["Turn on the light."]


def _lead(pcm: bytes) -> int:
    """Samples of near-silence at the start of pcm (the chirp fades in)."""
    samples = array.array("h")
    samples.frombytes(pcm)
    return next(i for i, s in enumerate(samples) if abs(s) > 300)


async def test_container_serves_recognition_without_a_key(
    emulator: Emulator, emulator_server: EmulatorServer
) -> None:
    emulator.remember_speech(chirp(0.3), "Hi")
    async with emulator_server.make_session() as session:
        status, result = await recognize(
            session,
            wav_container(chirp(0.3), 16000),
            url=f"{emulator_server.http_url}{PATH}",
            request_headers={"Content-Type": WAV},
        )
    assert status == 200
    assert result["DisplayText"] == "Hi"  # type: ignore[index]
    assert emulator.requests[0].cloud == "container"


async def test_unknown_stt_region_does_not_resolve(
    emulator_session: aiohttp.ClientSession,
) -> None:
    with pytest.raises(aiohttp.ClientConnectorError):
        await recognize(
            emulator_session,
            b"",
            url=f"https://atlantis.stt.speech.microsoft.com{PATH}",
        )


async def test_stt_host_has_no_synthesis(
    emulator_session: aiohttp.ClientSession,
) -> None:
    async with emulator_session.post(
        "https://westeurope.stt.speech.microsoft.com/cognitiveservices/v1", headers=KEY
    ) as response:
        assert response.status == 404
    async with emulator_session.get(f"{WESTEUROPE_STT}?language=en-US") as response:
        assert response.status == 405
        assert response.headers["Allow"] == "POST"


# --- authentication ------------------------------------------------------------


async def test_missing_credentials_are_403_invalid_are_401(
    emulator: Emulator, emulator_session: aiohttp.ClientSession
) -> None:
    body = wav_container(silence(0.1), 16000)
    status, result = await recognize(
        emulator_session, body, request_headers={"Content-Type": WAV}
    )
    assert status == 403
    assert result["error"]["code"] == "403"  # type: ignore[index]
    status, result = await recognize(
        emulator_session,
        body,
        request_headers={"Ocp-Apim-Subscription-Key": "wrong", "Content-Type": WAV},
    )
    assert status == 401
    assert "invalid subscription key" in result["error"]["message"]  # type: ignore[index]
    emulator.keys["eu-key"] = "westeurope"
    for url, expected in (
        (WESTEUROPE_STT, 200),
        (f"https://eastus.stt.speech.microsoft.com{PATH}", 401),
    ):
        status, _ = await recognize(
            emulator_session,
            body,
            url=url,
            request_headers={
                "Ocp-Apim-Subscription-Key": "eu-key",
                "Content-Type": WAV,
            },
        )
        assert status == expected
    # The body was read in full before each answer.
    assert all(record.body == body for record in emulator.requests)


async def test_bearer_token_from_the_regional_token_endpoint(
    emulator_session: aiohttp.ClientSession,
) -> None:
    async with emulator_session.post(
        "https://westeurope.api.cognitive.microsoft.com/sts/v1.0/issueToken",
        headers=KEY,
    ) as response:
        token = await response.text()
    body = wav_container(silence(0.1), 16000)
    auth = {"Authorization": f"Bearer {token}", "Content-Type": WAV}
    status, result = await recognize(emulator_session, body, request_headers=auth)
    assert status == 200
    assert result["RecognitionStatus"] == "InitialSilenceTimeout"  # type: ignore[index]
    status, _ = await recognize(
        emulator_session,
        body,
        url=f"https://eastus.stt.speech.microsoft.com{PATH}",
        request_headers=auth,
    )
    assert status == 401


# --- query parameters and headers ---------------------------------------------


@pytest.mark.parametrize(
    "language",
    [
        "en-US",
        "zh-CN",
        "yue-CN",
        "zh-HK",
        "zh-TW",
        "de-DE",
        "fr-FR",
        "ja-JP",
        "es-ES",
        "en-us",
    ],
)
async def test_supported_languages(
    emulator_session: aiohttp.ClientSession, language: str
) -> None:
    status, _ = await recognize(
        emulator_session,
        wav_container(silence(0.1), 16000),
        query=f"language={language}",
    )
    assert status == 200


@pytest.mark.parametrize(
    "query",
    ["", "format=simple", "language=", "language=xx-XX", "language=en-US&cid=abc"],
)
async def test_missing_or_unsupported_language_is_400(
    emulator_session: aiohttp.ClientSession, query: str
) -> None:
    status, result = await recognize(
        emulator_session, wav_container(silence(0.1), 16000), query=query
    )
    assert (status, result) == (400, {"Message": "Invalid CID or language"})


async def test_known_custom_endpoint_id(
    emulator: Emulator, emulator_session: aiohttp.ClientSession
) -> None:
    emulator.stt_endpoint_ids.add("abc")
    status, _ = await recognize(
        emulator_session,
        wav_container(silence(0.1), 16000),
        query="language=en-US&cid=abc",
    )
    assert status == 200


@pytest.mark.parametrize(
    ("query", "content_type", "accept", "expected"),
    [
        ("language=en-US&format=xml", WAV, "application/json", 400),
        ("language=en-US&profanity=none", WAV, "application/json", 400),
        ("language=en-US", "application/octet-stream", "application/json", 400),
        ("language=en-US", "audio/x-wav", "application/json", 400),
        ("language=en-US", "audio/wav; codecs=audio/pcm; samplerate=8000", None, 400),
        ("language=en-US", "audio/ogg; codecs=vorbis", None, 400),
        ("language=en-US", "audio/wav", None, 200),
        ("language=en-US", WAV, "application/json;text/xml", 200),
        ("language=en-US", WAV, "*/*", 200),
        ("language=en-US", WAV, "text/xml", 406),
    ],
)
async def test_parameters_content_type_and_accept(
    emulator_session: aiohttp.ClientSession,
    query: str,
    content_type: str,
    accept: str | None,
    expected: int,
) -> None:
    request_headers = {**KEY, "Content-Type": content_type}
    if accept is not None:
        request_headers["Accept"] = accept
    status, _ = await recognize(
        emulator_session,
        wav_container(silence(0.1), 16000),
        query=query,
        request_headers=request_headers,
    )
    assert status == expected


@pytest.mark.parametrize(
    "body",
    [
        b"",
        silence(0.5),  # bare PCM: no WAV header
        wav_container(silence(0.5), 8000),
        wav_container(silence(0.5), 16000, codec="mulaw"),
        b"RIFF\x24\x00\x00\x00WAVEfmt ",  # cut inside the header
    ],
)
async def test_invalid_wav_is_400(
    emulator_session: aiohttp.ClientSession, body: bytes
) -> None:
    status, result = await recognize(emulator_session, body)
    assert status == 400
    assert "Message" in result  # type: ignore[operator]


# --- streaming -----------------------------------------------------------------


async def test_chunked_upload_is_read_as_it_arrives(
    emulator: Emulator, emulator_session: aiohttp.ClientSession
) -> None:
    speech = chirp(0.4)
    emulator.remember_speech(speech, "Good morning.")
    body = wav_container(silence(0.3) + speech + silence(0.3), 16000)
    done_at: list[float] = []

    async def slow() -> AsyncIterator[bytes]:
        async for chunk in chunks(body, size=1001, pause=0.005):  # splits samples
            yield chunk
        done_at.append(time.monotonic())

    status, result = await recognize(emulator_session, slow(), expect100=True)
    assert status == 200
    assert result["DisplayText"] == "Good morning."  # type: ignore[index]
    [record] = emulator.requests_for("recognition")
    assert record.chunked
    assert record.expect_continue
    assert record.body == body
    assert record.chunk_count > 1
    assert record.first_chunk_at is not None
    assert record.last_chunk_at is not None
    assert record.first_chunk_at < done_at[0] - 0.1  # upload began long before its end
    assert record.first_chunk_at < record.last_chunk_at
    assert record.audio_seconds == pytest.approx(len(body[44:]) / 32000)


async def test_chunked_upload_needs_expect_100_continue(
    emulator: Emulator, emulator_session: aiohttp.ClientSession
) -> None:
    body = wav_container(silence(0.1), 16000)
    status, result = await recognize(emulator_session, chunks(body))
    assert status == 400
    assert "100-continue" in result["Message"]  # type: ignore[index]
    emulator.require_expect_for_chunked = False
    status, _ = await recognize(emulator_session, chunks(body))
    assert status == 200


async def test_streaming_wav_header_without_sizes(
    emulator: Emulator, emulator_session: aiohttp.ClientSession
) -> None:
    speech = chirp(0.3)
    emulator.remember_speech(speech, "Stream")
    body = bytearray(wav_container(speech, 16000))
    body[4:8] = b"\xff\xff\xff\xff"
    body[40:44] = b"\xff\xff\xff\xff"
    status, result = await recognize(
        emulator_session, chunks(bytes(body), size=7), expect100=True
    )
    assert status == 200
    assert result["DisplayText"] == "Stream"  # type: ignore[index]


# --- recognition ---------------------------------------------------------------


async def test_success_nomatch_and_initial_silence(
    emulator: Emulator, emulator_session: aiohttp.ClientSession
) -> None:
    speech = chirp(0.5)
    emulator.remember_speech(speech, "Remind me to buy 5 pencils.")
    lead = _lead(speech)
    status, result = await recognize(
        emulator_session, wav_container(silence(1.0) + speech + silence(2.0), 16000)
    )
    assert status == 200
    trimmed = len(speech) // 2 - lead - _lead(_reverse(speech))
    assert result == {
        "RecognitionStatus": "Success",
        "DisplayText": "Remind me to buy 5 pencils.",
        "Offset": (16000 + lead) * TICKS,
        "Duration": trimmed * TICKS,
    }
    # Other audio: speech was heard, nothing known matched.
    status, result = await recognize(
        emulator_session, wav_container(silence(0.2) + chirp(0.5, 2000, 500), 16000)
    )
    assert result["RecognitionStatus"] == "NoMatch"  # type: ignore[index]
    assert "DisplayText" not in result  # type: ignore[operator]
    # Silence, or audio below the threshold.
    quiet = array.array("h", [200, -200] * 8000).tobytes()
    for audio in (silence(1.0), quiet):
        status, result = await recognize(emulator_session, wav_container(audio, 16000))
        assert result == {
            "RecognitionStatus": "InitialSilenceTimeout",
            "Offset": len(audio) // 2 * TICKS,
            "Duration": 0,
        }
    assert [r.recognition_status for r in emulator.requests] == [
        "Success",
        "NoMatch",
        "InitialSilenceTimeout",
        "InitialSilenceTimeout",
    ]


def _reverse(pcm: bytes) -> bytes:
    samples = array.array("h")
    samples.frombytes(pcm)
    samples.reverse()
    return samples.tobytes()


async def test_a_long_tone_does_not_contain_a_short_one(
    emulator: Emulator, emulator_session: aiohttp.ClientSession
) -> None:
    emulator.remember_speech(pcm16_tone(8000, 16000), "Short")
    _, result = await recognize(
        emulator_session, wav_container(pcm16_tone(48000, 16000), 16000)
    )
    assert result["RecognitionStatus"] == "NoMatch"  # type: ignore[index]


async def test_newest_entry_wins(
    emulator: Emulator, emulator_session: aiohttp.ClientSession
) -> None:
    speech = chirp(0.3)
    emulator.remember_speech(speech, "Old")
    emulator.remember_speech(speech, "New")
    _, result = await recognize(emulator_session, wav_container(speech, 16000))
    assert result["DisplayText"] == "New"  # type: ignore[index]
    emulator.forget_speech()
    _, result = await recognize(emulator_session, wav_container(speech, 16000))
    assert result["RecognitionStatus"] == "NoMatch"  # type: ignore[index]


def test_remember_speech_needs_whole_samples(emulator: Emulator) -> None:
    with pytest.raises(ValueError, match="even"):
        emulator.remember_speech(b"\x00\x01\x02", "odd")


async def test_detailed_format(
    emulator: Emulator, emulator_session: aiohttp.ClientSession
) -> None:
    emulator.remember_speech(chirp(0.3), "What's the weather like?")
    _, result = await recognize(
        emulator_session,
        wav_container(chirp(0.3), 16000),
        query="language=en-US&format=detailed",
    )
    assert set(result) == {"RecognitionStatus", "Offset", "Duration", "NBest"}  # type: ignore[arg-type]
    [best] = result["NBest"]  # type: ignore[index]
    assert best == {
        "Confidence": pytest.approx(0.95),
        "Lexical": "what's the weather like",
        "ITN": "what's the weather like",
        "MaskedITN": "what's the weather like",
        "Display": "What's the weather like?",
    }
    assert emulator.recognized_texts() == ["What's the weather like?"]


@pytest.mark.parametrize(
    ("profanity", "display", "masked_itn"),
    [
        (None, "Oh ****, it works.", "oh **** it works"),
        ("masked", "Oh ****, it works.", "oh **** it works"),
        ("removed", "Oh, it works.", "oh it works"),
        ("raw", "Oh damn, it works.", "oh damn it works"),
    ],
)
async def test_profanity(
    emulator: Emulator,
    emulator_session: aiohttp.ClientSession,
    profanity: str | None,
    display: str,
    masked_itn: str,
) -> None:
    emulator.remember_speech(chirp(0.3), "Oh damn, it works.")
    query = "language=en-US&format=detailed"
    if profanity:
        query += f"&profanity={profanity}"
    _, result = await recognize(
        emulator_session, wav_container(chirp(0.3), 16000), query=query
    )
    [best] = result["NBest"]  # type: ignore[index]
    assert (best["Display"], best["MaskedITN"], best["Lexical"]) == (
        display,
        masked_itn,
        "oh damn it works",
    )
    assert emulator.requests[0].profanity == profanity


async def test_only_profanity_removed_gives_no_result(
    emulator: Emulator, emulator_session: aiohttp.ClientSession
) -> None:
    emulator.remember_speech(chirp(0.3), "Damn!")
    _, result = await recognize(
        emulator_session,
        wav_container(chirp(0.3), 16000),
        query="language=en-US&profanity=removed",
    )
    assert result["RecognitionStatus"] == "NoMatch"  # type: ignore[index]


async def test_only_the_first_60_seconds_are_recognised(
    emulator: Emulator, emulator_session: aiohttp.ClientSession
) -> None:
    speech = chirp(0.3)
    emulator.remember_speech(speech, "Late")
    late = wav_container(silence(61) + speech, 16000)
    _, result = await recognize(emulator_session, late)
    assert result == {
        "RecognitionStatus": "InitialSilenceTimeout",
        "Offset": 60 * 10_000_000,
        "Duration": 0,
    }
    assert emulator.requests[0].audio_seconds == pytest.approx(61.3)
    _, result = await recognize(
        emulator_session, wav_container(silence(59) + speech, 16000)
    )
    assert result["RecognitionStatus"] == "Success"  # type: ignore[index]


# --- what the emulator synthesised ----------------------------------------------


SSML = (
    "<speak version='1.0' xmlns='http://www.w3.org/2001/10/synthesis' xml:lang='en-US'>"
    "<voice name='en-US-JennyNeural'>{}</voice></speak>"
)


async def synthesize(
    session: aiohttp.ClientSession, text: str, output_format: str
) -> bytes:
    async with session.post(
        "https://westeurope.tts.speech.microsoft.com/cognitiveservices/v1",
        data=SSML.format(text),
        headers={
            **KEY,
            "Content-Type": "application/ssml+xml",
            "X-Microsoft-OutputFormat": output_format,
            "User-Agent": "tests",
        },
    ) as response:
        assert response.status == 200
        return await response.read()


def resample_24k_to_16k(pcm: bytes) -> bytes:
    """Linear interpolation, as a client might resample."""
    source = array.array("h")
    source.frombytes(pcm)
    out = array.array("h")
    for index in range(len(source) * 2 // 3):
        position = index * 1.5
        left = int(position)
        right = min(left + 1, len(source) - 1)
        fraction = position - left
        out.append(round(source[left] * (1 - fraction) + source[right] * fraction))
    return out.tobytes()


async def test_recognises_what_it_synthesised(
    emulator: Emulator, emulator_session: aiohttp.ClientSession
) -> None:
    await synthesize(emulator_session, "Hello", "riff-16khz-16bit-mono-pcm")
    wav = await synthesize(
        emulator_session, "Lights on in the kitchen", "riff-16khz-16bit-mono-pcm"
    )
    _, result = await recognize(emulator_session, wav)
    assert result["DisplayText"] == "Lights on in the kitchen"  # type: ignore[index]
    # A client that asked for 24 kHz and resampled is still understood.
    raw = await synthesize(emulator_session, "Good night", "raw-24khz-16bit-mono-pcm")
    _, result = await recognize(
        emulator_session, wav_container(silence(0.2) + resample_24k_to_16k(raw), 16000)
    )
    assert result["DisplayText"] == "Good night"  # type: ignore[index]
    assert result["Offset"] == pytest.approx(0.2 * 10_000_000, abs=2000)  # type: ignore[index]


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")
async def test_recognises_espeak_speech(
    emulator: Emulator, emulator_session: aiohttp.ClientSession
) -> None:
    emulator.speak = True
    wav = await synthesize(
        emulator_session, "Open the garage door", "riff-16khz-16bit-mono-pcm"
    )
    await synthesize(
        emulator_session, "Close the garage door", "riff-16khz-16bit-mono-pcm"
    )
    _, result = await recognize(emulator_session, chunks(wav), expect100=True)
    assert result["DisplayText"] == "Open the garage door"  # type: ignore[index]


def _ogg_opus(pcm: bytes, *, channels: int = 1) -> bytes:
    ffmpeg = shutil.which("ffmpeg")
    assert ffmpeg is not None
    return subprocess.run(  # noqa: S603
        [
            ffmpeg,
            *("-hide_banner", "-loglevel", "error"),
            *("-f", "s16le", "-ar", "16000", "-ac", "1", "-i", "pipe:0"),
            *("-ac", str(channels), "-c:a", "libopus", "-f", "ogg", "pipe:1"),
        ],
        input=pcm,
        capture_output=True,
        check=True,
    ).stdout


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")
async def test_ogg_opus_upload(
    emulator: Emulator, emulator_session: aiohttp.ClientSession
) -> None:
    speech = chirp(0.8)
    emulator.remember_speech(speech, "Opus works")
    ogg = _ogg_opus(silence(0.3) + speech + silence(0.3))
    status, result = await recognize(
        emulator_session,
        chunks(ogg, size=500),
        request_headers=headers(OGG),
        expect100=True,
    )
    assert status == 200
    assert result["DisplayText"] == "Opus works"  # type: ignore[index]
    status, _ = await recognize(
        emulator_session, _ogg_opus(speech, channels=2), request_headers=headers(OGG)
    )
    assert status == 400
    status, _ = await recognize(
        emulator_session, wav_container(speech, 16000), request_headers=headers(OGG)
    )
    assert status == 400


# --- faults and the free tier ----------------------------------------------------


@pytest.mark.parametrize("status", [500, 401, 503])
async def test_fault_statuses(
    emulator: Emulator, emulator_session: aiohttp.ClientSession, status: int
) -> None:
    emulator.inject(Fault(target="recognition", status=status))
    body = wav_container(silence(0.1), 16000)
    got, _ = await recognize(emulator_session, body)
    assert got == status
    assert emulator.requests[0].body == body  # read before the fault answered
    got, _ = await recognize(emulator_session, body)
    assert got == 200


async def test_fault_429_retry_after_hang_and_cut(
    emulator: Emulator, emulator_session: aiohttp.ClientSession
) -> None:
    body = wav_container(silence(0.1), 16000)
    emulator.inject(
        Fault(target="recognition", status=429, headers={"Retry-After": "2"})
    )
    async with emulator_session.post(
        f"{WESTEUROPE_STT}?language=en-US", data=body, headers=headers()
    ) as response:
        assert response.status == 429
        assert response.headers["Retry-After"] == "2"
    emulator.inject(Fault(target="recognition", hang=True))
    with pytest.raises(TimeoutError):
        await emulator_session.post(
            f"{WESTEUROPE_STT}?language=en-US",
            data=body,
            headers=headers(),
            timeout=aiohttp.ClientTimeout(total=0.3),
        )
    emulator.inject(Fault(target="recognition", cut_after=10))
    async with emulator_session.post(
        f"{WESTEUROPE_STT}?language=en-US", data=body, headers=headers()
    ) as response:
        assert response.status == 200
        with pytest.raises(aiohttp.ClientPayloadError):
            await response.read()
    # A fault body replaces the JSON of a handled request (e.g. other statuses).
    emulator.inject(
        Fault(target="recognition", body='{"RecognitionStatus": "BabbleTimeout"}')
    )
    status, result = await recognize(emulator_session, body)
    assert (status, result) == (200, {"RecognitionStatus": "BabbleTimeout"})


async def test_free_tier_allows_one_recognition_at_a_time(
    emulator: Emulator, emulator_session: aiohttp.ClientSession
) -> None:
    emulator.free_tier = True
    body = wav_container(silence(0.5), 16000)
    release = asyncio.Event()

    async def held() -> AsyncIterator[bytes]:
        yield body[:1000]
        await release.wait()
        yield body[1000:]

    first = asyncio.create_task(recognize(emulator_session, held(), expect100=True))
    await emulator.wait_for_requests("recognition")
    status, result = await recognize(emulator_session, body)
    assert status == 429
    assert result["error"]["code"] == "429"  # type: ignore[index]
    release.set()
    status, _ = await first
    assert status == 200
    status, _ = await recognize(emulator_session, body)  # the slot is free again
    assert status == 200


# --- time to answer (the processing model) ----------------------------------------


def test_processing_pace_streamed_and_whole() -> None:
    # 1 s of audio in 0.1 s chunks, arriving in real time (0.1 s ... 1.0 s).
    streamed = ProcessingPace(speed=10.0)
    for index in range(10):
        streamed.arrived(0.1 * (index + 1), 0.1)
    assert streamed.answer_at(1.0, 0.15) == pytest.approx(1.0 + 0.01 + 0.15)
    # The same second sent whole when it ended.
    whole = ProcessingPace(speed=10.0)
    whole.arrived(1.0, 1.0)
    assert whole.answer_at(1.0, 0.15) == pytest.approx(1.0 + 0.1 + 0.15)
    # Slower than real time, a backlog builds up while the audio arrives.
    slow = ProcessingPace(speed=0.5)
    for index in range(10):
        slow.arrived(0.1 * (index + 1), 0.1)
    assert slow.answer_at(1.0, 0.0) == pytest.approx(0.1 + 10 * 0.2)
    # None processes at once: the answer waits for the latency only.
    instant = ProcessingPace()
    instant.arrived(1.0, 60.0)
    assert instant.answer_at(1.0, 0.25) == pytest.approx(1.25)


async def test_recognition_waits_for_the_processing_model(
    emulator: Emulator, emulator_session: aiohttp.ClientSession
) -> None:
    # The clock stands still: the whole upload arrives at 0, and the wait is
    # the model's own, exactly (the sleep itself is real, so it is short).
    emulator.clock = ManualClock()
    emulator.recognition_speed = 20.0
    emulator.recognition_latency = 0.05
    speech = chirp(0.5)
    emulator.remember_speech(speech, "Lights off.")
    body = wav_container(silence(0.25) + speech + silence(0.25), 16000)
    status, result = await recognize(emulator_session, body)
    assert status == 200
    assert result["DisplayText"] == "Lights off."  # type: ignore[index]
    [record] = emulator.requests_for("recognition")
    assert record.recognition_wait == pytest.approx(0.05 + 1.0 / 20.0)


async def test_recognition_answers_at_once_by_default(
    emulator: Emulator, emulator_session: aiohttp.ClientSession
) -> None:
    emulator.clock = ManualClock()
    status, _ = await recognize(emulator_session, wav_container(silence(1.0), 16000))
    assert status == 200
    [record] = emulator.requests_for("recognition")
    assert record.recognition_wait == 0.0


async def test_refusals_do_not_wait_for_the_processing_model(
    emulator: Emulator, emulator_session: aiohttp.ClientSession
) -> None:
    emulator.recognition_speed = 0.01
    emulator.recognition_latency = 60.0
    body = wav_container(silence(1.0), 16000)
    status, _ = await recognize(emulator_session, body, query="language=xx-XX")
    assert status == 400
    [record] = emulator.requests_for("recognition")
    assert record.recognition_wait is None
