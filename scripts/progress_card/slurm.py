"""Asking Slurm about a job: the `squeue` command line, and what its answer means. Pure functions.

The answer has three values that matter: the job is alive, it is gone (finished one way or
another), or we cannot tell. Only a clear "gone" may finish a job; anything unexpected is unknown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum

# `%i` is the job id (array tasks as 123_4 or 123_[5-9%2]), `%T` the state in full, `%S` when the
# task started (for a pending one: when Slurm expects it to, or N/A).
SQUEUE_FORMAT = "%i %T %S"
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
_JOB_ID = re.compile(r"[0-9]+")


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


def valid_job_id(job_id: str) -> bool:
    """Only digits reach the remote shell (an array is followed through its base id)."""
    return bool(_JOB_ID.fullmatch(job_id))


def squeue_argv(job_id: str) -> list[str]:
    """`squeue` for one job in every state, no header, in SQUEUE_FORMAT, times in UTC.
    `--jobs=` because `-j`'s argument is optional."""
    if not valid_job_id(job_id):
        raise ValueError(f"not a Slurm job id: {job_id!r}")
    return [
        "env",
        *SQUEUE_ENVIRONMENT,
        "squeue",
        "--noheader",
        "--states=all",
        f"--format={SQUEUE_FORMAT}",
        f"--jobs={job_id}",
    ]


def parse_squeue(job_id: str, exit_code: int, output: str) -> JobState:
    """What `squeue_argv(job_id)` answered (stdout and stderr together) says about the job."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    if exit_code != 0:
        if any(INVALID_JOB_ID in line for line in lines):
            return JobState(Liveness.GONE)
        return JobState(Liveness.UNKNOWN, detail=f"squeue exited with {exit_code}: {_excerpt(lines)}")
    if not lines:
        return JobState(Liveness.GONE)
    task = re.compile(rf"{re.escape(job_id)}(?:_(?:[0-9]+|\[[0-9,%\-]+\]))?")
    states = []
    starts = []
    for line in lines:
        fields = line.split()
        if len(fields) != 3 or not task.fullmatch(fields[0]):
            return JobState(Liveness.UNKNOWN, detail=f"unexpected squeue output: {line!r}")
        states.append(fields[1])
        if fields[1] != "PENDING" and (start := _start_time(fields[2])) is not None:
            starts.append(start)
    unknown = [state for state in states if state not in ALIVE_STATES | TERMINAL_STATES]
    if unknown:
        return JobState(Liveness.UNKNOWN, detail=f"unknown Slurm state {unknown[0]}")
    started = min(starts, default=None)
    alive = [state for state in states if state in ALIVE_STATES]
    if alive:
        return JobState(Liveness.ALIVE, "RUNNING" if "RUNNING" in alive else alive[0], started_at=started)
    worst = min(states, key=_SEVERITY.index)
    return JobState(Liveness.ENDED, worst, started_at=started)


def _start_time(text: str) -> datetime | None:
    """squeue's `%S` in UTC; None for N/A, Unknown or anything else."""
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def _excerpt(lines: list[str]) -> str:
    text = " / ".join(lines)
    return text if len(text) <= 200 else text[:197] + "..."
