"""End to end: an Assist voice pipeline that starts at speech to text.

A satellite's part is played over Home Assistant's websocket API
(`assist_pipeline/run` from stt to tts): 16 kHz 16-bit mono PCM goes up in
binary frames of 20 ms, at the pace of speech, each prefixed with the run's
`stt_binary_handler_id`; a frame of that byte alone ends the audio. The
speech is Cloud Speech's own: the test asks the TTS entity for the sentence
as 16 kHz WAV, and the emulator, which said it, recognises it (it finds the
PCM of a text it synthesised in the upload). Home Assistant's default agent
answers, and Cloud Speech speaks the answer.

The emulator runs in a thread of this process (live_emulator.py), so a test
injects faults into it and sees when each body byte of the recognition
request arrived: the upload must start while the speech is still being said.
One hass and emulator serve the module; CLOUD_SPEECH_HASS_PYTHON picks the
Home Assistant (scripts/test runs this against 2026.10 and the latest).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
import time
from typing import Any

import pytest

from tests.emulator.state import Fault

from .audio_checks import check_mp3, check_wav, wav_pcm
from .conftest import setting_up
from .harness import (
    HomeAssistantApi,
    Stack,
    request,
    version_tuple,
)
from .live_emulator import EmulatorThread, live_stack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

#: The emulator's kind (request log, faults) of the Speech to text REST API
#: for short audio.
RECOGNITION = "recognition"

#: Built-in integrations beyond the harness's usual ones: the pipeline and
#: Home Assistant's own conversation agent (their requirements come with the
#: streaming agent's dependencies, see ha_requirements.py).
PIPELINE_CONFIGURATION = """
# An Assist pipeline from speech (tests/e2e/test_voice_pipeline.py).
assist_pipeline:
conversation:
"""
DEFAULT_AGENT = "conversation.home_assistant"


@dataclass(frozen=True)
class Language:
    """A language the pipeline is run in: what is said, who says it."""

    stt_language: str
    #: The pipeline's (and the default agent's) language.
    language: str
    voice: str
    #: A question the default agent answers (HassGetCurrentTime).
    sentence: str


LANGUAGES = {
    "en-US": Language("en-US", "en", "en-US-AriaNeural", "What time is it?"),
    "zh-CN": Language("zh-CN", "zh-CN", "zh-CN-XiaoxiaoNeural", "现在几点？"),
}

SAMPLE_RATE = 16000
SAMPLE_BYTES = 2
#: 20 ms of 16 kHz 16-bit mono: what a satellite sends at a time.
FRAME_BYTES = SAMPLE_RATE * SAMPLE_BYTES // 50
FRAME_SECONDS = FRAME_BYTES / (SAMPLE_RATE * SAMPLE_BYTES)
#: Silence after the speech, longer than Home Assistant's VAD waits for the
#: end of a command (0.7 s); the end frame follows it either way.
TRAILING_SILENCE = 1.0
#: A run must end this long after the last frame, whatever went wrong.
RUN_END_TIMEOUT = 15.0
#: Connecting, and the run-start event after asking for the run.
START_TIMEOUT = 10.0
#: Home Assistant's own bound on the whole run (assist_pipeline/run timeout).
RUN_TIMEOUT = 60
#: A fault lasts for this many requests: more than any retries of one run.
FAULT_TIMES = 20


@dataclass
class Listening:
    """The running stack with Cloud Speech set up."""

    stack: Stack
    api: HomeAssistantApi
    emulator: EmulatorThread
    version: tuple[int, ...]
    tts_entity_id: str = ""
    #: The speech-to-text entity, when the integration has one.
    stt_entity_id: str | None = None
    registry: list[dict[str, Any]] = field(default_factory=list)
    pipelines: dict[str, str] = field(default_factory=dict)

    def stt_entity(self) -> str:
        """The speech-to-text entity; fails the test without one."""
        if self.stt_entity_id is None:
            pytest.fail(
                "Cloud Speech has no stt entity: "
                f"{[entry['entity_id'] for entry in self.registry]}",
                pytrace=False,
            )
        return self.stt_entity_id

    def pipeline(self, language: Language) -> str:
        """An Assist pipeline (created once) from stt to Cloud Speech's TTS."""
        if language.stt_language not in self.pipelines:
            self.pipelines[language.stt_language] = asyncio.run(
                _create_pipeline(self, language)
            )
        return self.pipelines[language.stt_language]

    def recognitions(self) -> int:
        """How many recognition requests the emulator has received."""
        return len(self.emulator.requests(RECOGNITION))


