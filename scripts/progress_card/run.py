"""One update over the manifest: plan every repo's update, then apply the plan.

`plan` reads and writes nothing but the count's own cache (which a dry run does not write either).
The compute is asked once which jobs are running or finished. Then the jobs are grouped by the
dataset they write to, and the repos are planned side by side (a few at once). For one repo: one
snapshot and one listing for all its configs; each job's I/O is gathered (its count, its total,
its verdict) and its progress worked out (`progress.assess`, pure); the card is patched with every
job's entry, giving a `RepoPlan`.

`apply` pushes each repo's card as one commit (read again and re-planned when the branch moved
meanwhile), marks the finished jobs in jobs.yaml only then, so that a finished job's card always
shows its final numbers, and finally tells people and writes the status page.

A job's failure is reported and the other jobs still run; a repo's failure fails its jobs only.
Nothing here reads the clock: `Options.now` is passed in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from .editing import Mark
from .errors import CardConflict, JobError, MarkingError, QuotaSpent, RepoNotFound, StillCounting, Stopped
from .formatting import format_count
from .logs import HeldLogs, replay
from .manifest import Job
from .model import RUNNING, Count, Total, Verdict
from .options import Options
from .plan import Item, Plan, RepoPlan, plan_card
from .progress import Observation, assess
from .report import JobReport, Report, Status
from .storage import Dataset, Shard, ShardMemory, Snapshot, Storage, count_documents, shards_in

log = logging.getLogger(__name__)

PUSH_ATTEMPTS = 4
"""Card pushes tried when the branch keeps moving under us (each time re-read and re-applied)."""
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Services:
    """The edges an update talks to, built by the CLI (real clients) or by tests (loopback servers)."""

    storage: Storage
    resolve_total: Callable[[Job], Total]
    verdicts: Callable[[Sequence[Job]], dict[str, Verdict]]
    """What each job's compute says: asked once for all of them."""
    mark: Callable[[Mark], None]
    """Record a finished job in jobs.yaml (called for one job at a time, whatever the repos running)."""
    memory: Callable[[Job], ShardMemory | None] = lambda job: None
    """What earlier runs learnt about the job's shards (None: count everything)."""
    tell: Callable[[Report], list[str]] | None = None
    """Incident issues and notifications, once the cards are pushed; returns warnings."""
    publish: Callable[[Report], None] | None = None
    """The status page of all jobs, written last."""


def update(jobs: Sequence[Job], services: Services, options: Options) -> Report:
    """Plan, then apply (a dry run only plans). Reports in manifest order."""
    planned = plan(jobs, services, options)
    if options.dry_run:
        return planned.dry_run
    return apply(planned, services, options)


def plan(jobs: Sequence[Job], services: Services, options: Options) -> Plan:
    """Every repo's plan, and every job's row as planned; nothing is written but the count's cache."""
    active = [job for job in jobs if job.finished is None]
    verdicts = services.verdicts(active) if active else {}
    repos: dict[str, list[Job]] = {}
    for job in active:
        repos.setdefault(job.output.url, []).append(job)
    results = _side_by_side(
        lambda group: _plan_repo(group, verdicts, services, options), list(repos.values()), options
    )
    rows = {job.name: _skipped(job) for job in jobs if job.finished is not None}
    planned = []
    for repo_plan, repo_rows in results:
        rows.update({row.name: row for row in repo_rows})
        if repo_plan is not None:
            planned.append(repo_plan)
    for job in jobs:
        if job.finished is not None:
            _log_skipped(job)
    return Plan(tuple(planned), tuple(rows[job.name] for job in jobs), options.now)


def apply(planned: Plan, services: Services, options: Options) -> Report:
    """Push every repo's card that has news, mark the jobs it finishes, then tell and publish."""
    rows = {row.name: row for row in planned.rows}
    for repo_rows in _side_by_side(lambda repo: _apply_repo(repo, services, options), planned.repos, options):
        rows.update({row.name: row for row in repo_rows})
    report = Report(tuple(rows[row.name] for row in planned.rows))
    warnings: list[str] = []
    if services.publish is not None:
        services.publish(report)
    if services.tell is not None:
        warnings += services.tell(report)
    return Report(report.jobs, tuple(warnings))


