"""A simulated job's life as the hourly updater sees it, through the pure core: each hour, the shards
uploaded by then are assessed, the card is planned against the one the last push left, and pushed
when it is news. No I/O and no sleeping: the clock is each run's `now`.

Shared by the silence tests and bench/eta.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from progress_card.manifest import Job as ManifestJob
from progress_card.model import NOTHING, RUNNING, Count, Eta, Found, Total
from progress_card.options import Options
from progress_card.plan import Item, plan_card
from progress_card.progress import Observation, assess
from progress_card.storage import HubDataset
from progress_card.storage.local import LocalRepo
from tests.cards import progress_line
from tests.scenarios import Job, finished_at, simulate

MINUTE, HOUR = timedelta(minutes=1), timedelta(hours=1)
START = datetime(2026, 11, 21, 0, 0, tzinfo=timezone.utc)
STUCK_AT = 10.5 * HOUR
"""When every task of `stuck_for`'s job gets stuck, after its start."""
REPO = HubDataset("acme/gen")
TARGET = LocalRepo(Path("/data/acme-gen"))
"""Where the card would go: the plan only names it."""
FOUND = Found("data/*.parquet in acme/gen", "acme/gen/data", "acme/gen", {}, 0)


@dataclass(frozen=True)
class Hour:
    """One hourly run: what the card on the Hub said after it, and whether the run pushed it."""

    at: datetime
    detail: str
    """The progress line's words after the bar."""
    rate: str | None
    """The rate line, without its marker; None when the card has none."""
    pushed: bool
    eta: Eta | None
    truth: timedelta | None
    """The time until the job's last shard, from the simulated future; None once it uploaded all."""


def state(detail: str) -> str:
    """The state a progress line's words after the bar say: on its way (an ETA), late, stalled, or the
    words themselves (`✅ Complete`, `⏱️ estimating time remaining...`)."""
    if " remaining • 📅 " in detail:
        return "on its way"
    if detail.startswith("⏱️ no new shards for "):
        return "late"
    if detail.startswith("⚠️ no new shards since "):
        return "stalled"
    return detail


def stuck_for(silence: timedelta) -> Job:
    """A job of a real one's shape: 32 tasks, each writing 200-document chunks in about 40 minutes
    (±10 %), 192,000 documents in all (about 20 hours of work); every task stuck `STUCK_AT` after the
    start, for `silence`, then going on where it was."""
    return Job(32, 32, 6_000, 200, 40 * MINUTE, seed=25, stagger=2 * MINUTE, relaunch=(STUCK_AT, silence))


def hourly_runs(silence: timedelta) -> list[datetime]:
    """The cron's runs at 17 minutes past each hour, from the first hour of `stuck_for(silence)`'s job
    to 3 hours after its end."""
    return [START + k * HOUR + 17 * MINUTE for k in range(1, 28 + silence // HOUR)]


def hour_by_hour(job: Job, start: datetime, runs: Iterable[datetime]) -> list[Hour]:
    """The card after each run at `runs`, for `job` launched at `start` (followed without compute:
    alive until its documents reach the total, as a job without `slurm_job_id` is)."""
    chunks = simulate(job, start)
    end = finished_at(chunks, job.total)
    followed = ManifestJob("gen", REPO, total=job.total)
    card: str | None = None
    notes = NOTHING
    hours = []
    for now in runs:
        arrivals = tuple(chunk.arrival for chunk in chunks if chunk.uploaded <= now)
        count = Count(sum(arrival.rows for arrival in arrivals), len(arrivals), (), arrivals)
        seen = Observation(followed, RUNNING, Total(job.total, "jobs.yaml"), count, FOUND, notes)
        options = Options(now)
        progress = assess(seen, options)
        notes = progress.notes
        plan = plan_card(TARGET, None, card, [Item(followed, progress)], options)
        if plan.news:
            card = plan.after
        assert card is not None  # the first run creates it
        detail = progress_line(card).partition("<br>")[2]
        rate = re.search(r"^<!-- progress-card:rate default -->([^\n]*)", card, re.MULTILINE)
        truth = end - now if end > now else None
        hours.append(Hour(now, detail, rate.group(1) if rate else None, plan.news, progress.eta, truth))
    return hours
