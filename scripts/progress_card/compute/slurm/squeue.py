"""Asking Slurm about a job: the `squeue` command line, and what its answer means. Pure functions.

The answer has three values that matter: the job is alive, it is gone (finished one way or
another), or we cannot tell. Only a clear "gone" may finish a job; anything unexpected is unknown.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum

from ...model import Pending
from ...schema import pattern

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


class Liveness(Enum):
    ALIVE = "alive"
    ENDED = "ended"
    """In the queue, every task in a terminal state."""
    GONE = "gone"
    """No longer known to squeue."""
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class JobState:
    liveness: Liveness
    state: str | None = None
    """The Slurm state when one was seen: RUNNING for an alive job, the worst task state for an ended one."""
    detail: str = ""
    """Why the answer is unknown."""
    started_at: datetime | None = None
    """When its first task started running (None while every task is pending, or when not said)."""
    pending: Pending | None = None
    """Set while the job is alive and nothing of it runs."""


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
    """`sacct` for how the job's arrays ended, from Slurm's accounts: one line per array task."""
    return [
        "env",
        *SQUEUE_ENVIRONMENT,
        "sacct",
        "--noheader",
        "--parsable2",
        "--allocations",
        "--format=JobID,State",
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


def parse_sacct(job_ids: Sequence[str], output: str) -> str | None:
    """How Slurm's accounts say the job ended: the worst state of its tasks, when every one of them has
    ended (None when the accounts do not know the job, or some of it still runs)."""
    task = re.compile(rf"({'|'.join(map(re.escape, job_ids))})(?:_(?:[0-9]+|\[[0-9,%\-]+\]))?")
    states = []
    for line in output.splitlines():
        job, _, state = line.strip().partition("|")
        if task.fullmatch(job) and state:
            states.append(state.split()[0].rstrip("+"))
    if not states or any(state not in TERMINAL_STATES for state in states):
        return None
    return min(states, key=_SEVERITY.index)


@dataclass(frozen=True)
class _Line:
    base: str
    state: str
    started: datetime | None
    submitted: datetime | None
    reason: str


def parse_squeue(job_ids: Sequence[str], exit_code: int, output: str) -> JobState:
    """What `squeue_argv(job_ids)` answered (stdout and stderr together) says about the job.

    The job is alive while any of its arrays is; it ended (or is gone) when all of them have.
    """
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    if exit_code != 0:
        if any(INVALID_JOB_ID in line for line in lines):
            return JobState(Liveness.GONE)  # squeue says so for a single unknown id
        return JobState(Liveness.UNKNOWN, detail=f"squeue exited with {exit_code}: {_excerpt(lines)}")
    task = re.compile(rf"({'|'.join(map(re.escape, job_ids))})(?:_(?:[0-9]+|\[[0-9,%\-]+\]))?")
    rows = []
    for line in lines:
        fields = line.split(maxsplit=4)
        match = task.fullmatch(fields[0]) if fields else None
        if len(fields) != 5 or match is None:
            return JobState(Liveness.UNKNOWN, detail=f"unexpected squeue output: {line!r}")
        rows.append(_Line(match.group(1), fields[1], _time(fields[2]), _time(fields[3]), fields[4]))
    unknown = [row.state for row in rows if row.state not in ALIVE_STATES | TERMINAL_STATES]
    if unknown:
        return JobState(Liveness.UNKNOWN, detail=f"unknown Slurm state {unknown[0]}")
    started = min((row.started for row in rows if row.state != "PENDING" and row.started), default=None)
    alive = [row for row in rows if row.state in ALIVE_STATES]
    if alive:
        states = [row.state for row in alive]
        state = "RUNNING" if "RUNNING" in states else states[0]
        return JobState(Liveness.ALIVE, state, started_at=started, pending=_pending(alive))
    if not rows:
        return JobState(Liveness.GONE)
    worst = min((row.state for row in rows), key=_SEVERITY.index)
    if worst == "COMPLETED" and {row.base for row in rows} != set(job_ids):
        return JobState(
            Liveness.GONE, started_at=started
        )  # some arrays left the queue: how they ended is not known
    return JobState(Liveness.ENDED, worst, started_at=started)


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
