"""The output format catalog, and choosing the format a caller can use as is."""

from __future__ import annotations

import io
import struct
import wave

import pytest

from custom_components.cloud_speech.const import OUTPUT_FORMATS
from custom_components.cloud_speech.speech.errors import InvalidRequestError
from custom_components.cloud_speech.speech.formats import (
    FORMATS,
    choose_format,
    get_format,
    streaming_variant,
    wav_header,
)
from custom_components.cloud_speech.speech.models import AudioFormat, Codec, Container

# The "Audio outputs" list of the text to speech REST API reference, as is.
DOCUMENTED_STREAMING_FORMATS = {
    "amr-wb-16000hz": (16000, Container.AMR),
    "audio-16khz-16bit-32kbps-mono-opus": (16000, Container.RAW),
    "audio-16khz-32kbitrate-mono-mp3": (16000, Container.MP3),
    "audio-16khz-64kbitrate-mono-mp3": (16000, Container.MP3),
    "audio-16khz-128kbitrate-mono-mp3": (16000, Container.MP3),
    "audio-24khz-16bit-24kbps-mono-opus": (24000, Container.RAW),
    "audio-24khz-16bit-48kbps-mono-opus": (24000, Container.RAW),
    "audio-24khz-48kbitrate-mono-mp3": (24000, Container.MP3),
    "audio-24khz-96kbitrate-mono-mp3": (24000, Container.MP3),
    "audio-24khz-160kbitrate-mono-mp3": (24000, Container.MP3),
    "audio-48khz-96kbitrate-mono-mp3": (48000, Container.MP3),
    "audio-48khz-192kbitrate-mono-mp3": (48000, Container.MP3),
    "ogg-16khz-16bit-mono-opus": (16000, Container.OGG),
    "ogg-24khz-16bit-mono-opus": (24000, Container.OGG),
    "ogg-48khz-16bit-mono-opus": (48000, Container.OGG),
    "raw-8khz-8bit-mono-alaw": (8000, Container.RAW),
    "raw-8khz-8bit-mono-mulaw": (8000, Container.RAW),
    "raw-8khz-16bit-mono-pcm": (8000, Container.RAW),
    "raw-16khz-16bit-mono-pcm": (16000, Container.RAW),
    "raw-16khz-16bit-mono-truesilk": (16000, Container.RAW),
    "raw-22050hz-16bit-mono-pcm": (22050, Container.RAW),
    "raw-24khz-16bit-mono-pcm": (24000, Container.RAW),
    "raw-24khz-16bit-mono-truesilk": (24000, Container.RAW),
    "raw-44100hz-16bit-mono-pcm": (44100, Container.RAW),
    "raw-48khz-16bit-mono-pcm": (48000, Container.RAW),
    "webm-16khz-16bit-mono-opus": (16000, Container.WEBM),
    "webm-24khz-16bit-24kbps-mono-opus": (24000, Container.WEBM),
    "webm-24khz-16bit-mono-opus": (24000, Container.WEBM),
}
DOCUMENTED_WAV_FORMATS = {
    "riff-8khz-8bit-mono-alaw": (8000, Codec.ALAW, 8),
    "riff-8khz-8bit-mono-mulaw": (8000, Codec.MULAW, 8),
    "riff-8khz-16bit-mono-pcm": (8000, Codec.PCM, 16),
    "riff-16khz-16bit-mono-pcm": (16000, Codec.PCM, 16),
    "riff-22050hz-16bit-mono-pcm": (22050, Codec.PCM, 16),
    "riff-24khz-16bit-mono-pcm": (24000, Codec.PCM, 16),
    "riff-44100hz-16bit-mono-pcm": (44100, Codec.PCM, 16),
    "riff-48khz-16bit-mono-pcm": (48000, Codec.PCM, 16),
}
EXTENSIONS = {
    (Container.RIFF, Codec.PCM): "wav",
    (Container.RIFF, Codec.ALAW): "wav",
    (Container.RIFF, Codec.MULAW): "wav",
    (Container.RAW, Codec.PCM): "pcm",
    (Container.RAW, Codec.ALAW): "alaw",
    (Container.RAW, Codec.MULAW): "mulaw",
    (Container.RAW, Codec.SILK): "silk",
    (Container.RAW, Codec.OPUS): "opus",
    (Container.MP3, Codec.MP3): "mp3",
    (Container.OGG, Codec.OPUS): "ogg",
    (Container.WEBM, Codec.OPUS): "webm",
    (Container.AMR, Codec.AMR_WB): "amr",
}
NAME_PREFIXES = {
    Container.RIFF: ("riff-",),
    Container.RAW: ("raw-", "audio-"),
    Container.MP3: ("audio-",),
    Container.OGG: ("ogg-",),
    Container.WEBM: ("webm-",),
    Container.AMR: ("amr-",),
}


