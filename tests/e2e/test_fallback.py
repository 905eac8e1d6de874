"""End to end: when the cloud cannot speak, another engine of Home Assistant does.

One real `hass` for the module (CLOUD_SPEECH_HASS_PYTHON picks the Home
Assistant: scripts/test runs this against 2026.10 and the latest release),
the emulator in a thread of this process (live_emulator.py) so the tests
inject faults into it, and a local TTS engine of the test's own: a tiny
custom integration, `local_voice`, written into the configuration directory.
Its entity `tts.local_voice` answers every message with the same short WAV
tone (written by this module, so the bytes are known) and notes each message
it was asked to speak in a file the test reads.

Cloud Speech is set up through the REST config-flow API, and the account's
options flow (REST as well) chooses `tts.local_voice` as its fallback engine.
Then, with `/api/tts_get_url` and a fetch of the URL, as a media player does:

- an outage (synthesis answers 503, or never answers): the message is spoken
  by the local engine, its exact bytes reach the listener, the repair issue
  `fallback_active_<entry_id>` appears; the time to the first audio byte is
  printed (the hang waits for fallback.FIRST_AUDIO_BUDGET, 6 s);
- recovery: the same message, cache on, is the cloud voice again (the
  emulator synthesised it, the local engine was not asked) and the issue is
  gone;
- a caller's mistake (an unknown voice) while the service is down fails, and
  the local engine is not asked.

Last, the account's options dialog in the browser, showing the fallback
engine (see conftest.SCREENSHOTS_ENV for docs/images).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
import contextlib
from dataclasses import dataclass
import io
import json
import math
from pathlib import Path
import struct
import time
from typing import TYPE_CHECKING, Any, NoReturn
import urllib.error
import urllib.request
import wave

import pytest

from tests.emulator.state import Fault

from .audio_checks import check_wav
from .conftest import setting_up
from .harness import (
    ApiError,
    HomeAssistantApi,
    Stack,
)
from .live_emulator import EmulatorThread, live_stack

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

DOMAIN = "cloud_speech"
VOICE = "en-US-AriaNeural"
LOCAL_ENGINE = "tts.local_voice"
LOCAL_NAME = "Local voice"
#: What the local engine answers with, and where it notes what it was asked.
LOCAL_WAV = "local_voice.wav"
LOCAL_SPOKEN = "local_voice_spoken.jsonl"
LOCAL_RATE = 22050
LOCAL_SECONDS = 0.8
WAV = {"preferred_format": "wav"}
MESSAGE = "The front door is open."
#: The cloud's first audio byte is given up on after this long with a
#: fallback chosen (custom_components/cloud_speech/fallback.py).
FIRST_AUDIO_BUDGET = 6.0
#: A guard against a hang, not a timing requirement.
FIRST_AUDIO_GUARD = 15.0
#: More synthesis requests than any retries of one call.
FAULT_TIMES = 50
SCREENSHOT = "15-options-fallback-engine.png"

# --- the local engine: a custom integration written into the config dir ------

LOCAL_MANIFEST = {
    "domain": "local_voice",
    "name": "Local voice",
    "codeowners": [],
    "config_flow": True,
    "dependencies": ["tts"],
    "documentation": "https://github.com/cloud-speech/cloud_speech",
    "iot_class": "local_push",
    "requirements": [],
    "version": "0.0.1",
}
LOCAL_INIT = '''\
"""A local TTS engine for tests/e2e/test_fallback.py."""

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant


async def async_setup_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    await hass.config_entries.async_forward_entry_setups(entry, [Platform.TTS])
    return True


async def async_unload_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    return await hass.config_entries.async_unload_platforms(entry, [Platform.TTS])
'''
LOCAL_CONFIG_FLOW = '''\
"""One step: the engine needs no settings."""

from homeassistant.config_entries import ConfigFlow


class LocalVoiceFlow(ConfigFlow, domain="local_voice"):
    VERSION = 1

    async def async_step_user(self, user_input=None):
        await self.async_set_unique_id("local_voice")
        self._abort_if_unique_id_configured()
        return self.async_create_entry(title="Local voice", data={})
'''
LOCAL_TTS = f'''\
"""tts.local_voice: the same WAV for every message; notes what it was asked."""

import json
from pathlib import Path

from homeassistant.components.tts import TextToSpeechEntity


async def async_setup_entry(hass, entry, async_add_entities):
    async_add_entities([LocalVoice(Path(hass.config.config_dir))])


class LocalVoice(TextToSpeechEntity):
    _attr_name = "Local voice"
    _attr_unique_id = "local_voice"
    _attr_supported_languages = ["en-US", "en"]
    _attr_default_language = "en-US"

    def __init__(self, config_dir):
        self._config_dir = config_dir

    async def async_get_tts_audio(self, message, language, options):
        def speak():
            with (self._config_dir / {LOCAL_SPOKEN!r}).open("a") as spoken:
                spoken.write(
                    json.dumps(
                        {{"message": message, "language": language,
                          "options": dict(options)}}
                    )
                    + "\\n"
                )
            return (self._config_dir / {LOCAL_WAV!r}).read_bytes()

        return "wav", await self.hass.async_add_executor_job(speak)
'''


def _tone_wav() -> bytes:
    """LOCAL_SECONDS of 440 Hz, 16-bit mono: unlike anything the emulator says."""
    frames = int(LOCAL_RATE * LOCAL_SECONDS)
    pcm = b"".join(
        struct.pack("<h", int(12000 * math.sin(2 * math.pi * 440 * n / LOCAL_RATE)))
        for n in range(frames)
    )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(LOCAL_RATE)
        wav.writeframes(pcm)
    return buffer.getvalue()


def _write_local_voice(config_dir: Path, audio: bytes) -> None:
    """Write the local engine's integration and `audio`, the WAV it speaks."""
    package = config_dir / "custom_components" / "local_voice"
    package.mkdir(parents=True, exist_ok=True)
    (package / "manifest.json").write_text(json.dumps(LOCAL_MANIFEST, indent=2))
    (package / "__init__.py").write_text(LOCAL_INIT)
    (package / "config_flow.py").write_text(LOCAL_CONFIG_FLOW)
    (package / "tts.py").write_text(LOCAL_TTS)
    (config_dir / LOCAL_WAV).write_bytes(audio)


