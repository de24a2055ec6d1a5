"""The Hub's recommended limits that a big job meets, and when a job's folders will reach them. Pure.

The Hub recommends fewer than 10,000 entries per folder ("use subdirectories") and fewer than
100,000 files per repo, and degrades past them; datatrove writes each config into one flat folder,
so a big job crosses the first line hours before anyone looks. Buckets have the same limits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from .model import Arrival, Found

FOLDER_LIMIT = 10_000
FOLDER_WARNING = 9_000
FILES_LIMIT = 100_000
FILES_WARNING = 90_000
HORIZON = timedelta(hours=6)
"""Warn when the limit will be reached within this long at the current rate."""
PACE_WINDOW = timedelta(hours=3)
"""The rate of new files is measured over this last stretch."""
FIX = (
    "datatrove's output_filename can put each rank in a subfolder, e.g. "
    'output_filename="${rank}/${chunk_index}.parquet", for the next launch'
)


@dataclass(frozen=True)
class Crowding:
    """A folder (or the whole repo) near a limit of the Hub."""

    where: str
    """A folder (`default/`), or the repo or bucket (`acme/gen`)."""
    holds: int
    limit: int
    reached_in: timedelta | None
    """At the current rate; None when nothing arrives."""

    def __str__(self) -> str:
        """`default/ holds 9,214 entries of the Hub's 10,000 (full in ≈ 3h)`."""
        kind = "entries" if self.limit == FOLDER_LIMIT else "files"
        soon = self.reached_in is not None and self.reached_in <= HORIZON
        within = f" (full in ≈ {_hours(self.reached_in)})" if soon and self.reached_in is not None else ""
        return f"{self.where} holds {self.holds:,} {kind} of the Hub's {self.limit:,}{within}"


def crowding(found: Found, arrivals: Sequence[Arrival], now: datetime) -> Crowding | None:
    """The first limit the job's folders (then its repo or bucket) are near, if any."""
    recent = [arrival for arrival in arrivals if now - arrival.at <= PACE_WINDOW]
    for folder, holds in sorted(found.folders.items(), key=lambda item: -item[1]):
        arriving = sum(1 for arrival in recent if arrival.path.rpartition("/")[0] == folder)
        where = f"{folder}/" if folder else "the root folder"
        near = _near(where, holds, arriving, FOLDER_LIMIT, FOLDER_WARNING)
        if near is not None:
            return near
    return _near(found.place, found.files, len(recent), FILES_LIMIT, FILES_WARNING)


def _near(where: str, holds: int, arriving: int, limit: int, warning: int) -> Crowding | None:
    """A count growing by `arriving` per PACE_WINDOW, when it is past `warning` or reaches `limit` soon."""
    rate = arriving / PACE_WINDOW.total_seconds()
    reached_in = timedelta(seconds=max(limit - holds, 0) / rate) if rate > 0 else None
    if holds > warning or (reached_in is not None and reached_in <= HORIZON):
        return Crowding(where, holds, limit, reached_in)
    return None


def _hours(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours:.0f}h" if hours >= 1 else f"{max(1, round(hours * 60))}m"
