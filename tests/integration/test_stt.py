"""Speech to text through Home Assistant: the account's entity, against the emulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any
from unittest.mock import patch

from homeassistant.components.stt import (
    AudioBitRates,
    AudioChannels,
    AudioCodecs,
    AudioFormats,
    AudioSampleRates,
    SpeechMetadata,
    SpeechResultState,
    async_get_speech_to_text_entity,
)
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.cloud_speech import helpers
from custom_components.cloud_speech.const import (
    CONF_PROFANITY,
    CONF_SERVICE,
    DOMAIN,
    SERVICE_CONVAI,
)
from custom_components.cloud_speech.helpers import unique_id_for
from custom_components.cloud_speech.speech.http import Timeouts
from tests.emulator import CONVAI_TEST_KEY, TEST_KEY, Emulator, Fault
from tests.speech.test_azure_recognizer import (
    SENTENCE,
    SPEECH,
    noise,
    ogg_opus,
    silence,
)

STT_ENTITY_ID = "stt.azure_speech_chinaeast2_speech_to_text"
FRAME = 640


@pytest.fixture(autouse=True)
def quick_recognition() -> Iterator[None]:
    """Short deadlines and no real waits between retries, for the hung cases."""
    build = helpers.AzureSpeechClient

    async def no_wait(_seconds: float) -> None:
        await asyncio.sleep(0)

    def quick(*args: Any, **kwargs: Any) -> Any:
        return build(
            *args,
            **kwargs,
            # Long enough for the emulator to match the audio on a loaded
            # machine, short enough for the hung case to stay quick.
            recognition_timeouts=Timeouts(connect=1.0, first_byte=1.5, upload=10.0),
            sleep=no_wait,
        )

    with patch.object(helpers, "AzureSpeechClient", quick):
        yield


@pytest.fixture
def taught(emulator: Emulator) -> Emulator:
    emulator.remember_speech(SPEECH, SENTENCE)
    return emulator


def metadata(language: str = "en-US") -> SpeechMetadata:
    """What an Assist pipeline asks for: 16 kHz, 16-bit mono PCM."""
    return SpeechMetadata(
        language=language,
        format=AudioFormats.WAV,
        codec=AudioCodecs.PCM,
        bit_rate=AudioBitRates.BITRATE_16,
        sample_rate=AudioSampleRates.SAMPLERATE_16000,
        channel=AudioChannels.CHANNEL_MONO,
    )


async def frames(pcm: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(pcm), FRAME):
        yield pcm[start : start + FRAME]


async def hear(
    hass: HomeAssistant, pcm: bytes, language: str = "en-US"
) -> tuple[SpeechResultState, str | None]:
    entity = async_get_speech_to_text_entity(hass, STT_ENTITY_ID)
    assert entity is not None
    result = await entity.internal_async_process_audio_stream(
        metadata(language), frames(pcm)
    )
    return result.result, result.text


async def test_the_account_has_one_speech_to_text_entity_on_its_device(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    entry = er.async_get(hass).async_get(STT_ENTITY_ID)
    assert entry is not None
    assert entry.unique_id == f"{init_integration.entry_id}_stt"
    assert entry.config_subentry_id is None  # the account's, not a voice profile's
    device = dr.async_get(hass).async_get(entry.device_id or "")
    assert device is not None
    assert (DOMAIN, f"{init_integration.entry_id}_account") in device.identifiers
    assert hass.states.get(STT_ENTITY_ID) is not None


async def test_it_offers_the_speech_to_text_locales_not_the_voice_locales(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    entity = async_get_speech_to_text_entity(hass, STT_ENTITY_ID)
    assert entity is not None
    languages = set(entity.supported_languages)
    assert {"en-US", "zh-CN", "yue-CN", "zh-HK", "zh-TW", "wuu-CN"} <= languages
    assert entity.check_metadata(metadata("zh-CN"))
    assert not entity.check_metadata(metadata("tlh-QO"))


@pytest.mark.parametrize("language", ["en-US", "zh-CN"])
async def test_speech_comes_back_as_text(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    taught: Emulator,
    language: str,
) -> None:
    assert await hear(hass, silence(0.2) + SPEECH + silence(0.5), language) == (
        SpeechResultState.SUCCESS,
        SENTENCE,
    )
    [request] = taught.requests_for("recognition")
    assert request.host == "chinaeast2.stt.speech.azure.cn"
    assert request.language == language


@pytest.mark.parametrize("audio", [silence(1.0), noise(1.0)], ids=["silence", "noise"])
async def test_nothing_recognised_is_no_text_for_assist(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    taught: Emulator,
    audio: bytes,
) -> None:
    assert await hear(hass, audio) == (SpeechResultState.SUCCESS, "")


@pytest.mark.parametrize(
    ("fault", "message", "reauth"),
    [
        (Fault("recognition", status=401), "rejected the credentials", True),
        (Fault("recognition", status=403), "rejected the credentials", True),
        (
            Fault("recognition", status=429, headers={"Retry-After": "60"}),
            "rate limiting",
            False,
        ),
        (Fault("recognition", status=500, times=2), "HTTP 500", False),
        (Fault("recognition", hang=True, times=2), "did not answer", False),
        (Fault("recognition", cut_after=0, times=2), "broke off", False),
        (Fault("recognition", status=404), "does not offer speech to text", False),
    ],
    ids=["401", "403", "429", "500", "hung", "cut", "container"],
)
async def test_failures_end_the_run_cleanly_and_the_next_run_is_heard(  # noqa: PLR0917 - fixtures and table columns
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    taught: Emulator,
    caplog: pytest.LogCaptureFixture,
    fault: Fault,
    message: str,
    reauth: bool,
) -> None:
    taught.faults.append(fault)

    assert await hear(hass, SPEECH) == (SpeechResultState.ERROR, None)

    [record] = [r for r in caplog.records if r.name.endswith("cloud_speech.stt")]
    assert record.exc_info is None  # a sentence in the log, no traceback
    assert TEST_KEY not in caplog.text
    assert init_integration.runtime_data.last_error is not None
    assert message in init_integration.runtime_data.last_error
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert any(flow["context"]["source"] == SOURCE_REAUTH for flow in flows) is reauth

    assert await hear(hass, SPEECH) == (SpeechResultState.SUCCESS, SENTENCE)


async def test_the_log_says_what_failed_in_the_users_words(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    taught: Emulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    taught.faults.append(Fault("recognition", status=404))
    await hear(hass, SPEECH)
    assert "does not offer speech to text over REST" in caplog.text
    assert "WebSocket" in caplog.text  # the translated string, not the key


async def test_an_unsupported_language_is_refused_without_a_request(
    hass: HomeAssistant, init_integration: MockConfigEntry, taught: Emulator
) -> None:
    assert await hear(hass, SPEECH, "tlh-QO") == (SpeechResultState.ERROR, None)
    assert taught.requests_for("recognition") == []


@pytest.mark.parametrize(
    ("profanity", "sent"), [("raw", "raw"), ("removed", "removed")]
)
async def test_the_profanity_option_reaches_the_service(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    taught: Emulator,
    profanity: str,
    sent: str,
) -> None:
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_PROFANITY: profanity}
    )
    await hass.async_block_till_done()
    assert init_integration.options[CONF_PROFANITY] == profanity

    await hear(hass, SPEECH)
    [request] = taught.requests_for("recognition")
    assert request.profanity == sent


async def test_the_usage_meter_counts_the_audio_heard(
    hass: HomeAssistant, init_integration: MockConfigEntry, taught: Emulator
) -> None:
    await hear(hass, SPEECH + silence(0.5))
    assert init_integration.runtime_data.usage.usage.audio_seconds == pytest.approx(1.5)


async def test_convai_accounts_have_no_speech_to_text(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    data = {CONF_SERVICE: SERVICE_CONVAI, CONF_API_KEY: CONVAI_TEST_KEY}
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Convai",
        data=data,
        unique_id=unique_id_for(data),
        version=2,
        minor_version=1,
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert hass.states.async_entity_ids("stt") == []
    schema = (await hass.config_entries.options.async_init(entry.entry_id))[
        "data_schema"
    ]
    assert schema is not None
    assert CONF_PROFANITY not in schema.schema


async def test_ogg_opus_comes_back_as_text_too(
    hass: HomeAssistant, init_integration: MockConfigEntry, taught: Emulator
) -> None:
    entity = async_get_speech_to_text_entity(hass, STT_ENTITY_ID)
    assert entity is not None
    ogg = metadata()
    ogg.format, ogg.codec = AudioFormats.OGG, AudioCodecs.OPUS
    assert entity.check_metadata(ogg)
    result = await entity.internal_async_process_audio_stream(
        ogg, frames(ogg_opus(SPEECH + silence(0.3)))
    )
    assert (result.result, result.text) == (SpeechResultState.SUCCESS, SENTENCE)


async def test_a_format_and_codec_the_api_does_not_pair_are_refused(
    hass: HomeAssistant, init_integration: MockConfigEntry, taught: Emulator
) -> None:
    entity = async_get_speech_to_text_entity(hass, STT_ENTITY_ID)
    assert entity is not None
    odd = metadata()
    odd.codec = AudioCodecs.OPUS  # Opus in WAV
    result = await entity.internal_async_process_audio_stream(odd, frames(SPEECH))
    assert result.result is SpeechResultState.ERROR
    assert taught.requests_for("recognition") == []
