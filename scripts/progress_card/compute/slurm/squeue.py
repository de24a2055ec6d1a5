"""Asking Slurm about a job: the `squeue` and `sacct` command lines, what their answers mean, and the
job's state they make together. Pure functions.

The queue's answer has four values that matter: the job is alive, it ended (still shown), it is
gone, or we cannot tell. Only a clear "ended" or "gone" may finish a job; anything unexpected is
unknown. Slurm's accounts, where it keeps them, say how a job that left the queue ended, and the
GPUs its tasks held.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum

from ...model import Pending, Spend, SpendUnit
from ...schema import pattern
from ..schedule import JobState, Liveness

# `%i` is the job id (array tasks as 123_4 or 123_[5-9%2]), `%T` the state in full, `%S` when the
# task started (for a pending one: when Slurm expects it to, or N/A), `%V` when it was submitted
# (or requeued), `%r` why it is in its state (Priority, Resources, JobHeldUser...; may hold spaces,
# so it comes last).
SQUEUE_FORMAT = "%i %T %S %V %r"
SQUEUE_ENVIRONMENT = ("TZ=UTC", "SLURM_TIME_FORMAT=standard")
"""Times in UTC, as `2026-12-01T14:02:00`, whatever the login node's time zone and settings."""
INVALID_JOB_ID = "Invalid job id specified"

ALIVE_STATES = frozenset(
    {
        "PENDING",
        "RUNNING",
        "CONFIGURING",
        "COMPLETING",
        "SUSPENDED",
        "REQUEUED",
        "REQUEUE_FED",
        "REQUEUE_HOLD",
        "RESIZING",
        "SIGNALING",
        "STAGE_OUT",
        "STOPPED",
        "RESV_DEL_HOLD",
        "SPECIAL_EXIT",
        "POWER_UP_NODE",
        "UPDATE_DB",
    }
)
TERMINAL_STATES = frozenset(
    {
        "COMPLETED",
        "FAILED",
        "CANCELLED",
        "TIMEOUT",
        "OUT_OF_MEMORY",
        "NODE_FAIL",
        "PREEMPTED",
        "BOOT_FAIL",
        "DEADLINE",
        "REVOKED",
    }
)
# When the tasks of an array ended differently, the one to report: the worst first.
_SEVERITY = (
    "FAILED",
    "OUT_OF_MEMORY",
    "NODE_FAIL",
    "BOOT_FAIL",
    "TIMEOUT",
    "DEADLINE",
    "PREEMPTED",
    "CANCELLED",
    "REVOKED",
    "COMPLETED",
)
_JOB_ID = pattern("slurm_job_id")
NEVER_STARTS = "DependencyNeverSatisfied"
"""The pending reason of a job waiting on one that failed: datatrove's stats merge after a failed array."""


class InQueue(Enum):
    ALIVE = "alive"
    ENDED = "ended"
    """In the queue, every task in a terminal state."""
    GONE = "gone"
    """No longer known to squeue."""
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class QueueState:
    """What `squeue` says of a job."""

    liveness: InQueue
    state: str | None = None
    """The Slurm state when one was seen: RUNNING for an alive job, the worst task state for an ended one."""
    detail: str = ""
    """Why the answer is unknown."""
    started_at: datetime | None = None
    """When its first task started running (None while every task is pending, or when not said)."""
    pending: Pending | None = None
    """Set while the job is alive and nothing of it runs."""


@dataclass(frozen=True)
class Accounts:
    """What Slurm's accounts (`sacct`) say of a job: how it ended, and the GPU-hours its tasks used."""

    ended: str | None = None
    """The worst state of its tasks once every one has ended (None: unknown to the accounts, or running)."""
    spend: Spend | None = None
    """GPU-hours, when the accounts show GPUs allocated to its tasks."""