@pytest.fixture(scope="module")
def listening(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Listening]:
    """hass and the emulator (in this process), onboarded, with Cloud Speech."""
    with live_stack(
        tmp_path_factory.mktemp("voice_pipeline"),
        extra_configuration=PIPELINE_CONFIGURATION,
    ) as live:
        listening = Listening(
            live.stack, live.api, live.emulator, version_tuple(live.version)
        )
        api = live.api
        with setting_up(live.stack):
            api.flow(
                "cloud_speech",
                {"next_step_id": "azure"},
                {"cloud": "custom"},
                {"endpoint": live.stack.emulator_url},
                {"language": "en-US"},
                {"voice": LANGUAGES["en-US"].voice},
            )
            listening.tts_entity_id = api.entity_named("tts", "Aria")
            listening.registry = asyncio.run(_registry(api))
            stt = [
                entry
                for entry in listening.registry
                if entry["entity_id"].startswith("stt.")
            ]
            assert len(stt) <= 1, stt
            if stt:
                listening.stt_entity_id = stt[0]["entity_id"]
        yield listening


@pytest.fixture
def api(listening: Listening, socket_enabled: None) -> HomeAssistantApi:
    """The owner's API client (sockets allowed for the test)."""
    return listening.api


async def _registry(api: HomeAssistantApi) -> list[dict[str, Any]]:
    """Cloud Speech's entries in the entity registry."""
    async with api.websocket() as ws:
        entries = await ws.command({"type": "config/entity_registry/list"})
    return [entry for entry in entries if entry["platform"] == "cloud_speech"]


async def _create_pipeline(listening: Listening, language: Language) -> str:
    async with listening.api.websocket() as ws:
        result = await ws.command(
            {
                "type": "assist_pipeline/pipeline/create",
                "name": f"Cloud Speech voice {language.stt_language}",
                "language": language.language,
                "conversation_engine": DEFAULT_AGENT,
                "conversation_language": language.language,
                "stt_engine": listening.stt_entity(),
                "stt_language": language.stt_language,
                "tts_engine": listening.tts_entity_id,
                "tts_language": language.stt_language,
                "tts_voice": language.voice,
                "wake_word_entity": None,
                "wake_word_id": None,
            }
        )
    assert result["stt_engine"] == listening.stt_entity(), result
    assert result["stt_language"] == language.stt_language, result
    return str(result["id"])


def _spoken(listening: Listening, language: Language) -> bytes:
    """The sentence as Cloud Speech says it: 16 kHz 16-bit mono PCM."""
    options = {
        "voice": language.voice,
        "preferred_format": "wav",
        "preferred_sample_rate": SAMPLE_RATE,
        "preferred_sample_channels": 1,
        "preferred_sample_bytes": SAMPLE_BYTES,
    }
    answer = listening.api.call(
        "POST",
        "/api/tts_get_url",
        {
            "engine_id": listening.tts_entity_id,
            "message": language.sentence,
            "language": language.stt_language,
            "options": options,
        },
    )
    status, _headers, audio = request("GET", answer["url"])
    assert status == 200
    check_wav(audio, rate=SAMPLE_RATE, channels=1, sample_bytes=SAMPLE_BYTES)
    return wav_pcm(audio, rate=SAMPLE_RATE, channels=1, sample_bytes=SAMPLE_BYTES)


# --- one run, as a satellite does it -------------------------------------------


@dataclass
class VoiceRun:
    """What the test sent and saw in one pipeline run."""

    events: list[dict[str, Any]] = field(default_factory=list)
    #: When the last frame with speech in it went out (None: no speech sent).
    last_speech_frame_at: float | None = None
    #: When the frame that ends the audio went out (None: the run ended first).
    end_frame_at: float | None = None
    ended_at: float | None = None

    def types(self) -> list[str]:
        """The event types in order."""
        return [event["type"] for event in self.events]

    def event(self, kind: str) -> dict[str, Any]:
        """The data of the one event of this type."""
        found = [event for event in self.events if event["type"] == kind]
        assert len(found) == 1, f"{len(found)} {kind} events in {self.types()}"
        return found[0].get("data") or {}


async def _run(
    listening: Listening, pipeline_id: str, speech: bytes, silence: float
) -> VoiceRun:
    """Stream speech, then silence, then the end frame; collect every event."""
    frames = [
        speech[offset : offset + FRAME_BYTES].ljust(FRAME_BYTES, b"\0")
        for offset in range(0, len(speech), FRAME_BYTES)
    ]
    speech_frames = len(frames)
    frames += [bytes(FRAME_BYTES)] * round(silence / FRAME_SECONDS)
    run = VoiceRun()
    # Connecting and run-start, the audio at its pace, then the run's end.
    budget = START_TIMEOUT + len(frames) * FRAME_SECONDS + 5 + RUN_END_TIMEOUT
    try:
        async with asyncio.timeout(budget):
            await _stream(listening, pipeline_id, run, frames, speech_frames)
    except TimeoutError:
        raise AssertionError(
            f"the run did not end in time; events: {run.types()}"
        ) from None
    return run


