"""Rate, ETA and stalls, from when each shard was committed. Pure arithmetic: `now` is passed in.

The job's history is rebuilt from the shards themselves (their commit times and row counts), so
the estimate is right from the first look, whenever the updater started. The rate is measured
over a recent window of the current stretch of uploads:

- a gap much longer than usual (a requeued job that waited for hours) starts a new stretch, so
  the hours of nothing before it do not dilute the rate once uploads resume;
- the window is the last few hours or the last few shards, whichever holds more shards, so a
  slow warm-up falls out of it once the job has run a while, and a change of pace (nodes
  joining) shows within hours.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from .card import Eta
from .counting import Arrival

WINDOW = timedelta(hours=3)
"""How far back the rate is measured, at most (unless more shards are needed)."""
WINDOW_SHARDS = 20
"""Or over this many shards, when that holds more shards than the time window."""
MIN_SHARDS = 3
GAP_FACTOR = 4
"""A pause longer than this many typical gaps (and an hour) starts a new stretch of uploads."""
STALL_FACTOR = 3
"""No shard for this many typical gaps (and an hour) while the job is alive: a stall."""
MIN_PAUSE = timedelta(hours=1)
CHART_HOURS = 24


@dataclass(frozen=True)
class Estimate:
    rate_per_hour: float | None
    """Documents per hour over the recent window; None until there is enough to measure."""
    eta: Eta | None
    stalled_since: datetime | None
    """The last upload, when nothing has come since for much longer than usual."""
    hourly: tuple[int, ...]
    """Documents committed in each of the last CHART_HOURS hours, oldest first."""


def estimate(
    arrivals: Sequence[Arrival], done: int, total: int, now: datetime, alive: bool = True
) -> Estimate:
    """How fast the job goes now, when it should end, and whether it has stalled."""
    hourly = documents_per_hour(arrivals, now)
    if not arrivals:
        return Estimate(None, None, None, hourly)
    stretches = _stretches(arrivals)
    # The latest stretch, or (when uploads just resumed) the last one long enough to measure.
    rate = next((rate for earlier in reversed(stretches) if (rate := _rate(earlier))), None)
    last = arrivals[-1].at
    stalled = alive and now - last > stall_after(arrivals)
    eta = None
    if rate and not stalled and done < total:
        finish_at = last + timedelta(hours=(total - done) / rate)
        eta = Eta(max(finish_at - now, timedelta(0)), max(finish_at, now))
    elif rate is None and not stalled:
        eta = simple_eta(done, total, arrivals[0].at, now)
    return Estimate(rate, eta, last if stalled else None, hourly)


def simple_eta(done: int, total: int, first_upload: datetime | None, now: datetime) -> Eta | None:
    """The average rate since the first shard, projected over what remains (the naive estimate)."""
    if done <= 0 or first_upload is None or done >= total:
        return None
    elapsed = (now - first_upload).total_seconds()
    if elapsed <= 0:
        return None
    remaining = timedelta(seconds=(total - done) * elapsed / done)
    return Eta(remaining=remaining, finish_at=now + remaining)


def stall_after(arrivals: Sequence[Arrival]) -> timedelta:
    """How long without a new shard counts as a stall: several typical gaps, and at least an hour."""
    return max(STALL_FACTOR * _typical_gap(arrivals), MIN_PAUSE)


def documents_per_hour(
    arrivals: Sequence[Arrival], now: datetime, hours: int = CHART_HOURS
) -> tuple[int, ...]:
    """Documents committed in each of the last `hours` hours, oldest first."""
    buckets = [0] * hours
    start = now - timedelta(hours=hours)
    for arrival in arrivals:
        if start <= arrival.at < now:
            buckets[int((arrival.at - start) / timedelta(hours=1))] += arrival.rows
    return tuple(buckets)


def _stretches(arrivals: Sequence[Arrival]) -> list[list[Arrival]]:
    """The uploads split at every pause much longer than usual, oldest stretch first."""
    pause = max(GAP_FACTOR * _typical_gap(arrivals), MIN_PAUSE)
    stretches = [[arrivals[0]]]
    for earlier, later in pairwise(arrivals):
        if later.at - earlier.at > pause:
            stretches.append([])
        stretches[-1].append(later)
    return stretches


def _typical_gap(arrivals: Sequence[Arrival]) -> timedelta:
    """The median time between consecutive uploads (of the last few dozen)."""
    recent = arrivals[-(WINDOW_SHARDS * 3) :]
    gaps = [(later.at - earlier.at).total_seconds() for earlier, later in pairwise(recent)]
    return timedelta(seconds=statistics.median(gaps)) if gaps else timedelta(0)


def _rate(stretch: list[Arrival]) -> float | None:
    """Documents per hour over the window: the rows after its first shard, over the time they took."""
    if len(stretch) < MIN_SHARDS:
        return None
    last = stretch[-1].at
    by_time = [arrival for arrival in stretch if last - arrival.at <= WINDOW]
    by_count = stretch[-WINDOW_SHARDS:]
    window = by_time if len(by_time) >= len(by_count) else by_count
    if len(window) < MIN_SHARDS:
        window = stretch[-MIN_SHARDS:]
    hours = (window[-1].at - window[0].at) / timedelta(hours=1)
    if hours <= 0:
        return None
    return sum(arrival.rows for arrival in window[1:]) / hours