# --- the stack -------------------------------------------------------------------


@dataclass
class Spoken:
    """What a listener got for one message."""

    status: int
    audio: bytes
    #: From asking for the URL to the first audio byte (None: no audio).
    first_byte: float | None
    error: str = ""


@dataclass
class FallingBack:
    """The running stack with Cloud Speech and its fallback engine."""

    stack: Stack
    api: HomeAssistantApi
    emulator: EmulatorThread
    version: str
    local_audio: bytes
    entry_id: str = ""
    entity_id: str = ""

    def local_messages(self) -> list[str]:
        """The messages the local engine was asked to speak, oldest first."""
        path = self.stack.config_dir / LOCAL_SPOKEN
        if not path.exists():
            return []
        return [json.loads(line)["message"] for line in path.read_text().splitlines()]

    def cloud_texts(self) -> list[str]:
        """The texts the emulator synthesised (answered with audio)."""
        return self.emulator.run(lambda emulator: emulator.spoken_texts())

    def synthesis_count(self) -> int:
        """Synthesis requests the emulator received, answered or not."""
        return len(self.emulator.requests("synthesis"))

    @contextlib.contextmanager
    def fault(self, fault: Fault) -> Iterator[Fault]:
        """The fault injected for the block, removed after it (used or not)."""
        self.emulator.run(lambda emulator: emulator.inject(fault))
        try:
            yield fault
        finally:
            self.emulator.run(
                lambda emulator: (
                    fault in emulator.faults and emulator.faults.remove(fault)
                )
            )

    def speak(self, message: str, options: dict[str, Any]) -> Spoken:
        """Ask for the message's URL (cache on), fetch it, time its first byte."""
        started = time.monotonic()
        answer = self.api.call(
            "POST",
            "/api/tts_get_url",
            {
                "engine_id": self.entity_id,
                "message": message,
                "cache": True,
                "options": options,
            },
        )
        try:
            with urllib.request.urlopen(  # noqa: S310  # our own hass on 127.0.0.1
                answer["url"], timeout=FIRST_AUDIO_GUARD + 30
            ) as response:
                first = response.read(1)
                first_byte = time.monotonic() - started if first else None
                return Spoken(response.status, first + response.read(), first_byte)
        except urllib.error.HTTPError as err:
            return Spoken(err.code, b"", None, err.read().decode(errors="replace"))

    def issues(self) -> list[str]:
        """Cloud Speech's fallback repair issues (their ids)."""
        return [
            issue["issue_id"]
            for issue in _run(self._list_issues())
            if issue["domain"] == DOMAIN
            and issue["issue_id"].startswith("fallback_active_")
        ]

    def diagnostics(self) -> dict[str, Any]:
        """The entry's diagnostics (their `data`)."""
        answer = self.api.call("GET", f"/api/diagnostics/config_entry/{self.entry_id}")
        return dict(answer["data"])

    async def _list_issues(self) -> list[dict[str, Any]]:
        async with self.api.websocket() as ws:
            result = await ws.command({"type": "repairs/list_issues"})
        return list(result["issues"])


