"""A real datatrove generation job, as in production, on the loopback Slurm and the Hub simulator.

The pipeline is the one datatrove's own `examples/inference/generate_data.py` builds, on a CPU:
a `ParquetReader` over a small local input, an `InferenceRunner` whose model is datatrove's dummy
server (it answers chat completions locally), slowed down by the rollout, with local checkpoints
so that every `records_per_chunk` documents close a chunk, and a `ParquetWriter` that uploads each
closed chunk to the config's folder, `hf://datasets/<repo>/default/<rank>_<chunk>.parquet`, through
`HfFileSystem` as it goes. `SlurmPipelineExecutor` submits it as a job array, plus the dependent job
that merges the tasks' stats into `<logging_dir>/stats.json`.

Before the launch, datatrove's own card generator writes the card, as its progress monitor does when
it starts on a repo without one: a front matter whose `configs:` declares `default/**/*.parquet`,
and a progress section at 0.

The Slurm jobs import this module too (the pickled pipeline refers to `slow_rollout`), so it
imports nothing from the tests.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parents[2]
INPUT_FILES = 4
"""One input file per task: datatrove's readers hand out files, rank `r` gets files[r::tasks]."""
CONFIG = "default"
"""The config the job generates: datatrove's example names it after the prompt template, `default`
unless one is named, and writes it to the repo folder of that name."""
MODEL = "dummy-model"
GENERATION = {"max_tokens": 64, "temperature": 0.0}
"""The sampling parameters of every request (the card lists them)."""
# The jobs inherit the submitting environment (datatrove runs `sbatch --export=ALL,...`); these are
# also set in their script, so that no job can ever reach another Hub than the simulator.
HUB_VARIABLES = (
    "HF_ENDPOINT",
    "HF_HOME",
    "HF_HUB_DISABLE_TELEMETRY",
    "HF_HUB_DISABLE_XET",
    "HF_UPDATE_DOWNLOAD_COUNTS",
    "NO_PROXY",
    "no_proxy",
)


