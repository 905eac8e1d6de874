"""The service's output formats, and which one gives a caller audio it can use as is.

`FORMATS` holds only the formats Home Assistant can ask for: the options
flow's (``const.OUTPUT_FORMATS``), what `choose_format` returns for a call's
preferred format and sample rate, and their `streaming_variant`. The service
documents more (A-law, µ-law, SILK, WebM, AMR, bare Opus, lower MP3 bitrates);
no caller can reach them, so they are not listed.
"""

from __future__ import annotations

from collections.abc import Mapping
import struct
from types import MappingProxyType

from .errors import InvalidRequestError
from .models import AudioFormat, Codec, Container

# The sample rates the service writes PCM at, as its format names spell them.
_RATE_LABELS: Mapping[int, str] = MappingProxyType(
    {
        8000: "8khz",
        16000: "16khz",
        22050: "22050hz",
        24000: "24khz",
        44100: "44100hz",
        48000: "48khz",
    }
)
# Prebuilt neural voices are recorded at 24 kHz: no resampling.
DEFAULT_SAMPLE_RATE = 24000
# Azure's usual MP3 format: transparent for speech at 60 % of the 160 kbit/s size.
DEFAULT_MP3_FORMAT_NAME = "audio-24khz-96kbitrate-mono-mp3"

WAV_HEADER_SIZE = 44
# What streaming WAV writers such as ffmpeg put in both sizes for "until the end";
# readers (ffmpeg, Python's wave) then read the samples to the end of the stream.
UNKNOWN_WAV_SIZE = 0xFFFFFFFF


def _pcm_formats(container: Container, extension: str) -> list[AudioFormat]:
    return [
        AudioFormat(
            f"{container}-{label}-16bit-mono-pcm",
            container,
            Codec.PCM,
            rate,
            extension,
            bits_per_sample=16,
        )
        for rate, label in _RATE_LABELS.items()
    ]


def _mp3(sample_rate: int, bitrate_kbps: int) -> AudioFormat:
    return AudioFormat(
        f"audio-{sample_rate // 1000}khz-{bitrate_kbps}kbitrate-mono-mp3",
        Container.MP3,
        Codec.MP3,
        sample_rate,
        "mp3",
        bitrate_kbps=bitrate_kbps,
    )


def _ogg_opus(sample_rate: int) -> AudioFormat:
    return AudioFormat(
        f"ogg-{sample_rate // 1000}khz-16bit-mono-opus",
        Container.OGG,
        Codec.OPUS,
        sample_rate,
        "ogg",
        bits_per_sample=16,
    )


_CATALOG: tuple[AudioFormat, ...] = (
    # The highest bitrate at each rate, and Azure's usual one.
    _mp3(16000, 128),
    _mp3(24000, 96),
    _mp3(24000, 160),
    _mp3(48000, 192),
    _ogg_opus(16000),
    _ogg_opus(24000),
    _ogg_opus(48000),
    *_pcm_formats(Container.RAW, "pcm"),
    *_pcm_formats(Container.RIFF, "wav"),
)

FORMATS: Mapping[str, AudioFormat] = MappingProxyType(
    {audio_format.name: audio_format for audio_format in _CATALOG}
)


def get_format(name: str) -> AudioFormat:
    """Return the output format called `name`, in any letter case.

    Raises:
        InvalidRequestError: the service has no such format; `field` is
            ``"output_format"``.

    """
    try:
        return FORMATS[name.strip().lower()]
    except KeyError:
        raise InvalidRequestError(
            f"Unknown output format {name!r}", field="output_format", value=name
        ) from None


def choose_format(
    extension: str | None,
    sample_rate: int | None = None,
    *,
    sample_channels: int | None = None,
    sample_bytes: int | None = None,
) -> AudioFormat | None:
    """Return the service's format that gives exactly the audio a caller prefers.

    `extension` is ``wav``, ``mp3``, ``ogg``/``opus`` or ``pcm``/``raw``; a
    missing sample rate means the voices' own 24 kHz. All formats are mono,
    and WAV and PCM are 16 bit. MP3 takes the highest bitrate at the rate
    asked for, and Azure's usual 24 kHz, 96 kbit/s when no rate is asked for.

    Returns None when the service has no such format: the caller then asks
    for another one and converts.
    """
    if extension is None or sample_channels not in (None, 1):
        return None
    kind = extension.strip().lower().removeprefix(".")
    rate = DEFAULT_SAMPLE_RATE if sample_rate is None else sample_rate
    if kind in ("wav", "pcm", "raw"):
        if sample_bytes not in (None, 2):
            return None
        container = Container.RIFF if kind == "wav" else Container.RAW
        return _best_format(container, Codec.PCM, rate)
    if kind == "mp3":
        if sample_rate is None:
            return FORMATS[DEFAULT_MP3_FORMAT_NAME]
        return _best_format(Container.MP3, Codec.MP3, rate)
    if kind in ("ogg", "opus"):
        return _best_format(Container.OGG, Codec.OPUS, rate)
    return None


def _best_format(
    container: Container, codec: Codec, sample_rate: int
) -> AudioFormat | None:
    """Return the format with the highest bitrate among those that match."""
    return max(
        (
            audio_format
            for audio_format in _CATALOG
            if audio_format.container is container
            and audio_format.codec is codec
            and audio_format.sample_rate == sample_rate
        ),
        key=lambda audio_format: audio_format.bitrate_kbps or 0,
        default=None,
    )


def streaming_variant(audio_format: AudioFormat) -> AudioFormat:
    """Return the format whose responses can be joined into one stream.

    For a WAV format that is the headerless format with the same samples
    (``riff-16khz-16bit-mono-pcm`` gives ``raw-16khz-16bit-mono-pcm``): the
    caller writes one header (see `wav_header`) before the joined samples.
    Every other format is returned as it is; check `AudioFormat.concatenable`.
    """
    if audio_format.container is not Container.RIFF:
        return audio_format
    # A WAV format the catalog does not know stays as it is: not concatenable.
    return FORMATS.get("raw-" + audio_format.name.removeprefix("riff-"), audio_format)


def wav_header(
    sample_rate: int,
    bits_per_sample: int = 16,
    channels: int = 1,
    data_size: int | None = None,
) -> bytes:
    """Return the 44-byte header of a PCM WAV file.

    Without `data_size` the sizes say "until the end of the stream", as
    streaming WAV writers such as ffmpeg write them; players and Python's
    `wave` module read such a file to its end.

    Raises:
        ValueError: an argument is out of what a WAV header can describe.

    """
    if sample_rate <= 0 or channels <= 0 or bits_per_sample not in (8, 16, 24, 32):
        raise ValueError(
            f"No PCM WAV has {sample_rate} Hz, {bits_per_sample} bit, {channels} channels"
        )
    block_align = channels * bits_per_sample // 8
    if data_size is None:
        riff_size = data_chunk_size = UNKNOWN_WAV_SIZE
    elif 0 <= data_size <= UNKNOWN_WAV_SIZE - (WAV_HEADER_SIZE - 8):
        riff_size = data_size + WAV_HEADER_SIZE - 8
        data_chunk_size = data_size
    else:
        raise ValueError(f"A WAV file cannot hold {data_size} bytes of samples")
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        riff_size,
        b"WAVE",
        b"fmt ",
        16,  # size of the fmt chunk for plain PCM
        1,  # WAVE_FORMAT_PCM
        channels,
        sample_rate,
        sample_rate * block_align,
        block_align,
        bits_per_sample,
        b"data",
        data_chunk_size,
    )
