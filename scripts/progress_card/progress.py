"""One job's progress at one moment: a pure function of what the run gathered about it and `now`.

The run first gathers a job's I/O (its count, its expected total, what its compute says) into an
`Observation`; `assess` then works out the rate, the ETA, the stall verdict and the card's lines,
without reading or writing anything. The resulting `Progress` is what the card, the report, the
status page and the people told all read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .card import (
    CardEntry,
    CardSpec,
    clamp,
    describe_progress,
    describe_queue,
    describe_stall,
    describe_stop,
    progress_line,
    queue_text,
    rate_line,
)
from .estimate import estimate
from .formatting import format_duration, format_eta_date, percent
from .manifest import Job
from .model import Arrival, Count, Eta, FinalFigures, Outcome, TaskProgress, Total, Verdict


@dataclass(frozen=True)
class Observation:
    """What a run gathered about one job before working anything out."""

    job: Job
    verdict: Verdict
    total: Total
    count: Count


@dataclass(frozen=True)
class Progress:
    """One job's news at one moment: its counts, its compute's verdict, the estimate, its card entry."""

    done: int
    total: int
    verdict: Verdict
    eta: Eta | None
    """Set while the job runs and uploads at a measurable pace."""
    stalled_since: datetime | None
    """The last upload, when the job is alive and nothing came since for much longer than usual."""
    dataset: str
    """Where people see the dataset: its page on the Hub, or its folder."""
    entry: CardEntry
    history: tuple[Arrival, ...] = field(default=(), repr=False)
    """Its shards as they arrived, oldest first (for its chart)."""
    warnings: tuple[str, ...] = ()

    @property
    def percent(self) -> int:
        return percent(clamp(self.done, self.total), self.total)

    @property
    def outcome(self) -> Outcome | None:
        return self.verdict.outcome

    @property
    def reason(self) -> str:
        """How the job ended, when it did."""
        return self.verdict.reason

    @property
    def tasks(self) -> TaskProgress | None:
        return self.verdict.tasks

    @property
    def figures(self) -> FinalFigures | None:
        return self.verdict.figures

    @property
    def queue(self) -> str | None:
        """Why it waits in the queue, while nothing of it runs."""
        pending = self.verdict.pending
        return queue_text(pending, self.done > 0) if pending is not None else None

    @property
    def line(self) -> str:
        """The job's line on the card."""
        return self.entry.line

    @property
    def last_shard(self) -> datetime | None:
        return self.history[-1].at if self.history else None


def assess(seen: Observation, now: datetime) -> Progress:
    """The job's progress at `now`, from what was gathered about it. Pure."""
    job, verdict, count = seen.job, seen.verdict, seen.count
    done, total = count.documents, seen.total.documents
    warnings: tuple[str, ...] = (verdict.warning,) if verdict.warning else ()
    if count.unreadable:
        warnings += (f"count incomplete: {len(count.unreadable)} unreadable shards",)
    queued = verdict.pending is not None
    uploading = verdict.alive and not queued
    pace = estimate(count.arrivals, done, total, now, uploading, verdict.launch)
    eta = pace.eta if uploading else None
    stalled_since = pace.stalled_since  # only ever set for a job that is uploading
    if stalled_since is not None and pace.quiet_for is not None:
        quiet = format_duration(pace.quiet_for.total_seconds())
        warnings += (f"no new shards since {format_eta_date(stalled_since)} (more than {quiet} without one)",)
    detail = _detail(verdict, done, total, eta, stalled_since)
    rate = (
        rate_line(job.config, pace.rate_per_hour, pace.hourly) if pace.rate_per_hour and not queued else None
    )
    entry = CardEntry(
        card_spec(job), progress_line(job.config, done, total, detail, verdict.tasks), rate, verdict.figures
    )
    return Progress(
        done, total, verdict, eta, stalled_since, job.output.page, entry, count.arrivals, warnings
    )


def _detail(verdict: Verdict, done: int, total: int, eta: Eta | None, stalled_since: datetime | None) -> str:
    """The text after the bar, by the job's state: complete, stopped, queued, stalled, or on its way."""
    if verdict.outcome is Outcome.COMPLETED:
        return "✅ Complete"
    if verdict.outcome is not None:
        return describe_stop(done, total, verdict.reason)
    if verdict.pending is not None:
        return describe_queue(verdict.pending, done > 0)
    if stalled_since is not None and done < total:
        return describe_stall(stalled_since)
    return describe_progress(done, total, eta, verdict.tasks)


def card_spec(job: Job) -> CardSpec:
    """What a new card says of the job, and where its `configs:` entry points."""
    source = job.input.location if job.input else None
    return CardSpec(
        title=job.output.title,
        load_path=str(job.output),
        config=job.config,
        folder=job.folder,
        split=job.input.split if job.input else "train",
        model=job.model,
        source_dataset=source.hub_id if source is not None else None,
        description=job.description,
    )
