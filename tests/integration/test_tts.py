"""The TTS entity, through Home Assistant's TTS machinery, against the emulator."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any
import wave

from homeassistant.components import tts
from homeassistant.components.tts.entity import TTSAudioRequest
from homeassistant.components.tts.helper import get_engine_instance
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.cloud_speech.const import (
    CONF_OUTPUT_FORMAT,
    CONF_VOICE,
)
from tests.emulator import Emulator, EmulatorServer, Fault
from tests.emulator.audio import mp3_frame_count

from . import tts_calls
from .tts_calls import AZURE_ENTITY_ID, eventually, speak, text_stream

ENTITY_ID = AZURE_ENTITY_ID


async def stream(
    hass: HomeAssistant,
    deltas: list[str],
    *,
    language: str | None = None,
    options: dict[str, Any] | None = None,
) -> bytes:
    """Stream `deltas` in like an Assist pipeline feeding an LLM's reply."""
    return await tts_calls.stream(
        hass, text_stream(*deltas), language=language, options=options
    )


@pytest.mark.usefixtures("init_integration")
async def test_entity_is_a_service_device_named_after_the_entry(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
    mock_config_entry: MockConfigEntry,
) -> None:
    entity = entity_registry.async_get(ENTITY_ID)
    assert entity is not None
    assert entity.unique_id == mock_config_entry.entry_id
    device = device_registry.async_get(entity.device_id or "")
    assert device is not None
    assert device.entry_type is dr.DeviceEntryType.SERVICE
    assert device.name == "Azure Speech (chinaeast2)"


@pytest.mark.usefixtures("init_integration")
async def test_languages_cover_every_voice_and_secondary_locale(
    hass: HomeAssistant,
) -> None:
    engine = get_engine_instance(hass, ENTITY_ID)
    assert engine is not None
    languages = engine.supported_languages
    assert {"zh-CN", "en-US", "ga-IE", "de-DE"} <= set(languages)
    # Azure spells some locales "zh-cn"; HA gets one normalized tag.
    assert "zh-cn" not in languages
    assert engine.default_language == "zh-CN"


@pytest.mark.usefixtures("init_integration")
async def test_voices_for_a_language_list_the_default_voice_first(
    hass: HomeAssistant,
) -> None:
    engine = get_engine_instance(hass, ENTITY_ID)
    assert engine is not None
    voices = engine.async_get_supported_voices("zh-CN") or []
    ids = [voice.voice_id for voice in voices]
    assert ids[0] == "zh-cn-YunxiNeural"
    # A multilingual voice that speaks Chinese is offered too.
    assert "en-US-JennyMultilingualNeural" in ids
    assert "en-US-JennyNeural" not in ids
    assert voices[0].name.startswith("Yunxi (Male, zh-CN")


