"""``python -m tests.hubsim --root DIR [--port N] [--latency-ms N] [--log FILE]``."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from .sim import HubSim


def main(argv: list[str] | None = None) -> int:
    """Start the simulator, print its URL as the first stdout line, serve until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m tests.hubsim", description=__doc__)
    parser.add_argument("--root", type=Path, required=True, help="directory holding datasets/<org>/<name>")
    parser.add_argument("--port", type=int, default=0, help="port to bind on 127.0.0.1 (0: any free port)")
    parser.add_argument("--latency-ms", type=float, default=0, help="delay before answering each request")
    parser.add_argument("--log", type=Path, default=None, help="append 'METHOD PATH STATUS' per request")
    args = parser.parse_args(argv)

    args.root.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    sim = HubSim(args.root, latency_ms=args.latency_ms, port=args.port, log_file=args.log).start()
    try:
        print(sim.url, flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
