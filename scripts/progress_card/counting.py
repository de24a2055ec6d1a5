"""Counting the documents a job has uploaded: list the config's shards, sum the rows their footers declare."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from .footer import MINIMUM_SIZE, TAIL_GUESS, FooterError, NeedMoreBytes, rows_from_tail
from .progressbar import footer_progress
from .state import Known, ShardMemory
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


def count_documents(
    snapshot: Snapshot,
    folder: str,
    workers: int = 32,
    memory: ShardMemory | None = None,
    label: str = "count",
) -> Count:
    """Sum the footers' row counts of every shard under `folder`.

    Shards that `memory` knows (same path, content and size) are not read again; the others are
    read many at once, and remembered. A shard whose footer cannot be parsed is reported in
    `unreadable`, never counted as zero; a failure to reach the storage raises (the job fails).
    """
    shards = snapshot.list_shards(folder)
    known = {shard.path: recalled for shard in shards if memory and (recalled := memory.recall(shard))}
    fresh = [shard for shard in shards if shard.path not in known]
    if known:
        log.info("%s: %d shards known from earlier runs, %d to read", label, len(known), len(fresh))
    with footer_progress(label, len(fresh)) as tick:
        rows = read_rows(snapshot, fresh, workers, tick)
    read = [(shard, n) for shard, n in zip(fresh, rows, strict=True)]
    unreadable = tuple(Unreadable(shard.path, n) for shard, n in read if isinstance(n, str))
    for problem in unreadable:
        log.warning("cannot read the footer of %s: %s", problem.path, problem.reason)
    readable = [shard for shard, n in read if isinstance(n, int)]
    times = snapshot.commit_times(readable) if readable else {}
    known.update({shard.path: Known(n, times.get(shard.path)) for shard, n in read if isinstance(n, int)})
    if memory is not None:
        memory.replace((shard, known[shard.path]) for shard in shards if shard.path in known)
    arrivals = sorted(
        (Arrival(k.committed_at, k.rows) for k in known.values() if k.committed_at is not None),
        key=lambda arrival: arrival.at,
    )
    return Count(
        documents=sum(k.rows for k in known.values()),
        shards=len(shards),
        unreadable=unreadable,
        arrivals=tuple(arrivals),
    )


def read_rows(
    snapshot: Snapshot, shards: list[Shard], workers: int, tick: Callable[[], None] = lambda: None
) -> list[int | str]:
    """Each shard's row count, or why its footer cannot be read, in the order given; many at once."""
    if not shards:
        return []

    def one(shard: Shard) -> int | str:
        result = _rows(snapshot, shard)
        tick()
        return result

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(shards)))) as pool:
        return list(pool.map(one, shards))


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
