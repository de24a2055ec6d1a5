"""The ETA scenarios end to end: shards back-dated on the Hub simulator, one update run at the scenario's
`now` (at the real clock's for a job running on the loopback Slurm, whose times are real)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from progress_card.model import Arrival
from tests.cluster import LoopbackCluster
from tests.hubsim import HubSim
from tests.scenarios import NOW, Scenario, parallel_scenarios, scenarios
from tests.support import card, said, ssh_settings, update_at, write_manifest, write_shard

TOLERANCE = {
    "constant rate for 10 h, seen at hour 10": 0.10,
    "slow first hour, then steady for 5 h": 0.10,
    "steady 4 h, a 5 h gap, steady 2 h": 0.15,
    "rate doubled 3 h ago": 0.15,
}


def upload(hub: HubSim, scenario: Scenario) -> None:
    """Each shard at its commit time: under datatrove's name where the scenario has one."""
    for index, arrival in enumerate(scenario.arrivals):
        path = arrival.path or f"data/{index:05d}.parquet"
        write_shard(hub.repo_dir("acme/gen") / path, arrival.rows, arrival.at.timestamp())


def remaining(summary: str) -> timedelta:
    match = re.search(r"ETA (?:(\d+)h)? ?(?:(\d+)m)?,", summary)
    assert match, summary
    return timedelta(hours=int(match.group(1) or 0), minutes=int(match.group(2) or 0))


def card_lines(hub: HubSim) -> list[str]:
    text = card(hub)
    return text.split("## 🔄 Generation Progress\n\n", 1)[1].split("\n\n*Last updated", 1)[0].split("\n\n")


@pytest.mark.parametrize("name", list(TOLERANCE), ids=["constant", "warm-up", "restart-gap", "rate-doubled"])
def test_the_first_look_gives_an_eta_within_tolerance(hub: HubSim, tmp_path: Path, name: str) -> None:
    [scenario] = [s for s in scenarios(NOW) if s.name == name]
    assert scenario.truth is not None
    upload(hub, scenario)
    jobs = write_manifest(tmp_path, f"jobs: [{{name: gen, repo: acme/gen, total: {scenario.total}}}]")

    report = update_at(jobs, scenario.now)

    assert report.exit_code == 0, said(report)
    error = abs(remaining(said(report).splitlines()[-1]) - scenario.truth) / scenario.truth
    assert error <= TOLERANCE[name], said(report)
    progress, rate = card_lines(hub)
    assert progress.startswith("**default**: [") and " remaining • 📅 " in progress
    assert rate.startswith("<!-- progress-card:rate default -->≈ ")
    assert re.search(r" docs/h • last 24 h: [▁▂▃▄▅▆▇█]{24}$", rate)


FIRST_WAVE = "64 tasks, after the first wave (15 min)"
PARALLEL_TOLERANCE = {
    "64 tasks, after two waves (30 min)": 0.20,
    "200 tasks on 50 workers, at 1 h": 0.15,
    "64 tasks, 2 h chunks, between waves (5.2 h)": 0.12,
}


@pytest.mark.parametrize("name", list(PARALLEL_TOLERANCE), ids=["two-waves", "rounds", "long-chunks"])
def test_a_parallel_job_seen_for_the_first_time_gets_an_eta_within_its_target(
    hub: HubSim, tmp_path: Path, name: str
) -> None:
    [scenario] = [s for s in parallel_scenarios(NOW) if s.name == name]
    assert scenario.truth is not None and scenario.rate is not None
    upload(hub, scenario)
    jobs = write_manifest(tmp_path, f"jobs: [{{name: gen, repo: acme/gen, total: {scenario.total}}}]")

    report = update_at(jobs, scenario.now)

    assert report.exit_code == 0, said(report)
    summary = said(report).splitlines()[-1]
    assert "no new shards" not in summary
    error = abs(remaining(summary) - scenario.truth) / scenario.truth
    assert error <= PARALLEL_TOLERANCE[name], said(report)
    _, rate = card_lines(hub)
    shown = int(re.sub(r"[^0-9]", "", rate.split("≈ ", 1)[1].split(" docs/h", 1)[0].split(" (")[0]))
    assert abs(shown - scenario.rate) / scenario.rate <= 0.25


def test_after_the_first_wave_the_card_says_it_is_still_estimating(hub: HubSim, tmp_path: Path) -> None:
    [scenario] = [s for s in parallel_scenarios(NOW) if s.name == FIRST_WAVE]
    upload(hub, scenario)
    jobs = write_manifest(tmp_path, f"jobs: [{{name: gen, repo: acme/gen, total: {scenario.total}}}]")

    report = update_at(jobs, scenario.now)

    assert report.exit_code == 0, said(report)
    assert (scenario.done, scenario.total) == (3_200, 64_000)  # one chunk from each of the 64 tasks
    assert card_lines(hub) == [
        "**default**: [●○○○○○○○○○○○○○○○○○○○] 5% • 3,200/64,000 docs<br>⏱️ estimating time remaining..."
    ]  # and no docs/h line


