"""scripts/develop: a real Home Assistant with Cloud Speech and the Azure emulator.

Runs `python -m tests.emulator --speak` as a Speech container on
http://127.0.0.1:5000 (Convai under /convai) and `hass` on http://127.0.0.1:8123
with the configuration in .develop/config (git-ignored; delete it, or pass
--reset, for a fresh start). The first start creates the owner `dev` (password
`dev`). Home Assistant's Restart restarts it here too, so edits to
custom_components/cloud_speech take effect; Ctrl-C stops everything.
"""

from __future__ import annotations

import argparse
from pathlib import Path
import re
import shutil
import signal
import sys
import time
from types import FrameType

from tests.emulator.state import CONVAI_TEST_KEY

from .harness import (
    MEDIA_PLAYER,
    PROJECT_DIR,
    ApiError,
    HomeAssistantApi,
    Stack,
    StackError,
    port_in_use,
    write_config,
)

DEFAULT_CONFIG_DIR = PROJECT_DIR / ".develop" / "config"
RESTART_EXIT_CODE = 100  # what hass exits with when asked to restart
OWNER = {"name": "Developer", "username": "dev", "password": "dev"}
BOLD, RESET = ("\033[1m", "\033[0m") if sys.stdout.isatty() else ("", "")


def say(text: str = "") -> None:
    """Print for the developer, at once."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/develop",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--port", type=int, default=8123, help="Home Assistant's port (8123)"
    )
    parser.add_argument(
        "--emulator-port", type=int, default=5000, help="the emulator's port (5000)"
    )
    parser.add_argument(
        "--listen",
        default="127.0.0.1",
        help="address Home Assistant listens on; 0.0.0.0 to reach it from "
        "other machines (127.0.0.1)",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=DEFAULT_CONFIG_DIR,
        help="configuration directory (.develop/config)",
    )
    parser.add_argument(
        "--reset", action="store_true", help="start from a fresh configuration"
    )
    parser.add_argument(
        "--tone",
        action="store_true",
        help="the emulator answers with a tone instead of espeak-ng speech",
    )
    return parser.parse_args()


def _prepare_config(arguments: argparse.Namespace) -> Path:
    config_dir: Path = arguments.config.resolve()
    if arguments.reset and config_dir.exists():
        say(f"Deleting {config_dir}")
        shutil.rmtree(config_dir)
    write_config(
        config_dir,
        port=arguments.port,
        host=arguments.listen,
        writer="scripts/develop",
        relative_link=config_dir.is_relative_to(PROJECT_DIR),
    )
    # Keep the URL media players fetch audio from in step with --port.
    configuration = config_dir / "configuration.yaml"
    text = configuration.read_text()
    updated = re.sub(
        r"(?m)^(\s*internal_url:\s*http://127\.0\.0\.1:)\d+\s*$",
        rf"\g<1>{arguments.port}",
        text,
    )
    if updated != text:
        configuration.write_text(updated)
    return config_dir


def _log_in(api: HomeAssistantApi) -> str | None:
    """Onboard on the first start, else log in as dev; the note for the banner."""
    if "user" not in api.onboarding_done():
        api.onboard(**OWNER)
        return f"created the owner: log in as {OWNER['username']} / {OWNER['password']}"
    try:
        api.login(OWNER["username"], OWNER["password"])
    except ApiError:
        return None  # the developer changed the owner: they know how to log in
    return f"log in as {OWNER['username']} / {OWNER['password']}"


def _banner(stack: Stack, api: HomeAssistantApi, login: str | None) -> None:
    entities: list[str] = []
    if api.tokens is not None:
        entities = [
            state["entity_id"]
            for state in api.states()
            if state["entity_id"].startswith("tts.")
        ]
    endpoint = stack.emulator_url
    speaking = "a tone" if not stack.speak else "espeak-ng speech (a tone without it)"
    lines = [
        f"{BOLD}Home Assistant is running: open {stack.url}{RESET}"
        + (f"  ({login})" if login else ""),
        f"The Azure emulator serves a Speech container at {endpoint} "
        f"(Convai under {endpoint}/convai); it answers with {speaking}.",
        "",
        "Try:",
        "  1. Settings → Devices & services → Add integration → Cloud Speech →",
        "     Azure AI Speech → Custom endpoint or Speech container →",
        f"     {endpoint} (no key) → a language → a voice.",
        f"     (Convai instead: key {CONVAI_TEST_KEY}, and in the form's collapsed",
        f"     section the endpoint {endpoint}/convai.)",
        "  2. Hear it in the browser: Media → Text-to-speech → Speech → Say.",
        "  3. Developer tools → Actions → YAML mode:",
        "       action: tts.speak",
        "       target:",
        f"         entity_id: {entities[0] if entities else 'tts.azure_speech_…'}",
        "       data:",
        f"         media_player_entity_id: {MEDIA_PLAYER}",
        "         message: Hello from Cloud Speech!",
        "",
        "Edited custom_components/cloud_speech? Settings → ⋮ → Restart Home "
        "Assistant: this script starts it again.",
        f"Configuration: {stack.config_dir} (--reset starts afresh). "
        "Ctrl-C stops everything.",
    ]
    rule = "─" * 78
    say("\n".join([rule, *lines, rule]))


def _serve(stack: Stack) -> int:
    """Keep both running; restart hass when it asks to. Returns an exit code."""
    while True:
        time.sleep(0.5)
        if (code := stack.emulator.exit_code()) is not None:
            say(f"The emulator stopped (exit code {code}); stopping.")
            return 1
        if (code := stack.hass.exit_code()) is None:
            continue
        if code != RESTART_EXIT_CODE:
            say(f"Home Assistant stopped (exit code {code}).")
            return 0 if code == 0 else 1
        say(f"{BOLD}Restarting Home Assistant…{RESET}")
        stack.hass.stop()
        stack.hass.start()


def _stop_on_sigterm(_number: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main() -> int:
    """Entry point of scripts/develop."""
    arguments = _parse_arguments()
    for name, port in (
        ("Home Assistant", arguments.port),
        ("the emulator", arguments.emulator_port),
    ):
        if port_in_use(port):
            say(
                f"Port {port} for {name} is in use (another scripts/develop?); "
                "choose another with --port or --emulator-port."
            )
            return 1
    config_dir = _prepare_config(arguments)
    stack = Stack(
        config_dir,
        arguments.port,
        arguments.emulator_port,
        host=arguments.listen,
        speak=not arguments.tone,
    )
    # Explicit: started in the background, a process inherits SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    say(
        f"Starting the emulator on {stack.emulator_url} and Home Assistant on {stack.url}…"
    )
    try:
        stack.start(timeout=180)
        api = HomeAssistantApi(stack.url)
        login = _log_in(api)
        if api.tokens is not None:
            api.wait_until_running(timeout=180)
        _banner(stack, api, login)
        return _serve(stack)
    except KeyboardInterrupt:
        say("\nStopping Home Assistant and the emulator…")
        return 0
    except (StackError, ApiError, OSError) as err:
        say(f"{err}\n{stack.log_tail(30)}")
        return 1
    finally:
        # A second Ctrl-C must not leave them running: hass gets 30 s, then
        # SIGKILL.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
