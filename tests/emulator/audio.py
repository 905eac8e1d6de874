"""Real, decodable audio in every output format the emulated services offer.

The emulator must answer with audio that a real decoder accepts, so that the
product's handling of each container is tested for real: WAV headers carry
exact sizes, MP3 streams are genuine MPEG frames, Opus and AMR-WB come from
committed clips (see make_fixtures.sh). Tests use the checkers at the bottom
(`is_valid_wav`, `wav_duration`, `mp3_frame_count`, `looks_like_ogg`, ...) to
inspect what the product received or produced.
"""

from __future__ import annotations

import array
import asyncio
from dataclasses import dataclass
import functools
import io
import math
from pathlib import Path
import shutil
import struct
import subprocess
import sys
import wave

FIXTURES_DIR = Path(__file__).parent / "fixtures"

# Azure truncates synthesized audio at ten minutes (REST API page, sample request).
MAX_DURATION_SECONDS = 600.0
MIN_DURATION_SECONDS = 0.1

WAVE_FORMAT_PCM = 1
WAVE_FORMAT_IEEE_FLOAT = 3
WAVE_FORMAT_ALAW = 6
WAVE_FORMAT_MULAW = 7
WAVE_FORMAT_EXTENSIBLE = 0xFFFE

TONE_FREQUENCY_HZ = 440
# About -21 dBFS: audible when a developer listens, never loud.
TONE_AMPLITUDE = 3000


@dataclass(frozen=True, slots=True)
class AudioFormat:
    """One value of X-Microsoft-OutputFormat and what it means."""

    name: str
    container: str  # riff | raw | mp3 | ogg | webm | opus | amr | silk
    codec: str  # pcm | alaw | mulaw | mp3 | opus | amrwb | silk
    sample_rate: int
    bitrate_kbps: int | None
    content_type: str


def _format(
    name: str, container: str, codec: str, rate: int, kbps: int | None = None
) -> AudioFormat:
    content_types = {
        "riff": "audio/x-wav",
        "mp3": "audio/mpeg",
        "ogg": "audio/ogg",
        "webm": "audio/webm",
        "amr": "audio/amr-wb",
    }
    return AudioFormat(
        name,
        container,
        codec,
        rate,
        kbps,
        content_types.get(container, "application/octet-stream"),
    )


OUTPUT_FORMATS: dict[str, AudioFormat] = {
    fmt.name: fmt
    for fmt in (
        _format("amr-wb-16000hz", "amr", "amrwb", 16000),
        _format("audio-16khz-16bit-32kbps-mono-opus", "opus", "opus", 16000, 32),
        _format("audio-16khz-32kbitrate-mono-mp3", "mp3", "mp3", 16000, 32),
        _format("audio-16khz-64kbitrate-mono-mp3", "mp3", "mp3", 16000, 64),
        _format("audio-16khz-128kbitrate-mono-mp3", "mp3", "mp3", 16000, 128),
        _format("audio-24khz-16bit-24kbps-mono-opus", "opus", "opus", 24000, 24),
        _format("audio-24khz-16bit-48kbps-mono-opus", "opus", "opus", 24000, 48),
        _format("audio-24khz-48kbitrate-mono-mp3", "mp3", "mp3", 24000, 48),
        _format("audio-24khz-96kbitrate-mono-mp3", "mp3", "mp3", 24000, 96),
        _format("audio-24khz-160kbitrate-mono-mp3", "mp3", "mp3", 24000, 160),
        _format("audio-48khz-96kbitrate-mono-mp3", "mp3", "mp3", 48000, 96),
        _format("audio-48khz-192kbitrate-mono-mp3", "mp3", "mp3", 48000, 192),
        _format("ogg-16khz-16bit-mono-opus", "ogg", "opus", 16000),
        _format("ogg-24khz-16bit-mono-opus", "ogg", "opus", 24000),
        _format("ogg-48khz-16bit-mono-opus", "ogg", "opus", 48000),
        _format("raw-8khz-8bit-mono-alaw", "raw", "alaw", 8000),
        _format("raw-8khz-8bit-mono-mulaw", "raw", "mulaw", 8000),
        _format("raw-8khz-16bit-mono-pcm", "raw", "pcm", 8000),
        _format("raw-16khz-16bit-mono-pcm", "raw", "pcm", 16000),
        _format("raw-16khz-16bit-mono-truesilk", "silk", "silk", 16000),
        _format("raw-22050hz-16bit-mono-pcm", "raw", "pcm", 22050),
        _format("raw-24khz-16bit-mono-pcm", "raw", "pcm", 24000),
        _format("raw-24khz-16bit-mono-truesilk", "silk", "silk", 24000),
        _format("raw-44100hz-16bit-mono-pcm", "raw", "pcm", 44100),
        _format("raw-48khz-16bit-mono-pcm", "raw", "pcm", 48000),
        _format("riff-8khz-8bit-mono-alaw", "riff", "alaw", 8000),
        _format("riff-8khz-8bit-mono-mulaw", "riff", "mulaw", 8000),
        _format("riff-8khz-16bit-mono-pcm", "riff", "pcm", 8000),
        _format("riff-16khz-16bit-mono-pcm", "riff", "pcm", 16000),
        _format("riff-22050hz-16bit-mono-pcm", "riff", "pcm", 22050),
        _format("riff-24khz-16bit-mono-pcm", "riff", "pcm", 24000),
        _format("riff-44100hz-16bit-mono-pcm", "riff", "pcm", 44100),
        _format("riff-48khz-16bit-mono-pcm", "riff", "pcm", 48000),
        _format("webm-16khz-16bit-mono-opus", "webm", "opus", 16000),
        _format("webm-24khz-16bit-24kbps-mono-opus", "webm", "opus", 24000, 24),
        _format("webm-24khz-16bit-mono-opus", "webm", "opus", 24000),
    )
}

