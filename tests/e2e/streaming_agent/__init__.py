"""A conversation agent that streams its reply like an LLM, for the e2e tests.

Loaded only into the real `hass` of tests/e2e/test_speech_api.py (never into
the test process). Its one reply comes in small deltas through the chat log,
so an Assist pipeline streams it into the TTS entity as it is written
(HA starts streaming to TTS after 60 characters). After the first sentence
and the first letter of the next it waits for the service
`e2e_streaming_agent.release`: the test calls it only once it has received
audio, which shows that Cloud Speech spoke the first sentence while the rest
of the reply had not been written yet.
"""

from __future__ import annotations

import asyncio

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, ServiceCall

DOMAIN = "e2e_streaming_agent"
#: How long the agent waits for the test's go-ahead before finishing anyway,
#: so a failing test never leaves the pipeline hanging.
RELEASE_TIMEOUT = 30.0


async def async_setup_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    """Register the release service and the agent entity."""
    release = asyncio.Event()
    hass.data[DOMAIN] = release

    async def handle_release(_call: ServiceCall) -> None:
        release.set()

    hass.services.async_register(DOMAIN, "release", handle_release)
    await hass.config_entries.async_forward_entry_setups(entry, [Platform.CONVERSATION])
    return True


async def async_unload_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    """Unload the agent."""
    return await hass.config_entries.async_unload_platforms(
        entry, [Platform.CONVERSATION]
    )
