"""Checks of the audio Home Assistant serves, shared by the end-to-end tests."""

from __future__ import annotations

import math
import shutil
import struct
import subprocess

from tests.emulator.audio import mp3_frames

#: Quieter than this is silence (the emulator's fallback frames), not speech.
SILENCE_DBFS = -40.0


def check_mp3(audio: bytes, *, shortest: float = 1.0, longest: float = 15.0) -> float:
    """Assert `audio` is an MP3 of plausible length (and audible); return seconds."""
    frames = mp3_frames(audio)
    assert frames, f"not MP3: {audio[:32]!r}"
    duration = sum(frame.samples for frame in frames) / frames[0].sample_rate
    # espeak-ng says a short message in a few seconds; the emulator's tone
    # lasts 60 ms per character. Either way neither a blip nor minutes.
    assert shortest < duration < longest, f"{duration:.2f} s of audio"
    if shutil.which("espeak-ng") and (ffmpeg := shutil.which("ffmpeg")):
        # Real speech, not the silent frames of the fallback.
        level = _pcm_dbfs(_decode(audio, ffmpeg))
        assert level > SILENCE_DBFS, f"the audio is silent ({level:.1f} dBFS)"
    return duration


def check_wav(audio: bytes, *, rate: int, channels: int, sample_bytes: int) -> float:
    """Assert `audio` is PCM WAV of exactly this format, audible; return seconds.

    Streamed WAV may carry placeholder sizes in its header, so the sizes are
    not checked: the PCM is whatever follows the data chunk's header.
    """
    pcm = wav_pcm(audio, rate=rate, channels=channels, sample_bytes=sample_bytes)
    duration = len(pcm) / (rate * channels * sample_bytes)
    assert 0.5 < duration < 15.0, f"{duration:.2f} s of audio"
    if shutil.which("espeak-ng") and sample_bytes == 2:
        level = _pcm_dbfs(pcm[: len(pcm) // 2 * 2])
        assert level > SILENCE_DBFS, f"the audio is silent ({level:.1f} dBFS)"
    return duration


def wav_pcm(audio: bytes, *, rate: int, channels: int, sample_bytes: int) -> bytes:
    """The PCM of a WAV file, asserting it is of exactly this format."""
    assert audio[:4] == b"RIFF", f"not WAV: {audio[:32]!r}"
    assert audio[8:12] == b"WAVE", f"not WAV: {audio[:32]!r}"
    offset, fmt, pcm = 12, None, None
    while offset + 8 <= len(audio):
        chunk_id = audio[offset : offset + 4]
        (size,) = struct.unpack_from("<I", audio, offset + 4)
        if chunk_id == b"fmt ":
            fmt = struct.unpack_from("<HHIIHH", audio, offset + 8)
        elif chunk_id == b"data":
            rest = audio[offset + 8 :]
            # A streamed file's size is a placeholder (0 or too large).
            pcm = rest[:size] if 0 < size <= len(rest) else rest
            break
        offset += 8 + size + (size & 1)
    assert fmt is not None, "no fmt chunk"
    assert pcm is not None, "no data chunk"
    code, got_channels, got_rate, _byte_rate, _align, bits = fmt
    assert (code, got_rate, got_channels, bits) == (
        1,
        rate,
        channels,
        8 * sample_bytes,
    ), f"WAV is format {code}, {got_rate} Hz, {got_channels} ch, {bits}-bit"
    return pcm


def _decode(audio: bytes, ffmpeg: str) -> bytes:
    """Any audio, decoded by ffmpeg to 16-bit mono PCM."""
    return subprocess.run(  # noqa: S603  # fixed program and arguments
        [
            *(ffmpeg, "-hide_banner", "-loglevel", "error", "-i", "pipe:0"),
            *("-f", "s16le", "-ac", "1", "pipe:1"),
        ],
        input=audio,
        capture_output=True,
        check=True,
    ).stdout


def _pcm_dbfs(pcm: bytes) -> float:
    """Loudness of 16-bit PCM in dB relative to full scale."""
    samples = memoryview(pcm).cast("h")
    if not len(samples):
        return -math.inf
    mean_square = sum(sample * sample for sample in samples) / len(samples)
    return 10 * math.log10(mean_square / 32768**2) if mean_square else -math.inf
