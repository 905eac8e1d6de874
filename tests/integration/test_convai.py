"""A Convai entry end to end: setup, the TTS entity, errors and diagnostics.

Everything runs against the emulator's Convai API (api.convai.com resolves to
it): our client, the sentence pipeline, the WAV joiner and the MP3 fallback
run for real, and Home Assistant's TTS machinery drives the entity.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from functools import partial
import io
from pathlib import Path
from typing import Any
import wave

from homeassistant.components import tts
from homeassistant.components.tts.entity import TTSAudioRequest
from homeassistant.components.tts.helper import get_engine_instance
from homeassistant.config_entries import SOURCE_REAUTH, SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.cloud_speech.config_flow import SECTION_ADVANCED
from custom_components.cloud_speech.const import (
    CONF_ENCODING,
    CONF_ENDPOINT,
    CONF_LANGUAGE,
    CONF_SERVICE,
    CONF_VOICE,
    DOMAIN,
    SERVICE_CONVAI,
)
from custom_components.cloud_speech.helpers import unique_id_for
from tests.emulator import CONVAI_TEST_KEY, Emulator, EmulatorServer, Fault
from tests.emulator.audio import is_valid_wav, mp3_frame_count, wav_info
from tests.emulator.convai import MISSING_KEY, WRONG_KEY

from . import tts_calls
from .tts_calls import text_stream

CONVAI_DATA: dict[str, Any] = {
    CONF_SERVICE: SERVICE_CONVAI,
    CONF_API_KEY: CONVAI_TEST_KEY,
}
ENTITY_ID = "tts.convai_speech"
# Voices of the emulator's Convai voice list (tests/emulator/voices.py), served
# in the documented shape: {section: [{name: {voice_value, …}}, …]}.
RACHEL = "21m00Tcm4TlvDq8ikWAM"  # ElevenLabs, en-US, WAV at 22050 Hz
JENNY = "en-US-JennyNeural"  # Azure through Convai, WAV at 24 kHz
OLD_BRITISH_MAN = "Old British Man"  # ElevenLabs, en-GB, refuses MP3
CALM_NARRATOR = "Calm Narrator Voice"  # en-US, also de-DE, fr-FR, es-ES, he-IL
VOICE_COUNT = 16


@pytest.fixture
def convai_options() -> dict[str, Any]:
    """The entry's options: Rachel, in WAV (the default encoding)."""
    return {CONF_VOICE: RACHEL, CONF_LANGUAGE: "en-US"}


@pytest.fixture
def convai_entry(convai_options: dict[str, Any]) -> MockConfigEntry:
    """A Convai entry as the config flow creates it."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Convai",
        data=CONVAI_DATA,
        options=convai_options,
        unique_id=unique_id_for(CONVAI_DATA),
    )


@pytest.fixture
async def convai_integration(
    hass: HomeAssistant, convai_entry: MockConfigEntry
) -> MockConfigEntry:
    """Set up the integration with `convai_entry`."""
    convai_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(convai_entry.entry_id)
    await hass.async_block_till_done()
    return convai_entry


# --- helpers -----------------------------------------------------------------


speak = partial(tts_calls.speak, engine=ENTITY_ID)


async def stream(
    hass: HomeAssistant, deltas: list[str], *, options: dict[str, Any] | None = None
) -> bytes:
    """Stream `deltas` in like an Assist pipeline feeding an LLM's reply."""
    return await tts_calls.stream(
        hass, text_stream(*deltas), options=options, engine=ENTITY_ID
    )


def engine(hass: HomeAssistant) -> tts.TextToSpeechEntity:
    entity = get_engine_instance(hass, ENTITY_ID)
    assert isinstance(entity, tts.TextToSpeechEntity)
    return entity


async def stream_from_entity(
    hass: HomeAssistant,
    pieces: list[str],
    options: dict[str, Any] | None = None,
    *,
    language: str | None = None,
) -> tuple[str, bytes]:
    """Call the entity the way HA's TTS manager does, without its conversion.

    Home Assistant pipes a result whose extension differs from the preferred
    format through ffmpeg; these tests look at what the entity itself answers.
    """
    entity = engine(hass)
    response = await entity.async_stream_tts_audio(
        TTSAudioRequest(
            language or entity.default_language,
            {**entity.default_options, **(options or {})},  # as HA merges them
            text_stream(*pieces),
        )
    )
    return response.extension, b"".join([chunk async for chunk in response.data_gen])


