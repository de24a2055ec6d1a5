import json
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from progress_card.card import describe_progress, progress_line, shown
from progress_card.compute.logging_folder import (
    FolderListing,
    StatsFile,
    findings,
    ranks_to_run,
    read_executor,
)
from progress_card.compute.slurm.script import Asked, build_script, parse_sections
from progress_card.model import TaskFigures, TaskProgress
from tests.datatrove_folder import PROMPTS, executor_json, task_stats, write_logging_folder
from tests.support import watched

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)


def test_executor_json_says_the_launch_the_input_and_the_output() -> None:
    executor = read_executor(executor_json(64, limit=1000, output="hf://buckets/acme/raw/v1").encode())
    assert executor is not None
    assert (executor.world_size, executor.workers, executor.job_name) == (64, None, "gen")  # workers -1: all
    assert (executor.input, executor.limit, executor.output) == (PROMPTS, 1000, "hf://buckets/acme/raw/v1")
    limited = read_executor(executor_json(200, workers=50).encode())
    assert limited is not None and limited.workers == 50
    for content in (
        b"{}",
        b"[]",
        b"not json",
        json.dumps({"world_size": "100"}).encode(),
        b'{"tasks": true}',
    ):
        found = read_executor(content)
        assert found is None or found.world_size is None


def test_the_fingerprint_follows_the_pipeline_not_the_memory_addresses() -> None:
    first, again = read_executor(executor_json(64).encode()), read_executor(executor_json(64).encode())
    other = read_executor(executor_json(64, output="hf://datasets/acme/gen/v2").encode())
    assert first is not None and again is not None and other is not None
    assert first.fingerprint == again.fingerprint != other.fingerprint


def test_ranks_to_run_is_the_list_of_ranks_a_launch_runs() -> None:
    assert ranks_to_run(b"[2, 3, 7]") == frozenset({2, 3, 7})
    assert ranks_to_run(b"[]") == frozenset()
    for content in (b"{}", b"[1, -1]", b'["1"]', b"[true]", b"nope"):
        assert ranks_to_run(content) is None


def test_the_folder_says_which_ranks_completed_and_what_the_new_ones_produced() -> None:
    finished = datetime(2026, 11, 21, 11, 0, tzinfo=timezone.utc)
    listing = FolderListing(
        True,
        completions=("00000", "00002", "00009"),
        executor=executor_json(8).encode(),
        ranks=b"[1, 3, 4, 5, 6, 7]",
        stats=(
            StatsFile("00000.json", finished.timestamp(), None),  # summed before
            StatsFile("00002.json", finished.timestamp(), task_stats(10, 1000, 3000).encode()),
            StatsFile("00009.json", finished.timestamp(), b"{not json"),
        ),
    )
    found = findings("/logs", listing)
    assert found.tasks == TaskProgress(2, 8, None, frozenset({1, 3, 4, 5, 6, 7}), frozenset({0, 2, 9}))
    assert found.tasks is not None and found.tasks.unfinished == (1, 3, 4, 5, 6, 7)
    assert found.finished == (TaskFigures(2, 10, 1000, 3000, finished),)
    assert found.problems == (
        "/logs/completions has ranks beyond the 8 tasks of executor.json (9): a folder shared with another "
        "launch? they are not counted",
        "/logs/stats/00009.json: the file is not valid JSON (Expecting property name enclosed in double quotes: "
        "line 1 column 2 (char 1)); that task's figures are left out",
    )


def test_a_folder_that_is_not_there_or_has_no_executor_json_says_so() -> None:
    assert findings("/logs", FolderListing(False)).problems == (
        "the logging folder /logs does not exist: check logging_dir in jobs.yaml (datatrove's logging_dir "
        "of the executor); tasks cannot be followed",
    )
    assert findings("/logs", FolderListing(True, ("00000",))).problems == (
        "/logs/executor.json is missing: is /logs datatrove's logging folder of the job?",
    )


def test_tasks_show_beside_the_documents_and_the_line_still_parses() -> None:
    line = progress_line("math", 3_120, 5_000, describe_progress(3_120, 5_000, None), TaskProgress(37, 100))
    assert line.startswith("**math**: [●●●●●●●●●●●●○○○○○○○○] 62% • 3,120/5,000 docs • tasks 37/100<br>⏱️ ")
    card = f"## 🔄 Generation Progress\n\n{line}\n\n*Last updated: x*\n"
    counts = shown(card, "math")
    assert counts is not None and (counts.done, counts.total, counts.complete) == (3_120, 5_000, False)


def test_documents_at_the_total_with_tasks_left_are_not_complete() -> None:
    assert describe_progress(100, 100, None, TaskProgress(3, 4)) == "⏱️ waiting for the last tasks (3/4 done)"
    assert (
        describe_progress(100, 100, None, TaskProgress(3, None)) == "⏱️ waiting for the last tasks (3/? done)"
    )
    assert describe_progress(100, 100, None, TaskProgress(4, 4)) == "✅ Complete"
    assert describe_progress(100, 100, None, None) == "✅ Complete"


def test_the_remote_script_lists_completions_and_sends_only_the_stats_not_summed(tmp_path: Path) -> None:
    finished = datetime(2026, 11, 21, 11, 0, tzinfo=timezone.utc)
    logs = write_logging_folder(
        tmp_path / "it's logs",
        8,
        completed=(0, 2, 3),
        stats={rank: (10, 1000, 3000, finished) for rank in (0, 2, 3)},
        ranks=(1, 4, 5, 6, 7),
    )
    empty = tmp_path / "fresh"
    asked = [
        Asked(watched("a", logging_dir=str(logs)), known=frozenset({0})),
        Asked(watched("b", logging_dir=str(empty))),
    ]
    done = subprocess.run(
        ["sh", "-s"], input=build_script(asked, "feed").encode(), capture_output=True, check=True
    )
    sections = parse_sections(done.stdout, "feed")
    assert sections[("completions", 0)] == ("0", "00000\n00002\n00003")
    assert sections[("executor", 0)][0] == "found" and sections[("ranks", 0)][0] == "found"
    assert sections[("statknown/00000.json", 0)] == (str(int(finished.timestamp())), "")  # not sent again
    assert sections[("stat/00002.json", 0)][0] == str(int(finished.timestamp()))
    assert ("stat/00003.json", 0) in sections
    assert sections[("folder", 1)] == ("no", "")
