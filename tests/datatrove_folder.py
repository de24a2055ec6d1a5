"""datatrove's logging folder, written the way datatrove writes it: executor.json from a real
executor through datatrove's own encoder, per-task stats through its own stats classes, empty
completion files, task logs, ranks_to_run.json and Slurm log names."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

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
) -> str:
    """executor.json of a datatrove inference job on Slurm, as `save_executor_as_json` writes it."""
    from datatrove.executor import SlurmPipelineExecutor
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
    executor = SlurmPipelineExecutor(
        pipeline=pipeline, tasks=tasks, workers=workers, time="10:00:00", partition="gpu", job_name=job_name,
        logging_dir="/scratch/logs/gen",
    )  # fmt: skip
    return json.dumps(executor, cls=ExecutorJSONEncoder, indent=4)


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
