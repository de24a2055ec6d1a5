"""One update over the manifest: for each job, plan its new card, then apply what differs.

First the cluster is asked once which jobs have finished; then, job by job, the documents are
counted, the card is patched with the progress (or how the job ended) and pushed, and only then
is a finished job marked in jobs.yaml, so that its card always shows the final numbers.
A job's failure is reported and the others still run. Nothing below this module reads the
clock: `now` is passed in.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from .card import (
    CardSpec,
    Eta,
    describe_progress,
    describe_queue,
    describe_stall,
    describe_stop,
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
from .cluster import RUNNING, FinalFigures, Outcome, StatsFormatError, Verdict, final_figures
from .counting import Count, StillCounting, count_documents
from .editing import Mark, MarkingError
from .estimate import estimate
from .formatting import format_count, format_duration, format_eta_date
from .manifest import HubDataset, Job, Location
from .quota import QuotaSpent, Stopped
from .report import JobReport, Report, Status
from .state import ShardMemory
from .storage import CardConflict, DatasetRepo, JobError, RepoNotFound
from .total import Total

log = logging.getLogger(__name__)

PUSH_ATTEMPTS = 4
"""Card pushes tried when the branch keeps moving under us (each time re-read and re-applied)."""
REFRESH_AFTER = timedelta(hours=6)
"""A card whose news did not change is left alone, unless its Last updated line is older than this."""


@dataclass(frozen=True)
class Services:
    """The edges an update talks to, built by the CLI (real clients) or by tests (loopback servers)."""

    open_repo: Callable[[Location], DatasetRepo]
    resolve_total: Callable[[Job], Total]
    verdicts: Callable[[Sequence[Job]], dict[str, Verdict]]
    """Which jobs have finished: asks the cluster once for all of them."""
    mark: Callable[[Mark], None]
    """Record a finished job in jobs.yaml."""
    memory: Callable[[Job], ShardMemory | None] = lambda job: None
    """What earlier runs learnt about the job's shards (None: count everything)."""
    workers: int = 32


def run(
    jobs: Sequence[Job],
    services: Services,
    now: datetime,
    dry_run: bool = False,
    refresh_after: timedelta = REFRESH_AFTER,
    allow_decrease: bool = False,
    should_stop: Callable[[], bool] = lambda: False,
) -> Report:
    """Update every job's card; one job's failure does not stop the others.

    A card is pushed when its news changed (counts, bar, status), or when its Last updated line is
    older than `refresh_after`; the clock ticking alone (time left, timestamp) commits nothing. A
    count lower than the card shows is not published unless `allow_decrease`. When `should_stop`
    turns true (SIGTERM), the job under way finishes its writes and the others are left for later.
    """
    active = [job for job in jobs if job.finished is None]
    verdicts = services.verdicts(active) if active else {}
    reports = []
    for job in jobs:
        if should_stop():
            reports.append(JobReport(job.name, Status.INTERRUPTED))
            continue
        if job.finished is not None:
            reports.append(_skipped(job))
            continue
        try:
            verdict = verdicts.get(job.name, RUNNING)
            reports.append(
                _update(job, verdict, services, now, dry_run, refresh_after, allow_decrease, should_stop)
            )
        except StillCounting as error:
            log.warning("%s: %s", job.name, error)
            reports.append(JobReport(job.name, Status.COUNTING, warnings=(str(error),)))
        except QuotaSpent as error:
            log.warning("%s: %s; the next run continues", job.name, error)
            reports.append(
                JobReport(job.name, Status.DEFERRED, warnings=(f"{error}; the next run continues",))
            )
        except Stopped as error:
            reports.append(JobReport(job.name, Status.INTERRUPTED, warnings=(str(error),)))
        except JobError as error:
            log.error("%s: %s", job.name, error)
            reports.append(JobReport(job.name, Status.FAILED, error=str(error)))
        except Exception as error:  # an unforeseen failure of one job must not stop the others
            log.exception("%s: unexpected error", job.name)
            reports.append(
                JobReport(job.name, Status.FAILED, error=f"unexpected {type(error).__name__}: {error}")
            )
    return Report(tuple(reports))


def _skipped(job: Job) -> JobReport:
    assert job.finished is not None
    log.info(
        "%s: finished (%s at %s); after a relaunch, `progress-card relaunch %s --slurm-job-id ID` follows it again",
        job.name,
        job.finished.outcome,
        job.finished.at,
        job.name,
    )
    return JobReport(job.name, Status.SKIPPED, reason=f"{job.finished.outcome} at {job.finished.at}")


