"""Jobs on Hugging Face Jobs, followed through the real `huggingface_hub` client against the Hub
simulator: datatrove's JobsPipelineExecutor's Jobs (its labels, its command) scheduling, running,
retried, completed, failed, canceled and deleted; two launches live at once; what they cost; and
the logging folder in a Storage Bucket. Through the core, the clock injected (the simulator's Jobs
clock is set to the same moment)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from progress_card.redaction import Redactor
from progress_card.report import Report
from progress_card.telling import Audience, GitHubRepository, Notifier
from tests.cards import progress_line
from tests.datatrove_folder import launch_on_hf_jobs, output_shards, write_logging_folder
from tests.ghsim import REPOSITORY, TOKEN, GitHubSim, Receiver
from tests.hubsim import HubSim
from tests.support import card, command, said, update_at, write_manifest

LOGS = "hf://buckets/acme/gen-logs/gen"
A100_PER_HOUR = 41_667 * 60 / 1e6
"""The simulator's price of a100-large: 41,667 micro-dollars a minute, as the Hub lists it."""
SECRET = "hf_JobLogTokenThatMustNeverBePosted"
HOUR = timedelta(hours=1)


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading Jobs takes a token: the workflow's HF_TOKEN."""
    monkeypatch.setenv("HF_TOKEN", "hf_progress_card_reader")


@pytest.fixture
def now(hub: HubSim) -> datetime:
    """This test's moment, on the simulator's Jobs clock too (running times are counted to it)."""
    moment = datetime.now(timezone.utc).replace(microsecond=0)
    hub.jobs.clock = moment.timestamp
    return moment


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as server:
        yield server


def following(tmp_path: Path, total: int = 800, hf_jobs: str = "{name: gen, namespace: acme}") -> Path:
    return write_manifest(
        tmp_path,
        f"jobs: [{{name: gen, repo: acme/gen, total: {total}, hf_jobs: {hf_jobs}, logging_dir: {LOGS}}}]",
    )


def uploaded(hub: HubSim, now: datetime, shards: int, rows: int = 10) -> None:
    """Shards of 8 tasks in default/, one every 3 minutes up to `now`."""
    output_shards(hub.repo_dir("acme/gen") / "default", now, shards, rows=rows, every=timedelta(minutes=3))


def logging_folder(hub: HubSim, tasks: int, launched_at: datetime, **files: object) -> Path:
    """The job's logging folder in the bucket acme/gen-logs, as JobsPipelineExecutor leaves it;
    executor.json written at `launched_at`."""
    folder = write_logging_folder(
        hub.bucket_dir("acme/gen-logs") / "gen", tasks, hf_jobs=LOGS, namespace="acme", **files
    )
    os.utime(folder / "executor.json", (launched_at.timestamp(), launched_at.timestamp()))
    return folder


def last(report: Report) -> str:
    return said(report).splitlines()[-1]


def told(tmp_path: Path, github: GitHubSim, receiver: Receiver) -> Audience:
    issues = GitHubRepository(github.url, REPOSITORY, TOKEN)
    return Audience(issues, Notifier([receiver.url]), tmp_path / "state", redact=Redactor([SECRET]))


def jobs_requests(hub: HubSim) -> list[str]:
    return [record.path for record in hub.requests if record.path.startswith(("/api/jobs", "/api/whoami"))]


def test_jobs_still_scheduling_are_pending_with_the_stages_message(
    hub: HubSim, tmp_path: Path, now: datetime
) -> None:
    logging_folder(hub, 8, now - HOUR)
    launch_on_hf_jobs(
        hub,
        LOGS,
        range(8),
        stage="SCHEDULING",
        message="Waiting for a100-large capacity",
        created_at=now - HOUR,
    )
    hub.create_repo("acme/gen")

    report = update_at(following(tmp_path), now)

    queued = (
        f"⏳ pending (scheduling: Waiting for a100-large capacity) since {(now - HOUR):%b %d %Y, %H:%M} UTC"
    )
    assert progress_line(card(hub)).endswith(f"<br>{queued}"), progress_line(card(hub))
    assert "💵 $0.00 so far" in progress_line(card(hub))  # nothing has run: nothing is billed yet
    assert report.exit_code == 0 and "pending" in last(report)