def _side_by_side(work: Callable[[T], R], items: Sequence[T], options: Options) -> list[R]:
    """`work` on each item, a few at once, each one's log shown in the items' order when it is done."""
    results = []
    workers = max(1, min(options.repos_at_once, len(items) or 1))
    with HeldLogs() as logs, ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(logs.deferred, lambda item=item: work(item)) for item in items]
        for future in futures:  # in order: the log reads as if the items ran one by one
            records, result = future.result()
            replay(records)
            results.append(result)
    return results


def _skipped(job: Job) -> JobReport:
    assert job.finished is not None
    return JobReport(job.name, Status.SKIPPED, earlier=f"{job.finished.outcome} at {job.finished.at}")


def _log_skipped(job: Job) -> None:
    assert job.finished is not None
    log.info(
        "%s: finished (%s at %s); after a relaunch, `progress-card relaunch %s --slurm-job-id ID` follows it again",
        job.name,
        job.finished.outcome,
        job.finished.at,
        job.name,
    )


def _plan_repo(
    jobs: Sequence[Job], verdicts: dict[str, Verdict], services: Services, options: Options
) -> tuple[RepoPlan | None, list[JobReport]]:
    """One repo's plan, and the rows of its jobs that are not in it (with why)."""
    location = jobs[0].output
    if options.should_stop():
        return None, [JobReport(job.name, Status.INTERRUPTED) for job in jobs]
    try:
        target = services.storage.open(location)
        snapshot = target.snapshot()
        listed = shards_in(snapshot, sorted({job.folder for job in jobs}))
    except RepoNotFound as error:
        return None, [
            _no_repo(job, verdicts.get(job.name, RUNNING), error, services, options) for job in jobs
        ]
    except JobError as error:
        log.error("%s: %s", location, error)
        return None, [JobReport(job.name, Status.FAILED, error=str(error)) for job in jobs]
    rows: list[JobReport] = []
    items: list[Item] = []
    for job in jobs:
        try:
            seen = _observe(
                job, verdicts.get(job.name, RUNNING), snapshot, listed[job.folder], services, options
            )
        except _Unobserved as why:
            rows.append(why.row)
            continue
        progress = assess(seen, options.now)
        for warning in progress.warnings:
            log.warning("%s: %s", job.name, warning)
        items.append(Item(job, progress))
    if not items:
        return None, rows
    try:
        repo_plan = plan_card(target, snapshot.revision, snapshot.read_card(), items, options)
    except JobError as error:
        log.error("%s: %s", target.label, error)
        return None, [*rows, *(JobReport(i.job.name, Status.FAILED, error=str(error)) for i in items)]
    for name, hold in repo_plan.held.items():
        log.warning("%s: %s", name, hold.reason)
    return repo_plan, [*rows, *repo_plan.rows()]


class _Unobserved(Exception):
    """A job's I/O could not be gathered this run: its row says why."""

    def __init__(self, row: JobReport) -> None:
        super().__init__(row.summary())
        self.row = row


def _observe(
    job: Job, verdict: Verdict, snapshot: Snapshot, shards: list[Shard], services: Services, options: Options
) -> Observation:
    """Everything the job's progress is worked out from; `_Unobserved` when it cannot be gathered."""
    if options.should_stop():
        raise _Unobserved(JobReport(job.name, Status.INTERRUPTED))
    try:
        total = services.resolve_total(job)
        log.info("%s: expecting %s documents (%s)", job.name, format_count(total.documents), total.source)
        count = count_documents(
            snapshot,
            job.folder,
            workers=services.storage.workers,
            memory=services.memory(job),
            label=job.name,
            stopping=options.should_stop,
            shards=shards,
        )
    except StillCounting as error:
        log.warning("%s: %s", job.name, error)
        raise _Unobserved(JobReport(job.name, Status.COUNTING, warnings=(str(error),))) from None
    except QuotaSpent as error:
        log.warning("%s: %s; the next run continues", job.name, error)
        row = JobReport(job.name, Status.DEFERRED, warnings=(f"{error}; the next run continues",))
        raise _Unobserved(row) from None
    except Stopped as error:
        raise _Unobserved(JobReport(job.name, Status.INTERRUPTED, warnings=(str(error),))) from None
    except JobError as error:
        log.error("%s: %s", job.name, error)
        raise _Unobserved(JobReport(job.name, Status.FAILED, error=str(error))) from None
    except Exception as error:  # an unforeseen failure of one job must not stop the others
        log.exception("%s: unexpected error", job.name)
        row = JobReport(job.name, Status.FAILED, error=f"unexpected {type(error).__name__}: {error}")
        raise _Unobserved(row) from None
    _log_count(job, count)
    return Observation(job, verdict, total, count)


