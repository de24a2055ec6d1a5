"""datatrove's logging folder, written the way datatrove writes it: executor.json from a real
executor through datatrove's own encoder, per-task stats through its own stats classes, empty
completion files, task logs, ranks_to_run.json and Slurm log names. And the Hugging Face Jobs that
datatrove's JobsPipelineExecutor launches: its labels, and the command `run_uv_job` gives them."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.support import write_shard

if TYPE_CHECKING:
    from tests.hubsim import HubSim

PROMPTS = "hf://datasets/acme/prompts"
OUTPUT = "hf://datasets/acme/gen/default"


def executor_json(
    tasks: int,
    *,
    output: str = OUTPUT,
    data: str = PROMPTS,
    limit: int = -1,
    workers: int = -1,
    job_name: str = "gen",
    hf_jobs: str | None = None,
    namespace: str | None = None,
) -> str:
    """executor.json of a datatrove inference job, as `save_executor_as_json` writes it: on Slurm, or
    on Hugging Face Jobs with `hf_jobs`, its logging folder's URL (in `namespace`)."""
    from datatrove.executor import JobsPipelineExecutor, SlurmPipelineExecutor
    from datatrove.executor.base import ExecutorJSONEncoder
    from datatrove.pipeline.inference.run_inference import InferenceConfig, InferenceRunner
    from datatrove.pipeline.readers import ParquetReader
    from datatrove.pipeline.writers import ParquetWriter

    async def rollout(runner: Any, document: Any, generate: Any) -> Any:  # never called here
        return await generate({"messages": [{"role": "user", "content": document.text}]})

    pipeline = [
        ParquetReader(data, glob_pattern="data/train-*.parquet", limit=limit),
        InferenceRunner(
            rollout_fn=rollout,
            config=InferenceConfig(server_type="dummy", model_name_or_path="dummy-model"),
            output_writer=ParquetWriter(
                output_folder=output, output_filename="${rank}_${chunk_index}.parquet"
            ),
        ),
    ]
    executor: Any
    if hf_jobs is not None:
        executor = JobsPipelineExecutor(
            pipeline=pipeline, tasks=tasks, workers=workers, logging_dir=hf_jobs, flavor=FLAVOR,
            namespace=namespace, job_name=job_name,
        )  # fmt: skip
    else:
        executor = SlurmPipelineExecutor(
            pipeline=pipeline, tasks=tasks, workers=workers, time="10:00:00", partition="gpu", job_name=job_name,
            logging_dir="/scratch/logs/gen",
        )  # fmt: skip
    return json.dumps(executor, cls=ExecutorJSONEncoder, indent=4)


FLAVOR = "a100-large"


def launch_command(logging_dir: str) -> list[str]:
    """The command of each Job JobsPipelineExecutor launches: `run_uv_job` of datatrove's launcher,
    whose argument is the executor pickled in the logging folder (the path as datatrove resolves it)."""
    from datatrove.io import get_datafolder

    pik = get_datafolder(logging_dir).resolve_paths("executor.pik")
    return [
        "uv",
        "run",
        "--with",
        "datatrove[io]",
        "--python",
        "3.11",
        "/data/launch_pickled_pipeline.py",
        pik,
    ]


def launch_on_hf_jobs(
    hub: HubSim,
    logging_dir: str,
    indices: Iterable[int],
    *,
    stage: str = "RUNNING",
    job_name: str = "gen",
    namespace: str = "acme",
    flavor: str = FLAVOR,
    **job: Any,
) -> list[str]:
    """One Job per array index, as JobsPipelineExecutor launches them (labels, command), in `stage`;
    `job` as for `HubSim.add_job` (created_at, running_secs, message, logs...). Returns their ids."""
    return [
        hub.add_job(
            namespace,
            labels={"datatrove_job_name": job_name, "datatrove_array_index": str(index)},
            flavor=flavor,
            stage=stage,
            command=launch_command(logging_dir),
            **job,
        )
        for index in indices
    ]


def output_shards(
    folder: Path, until: datetime, shards: int, *, rows: int = 10, every: timedelta, tasks: int = 8
) -> None:
    """Shards of `tasks` tasks as datatrove's output names them (`{rank:05d}_{chunk:05d}.parquet`),
    one every `every`, the last just before `until`."""
    for index in range(shards):
        at = until - every * (shards - index)
        write_shard(folder / f"{index % tasks:05d}_{index // tasks:05d}.parquet", rows, at.timestamp())


def task_stats(documents: int, prompt_tokens: int, completion_tokens: int) -> str:
    """One task's stats/<rank>.json, as datatrove's PipelineStats saves it: the reader, then the
    inference step (its per-request token counts summed)."""
    from datatrove.utils.stats import PipelineStats, Stats

    reader = Stats("📖 - READER: 📒 Parquet")
    reader["documents"] += documents
    inference = Stats("🤖 Inference")
    inference["documents_processed"] += documents
    for _ in range(documents):
        inference["prompt_tokens"] += prompt_tokens // max(documents, 1)
        inference["completion_tokens"] += completion_tokens // max(documents, 1)
    inference["successful_requests"] += documents
    out = io.StringIO()
    PipelineStats([reader, inference]).save_to_disk(out)
    return out.getvalue()


def write_logging_folder(
    folder: Path,
    tasks: int,
    *,
    completed: Iterable[int] = (),
    stats: Mapping[int, tuple[int, int, int, datetime]] | None = None,
    logs: Mapping[int, str] | None = None,
    ranks: Iterable[int] | None = None,
    slurm_jobs: Iterable[str] = (),
    **launch: Any,
) -> Path:
    """The folder as datatrove leaves it: executor.json (`launch` as for `executor_json`),
    ranks_to_run.json, a completion per rank in `completed`, `stats` per rank (documents, prompt
    tokens, completion tokens, when the task finished), `logs` per rank, and Slurm logs of `slurm_jobs`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "executor.json").write_text(executor_json(tasks, **launch))
    (folder / "ranks_to_run.json").write_text(
        json.dumps(sorted(ranks if ranks is not None else range(tasks)))
    )
    (folder / "completions").mkdir(exist_ok=True)
    for rank in completed:
        (folder / "completions" / f"{rank:05d}").touch()
    (folder / "stats").mkdir(exist_ok=True)
    for rank, (documents, prompt, completion, finished_at) in (stats or {}).items():
        path = folder / "stats" / f"{rank:05d}.json"
        path.write_text(task_stats(documents, prompt, completion))
        os.utime(path, (finished_at.timestamp(), finished_at.timestamp()))
    (folder / "logs").mkdir(exist_ok=True)
    for rank, text in (logs or {}).items():
        (folder / "logs" / f"task_{rank:05d}.log").write_text(text)
    (folder / "slurm_logs").mkdir(exist_ok=True)
    for job in slurm_jobs:
        for task in range(min(tasks, 2)):
            (folder / "slurm_logs" / f"{job}_{task}.out").write_text("")
    return folder