def wav_payload(wav_file: bytes) -> bytes:
    """The samples of a complete WAV file (its data chunk comes last)."""
    info = wav_info(wav_file)
    assert info is not None
    return wav_file[len(wav_file) - info.data_size :]


def assert_joined_wav(audio: bytes, emulator: Emulator, sample_rate: int) -> None:
    """One streamed WAV: one header, then every response's samples in order."""
    answers = [
        request.response_body
        for request in emulator.requests_for("convai_synthesis")
        if request.synthesized
    ]
    assert answers
    assert all(is_valid_wav(answer) for answer in answers)
    with wave.open(io.BytesIO(audio)) as wav:
        assert wav.getframerate() == sample_rate
        assert wav.getnchannels() == 1
        assert wav.getsampwidth() == 2
        samples = wav.readframes(-1)
    assert samples == b"".join(wav_payload(answer) for answer in answers)
    # A single header: no RIFF of a later response inside the samples.
    assert audio.count(b"RIFF") == 1


def encodings(emulator: Emulator) -> list[str | None]:
    """The encoding of every synthesis request, in order."""
    return [r.output_format for r in emulator.requests_for("convai_synthesis")]


# --- setup, unload, diagnostics --------------------------------------------------


async def test_setup_fetches_convai_voices_and_unload_cleans_up(
    hass: HomeAssistant, convai_entry: MockConfigEntry, emulator: Emulator
) -> None:
    convai_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(convai_entry.entry_id)
    await hass.async_block_till_done()

    assert convai_entry.state is ConfigEntryState.LOADED
    assert len(convai_entry.runtime_data.voices) == VOICE_COUNT
    [request] = emulator.requests_for("convai_voices")
    assert request.host == "api.convai.com"
    assert request.headers["CONVAI-API-KEY"] == CONVAI_TEST_KEY

    assert await hass.config_entries.async_unload(convai_entry.entry_id)
    assert convai_entry.state is ConfigEntryState.NOT_LOADED
    assert hass.states.get(ENTITY_ID).state == "unavailable"  # type: ignore[union-attr]


async def test_rejected_convai_key_at_setup_starts_reauth(
    hass: HomeAssistant, convai_entry: MockConfigEntry, emulator: Emulator
) -> None:
    emulator.convai_keys.clear()
    convai_entry.add_to_hass(hass)

    await hass.config_entries.async_setup(convai_entry.entry_id)
    await hass.async_block_till_done()

    assert convai_entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress()
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]


async def test_convai_down_at_setup_is_retried_later(
    hass: HomeAssistant, convai_entry: MockConfigEntry, emulator: Emulator
) -> None:
    emulator.inject(
        Fault(target="convai_voices", status=200, body="<html>maintenance</html>")
    )
    convai_entry.add_to_hass(hass)

    await hass.config_entries.async_setup(convai_entry.entry_id)
    await hass.async_block_till_done()

    assert convai_entry.state is ConfigEntryState.SETUP_RETRY


def key_refusal(target: str, refusal: tuple[int, str], times: int = 1) -> Fault:
    """The emulator's answer to a missing or wrong key, on `target`.

    Our client always sends its key: a missing one reaches Convai only when
    something on the way drops the header.
    """
    status, reason = refusal
    return Fault(
        target=target, status=status, body=f'{{"ERROR": "{reason}"}}', times=times
    )


# The Voice List API page's errors: what the user sees, and how many requests
# it takes (a 500 is retried).
DOCUMENTED_ERRORS = [
    pytest.param(key_refusal("convai_voices", MISSING_KEY), "invalid_auth", id="400"),
    pytest.param(key_refusal("convai_voices", WRONG_KEY), "invalid_auth", id="401"),
    pytest.param(
        Fault(target="convai_voices", status=500, times=3), "cannot_connect", id="500"
    ),
]


