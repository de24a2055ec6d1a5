"""Counting the documents a job has uploaded: list the config's shards, sum the rows their footers declare."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed

from ..errors import FooterError, JobError, NeedMoreBytes, QuotaSpent, StillCounting, Stopped
from ..model import Arrival, Count, Unreadable
from .dataset import Shard, Snapshot
from .footer import MINIMUM_SIZE, TAIL_GUESS, rows_from_tail
from .memory import Known, ShardMemory
from .progressbar import footer_progress

log = logging.getLogger(__name__)


CHECKPOINT_EVERY = 250
"""Footers read between two saves of the shard memory, at the least: an interrupted count loses at
most this many, or CHECKPOINT_SECONDS of reading."""
CHECKPOINT_SECONDS = 5.0
"""And at most one save this often: each save writes the whole folder's memory, which for tens of
thousands of shards costs more than the reads it protects."""


def count_documents(
    snapshot: Snapshot,
    shards: Sequence[Shard],
    workers: int = 32,
    memory: ShardMemory | None = None,
    label: str = "count",
    stopping: Callable[[], bool] = lambda: False,
    clock: Callable[[], float] = time.monotonic,
) -> Count:
    """Sum the footers' row counts of the listed `shards`, read from `snapshot`.

    Shards that `memory` knows (same path, content and size) are not read again; the others are
    read many at once, and remembered, saved every few hundred (and few seconds). A shard whose
    footer cannot be parsed is reported in `unreadable`, never counted as zero. Shards the memory
    knew that are no longer listed are counted as gone. When the count cannot finish (the storage
    keeps failing: JobError; the rate-limit budget is spent: StillCounting; the run is stopped:
    Stopped), what was read is saved, and the error says how far it got.
    """
    memory = memory if memory is not None else ShardMemory(None, label)
    gone, gone_documents = memory.retain(shards)
    fresh = [shard for shard in shards if memory.recall(shard) is None]
    if len(fresh) < len(shards):
        log.info(
            "%s: %d shards known from earlier runs, %d to read", label, len(shards) - len(fresh), len(fresh)
        )
    try:
        unreadable = _read_new(snapshot, fresh, memory, workers, label, stopping, clock)
        undated = [
            shard for shard in shards if (known := memory.recall(shard)) and known.committed_at is None
        ]
        times = snapshot.commit_times(undated) if undated else {}
    except QuotaSpent as error:
        raise StillCounting(f"{error}; {_saved(memory, shards)}; the next run continues") from None
    except Stopped as error:
        raise Stopped(f"{error}; {_saved(memory, shards)}; the next run continues") from None
    except JobError as error:
        raise type(error)(f"{error}; {_saved(memory, shards)} so far, saved") from None
    for shard in undated:
        known = memory.recall(shard)
        if known is not None:
            memory.learn(shard, Known(known.rows, times.get(shard.path) or shard.committed_at))
    memory.save()
    recalled = [(shard, known) for shard in shards if (known := memory.recall(shard)) is not None]
    arrivals = sorted(
        (Arrival(k.committed_at, k.rows, shard.path) for shard, k in recalled if k.committed_at is not None),
        key=lambda arrival: arrival.at,
    )
    return Count(
        documents=sum(k.rows for _, k in recalled),
        shards=len(shards),
        unreadable=tuple(sorted(unreadable, key=lambda problem: problem.path)),
        arrivals=tuple(arrivals),
        gone=gone,
        gone_documents=gone_documents,
    )


def _read_new(
    snapshot: Snapshot,
    fresh: list[Shard],
    memory: ShardMemory,
    workers: int,
    label: str,
    stopping: Callable[[], bool],
    clock: Callable[[], float],
) -> list[Unreadable]:
    """Read the footers of the shards the memory does not know, many at once, and learn their rows,
    saving every few hundred (and few seconds); the shards whose footer could not be read."""
    unreadable: list[Unreadable] = []
    unsaved, saved_at = 0, clock()
    with footer_progress(label, len(fresh)) as tick:
        for shard, rows in read_rows(snapshot, fresh, workers, tick, stopping):
            if isinstance(rows, str):
                log.warning("cannot read the footer of %s: %s", shard.path, rows)
                unreadable.append(Unreadable(shard.path, rows))
                continue
            memory.learn(shard, Known(rows, shard.committed_at))
            unsaved += 1
            if unsaved >= CHECKPOINT_EVERY and clock() - saved_at >= CHECKPOINT_SECONDS:
                memory.save()
                unsaved, saved_at = 0, clock()
    return unreadable


def _saved(memory: ShardMemory, shards: Sequence[Shard]) -> str:
    """Save what is known, and say how far the count got."""
    memory.save()
    counted = sum(memory.recall(shard) is not None for shard in shards)
    return f"counted {counted:,} of {len(shards):,} shards"


def read_rows(
    snapshot: Snapshot,
    shards: list[Shard],
    workers: int,
    tick: Callable[[], None] = lambda: None,
    stopping: Callable[[], bool] = lambda: False,
) -> Iterator[tuple[Shard, int | str]]:
    """Each shard with its row count, or why its footer cannot be read, as the reads complete.

    Many are read at once. After a failure (or once `stopping` is true) no new read starts; the
    reads under way complete and are yielded, then the first failure is raised.
    """
    if not shards:
        return

    def one(shard: Shard) -> int | str:
        if stopping():
            raise Stopped("the run was asked to stop")
        result = _rows(snapshot, shard)
        tick()
        return result

    pool = ThreadPoolExecutor(max_workers=max(1, min(workers, len(shards))))
    try:
        futures = {pool.submit(one, shard): shard for shard in shards}
        failure: BaseException | None = None
        for future in as_completed(futures):
            if future.cancelled():
                continue
            error = future.exception()
            if error is None:
                yield futures[future], future.result()
            elif failure is None:
                failure = error
                for waiting in futures:
                    waiting.cancel()
        if failure is not None:
            raise failure
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


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
