"""Never silent: another engine speaks when the cloud cannot, and only then."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
import io
import math
import struct
from typing import Any
from unittest.mock import patch
import wave

from homeassistant.components.tts import TextToSpeechEntity, TtsAudioType
from homeassistant.config_entries import (
    SOURCE_REAUTH,
    ConfigEntry,
    ConfigFlow,
    ConfigSubentryDataWithId,
)
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockModule,
    MockPlatform,
    mock_config_flow,
    mock_integration,
    mock_platform,
)

from custom_components.cloud_speech.const import (
    CONF_FALLBACK_ENGINE,
    CONF_VOICE,
    DOMAIN,
    SUBENTRY_VOICE_PROFILE,
)
from custom_components.cloud_speech.fallback import issue_id
from custom_components.cloud_speech.helpers import unique_id_for
from tests.emulator import Emulator, EmulatorServer, Fault

from .conftest import AZURE_CHINA_DATA
from .test_faults import ClientTuning, tuned_clients
from .test_streaming_batches import FOURTH, SECOND, THIRD, synthesis_texts
from .tts_calls import speak, stream, text_stream

CLOUD = "tts.kitchen"
LOCAL = "tts.local_voice"
MESSAGE = "The front door is open."
OUTAGE = 20  # requests a fault lasts: every retry fails too


def tone_wav(seconds: float = 0.3) -> bytes:
    samples = int(16000 * seconds)
    frames = struct.pack(
        f"<{samples}h",
        *(int(6000 * math.sin(2 * math.pi * 330 * n / 16000)) for n in range(samples)),
    )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16000)
        wav.writeframes(frames)
    return buffer.getvalue()


class LocalVoice(TextToSpeechEntity):
    """A local engine, as Piper would be: it speaks whatever it is given."""

    _attr_name = "Local voice"
    _attr_unique_id = "local-voice"

    def __init__(self) -> None:
        self.spoken: list[str] = []

    @property
    def supported_languages(self) -> list[str]:
        return ["en-US", "zh-CN"]

    @property
    def default_language(self) -> str:
        return "en-US"

    async def async_get_tts_audio(
        self, message: str, language: str, options: dict[str, Any]
    ) -> TtsAudioType:
        self.spoken.append(message)
        return "wav", tone_wav()


class LocalVoiceFlow(ConfigFlow):
    """The local engine's (empty) config flow: Home Assistant needs one."""


@pytest.fixture
async def local_voice(hass: HomeAssistant) -> AsyncIterator[LocalVoice]:
    """tts.local_voice, from an integration of the test's own making."""
    voice = LocalVoice()

    async def setup_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
        await hass.config_entries.async_forward_entry_setups(entry, [Platform.TTS])
        return True

    async def setup_tts(
        hass: HomeAssistant,
        entry: ConfigEntry,
        add_entities: AddConfigEntryEntitiesCallback,
    ) -> None:
        add_entities([voice])

    mock_integration(hass, MockModule("local_voice", async_setup_entry=setup_entry))
    mock_platform(hass, "local_voice.config_flow")
    mock_platform(hass, "local_voice.tts", MockPlatform(async_setup_entry=setup_tts))
    entry = MockConfigEntry(domain="local_voice")
    entry.add_to_hass(hass)
    with mock_config_flow("local_voice", LocalVoiceFlow):
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        assert hass.states.get(LOCAL) is not None
        yield voice


def account(fallback: str | None) -> MockConfigEntry:
    """The Azure China account with one profile, and `fallback` in its options."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Azure Speech (chinaeast2)",
        data=AZURE_CHINA_DATA,
        options={CONF_FALLBACK_ENGINE: fallback} if fallback else {},
        unique_id=unique_id_for(AZURE_CHINA_DATA),
        version=2,
        minor_version=1,
        subentries_data=[
            ConfigSubentryDataWithId(
                subentry_id="kitchen",
                data={CONF_VOICE: "en-US-AriaNeural"},
                subentry_type=SUBENTRY_VOICE_PROFILE,
                title="Kitchen",
                unique_id=None,
            )
        ],
    )


@pytest.fixture(autouse=True)
def quick_clients() -> Iterator[ClientTuning]:
    """Short deadlines and no real waits between retries."""
    with (
        tuned_clients(ClientTuning()) as tuning,
        # The 6 s budget, shortened so that the hung case stays quick.
        patch("custom_components.cloud_speech.FIRST_AUDIO_BUDGET", 0.5),
    ):
        yield tuning


async def set_up(hass: HomeAssistant, fallback: str | None = LOCAL) -> MockConfigEntry:
    entry = account(fallback)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


@pytest.fixture
async def with_fallback(
    hass: HomeAssistant, local_voice: LocalVoice
) -> MockConfigEntry:
    return await set_up(hass)


def repair_raised(hass: HomeAssistant, entry: MockConfigEntry) -> bool:
    return (
        ir.async_get(hass).async_get_issue(DOMAIN, issue_id(entry.entry_id)) is not None
    )


async def refuse_connections(server: EmulatorServer) -> Callable[[], Awaitable[None]]:
    """Close the emulator's ports; return how to open them again (the same ones)."""
    await server.stop()
    return server.restart


