"""End to end: add Cloud Speech in Home Assistant's real frontend, then speak.

A real `hass` (fresh configuration, demo media players) and the emulator
(`python -m tests.emulator --speak`, a Speech container on a free port) run as
subprocesses; headless Chromium clicks through Settings → Devices & services →
Add integration → Cloud Speech → Azure AI Speech → custom endpoint → language
→ voice, exactly as a person would: the account and its first voice profile,
named after the voice. Then `tts.speak` goes through the REST API
to a demo media player, and the audio Home Assistant serves for that message
is fetched and checked: MP3 frames of plausible length, and, with espeak-ng
and ffmpeg in the toolchain, audible speech rather than silence. Last, the
same call from Developer tools → Actions, and the browser itself playing the
message from Media → Text-to-speech to its end. Last, a second voice profile
(Jenny, cheerful, as "Kitchen") is added from the integration's page with
"Add voice profile", and speaks with its own voice and style.

Each step is screenshotted (see conftest.SCREENSHOTS_ENV for docs/images).
Takes about 20 s on a 2-core machine (Home Assistant starts in about 3 s).
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
from dataclasses import dataclass, field
from pathlib import Path
import re
import time
from typing import TYPE_CHECKING
import urllib.parse

import pytest

from .audio_checks import check_mp3
from .harness import MEDIA_PLAYER, HomeAssistantApi, Stack, request

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

LANGUAGE = "en-US"
VOICE = "Aria"  # en-US-AriaNeural in the emulator's voice list
VOICE_SHORT_NAME = "en-US-AriaNeural"
PROFILE = "Kitchen"  # the second voice profile
PROFILE_VOICE = "Jenny"
PROFILE_VOICE_SHORT_NAME = "en-US-JennyNeural"
PROFILE_STYLE = "cheerful"
MESSAGE = "Hello from Cloud Speech. The washing machine has finished."


@dataclass
class Journey:
    """Runs named steps; a failing step fails the test with everything needed."""

    page: Page
    stack: Stack
    screenshots: Path
    failures: Path
    timings: list[tuple[str, float]] = field(default_factory=list)

    @contextlib.contextmanager
    def step(self, title: str, screenshot: str | None = None) -> Iterator[None]:
        """Run one step; save `screenshot` after it, or a failure screenshot."""
        started = time.monotonic()
        try:
            yield
            if screenshot is not None:
                self.shot(screenshot)
        except Exception as err:  # noqa: BLE001  # any failure gets the context
            problem = f"{type(err).__name__}: {err}"
        else:
            self.timings.append((title, time.monotonic() - started))
            return
        failure = self.failures / f"failed-{_slug(title)}.png"
        with contextlib.suppress(Exception):
            self.page.screenshot(path=failure)
        # `from None`: Playwright's own traceback would only bury the message.
        raise pytest.fail.Exception(
            f"Step {title!r} failed: {problem}\n"
            f"Page: {self._page_url()}\nScreenshot: {failure}\n"
            + self.stack.log_tail(),
            pytrace=False,
        ) from None

    def shot(self, name: str) -> None:
        """Screenshot the page as it settles (animations run to their end)."""
        self.page.screenshot(path=self.screenshots / name, animations="disabled")

    def _page_url(self) -> str:
        with contextlib.suppress(Exception):
            return self.page.url
        return "?"

    def submit(self) -> None:
        """Press the flow dialog's Submit button."""
        self.page.get_by_role("button", name="Submit").click()

    def open_dropdown(self) -> None:
        """Open the flow form's only dropdown."""
        self.page.locator("step-flow-form ha-select").click()
        self.page.get_by_role("menuitem").first.wait_for()

    def pick(self, option: re.Pattern[str]) -> None:
        """Pick the open dropdown's option matching `option`; wait until it closes."""
        self.page.get_by_role("menuitem", name=option).click()
        self.page.get_by_role("menuitem").first.wait_for(state="hidden")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def test_add_cloud_speech_in_the_browser_and_speak(
    page: Page,
    stack: Stack,
    api: HomeAssistantApi,
    screenshot_dir: Path,
    tmp_path: Path,
) -> None:
    """A person adds Cloud Speech for a Speech container, then it speaks."""
    journey = Journey(page, stack, screenshot_dir, tmp_path)
    started = time.monotonic()

    with journey.step(
        "open Settings → Devices & services", "01-devices-and-services.png"
    ):
        page.goto(stack.url + "/")
        page.get_by_role("listitem").filter(has_text="Settings").first.click()
        page.get_by_role("link", name=re.compile("Devices & services")).first.click()
        page.wait_for_url("**/config/integrations/dashboard")
        page.get_by_role("button", name="Add integration").wait_for()

    with journey.step("search for Cloud Speech", "02-add-integration.png"):
        page.get_by_role("button", name="Add integration").click()
        page.locator("dialog-add-integration").get_by_role("textbox").fill(
            "Cloud Speech"
        )
        page.locator("ha-integration-list-item", has_text="Cloud Speech").wait_for()

    with journey.step("start the flow", "03-choose-service.png"):
        page.locator("ha-integration-list-item", has_text="Cloud Speech").click()
        page.locator("step-flow-menu").get_by_text("Azure AI Speech").wait_for()

    with journey.step("choose Azure AI Speech", "04-cloud.png"):
        page.locator("step-flow-menu").get_by_text("Azure AI Speech").click()
        page.get_by_role("radio", name="Custom endpoint or Speech container").check()

    with journey.step("choose the custom endpoint", "05-endpoint.png"):
        journey.submit()
        page.locator("input[name=endpoint]").fill(stack.emulator_url)

    with journey.step("enter the endpoint; pick the language", "06-language.png"):
        journey.submit()
        journey.open_dropdown()
        journey.pick(re.compile(rf"^{LANGUAGE} — "))
        page.locator("step-flow-form ha-select").filter(has_text=LANGUAGE).wait_for()

    with journey.step("pick the voice"):
        journey.submit()
        page.locator("step-flow-form").get_by_text(f"speaks {LANGUAGE}").wait_for()
        journey.open_dropdown()
        voice = page.get_by_role("menuitem", name=re.compile(rf"^{VOICE} \("))
        voice.hover()
        journey.shot("07-voice.png")
        journey.pick(re.compile(rf"^{VOICE} \("))
        page.locator("step-flow-form ha-select").filter(has_text=VOICE).wait_for()

    with journey.step("finish", "08-created.png"):
        journey.submit()
        page.locator("step-flow-create-entry").wait_for()

    with journey.step("close the dialog"):
        page.get_by_role("button", name=re.compile("finish", re.IGNORECASE)).click()
        page.locator("step-flow-create-entry").wait_for(state="detached")

    with journey.step("the entry is loaded and its first profile has its entity"):
        entries = api.call(
            "GET", "/api/config/config_entries/entry?domain=cloud_speech"
        )
        assert [entry["state"] for entry in entries] == ["loaded"], entries
        # The first voice profile is named after its voice.
        entity_name = VOICE
        entity_id = _tts_entity(api, entity_name)

    with journey.step("tts.speak through the REST API"):
        changed = api.call(
            "POST",
            "/api/services/tts/speak",
            {
                "entity_id": entity_id,
                "media_player_entity_id": MEDIA_PLAYER,
                "message": MESSAGE,
            },
        )
        played = {state["entity_id"]: state for state in changed}[MEDIA_PLAYER]
        media_id = played["attributes"]["media_content_id"]
        assert media_id.startswith(f"media-source://tts/{entity_id}?"), media_id
        assert urllib.parse.quote_plus(MESSAGE) in media_id, media_id

    with journey.step("fetch and check the audio"):
        before = len(_synthesis_log_lines(stack))
        answer = api.call(
            "POST",
            "/api/tts_get_url",
            {"engine_id": entity_id, "message": MESSAGE},
        )
        status, headers, audio = request("GET", answer["url"])
        assert status == 200
        assert headers.get("Content-Type") == "audio/mpeg", headers
        duration = check_mp3(audio)
        _wait_for_synthesis(stack, before, VOICE_SHORT_NAME)

    with journey.step("tts.speak from Developer tools", "09-tts-speak.png"):
        page.goto(stack.url + "/developer-tools/action")
        page.get_by_role("button", name="YAML mode").click()
        editor = page.locator(".cm-content").first
        editor.click()
        page.keyboard.press("ControlOrMeta+A")
        page.keyboard.press("Delete")
        editor.fill(
            "action: tts.speak\n"
            "target:\n"
            f"  entity_id: {entity_id}\n"
            "data:\n"
            f"  media_player_entity_id: {MEDIA_PLAYER}\n"
            f"  message: {MESSAGE}"
        )
        page.get_by_role("button", name="Perform action").click()
        # The button turns green once the action succeeded.
        page.locator("ha-progress-button ha-button.success").wait_for()

    with journey.step("hear it in the browser: Media → Text-to-speech", "10-media.png"):
        page.goto(stack.url + "/media-browser/browser")
        page.get_by_text("Text-to-speech", exact=True).last.click()
        page.get_by_text(entity_name, exact=True).last.click()
        page.locator("textarea").first.fill(MESSAGE)
        page.get_by_role("button", name="Say").click()
        # The browser plays the clip (its Pause button shows) to the end (Play
        # again), and shows how long it was.
        player = page.locator("ha-bar-media-player")
        player.get_by_role("button", name="Pause").wait_for()
        player.get_by_role("button", name="Play").wait_for()
        player.get_by_text(re.compile(r"^\s*00:0[1-9]\s*$")).first.wait_for()

    with journey.step("open the integration: Add voice profile"):
        page.goto(stack.url + "/config/integrations/integration/cloud_speech")
        page.get_by_role("button", name="Add voice profile").click()
        page.locator("input[name=name]").fill(PROFILE)

    with journey.step("name it; pick the voice", "11-add-voice-profile.png"):
        # The language suggested is Home Assistant's: en-US.
        page.locator("step-flow-form ha-select").filter(has_text=LANGUAGE).wait_for()
        journey.submit()
        page.locator("step-flow-form").get_by_text(f"speaks {LANGUAGE}").wait_for()
        page.locator("step-flow-form ha-select").first.click()
        journey.pick(re.compile(rf"^{PROFILE_VOICE} \("))
        page.locator("step-flow-form ha-select").filter(
            has_text=PROFILE_VOICE
        ).wait_for()

    with journey.step("pick its style", "12-voice-profile-style.png"):
        journey.submit()
        page.locator("step-flow-form").get_by_text("Speaking style").first.wait_for()
        page.locator("step-flow-form ha-select").first.click()
        journey.pick(re.compile(rf"^{PROFILE_STYLE}$"))
        page.locator("step-flow-form ha-select").filter(
            has_text=PROFILE_STYLE
        ).wait_for()

    with journey.step("add the profile", "13-voice-profiles.png"):
        journey.submit()
        page.locator("step-flow-create-entry").wait_for()
        page.get_by_role("button", name=re.compile("finish", re.IGNORECASE)).click()
        page.locator("step-flow-create-entry").wait_for(state="detached")
        page.get_by_text(PROFILE, exact=True).first.wait_for()

    with journey.step("the new profile speaks with its own voice and style"):
        profile_entity_id = _wait_for_tts_entity(api, PROFILE)
        assert profile_entity_id != entity_id
        before = len(_synthesis_log_lines(stack))
        answer = api.call(
            "POST",
            "/api/tts_get_url",
            {"engine_id": profile_entity_id, "message": MESSAGE},
        )
        status, headers, audio = request("GET", answer["url"])
        assert status == 200
        check_mp3(audio)
        new = _wait_for_synthesis(stack, before, PROFILE_VOICE_SHORT_NAME)
        assert all(f"voice={PROFILE_VOICE_SHORT_NAME}" in line for line in new), new
        # The first profile still speaks as before.
        before = len(_synthesis_log_lines(stack))
        answer = api.call(
            "POST", "/api/tts_get_url", {"engine_id": entity_id, "message": "Again."}
        )
        status, _, _ = request("GET", answer["url"])
        assert status == 200
        _wait_for_synthesis(stack, before, VOICE_SHORT_NAME)

    errors = _cloud_speech_errors(stack)
    assert not errors, "Cloud Speech logged errors:\n" + "\n".join(errors)
    elapsed = time.monotonic() - started
    print(  # noqa: T201  # shown with -s and in the report of a failure
        f"e2e: {elapsed:.1f} s in the browser, {duration:.2f} s of speech; "
        + ", ".join(f"{title} {seconds:.1f} s" for title, seconds in journey.timings)
    )


