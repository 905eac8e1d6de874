"""End to end: Cloud Speech's speech to text in Home Assistant's Assist editor.

A real `hass` (with assist_pipeline and the default conversation agent) and
the emulator run as subprocesses. Cloud Speech is set up through the REST
config flow API (the browser test clicks through that flow already), an
Assist pipeline "Cloud Speech" from the account's stt entity to the voice
profile's tts entity is created over the websocket API, and headless
Chromium opens Settings → Voice assistants → that assistant: its dialog must
show Cloud Speech's entity as the speech-to-text engine, with the language,
and Cloud Speech's voice as text to speech.

The dialog is screenshotted (see conftest.SCREENSHOTS_ENV for docs/images).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .conftest import browser_stack
from .harness import (
    HomeAssistantApi,
    Stack,
    running_version,
)

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


PIPELINE_CONFIGURATION = """
# Assist pipelines (tests/e2e/test_pipeline_editor_in_browser.py).
assist_pipeline:
conversation:
"""
DEFAULT_AGENT = "conversation.home_assistant"
PIPELINE = "Cloud Speech"
LANGUAGE = "en-US"
VOICE = "Aria"
#: How Home Assistant's frontend names en-US (in an English frontend).
STT_LANGUAGE_NAME = "American English"
VOICE_SHORT_NAME = "en-US-AriaNeural"
SCREENSHOT = "14-assist-pipeline-speech-to-text.png"


@pytest.fixture
def stack(chromium: str, socket_enabled: None, tmp_path: Path) -> Iterator[Stack]:
    """As conftest's, with Assist pipelines and the default conversation agent."""
    with browser_stack(tmp_path, extra_configuration=PIPELINE_CONFIGURATION) as running:
        yield running


def test_speech_to_text_in_the_assist_pipeline_editor(
    page: Page,
    stack: Stack,
    api: HomeAssistantApi,
    screenshot_dir: Path,
    tmp_path: Path,
) -> None:
    """The assistant's dialog shows Cloud Speech as its speech-to-text engine."""
    running_version(api)

    api.flow(
        "cloud_speech",
        {"next_step_id": "azure"},
        {"cloud": "custom"},
        {"endpoint": stack.emulator_url},
        {"language": LANGUAGE},
        {"voice": VOICE_SHORT_NAME},
    )
    tts_entity_id = api.entity_named("tts", VOICE)
    stt_entity_id, stt_name = _stt_entity(api)
    pipeline = _run(_create_pipeline(api, stt_entity_id, tts_entity_id))
    assert pipeline["stt_engine"] == stt_entity_id, pipeline

    try:
        # Tall enough for the whole dialog: from the name to the voice.
        page.set_viewport_size({"width": 1280, "height": 1100})
        dialog = _open_assistant(page, stack)
        stt = dialog.locator("assist-pipeline-detail-stt")
        stt.scroll_into_view_if_needed()
        # The selects show the chosen engine and language (their closed menus'
        # options are in the page too, but hidden).
        _shown(stt, stt_name).wait_for()
        _shown(stt, STT_LANGUAGE_NAME).wait_for()
        tts = dialog.locator("assist-pipeline-detail-tts")
        _shown(tts, VOICE).wait_for()
        # The element itself has no box: its <dialog> (in shadow roots) has.
        dialog.locator("dialog[open]").first.screenshot(
            path=screenshot_dir / SCREENSHOT, animations="disabled"
        )
    except Exception as err:  # noqa: BLE001  # any failure: show the page and log
        failure = tmp_path / "failed-pipeline-editor.png"
        with contextlib.suppress(Exception):
            page.screenshot(path=failure)
        raise pytest.fail.Exception(
            f"{type(err).__name__}: {err}\nScreenshot: {failure}\n" + stack.log_tail(),
            pytrace=False,
        ) from None


def _run[T](coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to its end in a thread of its own.

    Playwright's sync API keeps an event loop running in the test's thread,
    so asyncio.run() cannot run there.
    """
    with ThreadPoolExecutor(max_workers=1) as executor:
        return executor.submit(asyncio.run, coroutine).result()


def _stt_entity(api: HomeAssistantApi) -> tuple[str, str]:
    """Cloud Speech's one speech-to-text entity and its friendly name.

    The demo integration has one too (stt.demo_stt): the registry tells them apart.
    """
    registry = _run(_registry(api))
    found = [
        entry["entity_id"]
        for entry in registry
        if entry["entity_id"].startswith("stt.")
    ]
    assert len(found) == 1, registry
    state = api.call("GET", f"/api/states/{found[0]}")
    return found[0], state["attributes"]["friendly_name"]


async def _registry(api: HomeAssistantApi) -> list[dict[str, Any]]:
    """Cloud Speech's entries in the entity registry."""
    async with api.websocket() as ws:
        entries = await ws.command({"type": "config/entity_registry/list"})
    return [entry for entry in entries if entry["platform"] == "cloud_speech"]


async def _create_pipeline(
    api: HomeAssistantApi, stt_entity_id: str, tts_entity_id: str
) -> dict[str, Any]:
    async with api.websocket() as ws:
        return await ws.command(
            {
                "type": "assist_pipeline/pipeline/create",
                "name": PIPELINE,
                "language": "en",
                "conversation_engine": DEFAULT_AGENT,
                "conversation_language": "en",
                "stt_engine": stt_entity_id,
                "stt_language": LANGUAGE,
                "tts_engine": tts_entity_id,
                "tts_language": LANGUAGE,
                "tts_voice": VOICE_SHORT_NAME,
                "wake_word_entity": None,
                "wake_word_id": None,
            }
        )


def _open_assistant(page: Page, stack: Stack) -> Locator:
    """Open Settings → Voice assistants → the pipeline's dialog; return it."""
    page.goto(stack.url + "/config/voice-assistants/assistants")
    page.get_by_text(PIPELINE, exact=True).first.click()
    dialog = page.locator("dialog-voice-assistant-pipeline-detail")
    dialog.get_by_text("Speech-to-text").first.wait_for()
    return dialog


def _shown(section: Locator, text: str) -> Locator:
    """The one visible element of `section` whose whole text is `text`."""
    return section.get_by_text(text, exact=True).filter(visible=True).first
