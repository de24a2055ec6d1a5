"""Jobs waiting in Slurm's queue, and jobs launched as several arrays, on the loopback Slurm: each case
over SSH and with `ssh: local`, with the same expectations. Slurm's times are the real clock's, so each
update's `now` is the real clock's at the moment it runs."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.cards import progress_line
from tests.cluster import LoopbackCluster
from tests.hubsim import HubSim
from tests.support import card, said, ssh_settings, update_at, write_manifest, write_shard

pytestmark = [pytest.mark.cluster, pytest.mark.parametrize("login", ["ssh", "local"])]


def manifest(folder: Path, cluster: LoopbackCluster, login: str, job_ids: str) -> Path:
    ssh = "local" if login == "local" else ssh_settings(cluster, connect_timeout=5)
    return write_manifest(
        folder,
        f"""
        # The team's jobs.
        jobs:
          - name: gen
            repo: acme/gen
            total: 100
            slurm_job_id: {job_ids}
            ssh: {ssh}
        """,
    )


@pytest.fixture
def jobs(cluster: LoopbackCluster) -> Iterator[list[str]]:
    """Slurm jobs the test submits; all cancelled at the end."""
    submitted: list[str] = []
    yield submitted
    for job in submitted:
        cluster.scancel(job)


def test_a_held_job_shows_why_it_waits_instead_of_waiting_for_a_shard(
    hub: HubSim, tmp_path: Path, cluster: LoopbackCluster, jobs: list[str], login: str
) -> None:
    hub.create_repo("acme/gen")  # created by the team beforehand; the job has uploaded nothing
    jobs.append(cluster.sbatch("--hold", wrap="sleep 60"))
    cluster.wait_for(jobs[0], {"PENDING"})
    path = manifest(tmp_path, cluster, login, jobs[0])
    before = path.read_text()

    report = update_at(path, datetime.now(timezone.utc))

    assert report.exit_code == 0, said(report)
    line = progress_line(card(hub))
    assert re.search(r"<br>⏳ pending \(JobHeldUser\) since \w{3} \d\d \d{4}, \d\d:\d\d UTC$", line), line
    assert "pending (JobHeldUser) since " in said(report).splitlines()[-1]
    assert path.read_text() == before


def test_a_requeued_job_that_uploaded_before_is_pending_not_stalled_and_never_finished(
    hub: HubSim,
    tmp_path: Path,
    cluster: LoopbackCluster,
    jobs: list[str],
    login: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="progress_card")
    for index in range(3):  # uploaded hours ago: without the queue's word, a stall
        write_shard(
            hub.repo_dir("acme/gen") / "data" / f"{index:05d}.parquet", 10, mtime=1_700_000_000 + index * 60
        )
    jobs.append(cluster.sbatch("--requeue", wrap="sleep 60"))
    cluster.wait_for(jobs[0], {"RUNNING"})
    cluster.requeue(jobs[0])
    cluster.wait_for(jobs[0], {"PENDING"})
    path = manifest(tmp_path, cluster, login, jobs[0])
    before = path.read_text()

    report = update_at(path, datetime.now(timezone.utc))

    assert report.exit_code == 0, said(report)
    line = progress_line(card(hub))
    assert re.search(r"30% • 30/100 docs<br>⏳ requeued, pending( \(\w+\))?$", line), line
    assert "no new shards" not in said(report) + caplog.text
    assert path.read_text() == before  # not marked finished


def test_a_job_of_two_arrays_runs_while_either_runs_and_ends_when_both_have(
    hub: HubSim,
    tmp_path: Path,
    cluster: LoopbackCluster,
    jobs: list[str],
    login: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="progress_card")
    write_shard(hub.repo_dir("acme/gen") / "data" / "00000_00000.parquet", 40)
    jobs.append(cluster.sbatch("--array=0-1", wrap="true"))
    jobs.append(cluster.sbatch("--array=0-1", wrap="sleep 60"))
    cluster.wait_for(jobs[0], lambda states: states == [] or set(states) == {"COMPLETED"})
    cluster.wait_for(jobs[1], {"RUNNING"})
    path = manifest(tmp_path, cluster, login, json.dumps(jobs))

    running = update_at(path, datetime.now(timezone.utc))

    assert running.exit_code == 0, said(running)
    assert "stopped" not in said(running).splitlines()[-1] and "marked" not in said(running) + caplog.text
    cluster.scancel(jobs[1])
    cluster.wait_for(jobs[1], lambda states: states == [] or set(states) == {"CANCELLED"})

    ended = update_at(path, datetime.now(timezone.utc))

    assert ended.exit_code == 0, said(ended)
    summary = said(ended).splitlines()[-1]
    assert f"Slurm jobs {jobs[0]} and {jobs[1]}" in summary and "marked" in summary
    assert "outcome: failed" in path.read_text() or "outcome: stopped" in path.read_text()


def test_a_job_whose_dependency_failed_is_said_never_to_start(
    hub: HubSim, tmp_path: Path, cluster: LoopbackCluster, jobs: list[str], login: str
) -> None:
    hub.create_repo("acme/gen")
    jobs.append(cluster.sbatch(wrap="exit 3"))
    jobs.append(cluster.sbatch(f"--dependency=afterok:{jobs[0]}", wrap="true"))
    cluster.wait_for(jobs[0], lambda states: states in ([], ["FAILED"]))
    cluster.wait_for_reason(jobs[1], "DependencyNeverSatisfied")
    path = manifest(tmp_path, cluster, login, jobs[1])

    report = update_at(path, datetime.now(timezone.utc))

    assert report.exit_code == 0, said(report)
    assert progress_line(card(hub)).endswith(
        "<br>⚠️ never starts: a job it depends on failed (DependencyNeverSatisfied)"
    )
    assert f"Slurm job {jobs[1]} will never start" in said(report)