OUTAGES: dict[str, Fault | None] = {
    "refused": None,
    "cut": Fault(cut_after=0, times=OUTAGE),
    "hung": Fault(hang=True, times=OUTAGE),
    "503 repeated": Fault(status=503, times=OUTAGE),
    "429 too long to wait": Fault(
        status=429, headers={"Retry-After": "60"}, times=OUTAGE
    ),
    "401": Fault(status=401, times=OUTAGE),
}


@pytest.mark.parametrize("fault", OUTAGES.values(), ids=OUTAGES.keys())
async def test_an_outage_is_spoken_by_the_fallback_and_the_cloud_voice_returns(  # noqa: PLR0917 - fixtures and the table
    hass: HomeAssistant,
    with_fallback: MockConfigEntry,
    local_voice: LocalVoice,
    emulator: Emulator,
    emulator_server: EmulatorServer,
    caplog: pytest.LogCaptureFixture,
    fault: Fault | None,
) -> None:
    reopen = None
    if fault is None:
        reopen = await refuse_connections(emulator_server)
    else:
        emulator.faults.append(fault)

    extension, audio = await speak(hass, MESSAGE, engine=CLOUD, cache=True)
    await hass.async_block_till_done()

    # The player gets the local engine's audio, in the format it asked for.
    assert local_voice.spoken == [MESSAGE]
    assert extension == "mp3"
    assert audio
    assert repair_raised(hass, with_fallback)
    assert "announcements go to tts.local_voice" in caplog.text
    assert with_fallback.runtime_data.fallback.count == 1
    if fault is not None and fault.status == 401:
        flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]

    # The service is back: the same message, cache on, is the cloud voice.
    if reopen is not None:
        await reopen()
    emulator.faults.clear()
    # (A cut connection may have synthesized it before breaking off.)
    synthesized = len(emulator.spoken_texts())
    _, recovered = await speak(hass, MESSAGE, engine=CLOUD, cache=True)
    await hass.async_block_till_done()
    assert len(emulator.spoken_texts()) == synthesized + 1
    assert recovered != audio
    assert local_voice.spoken == [MESSAGE]
    assert not repair_raised(hass, with_fallback)

    # And that is what the cache keeps from now on.
    _, again = await speak(hass, MESSAGE, engine=CLOUD, cache=True)
    assert again == recovered
    assert len(emulator.spoken_texts()) == synthesized + 1


