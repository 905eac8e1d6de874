"""Joining WAV responses into one streamed WAV.

Azure streams raw PCM on request, but Convai answers each request with a
complete WAV file. To play several responses as one stream, the first
response's header is replaced by a streaming header (sizes "until the end",
see `formats.wav_header`) and every response contributes only its samples.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, Callable
from dataclasses import dataclass
import struct
from typing import Final

from .errors import SpeechResponseError
from .formats import UNKNOWN_WAV_SIZE, wav_header

WAVE_FORMAT_PCM: Final = 0x0001
WAVE_FORMAT_EXTENSIBLE: Final = 0xFFFE
#: A header (every chunk before the samples) larger than this is refused
#: rather than buffered: real files put at most some metadata there.
MAX_WAV_HEADER_SIZE: Final = 1024 * 1024

_RIFF_HEADER_SIZE: Final = 12  # "RIFF", size, "WAVE"
_CHUNK_HEADER_SIZE: Final = 8  # id, size
_MIN_FMT_SIZE: Final = 16
_EXTENSIBLE_FMT_SIZE: Final = 40
# KSDATAFORMAT_SUBTYPE_* GUIDs are a 16-bit format tag followed by these bytes.
_SUBTYPE_GUID_TAIL: Final = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
_HEADER_BITS: Final = (8, 16, 24, 32)  # what `formats.wav_header` can describe


@dataclass(frozen=True, slots=True)
class WavInfo:
    """What a WAV header says about its samples.

    Attributes:
        format_tag: The encoding (1 is PCM). For ``WAVE_FORMAT_EXTENSIBLE``
            files, the tag of the subformat when it is a standard one.
        channels: Interleaved channels.
        sample_rate: Frames per second.
        bits_per_sample: Bits of one sample.
        data_offset: Where the samples (the data chunk's payload) start.
        data_size: The data chunk's declared size; None when the header does
            not know it (0 or ``0xFFFFFFFF``, as streaming writers put it):
            the samples then last until the end of the file.

    """

    format_tag: int
    channels: int
    sample_rate: int
    bits_per_sample: int
    data_offset: int
    data_size: int | None

    @property
    def block_align(self) -> int:
        """Bytes of one frame: a sample of every channel."""
        return self.channels * ((self.bits_per_sample + 7) // 8)

    def same_format(self, other: WavInfo) -> bool:
        """Whether samples of `other` can follow ours in one stream."""
        return (
            self.format_tag,
            self.channels,
            self.sample_rate,
            self.bits_per_sample,
        ) == (
            other.format_tag,
            other.channels,
            other.sample_rate,
            other.bits_per_sample,
        )

    def describe(self) -> str:
        """Describe the format for messages: ``24000 Hz, 16 bit, 1 channel(s)``."""
        return (
            f"{self.sample_rate} Hz, {self.bits_per_sample} bit, "
            f"{self.channels} channel(s), format {self.format_tag:#06x}"
        )


def parse_wav_header(data: bytes) -> WavInfo | None:
    """Parse the header at the start of a WAV file, up to its samples.

    Walks the RIFF chunks (``fmt``, ``LIST``, ``fact``, ``JUNK`` …) to the
    ``data`` chunk. The sizes in the RIFF header itself are not checked:
    streaming writers put "unknown" there.

    Args:
        data: The first bytes of the file; more than the header is fine.

    Returns:
        The header's description, or None when `data` ends before the data
        chunk's header does (feed more bytes).

    Raises:
        SpeechResponseError: `data` is not the start of a WAV file, its
            ``fmt`` chunk is malformed, or its header exceeds
            `MAX_WAV_HEADER_SIZE`.

    """
    if not _prefix_matches(data, 0, b"RIFF") or not _prefix_matches(data, 8, b"WAVE"):
        raise SpeechResponseError("The audio is not a WAV file")
    offset = _RIFF_HEADER_SIZE
    fmt: tuple[int, int, int, int] | None = None
    while offset + _CHUNK_HEADER_SIZE <= len(data):
        chunk_id = data[offset : offset + 4]
        (size,) = struct.unpack_from("<I", data, offset + 4)
        start = offset + _CHUNK_HEADER_SIZE
        if not all(0x20 <= byte <= 0x7E for byte in chunk_id):
            raise SpeechResponseError("The WAV file has a malformed chunk")
        if chunk_id == b"data":
            if fmt is None:
                raise SpeechResponseError("The WAV file has samples before its format")
            format_tag, channels, sample_rate, bits = fmt
            return WavInfo(
                format_tag=format_tag,
                channels=channels,
                sample_rate=sample_rate,
                bits_per_sample=bits,
                data_offset=start,
                data_size=None if size in (0, UNKNOWN_WAV_SIZE) else size,
            )
        end = start + size + (size & 1)  # chunks are padded to even sizes
        if end > MAX_WAV_HEADER_SIZE:
            raise SpeechResponseError(
                f"The WAV header is larger than {MAX_WAV_HEADER_SIZE} bytes"
            )
        if end > len(data):
            return None
        if chunk_id == b"fmt " and fmt is None:
            fmt = _parse_fmt(data[start : start + size])
        offset = end
    return None


def _prefix_matches(data: bytes, offset: int, expected: bytes) -> bool:
    """Whether `data` has `expected` at `offset`, as far as `data` goes."""
    present = data[offset : offset + len(expected)]
    return expected.startswith(present)


def _parse_fmt(chunk: bytes) -> tuple[int, int, int, int]:
    """Format tag, channels, sample rate and bits per sample of a fmt chunk."""
    if len(chunk) < _MIN_FMT_SIZE:
        raise SpeechResponseError("The WAV file's format chunk is too short")
    format_tag, channels, sample_rate, _, _, bits = struct.unpack_from("<HHIIHH", chunk)
    if channels < 1 or sample_rate < 1 or bits < 1:
        raise SpeechResponseError("The WAV file's format chunk is malformed")
    if (
        format_tag == WAVE_FORMAT_EXTENSIBLE
        and len(chunk) >= _EXTENSIBLE_FMT_SIZE
        and chunk[26:40] == _SUBTYPE_GUID_TAIL
    ):
        (format_tag,) = struct.unpack_from("<H", chunk, 24)
    return format_tag, channels, sample_rate, bits


class _Response:
    """One WAV response: its header is stripped, its whole frames let through."""

    def __init__(self, check: Callable[[WavInfo], None]) -> None:
        self._check = check
        self._header = bytearray()  # bytes before the samples, while parsing
        self._info: WavInfo | None = None
        self._remaining: int | None = None  # sample bytes still to come, if known
        self._partial = b""  # the start of a frame not complete yet

    def feed(self, chunk: bytes) -> bytes:
        """Return the part of `chunk` that belongs in the joined stream."""
        if self._info is None:
            self._header += chunk
            info = parse_wav_header(bytes(self._header))
            if info is None:
                return b""
            self._check(info)
            self._info = info
            self._remaining = info.data_size
            chunk = bytes(self._header[info.data_offset :])
            self._header.clear()
        if self._remaining is not None:
            # Whatever follows the data chunk (metadata) is not sound.
            chunk = chunk[: self._remaining]
            self._remaining -= len(chunk)
        samples = self._partial + chunk
        cut = len(samples) - len(samples) % self._info.block_align
        self._partial = samples[cut:]
        return samples[:cut]

    def finish(self) -> None:
        """Check that the response reached its samples; drop a partial frame."""
        if self._info is None:
            raise SpeechResponseError("The WAV audio ended before its samples")


class WavJoiner:
    """Turns the WAV responses of several requests into one WAV stream.

    Wrap each response's chunks with `response`, in playback order; the
    wrapped responses may then be read concurrently (a synthesis pipeline),
    and `stream` puts one streaming header before their samples. The first
    format parsed decides the stream's; every response must have it. Only
    whole frames are passed on: a response ending in the middle of one loses
    that fragment rather than shifting every later sample.
    """

    def __init__(self) -> None:
        """Start with no response seen."""
        self._format: WavInfo | None = None  # the first format parsed

    async def stream(self, audio: AsyncIterable[bytes]) -> AsyncGenerator[bytes]:
        """Consumer side of `response`: the streaming header, then `audio` as is."""
        sent = False
        async for chunk in audio:
            if not sent and (info := self._format) is not None:
                yield wav_header(info.sample_rate, info.bits_per_sample, info.channels)
                sent = True
            yield chunk

    def response(self, chunks: AsyncIterable[bytes]) -> AsyncGenerator[bytes]:
        """Wrap one response's chunks: only their whole frames of samples come out.

        Raises:
            SpeechResponseError: While iterating: the response is not a WAV
                file, its format differs from the first one parsed, or it
                ended before its samples.

        """
        # The header goes out with `stream`, never with a response: a dropped
        # response (a wrong guess of the pipeline) would take it along.
        return self._read(_Response(self._check), chunks)

    async def _read(
        self, response: _Response, chunks: AsyncIterable[bytes]
    ) -> AsyncGenerator[bytes]:
        async for chunk in chunks:
            if data := response.feed(chunk):
                yield data
        response.finish()

    def _check(self, info: WavInfo) -> None:
        """Check that a response's samples can be joined to the others'.

        The first format parsed is the reference: every response must match
        it, so all of them match the first response's, whichever arrives first.
        """
        if self._format is None:
            if info.format_tag != WAVE_FORMAT_PCM or (
                info.bits_per_sample not in _HEADER_BITS
            ):
                raise SpeechResponseError(
                    f"WAV audio in this format cannot be streamed: {info.describe()}"
                )
            self._format = info
        elif not info.same_format(self._format):
            raise SpeechResponseError(
                "The WAV responses differ in format: "
                f"{self._format.describe()}, then {info.describe()}"
            )
