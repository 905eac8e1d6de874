"""The fault matrix: what Home Assistant does when the speech service misbehaves.

Every test goes through Home Assistant's TTS machinery to our entity and on to
the emulator, whose fault injection plays the misbehaving service. The clients
keep the production retry policy (3 attempts in all, 0.5 s back-off doubled,
``Retry-After`` honoured up to 5 s). Two settings are tuned so that the suite
stays fast, both through the client's constructor (configuration, not code):

* timeouts are short (`FAST_TIMEOUTS`), so a hung service costs a fraction of
  a second instead of 15 s;
* the client's ``sleep`` (its documented injection point for waiting between
  retries) records each wait instead of spending it, so the policy's decisions
  (how many retries, how long each wait) are asserted exactly. One test keeps
  the real sleep to show that the waits really elapse.

The helpers at the top are shared by the other reliability suites
(test_hostile_input, test_secrets, test_load).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import timedelta
import email.utils
import json
import logging
from pathlib import Path
import signal
import socket
import time
from types import FrameType, TracebackType
from typing import Any, Self
from unittest.mock import patch

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from homeassistant.components import tts
from homeassistant.components.tts.const import DATA_TTS_MANAGER
from homeassistant.components.tts.entity import TTSAudioRequest
from homeassistant.components.tts.helper import get_engine_instance
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

import custom_components.cloud_speech as integration
from custom_components.cloud_speech import helpers
from custom_components.cloud_speech.const import CONF_AUTH_MODE, DOMAIN
from custom_components.cloud_speech.helpers import unique_id_for
from custom_components.cloud_speech.speech.http import Timeouts
from tests.emulator import Emulator, EmulatorServer, Fault
from tests.emulator.audio import mp3_frames

from .conftest import AZURE_CHINA_DATA, DEFAULT_OPTIONS, cache_voices
from .tts_calls import AZURE_ENTITY_ID, speak, stream, text_stream

ENTITY_ID = AZURE_ENTITY_ID
SYNTHESIS_HOST = "chinaeast2.tts.speech.azure.cn"
# What Home Assistant shows users: the English translation of our messages.
TRANSLATIONS = json.loads(
    (Path(integration.__file__).parent / "translations" / "en.json").read_text()
)
# One sentence, so one synthesis request, long enough for several 4 KiB chunks.
ANNOUNCEMENT = "The garage door has been open for ten minutes."
# Short enough that a stalled service costs little; far above what the local
# emulator needs to answer.
FAST_TIMEOUTS = Timeouts(connect=0.3, first_byte=0.4, idle=0.4, total=2.0)
# Waits the production policy makes before its 2nd and 3rd attempt.
BACKOFF_WAITS = [0.5, 1.0]
# The longest the event loop may go without running other tasks while we
# handle a fault: anything longer is Home Assistant freezing.
RESPONSIVE_STALL = 0.25


# --- helpers shared by the reliability suites ------------------------------------


def served_audio(emulator: Emulator) -> bytes:
    """The audio bodies of the recorded synthesis requests that succeeded, in order."""
    return b"".join(
        request.response_body
        for request in emulator.requests_for("synthesis")
        if request.status == 200
    )


def assert_complete_mp3(audio: bytes, served: bytes) -> None:
    """`audio` is exactly what the service sent, and whole MP3 frames to the end."""
    assert audio == served
    frames = mp3_frames(audio)
    assert frames
    assert sum(frame.length for frame in frames) == len(audio)


def assert_translated(error: BaseException, key: str) -> None:
    """A translated error of ours whose message has every placeholder filled in."""
    assert isinstance(error, HomeAssistantError), repr(error)
    assert error.translation_domain == DOMAIN
    assert error.translation_key == key
    template = TRANSLATIONS["exceptions"][key]["message"].rstrip(".")
    assert str(error) == template.format(**(error.translation_placeholders or {}))


def our_tasks() -> list[asyncio.Task[Any]]:
    """Unfinished tasks running the integration's code or HA loading its audio."""
    found = []
    for task in asyncio.all_tasks():
        if task.done():
            continue
        coro = task.get_coro()
        code = getattr(coro, "cr_code", None) or getattr(coro, "ag_code", None)
        filename = code.co_filename if code is not None else ""
        if "custom_components/cloud_speech" in filename or task.get_name().startswith(
            "tts_load_data_into_cache"
        ):
            found.append(task)
    return found


