"""What a job's report says a person should know: its situation (pure), and the event of a change."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from ..card import describe_loss
from ..formatting import format_count, format_duration, format_eta_date
from ..limits import FIX
from ..model import Outcome
from ..report import JobReport

FAILING_RUNS = 3
"""A job whose update failed this many runs in a row needs a person."""
EVENTS = ("stalled", "stopped", "failed", "failing", "unsafe", "lost", "crowded", "resumed", "completed")
"""What a notification can be about; a job's `notify:` narrows them."""


class Kind(str, Enum):
    STALLED = "stalled"
    STOPPED = "stopped"
    FAILED = "failed"
    FAILING = "failing"
    """The update itself keeps failing (a repo that cannot be read, a total that cannot be worked out)."""
    UNSAFE = "unsafe"
    """Relaunched with another number of tasks or another output than the launch whose ranks completed,
    or with Jobs of an earlier launch still live beside the current one."""
    LOST = "lost"
    """Shards counted before are gone (a relaunch's overwrite, a deletion), and the count with them."""
    CROWDED = "crowded"
    """A folder of the job's, or its repo, is near one of the Hub's limits."""


@dataclass(frozen=True)
class Situation:
    """Why a job needs a person now."""

    kind: Kind
    title: str
    since: datetime | None = None
    """For a stall: the last shard before the silence."""
    advice: str = ""
    """What to do, when it is more than checking the job."""


def situation(report: JobReport, failures: int) -> Situation | None:
    """The job's situation from this run's report, and the failed runs in a row so far (this one too)."""
    name, progress = report.name, report.progress
    if report.failed:
        if failures < FAILING_RUNS:
            return None
        return Situation(Kind.FAILING, f"❌ {name}: update failing for {failures} runs ({report.error})")
    if progress is None:
        return None
    if progress.outcome in (Outcome.STOPPED, Outcome.FAILED):
        kind = Kind.STOPPED if progress.outcome is Outcome.STOPPED else Kind.FAILED
        why = re.sub(r"ended \((\w+)\)", r"ended \1", progress.reason.removesuffix(" without stats.json"))
        advice = ""
        if progress.tasks is not None and progress.tasks.unfinished:
            advice = (
                "relaunch the job as it was launched: datatrove runs only the unfinished ranks (the others "
                f"have their completions), then record it with `progress-card relaunch {name} --slurm-job-id ID`"
            )
        return Situation(kind, f"⚠️ {name}: stopped at {progress.percent}% ({why})", advice=advice)
    if progress.unsafe is not None:
        return Situation(Kind.UNSAFE, f"⚠️ {progress.unsafe.what}", advice=progress.unsafe.advice)
    if progress.loss is not None:
        advice = (
            "If the shards were removed on purpose (a relaunch whose writer overwrites its folder), record "
            f"the relaunch (`progress-card relaunch {name} ...`) or run once with --allow-decrease; "
            "otherwise find out what deleted them before the job's output is trusted."
        )
        return Situation(Kind.LOST, f"⚠️ {name}: {describe_loss(progress.loss)}", progress.loss.since, advice)
    if progress.stalled_since is not None:
        when = format_eta_date(progress.stalled_since)
        title = f"⚠️ {name}: no new shards since {when} (at {progress.percent}%)"
        return Situation(Kind.STALLED, title, progress.stalled_since)
    if progress.crowding is not None:
        return Situation(Kind.CROWDED, f"⚠️ {name}: {progress.crowding}", advice=f"The fix: {FIX}.")
    return None


def event(before: Kind | None, now: Situation | None, report: JobReport) -> str | None:
    """The event to tell of, from the situation last told (`before`) and this run's."""
    if now is not None:
        return now.kind.value if now.kind is not before else None
    if report.outcome is Outcome.COMPLETED:
        return "completed"
    if before is not None and not report.failed:
        return "resumed"
    return None


def resolution(before: Kind, since: datetime | None, report: JobReport) -> str:
    """The closing comment of an incident that is over."""
    name, progress = report.name, report.progress
    if progress is not None and progress.outcome is Outcome.COMPLETED:
        return f"resolved: {name} completed with {format_count(progress.done)} documents ({progress.reason})"
    last = progress.last_shard if progress is not None else None
    if before is Kind.STALLED and since is not None and last is not None:
        return f"resolved: {name} uploaded again after {format_duration((last - since).total_seconds())}"
    if before is Kind.FAILING:
        return f"resolved: {name} was updated again"
    if before is Kind.LOST and progress is not None:
        if progress.relaunched:
            return f"resolved: {name} was relaunched; counting afresh"
        return f"resolved: {name}'s count is back ({format_count(progress.done)} documents)"
    if before is Kind.CROWDED:
        return f"resolved: {name}'s folders are clear of the Hub's limits"
    if before is Kind.UNSAFE:
        return f"resolved: {name} runs as one launch, with its first launch's settings, again"
    return f"resolved: {name} is running again"
