"""A real Home Assistant and the emulator as subprocesses.

Shared by the end-to-end test and `scripts/develop`: both write the same
minimal configuration (frontend, config panel, demo media players, media
source, and this project's `custom_components/cloud_speech` linked in), start
`python -m tests.emulator --speak` as a Speech container and `hass` on it, and
onboard Home Assistant through its HTTP API.

Nothing here imports Home Assistant: the test process only talks HTTP to the
subprocesses on 127.0.0.1. So the `hass` may come from another venv than the
test process: CLOUD_SPEECH_HASS_PYTHON names its Python (scripts/test sets it
to the latest release's venv for a second run of the end-to-end tests).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping, Sequence
import contextlib
from dataclasses import dataclass, field
from http import HTTPStatus
import json
import os
from pathlib import Path
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from typing import IO, Any, Self
import urllib.error
import urllib.parse
import urllib.request

import aiohttp

PROJECT_DIR = Path(__file__).resolve().parents[2]
INTEGRATION_DIR = PROJECT_DIR / "custom_components" / "cloud_speech"
#: A streaming conversation agent of the tests' own (tests/e2e/streaming_agent),
#: linked into the configuration only by the tests that run an Assist pipeline.
STREAMING_AGENT_DIR = Path(__file__).resolve().parent / "streaming_agent"

#: The Python whose Home Assistant the tests start, e.g. the latest release's
#: venv (scripts/test sets it); unset, the test process's own (2026.10).
HASS_PYTHON_ENV = "CLOUD_SPEECH_HASS_PYTHON"

#: The media player `tts.speak` targets: a demo player that accepts any media.
MEDIA_PLAYER = "media_player.living_room"

#: Home Assistant's onboarding steps that need not be done through the API.
#: `core_config` would start config flows for google_translate, met and
#: radio_browser, which pip-install packages and reach the internet; the
#: configuration below already sets the location, units and time zone.
PRESET_ONBOARDING_STEPS = ("core_config",)

CONFIGURATION = """\
# Written by {writer}. Delete this file to get a fresh one.
# Deliberately not default_config: its integrations have requirements that
# Home Assistant would pip-install at startup.
homeassistant:
  name: Cloud Speech development
  latitude: 47.6740
  longitude: -122.1215
  elevation: 15
  unit_system: us_customary
  time_zone: America/Los_Angeles
  country: US
  currency: USD
  language: en
  internal_url: {url}

# The HTTP server's address and port live in .storage/http: Home Assistant
# 2026.10 migrates an http: section into it and then asks to confirm it,
# reverting to port 8123 after five minutes.

frontend:
config:
# Media players to speak on (media_player.living_room plays any media), among
# other demo entities.
demo:
# The Media panel: Media → Text-to-speech plays a message in the browser.
media_source:

logger:
  default: warning
  logs:
    custom_components.cloud_speech: debug
