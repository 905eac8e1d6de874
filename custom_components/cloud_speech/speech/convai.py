"""Client for Convai's standalone text-to-speech API.

One POST per text, answered with a complete WAV (the default) or MP3 file,
and a voice list grouped by the backend that speaks each voice (Convai's
"Voice List API" page). The API is documented only briefly; the quirks
handled here (an HTTP 200 carrying a JSON error, Google's legacy language
codes) are not in its documentation.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator, Mapping
from contextlib import aclosing
from enum import StrEnum
import json
import re
from typing import Final

import aiohttp

from .errors import (
    EncodingNotSupportedError,
    InvalidRequestError,
    SpeechAuthenticationError,
    SpeechBadRequestError,
    SpeechResponseError,
)
from .http import (
    DEFAULT_RETRY,
    DEFAULT_TIMEOUTS,
    HEADER_SAFE_RE,
    MAX_ERROR_BODY,
    CredentialsRefused,
    RequestOptions,
    RetryPolicy,
    Sleep,
    Timeouts,
    clean_reason,
    default_reason,
    normalize_base_url,
    request_json,
    stream_audio,
)
from .models import Voice
from .voices import gender_of, normalize_language_tag, text_of, texts_of

CONVAI_BASE_URL: Final = "https://api.convai.com"

# The sample code's spelling. The header table's "CONVAI-API_KEY" looks like a
# typo, and proxies such as nginx drop headers with underscores by default.
_KEY_HEADER: Final = "CONVAI-API-KEY"
# A language tag as far as its shape goes: "en-US", "cmn-Hans-CN", "ar".
_LANGUAGE_CODE_RE: Final = re.compile(r"[a-z]{2,8}(?:-[a-z0-9]{1,8})*", re.IGNORECASE)
# Enough of the body to recognise WAV ("RIFF") and MP3 (ID3 tag or frame sync).
_SNIFF_SIZE: Final = 4
_JSON_START: Final = (b"{", b"[")
_SURROGATES_RE: Final = re.compile("[\ud800-\udfff]")
# The Voice List API page's refusals of the key, "400 : API key not found" and
# "401 : Invalid API key provided". Their bodies are not documented, so the
# phrase is looked for in whatever reason the body gives.
_KEY_REFUSED_RE: Final = re.compile(
    r"api[ _-]?key not found|invalid api[ _-]?key provided", re.IGNORECASE
)
# A voice without MP3 answers 400 "Incorrect encoding …" (not documented).
_ENCODING_REFUSED_RE: Final = re.compile(r"encoding", re.IGNORECASE)


class ConvaiEncoding(StrEnum):
    """The audio formats the synthesis endpoint returns."""

    WAV = "wav"  # the service's default
    MP3 = "mp3"  # not offered by every voice: HTTP 400 "Incorrect encoding …"


def parse_encoding(value: object) -> ConvaiEncoding:
    """The encoding `value` names.

    Raises:
        InvalidRequestError: Convai has no such encoding; `field` is
            ``"encoding"``.

    """
    try:
        return ConvaiEncoding(str(value))
    except ValueError:
        raise InvalidRequestError(
            f"Unsupported encoding: {value!r}", field="encoding", value=str(value)
        ) from None


# Google's legacy and macrolanguage codes, which Convai passes through, mapped
# to the tags Home Assistant uses. Cantonese has no tag of its own there.
_LANGUAGES: Final[Mapping[str, str]] = {
    "cmn": "zh",  # Mandarin
    "yue": "zh",  # Cantonese: yue-HK is zh-HK
    "iw": "he",  # Hebrew (ISO 639 before 1989)
    "in": "id",  # Indonesian
    "ji": "yi",  # Yiddish
    "jw": "jv",  # Javanese
}
# Cantonese without a region is Hong Kong's.
_DEFAULT_REGIONS: Final[Mapping[str, str]] = {"yue": "HK"}
# Private-use regions (Google's "ar-XA" is Arabic as a whole) name no country.
_PRIVATE_REGION_RE: Final = re.compile(r"AA|Q[M-Z]|X[A-Z]|ZZ", re.IGNORECASE)


def convai_language_tag(code: str) -> str:
    """Map a language code of Convai's voice list to the tag Home Assistant uses.

    ``cmn-CN`` → ``zh-CN``, ``cmn-TW`` → ``zh-TW``, ``yue-HK`` → ``zh-HK``,
    ``iw-IL`` → ``he-IL``, ``in-ID`` → ``id-ID``, ``ji`` → ``yi``, ``jw`` →
    ``jv``; a private-use region is dropped (``ar-XA`` → ``ar``); every
    other code keeps its subtags (``ar``, ``fil-PH``, ``nb-NO``). Case is
    normalized (``en-us`` → ``en-US``).

    Raises:
        ValueError: `code` is not shaped like a language tag.

    """
    text = code.strip().replace("_", "-")
    if not _LANGUAGE_CODE_RE.fullmatch(text):
        raise ValueError(f"Not a language code: {code!r}")
    language, *rest = text.split("-")
    language = language.lower()
    if not rest and language in _DEFAULT_REGIONS:
        rest = [_DEFAULT_REGIONS[language]]
    if len(rest) == 1 and _PRIVATE_REGION_RE.fullmatch(rest[0]):
        rest = []
    return normalize_language_tag("-".join([_LANGUAGES.get(language, language), *rest]))


class ConvaiClient:
    """Talks to Convai's text-to-speech API with one API key.

    Safe to share between concurrent callers: it keeps no per-request state.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        api_key: str,
        base_url: str = CONVAI_BASE_URL,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        retry: RetryPolicy = DEFAULT_RETRY,
        sleep: Sleep = asyncio.sleep,
        on_accepted: Callable[[str], None] | None = None,
    ) -> None:
        """Set up the client; no request is made.

        Args:
            session: The aiohttp session (owned by the caller).
            api_key: The Convai API key.
            base_url: Where the API answers: Convai itself, or a developer's
                emulator or proxy (``http://127.0.0.1:5000/convai``); the API's
                paths (``/tts/`` …) are appended.
            timeouts: Request timeouts.
            retry: Retry policy for transient failures.
            sleep: Waits between retries (tests inject a fast one).
            on_accepted: Called with the transcript of each synthesis request
                the service accepted: an HTTP 200 carrying audio (a 200 with
                a JSON error is a refusal), once per request, as its audio
                starts.

        Raises:
            InvalidRequestError: `field` is ``"api_key"`` or ``"endpoint"``.

        """
        key = api_key.strip() if isinstance(api_key, str) else ""
        if not key:
            raise InvalidRequestError("A Convai API key is required", field="api_key")
        if not HEADER_SAFE_RE.fullmatch(key):
            # Not echoed: it is a secret, even when malformed.
            raise InvalidRequestError(
                "The API key contains characters a key cannot have", field="api_key"
            )
        self._base_url, self._host = normalize_base_url(base_url)
        self._session = session
        self._api_key = key
        self._on_accepted = on_accepted
        self._options = RequestOptions(
            timeouts=timeouts, retry=retry, sleep=sleep, reason_parser=_reason
        )

    @property
    def base_url(self) -> str:
        """The API's base URL, normalized (no trailing slash)."""
        return self._base_url

    @property
    def host(self) -> str:
        """The API's host (with an explicit port), for messages and diagnostics."""
        return self._host

    async def async_get_voices(self) -> list[Voice]:
        """Fetch the voices the API offers; also validates the key.

        Realtime voices are left out: the synthesis endpoint does not
        support them (see `parse_voice_list`).

        Raises:
            SpeechAuthenticationError: The key is missing (HTTP 400 "API key
                not found") or wrong (HTTP 401 "Invalid API key provided").
            SpeechResponseError: The list holds no usable voice.
            SpeechError: See `http.stream_audio` for the HTTP failures.

        """
        data = await request_json(
            self._session,
            "GET",
            f"{self._base_url}/tts/get_available_voices",
            headers=self._headers(),
            **self._options,
        )
        return parse_voice_list(data)

    def synthesize(
        self, text: str, voice: str, encoding: ConvaiEncoding = ConvaiEncoding.WAV
    ) -> AsyncGenerator[bytes]:
        """Synthesize `text`, yielding the audio file as the service streams it.

        Arguments are checked now; the request is sent when the iterator is
        first advanced. Use ``contextlib.aclosing`` (or ``aclose()``) when
        stopping early, so the connection is released at once. Each call
        yields one complete file: `ConvaiSynthesizer` joins them.

        Args:
            text: The text to speak, plain (not SSML).
            voice: A voice's ``voice_value`` (`Voice.short_name`).
            encoding: WAV or MP3. Not every voice speaks MP3: those refuse
                with `EncodingNotSupportedError` before any audio, and the
                caller may ask again for WAV.

        Raises:
            InvalidRequestError: `field` is ``"message"``, ``"voice"`` or
                ``"encoding"`` (raised by this call, before any request).
            SpeechAuthenticationError: While iterating: the key was refused,
                as for `async_get_voices` (also in an HTTP 200 JSON error).
            SpeechBadRequestError: While iterating: HTTP 400, or an HTTP 200
                that carries a JSON error instead of audio;
                `EncodingNotSupportedError` when the voice has no MP3.
            SpeechResponseError: While iterating: the body is not audio in
                the encoding asked for.
            SpeechError: While iterating; see `http.stream_audio`. Nothing is
                retried once audio has been yielded.

        """
        if isinstance(text, str):
            # Lone surrogates cannot be encoded as UTF-8 (UnicodeEncodeError below).
            text = _SURROGATES_RE.sub("", text)
        if not isinstance(text, str) or not text.strip():
            raise InvalidRequestError("There is no text to speak", field="message")
        if not isinstance(voice, str) or not voice.strip():
            raise InvalidRequestError("A voice is required", field="voice")
        encoding = parse_encoding(encoding)
        body = json.dumps(
            {"transcript": text, "voice": voice.strip(), "encoding": encoding.value},
            ensure_ascii=False,
        ).encode()
        return self._synthesize(body, text, encoding)

    async def _synthesize(
        self, body: bytes, text: str, encoding: ConvaiEncoding
    ) -> AsyncGenerator[bytes]:
        """Stream one synthesis, refusing a body that is not the audio asked for."""
        async with aclosing(
            stream_audio(
                self._session,
                "POST",
                f"{self._base_url}/tts/",
                headers={"Content-Type": "application/json"} | self._headers(),
                data=body,
                **self._options,
            )
        ) as stream:
            # Content types are not trusted (an error comes as HTTP 200 with
            # JSON, proxies relabel bodies): the first bytes decide.
            start = b""
            try:
                async for chunk in stream:
                    start += chunk
                    if len(start) >= _SNIFF_SIZE:
                        break
            except SpeechBadRequestError as err:
                raise _refused(str(err), err.reason, encoding) from None
            if not _is_audio(start, encoding):
                await self._not_audio(start, stream, encoding)
            if self._on_accepted is not None:
                self._on_accepted(text)
            yield start
            async for chunk in stream:
                yield chunk

    async def _not_audio(
        self, start: bytes, stream: AsyncIterator[bytes], encoding: ConvaiEncoding
    ) -> None:
        """Raise the error a 2xx body that is not audio stands for."""
        body = start
        if start.lstrip().startswith(_JSON_START):
            async for chunk in stream:
                body += chunk
                if len(body) >= MAX_ERROR_BODY:
                    break
            parsed = _reason(body[:MAX_ERROR_BODY].decode("utf-8", "replace"))
            reason = clean_reason(parsed, secrets=(self._api_key,))
            detail = f": {reason}" if reason else ""
            if isinstance(parsed, CredentialsRefused):
                raise SpeechAuthenticationError(
                    f"{self._host} rejected the credentials "
                    f"(HTTP 200 without audio){detail}"
                )
            raise _refused(
                f"{self._host} refused the request (HTTP 200 without audio){detail}",
                reason,
                encoding,
            )
        raise SpeechResponseError(
            f"{self._host} returned something that is not {encoding.value.upper()} audio"
        )

    def _headers(self) -> dict[str, str]:
        """Return the credential header."""
        return {_KEY_HEADER: self._api_key}