@dataclass(frozen=True)
class Plan:
    """The shape of a run: how many documents, tasks, and how slowly."""

    documents_per_task: int = 60
    tasks: int = INPUT_FILES
    workers: int = 2
    """Tasks running at once: the others wait in the array's queue."""
    records_per_chunk: int = 10
    """Documents per uploaded shard."""
    seconds_per_document: float = 1.0
    concurrency: int = 3
    """Documents in flight at once in a task: 3 documents a second, a shard every 3 s or so."""

    @property
    def documents(self) -> int:
        return self.documents_per_task * self.tasks

    @property
    def shards(self) -> int:
        return self.tasks * -(-self.documents_per_task // self.records_per_chunk)


async def slow_rollout(
    document: Any, generate: Callable[[dict[str, Any]], Awaitable[Any]], seconds: float
) -> Any:
    """One chat completion per document, after `seconds` of thinking (a real model takes a while)."""
    await asyncio.sleep(seconds)
    return await generate({"messages": [{"role": "user", "content": document.text}], **GENERATION})


def write_input(folder: Path, plan: Plan) -> Path:
    """The input dataset: `data/train-0000i-of-0000n.parquet`, short prompts with string ids."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    (folder / "data").mkdir(parents=True, exist_ok=True)
    for index in range(plan.tasks):
        ids = range(index * plan.documents_per_task, (index + 1) * plan.documents_per_task)
        table = pa.table(
            {
                "id": [f"prompt-{i:05d}" for i in ids],
                "text": [f"Write one sentence about the number {i}." for i in ids],
            }
        )
        pq.write_table(table, folder / "data" / f"train-{index:05d}-of-{plan.tasks:05d}.parquet")
    return folder


def environment_command() -> str:
    """The line the sbatch script runs first: this interpreter's virtual environment, this checkout on
    PYTHONPATH (the pickled pipeline imports this module), and the Hub simulator's settings.

    datatrove's scripts call its console scripts (`launch_pickled_pipeline`, `merge_stats`) by name,
    so their folder must come first on PATH, as `source .venv/bin/activate` does in production.
    """
    bin_dir = Path(sys.executable).parent
    activate = bin_dir / "activate"
    steps = [
        f"source {shlex.quote(str(activate))}"
        if activate.is_file()
        else f'export PATH={shlex.quote(str(bin_dir))}:"$PATH"'
    ]
    steps.append(f'export PYTHONPATH={shlex.quote(str(ROOT))}${{PYTHONPATH:+:"$PYTHONPATH"}}')
    for name in HUB_VARIABLES:
        if name in os.environ:
            steps.append(f"export {name}={shlex.quote(os.environ[name])}")
    return " && ".join(steps)


@dataclass
class Generation:
    """One datatrove run: where it logs, and the Slurm jobs it submitted."""

    repo_id: str
    input_dir: Path
    source_id: str
    """The Hub dataset the card names as the source: the input's files, uploaded (see `card_params`)."""
    logging_dir: Path
    checkpoints_dir: Path
    plan: Plan
    job_name: str
    partition: str
    job_id: str = ""
    """The job array running the tasks (the id to put in jobs.yaml)."""
    merge_job_id: str = ""
    """The job that runs once the array succeeded and writes stats.json."""
    submitted: list[str] = field(default_factory=list)
    """Every Slurm job submitted so far, arrays and stats jobs."""

    @property
    def stats_path(self) -> Path:
        return self.logging_dir / "stats.json"

    @property
    def output_folder(self) -> str:
        """Where the writer uploads: the config's folder of the repo, as datatrove's example writes it."""
        return f"hf://datasets/{self.repo_id}/{CONFIG}"

    def card_params(self) -> Any:
        """What datatrove's card generator is told of the job, as datatrove's example fills it in."""
        from datatrove.pipeline.inference.dataset_card_generator import InferenceDatasetCardParams

        return InferenceDatasetCardParams(
            output_repo_id=self.repo_id,
            # A Hub dataset id, not the local input the reader reads: the generator asks the Hub about
            # its source (`fetch_source_dataset_metadata` calls `dataset_info`), which refuses a path
            # ("HFValidationError: Repo id must be in the form 'repo_name' or 'namespace/repo_name'")
            # and answers 404 for a dataset it does not hold. The test uploads the same files there.
            input_dataset_name=self.source_id,
            input_dataset_split="train",
            input_dataset_config=None,
            prompt_column="text",
            prompt_template=None,
            prompt_template_name=CONFIG,
            system_prompt=None,
            model_name=MODEL,
            model_revision="main",
            generation_kwargs=dict(GENERATION),
            spec_config=None,
            stats_path=str(self.stats_path),
        )

    def create_card(self) -> None:
        """The card datatrove's `InferenceProgressMonitor` writes when it starts on a repo without a README:
        its progress section at 0 documents of the total, in the card its generator builds."""
        from datatrove.pipeline.inference.dataset_card_generator import build_and_upload_dataset_card
        from datatrove.pipeline.inference.progress_monitor import create_progress_section_markdown

        now = time.time()
        build_and_upload_dataset_card(
            params=self.card_params(),
            progress_section=create_progress_section_markdown(CONFIG, 0, self.plan.documents, now, now),
        )

    def executor(self) -> Any:
        """A fresh SlurmPipelineExecutor for the whole pipeline (launching it again skips completed tasks)."""
        from datatrove.executor import SlurmPipelineExecutor
        from datatrove.pipeline.inference.run_inference import InferenceConfig, InferenceRunner
        from datatrove.pipeline.readers import ParquetReader
        from datatrove.pipeline.writers import ParquetWriter

        plan = self.plan
        pipeline = [
            ParquetReader(str(self.input_dir), glob_pattern="data/train-*.parquet", text_key="text"),
            InferenceRunner(
                rollout_fn=slow_rollout,
                config=InferenceConfig(
                    server_type="dummy",
                    model_name_or_path=MODEL,
                    max_concurrent_generations=plan.concurrency,
                    max_concurrent_documents=plan.concurrency,
                    server_ready_delay_sec=0.2,
                    metric_interval=600,
                ),
                shared_context={"seconds": plan.seconds_per_document},
                checkpoints_local_dir=str(self.checkpoints_dir),
                records_per_chunk=plan.records_per_chunk,
                output_writer=ParquetWriter(
                    output_folder=self.output_folder,
                    output_filename="${rank}_${chunk_index}.parquet",
                    expand_metadata=True,
                ),
            ),
        ]
        return SlurmPipelineExecutor(
            pipeline=pipeline,
            tasks=plan.tasks,
            workers=plan.workers,
            time="00:10:00",
            partition=self.partition,
            cpus_per_task=1,
            job_name=self.job_name,
            logging_dir=str(self.logging_dir),
            env_command=environment_command(),
        )

    def launch(self) -> None:
        """Submit the tasks not completed yet (all of them the first time) and the stats job after them."""
        executor = self.executor()
        executor.run()
        self.job_id = str(executor.job_id)
        self.merge_job_id = merge_job_of(self.job_name, self.job_id)
        self.submitted += [self.job_id, self.merge_job_id]

    def diagnostics(self, lines: int = 15) -> str:
        """The end of every Slurm and task log, for a failing assertion."""
        parts = []
        for log in sorted(self.logging_dir.glob("slurm_logs/*.out")) + sorted(
            self.logging_dir.glob("logs/*.log")
        ):
            text = log.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {log} ---\n" + "\n".join(text))
        return "\n".join(parts) or f"(no logs under {self.logging_dir})"


def merge_job_of(job_name: str, job_id: str) -> str:
    """The id of the stats job datatrove submitted after `job_id` (it only logs it): the job of the same
    name that waits on it."""
    listed = subprocess.run(
        ["squeue", "--noheader", f"--name={job_name}", "--format=%i %E"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # It is submitted as an array of one task (it inherits the array's sbatch options): `1001_[0%2]`.
    waiting = {line.split()[0].split("_")[0] for line in listed.splitlines() if f"afterok:{job_id}" in line}
    if len(waiting) != 1:
        raise AssertionError(f"expected one stats job waiting on {job_id}, squeue shows:\n{listed}")
    return waiting.pop()