def test_running_jobs_show_what_they_cost_so_far_and_at_the_eta(
    hub: HubSim, tmp_path: Path, now: datetime
) -> None:
    logging_folder(hub, 8, now - 2 * HOUR, completed=())
    launch_on_hf_jobs(hub, LOGS, range(8), created_at=now - 2 * HOUR, started_at=now - 2 * HOUR)
    uploaded(hub, now, 32)

    report = update_at(following(tmp_path), now)

    [row] = report.jobs
    assert row.progress is not None and row.progress.eta is not None
    spend = row.progress.verdict.spend
    assert spend is not None
    assert spend.so_far == pytest.approx(8 * 2 * A100_PER_HOUR)  # 8 Jobs, 2 hours each
    assert spend.per_hour == pytest.approx(8 * A100_PER_HOUR)
    hours_left = row.progress.eta.remaining.total_seconds() / 3600
    in_all = round(8 * 2 * A100_PER_HOUR + 8 * A100_PER_HOUR * hours_left)
    assert f" • 💵 $40 so far, ≈ ${in_all} in all<br>⏱️ " in progress_line(card(hub))
    assert "ETA" in last(report)


def test_a_job_retried_by_datatrove_is_running_and_says_which_index(
    hub: HubSim, tmp_path: Path, now: datetime
) -> None:
    logging_folder(hub, 4, now - 2 * HOUR)
    launch_on_hf_jobs(hub, LOGS, (0, 1, 2), created_at=now - 2 * HOUR)
    launch_on_hf_jobs(
        hub, LOGS, (3,), stage="ERROR", created_at=now - 2 * HOUR, finished_at=now - HOUR, running_secs=3600
    )
    launch_on_hf_jobs(hub, LOGS, (3,), created_at=now - HOUR + timedelta(seconds=20))
    uploaded(hub, now, 16)

    report = update_at(following(tmp_path, total=400), now)

    assert "🔁 retrying array index 3" in progress_line(card(hub))
    [row] = report.jobs
    assert row.outcome is None and "ETA" in last(report)
    assert not any("earlier launch" in warning for warning in row.warnings)  # a retry is not a relaunch


def test_every_job_ended_and_every_rank_complete_is_complete_without_stats_json(
    hub: HubSim, tmp_path: Path, now: datetime, github: GitHubSim, receiver: Receiver
) -> None:
    logging_folder(hub, 8, now - 3 * HOUR, completed=range(8))
    launch_on_hf_jobs(
        hub, LOGS, range(8), stage="COMPLETED", created_at=now - 3 * HOUR, finished_at=now - HOUR,
        running_secs=2 * 3600,
    )  # fmt: skip
    uploaded(hub, now - HOUR, 40)
    jobs = following(tmp_path, total=400)

    report = update_at(jobs, now, audience=told(tmp_path, github, receiver))

    assert "completed (all 8 tasks completed; stats.json not written)" in last(report)
    assert "marked completed in jobs.yaml" in last(report)
    line = progress_line(card(hub))
    assert " • 💵 $40 in all<br>✅ Complete" in line
    [message] = receiver.messages
    assert "💵 $40 in all" in message["message"]
    assert github.open_issues() == []


