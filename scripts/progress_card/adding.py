"""What `progress-card add --logging-dir` infers of a job from datatrove's logging folder: the name,
where the shards go (and so the dataset and the config), the input and its limit, the Slurm job or
the Hugging Face Jobs.
Pure: the folder was read by the compute wing (`compute.inspect`). What the command line gives wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .compute.inspect import Launched
from .formatting import format_count

HF_DATASETS = "hf://datasets/"


@dataclass(frozen=True)
class Inferred:
    """The keys of the new job, and what was inferred, in words."""

    fields: dict[str, object]
    said: tuple[str, ...]


def infer(launched: Launched, given: Mapping[str, object], folder: str) -> Inferred:
    """The new job's keys: those `given`, completed from what the launch records."""
    executor = launched.executor
    fields = {key: value for key, value in given.items() if value is not None}
    said: list[str] = []
    if executor is None:
        return Inferred(fields, ())

    def take(key: str, value: object, why: str) -> None:
        if key not in fields and value is not None:
            fields[key] = value
            shown = ", ".join(f"{k}: {v}" for k, v in value.items()) if isinstance(value, dict) else value
            said.append(f"{key}: {shown} ({why})")

    take("name", executor.job_name or folder.rstrip("/").rsplit("/", 1)[-1], "the executor's job name")
    output = executor.output
    if "repo" not in fields and "output" not in fields and output is not None:
        take("output", output, "the writer's output folder")
        if (
            output.startswith(HF_DATASETS)
            and len(output.removeprefix(HF_DATASETS).strip("/").split("/")) == 3
        ):
            take("config", output.rstrip("/").rsplit("/", 1)[-1], "the folder datatrove writes the config to")
    take("logging_dir", folder, "the folder read")
    if executor.input is not None and executor.input.startswith(HF_DATASETS):
        take(
            "input",
            {"dataset": executor.input.removeprefix(HF_DATASETS).strip("/"), "split": "train"},
            "the reader's data folder",
        )
    if executor.limit is not None and executor.world_size is not None:
        cap = executor.limit * executor.world_size
        take(
            "max_examples",
            cap,
            f"the reader's limit of {format_count(executor.limit)} a task × {executor.world_size} tasks",
        )
    if executor.on_hf_jobs and executor.job_name and "slurm_job_id" not in fields:
        jobs = {
            "name": executor.job_name,
            **({"namespace": executor.namespace} if executor.namespace else {}),
        }
        take("hf_jobs", jobs, "the executor launches Hugging Face Jobs labelled with its job name")
    elif launched.slurm_jobs and "hf_jobs" not in fields:
        take("slurm_job_id", int(launched.slurm_jobs[0]), "the newest Slurm array in slurm_logs/")
    if executor.world_size is not None:
        said.append(f"{executor.world_size} tasks (executor.json)")
    return Inferred(fields, tuple(said))
