"""What a job's Hugging Face Jobs say of it, and what they cost. Pure functions.

datatrove's JobsPipelineExecutor launches one Job per array index, labelled with its `job_name` and
the index, each running `launch_pickled_pipeline <logging_dir>/executor.pik`. Its coordinator
relaunches a Job that ended in ERROR or CANCELED (up to `max_retries`), with the same labels. A
relaunch of the whole job rewrites executor.json, executor.pik and ranks_to_run.json first, then
launches new Jobs from array index 0: Jobs of the earlier launch still queued or running then read
the new launch's files and run the wrong ranks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from ...formatting import format_first
from ...model import Pending, Spend, SpendUnit
from ..logging_folder import TAILS_AT_MOST
from ..schedule import JobState, Liveness, Part
from .target import NAME_LABEL, HfJobs

LIVE = ("SCHEDULING", "RUNNING")
FAILED = "ERROR"
SUCCEEDED = "COMPLETED"


@dataclass(frozen=True)
class JobRecord:
    """A Hugging Face Job as the rule reads it (from `huggingface_hub`'s JobInfo)."""

    id: str
    stage: str
    message: str | None = None
    array_index: int | None = None
    """datatrove's `datatrove_array_index` label."""
    created_at: datetime | None = None
    started_at: datetime | None = None
    running_secs: int | None = None
    flavor: str | None = None
    pipeline: str | None = None
    """The `executor.pik` its command runs, when it runs datatrove's launcher."""

    @property
    def live(self) -> bool:
        return self.stage in LIVE


@dataclass(frozen=True)
class Prices:
    """Each flavor's price an hour in US dollars, from the Hub's hardware list; or why it is unknown."""

    per_hour: Mapping[str, float] = field(default_factory=dict)
    problem: str | None = None


@dataclass(frozen=True)
class Found:
    """The Jobs a listing brought back for a job, and where it looked."""

    target: HfJobs
    namespace: str
    jobs: tuple[JobRecord, ...]
    missing: tuple[str, ...] = ()
    """Ids given in jobs.yaml that the namespace does not know."""

    @property
    def who(self) -> str:
        return self.target.describe(self.namespace)


def jobs_state(
    found: Found, prices: Prices, pipeline: str | None = None, launched_at: datetime | None = None
) -> JobState:
    """The job's state from its Jobs. `pipeline`: the executor.pik of the job's logging folder (Jobs
    running another are another pipeline's); `launched_at`: when its executor.json was last written
    (live Jobs created before are an earlier launch's)."""
    who, plural = found.who, found.target.plural
    jobs, warnings = _screened(found, pipeline)
    if not jobs:
        return JobState(Liveness.ENDED, who, plural, unknown=_nothing_found(found), warnings=tuple(warnings))
    spend, problem = _spend(jobs, prices)
    warnings += [problem] if problem else []
    started = min((job.started_at for job in jobs if job.started_at is not None), default=None)
    stale = _stale(jobs, launched_at)
    current = [job for job in jobs if job.id not in stale and not _before(job, launched_at)] or jobs
    latest = _latest(current)
    if any(job.live for job in jobs):
        running = any(job.stage == "RUNNING" for job in jobs)
        return JobState(
            Liveness.ALIVE,
            who,
            plural,
            started_at=started,
            pending=None if running else _pending(jobs),
            retrying=_retrying(current, latest),
            stale=stale,
            spend=spend,
            warnings=tuple(warnings),
        )
    ends = list(latest.values())
    unsuccessful = sorted(
        (job for job in ends if job.stage != SUCCEEDED), key=lambda job: (job.stage != FAILED, _index(job))
    )
    return JobState(
        Liveness.ENDED,
        who,
        plural,
        f"{who} ended: {_stages(ends)}",
        started_at=started,
        completed=not unsuccessful,
        failure=any(job.stage == FAILED for job in ends),
        spend=spend,
        failed=tuple(_part(job) for job in unsuccessful[:TAILS_AT_MOST]),
        warnings=tuple(warnings),
    )


def _screened(found: Found, pipeline: str | None) -> tuple[list[JobRecord], list[str]]:
    """The Jobs found that run the job's pipeline, and warnings about the ids not found and the Jobs of
    another pipeline (left out)."""
    jobs, warnings = list(found.jobs), []
    if found.missing and found.jobs:
        warnings.append(
            f"{format_first(found.missing)} not found in {found.namespace}: a typo in hf_jobs: ids, or another "
            "namespace?"
        )
    foreign = [job for job in jobs if pipeline is not None and job.pipeline not in (None, pipeline)]
    if foreign:
        warnings.append(
            f"{len(foreign)} of {found.who} run another pipeline ({foreign[0].pipeline}), not {pipeline}: "
            f"two pipelines launched with the same job_name? give each its own job_name; those Jobs are left out"
        )
    return [job for job in jobs if job not in foreign], warnings


def _nothing_found(found: Found) -> str:
    target = found.target
    if target.name is not None:
        return (
            f"no Jobs labelled {NAME_LABEL}={target.name} in {found.namespace}: is {target.name} the executor's "
            f"job_name, and {found.namespace} the namespace it launched in (hf_jobs: namespace, or else the "
            "token's user)?"
        )
    return (
        f"none of the Jobs {format_first(target.ids)} is in {found.namespace}: a typo in hf_jobs: ids, or "
        "another namespace?"
    )


def _before(job: JobRecord, launched_at: datetime | None) -> bool:
    return launched_at is not None and job.created_at is not None and job.created_at < launched_at


def _stale(jobs: Sequence[JobRecord], launched_at: datetime | None) -> tuple[str, ...]:
    """Live Jobs of an earlier launch: created before the launch's executor.json, or older than another
    live Job of the same array index (datatrove retries an index only once its Job has ended)."""
    stale = {job.id for job in jobs if job.live and _before(job, launched_at)}
    by_index: dict[int, list[JobRecord]] = {}
    for job in jobs:
        if job.live and job.array_index is not None:
            by_index.setdefault(job.array_index, []).append(job)
    for same in by_index.values():
        stale.update(job.id for job in sorted(same, key=_created)[:-1])
    return tuple(job.id for job in sorted(jobs, key=_created) if job.id in stale)


def _latest(jobs: Sequence[JobRecord]) -> dict[int | str, JobRecord]:
    """The last attempt of each array index (a Job without one stands alone)."""
    latest: dict[int | str, JobRecord] = {}
    for job in sorted(jobs, key=_created):
        latest[job.array_index if job.array_index is not None else job.id] = job
    return latest


def _retrying(jobs: Sequence[JobRecord], latest: Mapping[int | str, JobRecord]) -> tuple[int, ...]:
    """Array indices whose last attempt is live after an earlier one failed or was canceled."""
    retried = []
    for index, last in latest.items():
        if isinstance(index, int) and last.live:
            earlier = [job for job in jobs if job.array_index == index and job.id != last.id]
            if any(job.stage in (FAILED, "CANCELED") for job in earlier):
                retried.append(index)
    return tuple(sorted(retried))


def _pending(jobs: Sequence[JobRecord]) -> Pending:
    """Every live Job is still scheduling: the stage's message of the first one, and since when."""
    waiting = sorted((job for job in jobs if job.live), key=_created)
    first = waiting[0]
    return Pending(f"scheduling: {first.message}" if first.message else "scheduling", first.created_at)


def _spend(jobs: Sequence[JobRecord], prices: Prices) -> tuple[Spend | None, str | None]:
    """Each Job's running time times its flavor's price, and what the running ones add an hour; nothing
    (and why) when a price is unknown: never a guess."""
    if prices.problem is not None:
        return None, f"what the Jobs cost is not shown: {prices.problem}"
    billed = [job for job in jobs if job.running_secs or job.stage == "RUNNING"]
    unknown = sorted({job.flavor or "(none)" for job in billed if job.flavor not in prices.per_hour})
    if unknown:
        flavors = ", ".join(unknown)
        return None, (
            f"flavor {flavors} is not in the Hub's hardware list, so what the Jobs cost is not shown; "
            "if the flavor is new, this goes away once the Hub lists it"
        )
    so_far = sum((job.running_secs or 0) / 3600 * prices.per_hour[str(job.flavor)] for job in billed)
    per_hour = sum(prices.per_hour[str(job.flavor)] for job in billed if job.stage == "RUNNING")
    return Spend(so_far, per_hour, SpendUnit.USD), None


def _stages(jobs: Sequence[JobRecord]) -> str:
    """`60 COMPLETED, 4 ERROR (array indices 3, 17, 18, …)`."""
    counts: dict[str, list[JobRecord]] = {}
    for job in jobs:
        counts.setdefault(job.stage, []).append(job)
    parts = []
    for stage in sorted(counts, key=lambda stage: (stage != SUCCEEDED, stage)):
        same = counts[stage]
        indices = sorted(_index(job) for job in same if job.array_index is not None)
        which = (
            f" (array {'index' if len(indices) == 1 else 'indices'} {format_first(indices)})"
            if stage != SUCCEEDED and indices
            else ""
        )
        parts.append(f"{len(same)} {stage}{which}")
    return ", ".join(parts)


def _part(job: JobRecord) -> Part:
    if job.array_index is None:
        return Part(job.id, f"the Job that ended {job.stage}")
    return Part(job.id, f"the Job of array index {job.array_index}, ended {job.stage}")


def _index(job: JobRecord) -> int:
    return job.array_index if job.array_index is not None else -1


def _created(job: JobRecord) -> tuple[float, str]:
    return (job.created_at.timestamp() if job.created_at is not None else 0.0, job.id)
