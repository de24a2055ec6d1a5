"""The values that cross the two wings: what storage found (counts, arrivals), what compute says
(verdicts), and what the estimate makes of them. Plain frozen records; nothing here does I/O.

`storage/` and `compute/` build them; `estimate`, `progress`, `card`, `report` and everything after
read them, and import neither wing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum


@dataclass(frozen=True)
class Arrival:
    """A shard's documents, when they were committed, and where it is in the dataset."""

    at: datetime
    rows: int
    path: str = ""
    """The shard's path, e.g. `default/00012_00003.parquet`."""


@dataclass(frozen=True)
class Unreadable:
    """A listed shard whose footer could not be read: never counted as zero rows."""

    path: str
    reason: str


@dataclass(frozen=True)
class Count:
    """What a job's shards hold, as counted from their footers."""

    documents: int
    shards: int
    unreadable: tuple[Unreadable, ...]
    arrivals: tuple[Arrival, ...]
    """The readable shards, oldest first: the job's upload history."""
    gone: int = 0
    """Shards counted by an earlier run that are no longer there."""
    gone_documents: int = 0
    """The documents they held."""

    @property
    def complete(self) -> bool:
        """Every listed shard was read."""
        return not self.unreadable


@dataclass(frozen=True)
class Found:
    """Where a job's shards were looked for, and how full the folders that receive them are."""

    what: str
    """The files counted and why those: `default/**/*.parquet in acme/gen (datatrove's convention
    for the default config)`."""
    origin: str
    """Where they are, for people: `hf://buckets/acme/raw/v1`, `acme/gen/default`."""
    place: str
    """The repo, bucket or folder they are in: `acme/gen`, `hf://buckets/acme/raw`."""
    folders: dict[str, int]
    """The entries (files and folders) directly in each folder that holds the job's shards."""
    files: int
    """Files of any kind seen at the place (repo, bucket or folder): a floor on all it holds."""


@dataclass(frozen=True)
class Total:
    """The number of documents a job is expected to produce."""

    documents: int
    source: str
    """Where the number came from, for the log."""


@dataclass(frozen=True)
class Peak:
    """The highest count seen, and when."""

    documents: int
    shards: int
    at: datetime


@dataclass(frozen=True)
class Loss:
    """Shards counted before that are gone, and the documents that went with them."""

    shards: int
    documents: int
    since: datetime
    """The last run that still saw them."""
    where: str


@dataclass(frozen=True)
class Eta:
    """Time left and the moment the job should end."""

    remaining: timedelta
    finish_at: datetime


@dataclass(frozen=True)
class Silence:
    """No new shard for longer than usual while the job is alive: late, and past a longer wait, stalled."""

    since: datetime
    """The last upload."""
    usual: timedelta
    """The job's beat: how long a task's chunk usually takes, or the usual gap between shards."""
    per_task: bool
    """The beat is a task's chunk time (the names give the tasks), not the gap between shards."""
    stalled: bool
    """Long enough to be a stall (an incident), not just late."""


class Outcome(str, Enum):
    COMPLETED = "completed"
    STOPPED = "stopped"
    FAILED = "failed"


@dataclass(frozen=True)
class Pending:
    """Every task still to run is waiting in the queue, none running."""

    reason: str
    """Why, in the scheduler's words: Priority, Resources, JobHeldUser, BeginTime (just requeued)..."""
    since: datetime | None
    """When it was submitted or requeued."""
    never_starts: bool = False
    """It waits on a job that failed: it will never run (Slurm's DependencyNeverSatisfied)."""


@dataclass(frozen=True)
class Launch:
    """What the compute says of how the job's tasks run; each value None when it does not say."""

    started_at: datetime | None = None
    """When the job's first task started running (Slurm's `%S`)."""
    tasks: int | None = None
    """The job's number of tasks (`world_size`)."""
    workers: int | None = None
    """At most this many tasks run at once; None when they all may."""
    ranks: frozenset[int] | None = None
    """The ranks this launch runs: fewer than `tasks` after a relaunch of the unfinished ones."""


UNKNOWN_LAUNCH = Launch()
"""Nothing known of the job's launch: no scheduler, no logging folder."""