# Clips for the formats whose encoders are not reasonable to write in Python.
# audio-*-opus is "Opus without container": the packets of the matching Ogg clip.
_FIXTURE_FILES: dict[str, str] = {
    "ogg-16khz-16bit-mono-opus": "ogg-16khz-16bit-mono-opus.ogg",
    "ogg-24khz-16bit-mono-opus": "ogg-24khz-16bit-mono-opus.ogg",
    "ogg-48khz-16bit-mono-opus": "ogg-48khz-16bit-mono-opus.ogg",
    "webm-16khz-16bit-mono-opus": "webm-16khz-16bit-mono-opus.webm",
    "webm-24khz-16bit-24kbps-mono-opus": "webm-24khz-16bit-24kbps-mono-opus.webm",
    "webm-24khz-16bit-mono-opus": "webm-24khz-16bit-mono-opus.webm",
    "audio-16khz-16bit-32kbps-mono-opus": "audio-16khz-16bit-32kbps-mono-opus.ogg",
    "audio-24khz-16bit-24kbps-mono-opus": "audio-24khz-16bit-24kbps-mono-opus.ogg",
    "audio-24khz-16bit-48kbps-mono-opus": "audio-24khz-16bit-48kbps-mono-opus.ogg",
}


def find_output_format(name: str | None) -> AudioFormat | None:
    """Return the format for an X-Microsoft-OutputFormat value (any case)."""
    if name is None:
        return None
    return OUTPUT_FORMATS.get(name.strip().lower())


def speech_duration(text: str, ms_per_character: float) -> float:
    """Seconds of audio the emulator speaks for `text`."""
    seconds = len(text) * ms_per_character / 1000.0
    return min(MAX_DURATION_SECONDS, max(MIN_DURATION_SECONDS, seconds))


# --- PCM and G.711 ---------------------------------------------------------


@functools.cache
def _tone_second(sample_rate: int) -> bytes:
    """One second of the tone; an integral frequency makes seconds tile seamlessly."""
    step = 2 * math.pi * TONE_FREQUENCY_HZ / sample_rate
    samples = array.array(
        "h", (round(TONE_AMPLITUDE * math.sin(step * n)) for n in range(sample_rate))
    )
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()


def pcm16_tone(sample_count: int, sample_rate: int) -> bytes:
    """Little-endian 16-bit mono PCM of the quiet tone."""
    second = _tone_second(sample_rate)
    whole, part = divmod(sample_count, sample_rate)
    return second * whole + second[: part * 2]


def _linear_to_alaw(sample: int) -> int:
    """G.711 A-law encoding of one 16-bit sample."""
    value = sample >> 3  # A-law works on 13 bits
    sign = 0x80 if value >= 0 else 0x00
    magnitude = min(value if value >= 0 else -value - 1, 0xFFF)
    if magnitude < 32:
        code = magnitude >> 1
    else:
        exponent = magnitude.bit_length() - 5
        code = (exponent << 4) | ((magnitude >> exponent) & 0x0F)
    return (code | sign) ^ 0x55


