"""Calling a TTS entity the ways Home Assistant does, for every test module."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

from homeassistant.components import tts
from homeassistant.core import HomeAssistant

# The entity of tests/integration/conftest.py's Azure China entry.
AZURE_ENTITY_ID = "tts.azure_speech_chinaeast2_speech"


async def speak(
    hass: HomeAssistant,
    message: str,
    *,
    options: dict[str, Any] | None = None,
    language: str | None = None,
    cache: bool = False,
    engine: str = AZURE_ENTITY_ID,
) -> tuple[str, bytes]:
    """Synthesize `message` the way a media player fetching tts.speak's URL does."""
    media_source_id = tts.generate_media_source_id(
        hass, message, engine=engine, language=language, options=options, cache=cache
    )
    return await tts.async_get_media_source_audio(hass, media_source_id)


async def text_stream(*pieces: str) -> AsyncIterator[str]:
    """Text arriving in pieces, like an LLM's reply."""
    for piece in pieces:
        yield piece


async def stream(
    hass: HomeAssistant,
    text: AsyncIterator[str],
    *,
    options: dict[str, Any] | None = None,
    language: str | None = None,
    on_chunk: Callable[[bytes], None] | None = None,
    engine: str = AZURE_ENTITY_ID,
) -> bytes:
    """Stream `text` in like an Assist pipeline; `on_chunk` sees audio as it comes."""
    result = tts.async_create_stream(hass, engine, language=language, options=options)
    result.async_set_message_stream(text)
    chunks = []
    async for chunk in result.async_stream_result():
        chunks.append(chunk)
        if on_chunk is not None:
            on_chunk(chunk)
    return b"".join(chunks)


async def eventually(condition: Callable[[], bool], timeout: float = 5) -> None:
    """Wait for what no event announces (a file written, a connection closed)."""
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.01)