def _is_audio(start: bytes, encoding: ConvaiEncoding) -> bool:
    """Whether a body starting with `start` is audio in `encoding`."""
    if encoding is ConvaiEncoding.WAV:
        return start.startswith(b"RIFF")
    # An ID3v2 tag, or an MPEG audio frame header (11 sync bits).
    return start.startswith(b"ID3") or (
        len(start) >= 2 and start[0] == 0xFF and start[1] & 0xE0 == 0xE0
    )


def _refused(
    message: str, reason: str | None, encoding: ConvaiEncoding
) -> SpeechBadRequestError:
    """The error for a refused request: a voice without MP3 is told apart."""
    if encoding is ConvaiEncoding.MP3 and _ENCODING_REFUSED_RE.search(
        reason or message
    ):
        return EncodingNotSupportedError(message, reason=reason)
    return SpeechBadRequestError(message, reason=reason)


def _reason(body: str) -> str | None:
    """Convai's reason for an error: ``API_ERROR``, ``ERROR`` or ``result``.

    A reason refusing the key is `CredentialsRefused`: Convai answers a
    missing key with HTTP 400, which is no bad request of ours to fix.
    """
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(value := data.get("API_ERROR"), str):
        reason: str | None = value
    else:
        reason = default_reason(body)
    if reason is not None and _KEY_REFUSED_RE.search(reason):
        return CredentialsRefused(reason)
    return reason


