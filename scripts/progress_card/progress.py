"""One job's progress at one moment: a pure function of what the run gathered about it and `now`.

The run first gathers a job's I/O (its count, its expected total, what its compute says) into an
`Observation`; `assess` then works out the rate, the ETA, the stall verdict and the card's lines,
without reading or writing anything. The resulting `Progress` is what the card, the report, the
status page and the people told all read.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from .card import (
    COMPLETE,
    CardEntry,
    CardSpec,
    average_rate_line,
    clamp,
    describe_late,
    describe_loss,
    describe_progress,
    describe_queue,
    describe_stall,
    describe_stop,
    progress_line,
    queue_text,
    rate_line,
    spend_text,
    tokens_text,
)
from .estimate import Estimate, average_rate, estimate
from .formatting import format_count, format_duration, format_eta_date, format_first, percent
from .limits import FIX, Crowding, crowding
from .manifest import Job
from .model import (
    NOTHING,
    Arrival,
    Count,
    Eta,
    FinalFigures,
    Found,
    JobNotes,
    LaunchSettings,
    Loss,
    Outcome,
    Peak,
    Silence,
    TaskProgress,
    TaskSums,
    Total,
    Unreadable,
    Unsafe,
    Verdict,
)
from .options import Options


@dataclass(frozen=True)
class Observation:
    """What a run gathered about one job before working anything out."""

    job: Job
    verdict: Verdict
    total: Total
    count: Count
    found: Found
    notes: JobNotes = NOTHING
    """What earlier runs noted about the job."""
    declare: tuple[str, ...] = ()
    """The files a new card's `configs:` declares for the config: the ones counted, when they are in
    the card's own repo."""


@dataclass(frozen=True)
class Progress:
    """One job's news at one moment: its counts, its compute's verdict, the estimate, its card entry."""

    done: int
    total: int
    verdict: Verdict
    eta: Eta | None
    """Set while the job runs and uploads at a measurable pace."""
    silence: Silence | None
    """Nothing came for longer than usual while the job is alive: late, or stalled."""
    dataset: str
    """Where people see the dataset: its page on the Hub, or its folder."""
    entry: CardEntry
    history: tuple[Arrival, ...] = field(default=(), repr=False)
    """Its shards as they arrived, oldest first (for its chart)."""
    warnings: tuple[str, ...] = ()
    found: str = ""
    """The files counted, and why those."""
    loss: Loss | None = None
    """Shards counted before that are gone: `done` is then the count before they went."""
    crowding: Crowding | None = None
    """A folder of the job's, or its repo, near one of the Hub's limits."""
    relaunched: bool = False
    """The job follows another launch than the last run did: a lower count is to be shown."""
    notes: JobNotes = field(default=NOTHING, repr=False)
    """What this run notes about the job, for the next."""
    tokens: TaskSums = field(default=TaskSums(), repr=False)
    """The finished tasks' figures summed so far: tokens as they come."""
    unsafe: Unsafe | None = None
    """Why the current launch is unsafe (another number of tasks or output than the launch whose ranks
    completed, Jobs of an earlier launch still live beside it), when it is."""
    spent: str | None = None
    """What the compute has used, as the card shows it (`💵 $41 so far, ≈ $130 in all`), when it says."""
    late: str | None = None
    """How long a late job has been silent, as the card says it (`⏱️ no new shards for 1h 48m (...)`), when
    that is what the card says (shards lost, or an unsafe relaunch, come first)."""

    @property
    def percent(self) -> int:
        return percent(clamp(self.done, self.total), self.total)

    @property
    def outcome(self) -> Outcome | None:
        return self.verdict.outcome

    @property
    def reason(self) -> str:
        """How the job ended, when it did."""
        return self.verdict.reason

    @property
    def tasks(self) -> TaskProgress | None:
        return self.verdict.tasks

    @property
    def figures(self) -> FinalFigures | None:
        return self.verdict.figures

    @property
    def queue(self) -> str | None:
        """Why it waits in the queue, while nothing of it runs."""
        pending = self.verdict.pending
        return queue_text(pending, self.done > 0) if pending is not None else None

    @property
    def line(self) -> str:
        """The job's line on the card."""
        return self.entry.line

    @property
    def stalled_since(self) -> datetime | None:
        """The last upload, when the job is alive and nothing came since for much longer than usual."""
        return self.silence.since if self.silence is not None and self.silence.stalled else None

    @property
    def last_shard(self) -> datetime | None:
        return self.history[-1].at if self.history else None