@dataclass(frozen=True)
class TaskProgress:
    """The tasks done in datatrove's logging folder, and how the launch runs them."""

    done: int
    total: int | None
    """None until executor.json can be read."""
    workers: int | None = None
    """executor.json's `workers` when it limits the tasks running at once."""
    ranks: frozenset[int] | None = None
    """ranks_to_run.json, when it could be read."""
    completed: frozenset[int] | None = None
    """The ranks whose completion is there, when the folder says which (not only how many)."""

    @property
    def complete(self) -> bool:
        """Every rank of the job has completed."""
        if self.total is None:
            return False
        if self.completed is not None:
            return len(self.completed & frozenset(range(self.total))) == self.total
        return self.done >= self.total

    @property
    def unfinished(self) -> tuple[int, ...]:
        """The ranks without a completion, when the folder says which are done."""
        if self.total is None or self.completed is None:
            return ()
        return tuple(rank for rank in range(self.total) if rank not in self.completed)

    @property
    def beyond(self) -> tuple[int, ...]:
        """Completed ranks the job does not have: a folder shared with another launch."""
        if self.total is None or self.completed is None:
            return ()
        return tuple(sorted(rank for rank in self.completed if rank >= self.total))

    def __str__(self) -> str:
        return f"tasks {self.done}/{self.total if self.total is not None else '?'}"


@dataclass(frozen=True)
class FinalFigures:
    """datatrove's final statistics of a completed job (each None when stats.json does not say)."""

    documents: int | None
    prompt_tokens: int | None
    completion_tokens: int | None
    prompt_tokens_mean: float | None
    completion_tokens_mean: float | None
    mean_doc_chars: float | None
    tasks: int | None = None
    """Summed from this many per-task stats files (datatrove's `stats/`), when stats.json is not there."""


@dataclass(frozen=True)
class TaskFigures:
    """One finished task's figures, from its `stats/<rank>.json`."""

    rank: int
    documents: int
    prompt_tokens: int
    completion_tokens: int
    finished_at: datetime | None
    """When the file was written: when the task finished."""


@dataclass(frozen=True)
class TaskSums:
    """The finished tasks' figures summed so far (kept between runs: each file is read once)."""

    ranks: frozenset[int] = frozenset()
    documents: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finishes: tuple[tuple[datetime, int], ...] = ()
    """When each task finished, and its completion tokens, oldest first."""

    def plus(self, tasks: Sequence[TaskFigures]) -> TaskSums:
        """These sums with the tasks not counted yet added."""
        fresh = {task.rank: task for task in tasks if task.rank not in self.ranks}.values()
        if not fresh:
            return self
        finishes = [*self.finishes, *((t.finished_at, t.completion_tokens) for t in fresh if t.finished_at)]
        return TaskSums(
            self.ranks | {task.rank for task in fresh},
            self.documents + sum(task.documents for task in fresh),
            self.prompt_tokens + sum(task.prompt_tokens for task in fresh),
            self.completion_tokens + sum(task.completion_tokens for task in fresh),
            tuple(sorted(finishes)),
        )

    @property
    def tokens_per_hour(self) -> float | None:
        """Completion tokens an hour, once two tasks have finished apart: the tokens of the tasks after
        the first, over the time since it finished."""
        if len(self.finishes) < 2:
            return None
        hours = (self.finishes[-1][0] - self.finishes[0][0]).total_seconds() / 3600
        if hours <= 0:
            return None
        return sum(tokens for _, tokens in self.finishes[1:]) / hours

    def figures(self) -> FinalFigures:
        """The final figures these sums give, as stats.json would."""
        documents = self.documents or None
        return FinalFigures(
            documents=self.documents,
            prompt_tokens=self.prompt_tokens or None,
            completion_tokens=self.completion_tokens or None,
            prompt_tokens_mean=self.prompt_tokens / documents if documents and self.prompt_tokens else None,
            completion_tokens_mean=self.completion_tokens / documents
            if documents and self.completion_tokens
            else None,
            mean_doc_chars=None,
            tasks=len(self.ranks),
        )


