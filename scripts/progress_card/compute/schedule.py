"""What a job's scheduler says of it, in one shape whatever the scheduler: Slurm's queue and accounts,
or Hugging Face Jobs. The backends fill it in; the rule (`verdicts.decide`) reads only this."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from ..model import Pending, Spend


class Liveness(Enum):
    ALIVE = "alive"
    """Something of the job is queued or running."""
    ENDED = "ended"
    """Every part of the job is in a final state, or the scheduler no longer shows it."""
    UNKNOWN = "unknown"
    """The scheduler could not be asked, or answered something unexpected."""


@dataclass(frozen=True)
class Part:
    """A part of a job whose log is worth quoting (a Hugging Face Job that failed)."""

    id: str
    label: str
    """How messages name it: `Job 6878… (array index 3, ERROR)`."""


@dataclass(frozen=True)
class JobState:
    liveness: Liveness
    who: str
    """How messages name what runs the job: `Slurm job 123`, `the Jobs labelled datatrove_job_name=gen
    in acme`."""
    plural: bool = False
    """`who` names several: `are`, not `is`."""
    how: str = ""
    """How it ended, in words, once it has: `Slurm job 123 ended (FAILED)`."""
    detail: str = ""
    """Why the answer is unknown."""
    started_at: datetime | None = None
    """When its first part started running (None while every part waits, or when not said)."""
    pending: Pending | None = None
    """Set while the job is alive and nothing of it runs."""
    completed: bool = False
    """It ended and the scheduler says every part succeeded."""
    failure: bool = False
    """It ended and a part failed (FAILED, OUT_OF_MEMORY, ERROR...), rather than being stopped."""
    unknown: str | None = None
    """The scheduler knows nothing of the job, and why that is likelier a mistake than a job that
    ended: nothing may be marked finished."""
    retrying: tuple[int, ...] = ()
    """Parts that failed and run again (Hugging Face Jobs: datatrove's retries, by array index)."""
    stale: tuple[str, ...] = ()
    """Parts of an earlier launch still queued or running beside the current one."""
    spend: Spend | None = None
    """What the job's compute has used so far, when the scheduler accounts it."""
    failed: tuple[Part, ...] = ()
    """The parts whose logs say why the job ended without finishing."""
    warnings: tuple[str, ...] = ()
    """What the scheduler's answer showed wrong beside the job's state (an unknown price...)."""
    shown: frozenset[str] = frozenset()
    """The job ids the scheduler shows now (Slurm's queue): only those may later be found gone."""

    @property
    def alive(self) -> bool:
        return self.liveness is Liveness.ALIVE