@pytest.mark.parametrize(("fault", "error"), DOCUMENTED_ERRORS)
async def test_documented_voice_list_error_shows_on_the_form_and_a_retry_succeeds(
    hass: HomeAssistant, emulator: Emulator, fault: Fault, error: str
) -> None:
    emulator.inject(fault)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": SERVICE_CONVAI}
    )
    credentials = {CONF_API_KEY: CONVAI_TEST_KEY, SECTION_ADVANCED: {}}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], credentials
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}

    # The user submits again (once the key is right, or Convai is back).
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], credentials
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_LANGUAGE: "en-US"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_VOICE: RACHEL}
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert entry.state is ConfigEntryState.LOADED
    assert len(entry.runtime_data.voices) == VOICE_COUNT
    [entity_id] = [
        entity.entity_id
        for entity in er.async_entries_for_config_entry(
            er.async_get(hass), entry.entry_id
        )
        if entity.domain == "tts"
    ]
    extension, audio = await speak(hass, "Hello.", engine=entity_id)
    assert extension == "wav"
    assert_joined_wav(audio, emulator, sample_rate=22050)


@pytest.mark.parametrize(
    ("fault", "state", "reauth"),
    [
        pytest.param(
            key_refusal("convai_voices", MISSING_KEY),
            ConfigEntryState.SETUP_ERROR,
            True,
            id="400",
        ),
        pytest.param(
            key_refusal("convai_voices", WRONG_KEY),
            ConfigEntryState.SETUP_ERROR,
            True,
            id="401",
        ),
        pytest.param(
            Fault(target="convai_voices", status=500, times=3),
            ConfigEntryState.SETUP_RETRY,
            False,
            id="500",
        ),
    ],
)
async def test_documented_voice_list_error_at_setup(
    hass: HomeAssistant,
    convai_entry: MockConfigEntry,
    emulator: Emulator,
    *,
    fault: Fault,
    state: ConfigEntryState,
    reauth: bool,
) -> None:
    emulator.inject(fault)
    convai_entry.add_to_hass(hass)

    await hass.config_entries.async_setup(convai_entry.entry_id)
    await hass.async_block_till_done()

    assert convai_entry.state is state
    sources = [
        f["context"]["source"] for f in hass.config_entries.flow.async_progress()
    ]
    assert sources == ([SOURCE_REAUTH] if reauth else [])


async def test_entry_with_an_endpoint_speaks_through_it(
    hass: HomeAssistant, emulator: Emulator, emulator_server: EmulatorServer
) -> None:
    """A developer's emulator or proxy at another base URL."""
    data = {**CONVAI_DATA, CONF_ENDPOINT: f"{emulator_server.http_url}/convai"}
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Convai (emulator)",
        data=data,
        options={CONF_VOICE: JENNY},
        unique_id=unique_id_for(data),
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    entity_id = er.async_get(hass).async_get_entity_id("tts", DOMAIN, entry.entry_id)
    assert entity_id is not None

    extension, audio = await tts.async_get_media_source_audio(
        hass, tts.generate_media_source_id(hass, "Hello.", engine=entity_id)
    )

    assert extension == "wav"
    assert_joined_wav(audio, emulator, sample_rate=24000)
    requests = emulator.requests
    assert [(r.kind, r.path) for r in requests] == [
        ("convai_voices", "/convai/tts/get_available_voices"),
        ("convai_synthesis", "/convai/tts/"),
    ]
    assert {r.host.split(":")[0] for r in requests} == {"127.0.0.1"}


@pytest.mark.usefixtures("convai_integration")
@pytest.mark.freeze_time("2026-11-22 12:00:00+00:00")
async def test_diagnostics_of_a_convai_entry_hide_the_key(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    convai_entry: MockConfigEntry,
) -> None:
    diagnostics = await get_diagnostics_for_config_entry(
        hass, hass_client, convai_entry
    )

    assert diagnostics == {
        "entry": {
            "title": "Convai",
            "data": {CONF_SERVICE: SERVICE_CONVAI, CONF_API_KEY: "**REDACTED**"},
            # Migrated: the voice is now the entry's first voice profile.
            "options": {},
        },
        "voice_profiles": {
            "Convai": dict(convai_entry.subentries[convai_entry.entry_id].data)
        },
        "service": {
            "host": "api.convai.com",
            "voice_count": VOICE_COUNT,
            "language_count": 10,
            "voices_fetched_at": "2026-11-22T12:00:00+00:00",
            "voice_cache_age_seconds": 0,
        },
        "voice_list_refresh": {"last_update_success": True, "last_exception": None},
        "usage": {
            "month": "2026-11",
            "characters": 0,
            "requests": 0,
            "last_reset": "2026-11-01T00:00:00+00:00",
            "allowance": None,
            "percent_used": None,
            "warned": [],
        },
        "fallback": {
            "engine": None,
            "count": 0,
            "last_time": None,
            "last_error": None,
            "in_outage": False,
        },
        "last_error": None,
    }
    assert CONVAI_TEST_KEY not in str(diagnostics)