def _run[T](coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine in a thread of its own (Playwright's loop may hold this one)."""
    with ThreadPoolExecutor(max_workers=1) as executor:
        return executor.submit(asyncio.run, coroutine).result(timeout=30)


def _choose_fallback(running: FallingBack, engine: str) -> dict[str, Any]:
    """The account's options flow through the REST API: only the fallback engine.

    An empty `engine` leaves the field out: no fallback.
    """
    form = running.api.call(
        "POST", "/api/config/config_entries/options/flow", {"handler": running.entry_id}
    )
    assert form["type"] == "form", form
    assert form["step_id"] == "init", form
    fields = [field["name"] for field in form["data_schema"]]
    assert "fallback_engine" in fields, fields
    done = running.api.call(
        "POST",
        f"/api/config/config_entries/options/flow/{form['flow_id']}",
        {"fallback_engine": engine} if engine else {},
    )
    assert done["type"] == "create_entry", done
    return dict(form)


def _wait_for_reload(
    running: FallingBack, engine: str | None, timeout: float = 20
) -> None:
    """Wait until the entry runs again with `engine` as its fallback."""
    deadline = time.monotonic() + timeout
    seen: Any = None
    while time.monotonic() < deadline:
        try:
            entries = running.api.call(
                "GET", f"/api/config/config_entries/entry?domain={DOMAIN}"
            )
            if [entry["state"] for entry in entries] == ["loaded"]:
                seen = running.diagnostics().get("fallback")
                state = running.api.call("GET", f"/api/states/{running.entity_id}")
                if (
                    seen
                    and seen.get("engine") == engine
                    and state["state"] != "unavailable"
                ):
                    return
        except ApiError as err:
            seen = err  # between unload and setup
        time.sleep(0.2)
    raise AssertionError(f"the entry did not reload with {engine}: {seen}")


@pytest.fixture(scope="module")
def falling_back(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FallingBack]:
    """hass, the emulator (in this process), Cloud Speech, the local engine chosen."""
    local_audio = _tone_wav()
    with live_stack(
        tmp_path_factory.mktemp("fallback"),
        configure=lambda config_dir: _write_local_voice(config_dir, local_audio),
    ) as live:
        running = FallingBack(
            live.stack, live.api, live.emulator, live.version, local_audio
        )
        api = live.api
        with setting_up(live.stack):
            created = api.flow(
                "cloud_speech",
                {"next_step_id": "azure"},
                {"cloud": "custom"},
                {"endpoint": live.stack.emulator_url},
                {"language": "en-US"},
                {"voice": VOICE},
            )
            running.entry_id = created["result"]["entry_id"]
            running.entity_id = api.entity_named("tts", "Aria")
            api.flow("local_voice")
            state = api.call("GET", f"/api/states/{LOCAL_ENGINE}")
            assert state["state"] != "unavailable", state
            _choose_fallback(running, LOCAL_ENGINE)
            _wait_for_reload(running, LOCAL_ENGINE)
        yield running


@pytest.fixture
def api(falling_back: FallingBack, socket_enabled: None) -> HomeAssistantApi:
    """The owner's API client (sockets allowed for the test; the page uses it)."""
    return falling_back.api


def _fail(running: FallingBack, problem: str) -> NoReturn:
    """Fail the test with `problem` and the end of hass's and the emulator's logs."""
    raise pytest.fail.Exception(
        f"{problem}\n{running.stack.log_tail()}", pytrace=False
    ) from None


# --- the tests, in order: each leaves the service up -------------------------------


@pytest.mark.parametrize(
    ("outage", "fault", "message"),
    [
        pytest.param(
            "503",
            Fault(target="synthesis", status=503, times=FAULT_TIMES),
            MESSAGE,
            id="503",
        ),
        pytest.param(
            "hang",
            Fault(target="synthesis", hang=True, times=FAULT_TIMES),
            "The garage door is open.",
            id="hang",
        ),
    ],
)
def test_outage_then_recovery(
    falling_back: FallingBack,
    api: HomeAssistantApi,
    outage: str,
    fault: Fault,
    message: str,
) -> None:
    """Down: the local engine speaks, the issue appears. Up: the cloud, no issue."""
    running = falling_back
    assert running.issues() == [], "an issue before the outage"
    local_before = running.local_messages()
    cloud_before = running.cloud_texts()
    synthesis_before = running.synthesis_count()

    # a) the outage: the message is the local engine's.
    with running.fault(fault):
        spoken = running.speak(message, WAV)
        tried = running.synthesis_count() - synthesis_before
    if spoken.status != 200:
        _fail(running, f"{outage}: status {spoken.status}: {spoken.error}")
    assert spoken.first_byte is not None
    print(  # noqa: T201  # shown with -s
        f"fallback on {running.version}, {outage}: first audio byte after "
        f"{spoken.first_byte:.2f} s ({tried} synthesis request(s) to the cloud)"
    )
    assert spoken.first_byte < FIRST_AUDIO_GUARD, spoken.first_byte
    if running.local_messages() != [*local_before, message]:
        _fail(
            running,
            f"{outage}: the local engine was asked {running.local_messages()}; "
            f"{len(spoken.audio)} bytes {spoken.audio[:48]!r}",
        )
    assert spoken.audio == running.local_audio, (
        f"{len(spoken.audio)} bytes, not the local engine's {len(running.local_audio)}"
    )
    assert running.cloud_texts() == cloud_before, "the cloud spoke during the outage"
    assert tried >= 1, "the cloud was not even tried"
    issue = f"fallback_active_{running.entry_id}"
    assert running.issues() == [issue]
    fallback = running.diagnostics()["fallback"]
    assert fallback["in_outage"] is True, fallback

    # b) recovery: the same message, cache on, is the cloud voice again.
    spoken = running.speak(message, WAV)
    assert spoken.status == 200, spoken.error
    assert spoken.audio != running.local_audio, "the fallback's audio from the cache"
    check_wav(spoken.audio, rate=24000, channels=1, sample_bytes=2)
    deadline = time.monotonic() + 10
    while message not in running.cloud_texts()[len(cloud_before) :]:
        assert time.monotonic() < deadline, running.cloud_texts()
        time.sleep(0.1)
    assert running.local_messages() == [*local_before, message], "asked again"
    assert running.issues() == []
    assert running.diagnostics()["fallback"]["in_outage"] is False


def test_a_callers_mistake_is_not_an_outage(
    falling_back: FallingBack, api: HomeAssistantApi
) -> None:
    """An unknown voice while the service is down: an error, no fallback."""
    running = falling_back
    local_before = running.local_messages()
    synthesis_before = running.synthesis_count()
    with running.fault(Fault(target="synthesis", status=503, times=FAULT_TIMES)):
        spoken = running.speak(
            "The back door is open.", {**WAV, "voice": "xx-NoSuchVoice"}
        )
    print(  # noqa: T201  # shown with -s
        f"caller's mistake on {running.version}: status {spoken.status}, "
        f"{len(spoken.audio)} bytes, {spoken.error[:200]!r}"
    )
    assert spoken.status >= 400 or not spoken.audio, spoken
    assert running.local_messages() == local_before, "the local engine was asked"
    assert running.synthesis_count() == synthesis_before, "sent to the service"
    assert running.issues() == []


# --- the options form in the browser ------------------------------------------------


def test_options_form_in_the_browser(
    falling_back: FallingBack,
    page: Page,
    screenshot_dir: Path,
    tmp_path: Path,
) -> None:
    """The account's options dialog: the fallback engine picked as a person would."""
    running = falling_back
    # No fallback to start with: the browser chooses it.
    _choose_fallback(running, "")
    _wait_for_reload(running, None)
    try:
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(running.stack.url + f"/config/integrations/integration/{DOMAIN}")
        # The account's cog comes first; each voice profile has its own below.
        page.get_by_role("button", name="Configure").first.click()
        form = page.locator("step-flow-form")
        form.get_by_text("Fallback engine").first.wait_for()
        picker = form.locator("ha-selector-entity")
        shown_name = picker.get_by_text(LOCAL_NAME, exact=True).filter(visible=True)
        assert shown_name.count() == 0, "a fallback engine before choosing one"
        picker.click()
        choices = page.get_by_role("dialog", name="Fallback engine")
        offered = choices.locator("ha-combo-box-item").filter(visible=True)
        offered.first.wait_for()
        # Other engines only: Cloud Speech's own voice (Aria) is not offered.
        names = offered.all_inner_texts()
        assert any(LOCAL_NAME in name for name in names), names
        assert not any("Aria" in name for name in names), names
        offered.filter(has_text=LOCAL_NAME).first.click()
        offered.first.wait_for(state="hidden")
        shown_name.first.wait_for()
        dialog = page.locator("dialog-data-entry-flow")
        shown = dialog.locator("dialog[open]")
        target = shown.first if shown.count() else dialog
        target.screenshot(path=screenshot_dir / SCREENSHOT, animations="disabled")
        page.get_by_role("button", name="Submit").click()
        form.wait_for(state="detached")
    except Exception as err:  # noqa: BLE001  # any failure: show the page and log
        failure = tmp_path / "failed-options-form.png"
        with contextlib.suppress(Exception):
            page.screenshot(path=failure)
        raise pytest.fail.Exception(
            f"{type(err).__name__}: {err}\nScreenshot: {failure}\n"
            + running.stack.log_tail(),
            pytrace=False,
        ) from None
    _wait_for_reload(running, LOCAL_ENGINE)