@pytest.mark.usefixtures("init_integration")
async def test_message_is_spoken_verbatim_after_escaping(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    extension, audio = await speak(hass, 'Tom & Jerry <3 "x"')

    assert extension == "mp3"
    assert mp3_frame_count(audio) > 0
    assert emulator.spoken_texts() == ['Tom & Jerry <3 "x"']
    request = emulator.requests_for("synthesis")[-1]
    assert request.voice == "zh-cn-YunxiNeural"
    assert request.output_format == "audio-24khz-96kbitrate-mono-mp3"


@pytest.mark.usefixtures("init_integration")
async def test_style_and_role_per_call_reach_the_service(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    await speak(hass, "你好，欢迎回家。", options={"style": "cheerful", "role": "Boy"})

    request = emulator.requests_for("synthesis")[-1]
    assert request.status == 200
    ssml = request.body.decode()
    assert 'style="cheerful"' in ssml
    assert 'role="Boy"' in ssml


@pytest.mark.usefixtures("init_integration")
@pytest.mark.parametrize(
    ("options", "translation_key"),
    [
        ({"voice": "xx-XX-NobodyNeural"}, "invalid_voice"),
        ({"style": "whispering"}, "invalid_style"),
        ({"style": "cheerful", "role": "Girl"}, "invalid_role"),
        ({"role": "Boy"}, "role_without_style"),
        ({"style_degree": 1.5}, "style_degree_without_style"),
        ({"style": "cheerful", "style_degree": 3}, "invalid_style_degree"),
        ({"rate": "+500%"}, "invalid_rate"),
        ({"pitch": '+10%" onload="'}, "invalid_pitch"),
        ({"volume": "loudest"}, "invalid_volume"),
        ({"voice": 42}, "invalid_option"),
    ],
)
async def test_invalid_options_are_rejected_before_anything_is_sent(
    hass: HomeAssistant,
    emulator: Emulator,
    options: dict[str, Any],
    translation_key: str,
) -> None:
    with pytest.raises(ServiceValidationError) as err:
        await speak(hass, "Hello", options=options)

    assert err.value.translation_key == translation_key
    assert emulator.requests_for("synthesis") == []


@pytest.mark.usefixtures("init_integration")
async def test_other_language_uses_its_first_voice_when_default_is_not_multilingual(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    await speak(hass, "Guten Tag.", language="de-DE")

    request = emulator.requests_for("synthesis")[-1]
    assert request.voice is not None
    assert request.voice.startswith("de-DE-")


async def test_multilingual_default_voice_speaks_a_secondary_language(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, emulator: Emulator
) -> None:
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry, options={CONF_VOICE: "en-US-JennyMultilingualNeural"}
    )
    await hass.config_entries.async_setup(mock_config_entry.entry_id)

    await speak(hass, "Guten Tag.", language="de-DE")

    request = emulator.requests_for("synthesis")[-1]
    assert request.voice == "en-US-JennyMultilingualNeural"
    assert '<lang xml:lang="de-DE">' in request.body.decode()


@pytest.mark.usefixtures("init_integration")
async def test_preferred_mp3_is_served_natively(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    extension, audio = await speak(hass, "Hello.", options={"preferred_format": "mp3"})

    assert extension == "mp3"
    assert mp3_frame_count(audio) > 0


@pytest.mark.usefixtures("init_integration")
@pytest.mark.parametrize(
    ("sample_rate", "requested_format"),
    [
        (16000, "raw-16khz-16bit-mono-pcm"),
        (22050, "raw-22050hz-16bit-mono-pcm"),
        (24000, "raw-24khz-16bit-mono-pcm"),
        (44100, "raw-44100hz-16bit-mono-pcm"),
        (48000, "raw-48khz-16bit-mono-pcm"),
        (8000, "raw-8khz-16bit-mono-pcm"),
    ],
)
async def test_preferred_wav_rate_is_served_natively(
    hass: HomeAssistant, emulator: Emulator, sample_rate: int, requested_format: str
) -> None:
    """What an Assist satellite asks for comes back in exactly that format.

    Called on the entity: Home Assistant 2026.10 still pipes any result through
    ffmpeg when a sample rate is requested, even one that already matches.
    """
    engine = get_engine_instance(hass, ENTITY_ID)
    assert isinstance(engine, tts.TextToSpeechEntity)

    response = await engine.async_stream_tts_audio(
        TTSAudioRequest(
            "zh-CN",
            {
                "preferred_format": "wav",
                "preferred_sample_rate": sample_rate,
                "preferred_sample_channels": 1,
                "preferred_sample_bytes": 2,
            },
            text_stream("First sentence here. ", "Second one follows."),
        )
    )
    audio = b"".join([chunk async for chunk in response.data_gen])

    assert response.extension == "wav"
    assert {r.output_format for r in emulator.requests_for("synthesis")} == {
        requested_format
    }
    with wave.open(io.BytesIO(audio)) as wav:
        assert wav.getframerate() == sample_rate
        assert wav.getnchannels() == 1
        assert wav.getsampwidth() == 2
        assert wav.readframes(-1)


async def test_configured_wav_is_not_converted_to_mp3(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, emulator: Emulator
) -> None:
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry,
        options={
            CONF_VOICE: "zh-cn-YunxiNeural",
            CONF_OUTPUT_FORMAT: "riff-24khz-16bit-mono-pcm",
        },
    )
    await hass.config_entries.async_setup(mock_config_entry.entry_id)

    extension, audio = await speak(hass, "你好。今天天气很好。")

    assert extension == "wav"
    with wave.open(io.BytesIO(audio)) as wav:
        assert wav.getframerate() == 24000
        assert wav.readframes(-1)
    assert emulator.requests_for("synthesis")[-1].output_format == (
        "raw-24khz-16bit-mono-pcm"
    )


@pytest.mark.usefixtures("init_integration")
async def test_ssml_document_is_sent_as_written(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    ssml = (
        '<speak version="1.0" xmlns="http://www.w3.org/2001/10/synthesis" '
        'xml:lang="en-US"><voice name="en-US-JennyNeural">Hi <break time="200ms"/>'
        "there</voice></speak>"
    )
    await speak(hass, ssml)

    request = emulator.requests_for("synthesis")[-1]
    assert request.body.decode() == ssml
    assert request.voice == "en-US-JennyNeural"


@pytest.mark.usefixtures("init_integration")
@pytest.mark.parametrize(
    "message",
    [
        "<speak><voice>unclosed",
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><speak>&lol;</speak>',
    ],
)
async def test_malformed_or_dangerous_ssml_is_rejected(
    hass: HomeAssistant, emulator: Emulator, message: str
) -> None:
    with pytest.raises(ServiceValidationError) as err:
        await speak(hass, message)

    assert err.value.translation_key == "invalid_ssml"
    assert emulator.requests_for("synthesis") == []


@pytest.mark.usefixtures("init_integration")
async def test_whitespace_only_message_is_a_clear_error(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    with pytest.raises(ServiceValidationError) as err:
        await speak(hass, "   \n ")

    assert err.value.translation_key == "empty_message"
    assert emulator.requests_for("synthesis") == []


@pytest.mark.usefixtures("init_integration")
async def test_rate_limit_becomes_a_translated_error(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    emulator.inject(Fault(status=429, headers={"Retry-After": "0"}, times=10))

    with pytest.raises(HomeAssistantError) as err:
        await speak(hass, "Hello.")

    assert err.value.translation_key == "rate_limited"


@pytest.mark.usefixtures("init_integration")
async def test_rejected_key_starts_one_reauth_flow(
    hass: HomeAssistant, emulator: Emulator, mock_config_entry: MockConfigEntry
) -> None:
    emulator.keys.clear()

    for message in ("One.", "Two."):
        with pytest.raises(HomeAssistantError) as err:
            await speak(hass, message)
        assert err.value.translation_key == "invalid_auth"
    await hass.async_block_till_done()

    flows = [
        flow
        for flow in hass.config_entries.flow.async_progress()
        if flow["context"]["source"] == SOURCE_REAUTH
    ]
    assert len(flows) == 1
    assert flows[0]["context"]["entry_id"] == mock_config_entry.entry_id


@pytest.mark.usefixtures("init_integration")
async def test_first_sentence_is_requested_alone_then_the_rest_in_a_batch(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    await speak(hass, "First. Second sentence. Third sentence. Fourth sentence.")

    texts = emulator.spoken_texts()
    assert texts[0] == "First."
    assert " ".join(texts) == (
        "First. Second sentence. Third sentence. Fourth sentence."
    )
    assert len(texts) <= 3


@pytest.mark.usefixtures("init_integration")
async def test_llm_deltas_are_spoken_in_order(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    reply = "The lights are on. The door is locked. It is 21 degrees. Good night!"
    deltas = [reply[i : i + 3] for i in range(0, len(reply), 3)]

    audio = await stream(hass, deltas, options={"preferred_format": "mp3"})

    assert mp3_frame_count(audio) > 0
    assert " ".join(emulator.spoken_texts()) == reply
    assert emulator.spoken_texts()[0] == "The lights are on."
    # Key mode: one request per batch, no token round trips.
    assert len(emulator.requests_for("synthesis")) == len(emulator.spoken_texts())
    assert emulator.requests_for("token") == []


@pytest.mark.usefixtures("init_integration")
async def test_failure_mid_stream_fails_the_whole_message_and_caches_nothing(
    hass: HomeAssistant, emulator: Emulator, tts_cache_dir: Path
) -> None:
    emulator.inject(Fault(cut_after=100))

    with pytest.raises(HomeAssistantError) as err:
        await speak(hass, "A complete sentence.", cache=True)
    assert err.value.translation_key == "cannot_connect"
    await hass.async_block_till_done(wait_background_tasks=True)
    assert list(tts_cache_dir.iterdir()) == []

    # The same message again produces complete audio, not a cached fragment.
    extension, audio = await speak(hass, "A complete sentence.", cache=True)
    assert extension == "mp3"
    assert mp3_frame_count(audio) > 0
    assert emulator.requests_for("synthesis")[-1].status == 200

    def cached_in_full() -> bool:
        files = list(tts_cache_dir.iterdir())
        return len(files) == 1 and files[0].read_bytes().endswith(audio[-100:])

    # HA writes the file from an executor job: wait until it is there in full.
    await eventually(cached_in_full)


@pytest.mark.usefixtures("init_integration")
async def test_abandoned_stream_cancels_requests_in_flight(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    # Slow audio, so requests are still streaming when the listener goes away.
    emulator.bytes_per_second = 4000
    emulator.chunk_size = 500
    engine = get_engine_instance(hass, ENTITY_ID)
    assert isinstance(engine, tts.TextToSpeechEntity)
    response = await engine.async_stream_tts_audio(
        TTSAudioRequest(
            "zh-CN",
            {},
            text_stream("First one here. Second one here. Third one is here."),
        )
    )

    await anext(response.data_gen)
    assert emulator.open_requests > 0
    await response.data_gen.aclose()

    await emulator.wait_for_requests("synthesis", count=1)
    await eventually(lambda: emulator.open_requests == 0)


@pytest.mark.usefixtures("init_integration")
async def test_a_changed_profile_is_not_served_from_the_tts_cache(
    hass: HomeAssistant, emulator: Emulator, mock_config_entry: MockConfigEntry
) -> None:
    await speak(hass, "晚饭准备好了。", cache=True)
    [profile] = mock_config_entry.subentries.values()
    hass.config_entries.async_update_subentry(
        mock_config_entry,
        profile,
        data={**profile.data, CONF_VOICE: "zh-CN-XiaoxiaoNeural"},
    )
    await hass.async_block_till_done()

    await speak(hass, "晚饭准备好了。", cache=True)

    assert [r.voice for r in emulator.requests_for("synthesis")] == [
        "zh-cn-YunxiNeural",
        "zh-CN-XiaoxiaoNeural",
    ]


async def test_language_chosen_with_a_multilingual_voice_is_the_default(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, emulator: Emulator
) -> None:
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry,
        options={CONF_VOICE: "en-US-JennyMultilingualNeural", "language": "de-DE"},
    )
    await hass.config_entries.async_setup(mock_config_entry.entry_id)

    await speak(hass, "Guten Tag.")

    request = emulator.requests_for("synthesis")[-1]
    assert request.voice == "en-US-JennyMultilingualNeural"
    assert '<lang xml:lang="de-DE">' in request.body.decode()


async def test_an_assist_run_starting_opens_the_way_before_the_reply_is_written(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    emulator: Emulator,
    emulator_server: EmulatorServer,
) -> None:
    """HA asks as the run starts; the reply comes once 60 characters are written."""
    await emulator_server.restart()  # a quiet minute: no connection left open
    emulator.reset_requests()
    emulator.network_rtt = 0.02  # TCP + TLS: 40 ms on a new connection
    entity = get_engine_instance(hass, AZURE_ENTITY_ID)
    assert isinstance(entity, tts.TextToSpeechEntity)
    assert entity.async_supports_streaming_input()
    await hass.async_block_till_done(wait_background_tasks=True)
    assert emulator.requests == []  # a connection, no request
    await asyncio.sleep(0.05)  # the agent is still writing

    await tts_calls.stream(hass, text_stream("The front door is open."))

    [request] = emulator.requests_for("synthesis")
    assert request.connection_setup == 0.0
    assert emulator.connections_opened == 1