# --- the entity: languages and voices -----------------------------------------------


@pytest.mark.usefixtures("convai_integration")
async def test_entity_is_a_convai_service_device(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
    convai_entry: MockConfigEntry,
) -> None:
    entity = entity_registry.async_get(ENTITY_ID)
    assert entity is not None
    assert entity.unique_id == convai_entry.entry_id
    device = device_registry.async_get(entity.device_id or "")
    assert device is not None
    assert device.entry_type is dr.DeviceEntryType.SERVICE
    assert (device.name, device.manufacturer, device.model) == (
        "Convai",
        "Convai",
        "Convai TTS",
    )
    assert engine(hass).supported_options == ["voice", "preferred_format"]


@pytest.mark.usefixtures("convai_integration")
async def test_languages_come_from_the_voice_list_as_bcp47_tags(
    hass: HomeAssistant,
) -> None:
    entity = engine(hass)

    # Google's cmn-CN, yue-HK and iw-IL, and ar-XA-style private regions, are
    # mapped to the tags Home Assistant matches languages with.
    assert entity.supported_languages == [
        "ar",
        "de-DE",
        "en-AU",
        "en-GB",
        "en-US",
        "es-ES",
        "fr-FR",
        "he-IL",
        "zh-CN",
        "zh-HK",
    ]
    assert entity.default_language == "en-US"


@pytest.mark.usefixtures("convai_integration")
@pytest.mark.parametrize(
    ("language", "voices"),
    [
        (
            "en-US",
            [
                RACHEL,  # the default voice first
                "en-US-Wavenet-D",
                JENNY,
                CALM_NARRATOR,
                "fable_OpenAi_c4d30a32-bcaf-4048-b7b0-0f2bb293205a",
                "nova_OpenAi_5b5e0e13-5d7b-4b8e-9f3c-7a1c2d3e4f50",
                "alloy_OpenAi_9a8b7c6d-1e2f-4a3b-8c5d-6e7f8a9b0c1d",
            ],
        ),
        ("zh-CN", ["cmn-CN-Wavenet-A", "zh-CN-XiaoxiaoNeural"]),
        ("zh-HK", ["yue-HK-Standard-A"]),
        # Native speakers first, then a multilingual voice that also speaks it.
        ("he-IL", ["he-IL-Wavenet-B", CALM_NARRATOR]),
        ("ar", ["ar-XA-Wavenet-A", "ar-SA-HamedNeural"]),
    ],
)
async def test_voice_picker_lists_the_voices_of_a_language(
    hass: HomeAssistant, language: str, voices: list[str]
) -> None:
    offered = engine(hass).async_get_supported_voices(language) or []

    assert [voice.voice_id for voice in offered] == voices


@pytest.mark.usefixtures("convai_integration")
async def test_voice_labels_name_gender_and_language(hass: HomeAssistant) -> None:
    offered = engine(hass).async_get_supported_voices("en-US") or []

    labels = {voice.voice_id: voice.name for voice in offered}
    assert labels[RACHEL] == "Rachel (Female, en-US)"
    assert labels[CALM_NARRATOR] == "Calm Narrator (Female, en-US, multilingual)"


# --- the entity: speaking ---------------------------------------------------------


