"""The values that cross the two wings: what storage found (counts, arrivals), what compute says
(verdicts), and what the estimate makes of them. Plain frozen records; nothing here does I/O.

`storage/` and `compute/` build them; `estimate`, `progress`, `card`, `report` and everything after
read them, and import neither wing.
"""

from __future__ import annotations

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
class JobNotes:
    """What a run notes about a job for the next one (kept in the state folder)."""

    at: datetime | None = None
    """When the run that wrote them looked."""
    peak: Peak | None = None
    loss: Loss | None = None
    launch: tuple[str, ...] = ()
    """The compute's names of the launch followed then: another one now means a relaunch."""


NOTHING = JobNotes()


@dataclass(frozen=True)
class Eta:
    """Time left and the moment the job should end."""

    remaining: timedelta
    finish_at: datetime


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

    @property
    def complete(self) -> bool:
        return self.total is not None and self.done >= self.total

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


@dataclass(frozen=True)
class Verdict:
    """What the compute says of a job. `outcome` None: still running (or we cannot tell, and
    `warning` says why)."""

    outcome: Outcome | None = None
    reason: str = ""
    warning: str | None = None
    figures: FinalFigures | None = None
    """The final figures, when the job completed with datatrove's stats.json."""
    tasks: TaskProgress | None = None
    """Tasks done in datatrove's logging folder, when the job has one and it could be read."""
    started_at: datetime | None = None
    """When the scheduler started the job's first task, when it says."""
    pending: Pending | None = None
    """Why the job waits in the queue, while nothing of it runs."""

    @property
    def alive(self) -> bool:
        return self.outcome is None

    @property
    def launch(self) -> Launch:
        """How the job's tasks run, as far as the compute says."""
        tasks = self.tasks or TaskProgress(0, None)
        return Launch(self.started_at, tasks.total, tasks.workers, tasks.ranks)


RUNNING = Verdict()
