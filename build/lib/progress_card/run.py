"""One update over the manifest: per repo, plan the new card for all its configs, then apply it.

First the cluster is asked once which jobs have finished. Then the jobs are grouped by the dataset
they write to, and the repos are updated side by side (a few at once). For one repo:

1. plan: one snapshot and one listing for all its configs; each job's documents are counted and
   its line worked out; the card is patched with every line, giving a `RepoPlan`: the card before
   and after, the commit message, and the jobs to mark finished;
2. apply: one commit of the card for the whole repo (re-read and re-planned when the branch moved
   meanwhile), and only then the marks in jobs.yaml, so that a finished job's card always shows
   its final numbers.

A job's failure is reported and the other jobs still run; a repo's failure fails its jobs only.
Nothing below this module reads the clock: `Options.now` is passed in.
"""

from __future__ import annotations

import difflib
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from .card import (
    CardSpec,
    Eta,
    describe_progress,
    describe_queue,
    describe_stall,
    describe_stop,
    ensure_config,
    is_final_datatrove_card,
    last_updated,
    new_card,
    patch_card,
    patch_final_figures,
    progress_line,
    queue_text,
    rate_line,
    same_news,
    shown,
)
from .cluster import RUNNING, FinalFigures, Outcome, Verdict, final_figures
from .counting import Count, count_documents
from .editing import Mark
from .errors import (
    CardConflict,
    JobError,
    MarkingError,
    QuotaSpent,
    RepoNotFound,
    StatsFormatError,
    StillCounting,
    Stopped,
)
from .estimate import estimate
from .formatting import format_count, format_duration, format_eta_date
from .logs import deferred, replay
from .manifest import Job, Location
from .report import JobReport, Report, Status
from .state import ShardMemory
from .storage import DatasetRepo, Shard, Snapshot, shards_in
from .total import Total

log = logging.getLogger(__name__)

PUSH_ATTEMPTS = 4
"""Card pushes tried when the branch keeps moving under us (each time re-read and re-applied)."""
REFRESH_AFTER = timedelta(hours=6)
"""A card whose news did not change is left alone, unless its Last updated line is older than this."""
REPOS_AT_ONCE = 8
_MARKING = threading.Lock()


def _never() -> bool:
    return False


@dataclass(frozen=True)
class Options:
    """What one run is asked to do, the same for every job."""

    now: datetime
    dry_run: bool = False
    """Work out every plan, print the card diffs, write nothing."""
    refresh_after: timedelta = REFRESH_AFTER
    """Push a card whose news did not change once its Last updated line is this old; before that, the
    clock ticking alone (time left, timestamp) commits nothing."""
    allow_decrease: bool = False
    """Publish a count lower than the card shows (after shards were deleted on purpose)."""
    repos_at_once: int = REPOS_AT_ONCE
    should_stop: Callable[[], bool] = _never
    """Turns true on SIGTERM: the writes under way finish, the jobs not started are left for later."""


@dataclass(frozen=True)
class Services:
    """The edges an update talks to, built by the CLI (real clients) or by tests (loopback servers)."""

    open_repo: Callable[[Location], DatasetRepo]
    resolve_total: Callable[[Job], Total]
    verdicts: Callable[[Sequence[Job]], dict[str, Verdict]]
    """Which jobs have finished: asks the cluster once for all of them."""
    mark: Callable[[Mark], None]
    """Record a finished job in jobs.yaml (called for one job at a time, whatever the repos running)."""
    memory: Callable[[Job], ShardMemory | None] = lambda job: None
    """What earlier runs learnt about the job's shards (None: count everything)."""
    workers: int = 32


