"""End to end without a browser: what Home Assistant's own APIs do with Cloud Speech.

One real `hass` and the emulator for the whole module (CLOUD_SPEECH_HASS_PYTHON
picks the Home Assistant: scripts/test runs this against 2026.10 and the latest
release). Cloud Speech and a streaming conversation agent of the tests' own
(tests/e2e/streaming_agent) are added through the REST config-flow API, and an
Assist pipeline joins them. Then:

- `tts.speak` through the REST API in MP3 and in the WAV formats an Assist
  satellite asks for, each fetched and checked (a valid file of exactly the
  requested format), counting the ffmpeg conversions Home Assistant runs: an
  ffmpeg first on hass's PATH logs every call before running the real one.
  Since 2026.11 Home Assistant converts only options the entity does not
  support, so there must be none; 2026.10 converts every WAV request with a
  sample rate, which also shows the count sees conversions when they happen.
- one Assist pipeline run (websocket `assist_pipeline/run`, intent to tts)
  whose reply the agent writes a few characters at a time: Home Assistant
  streams it into the entity's `async_stream_tts_audio`, and the audio must
  start while the reply is still unfinished.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
import time
from typing import Any
import urllib.parse

import aiohttp
import pytest
import pytest_socket

from .audio_checks import check_mp3, check_wav
from .conftest import OWNER
from .harness import (
    MEDIA_PLAYER,
    STREAMING_AGENT_DIR,
    ApiError,
    HomeAssistantApi,
    Stack,
    StackError,
    ffmpeg_conversions,
    free_port,
    logging_ffmpeg,
    request,
    running_version,
    version_tuple,
    write_config,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


VOICE = "en-US-AriaNeural"
#: The first release whose tts manager leaves alone the preferred options an
#: entity supports (so WAV at a satellite's rate needs no ffmpeg).
NO_CONVERSION_SINCE = (2026, 11)
WAV_16K = {
    "preferred_format": "wav",
    "preferred_sample_rate": 16000,
    "preferred_sample_channels": 1,
    "preferred_sample_bytes": 2,
}
WAV_22K = WAV_16K | {"preferred_sample_rate": 22050}
#: A pipeline run waits this long for the first audio before it fails; the
#: agent waits longer for its go-ahead, so a reply that was not streamed
#: cannot pass by finishing first.
FIRST_AUDIO_TIMEOUT = 45.0


@dataclass
class Speaking:
    """The running stack with Cloud Speech, the agent and a pipeline set up."""

    stack: Stack
    api: HomeAssistantApi
    version: tuple[int, ...]
    ffmpeg_log: Path
    entity_id: str = ""
    agent_id: str = ""
    pipeline_id: str = ""

    def conversions(self) -> list[str]:
        """Every ffmpeg call hass made that converts audio (not `-version`)."""
        return ffmpeg_conversions(self.ffmpeg_log)

    def synthesis_formats(self) -> list[str]:
        """The output formats of the synthesis requests the emulator served."""
        assert self.stack.emulator.log_path is not None
        return [
            line.rsplit("format=", 1)[-1]
            for line in self.stack.emulator.log_path.read_text(
                errors="replace"
            ).splitlines()
            if "[synthesis]" in line
        ]

    def synthesis_formats_once(self, count: int, timeout: float = 10) -> list[str]:
        """`synthesis_formats`, once at least `count` requests are logged.

        The emulator logs a request once its answer has gone out, which may be
        after the audio has reached Home Assistant and the test.
        """
        deadline = time.monotonic() + timeout
        while len(formats := self.synthesis_formats()) < count:
            assert time.monotonic() < deadline, formats
            time.sleep(0.1)
        return formats


@pytest.fixture(scope="module")
def speaking(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Speaking]:
    """hass and the emulator, onboarded, with Cloud Speech, the agent, a pipeline."""
    # Module scope comes before the tests' socket_enabled; everything here
    # talks to 127.0.0.1 only.
    pytest_socket.enable_socket()
    directory = tmp_path_factory.mktemp("speech_api")
    ffmpeg_log = directory / "ffmpeg-calls.log"
    config_dir = directory / "config"
    ha_port = free_port()
    write_config(config_dir, port=ha_port, extra_integrations=[STREAMING_AGENT_DIR])
    stack = Stack(
        config_dir,
        ha_port,
        free_port(),
        log_dir=directory,
        hass_env=logging_ffmpeg(directory / "bin", ffmpeg_log),
    )
    try:
        stack.start()
        api = HomeAssistantApi(stack.url)
        api.onboard(**OWNER)
        api.wait_until_running()
        # scripts/test names the version it means to test; make sure it is.
        version = version_tuple(running_version(api))
        speaking = Speaking(stack, api, version, ffmpeg_log)
        api.flow(
            "cloud_speech",
            {"next_step_id": "azure"},
            {"cloud": "custom"},
            {"endpoint": stack.emulator_url},
            {"language": "en-US"},
            {"voice": VOICE},
        )
        api.flow("e2e_streaming_agent")
        # The first voice profile, named after its voice.
        speaking.entity_id = api.entity_named("tts", "Aria")
        speaking.agent_id = api.entity_named("conversation", "Streaming agent")
        speaking.pipeline_id = asyncio.run(_create_pipeline(speaking))
    except (StackError, ApiError, AssertionError, OSError) as err:
        stack.stop()
        raise pytest.fail.Exception(
            f"Setting up failed: {type(err).__name__}: {err}\n{stack.log_tail()}",
            pytrace=False,
        ) from None
    try:
        yield speaking
    finally:
        stack.stop()


@pytest.fixture
def api(speaking: Speaking, socket_enabled: None) -> HomeAssistantApi:
    """The owner's API client (sockets allowed for the test)."""
    return speaking.api


