"""Finishing through a stats.json URL (no cluster needed), marking jobs.yaml, and skipping finished jobs."""

from __future__ import annotations

import json
import time
from pathlib import Path

from progress_card.manifest import load_manifest
from tests.hubsim import HubSim
from tests.support import card, datatrove_stats, update, write_manifest, write_shard


def test_stats_json_at_a_url_completes_the_job_with_its_figures_then_it_is_skipped(
    hub: HubSim, tmp_path: Path
) -> None:
    for index in range(4):
        write_shard(
            hub.repo_dir("acme/gen") / "data" / f"{index}.parquet", 10, time.time() - 3600 * (4 - index)
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
    running = update(jobs)
    assert running.exit_code == 0, running.stderr
    assert "ETA" in running.stderr.splitlines()[-1]

    stats.parent.mkdir()
    stats.write_text(datatrove_stats(40))
    original = jobs.read_text()
    done = update(jobs)

    assert done.exit_code == 0, done.stderr
    assert done.stderr.splitlines()[-1] == (
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
    again = update(jobs, "--only", "gen")
    assert again.exit_code == 0
    assert again.stderr.splitlines()[-1].startswith("gen: already finished (completed at ")
    assert hub.requests == [] and len(hub.commits("acme/gen")) == commits

    # Deleting the keys by hand follows the job again.
    jobs.write_text(original)
    assert "marked completed in jobs.yaml" in update(jobs).stderr


def test_a_stats_file_that_is_not_json_yet_completes_nothing(hub: HubSim, tmp_path: Path) -> None:
    write_shard(hub.repo_dir("acme/gen") / "data" / "0.parquet", 10)
    stats = tmp_path / "stats.json"
    stats.write_text('[{"name": "reader", "sta')
    jobs = write_manifest(
        tmp_path, f'jobs: [{{name: gen, repo: acme/gen, total: 40, stats_path: "file://{stats}"}}]'
    )
    result = update(jobs)
    assert result.exit_code == 0
    assert "stats.json is not valid JSON" in result.stderr.splitlines()[-1]
    assert "finished" not in jobs.read_text()


def test_dry_run_says_it_would_mark_and_writes_nothing(hub: HubSim, tmp_path: Path) -> None:
    write_shard(hub.repo_dir("acme/gen") / "data" / "0.parquet", 40)
    stats = tmp_path / "stats.json"
    stats.write_text(datatrove_stats(40))
    jobs = write_manifest(
        tmp_path, f'jobs: [{{name: gen, repo: acme/gen, total: 40, stats_path: "file://{stats}"}}]'
    )
    before = jobs.read_text()
    result = update(jobs, "--dry-run")
    assert result.exit_code == 0
    assert result.stderr.splitlines()[-1].endswith("dry run, nothing pushed, would be marked finished")
    assert "+**default**: [●●●●●●●●●●●●●●●●●●●●] 100% • 40/40 docs<br>✅ Complete" in result.stdout
    assert jobs.read_text() == before and hub.commits("acme/gen") == []


def test_stats_json_on_the_hub_is_read_through_hf_urls(hub: HubSim, tmp_path: Path) -> None:
    write_shard(hub.repo_dir("acme/gen") / "data" / "0.parquet", 40)
    url = "hf://datasets/acme/gen-logs/run-1/stats.json"
    jobs = write_manifest(tmp_path, f'jobs: [{{name: gen, repo: acme/gen, total: 50, stats_path: "{url}"}}]')
    hub.create_repo("acme/gen-logs")
    assert "ETA" in update(jobs).stderr.splitlines()[-1]

    hub.put_file("acme/gen-logs", "run-1/stats.json", datatrove_stats(40))
    assert (
        update(jobs).stderr.splitlines()[-1].startswith("gen: 40/50 docs (80%), completed (stats.json found)")
    )


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

    waiting = update(jobs)

    assert waiting.stderr.splitlines()[-1].startswith("gen: 50/50 docs (100%), tasks 3/4, ")
    card = (hub.repo_dir("acme/gen") / "README.md").read_text()
    assert "100% • 50/50 docs • tasks 3/4<br>⏱️ waiting for the last tasks (3/4 done)" in card
    assert "finished" not in jobs.read_text()

    (logs / "completions" / "00003").touch()
    (logs / "stats.json").write_text(datatrove_stats(40))  # stats_path defaults to the folder's stats.json
    done = update(jobs)

    assert done.stderr.splitlines()[-1].startswith(
        "gen: 50/50 docs (100%), tasks 4/4, completed (stats.json found)"
    )
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

    result = update(jobs, env={"GITHUB_ACTIONS": "true"})

    assert result.exit_code == 0
    assert jobs.read_text() == before  # no card shows its final numbers: not finished for us yet
    annotation = next(line for line in result.stdout.splitlines() if line.startswith("::warning"))
    assert "acme/typo not found" in annotation and "check the repo's name in jobs.yaml" in annotation


def test_a_stats_json_still_being_written_keeps_the_tasks_on_the_card(hub: HubSim, tmp_path: Path) -> None:
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

    result = update(jobs)

    assert result.exit_code == 0
    assert "tasks 4/4" in result.stderr.splitlines()[-1] and "stats.json is not valid JSON" in result.stderr
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

    result = update(jobs)

    assert result.exit_code == 0, result.stderr
    marked = {job.name for job in load_manifest(jobs).jobs if job.finished is not None}
    assert marked == set(names)  # no mark lost to another repo's edit of the same file