async def _stream(
    listening: Listening,
    pipeline_id: str,
    run: VoiceRun,
    frames: list[bytes],
    speech_frames: int,
) -> None:
    started = asyncio.Event()
    ended = asyncio.Event()
    async with listening.api.websocket() as ws:
        assert ws.ws is not None
        message_id = await ws.send(
            {
                "type": "assist_pipeline/run",
                "start_stage": "stt",
                "end_stage": "tts",
                "input": {"sample_rate": SAMPLE_RATE},
                "pipeline": pipeline_id,
                "timeout": RUN_TIMEOUT,
            }
        )

        async def receive() -> None:
            assert ws.ws is not None
            while True:
                message = await ws.ws.receive_json()
                if message.get("id") != message_id:
                    continue
                if message["type"] == "result":
                    assert message["success"], message
                    continue
                event = message["event"]
                run.events.append(event)
                if event["type"] == "run-start":
                    started.set()
                elif event["type"] == "run-end":
                    run.ended_at = time.monotonic()
                    ended.set()
                    return

        receiving = asyncio.create_task(receive())
        try:
            async with asyncio.timeout(START_TIMEOUT):
                await _first(started, receiving)
            handler = run.event("run-start")["runner_data"]["stt_binary_handler_id"]
            prefix = bytes([handler])
            pace_from = time.monotonic()
            for number, frame in enumerate(frames):
                if ended.is_set() or receiving.done():
                    break  # the run is over: no more audio for it
                await ws.ws.send_bytes(prefix + frame)
                if number == speech_frames - 1:
                    run.last_speech_frame_at = time.monotonic()
                # At the pace of speech, as a microphone would deliver it.
                delay = pace_from + (number + 1) * FRAME_SECONDS - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            if not ended.is_set() and not receiving.done():
                await ws.ws.send_bytes(prefix)
                run.end_frame_at = time.monotonic()
            async with asyncio.timeout(RUN_END_TIMEOUT):
                await _first(ended, receiving)
        finally:
            receiving.cancel()