@dataclass(frozen=True)
class LaunchSettings:
    """What datatrove's executor.json says of a launch that a resume must keep: the number of tasks,
    where the writer writes, and the pipeline itself."""

    world_size: int
    output: str | None
    """The writer's output folder, as a URL (`hf://datasets/org/name/default`, a path...)."""
    fingerprint: str
    """A digest of the pipeline's settings (the memory addresses in its text left out)."""


class SpendUnit(Enum):
    """What a scheduler accounts a job's compute in."""

    USD = "usd"
    """Hugging Face Jobs: each flavor's price a minute."""
    GPU_HOURS = "gpu-hours"
    """Slurm, where its accounts (`sacct`) give the GPUs allocated."""


@dataclass(frozen=True)
class Spend:
    """What a job's compute has used so far, as its scheduler accounts it: never a guess."""

    so_far: float
    """Over every attempt of every part."""
    per_hour: float
    """What the parts running now add each hour."""
    unit: SpendUnit

    def projected(self, remaining: timedelta) -> float:
        """What it will have used in all, if what runs now runs `remaining` more."""
        return self.so_far + self.per_hour * remaining.total_seconds() / 3600


@dataclass(frozen=True)
class Tail:
    """The last lines of a log, and which one."""

    log: str
    """Which log: `logs/task_00003.log`, or a Hugging Face Job's id."""
    about: str
    """What it is the log of: `rank 3`, `the Job of array index 3, ended ERROR`."""
    text: str


@dataclass(frozen=True)
class Unsafe:
    """A launch that puts the job's output at risk, and what a person should do about it."""

    what: str
    advice: str


@dataclass(frozen=True)
class Verdict:
    """What the compute says of a job. `outcome` None: still running (or we cannot tell, and
    `warning` says why)."""

    outcome: Outcome | None = None
    reason: str = ""
    warnings: tuple[str, ...] = ()
    """What could not be told, or looks wrong (a job id the scheduler never knew, a malformed file)."""
    figures: FinalFigures | None = None
    """The final figures, when the job completed with datatrove's stats.json."""
    tasks: TaskProgress | None = None
    """Tasks done in datatrove's logging folder, when the job has one and it could be read."""
    started_at: datetime | None = None
    """When the scheduler started the job's first task, when it says."""
    pending: Pending | None = None
    """Why the job waits in the queue, while nothing of it runs."""
    settings: LaunchSettings | None = None
    """What executor.json says of the current launch."""
    finished_tasks: tuple[TaskFigures, ...] = ()
    """Tasks whose stats file is there and was not summed before."""
    seen: frozenset[str] = frozenset()
    """The job ids the scheduler shows queued or running now."""
    tails: tuple[Tail, ...] = ()
    """The last lines of the logs of what did not finish, when the job ended without it."""
    retrying: tuple[int, ...] = ()
    """Parts the scheduler is running again after a failure (Hugging Face Jobs' array indices)."""
    stale: tuple[str, ...] = ()
    """Parts of an earlier launch still queued or running beside the current launch (their ids)."""
    spend: Spend | None = None
    """What the compute has used so far, when the scheduler says."""

    @property
    def alive(self) -> bool:
        return self.outcome is None

    @property
    def launch(self) -> Launch:
        """How the job's tasks run, as far as the compute says."""
        tasks = self.tasks or TaskProgress(0, None)
        return Launch(self.started_at, tasks.total, tasks.workers, tasks.ranks)


RUNNING = Verdict()


@dataclass(frozen=True)
class JobNotes:
    """What a run notes about a job for the next one (kept in the state folder)."""

    at: datetime | None = None
    """When the run that wrote them looked."""
    peak: Peak | None = None
    loss: Loss | None = None
    launch: tuple[str, ...] = ()
    """The compute's names of the launch followed then: another one now means a relaunch."""
    seen: frozenset[str] = frozenset()
    """Job ids the scheduler has shown queued or running: only those may be found gone."""
    settings: LaunchSettings | None = None
    """The settings of the launch whose completions stand (a resume must keep them)."""
    sums: TaskSums = TaskSums()
    """The finished tasks' figures summed so far."""


NOTHING = JobNotes()
