"""The real .github/workflows/progress.yml, run by act on this machine through the real action.yml.

A temporary git repository holds the action and a jobs.yaml whose jobs live on the Hub simulator,
the loopback sshd and the real Slurm; its `origin` is a local bare repository (see tests/e2e/act.py).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.cluster import LoopbackCluster, SlurmError
from tests.e2e.act import HF_TOKEN, ActRun, act, checkout, commit_and_push, origin_file, origin_log
from tests.ghsim import GitHubSim
from tests.hubsim import HubSim
from tests.support import write_shard

pytestmark = pytest.mark.cluster

STATS = [
    {
        "name": "reader",
        "time_stats": {},
        "stats": {"documents": 60, "doc_len": {"total": 600, "n": 60, "mean": 10.0}},
    },
    {
        "name": "inference",
        "time_stats": {},
        "stats": {
            "documents_processed": 60,
            "prompt_tokens": {"total": 3000, "n": 60, "mean": 50.0},
            "completion_tokens": {"total": 18000, "n": 60, "mean": 300.0},
        },
    },
]


@pytest.fixture
def repo(tmp_path: Path, cluster: LoopbackCluster) -> Path:
    """A clone of the project's action and workflow, with a bare `origin`, ready for act."""
    return checkout(tmp_path)


def report_setup_time(run: ActRun, capsys: pytest.CaptureFixture[str]) -> None:
    """The set-up steps' time against the update's, measured in the same run: a figure, never a verdict."""
    setup = run.seconds("Set up uv") + run.seconds("Install progress-card")
    update = run.seconds("Update the cards")
    with capsys.disabled():
        print(f"\nset-up {setup:.2f} s (uv, warm cache) vs update {update:.2f} s: ratio {setup / update:.2f}")


