"""Reading WAV headers, and joining WAV responses into one streamed WAV."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
import io
import itertools
import struct
import wave

import aiohttp
import pytest

from custom_components.cloud_speech.speech.convai import ConvaiClient
from custom_components.cloud_speech.speech.errors import SpeechResponseError
from custom_components.cloud_speech.speech.formats import wav_header
from custom_components.cloud_speech.speech.pipeline import synthesize_pipelined
from custom_components.cloud_speech.speech.wav import (
    MAX_WAV_HEADER_SIZE,
    WAVE_FORMAT_EXTENSIBLE,
    WAVE_FORMAT_PCM,
    WavInfo,
    WavJoiner,
    parse_wav_header,
)
from tests.emulator import CONVAI_TEST_KEY
from tests.emulator.audio import wav_container

# --- building WAV files ------------------------------------------------------


def make_wav(
    frames: bytes, *, rate: int = 24000, channels: int = 1, width: int = 2
) -> bytes:
    """A WAV file as Python's wave module writes it (a 44-byte header)."""
    written = io.BytesIO()
    with wave.open(written, "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(width)
        wav.setframerate(rate)
        wav.writeframes(frames)
    return written.getvalue()


def chunk(chunk_id: bytes, payload: bytes) -> bytes:
    """A RIFF chunk, padded to an even size."""
    pad = b"\x00" if len(payload) % 2 else b""
    return chunk_id + struct.pack("<I", len(payload)) + payload + pad


def with_chunks(
    wav: bytes, *, before_fmt: bytes = b"", before_data: bytes = b"", after: bytes = b""
) -> bytes:
    """Insert chunks into a file written by the wave module, fixing the RIFF size."""
    fmt, data = wav[12:36], wav[36:]
    body = b"WAVE" + before_fmt + fmt + before_data + data + after
    return b"RIFF" + struct.pack("<I", len(body)) + body


def samples(count: int, seed: int = 1) -> bytes:
    """`count` distinct-looking 16-bit samples."""
    return b"".join(
        struct.pack("<h", (n * 37 + seed * 1001) % 30000 - 15000) for n in range(count)
    )


LIST_CHUNK = chunk(b"LIST", b"INFOISFT" + struct.pack("<I", 13) + b"Lavf61.7.100\x00")
ODD_CHUNK = chunk(b"junk", b"abc")  # an odd size: one pad byte follows


def read_joined(data: bytes) -> tuple[tuple[int, int, int], bytes]:
    """Read a joined stream with the wave module: (rate, channels, width), frames."""
    with wave.open(io.BytesIO(data)) as reader:
        params = (reader.getframerate(), reader.getnchannels(), reader.getsampwidth())
        return params, reader.readframes(1_000_000)


async def join(responses: Iterable[Iterable[bytes]]) -> bytes:
    """Pass responses (each a list of chunks) through one joiner, in order."""
    joiner = WavJoiner()

    async def chunks() -> AsyncIterator[bytes]:
        for response in responses:
            async for piece in joiner.response(_aiter(list(response))):
                yield piece

    return b"".join([piece async for piece in joiner.stream(chunks())])


def split_at(data: bytes, *offsets: int) -> list[bytes]:
    """Cut `data` at the given offsets."""
    bounds = [0, *offsets, len(data)]
    return [data[start:end] for start, end in itertools.pairwise(bounds)]


# --- parse_wav_header ----------------------------------------------------------


def test_a_wave_module_file_is_read() -> None:
    wav = make_wav(samples(10), rate=22050)

    assert parse_wav_header(wav) == WavInfo(
        format_tag=WAVE_FORMAT_PCM,
        channels=1,
        sample_rate=22050,
        bits_per_sample=16,
        data_offset=44,
        data_size=20,
    )


def test_the_header_alone_is_enough() -> None:
    info = parse_wav_header(make_wav(samples(10))[:44])

    assert info is not None
    assert info.data_offset == 44
    assert info.block_align == 2


def test_every_prefix_of_the_header_asks_for_more() -> None:
    wav = with_chunks(make_wav(samples(4)), before_data=LIST_CHUNK + ODD_CHUNK)
    info = parse_wav_header(wav)
    assert info is not None

    for size in range(info.data_offset):
        assert parse_wav_header(wav[:size]) is None, size


def test_chunks_around_fmt_and_data_are_skipped() -> None:
    fact = chunk(b"fact", struct.pack("<I", 4))
    wav = with_chunks(
        make_wav(samples(4), rate=16000, channels=2),
        before_fmt=chunk(b"JUNK", bytes(28)),
        before_data=LIST_CHUNK + ODD_CHUNK + fact,
        after=chunk(b"id3 ", b"tag"),
    )

    info = parse_wav_header(wav)

    assert info is not None
    assert (info.sample_rate, info.channels, info.bits_per_sample) == (16000, 2, 16)
    assert wav[info.data_offset - 8 : info.data_offset - 4] == b"data"
    assert info.data_size == 8


@pytest.mark.parametrize("size", [0, 0xFFFFFFFF])
def test_a_streaming_writers_data_size_means_until_the_end(size: int) -> None:
    wav = make_wav(samples(4))
    streaming = wav[:40] + struct.pack("<I", size) + wav[44:]

    info = parse_wav_header(streaming)

    assert info is not None
    assert info.data_size is None


def test_extensible_pcm_is_pcm() -> None:
    pcm_guid = struct.pack("<H", 1) + bytes.fromhex("000000001000800000aa00389b71")
    fmt = struct.pack(
        "<HHIIHHHHI", WAVE_FORMAT_EXTENSIBLE, 2, 48000, 48000 * 6, 6, 24, 22, 24, 3
    )
    wav = b"RIFF" + struct.pack("<I", 0) + b"WAVE"
    wav += chunk(b"fmt ", fmt + pcm_guid) + chunk(b"data", bytes(12))

    info = parse_wav_header(wav)

    assert info is not None
    assert info.format_tag == WAVE_FORMAT_PCM
    assert (info.channels, info.sample_rate, info.bits_per_sample) == (2, 48000, 24)
    assert info.block_align == 6


def test_extensible_with_an_unknown_subformat_keeps_its_tag() -> None:
    fmt = struct.pack(
        "<HHIIHHHHI", WAVE_FORMAT_EXTENSIBLE, 1, 8000, 16000, 2, 16, 22, 16, 4
    )
    wav = b"RIFF\0\0\0\0WAVE" + chunk(b"fmt ", fmt + bytes(16)) + chunk(b"data", b"")

    info = parse_wav_header(wav)

    assert info is not None
    assert info.format_tag == WAVE_FORMAT_EXTENSIBLE


def test_a_companded_wav_is_described() -> None:
    info = parse_wav_header(wav_container(b"\x55" * 8, 8000, codec="alaw"))

    assert info is not None
    assert (info.format_tag, info.bits_per_sample, info.block_align) == (6, 8, 1)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b'{"ERROR": "transcript is required"}', id="json"),
        pytest.param(b"ID3\x04\x00\x00\x00\x00\x00\x00", id="mp3"),
        pytest.param(b"RIFX\x00\x00\x00\x00WAVE", id="big-endian riff"),
        pytest.param(b"RIFF\x00\x00\x00\x00AVI LIST", id="not wave"),
        pytest.param(b"RX", id="short garbage"),
        pytest.param(b"RIFF\x10\x00\x00\x00WX", id="short not wave"),
        pytest.param(
            b"RIFF\0\0\0\0WAVE" + chunk(b"data", bytes(4)), id="data before fmt"
        ),
        pytest.param(b"RIFF\0\0\0\0WAVE" + chunk(b"fmt ", bytes(14)), id="short fmt"),
        pytest.param(
            b"RIFF\0\0\0\0WAVE"
            + chunk(b"fmt ", struct.pack("<HHIIHH", 1, 0, 8000, 0, 0, 16)),
            id="no channels",
        ),
        pytest.param(
            b"RIFF\0\0\0\0WAVE"
            + chunk(b"fmt ", struct.pack("<HHIIHH", 1, 1, 0, 0, 2, 16)),
            id="no sample rate",
        ),
        pytest.param(b"RIFF\0\0\0\0WAVE\x00\x01\x02\x03\x04\0\0\0", id="binary id"),
        pytest.param(
            b"RIFF\0\0\0\0WAVE" + b"LIST" + struct.pack("<I", MAX_WAV_HEADER_SIZE),
            id="huge chunk",
        ),
    ],
)
def test_something_that_is_not_a_wav_file_is_refused(data: bytes) -> None:
    with pytest.raises(SpeechResponseError):
        parse_wav_header(data)