def test_jobs_that_ended_in_error_with_ranks_missing_fail_and_the_incident_quotes_their_logs(
    hub: HubSim, tmp_path: Path, now: datetime, github: GitHubSim, receiver: Receiver
) -> None:
    logging_folder(hub, 8, now - 3 * HOUR, completed=(0, 1, 2, 4, 6, 7))
    launch_on_hf_jobs(
        hub, LOGS, (0, 1, 2, 4, 6, 7), stage="COMPLETED", created_at=now - 3 * HOUR, finished_at=now - HOUR
    )
    noise = [f"2026-12-05 10:{minute:02d}:00 | INFO | generating" for minute in range(25)]
    crash = [*noise, f"HF_TOKEN={SECRET}", "torch.OutOfMemoryError: CUDA out of memory"]
    failed = launch_on_hf_jobs(
        hub, LOGS, (3, 5), stage="ERROR", message="Job failed with exit code: 1", created_at=now - 3 * HOUR,
        finished_at=now - 2 * HOUR, logs=crash,
    )  # fmt: skip
    uploaded(hub, now - HOUR, 24)

    report = update_at(following(tmp_path), now, audience=told(tmp_path, github, receiver))

    why = (
        "2 of 8 tasks unfinished (ranks 3, 5); the Jobs labelled datatrove_job_name=gen in acme ended: "
        "6 COMPLETED, 2 ERROR (array indices 3, 5)"
    )
    assert f"failed ({why}), card pushed, marked failed in jobs.yaml" in last(report)
    assert progress_line(card(hub)).endswith(f"<br>⚠️ stopped at 30%: {why}")
    [issue] = github.open_issues()
    assert issue.title == f"⚠️ gen: stopped at 30% ({why})"
    for job_id, index in zip(failed, (3, 5), strict=True):
        assert f"<code>{job_id}</code> (the Job of array index {index}, ended ERROR)" in issue.body
    assert issue.body.count("torch.OutOfMemoryError: CUDA out of memory") == 2
    assert "10:06:00 | INFO" not in issue.body and "10:07:00 | INFO" in issue.body  # the last 20 lines
    assert SECRET not in issue.body and "HF_TOKEN=***" in issue.body
    assert [m["title"] for m in receiver.messages] == [issue.title]


@pytest.mark.parametrize("stage", ["CANCELED", "DELETED"])
def test_jobs_canceled_or_deleted_with_ranks_missing_have_stopped(
    hub: HubSim, tmp_path: Path, now: datetime, stage: str
) -> None:
    logging_folder(hub, 4, now - 3 * HOUR, completed=(0, 1))
    launch_on_hf_jobs(hub, LOGS, (0, 1), stage="COMPLETED", created_at=now - 3 * HOUR)
    launch_on_hf_jobs(hub, LOGS, (2, 3), stage=stage, created_at=now - 3 * HOUR)
    uploaded(hub, now - HOUR, 8)

    report = update_at(following(tmp_path, total=400), now)

    assert (
        f"stopped (2 of 4 tasks unfinished (ranks 2, 3); the Jobs labelled datatrove_job_name=gen in acme "
        f"ended: 2 COMPLETED, 2 {stage} (array indices 2, 3))"
    ) in last(report)


def test_no_jobs_under_the_name_is_a_warning_and_never_a_finished_mark(
    hub: HubSim, tmp_path: Path, now: datetime
) -> None:
    logging_folder(hub, 4, now - HOUR)
    launch_on_hf_jobs(hub, LOGS, range(4), job_name="data_processing", created_at=now - HOUR)
    uploaded(hub, now, 8)
    jobs = following(tmp_path, total=400)
    before = jobs.read_text()

    report = update_at(jobs, now)

    [row] = report.jobs
    assert row.outcome is None and jobs.read_text() == before
    assert (
        "no Jobs labelled datatrove_job_name=gen in acme: is gen the executor's job_name, and acme the namespace "
        "it launched in (hf_jobs: namespace, or else the token's user)? nothing is marked finished"
    ) in row.warnings