"""

SUBPROCESS_ENV_DROPPED = ("COV_CORE_", "COVERAGE_", "PYTEST_", "PIP_")


def hass_python() -> str:
    """The Python interpreter that runs `hass` (see HASS_PYTHON_ENV)."""
    return os.environ.get(HASS_PYTHON_ENV) or sys.executable


def configured_domains() -> set[str]:
    """The integrations configuration.yaml names (its top-level keys)."""
    return set(re.findall(r"(?m)^([a-z_]+):", CONFIGURATION))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts connections on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) == 0


FFMPEG_WRAPPER = """\
#!/bin/sh
# Written by tests/e2e/harness.py: log the call, then run the real ffmpeg.
printf '%s\\n' "$*" >> {log}
exec {real} "$@"
"""


def logging_ffmpeg(directory: Path, log: Path) -> dict[str, str]:
    """An `ffmpeg` in `directory` that logs its calls to `log`.

    Returns the environment for hass (Stack.hass_env) that puts it first on
    PATH, where Home Assistant's ffmpeg integration looks for `ffmpeg`.
    """
    directory.mkdir(parents=True, exist_ok=True)
    wrapper = directory / "ffmpeg"
    real = shutil.which("ffmpeg") or "false"
    wrapper.write_text(FFMPEG_WRAPPER.format(log=log, real=real))
    wrapper.chmod(0o755)
    return {"PATH": f"{directory}{os.pathsep}{os.environ.get('PATH', '')}"}


def ffmpeg_conversions(log: Path) -> list[str]:
    """The logged ffmpeg calls that convert audio (not the `-version` probe)."""
    if not log.exists():
        return []
    return [line for line in log.read_text().splitlines() if " -i " in f" {line} "]


def write_config(
    config_dir: Path,
    *,
    port: int,
    host: str = "127.0.0.1",
    writer: str = "tests/e2e/harness.py",
    relative_link: bool = False,
    extra_integrations: Sequence[Path] = (),
    extra_configuration: str = "",
) -> None:
    """Create a configuration directory for Home Assistant.

    configuration.yaml and the onboarding state are written only when missing
    (a developer may edit them); the HTTP server's host and port always.
    extra_configuration is added to the end of configuration.yaml: built-in
    integrations a test needs beyond the usual ones (their requirements must
    be among those of ha_requirements.loaded_domains()).
    The integration (and any of extra_integrations, custom integrations of the
    tests) is linked, not copied, so edits to the project show after a restart
    of Home Assistant.
    """
    config_dir.mkdir(parents=True, exist_ok=True)
    configuration = config_dir / "configuration.yaml"
    if not configuration.exists():
        configuration.write_text(
            CONFIGURATION.format(writer=writer, url=f"http://127.0.0.1:{port}")
            + extra_configuration
        )
    storage = config_dir / ".storage"
    storage.mkdir(exist_ok=True)
    _write_store(
        storage / "http",
        "http",
        (2, 2),
        {
            "stable": {
                "server_host": [host],
                "server_port": port,
                "cors_allowed_origins": ["https://cast.home-assistant.io"],
                "login_attempts_threshold": -1,
                "ip_ban_enabled": True,
                "ssl_profile": "modern",
                "use_x_frame_options": True,
                "created_at": "2026-01-01T00:00:00+00:00",
                "error": None,
                "error_message": None,
            },
            "pending": None,
            "yaml_migration_done": True,
        },
    )
    if not (storage / "onboarding").exists():
        _write_store(
            storage / "onboarding",
            "onboarding",
            (4, 1),
            {"done": list(PRESET_ONBOARDING_STEPS)},
        )
    for integration in (INTEGRATION_DIR, *extra_integrations):
        _link_integration(config_dir, integration, relative=relative_link)


def _link_integration(config_dir: Path, source: Path, *, relative: bool) -> None:
    """Link a custom integration's folder into config_dir/custom_components."""
    domain = json.loads((source / "manifest.json").read_text())["domain"]
    link = config_dir / "custom_components" / domain
    link.parent.mkdir(exist_ok=True)
    target = Path(os.path.relpath(source, link.parent)) if relative else source
    if not (link.is_symlink() and link.readlink() == target):
        if link.is_symlink():
            link.unlink()
        link.symlink_to(target, target_is_directory=True)


def _write_store(path: Path, key: str, version: tuple[int, int], data: Any) -> None:
    """Write a file of Home Assistant's .storage in its own format."""
    major, minor = version
    path.write_text(
        json.dumps(
            {"version": major, "minor_version": minor, "key": key, "data": data},
            indent=2,
        )
    )


def _subprocess_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment without coverage and pytest hooks (they slow hass down)."""
    return (
        {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(SUBPROCESS_ENV_DROPPED)
        }
        | {"PYTHONUNBUFFERED": "1"}
        | dict(extra or {})
    )


def _die_with_parent() -> list[str]:
    """A command prefix that stops the child when this process dies."""
    if sys.platform == "linux" and (setpriv := shutil.which("setpriv")):
        return [setpriv, "--pdeathsig", "TERM", "--"]
    return []


@dataclass
class Service:
    """One subprocess (hass or the emulator) in its own process group."""

    name: str
    command: list[str]
    log_path: Path | None = None  # None: output goes to this terminal
    stop_timeout: float = 30.0
    env: Mapping[str, str] = field(default_factory=dict)  # on top of ours
    cwd: Path = PROJECT_DIR
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _log: IO[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        """Start the process; its output goes to log_path or the terminal."""
        output: IO[bytes] | None = None
        if self.log_path is not None:
            self._log = output = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603  # our own fixed commands
            [*_die_with_parent(), *self.command],
            cwd=self.cwd,
            env=_subprocess_env(self.env),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT if output is not None else None,
            # Ctrl-C reaches only the parent, which stops children in order.
            start_new_session=True,
        )

    def exit_code(self) -> int | None:
        """The exit code, or None while it runs (or before it started)."""
        return None if self.process is None else self.process.poll()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after stop_timeout; safe to call twice."""
        process = self.process
        if process is not None and process.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                process.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                process.wait(10)
        if process is not None:
            # Whatever it started (an ffmpeg, say) goes with it.
            self._signal(signal.SIGKILL)
        if self._log is not None:
            self._log.close()
            self._log = None

    def _signal(self, number: signal.Signals) -> None:
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, number)


