"""Finishing through a stats.json URL (no cluster needed), marking jobs.yaml, and skipping finished jobs."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from progress_card.manifest import load_manifest
from tests.datatrove_folder import write_logging_folder
from tests.hubsim import HubSim
from tests.support import card, datatrove_stats, said, update_at, write_manifest, write_shard

MINUTE = timedelta(minutes=1)


def test_stats_json_at_a_url_completes_the_job_with_its_figures_then_it_is_skipped(
    hub: HubSim, tmp_path: Path
) -> None:
    now = datetime.now(timezone.utc)
    for index in range(4):
        write_shard(
            hub.repo_dir("acme/gen") / "data" / f"{index}.parquet", 10, now.timestamp() - 3600 * (4 - index)
        )
    stats = tmp_path / "logs" / "stats.json"
    jobs = write_manifest(
        tmp_path,
        f"""
        # Our jobs.
        jobs:
          - name: gen
            repo: acme/gen
            total: 50        # fifty prompts
            stats_path: "file://{stats}"
        """,
    )
    running = update_at(jobs, now)
    assert running.exit_code == 0, said(running)
    assert "ETA" in said(running).splitlines()[-1]

    stats.parent.mkdir()
    stats.write_text(datatrove_stats(40))
    original = jobs.read_text()
    done = update_at(jobs, now + MINUTE)

    assert done.exit_code == 0, said(done)
    assert said(done).splitlines()[-1] == (
        "gen: 40/50 docs (80%), completed (stats.json found), card pushed, marked completed in jobs.yaml"
    )
    card = (hub.repo_dir("acme/gen") / "README.md").read_text()
    # A completed job reads as complete even when some prompts produced no document.
    assert "**default**: [●●●●●●●●●●●●●●●●○○○○] 80% • 40/50 docs<br>✅ Complete" in card
    assert "| Total completion tokens | 12,000 |" in card
    assert "Final statistics will be available upon completion" not in card
    marked = jobs.read_text()
    assert marked.startswith(original)
    added = marked[len(original) :].splitlines()
    assert added[0] == "    finished: true" and added[1] == "    outcome: completed"
    assert added[2].startswith('    finished_at: "') and added[3] == "    final_count: 40"

    commits = len(hub.commits("acme/gen"))
    hub.clear_requests()
    again = update_at(jobs, now + 2 * MINUTE, only=["gen"])
    assert again.exit_code == 0
    assert said(again).splitlines()[-1].startswith("gen: already finished (completed at ")
    assert hub.requests == [] and len(hub.commits("acme/gen")) == commits

    # Deleting the keys by hand follows the job again.
    jobs.write_text(original)
    assert "marked completed in jobs.yaml" in said(update_at(jobs, now + 3 * MINUTE))


def test_a_stats_file_that_is_not_json_yet_completes_nothing(hub: HubSim, tmp_path: Path) -> None:
    write_shard(hub.repo_dir("acme/gen") / "data" / "0.parquet", 10)
    stats = tmp_path / "stats.json"
    stats.write_text('[{"name": "reader", "sta')
    jobs = write_manifest(
        tmp_path, f'jobs: [{{name: gen, repo: acme/gen, total: 40, stats_path: "file://{stats}"}}]'
    )
    report = update_at(jobs, datetime.now(timezone.utc))
    assert report.exit_code == 0
    assert "stats.json is not valid JSON" in said(report).splitlines()[-1]
    assert "finished" not in jobs.read_text()


def test_a_dry_run_says_it_would_mark_and_writes_nothing(hub: HubSim, tmp_path: Path) -> None:
    write_shard(hub.repo_dir("acme/gen") / "data" / "0.parquet", 40)
    stats = tmp_path / "stats.json"
    stats.write_text(datatrove_stats(40))
    jobs = write_manifest(
        tmp_path, f'jobs: [{{name: gen, repo: acme/gen, total: 40, stats_path: "file://{stats}"}}]'
    )
    before = jobs.read_text()
    report = update_at(jobs, datetime.now(timezone.utc), dry_run=True)
    assert report.exit_code == 0
    [row] = report.jobs
    assert row.summary().endswith("dry run, nothing pushed, would be marked finished")
    assert row.progress is not None
    assert row.progress.line == "**default**: [●●●●●●●●●●●●●●●●●●●●] 100% • 40/40 docs<br>✅ Complete"
    assert jobs.read_text() == before and hub.commits("acme/gen") == []


def test_stats_json_on_the_hub_is_read_through_hf_urls(hub: HubSim, tmp_path: Path) -> None:
    write_shard(hub.repo_dir("acme/gen") / "data" / "0.parquet", 40)
    url = "hf://datasets/acme/gen-logs/run-1/stats.json"
    jobs = write_manifest(tmp_path, f'jobs: [{{name: gen, repo: acme/gen, total: 50, stats_path: "{url}"}}]')
    hub.create_repo("acme/gen-logs")
    now = datetime.now(timezone.utc)
    assert "ETA" in said(update_at(jobs, now)).splitlines()[-1]

    hub.put_file("acme/gen-logs", "run-1/stats.json", datatrove_stats(40))
    done = said(update_at(jobs, now + MINUTE)).splitlines()[-1]
    assert done.startswith("gen: 40/50 docs (80%), completed (stats.json found)")


def test_task_progress_from_a_logging_folder_url(hub: HubSim, tmp_path: Path) -> None:
    write_shard(hub.repo_dir("acme/gen") / "data" / "0.parquet", 50)
    logs = tmp_path / "logs"
    (logs / "completions").mkdir(parents=True)
    (logs / "executor.json").write_text(json.dumps({"tasks": 4, "world_size": 4}))
    for rank in range(3):
        (logs / "completions" / f"{rank:05d}").touch()
    jobs = write_manifest(
        tmp_path, f'jobs: [{{name: gen, repo: acme/gen, total: 50, logging_dir: "file://{logs}"}}]'
    )

    now = datetime.now(timezone.utc)
    waiting = update_at(jobs, now)

    assert said(waiting).splitlines()[-1].startswith("gen: 50/50 docs (100%), tasks 3/4, ")
    card = (hub.repo_dir("acme/gen") / "README.md").read_text()
    assert "100% • 50/50 docs • tasks 3/4<br>⏱️ waiting for the last tasks (3/4 done)" in card
    assert "finished" not in jobs.read_text()

    (logs / "completions" / "00003").touch()
    (logs / "stats.json").write_text(datatrove_stats(40))  # stats_path defaults to the folder's stats.json
    done = update_at(jobs, now + MINUTE)

    summary = said(done).splitlines()[-1]
    assert summary.startswith("gen: 50/50 docs (100%), tasks 4/4, completed (stats.json found)")
    assert (
        "100% • 50/50 docs • tasks 4/4<br>✅ Complete" in (hub.repo_dir("acme/gen") / "README.md").read_text()
    )


def test_a_finished_job_whose_repo_does_not_exist_is_not_marked_and_the_repo_is_named(
    hub: HubSim, tmp_path: Path
) -> None:
    stats = tmp_path / "stats.json"
    stats.write_text(datatrove_stats(40))
    jobs = write_manifest(
        tmp_path, f'jobs: [{{name: gen, repo: acme/typo, total: 40, stats_path: "file://{stats}"}}]'
    )
    before = jobs.read_text()

    report = update_at(jobs, datetime.now(timezone.utc))

    assert report.exit_code == 0
    assert jobs.read_text() == before  # no card shows its final numbers: not finished for us yet
    warning = report.jobs[0].warnings[0]  # the workflow shows it as an annotation
    assert "acme/typo not found" in warning and "a typo in jobs.yaml" in warning


def test_a_stats_json_still_being_written_keeps_the_tasks_on_the_card(
    hub: HubSim, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="progress_card")
    write_shard(hub.repo_dir("acme/gen") / "data" / "0.parquet", 50)
    logs = tmp_path / "logs"
    (logs / "completions").mkdir(parents=True)
    (logs / "executor.json").write_text(json.dumps({"world_size": 4}))
    for rank in range(4):
        (logs / "completions" / f"{rank:05d}").touch()
    (logs / "stats.json").write_text('[{"name": "reader", "stats": {"documents": ')  # cut short
    jobs = write_manifest(
        tmp_path, f'jobs: [{{name: gen, repo: acme/gen, total: 50, logging_dir: "file://{logs}"}}]'
    )

    report = update_at(jobs, datetime.now(timezone.utc))

    assert report.exit_code == 0
    assert "tasks 4/4" in said(report).splitlines()[-1]
    assert "stats.json is not valid JSON" in said(report) + caplog.text
    assert "50/50 docs • tasks 4/4<br>" in card(hub)
    assert "finished" not in jobs.read_text()


def test_jobs_finishing_in_repos_updated_side_by_side_are_all_marked(hub: HubSim, tmp_path: Path) -> None:
    stats = tmp_path / "stats.json"
    stats.write_text(datatrove_stats(10))
    names = [f"job{index}" for index in range(12)]
    for name in names:
        write_shard(hub.repo_dir(f"acme/{name}") / "data" / "0.parquet", 10)
    jobs = write_manifest(
        tmp_path,
        "# Twelve repos, every job done.\njobs:\n"
        + "".join(
            f'  - {{name: {n}, repo: acme/{n}, total: 10, stats_path: "file://{stats}"}}\n' for n in names
        ),
    )

    report = update_at(jobs, datetime.now(timezone.utc))

    assert report.exit_code == 0, said(report)
    marked = {job.name for job in load_manifest(jobs).jobs if job.finished is not None}
    assert marked == set(names)  # no mark lost to another repo's edit of the same file


def test_a_logging_folder_that_is_missing_or_damaged_is_named_and_counts_nothing_wrong(
    hub: HubSim, tmp_path: Path
) -> None:
    write_shard(hub.repo_dir("acme/gen") / "default" / "00000_00000.parquet", 10)
    damaged = write_logging_folder(tmp_path / "damaged", 4, completed=(0, 1, 7))
    (damaged / "stats" / "00001.json").write_text("{half a file")
    jobs = write_manifest(
        tmp_path,
        f"""
        defaults: {{repo: acme/gen, total: 100}}
        jobs:
          - {{name: gone, config: gone, logging_dir: {tmp_path / "nowhere"}, ssh: local}}
          - {{name: damaged, config: default, logging_dir: "file://{damaged}"}}
        """,
    )

    report = update_at(jobs, datetime.now(timezone.utc))

    assert report.exit_code == 0, said(report)
    gone, broken = report.jobs
    assert gone.warnings[0] == (
        f"the logging folder {tmp_path / 'nowhere'} does not exist: check logging_dir in jobs.yaml (datatrove's "
        "logging_dir of the executor); tasks cannot be followed"
    )
    assert broken.progress is not None and str(broken.progress.tasks) == "tasks 2/4"
    assert broken.warnings[:2] == (
        f"file://{damaged}/completions has ranks beyond the 4 tasks of executor.json (7): a folder shared with "
        "another launch? they are not counted",
        f"file://{damaged}/stats/00001.json: the file is not valid JSON (Expecting property name enclosed in "
        "double quotes: line 1 column 2 (char 1)); that task's figures are left out",
    )