def parse_voice_list(data: object) -> list[Voice]:
    """Parse the voice list as the Voice List API page documents it.

    That is ``{section: [{name: {voice_value, lang_codes, gender,
    sample_link}}, …]}``: each section an array of single-key objects. A
    section that is one object of named voices (``{section: {name: {…}}}``)
    is read too.

    Entries that are not voices (no ``voice_value``, no usable language
    code) are skipped, as is a voice already listed in an earlier section.
    Realtime voices are skipped too, since the synthesis endpoint refuses
    them: an entry is realtime when its section name, its
    ``deployment_env`` (text or a list of texts) or its ``type`` mentions
    "realtime" (any case, with or without a space, hyphen or underscore),
    or when it has a true ``realtime`` or ``is_realtime`` flag.

    Returns:
        The voices in the service's order. `Voice.short_name` is the
        ``voice_value``, `Voice.display_name` the name, `Voice.locale` the
        first language code (mapped with `convai_language_tag`) and
        `Voice.secondary_locales` the others; `Voice.voice_type` is the
        section and `Voice.status` the ``deployment_env`` (a list joined
        with ", ").

    Raises:
        SpeechResponseError: Nothing usable in `data`.

    """
    voices: list[Voice] = []
    seen: set[str] = set()
    sections = data.items() if isinstance(data, dict) else ()
    for section, entries in sections:
        if not isinstance(section, str):
            continue
        for name, entry in _named_entries(entries):
            voice = _parse_voice(section.strip(), name, entry)
            if voice is not None and voice.short_name not in seen:
                seen.add(voice.short_name)
                voices.append(voice)
    if not voices:
        raise SpeechResponseError(
            "The voice list is empty or not in the documented shape"
        )
    return voices


