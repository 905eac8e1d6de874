"""Both synthesizers, without Home Assistant: options in, plan, audio out."""

from __future__ import annotations

from collections.abc import AsyncIterator
import io
from typing import Any
import wave

import aiohttp
import pytest

from custom_components.cloud_speech.speech.azure import (
    AzureCloud,
    AzureSpeechClient,
    azure_endpoints,
)
from custom_components.cloud_speech.speech.azure_synthesizer import AzureSynthesizer
from custom_components.cloud_speech.speech.convai import ConvaiClient, ConvaiEncoding
from custom_components.cloud_speech.speech.convai_synthesizer import (
    ConvaiSynthesizer,
)
from custom_components.cloud_speech.speech.errors import (
    InvalidOptionError,
    InvalidRequestError,
    NoVoiceForLanguageError,
    SpeechBadRequestError,
    StyleRequiredError,
    UnsupportedByVoiceError,
)
from custom_components.cloud_speech.speech.http import RetryPolicy
from custom_components.cloud_speech.speech.synthesis import (
    AudioStream,
    SynthesisRequest,
    Synthesizer,
)
from custom_components.cloud_speech.speech.voices import VoiceCatalog
from tests.emulator import CONVAI_TEST_KEY, TEST_KEY, Emulator, Fault
from tests.emulator.audio import mp3_frame_count

YUNXI = "zh-cn-YunxiNeural"  # styles and roles; zh-CN only
JENNY_MULTILINGUAL = "en-US-JennyMultilingualNeural"
HD_VOICE = "en-US-Ava:DragonHDLatestNeural"
RACHEL = "21m00Tcm4TlvDq8ikWAM"  # Convai (ElevenLabs), en-US, WAV at 22050 Hz
OLD_BRITISH_MAN = "Old British Man"  # Convai (ElevenLabs), en-GB, refuses MP3
NO_RETRY = RetryPolicy(attempts=1)


async def pieces(*texts: str) -> AsyncIterator[str]:
    for text in texts:
        yield text


async def speak(
    synthesizer: Synthesizer[Any], request: SynthesisRequest, *texts: str
) -> tuple[str, bytes]:
    voice = synthesizer.choose_voice(request)
    audio = await synthesizer.stream(
        synthesizer.prepare(request, voice), pieces(*texts)
    )
    assert isinstance(audio, AudioStream)
    return audio.extension, b"".join([chunk async for chunk in audio.chunks])


@pytest.fixture
async def azure(emulator_session: aiohttp.ClientSession) -> AzureSynthesizer:
    client = AzureSpeechClient(
        emulator_session,
        azure_endpoints(AzureCloud.CHINA, region="chinaeast2"),
        api_key=TEST_KEY,
        retry=NO_RETRY,
    )
    catalog = VoiceCatalog(await client.async_get_voices())
    return AzureSynthesizer(client, lambda: catalog)


@pytest.fixture
async def convai(emulator_session: aiohttp.ClientSession) -> ConvaiSynthesizer:
    client = ConvaiClient(emulator_session, api_key=CONVAI_TEST_KEY, retry=NO_RETRY)
    catalog = VoiceCatalog(await client.async_get_voices())
    return ConvaiSynthesizer(client, lambda: catalog)


def sent_ssml(emulator: Emulator) -> str:
    return "".join(r.body.decode() for r in emulator.requests_for("synthesis"))


# --- choosing the voice -----------------------------------------------------------


def test_the_default_voice_speaks_its_language(azure: AzureSynthesizer) -> None:
    request = SynthesisRequest("zh-CN", defaults={"voice": YUNXI})

    assert azure.choose_voice(request).short_name == YUNXI


def test_another_language_gets_its_first_voice(azure: AzureSynthesizer) -> None:
    request = SynthesisRequest("de-DE", defaults={"voice": YUNXI})

    assert azure.choose_voice(request).locale == "de-DE"


@pytest.mark.parametrize(
    ("options", "error", "field"),
    [
        ({"voice": "xx-XX-NobodyNeural"}, InvalidRequestError, "voice"),
        ({"voice": 42}, InvalidOptionError, "voice"),
        ({"voice": ["zh-cn-YunxiNeural"]}, InvalidOptionError, "voice"),
    ],
)
def test_a_voice_that_cannot_be_used_is_refused_with_its_field(
    azure: AzureSynthesizer,
    options: dict[str, Any],
    error: type[InvalidRequestError],
    field: str,
) -> None:
    with pytest.raises(error) as raised:
        azure.choose_voice(SynthesisRequest("zh-CN", options))

    assert type(raised.value) is error
    assert raised.value.field == field


