"""``python -m tests.hubsim --root DIR [--port N] [--latency-ms N] [--log FILE] [--quota BUCKET=LIMIT/SECONDS]...``."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from .quota import BUCKETS, Policy
from .records import RequestLog, RequestRecord
from .sim import HubSim


def quota(text: str) -> tuple[str, Policy]:
    """``resolvers=5000/300`` -> ("resolvers", Policy(5000, 300)): a bucket, its limit per window of seconds."""
    bucket, equals, rest = text.partition("=")
    limit, slash, window = rest.partition("/")
    try:
        policy = Policy(int(limit), int(window))
    except ValueError:
        policy = None
    if not equals or not slash or bucket not in BUCKETS or policy is None:
        raise argparse.ArgumentTypeError(
            f"expected BUCKET=LIMIT/SECONDS with BUCKET one of {', '.join(BUCKETS)}, e.g. resolvers=5000/300; "
            f"got {text!r}"
        )
    if policy.limit < 0 or policy.window_s < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: the limit must be >= 0 and the window >= 1 second")
    return bucket, policy


class QuotaRequestLog(RequestLog[RequestRecord]):
    """The request log, whose file lines also say each request's bucket and whether quota mode refused it:
    ``METHOD PATH STATUS bucket=resolvers|api|- throttled=0|1`` (the first three fields as without quota)."""

    def __init__(self, log_file: Path) -> None:
        super().__init__(None)  # this class writes the file itself
        self._path = log_file
        self._file_lock = threading.Lock()  # the lines in the order of the records

    def add(self, record: RequestRecord) -> None:
        with self._file_lock:
            super().add(record)
            target = record.path + ("?" + record.query if record.query else "")
            with self._path.open("a", encoding="utf-8") as f:
                f.write(
                    f"{record.method} {target} {record.status} "
                    f"bucket={record.bucket or '-'} throttled={int(record.throttled)}\n"
                )


def main(argv: list[str] | None = None) -> int:
    """Start the simulator, print its URL as the first stdout line, serve until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m tests.hubsim", description=__doc__)
    parser.add_argument(
        "--root",
        type=Path,
        required=True,
        help="directory holding datasets/<org>/<name> and buckets/<ns>/<name>",
    )
    parser.add_argument("--port", type=int, default=0, help="port to bind on 127.0.0.1 (0: any free port)")
    parser.add_argument("--latency-ms", type=float, default=0, help="delay before answering each request")
    parser.add_argument(
        "--log",
        type=Path,
        default=None,
        help="append 'METHOD PATH STATUS' per request; in quota mode followed by "
        "'bucket=resolvers|api|- throttled=0|1'",
    )
    parser.add_argument(
        "--quota",
        type=quota,
        action="append",
        default=[],
        metavar="BUCKET=LIMIT/SECONDS",
        help="quota mode for a bucket (api or resolvers): LIMIT requests per fixed window of SECONDS, "
        "per account, e.g. --quota resolvers=5000/300 --quota api=1000/300 (repeatable)",
    )
    args = parser.parse_args(argv)

    args.root.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    plain_log = None if args.quota else args.log
    sim = HubSim(args.root, latency_ms=args.latency_ms, port=args.port, log_file=plain_log)
    if args.quota and args.log is not None:
        sim.log = QuotaRequestLog(args.log)
    for bucket, policy in args.quota:
        sim.set_quota(bucket, policy.limit, policy.window_s)
    sim.start()
    try:
        print(sim.url, flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
