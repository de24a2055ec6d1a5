"""One update over the manifest: plan every repo's update, then apply the plan.

`plan` reads and writes nothing but the count's own cache (which a dry run does not write either).
The compute is asked once which jobs are running or finished. Then the jobs are grouped by the
dataset whose card shows them, and the groups are planned side by side (a few at once). For one
group: the card is read; each job's shards are looked for as the dataset declares them
(`finding.seek`); each place is listed once for all its jobs; each job's I/O is gathered (its count,
its total, its notes: `gather.observe`) and its progress worked out (`progress.assess`, pure); the
card is patched with every job's entry, giving a `RepoPlan`.

`apply` pushes each repo's card as one commit (read again and re-planned when the branch moved
meanwhile), marks the finished jobs in jobs.yaml only then, so that a finished job's card always
shows its final numbers, notes what it learnt about each job, and finally writes the status page
and tells people.

A job's failure is reported and the other jobs still run; a repo's failure fails its jobs only, and
so does an error no one foresaw (a bug): its traceback goes to the log, and the summary, the status
page and the telling are still done for every job. Nothing here reads the clock: `Options.now` is
passed in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TypeVar

from .editing import Mark
from .errors import CardConflict, JobError, MarkingError, RepoNotFound
from .finding import Sought, seek
from .gather import Places, Unobserved, observe
from .logs import HeldLogs, replay
from .manifest import Job
from .model import NOTHING, RUNNING, Count, Found, JobNotes, Verdict
from .options import Options
from .plan import Item, Plan, RepoPlan, plan_card, plan_without_card
from .progress import Observation, assess
from .report import JobReport, Report, Status
from .services import Services
from .storage import Dataset, Location, Snapshot

log = logging.getLogger(__name__)

PUSH_ATTEMPTS = 4
"""Card pushes tried when the branch keeps moving under us (each time re-read and re-applied)."""
SIGNAL_CHECK = 0.25
"""Seconds between two looks of the main thread at the signals it was sent (SIGTERM)."""
T = TypeVar("T")
R = TypeVar("R")


def update(jobs: Sequence[Job], services: Services, options: Options) -> Report:
    """Plan, then apply (a dry run only plans). Reports in manifest order."""
    planned = plan(jobs, services, options)
    if options.dry_run:
        return planned.dry_run
    return apply(planned, services, options)


def plan(jobs: Sequence[Job], services: Services, options: Options) -> Plan:
    """Every repo's plan, and every job's row as planned; nothing is written but the count's cache."""
    active = [job for job in jobs if job.finished is None]
    notebook = services.notebook
    notes = {job.name: notebook.read(job.name) if notebook is not None else NOTHING for job in active}
    verdicts = services.verdicts(active, notes) if active else {}
    groups: dict[str, list[Job]] = {}
    for job in active:
        home = job.card_home
        groups.setdefault(home.url if home is not None else f"job {job.name}", []).append(job)
    results = _side_by_side(
        lambda group: _contained(
            _label(group),
            [job.name for job in group],
            lambda: _plan_group(group, verdicts, notes, services, options),
        ),
        list(groups.values()),
        options,
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
    applied = _side_by_side(
        lambda repo: _contained(
            repo.label,
            [row.name for row in repo.rows()],
            lambda: (None, _apply_repo(repo, services, options)),
        ),
        planned.repos,
        options,
    )
    for _, repo_rows in applied:
        rows.update({row.name: row for row in repo_rows})
    report = Report(tuple(rows[row.name] for row in planned.rows))
    warnings: list[str] = []
    if services.publish is not None:
        try:
            services.publish(report)
        except Exception as error:  # the page is one more output: the cards, marks and telling stand
            log.error("the status page was not written: %s", error, exc_info=not isinstance(error, OSError))
            warnings.append(f"the status page was not written: {type(error).__name__}: {error}")
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
            while not future.done():
                # Waiting in short steps: a signal the OS hands to another thread is only acted on once
                # this (the main) thread runs Python again, and a blocked wait would not notice it.
                wait([future], timeout=SIGNAL_CHECK)
            records, result = future.result()
            replay(records)
            results.append(result)
    return results


def _contained(
    label: str, names: Sequence[str], work: Callable[[], tuple[RepoPlan | None, list[JobReport]]]
) -> tuple[RepoPlan | None, list[JobReport]]:
    """`work` on one repo's jobs; an error no one foresaw fails those jobs, not the run."""
    try:
        return work()
    except Exception as error:
        log.error("%s: unexpected %s: %s", label, type(error).__name__, error, exc_info=True)
        said = (
            f"unexpected {type(error).__name__}: {error} (a fault of progress-card, not of the job: the "
            "traceback is in the log; please report it)"
        )
        return None, [JobReport(name, Status.FAILED, error=said) for name in names]


def _label(jobs: Sequence[Job]) -> str:
    """What the log calls a group of jobs: the dataset whose card shows them, or where the one job writes."""
    home = jobs[0].card_home
    return str(home) if home is not None else jobs[0].where


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


@dataclass(frozen=True)
class _Home:
    """The dataset whose card shows a group of jobs, as this run found it: opened, its card read; or
    missing, and why; or none (the jobs have no card)."""

    url: str | None = None
    target: Dataset | None = None
    snapshot: Snapshot | None = None
    card: str | None = None
    missing: str | None = None

    def opened(self) -> dict[str, Snapshot]:
        """The snapshot taken, for the places the jobs read."""
        return {self.url: self.snapshot} if self.url is not None and self.snapshot is not None else {}

    def holds(self, where: Sought) -> bool:
        return self.url is not None and where.place.url == self.url


def _open_home(home: Location | None, services: Services) -> _Home:
    """The card's dataset opened and its card read; a repo that does not exist is `missing`."""
    if home is None:
        return _Home()
    try:
        target = services.storage.open(home)
        snapshot = target.snapshot()
        return _Home(home.url, target, snapshot, snapshot.read_card())
    except RepoNotFound as error:
        return _Home(home.url, missing=str(error))


def _plan_group(
    jobs: Sequence[Job],
    verdicts: dict[str, Verdict],
    notes: dict[str, JobNotes],
    services: Services,
    options: Options,
) -> tuple[RepoPlan | None, list[JobReport]]:
    """The plan of the jobs one card shows (or of one job without a card), and the rows of the jobs
    that are not in it (with why)."""
    label = _label(jobs)
    if options.should_stop():
        return None, [JobReport(job.name, Status.INTERRUPTED) for job in jobs]
    try:
        home = _open_home(jobs[0].card_home, services)
    except JobError as error:
        log.error("%s: %s", label, error)
        return None, _failed(jobs, error)
    sought = {job.name: seek(job, home.card) for job in jobs}
    rows: list[JobReport] = []
    if home.missing is not None:  # nothing to count where the repo should be: only the jobs writing elsewhere
        absent = [job for job in jobs if home.holds(sought[job.name])]
        for job in absent:
            verdict, where = verdicts.get(job.name, RUNNING), str(sought[job.name])
            rows.append(_nothing_yet(job, verdict, notes[job.name], where, home.missing, services, options))
        jobs = [job for job in jobs if job not in absent]
    items, unobserved = _observe_each(jobs, sought, home, verdicts, notes, services, options)
    rows += unobserved
    if not items:
        return None, rows
    if home.target is None or home.snapshot is None:
        repo_plan = plan_without_card(label, items, home.missing)
        return repo_plan, [*rows, *repo_plan.rows()]
    try:
        repo_plan = plan_card(home.target, home.snapshot.revision, home.card, items, options)
    except JobError as error:
        log.error("%s: %s", home.target.label, error)
        return None, [*rows, *_failed([item.job for item in items], error)]
    for name, hold in repo_plan.held.items():
        log.warning("%s: %s", name, hold.reason)
    return repo_plan, [*rows, *repo_plan.rows()]


def _failed(jobs: Sequence[Job], error: JobError) -> list[JobReport]:
    return [JobReport(job.name, Status.FAILED, error=str(error)) for job in jobs]


def _observe_each(
    jobs: Sequence[Job],
    sought: dict[str, Sought],
    home: _Home,
    verdicts: dict[str, Verdict],
    notes: dict[str, JobNotes],
    services: Services,
    options: Options,
) -> tuple[list[Item], list[JobReport]]:
    """Each job's I/O gathered (each place listed once for all) and its progress worked out; and the
    rows of the jobs that could not be observed, saying why."""
    places = Places(services.storage, home.opened())
    places.want([sought[job.name] for job in jobs])
    items: list[Item] = []
    rows: list[JobReport] = []
    for job in jobs:
        try:
            verdict = verdicts.get(job.name, RUNNING)
            seen = observe(job, verdict, notes[job.name], sought[job.name], places, services, options)
        except Unobserved as why:
            rows.append(why.row)
            continue
        progress = assess(seen, options)
        for warning in progress.warnings:
            log.warning("%s: %s", job.name, warning)
        items.append(Item(job, progress))
    return items, rows


def _nothing_yet(
    job: Job,
    verdict: Verdict,
    notes: JobNotes,
    sought: str,
    missing: str,
    services: Services,
    options: Options,
) -> JobReport:
    """A job whose repo does not exist: nothing to count, no card, and never marked finished, since no
    card would show its final numbers. A repo that should exist (the job runs, or its shards were
    counted before) is a failure: a typo, or a token that cannot see it, must not pass unseen."""
    why = f"the scheduler runs it ({', '.join(sorted(verdict.seen))})" if verdict.seen else None
    if why is None and notes.peak is not None:
        why = f"its shards were counted there before ({notes.peak.documents:,} documents)"
    if why is not None:
        error = f"{missing}; it should exist, since {why}: check `repo:` in jobs.yaml and the token"
        log.error("%s: %s", job.name, error)
        return JobReport(job.name, Status.FAILED, error=error)
    log.warning("%s: 0 documents so far: %s", job.name, missing)
    try:
        total = services.resolve_total(job)
    except JobError:
        return JobReport(job.name, Status.NO_REPO, warnings=(missing,))
    empty = Found(sought, job.where, job.where, {}, 0)
    progress = assess(Observation(job, verdict, total, Count(0, 0, (), ()), empty), options)
    return JobReport(job.name, Status.NO_REPO, progress, warnings=(missing,))


def _apply_repo(repo_plan: RepoPlan, services: Services, options: Options) -> list[JobReport]:
    """Note what was learnt of each job, push the repo's card when it has news, then mark the jobs it
    finishes; the jobs' final rows."""
    if services.notebook is not None:  # what was counted is known, whatever becomes of the push
        for item in repo_plan.items:
            services.notebook.write(item.job.name, item.progress.notes)
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
    target = repo_plan.target
    assert target is not None  # only a plan with a card has news
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