@pytest.mark.usefixtures("convai_integration")
async def test_wav_of_several_sentences_is_one_valid_wav(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    message = "The washing machine has finished. Please empty it. Thank you!"

    extension, audio = await speak(hass, message)

    assert extension == "wav"
    synthesis = emulator.requests_for("convai_synthesis")
    assert len(synthesis) >= 2  # the first sentence is requested alone
    assert {(r.voice, r.output_format, r.status) for r in synthesis} == {
        (RACHEL, "wav", 200)
    }
    assert " ".join(emulator.spoken_texts()) == message
    assert_joined_wav(audio, emulator, sample_rate=22050)


@pytest.mark.usefixtures("convai_integration")
@pytest.mark.parametrize("convai_options", [{CONF_VOICE: JENNY, CONF_ENCODING: "mp3"}])
async def test_configured_mp3_is_served_as_mp3(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    extension, audio = await speak(hass, "First sentence. Second sentence.")

    assert extension == "mp3"
    assert mp3_frame_count(audio) > 0
    assert set(encodings(emulator)) == {"mp3"}
    assert " ".join(emulator.spoken_texts()) == "First sentence. Second sentence."


@pytest.mark.usefixtures("convai_integration")
async def test_voice_per_call_reaches_convai(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    await speak(hass, "Hello from Jenny.", options={"voice": JENNY})

    [request] = emulator.requests_for("convai_synthesis")
    assert request.voice == JENNY
    assert request.spoken_text == "Hello from Jenny."


@pytest.mark.usefixtures("convai_integration")
@pytest.mark.parametrize(
    ("options", "translation_key"),
    [
        ({"voice": "en-US-NobodyNeural"}, "invalid_voice"),
        ({"voice": 42}, "invalid_option"),
    ],
)
async def test_unknown_voice_is_rejected_before_anything_is_sent(
    hass: HomeAssistant,
    emulator: Emulator,
    options: dict[str, Any],
    translation_key: str,
) -> None:
    with pytest.raises(ServiceValidationError) as err:
        await speak(hass, "Hello.", options=options)

    assert err.value.translation_key == translation_key
    assert emulator.requests_for("convai_synthesis") == []


@pytest.mark.usefixtures("convai_integration")
@pytest.mark.parametrize(
    ("language", "message", "voice"),
    [
        ("de-DE", "Guten Tag.", "de-DE-KatjaNeural"),
        ("zh-CN", "你好。", "cmn-CN-Wavenet-A"),
        ("he-IL", "שלום.", "he-IL-Wavenet-B"),
    ],
)
async def test_other_language_is_spoken_by_its_first_voice(
    hass: HomeAssistant, emulator: Emulator, language: str, message: str, voice: str
) -> None:
    """Rachel speaks only English: another language gets its own voice."""
    await speak(hass, message, language=language)

    [request] = emulator.requests_for("convai_synthesis")
    assert (request.voice, request.spoken_text) == (voice, message)


@pytest.mark.usefixtures("convai_integration")
@pytest.mark.parametrize(
    "convai_options", [{CONF_VOICE: CALM_NARRATOR, CONF_LANGUAGE: "en-US"}]
)
async def test_multilingual_default_voice_keeps_speaking_other_languages(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    await speak(hass, "Guten Tag.", language="de-DE")

    [request] = emulator.requests_for("convai_synthesis")
    assert request.voice == CALM_NARRATOR


@pytest.mark.usefixtures("convai_integration")
async def test_language_no_voice_speaks_is_refused(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    with pytest.raises(ServiceValidationError) as err:
        await stream_from_entity(hass, ["Bonjour."], language="fr-CA")

    assert err.value.translation_key == "no_voice_for_language"
    assert emulator.requests_for("convai_synthesis") == []


# --- the entity: formats and the MP3 fallback ----------------------------------------


@pytest.mark.usefixtures("convai_integration")
async def test_default_options_ask_home_assistant_for_the_configured_encoding(
    hass: HomeAssistant, convai_entry: MockConfigEntry
) -> None:
    before = engine(hass).default_options
    assert before["preferred_format"] == "wav"

    [profile] = convai_entry.subentries.values()
    hass.config_entries.async_update_subentry(
        convai_entry, profile, data={**profile.data, CONF_ENCODING: "mp3"}
    )
    await hass.async_block_till_done()

    after = engine(hass).default_options
    assert after["preferred_format"] == "mp3"
    # Part of HA's cache key: audio made with the old options is not reused.
    assert after["profile"] != before["profile"]


@pytest.mark.usefixtures("convai_integration")
async def test_preferred_mp3_is_asked_of_convai(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    extension, audio = await speak(hass, "Hello.", options={"preferred_format": "mp3"})

    assert extension == "mp3"
    assert mp3_frame_count(audio) > 0
    assert encodings(emulator) == ["mp3"]


@pytest.mark.usefixtures("convai_integration")
@pytest.mark.parametrize("convai_options", [{CONF_VOICE: JENNY, CONF_ENCODING: "mp3"}])
async def test_preferred_wav_is_asked_of_convai(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    extension, audio = await speak(
        hass, "One. Two. Three.", options={"preferred_format": "wav"}
    )

    assert extension == "wav"
    assert set(encodings(emulator)) == {"wav"}
    assert_joined_wav(audio, emulator, sample_rate=24000)


@pytest.mark.usefixtures("convai_integration")
@pytest.mark.parametrize("preferred", ["flac", "ogg", None])
async def test_format_convai_lacks_falls_back_to_the_configured_encoding(
    hass: HomeAssistant, emulator: Emulator, preferred: str | None
) -> None:
    """Home Assistant converts it; the entity answers in what it configured."""
    extension, audio = await stream_from_entity(
        hass, ["Hello."], {"preferred_format": preferred}
    )

    assert extension == "wav"
    assert encodings(emulator) == ["wav"]
    assert_joined_wav(audio, emulator, sample_rate=22050)


@pytest.mark.usefixtures("convai_integration")
@pytest.mark.parametrize(
    "convai_options", [{CONF_VOICE: OLD_BRITISH_MAN, CONF_ENCODING: "mp3"}]
)
async def test_voice_that_refuses_mp3_is_answered_in_wav_and_remembered(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    extension, audio = await stream_from_entity(hass, ["Good evening."])

    assert extension == "wav"
    assert encodings(emulator) == ["mp3", "wav"]
    assert [r.status for r in emulator.requests_for("convai_synthesis")] == [400, 200]
    assert_joined_wav(audio, emulator, sample_rate=22050)

    # The second message goes straight to WAV: no request is wasted on MP3.
    extension, audio = await stream_from_entity(hass, ["Good night."])

    assert extension == "wav"
    assert encodings(emulator) == ["mp3", "wav", "wav"]
    assert emulator.spoken_texts() == ["Good evening.", "Good night."]


@pytest.mark.usefixtures("convai_integration")
@pytest.mark.parametrize("convai_options", [{CONF_VOICE: RACHEL, CONF_ENCODING: "mp3"}])
async def test_mp3_fallback_only_affects_the_voice_that_refused(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    await stream_from_entity(hass, ["Hi."], {"voice": OLD_BRITISH_MAN})
    emulator.reset_requests()

    extension, audio = await stream_from_entity(hass, ["Hi."])

    assert extension == "mp3"
    assert mp3_frame_count(audio) > 0
    assert encodings(emulator) == ["mp3"]


@pytest.mark.usefixtures("convai_integration")
@pytest.mark.parametrize(
    "convai_options", [{CONF_VOICE: OLD_BRITISH_MAN, CONF_ENCODING: "mp3"}]
)
async def test_streamed_reply_is_replayed_in_wav_after_a_refusal(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    """The deltas already read for MP3 are spoken again, none lost or repeated."""
    reply = "The lights are on. The door is locked. It is 21 degrees. Good night!"
    deltas = [reply[i : i + 4] for i in range(0, len(reply), 4)]

    extension, audio = await stream_from_entity(hass, deltas)

    assert extension == "wav"
    assert " ".join(emulator.spoken_texts()) == reply
    assert emulator.spoken_texts()[0] == "The lights are on."
    refused = [r for r in emulator.requests_for("convai_synthesis") if r.status == 400]
    assert refused
    assert {r.output_format for r in refused} == {"mp3"}
    assert_joined_wav(audio, emulator, sample_rate=22050)


@pytest.mark.usefixtures("convai_integration")
@pytest.mark.parametrize("convai_options", [{CONF_VOICE: RACHEL, CONF_ENCODING: "mp3"}])
async def test_other_bad_request_is_not_mistaken_for_a_refused_encoding(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    emulator.inject(
        Fault(
            target="convai_synthesis",
            status=400,
            body='{"result": "Transcript too long."}',
        )
    )

    with pytest.raises(HomeAssistantError) as err:
        await stream_from_entity(hass, ["Hello."])

    assert err.value.translation_key == "bad_request"
    assert err.value.translation_placeholders == {"reason": "Transcript too long."}
    assert encodings(emulator) == ["mp3"]


# --- the entity: streaming ----------------------------------------------------------


@pytest.mark.usefixtures("convai_integration")
async def test_llm_deltas_are_spoken_in_order_first_sentence_alone(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    reply = "The lights are on. The door is locked. It is 21 degrees. Good night!"
    deltas = [reply[i : i + 3] for i in range(0, len(reply), 3)]

    audio = await stream(hass, deltas)

    texts = emulator.spoken_texts()
    assert texts[0] == "The lights are on."
    assert " ".join(texts) == reply
    assert_joined_wav(audio, emulator, sample_rate=22050)


@pytest.mark.usefixtures("convai_integration")
async def test_first_sentence_is_requested_before_the_reply_is_complete(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    """Speech starts while the LLM is still writing."""
    more_text = asyncio.Event()

    async def llm() -> AsyncIterator[str]:
        yield "It is sunny today. "
        yield "Tomorrow"
        await more_text.wait()
        yield " it will rain."

    result = tts.async_create_stream(hass, ENTITY_ID)
    result.async_set_message_stream(llm())
    audio = result.async_stream_result()

    first_chunk = await anext(audio)
    [request] = await emulator.wait_for_requests("convai_synthesis")
    assert request.spoken_text == "It is sunny today."
    more_text.set()
    rest = b"".join([chunk async for chunk in audio])

    assert emulator.spoken_texts() == ["It is sunny today.", "Tomorrow it will rain."]
    assert_joined_wav(first_chunk + rest, emulator, sample_rate=22050)


# --- errors ---------------------------------------------------------------------


@pytest.mark.usefixtures("convai_integration")
@pytest.mark.parametrize(
    "convai_options",
    [
        {CONF_VOICE: RACHEL, CONF_ENCODING: "wav"},
        {CONF_VOICE: RACHEL, CONF_ENCODING: "mp3"},
    ],
    ids=["wav", "mp3"],
)
async def test_rejected_key_is_invalid_auth_and_starts_one_reauth_flow(
    hass: HomeAssistant, emulator: Emulator, convai_entry: MockConfigEntry
) -> None:
    emulator.convai_keys.clear()

    for message in ("One.", "Two."):
        with pytest.raises(HomeAssistantError) as err:
            await speak(hass, message)
        assert err.value.translation_key == "invalid_auth"
    await hass.async_block_till_done()

    assert {r.status for r in emulator.requests_for("convai_synthesis")} == {401}
    flows = [
        flow
        for flow in hass.config_entries.flow.async_progress()
        if flow["context"]["source"] == SOURCE_REAUTH
    ]
    assert len(flows) == 1
    assert flows[0]["context"]["entry_id"] == convai_entry.entry_id


@pytest.mark.usefixtures("convai_integration")
@pytest.mark.parametrize(
    ("fault", "translation_key", "reauth"),
    [
        pytest.param(
            key_refusal("convai_synthesis", MISSING_KEY), "invalid_auth", True, id="400"
        ),
        pytest.param(
            key_refusal("convai_synthesis", WRONG_KEY), "invalid_auth", True, id="401"
        ),
        pytest.param(
            Fault(target="convai_synthesis", status=500, times=3),
            "cannot_connect",
            False,
            id="500",
        ),
    ],
)
async def test_documented_error_while_speaking_and_the_next_message_speaks(
    hass: HomeAssistant,
    emulator: Emulator,
    *,
    fault: Fault,
    translation_key: str,
    reauth: bool,
) -> None:
    emulator.inject(fault)

    with pytest.raises(HomeAssistantError) as err:
        await speak(hass, "Hello.")
    await hass.async_block_till_done()

    assert err.value.translation_key == translation_key
    sources = [
        f["context"]["source"] for f in hass.config_entries.flow.async_progress()
    ]
    assert sources == ([SOURCE_REAUTH] if reauth else [])
    extension, _ = await speak(hass, "Hello again.")
    assert extension == "wav"


@pytest.mark.usefixtures("convai_integration")
async def test_server_error_becomes_a_translated_error(
    hass: HomeAssistant, emulator: Emulator, convai_entry: MockConfigEntry
) -> None:
    emulator.inject(Fault(target="convai_synthesis", status=500, times=10))

    with pytest.raises(HomeAssistantError) as err:
        await speak(hass, "Hello.")

    assert err.value.translation_key == "cannot_connect"
    assert "api.convai.com" in str(err.value.translation_placeholders)
    assert convai_entry.runtime_data.last_error


@pytest.mark.usefixtures("convai_integration")
async def test_json_error_with_status_200_is_an_error_and_is_not_cached(
    hass: HomeAssistant, emulator: Emulator, tts_cache_dir: Path
) -> None:
    """Convai reports some errors as HTTP 200 with JSON instead of audio."""
    emulator.inject(
        Fault(
            target="convai_synthesis",
            status=200,
            body='{"ERROR": "transcript is required"}',
        )
    )

    with pytest.raises(HomeAssistantError) as err:
        await speak(hass, "Hello there.", cache=True)
    assert err.value.translation_key == "bad_request"
    assert err.value.translation_placeholders == {"reason": "transcript is required"}
    await hass.async_block_till_done()
    assert list(tts_cache_dir.iterdir()) == []

    # The same message again is synthesized anew, not served from the cache.
    extension, audio = await speak(hass, "Hello there.", cache=True)
    assert extension == "wav"
    assert [r.status for r in emulator.requests_for("convai_synthesis")] == [200, 200]
    assert emulator.spoken_texts() == ["Hello there."]
    assert_joined_wav(audio, emulator, sample_rate=22050)


@pytest.mark.usefixtures("convai_integration")
async def test_body_that_is_not_audio_is_a_translated_error(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    emulator.inject(
        Fault(target="convai_synthesis", status=200, body="<html>proxy</html>")
    )

    with pytest.raises(HomeAssistantError) as err:
        await speak(hass, "Hello.")

    assert err.value.translation_key == "unexpected_response"


# --- the entity: stopping early ---------------------------------------------------


async def endless_reply(first: str) -> AsyncIterator[str]:
    """An LLM that writes one sentence, then nothing more until it is closed."""
    yield first
    await asyncio.Event().wait()
    yield "never"  # pragma: no cover


async def until_no_request_is_open(emulator: Emulator) -> None:
    """Wait until the emulator has seen every connection end."""
    async with asyncio.timeout(5):
        # The emulator signals arrivals, not departures: poll.
        while emulator.open_requests:  # noqa: ASYNC110
            await asyncio.sleep(0.01)


@pytest.mark.usefixtures("convai_integration")
@pytest.mark.parametrize(
    ("convai_options", "extension"),
    [
        ({CONF_VOICE: RACHEL, CONF_ENCODING: "mp3"}, "mp3"),
        ({CONF_VOICE: OLD_BRITISH_MAN, CONF_ENCODING: "mp3"}, "wav"),
        ({CONF_VOICE: RACHEL, CONF_ENCODING: "wav"}, "wav"),
    ],
)
async def test_listener_leaving_early_stops_everything(
    hass: HomeAssistant, emulator: Emulator, extension: str
) -> None:
    """No request or task outlives a stream its listener closed.

    pytest-homeassistant-custom-component fails the test on lingering tasks.
    """
    entity = engine(hass)
    response = await entity.async_stream_tts_audio(
        TTSAudioRequest(
            entity.default_language,
            dict(entity.default_options),
            endless_reply("The first sentence is complete. The second"),
        )
    )
    assert response.extension == extension
    data = response.data_gen
    assert await anext(data)

    await data.aclose()  # type: ignore[attr-defined]
    await hass.async_block_till_done()

    await until_no_request_is_open(emulator)


@pytest.mark.usefixtures("convai_integration")
@pytest.mark.parametrize("convai_options", [{CONF_VOICE: RACHEL, CONF_ENCODING: "mp3"}])
async def test_cancelled_while_waiting_for_the_first_mp3_answer(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    """The caller gives up before Convai said whether the voice speaks MP3."""
    emulator.inject(Fault(target="convai_synthesis", hang=True))
    entity = engine(hass)
    call = hass.async_create_task(
        entity.async_stream_tts_audio(
            TTSAudioRequest(
                entity.default_language,
                dict(entity.default_options),
                endless_reply("Hello there. How"),
            )
        )
    )
    await emulator.wait_for_requests("convai_synthesis")

    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    await hass.async_block_till_done()

    await until_no_request_is_open(emulator)


@pytest.mark.usefixtures("convai_integration")
@pytest.mark.parametrize(
    "convai_options", [{CONF_VOICE: OLD_BRITISH_MAN, CONF_ENCODING: "mp3"}]
)
async def test_reply_failing_before_the_wav_replay_is_not_spoken_in_part(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    """An LLM failing between the MP3 refusal and the replay fails the message."""
    fail = asyncio.Event()

    async def failing_llm() -> AsyncIterator[str]:
        yield "Good evening. How"
        await fail.wait()
        raise RuntimeError("the conversation agent failed")

    entity = engine(hass)
    response = await entity.async_stream_tts_audio(
        TTSAudioRequest("en-GB", dict(entity.default_options), failing_llm())
    )
    assert response.extension == "wav"
    fail.set()
    await asyncio.sleep(0)  # the agent fails while nobody is reading

    with pytest.raises(RuntimeError, match="the conversation agent failed"):
        async for _chunk in response.data_gen:
            pass