def test_a_language_no_voice_speaks_is_refused(convai: ConvaiSynthesizer) -> None:
    with pytest.raises(NoVoiceForLanguageError) as raised:
        convai.choose_voice(SynthesisRequest("fr-CA"))

    assert raised.value.value == "fr-CA"


# --- Azure: the plan --------------------------------------------------------------


def plan_for(
    azure: AzureSynthesizer,
    language: str,
    options: dict[str, Any],
    defaults: dict[str, Any],
) -> Any:
    request = SynthesisRequest(language, options, defaults)
    return azure.prepare(request, azure.choose_voice(request))


def test_the_profile_style_is_kept_for_its_own_voice_only(
    azure: AzureSynthesizer,
) -> None:
    defaults = {"voice": YUNXI, "style": "cheerful", "rate": 20}

    own = plan_for(azure, "zh-CN", {}, defaults).settings
    other = plan_for(azure, "zh-CN", {"voice": "zh-CN-XiaoxiaoNeural"}, defaults)

    assert (own.style, own.rate) == ("cheerful", "+20%")
    assert (other.settings.style, other.settings.rate) == (None, "+20%")


def test_an_hd_voice_gets_none_of_the_profile_settings(
    azure: AzureSynthesizer,
) -> None:
    defaults = {"voice": YUNXI, "rate": 20, "pitch": "+5%"}

    settings = plan_for(azure, "en-US", {"voice": HD_VOICE}, defaults).settings

    assert (settings.rate, settings.pitch, settings.style) == (None, None, None)


def test_an_hd_voice_refuses_a_call_setting(azure: AzureSynthesizer) -> None:
    with pytest.raises(UnsupportedByVoiceError) as raised:
        plan_for(azure, "en-US", {"voice": HD_VOICE, "rate": "+10%"}, {})

    assert raised.value.field == "rate"


@pytest.mark.parametrize(
    ("options", "error", "field"),
    [
        ({"style": 1}, InvalidOptionError, "style"),
        ({"role": {"name": "Boy"}, "style": "cheerful"}, InvalidOptionError, "role"),
        ({"role": "Boy"}, StyleRequiredError, "role"),
        ({"rate": "+500%"}, InvalidRequestError, "rate"),
        (
            {"preferred_sample_rate": "fast"},
            InvalidOptionError,
            "preferred_sample_rate",
        ),
    ],
)
def test_invalid_settings_are_refused_with_their_field(
    azure: AzureSynthesizer,
    options: dict[str, Any],
    error: type[InvalidRequestError],
    field: str,
) -> None:
    with pytest.raises(error) as raised:
        plan_for(azure, "zh-CN", options, {"voice": YUNXI})

    assert raised.value.field == field


def test_a_secondary_language_is_spoken_through_lang(azure: AzureSynthesizer) -> None:
    plan = plan_for(azure, "de-DE", {}, {"voice": JENNY_MULTILINGUAL})

    assert plan.settings.voice == JENNY_MULTILINGUAL
    assert plan.settings.spoken_language == "de-DE"


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, "audio-24khz-96kbitrate-mono-mp3"),
        ({"preferred_format": "mp3"}, "audio-24khz-96kbitrate-mono-mp3"),
        (
            {"preferred_format": "wav", "preferred_sample_rate": 16000},
            "riff-16khz-16bit-mono-pcm",
        ),
        ({"preferred_format": "flac"}, "audio-24khz-96kbitrate-mono-mp3"),
        (
            {"preferred_format": "wav", "preferred_sample_channels": 2},
            "audio-24khz-96kbitrate-mono-mp3",
        ),
    ],
)
def test_the_preferred_format_is_served_natively_when_the_service_has_it(
    azure: AzureSynthesizer, options: dict[str, Any], expected: str
) -> None:
    plan = plan_for(azure, "zh-CN", options, {"voice": YUNXI})

    assert plan.audio_format.name == expected


# --- Azure: the stream -----------------------------------------------------------


async def test_plain_text_is_batched_into_one_mp3(
    azure: AzureSynthesizer, emulator: Emulator
) -> None:
    request = SynthesisRequest("zh-CN", defaults={"voice": YUNXI})

    extension, audio = await speak(azure, request, "你好。", "欢迎回家。今天很好。")

    assert extension == "mp3"
    assert emulator.spoken_texts()[0] == "你好。"
    assert mp3_frame_count(audio) > 0


