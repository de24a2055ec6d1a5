import json
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from progress_card.card import describe_progress, progress_line, shown
from progress_card.compute.logging_folder import progress, ranks_to_run, tasks_total, workers_limit
from progress_card.compute.slurm.script import build_script, parse_sections
from progress_card.model import TaskProgress
from tests.support import watched

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)


def test_the_task_count_comes_from_datatrove_executor_json() -> None:
    assert tasks_total(json.dumps({"tasks": 100, "world_size": 100, "workers": 8}).encode()) == 100
    assert tasks_total(json.dumps({"tasks": 12}).encode()) == 12
    for content in (
        b"{}",
        b"[]",
        b"not json",
        json.dumps({"world_size": "100"}).encode(),
        b'{"tasks": true}',
    ):
        assert tasks_total(content) is None


def test_executor_json_says_how_many_tasks_run_at_once_when_fewer_than_all() -> None:
    assert workers_limit(json.dumps({"world_size": 200, "tasks": 200, "workers": 50}).encode()) == 50
    assert workers_limit(json.dumps({"world_size": 200, "workers": -1}).encode()) is None  # datatrove: all
    assert workers_limit(json.dumps({"world_size": 8, "workers": 8}).encode()) is None
    assert workers_limit(b"not json") is None


def test_ranks_to_run_is_the_list_of_ranks_a_launch_runs() -> None:
    assert ranks_to_run(b"[2, 3, 7]") == frozenset({2, 3, 7})
    assert ranks_to_run(b"[]") == frozenset()
    for content in (b"{}", b"[1, -1]", b'["1"]', b"[true]", b"nope"):
        assert ranks_to_run(content) is None


def test_the_launch_files_together() -> None:
    executor = json.dumps({"world_size": 96, "workers": 64}).encode()
    assert progress(64, executor, b"[64, 65]") == TaskProgress(64, 96, 64, frozenset({64, 65}))
    assert progress(0, None, None) == TaskProgress(0, None)


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


def test_the_remote_script_counts_completions_and_reads_executor_json(tmp_path: Path) -> None:

    logs = tmp_path / "it's logs"
    (logs / "completions").mkdir(parents=True)
    for rank in (0, 2, 3):
        (logs / "completions" / f"{rank:05d}").touch()
    (logs / "executor.json").write_text(json.dumps({"world_size": 8, "workers": 4}))
    (logs / "ranks_to_run.json").write_text("[1, 4, 5, 6, 7]")
    empty = tmp_path / "fresh"
    script = build_script([watched("a", logging_dir=str(logs)), watched("b", logging_dir=str(empty))], "feed")
    done = subprocess.run(["sh", "-s"], input=script.encode(), capture_output=True, check=True)
    sections = parse_sections(done.stdout, "feed")
    assert sections[("completions", 0)] == ("0", "3")
    assert sections[("executor", 0)][0] == "found"
    assert sections[("ranks", 0)][0] == "found"
    assert sections[("completions", 1)] == ("0", "0") and sections[("executor", 1)] == ("missing", "")
    assert sections[("ranks", 1)] == ("missing", "")