def run(jobs: Sequence[Job], services: Services, options: Options) -> Report:
    """Update every repo's card; one job's failure does not stop the others. Reports in manifest order."""
    active = [job for job in jobs if job.finished is None]
    verdicts = services.verdicts(active) if active else {}
    repos: dict[Location, list[Job]] = {}
    for job in active:
        repos.setdefault(job.output, []).append(job)
    reports: dict[str, JobReport] = {job.name: _skipped(job) for job in jobs if job.finished is not None}
    with ThreadPoolExecutor(max_workers=max(1, min(options.repos_at_once, len(repos) or 1))) as pool:
        futures = [
            pool.submit(deferred, lambda group=group: _update_repo(group, verdicts, services, options))
            for group in repos.values()
        ]
        for future in futures:  # in manifest order: the log reads as if the repos ran one by one
            records, outcome = future.result()
            replay(records)
            reports.update({report.name: report for report in outcome})
    for job in jobs:
        if job.finished is not None:
            _log_skipped(job)
    return Report(tuple(reports[job.name] for job in jobs))


def _skipped(job: Job) -> JobReport:
    assert job.finished is not None
    return JobReport(job.name, Status.SKIPPED, reason=f"{job.finished.outcome} at {job.finished.at}")


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
class Progress:
    """One job's news, worked out before anything is written: its card line and its report so far."""

    job: Job
    verdict: Verdict
    line: str
    rate: str | None
    figures: FinalFigures | None
    report: JobReport

    @property
    def done(self) -> int:
        return self.report.done or 0

    def apply(self, card: str | None, spec: CardSpec, now: datetime) -> tuple[str, str | None]:
        """The card with this job's line in it, and a warning when the card's configs cannot list it."""
        text = updated_card(card, self.job, spec, self.line, now, self.rate)
        if self.figures:
            text = patch_final_figures(text, self.job.config, self.figures)
        return ensure_config(text, spec)

    def hold(self, card: str | None, allow_decrease: bool) -> Hold | None:
        return _hold(card, self.job.config, self.done, self.verdict, allow_decrease)


@dataclass(frozen=True)
class Hold:
    """Why a job's line is left as it is; `final` when the card already shows the job's end."""

    reason: str
    final: bool


@dataclass(frozen=True)
class RepoPlan:
    """What one repo's update will do: the card before and after, and which jobs' lines go in."""

    label: str
    revision: str | None
    before: str | None
    after: str
    jobs: tuple[Progress, ...]
    """The jobs whose lines are in `after`."""
    held: dict[str, Hold] = field(default_factory=dict)
    warnings: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.jobs) and self.after != self.before

    def news(self, now: datetime, refresh_after: timedelta) -> bool:
        """Worth a commit: more than the clock changed, or the card's timestamp is old."""
        if not self.changed:
            return False
        if self.before is None:
            return True
        written = last_updated(self.before)
        stale = written is None or now - written >= refresh_after
        return stale or not same_news(self.before, self.after)

    @property
    def message(self) -> str:
        """`Update generation progress: math 62% (3,120 docs), code 40% (400 docs)`."""
        parts = [f"{p.job.config} {p.report.percent}% ({format_count(p.done)} docs)" for p in self.jobs]
        return f"Update generation progress: {', '.join(parts)}"

    def finishing(self, progress: Sequence[Progress]) -> list[Progress]:
        """The finished jobs whose final numbers are on the card once this plan is applied."""
        held = self.held
        return [
            p
            for p in progress
            if p.verdict.outcome is not None and (p.job.name not in held or held[p.job.name].final)
        ]

    def describe(self, progress: Sequence[Progress]) -> str:
        """The plan for `--dry-run`: the commit it would make, the jobs it would mark, and the card's diff."""
        lines = [f"# {self.label}: would commit {self.message!r}"]
        lines += [
            f"#   then mark {p.job.name} {p.verdict.outcome.value} in jobs.yaml"
            for p in self.finishing(progress)
            if p.verdict.outcome is not None
        ]
        lines += [f"#   {name}: line left as it is ({hold.reason})" for name, hold in self.held.items()]
        return "\n".join(lines) + "\n" + self.diff()

    def diff(self) -> str:
        lines = difflib.unified_diff(
            (self.before or "").splitlines(keepends=True),
            self.after.splitlines(keepends=True),
            fromfile=f"{self.label}/README.md (current)" if self.before is not None else "/dev/null",
            tofile=f"{self.label}/README.md (updated)",
        )
        return "".join(lines)