# --- tts.speak in the formats media players and satellites ask for ------------


@pytest.mark.parametrize(
    ("options", "content_type"),
    [
        pytest.param({}, "audio/mpeg", id="mp3-default"),
        pytest.param(WAV_16K, "audio/x-wav", id="wav-16kHz-mono-16bit"),
        pytest.param(WAV_22K, "audio/x-wav", id="wav-22.05kHz-mono-16bit"),
    ],
)
def test_tts_speak_in_the_requested_format(
    speaking: Speaking,
    api: HomeAssistantApi,
    options: dict[str, Any],
    content_type: str,
) -> None:
    """tts.speak, then the audio for it: the requested format, no ffmpeg since 2026.11."""
    # A message of its own per case: nothing comes from HA's caches.
    rate = options.get("preferred_sample_rate", "default")
    message = f"The washing machine has finished, case {rate}."
    before = len(speaking.conversions())
    synthesis_before = len(speaking.synthesis_formats())
    changed = api.call(
        "POST",
        "/api/services/tts/speak",
        {
            "entity_id": speaking.entity_id,
            "media_player_entity_id": MEDIA_PLAYER,
            "message": message,
            **({"options": options} if options else {}),
        },
    )
    played = {state["entity_id"]: state for state in changed}[MEDIA_PLAYER]
    media_id = played["attributes"]["media_content_id"]
    assert media_id.startswith(f"media-source://tts/{speaking.entity_id}?"), media_id
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(media_id).query)
    assert query["message"] == [message], media_id

    # The URL for the same message and options: the audio tts.speak made.
    answer = api.call(
        "POST",
        "/api/tts_get_url",
        {"engine_id": speaking.entity_id, "message": message, "options": options},
    )
    status, headers, audio = request("GET", answer["url"])
    assert status == 200
    if options:
        assert headers.get("Content-Type") in (content_type, "audio/wav"), headers
        check_wav(
            audio,
            rate=options["preferred_sample_rate"],
            channels=options["preferred_sample_channels"],
            sample_bytes=options["preferred_sample_bytes"],
        )
        # The entity asked Azure for exactly that format.
        azure_rate = {16000: "16khz", 22050: "22050hz"}[rate]
        requested = speaking.synthesis_formats_once(synthesis_before + 1)
        assert set(requested[synthesis_before:]) == {f"raw-{azure_rate}-16bit-mono-pcm"}
    else:
        assert headers.get("Content-Type") == content_type, headers
        check_mp3(audio)

    conversions = speaking.conversions()[before:]
    print(  # noqa: T201  # shown with -s
        f"tts.speak {rate} on {'.'.join(map(str, speaking.version))}: "
        f"{len(conversions)} ffmpeg conversion(s)"
    )
    if speaking.version >= NO_CONVERSION_SINCE or not options:
        assert conversions == [], conversions
    else:
        # 2026.10 converts whenever a sample rate is asked for, even to the
        # format the entity already produced.
        assert len(conversions) == 1, conversions


# --- an Assist pipeline with a streamed reply ----------------------------------


@dataclass
class PipelineRun:
    """What the test saw of one pipeline run."""

    events: list[dict[str, Any]] = field(default_factory=list)
    audio: bytes = b""
    #: The reply text the agent had written when the first audio arrived.
    written_at_first_audio: str | None = None


async def _create_pipeline(speaking: Speaking) -> str:
    async with speaking.api.websocket() as ws:
        result = await ws.command(
            {
                "type": "assist_pipeline/pipeline/create",
                "name": "Cloud Speech e2e",
                "language": "en",
                "conversation_engine": speaking.agent_id,
                "conversation_language": "en",
                "stt_engine": None,
                "stt_language": None,
                "tts_engine": speaking.entity_id,
                "tts_language": "en-US",
                "tts_voice": VOICE,
                "wake_word_entity": None,
                "wake_word_id": None,
            }
        )
        return str(result["id"])