class StackError(RuntimeError):
    """Home Assistant or the emulator did not come up or misbehaved."""


@dataclass
class Stack:
    """The emulator and Home Assistant, started and stopped together."""

    config_dir: Path
    ha_port: int
    emulator_port: int
    log_dir: Path | None = None  # None: both write to this terminal
    host: str = "127.0.0.1"
    speak: bool = True
    #: Extra environment for hass only (e.g. a PATH with an ffmpeg that logs).
    hass_env: Mapping[str, str] = field(default_factory=dict)
    #: False: the test serves the emulator itself on emulator_port (see
    #: live_emulator.EmulatorThread); start() only waits for it to answer.
    emulator_subprocess: bool = True
    emulator: Service = field(init=False)
    hass: Service = field(init=False)

    def __post_init__(self) -> None:
        """Describe both services."""
        emulator_command = [
            sys.executable,
            "-m",
            "tests.emulator",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.emulator_port),
        ]
        if self.speak:
            emulator_command.append("--speak")
        self.emulator = Service(
            "emulator",
            emulator_command,
            None if self.log_dir is None else self.log_dir / "emulator.log",
            stop_timeout=5,
        )
        # --skip-pip: every requirement comes preinstalled (requirements_test.txt,
        # or for the latest release what scripts/setup computed with
        # tests/e2e/ha_requirements.py); a missing one fails loudly instead of
        # reaching for the network.
        self.hass = Service(
            "hass",
            [
                hass_python(),
                "-m",
                "homeassistant",
                "--config",
                str(self.config_dir),
                "--skip-pip",
            ],
            None if self.log_dir is None else self.log_dir / "hass.out",
            env=self.hass_env,
            # Not the project: `python -m` puts the working directory first on
            # sys.path, and the project's own custom_components/ would hide the
            # configuration's (where the tests link their own integrations).
            cwd=self.config_dir,
        )

    @property
    def url(self) -> str:
        """Home Assistant's base URL (for this machine)."""
        return f"http://127.0.0.1:{self.ha_port}"

    @property
    def emulator_url(self) -> str:
        """The emulated Speech container's endpoint."""
        return f"http://127.0.0.1:{self.emulator_port}"

    def start(self, timeout: float = 90) -> None:
        """Start the emulator, then Home Assistant; wait until both answer HTTP."""
        deadline = time.monotonic() + timeout
        if self.emulator_subprocess:
            self.emulator.start()
        self._wait_for(
            self.emulator,
            f"{self.emulator_url}/cognitiveservices/voices/list",
            deadline,
        )
        self.hass.start()
        # Answered without a login, before and after onboarding (unlike
        # /api/onboarding and /auth/providers).
        self._wait_for(self.hass, f"{self.url}/manifest.json", deadline)

    def stop(self) -> None:
        """Stop Home Assistant, then the emulator."""
        try:
            self.hass.stop()
        finally:
            self.emulator.stop()

    def __enter__(self) -> Self:
        """Start everything (stopping what started if that fails)."""
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stop everything."""
        self.stop()

    def _wait_for(self, service: Service, url: str, deadline: float) -> None:
        problem = "no answer"
        while True:
            if (code := service.exit_code()) is not None:
                raise StackError(
                    f"{service.name} exited with code {code} while starting"
                )
            try:
                with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310
                    response.read()  # all of it: the server logs a cut-off answer
                    if response.status == 200:
                        return
                    problem = f"status {response.status}"
            except OSError as err:
                problem = f"{type(err).__name__}: {err}"
            if time.monotonic() > deadline:
                raise StackError(
                    f"{service.name} did not answer {url} in time ({problem})"
                )
            time.sleep(0.25)

    def log_tail(self, lines: int = 60) -> str:
        """The end of Home Assistant's log and of the emulator's output."""
        parts = []
        if (code := self.hass.exit_code()) is not None:
            parts.append(f"hass exited with code {code}")
        log = self.config_dir / "home-assistant.log"
        sources = [("home-assistant.log", log)]
        if self.log_dir is not None:
            if code is not None or not log.exists():
                # What hass printed before its logging was set up, or as it died.
                sources.append(("hass output", self.log_dir / "hass.out"))
            sources.append(("emulator output", self.log_dir / "emulator.log"))
        for title, path in sources:
            parts.append(f"--- last {lines} lines of {title} ({path}) ---")
            try:
                with path.open(errors="replace") as log:
                    parts.extend(line.rstrip("\n") for line in deque(log, lines))
            except OSError as err:
                parts.append(f"(unreadable: {err})")
        return "\n".join(parts)


# --- Home Assistant's HTTP API -------------------------------------------------


class ApiError(RuntimeError):
    """An HTTP request to Home Assistant failed."""

    def __init__(self, method: str, url: str, status: int, body: str) -> None:
        """Keep what the server answered."""
        super().__init__(f"{method} {url} answered {status}: {body[:500]}")
        self.status = status
        self.body = body


def request(
    method: str,
    url: str,
    *,
    json_body: Any = None,
    form: Mapping[str, str] | None = None,
    token: str | None = None,
    timeout: float = 30,
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request; returns status, headers and body (raises ApiError >= 400)."""
    data: bytes | None = None
    headers = {"Accept": "application/json"}
    if json_body is not None:
        data = json.dumps(json_body).encode()
        headers["Content-Type"] = "application/json"
    elif form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:  # noqa: S310
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        raise ApiError(
            method, url, err.code, err.read().decode(errors="replace")
        ) from None


