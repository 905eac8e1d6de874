"""Azure AI Speech: the Speech to text REST API for short audio.

`POST .../speech/recognition/conversation/cognitiveservices/v1?language=...`
with WAV (PCM, 16 kHz, mono) or Ogg Opus in the body, answered with JSON.
The body is read as it streams in: a WAV header is parsed from the first
bytes and the samples after it are kept as they arrive; Ogg Opus is fed to
ffmpeg as it arrives. The answer goes out only after the body has ended.

The emulator cannot recognise real speech (assumption, see FIDELITY.md): it
recognises audio it was taught, either by synthesising it or through
`Emulator.remember_speech(pcm, text)`. The upload, decoded to 16 kHz 16-bit
PCM, is trimmed of near-silence at both ends; if it contains the trimmed PCM
of a remembered entry (sample-aligned), or its loudness and zero-crossing
envelopes match one closely (a resampled or re-encoded copy), the answer is
Success with that text.

How long the answer takes is a model too (assumption, see FIDELITY.md):
the service processes the audio as it arrives, at `Emulator.recognition_speed`
seconds of audio per second, and answers `Emulator.recognition_latency` after
it has processed all of it and the body has ended (`ProcessingPace`).
"""

from __future__ import annotations

import array
import asyncio
import contextlib
from dataclasses import dataclass, field
import itertools
import math
import re
import shutil
import struct
import sys
import time
from typing import Any

from .audio import synthesize_audio_async
from .azure import authenticate
from .exchange import (
    AZURE_UNAUTHORIZED_MESSAGE,
    Context,
    Reply,
    azure_error,
    json_reply,
    text_reply,
)
from .state import Emulator, RememberedSpeech

SAMPLE_RATE = 16000
BYTES_PER_SECOND = SAMPLE_RATE * 2
# "Requests that use the REST API for short audio and transmit audio directly
# can contain no more than 60 seconds of audio" (REST page). What happens
# past 60 s is undocumented: the emulator recognises the first 60 s.
MAX_AUDIO_SECONDS = 60
MAX_PCM_BYTES = MAX_AUDIO_SECONDS * BYTES_PER_SECOND
# Bytes the emulator keeps of one upload before answering 413 (assumption).
MAX_UPLOAD_BYTES = 32 * 1024 * 1024
TICKS_PER_SECOND = 10_000_000  # Offset and Duration are in 100-ns units
TICKS_PER_SAMPLE = TICKS_PER_SECOND // SAMPLE_RATE

# Samples at or below this magnitude are silence (about -40 dBFS).
SILENCE_THRESHOLD = 300
FRAME_SAMPLES = SAMPLE_RATE // 100  # 10 ms envelope frames
# An exact match must make up at least this share of the upload's speech, so
# that a long tone does not "contain" every shorter one.
MIN_COVERAGE = 0.5
# Largest envelope distance (0 = same, 1 = unrelated) still recognised.
MAX_ENVELOPE_DISTANCE = 0.25

RESULT_FORMATS = frozenset({"simple", "detailed"})
PROFANITY_OPTIONS = frozenset({"masked", "removed", "raw"})
# The emulator's own profanity list (assumption): enough to see the option work.
PROFANE_WORDS = frozenset({"damn", "hell", "crap", "shit", "fuck", "bastard"})

WAV_MEDIA_TYPE = "audio/wav"
OGG_MEDIA_TYPE = "audio/ogg"

_INVALID_LANGUAGE = "Invalid CID or language"
_MISSING_CREDENTIALS = (
    "Access denied due to missing subscription key or authorization token. Make "
    "sure to include a subscription key or an authorization token when making "
    "requests to an API."
)


def bad_request(message: str) -> Reply:
    """The speech service's 400: JSON with a `Message`."""
    return json_reply(400, {"Message": message})


# --- decoding as the body streams in -------------------------------------------


