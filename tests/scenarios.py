"""Upload histories for the ETA scenarios: shards back-dated as a generation job would commit them.

Shared by the ETA tests and bench/eta.py, which compares the estimates with the naive ones.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from progress_card.counting import Arrival

RATE = 600
"""Documents per hour at the steady pace: a shard of 60 documents every 6 minutes."""
EVERY = timedelta(minutes=6)


@dataclass(frozen=True)
class Scenario:
    name: str
    arrivals: tuple[Arrival, ...]
    total: int
    now: datetime
    truth: timedelta | None
    """Time left at the true current pace; None when the job has stalled."""

    @property
    def done(self) -> int:
        return sum(arrival.rows for arrival in self.arrivals)


def _uploads(start: datetime, hours: float, rows: int, seed: int) -> list[Arrival]:
    """Shards at the nominal pace, each a little early or late and a little bigger or smaller,
    as real workers finish them (the same jitter every time: seeded)."""
    jitter = random.Random(seed)
    count = round(timedelta(hours=hours) / EVERY)
    return [
        Arrival(
            start + EVERY * (index + 1 + jitter.uniform(-0.4, 0.4)), round(rows * jitter.uniform(0.8, 1.2))
        )
        for index in range(count)
    ]


def scenarios(now: datetime) -> list[Scenario]:
    """The five acceptance scenarios, each seen for the first time at `now`."""
    result = []

    def add(name: str, arrivals: list[Arrival], left: timedelta | None, rate: float = RATE) -> None:
        shift = now - arrivals[-1].at - (timedelta(minutes=1) if left is not None else timedelta(hours=6))
        moved = tuple(Arrival(a.at + shift, a.rows) for a in arrivals)
        done = sum(a.rows for a in arrivals)
        remaining = round((left or timedelta(hours=10)) / timedelta(hours=1) * rate)
        truth = left - timedelta(minutes=1) if left is not None else None
        result.append(Scenario(name, moved, done + remaining, now, truth))

    start = now - timedelta(days=2)
    add("constant rate for 10 h, seen at hour 10", _uploads(start, 10, 60, seed=1), timedelta(hours=10))
    warm = _uploads(start, 1, 15, seed=2)
    steady = _uploads(warm[-1].at, 5, 60, seed=3)
    add("slow first hour, then steady for 5 h", warm + steady, timedelta(hours=5))
    before = _uploads(start, 4, 60, seed=4)
    after = _uploads(before[-1].at + timedelta(hours=5), 2, 60, seed=5)
    add("steady 4 h, a 5 h gap, steady 2 h", before + after, timedelta(hours=4))
    slow = _uploads(start, 6, 60, seed=6)
    fast = _uploads(slow[-1].at, 3, 120, seed=7)
    add("rate doubled 3 h ago", slow + fast, timedelta(hours=5), rate=2 * RATE)
    add("nothing for 6 h while the job runs", _uploads(start, 5, 60, seed=8), None)
    return result


NOW = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)