# --- catalog ------------------------------------------------------------------


# What Home Assistant can ask for: the options flow's formats, and a call's
# preferred format and sample rate (any rate HA could pass is tried).
PREFERRED_EXTENSIONS = ("wav", "pcm", "raw", "mp3", "ogg", "opus")
PREFERRED_RATES = (None, 8000, 16000, 22050, 24000, 44100, 48000)


def reachable_formats() -> set[str]:
    chosen = {
        audio_format
        for extension in PREFERRED_EXTENSIONS
        for rate in PREFERRED_RATES
        if (audio_format := choose_format(extension, rate)) is not None
    } | {FORMATS[name] for name in OUTPUT_FORMATS}
    # A WAV format is asked of the service as its headerless twin.
    return {f.name for f in chosen} | {streaming_variant(f).name for f in chosen}


def test_the_catalog_holds_exactly_the_formats_home_assistant_can_reach() -> None:
    assert set(FORMATS) == reachable_formats()


@pytest.mark.parametrize("audio_format", FORMATS.values(), ids=lambda f: f.name)
def test_every_catalog_format_is_documented_as_the_service_lists_it(
    audio_format: AudioFormat,
) -> None:
    if audio_format.container is Container.RIFF:
        assert DOCUMENTED_WAV_FORMATS[audio_format.name] == (
            audio_format.sample_rate,
            audio_format.codec,
            audio_format.bits_per_sample,
        )
        assert audio_format.extension == "wav"
    else:
        assert DOCUMENTED_STREAMING_FORMATS[audio_format.name] == (
            audio_format.sample_rate,
            audio_format.container,
        )


@pytest.mark.parametrize("audio_format", FORMATS.values(), ids=lambda f: f.name)
def test_catalog_entries_agree_with_their_names(audio_format: AudioFormat) -> None:
    name = audio_format.name
    rate = audio_format.sample_rate

    assert name.startswith(NAME_PREFIXES[audio_format.container])
    assert f"-{rate // 1000}khz-" in name or f"-{rate}hz" in name
    assert (
        audio_format.extension == EXTENSIONS[audio_format.container, audio_format.codec]
    )
    assert audio_format.channels == 1
    assert (f"-{audio_format.bits_per_sample}bit-" in name) == (
        audio_format.bits_per_sample is not None
    )
    assert (f"-{audio_format.bitrate_kbps}kb" in name) == (
        audio_format.bitrate_kbps is not None
    )


def test_only_headerless_and_mp3_formats_concatenate() -> None:
    assert FORMATS["raw-16khz-16bit-mono-pcm"].concatenable
    assert FORMATS["audio-24khz-96kbitrate-mono-mp3"].concatenable
    assert not FORMATS["riff-16khz-16bit-mono-pcm"].concatenable
    assert not FORMATS["ogg-24khz-16bit-mono-opus"].concatenable


def test_the_catalog_cannot_be_changed() -> None:
    with pytest.raises(TypeError):
        FORMATS["mine"] = FORMATS["ogg-24khz-16bit-mono-opus"]  # type: ignore[index]


# --- get_format -----------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "riff-24khz-16bit-mono-pcm",
        "RIFF-24KHZ-16BIT-MONO-PCM",
        " Riff-24kHz-16bit-Mono-PCM ",
    ],
)
def test_get_format_ignores_letter_case(name: str) -> None:
    assert get_format(name) is FORMATS["riff-24khz-16bit-mono-pcm"]


@pytest.mark.parametrize(
    "name", ["", "wav", "riff-96khz-16bit-mono-pcm", "audio-16khz-16kbps-mono-siren"]
)
def test_get_format_rejects_unknown_formats(name: str) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        get_format(name)

    assert raised.value.field == "output_format"
    assert raised.value.value == name


