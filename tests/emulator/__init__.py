"""An emulator of Azure AI Speech and Convai text-to-speech for the tests.

    emulator = Emulator()                      # state only, no sockets
    async with EmulatorServer(emulator) as server:
        async with server.make_session() as session:
            await session.get("https://westeurope.tts.speech.microsoft.com/...")

See pytest_plugin for the `emulator`, `emulator_server` and `emulator_session`
fixtures, and `python -m tests.emulator --help` to run it for a developer.
"""

from __future__ import annotations

from .server import EmulatorResolver, EmulatorServer
from .state import CONVAI_TEST_KEY, TEST_KEY, Emulator, Fault, RecordedRequest

__all__ = [
    "CONVAI_TEST_KEY",
    "TEST_KEY",
    "Emulator",
    "EmulatorResolver",
    "EmulatorServer",
    "Fault",
    "RecordedRequest",
]
