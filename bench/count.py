"""How long counting a large job takes: the straightforward method against progress-card, cold and warm,
and progress-card under a free account's rate limits.

Starts the Hub simulator (tests/hubsim) with some latency, fills a repo with shards, then measures
in child processes, one after another in this run:

- straightforward: list with a fresh HfFileSystem, open each shard and read its footer with
  pyarrow, one after another (what a monitor loop usually does);
- progress-card, cold: an empty state folder;
- progress-card, warm: the state of the cold run, after new shards were added.

Each row gives wall seconds (imports excluded), the HTTP requests the simulator served, the
child's peak memory, and the ratios to the straightforward method.

Then a second simulator serves the same number of shards in quota mode, with a free account's
quota scaled in time: as many requests per window (5,000 resolvers, 1,000 api), shorter windows
(--window-s). The same shards are both in a dataset repo and in a Storage Bucket (where datatrove
now recommends raw output goes). progress-card counts each cold (a fresh state folder) and warm
(after the new shards, in a fresh window, as the next hourly run would be); each row gives the
listing pages and footer reads, the 429s received, the footers read twice (work lost: must be 0),
the peak memory and the quota floor, (ceil(N / q) - 1) windows of --window-s, N being the requests
of the rate-limit bucket that needs the most windows.

    python bench/count.py                      # 10,000 shards of 100 rows, 20 ms latency, 30 s windows
    python bench/count.py --shards 2000 --latency-ms 5
    python bench/count.py --shards 40 --free-resolvers 15 --free-api 50 --window-s 1
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parents[1]
REPO = "bench/gen"
BUCKET = "bench/raw"
FOLDER = "data"
LISTING_PAGE = 1000
FREE_RESOLVERS = 5_000
FREE_API = 1_000
FREE_WINDOW_S = 300
READ = (206, 302)
"""A footer read, as the simulator answers it: the range itself, or the redirect to Xet storage (a bucket)."""
"""A free account's quota on the Hub: resolvers and api calls per window of 5 minutes."""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shards", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=100)
    parser.add_argument("--new", type=int, default=100, help="shards added before the warm run")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--pool", type=int, help="progress-card's connection pool (default: its own default)")
    parser.add_argument(
        "--window-s", type=int, default=30, help="free account case: seconds per quota window (the Hub: 300)"
    )
    parser.add_argument(
        "--free-resolvers", type=int, default=FREE_RESOLVERS, help="free account case: file reads per window"
    )
    parser.add_argument(
        "--free-api", type=int, default=FREE_API, help="free account case: API calls per window"
    )
    parser.add_argument(
        "--measure",
        choices=["straightforward", "progress-card", "progress-card-bucket"],
        help=argparse.SUPPRESS,
    )
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    parser.add_argument("--state-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.window_s < 1 or args.free_resolvers < 1 or args.free_api < 1:
        parser.error("--window-s, --free-resolvers and --free-api must be at least 1")
    if args.measure:
        measure(args.measure, args.endpoint, args.state_dir, args.pool)
    else:
        compare(args)


@dataclass(frozen=True)
class Served:
    """One line of the simulator's request log: ``METHOD PATH STATUS [bucket=B throttled=0|1]``."""

    method: str
    target: str
    status: int
    bucket: str | None
    throttled: bool

    @property
    def file(self) -> str | None:
        """The file read: its repo path (``/datasets/<repo>/resolve/<rev>/<path>``, whatever the revision),
        or its bucket path (``/buckets/<bucket>/resolve/<path>``)."""
        path = self.target.partition("?")[0]
        if "/resolve/" not in path:
            return None
        place, _, rest = path.partition("/resolve/")
        if place.startswith("/buckets/"):
            return f"bucket:{unquote(rest)}"
        return unquote(rest.partition("/")[2])

    @property
    def listing(self) -> bool:
        """A page of a tree listing, of a repo or a bucket."""
        return "/tree" in self.target.partition("?")[0] and self.target.startswith("/api/")


def compare(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-count-") as scratch:
        root = Path(scratch) / "hub"
        log = Path(scratch) / "requests.log"
        state = Path(scratch) / "state"
        print(f"writing {args.shards:,} shards of {args.rows} rows...", file=sys.stderr)
        write_shards(root, range(args.shards), args.rows)
        free_root = Path(scratch) / "hub-free"
        shutil.copytree(root, free_root)  # the same shards, the same commit times
        bucket = free_root / "buckets" / BUCKET / FOLDER
        shutil.copytree(root / "datasets" / REPO / FOLDER, bucket)  # and the same shards in a bucket
        with simulator(root, args.latency_ms, log) as endpoint:
            rows = [
                run("straightforward", endpoint, state, log, args.pool),
                run("progress-card, cold", endpoint, state, log, args.pool),
            ]
            write_shards(root, range(args.shards, args.shards + args.new), args.rows)
            rows.append(run("progress-card, warm", endpoint, state, log, args.pool))

        free_log = Path(scratch) / "requests-free.log"
        free_state = Path(scratch) / "state-free"
        quotas = [f"resolvers={args.free_resolvers}/{args.window_s}", f"api={args.free_api}/{args.window_s}"]
        with simulator(free_root, args.latency_ms, free_log, quotas) as endpoint:
            # Hash the shards once (the first row of the other simulator does it), then start afresh.
            warm_up(endpoint)
            time.sleep(args.window_s + 0.2)
            free = []
            for place, method in (("repo", "progress-card"), ("bucket", "progress-card-bucket")):
                # Each place starts in a fresh window, as if it were the only one the account reads.
                free.append(run(f"{place}, cold", endpoint, free_state, free_log, args.pool, method))
                cold_ended = time.monotonic()
                write_shards(free_root, range(args.shards, args.shards + args.new), args.rows, place)
                # The next hourly run starts in a fresh window: wait for the last one of the cold run to end.
                time.sleep(max(0.0, cold_ended + args.window_s + 0.2 - time.monotonic()))
                free.append(run(f"{place}, warm", endpoint, free_state, free_log, args.pool, method))
                time.sleep(args.window_s + 0.2)
    print_table(rows, args)
    print_free_table(free, args)


@contextmanager
def simulator(root: Path, latency_ms: float, log: Path, quotas: list[str] | None = None) -> Iterator[str]:
    """The Hub simulator in a subprocess, serving `root` and logging to `log`; yields its endpoint."""
    command = [sys.executable, "-m", "tests.hubsim", "--root", str(root), "--latency-ms", str(latency_ms)]
    command += ["--log", str(log)]
    for quota in quotas or []:
        command += ["--quota", quota]
    sim = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True, env=quiet_environment())
    try:
        assert sim.stdout is not None
        endpoint = sim.stdout.readline().strip()
        if not endpoint:
            sys.exit(f"the simulator did not start: {' '.join(command)}")
        yield endpoint
    finally:
        sim.terminate()
        sim.wait(timeout=30)
        if sim.stdout is not None:
            sim.stdout.close()


def warm_up(endpoint: str) -> None:
    """One API call, so that the simulator scans the repo and hashes its shards before any row is timed."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"{endpoint}/api/datasets/{REPO}", timeout=300) as answer:
        answer.read()


def run(
    name: str, endpoint: str, state: Path, log: Path, pool: int | None, method: str | None = None
) -> dict[str, object]:
    print(f"measuring {name}...", file=sys.stderr)
    before = len(read_log(log))
    method = method or ("straightforward" if name == "straightforward" else "progress-card")
    done = subprocess.run(
        [sys.executable, __file__, "--measure", method, "--endpoint", endpoint, "--state-dir", str(state)]
        + (["--pool", str(pool)] if pool else []),
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=quiet_environment(endpoint),
    )
    if done.returncode != 0:
        sys.exit(f"measuring {name} failed (exit status {done.returncode}):\n{done.stderr[-4000:]}")
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    served = read_log(log)[before:]
    result["name"] = name
    result["requests"] = len(served)
    result["served"] = served
    return result


def measure(method: str, endpoint: str, state_dir: str, pool: int | None) -> None:
    """In a child process: count once with `method`; print seconds, documents and peak memory."""
    import pyarrow.parquet as pq
    from huggingface_hub import HfFileSystem

    from progress_card.storage import HubClient, ShardMemory, count_documents

    started = time.perf_counter()
    if method == "straightforward":
        fs = HfFileSystem(endpoint=endpoint, skip_instance_cache=True)
        documents = 0
        for path in fs.glob(f"datasets/{REPO}/{FOLDER}/**/*.parquet"):
            with fs.open(path, "rb") as file:
                documents += pq.ParquetFile(file).metadata.num_rows
    else:
        client = HubClient(endpoint=endpoint, pool_size=pool) if pool else HubClient(endpoint=endpoint)
        place = client.bucket(BUCKET) if method == "progress-card-bucket" else client.repo(REPO)
        memory = ShardMemory.in_folder(Path(state_dir), f"{place.label}/{FOLDER}")
        snapshot = place.snapshot()
        shards = snapshot.listing(FOLDER).shards
        count = count_documents(snapshot, shards, workers=client.pool_size, memory=memory)
        assert count.complete
        documents = count.documents
    seconds = time.perf_counter() - started
    # VmHWM, not ru_maxrss: ru_maxrss keeps the parent's size from before exec.
    status = Path("/proc/self/status").read_text()
    peak_mb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")) / 1024
    print(json.dumps({"seconds": seconds, "documents": documents, "peak_mb": peak_mb}))


def write_shards(root: Path, indices: range, rows: int, place: str = "repo") -> None:
    """Shards numbered `indices`, one every 30 s up to now, in the repo's folder (or the bucket's)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = (
        root
        / ("buckets" if place == "bucket" else "datasets")
        / (BUCKET if place == "bucket" else REPO)
        / FOLDER
    )
    folder.mkdir(parents=True, exist_ok=True)
    now = time.time()
    for index in indices:
        buffer = io.BytesIO()
        ids = list(range(index * rows, (index + 1) * rows))
        pq.write_table(pa.table({"id": ids, "text": [f"completion {i}" for i in ids]}), buffer)
        path = folder / f"{index // 1000:05d}_{index % 1000:05d}.parquet"
        path.write_bytes(buffer.getvalue())
        committed = now - (indices.stop - index) * 30  # one shard every 30 s
        os.utime(path, (committed, committed))


