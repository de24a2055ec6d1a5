"""A real datatrove generation job on the loopback Slurm, followed from the outside as in production.

datatrove (from PyPI) runs its inference pipeline (tests/e2e/generation.py) as a Slurm job array
that uploads parquet shards to the Hub simulator's `default/` folder through the real
`huggingface_hub` client, then a dependent job that writes stats.json; the card is datatrove's own,
written before the launch. progress-card follows it as it would a week-long job: the shards where
the card's `configs:` says they are, the Slurm job and datatrove's logging folder over ssh; once
through the real workflow under act.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from textwrap import dedent
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import Result
from huggingface_hub import HfApi

from progress_card.manifest import load_manifest
from progress_card.storage import HubDataset
from tests.cards import progress_line
from tests.cluster import LoopbackCluster
from tests.cluster.procs import poll
from tests.cluster.slurmconf import PARTITION
from tests.e2e.act import act, checkout, commit_and_push, origin_log
from tests.e2e.generation import CONFIG, Generation, Plan, write_input
from tests.ghsim import GitHubSim
from tests.hubsim import HubSim
from tests.support import card, command, ssh_settings

pytestmark = pytest.mark.cluster

REPO = "acme/gen"
SOURCE = "acme/prompts"
"""The input dataset as the card names it: the input's files, uploaded to the simulator."""
DECLARED = f"{CONFIG}/**/*.parquet"
"""What datatrove's card declares for the default config in its `configs:`."""
PLAN = Plan()
"""4 tasks of 60 documents, 2 at a time, 6 shards each: about 50 s from submission to stats.json."""
ENDED = {"COMPLETED", "CANCELLED", "FAILED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "PREEMPTED"}
FINISHED_KEYS = ("finished:", "outcome:", "finished_at:", "final_count:")


@pytest.fixture
def datatrove(
    cluster: LoopbackCluster, hub: HubSim, tmp_path: Path
) -> Iterator[Callable[[Plan], Generation]]:
    """Starts the generation (input, output repo, submission); no job of the test outlives it."""
    started: list[Generation] = []

    def start(plan: Plan) -> Generation:
        base = cluster.shared_dir / f"datatrove-{tmp_path.name}"
        api = HfApi()
        input_dir = write_input(base / "input", plan)
        # The input on the Hub too, for the card's source (the reader reads the local copy).
        api.create_repo(SOURCE, repo_type="dataset")
        api.upload_folder(repo_id=SOURCE, repo_type="dataset", folder_path=input_dir)
        api.create_repo(REPO, repo_type="dataset")  # as datatrove's example does before submitting
        generation = Generation(
            repo_id=REPO,
            input_dir=input_dir,
            source_id=SOURCE,
            logging_dir=base / "logs",
            checkpoints_dir=base / "checkpoints",
            plan=plan,
            job_name=f"generate-{tmp_path.name}",
            partition=PARTITION,
        )
        started.append(generation)
        generation.create_card()  # as datatrove's progress monitor does when it starts
        generation.launch()
        return generation

    yield start
    for generation in started:
        for job in generation.submitted:
            cluster.scancel(job)
        for job in generation.submitted:  # a task still uploading would write into the next test's Hub
            cluster.wait_for(job, lambda states: set(states) <= ENDED, timeout=60)


def jobs_file(folder: Path, cluster: LoopbackCluster, generation: Generation) -> Path:
    """jobs.yaml as the job's owner writes it: the repo, the input (for the total), Slurm and the logs."""
    path = folder / "jobs.yaml"
    path.write_text(
        dedent(
            f"""\
            # Generation jobs of the team.
            jobs:
              - name: gen
                repo: {REPO}
                input: {{dataset: {generation.input_dir}, split: train}}
                slurm_job_id: {generation.job_id}
                stats_path: {generation.stats_path}
                logging_dir: {generation.logging_dir}
                ssh: {ssh_settings(cluster)}
            """
        )
    )
    return path


def update(jobs: Path) -> Result:
    result = command("update", "--jobs", str(jobs))
    assert result.exit_code == 0, result.stderr
    return result


def summary(result: Result) -> str:
    return result.stderr.splitlines()[-1]


def card_text(hub: HubSim) -> str:
    return card(hub, REPO)


def card_line(hub: HubSim) -> str:
    return progress_line(card_text(hub))


def shards(hub: HubSim) -> list[Path]:
    """The shards in the config's folder of the repo, where the writer uploads them."""
    return sorted((hub.repo_dir(REPO) / CONFIG).glob("*.parquet"))


def rows(hub: HubSim) -> int:
    """Documents uploaded so far, from the shards' footers."""
    return sum(pq.ParquetFile(path).metadata.num_rows for path in shards(hub))


def wait_for_rows(hub: HubSim, generation: Generation, at_least: int, timeout: float = 60) -> None:
    poll(
        lambda: rows(hub) >= at_least,
        timeout=timeout,
        interval=0.2,
        what=f"{at_least} documents uploaded",
        details=generation.diagnostics,
    )


def wait_for_stats(cluster: LoopbackCluster, generation: Generation) -> None:
    """Until the stats job has written stats.json and ended."""
    states = cluster.wait_for(generation.merge_job_id, lambda states: set(states) <= ENDED, timeout=120)
    assert set(states) <= {"COMPLETED"}, (
        f"stats job {generation.merge_job_id}: {states}\n{generation.diagnostics()}"
    )
    assert generation.stats_path.is_file(), generation.diagnostics()


def front_matter(text: str) -> str:
    """A card's YAML front matter, byte for byte, without its fences."""
    assert text.startswith("---\n"), text[:200]
    return text[len("---\n") : text.index("\n---\n", 3) + 1]


def assert_declares_default(text: str, datatrove_card: str) -> None:
    """The card still declares the config's files as datatrove's card did, in the very bytes datatrove
    wrote: progress-card patches the progress line of a card it did not create, never its front matter."""
    assert yaml.safe_load(front_matter(text))["configs"] == [
        {"config_name": CONFIG, "data_files": [{"split": "train", "path": DECLARED}]}
    ]
    assert front_matter(text) == front_matter(datatrove_card)


def counted_lines(log: str) -> list[tuple[int, int]]:
    """(documents, shards) of every count progress-card logged, found where the card's configs: says."""
    found = re.findall(
        rf"^.*gen: (\d+) documents in (\d+) shards: {re.escape(DECLARED)} in {REPO} "
        rf"\(the card's configs: entry for {CONFIG}\)$",
        log,
        re.MULTILINE,
    )
    return [(int(documents), int(count)) for documents, count in found]


def datatrove_figures(stats_path: Path) -> dict[str, Any]:
    """What datatrove's stats.json says, read here independently of progress-card."""
    steps = json.loads(stats_path.read_text())
    inference = next(step["stats"] for step in steps if "documents_processed" in step["stats"])
    reader = next(step["stats"] for step in steps if "doc_len" in step["stats"])
    return {
        "documents": inference["documents_processed"]["total"],
        "chars": reader["doc_len"]["mean"],
        "prompt": inference["prompt_tokens"],
        "completion": inference["completion_tokens"],
    }


def assert_final_figures(hub: HubSim, stats_path: Path) -> dict[str, Any]:
    figures = datatrove_figures(stats_path)
    card = (hub.repo_dir(REPO) / "README.md").read_text()
    table = "\n".join(
        [
            "| Metric | Value |",
            "| --- | --- |",
            f"| Documents processed | {figures['documents']:,} |",
            f"| Avg. source chars | {figures['chars']:.2f} |",
            f"| Total prompt tokens | {figures['prompt']['total']:,} |",
            f"| Total completion tokens | {figures['completion']['total']:,} |",
            f"| Mean prompt tokens | {figures['prompt']['mean']:.2f} |",
            f"| Mean completion tokens | {figures['completion']['mean']:.2f} |",
        ]
    )
    assert table in card, card
    return figures


def finished_keys(jobs: Path) -> dict[str, str]:
    return dict(
        line.strip().split(": ", 1)
        for line in jobs.read_text().splitlines()
        if line.strip().startswith(FINISHED_KEYS)
    )


def uploads_after(hub: HubSim, moment: float) -> set[str]:
    """Shards committed after `moment` (time.time())."""
    return {
        path
        for commit in hub.commits(REPO)
        if commit.time > moment
        for path in commit.files
        if path.startswith(f"{CONFIG}/")
    }


def card_date(line: str) -> datetime:
    """The expected end the card shows: `📅 Nov 27 2026, 18:30 UTC`."""
    found = re.search(r"📅 (.+ UTC)", line)
    assert found, line
    return datetime.strptime(found[1], "%b %d %Y, %H:%M UTC").replace(tzinfo=timezone.utc)


def test_a_generation_job_is_followed_from_its_first_shards_to_its_final_figures(
    datatrove: Callable[[Plan], Generation],
    hub: HubSim,
    cluster: LoopbackCluster,
    github: GitHubSim,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="progress_card")
    generation = datatrove(PLAN)
    total = PLAN.documents
    jobs = jobs_file(tmp_path, cluster, generation)
    written = jobs.read_text()
    # datatrove's card, as its monitor writes it at the start: nothing done yet.
    datatrove_card = card_text(hub)
    assert progress_line(datatrove_card) == (
        f"**default**: [{'○' * 20}] 0% • 0/{total} docs<br>⏱️ waiting for first shard upload..."
    )

    # While it runs: a fifth of the documents are up, the first two tasks still at work.
    wait_for_rows(hub, generation, total // 5)
    # Set up from the logging folder, as its owner could have once the tasks ran: what the launch
    # records fills in the job.
    scratch = tmp_path / "setup"
    scratch.mkdir()
    (scratch / "jobs.yaml").write_text(
        f"defaults:\n  total: {total}\n  ssh: {ssh_settings(cluster)}\njobs:\n  - {{name: other, repo: acme/other}}\n"
    )
    added = command("add", "--jobs", str(scratch / "jobs.yaml"), "--logging-dir", str(generation.logging_dir))
    assert added.exit_code == 0, added.stderr
    assert (
        f"inferred name: {generation.job_name} (the executor's job name)\n"
        f"inferred output: hf://datasets/{REPO}/{CONFIG} (the writer's output folder)\n"
        f"inferred config: {CONFIG} (the folder datatrove writes the config to)\n"
    ) in added.stderr
    assert (
        f"inferred slurm_job_id: {generation.job_id} (the newest Slurm array in slurm_logs/)" in added.stderr
    )
    assert f"inferred {PLAN.tasks} tasks (executor.json)" in added.stderr
    _, set_up = load_manifest(scratch / "jobs.yaml").jobs
    assert (set_up.slurm_job_ids, str(set_up.output), set_up.card_home) == (
        (generation.job_id,),
        f"hf://datasets/{REPO}/{CONFIG}",
        HubDataset(REPO),
    )

    before = rows(hub)
    running = update(jobs)
    after = rows(hub)

    progress = re.fullmatch(
        rf"gen: (\d+)/{total} docs \(\d+%\)(?:, tasks (\d)/(\d))?, ETA (.+), card pushed", summary(running)
    )
    assert progress, running.stderr
    done = int(progress[1])
    assert 0 < before <= done <= after < total
    # Counted in default/, where datatrove's card declares the config's files: one log line says so.
    assert counted_lines(caplog.text) == [(done, done // PLAN.records_per_chunk)], caplog.text
    assert re.fullmatch(r"< 1m|[1-3]m", progress[4]), progress[4]  # the whole job takes about a minute
    source = f"parquet footers of 4 train files of {generation.input_dir}"
    assert f"gen: expecting {total} documents ({source})" in caplog.text
    card = card_line(hub)
    assert re.fullmatch(rf"\*\*default\*\*: \[[●○]{{20}}\] \d+% • {done}/{total} docs.*<br>⏱️ .+", card), card
    now = datetime.now(timezone.utc)
    assert now - timedelta(minutes=1) <= card_date(card) <= now + timedelta(minutes=3), card
    assert jobs.read_text() == written
    assert_declares_default(card_text(hub), datatrove_card)

    # The hourly workflow, once, while the job runs: the same answers, nothing marked or committed.
    work = checkout(tmp_path / "act")
    (work / "jobs.yaml").write_text(
        "jobs:\n"
        "  - name: gen\n"
        f"    repo: {REPO}\n"
        f"    input: {{dataset: {generation.input_dir}, split: train}}\n"
        f"    slurm_job_id: {generation.job_id}\n"
        f"    logging_dir: {generation.logging_dir}\n"
        f"    ssh: {{host: {cluster.host}, port: {cluster.port}, user: {cluster.user}}}\n"
    )
    commit_and_push(work, "Follow the generation")
    workflow = act(work, hub, cluster, github, {"only": "", "dry-run": "false"})
    estimated_at = datetime.now(timezone.utc)

    assert workflow.returncode == 0, workflow.log[-6000:]
    (report,) = json.loads(workflow.output("report"))
    assert report["status"] == "running" and report["marked"] is False, report
    assert done <= report["done"] < total and 0 < report["percent"] < 100, report
    assert report["eta"] is not None, report
    expected_end = datetime.strptime(report["eta_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    # The card moves only when the count did: a workflow run between two uploads changes nothing.
    card_status = "card pushed" if report["done"] > done else "card unchanged"
    assert "| `gen` | [" in workflow.summary and f"| running, {card_status}" in workflow.summary
    # Nothing finished, so jobs.yaml is as it was; the status page is new, and committed.
    assert origin_log(work) == [
        "Update the status page of the generation jobs [skip ci]",
        "Follow the generation",
    ]

    # After it ends: completed from the real stats.json, with datatrove's own figures on the card.
    wait_for_stats(cluster, generation)
    finished = update(jobs)

    assert summary(finished).startswith(f"gen: {total}/{total} docs (100%), ")
    assert summary(finished).endswith(
        "completed (stats.json found), card pushed, marked completed in jobs.yaml"
    )
    assert jobs.read_text().startswith(written)
    marked = finished_keys(jobs)
    assert marked == {
        "finished": "true",
        "outcome": "completed",
        "finished_at": marked["finished_at"],
        "final_count": str(total),
    }
    assert card_line(hub).startswith(f"**default**: [{'●' * 20}] 100% • {total}/{total} docs")
    assert card_line(hub).endswith("<br>✅ Complete")
    figures = assert_final_figures(hub, generation.stats_path)
    assert figures["documents"] == total and figures["prompt"]["total"] > 0
    assert figures["completion"]["total"] == 100 * total  # the dummy model's 100 tokens per answer
    # The count is exact, every shard in default/ and none elsewhere; datatrove's front matter is intact.
    assert rows(hub) == total and len(shards(hub)) == PLAN.shards
    assert counted_lines(caplog.text)[1:] == [(total, PLAN.shards)], caplog.text
    assert not (hub.repo_dir(REPO) / "data").exists()
    assert_declares_default(card_text(hub), datatrove_card)

    # Every shard was uploaded once, as its chunk closed, and the ETA was about right.
    uploads = [
        (path, commit.time)
        for commit in hub.commits(REPO)
        for path in commit.files
        if path.startswith(f"{CONFIG}/")
    ]
    assert len(uploads) == len({path for path, _ in uploads}) == PLAN.shards == len(shards(hub))
    last_upload = datetime.fromtimestamp(max(when for _, when in uploads), timezone.utc)
    tolerance = max(timedelta(seconds=20), (last_upload - estimated_at) * 0.4)
    assert abs(expected_end - last_upload) <= tolerance, f"expected {expected_end}, ended {last_upload}"

    # logging_dir: the tasks done beside the documents, in the summary line and on the card.
    assert progress[2] is not None and int(progress[2]) < 4 and progress[3] == "4", summary(running)
    assert re.search(rf"• {done}/{total} docs • tasks [0-3]/4<br>", card), card
    assert report["tasks_done"] < 4 and report["tasks_total"] == 4, report
    assert ", tasks 4/4, completed (stats.json found)" in summary(finished)
    # The finished tasks' completion tokens, summed from their stats/ files as they came.
    assert re.search(
        rf"100% • {total}/{total} docs • tasks 4/4 • [\d.]+K tokens \(≈ [\d.]+[KM]/h\)<br>✅ Complete$",
        card_line(hub),
    )


def test_a_cancelled_job_is_marked_with_its_last_count_then_relaunched_and_followed_to_completion(
    datatrove: Callable[[Plan], Generation], hub: HubSim, cluster: LoopbackCluster, tmp_path: Path
) -> None:
    generation = datatrove(PLAN)
    total, first_job = PLAN.documents, generation.job_id
    jobs = jobs_file(tmp_path, cluster, generation)
    written = jobs.read_text()
    datatrove_card = card_text(hub)
    completions = generation.logging_dir / "completions"

    # Half way: the first two tasks have completed, the last two have uploaded some of their shards.
    poll(
        lambda: (
            completions.is_dir()
            and len(list(completions.iterdir())) == 2
            and rows(hub) >= total // 2 + 2 * PLAN.records_per_chunk
        ),
        timeout=90,
        interval=0.2,
        what="two tasks completed and two shards of the next ones uploaded",
        details=generation.diagnostics,
    )
    cluster.scancel(first_job)
    cluster.scancel(generation.merge_job_id)  # it waits for the array to succeed, which will never happen
    cluster.wait_for(first_job, lambda states: set(states) <= ENDED)
    hub.wait_idle()
    uploaded = rows(hub)
    assert total // 2 < uploaded < total

    cancelled = update(jobs)

    # The queue still shows the cancelled array: the tasks without a completion are named.
    ended = (
        rf"failed \(2 of 4 tasks unfinished \(ranks 2, 3\); Slurm job {first_job} ended \(CANCELLED\)\), "
        "card pushed, marked failed"
    )
    stop = re.fullmatch(
        rf"gen: {uploaded}/{total} docs \(\d+%\)(, tasks \d/4)?, (?:{ended}) in jobs\.yaml",
        summary(cancelled),
    )
    assert stop, cancelled.stderr
    marked = finished_keys(jobs)
    assert marked["outcome"] == "failed" and marked["final_count"] == str(uploaded)
    percent = uploaded * 100 // total
    stopped_card = card_line(hub)
    assert re.fullmatch(
        rf"\*\*default\*\*: \[[●○]{{20}}\] {percent}% • {uploaded}/{total} docs.*"
        rf"<br>⚠️ stopped at {percent}%: 2 of 4 tasks unfinished \(ranks 2, 3\); Slurm job {first_job} ended \(CANCELLED\)",
        stopped_card,
    ), stopped_card

    # Relaunched as its owner would: the same pipeline again, which runs only the tasks without a
    # completion marker (they resume from their checkpoints); `progress-card relaunch` makes
    # jobs.yaml follow the new job.
    relaunched_at = time.time()
    generation.launch()
    assert generation.job_id != first_job
    assert json.loads((generation.logging_dir / "ranks_to_run.json").read_text()) == [2, 3]
    recorded = command("relaunch", "gen", "--slurm-job-id", generation.job_id, "--jobs", str(jobs))
    assert recorded.exit_code == 0, recorded.stderr
    assert jobs.read_text() == written.replace(
        f"slurm_job_id: {first_job}", f"slurm_job_id: {generation.job_id}"
    )

    wait_for_stats(cluster, generation)
    completed = update(jobs)

    assert summary(completed).startswith(f"gen: {total}/{total} docs (100%), ")
    assert summary(completed).endswith(
        "completed (stats.json found), card pushed, marked completed in jobs.yaml"
    )
    marked = finished_keys(jobs)
    assert marked["outcome"] == "completed" and marked["final_count"] == str(total)
    assert card_line(hub).endswith("<br>✅ Complete")
    figures = assert_final_figures(hub, generation.stats_path)
    # The resumed tasks count only what they generated after the relaunch, not what they replayed.
    assert total // 2 <= figures["documents"] < total
    # Every document is on the Hub once; the completed tasks' shards were not uploaded again.
    ids = sorted(
        i for path in shards(hub) for i in pq.read_table(path, columns=["id"]).column("id").to_pylist()
    )
    assert ids == [f"prompt-{i:05d}" for i in range(total)]
    assert not {
        path
        for path in uploads_after(hub, relaunched_at)
        if path.startswith((f"{CONFIG}/00000_", f"{CONFIG}/00001_"))
    }
    assert not (hub.repo_dir(REPO) / "data").exists()
    assert_declares_default(card_text(hub), datatrove_card)

    # logging_dir: the tasks done, 2 of 4 when cancelled, all of them in the end.
    assert stop[1] == ", tasks 2/4", summary(cancelled)
    # The two tasks ran side by side: a rate shows only when they finished in different seconds.
    assert re.search(
        rf"{uploaded}/{total} docs • tasks 2/4 • [\d.]+K tokens(?: \(≈ [\d.]+[KM]/h\))?<br>", stopped_card
    )
    assert ", tasks 4/4, completed (stats.json found)" in summary(completed)
    # The finished tasks' completion tokens, summed from their stats/ files as they came.
    assert re.search(
        rf"100% • {total}/{total} docs • tasks 4/4 • [\d.]+K tokens \(≈ [\d.]+[KM]/h\)<br>✅ Complete$",
        card_line(hub),
    )