class _Decoder:
    """Turns the body, chunk by chunk, into 16 kHz mono 16-bit PCM."""

    def __init__(self) -> None:
        self.pcm = bytearray()  # at most MAX_PCM_BYTES
        self.pcm_total = 0  # bytes of PCM decoded, also past the cut
        self.error: str | None = None  # the audio is invalid: 400
        self.unavailable = False  # the emulator cannot decode it: Error

    def _keep(self, data: bytes) -> None:
        self.pcm_total += len(data)
        room = MAX_PCM_BYTES - len(self.pcm)
        if room > 0:
            self.pcm += data[:room]

    async def feed(self, chunk: bytes) -> None:
        """Take the next body chunk."""
        raise NotImplementedError

    async def finish(self) -> None:
        """The body has ended."""

    def abort(self) -> None:
        """The request ended early: release what decoding holds."""


class _WavDecoder(_Decoder):
    """RIFF/WAVE, PCM 16-bit mono 16 kHz; the header comes first."""

    def __init__(self) -> None:
        super().__init__()
        self._head = bytearray()
        self._in_data = False
        self._data_left: int | None = None  # None: until the body ends

    async def feed(self, chunk: bytes) -> None:
        if self.error is not None:
            return
        if self._in_data:
            self._take(chunk)
            return
        self._head += chunk
        self._parse_header()

    def _take(self, data: bytes) -> None:
        if self._data_left is not None:
            data = data[: self._data_left]
            self._data_left -= len(data)
        self._keep(data)

    def _parse_header(self) -> None:
        head = self._head
        if len(head) < 12:
            if not b"RIFF".startswith(bytes(head[:4])):
                self.error = "The audio is not a WAV file."
            return
        if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            self.error = "The audio is not a WAV file."
            return
        offset = 12
        fmt: tuple[int, int, int, int, int, int] | None = None
        while len(head) >= offset + 8:
            chunk_id = bytes(head[offset : offset + 4])
            (size,) = struct.unpack_from("<I", head, offset + 4)
            start = offset + 8
            if chunk_id == b"data":
                if fmt is None:
                    self.error = "The WAV file has no fmt chunk before its data."
                    return
                self._in_data = True
                # Streaming writers leave the size 0 or at its maximum.
                if size not in (0, 0xFFFFFFFF):
                    self._data_left = size
                rest = bytes(head[start:])
                self._head = bytearray()
                self._take(rest)
                return
            if len(head) < start + size:
                return  # wait for the rest of this chunk
            if chunk_id == b"fmt ":
                if size < 16:
                    self.error = "The WAV fmt chunk is too short."
                    return
                fmt = struct.unpack_from("<HHIIHH", head, start)
                format_code, channels, rate, _, _, bits = fmt
                if (format_code, channels, rate, bits) != (1, 1, SAMPLE_RATE, 16):
                    self.error = (
                        "The audio must be PCM, 16 kHz, 16-bit, mono; got format "
                        f"{format_code}, {rate} Hz, {bits}-bit, {channels} channel(s)."
                    )
                    return
            offset = start + size + (size & 1)

    async def finish(self) -> None:
        if self.error is None and not self._in_data:
            self.error = "The WAV file has no data chunk."