async def wait_until(
    condition: Callable[[], bool], what: str, timeout: float = 3.0
) -> None:
    """Wait for `condition`, failing the test with `what` when it never holds."""
    try:
        async with asyncio.timeout(timeout):
            while not condition():  # noqa: ASYNC110 - counters, not events
                await asyncio.sleep(0.01)
    except TimeoutError:
        pytest.fail(f"Still waiting after {timeout} s for: {what}")


async def assert_nothing_left_behind(emulator: Emulator, timeout: float = 3.0) -> None:
    """Every connection to the service is closed and none of our tasks runs."""
    await wait_until(lambda: emulator.open_requests == 0, "requests to close", timeout)
    await wait_until(lambda: not our_tasks(), "our tasks to end", timeout)


class EventLoopBlockedError(Exception):
    """Raised in whatever code holds the event loop longer than allowed."""


class LoopWatch:
    """Measures how long the event loop goes without running other tasks.

    With `abort_after`, a code path that holds the loop longer than that is
    interrupted by SIGALRM (the watch re-arms the alarm every tick, so it only
    fires when the loop stops ticking): a frozen Home Assistant fails the test
    in a second instead of hanging the suite.
    """

    def __init__(self, *, interval: float = 0.01, abort_after: float | None = None):
        self.interval = interval
        self.abort_after = abort_after
        self.longest_stall = 0.0
        self._task: asyncio.Task[None] | None = None
        self._previous_handler: Any = None

    async def __aenter__(self) -> Self:
        if self.abort_after is not None:
            self._previous_handler = signal.signal(signal.SIGALRM, self._on_alarm)
            signal.setitimer(signal.ITIMER_REAL, self.abort_after)
        self._task = asyncio.create_task(self._tick())
        await asyncio.sleep(0)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.abort_after is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._previous_handler)
        assert self._task is not None
        self._task.cancel()
        with suppress(asyncio.CancelledError):
            await self._task

    def _on_alarm(self, signum: int, frame: FrameType | None) -> None:
        raise EventLoopBlockedError(
            f"The event loop was blocked for more than {self.abort_after} s"
        )

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(self.interval)
            stall = loop.time() - before - self.interval
            self.longest_stall = max(self.longest_stall, stall)
            if self.abort_after is not None:
                signal.setitimer(signal.ITIMER_REAL, self.abort_after)


@dataclass
class ClientTuning:
    """What the clients built by the integration are given besides their defaults."""

    timeouts: Timeouts = FAST_TIMEOUTS
    real_sleep: bool = False
    waits: list[float] = field(default_factory=list)

    async def sleep(self, seconds: float) -> None:
        """Wait between retries: recorded, and only really waited when asked to."""
        self.waits.append(seconds)
        await asyncio.sleep(seconds if self.real_sleep else 0)


@contextmanager
def tuned_clients(tuning: ClientTuning) -> Iterator[ClientTuning]:
    """Build every Azure client (entries and flows) with `tuning`."""
    build = helpers.AzureSpeechClient

    def tuned(*args: Any, **kwargs: Any) -> Any:
        return build(
            *args, **{**kwargs, "timeouts": tuning.timeouts, "sleep": tuning.sleep}
        )

    with patch.object(helpers, "AzureSpeechClient", tuned):
        yield tuning