def test_the_hourly_workflow_updates_cards_marks_finished_jobs_and_commits_them_back(
    repo: Path, hub: HubSim, cluster: LoopbackCluster, github: GitHubSim, capsys: pytest.CaptureFixture[str]
) -> None:
    now = time.time()
    for index, rows in enumerate([20, 20, 20]):
        write_shard(hub.repo_dir("acme/gen") / "data" / f"{index}.parquet", rows, now - 3600 * (3 - index))
    for index, rows in enumerate([15, 10]):
        write_shard(hub.repo_dir("acme/gen") / "math" / f"{index}.parquet", rows, now - 3600 * (2 - index))
    for index, when in enumerate([now - 5400, now - 1800]):  # 20 documents an hour
        write_shard(hub.repo_dir("acme/gen") / "lost" / f"{index}.parquet", 20, when)
    stats = cluster.shared_dir / f"e2e-{repo.parent.name}" / "stats.json"
    stats.parent.mkdir(parents=True)
    stats.write_text(json.dumps(STATS))
    running = cluster.sbatch(wrap="sleep 600")
    lost = cluster.sbatch(wrap="sleep 600")
    try:
        cluster.wait_for(lost, {"RUNNING"})
        (repo / "jobs.yaml").write_text(
            "# Jobs followed by the hourly workflow.\n"
            "defaults:\n"
            "  repo: acme/gen\n"
            "  total: 100\n"
            f"  ssh: {{host: {cluster.host}, port: {cluster.port}, user: {cluster.user}}}\n"
            "\n"
            "jobs:\n"
            "  - name: default\n"
            "    slurm_job_id: 987654\n"
            f"    stats_path: {stats}\n"
            "  - name: math\n"
            "    config: math\n"
            f"    slurm_job_id: {running}\n"
            "  - name: lost\n"
            "    config: lost\n"
            f"    slurm_job_id: {lost}\n"
        )
        commit_and_push(repo, "Follow three jobs")

        first = act(repo, hub, cluster, github, {"only": "", "dry-run": "false"})

        assert first.returncode == 0, first.log[-6000:]
        report_setup_time(first, capsys)
        assert HF_TOKEN not in first.log and "PRIVATE KEY" not in first.log
        # The state (the Slurm ids seen in the queue) is kept between runs by the cache, and only by
        # it: act runs the workflow in a copy of the checkout, which it removes afterwards.
        assert "cache restore stand-in, no entry for progress-card-state-" in first.log
        assert "cache save stand-in, saved .progress-card under key progress-card-state-" in first.log
        assert not (repo / ".progress-card").exists()
        card = (hub.repo_dir("acme/gen") / "README.md").read_text()
        assert "**default**: [●●●●●●●●●●●●○○○○○○○○] 60% • 60/100 docs<br>✅ Complete" in card
        assert "**math**: [●●●●●○○○○○○○○○○○○○○○] 25% • 25/100 docs<br>⏱️ " in card
        assert "**lost**: [●●●●●●●●○○○○○○○○○○○○] 40% • 40/100 docs<br>⏱️ " in card
        assert "| Total completion tokens | 18,000 |" in card
        assert len(hub.commits("acme/gen")) == 1  # one commit for the repo's three configs
        assert all(r.has_token for r in hub.requests if r.method == "POST" and "/commit/" in r.path)
        assert origin_log(repo)[0] == "Mark finished generation jobs in jobs.yaml [skip ci]"
        page = origin_file(repo, "status/README.md")  # the status page, in the same commit
        assert "| `math` |" in page and "| `lost` |" in page and "- `default`: completed at " in page
        assert origin_file(repo, "status/math.svg").startswith("<?xml")
        pushed = origin_file(repo, "jobs.yaml")
        assert f"    stats_path: {stats}\n    finished: true\n    outcome: completed\n" in pushed
        assert f"    slurm_job_id: {lost}\n" in pushed and pushed.count("finished: true") == 1
        assert (first.output("updated"), first.output("finished"), first.output("failed")) == ("3", "1", "0")
        assert github.issues == [] and github.token not in first.log  # nobody is needed yet
        report = {record["name"]: record for record in json.loads(first.output("report"))}
        assert report["default"]["status"] == "completed" and report["default"]["marked"] is True
        assert report["math"]["status"] == "running" and report["math"]["percent"] == 25
        assert report["math"]["eta"] is not None
        assert report["lost"]["status"] == "running" and report["lost"]["marked"] is False
        assert report["lost"]["percent"] == 40 and report["lost"]["eta"] is not None
        assert "| `math` | [●●●●●○○○○○○○○○○○○○○○] | 25% | 25/100 |" in first.summary
        assert "| `lost` | [●●●●●●●●○○○○○○○○○○○○] | 40% | 40/100 |" in first.summary
        assert (
            "| `default` | [●●●●●●●●●●●●○○○○○○○○] | 60% | 60/100 |  |  | ✅ completed: stats.json found"
            in first.summary
        )

        # The next hour: nothing new. No card commit, no commit of jobs.yaml, no incident.
        subprocess.run(["git", "pull", "--quiet", "origin", "main"], cwd=repo, check=True)
        commits, history = len(hub.commits("acme/gen")), origin_log(repo)

        second = act(repo, hub, cluster, github, {"only": "", "dry-run": "false"})

        assert second.returncode == 0, second.log[-6000:]
        assert "cache restore stand-in, restored .progress-card from key progress-card-state-" in second.log
        assert len(hub.commits("acme/gen")) == commits
        assert origin_log(repo) == history
        assert (second.output("updated"), second.output("finished")) == ("0", "0")
        assert github.issues == []
        assert "finished earlier" in second.summary

        # A manual refresh as a dry run: new shards, but nothing pushed anywhere.
        write_shard(hub.repo_dir("acme/gen") / "math" / "2.parquet", 30)
        dry = act(repo, hub, cluster, github, {"only": "math", "dry-run": "true"})

        assert dry.returncode == 0, dry.log[-6000:]
        assert "+**math**: [●●●●●●●●●●●○○○○○○○○○] 55% • 55/100 docs" in dry.log
        assert len(hub.commits("acme/gen")) == commits
        assert origin_log(repo) == history
        assert [record["name"] for record in json.loads(dry.output("report"))] == ["math"]

        # `lost` leaves the queue without stats.json between two runs. The queue saw it running in an
        # earlier run (the cache remembers it): it is marked stopped, and a person is called.
        cluster.scancel(lost)
        cluster.wait_gone(lost)

        third = act(repo, hub, cluster, github, {"only": "", "dry-run": "false"})

        assert third.returncode == 0, third.log[-6000:]
        assert (third.output("updated"), third.output("finished"), third.output("failed")) == ("2", "1", "0")
        report = {record["name"]: record for record in json.loads(third.output("report"))}
        assert report["lost"]["status"] == "stopped" and report["lost"]["marked"] is True
        assert report["math"]["status"] == "running" and report["math"]["percent"] == 55
        assert "Slurm does not know" not in third.log
        assert (
            f"| ⚠️ stopped: Slurm job {lost} is no longer in the queue, marked in jobs file |" in third.summary
        )
        assert origin_log(repo)[0] == "Mark finished generation jobs in jobs.yaml [skip ci]"
        assert origin_log(repo)[1:] == history
        pushed = origin_file(repo, "jobs.yaml")
        assert f"    slurm_job_id: {lost}\n    finished: true\n    outcome: stopped\n" in pushed
        card = (hub.repo_dir("acme/gen") / "README.md").read_text()
        assert "**lost**: [●●●●●●●●○○○○○○○○○○○○] 40% • 40/100 docs<br>⚠️ " in card
        assert "**math**: [●●●●●●●●●●●○○○○○○○○○] 55% • 55/100 docs<br>⏱️ " in card
        [incident] = github.open_issues()  # opened through the action, with the workflow's token
        assert incident.title == f"⚠️ lost: stopped at 40% (Slurm job {lost} is no longer in the queue)"
        assert incident.labels == ["progress-card", "lost"] and github.token not in third.log
        assert HF_TOKEN not in third.log and "PRIVATE KEY" not in third.log
    finally:
        for job in (running, lost):
            with contextlib.suppress(SlurmError):  # `lost` is gone already when the test got that far
                cluster.scancel(job)