def test_jobs_of_an_earlier_launch_still_live_are_a_warning_and_one_incident(
    hub: HubSim, tmp_path: Path, now: datetime, github: GitHubSim, receiver: Receiver
) -> None:
    stale = sorted(
        launch_on_hf_jobs(hub, LOGS, (2, 3), created_at=now - 5 * HOUR)
    )  # named oldest first, then by id
    # Relaunched an hour ago: datatrove rewrote executor.json, then launched the unfinished ranks.
    logging_folder(hub, 4, now - HOUR, completed=(0, 1), ranks=(2, 3))
    launch_on_hf_jobs(hub, LOGS, (0, 1), created_at=now - HOUR + timedelta(seconds=30))
    uploaded(hub, now, 16)
    jobs = following(tmp_path, total=400)
    audience = told(tmp_path, github, receiver)

    first = update_at(jobs, now, audience=audience)
    again = update_at(jobs, now + timedelta(minutes=60), audience=audience)

    unsafe = (
        f"gen has 2 Jobs of an earlier launch still queued or running beside the current launch ({', '.join(stale)}): "
        "they read the new launch's ranks_to_run.json and may run ranks that are not theirs"
    )
    assert unsafe in said(first) and unsafe in said(again)
    assert progress_line(card(hub)).split("<br>")[1].startswith(f"⚠️ {unsafe}")
    [issue] = github.issues
    assert issue.title == f"⚠️ {unsafe}" and issue.state == "open"
    assert f"`hf jobs cancel ID` for each: {', '.join(stale)}" in issue.body
    assert len(receiver.messages) == 1


def test_one_listing_per_followed_name_per_run_whatever_the_number_of_jobs(
    hub: HubSim, tmp_path: Path, now: datetime
) -> None:
    logging_folder(hub, 64, now - 2 * HOUR, completed=range(10))
    launch_on_hf_jobs(hub, LOGS, range(64), created_at=now - 2 * HOUR)
    launch_on_hf_jobs(hub, LOGS, range(5), stage="ERROR", created_at=now - 3 * HOUR)  # retried since
    uploaded(hub, now, 64)
    hub.clear_requests()

    report = update_at(following(tmp_path, total=6400), now)

    assert report.exit_code == 0, said(report)
    assert jobs_requests(hub) == ["/api/jobs/acme", "/api/jobs/hardware"]


def test_a_logging_folder_in_a_bucket_is_resolved_and_listed_once_a_run(
    hub: HubSim, tmp_path: Path, now: datetime
) -> None:
    """stats.json, the folder itself and when executor.json was written are three questions to one
    bucket: one filesystem a run answers them all, and the next run looks afresh."""
    logging_folder(hub, 8, now - 2 * HOUR, completed=range(3))
    launch_on_hf_jobs(hub, LOGS, range(8), created_at=now - 2 * HOUR, started_at=now - 2 * HOUR)
    uploaded(hub, now, 32)
    jobs = following(tmp_path)

    for later in (timedelta(0), HOUR):
        if later:
            logging_folder(hub, 8, now - 2 * HOUR, completed=range(5))
        hub.clear_requests()
        report = update_at(jobs, now + later)
        logs = sorted(record.path for record in hub.requests if "/acme/gen-logs" in record.path)
        assert logs == [
            "/api/buckets/acme/gen-logs",
            "/api/buckets/acme/gen-logs/tree",
            "/api/buckets/acme/gen-logs/tree/gen",
            "/api/buckets/acme/gen-logs/tree/gen%2Fcompletions",
            "/buckets/acme/gen-logs/resolve/gen/executor.json",
            "/buckets/acme/gen-logs/resolve/gen/ranks_to_run.json",
        ]
    assert "tasks 5/8" in said(report)


def test_the_namespace_defaults_to_the_tokens_user(hub: HubSim, tmp_path: Path, now: datetime) -> None:
    hub.set_user("acme")
    logging_folder(hub, 4, now - HOUR)
    launch_on_hf_jobs(hub, LOGS, range(4), created_at=now - HOUR)
    uploaded(hub, now, 8)
    hub.clear_requests()

    report = update_at(following(tmp_path, total=400, hf_jobs="{name: gen}"), now)

    assert report.jobs[0].warnings == ()
    assert jobs_requests(hub) == ["/api/whoami-v2", "/api/jobs/acme", "/api/jobs/hardware"]


