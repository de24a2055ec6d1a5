"""Being told, end to end through the update: incident issues on a loopback GitHub API, notifications
to a loopback receiver of apprise's json:// URLs. One test runs `progress-card update` as the workflow
does, for what only the command does with a warning (an Actions annotation, the webhook URL hidden)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from progress_card.telling import Audience, GitHubRepository, Notifier
from tests.cluster import LoopbackCluster
from tests.ghsim import REPOSITORY, TOKEN, GitHubSim, Receiver
from tests.hubsim import HubSim
from tests.scenarios import scenarios
from tests.support import datatrove_stats, said, ssh_settings, update, update_at, write_manifest, write_shard

MINUTE = timedelta(minutes=1)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as server:
        yield server


def audience(jobs: Path, github: GitHubSim, notify: str) -> Audience:
    """Who the workflow's run 7 tells (`--issues --notify URL`): incident issues in its repository,
    notifications to `notify`; what was told is remembered in the state folder beside `jobs`."""
    issues = GitHubRepository(github.url, REPOSITORY, TOKEN)
    run_url = f"https://github.com/{REPOSITORY}/actions/runs/7"
    return Audience(issues, Notifier([notify]), jobs.parent / "state", run_url)


def completed(hub: HubSim, tmp_path: Path, keys: str = "") -> Path:
    """A job of 60 documents, all uploaded, whose stats.json is there: it completes this run."""
    write_shard(hub.repo_dir("acme/gen") / "data" / "0.parquet", 60)
    stats = tmp_path / "stats.json"
    stats.write_text(datatrove_stats(60))
    extra = f", {keys}" if keys else ""
    return write_manifest(
        tmp_path, f'jobs: [{{name: gen, repo: acme/gen, total: 60, stats_path: "file://{stats}"{extra}}}]'
    )


def stalled(hub: HubSim, now: datetime) -> None:
    """Five hours of shards, the last one six hours before `now`: the job is alive, nothing comes."""
    [scenario] = [s for s in scenarios(now) if s.truth is None]
    for index, arrival in enumerate(scenario.arrivals):
        write_shard(
            hub.repo_dir("acme/gen") / "data" / f"{index:05d}.parquet", arrival.rows, arrival.at.timestamp()
        )


def test_a_stall_opens_one_issue_and_sends_one_message_then_new_shards_close_it(
    hub: HubSim, tmp_path: Path, github: GitHubSim, receiver: Receiver
) -> None:
    now = datetime.now(timezone.utc)
    stalled(hub, now)
    jobs = write_manifest(tmp_path, "jobs: [{name: gen, repo: acme/gen, total: 100000, assignees: [octo]}]")

    first = update_at(jobs, now, audience=audience(jobs, github, receiver.url))

    assert first.exit_code == 0, said(first)
    [issue] = github.open_issues()
    assert issue.title.startswith("⚠️ gen: no new shards since ") and issue.title.endswith("%)")
    assert (issue.labels, issue.assignees) == (["progress-card", "gen"], ["octo"])
    assert "https://huggingface.co/datasets/acme/gen" in issue.body and "/actions/runs/7" in issue.body
    assert "progress-card relaunch gen --slurm-job-id ID" in issue.body
    assert [m["title"] for m in receiver.messages] == [issue.title]

    github.requests.clear()
    shutil.rmtree(tmp_path / "state")  # a lost state folder: the open issue still says what was told
    again = update_at(jobs, now + MINUTE, audience=audience(jobs, github, receiver.url))

    assert again.exit_code == 0
    assert len(github.issues) == 1 and len(receiver.messages) == 1  # nothing repeated
    assert github.requests == [("GET", f"/repos/{REPOSITORY}/issues")]  # one request when nothing changed

    write_shard(hub.repo_dir("acme/gen") / "data" / "99999.parquet", 60, (now + MINUTE).timestamp())
    resumed = update_at(jobs, now + 2 * MINUTE, audience=audience(jobs, github, receiver.url))

    assert resumed.exit_code == 0
    assert github.open_issues() == [] and issue.state == "closed"
    assert issue.comments[-1].startswith("resolved: gen uploaded again after ")
    assert receiver.messages[-1]["title"] == "✅ gen: resumed"


def test_a_completion_notifies_with_the_figures_and_leaves_nothing_open(
    hub: HubSim, tmp_path: Path, github: GitHubSim, receiver: Receiver
) -> None:
    jobs = completed(hub, tmp_path)

    report = update_at(jobs, datetime.now(timezone.utc), audience=audience(jobs, github, receiver.url))

    assert report.exit_code == 0, said(report)
    [message] = receiver.messages
    assert message["title"] == "✅ gen: completed"
    assert message["message"].splitlines()[:2] == ["60/60 documents (100%)", "18,000 completion tokens"]
    assert github.issues == []


def test_three_failing_runs_open_one_issue_and_a_success_closes_it(
    hub: HubSim, tmp_path: Path, github: GitHubSim, receiver: Receiver
) -> None:
    write_shard(hub.repo_dir("acme/gen") / "data" / "0.parquet", 10)
    broken = "jobs: [{name: gen, repo: acme/gen, input: {dataset: acme/missing-input}}]"
    jobs = write_manifest(tmp_path, broken)
    now = datetime.now(timezone.utc)

    for run in range(3):
        report = update_at(jobs, now + run * MINUTE, audience=audience(jobs, github, receiver.url))
        assert report.exit_code == 1
        assert len(github.issues) == (1 if run == 2 else 0)
    [issue] = github.issues
    assert issue.title.startswith("❌ gen: update failing for 3 runs (")
    assert len(receiver.messages) == 1

    write_manifest(tmp_path, "jobs: [{name: gen, repo: acme/gen, total: 100}]")
    fixed = update_at(jobs, now + 3 * MINUTE, audience=audience(jobs, github, receiver.url))

    assert fixed.exit_code == 0
    assert issue.state == "closed" and issue.comments == ["resolved: gen was updated again"]


def test_a_refused_token_is_a_warning_and_the_cards_are_still_updated(
    hub: HubSim, tmp_path: Path, github: GitHubSim, receiver: Receiver
) -> None:
    now = datetime.now(timezone.utc)
    stalled(hub, now)
    github.token_refused = True
    jobs = write_manifest(tmp_path, "jobs: [{name: gen, repo: acme/gen, total: 100000}]")

    report = update_at(jobs, now, audience=audience(jobs, github, receiver.url))

    assert report.exit_code == 0, said(report)
    assert "no new shards since" in (hub.repo_dir("acme/gen") / "README.md").read_text()
    [warning] = report.warnings
    assert "GitHub answered 401" in warning and "issues: write" in warning and TOKEN not in warning
    assert github.issues == []


def test_githubs_rate_limit_is_waited_out(
    hub: HubSim, tmp_path: Path, github: GitHubSim, receiver: Receiver
) -> None:
    now = datetime.now(timezone.utc)
    stalled(hub, now)
    github.rate_limited = 2
    jobs = write_manifest(tmp_path, "jobs: [{name: gen, repo: acme/gen, total: 100000}]")

    report = update_at(jobs, now, audience=audience(jobs, github, receiver.url))

    assert report.exit_code == 0, said(report)
    assert len(github.open_issues()) == 1 and github.rate_limited == 0
    assert github.requests[:3] == [("GET", f"/repos/{REPOSITORY}/issues")] * 3  # twice refused, then answered


@pytest.mark.cluster
def test_a_failed_slurm_job_opens_an_issue_naming_its_state(
    hub: HubSim, tmp_path: Path, cluster: LoopbackCluster, github: GitHubSim, receiver: Receiver
) -> None:
    write_shard(hub.repo_dir("acme/gen") / "data" / "0.parquet", 30)
    job = cluster.sbatch(wrap="exit 3")
    cluster.wait_for(job, lambda states: states == [] or states == ["FAILED"])
    jobs = write_manifest(
        tmp_path,
        f"jobs: [{{name: gen, repo: acme/gen, total: 100, slurm_job_id: {job}, ssh: {ssh_settings(cluster)}}}]",
    )

    report = update_at(jobs, datetime.now(timezone.utc), audience=audience(jobs, github, receiver.url))

    assert report.exit_code == 0, said(report)
    [issue] = github.open_issues()
    assert issue.title in (f"⚠️ gen: stopped at 30% (Slurm job {job} ended FAILED)",
                           f"⚠️ gen: stopped at 30% (Slurm job {job} is no longer in the queue)")  # fmt: skip
    assert receiver.messages[0]["title"] == issue.title


def test_a_job_narrowed_to_some_events_sends_only_those(
    hub: HubSim, tmp_path: Path, github: GitHubSim, receiver: Receiver
) -> None:
    jobs = completed(hub, tmp_path, "notify: [stopped, failed]")

    report = update_at(jobs, datetime.now(timezone.utc), audience=audience(jobs, github, receiver.url))

    assert report.exit_code == 0
    assert receiver.messages == []


def test_in_actions_an_undeliverable_notification_is_an_annotation_that_hides_its_url(
    hub: HubSim, tmp_path: Path, github: GitHubSim
) -> None:
    """Through `progress-card update --issues --notify URL` in GitHub Actions, as the workflow runs it:
    only the command prints the report's warnings as annotations, and hides the webhook URLs in them."""
    stalled(hub, datetime.now(timezone.utc))
    jobs = write_manifest(tmp_path, "jobs: [{name: gen, repo: acme/gen, total: 100000}]")
    with Receiver() as gone:
        url = gone.url  # nothing listens there once it is closed
    env = {
        "GITHUB_API_URL": github.url,
        "GITHUB_REPOSITORY": REPOSITORY,
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_RUN_ID": "7",
        "GITHUB_ACTIONS": "true",
    }

    result = update(jobs, "--issues", "--notify", url, "--state-dir", str(tmp_path / "state"), env=env)

    assert result.exit_code == 0, result.stderr
    assert "no new shards since" in (hub.repo_dir("acme/gen") / "README.md").read_text()
    assert any("1 of 1 notification URLs could not be reached" in line for line in result.stdout.splitlines())
    assert url not in result.stdout  # a webhook URL is a secret
