"""The streaming conversation entity."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
import contextlib
from typing import Any, Literal

from homeassistant.components import conversation
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import MATCH_ALL
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import DOMAIN, RELEASE_TIMEOUT

#: The reply, in the order it is written. The first sentence is longer than
#: the 60 characters after which HA streams a reply into TTS.
FIRST_SENTENCE = "Good evening, the front door is locked and every window is closed."
REST = (
    " Rain is expected at six, so the garden lights stay off tonight."
    " Have a lovely evening."
)
REPLY = FIRST_SENTENCE + REST
#: Characters per delta, like an LLM's tokens.
DELTA = 4


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the agent."""
    async_add_entities([StreamingAgent(entry)])


class StreamingAgent(conversation.ConversationEntity):
    """Answers every request with REPLY, a few characters at a time."""

    _attr_name = "Streaming agent"
    _attr_supports_streaming = True

    def __init__(self, entry: ConfigEntry) -> None:
        """One agent per entry."""
        self._attr_unique_id = entry.entry_id

    @property
    def supported_languages(self) -> list[str] | Literal["*"]:
        """Any language."""
        return MATCH_ALL

    async def _async_handle_message(
        self,
        user_input: conversation.ConversationInput,
        chat_log: conversation.ChatLog,
    ) -> conversation.ConversationResult:
        """Stream REPLY into the chat log."""
        async for _content in chat_log.async_add_delta_content_stream(
            self.entity_id, self._deltas()
        ):
            pass
        return conversation.async_get_result_from_chat_log(user_input, chat_log)

    async def _deltas(self) -> AsyncGenerator[dict[str, Any]]:
        release: asyncio.Event = self.hass.data[DOMAIN]
        release.clear()
        yield {"role": "assistant"}
        # Written before the wait: the first sentence and at least the first
        # letter of the next, so a sentence splitter knows the first has ended.
        before_wait = len(FIRST_SENTENCE) + 2
        waited = False
        for start in range(0, len(REPLY), DELTA):
            if start >= before_wait and not waited:
                waited = True
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(RELEASE_TIMEOUT):
                        await release.wait()
            yield {"content": REPLY[start : start + DELTA]}
            # Let the pipeline pass each delta on before the next, as a
            # network stream would.
            await asyncio.sleep(0)
