"""The emulator's state: keys, tokens, voices, knobs, faults and the request log.

Everything a test arranges or inspects lives on `Emulator`; it opens no
sockets (see server.EmulatorServer for that), so one instance can also be
served by the standalone `python -m tests.emulator`.
"""

from __future__ import annotations

import asyncio
import base64
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
import json
import math
import secrets
import time
from typing import Any, Literal

from .hosts import DEFAULT_CONTAINER_HOSTS, Site, classify_host
from .locales import STT_LOCALES
from .voices import (
    DEFAULT_CONVAI_MP3_UNSUPPORTED,
    build_convai_voices,
    build_voice_list,
)

TEST_KEY = "test-key"
CONVAI_TEST_KEY = "test-convai-key"

# Free (F0) real-time text to speech: "20 transactions per 60 seconds" (quotas page).
FREE_TIER_TRANSACTIONS = 20
FREE_TIER_WINDOW_SECONDS = 60.0
# Free (F0) real-time speech to text: "Concurrent request limit - base model
# endpoint": 1 (quotas page; it covers the REST API for short audio).
FREE_TIER_CONCURRENT_RECOGNITIONS = 1

FaultTarget = Literal[
    "synthesis",
    "voices",
    "token",
    "recognition",
    "convai_synthesis",
    "convai_voices",
    "any",
]
FAULT_TARGETS: frozenset[str] = frozenset(
    {
        "synthesis",
        "voices",
        "token",
        "recognition",
        "convai_synthesis",
        "convai_voices",
        "any",
    }
)


@dataclass
class Fault:
    """A misbehaviour for the next `times` requests whose kind matches `target`.

    status replaces the answer (with `body`, or a realistic default body for
    that status). Without status, the request is handled normally and `body`
    (when given) replaces the response body. headers are added to the answer.
    delay waits before answering; hang never answers until the client leaves.
    cut_after sends that many body bytes and then closes the connection;
    stall_after sends that many body bytes and then sends nothing more.
    "any" matches every recognised endpoint (not 404s).
    """

    target: FaultTarget | str = "synthesis"
    status: int | None = None
    body: bytes | str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    hang: bool = False
    cut_after: int | None = None
    stall_after: int | None = None
    times: int = 1

    def __post_init__(self) -> None:
        if self.target not in FAULT_TARGETS:
            raise ValueError(f"unknown fault target {self.target!r}")
        if self.times < 1:
            raise ValueError("times must be at least 1")

    def matches(self, kind: str) -> bool:
        """Whether this fault applies to a request of `kind`."""
        if kind == "unknown":
            return False
        return self.target in ("any", kind)


class Headers(dict[str, str]):
    """Request headers as received: keys keep their case, lookups ignore it."""

    def _key(self, name: str) -> str:
        for key in self:
            if key.lower() == name.lower():
                return key
        return name

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(self._key(name))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and super().__contains__(self._key(name))

    def get(self, name: str, default: Any = None) -> Any:
        """Value of a header (any case), or default."""
        return super().get(self._key(name), default)


@dataclass
class RecordedRequest:
    """One request the emulator received, and how it answered."""

    service: str  # "azure" | "convai"
    kind: str  # "synthesis" | "voices" | "token" | "recognition" | "convai_synthesis" | "convai_voices" | "unknown"
    method: str
    host: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int  # 0 while in flight, and for requests never answered (hang)
    cloud: str | None
    region: str | None
    voice: str | None
    spoken_text: str | None
    output_format: str | None
    # Additions beyond the agreed interface:
    synthesized: bool = False  # True when audio was produced for this request
    # The full body the emulator meant to send (left out of repr: audio is long).
    response_body: bytes = field(default=b"", repr=False)
    fault: Fault | None = None  # the fault applied to this request, if any
    # Speech to text (kind "recognition"); `body` holds every byte received.
    language: str | None = None  # the `language` query parameter as sent
    result_format: str | None = None  # `format` as sent (None: absent, simple)
    profanity: str | None = None  # `profanity` as sent (None: absent, masked)
    content_type: str | None = None  # the Content-Type header as sent
    chunked: bool = False  # the body came with Transfer-Encoding: chunked
    expect_continue: bool = False  # the request carried Expect: 100-continue
    # time.monotonic() when the first and the last body chunk arrived, and
    # how many chunks the server read (it reads whatever has arrived).
    first_chunk_at: float | None = None
    last_chunk_at: float | None = None
    chunk_count: int = 0
    audio_seconds: float | None = None  # decoded audio, before the 60 s cut
    recognition_status: str | None = None  # RecognitionStatus answered, if any
    recognized_text: str | None = None  # DisplayText (or Display) answered
    # Seconds the recogniser waited after the body ended before answering:
    # the processing model (recognition_speed, recognition_latency) on
    # Emulator.clock. None when the recogniser did not run.
    recognition_wait: float | None = None
    # The network model (Emulator.network_rtt; see network.py). Whether the
    # request was the first on its connection, and the seconds the model
    # charged it: TCP (+ TLS) set-up, set-up + RTT/2 before it reached the
    # service, RTT/2 before its answer's first byte went out, and for a body
    # read as it streams (speech to text) each chunk's and the end's delay
    # past its real arrival. All 0 (lists empty) while network_rtt is 0.
    new_connection: bool = False
    connection_setup: float = 0.0
    arrival_delay: float = 0.0
    answer_delay: float = 0.0
    body_delays: list[float] = field(default_factory=list)


