"""What datatrove's logging folder knows, read over SSH from a real sshd and Slurm on loopback: done
when every task is, tasks left unfinished named with their logs, tokens as they come, an unsafe
resume. Through the core; Slurm's times are the real clock's, so `now` is taken as each run starts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from progress_card.model import TaskFigures
from progress_card.redaction import Redactor
from progress_card.report import Report
from progress_card.telling import Audience, GitHubRepository, Notifier
from tests.cards import progress_line
from tests.cluster import LoopbackCluster
from tests.datatrove_folder import executor_json, output_shards, write_logging_folder
from tests.ghsim import REPOSITORY, TOKEN, GitHubSim, Receiver
from tests.hubsim import HubSim
from tests.support import card, said, ssh_settings, update_at, write_manifest

pytestmark = pytest.mark.cluster

SECRET = "hf_TaskLogTokenThatMustNeverBePosted"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as server:
        yield server


@pytest.fixture
def job(cluster: LoopbackCluster) -> Iterator[str]:
    """A Slurm job of the generation, running until the test cancels it."""
    started = cluster.sbatch(wrap="sleep 120")
    cluster.wait_for(started, {"RUNNING"})
    yield started
    cluster.scancel(started)


def uploaded(hub: HubSim, shards: int, rows: int = 10) -> None:
    """Shards of 8 tasks in default/, one every 5 minutes up to now."""
    output_shards(
        hub.repo_dir("acme/gen") / "default",
        datetime.now(timezone.utc),
        shards,
        rows=rows,
        every=timedelta(minutes=5),
    )


def following(tmp_path: Path, cluster: LoopbackCluster, job: str, logs: Path, total: int = 1000) -> Path:
    return write_manifest(
        tmp_path,
        f"jobs: [{{name: gen, repo: acme/gen, total: {total}, slurm_job_id: {job}, logging_dir: {logs}, "
        f"ssh: {ssh_settings(cluster, connect_timeout=5)}}}]",
    )


def ended(cluster: LoopbackCluster, job: str) -> None:
    cluster.scancel(job)
    cluster.wait_gone(job, timeout=60)


def now() -> datetime:
    return datetime.now(timezone.utc)


def last(report: Report) -> str:
    return said(report).splitlines()[-1]


def finished_tasks(report: Report) -> tuple[TaskFigures, ...]:
    """The tasks whose stats file the run read (those not summed by an earlier run)."""
    [row] = report.jobs
    assert row.progress is not None
    return row.progress.verdict.finished_tasks


def test_every_rank_complete_without_stats_json_is_complete_with_the_summed_figures(
    hub: HubSim, cluster: LoopbackCluster, tmp_path: Path, job: str
) -> None:
    uploaded(hub, 40)
    finished = now() - timedelta(minutes=60)
    stats = {rank: (50, 5_000, 15_000, finished + timedelta(minutes=5 * rank)) for rank in range(8)}
    logs = write_logging_folder(
        cluster.shared_dir / f"logs-{job}", 8, completed=range(6), stats=dict(list(stats.items())[:6])
    )
    jobs = following(tmp_path, cluster, job, logs, total=400)
    running = update_at(jobs, now())
    assert (
        last(running) == "gen: 400/400 docs (100%), tasks 6/8, card pushed"
    )  # every document, not every task
    assert " • tasks 6/8 • 90K tokens (≈ 180K/h)<br>" in progress_line(card(hub))  # 5 tasks in 25 minutes

    # The last two tasks finish; the merge job that writes stats.json never runs (its coordinator died).
    write_logging_folder(logs, 8, completed=range(8), stats=stats)
    ended(cluster, job)
    report = update_at(jobs, now())

    assert last(report) == (
        "gen: 400/400 docs (100%), tasks 8/8, completed (all 8 tasks completed; stats.json not written), "
        "card pushed, marked completed in jobs.yaml"
    )
    text = card(hub)
    assert progress_line(text).endswith("<br>✅ Complete")
    assert (
        "Final figures of **default**, summed from the 8 per-task stats files (stats.json was not written):"
        in text
    )
    assert "| Documents processed | 400 |" in text and "| Total completion tokens | 120,000 |" in text
    assert "outcome: completed" in jobs.read_text()
    assert [len(finished_tasks(r)) for r in (running, report)] == [6, 2]  # each stats file read once


def test_a_job_that_ended_with_ranks_unfinished_names_them_and_quotes_their_logs(
    hub: HubSim, cluster: LoopbackCluster, tmp_path: Path, job: str, github: GitHubSim, receiver: Receiver
) -> None:
    uploaded(hub, 40)
    unfinished = (3, 17, 18, 40, 41, 42, 43, 50, 51, 60, 61, 63)
    log = "\n".join([f"2026-12-05 10:{minute:02d}:00 | INFO | still going" for minute in range(25)])
    tail = f"{log}\nHF_TOKEN={SECRET}\nRuntimeError: CUDA error: an illegal memory access was encountered"
    logs = write_logging_folder(
        cluster.shared_dir / f"logs-{job}",
        64,
        completed=[rank for rank in range(64) if rank not in unfinished],
        logs={rank: tail for rank in unfinished},
    )
    jobs = following(tmp_path, cluster, job, logs)
    audience = Audience(
        GitHubRepository(github.url, REPOSITORY, TOKEN), Notifier([receiver.url]), tmp_path / "state",
        redact=Redactor([SECRET]),
    )  # fmt: skip
    update_at(jobs, now(), audience=audience)
    ended(cluster, job)

    report = update_at(jobs, now(), audience=audience)

    why = f"12 of 64 tasks unfinished (ranks 3, 17, 18, …); Slurm job {job} is no longer in the queue"
    assert f"stopped ({why}), card pushed, marked stopped in jobs.yaml" in last(report)
    assert progress_line(card(hub)).endswith(f"<br>⚠️ stopped at 40%: {why}")
    [issue] = github.open_issues()
    assert issue.title == f"⚠️ gen: stopped at 40% ({why})"
    assert (
        "datatrove runs only the unfinished ranks" in issue.body
        and "progress-card relaunch gen" in issue.body
    )
    quoted = [
        rank for rank in unfinished if f"<code>logs/task_{rank:05d}.log</code> (rank {rank})" in issue.body
    ]
    assert quoted == [3, 17, 18, 40, 41]  # the first five
    assert issue.body.count("RuntimeError: CUDA error: an illegal memory access was encountered") == 5
    assert "10:06:00 | INFO" not in issue.body and "10:07:00 | INFO" in issue.body  # the last 20 lines
    assert SECRET not in issue.body and "HF_TOKEN=***" in issue.body
    assert [m["title"] for m in receiver.messages] == [issue.title]


def test_tokens_grow_run_by_run_and_only_the_new_stats_files_are_read(
    hub: HubSim, cluster: LoopbackCluster, tmp_path: Path, job: str
) -> None:
    uploaded(hub, 24)
    start = now() - timedelta(hours=1)
    stats = {rank: (30, 3_000, 9_000, start + timedelta(minutes=20 * rank)) for rank in range(4)}
    logs = write_logging_folder(cluster.shared_dir / f"logs-{job}", 8, completed=(0,), stats={0: stats[0]})
    jobs = following(tmp_path, cluster, job, logs)

    first = update_at(jobs, now())
    assert " • tasks 1/8 • 9.0K tokens<br>" in progress_line(card(hub))  # one task: no rate yet
    write_logging_folder(logs, 8, completed=range(4), stats=stats)
    second = update_at(jobs, now())

    assert " • tasks 4/8 • 36K tokens (≈ 27K/h)<br>" in progress_line(card(hub))  # 3 tasks in an hour
    assert [[task.rank for task in finished_tasks(r)] for r in (first, second)] == [[0], [1, 2, 3]]


def test_a_relaunch_with_another_number_of_tasks_says_so_and_opens_one_incident(
    hub: HubSim, cluster: LoopbackCluster, tmp_path: Path, job: str, github: GitHubSim
) -> None:
    uploaded(hub, 24)
    logs = write_logging_folder(cluster.shared_dir / f"logs-{job}", 64, completed=range(20))
    jobs = following(tmp_path, cluster, job, logs)
    audience = Audience(GitHubRepository(github.url, REPOSITORY, TOKEN), Notifier([]), tmp_path / "state")
    update_at(jobs, now(), audience=audience)
    assert github.open_issues() == []

    # Relaunched with 128 tasks: datatrove rewrites executor.json and runs the ranks not completed.
    relaunched = cluster.sbatch(wrap="sleep 120")
    try:
        cluster.wait_for(relaunched, {"RUNNING"})
        (logs / "executor.json").write_text(executor_json(128))
        (logs / "ranks_to_run.json").write_text(json.dumps(list(range(20, 128))))
        jobs = following(tmp_path, cluster, relaunched, logs)
        report = update_at(jobs, now(), audience=audience)
        again = update_at(jobs, now() + timedelta(minutes=5), audience=audience)
    finally:
        cluster.scancel(relaunched)

    unsafe = (
        "gen was relaunched with 128 tasks instead of 64: completed ranks are skipped while their input slices "
        "changed; cancel it and relaunch with 64 tasks"
    )
    assert unsafe in said(report) and unsafe in said(again)
    assert progress_line(card(hub)).endswith(f"<br>⚠️ {unsafe}")
    [issue] = github.issues
    assert issue.title == f"⚠️ {unsafe}" and issue.state == "open"
