"""What `add --logging-dir` infers of a job from datatrove's logging folder (pure)."""

from __future__ import annotations

from progress_card.adding import infer
from progress_card.compute.inspect import Launched, _arrays
from progress_card.compute.logging_folder import read_executor
from tests.datatrove_folder import executor_json


def launched(slurm_jobs: tuple[str, ...] = ("4250",), **launch: object) -> Launched:
    executor = read_executor(executor_json(64, **launch).encode())  # type: ignore[arg-type]
    return Launched(executor, slurm_jobs)


def test_the_folder_fills_in_the_name_the_output_the_input_and_the_job() -> None:
    inferred = infer(launched(limit=1000), {"logging_dir": "/scratch/logs/gen"}, "/scratch/logs/gen")
    assert inferred.fields == {
        "logging_dir": "/scratch/logs/gen",
        "name": "gen",
        "output": "hf://datasets/acme/gen/default",
        "config": "default",
        "input": {"dataset": "acme/prompts", "split": "train"},
        "max_examples": 64_000,
        "slurm_job_id": 4250,
    }
    assert inferred.said[-1] == "64 tasks (executor.json)"
    assert "max_examples: 64000 (the reader's limit of 1,000 a task × 64 tasks)" in inferred.said


def test_what_the_command_line_gives_wins_and_a_bucket_names_no_config() -> None:
    given = {"name": "raw", "repo": "acme/dialogues", "slurm_job_id": 7}
    inferred = infer(launched(output="hf://buckets/acme/raw/v1"), given, "/logs")
    assert inferred.fields["name"] == "raw" and inferred.fields["slurm_job_id"] == 7
    assert "output" not in inferred.fields  # the repo given says where the card goes; shards as it declares
    bucket = infer(
        launched(output="hf://buckets/acme/raw/v1"), {"repo": "acme/dialogues", "output": None}, "/logs"
    )
    assert "config" not in bucket.fields


def test_the_array_is_told_from_the_stats_merge_job_that_runs_after_it() -> None:
    logs = ("4242_0.out", "4242_1.out", "4243_0.out", "4250_0.out", "4250_1.out", "4251_0.out")
    assert _arrays(logs) == ("4250", "4242", "4251", "4243")
