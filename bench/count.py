"""How long counting a large job takes: the straightforward method against progress-card, cold and warm.

Starts the Hub simulator (tests/hubsim) with some latency, fills a repo with shards, then measures
in child processes, one after another in this run:

- straightforward: list with a fresh HfFileSystem, open each shard and read its footer with
  pyarrow, one after another (what a monitor loop usually does);
- progress-card, cold: an empty state folder;
- progress-card, warm: the state of the cold run, after new shards were added.

Each row gives wall seconds (imports excluded), the HTTP requests the simulator served, the
child's peak memory, and the ratios to the straightforward method.

    python bench/count.py                      # 10,000 shards of 100 rows, 20 ms latency
    python bench/count.py --shards 2000 --latency-ms 5
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPO = "bench/gen"
FOLDER = "data"
LISTING_PAGE = 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shards", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=100)
    parser.add_argument("--new", type=int, default=100, help="shards added before the warm run")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--pool", type=int, help="progress-card's connection pool (default: its own default)")
    parser.add_argument("--measure", choices=["straightforward", "progress-card"], help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    parser.add_argument("--state-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.measure, args.endpoint, args.state_dir, args.pool)
    else:
        compare(args)


def compare(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-count-") as scratch:
        root = Path(scratch) / "hub"
        log = Path(scratch) / "requests.log"
        state = Path(scratch) / "state"
        print(f"writing {args.shards:,} shards of {args.rows} rows...", file=sys.stderr)
        write_shards(root, range(args.shards), args.rows)
        simulator = ["-m", "tests.hubsim", "--root", str(root), "--latency-ms", str(args.latency_ms)]
        sim = subprocess.Popen(
            [sys.executable, *simulator, "--log", str(log)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            env=quiet_environment(),
        )
        try:
            assert sim.stdout is not None
            endpoint = sim.stdout.readline().strip()
            rows = [
                run("straightforward", endpoint, state, log, args.pool),
                run("progress-card, cold", endpoint, state, log, args.pool),
            ]
            write_shards(root, range(args.shards, args.shards + args.new), args.rows)
            rows.append(run("progress-card, warm", endpoint, state, log, args.pool))
        finally:
            sim.terminate()
            sim.wait(timeout=30)
    print_table(rows, args)


def run(name: str, endpoint: str, state: Path, log: Path, pool: int | None) -> dict[str, object]:
    print(f"measuring {name}...", file=sys.stderr)
    before = request_count(log)
    method = "straightforward" if name == "straightforward" else "progress-card"
    done = subprocess.run(
        [sys.executable, __file__, "--measure", method, "--endpoint", endpoint, "--state-dir", str(state)]
        + (["--pool", str(pool)] if pool else []),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env=quiet_environment(endpoint),
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    result["name"] = name
    result["requests"] = request_count(log) - before
    return result


def measure(method: str, endpoint: str, state_dir: str, pool: int | None) -> None:
    """In a child process: count once with `method`; print seconds, documents and peak memory."""
    import pyarrow.parquet as pq
    from huggingface_hub import HfFileSystem

    from progress_card.counting import count_documents
    from progress_card.hub import HubClient
    from progress_card.state import ShardMemory

    started = time.perf_counter()
    if method == "straightforward":
        fs = HfFileSystem(endpoint=endpoint, skip_instance_cache=True)
        documents = 0
        for path in fs.glob(f"datasets/{REPO}/{FOLDER}/**/*.parquet"):
            with fs.open(path, "rb") as file:
                documents += pq.ParquetFile(file).metadata.num_rows
    else:
        client = HubClient(endpoint=endpoint, **({"pool_size": pool} if pool else {}))
        memory = ShardMemory.in_folder(Path(state_dir), f"hf://datasets/{REPO}/{FOLDER}")
        count = count_documents(client.repo(REPO).snapshot(), FOLDER, workers=client.pool_size, memory=memory)
        assert count.complete
        documents = count.documents
    seconds = time.perf_counter() - started
    # VmHWM, not ru_maxrss: ru_maxrss keeps the parent's size from before exec.
    status = Path("/proc/self/status").read_text()
    peak_mb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")) / 1024
    print(json.dumps({"seconds": seconds, "documents": documents, "peak_mb": peak_mb}))


def write_shards(root: Path, indices: range, rows: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = root / "datasets" / REPO / FOLDER
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


def request_count(log: Path) -> int:
    try:
        with log.open(encoding="utf-8") as file:
            return sum(1 for _ in file)
    except FileNotFoundError:
        return 0


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
    from progress_card.hub import HubClient

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
        print(
            f"| {row['name']} | {int(str(row['documents'])):,} | {seconds:.2f} | {requests:,} | "
            f"{float(str(row['peak_mb'])):.1f} | {float(str(base['seconds'])) / seconds:.1f}× faster | "
            f"{requests / int(str(base['requests'])):.3f} |"
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


if __name__ == "__main__":
    main()
