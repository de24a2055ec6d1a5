"""What one update did to each job: the records the CLI prints, the summary and outputs are made of."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from .card import Eta, clamp
from .cluster import FinalFigures, Outcome, TaskProgress
from .counting import Arrival
from .formatting import format_count, format_duration, percent


class Status(str, Enum):
    PUSHED = "card pushed"
    UNCHANGED = "card unchanged"
    DRY_RUN = "dry run, nothing pushed"
    NO_REPO = "repo not created yet, card not pushed"
    SKIPPED = "already finished, skipped"
    HELD = "card kept as it was"
    INTERRUPTED = "not updated: the run was stopped"
    COUNTING = "still counting, card not pushed"
    DEFERRED = "rate-limited, card not pushed"
    FAILED = "failed"


@dataclass(frozen=True)
class JobReport:
    name: str
    status: Status
    done: int | None = None
    total: int | None = None
    eta: Eta | None = None
    tasks: TaskProgress | None = None
    outcome: Outcome | None = None
    reason: str = ""
    """How the job ended, when it did."""
    queue: str | None = None
    """Why it waits in Slurm's queue, while nothing of it runs."""
    line: str | None = None
    """The job's line on the card, as planned."""
    last_shard: datetime | None = None
    """When its last shard was committed."""
    stalled_since: datetime | None = None
    """Set when it has uploaded nothing for much longer than its rhythm."""
    dataset: str | None = None
    """Where to see the dataset: its page on the Hub, or its folder."""
    figures: FinalFigures | None = None
    """datatrove's final figures, once it completed."""
    history: tuple[Arrival, ...] = field(default=(), repr=False)
    """Its shards as they arrived, oldest first (for its chart)."""
    marked: bool = False
    error: str | None = None
    warnings: tuple[str, ...] = ()
    diff: str | None = field(default=None, repr=False)

    @property
    def failed(self) -> bool:
        return self.status is Status.FAILED

    @property
    def current(self) -> bool:
        """This run looked at the job and wrote what it found: not skipped, interrupted or a dry run."""
        return self.status not in (Status.SKIPPED, Status.INTERRUPTED, Status.DRY_RUN)

    @property
    def percent(self) -> int | None:
        if self.done is None or self.total is None:
            return None
        return percent(clamp(self.done, self.total), self.total)

    def summary(self) -> str:
        """`math: 3,120/5,000 docs (62%), ETA 2h 15m, card pushed`."""
        if self.failed:
            return f"{self.name}: failed: {self.error}"
        if self.status is Status.SKIPPED:
            return f"{self.name}: already finished ({self.reason}), skipped"
        parts = []
        if self.done is not None and self.total is not None:
            parts.append(f"{format_count(self.done)}/{format_count(self.total)} docs ({self.percent}%)")
        if self.tasks is not None:
            parts.append(str(self.tasks))
        if self.queue is not None:
            parts.append(self.queue)
        if self.outcome is not None:
            parts.append(f"{self.outcome.value} ({self.reason})")
        elif self.eta is not None:
            parts.append(f"ETA {format_duration(self.eta.remaining.total_seconds())}")
        parts.append(self.status.value)
        if self.marked:
            parts.append(f"marked {self.outcome.value if self.outcome else 'finished'} in jobs.yaml")
        parts.extend(self.warnings)
        return f"{self.name}: {', '.join(parts)}"


@dataclass(frozen=True)
class Report:
    jobs: tuple[JobReport, ...]

    @property
    def exit_code(self) -> int:
        return 1 if any(job.failed for job in self.jobs) else 0