def test_describe_names_the_format() -> None:
    info = parse_wav_header(make_wav(b"", rate=22050, channels=2, width=3))

    assert info is not None
    assert info.describe() == "22050 Hz, 24 bit, 2 channel(s), format 0x0001"


# --- WavJoiner: responses one after the other ---------------------------------


async def test_one_response_becomes_a_streaming_wav() -> None:
    first = samples(100)

    out = await join([[make_wav(first, rate=22050)]])

    assert out[:44] == wav_header(22050)
    params, frames = read_joined(out)
    assert params == (22050, 1, 2)
    assert frames == first


async def test_two_responses_become_one_wav_with_every_frame() -> None:
    first, second = samples(100, 1), samples(60, 2)

    out = await join([[make_wav(first)], [make_wav(second)]])

    params, frames = read_joined(out)
    assert params == (24000, 1, 2)
    assert frames == first + second
    assert len(out) == 44 + len(first) + len(second)


async def test_headers_split_at_every_offset_are_joined() -> None:
    first, second = samples(20, 1), samples(30, 2)
    wav1 = with_chunks(make_wav(first, channels=2), before_data=LIST_CHUNK)
    wav2 = with_chunks(make_wav(second, channels=2), before_data=ODD_CHUNK + LIST_CHUNK)

    for offset in range(1, len(wav2)):
        out = await join([split_at(wav1, offset % len(wav1)), split_at(wav2, offset)])
        _, frames = read_joined(out)
        assert frames == first + second, offset


