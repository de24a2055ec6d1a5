"""The ETA scenarios end to end: shards back-dated on the Hub simulator, `progress-card update` run once."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from progress_card.cli import main
from tests.cluster import LoopbackCluster
from tests.hubsim import HubSim
from tests.scenarios import Scenario, scenarios
from tests.support import ssh_settings, write_manifest, write_shard

TOLERANCE = {
    "constant rate for 10 h, seen at hour 10": 0.10,
    "slow first hour, then steady for 5 h": 0.10,
    "steady 4 h, a 5 h gap, steady 2 h": 0.15,
    "rate doubled 3 h ago": 0.15,
}


def upload(hub: HubSim, scenario: Scenario) -> None:
    for index, arrival in enumerate(scenario.arrivals):
        write_shard(
            hub.repo_dir("acme/gen") / "data" / f"{index:05d}.parquet", arrival.rows, arrival.at.timestamp()
        )


def update(jobs: Path) -> Result:
    return CliRunner().invoke(main, ["update", "--jobs", str(jobs)], catch_exceptions=False)


def remaining(summary: str) -> timedelta:
    match = re.search(r"ETA (?:(\d+)h)? ?(?:(\d+)m)?,", summary)
    assert match, summary
    return timedelta(hours=int(match.group(1) or 0), minutes=int(match.group(2) or 0))


def card_lines(hub: HubSim) -> list[str]:
    text = (hub.repo_dir("acme/gen") / "README.md").read_text()
    return text.split("## 🔄 Generation Progress\n\n", 1)[1].split("\n\n*Last updated", 1)[0].split("\n\n")


@pytest.mark.parametrize("name", list(TOLERANCE), ids=["constant", "warm-up", "restart-gap", "rate-doubled"])
def test_the_first_look_gives_an_eta_within_tolerance(hub: HubSim, tmp_path: Path, name: str) -> None:
    [scenario] = [s for s in scenarios(datetime.now(timezone.utc)) if s.name == name]
    assert scenario.truth is not None
    upload(hub, scenario)
    jobs = write_manifest(tmp_path, f"jobs: [{{name: gen, repo: acme/gen, total: {scenario.total}}}]")

    result = update(jobs)

    assert result.exit_code == 0, result.stderr
    error = abs(remaining(result.stderr.splitlines()[-1]) - scenario.truth) / scenario.truth
    assert error <= TOLERANCE[name], result.stderr
    progress, rate = card_lines(hub)
    assert progress.startswith("**default**: [") and " remaining • 📅 " in progress
    assert rate.startswith("<!-- progress-card:rate default -->≈ ")
    assert re.search(r" docs/h • last 24 h: [▁▂▃▄▅▆▇█]{24}$", rate)


@pytest.mark.cluster
def test_a_running_job_without_new_shards_for_hours_is_reported_stalled(
    hub: HubSim, tmp_path: Path, cluster: LoopbackCluster
) -> None:
    [scenario] = [s for s in scenarios(datetime.now(timezone.utc)) if s.truth is None]
    upload(hub, scenario)
    job = cluster.sbatch(wrap="sleep 120")
    try:
        cluster.wait_for(job, {"RUNNING"})
        ssh = ssh_settings(cluster)
        jobs = write_manifest(
            tmp_path,
            f"jobs: [{{name: gen, repo: acme/gen, total: {scenario.total}, slurm_job_id: {job}, ssh: {ssh}}}]",
        )

        result = update(jobs)
    finally:
        cluster.scancel(job)

    assert result.exit_code == 0, result.stderr
    last_upload = scenario.arrivals[-1].at.strftime("%b %d %Y, %H:%M UTC")
    summary = result.stderr.splitlines()[-1]
    assert "ETA" not in summary
    assert f"no new shards since {last_upload} (more than 1h without one)" in summary
    assert card_lines(hub)[0].endswith(f"<br>⚠️ no new shards since {last_upload}")
