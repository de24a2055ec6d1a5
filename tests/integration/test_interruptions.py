"""Stopping the updater: SIGTERM lets the write under way finish; SIGKILL, at any moment, leaves
jobs.yaml and the state folder readable, with the old content or the new, never half of either."""

from __future__ import annotations

import json
import random
import re
import signal
import subprocess
import sys
import threading
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
        where = f"repo: {repo}, config: c{index}" if repo else f"repo: ./out{index}"
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
    """Kill a process that keeps marking jobs and saving state, during its k-th file write, for many k."""
    driver = """
import sys
from datetime import datetime, timezone
from pathlib import Path
import progress_card.editing, progress_card.state_files
from progress_card.editing import Mark, mark_file
from progress_card.storage.memory import Known, ShardMemory
from progress_card.storage import Shard

def reported(write):
    def write_reporting(path, data):
        print("writing", path.name, flush=True)  # the test kills once it has read as many lines as it chose
        write(path, data)
    return write_reporting

for module in (progress_card.editing, progress_card.state_files):
    module.write_atomically = reported(module.write_atomically)
jobs, state = Path(sys.argv[1]), Path(sys.argv[2])
memory = ShardMemory.in_folder(state, "file:///data")
shards = [Shard(f"data/{i}.parquet", i, f"id-{i}") for i in range(400)]
print("ready", flush=True)
sys.stdin.readline()  # started ahead of its turn: waits for the test's go
for index in range(20):
    mark_file(jobs, [Mark(f"job{index}", "completed", datetime.now(timezone.utc), index)])
    for shard in shards[: 200 + index]:
        memory.learn(shard, Known(index, None))
    memory.save()
"""
    writes = 40  # the driver writes jobs.yaml, then its state file, 20 times
    kill_points = 24
    rng = random.Random(7)

    def start(kill_point: int) -> tuple[subprocess.Popen[bytes], Path, str]:
        folder = tmp_path / f"run{kill_point}"
        folder.mkdir()
        jobs = completed_jobs(folder, 20)
        process = subprocess.Popen(
            [sys.executable, "-c", driver, str(jobs), str(folder / "state")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=environment(),
        )
        return process, folder, jobs.read_text()

    outcomes = []
    upcoming = start(0)
    for kill_point in range(kill_points):
        process, folder, original = upcoming
        if kill_point + 1 < kill_points:  # the next one starts up meanwhile: start-up takes longer than a run
            upcoming = start(kill_point + 1)
        assert process.stdin is not None and process.stdout is not None
        assert process.stdout.readline() == b"ready\n"
        process.stdin.write(b"go\n")
        process.stdin.flush()
        for _ in range(rng.randint(0, writes)):  # 0: before the first write; k: while the k-th is made
            assert process.stdout.readline().startswith(b"writing ")
        process.send_signal(signal.SIGKILL)
        process.wait()
        process.stdin.close()
        process.stdout.close()
        outcomes.append(check_manifest(folder / "jobs.yaml", original))
        check_state(folder / "state")
    assert len(set(outcomes)) > 8, outcomes  # the kills did land at many different points


@pytest.fixture
def slow_hub(hub: HubSim) -> HubSim:
    hub.latency_ms = 60
    return hub


def kill_at_request(process: subprocess.Popen[bytes], hub: HubSim, count: int) -> None:
    """SIGKILL `process` once the Hub has received its `count`-th request (recorded just before it is
    answered), or, when the run makes fewer, once it has ended (closed its stderr)."""
    ended = threading.Event()

    def watch_the_end() -> None:
        assert process.stderr is not None
        for _ in process.stderr:  # read to the end: the run closes it when it exits (or is killed)
            pass
        ended.set()
        hub.wake()

    watcher = threading.Thread(target=watch_the_end, daemon=True)
    watcher.start()
    reached = hub.wait_for(lambda requests: len(requests) >= count or ended.is_set(), timeout=60)
    process.send_signal(signal.SIGKILL)
    process.wait()
    watcher.join()
    assert process.stderr is not None
    process.stderr.close()
    hub.wait_idle()  # the request the run was killed in is recorded now, not during the next run
    assert reached, f"neither {count} requests nor the end of the run within 60 s"


def test_sigkill_of_the_updater_at_random_points(slow_hub: HubSim, tmp_path: Path) -> None:
    rng = random.Random(11)
    for index in range(5):
        write_shard(slow_hub.repo_dir("acme/gen") / f"c{index}" / "0.parquet", 10)
    seen = []
    for kill_point in range(5):
        # one kill point in each fifth of 1..20, so that they spread over the run's requests (16 when it
        # pushes the card, 13 when the card is already up to date) and the last lands after its end
        count = rng.randint(4 * kill_point + 1, 4 * kill_point + 4)
        folder = tmp_path / f"run{kill_point}"
        folder.mkdir()
        jobs = completed_jobs(folder, 5, repo="acme/gen")
        original = jobs.read_text()
        slow_hub.clear_requests()
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
            stderr=subprocess.PIPE,
        )
        kill_at_request(process, slow_hub, count)
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
    pushing = slow_hub.wait_for(lambda requests: any("/preupload/" in r.path for r in requests), timeout=60)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)

    assert pushing, stderr
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


def test_two_runs_marking_one_jobs_yaml_at_once_lose_no_mark(tmp_path: Path) -> None:
    """As `update --only a` and `update --only b` started together by cron: two processes, each marking
    its own job, released at the same moment, 20 times over."""
    driver = """
import sys
from datetime import datetime, timezone
from pathlib import Path
from progress_card.editing import Mark, mark_file

print("ready", flush=True)
for path in sys.stdin:  # one jobs.yaml a round, given to both at once
    mark_file(Path(path.strip()), [Mark(sys.argv[1], "completed", datetime.now(timezone.utc), 10)])
    print("marked", flush=True)
"""
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", driver, name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=environment(),
        )
        for name in ("job0", "job1")
    ]
    for run in runs:
        assert run.stdout is not None and run.stdout.readline() == b"ready\n"
    marked = []
    for round_ in range(20):
        folder = tmp_path / f"round{round_}"
        folder.mkdir()
        jobs = completed_jobs(folder, 2)
        for run in runs:
            assert run.stdin is not None
            run.stdin.write(f"{jobs}\n".encode())
        for run in runs:
            assert run.stdin is not None
            run.stdin.flush()
        for run in runs:
            assert run.stdout is not None and run.stdout.readline() == b"marked\n"
        marked.append(sum(job.finished is not None for job in load_manifest(jobs).jobs))
    for run in runs:
        assert run.stdin is not None and run.stdout is not None
        run.stdin.close()
        run.wait()
        run.stdout.close()
    assert marked == [2] * 20
