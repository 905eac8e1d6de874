"""Fixtures for the end-to-end test: a real Home Assistant, the emulator, Chromium.

Everything runs as subprocesses on 127.0.0.1 (pytest-socket allows it once
`socket_enabled` is requested); the test itself is synchronous, so
Playwright's sync API runs its own event loop, apart from the one that
pytest-homeassistant-custom-component checks for lingering tasks.
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
import json
import os
from pathlib import Path
import re
import shutil
from typing import TYPE_CHECKING

import pytest

from .harness import (
    PROJECT_DIR,
    ApiError,
    HomeAssistantApi,
    Stack,
    StackError,
    free_port,
    port_in_use,
    write_config,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page

#: Where screenshots go when asked for (the README's images live in docs/images):
#:   CLOUD_SPEECH_SCREENSHOTS=docs/images scripts/run python -m pytest tests/e2e
#: Without it they go to the test's temporary directory, so ordinary runs of
#: scripts/test (by several people in one checkout) never rewrite tracked files.
SCREENSHOTS_ENV = "CLOUD_SPEECH_SCREENSHOTS"
#: The port the README's quick start uses; screenshots for the README show it
#: whenever it is free.
README_EMULATOR_PORT = 5000

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]
#: Anything the page asks for that is not Home Assistant itself is refused,
#: and so are brand images of other integrations (Home Assistant would fetch
#: them from its CDN): the test stays on this machine.
FOREIGN_REQUEST = re.compile(r"^(?!https?://127\.0\.0\.1[:/])[a-z]+://")
FOREIGN_BRAND = re.compile(r"/api/brands/integration/(?!cloud_speech/)")

OWNER = {"name": "Dev", "username": "dev", "password": "dev-password"}


def _chromium() -> str | None:
    for candidate in CHROMIUM_CANDIDATES:
        if path := shutil.which(candidate):
            return path
    return None


@pytest.fixture
def screenshot_dir(tmp_path: Path) -> Path:
    """Where this run's screenshots go."""
    if requested := os.environ.get(SCREENSHOTS_ENV):
        directory = Path(requested)
        if not directory.is_absolute():
            directory = PROJECT_DIR / directory
    else:
        directory = tmp_path / "screenshots"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture
def chromium() -> str:
    """Chromium's executable; skips (before anything starts) without it or Playwright."""
    pytest.importorskip("playwright.sync_api")
    if (path := _chromium()) is None:
        pytest.skip("Chromium not found: scripts/setup installs it in the toolchain")
    return path


@pytest.fixture
def stack(chromium: str, socket_enabled: None, tmp_path: Path) -> Iterator[Stack]:
    """The emulator (speaking) and Home Assistant on free ports, fresh config."""
    with browser_stack(tmp_path) as running:
        yield running


@contextlib.contextmanager
def browser_stack(tmp_path: Path, *, extra_configuration: str = "") -> Iterator[Stack]:
    """The stack a browser test looks at; the README's emulator port when free."""
    ha_port = free_port()
    emulator_port = free_port()
    if os.environ.get(SCREENSHOTS_ENV) and not port_in_use(README_EMULATOR_PORT):
        emulator_port = README_EMULATOR_PORT
    config_dir = tmp_path / "config"
    write_config(config_dir, port=ha_port, extra_configuration=extra_configuration)
    running = Stack(config_dir, ha_port, emulator_port, log_dir=tmp_path)
    try:
        running.start()
    except StackError as err:
        running.stop()
        raise pytest.fail.Exception(
            f"{err}\n{running.log_tail()}", pytrace=False
        ) from None
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def api(stack: Stack) -> HomeAssistantApi:
    """Home Assistant onboarded through its API, with the owner's tokens."""
    client = HomeAssistantApi(stack.url)
    try:
        client.onboard(**OWNER)
        client.wait_until_running()
    except Exception as err:  # noqa: BLE001  # any failure: show the log
        problem = f"Onboarding failed: {type(err).__name__}: {err}"
    else:
        return client
    raise pytest.fail.Exception(
        f"{problem}\n{stack.log_tail()}", pytrace=False
    ) from None


@pytest.fixture
def page(chromium: str, api: HomeAssistantApi) -> Iterator[Page]:
    """A Chromium page logged in as the owner (Playwright's sync API)."""
    from playwright.sync_api import sync_playwright

    assert api.tokens is not None
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=CHROMIUM_ARGS, headless=True
        )
        try:
            context = browser.new_context(
                viewport={"width": 1280, "height": 800},
                locale="en-US",
                timezone_id="America/Los_Angeles",
            )
            context.route(FOREIGN_REQUEST, lambda route: route.abort())
            context.route(FOREIGN_BRAND, lambda route: route.abort())
            # The frontend keeps its tokens here; with them it skips the login page.
            context.add_init_script(
                "window.localStorage.setItem('hassTokens', "
                f"{json.dumps(api.tokens.frontend_storage())});"
            )
            new_page = context.new_page()
            new_page.set_default_timeout(20_000)
            yield new_page
        finally:
            browser.close()


@contextlib.contextmanager
def setting_up(stack: Stack) -> Iterator[None]:
    """Fail a module's set-up as such, with the end of hass's log.

    Whatever started is stopped by whoever started it.
    """
    try:
        yield
    except (StackError, ApiError, AssertionError, OSError, TimeoutError) as err:
        raise pytest.fail.Exception(
            f"Setting up failed: {type(err).__name__}: {err}\n{stack.log_tail()}",
            pytrace=False,
        ) from None
