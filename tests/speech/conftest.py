"""Fixtures for the speech library's tests: clients that talk to the emulator."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from custom_components.cloud_speech.speech.azure import (
    AzureCloud,
    AzureEndpoints,
    AzureSpeechClient,
    azure_endpoints,
)
from custom_components.cloud_speech.speech.http import RetryPolicy, Timeouts
from tests.emulator import TEST_KEY

# Fast enough to keep the suite quick, long enough for a loaded CI machine.
TIMEOUTS = Timeouts(connect=2.0, first_byte=2.0, idle=2.0, total=5.0)
RETRY = RetryPolicy(attempts=3, max_retry_after=2.0, backoff=0.01)


class Sleeps(list[float]):
    """Records the delays the client waits between retries, without waiting."""

    async def __call__(self, delay: float) -> None:
        self.append(delay)
        await asyncio.sleep(0)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def make_client(
    emulator_session: aiohttp.ClientSession, sleeps: Sleeps
) -> Callable[..., AzureSpeechClient]:
    """Build a client for a region (China East 2 by default) or endpoints."""

    def make(
        endpoints: AzureEndpoints | None = None,
        *,
        api_key: str | None = TEST_KEY,
        **kwargs: Any,
    ) -> AzureSpeechClient:
        kwargs.setdefault("timeouts", TIMEOUTS)
        kwargs.setdefault("retry", RETRY)
        kwargs.setdefault("sleep", sleeps)
        return AzureSpeechClient(
            emulator_session,
            endpoints or azure_endpoints(AzureCloud.CHINA, region="chinaeast2"),
            api_key=api_key,
            **kwargs,
        )

    return make