def read_log(log: Path) -> list[Served]:
    """The requests the simulator logged so far, oldest first."""
    try:
        lines = log.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    served = []
    for line in lines:
        method, target, status, *extra = line.split()
        fields = dict(field.partition("=")[::2] for field in extra)
        bucket = fields.get("bucket", "-")
        served.append(
            Served(
                method, target, int(status), None if bucket == "-" else bucket, fields.get("throttled") == "1"
            )
        )
    return served


def quiet_environment(endpoint: str | None = None) -> dict[str, str]:
    """Loopback only, no telemetry, a fresh cache."""
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith("HF_") and "proxy" not in k.lower()
    }
    environment.update(
        {
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "HF_HUB_DISABLE_XET": "1",
            "HF_UPDATE_DOWNLOAD_COUNTS": "0",
            "NO_PROXY": "127.0.0.1,localhost",
            "HF_HOME": tempfile.mkdtemp(prefix="bench-hf-home-"),
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "scripts")]),
        }
    )
    if endpoint:
        environment["HF_ENDPOINT"] = endpoint
    return environment


def print_table(rows: list[dict[str, object]], args: argparse.Namespace) -> None:
    from progress_card.storage import HubClient

    pool = args.pool or HubClient(endpoint="http://127.0.0.1").pool_size
    base = rows[0]
    print(
        f"\n{args.shards:,} shards of {args.rows} rows, {args.latency_ms:g} ms latency, "
        f"{args.new} new shards before the warm run, pool of {pool} connections\n"
    )
    print(
        "| method | documents | wall s | requests | peak MB | time vs straightforward | requests vs straightforward |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        seconds, requests = float(str(row["seconds"])), int(str(row["requests"]))
        speed = "1.0×" if row is base else f"{float(str(base['seconds'])) / seconds:.1f}× faster"
        print(
            f"| {row['name']} | {int(str(row['documents'])):,} | {seconds:.2f} | {requests:,} | "
            f"{float(str(row['peak_mb'])):.1f} | {speed} | {requests / int(str(base['requests'])):.3f} |"
        )
    latency = args.latency_ms / 1000
    for name, shards, total in (
        ("cold", args.shards, args.shards),
        ("warm", args.new, args.shards + args.new),
    ):
        pages = -(-(total + 1) // LISTING_PAGE)
        floor = (pages + shards / pool) * latency
        print(
            f"\nfloor, {name}: ({pages} listing pages + {shards:,} reads / {pool}) × {args.latency_ms:g} ms = {floor:.2f} s"
        )


def print_free_table(rows: list[dict[str, object]], args: argparse.Namespace) -> None:
    """The free account rows: 429s, footers read twice (across both rows), and the quota floor."""
    from progress_card.storage import HubClient

    pool = args.pool or HubClient(endpoint="http://127.0.0.1").pool_size
    window = args.window_s
    if (args.free_resolvers, args.free_api) == (FREE_RESOLVERS, FREE_API):
        scaling = (
            f"free account scaled in time: {args.free_resolvers:,} resolver reads and {args.free_api:,} API "
            f"calls per {window} s window instead of per {FREE_WINDOW_S // 60} min"
        )
    else:
        scaling = (
            f"free account scaled down: {args.free_resolvers:,} resolver reads and {args.free_api:,} API calls "
            f"per {window} s window (a free account has {FREE_RESOLVERS:,} and {FREE_API:,} per "
            f"{FREE_WINDOW_S // 60} min)"
        )
    print(
        f"\n{scaling}; {args.shards:,} shards, then {args.new} new ones, the warm run starting in a fresh "
        f"window; pool of {pool} connections, {args.latency_ms:g} ms latency\n"
    )
    print(
        "| progress-card, free account | documents | wall s | requests | listing pages | footer reads | 429s "
        "| footers read twice | resolver reads | API calls | peak MB | quota floor s | wall / floor |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    footers: Counter[str] = Counter()  # 206s per file, across the rows
    for row in rows:
        served = row["served"]
        assert isinstance(served, list)
        twice = set()
        for line in served:
            if line.status in READ and line.file is not None:
                footers[line.file] += 1
                if footers[line.file] > 1:
                    twice.add(line.file)
        throttled = sum(line.throttled for line in served)
        pages = sum(line.listing and not line.throttled for line in served)
        footer_reads = sum(line.file is not None and line.status in READ for line in served)
        reads = sum(line.bucket == "resolvers" and not line.throttled for line in served)
        calls = sum(line.bucket == "api" and not line.throttled for line in served)
        waits = max(windows_waited(reads, args.free_resolvers), windows_waited(calls, args.free_api))
        floor = waits * window
        seconds = float(str(row["seconds"]))
        ratio = f"{seconds / floor:.2f}" if floor else "–"
        print(
            f"| {row['name']} "
            f"| {int(str(row['documents'])):,} | {seconds:.2f} | {len(served):,} | {pages:,} | {footer_reads:,} "
            f"| {throttled:,} | {len(twice):,} | {reads:,} | {calls:,} | {float(str(row['peak_mb'])):.1f} "
            f"| {floor:g} | {ratio} |"
        )
    print(
        f"\nquota floor: (⌈N / q⌉ − 1) windows × {window} s, N being the requests a row needed of a bucket "
        f"(the resolver reads, or the API calls, whichever needs more windows) and q that bucket's quota "
        "per window"
    )


def windows_waited(needed: int, per_window: int) -> int:
    """Windows that must end before `needed` requests are served, at `per_window` a window."""
    return max(0, math.ceil(needed / per_window) - 1)


if __name__ == "__main__":
    main()