# --- choose_format --------------------------------------------------------------


@pytest.mark.parametrize(
    ("extension", "sample_rate", "expected"),
    [
        ("wav", None, "riff-24khz-16bit-mono-pcm"),
        ("wav", 8000, "riff-8khz-16bit-mono-pcm"),
        ("wav", 16000, "riff-16khz-16bit-mono-pcm"),
        ("wav", 22050, "riff-22050hz-16bit-mono-pcm"),
        ("wav", 24000, "riff-24khz-16bit-mono-pcm"),
        ("wav", 44100, "riff-44100hz-16bit-mono-pcm"),
        ("wav", 48000, "riff-48khz-16bit-mono-pcm"),
        ("WAV", 16000, "riff-16khz-16bit-mono-pcm"),
        (".wav", 16000, "riff-16khz-16bit-mono-pcm"),
        ("pcm", None, "raw-24khz-16bit-mono-pcm"),
        ("pcm", 22050, "raw-22050hz-16bit-mono-pcm"),
        ("raw", 44100, "raw-44100hz-16bit-mono-pcm"),
        # No rate asked for: Azure's usual MP3, transparent for speech.
        ("mp3", None, "audio-24khz-96kbitrate-mono-mp3"),
        # A rate asked for: the best the service offers at it.
        ("mp3", 16000, "audio-16khz-128kbitrate-mono-mp3"),
        ("mp3", 24000, "audio-24khz-160kbitrate-mono-mp3"),
        ("mp3", 48000, "audio-48khz-192kbitrate-mono-mp3"),
        ("ogg", None, "ogg-24khz-16bit-mono-opus"),
        ("ogg", 16000, "ogg-16khz-16bit-mono-opus"),
        ("ogg", 48000, "ogg-48khz-16bit-mono-opus"),
        ("opus", 24000, "ogg-24khz-16bit-mono-opus"),
    ],
)
def test_choose_format_picks_the_native_format(
    extension: str, sample_rate: int | None, expected: str
) -> None:
    assert choose_format(extension, sample_rate) is FORMATS[expected]


@pytest.mark.parametrize(
    ("extension", "sample_rate"),
    [
        (None, None),
        (None, 16000),
        ("flac", None),
        ("webm", 24000),
        ("amr", 16000),
        ("", None),
        ("wav", 11025),
        ("wav", 96000),
        ("wav", 0),
        ("pcm", 32000),
        ("mp3", 8000),
        ("mp3", 22050),
        ("mp3", 44100),
        ("ogg", 8000),
        ("ogg", 22050),
        ("ogg", 16500),
        ("opus", 44100),
    ],
)
def test_choose_format_offers_nothing_the_service_cannot_write(
    extension: str | None, sample_rate: int | None
) -> None:
    assert choose_format(extension, sample_rate) is None


@pytest.mark.parametrize("extension", ["wav", "pcm", "mp3", "ogg"])
def test_choose_format_offers_only_mono(extension: str) -> None:
    assert choose_format(extension, 24000, sample_channels=1) is not None
    assert choose_format(extension, 24000, sample_channels=2) is None
    assert choose_format(extension, None, sample_channels=2) is None


@pytest.mark.parametrize("extension", ["wav", "pcm"])
def test_choose_format_offers_only_16_bit_samples(extension: str) -> None:
    assert choose_format(extension, 16000, sample_bytes=2) is not None
    assert choose_format(extension, 16000, sample_bytes=1) is None
    assert choose_format(extension, 16000, sample_bytes=4) is None


def test_choose_format_ignores_sample_width_of_compressed_formats() -> None:
    assert choose_format("mp3", 24000, sample_bytes=4) is not None