async def test_an_outage_warns_once_however_many_announcements(
    hass: HomeAssistant,
    with_fallback: MockConfigEntry,
    local_voice: LocalVoice,
    emulator: Emulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    emulator.faults.append(Fault(status=503, times=OUTAGE * 3))
    for message in ("One.", "Two.", "Three."):
        await speak(hass, message, engine=CLOUD)
    assert local_voice.spoken == ["One.", "Two.", "Three."]
    assert caplog.text.count("announcements go to") == 1
    assert with_fallback.runtime_data.fallback.count == 3
    assert with_fallback.runtime_data.fallback.last_time is not None


CALLER_MISTAKES: dict[str, tuple[str, dict[str, Any]]] = {
    "unknown voice": (MESSAGE, {"voice": "en-US-NobodyNeural"}),
    "bad style": (MESSAGE, {"style": "furious-and-loud"}),
    "bad rate": (MESSAGE, {"rate": 500}),
    "bad ssml": ("<speak><voice>unclosed</speak>", {}),
    "service refuses the ssml (400)": (MESSAGE, {}),
}


@pytest.mark.parametrize(
    ("message", "options"), CALLER_MISTAKES.values(), ids=CALLER_MISTAKES.keys()
)
async def test_the_callers_mistakes_are_refused_and_not_masked(  # noqa: PLR0917 - fixtures and the table
    hass: HomeAssistant,
    with_fallback: MockConfigEntry,
    local_voice: LocalVoice,
    emulator: Emulator,
    message: str,
    options: dict[str, Any],
) -> None:
    if not options and not message.startswith("<"):
        emulator.faults.append(Fault(status=400, body="Invalid SSML", times=OUTAGE))
    with pytest.raises(HomeAssistantError):
        await speak(hass, message, engine=CLOUD, options=options)
    assert local_voice.spoken == []
    assert not repair_raised(hass, with_fallback)


async def test_a_streamed_reply_goes_to_the_fallback_whole(
    hass: HomeAssistant,
    with_fallback: MockConfigEntry,
    local_voice: LocalVoice,
    emulator: Emulator,
) -> None:
    emulator.faults.append(Fault(status=503, times=OUTAGE))
    audio = await stream(
        hass,
        text_stream("The front door ", "is open. ", "The garage ", "is closed."),
        engine=CLOUD,
    )
    assert audio
    assert local_voice.spoken == ["The front door is open. The garage is closed."]


async def test_after_audio_has_begun_a_failure_ends_the_stream_as_before(
    hass: HomeAssistant,
    with_fallback: MockConfigEntry,
    local_voice: LocalVoice,
    emulator: Emulator,
) -> None:
    emulator.faults.append(Fault(cut_after=2000))

    async def reply() -> AsyncIterator[str]:
        yield "The front door is open. "
        yield "The garage is closed."

    with pytest.raises(HomeAssistantError):
        await stream(hass, reply(), engine=CLOUD)
    assert local_voice.spoken == []


async def test_without_a_fallback_an_outage_fails_as_before(
    hass: HomeAssistant, local_voice: LocalVoice, emulator: Emulator
) -> None:
    entry = await set_up(hass, fallback=None)
    emulator.faults.append(Fault(status=503, times=OUTAGE))
    with pytest.raises(HomeAssistantError, match="Cannot reach"):
        await speak(hass, MESSAGE, engine=CLOUD)
    assert local_voice.spoken == []
    assert not repair_raised(hass, entry)


async def test_an_unavailable_fallback_gives_the_original_error(
    hass: HomeAssistant,
    with_fallback: MockConfigEntry,
    local_voice: LocalVoice,
    emulator: Emulator,
) -> None:
    hass.states.async_set(LOCAL, "unavailable")
    emulator.faults.append(Fault(status=503, times=OUTAGE))
    with pytest.raises(HomeAssistantError, match="Cannot reach"):
        await speak(hass, MESSAGE, engine=CLOUD)
    assert local_voice.spoken == []


async def test_a_cloud_speech_fallback_gives_the_original_error_not_a_loop(
    hass: HomeAssistant, local_voice: LocalVoice, emulator: Emulator
) -> None:
    await set_up(hass, fallback=CLOUD)
    emulator.faults.append(Fault(status=503, times=OUTAGE))
    with pytest.raises(HomeAssistantError, match="Cannot reach"):
        await speak(hass, MESSAGE, engine=CLOUD)
    assert local_voice.spoken == []


async def test_the_options_form_offers_other_engines_and_clears(
    hass: HomeAssistant, with_fallback: MockConfigEntry, local_voice: LocalVoice
) -> None:
    result = await hass.config_entries.options.async_init(with_fallback.entry_id)
    schema = result["data_schema"]
    assert schema is not None
    selector = next(
        value for key, value in schema.schema.items() if key == CONF_FALLBACK_ENGINE
    )
    assert selector.config["exclude_entities"] == [CLOUD]

    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    await hass.async_block_till_done()
    assert CONF_FALLBACK_ENGINE not in with_fallback.options
    assert with_fallback.runtime_data.fallback.engine is None


async def test_diagnostics_show_how_often_the_fallback_spoke(
    hass: HomeAssistant,
    with_fallback: MockConfigEntry,
    local_voice: LocalVoice,
    emulator: Emulator,
) -> None:
    emulator.faults.append(Fault(status=503, times=OUTAGE))
    await speak(hass, MESSAGE, engine=CLOUD)
    diagnostics = with_fallback.runtime_data.fallback.as_diagnostics()
    assert diagnostics["engine"] == LOCAL
    assert diagnostics["count"] == 1
    assert diagnostics["in_outage"] is True
    assert "Cannot reach" in diagnostics["last_error"]


async def test_a_fallback_chosen_costs_the_cloud_no_extra_request(
    hass: HomeAssistant,
    with_fallback: MockConfigEntry,
    local_voice: LocalVoice,
    emulator: Emulator,
) -> None:
    """The text is read through a replay, and batched exactly as without one."""
    sentences = ["Hello there.", SECOND, THIRD, FOURTH, "Have a lovely evening."]
    await speak(hass, " ".join(sentences), engine=CLOUD)
    assert synthesis_texts(emulator) == [sentences[0], " ".join(sentences[1:])]
    assert local_voice.spoken == []