def plan_card(
    label: str, revision: str | None, card: str | None, progress: Sequence[Progress], options: Options
) -> RepoPlan:
    """The card with every job's line patched in, except the lines that must be left as they are."""
    text, included = card, []
    held: dict[str, Hold] = {}
    warnings: dict[str, tuple[str, ...]] = {}
    for item in progress:
        hold = item.hold(card, options.allow_decrease)
        if hold is not None:
            held[item.job.name] = hold
            continue
        text, warning = item.apply(text, card_spec(item.job), options.now)
        included.append(item)
        if warning:
            warnings[item.job.name] = (warning,)
    return RepoPlan(label, revision, card, text or "", tuple(included), held, warnings)


def _update_repo(
    jobs: Sequence[Job], verdicts: dict[str, Verdict], services: Services, options: Options
) -> list[JobReport]:
    """Plan then apply one repo's update; every job of it gets a report."""
    location = jobs[0].output
    if options.should_stop():
        return [JobReport(job.name, Status.INTERRUPTED) for job in jobs]
    try:
        repo = services.open_repo(location)
        snapshot = repo.snapshot()
        listed = shards_in(snapshot, sorted({job.folder for job in jobs}))
    except RepoNotFound as error:
        return [_no_repo(job, verdicts.get(job.name, RUNNING), error, services) for job in jobs]
    except JobError as error:
        log.error("%s: %s", location, error)
        return [JobReport(job.name, Status.FAILED, error=str(error)) for job in jobs]
    reports: dict[str, JobReport] = {}
    progress: list[Progress] = []
    for job in jobs:
        news, report = _progress_or_report(
            job, verdicts.get(job.name, RUNNING), snapshot, listed, services, options
        )
        if news is not None:
            progress.append(news)
        reports[job.name] = report
    if progress:
        try:
            reports.update(_apply(repo, snapshot, progress, services, options))
        except JobError as error:
            log.error("%s: %s", repo.label, error)
            reports.update(
                {p.job.name: replace(p.report, status=Status.FAILED, error=str(error)) for p in progress}
            )
    return [reports[job.name] for job in jobs]


def _progress_or_report(
    job: Job,
    verdict: Verdict,
    snapshot: Snapshot,
    listed: dict[str, list[Shard]],
    services: Services,
    options: Options,
) -> tuple[Progress | None, JobReport]:
    """The job's news and its report so far, or no news and the report of why there is none this run."""
    if options.should_stop():
        return None, JobReport(job.name, Status.INTERRUPTED)
    try:
        news = _progress(job, verdict, snapshot, listed[job.folder], services, options)
        return news, news.report
    except StillCounting as error:
        log.warning("%s: %s", job.name, error)
        return None, JobReport(job.name, Status.COUNTING, warnings=(str(error),))
    except QuotaSpent as error:
        log.warning("%s: %s; the next run continues", job.name, error)
        return None, JobReport(job.name, Status.DEFERRED, warnings=(f"{error}; the next run continues",))
    except Stopped as error:
        return None, JobReport(job.name, Status.INTERRUPTED, warnings=(str(error),))
    except JobError as error:
        log.error("%s: %s", job.name, error)
        return None, JobReport(job.name, Status.FAILED, error=str(error))
    except Exception as error:  # an unforeseen failure of one job must not stop the others
        log.exception("%s: unexpected error", job.name)
        return None, JobReport(job.name, Status.FAILED, error=f"unexpected {type(error).__name__}: {error}")


