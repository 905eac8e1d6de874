"""Client for Azure AI Speech: text to speech and speech to text (REST APIs).

Every Azure cloud (global, Azure China, US Government), custom-subdomain
resources and Speech containers or proxies behind a custom endpoint. One
client serves both directions: endpoints, authentication (key or token),
retries and error mapping are the same for synthesis and recognition.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
import contextlib
from contextlib import aclosing
from dataclasses import dataclass
from enum import StrEnum
import math
import re
import time
from typing import Final
from urllib.parse import urlencode, urlsplit

import aiohttp

from . import __version__
from .errors import (
    InvalidRequestError,
    SpeechAuthenticationError,
    SpeechError,
    SpeechResponseError,
    SpeechTimeoutError,
)
from .http import (
    DEFAULT_RETRY,
    DEFAULT_TIMEOUTS,
    HEADER_SAFE_RE,
    BodyStream,
    RequestOptions,
    RetryPolicy,
    Sleep,
    Timeouts,
    host_of,
    normalize_base_url,
    open_connection,
    request_json,
    request_text,
    stream_audio,
    upload_json,
)
from .models import Voice
from .voices import gender_of, text_of, texts_of


class AzureCloud(StrEnum):
    """The Azure cloud a Speech resource lives in."""

    GLOBAL = "global"
    CHINA = "china"
    US_GOVERNMENT = "us_government"
    CUSTOM = "custom"  # a custom endpoint: custom subdomain, container or proxy


REGIONS: Final[Mapping[AzureCloud, tuple[str, ...]]] = {
    AzureCloud.GLOBAL: (
        "australiaeast",
        "brazilsouth",
        "canadacentral",
        "canadaeast",
        "centralindia",
        "centralus",
        "eastasia",
        "eastus",
        "eastus2",
        "francecentral",
        "germanywestcentral",
        "italynorth",
        "japaneast",
        "japanwest",
        "koreacentral",
        "northcentralus",
        "northeurope",
        "norwayeast",
        "qatarcentral",
        "southafricanorth",
        "southcentralus",
        "southeastasia",
        "swedencentral",
        "switzerlandnorth",
        "switzerlandwest",
        "uaenorth",
        "uksouth",
        "ukwest",
        "westcentralus",
        "westeurope",
        "westus",
        "westus2",
        "westus3",
    ),
    AzureCloud.CHINA: ("chinaeast2", "chinanorth2", "chinanorth3"),
    AzureCloud.US_GOVERNMENT: ("usgovarizona", "usgovvirginia"),
    AzureCloud.CUSTOM: (),
}

# (synthesis, recognition, token) host suffixes per regional cloud: REST
# pages "Text to speech REST API", "Speech to text REST API for short audio"
# and "Speech service in sovereign clouds".
_CLOUD_HOSTS: Final[Mapping[AzureCloud, tuple[str, str, str]]] = {
    AzureCloud.GLOBAL: (
        "tts.speech.microsoft.com",
        "stt.speech.microsoft.com",
        "api.cognitive.microsoft.com",
    ),
    AzureCloud.CHINA: (
        "tts.speech.azure.cn",
        "stt.speech.azure.cn",
        "api.cognitive.azure.cn",
    ),
    AzureCloud.US_GOVERNMENT: (
        "tts.speech.azure.us",
        "stt.speech.azure.us",
        "api.cognitive.microsoft.us",
    ),
}
#: The short-audio recognition path, below a host or a custom base URL.
RECOGNITION_PATH: Final = "/speech/recognition/conversation/cognitiveservices/v1"

#: Hosts of custom-subdomain resources in each cloud; their TTS paths are
#: under /tts and they issue tokens. Any other custom host is taken to be a
#: Speech container or a proxy (no /tts prefix, no token endpoint).
CUSTOM_SUBDOMAIN_SUFFIXES: Final = (
    ".cognitiveservices.azure.com",
    ".cognitiveservices.azure.cn",
    ".cognitiveservices.azure.us",
)

DEFAULT_USER_AGENT: Final = f"cloud_speech/{__version__}"
#: The service requires "fewer than 255 characters".
MAX_USER_AGENT_LENGTH: Final = 254
#: Azure tokens live 10 minutes; the documentation recommends reusing one
#: for nine.
TOKEN_REUSE_SECONDS: Final = 9 * 60

#: Speech to text answers once the audio has ended, within a second or two
#: when it is well; a person is waiting, so a silent service is given up on
#: sooner than for synthesis. The upload itself is bounded by the 60 s of
#: audio the service takes, with room for a slow start.
RECOGNITION_TIMEOUTS: Final = Timeouts(connect=5.0, first_byte=5.0, upload=75.0)
#: One retry, soon: the whole exchange stays within about 12 s of the end of
#: the audio, even against a service that never answers.
RECOGNITION_RETRY: Final = RetryPolicy(attempts=2, max_retry_after=2.0)

_KEY_HEADER: Final = "Ocp-Apim-Subscription-Key"
_OUTPUT_FORMAT_RE: Final = re.compile(r"[a-z0-9][a-z0-9-]*", re.IGNORECASE)


class AuthMode(StrEnum):
    """How requests are authenticated."""

    KEY = "key"  # Ocp-Apim-Subscription-Key on every request
    TOKEN = "token"  # noqa: S105 - a Bearer token from issueToken, reused for nine minutes


@dataclass(frozen=True, slots=True)
class AzureEndpoints:
    """Where a Speech resource answers.

    Attributes:
        synthesis_url: The text-to-speech endpoint (POST SSML).
        voices_url: The voice list (GET).
        recognition_url: The speech-to-text endpoint for short audio (POST
            audio), without its query.
        token_url: The issueToken endpoint; None for containers and proxies.
        host: The synthesis host (with an explicit port), for messages.

    """

    synthesis_url: str
    voices_url: str
    recognition_url: str
    token_url: str | None
    host: str


def azure_endpoints(
    cloud: AzureCloud, *, region: str | None = None, endpoint: str | None = None
) -> AzureEndpoints:
    """Build the URLs of a Speech resource.

    Args:
        cloud: The Azure cloud.
        region: The region, for every cloud but `AzureCloud.CUSTOM`
            (case-insensitive).
        endpoint: The base URL, for `AzureCloud.CUSTOM` only (ignored
            otherwise): ``https://NAME.cognitiveservices.azure.com`` for a
            custom-subdomain resource, ``http://HOST:5000`` (optionally with
            a path prefix) for a Speech container or a proxy.

    Raises:
        InvalidRequestError: `field` is ``"cloud"``, ``"region"`` or
            ``"endpoint"``.

    """
    try:
        cloud = AzureCloud(cloud)
    except ValueError:
        raise InvalidRequestError(
            f"Unknown Azure cloud: {cloud!r}", field="cloud", value=str(cloud)
        ) from None
    if cloud is AzureCloud.CUSTOM:
        return _custom_endpoints(endpoint)
    name = (region or "").strip().lower()
    if name not in REGIONS[cloud]:
        raise InvalidRequestError(
            f"Unknown region for the {cloud.value} cloud: {region!r}",
            field="region",
            value=region or "",
        )
    tts, stt, api = _CLOUD_HOSTS[cloud]
    host = f"{name}.{tts}"
    return AzureEndpoints(
        synthesis_url=f"https://{host}/cognitiveservices/v1",
        voices_url=f"https://{host}/cognitiveservices/voices/list",
        recognition_url=f"https://{name}.{stt}{RECOGNITION_PATH}",
        token_url=f"https://{name}.{api}/sts/v1.0/issueToken",
        host=host,
    )


def _custom_endpoints(endpoint: str | None) -> AzureEndpoints:
    """Validate a custom endpoint and derive its URLs."""
    base, netloc = normalize_base_url(endpoint or "")
    hostname = urlsplit(base).hostname or ""
    if hostname.endswith(CUSTOM_SUBDOMAIN_SUFFIXES):
        return AzureEndpoints(
            synthesis_url=f"{base}/tts/cognitiveservices/v1",
            voices_url=f"{base}/tts/cognitiveservices/voices/list",
            recognition_url=f"{base}/stt{RECOGNITION_PATH}",
            token_url=f"{base}/sts/v1.0/issueToken",
            host=netloc,
        )
    return AzureEndpoints(
        synthesis_url=f"{base}/cognitiveservices/v1",
        voices_url=f"{base}/cognitiveservices/voices/list",
        recognition_url=f"{base}{RECOGNITION_PATH}",
        token_url=None,
        host=netloc,
    )


class AzureSpeechClient:
    """Talks to one Azure AI Speech resource.

    Safe to share between concurrent callers: in token mode they share one
    cached token and one in-flight token request.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        endpoints: AzureEndpoints,
        *,
        api_key: str | None,
        auth_mode: AuthMode = AuthMode.KEY,
        user_agent: str = DEFAULT_USER_AGENT,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        recognition_timeouts: Timeouts = RECOGNITION_TIMEOUTS,
        retry: RetryPolicy = DEFAULT_RETRY,
        first_audio_budget: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        on_accepted: Callable[[str], None] | None = None,
    ) -> None:
        """Set up the client; no request is made.

        Args:
            session: The aiohttp session (owned by the caller).
            endpoints: From `azure_endpoints`.
            api_key: The resource key; None (or "") sends none, for Speech
                containers that do not require one.
            auth_mode: Send the key on every request, or exchange it for a
                token reused for nine minutes.
            user_agent: The User-Agent (the service requires one).
            timeouts: Request timeouts.
            recognition_timeouts: Speech-to-text timeouts (someone is waiting
                for the text: the answer is awaited for less long).
            retry: Retry policy for transient failures.
            first_audio_budget: The longest a synthesis may take, retries and
                token included, until its first audio; None leaves only each
                request's own timeouts. For a caller with something better to
                do than wait (another engine).
            clock: Monotonic seconds, for token age (tests inject one).
            sleep: Waits between retries (tests inject a fast one).
            on_accepted: Called with the SSML of each synthesis request the
                service accepted (HTTP 200), once per request, as its audio
                starts; Azure bills those, whether or not the audio is read
                to the end (see `usage.billable_characters`).

        Raises:
            InvalidRequestError: `field` is ``"user_agent"``, ``"api_key"`` or
                ``"auth_mode"``.

        """
        try:
            auth_mode = AuthMode(auth_mode)
        except ValueError:
            raise InvalidRequestError(
                f"Unknown authentication mode: {auth_mode!r}",
                field="auth_mode",
                value=str(auth_mode),
            ) from None
        if (
            not user_agent.strip()
            or len(user_agent) > MAX_USER_AGENT_LENGTH
            or not HEADER_SAFE_RE.fullmatch(user_agent)
        ):
            raise InvalidRequestError(
                "The User-Agent must be 1 to 254 printable ASCII characters",
                field="user_agent",
                value=user_agent,
            )
        key = (api_key or "").strip() or None
        if key is not None and not HEADER_SAFE_RE.fullmatch(key):
            # Not echoed: it is a secret, even when malformed.
            raise InvalidRequestError(
                "The API key contains characters a key cannot have", field="api_key"
            )
        if auth_mode is AuthMode.TOKEN:
            if endpoints.token_url is None:
                raise InvalidRequestError(
                    f"{endpoints.host} issues no tokens: use the key directly",
                    field="auth_mode",
                    value=auth_mode.value,
                )
            if key is None:
                raise InvalidRequestError(
                    "Token authentication needs an API key", field="api_key"
                )
        self._session = session
        self._endpoints = endpoints
        self._api_key = key
        self._auth_mode = auth_mode
        self._user_agent = user_agent
        if first_audio_budget is not None and not (
            math.isfinite(first_audio_budget) and first_audio_budget > 0
        ):
            raise ValueError("first_audio_budget must be a positive number")
        self._first_audio_budget = first_audio_budget
        self._timeouts = timeouts
        self._options = RequestOptions(timeouts=timeouts, retry=retry, sleep=sleep)
        # Preparations in flight, by URL (see `_prepared`).
        self._preparing: dict[str, asyncio.Future[None]] = {}
        self._recognition_options = RequestOptions(
            timeouts=recognition_timeouts, retry=RECOGNITION_RETRY, sleep=sleep
        )
        self._clock = clock
        self._on_accepted = on_accepted
        self._token: str | None = None
        self._token_time = 0.0
        # Serializes token fetches: concurrent callers wait for one request.
        self._token_lock = asyncio.Lock()

    @property
    def endpoints(self) -> AzureEndpoints:
        """Where this client sends its requests."""
        return self._endpoints

    @property
    def auth_mode(self) -> AuthMode:
        """How requests are authenticated."""
        return self._auth_mode

    async def async_get_voices(self) -> list[Voice]:
        """Fetch the voices the resource offers; also validates the key.

        Raises:
            SpeechResponseError: The list holds no usable voice.
            SpeechError: See `stream_audio` for the HTTP failures.

        """
        return parse_voice_list(await self._with_token(self._get_voice_list))

    async def async_prepare_synthesis(self) -> None:
        """Get ready to speak soon: a connection open, and a token in token mode.

        For a caller that knows a request is coming (an Assist reply being
        written): the request then pays one round trip, not three. Nothing
        billable is sent; failures are left for the request to report.
        """
        await self._prepare(self._endpoints.synthesis_url)

    async def async_prepare_recognition(self) -> None:
        """Get ready to listen: as `async_prepare_synthesis`, for speech to text."""
        await self._prepare(self._endpoints.recognition_url)

    async def _prepare(self, url: str) -> None:
        if url in self._preparing:
            return
        self._preparing[url] = done = asyncio.get_running_loop().create_future()
        try:
            await open_connection(self._session, url, timeouts=self._timeouts)
            if self._auth_mode is AuthMode.TOKEN:
                with contextlib.suppress(SpeechError):
                    await self._current_token()
        finally:
            del self._preparing[url]
            done.set_result(None)

    async def _prepared(self, url: str) -> None:
        """Wait for a preparation in flight, so the request rides its connection.

        A player fetching right after asking (a tts_get_url) would otherwise
        open a second connection beside it, paying the handshakes twice.
        Bounded: the preparation gives up after the connect timeout.
        """
        if (done := self._preparing.get(url)) is not None:
            await asyncio.shield(done)

    async def async_recognize(
        self, audio: BodyStream, *, content_type: str, query: Mapping[str, str]
    ) -> object:
        """Send audio to speech to text as it is produced; return the JSON result.

        This is the transport; `azure_recognizer.AzureRecognizer` frames the
        audio, enforces the service's limits and reads the result.

        Args:
            audio: The audio as it is produced, read again from its start on
                each attempt (`http.upload_json`).
            content_type: A ``Content-Type`` the service accepts for audio.
            query: The query (``language`` and the other parameters).

        Raises:
            SpeechError: See `http.upload_json`.

        """
        url = f"{self._endpoints.recognition_url}?{urlencode(query)}"
        headers = {"Content-Type": content_type, "Accept": "application/json"}

        async def send(token: str | None) -> object:
            return await upload_json(
                self._session,
                "POST",
                url,
                headers=headers | self._auth_headers(token),
                body=audio,
                **self._recognition_options,
            )

        return await self._with_token(send)

    async def _with_token[T](self, send: Callable[[str | None], Awaitable[T]]) -> T:
        """Send a request with the current credentials, renewing a rejected token once."""
        token = await self._current_token()
        try:
            return await send(token)
        except SpeechAuthenticationError as err:
            # Only a cached token rejected as expired (401, not 403) is worth
            # renewing.
            if token is None or err.status != 401:
                raise
        return await send(await self._refresh_token(token))

    def synthesize(self, ssml: str, output_format: str) -> AsyncGenerator[bytes]:
        """Synthesize SSML, yielding audio as the service streams it.

        Arguments are checked now; the request is sent when the iterator is
        first advanced. Use ``contextlib.aclosing`` (or ``aclose()``) when
        stopping early, so the connection is released at once.

        Args:
            ssml: A complete SSML document.
            output_format: An ``X-Microsoft-OutputFormat`` value such as
                ``audio-24khz-48kbitrate-mono-mp3``.

        Raises:
            InvalidRequestError: `field` is ``"ssml"`` or ``"output_format"``
                (raised by this call, before any request).
            SpeechError: While iterating; see `stream_audio`. Nothing is
                retried once audio has been yielded.

        """
        if not isinstance(ssml, str) or not ssml.strip():
            raise InvalidRequestError("The SSML document is empty", field="ssml")
        if not _OUTPUT_FORMAT_RE.fullmatch(output_format):
            raise InvalidRequestError(
                f"Invalid output format: {output_format!r}",
                field="output_format",
                value=output_format,
            )
        return self._synthesize(ssml, output_format)

    async def _synthesize(self, ssml: str, output_format: str) -> AsyncGenerator[bytes]:
        """Stream one synthesis, its first audio within `first_audio_budget`.

        One deadline covers all that comes before the first chunk: the wait
        for a preparation, the token, every attempt and its waits, a renewed
        token; once the service speaks, it is lifted.
        """
        budget = self._first_audio_budget
        first_audio = asyncio.timeout(budget)
        try:
            async with (
                first_audio,
                aclosing(self._synthesis_attempts(ssml, output_format)) as chunks,
            ):
                async for chunk in chunks:
                    first_audio.reschedule(None)
                    yield chunk
        except TimeoutError:
            if not first_audio.expired():
                raise
            raise SpeechTimeoutError(
                f"{self._endpoints.host} sent no audio within {budget:g} s"
            ) from None

    async def _synthesis_attempts(
        self, ssml: str, output_format: str
    ) -> AsyncGenerator[bytes]:
        """Stream one synthesis, renewing a rejected token once."""
        body = ssml.encode()
        headers = {
            "Content-Type": "application/ssml+xml",
            "X-Microsoft-OutputFormat": output_format,
        }
        await self._prepared(self._endpoints.synthesis_url)
        token = await self._current_token()
        renewed = False
        while True:
            started = False
            async with aclosing(
                stream_audio(
                    self._session,
                    "POST",
                    self._endpoints.synthesis_url,
                    headers=headers | self._auth_headers(token),
                    data=body,
                    **self._options,
                )
            ) as stream:
                try:
                    async for chunk in stream:
                        if not started and self._on_accepted is not None:
                            # The first chunk comes only after an HTTP 200.
                            self._on_accepted(ssml)
                        started = True
                        yield chunk
                except SpeechAuthenticationError as err:
                    # Only a cached token rejected as expired (401, not 403) is
                    # worth renewing, once, and never after audio went out.
                    if started or renewed or token is None or err.status != 401:
                        raise
                else:
                    return
            token = await self._refresh_token(token)
            renewed = True

    async def _get_voice_list(self, token: str | None) -> object:
        """GET the voice list JSON."""
        return await request_json(
            self._session,
            "GET",
            self._endpoints.voices_url,
            headers=self._auth_headers(token),
            **self._options,
        )

    def _auth_headers(self, token: str | None) -> dict[str, str]:
        """User-Agent and credentials for a request."""
        headers = {"User-Agent": self._user_agent}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        elif self._api_key is not None:
            headers[_KEY_HEADER] = self._api_key
        return headers

    async def _current_token(self) -> str | None:
        """Return the token to use (fetched unless fresh); None in key mode."""
        if self._auth_mode is AuthMode.KEY:
            return None
        return await self._refresh_token(None)

    async def _refresh_token(self, rejected: str | None) -> str:
        """Return a fresh token, replacing `rejected` (one the service refused).

        A cached token is reused while it is younger than nine minutes and is
        not `rejected`; so when several requests see the same token rejected,
        only the first fetches a new one.
        """
        async with self._token_lock:
            if (
                self._token is not None
                and self._token != rejected
                and self._clock() - self._token_time < TOKEN_REUSE_SECONDS
            ):
                return self._token
            self._token = None
            issued = self._clock()  # before the request: errs on the safe side
            token = await self._fetch_token()
            self._token, self._token_time = token, issued
            return token

    async def _fetch_token(self) -> str:
        """Exchange the key for a token."""
        url, key = self._endpoints.token_url, self._api_key
        if url is None or key is None:  # pragma: no cover - checked in __init__
            raise InvalidRequestError("No token endpoint or key", field="auth_mode")
        text = await request_text(
            self._session,
            "POST",
            url,
            headers={
                _KEY_HEADER: key,
                "Content-Type": "application/x-www-form-urlencoded",
                "User-Agent": self._user_agent,
            },
            data=b"",
            **self._options,
        )
        token = text.strip()
        if not token or not HEADER_SAFE_RE.fullmatch(token) or " " in token:
            # The body is not quoted: it might be a credential after all.
            raise SpeechResponseError(f"{host_of(url)} did not return a token")
        return token