async def test_responses_fed_one_byte_at_a_time_are_joined() -> None:
    first, second = samples(9, 1), samples(7, 2)
    wav2 = with_chunks(make_wav(second), before_data=LIST_CHUNK)

    out = await join(
        [[bytes([b]) for b in make_wav(first)], [bytes([b]) for b in wav2]]
    )

    assert read_joined(out)[1] == first + second


async def test_metadata_after_the_samples_is_not_played() -> None:
    first, second = samples(10, 1), samples(10, 2)
    tail = chunk(b"LIST", b"INFOICMT" + struct.pack("<I", 5) + b"tail\x00")

    out = await join(
        [[with_chunks(make_wav(first), after=tail)], [make_wav(second) + tail]]
    )

    assert read_joined(out)[1] == first + second


async def test_a_partial_frame_is_dropped_so_later_samples_stay_aligned() -> None:
    first, second = samples(5, 1), samples(5, 2)
    wav1 = make_wav(first)
    # Declare (and send) one byte more than whole frames: a truncated sample.
    ragged = wav1[:40] + struct.pack("<I", len(first) + 1) + first + b"\x7f"

    out = await join([[ragged], [make_wav(second)]])

    assert read_joined(out)[1] == first + second


async def test_samples_without_a_known_size_last_until_the_end_of_the_response() -> (
    None
):
    first, second = samples(10, 1), samples(10, 2)
    streaming = wav_header(24000) + first

    out = await join([[streaming[:50], streaming[50:]], [make_wav(second)]])

    assert read_joined(out)[1] == first + second


@pytest.mark.parametrize(
    ("rate", "channels", "width"),
    [(22050, 1, 2), (24000, 2, 2), (24000, 1, 3)],
    ids=["rate", "channels", "bits"],
)
async def test_a_later_response_in_another_format_is_refused(
    rate: int, channels: int, width: int
) -> None:
    with pytest.raises(SpeechResponseError, match="differ in format") as caught:
        await join(
            [
                [make_wav(samples(10))],
                [make_wav(b"", rate=rate, channels=channels, width=width)],
            ]
        )
    assert "24000 Hz, 16 bit, 1 channel(s)" in str(caught.value)


async def test_audio_that_cannot_have_a_streaming_header_is_refused() -> None:
    with pytest.raises(SpeechResponseError, match="cannot be streamed"):
        await join([[wav_container(b"\x55" * 8, 8000, codec="mulaw")]])


