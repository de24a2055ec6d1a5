"""Many jobs over many repos: one update per repo (this tree) against one job at a time (an earlier tree).

10 repos of 5 configs each, 200 shards per config, behind the Hub simulator with 20 ms of latency.
For each tree, in one run, side by side: a fresh copy of the repos, a cold `progress-card update`
(not measured: it fills the state folder and writes the cards), one new shard per config, then the
measured warm update. Each row gives the wall seconds of the warm run, the HTTP requests it made and
the commits it pushed; the commits must equal the number of repos for the per-repo update.

The earlier tree is checked out from git (`--before`, by default the last commit that updated one
job at a time, with one commit per job) into a temporary worktree.

    python bench/repos.py
    python bench/repos.py --repos 4 --configs 3 --shards 50
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "bench")]

from count import quiet_environment, read_log, simulator  # noqa: E402

BEFORE = "e24ec4f"
"""The last commit that updated one job after another, with one commit per job."""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repos", type=int, default=10)
    parser.add_argument("--configs", type=int, default=5)
    parser.add_argument("--shards", type=int, default=200, help="per config")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--before", default=BEFORE, help="the git revision to compare with")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-repos-") as scratch:
        base = Path(scratch)
        print(
            f"writing {args.repos} repos x {args.configs} configs x {args.shards} shards...", file=sys.stderr
        )
        write_repos(base / "hub", args, range(args.shards))
        earlier = base / "before"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(earlier), args.before],
                       check=True, capture_output=True)  # fmt: skip
        try:
            rows = [
                measure(f"one job at a time ({args.before})", earlier, base / "a", args),
                measure("one update per repo (this tree)", ROOT, base / "b", args),
            ]
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(earlier)], check=False
            )
    jobs = args.repos * args.configs
    print(f"{args.repos} repos x {args.configs} configs ({jobs} jobs) x {args.shards} shards, {args.latency_ms:g} ms "
          "latency; warm run after one new shard per config:")  # fmt: skip
    print()
    print("| update | wall (s) | requests | commits |")
    print("|---|---|---|---|")
    for name, seconds, requests, commits in rows:
        print(f"| {name} | {seconds:.1f} | {requests:,} | {commits} |")
    (_, old_s, old_r, _), (_, new_s, new_r, new_c) = rows
    print()
    print(f"per repo / one at a time: wall {new_s / old_s:.2f}x, requests {new_r / old_r:.2f}x; "
          f"commits {new_c} for {args.repos} repos")  # fmt: skip


def write_repos(hub: Path, args: argparse.Namespace, indices: range) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    now = time.time()
    for repo in range(args.repos):
        for config in range(args.configs):
            folder = hub / "datasets" / f"bench/gen{repo}" / ("data" if config == 0 else f"c{config}")
            folder.mkdir(parents=True, exist_ok=True)
            for index in indices:
                buffer = io.BytesIO()
                pq.write_table(pa.table({"id": list(range(100))}), buffer)
                path = folder / f"{index:05d}_00000.parquet"
                path.write_bytes(buffer.getvalue())
                committed = now - (indices.stop - index) * 60
                os.utime(path, (committed, committed))


def manifest(folder: Path, args: argparse.Namespace) -> Path:
    lines = ["jobs:"]
    for repo in range(args.repos):
        for config in range(args.configs):
            name = "default" if config == 0 else f"c{config}"
            lines.append(
                f"  - {{name: r{repo}-{name}, repo: bench/gen{repo}, config: {name}, total: 1000000}}"
            )
    path = folder / "jobs.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def measure(name: str, tree: Path, folder: Path, args: argparse.Namespace) -> tuple[str, float, int, int]:
    """Cold run, one new shard per config, then the warm run: its seconds, requests and commits."""
    print(f"measuring {name}...", file=sys.stderr)
    folder.mkdir()
    hub = folder / "hub"
    shutil.copytree(folder.parent / "hub", hub)
    jobs = manifest(folder, args)
    log = folder / "requests.log"
    with simulator(hub, args.latency_ms, log) as endpoint:
        environment = {**quiet_environment(endpoint), "PYTHONPATH": str(tree / "scripts")}
        command = [sys.executable, "-m", "progress_card", "update", "--jobs", str(jobs), "--state-dir", str(folder / "state")]  # fmt: skip
        cold = subprocess.run(command, capture_output=True, text=True, env=environment, cwd=folder)
        if cold.returncode != 0:
            sys.exit(f"{name}: the cold run failed:\n{cold.stderr[-3000:]}")
        write_repos(hub, args, range(args.shards, args.shards + 1))
        before = len(read_log(log))
        started = time.perf_counter()
        warm = subprocess.run(command, capture_output=True, text=True, env=environment, cwd=folder)
        seconds = time.perf_counter() - started
        if warm.returncode != 0:
            sys.exit(f"{name}: the warm run failed:\n{warm.stderr[-3000:]}")
        served = read_log(log)[before:]
    commits = sum(1 for s in served if s.method == "POST" and "/commit/" in s.target)
    return name, seconds, len(served), commits


if __name__ == "__main__":
    main()