@dataclass
class Tokens:
    """What /auth/token returns, plus the client it was issued to."""

    access_token: str
    refresh_token: str
    expires_in: int
    client_id: str
    hass_url: str

    def frontend_storage(self) -> str:
        """The `hassTokens` localStorage value the frontend logs in with."""
        return json.dumps(
            {
                "hassUrl": self.hass_url,
                "clientId": self.client_id,
                "access_token": self.access_token,
                "refresh_token": self.refresh_token,
                "token_type": "Bearer",
                "expires_in": self.expires_in,
                "expires": int(time.time() * 1000) + self.expires_in * 1000,
            }
        )


class HomeAssistantApi:
    """The few REST calls the test and scripts/develop need."""

    def __init__(self, base_url: str) -> None:
        """Talk to Home Assistant at base_url (no trailing slash)."""
        self.base_url = base_url
        # The frontend's own client id, so the browser can use these tokens.
        self.client_id = f"{base_url}/"
        self.tokens: Tokens | None = None

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """An authenticated JSON call; returns the decoded answer."""
        token = self.tokens.access_token if self.tokens else None
        _, _, content = request(
            method, self.base_url + path, json_body=body, token=token
        )
        return json.loads(content) if content else None

    def onboarding_done(self) -> list[str]:
        """The onboarding steps done so far (every one once onboarded)."""
        try:
            steps = self.call("GET", "/api/onboarding")
        except ApiError as err:
            if err.status != HTTPStatus.NOT_FOUND:
                raise
            # Home Assistant only serves the onboarding API until it is done.
            return ["user", "core_config", "analytics", "integration"]
        return [step["step"] for step in steps if step["done"]]

    def onboard(self, name: str, username: str, password: str) -> Tokens:
        """Create the owner and finish onboarding as the frontend would."""
        answer = self.call(
            "POST",
            "/api/onboarding/users",
            {
                "client_id": self.client_id,
                "name": name,
                "username": username,
                "password": password,
                "language": "en",
            },
        )
        self._exchange(answer["auth_code"])
        done = self.onboarding_done()
        if "core_config" not in done:
            self.call("POST", "/api/onboarding/core_config", {})
        if "analytics" not in done:
            self.call("POST", "/api/onboarding/analytics", {})
        if "integration" not in done:
            self.call(
                "POST",
                "/api/onboarding/integration",
                {"client_id": self.client_id, "redirect_uri": self.client_id},
            )
        assert self.tokens is not None
        return self.tokens

    def login(self, username: str, password: str) -> Tokens:
        """Log in through the same login flow as the frontend's login page."""
        flow = self.call(
            "POST",
            "/auth/login_flow",
            {
                "client_id": self.client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": self.client_id,
            },
        )
        result = self.call(
            "POST",
            f"/auth/login_flow/{flow['flow_id']}",
            {"client_id": self.client_id, "username": username, "password": password},
        )
        if result.get("type") != "create_entry":
            raise ApiError("POST", "/auth/login_flow", 400, json.dumps(result))
        return self._exchange(result["result"])

    def _exchange(self, code: str) -> Tokens:
        _, _, content = request(
            "POST",
            f"{self.base_url}/auth/token",
            form={
                "grant_type": "authorization_code",
                "code": code,
                "client_id": self.client_id,
            },
        )
        answer = json.loads(content)
        self.tokens = Tokens(
            answer["access_token"],
            answer["refresh_token"],
            int(answer["expires_in"]),
            self.client_id,
            self.base_url,
        )
        return self.tokens

    def wait_until_running(self, timeout: float = 60) -> None:
        """Wait for Home Assistant to finish starting (state RUNNING)."""
        deadline = time.monotonic() + timeout
        while (state := self.call("GET", "/api/config")["state"]) != "RUNNING":
            if time.monotonic() > deadline:
                raise StackError(f"Home Assistant is still {state}")
            time.sleep(0.25)

    def states(self) -> Iterator[dict[str, Any]]:
        """Every entity's state."""
        yield from self.call("GET", "/api/states")

    def websocket(self) -> Websocket:
        """A websocket API connection as the owner (`async with`)."""
        assert self.tokens is not None
        return Websocket(self.base_url, self.tokens.access_token)

    def flow(self, handler: str, *steps: dict[str, Any]) -> Any:
        """Run a config flow through the REST API to its entry; return its last answer."""
        answer = self.call(
            "POST", "/api/config/config_entries/flow", {"handler": handler}
        )
        for step in steps:
            assert answer["type"] in ("form", "menu"), answer
            answer = self.call(
                "POST", f"/api/config/config_entries/flow/{answer['flow_id']}", step
            )
        assert answer["type"] == "create_entry", answer
        return answer

    def entity_named(self, domain: str, name_part: str) -> str:
        """The one entity of `domain` whose friendly name contains name_part."""
        found = [
            state["entity_id"]
            for state in self.states()
            if state["entity_id"].startswith(f"{domain}.")
            and name_part in state["attributes"].get("friendly_name", "")
        ]
        assert len(found) == 1, found
        return found[0]