def _progress(
    job: Job, verdict: Verdict, snapshot: Snapshot, shards: list[Shard], services: Services, options: Options
) -> Progress:
    verdict, figures = _read_stats(job, verdict)
    if verdict.warning:
        log.warning("%s: %s", job.name, verdict.warning)
    warnings: tuple[str, ...] = (verdict.warning,) if verdict.warning else ()
    total = services.resolve_total(job)
    log.info("%s: expecting %s documents (%s)", job.name, format_count(total.documents), total.source)
    count = count_documents(
        snapshot,
        job.folder,
        workers=services.workers,
        memory=services.memory(job),
        label=job.name,
        stopping=options.should_stop,
        shards=shards,
    )
    _log_count(job, count)
    if count.unreadable:
        warnings += (f"count incomplete: {len(count.unreadable)} unreadable shards",)
    alive = verdict.outcome is None
    queued = verdict.pending is not None
    pace = estimate(
        count.arrivals, count.documents, total.documents, options.now, alive and not queued, verdict.launch
    )
    eta = pace.eta if alive and not queued else None
    if pace.stalled_since is not None and pace.quiet_for is not None:
        quiet = format_duration(pace.quiet_for.total_seconds())
        warnings += (
            f"no new shards since {format_eta_date(pace.stalled_since)} (more than {quiet} without one)",
        )
        log.warning("%s: %s", job.name, warnings[-1])
    detail = _detail(verdict, count.documents, total.documents, eta, pace.stalled_since)
    line = progress_line(job.config, count.documents, total.documents, detail, verdict.tasks)
    rate = (
        rate_line(job.config, pace.rate_per_hour, pace.hourly) if pace.rate_per_hour and not queued else None
    )
    report = JobReport(
        job.name,
        Status.PUSHED,
        count.documents,
        total.documents,
        eta,
        tasks=verdict.tasks,
        queue=queue_text(verdict.pending, count.documents > 0) if verdict.pending else None,
        line=line,
        last_shard=count.arrivals[-1].at if count.arrivals else None,
        stalled_since=pace.stalled_since if alive else None,
        dataset=job.output.page,
        figures=figures,
        history=count.arrivals,
        warnings=warnings,
    )
    return Progress(job, verdict, line, rate, figures, report)


def _apply(
    repo: DatasetRepo, snapshot: Snapshot, progress: list[Progress], services: Services, options: Options
) -> dict[str, JobReport]:
    """Push the plan as one commit (re-planned on a fresh read when the branch moved), then mark."""
    plan = plan_card(repo.label, snapshot.revision, snapshot.read_card(), progress, options)
    status = Status.PUSHED
    if not plan.news(options.now, options.refresh_after):
        status = Status.UNCHANGED
    elif options.dry_run:
        status = Status.DRY_RUN
    else:
        plan = _push(repo, plan, progress, options)
    reports = {}
    for item in progress:
        report = replace(item.report, warnings=(*item.report.warnings, *plan.warnings.get(item.job.name, ())))
        held = plan.held.get(item.job.name)
        if held is not None:
            log.warning("%s: %s", item.job.name, held.reason)
            report = replace(report, status=Status.HELD, warnings=(*report.warnings, held.reason))
            if not held.final:
                reports[item.job.name] = report  # not marked: the final count is not on the card
                continue
        else:
            report = replace(report, status=status)
        reports[item.job.name] = _finish(item.job, report, item.verdict, item.done, services, options)
    if status is Status.DRY_RUN:
        first = progress[0].job.name
        reports[first] = replace(reports[first], diff=plan.describe(progress))
    return reports


def _push(repo: DatasetRepo, plan: RepoPlan, progress: list[Progress], options: Options) -> RepoPlan:
    """Commit the card on top of the revision it was read at; when the repo moved, read it again and
    plan again (a line that must now be left alone is left alone)."""
    for attempt in range(1, PUSH_ATTEMPTS + 1):
        try:
            repo.write_card(plan.after, plan.revision, plan.message)
            return plan
        except CardConflict:
            if attempt == PUSH_ATTEMPTS:
                break
            log.info("%s changed while updating; reading the card again", repo.label)
            fresh = repo.snapshot()
            plan = plan_card(repo.label, fresh.revision, fresh.read_card(), progress, options)
            if not plan.jobs:
                return plan
    raise JobError(
        f"{repo.label} kept changing while its card was pushed ({PUSH_ATTEMPTS} attempts); the next run will retry"
    )