def _linear_to_mulaw(sample: int) -> int:
    """G.711 mu-law encoding of one 16-bit sample."""
    bias, clip = 0x84, 32635
    sign = 0x80 if sample < 0 else 0x00
    magnitude = min(abs(sample), clip) + bias
    exponent = magnitude.bit_length() - 8
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def _companded(pcm: bytes, codec: str) -> bytes:
    encode = _linear_to_alaw if codec == "alaw" else _linear_to_mulaw
    samples = array.array("h")
    samples.frombytes(pcm)
    if sys.byteorder == "big":
        samples.byteswap()
    return bytes(encode(sample) for sample in samples)


@functools.cache
def _companded_tone_second(codec: str, sample_rate: int) -> bytes:
    return _companded(_tone_second(sample_rate), codec)


def _companded_tone(codec: str, sample_count: int, sample_rate: int) -> bytes:
    second = _companded_tone_second(codec, sample_rate)
    whole, part = divmod(sample_count, sample_rate)
    return second * whole + second[:part]


def wav_container(payload: bytes, sample_rate: int, *, codec: str = "pcm") -> bytes:
    """Wrap mono samples in a RIFF/WAVE header whose sizes are exact."""
    if codec == "pcm":
        fmt_chunk = struct.pack(
            "<HHIIHH", WAVE_FORMAT_PCM, 1, sample_rate, sample_rate * 2, 2, 16
        )
        extra_chunks = b""
    else:
        # Non-PCM WAVE needs cbSize and a fact chunk holding the sample count.
        format_code = WAVE_FORMAT_ALAW if codec == "alaw" else WAVE_FORMAT_MULAW
        fmt_chunk = struct.pack(
            "<HHIIHHH", format_code, 1, sample_rate, sample_rate, 1, 8, 0
        )
        extra_chunks = b"fact" + struct.pack("<II", 4, len(payload))
    pad = b"\x00" if len(payload) % 2 else b""
    body = (
        b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt_chunk))
        + fmt_chunk
        + extra_chunks
        + b"data"
        + struct.pack("<I", len(payload))
        + payload
        + pad
    )
    return b"RIFF" + struct.pack("<I", len(body)) + body


# --- MP3 ---------------------------------------------------------------------

_MP3_V1_L3_KBPS = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_MP3_V2_L3_KBPS = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
# version bits -> sample rates by index; 0b01 is reserved.
_MP3_RATES = {
    0b11: (44100, 48000, 32000),
    0b10: (22050, 24000, 16000),
    0b00: (11025, 12000, 8000),
}


@dataclass(frozen=True, slots=True)
class Mp3FrameHeader:
    """The fields of one MPEG-1/2/2.5 Layer III frame header that matter here."""

    version_bits: int
    sample_rate: int
    bitrate_kbps: int
    mono: bool
    length: int
    samples: int


def parse_mp3_frame_header(header: bytes) -> Mp3FrameHeader | None:
    """Decode a 4-byte Layer III frame header, or None if it is not one."""
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return None
    version_bits = (header[1] >> 3) & 0b11
    layer_bits = (header[1] >> 1) & 0b11
    bitrate_index = header[2] >> 4
    rate_index = (header[2] >> 2) & 0b11
    if (
        version_bits == 0b01
        or layer_bits != 0b01
        or bitrate_index in (0, 15)
        or rate_index == 3
    ):
        return None
    padding = (header[2] >> 1) & 1
    sample_rate = _MP3_RATES[version_bits][rate_index]
    mpeg1 = version_bits == 0b11
    kbps = (_MP3_V1_L3_KBPS if mpeg1 else _MP3_V2_L3_KBPS)[bitrate_index]
    samples = 1152 if mpeg1 else 576
    length = samples // 8 * kbps * 1000 // sample_rate + padding
    return Mp3FrameHeader(
        version_bits, sample_rate, kbps, header[3] >> 6 == 0b11, length, samples
    )