async def _run_pipeline(speaking: Speaking) -> PipelineRun:
    """Run intent → tts, fetch the audio as it streams, release the agent."""
    run = PipelineRun()
    written: list[str] = []
    first_audio = asyncio.Event()
    assert speaking.api.tokens is not None
    headers = {"Authorization": f"Bearer {speaking.api.tokens.access_token}"}

    async def fetch(session: aiohttp.ClientSession, url: str) -> None:
        async with session.get(speaking.stack.url + url) as response:
            assert response.status == 200, response.status
            chunks = []
            async for chunk in response.content.iter_any():
                if chunk and not first_audio.is_set():
                    run.written_at_first_audio = "".join(written)
                    first_audio.set()
                chunks.append(chunk)
            run.audio = b"".join(chunks)

    async with speaking.api.websocket() as ws:
        assert ws.ws is not None
        assert ws.session is not None
        message_id = await ws.send(
            {
                "type": "assist_pipeline/run",
                "start_stage": "intent",
                "end_stage": "tts",
                "input": {"text": "How is the house?"},
                "pipeline": speaking.pipeline_id,
            }
        )
        fetching: asyncio.Task[None] | None = None
        released = False
        async with asyncio.timeout(FIRST_AUDIO_TIMEOUT + 30):
            while True:
                receive = asyncio.ensure_future(ws.ws.receive_json())
                waiting = {receive}
                if fetching is not None and not released:
                    waiting.add(asyncio.ensure_future(first_audio.wait()))
                done, pending = await asyncio.wait(
                    waiting,
                    timeout=FIRST_AUDIO_TIMEOUT,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                for task in pending - {receive}:
                    task.cancel()
                if first_audio.is_set() and not released:
                    # The agent is holding back the rest of its reply: let it go.
                    released = True
                    async with ws.session.post(
                        speaking.stack.url
                        + "/api/services/e2e_streaming_agent/release",
                        headers=headers,
                    ) as response:
                        assert response.status == 200, await response.text()
                if not done:
                    raise AssertionError(
                        "no audio while the agent was writing its reply "
                        f"(events so far: {[e.get('type') for e in run.events]})"
                    )
                if receive not in done:
                    receive.cancel()
                    continue
                message = receive.result()
                if message.get("id") != message_id or message["type"] != "event":
                    assert message.get("success", True), message
                    continue
                event = message["event"]
                run.events.append(event)
                data = event.get("data") or {}
                if event["type"] == "run-start":
                    url = data["tts_output"]["url"]
                    fetching = asyncio.create_task(fetch(ws.session, url))
                elif event["type"] == "intent-progress":
                    delta = data.get("chat_log_delta") or {}
                    written.append(delta.get("content") or "")
                elif event["type"] in ("run-end", "error"):
                    break
        assert fetching is not None, run.events
        await asyncio.wait_for(fetching, FIRST_AUDIO_TIMEOUT)
    return run


def test_assist_pipeline_streams_the_reply_into_cloud_speech(
    speaking: Speaking, api: HomeAssistantApi
) -> None:
    """A reply written bit by bit is spoken while it is still being written."""
    synthesis_before = len(speaking.synthesis_formats())
    run = asyncio.run(_run_pipeline(speaking))
    types = [event["type"] for event in run.events]
    assert "error" not in types, run.events
    start = next(event for event in run.events if event["type"] == "run-start")
    assert start["data"]["tts_output"]["stream_response"] is True, start
    progress = [
        event["data"] for event in run.events if event["type"] == "intent-progress"
    ]
    assert {"tts_start_streaming": True} in progress, progress
    deltas = [
        data["chat_log_delta"]["content"]
        for data in progress
        if data.get("chat_log_delta", {}).get("content")
    ]
    reply = "".join(deltas)
    assert len(deltas) > 10, deltas
    # Audio came while the agent was still holding back the end of its reply.
    written = run.written_at_first_audio
    assert written is not None
    assert reply.startswith(written), written
    assert len(written) < len(reply), written
    # The whole reply was spoken: the first sentence alone, then the rest.
    check_mp3(run.audio, shortest=4.0, longest=30.0)
    speaking.synthesis_formats_once(synthesis_before + 2)
    tts_end = next(event for event in run.events if event["type"] == "tts-end")
    assert tts_end["data"]["tts_output"]["url"] == start["data"]["tts_output"]["url"]
    print(  # noqa: T201  # shown with -s
        f"pipeline on {'.'.join(map(str, speaking.version))}: {len(deltas)} deltas; "
        f"audio began after {len(run.written_at_first_audio)} of {len(reply)} "
        f"characters: {run.written_at_first_audio!r}"
    )