def _no_repo(
    job: Job, verdict: Verdict, error: RepoNotFound, services: Services, options: Options
) -> JobReport:
    """A job whose repo does not exist: nothing to count, no card, and never marked finished, since no
    card would show its final numbers."""
    warning = f"{error}: check the repo's name in jobs.yaml and that the token can read it"
    log.warning("%s: 0 documents so far: %s", job.name, warning)
    try:
        total = services.resolve_total(job)
    except JobError:
        return JobReport(job.name, Status.NO_REPO, warnings=(warning,))
    progress = assess(Observation(job, verdict, total, Count(0, 0, (), ())), options.now)
    return JobReport(job.name, Status.NO_REPO, progress, warnings=(warning,))


def _apply_repo(repo_plan: RepoPlan, services: Services, options: Options) -> list[JobReport]:
    """Push the repo's card when it has news, then mark the jobs it finishes; the jobs' final rows."""
    rows = {row.name: row for row in repo_plan.rows()}
    if options.should_stop():  # a push not begun is left for the next run
        return [JobReport(name, Status.INTERRUPTED, row.progress) for name, row in rows.items()]
    if repo_plan.news:
        try:
            repo_plan = _push(repo_plan, options)
        except JobError as error:
            log.error("%s: %s", repo_plan.label, error)
            failed = {
                i.job.name: JobReport(i.job.name, Status.FAILED, i.progress, error=str(error))
                for i in repo_plan.included
            }
            return list({**rows, **failed}.values())
        rows.update({row.name: row for row in repo_plan.rows()})
    for mark in repo_plan.marks(options.now):
        rows[mark.job] = _mark(rows[mark.job], mark, services)
    return list(rows.values())


def _push(repo_plan: RepoPlan, options: Options) -> RepoPlan:
    """Commit the card on top of the revision it was read at; when the repo moved, read it again and
    plan again (a line that must now be left alone is left alone)."""
    target: Dataset = repo_plan.target
    for attempt in range(1, PUSH_ATTEMPTS + 1):
        try:
            target.write_card(repo_plan.after, repo_plan.revision, repo_plan.message)
            return repo_plan
        except CardConflict:
            if attempt == PUSH_ATTEMPTS:
                break
            log.info("%s changed while updating; reading the card again", repo_plan.label)
            fresh = target.snapshot()
            repo_plan = plan_card(target, fresh.revision, fresh.read_card(), repo_plan.items, options)
            if not repo_plan.news:
                return repo_plan
    raise JobError(
        f"{repo_plan.label} kept changing while its card was pushed ({PUSH_ATTEMPTS} attempts); the next "
        "run will retry"
    )


def _mark(row: JobReport, mark: Mark, services: Services) -> JobReport:
    """Mark a finished job in jobs.yaml, now that its card shows the final numbers."""
    progress = row.progress
    assert progress is not None
    log.info("%s: %s: %s", row.name, mark.outcome, progress.reason)
    try:
        services.mark(mark)
    except (MarkingError, OSError) as error:
        log.warning("%s: not marked finished in jobs.yaml: %s", row.name, error)
        return row.but(row.status, f"not marked in jobs.yaml: {error}")
    return JobReport(row.name, row.status, progress, marked=True, warnings=row.warnings)


def _log_count(job: Job, count: Count) -> None:
    where = f"{job.output}/{job.folder}"
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