async def _first(event: asyncio.Event, receiving: asyncio.Task[None]) -> None:
    """Wait for the event; a receiver that fails (or stops) ends the wait."""
    waiting = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait({waiting, receiving}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiting.cancel()
    if receiving.done() and not event.is_set():
        receiving.result()  # its exception, if any
        raise AssertionError("the websocket stopped before the run ended")


def _check_ended_in_time(run: VoiceRun) -> None:
    """The run ended (run-end) within RUN_END_TIMEOUT of the audio's end."""
    assert run.ended_at is not None, run.types()
    assert run.types()[-1] == "run-end", run.types()
    last_audio = run.end_frame_at or run.last_speech_frame_at
    if last_audio is not None:
        assert run.ended_at - last_audio < RUN_END_TIMEOUT, run.types()


# --- the tests -----------------------------------------------------------------


def test_the_stt_entity_is_on_the_account_device(
    listening: Listening, api: HomeAssistantApi
) -> None:
    """One stt entity per entry, on the device of the account's usage sensors."""
    stt_entity = listening.stt_entity()
    entries = {entry["entity_id"]: entry for entry in listening.registry}
    stt = entries[stt_entity]
    assert stt["unique_id"] == f"{stt['config_entry_id']}_stt", stt
    sensor_devices = {
        entry["device_id"]
        for entry in listening.registry
        if entry["entity_id"].startswith("sensor.")
    }
    assert stt["device_id"] in sensor_devices, (stt, sensor_devices)
    state = {state["entity_id"]: state for state in api.states()}[stt_entity]
    assert state["state"] != "unavailable", state


@pytest.mark.parametrize("language", list(LANGUAGES.values()), ids=list(LANGUAGES))
def test_a_spoken_question_is_heard_answered_and_spoken(
    listening: Listening, api: HomeAssistantApi, language: Language
) -> None:
    """Speech streamed to the stt entity as it is said; the answer is spoken."""
    pipeline_id = listening.pipeline(language)
    speech = _spoken(listening, language)
    before = listening.recognitions()
    run = asyncio.run(_run(listening, pipeline_id, speech, TRAILING_SILENCE))

    types = run.types()
    assert "error" not in types, run.events
    stt_start = run.event("stt-start")
    assert stt_start["engine"] == listening.stt_entity(), stt_start
    assert stt_start["metadata"]["language"] == language.stt_language, stt_start
    assert run.event("stt-end")["stt_output"]["text"] == language.sentence
    intent = run.event("intent-end")["intent_output"]
    speech_response = intent["response"]["speech"]["plain"]["speech"]
    assert speech_response, intent
    tts_output = run.event("tts-end")["tts_output"]
    assert tts_output["url"], tts_output
    _status, headers, audio = request("GET", listening.stack.url + tts_output["url"])
    if headers.get("Content-Type") == "audio/mpeg":
        check_mp3(audio)
    else:
        assert len(audio) > 1000, headers
    _check_ended_in_time(run)

    # One recognition request, sent while the speech was still being said.
    recognitions = listening.emulator.wait_for_answered(RECOGNITION, before + 1)
    assert len(recognitions) == before + 1, recognitions
    recognition = recognitions[-1]
    assert recognition.status == 200, recognition
    arrival = listening.emulator.body_arrival(recognition)
    assert f"language={language.stt_language}" in arrival.query, arrival.query
    assert run.last_speech_frame_at is not None
    assert arrival.first_byte is not None, arrival
    early = arrival.bytes_before(run.last_speech_frame_at)
    print(  # noqa: T201  # shown with -s
        f"{language.stt_language} on {'.'.join(map(str, listening.version))}: "
        f"{len(speech)} bytes of speech; the upload began "
        f"{run.last_speech_frame_at - arrival.first_byte:.2f} s before the last "
        f"speech frame, {early} of {arrival.total_bytes} body bytes by then; "
        f"answer {speech_response!r}; audio processing "
        f"{stt_start.get('audio_processing')}; events {types}"
    )
    assert arrival.first_byte < run.last_speech_frame_at, arrival
    assert early > 0, arrival
    # The emulator's own note of the first chunk agrees.
    first_chunk_at = getattr(recognition, "first_chunk_at", None)
    assert first_chunk_at is None or first_chunk_at < run.last_speech_frame_at


def _error_run(
    listening: Listening, speech: bytes, silence: float, fault: Fault | None = None
) -> VoiceRun:
    """A run (English pipeline) that must fail; returns it once it ended."""
    pipeline_id = listening.pipeline(LANGUAGES["en-US"])
    before = listening.recognitions()
    if fault is not None:
        listening.emulator.run(lambda emulator: emulator.inject(fault))
    try:
        run = asyncio.run(_run(listening, pipeline_id, speech, silence))
    finally:
        if fault is not None:
            # Never left for a later test, used or not.
            listening.emulator.run(
                lambda emulator: (
                    fault in emulator.faults and emulator.faults.remove(fault)
                )
            )
    _check_ended_in_time(run)
    # Retries (after a 500, say) are the integration's business.
    assert listening.recognitions() > before, "no recognition request"
    return run


def _recognition_fault(status: int) -> Fault:
    """The service answers `status` to every recognition (retries included)."""
    return Fault(target=RECOGNITION, status=status, times=FAULT_TIMES)


def test_a_failing_service_ends_the_run_with_an_stt_error(
    listening: Listening, api: HomeAssistantApi
) -> None:
    """500 from the recognition service: an stt error, and the run ends."""
    speech = _spoken(listening, LANGUAGES["en-US"])
    run = _error_run(listening, speech, TRAILING_SILENCE, _recognition_fault(500))
    assert run.event("error")["code"] == "stt-stream-failed", run.events
    assert "stt-end" not in run.types(), run.events
    assert _reauth_flows(api) == []


def test_silence_ends_the_run_with_no_text_recognized(
    listening: Listening, api: HomeAssistantApi
) -> None:
    """Nothing said: the service hears no speech, the pipeline says no text."""
    run = _error_run(listening, b"", 2.0)
    assert run.event("error")["code"] == "stt-no-text-recognized", run.events
    recognition = listening.emulator.requests(RECOGNITION)[-1]
    assert recognition.status == 200, recognition
    status = getattr(recognition, "recognition_status", "InitialSilenceTimeout")
    assert status == "InitialSilenceTimeout", recognition


def test_a_rejected_key_ends_the_run_and_asks_to_reauthenticate(
    listening: Listening, api: HomeAssistantApi
) -> None:
    """401 from the recognition service: an stt error, and a reauth flow starts.

    Last in the module: the reauth flow stays open.
    """
    speech = _spoken(listening, LANGUAGES["en-US"])
    run = _error_run(listening, speech, TRAILING_SILENCE, _recognition_fault(401))
    assert run.event("error")["code"] == "stt-stream-failed", run.events
    deadline = time.monotonic() + 10
    while not (flows := _reauth_flows(api)):
        assert time.monotonic() < deadline, "no reauth flow started"
        time.sleep(0.2)
    assert len(flows) == 1, flows


def _reauth_flows(api: HomeAssistantApi) -> list[dict[str, Any]]:
    """Cloud Speech's reauth flows in progress."""

    async def progress() -> list[dict[str, Any]]:
        async with api.websocket() as ws:
            flows = await ws.command({"type": "config_entries/flow/progress"})
        return [
            flow
            for flow in flows
            if flow["handler"] == "cloud_speech"
            and flow["context"].get("source") == "reauth"
        ]

    return asyncio.run(progress())