def _tts_entity(api: HomeAssistantApi, name: str) -> str:
    """The TTS entity of the voice profile called `name` (its friendly name)."""
    entities = [
        state["entity_id"]
        for state in api.states()
        if state["entity_id"].startswith("tts.")
        and state["attributes"].get("friendly_name") == name
    ]
    assert len(entities) == 1, entities
    return entities[0]


def _wait_for_tts_entity(api: HomeAssistantApi, name: str, timeout: float = 10) -> str:
    """The profile's entity, once the entry has reloaded with it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return _tts_entity(api, name)
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _synthesis_log_lines(stack: Stack) -> list[str]:
    assert stack.emulator.log_path is not None
    return [
        line
        for line in stack.emulator.log_path.read_text(errors="replace").splitlines()
        if "[synthesis]" in line
    ]


def _wait_for_synthesis(
    stack: Stack, before: int, voice: str, timeout: float = 10
) -> list[str]:
    """The synthesis requests logged after the first `before`, once `voice` spoke.

    The emulator logs a request once its answer has gone out, which may be
    after the audio has reached Home Assistant and the test: wait for it.
    """
    deadline = time.monotonic() + timeout
    while True:
        new = _synthesis_log_lines(stack)[before:]
        if any(f"voice={voice}" in line for line in new):
            return new
        assert time.monotonic() < deadline, f"{voice} was not asked to speak: {new}"
        time.sleep(0.1)


def _cloud_speech_errors(stack: Stack) -> list[str]:
    log = stack.config_dir / "home-assistant.log"
    return [
        line
        for line in log.read_text(errors="replace").splitlines()
        if re.match(r"\S+ \S+ (ERROR|CRITICAL) .*cloud_speech", line)
    ]