def _no_repo(job: Job, verdict: Verdict, error: RepoNotFound, services: Services) -> JobReport:
    """A job whose repo does not exist: nothing to count, no card, and never marked finished, since no
    card would show its final numbers."""
    total = _total_or_none(job, services)
    warning = f"{error}: check the repo's name in jobs.yaml and that the token can read it"
    log.warning("%s: 0 documents so far: %s", job.name, warning)
    return JobReport(job.name, Status.NO_REPO, 0, total, tasks=verdict.tasks, warnings=(warning,))


def _total_or_none(job: Job, services: Services) -> int | None:
    try:
        return services.resolve_total(job).documents
    except JobError:
        return None


def _hold(card: str | None, config: str, done: int, verdict: Verdict, allow_decrease: bool) -> Hold | None:
    """Never publish progress going backwards, nor turn a finished card back into a progress card."""
    if card is None:
        return None
    if is_final_datatrove_card(card):
        return Hold(
            "the card is datatrove's final card (statistics, no progress section); left as it is", True
        )
    now_shown = shown(card, config)
    if now_shown is None:
        return None
    if now_shown.complete and verdict.outcome is not Outcome.COMPLETED:
        return Hold(f"the card already shows {config} complete; left as it is", True)
    if done < now_shown.done and not allow_decrease:
        return Hold(
            f"the count went down from {format_count(now_shown.done)} to {format_count(done)}: card not "
            "changed (a listing glitch? if shards were deleted, run with --allow-decrease)",
            False,
        )
    return None


def _read_stats(job: Job, verdict: Verdict) -> tuple[Verdict, FinalFigures | None]:
    """The final figures of a completed job; a stats.json that is not JSON yet completes nothing (the
    tasks count stays)."""
    if verdict.outcome is not Outcome.COMPLETED or verdict.stats is None:
        return verdict, None
    try:
        return verdict, final_figures(verdict.stats)
    except StatsFormatError as error:
        warning = f"{error}; it may still be being written, looking again next run"
        return replace(verdict, outcome=None, reason="", stats=None, warning=warning), None


def _detail(verdict: Verdict, done: int, total: int, eta: Eta | None, stalled_since: datetime | None) -> str:
    if verdict.outcome is Outcome.COMPLETED:
        return "✅ Complete"
    if verdict.outcome is not None:
        return describe_stop(done, total, verdict.reason)
    if verdict.pending is not None:
        return describe_queue(verdict.pending, done > 0)
    if stalled_since is not None and done < total:
        return describe_stall(stalled_since)
    return describe_progress(done, total, eta, verdict.tasks)


def _finish(
    job: Job, report: JobReport, verdict: Verdict, count: int, services: Services, options: Options
) -> JobReport:
    """Mark a finished job in jobs.yaml, now that its card shows the final numbers."""
    if verdict.outcome is None:
        return report
    report = replace(report, outcome=verdict.outcome, reason=verdict.reason)
    log.info("%s: %s: %s", job.name, verdict.outcome.value, verdict.reason)
    if options.dry_run:
        return replace(report, warnings=(*report.warnings, "would be marked finished"))
    try:
        with _MARKING:  # jobs.yaml is read, edited and replaced: two repos' marks must not interleave
            services.mark(Mark(job.name, verdict.outcome.value, options.now, count))
    except (MarkingError, OSError) as error:
        log.warning("%s: not marked finished in jobs.yaml: %s", job.name, error)
        return replace(report, warnings=(*report.warnings, f"not marked in jobs.yaml: {error}"))
    return replace(report, marked=True)


def updated_card(
    before: str | None, job: Job, spec: CardSpec, line: str, now: datetime, rate: str | None = None
) -> str:
    """The card with this job's lines in it: patched when it exists, created when it does not."""
    if before is None:
        return new_card(spec, line, now, rate)
    return patch_card(before, job.config, line, now, rate)


def card_spec(job: Job) -> CardSpec:
    source = job.input.location if job.input else None
    return CardSpec(
        title=job.output.title,
        load_path=str(job.output),
        config=job.config,
        folder=job.folder,
        split=job.input.split if job.input else "train",
        model=job.model,
        source_dataset=source.hub_id if source is not None else None,
        description=job.description,
    )


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