@dataclass
class RememberedSpeech:
    """Audio the emulator can recognise, and the text it means.

    `pcm` is 16 kHz mono 16-bit little-endian PCM. Speech remembered from a
    synthesis is rendered only when a recognition needs it (`render`: the
    speak flag and ms_per_character the synthesis used).
    """

    text: str
    pcm: bytes | None = field(default=None, repr=False)
    render: tuple[bool, float] | None = None


@dataclass(frozen=True, slots=True)
class _IssuedToken:
    scope: tuple[str, str]
    expires_at: float  # on Emulator.clock
    key: str  # the resource key it was exchanged for: tokens share its quota


class ManualClock:
    """A clock for Emulator.clock that moves only when a test says so."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds


class Emulator:
    """All emulated service state; serve it with EmulatorServer."""

    def __init__(self) -> None:
        # Azure resource keys -> region they belong to (None: every region and cloud).
        self.keys: dict[str, str | None] = {TEST_KEY: None}
        self.convai_keys: set[str] = {CONVAI_TEST_KEY}
        self.container_requires_key: bool = False
        self.container_hosts: set[str] = set(DEFAULT_CONTAINER_HOSTS)
        self.token_lifetime: float = 600.0
        self.voices: list[dict[str, Any]] = build_voice_list()
        self.convai_voices: dict[str, Any] = build_convai_voices()
        self.convai_mp3_unsupported: set[str] = set(DEFAULT_CONVAI_MP3_UNSUPPORTED)
        # Reject <speak> without the SSML namespace (the seed's own sample omits it).
        self.require_ssml_namespace: bool = True
        self.first_byte_delay: float = 0.0
        self.bytes_per_second: float | None = None
        self.chunk_size: int = 4096
        self.ms_per_character: float = 60.0
        # Seconds for token expiry and the free-tier window; tests may use ManualClock.
        self.clock: Callable[[], float] = time.monotonic
        # Answer as an F0 resource: 429 past 20 synthesis requests in 60 seconds.
        self.free_tier: bool = False
        self._transactions: dict[str, deque[float]] = {}
        # Real speech through espeak-ng (standalone --speak); tests keep the tone.
        self.speak: bool = False
        self.faults: list[Fault] = []
        self.requests: list[RecordedRequest] = []
        self.open_requests: int = 0
        self.peak_open_requests: int = 0
        self._tokens: dict[str, _IssuedToken] = {}
        self._arrival_waiters: set[asyncio.Event] = set()
        # --- speech to text ---
        # Locales the recognition endpoint accepts (see recognition.py).
        self.stt_locales: set[str] = set(STT_LOCALES)
        # Custom speech endpoint IDs accepted as `cid` (none by default).
        self.stt_endpoint_ids: set[str] = set()
        # Refuse a chunked upload without Expect: 100-continue (REST: required).
        self.require_expect_for_chunked: bool = True
        # What the recogniser knows: newest last (see remember_speech()).
        self.remembered_speech: list[RememberedSpeech] = []
        # Recognitions in flight per resource key (F0: one at a time).
        self._open_recognitions: dict[str, int] = {}
        # Processing model (assumption, see FIDELITY.md): seconds of audio the
        # service processes per second of Emulator.clock, from each chunk's
        # arrival (None: at once), and the fixed seconds from the end of
        # processing (and of the body) to the answer.
        self.recognition_speed: float | None = None
        self.recognition_latency: float = 0.0
        # --- network (assumption, see FIDELITY.md "Network" and network.py) ---
        # Round-trip time in seconds between client and service (0: none).
        # A new connection pays 1 RTT for TCP plus `tls_round_trips` for TLS
        # on HTTPS (1: TLS 1.3; 2 models TLS 1.2); every request RTT/2 to
        # arrive and RTT/2 before its answer's first byte.
        self.network_rtt: float = 0.0
        self.tls_round_trips: int = 1
        # Connections that carried a request (since reset_requests()).
        self.connections_opened: int = 0
        # Connections the sites accepted, whether or not a request followed
        # (a client may open one ahead); since reset_requests().
        self.connections_accepted: int = 0
        # Host names the clients' resolver looked up (EmulatorResolver).
        self.dns_lookups: int = 0

    # --- hosts -----------------------------------------------------------

    def site_for(self, host: str) -> Site | None:
        """The emulated site a Host header addresses, or None."""
        return classify_host(host, self.container_hosts)

    def knows_host(self, host: str) -> bool:
        """Whether the emulator answers for this host name (used as DNS)."""
        return self.site_for(host) is not None

    # --- faults ----------------------------------------------------------

    def inject(self, fault: Fault) -> Fault:
        """Queue a fault; faults apply in the order they were injected."""
        self.faults.append(fault)
        return fault

    def take_fault(self, kind: str) -> Fault | None:
        """Consume one use of the first fault that matches `kind`."""
        for fault in self.faults:
            if fault.matches(kind):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    # --- request log -----------------------------------------------------

    def record_arrival(self, request: RecordedRequest) -> None:
        """Log a request as it arrives and wake wait_for_requests()."""
        self.requests.append(request)
        for waiter in self._arrival_waiters:
            waiter.set()

    async def wait_for_requests(
        self, kind: str | None = None, count: int = 1, timeout: float = 5.0
    ) -> list[RecordedRequest]:
        """Wait until `count` requests (of `kind`, if given) have arrived.

        Requests count from arrival, so this also sees requests still in
        flight, e.g. ones held by a hang fault. TimeoutError after `timeout`.
        """
        async with asyncio.timeout(timeout):
            while True:
                matching = [
                    request
                    for request in self.requests
                    if kind is None or request.kind == kind
                ]
                if len(matching) >= count:
                    return matching
                arrival = asyncio.Event()
                self._arrival_waiters.add(arrival)
                try:
                    await arrival.wait()
                finally:
                    self._arrival_waiters.discard(arrival)

    def requests_for(self, kind: str) -> list[RecordedRequest]:
        """Recorded requests of one kind, oldest first."""
        return [request for request in self.requests if request.kind == kind]

    def reset_requests(self) -> None:
        """Forget recorded requests, restart the peak and connection counts."""
        self.requests.clear()
        self.peak_open_requests = self.open_requests
        self.connections_opened = 0
        self.connections_accepted = 0

    def spoken_texts(self) -> list[str]:
        """Texts of the synthesis requests that produced audio, in order."""
        return [
            request.spoken_text or ""
            for request in self.requests
            if request.synthesized
        ]

    def recognized_texts(self) -> list[str]:
        """DisplayText of the recognition requests answered Success, in order."""
        return [
            request.recognized_text or ""
            for request in self.requests
            if request.kind == "recognition" and request.recognition_status == "Success"
        ]

    # --- speech to text ----------------------------------------------------

    def remember_speech(self, pcm: bytes, text: str) -> RememberedSpeech:
        """Make the recogniser answer `text` for audio containing `pcm`.

        `pcm` is 16 kHz mono 16-bit little-endian PCM (no header). Silence
        at either end does not matter; later entries win over earlier ones.
        """
        if len(pcm) % 2:
            raise ValueError("16-bit PCM has an even number of bytes")
        memory = RememberedSpeech(text, pcm=bytes(pcm))
        self.remembered_speech.append(memory)
        return memory

    def remember_synthesis(
        self, text: str, *, speak: bool, ms_per_character: float
    ) -> None:
        """Remember synthesised text; its 16 kHz PCM is rendered when needed."""
        self.remembered_speech.append(
            RememberedSpeech(text, render=(speak, ms_per_character))
        )

    def forget_speech(self) -> None:
        """Forget everything remember_speech() and synthesis taught."""
        self.remembered_speech.clear()

    def start_recognition(self, key: str) -> bool:
        """Open a recognition for a resource; False when F0 already has one."""
        if self.free_tier and self._open_recognitions.get(key, 0) >= (
            FREE_TIER_CONCURRENT_RECOGNITIONS
        ):
            return False
        self._open_recognitions[key] = self._open_recognitions.get(key, 0) + 1
        return True

    def finish_recognition(self, key: str) -> None:
        """Close a recognition opened by start_recognition()."""
        left = self._open_recognitions.get(key, 0) - 1
        if left > 0:
            self._open_recognitions[key] = left
        else:
            self._open_recognitions.pop(key, None)

    # --- voices ----------------------------------------------------------

    def find_voice(self, name: str) -> dict[str, Any] | None:
        """The Azure voice named by ShortName or full Name, ignoring case."""
        wanted = name.strip().lower()
        for voice in self.voices:
            if wanted in (
                str(voice.get("ShortName", "")).lower(),
                str(voice.get("Name", "")).lower(),
            ):
                return voice
        return None

    def find_convai_voice(self, voice_value: str) -> tuple[str, dict[str, Any]] | None:
        """(section, entry) of the Convai voice with this voice_value."""
        for section, voices in self.convai_voices.items():
            # The public docs show each section as a list of one-entry dicts;
            # accept that shape too in case a test serves it.
            entries = (
                voices.values()
                if isinstance(voices, dict)
                else (e for item in voices for e in item.values())
            )
            for entry in entries:
                if entry.get("voice_value") == voice_value:
                    return section, entry
        return None

    # --- keys and tokens -------------------------------------------------

    def key_is_valid(self, key: str | None, site: Site) -> bool:
        """Whether an Azure resource key may be used on this site."""
        if key is None or key not in self.keys:
            return False
        region = self.keys[key]
        if region is None or site.cloud == "container":
            return True
        if site.cloud == "custom":
            # A key bound to a region belongs to a resource; accept it on the
            # custom domain named after that resource (region = subdomain).
            return site.host.split(".", 1)[0] == region
        return region == site.region

    @staticmethod
    def auth_scope(site: Site) -> tuple[str, str]:
        """What a token is bound to: cloud and region, or the custom domain."""
        if site.cloud == "custom":
            return ("custom", site.host)
        return (site.cloud or "", site.region or "")

    def issue_token(self, site: Site, key: str) -> str:
        """A new JWT-looking access token for the site's scope, paid for by `key`."""
        scope = self.auth_scope(site)
        region = site.region or ""
        claims = {
            "region": region,
            "subscription-id": secrets.token_hex(16),
            "product-id": "SpeechServices.S0",
            "cognitive-services-endpoint": f"https://{site.host}/internal/v1.0/",
            "azure-resource-id": "/subscriptions/emulator/resourceGroups/emulator/providers/Microsoft.CognitiveServices/accounts/emulator",
            "scope": "speechservices",
            "aud": f"urn:ms.speechservices.{region or 'custom'}",
            "exp": int(time.time() + self.token_lifetime),
            "iss": "urn:ms.cognitiveservices",
        }
        parts = (
            json.dumps({"alg": "HS256", "typ": "JWT"}).encode(),
            json.dumps(claims).encode(),
            secrets.token_bytes(32),
        )
        token = ".".join(
            base64.urlsafe_b64encode(part).rstrip(b"=").decode() for part in parts
        )
        self._tokens[token] = _IssuedToken(
            scope, self.clock() + self.token_lifetime, key
        )
        return token

    def token_key(self, token: str, site: Site) -> str | None:
        """The key behind a bearer token valid for this site's scope, or None."""
        issued = self._tokens.get(token)
        if (
            issued is not None
            and issued.scope == self.auth_scope(site)
            and self.clock() < issued.expires_at
        ):
            return issued.key
        return None

    def token_is_valid(self, token: str, site: Site) -> bool:
        """Whether a bearer token was issued for this site's scope and is unexpired."""
        return self.token_key(token, site) is not None

    def expire_tokens(self) -> None:
        """Make every token issued so far invalid."""
        self._tokens = {
            token: _IssuedToken(issued.scope, float("-inf"), issued.key)
            for token, issued in self._tokens.items()
        }

    # --- free-tier rate limit --------------------------------------------

    def take_transaction(self, key: str) -> int | None:
        """Count a synthesis transaction for the resource behind `key`.

        None when it may go ahead; otherwise the seconds until the window
        has room (Retry-After), and the refused request is not counted, so
        a client that waits as told gets through.
        """
        if not self.free_tier:
            return None
        now = self.clock()
        window = self._transactions.setdefault(key, deque())
        while window and window[0] <= now - FREE_TIER_WINDOW_SECONDS:
            window.popleft()
        if len(window) >= FREE_TIER_TRANSACTIONS:
            return max(1, math.ceil(window[0] + FREE_TIER_WINDOW_SECONDS - now))
        window.append(now)
        return None
