"""Stopping the updater: SIGTERM lets the write under way finish; SIGKILL, at any moment, leaves
jobs.yaml and the state folder readable, with the old content or the new, never half of either."""

from __future__ import annotations

import json
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from progress_card.manifest import load_manifest
from progress_card.options import REPOS_AT_ONCE
from tests.hubsim import HubSim
from tests.support import environment, write_manifest, write_shard

STATS = json.dumps([{"name": "inference", "stats": {"documents_processed": 10}}])
MARK = re.compile(r', finished: true, outcome: completed, finished_at: "[^"]+", final_count: \d+')


def completed_jobs(folder: Path, count: int, repo: str | None = None) -> Path:
    """`count` jobs whose stats.json exists: each run marks them one after the other."""
    (folder / "stats.json").write_text(STATS)
    entries = []
    for index in range(count):
        where = f"repo: {repo}, config: c{index}" if repo else f"output: ./out{index}"
        entries.append(
            f"  # job number {index}\n  - {{name: job{index}, {where}, total: 10, stats_path: 'file://{folder}/stats.json'}}\n"
        )
        if not repo:
            write_shard(folder / f"out{index}" / "data" / "0.parquet", 10)
    return write_manifest(folder, "# Jobs\njobs:\n" + "\n".join(entries))


def check_manifest(path: Path, original: str) -> int:
    """jobs.yaml is whole: the original with some jobs marked (in order); returns how many."""
    jobs = load_manifest(path).jobs
    marked = [job.finished is not None for job in jobs]
    assert marked == sorted(marked, reverse=True), marked  # marks only ever added in job order
    assert MARK.sub("", path.read_text()) == original  # nothing but whole marks was added
    return sum(marked)


def check_state(folder: Path) -> None:
    for state_file in folder.rglob("*.json"):
        json.loads(state_file.read_text())  # a state file is whole, or absent


def test_sigkill_while_marking_never_leaves_half_a_file(tmp_path: Path) -> None:
    """Kill a process that keeps marking jobs and saving state, at random moments, many times."""
    driver = """
import sys
from datetime import datetime, timezone
from pathlib import Path
from progress_card.editing import Mark, mark_file
from progress_card.storage.memory import Known, ShardMemory
from progress_card.storage import Shard
jobs, state = Path(sys.argv[1]), Path(sys.argv[2])
memory = ShardMemory.in_folder(state, "file:///data")
shards = [Shard(f"data/{i}.parquet", i, f"id-{i}") for i in range(400)]
print("ready", flush=True)
for index in range(20):
    mark_file(jobs, [Mark(f"job{index}", "completed", datetime.now(timezone.utc), index)])
    for shard in shards[: 200 + index]:
        memory.learn(shard, Known(index, None))
    memory.save()
"""
    rng = random.Random(7)
    outcomes = []
    for kill_point in range(40):
        folder = tmp_path / f"run{kill_point}"
        folder.mkdir()
        jobs = completed_jobs(folder, 20)
        original = jobs.read_text()
        process = subprocess.Popen(
            [sys.executable, "-c", driver, str(jobs), str(folder / "state")],
            stdout=subprocess.PIPE,
            env=environment(),
        )
        assert process.stdout is not None and process.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0, 0.6))
        process.send_signal(signal.SIGKILL)
        process.wait()
        process.stdout.close()
        outcomes.append(check_manifest(jobs, original))
        check_state(folder / "state")
    assert len(set(outcomes)) > 8, outcomes  # the kills did land at many different points


@pytest.fixture
def slow_hub(hub: HubSim) -> HubSim:
    hub.latency_ms = 60
    return hub


def test_sigkill_of_the_updater_at_random_points(slow_hub: HubSim, tmp_path: Path) -> None:
    rng = random.Random(11)
    for index in range(5):
        write_shard(slow_hub.repo_dir("acme/gen") / f"c{index}" / "0.parquet", 10)
    seen = []
    for kill_point in range(5):
        folder = tmp_path / f"run{kill_point}"
        folder.mkdir()
        jobs = completed_jobs(folder, 5, repo="acme/gen")
        original = jobs.read_text()
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "progress_card",
                "update",
                "--jobs",
                str(jobs),
                "--state-dir",
                str(folder / "state"),
            ],
            env=environment(),
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(1.0, 4.0))
        process.send_signal(signal.SIGKILL)
        process.wait()
        seen.append(check_manifest(jobs, original))
        check_state(folder / "state")
    assert max(seen) > 0


def test_sigterm_lets_the_pushes_under_way_finish_then_stops(slow_hub: HubSim, tmp_path: Path) -> None:
    repos = REPOS_AT_ONCE + 2  # the last two pushes wait for a free slot: they never start
    for index in range(repos):
        write_shard(slow_hub.repo_dir(f"acme/gen{index}") / "data" / "0.parquet", 10)
    jobs = write_manifest(
        tmp_path,
        "jobs:\n" + "".join(f"  - {{name: job{i}, repo: acme/gen{i}, total: 100}}\n" for i in range(repos)),
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "progress_card", "update", "--jobs", str(jobs)],
        env=environment(),
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not any("/preupload/" in r.path for r in slow_hub.requests) and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)

    assert process.returncode == 143, stderr
    summaries = stderr.splitlines()[-repos:]
    pushed = [line.split(":")[0] for line in summaries if line.endswith("card pushed")]
    stopped = [line.split(":")[0] for line in summaries if line.endswith("not updated: the run was stopped")]
    assert pushed and sorted(pushed + stopped) == sorted(f"job{i}" for i in range(repos)), summaries
    assert {f"job{repos - 2}", f"job{repos - 1}"} <= set(stopped)
    assert "received signal 15: saving what was counted, finishing writes under way, then stopping" in stderr
    for name in pushed:
        assert len(slow_hub.commits(f"acme/gen{name.removeprefix('job')}")) == 1
    for name in stopped:
        assert not slow_hub.commits(f"acme/gen{name.removeprefix('job')}")
    assert not any(f"acme/gen{repos - 1}/preupload" in r.path for r in slow_hub.requests)