def assess(seen: Observation, options: Options) -> Progress:
    """The job's progress at `options.now`, from what was gathered about it. Pure."""
    job, verdict, count, now = seen.job, seen.verdict, seen.count, options.now
    relaunched = bool(seen.notes.launch) and seen.notes.launch != job.launch
    loss, notes = _remember(seen, now, forgive=relaunched or options.allow_decrease)
    done = notes.peak.documents if loss is not None and notes.peak else count.documents
    total = seen.total.documents
    figures, disagree = _figures(verdict, notes.sums)
    unsafe = _two_launches(job.name, verdict) or _unsafe_resume(job.name, seen.notes.settings, verdict)
    warnings = (*verdict.warnings, *([unsafe.what] if unsafe else []), *([disagree] if disagree else []))
    unreadable = _unreadable(count.unreadable)
    if unreadable:
        warnings += (f"count incomplete: {unreadable}",)
    over = overcount(count.documents, total)
    if over:
        warnings += (over,)
    if count.shards == 0:
        warnings += (f"no shards found yet: looked for {seen.found.what}",)
    if loss is not None:
        warnings += (f"{describe_loss(loss)}; {format_count(count.documents)} documents counted now",)
    queued = verdict.pending is not None
    uploading = verdict.alive and not queued
    pace = estimate(count.arrivals, count.documents, total, now, uploading, verdict.launch)
    eta = pace.eta if uploading and loss is None else None
    silence = pace.silence  # only ever set for a job that is uploading
    if silence is not None and silence.stalled and pace.quiet_for is not None:
        quiet = format_duration(pace.quiet_for.total_seconds())
        warnings += (f"no new shards since {format_eta_date(silence.since)} (more than {quiet} without one)",)
    crowded = crowding(seen.found, count.arrivals, now) if verdict.alive else None
    if crowded is not None:
        warnings += (f"{crowded}: {FIX}",)
    late = describe_late(silence, now) if silence is not None and not silence.stalled else None
    detail = _detail(verdict, done, total, eta, silence, late, loss, unsafe, over)
    late = late if detail == late else None  # shards lost, or an unsafe relaunch, are said first
    rate = _rate_line(job.config, pace, count.arrivals, complete=detail == COMPLETE, uploading=uploading)
    if crowded is not None:
        detail += f" • ⚠️ {crowded}"
    if unreadable:
        detail += f" • ⚠️ {unreadable}"
    if verdict.retrying and verdict.alive:
        which = "index" if len(verdict.retrying) == 1 else "indices"
        detail += f" • 🔁 retrying array {which} {', '.join(str(index) for index in verdict.retrying)}"
    tokens = tokens_text(notes.sums.completion_tokens, notes.sums.tokens_per_hour)
    spent = (
        spend_text(verdict.spend, eta.remaining if eta else None, ended=not verdict.alive)
        if verdict.spend is not None
        else None
    )
    line = progress_line(job.config, done, total, detail, verdict.tasks, tokens, spent)
    entry = CardEntry(card_spec(job, seen.declare), line, rate, figures)
    return Progress(
        done, total, replace(verdict, figures=figures), eta, silence, job.page, entry, count.arrivals,
        warnings, seen.found.what, loss, crowded, relaunched, notes, notes.sums, unsafe, spent, late,
    )  # fmt: skip


def _remember(seen: Observation, now: datetime, forgive: bool) -> tuple[Loss | None, JobNotes]:
    """The shards lost so far (None when there are none, or they are forgiven: a relaunch or
    --allow-decrease), and the job's notes after this run: the highest count, the loss, the launch,
    the job ids the queue has shown, the launch settings a resume must keep, the tasks' sums."""
    count, notes, verdict = seen.count, seen.notes, seen.verdict
    peak = None if forgive else notes.peak
    loss = None if forgive else notes.loss
    if count.gone and not forgive:
        since = loss.since if loss is not None else notes.at or now
        shards = (loss.shards if loss else 0) + count.gone
        documents = (loss.documents if loss else 0) + count.gone_documents
        loss = Loss(shards, documents, since, seen.found.origin)
    if loss is not None and peak is not None and count.documents >= peak.documents:
        loss = None  # the count is back
    if peak is None or count.documents >= peak.documents:
        peak = Peak(count.documents, count.shards, now)
    # The launch whose completions stand sets what a resume must keep; with none yet, any launch does.
    started = verdict.tasks is not None and verdict.tasks.done > 0
    settings = (
        notes.settings if notes.settings is not None and started else verdict.settings or notes.settings
    )
    sums = notes.sums.plus(verdict.finished_tasks)
    return loss, JobNotes(now, peak, loss, seen.job.launch, notes.seen | verdict.seen, settings, sums)


def _figures(verdict: Verdict, sums: TaskSums) -> tuple[FinalFigures | None, str | None]:
    """A completed job's final figures: stats.json's, or the per-task files summed where stats.json is
    missing or says otherwise (it can be incomplete after a relaunch: datatrove#360); and a warning
    when the two disagree."""
    if verdict.outcome is not Outcome.COMPLETED:
        return verdict.figures, None
    tasks = verdict.tasks
    summed_all = tasks is not None and tasks.total is not None and len(sums.ranks) >= tasks.total > 0
    if verdict.figures is None:
        return (sums.figures() if sums.ranks else None), None
    said = verdict.figures.documents
    if summed_all and said is not None and said != sums.documents:
        return sums.figures(), (
            f"stats.json counts {format_count(said)} documents, the {len(sums.ranks)} per-task stats files "
            f"{format_count(sums.documents)}: the card shows the per-task figures (stats.json can miss tasks "
            "of an earlier launch)"
        )
    return verdict.figures, None


