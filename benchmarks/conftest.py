"""Fixtures for the benchmarks: a Home Assistant with both engines on one emulator.

The emulator runs in a subprocess (benchmarks/emulator_proc.py), configured
like the real service. Home Assistant's own client session is used, with two
changes only: its DNS resolver sends the Azure host names to the emulator, and
TLS certificates are not verified (the emulator's is self-signed). The core
`microsoft` platform runs unchanged too: pycsspeechtts's calls to requests.post
go to the same emulator, with the Host header of the real Azure host.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
import json
import logging
from pathlib import Path
import socket
import subprocess
import sys
import time
from typing import Any
from unittest.mock import patch
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.setup import async_setup_component
from pycsspeechtts import pycsspeechtts
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import requests
import urllib3

from benchmarks import report
from custom_components.cloud_speech.const import (
    CONF_CLOUD,
    CONF_REGION,
    CONF_SERVICE,
    CONF_VOICE,
    DOMAIN,
    SERVICE_AZURE,
)
from custom_components.cloud_speech.helpers import unique_id_for
from tests.emulator import TEST_KEY
from tests.emulator.hosts import classify_host

PROJECT_DIR = Path(__file__).resolve().parent.parent

#: 24 kHz 96 kbit/s MP3, the entry's format: bytes of one second of audio.
MP3_BYTES_PER_SECOND = 12_000.0
#: Service speeds the streaming batches are measured at: (first byte, x real time).
SERVICE_SPEEDS: dict[str, tuple[float, float]] = {
    "fast": (0.150, 10.0),
    "slow": (1.0, 2.0),
}

#: Speech to text: the emulator's processing model at the speeds measured,
#: (latency after the audio is processed, x real time). Assumed figures, not
#: measured Azure numbers (tests/emulator/FIDELITY.md, "Time to answer").
RECOGNITION_SPEEDS: dict[str, tuple[float, float]] = {
    "fast": (0.150, 10.0),
    "slow": (0.600, 2.0),
}

#: How the emulator is configured; see RESULTS.md for why.
EMULATOR_CONFIG: dict[str, float] = {
    "first_byte_delay": 0.150,
    # 24 kHz 96 kbit/s MP3 is 12,000 B/s of audio: ten times real time.
    "bytes_per_second": 120_000.0,
    "chunk_size": 4096,
    "ms_per_character": 60.0,
}

REGION = "westus"
VOICE = "en-US-JennyNeural"
ENTITY_ID = f"tts.azure_speech_{REGION}_speech"
CORE_ENGINE = "microsoft"
# HA's microsoft platform sends contour="" by default, which Azure ignores and
# the emulator refuses; this neutral contour is what pycsspeechtts itself uses.
CORE_CONTOUR = "(0%,+0%) (100%,+0%)"

ENTRY_DATA: dict[str, Any] = {
    CONF_SERVICE: SERVICE_AZURE,
    CONF_CLOUD: "global",
    CONF_REGION: REGION,
    CONF_API_KEY: TEST_KEY,
}


class EmulatorProcess:
    """The emulator subprocess: its ports and its control API."""

    def __init__(self, process: subprocess.Popen[str], ports: Mapping[str, int]):
        self.process = process
        self.http_port = ports["http_port"]
        self.https_port = ports["https_port"]
        self.control_url = f"http://127.0.0.1:{ports['control_port']}"

    async def stats(self, session: aiohttp.ClientSession) -> dict[str, Any]:
        async with session.get(f"{self.control_url}/stats") as response:
            return dict(await response.json())

    async def reset(self, session: aiohttp.ClientSession) -> None:
        async with session.post(f"{self.control_url}/reset") as response:
            await response.read()

    async def pace(
        self, session: aiohttp.ClientSession, first_byte_delay: float, speed: float
    ) -> None:
        """Answer after `first_byte_delay` s, then stream at `speed` x real time."""
        body = {
            "first_byte_delay": first_byte_delay,
            "bytes_per_second": speed * MP3_BYTES_PER_SECOND,
        }
        async with session.post(f"{self.control_url}/pace", json=body) as response:
            await response.read()

    async def recognition_pace(
        self, session: aiohttp.ClientSession, latency: float | None, speed: float | None
    ) -> None:
        """Answer speech to text `latency` s after processing at `speed` x real time.

        None, None: the emulator's default (at once). Synthesis keeps the
        benchmark's own pace (EMULATOR_CONFIG).
        """
        body = {
            "first_byte_delay": EMULATOR_CONFIG["first_byte_delay"],
            "bytes_per_second": EMULATOR_CONFIG["bytes_per_second"],
            "recognition_speed": speed,
            "recognition_latency": latency or 0.0,
        }
        async with session.post(f"{self.control_url}/pace", json=body) as response:
            await response.read()

    async def network(
        self, session: aiohttp.ClientSession, rtt: float, tls_round_trips: int = 1
    ) -> None:
        """Model a network of round-trip time `rtt` s (0: off); TLS 1.3 by default."""
        body = {"network_rtt": rtt, "tls_round_trips": tls_round_trips}
        async with session.post(f"{self.control_url}/pace", json=body) as response:
            await response.read()

    async def remember(
        self, session: aiohttp.ClientSession, pcm: bytes, text: str
    ) -> None:
        """Teach the recogniser: `pcm` (16 kHz mono 16-bit) means `text`."""
        async with session.post(
            f"{self.control_url}/remember", params={"text": text}, data=pcm
        ) as response:
            await response.read()


@pytest.fixture(scope="session")
def emulator_process() -> Iterator[EmulatorProcess]:
    """Start the emulator subprocess once for every benchmark."""
    command = [sys.executable, "-m", "benchmarks.emulator_proc"]
    for name, value in EMULATOR_CONFIG.items():
        command += [f"--{name.replace('_', '-')}", str(value)]
    process = subprocess.Popen(
        command, cwd=PROJECT_DIR, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        ports = json.loads(process.stdout.readline())
        yield EmulatorProcess(process, ports)
    finally:
        process.terminate()
        process.wait(timeout=10)


class RedirectResolver(AbstractResolver):
    """DNS for Home Assistant's session: Azure hosts are the emulator."""

    def __init__(self, http_port: int, https_port: int) -> None:
        self._ports = {80: http_port, 443: https_port}

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if classify_host(host) is None:
            raise OSError(socket.EAI_NONAME, f"Name or service not known: {host}")
        return [
            ResolveResult(
                hostname=host,
                host="127.0.0.1",
                port=self._ports.get(port, port),
                family=socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
        ]

    async def close(self) -> None:
        """Nothing to release."""

    async def real_close(self) -> None:
        """What Home Assistant calls on shutdown."""


class RedirectedRequests:
    """Stands in for the `requests` module inside pycsspeechtts.

    Each call is the real requests.post (a new connection, TLS included, as
    pycsspeechtts makes), sent to the emulator's HTTPS port with the Host
    header of the Azure host named in the URL; certificates are not verified.
    """

    codes = requests.codes

    def __init__(self, https_port: int) -> None:
        self._netloc = f"127.0.0.1:{https_port}"

    def post(self, url: str, data: Any = None, **kwargs: Any) -> requests.Response:
        parts = urlsplit(url)
        headers = dict(kwargs.pop("headers", None) or {})
        headers["Host"] = parts.netloc
        target = urlunsplit((parts.scheme, self._netloc, parts.path, parts.query, ""))
        return requests.post(target, data, headers=headers, verify=False, **kwargs)


@dataclass
class Bench:
    """What a benchmark works with."""

    hass: HomeAssistant
    emulator: EmulatorProcess
    session: aiohttp.ClientSession  # Home Assistant's, redirected
    control: aiohttp.ClientSession  # for the emulator's control API
    entry: MockConfigEntry

    async def stats(self) -> dict[str, Any]:
        return await self.emulator.stats(self.control)

    async def reset(self) -> None:
        await self.emulator.reset(self.control)

    async def pace(self, speed: str) -> None:
        """Set the emulator to one of `SERVICE_SPEEDS`."""
        await self.emulator.pace(self.control, *SERVICE_SPEEDS[speed])

    async def recognition_pace(self, speed: str | None) -> None:
        """Set speech to text to one of `RECOGNITION_SPEEDS` (None: at once)."""
        latency, factor = RECOGNITION_SPEEDS[speed] if speed else (None, None)
        await self.emulator.recognition_pace(self.control, latency, factor)

    async def remember(self, pcm: bytes, text: str) -> None:
        await self.emulator.remember(self.control, pcm, text)

    async def network(self, rtt: float, tls_round_trips: int = 1) -> None:
        """Set the emulator's network model (tests/emulator/network.py)."""
        await self.emulator.network(self.control, rtt, tls_round_trips)

    def close_idle_connections(self) -> int:
        """Close the idle pooled connections of HA's session, as 15 s idle would.

        Home Assistant's shared session (aiohttp's TCPConnector, default
        `keepalive_timeout` 15 s) closes a pooled connection once it has been
        idle that long; its next request opens a new one. aiohttp has no
        public call for that, so this runs the connector's own idle clean-up
        (`_cleanup`, what its timer runs) after marking every pooled
        connection as last used `keepalive_timeout` + 1 s ago. Connections
        in use are not touched. Returns how many were closed.
        """
        connector = self.session.connector
        assert isinstance(connector, aiohttp.TCPConnector)
        timeout = connector._keepalive_timeout  # noqa: SLF001
        assert timeout is not None
        pooled = connector._conns  # noqa: SLF001
        long_ago = time.monotonic() - timeout - 1.0
        count = 0
        for key, entries in pooled.items():
            pooled[key] = deque((protocol, long_ago) for protocol, _ in entries)
            count += len(entries)
        connector._cleanup()  # noqa: SLF001
        return count


@pytest.fixture(autouse=True)
async def enable_event_loop_debug() -> None:
    """Run the loop as Home Assistant does in production: not in debug mode.

    Overrides the plugin's fixture of the same name, which turns debug mode on.
    """
    import asyncio  # noqa: PLC0415 - only here, to keep the override obvious

    asyncio.get_running_loop().set_debug(False)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/cloud_speech."""


@pytest.fixture(autouse=True)
def tts_cache_dir(tmp_path: Path) -> Iterator[Path]:
    """A TTS file cache of the benchmark's own."""
    with patch("homeassistant.components.tts.DEFAULT_CACHE_DIR", str(tmp_path)):
        yield tmp_path


@pytest.fixture
async def bench(
    hass: HomeAssistant,
    emulator_process: EmulatorProcess,
    socket_enabled: None,
    tts_cache_dir: Path,
) -> AsyncIterator[Bench]:
    """Both engines set up, talking to the emulator subprocess."""
    # Setup chatter would drown the figures; warnings and errors still show.
    logging.getLogger("homeassistant").setLevel(logging.WARNING)
    logging.getLogger("homeassistant.loader").setLevel(logging.ERROR)
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    resolver = RedirectResolver(emulator_process.http_port, emulator_process.https_port)
    with patch(
        "homeassistant.helpers.aiohttp_client._async_make_resolver",
        return_value=resolver,
    ):
        session = async_get_clientsession(hass, verify_ssl=False)
    assert session.connector is not None
    assert session.connector._resolver is resolver  # noqa: SLF001 - sanity check
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=f"Azure Speech ({REGION})",
        data=ENTRY_DATA,
        options={CONF_VOICE: VOICE},
        unique_id=unique_id_for(ENTRY_DATA),
    )
    with (
        patch(
            "custom_components.cloud_speech.helpers.async_get_clientsession",
            return_value=session,
        ),
        patch.object(
            pycsspeechtts, "requests", RedirectedRequests(emulator_process.https_port)
        ),
    ):
        assert await async_setup_component(
            hass,
            "tts",
            {
                "tts": [
                    {
                        "platform": CORE_ENGINE,
                        CONF_API_KEY: TEST_KEY,
                        "region": REGION,
                        "contour": CORE_CONTOUR,
                        # The legacy platform config carries the file cache's
                        # directory (HA's default file cache stays on).
                        "cache_dir": str(tts_cache_dir),
                    }
                ]
            },
        )
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        async with aiohttp.ClientSession() as control:
            yield Bench(hass, emulator_process, session, control, entry)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write benchmarks/RESULTS.md, but only from a complete run.

    A partial run (-k ...) prints its tables instead, so that RESULTS.md always
    holds figures measured together; except `-k conversions` (both versions),
    which rewrites the conversion sections and their targets only, and
    `-k speech_to_text` and `-k real_networks`, which rewrite their own
    section and targets only.
    """
    if not report.SECTIONS:
        return
    if set(report.SECTIONS) == set(report.SECTION_NAMES):
        path = report.write_results(PROJECT_DIR / "benchmarks" / "RESULTS.md")
        print(f"\nResults written to {path.relative_to(PROJECT_DIR)}")
    elif set(report.SECTIONS) == set(report.CONVERSION_SECTIONS):
        # Conversion counts do not depend on load: both versions' figures,
        # measured together, may replace their own part of the results.
        path = report.write_conversions(PROJECT_DIR / "benchmarks" / "RESULTS.md")
        print(f"\nConversion sections written to {path.relative_to(PROJECT_DIR)}")
    elif set(report.SECTIONS) == {report.SPEECH_TO_TEXT}:
        # Speech to text compares two uploads measured together, and its
        # section carries its own run conditions: it may replace its own part.
        path = report.write_speech_to_text(PROJECT_DIR / "benchmarks" / "RESULTS.md")
        print(f"\nSpeech to text section written to {path.relative_to(PROJECT_DIR)}")
    elif set(report.SECTIONS) == {report.REAL_NETWORKS}:
        # Like speech to text: figures measured together, with their own run
        # conditions, replace their own part.
        path = report.write_real_networks(PROJECT_DIR / "benchmarks" / "RESULTS.md")
        print(f"\nReal networks section written to {path.relative_to(PROJECT_DIR)}")
    else:
        print("\n" + "\n".join(report.generated()))
        print("\nPartial run: benchmarks/RESULTS.md left as it was.")