def _update(
    job: Job,
    verdict: Verdict,
    services: Services,
    now: datetime,
    dry_run: bool,
    refresh_after: timedelta,
    allow_decrease: bool,
    should_stop: Callable[[], bool],
) -> JobReport:
    verdict, figures = _read_stats(job, verdict)
    if verdict.warning:
        log.warning("%s: %s", job.name, verdict.warning)
    warnings: tuple[str, ...] = (verdict.warning,) if verdict.warning else ()
    total = services.resolve_total(job)
    log.info("%s: expecting %s documents (%s)", job.name, format_count(total.documents), total.source)
    repo = services.open_repo(job.output)
    try:
        snapshot = repo.snapshot()
    except RepoNotFound as error:
        log.warning("%s: 0 documents so far: %s", job.name, error)
        report = JobReport(job.name, Status.NO_REPO, 0, total.documents, warnings=warnings)
        return _finish(job, report, verdict, 0, services, now, dry_run)

    count = count_documents(
        snapshot,
        job.folder,
        workers=services.workers,
        memory=services.memory(job),
        label=job.name,
        stopping=should_stop,
    )
    _log_count(job, repo, count)
    if count.unreadable:
        warnings += (f"count incomplete: {len(count.unreadable)} unreadable shards",)
    alive = verdict.outcome is None
    queued = verdict.pending is not None
    pace = estimate(
        count.arrivals, count.documents, total.documents, now, alive and not queued, verdict.launch
    )
    eta = pace.eta if alive and not queued else None
    if pace.stalled_since is not None and pace.quiet_for is not None and alive:
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
    spec = card_spec(job, repo)

    def apply(card: str | None) -> str:
        text = updated_card(card, job, spec, line, now, rate)
        return patch_final_figures(text, job.config, figures) if figures else text

    def hold(card: str | None) -> Hold | None:
        return _hold(card, job.config, count.documents, verdict, allow_decrease)

    before = snapshot.read_card()
    held = hold(before)
    queue = queue_text(verdict.pending, count.documents > 0) if verdict.pending else None
    report = JobReport(
        job.name,
        Status.PUSHED,
        count.documents,
        total.documents,
        eta,
        tasks=verdict.tasks,
        queue=queue,
        warnings=warnings,
    )
    if held is None:
        after = apply(before)
        if before is not None and (after == before or _only_the_clock(before, after, now, refresh_after)):
            report = replace(report, status=Status.UNCHANGED)
        elif dry_run:
            report = replace(report, status=Status.DRY_RUN, diff=card_diff(repo.label, before, after))
        else:
            held = _push(job, repo, snapshot.revision, after, apply, hold, report)
    if held is not None:
        log.warning("%s: %s", job.name, held.reason)
        report = replace(report, status=Status.HELD, warnings=(*report.warnings, held.reason))
        if not held.final:
            return report  # not marked: the final count is not on the card
    return _finish(job, report, verdict, count.documents, services, now, dry_run)


@dataclass(frozen=True)
class Hold:
    """Why the card is left as it is; `final` when it already shows the job's end."""

    reason: str
    final: bool


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


def _only_the_clock(before: str, after: str, now: datetime, refresh_after: timedelta) -> bool:
    """Nothing but the time left and the timestamp would change, and the card is recent enough."""
    written = last_updated(before)
    return written is not None and now - written < refresh_after and same_news(before, after)


def _read_stats(job: Job, verdict: Verdict) -> tuple[Verdict, FinalFigures | None]:
    """The final figures of a completed job; a stats.json that is not JSON yet completes nothing."""
    if verdict.outcome is not Outcome.COMPLETED or verdict.stats is None:
        return verdict, None
    try:
        return verdict, final_figures(verdict.stats)
    except StatsFormatError as error:
        return Verdict(warning=f"{error}; it may still be being written, looking again next run"), None


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


def _push(
    job: Job,
    repo: DatasetRepo,
    parent: str | None,
    card: str,
    apply: Callable[[str | None], str],
    hold: Callable[[str | None], Hold | None],
    report: JobReport,
) -> Hold | None:
    """Push the card on top of the revision it was read at; when the repo moved, re-read and re-apply
    (unless what was written meanwhile must be left alone)."""
    message = (
        f"Update generation progress: {job.config} {report.percent}% ({format_count(report.done or 0)} docs)"
    )
    for attempt in range(1, PUSH_ATTEMPTS + 1):
        try:
            repo.write_card(card, parent, message)
            return None
        except CardConflict:
            if attempt == PUSH_ATTEMPTS:
                break
            log.info("%s: %s changed while updating; reading the card again", job.name, repo.label)
            fresh = repo.snapshot()
            parent = fresh.revision
            current = fresh.read_card()
            held = hold(current)
            if held is not None:
                return held
            card = apply(current)
    raise JobError(
        f"{repo.label} kept changing while its card was pushed ({PUSH_ATTEMPTS} attempts); the next run will retry"
    )


def _finish(
    job: Job,
    report: JobReport,
    verdict: Verdict,
    count: int,
    services: Services,
    now: datetime,
    dry_run: bool,
) -> JobReport:
    """Mark a finished job in jobs.yaml, now that its card shows the final numbers."""
    if verdict.outcome is None:
        return report
    report = replace(report, outcome=verdict.outcome, reason=verdict.reason)
    log.info("%s: %s: %s", job.name, verdict.outcome.value, verdict.reason)
    if dry_run:
        return replace(report, warnings=(*report.warnings, "would be marked finished"))
    try:
        services.mark(Mark(job.name, verdict.outcome.value, now, count))
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