# --- streaming_variant ----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("riff-8khz-16bit-mono-pcm", "raw-8khz-16bit-mono-pcm"),
        ("riff-16khz-16bit-mono-pcm", "raw-16khz-16bit-mono-pcm"),
        ("riff-22050hz-16bit-mono-pcm", "raw-22050hz-16bit-mono-pcm"),
        ("riff-24khz-16bit-mono-pcm", "raw-24khz-16bit-mono-pcm"),
        ("riff-44100hz-16bit-mono-pcm", "raw-44100hz-16bit-mono-pcm"),
        ("riff-48khz-16bit-mono-pcm", "raw-48khz-16bit-mono-pcm"),
    ],
)
def test_streaming_variant_of_wav_is_the_same_samples_without_header(
    name: str, expected: str
) -> None:
    wav, raw = FORMATS[name], streaming_variant(FORMATS[name])

    assert raw is FORMATS[expected]
    assert raw.concatenable
    assert (raw.sample_rate, raw.codec, raw.bits_per_sample) == (
        wav.sample_rate,
        wav.codec,
        wav.bits_per_sample,
    )


@pytest.mark.parametrize(
    "name",
    [
        "raw-24khz-16bit-mono-pcm",
        "audio-24khz-96kbitrate-mono-mp3",
        "ogg-24khz-16bit-mono-opus",
    ],
)
def test_streaming_variant_of_other_formats_is_the_format_itself(name: str) -> None:
    assert streaming_variant(FORMATS[name]) is FORMATS[name]


def test_streaming_variant_of_an_unknown_wav_format_is_the_format_itself() -> None:
    unknown = AudioFormat(
        "riff-96khz-24bit-mono-pcm", Container.RIFF, Codec.PCM, 96000, "wav", 24
    )

    assert streaming_variant(unknown) is unknown


# --- wav_header -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("sample_rate", "bits_per_sample", "channels"),
    [(24000, 16, 1), (16000, 16, 1), (44100, 16, 2), (8000, 8, 1), (48000, 32, 2)],
)
def test_wav_header_with_a_size_reads_back_through_the_wave_module(
    sample_rate: int, bits_per_sample: int, channels: int
) -> None:
    frame_size = bits_per_sample // 8 * channels
    samples = bytes(range(256)) * frame_size * 3

    header = wav_header(sample_rate, bits_per_sample, channels, data_size=len(samples))

    assert len(header) == 44
    with wave.open(io.BytesIO(header + samples)) as wav:
        assert wav.getframerate() == sample_rate
        assert wav.getsampwidth() == bits_per_sample // 8
        assert wav.getnchannels() == channels
        assert wav.getnframes() == len(samples) // frame_size
        assert wav.readframes(wav.getnframes()) == samples


def test_wav_header_matches_what_the_wave_module_writes() -> None:
    written = io.BytesIO()
    with wave.open(written, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(24000)
        wav.writeframes(b"\x01\x02" * 100)

    assert written.getvalue()[:44] == wav_header(24000, data_size=200)


def test_wav_header_without_a_size_says_until_the_end_of_the_stream() -> None:
    header = wav_header(16000)

    fields = struct.unpack("<4sI4s4sIHHIIHH4sI", header)
    assert fields == (
        b"RIFF",
        0xFFFFFFFF,
        b"WAVE",
        b"fmt ",
        16,
        1,  # PCM
        1,
        16000,
        32000,
        2,
        16,
        b"data",
        0xFFFFFFFF,
    )


def test_wav_header_without_a_size_reads_the_stream_to_its_end() -> None:
    samples = b"\x10\x00\x20\x00" * 50

    with wave.open(io.BytesIO(wav_header(16000) + samples)) as wav:
        assert wav.getframerate() == 16000
        assert wav.readframes(1_000_000) == samples


def test_wav_header_accepts_the_largest_size_a_wav_file_can_hold() -> None:
    header = wav_header(24000, data_size=0xFFFFFFFF - 36)

    assert struct.unpack_from("<I", header, 4) == (0xFFFFFFFF,)


@pytest.mark.parametrize(
    "arguments",
    [
        {"sample_rate": 0},
        {"sample_rate": -16000},
        {"sample_rate": 16000, "bits_per_sample": 12},
        {"sample_rate": 16000, "channels": 0},
        {"sample_rate": 16000, "data_size": -1},
        {"sample_rate": 16000, "data_size": 0xFFFFFFFF - 35},
    ],
)
def test_wav_header_refuses_what_a_wav_header_cannot_describe(
    arguments: dict[str, int],
) -> None:
    with pytest.raises(ValueError):
        wav_header(**arguments)
