"""Counting the documents a job has uploaded: list the config's shards, sum the rows their footers declare."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from .footer import MINIMUM_SIZE, TAIL_GUESS, FooterError, NeedMoreBytes, rows_from_tail
from .storage import Shard, Snapshot

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Unreadable:
    path: str
    reason: str


@dataclass(frozen=True)
class Arrival:
    """A shard's documents and when they were committed."""

    at: datetime
    rows: int


@dataclass(frozen=True)
class Count:
    documents: int
    shards: int
    unreadable: tuple[Unreadable, ...]
    arrivals: tuple[Arrival, ...]
    """The readable shards, oldest first: the job's upload history."""

    @property
    def complete(self) -> bool:
        """Every listed shard was read."""
        return not self.unreadable

    @property
    def first_upload(self) -> datetime | None:
        return self.arrivals[0].at if self.arrivals else None


def count_documents(snapshot: Snapshot, folder: str, workers: int = 32) -> Count:
    """Sum the footers' row counts of every shard under `folder`.

    A shard whose footer cannot be parsed is reported in `unreadable`, never counted as zero;
    a failure to reach the storage raises (the caller fails the job).
    """
    shards = snapshot.list_shards(folder)
    if not shards:
        return Count(documents=0, shards=0, unreadable=(), arrivals=())
    rows = read_rows(snapshot, shards, workers)
    times = snapshot.commit_times(shards)
    unreadable = tuple(
        Unreadable(shard.path, n) for shard, n in zip(shards, rows, strict=True) if isinstance(n, str)
    )
    for problem in unreadable:
        log.warning("cannot read the footer of %s: %s", problem.path, problem.reason)
    arrivals = sorted(
        (
            Arrival(times[shard.path], n)
            for shard, n in zip(shards, rows, strict=True)
            if isinstance(n, int) and shard.path in times
        ),
        key=lambda arrival: arrival.at,
    )
    return Count(
        documents=sum(n for n in rows if isinstance(n, int)),
        shards=len(shards),
        unreadable=unreadable,
        arrivals=tuple(arrivals),
    )


def read_rows(snapshot: Snapshot, shards: list[Shard], workers: int) -> list[int | str]:
    """Each shard's row count, or why its footer cannot be read, in the order given; many at once."""
    if not shards:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(shards)))) as pool:
        return list(pool.map(lambda shard: _rows(snapshot, shard), shards))


def _rows(snapshot: Snapshot, shard: Shard) -> int | str:
    """Rows declared by the shard's footer, or why it cannot be read."""
    if shard.size < MINIMUM_SIZE:
        return f"too small to be a parquet file ({shard.size} bytes)"
    tail = snapshot.read_tail(shard, min(shard.size, TAIL_GUESS))
    try:
        try:
            return rows_from_tail(tail, shard.size)
        except NeedMoreBytes as more:
            return rows_from_tail(snapshot.read_tail(shard, more.length), shard.size)
    except FooterError as error:
        return str(error)
