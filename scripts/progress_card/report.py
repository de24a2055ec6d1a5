"""What one update did to each job: the record the CLI prints, and the summary, the status page, the
people told and the Actions outputs read."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum

from .formatting import format_count, format_duration
from .model import Outcome
from .progress import Progress


class Status(str, Enum):
    PUSHED = "card pushed"
    UNCHANGED = "card unchanged"
    DRY_RUN = "dry run, nothing pushed"
    NO_REPO = "repo not created yet, card not pushed"
    NO_CARD = "no card (jobs.yaml names no repo for it)"
    SKIPPED = "already finished, skipped"
    HELD = "card kept as it was"
    INTERRUPTED = "not updated: the run was stopped"
    COUNTING = "still counting, card not pushed"
    DEFERRED = "rate-limited, card not pushed"
    FAILED = "failed"


@dataclass(frozen=True)
class JobReport:
    """One job's row: what the run did with it, and its progress when it was worked out."""

    name: str
    status: Status
    progress: Progress | None = None
    marked: bool = False
    """Marked finished in jobs.yaml by this run."""
    error: str | None = None
    """Why the job failed, when it did."""
    warnings: tuple[str, ...] = ()
    earlier: str | None = None
    """How a job skipped as finished ended, as jobs.yaml says."""

    @property
    def failed(self) -> bool:
        return self.status is Status.FAILED

    @property
    def current(self) -> bool:
        """This run looked at the job and wrote what it found: not skipped, interrupted or a dry run."""
        return self.status not in (Status.SKIPPED, Status.INTERRUPTED, Status.DRY_RUN)

    @property
    def outcome(self) -> Outcome | None:
        """How the job ended, when this run found that it did."""
        return self.progress.outcome if self.progress is not None else None

    def but(self, status: Status, *warnings: str) -> JobReport:
        """The same row with another status, and more warnings."""
        return replace(self, status=status, warnings=(*self.warnings, *warnings))

    def summary(self) -> str:
        """`math: 3,120/5,000 docs (62%), ETA 2h 15m, card pushed`."""
        if self.failed:
            return f"{self.name}: failed: {self.error}"
        if self.status is Status.SKIPPED:
            return f"{self.name}: already finished ({self.earlier}), skipped"
        parts = []
        progress = self.progress
        if progress is not None:
            parts.append(
                f"{format_count(progress.done)}/{format_count(progress.total)} docs ({progress.percent}%)"
            )
            if progress.tasks is not None:
                parts.append(str(progress.tasks))
            if progress.queue is not None:
                parts.append(progress.queue)
            if progress.outcome is not None:
                parts.append(f"{progress.outcome.value} ({progress.reason})")
            elif progress.eta is not None:
                parts.append(f"ETA {format_duration(progress.eta.remaining.total_seconds())}")
            elif progress.late is not None:
                parts.append(f"late: {progress.late.removeprefix('⏱️ ')}")
        parts.append(self.status.value)
        if self.marked:
            parts.append(f"marked {self.outcome.value if self.outcome else 'finished'} in jobs.yaml")
        parts.extend(self.warnings)
        return f"{self.name}: {', '.join(parts)}"


@dataclass(frozen=True)
class Report:
    jobs: tuple[JobReport, ...]
    warnings: tuple[str, ...] = ()
    """What went wrong beyond the jobs: telling people, keeping the workflow enabled."""

    @property
    def exit_code(self) -> int:
        return 1 if any(job.failed for job in self.jobs) else 0