def test_jobs_followed_by_id_are_read_one_by_one_and_an_unknown_id_is_named(
    hub: HubSim, tmp_path: Path, now: datetime
) -> None:
    logging_folder(hub, 2, now - HOUR)
    [first, second] = launch_on_hf_jobs(hub, LOGS, range(2), created_at=now - HOUR)
    uploaded(hub, now, 8)
    missing = "0" * 24
    hf_jobs = (
        f'{{ids: ["{first}", "{second}", "{missing}"], namespace: acme}}'  # quoted: YAML reads 000… as 0
    )

    report = update_at(following(tmp_path, total=400, hf_jobs=hf_jobs), now)

    [row] = report.jobs
    assert row.outcome is None and "card pushed" in last(report)
    assert f"{missing} not found in acme: a typo in hf_jobs: ids, or another namespace?" in row.warnings


def test_a_token_without_access_to_the_namespace_is_a_warning_saying_what_to_do(
    hub: HubSim, tmp_path: Path, now: datetime
) -> None:
    logging_folder(hub, 4, now - HOUR)
    launch_on_hf_jobs(hub, LOGS, range(4), created_at=now - HOUR)
    hub.deny_namespace("acme")
    uploaded(hub, now, 8)

    report = update_at(following(tmp_path, total=400), now)

    [row] = report.jobs
    assert row.outcome is None and report.exit_code == 0  # the card is still updated
    assert (
        "cannot tell whether the Jobs labelled datatrove_job_name=gen in acme are alive: listing the Jobs labelled "
        "datatrove_job_name=gen in acme: the token may not read the Jobs of acme (403): use a token of a member "
        "of acme with read access, or set hf_jobs: namespace to the namespace the Jobs run in"
    ) in row.warnings


def test_an_unknown_flavor_shows_no_cost_rather_than_a_guess(
    hub: HubSim, tmp_path: Path, now: datetime
) -> None:
    logging_folder(hub, 4, now - HOUR)
    launch_on_hf_jobs(hub, LOGS, range(4), flavor="b300x8", created_at=now - HOUR)
    uploaded(hub, now, 8)

    report = update_at(following(tmp_path, total=400), now)

    assert "💵" not in progress_line(card(hub))
    assert (
        "flavor b300x8 is not in the Hub's hardware list, so what the Jobs cost is not shown; if the flavor is "
        "new, this goes away once the Hub lists it"
    ) in report.jobs[0].warnings


def test_jobs_of_another_pipeline_under_the_same_name_are_left_out_with_a_warning(
    hub: HubSim, tmp_path: Path, now: datetime
) -> None:
    logging_folder(hub, 4, now - HOUR, completed=range(4))
    launch_on_hf_jobs(hub, LOGS, range(4), stage="COMPLETED", created_at=now - HOUR)
    other = "hf://buckets/acme/other-logs/gen"
    launch_on_hf_jobs(hub, other, range(2), created_at=now - HOUR)  # another team's "gen", still running
    uploaded(hub, now, 8, rows=50)

    report = update_at(following(tmp_path, total=400), now)

    [row] = report.jobs
    assert "completed (all 4 tasks completed; stats.json not written)" in last(report)
    assert (
        f"2 of the Jobs labelled datatrove_job_name=gen in acme run another pipeline ({other}/executor.pik), "
        f"not {LOGS}/executor.pik: two pipelines launched with the same job_name? give each its own job_name; "
        "those Jobs are left out"
    ) in row.warnings
    assert re.search(r"💵 \$[\d.]+ in all<br>✅ Complete", progress_line(card(hub)))


def test_add_reads_the_jobs_name_and_namespace_from_the_logging_folder_on_the_hub(
    hub: HubSim, tmp_path: Path, now: datetime
) -> None:
    folder = logging_folder(hub, 4, now - HOUR)
    assert '"flavor": "a100-large"' in (folder / "executor.json").read_text()
    jobs = write_manifest(tmp_path, "jobs:\n  - {name: other, repo: acme/other, total: 10}\n")

    added = command("add", "--jobs", str(jobs), "--logging-dir", LOGS)

    assert added.exit_code == 0, added.stderr
    assert "inferred hf_jobs: name: gen, namespace: acme" in added.stderr
    assert "hf_jobs: {name: gen, namespace: acme}" in jobs.read_text()