@functools.cache
def mp3_silent_frame(sample_rate: int, bitrate_kbps: int) -> bytes:
    """One mono Layer III frame that decodes to silence.

    The side information is all zeros: no bit reservoir (main_data_begin 0) and
    no coded values, so every copy of the frame decodes on its own and frames
    can simply be repeated.
    """
    versions = [bits for bits, rates in _MP3_RATES.items() if sample_rate in rates]
    if not versions:
        raise ValueError(f"MPEG audio has no {sample_rate} Hz")
    version_bits = versions[0]
    rate_index = _MP3_RATES[version_bits].index(sample_rate)
    mpeg1 = version_bits == 0b11
    bitrate_index = (_MP3_V1_L3_KBPS if mpeg1 else _MP3_V2_L3_KBPS).index(bitrate_kbps)
    header = bytes(
        (
            0xFF,
            0xE0 | version_bits << 3 | 0b01 << 1 | 1,  # Layer III, no CRC
            bitrate_index << 4 | rate_index << 2,  # no padding
            0b11 << 6,  # mono, no emphasis
        )
    )
    parsed = parse_mp3_frame_header(header)
    assert parsed is not None
    if (parsed.samples // 8 * bitrate_kbps * 1000) % sample_rate:
        raise ValueError("bit rate needs padding slots at this sample rate")
    return header + bytes(parsed.length - len(header))


def mp3_stream(duration: float, sample_rate: int, bitrate_kbps: int) -> bytes:
    """Enough silent frames to cover `duration` seconds."""
    frame = mp3_silent_frame(sample_rate, bitrate_kbps)
    samples_per_frame = 1152 if sample_rate >= 32000 else 576
    return frame * max(1, math.ceil(duration * sample_rate / samples_per_frame))


# --- AMR-WB, SILK, Opus clips ------------------------------------------------

AMR_WB_MAGIC = b"#!AMR-WB\n"
# Mode 0 (6.60 kbit/s) speech frame: TOC byte FT=0 Q=1, then 132 bits of
# parameters. All-zero parameters are valid and decode to near silence.
_AMR_WB_FRAME = b"\x04" + bytes(17)


def amr_wb_stream(duration: float) -> bytes:
    """AMR-WB storage format (RFC 4867 section 5), one frame per 20 ms."""
    return AMR_WB_MAGIC + _AMR_WB_FRAME * max(1, math.ceil(duration / 0.02))


@functools.cache
def fixture_clip(output_format: str) -> bytes:
    """The committed clip for a format encoded by ffmpeg (see make_fixtures.sh)."""
    data = (FIXTURES_DIR / _FIXTURE_FILES[output_format]).read_bytes()
    if output_format.startswith("audio-"):
        # "Opus without container": the Opus packets, headers dropped.
        return b"".join(
            packet
            for packet in ogg_packets(data)
            if not packet.startswith((b"OpusHead", b"OpusTags"))
        )
    return data


def ogg_packets(data: bytes) -> list[bytes]:
    """Split an Ogg stream into its packets (single logical stream)."""
    packets: list[bytes] = []
    partial = b""
    offset = 0
    while offset + 27 <= len(data) and data[offset : offset + 4] == b"OggS":
        segment_count = data[offset + 26]
        table = data[offset + 27 : offset + 27 + segment_count]
        offset += 27 + segment_count
        for lacing in table:
            partial += data[offset : offset + lacing]
            offset += lacing
            if lacing < 255:
                packets.append(partial)
                partial = b""
    return packets


# --- synthesis ---------------------------------------------------------------


def _encode(pcm: bytes | None, fmt: AudioFormat, duration: float) -> bytes:
    """Encode PCM at fmt.sample_rate (a tone when None) into `fmt`."""
    sample_count = round(duration * fmt.sample_rate)
    if fmt.codec == "pcm":
        payload = pcm if pcm is not None else pcm16_tone(sample_count, fmt.sample_rate)
        return (
            wav_container(payload, fmt.sample_rate)
            if fmt.container == "riff"
            else payload
        )
    if fmt.codec in ("alaw", "mulaw"):
        if pcm is not None:
            payload = _companded(pcm, fmt.codec)
        else:
            payload = _companded_tone(fmt.codec, sample_count, fmt.sample_rate)
        return (
            wav_container(payload, fmt.sample_rate, codec=fmt.codec)
            if fmt.container == "riff"
            else payload
        )
    if fmt.codec == "mp3":
        assert fmt.bitrate_kbps is not None
        return mp3_stream(duration, fmt.sample_rate, fmt.bitrate_kbps)
    if fmt.codec == "amrwb":
        return amr_wb_stream(duration)
    if fmt.codec == "silk":
        # Nothing decodes TrueSilk outside Microsoft; any bytes of about the
        # right size (16 kbit/s) will do.
        return bytes(range(256)) * max(1, round(duration * 2000 / 256))
    return fixture_clip(fmt.name)


def synthesize_audio(
    text: str,
    output_format: str,
    speak: bool = False,
    *,
    ms_per_character: float = 60.0,
) -> bytes:
    """Audio for `text` in `output_format` (an X-Microsoft-OutputFormat value).

    By default a deterministic tone lasting max(100 ms, ms_per_character per
    character). With speak=True and espeak-ng on PATH, PCM-based formats carry
    real speech instead (for a developer listening through the standalone
    emulator); other formats fall back to the tone.
    """
    fmt = find_output_format(output_format)
    if fmt is None:
        raise ValueError(f"unknown output format {output_format!r}")
    duration = speech_duration(text, ms_per_character)
    if (
        speak
        and fmt.codec in ("pcm", "alaw", "mulaw")
        and (espeak := shutil.which("espeak-ng"))
    ):
        result = subprocess.run(  # noqa: S603  # fixed program, text is one argument
            [espeak, "--stdout", "--", text], capture_output=True, check=False
        )
        if result.returncode == 0:
            return _encode_speech(result.stdout, fmt)
    return _encode(None, fmt, duration)


async def synthesize_audio_async(
    text: str,
    output_format: str,
    speak: bool = False,
    *,
    ms_per_character: float = 60.0,
) -> bytes:
    """synthesize_audio for the event loop: espeak-ng runs as a subprocess.

    With speak=True, MP3 and Ogg/WebM Opus carry real speech too when ffmpeg
    is on PATH (it encodes espeak-ng's WAV), so a developer hears the words in
    the formats Home Assistant asks for by default.
    """
    fmt = find_output_format(output_format)
    if fmt is None:
        raise ValueError(f"unknown output format {output_format!r}")
    pcm = fmt.codec in ("pcm", "alaw", "mulaw")
    encoder = None if pcm else _ffmpeg_encoder(fmt)
    if speak and (pcm or encoder) and (espeak := shutil.which("espeak-ng")):
        process = await asyncio.create_subprocess_exec(
            espeak,
            "--stdout",
            "--",
            text,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        speech, _ = await process.communicate()
        if process.returncode == 0:
            if encoder is None:
                return _encode_speech(speech, fmt)
            process = await asyncio.create_subprocess_exec(
                *encoder,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,
            )
            encoded, _ = await process.communicate(speech)
            if process.returncode == 0 and encoded:
                return encoded
    return synthesize_audio(text, output_format, ms_per_character=ms_per_character)


def _ffmpeg_encoder(fmt: AudioFormat) -> list[str] | None:
    """An ffmpeg command turning a WAV on stdin into `fmt` on stdout, if it can."""
    if fmt.codec == "mp3":
        options = ["-c:a", "libmp3lame", "-b:a", f"{fmt.bitrate_kbps}k", "-f", "mp3"]
        # Bare frames, as Azure sends them: no ID3 tag, no Xing header.
        options += ["-id3v2_version", "0", "-write_xing", "0"]
    elif fmt.codec == "opus" and fmt.container in ("ogg", "webm"):
        options = ["-c:a", "libopus", "-f", fmt.container]
    else:
        return None
    if (ffmpeg := shutil.which("ffmpeg")) is None:
        return None
    return [
        ffmpeg,
        *("-hide_banner", "-loglevel", "error", "-i", "pipe:0"),
        *("-ac", "1", "-ar", str(fmt.sample_rate), *options, "pipe:1"),
    ]


def _encode_speech(espeak_wav: bytes, fmt: AudioFormat) -> bytes:
    """Resample espeak-ng's 16-bit mono WAV (22050 Hz) to fmt and encode it."""
    with wave.open(io.BytesIO(espeak_wav)) as reader:
        source_rate = reader.getframerate()
        frames = reader.readframes(reader.getnframes())
    source = array.array("h")
    source.frombytes(frames)
    if sys.byteorder == "big":
        source.byteswap()
    # Real speech is truncated at ten minutes too, like the tone.
    del source[round(MAX_DURATION_SECONDS * source_rate) :]
    target_count = max(1, len(source) * fmt.sample_rate // source_rate)
    ratio = source_rate / fmt.sample_rate
    last = len(source) - 1
    resampled = array.array("h")
    for index in range(target_count):  # linear interpolation is plenty for a preview
        position = index * ratio
        left = min(int(position), last)
        right = min(left + 1, last)
        fraction = position - left
        resampled.append(
            round(source[left] * (1 - fraction) + source[right] * fraction)
        )
    if sys.byteorder == "big":
        resampled.byteswap()
    return _encode(resampled.tobytes(), fmt, target_count / fmt.sample_rate)


# --- checkers for tests ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WavInfo:
    """What a RIFF/WAVE header says about its audio."""

    format_code: int
    channels: int
    sample_rate: int
    bits_per_sample: int
    block_align: int
    data_size: int

    @property
    def frame_count(self) -> int:
        """Number of sample frames in the data chunk."""
        return self.data_size // self.block_align

    @property
    def duration(self) -> float:
        """Length of the audio in seconds."""
        return self.frame_count / self.sample_rate


def wav_info(data: bytes) -> WavInfo | None:
    """Parse a complete WAV file; None unless every size in it is consistent."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    riff_size = struct.unpack_from("<I", data, 4)[0]
    if riff_size + 8 != len(data):
        return None
    offset = 12
    fmt: tuple[int, int, int, int, int, int] | None = None
    while offset + 8 <= len(data):
        chunk_id = data[offset : offset + 4]
        (chunk_size,) = struct.unpack_from("<I", data, offset + 4)
        start = offset + 8
        end = start + chunk_size
        if end > len(data):
            return None
        if chunk_id == b"fmt " and chunk_size >= 16:
            fmt = struct.unpack_from("<HHIIHH", data, start)
        elif chunk_id == b"data":
            if fmt is None:
                return None
            format_code, channels, rate, byte_rate, block_align, bits = fmt
            if (
                format_code
                not in (
                    WAVE_FORMAT_PCM,
                    WAVE_FORMAT_IEEE_FLOAT,
                    WAVE_FORMAT_ALAW,
                    WAVE_FORMAT_MULAW,
                    WAVE_FORMAT_EXTENSIBLE,
                )
                or channels < 1
                or rate < 1
                or block_align != channels * ((bits + 7) // 8)
                or byte_rate != rate * block_align
                or chunk_size % block_align
            ):
                return None
            return WavInfo(format_code, channels, rate, bits, block_align, chunk_size)
        offset = end + (chunk_size & 1)
    return None


def is_valid_wav(data: bytes) -> bool:
    """True for a complete, self-consistent WAV file (PCM, float, A-law, mu-law)."""
    return wav_info(data) is not None


def wav_duration(data: bytes) -> float:
    """Seconds of audio in a WAV file; ValueError if it is not a valid one."""
    info = wav_info(data)
    if info is None:
        raise ValueError("not a valid WAV file")
    return info.duration


def _id3v2_size(data: bytes, offset: int) -> int:
    """Length of an ID3v2 tag at offset (0 if there is none)."""
    header = data[offset : offset + 10]
    if (
        len(header) < 10
        or header[:3] != b"ID3"
        or any(byte & 0x80 for byte in header[6:10])
    ):
        return 0
    size = 0
    for byte in header[6:10]:  # syncsafe integer
        size = size << 7 | byte
    footer = 10 if header[5] & 0x10 else 0
    return 10 + size + footer


def mp3_frames(data: bytes) -> list[Mp3FrameHeader]:
    """The Layer III frames of an MP3 stream, in order.

    Skips ID3v2 tags (also between concatenated streams) and a trailing ID3v1
    tag. A frame counts only when the next frame (or the end of data) follows
    exactly where its length says, so noise that happens to contain a sync
    word is not mistaken for audio. A truncated last frame is not counted.
    """
    frames: list[Mp3FrameHeader] = []
    offset = 0
    while offset + 4 <= len(data):
        if tag := _id3v2_size(data, offset):
            offset += tag
            continue
        if data[offset : offset + 3] == b"TAG" and len(data) - offset == 128:
            break
        header = parse_mp3_frame_header(data[offset : offset + 4])
        if header is not None:
            following = offset + header.length
            if following == len(data) or (
                following < len(data)
                and (
                    parse_mp3_frame_header(data[following : following + 4]) is not None
                    or data[following : following + 3] in (b"ID3", b"TAG")
                )
            ):
                frames.append(header)
                offset = following
                continue
        offset += 1
    return frames


def mp3_frame_count(data: bytes) -> int:
    """Number of complete MPEG Layer III frames; 0 for anything else."""
    return len(mp3_frames(data))


def looks_like_ogg(data: bytes) -> bool:
    """True when data starts with an Ogg page."""
    return len(data) >= 27 and data[:4] == b"OggS" and data[4] == 0


def looks_like_webm(data: bytes) -> bool:
    """True when data starts with an EBML header (Matroska/WebM)."""
    return data[:4] == b"\x1a\x45\xdf\xa3"


def looks_like_amr_wb(data: bytes) -> bool:
    """True for AMR-WB storage format."""
    return data.startswith(AMR_WB_MAGIC)
