"""One update over the manifest: for each job, plan its new card, then apply what differs.

A job's failure is reported and the others still run. Nothing below this module reads the clock:
`now` is passed in.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum

from .card import CardSpec, Eta, clamp, describe_progress, new_card, patch_card, progress_line
from .counting import Count, count_documents
from .estimate import simple_eta
from .formatting import format_count, format_duration, percent
from .manifest import HubDataset, Job, Location
from .storage import CardConflict, DatasetRepo, JobError, RepoNotFound
from .total import Total

log = logging.getLogger(__name__)

PUSH_ATTEMPTS = 4
"""Card pushes tried when the branch keeps moving under us (each time re-read and re-applied)."""


class Status(str, Enum):
    PUSHED = "card pushed"
    UNCHANGED = "card unchanged"
    DRY_RUN = "dry run, nothing pushed"
    NO_REPO = "repo not created yet, card not pushed"
    FAILED = "failed"


@dataclass(frozen=True)
class Services:
    """The edges an update talks to, built by the CLI (real clients) or by tests (loopback servers)."""

    open_repo: Callable[[Location], DatasetRepo]
    resolve_total: Callable[[Job], Total]
    workers: int = 32


@dataclass(frozen=True)
class JobReport:
    name: str
    status: Status
    done: int | None = None
    total: int | None = None
    eta: Eta | None = None
    error: str | None = None
    warnings: tuple[str, ...] = ()
    diff: str | None = field(default=None, repr=False)

    @property
    def failed(self) -> bool:
        return self.status is Status.FAILED

    @property
    def percent(self) -> int | None:
        if self.done is None or self.total is None:
            return None
        return percent(clamp(self.done, self.total), self.total)

    def summary(self) -> str:
        """`math: 3,120/5,000 docs (62%), ETA 2h 15m, card pushed`."""
        if self.failed:
            return f"{self.name}: failed: {self.error}"
        parts = []
        if self.done is not None and self.total is not None:
            parts.append(f"{format_count(self.done)}/{format_count(self.total)} docs ({self.percent}%)")
        if self.eta is not None:
            parts.append(f"ETA {format_duration(self.eta.remaining.total_seconds())}")
        parts.append(self.status.value)
        parts.extend(self.warnings)
        return f"{self.name}: {', '.join(parts)}"


@dataclass(frozen=True)
class Report:
    jobs: tuple[JobReport, ...]

    @property
    def exit_code(self) -> int:
        return 1 if any(job.failed for job in self.jobs) else 0


def run(jobs: Sequence[Job], services: Services, now: datetime, dry_run: bool = False) -> Report:
    """Update every job's card; one job's failure does not stop the others."""
    reports = []
    for job in jobs:
        try:
            reports.append(_update(job, services, now, dry_run))
        except JobError as error:
            log.error("%s: %s", job.name, error)
            reports.append(JobReport(job.name, Status.FAILED, error=str(error)))
    return Report(tuple(reports))


def _update(job: Job, services: Services, now: datetime, dry_run: bool) -> JobReport:
    total = services.resolve_total(job)
    log.info("%s: expecting %s documents (%s)", job.name, format_count(total.documents), total.source)
    repo = services.open_repo(job.output)
    try:
        snapshot = repo.snapshot()
    except RepoNotFound as error:
        log.warning("%s: 0 documents so far: %s", job.name, error)
        return JobReport(job.name, Status.NO_REPO, done=0, total=total.documents)

    count = count_documents(snapshot, job.folder, workers=services.workers)
    _log_count(job, repo, count)
    eta = simple_eta(count.documents, total.documents, count.first_upload, now)
    line = progress_line(
        job.config, count.documents, total.documents, describe_progress(count.documents, total.documents, eta)
    )
    spec = card_spec(job, repo)
    before = snapshot.read_card()
    after = updated_card(before, job, spec, line, now)
    warnings = (f"count incomplete: {len(count.unreadable)} unreadable shards",) if count.unreadable else ()
    report = JobReport(job.name, Status.PUSHED, count.documents, total.documents, eta, warnings=warnings)

    if after == before:
        return replace(report, status=Status.UNCHANGED)
    if dry_run:
        return replace(report, status=Status.DRY_RUN, diff=card_diff(repo.label, before, after))

    message = (
        f"Update generation progress: {job.config} {report.percent}% ({format_count(count.documents)} docs)"
    )
    parent = snapshot.revision
    for attempt in range(1, PUSH_ATTEMPTS + 1):
        try:
            repo.write_card(after, parent, message)
            return report
        except CardConflict:
            if attempt == PUSH_ATTEMPTS:
                break
            log.info("%s: %s changed while updating; reading the card again", job.name, repo.label)
            fresh = repo.snapshot()
            parent = fresh.revision
            after = updated_card(fresh.read_card(), job, spec, line, now)
    raise JobError(
        f"{repo.label} kept changing while its card was pushed ({PUSH_ATTEMPTS} attempts); the next run will retry"
    )


def updated_card(before: str | None, job: Job, spec: CardSpec, line: str, now: datetime) -> str:
    """The card with this job's line in it: patched when it exists, created when it does not."""
    if before is None:
        return new_card(spec, line, now)
    return patch_card(before, job.config, line, now)


def card_spec(job: Job, repo: DatasetRepo) -> CardSpec:
    source = job.input.location if job.input else None
    return CardSpec(
        title=repo.label if isinstance(job.output, HubDataset) else job.output.path.name,
        load_path=str(job.output),
        config=job.config,
        folder=job.folder,
        split=job.input.split if job.input else "train",
        model=job.model,
        source_dataset=str(source) if isinstance(source, HubDataset) else None,
        description=job.description,
    )


def card_diff(label: str, before: str | None, after: str) -> str:
    lines = difflib.unified_diff(
        (before or "").splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=f"{label}/README.md (current)" if before is not None else "/dev/null",
        tofile=f"{label}/README.md (updated)",
    )
    return "".join(lines)


def _log_count(job: Job, repo: DatasetRepo, count: Count) -> None:
    where = f"{repo.label}/{job.folder}"
    if count.shards == 0:
        log.info("%s: no shards under %s yet: 0 documents", job.name, where)
        return
    log.info(
        "%s: %s documents in %d shards under %s", job.name, format_count(count.documents), count.shards, where
    )
    if not count.complete:
        log.warning(
            "%s: count incomplete: %d of %d shards could not be read (listed above)",
            job.name,
            len(count.unreadable),
            count.shards,
        )