def _named_entries(entries: object) -> Iterator[tuple[object, object]]:
    """The (name, entry) pairs of a section: an array of objects, or one object."""
    if isinstance(entries, dict):
        yield from entries.items()
    elif isinstance(entries, list):
        for item in entries:
            if isinstance(item, dict):
                yield from item.items()


def _parse_voice(section: str, name: object, entry: object) -> Voice | None:
    """One voice, or None when `entry` is not a usable one."""
    if not isinstance(entry, dict):
        return None
    voice_value = text_of(entry.get("voice_value"))
    deployment_env = entry.get("deployment_env")
    deployment = texts_of(
        [deployment_env] if isinstance(deployment_env, str) else deployment_env
    )
    if not voice_value or _is_realtime(section, deployment, entry):
        return None
    locales = _locales(entry.get("lang_codes"))
    if not locales:
        return None
    return Voice(
        short_name=voice_value,
        display_name=text_of(name) or voice_value,
        locale=locales[0],
        gender=gender_of(entry.get("gender")),
        secondary_locales=locales[1:],
        voice_type=section,
        status=", ".join(deployment),
    )


def _is_realtime(
    section: str, deployment: tuple[str, ...], entry: dict[object, object]
) -> bool:
    """Whether an entry describes a realtime voice (see `parse_voice_list`)."""
    labels = (section, *deployment, text_of(entry.get("type")))
    if any("realtime" in re.sub(r"[\s_-]", "", label).casefold() for label in labels):
        return True
    return any(entry.get(flag) is True for flag in ("realtime", "is_realtime"))


def _locales(value: object) -> tuple[str, ...]:
    """Return the mapped, deduplicated language codes of an entry, in order."""
    codes = [value] if isinstance(value, str) else value
    if not isinstance(codes, list):
        return ()
    locales: list[str] = []
    for code in codes:
        if not isinstance(code, str):
            continue
        try:
            locale = convai_language_tag(code)
        except ValueError:
            continue
        if locale not in locales:
            locales.append(locale)
    return tuple(locales)