@pytest.mark.cluster
def test_a_running_job_without_new_shards_for_hours_is_reported_stalled(
    hub: HubSim, tmp_path: Path, cluster: LoopbackCluster
) -> None:
    job = cluster.sbatch(wrap="sleep 120")
    try:
        cluster.wait_for(job, {"RUNNING"})
        now = datetime.now(timezone.utc)  # Slurm's clock: the job started moments ago
        [scenario] = [s for s in scenarios(now) if s.truth is None]
        upload(hub, scenario)
        ssh = ssh_settings(cluster)
        jobs = write_manifest(
            tmp_path,
            f"jobs: [{{name: gen, repo: acme/gen, total: {scenario.total}, slurm_job_id: {job}, ssh: {ssh}}}]",
        )

        report = update_at(jobs, now)
    finally:
        cluster.scancel(job)

    assert report.exit_code == 0, said(report)
    last_upload = scenario.arrivals[-1].at.strftime("%b %d %Y, %H:%M UTC")
    summary = said(report).splitlines()[-1]
    assert "ETA" not in summary
    assert f"no new shards since {last_upload} (more than 1h without one)" in summary
    assert card_lines(hub)[0].endswith(f"<br>⚠️ no new shards since {last_upload}")


def started_at(scenario: Scenario, start: datetime) -> Scenario:
    """The scenario moved in time so that its job starts at `start`."""
    assert scenario.started is not None
    shift = start - scenario.started
    arrivals = tuple(Arrival(a.at + shift, a.rows, a.path) for a in scenario.arrivals)
    return replace(scenario, arrivals=arrivals, now=scenario.now + shift, started=start)


def datatrove_logging_dir(folder: Path, scenario: Scenario) -> Path:
    """The logging folder datatrove writes at launch: executor.json and ranks_to_run.json."""
    assert scenario.job is not None
    folder.mkdir(parents=True)
    workers = scenario.job.workers if scenario.job.workers < scenario.job.tasks else -1
    executor = {
        "world_size": scenario.job.tasks,
        "tasks": scenario.job.tasks,
        "workers": workers,
        "job_id": None,
    }
    (folder / "executor.json").write_text(json.dumps(executor))
    (folder / "ranks_to_run.json").write_text(json.dumps(list(range(scenario.job.tasks))))
    return folder


@pytest.mark.cluster
@pytest.mark.parametrize(
    ("name", "verdict"),
    [
        (FIRST_WAVE, "eta"),
        ("64 tasks, 2 h chunks, after the first wave (3 h)", "eta"),
        ("64 tasks, 2 h chunks, between waves (5.2 h)", "eta"),
        ("64 tasks, uploads stop at 2 h, seen at 4 h", "stall"),
    ],
    ids=["first-wave", "long-first-wave", "between-waves", "waves-stopped"],
)
def test_with_slurm_and_the_logging_folder_the_card_is_right_from_the_first_wave(
    hub: HubSim, tmp_path: Path, cluster: LoopbackCluster, name: str, verdict: str
) -> None:
    job = cluster.sbatch(wrap="sleep 300")
    try:
        cluster.wait_for(job, {"RUNNING"})
        start = cluster.start_time(job)
        [looked] = [s for s in parallel_scenarios(NOW) if s.name == name]
        scenario = started_at(looked, start)  # the job's shards, as if this Slurm job had written them
        upload(hub, scenario)
        logs = datatrove_logging_dir(cluster.shared_dir / f"logs-{job}", scenario)
        jobs = write_manifest(
            tmp_path,
            f"""jobs: [{{name: gen, repo: acme/gen, total: {scenario.total}, slurm_job_id: "{job}",
                logging_dir: "{logs}", ssh: {ssh_settings(cluster)}}}]""",
        )

        [report] = update_at(jobs, scenario.now).jobs
    finally:
        cluster.scancel(job)

    progress, *rate = card_lines(hub)
    if verdict == "stall":
        last_upload = scenario.arrivals[-1].at.strftime("%b %d %Y, %H:%M UTC")
        assert progress.endswith(f"<br>⚠️ no new shards since {last_upload}") and not rate
        assert any(f"no new shards since {last_upload}" in warning for warning in report.warnings)
        return
    eta = report.progress.eta if report.progress is not None else None
    assert scenario.truth is not None and scenario.rate is not None and eta is not None
    assert abs(eta.remaining - scenario.truth) / scenario.truth <= 0.25
    assert " remaining • 📅 " in progress and "no new shards" not in progress
    shown = int(re.sub(r"[^0-9]", "", rate[0].split("≈ ", 1)[1].split(" docs/h", 1)[0].split(" (")[0]))
    assert abs(shown - scenario.rate) / scenario.rate <= 0.25