class BlackHole:
    """A TCP server that accepts connections and never says a word."""

    def __init__(self) -> None:
        self.port = 0
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self._handlers: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._swallow, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _swallow(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self.connections += 1
        self._writers.append(writer)
        try:
            while await reader.read(65536):
                pass
        except ConnectionError:
            pass
        finally:
            writer.close()
            self._handlers.discard(task)

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        await self._server.wait_closed()


class Network(AbstractResolver):
    """DNS for the clients: the emulator, except hosts sent into a black hole."""

    def __init__(self, server: EmulatorServer, black_hole: BlackHole) -> None:
        self._emulator_dns = server.resolver()
        self._black_hole = black_hole
        self.black_holed: set[str] = set()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host in self.black_holed:
            return [
                ResolveResult(
                    hostname=host,
                    host="127.0.0.1",
                    port=self._black_hole.port,
                    family=socket.AF_INET,
                    proto=0,
                    flags=socket.AI_NUMERICHOST,
                )
            ]
        return await self._emulator_dns.resolve(host, port, family)

    async def close(self) -> None:
        """Nothing to release."""


# --- fixtures ----------------------------------------------------------------------


@pytest.fixture(autouse=True)
def tuning() -> Iterator[ClientTuning]:
    """Short timeouts and recorded retry waits for every client in this module."""
    with tuned_clients(ClientTuning()) as tuning:
        yield tuning


@pytest.fixture
async def black_hole() -> AsyncIterator[BlackHole]:
    hole = BlackHole()
    await hole.start()
    yield hole
    await hole.stop()


@pytest.fixture
def network(emulator_server: EmulatorServer, black_hole: BlackHole) -> Network:
    return Network(emulator_server, black_hole)


@pytest.fixture
async def emulator_session(network: Network) -> AsyncIterator[aiohttp.ClientSession]:
    """The session the integration gets: the emulator's, behind `network`'s DNS.

    No DNS cache, so a host sent into the black hole is looked up again.
    """
    connector = aiohttp.TCPConnector(resolver=network, ssl=False, use_dns_cache=False)
    async with aiohttp.ClientSession(connector=connector) as session:
        yield session


async def set_up(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


def reauth_flows(hass: HomeAssistant) -> list[Any]:
    return [
        flow
        for flow in hass.config_entries.flow.async_progress()
        if flow["context"]["source"] == SOURCE_REAUTH
    ]


def crashes(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """Warnings and errors logged with a traceback: something was not handled."""
    return [
        record
        for record in caplog.records
        if record.levelno >= logging.WARNING and record.exc_info
    ]


def statuses(emulator: Emulator, kind: str = "synthesis") -> list[int]:
    return [request.status for request in emulator.requests_for(kind)]


# --- rate limiting -----------------------------------------------------------------


def retry_after_in(seconds: int) -> str:
    return email.utils.format_datetime(
        dt_util.utcnow() + timedelta(seconds=seconds), usegmt=True
    )


@pytest.mark.usefixtures("init_integration")
@pytest.mark.parametrize(
    ("headers", "expected_waits"),
    [
        pytest.param({}, BACKOFF_WAITS, id="no_retry_after"),
        pytest.param({"Retry-After": "2"}, [2.0, 2.0], id="retry_after_seconds"),
        pytest.param({"Retry-After": "0"}, [0.0, 0.0], id="retry_after_zero"),
    ],
)
async def test_rate_limit_is_retried_as_the_service_asks_then_audio_is_complete(
    hass: HomeAssistant,
    emulator: Emulator,
    tuning: ClientTuning,
    headers: dict[str, str],
    expected_waits: list[float],
) -> None:
    emulator.inject(Fault(status=429, headers=headers, times=2))

    extension, audio = await speak(hass, ANNOUNCEMENT)

    assert extension == "mp3"
    assert statuses(emulator) == [429, 429, 200]
    assert tuning.waits == expected_waits
    assert_complete_mp3(audio, served_audio(emulator))
    assert emulator.spoken_texts() == [ANNOUNCEMENT]


@pytest.mark.usefixtures("init_integration")
async def test_retry_after_as_an_http_date_is_honoured(
    hass: HomeAssistant, emulator: Emulator, tuning: ClientTuning
) -> None:
    emulator.inject(Fault(status=429, headers={"Retry-After": retry_after_in(3)}))

    await speak(hass, ANNOUNCEMENT)

    assert statuses(emulator) == [429, 200]
    [wait] = tuning.waits
    # HTTP-dates have a resolution of one second.
    assert 1.5 < wait <= 3.0


@pytest.mark.usefixtures("init_integration")
@pytest.mark.parametrize(
    ("headers", "expected_waits"),
    [
        pytest.param({}, BACKOFF_WAITS, id="no_retry_after"),
        pytest.param({"Retry-After": "5"}, [5.0, 5.0], id="retry_after_at_the_cap"),
    ],
)
async def test_persistent_rate_limit_fails_after_three_attempts(
    hass: HomeAssistant,
    emulator: Emulator,
    tuning: ClientTuning,
    headers: dict[str, str],
    expected_waits: list[float],
) -> None:
    emulator.inject(Fault(status=429, headers=headers, times=100))

    with pytest.raises(HomeAssistantError) as err:
        await speak(hass, ANNOUNCEMENT)

    assert_translated(err.value, "rate_limited")
    assert statuses(emulator) == [429, 429, 429]
    assert tuning.waits == expected_waits
    # The budget: at most two waits of at most 5 s each.
    assert sum(tuning.waits) <= 2 * 5.0


@pytest.mark.usefixtures("init_integration")
async def test_retry_after_longer_than_five_seconds_fails_at_once(
    hass: HomeAssistant, emulator: Emulator, tuning: ClientTuning
) -> None:
    emulator.inject(Fault(status=429, headers={"Retry-After": "120"}, times=100))

    with pytest.raises(HomeAssistantError) as err:
        await speak(hass, ANNOUNCEMENT)

    assert_translated(err.value, "rate_limited")
    assert statuses(emulator) == [429]
    assert tuning.waits == []


@pytest.mark.usefixtures("init_integration")
@pytest.mark.parametrize(
    ("refusals", "succeeds"),
    [
        pytest.param(2, True, id="second_sentence_recovers"),
        pytest.param(3, False, id="second_sentence_gives_up"),
    ],
)
async def test_rate_limit_after_audio_started_never_repeats_what_was_heard(
    hass: HomeAssistant, emulator: Emulator, refusals: int, succeeds: bool
) -> None:
    """A later sentence is retried on its own; what was already heard is not re-sent."""
    first, second = "The lights are off.", "The alarm is set."
    heard = asyncio.Event()

    async def reply() -> AsyncIterator[str]:
        # A blank line ends the first sentence without waiting for the next.
        yield first + "\n\n"
        await heard.wait()
        emulator.inject(Fault(status=429, times=refusals))
        yield second

    received: list[bytes] = []

    def listen(chunk: bytes) -> None:
        received.append(chunk)
        heard.set()

    if succeeds:
        audio = await stream(hass, reply(), on_chunk=listen)
        assert_complete_mp3(audio, served_audio(emulator))
    else:
        with pytest.raises(HomeAssistantError) as err:
            await stream(hass, reply(), on_chunk=listen)
        assert_translated(err.value, "rate_limited")

    texts = [request.spoken_text for request in emulator.requests_for("synthesis")]
    assert texts[0] == first
    # The first sentence went out once; only the second one was retried.
    assert texts.count(first) == 1
    assert texts.count(second) == 3
    expected = [200, 429, 429, 200] if succeeds else [200, 429, 429, 429]
    assert statuses(emulator) == expected
    assert b"".join(received).startswith(
        emulator.requests_for("synthesis")[0].response_body
    )


# --- server errors -----------------------------------------------------------------


@pytest.mark.usefixtures("init_integration")
@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_server_error_is_retried_twice_then_translated(
    hass: HomeAssistant, emulator: Emulator, tuning: ClientTuning, status: int
) -> None:
    emulator.inject(Fault(status=status, times=100))

    with pytest.raises(HomeAssistantError) as err:
        await speak(hass, ANNOUNCEMENT)

    assert_translated(err.value, "cannot_connect")
    assert f"HTTP {status}" in str(err.value)
    assert statuses(emulator) == [status] * 3
    assert tuning.waits == BACKOFF_WAITS


@pytest.mark.usefixtures("init_integration")
async def test_server_error_recovers_within_the_retry_budget(
    hass: HomeAssistant, emulator: Emulator, tuning: ClientTuning
) -> None:
    emulator.inject(Fault(status=502, times=2))

    _, audio = await speak(hass, ANNOUNCEMENT)

    assert statuses(emulator) == [502, 502, 200]
    assert tuning.waits == BACKOFF_WAITS
    assert_complete_mp3(audio, served_audio(emulator))


@pytest.mark.usefixtures("init_integration")
async def test_retry_waits_really_elapse_without_freezing_home_assistant(
    hass: HomeAssistant, emulator: Emulator, tuning: ClientTuning
) -> None:
    tuning.real_sleep = True
    emulator.inject(Fault(status=503, times=100))

    started = time.monotonic()
    async with LoopWatch() as watch:
        with pytest.raises(HomeAssistantError):
            await speak(hass, ANNOUNCEMENT)
    elapsed = time.monotonic() - started

    assert sum(BACKOFF_WAITS) <= elapsed < sum(BACKOFF_WAITS) + 1.0
    assert watch.longest_stall < RESPONSIVE_STALL


# --- timeouts and broken connections ----------------------------------------------


@dataclass(frozen=True)
class Breakage:
    """A way for the service to fail a request, and how our client copes."""

    arrange: Callable[[Emulator, Network], None]
    reached_service: int  # synthesis requests the emulator saw
    waits: list[float]  # retry waits (a failure after audio began is not retried)
    lost_in_black_hole: int = 0  # connections that never got past TLS


BREAKAGES = {
    # TCP connects, TLS never answers: three attempts, none reaches the service,
    # after the connection opened ahead as HA asked (a fourth, as lost).
    "connect_timeout": Breakage(
        lambda emulator, network: network.black_holed.add(SYNTHESIS_HOST),
        0,
        BACKOFF_WAITS,
        lost_in_black_hole=4,
    ),
    # The service takes the request and never answers.
    "first_byte_timeout": Breakage(
        lambda emulator, network: emulator.inject(Fault(hang=True, times=3)),
        3,
        BACKOFF_WAITS,
    ),
    # Audio starts, then nothing more arrives.
    "idle_timeout_mid_stream": Breakage(
        lambda emulator, network: emulator.inject(Fault(stall_after=4096)), 1, []
    ),
    # Audio starts, then the connection drops.
    "cut_after_4_kib": Breakage(
        lambda emulator, network: emulator.inject(Fault(cut_after=4096)), 1, []
    ),
    "cut_after_1_byte": Breakage(
        lambda emulator, network: emulator.inject(Fault(cut_after=1)), 1, []
    ),
}


@pytest.mark.parametrize("breakage", list(BREAKAGES))
async def test_broken_request_fails_cleanly_and_caches_no_fragment(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    emulator: Emulator,
    *,
    mock_config_entry: MockConfigEntry,
    network: Network,
    black_hole: BlackHole,
    tuning: ClientTuning,
    tts_cache_dir: Path,
    breakage: str,
) -> None:
    # Voices from the cache: no connection to the service is open before the call.
    cache_voices(hass_storage, mock_config_entry, emulator)
    await set_up(hass, mock_config_entry)
    broken = BREAKAGES[breakage]
    broken.arrange(emulator, network)
    # Longest a clean failure may take: the connection opened ahead, every
    # attempt timing out, plus slack.
    deadline = (
        FAST_TIMEOUTS.connect
        + 3 * (FAST_TIMEOUTS.connect + FAST_TIMEOUTS.first_byte)
        + 1.0
    )

    started = time.monotonic()
    async with LoopWatch() as watch:
        with pytest.raises(HomeAssistantError) as err:
            await speak(hass, ANNOUNCEMENT, cache=True)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert time.monotonic() - started < deadline
    assert watch.longest_stall < RESPONSIVE_STALL
    assert_translated(err.value, "cannot_connect")
    assert len(emulator.requests_for("synthesis")) == broken.reached_service
    assert black_hole.connections == broken.lost_in_black_hole
    assert tuning.waits == broken.waits
    assert list(tts_cache_dir.iterdir()) == []
    assert hass.data[DATA_TTS_MANAGER].mem_cache == {}
    await assert_nothing_left_behind(emulator)

    # The service is back: the same message is spoken whole, then cached whole.
    network.black_holed.clear()
    emulator.reset_requests()
    extension, audio = await speak(hass, ANNOUNCEMENT, cache=True)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert extension == "mp3"
    assert statuses(emulator) == [200]
    assert_complete_mp3(audio, served_audio(emulator))
    [cached] = tts_cache_dir.iterdir()
    # HA prepends ID3 tags to the file; the audio after them is the whole answer.
    assert cached.read_bytes().endswith(audio)
    await assert_nothing_left_behind(emulator)


@pytest.mark.usefixtures("init_integration")
async def test_connection_cut_before_any_audio_is_retried(
    hass: HomeAssistant, emulator: Emulator, tuning: ClientTuning
) -> None:
    emulator.inject(Fault(cut_after=0))

    _, audio = await speak(hass, ANNOUNCEMENT)

    assert len(emulator.requests_for("synthesis")) == 2
    assert tuning.waits == [0.5]
    assert_complete_mp3(audio, emulator.requests_for("synthesis")[-1].response_body)


# --- credentials -------------------------------------------------------------------


TOKEN_DATA = {**AZURE_CHINA_DATA, CONF_AUTH_MODE: "token"}


@pytest.fixture
def token_entry() -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="Azure Speech (chinaeast2)",
        data=TOKEN_DATA,
        options=DEFAULT_OPTIONS,
        unique_id=unique_id_for(TOKEN_DATA),
    )


async def test_expired_token_is_renewed_once_and_the_call_succeeds(
    hass: HomeAssistant, emulator: Emulator, token_entry: MockConfigEntry
) -> None:
    await set_up(hass, token_entry)
    await speak(hass, "Before the token expires.")
    assert len(emulator.requests_for("token")) == 1
    emulator.expire_tokens()
    emulator.reset_requests()

    _, audio = await speak(hass, ANNOUNCEMENT)

    assert len(emulator.requests_for("token")) == 1
    assert statuses(emulator) == [401, 200]
    assert_complete_mp3(audio, served_audio(emulator))
    assert reauth_flows(hass) == []


async def test_concurrent_calls_share_one_token_renewal(
    hass: HomeAssistant, emulator: Emulator, token_entry: MockConfigEntry
) -> None:
    await set_up(hass, token_entry)
    await speak(hass, "Before the token expires.")
    emulator.expire_tokens()
    emulator.reset_requests()

    results = await asyncio.gather(
        *(speak(hass, f"Room {n} is warm enough.") for n in range(5))
    )

    assert len(emulator.requests_for("token")) == 1
    refused = statuses(emulator).count(401)
    assert 1 <= refused <= 5
    assert statuses(emulator).count(200) == 5
    for n, (_, audio) in enumerate(results):
        [answer] = [
            request
            for request in emulator.requests_for("synthesis")
            if request.status == 200
            and request.spoken_text == f"Room {n} is warm enough."
        ]
        assert_complete_mp3(audio, answer.response_body)


def revoke_key(emulator: Emulator) -> None:
    emulator.keys.clear()


def forbid_everything(emulator: Emulator) -> None:
    emulator.inject(Fault(target="any", status=403, times=1000))


NEW_KEY = "rotated-key-0123456789"


@pytest.mark.usefixtures("init_integration")
@pytest.mark.parametrize(
    "refuse",
    [pytest.param(revoke_key, id="401"), pytest.param(forbid_everything, id="403")],
)
async def test_rejected_key_starts_one_reauth_and_the_new_key_works(
    hass: HomeAssistant,
    emulator: Emulator,
    mock_config_entry: MockConfigEntry,
    refuse: Callable[[Emulator], None],
) -> None:
    refuse(emulator)

    concurrent = await asyncio.gather(
        *(speak(hass, f"Call number {n}.") for n in range(3)), return_exceptions=True
    )
    with pytest.raises(HomeAssistantError) as later:
        await speak(hass, "A later call.")
    await hass.async_block_till_done()

    for error in [*concurrent, later.value]:
        assert isinstance(error, HomeAssistantError)
        assert_translated(error, "invalid_auth")
    # A refused key is not retried, and the user is asked once, not per call.
    assert len(emulator.requests_for("synthesis")) == 4
    [flow] = reauth_flows(hass)
    assert flow["context"]["entry_id"] == mock_config_entry.entry_id

    # The user enters a new key in the reauth flow.
    emulator.faults.clear()
    emulator.keys = {NEW_KEY: None}
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {CONF_API_KEY: NEW_KEY}
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert mock_config_entry.state is ConfigEntryState.LOADED
    emulator.reset_requests()

    _, audio = await speak(hass, "Speaking again.")

    [request] = emulator.requests_for("synthesis")
    assert request.headers["Ocp-Apim-Subscription-Key"] == NEW_KEY
    assert_complete_mp3(audio, request.response_body)
    assert reauth_flows(hass) == []


# --- the voice list ----------------------------------------------------------------


UNUSABLE_VOICE_LISTS = [
    pytest.param(b"<html><body>Maintenance</body></html>", id="html"),
    pytest.param(b'[{"ShortName": "en-US-JennyNeural", "Loc', id="truncated_json"),
    pytest.param(b"\xff\xfe\x00\x01\x02 binary", id="binary"),
    pytest.param(b"", id="empty_body"),
    pytest.param(b"null", id="null"),
    pytest.param(b'"en-US-JennyNeural"', id="string"),
    pytest.param(b'{"voices": [{"ShortName": "x", "Locale": "en-US"}]}', id="object"),
    pytest.param(b'["en-US-JennyNeural", 42, null]', id="list_of_scalars"),
    pytest.param(b'[{"Name": "no short name", "Locale": "en-US"}]', id="no_names"),
    pytest.param(
        b'[{"ShortName": 5, "Locale": ["en-US"], "StyleList": "cheerful"}]',
        id="wrong_types",
    ),
    pytest.param(b"[]", id="empty_list"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, id="deeply_nested"),
]


@pytest.mark.parametrize("body", UNUSABLE_VOICE_LISTS)
async def test_unusable_voice_list_without_cache_is_retried_later(
    hass: HomeAssistant,
    emulator: Emulator,
    mock_config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    body: bytes,
) -> None:
    emulator.inject(Fault(target="voices", body=body))

    await set_up(hass, mock_config_entry)

    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY
    reason = mock_config_entry.reason or ""
    assert "invalid JSON" in reason or "voice list is empty or not" in reason
    # An answer that is not a voice list is not retried in a loop.
    assert len(emulator.requests_for("voices")) == 1
    assert not crashes(caplog)


@pytest.mark.parametrize(
    "body",
    [
        param
        for param in UNUSABLE_VOICE_LISTS
        if param.id in {"html", "truncated_json", "wrong_types", "deeply_nested"}
    ],
)
async def test_unusable_voice_list_with_a_stale_cache_keeps_the_cached_voices(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    emulator: Emulator,
    *,
    mock_config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    body: bytes,
) -> None:
    cache_voices(hass_storage, mock_config_entry, emulator, age=timedelta(days=2))
    emulator.inject(Fault(target="voices", body=body))

    await set_up(hass, mock_config_entry)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert len(emulator.requests_for("voices")) == 1
    assert len(mock_config_entry.runtime_data.voices) == len(emulator.voices)
    assert mock_config_entry.runtime_data.last_error
    assert "voice list data" in caplog.text
    assert not crashes(caplog)
    _, audio = await speak(hass, ANNOUNCEMENT)
    assert_complete_mp3(audio, served_audio(emulator))


async def test_voice_list_with_some_broken_entries_keeps_the_good_ones(
    hass: HomeAssistant, emulator: Emulator, mock_config_entry: MockConfigEntry
) -> None:
    good = emulator.voices[:3]
    emulator.voices = [
        "not a voice",
        {"ShortName": None, "Locale": "en-US"},
        *good,
        {"ShortName": "xx-XX-BrokenNeural", "Locale": 7},
        [],
    ]

    await set_up(hass, mock_config_entry)

    assert mock_config_entry.state is ConfigEntryState.LOADED
    voices = mock_config_entry.runtime_data.voices
    assert [voice.short_name for voice in voices.voices] == [
        voice["ShortName"] for voice in good
    ]


# --- stopping and abandoning -------------------------------------------------------


LONG_ANNOUNCEMENT = (
    "The washing machine has finished. The dryer is still running. "
    "Someone is at the front door. The garden lights turn on at sunset."
)


@pytest.mark.usefixtures("init_integration")
async def test_home_assistant_stopping_mid_stream_closes_every_request(
    hass: HomeAssistant, emulator: Emulator, tts_cache_dir: Path
) -> None:
    # Slow audio, so the answer is still streaming when Home Assistant stops.
    emulator.bytes_per_second = 8000
    result = tts.async_create_stream(hass, ENTITY_ID)
    result.async_set_message(LONG_ANNOUNCEMENT)
    audio = result.async_stream_result()
    await anext(audio)
    assert emulator.open_requests >= 1

    await hass.async_stop(force=True)
    await asyncio.gather(audio.aclose(), return_exceptions=True)

    # At 8 kB/s the whole answer would take over ten seconds: it was cut short.
    await assert_nothing_left_behind(emulator, timeout=1.0)
    assert list(tts_cache_dir.iterdir()) == []


@pytest.mark.usefixtures("init_integration")
async def test_caller_abandoning_the_audio_cancels_requests_in_flight(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    emulator.bytes_per_second = 8000
    engine = get_engine_instance(hass, ENTITY_ID)
    assert isinstance(engine, tts.TextToSpeechEntity)
    response = await engine.async_stream_tts_audio(
        TTSAudioRequest("zh-CN", {}, text_stream(LONG_ANNOUNCEMENT))
    )
    audio = response.data_gen
    await anext(audio)
    assert emulator.open_requests >= 1

    await audio.aclose()

    # At 8 kB/s the whole answer would take over ten seconds: it was cut short.
    await assert_nothing_left_behind(emulator, timeout=1.0)


@pytest.mark.usefixtures("init_integration")
async def test_text_source_failing_mid_reply_ends_the_call_and_its_requests(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    heard = asyncio.Event()

    async def reply() -> AsyncIterator[str]:
        yield "The first sentence made it.\n\n"
        await heard.wait()
        raise RuntimeError("the conversation agent went away")

    with pytest.raises(RuntimeError, match="went away"):
        await stream(hass, reply(), on_chunk=lambda chunk: heard.set())

    await assert_nothing_left_behind(emulator)
    assert emulator.spoken_texts() == ["The first sentence made it."]


@pytest.mark.usefixtures("init_integration")
async def test_listener_leaving_early_still_gets_the_result_cached_whole(
    hass: HomeAssistant, emulator: Emulator, tts_cache_dir: Path
) -> None:
    """HA keeps loading a result its first listener left (a second may come)."""
    emulator.bytes_per_second = 200_000
    result = tts.async_create_stream(hass, ENTITY_ID)
    result.async_set_message(ANNOUNCEMENT)
    audio = result.async_stream_result()
    await anext(audio)
    await audio.aclose()

    await hass.async_block_till_done()
    await assert_nothing_left_behind(emulator)
    _, again = await speak(hass, ANNOUNCEMENT)
    assert len(emulator.requests_for("synthesis")) == 1
    assert_complete_mp3(again, served_audio(emulator))