def _unsafe_resume(name: str, before: LaunchSettings | None, verdict: Verdict) -> Unsafe | None:
    """What a person must know when the job was relaunched with another number of tasks, or another
    output, than the launch whose completions stand: completed ranks are skipped while their input
    slices changed, and some input is generated twice, some never."""
    now = verdict.settings
    started = verdict.tasks is not None and verdict.tasks.done > 0
    if before is None or now is None or not started or not verdict.alive:
        return None
    advice = (
        "cancel the new launch before more ranks complete with the wrong slices, then relaunch with the first "
        "launch's number of tasks and output"
    )
    if now.world_size != before.world_size:
        return Unsafe(
            f"{name} was relaunched with {now.world_size} tasks instead of {before.world_size}: completed ranks "
            f"are skipped while their input slices changed; cancel it and relaunch with {before.world_size} tasks",
            advice,
        )
    if now.output != before.output:
        return Unsafe(
            f"{name} was relaunched writing to {now.output} instead of {before.output}: its completed ranks' "
            f"output stays behind; cancel it and relaunch writing to {before.output}",
            advice,
        )
    return None


def _two_launches(name: str, verdict: Verdict) -> Unsafe | None:
    """Jobs of an earlier launch still queued or running beside the current one: datatrove's docs warn
    that they read the new launch's ranks_to_run.json, and run ranks that are not theirs."""
    stale = verdict.stale
    if not stale or not verdict.alive:
        return None
    jobs = "a Job" if len(stale) == 1 else f"{len(stale)} Jobs"
    return Unsafe(
        f"{name} has {jobs} of an earlier launch still queued or running beside the current launch "
        f"({format_first(stale)}): they read the new launch's ranks_to_run.json and may run ranks that are not theirs",
        "cancel the earlier launch's Jobs (`hf jobs cancel ID` for each: "
        + ", ".join(stale)
        + "); ranks they "
        "completed stay completed, the current launch runs the rest",
    )


def _rate_line(
    config: str, pace: Estimate, arrivals: tuple[Arrival, ...], *, complete: bool, uploading: bool
) -> str | None:
    """The rate line follows the state: the rate now while the job uploads at a measured pace, the
    average over its whole life once the card says it is complete, and none otherwise (queued,
    estimating, late, stalled, stopped)."""
    if complete:
        average = average_rate(arrivals)
        return average_rate_line(config, *average) if average is not None else None
    if uploading and pace.rate_per_hour:
        return rate_line(config, pace.rate_per_hour, pace.hourly)
    return None


def _detail(
    verdict: Verdict,
    done: int,
    total: int,
    eta: Eta | None,
    silence: Silence | None,
    late: str | None,
    loss: Loss | None,
    unsafe: Unsafe | None,
    over: str | None,
) -> str:
    """The text after the bar, by the job's state: complete, stopped, queued, relaunched unsafely,
    shards lost, counted beyond its total (`over`), stalled, late (`late`: what the card says of it), or
    on its way."""
    if verdict.outcome is Outcome.COMPLETED:
        return COMPLETE
    if verdict.outcome is not None:
        return describe_stop(done, total, verdict.reason)
    if verdict.pending is not None:
        return describe_queue(verdict.pending, done > 0)
    if unsafe is not None:
        return f"⚠️ {unsafe.what}"
    if loss is not None:
        return f"⚠️ {describe_loss(loss)}"
    if over is not None:
        return f"⚠️ {over}"
    if silence is not None and done < total:
        return describe_stall(silence.since) if late is None else late
    return describe_progress(done, total, eta, verdict.tasks)


OVERCOUNT_MARGIN = 0.05
"""How far above its total a job's count may go before it is doubted: a job writes its total, give or
take the odd document; 5 % more means a wrong total, or shards counted twice."""


def overcount(documents: int, total: int) -> str | None:
    """What is wrong with a count more than OVERCOUNT_MARGIN above the total; such a count never makes
    the card say the job is complete."""
    if total <= 0 or documents <= total * (1 + OVERCOUNT_MARGIN):
        return None
    return (
        f"{format_count(documents)} documents counted, {percent(documents - total, total)}% more than the "
        f"total of {format_count(total)}: check the total in jobs.yaml, and that no shards are counted twice"
    )


def _unreadable(shards: tuple[Unreadable, ...]) -> str | None:
    """`3 shards unreadable`, for the card and the report."""
    if not shards:
        return None
    return f"{format_count(len(shards))} shard{'s' if len(shards) > 1 else ''} unreadable"


def card_spec(job: Job, declare: tuple[str, ...] = ()) -> CardSpec:
    """What a new card says of the job, and where its `configs:` entry points (`declare`)."""
    source = job.input.location if job.input else None
    home = job.card_home
    return CardSpec(
        title=home.title if home is not None else job.name,
        load_path=str(home) if home is not None else job.where,
        config=job.config,
        patterns=declare,
        split=job.input.split if job.input else "train",
        model=job.model,
        source_dataset=source.hub_id if source is not None else None,
        description=job.description,
    )
