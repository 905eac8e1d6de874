"""Run the emulator for a developer: `python -m tests.emulator [--port 5000] [--speak] [--rtt 0.05]`.

It serves plain HTTP in Speech-container mode, e.g.
    http://127.0.0.1:5000/cognitiveservices/v1           (synthesis, no key needed)
    http://127.0.0.1:5000/cognitiveservices/voices/list
and the Convai API under /convai, e.g. http://127.0.0.1:5000/convai/tts/
(key: test-convai-key). Each request is logged on one line; keys never are.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import shutil
import signal
import socket

from .server import EmulatorServer
from .state import CONVAI_TEST_KEY, Emulator


def _parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.emulator",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=int, default=5000, help="port to listen on (default 5000)"
    )
    parser.add_argument(
        "--speak",
        action="store_true",
        help="speak the text with espeak-ng instead of a tone (PCM formats; MP3 and Ogg/WebM Opus too with ffmpeg)",
    )
    parser.add_argument(
        "--rtt",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="model a network of this round-trip time (e.g. 0.05 for a nearby "
        "Azure region, 0.2 for Europe to China): a new connection pays 1 RTT of "
        "TCP set-up, every request 1 RTT (default 0: none)",
    )
    parser.add_argument(
        "--require-key",
        action="store_true",
        help="require an Ocp-Apim-Subscription-Key (test-key) like a keyed container",
    )
    return parser.parse_args()


async def _serve(arguments: argparse.Namespace) -> None:
    emulator = Emulator()
    emulator.speak = arguments.speak
    emulator.container_requires_key = arguments.require_key
    emulator.network_rtt = arguments.rtt
    # Whatever name the developer uses to reach this machine is a container host.
    emulator.container_hosts.update({arguments.host, socket.gethostname().lower()})
    server = EmulatorServer(
        emulator,
        host=arguments.host,
        http_port=arguments.port,
        https_port=None,
        log_requests=True,
    )
    await server.start()
    try:
        logging.getLogger(__package__).info(
            "Serving %s (Azure container API; Convai under /convai, key %s)%s",
            server.http_url,
            CONVAI_TEST_KEY,
            ""
            if not arguments.speak
            else " with espeak-ng"
            if shutil.which("espeak-ng")
            else " (espeak-ng not found: tone)",
        )
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        # Explicit handlers: a shell's background job starts with SIGINT ignored.
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signal_number, stopping.set)
        await stopping.wait()
        logging.getLogger(__package__).info("Stopping")
    finally:
        await server.stop()


def main() -> None:
    """Entry point."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    arguments = _parse_arguments()
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C before the loop runs
        asyncio.run(_serve(arguments))


if __name__ == "__main__":
    main()