def parse_voice_list(data: object) -> list[Voice]:
    """Parse the voice-list JSON, skipping entries that are not voices.

    Raises:
        SpeechResponseError: Nothing usable in `data`.

    """
    voices = (
        [voice for entry in data if (voice := _parse_voice(entry)) is not None]
        if isinstance(data, list)
        else []
    )
    if not voices:
        raise SpeechResponseError(
            "The voice list is empty or not in the documented shape"
        )
    return voices


def _parse_voice(entry: object) -> Voice | None:
    """One voice, or None when `entry` lacks a ShortName or a Locale."""
    if not isinstance(entry, dict):
        return None
    short_name = text_of(entry.get("ShortName"))
    locale = text_of(entry.get("Locale"))
    if not short_name or not locale:
        return None
    return Voice(
        short_name=short_name,
        display_name=text_of(entry.get("DisplayName")) or short_name,
        locale=locale,
        gender=gender_of(entry.get("Gender")),
        local_name=text_of(entry.get("LocalName")),
        locale_name=text_of(entry.get("LocaleName")),
        secondary_locales=texts_of(entry.get("SecondaryLocaleList")),
        styles=texts_of(entry.get("StyleList")),
        roles=texts_of(entry.get("RolePlayList")),
        sample_rate=_integer(entry.get("SampleRateHertz")),
        words_per_minute=_integer(entry.get("WordsPerMinute")),
        voice_type=text_of(entry.get("VoiceType")),
        status=text_of(entry.get("Status")),
    )


def _integer(value: object) -> int | None:
    """Return an int from an int or a numeric string ("24000"); None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None
