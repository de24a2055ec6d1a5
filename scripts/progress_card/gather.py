"""A job's I/O, gathered before anything is worked out: where its shards are, what they hold, what it
is expected to produce, and what earlier runs noted about it.

Each place (a repo, a bucket, a folder) is opened once per group of jobs and listed once for all
of them: the root when several folders are wanted, the folder itself when one is (see `Listings`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from .errors import JobError, QuotaSpent, StillCounting, Stopped
from .finding import Sought
from .formatting import format_count
from .manifest import Job
from .model import Count, Found, JobNotes, Verdict
from .options import Options
from .progress import Observation
from .report import JobReport, Status
from .services import Services
from .storage import Listing, Listings, Shard, Snapshot, Storage, count_documents, parent

log = logging.getLogger(__name__)


class Places:
    """The places a group of jobs reads, each snapshot taken and listed once."""

    def __init__(self, storage: Storage, opened: dict[str, Snapshot]) -> None:
        self._storage = storage
        self._snapshots = dict(opened)
        self._listings: dict[str, Listings] = {}
        self._pending: dict[str, set[str]] = {}

    def want(self, sought: Sequence[Sought]) -> None:
        """Say every location that will be looked in, so that each place is listed once for all."""
        for where in sought:
            self._pending.setdefault(where.place.url, set()).update(where.folders)

    def snapshot(self, where: Sought) -> Snapshot:
        url = where.place.url
        if url not in self._snapshots:
            self._snapshots[url] = where.place.open(self._storage).snapshot()
        return self._snapshots[url]

    def listing(self, where: Sought) -> Listing:
        """Everything below the folders `where` looks in."""
        url = where.place.url
        if url not in self._listings:
            self._listings[url] = Listings(self.snapshot(where), self._pending.get(url, where.folders))
        listings = self._listings[url]
        parts = [listings.below(folder) for folder in where.folders]
        if len(parts) == 1:
            return parts[0]
        shards = {shard.path: shard for part in parts for shard in part.shards}
        entries = {name: n for part in parts for name, n in part.entries.items()}
        return Listing(tuple(shards[path] for path in sorted(shards)), entries, max(p.files for p in parts))


class Unobserved(Exception):
    """A job's I/O could not be gathered this run: its row says why."""

    def __init__(self, row: JobReport) -> None:
        super().__init__(row.summary())
        self.row = row


def observe(
    job: Job,
    verdict: Verdict,
    notes: JobNotes,
    where: Sought,
    places: Places,
    services: Services,
    options: Options,
) -> Observation:
    """Everything `job`'s progress is worked out from; `Unobserved` when it cannot be gathered."""
    if options.should_stop():
        raise Unobserved(JobReport(job.name, Status.INTERRUPTED))
    with _unobserved_on_failure(job):
        total = services.resolve_total(job)
        log.info("%s: expecting %s documents (%s)", job.name, format_count(total.documents), total.source)
        where, listing, shards = _shards(where, places)
        count = count_documents(
            places.snapshot(where),
            shards,
            workers=services.storage.workers,
            memory=services.memory(f"{where.place.url}|{','.join(where.patterns)}"),
            label=job.name,
            stopping=options.should_stop,
        )
    _log_count(job, count, where)
    declare = where.patterns if job.card_home is not None and where.place.url == job.card_home.url else ()
    return Observation(job, verdict, total, count, _found(job, where, listing, shards), notes, declare)


@contextmanager
def _unobserved_on_failure(job: Job) -> Iterator[None]:
    """Turn what stops a job's I/O into its row (`Unobserved`): still counting, the quota spent, a
    stop, the job's error, or an error no one foresaw (which must not stop the other jobs)."""
    try:
        yield
    except StillCounting as error:
        log.warning("%s: %s", job.name, error)
        raise Unobserved(JobReport(job.name, Status.COUNTING, warnings=(str(error),))) from None
    except QuotaSpent as error:
        log.warning("%s: %s; the next run continues", job.name, error)
        row = JobReport(job.name, Status.DEFERRED, warnings=(f"{error}; the next run continues",))
        raise Unobserved(row) from None
    except Stopped as error:
        raise Unobserved(JobReport(job.name, Status.INTERRUPTED, warnings=(str(error),))) from None
    except JobError as error:
        log.error("%s: %s", job.name, error)
        raise Unobserved(JobReport(job.name, Status.FAILED, error=str(error))) from None
    except Exception as error:
        log.exception("%s: unexpected error", job.name)
        row = JobReport(job.name, Status.FAILED, error=f"unexpected {type(error).__name__}: {error}")
        raise Unobserved(row) from None


def _shards(where: Sought, places: Places) -> tuple[Sought, Listing, tuple[Shard, ...]]:
    """The shards `where` matches, or those of its fallback (`instead`) when it matches none; with the
    location that gave them and its listing."""
    listing = places.listing(where)
    shards = where.matching(listing)
    if not shards and where.instead is not None:
        return _shards(where.instead, places)
    return where, listing, shards


def _found(job: Job, where: Sought, listing: Listing, shards: Sequence[Shard]) -> Found:
    """Which files were counted and why, and how full the folders holding them are."""
    holding = {parent(shard.path) for shard in shards}
    return Found(
        what=str(where),
        origin=str(job.output) if job.output is not None else f"{where.place}/{where.folders[0]}".rstrip("/"),
        place=str(where.place),
        folders={folder: listing.entries.get(folder, 0) for folder in holding},
        files=listing.files,
    )


def _log_count(job: Job, count: Count, where: Sought) -> None:
    if count.shards:
        log.info(
            "%s: %s documents in %d shards: %s", job.name, format_count(count.documents), count.shards, where
        )
    if not count.complete:
        log.warning(
            "%s: count incomplete: %d of %d shards could not be read (listed above)",
            job.name,
            len(count.unreadable),
            count.shards,
        )