class Websocket:
    """Home Assistant's websocket API, authenticated (`async with`)."""

    def __init__(self, base_url: str, access_token: str) -> None:
        """Connect to base_url's /api/websocket on entering."""
        self._base_url = base_url
        self._access_token = access_token
        self._next_id = 1
        self.session: aiohttp.ClientSession | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None

    async def __aenter__(self) -> Self:
        """Connect and authenticate."""
        self.session = aiohttp.ClientSession()
        try:
            self.ws = await self.session.ws_connect(f"{self._base_url}/api/websocket")
            assert (await self.ws.receive_json())["type"] == "auth_required"
            await self.ws.send_json(
                {"type": "auth", "access_token": self._access_token}
            )
            answer = await self.ws.receive_json()
            assert answer["type"] == "auth_ok", answer
        except BaseException:
            await self.__aexit__()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Close the connection."""
        assert self.session is not None
        if self.ws is not None:
            await self.ws.close()
        await self.session.close()

    async def send(self, message: dict[str, Any]) -> int:
        """Send a command; return its id."""
        assert self.ws is not None
        message_id = self._next_id
        self._next_id += 1
        await self.ws.send_json({"id": message_id, **message})
        return message_id

    async def command(self, message: dict[str, Any]) -> Any:
        """Send a command and return its result (asserting it succeeded)."""
        assert self.ws is not None
        message_id = await self.send(message)
        while (answer := await self.ws.receive_json())["id"] != message_id:
            pass
        assert answer["success"], answer
        return answer["result"]


#: The Home Assistant version a run must find, when set (scripts/test).
HASS_VERSION_ENV = "CLOUD_SPEECH_HASS_VERSION"


def running_version(api: HomeAssistantApi) -> str:
    """The version of the hass under test; the one scripts/test means, when it names one."""
    running = str(api.call("GET", "/api/config")["version"])
    expected = os.environ.get(HASS_VERSION_ENV)
    assert expected in (None, running), f"hass is {running}, not {expected}"
    return running


def version_tuple(version: str) -> tuple[int, ...]:
    """``2026.11.0`` as ``(2026, 11, 0)``, for comparing releases."""
    return tuple(int(part) for part in version.split(".")[:3] if part.isdigit())