async def test_garbage_instead_of_a_wav_is_refused() -> None:
    with pytest.raises(SpeechResponseError, match="not a WAV file"):
        await join([[b'{"result": "Internal server error"}']])


async def test_a_response_that_ends_inside_its_header_is_refused() -> None:
    with pytest.raises(SpeechResponseError, match="ended before its samples"):
        await join([[make_wav(samples(4))[:30]]])


async def test_a_response_without_any_bytes_is_refused() -> None:
    with pytest.raises(SpeechResponseError, match="ended before its samples"):
        await join([[]])


async def test_an_empty_chunk_changes_nothing() -> None:
    out = await join([[b"", make_wav(samples(2)), b""]])

    assert out[:44] == wav_header(24000)
    assert read_joined(out)[1] == samples(2)


# --- WavJoiner.response: concurrent responses -----------------------------------


async def chunks_of(data: bytes, size: int = 7) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        await asyncio.sleep(0)
        yield data[start : start + size]


async def collect(stream: AsyncIterator[bytes]) -> bytes:
    return b"".join([piece async for piece in stream])


async def test_wrapped_responses_read_concurrently_join_in_call_order() -> None:
    first, second, third = samples(40, 1), samples(30, 2), samples(20, 3)
    joiner = WavJoiner()
    streams = [
        joiner.response(chunks_of(make_wav(first))),
        joiner.response(chunks_of(make_wav(second), size=3)),
        joiner.response(chunks_of(make_wav(third))),
    ]

    # The last response is read first: the header still goes with the first.
    parts = await asyncio.gather(*(collect(stream) for stream in reversed(streams)))

    out = await collect(joiner.stream(_aiter(list(reversed(parts)))))
    assert out[:44] == wav_header(24000)
    assert read_joined(out)[1] == first + second + third


async def test_a_wrapped_response_in_another_format_is_refused() -> None:
    joiner = WavJoiner()
    await collect(joiner.response(chunks_of(make_wav(samples(4)))))

    with pytest.raises(SpeechResponseError, match="differ in format"):
        await collect(joiner.response(chunks_of(make_wav(samples(4), rate=16000))))


async def test_a_wrapped_response_that_is_cut_short_is_refused() -> None:
    joiner = WavJoiner()

    with pytest.raises(SpeechResponseError, match="ended before its samples"):
        await collect(joiner.response(chunks_of(make_wav(samples(4))[:20])))


# --- end to end: two Convai responses ----------------------------------------


async def test_concurrent_convai_responses_join_into_one_wav_file(
    emulator_session: aiohttp.ClientSession,
) -> None:
    client = ConvaiClient(emulator_session, api_key=CONVAI_TEST_KEY)
    joiner = WavJoiner()
    texts = ["One.", "Two, three.", "Four, five, six."]
    streams = [
        joiner.response(client.synthesize(text, "Old British Man")) for text in texts
    ]

    parts = await asyncio.gather(*(collect(stream) for stream in streams))

    params, frames = read_joined(await collect(joiner.stream(_aiter(parts))))
    assert params == (22050, 1, 2)  # the ElevenLabs section's rate
    duration = len(frames) / 2 / 22050
    assert duration == pytest.approx(sum(len(text) * 0.06 for text in texts), abs=0.01)


async def _aiter(items):
    for item in items:
        yield item


async def test_a_dropped_first_response_does_not_take_the_header_with_it() -> None:
    """The pipeline may drop a guessed first sentence's request: one header remains."""
    joiner = WavJoiner()

    async def convai_like(text: str) -> AsyncIterator[bytes]:
        await asyncio.sleep(0.01)
        yield wav_header(24000, 16, 1, 4) + b"\x01\x00\x02\x00"

    async def pieces() -> AsyncIterator[str]:
        for piece in ("Hello there.", " and then some more."):
            yield piece
            await asyncio.sleep(0.05)

    audio = synthesize_pipelined(
        pieces(), lambda batch: joiner.response(convai_like(batch))
    )
    joined = b"".join([chunk async for chunk in joiner.stream(audio)])

    with wave.open(io.BytesIO(joined)) as wav:
        assert wav.getframerate() == 24000
        assert wav.readframes(-1) == b"\x01\x00\x02\x00"