def job_state(job_ids: Sequence[str], queue: QueueState, accounts: Accounts, seen: bool) -> JobState:
    """The job's state from the queue and the accounts; `seen`: an earlier run saw it queued or running.

    A job id the queue has never shown, and that the accounts do not know, is more likely a typo than
    a job that ended: its state says so, and nothing may be finished on it.
    """
    who, plural = slurm_jobs(job_ids), len(job_ids) > 1
    if queue.liveness is InQueue.UNKNOWN:
        return JobState(Liveness.UNKNOWN, who, plural, detail=queue.detail)
    shown = frozenset(job_ids) if queue.liveness in (InQueue.ALIVE, InQueue.ENDED) else frozenset()
    if queue.liveness is InQueue.ALIVE:
        return JobState(
            Liveness.ALIVE, who, plural, started_at=queue.started_at, pending=queue.pending, spend=accounts.spend,
            shown=shown,
        )  # fmt: skip
    state = queue.state if queue.liveness is InQueue.ENDED else accounts.ended
    unknown = None
    if not (seen or shown) and state is None:
        unknown = (
            f"Slurm does not know {who}: it was never seen queued or running, and Slurm's accounts do not "
            "say how it ended; a typo in slurm_job_id?"
        )
    how = (
        f"{who} ended ({state})"
        if state is not None
        else f"{who} {'are' if plural else 'is'} no longer in the queue"
    )
    return JobState(
        Liveness.ENDED,
        who,
        plural,
        how,
        completed=state == "COMPLETED",
        failure=state not in (None, "COMPLETED"),
        unknown=unknown,
        started_at=queue.started_at,
        spend=accounts.spend,
        shown=shown,
    )


def slurm_jobs(job_ids: Sequence[str]) -> str:
    """`Slurm job 123`, or `Slurm jobs 123 and 124` for a job launched as several arrays."""
    if len(job_ids) <= 1:
        return f"Slurm job {''.join(job_ids)}"
    return f"Slurm jobs {', '.join(job_ids[:-1])} and {job_ids[-1]}"


def valid_job_id(job_id: str) -> bool:
    """Only digits reach the remote shell (an array is followed through its base id)."""
    return bool(_JOB_ID.fullmatch(job_id))


def squeue_argv(job_ids: Sequence[str]) -> list[str]:
    """`squeue` for the job's arrays in every state, no header, in SQUEUE_FORMAT, times in UTC.
    `--jobs=` because `-j`'s argument is optional."""
    return [
        "env",
        *SQUEUE_ENVIRONMENT,
        "squeue",
        "--noheader",
        "--states=all",
        f"--format={SQUEUE_FORMAT}",
        f"--jobs={_checked(job_ids)}",
    ]


def sacct_argv(job_ids: Sequence[str]) -> list[str]:
    """`sacct` for how the job's arrays ended and what they held, from Slurm's accounts: one line per
    array task (its allocation), with its state, the seconds it ran and its trackable resources."""
    return [
        "env",
        *SQUEUE_ENVIRONMENT,
        "sacct",
        "--noheader",
        "--parsable2",
        "--allocations",
        "--format=JobID,State,ElapsedRaw,AllocTRES",
        f"--jobs={_checked(job_ids)}",
    ]


def _checked(job_ids: Sequence[str]) -> str:
    """The ids for `--jobs=`: only digits reach the remote shell."""
    if not job_ids:
        raise ValueError("no Slurm job id to ask about")
    for job_id in job_ids:
        if not valid_job_id(job_id):
            raise ValueError(f"not a Slurm job id: {job_id!r}")
    return ",".join(job_ids)


def parse_sacct(job_ids: Sequence[str], output: str) -> Accounts:
    """What `sacct_argv(job_ids)` answered: how the job ended (the worst state of its tasks, once every
    one of them has), and the GPU-hours of its tasks when their resources name GPUs (`gres/gpu=N`)."""
    task = re.compile(rf"({'|'.join(map(re.escape, job_ids))})(?:_(?:[0-9]+|\[[0-9,%\-]+\]))?")
    states, gpu_seconds, gpus_running, gpus_seen = [], 0.0, 0, False
    for line in output.splitlines():
        fields = line.strip().split("|")
        if len(fields) < 2 or not task.fullmatch(fields[0]) or not fields[1]:
            continue
        state = fields[1].split()[0].rstrip("+")
        states.append(state)
        gpus = _gpus(fields[3]) if len(fields) > 3 else None
        if gpus is None:
            continue
        gpus_seen = True
        elapsed = int(fields[2]) if fields[2].isdigit() else 0
        gpu_seconds += gpus * elapsed
        gpus_running += gpus if state == "RUNNING" else 0
    ended = None
    if states and all(state in TERMINAL_STATES for state in states):
        ended = min(states, key=_SEVERITY.index)
    spend = Spend(gpu_seconds / 3600, float(gpus_running), SpendUnit.GPU_HOURS) if gpus_seen else None
    return Accounts(ended, spend)