async def test_wav_is_one_streaming_header_then_the_samples_of_every_batch(
    azure: AzureSynthesizer, emulator: Emulator
) -> None:
    request = SynthesisRequest(
        "zh-CN",
        {"preferred_format": "wav", "preferred_sample_rate": 16000},
        {"voice": YUNXI},
    )

    extension, audio = await speak(azure, request, "你好。", "欢迎回家。")

    assert extension == "wav"
    assert audio.count(b"RIFF") == 1
    assert {r.output_format for r in emulator.requests_for("synthesis")} == {
        "raw-16khz-16bit-mono-pcm"
    }
    with wave.open(io.BytesIO(audio)) as wav:
        assert wav.getframerate() == 16000
        assert wav.readframes(-1) == audio[44:]


async def test_ogg_cannot_be_joined_so_the_text_goes_in_one_request(
    azure: AzureSynthesizer, emulator: Emulator
) -> None:
    request = SynthesisRequest("zh-CN", {"preferred_format": "ogg"}, {"voice": YUNXI})

    extension, _ = await speak(azure, request, "你好。", "欢迎回家。")

    assert extension == "ogg"
    assert len(emulator.requests_for("synthesis")) == 1


async def test_an_ssml_document_split_anywhere_is_completed_and_sent_whole(
    azure: AzureSynthesizer, emulator: Emulator
) -> None:
    request = SynthesisRequest("zh-CN", defaults={"voice": YUNXI})

    await speak(azure, request, "  <sp", "eak>你好", "。</speak>")

    ssml = sent_ssml(emulator)
    assert len(emulator.requests_for("synthesis")) == 1
    assert f'name="{YUNXI}"' in ssml
    assert 'version="1.0"' in ssml


async def test_text_that_merely_starts_with_a_bracket_is_spoken_as_text(
    azure: AzureSynthesizer, emulator: Emulator
) -> None:
    request = SynthesisRequest("zh-CN", defaults={"voice": YUNXI})

    await speak(azure, request, "<3 you")

    assert emulator.spoken_texts() == ["<3 you"]


async def test_characters_xml_cannot_carry_are_never_spoken(
    azure: AzureSynthesizer, emulator: Emulator
) -> None:
    request = SynthesisRequest("zh-CN", defaults={"voice": YUNXI})

    with pytest.raises(InvalidRequestError) as raised:
        await speak(azure, request, "\x00\x01")

    assert raised.value.field == "message"
    assert emulator.requests_for("synthesis") == []


# --- Convai ----------------------------------------------------------------------


def convai_request(encoding: str, **options: Any) -> SynthesisRequest:
    return SynthesisRequest("en-US", options, {"voice": RACHEL, "encoding": encoding})


async def test_convai_wav_batches_are_joined_into_one_wav(
    convai: ConvaiSynthesizer, emulator: Emulator
) -> None:
    extension, audio = await speak(
        convai, convai_request("wav"), "Hello there. ", "How are you today?"
    )

    assert extension == "wav"
    assert audio.count(b"RIFF") == 1
    assert len(emulator.requests_for("convai_synthesis")) == 2
    with wave.open(io.BytesIO(audio)) as wav:
        assert wav.getframerate() == 22050


async def test_convai_mp3_is_asked_for_when_preferred(
    convai: ConvaiSynthesizer, emulator: Emulator
) -> None:
    extension, audio = await speak(
        convai, convai_request("wav", preferred_format="mp3"), "Hello there."
    )

    assert extension == "mp3"
    assert mp3_frame_count(audio) > 0
    assert [r.output_format for r in emulator.requests_for("convai_synthesis")] == [
        "mp3"
    ]


async def test_a_voice_refusing_mp3_is_answered_in_wav_and_remembered(
    convai: ConvaiSynthesizer, emulator: Emulator
) -> None:
    request = convai_request("mp3", voice=OLD_BRITISH_MAN)

    extension, audio = await speak(convai, request, "Good ", "evening.")
    assert extension == "wav"
    assert audio.startswith(b"RIFF")
    assert emulator.spoken_texts() == ["Good evening."]

    plan = convai.prepare(request, convai.choose_voice(request))
    assert plan.encoding is ConvaiEncoding.WAV


async def test_another_bad_request_is_not_taken_for_a_refused_encoding(
    convai: ConvaiSynthesizer, emulator: Emulator
) -> None:
    emulator.inject(
        Fault(
            target="convai_synthesis",
            status=400,
            body='{"result": "Transcript too long."}',
        )
    )

    with pytest.raises(SpeechBadRequestError) as raised:
        await speak(convai, convai_request("mp3"), "Hello.")

    assert raised.value.reason == "Transcript too long."
    assert [r.output_format for r in emulator.requests_for("convai_synthesis")] == [
        "mp3"
    ]