class _OggOpusDecoder(_Decoder):
    """Ogg Opus, mono 16 kHz, decoded by ffmpeg as the pages arrive."""

    def __init__(self) -> None:
        super().__init__()
        self._head = bytearray()
        self._checked = False
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    async def feed(self, chunk: bytes) -> None:
        if self.error is not None or self.unavailable:
            return
        if not self._checked:
            self._head += chunk
            verdict = _check_opus_head(bytes(self._head))
            if verdict is None:
                return  # need more of the first page
            self._checked = True
            if verdict:
                self.error = verdict
                return
            chunk, self._head = bytes(self._head), bytearray()
            if not await self._start():
                return
        await self._write(chunk)

    async def _start(self) -> bool:
        ffmpeg = shutil.which("ffmpeg")
        if ffmpeg is None:
            self.unavailable = True
            return False
        self._process = await asyncio.create_subprocess_exec(
            ffmpeg,
            *("-hide_banner", "-loglevel", "error", "-f", "ogg", "-i", "pipe:0"),
            *("-f", "s16le", "-ac", "1", "-ar", str(SAMPLE_RATE), "pipe:1"),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        self._reader = asyncio.create_task(self._read())
        return True

    async def _read(self) -> None:
        assert self._process is not None
        assert self._process.stdout is not None
        while data := await self._process.stdout.read(65536):
            self._keep(data)

    async def _write(self, data: bytes) -> None:
        process = self._process
        if process is None or process.stdin is None:
            return
        try:
            process.stdin.write(data)
            await process.stdin.drain()
        except BrokenPipeError, ConnectionResetError:
            self.error = "The Ogg Opus audio could not be decoded."

    async def finish(self) -> None:
        if self.error is not None or self.unavailable:
            self.abort()
            return
        if not self._checked:
            self.error = "The audio is not an Ogg Opus stream."
            return
        process = self._process
        assert process is not None
        assert process.stdin is not None
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            process.stdin.close()
        if self._reader is not None:
            await self._reader
        if await process.wait() != 0:
            self.error = "The Ogg Opus audio could not be decoded."

    def abort(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        if self._process is not None and self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()


def _check_opus_head(data: bytes) -> str | None:
    """'' when data starts an Ogg Opus stream, a reason when not, None: need more."""
    if len(data) < 27:
        if not b"OggS".startswith(data[:4]):
            return "The audio is not an Ogg stream."
        return None
    if data[:4] != b"OggS":
        return "The audio is not an Ogg stream."
    segments = data[26]
    if len(data) < 27 + segments:
        return None
    size = sum(data[27 : 27 + segments])
    packet = data[27 + segments : 27 + segments + size]
    if len(packet) < min(size, 19):
        return None
    if not packet.startswith(b"OpusHead") or len(packet) < 19:
        return "The Ogg stream is not Opus."
    channels = packet[9]
    (input_rate,) = struct.unpack_from("<I", packet, 12)
    if channels != 1 or input_rate != SAMPLE_RATE:
        return (
            "The Opus audio must be 16 kHz mono; got "
            f"{input_rate} Hz, {channels} channel(s)."
        )
    return ""


# --- processing time -----------------------------------------------------------


@dataclass
class ProcessingPace:
    """When the modelled service is done with the audio it has received.

    Audio is processed in the order it arrives, `speed` seconds of audio per
    second of the clock, never before it has arrived; None processes at once.
    Times are on any one clock (the emulator uses `Emulator.clock`).
    """

    speed: float | None = None
    done_at: float | None = None  # processing of the audio so far ends

    def arrived(self, at: float, seconds: float) -> None:
        """`seconds` of audio arrived at time `at`."""
        start = at if self.done_at is None else max(self.done_at, at)
        self.done_at = start + (seconds / self.speed if self.speed else 0.0)

    def answer_at(self, ended_at: float, latency: float) -> float:
        """When the answer goes out for a body that ended at `ended_at`."""
        done = ended_at if self.done_at is None else max(self.done_at, ended_at)
        return done + latency


# --- the request -------------------------------------------------------------


@dataclass
class Upload:
    """What receive() learnt from a recognition request before any answer."""

    credentials: str  # "ok" | "missing" | "invalid"
    slot: str | None = None  # the resource holding an F0 slot until release()
    rate_limited: bool = False
    media_type: str | None = None  # audio/wav or audio/ogg, when acceptable
    content_type_error: str | None = None
    too_large: bool = False
    decoder: _Decoder | None = None
    pcm: bytes = field(default=b"", repr=False)
    pace: ProcessingPace = field(default_factory=ProcessingPace)
    ended_at: float | None = None  # Emulator.clock when the body ended

    def answer_at(self, emulator: Emulator) -> float:
        """When the modelled service has its answer (on Emulator.clock)."""
        ended_at = emulator.clock() if self.ended_at is None else self.ended_at
        return self.pace.answer_at(ended_at, emulator.recognition_latency)

    def release(self, emulator: Emulator) -> None:
        """Give back the F0 slot."""
        if self.slot is not None:
            emulator.finish_recognition(self.slot)
            self.slot = None


def _parse_content_type(value: str | None) -> tuple[str | None, str | None]:
    """(media type, None) when acceptable, else (None, reason)."""
    if not value:
        return None, "The Content-Type header is required."
    media_type, *parameters = (part.strip() for part in value.split(";"))
    media_type = media_type.lower()
    params: dict[str, str] = {}
    for parameter in parameters:
        name, _, param_value = parameter.partition("=")
        params[name.strip().lower()] = param_value.strip().strip('"').lower()
    if media_type == WAV_MEDIA_TYPE:
        if params.get("codecs", "audio/pcm") != "audio/pcm" or params.get(
            "samplerate", str(SAMPLE_RATE)
        ) != str(SAMPLE_RATE):
            return None, f"Unsupported audio format {value!r}."
        return media_type, None
    if media_type == OGG_MEDIA_TYPE:
        if params.get("codecs", "opus") != "opus":
            return None, f"Unsupported audio format {value!r}."
        return media_type, None
    return None, (
        f"Unsupported Content-Type {value!r}; use "
        "'audio/wav; codecs=audio/pcm; samplerate=16000' or 'audio/ogg; codecs=opus'."
    )


def _credentials(context: Context) -> tuple[str, str | None]:
    """("ok", key) / ("missing", None) / ("invalid", None)."""
    headers = context.request.headers
    key = authenticate(context)
    if key is not None:
        return "ok", key
    if "Ocp-Apim-Subscription-Key" not in headers and "Authorization" not in headers:
        return "missing", None
    return "invalid", None


async def receive(context: Context) -> Upload:
    """Check the credentials, then read and decode the body as it arrives."""
    emulator, request, record = context.emulator, context.request, context.record
    query = request.query
    record.language = query.get("language")
    record.result_format = query.get("format")
    record.profanity = query.get("profanity")
    record.content_type = request.headers.get("Content-Type")
    record.chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    record.expect_continue = (
        request.headers.get("Expect", "").strip().lower() == "100-continue"
    )

    credentials, key = _credentials(context)
    upload = Upload(credentials)
    if key is not None:
        # Containers have no F0 concurrency limit.
        if context.site.cloud == "container" or emulator.start_recognition(key):
            upload.slot = key if context.site.cloud != "container" else None
        else:
            upload.rate_limited = True
    upload.media_type, upload.content_type_error = _parse_content_type(
        record.content_type
    )
    decoder: _Decoder | None = None
    if upload.media_type == WAV_MEDIA_TYPE:
        decoder = _WavDecoder()
    elif upload.media_type == OGG_MEDIA_TYPE:
        decoder = _OggOpusDecoder()
    # Only audio the service would decode is decoded.
    if credentials != "ok" or upload.rate_limited:
        decoder = None
    upload.decoder = decoder
    pace = upload.pace = ProcessingPace(emulator.recognition_speed)
    decoded = 0  # decoded PCM bytes the pace has been told about

    def arrived() -> None:
        nonlocal decoded
        if decoder is not None and decoder.pcm_total > decoded:
            seconds = (decoder.pcm_total - decoded) / BYTES_PER_SECOND
            pace.arrived(emulator.clock(), seconds)
            decoded = decoder.pcm_total

    body = bytearray()
    try:
        chunks = context.body_chunks or request.content.iter_any()
        async for chunk in chunks:
            now = time.monotonic()
            if record.first_chunk_at is None:
                record.first_chunk_at = now
            record.last_chunk_at = now
            record.chunk_count += 1
            if len(body) + len(chunk) > MAX_UPLOAD_BYTES:
                upload.too_large = True
                continue  # keep draining, so the answer reaches the client
            body += chunk
            if decoder is not None and not upload.too_large:
                await decoder.feed(chunk)
                arrived()
        upload.ended_at = emulator.clock()
        if decoder is not None:
            await decoder.finish()
            # Ogg Opus: what ffmpeg decoded after the last chunk counts as
            # arriving when the body ended.
            if decoder.pcm_total > decoded:
                seconds = (decoder.pcm_total - decoded) / BYTES_PER_SECOND
                pace.arrived(upload.ended_at, seconds)
    except BaseException:
        if decoder is not None:
            decoder.abort()
        upload.release(emulator)
        raise
    finally:
        record.body = bytes(body)
    if decoder is not None:
        usable = len(decoder.pcm) - len(decoder.pcm) % 2
        upload.pcm = bytes(decoder.pcm[:usable])
        record.audio_seconds = decoder.pcm_total / BYTES_PER_SECOND
    return upload


def _accept_is_json(value: str | None) -> bool:
    """Whether an Accept header allows JSON (absent allows anything)."""
    if value is None:
        return True
    ranges = re.split(r"[,;]", value)
    return any(
        item.strip().lower() in ("application/json", "application/*", "*/*")
        for item in ranges
    )


async def handle(context: Context, upload: Upload) -> Reply:
    """The answer to a recognition request whose body has been read."""
    emulator, request, record = context.emulator, context.request, context.record
    if upload.credentials == "missing":
        return azure_error(403, _MISSING_CREDENTIALS)
    if upload.credentials == "invalid":
        return azure_error(401, AZURE_UNAUTHORIZED_MESSAGE)
    if upload.rate_limited:
        return azure_error(
            429, "Too many concurrent requests for this resource. Try again later."
        )
    language = record.language
    known = {locale.lower(): locale for locale in emulator.stt_locales}
    if not language or language.strip().lower() not in known:
        return bad_request(_INVALID_LANGUAGE)
    cid = request.query.get("cid")
    if cid is not None and cid not in emulator.stt_endpoint_ids:
        return bad_request(_INVALID_LANGUAGE)
    result_format = (record.result_format or "simple").lower()
    if result_format not in RESULT_FORMATS:
        return bad_request(f"Invalid format {record.result_format!r}.")
    profanity = (record.profanity or "masked").lower()
    if profanity not in PROFANITY_OPTIONS:
        return bad_request(f"Invalid profanity option {record.profanity!r}.")
    if not _accept_is_json(request.headers.get("Accept")):
        return text_reply(406, "The Accept header must allow application/json.")
    if upload.content_type_error is not None:
        return bad_request(upload.content_type_error)
    if (
        record.chunked
        and not record.expect_continue
        and (emulator.require_expect_for_chunked)
    ):
        return bad_request("Chunked transfer requires Expect: 100-continue.")
    if upload.too_large:
        return text_reply(413, "Request body too large.")
    decoder = upload.decoder
    assert decoder is not None
    if decoder.unavailable:
        result: dict[str, Any] = {
            "RecognitionStatus": "Error",
            "Offset": 0,
            "Duration": 0,
        }
        record.recognition_status = "Error"
        return json_reply(200, result)
    if decoder.error is not None:
        return bad_request(decoder.error)
    # The processing model: wait until the modelled service has its answer.
    wait = max(0.0, upload.answer_at(emulator) - emulator.clock())
    record.recognition_wait = wait
    if wait > 0:
        await asyncio.sleep(wait)
    result = await recognize(emulator, upload.pcm, result_format, profanity)
    record.recognition_status = str(result["RecognitionStatus"])
    record.recognized_text = recognized_text(result)
    return json_reply(200, result)


def recognized_text(result: dict[str, Any]) -> str | None:
    """DisplayText of a result, or the first NBest Display (detailed format)."""
    if "DisplayText" in result:
        return str(result["DisplayText"])
    if best := result.get("NBest"):
        return str(best[0]["Display"])
    return None


# --- recognition -------------------------------------------------------------


def _samples(pcm: bytes) -> array.array[int]:
    samples = array.array("h")
    samples.frombytes(pcm[: len(pcm) - len(pcm) % 2])
    if sys.byteorder == "big":
        samples.byteswap()
    return samples


def speech_bounds(samples: array.array[int]) -> tuple[int, int]:
    """[start, end) of the samples louder than near-silence; (0, 0) if none."""
    count = len(samples)
    start = 0
    while start < count and -SILENCE_THRESHOLD <= samples[start] <= SILENCE_THRESHOLD:
        start += 1
    if start == count:
        return 0, 0
    end = count
    while -SILENCE_THRESHOLD <= samples[end - 1] <= SILENCE_THRESHOLD:
        end -= 1
    return start, end


def _envelopes(samples: array.array[int]) -> tuple[list[float], list[int]]:
    """Per 10 ms frame: RMS and zero crossings."""
    rms: list[float] = []
    crossings: list[int] = []
    for offset in range(0, len(samples), FRAME_SAMPLES):
        frame = samples[offset : offset + FRAME_SAMPLES]
        rms.append(math.sqrt(sum(x * x for x in frame) / len(frame)))
        crossings.append(
            sum(1 for a, b in itertools.pairwise(frame) if (a < 0) != (b < 0))
        )
    return rms, crossings


def _envelope_distance(
    upload: tuple[list[float], list[int]], reference: tuple[list[float], list[int]]
) -> float:
    """0 for the same envelopes, towards 1 for unrelated audio; the best shift."""
    (u_rms, u_zc), (r_rms, r_zc) = upload, reference
    if abs(len(u_rms) - len(r_rms)) > max(3, len(r_rms) // 10):
        return 1.0
    best = 1.0
    for shift in range(-3, 4):
        rms_diff = rms_sum = zc_diff = zc_sum = 0.0
        for index in range(min(0, shift), max(len(u_rms), len(r_rms) + shift)):
            ref_index = index - shift
            a = u_rms[index] if 0 <= index < len(u_rms) else 0.0
            b = r_rms[ref_index] if 0 <= ref_index < len(r_rms) else 0.0
            rms_diff += abs(a - b)
            rms_sum += max(a, b)
            if a > SILENCE_THRESHOLD and b > SILENCE_THRESHOLD:
                za, zb = u_zc[index], r_zc[ref_index]
                zc_diff += abs(za - zb)
                zc_sum += max(za, zb)
        distance = max(
            rms_diff / rms_sum if rms_sum else 1.0,
            zc_diff / zc_sum if zc_sum else 0.0,
        )
        best = min(best, distance)
    return best


async def _reference_pcm(memory: RememberedSpeech) -> bytes:
    """The remembered 16 kHz PCM, rendered from its synthesis when first needed."""
    if memory.pcm is None:
        speak, ms_per_character = memory.render or (False, 60.0)
        memory.pcm = await synthesize_audio_async(
            memory.text,
            "raw-16khz-16bit-mono-pcm",
            speak,
            ms_per_character=ms_per_character,
        )
    return memory.pcm


@dataclass(frozen=True, slots=True)
class Match:
    """A remembered entry found in the upload."""

    text: str
    start: int  # first sample of the speech in the upload
    length: int  # samples
    confidence: float


async def find_speech(emulator: Emulator, pcm: bytes) -> Match | None:
    """The remembered speech the upload holds, newest first; None: no match."""
    samples = _samples(pcm)
    start, end = speech_bounds(samples)
    spoken = samples[start:end].tobytes() if sys.byteorder == "little" else None
    if spoken is None:  # pragma: no cover - big-endian hosts
        little = samples[start:end]
        little.byteswap()
        spoken = little.tobytes()
    upload_envelopes: tuple[list[float], list[int]] | None = None
    best: tuple[float, Match] | None = None
    best_exact: tuple[float, Match] | None = None
    for memory in reversed(emulator.remembered_speech):
        reference = _samples(await _reference_pcm(memory))
        ref_start, ref_end = speech_bounds(reference)
        if ref_end == ref_start:
            continue
        trimmed = reference[ref_start:ref_end]
        if sys.byteorder == "big":  # pragma: no cover
            trimmed.byteswap()
        needle = trimmed.tobytes()
        position = spoken.find(needle)
        while position != -1 and position % 2:
            position = spoken.find(needle, position + 1)
        coverage = len(trimmed) / max(1, end - start)
        if position != -1 and coverage >= MIN_COVERAGE:
            if best_exact is None or coverage > best_exact[0]:
                match = Match(memory.text, start + position // 2, len(trimmed), 0.95)
                best_exact = (coverage, match)
            continue
        if best_exact is not None:
            continue
        if upload_envelopes is None:
            upload_envelopes = _envelopes(samples[start:end])
        distance = _envelope_distance(upload_envelopes, _envelopes(trimmed))
        if distance <= MAX_ENVELOPE_DISTANCE and (best is None or distance < best[0]):
            confidence = round(0.95 - distance, 4)
            best = (distance, Match(memory.text, start, end - start, confidence))
    if best_exact is not None:
        return best_exact[1]
    return best[1] if best is not None else None


def apply_profanity(text: str, option: str) -> str:
    """masked: asterisks; removed: dropped; raw: unchanged (own word list)."""
    if option == "raw":
        return text

    def replace(match: re.Match[str]) -> str:
        word = match.group(0)
        if word.lower() not in PROFANE_WORDS:
            return word
        return "*" * len(word) if option == "masked" else ""

    result = re.sub(r"[^\W_]+(?:'[^\W_]+)?", replace, text)
    if option == "removed":
        result = re.sub(r"\s{2,}", " ", result).strip()
        result = re.sub(r"\s+([.,!?;:])", r"\1", result)
    return result


def lexical_form(text: str) -> str:
    """Lower case words without punctuation (apostrophes kept)."""
    words = re.findall(r"[^\W_]+(?:'[^\W_]+)*", text)
    return " ".join(words).lower()


async def recognize(
    emulator: Emulator, pcm: bytes, result_format: str, profanity: str
) -> dict[str, Any]:
    """The JSON result for the (already cut to 60 s) 16 kHz PCM."""
    samples = _samples(pcm)
    start, end = speech_bounds(samples)
    if end == start:
        return {
            "RecognitionStatus": "InitialSilenceTimeout",
            "Offset": len(samples) * TICKS_PER_SAMPLE,
            "Duration": 0,
        }
    match = await find_speech(emulator, pcm)
    if match is None:
        return {
            "RecognitionStatus": "NoMatch",
            "Offset": start * TICKS_PER_SAMPLE,
            "Duration": (end - start) * TICKS_PER_SAMPLE,
        }
    offset = match.start * TICKS_PER_SAMPLE
    duration = match.length * TICKS_PER_SAMPLE
    display = apply_profanity(match.text, profanity)
    if not re.search(r"[^\W_]", display):
        # REST: only profanity and profanity=removed: "the service does not
        # return a speech result".
        return {"RecognitionStatus": "NoMatch", "Offset": offset, "Duration": duration}
    if result_format == "simple":
        return {
            "RecognitionStatus": "Success",
            "DisplayText": display,
            "Offset": offset,
            "Duration": duration,
        }
    lexical = lexical_form(match.text)
    return {
        "RecognitionStatus": "Success",
        "Offset": offset,
        "Duration": duration,
        "NBest": [
            {
                "Confidence": match.confidence,
                "Lexical": lexical,
                "ITN": lexical,
                "MaskedITN": apply_profanity(lexical, profanity),
                "Display": display,
            }
        ],
    }