def _gpus(tres: str) -> int | None:
    """The GPUs in an AllocTRES field, None when it names none: `gres/gpu=4` when said (Slurm adds it
    beside the typed counts), else the typed counts summed (`gres/gpu:h100=4`)."""
    counts = dict(item.partition("=")[::2] for item in tres.split(","))
    if counts.get("gres/gpu", "").isdigit():
        total = int(counts["gres/gpu"])
    else:
        total = sum(int(v) for k, v in counts.items() if k.startswith("gres/gpu:") and v.isdigit())
    return total or None


@dataclass(frozen=True)
class _Line:
    base: str
    state: str
    started: datetime | None
    submitted: datetime | None
    reason: str


def parse_squeue(job_ids: Sequence[str], exit_code: int, output: str) -> QueueState:
    """What `squeue_argv(job_ids)` answered (stdout and stderr together) says about the job.

    The job is alive while any of its arrays is; it ended (or is gone) when all of them have.
    """
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    if exit_code != 0:
        if any(INVALID_JOB_ID in line for line in lines):
            return QueueState(InQueue.GONE)  # squeue says so for a single unknown id
        return QueueState(InQueue.UNKNOWN, detail=f"squeue exited with {exit_code}: {_excerpt(lines)}")
    task = re.compile(rf"({'|'.join(map(re.escape, job_ids))})(?:_(?:[0-9]+|\[[0-9,%\-]+\]))?")
    rows = []
    for line in lines:
        fields = line.split(maxsplit=4)
        match = task.fullmatch(fields[0]) if fields else None
        if len(fields) != 5 or match is None:
            return QueueState(InQueue.UNKNOWN, detail=f"unexpected squeue output: {line!r}")
        rows.append(_Line(match.group(1), fields[1], _time(fields[2]), _time(fields[3]), fields[4]))
    unknown = [row.state for row in rows if row.state not in ALIVE_STATES | TERMINAL_STATES]
    if unknown:
        return QueueState(InQueue.UNKNOWN, detail=f"unknown Slurm state {unknown[0]}")
    started = min((row.started for row in rows if row.state != "PENDING" and row.started), default=None)
    alive = [row for row in rows if row.state in ALIVE_STATES]
    if alive:
        states = [row.state for row in alive]
        state = "RUNNING" if "RUNNING" in states else states[0]
        return QueueState(InQueue.ALIVE, state, started_at=started, pending=_pending(alive))
    if not rows:
        return QueueState(InQueue.GONE)
    worst = min((row.state for row in rows), key=_SEVERITY.index)
    if worst == "COMPLETED" and {row.base for row in rows} != set(job_ids):
        # Some arrays left the queue: how they ended is not known.
        return QueueState(InQueue.GONE, started_at=started)
    return QueueState(InQueue.ENDED, worst, started_at=started)


def _pending(alive: list[_Line]) -> Pending | None:
    """Pending when nothing alive runs: the reason of the earliest submitted line."""
    if any(row.state != "PENDING" for row in alive):
        return None
    first = min(alive, key=lambda row: row.submitted or datetime.max.replace(tzinfo=timezone.utc))
    reason = first.reason.strip("()")
    return Pending(reason, first.submitted, never_starts=reason == NEVER_STARTS)


def _time(text: str) -> datetime | None:
    """A squeue time in UTC; None for N/A, Unknown or anything else."""
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def _excerpt(lines: list[str]) -> str:
    text = " / ".join(lines)
    return text if len(text) <= 200 else text[:197] + "..."
