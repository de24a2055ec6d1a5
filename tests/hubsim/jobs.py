"""Hugging Face Jobs in memory: per-namespace Jobs with their logs, the hardware table, and who may read what.

Times are epoch nanoseconds throughout (``HubSim`` converts what tests give it). A Job's durations
are computed when it is served, the way the Hub recomputes them on each request while a Job runs:

- ``schedulingSecs``: ``startedAt - createdAt``, absent while the Job has not started;
- ``runningSecs``: the ``running_secs`` a test set, else ``(finishedAt or now) - startedAt``, absent
  while the Job has not started;
- ``totalSecs``: ``(finishedAt or now) - createdAt``.

``now`` is ``JobStore.clock()`` (``time.time`` unless a test replaces it), which also dates Jobs and
log lines added without a time.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

from .gitids import derive_id

STAGES = ("SCHEDULING", "RUNNING", "COMPLETED", "ERROR", "CANCELED", "DELETED")
TERMINAL_STAGES = frozenset(("COMPLETED", "ERROR", "CANCELED", "DELETED"))
#: Jobs per page of ``GET /api/jobs/{namespace}`` (``HubSim.jobs_page_size`` lowers it to test paging).
JOBS_PAGE_SIZE = 1000
#: What ``run_uv_job`` (and so datatrove's ``JobsPipelineExecutor``) runs on: the client's default uv image.
DEFAULT_IMAGE = "ghcr.io/astral-sh/uv:python3.12-bookworm"
DEFAULT_USER = "hubsim-user"


@dataclass(frozen=True)
class Accelerator:
    """A flavor's GPUs, as ``JobAccelerator`` parses them (every field is required by the client)."""

    model: str
    quantity: str
    vram: str
    manufacturer: str = "Nvidia"
    type: str = "gpu"

    def to_json(self) -> dict[str, str]:
        """The ``accelerator`` object of a hardware entry."""
        return {
            "type": self.type,
            "model": self.model,
            "quantity": self.quantity,
            "vram": self.vram,
            "manufacturer": self.manufacturer,
        }


@dataclass(frozen=True)
class Flavor:
    """One entry of ``GET /api/jobs/hardware``; the price is in micro-dollars per ``unit_label``."""

    name: str
    pretty_name: str
    cpu: str
    ram: str
    unit_cost_micro_usd: int
    accelerator: Accelerator | None = None
    ephemeral_storage: str = "50 GB"
    unit_label: str = "minute"

    def to_json(self) -> dict[str, object]:
        """The entry as the Hub lists it (camelCase; ``unitCostUSD`` derived from the micro-dollars)."""
        return {
            "name": self.name,
            "prettyName": self.pretty_name,
            "cpu": self.cpu,
            "ram": self.ram,
            "ephemeralStorage": self.ephemeral_storage,
            "accelerator": None if self.accelerator is None else self.accelerator.to_json(),
            "unitCostMicroUSD": self.unit_cost_micro_usd,
            "unitCostUSD": self.unit_cost_micro_usd / 1_000_000,
            "unitLabel": self.unit_label,
        }


def _gpu(model: str, vram: str, quantity: str = "1") -> Accelerator:
    return Accelerator(model=model, quantity=quantity, vram=vram)


#: The Hub's public hourly prices divided by 60 (e.g. a100-large $2.50/h -> 41,667 micro-dollars a minute).
DEFAULT_HARDWARE: tuple[Flavor, ...] = (
    Flavor("cpu-basic", "CPU Basic", "2 vCPU", "16 GB", 167, ephemeral_storage="20 GB"),
    Flavor("cpu-upgrade", "CPU Upgrade", "8 vCPU", "32 GB", 500, ephemeral_storage="20 GB"),
    Flavor("t4-small", "Nvidia T4 - small", "4 vCPU", "15 GB", 6_667, _gpu("T4", "16 GB")),
    Flavor("t4-medium", "Nvidia T4 - medium", "8 vCPU", "30 GB", 10_000, _gpu("T4", "16 GB")),
    Flavor("l4x1", "1x Nvidia L4", "8 vCPU", "30 GB", 13_333, _gpu("L4", "24 GB")),
    Flavor("a10g-small", "Nvidia A10G - small", "4 vCPU", "15 GB", 16_667, _gpu("A10G", "24 GB")),
    Flavor("a10g-large", "Nvidia A10G - large", "12 vCPU", "46 GB", 25_000, _gpu("A10G", "24 GB")),
    Flavor("a100-large", "Nvidia A100 - large", "12 vCPU", "142 GB", 41_667, _gpu("A100", "80 GB")),
    Flavor("h200", "1x Nvidia H200", "23 vCPU", "256 GB", 83_333, _gpu("H200", "141 GB")),
)


@dataclass(frozen=True)
class LogLine:
    """One line of a Job's log and when it was written."""

    at_ns: int
    text: str


@dataclass(frozen=True)
class Job:
    """A Job as the simulator holds it (immutable: every change stores a new one)."""

    id: str
    namespace: str
    labels: Mapping[str, str]
    flavor: str
    stage: str
    message: str | None
    created_ns: int
    started_ns: int | None = None
    finished_ns: int | None = None
    running_secs: int | None = None  # reported as is when set, else computed
    docker_image: str = DEFAULT_IMAGE
    command: tuple[str, ...] = ("uv", "run", "job.py")
    logs: tuple[LogLine, ...] = ()
    seq: int = 0  # order of addition, set by the store: breaks ties between Jobs created at the same time

    @property
    def sort_key(self) -> tuple[int, int]:
        """Listings are newest first: by ``(created, order of addition)`` descending."""
        return (self.created_ns, self.seq)


@dataclass(frozen=True)
class User:
    """Who a token belongs to, as ``/api/whoami-v2`` tells it; ``orgs`` are namespaces it may also read."""

    name: str
    orgs: tuple[str, ...] = ()


def check_stage(stage: str) -> str:
    """``stage`` if it is one of the Hub's six, else ValueError."""
    if stage not in STAGES:
        raise ValueError(f"Unknown Job stage {stage!r}: expected one of {', '.join(STAGES)}")
    return stage


def check_labels(labels: Mapping[str, str]) -> dict[str, str]:
    """A copy of ``labels`` once every key and value is a string (keys non-empty, without ``=``)."""
    out: dict[str, str] = {}
    for key, value in labels.items():
        if not isinstance(key, str) or not key or "=" in key or not isinstance(value, str):
            raise ValueError(
                f"Job labels are str -> str, keys non-empty and without '=': got {key!r}: {value!r}"
            )
        out[key] = value
    return out


def _secs(start_ns: int, end_ns: int) -> int:
    return max(0, (end_ns - start_ns) // 1_000_000_000)


class JobStore:
    """Jobs per namespace, the hardware table, users and denied namespaces; thread-safe.

    ``clock`` (``time.time`` by default) may be replaced by a test to move time along.
    """

    def __init__(self) -> None:
        self.clock: Callable[[], float] = time.time
        self._lock = threading.Lock()
        self._jobs: dict[str, dict[str, Job]] = {}  # namespace -> id -> Job
        self._hardware: tuple[Flavor, ...] = DEFAULT_HARDWARE
        self._default_user = User(DEFAULT_USER)
        self._users: dict[str, User] = {}  # token -> User
        self._denied: set[str] = set()
        self._counter = itertools.count(int.from_bytes(os.urandom(3), "big"))
        self._seq = itertools.count(1)

    def reset(self) -> None:
        """No Jobs, the default hardware and user, nothing denied, the real clock."""
        with self._lock:
            self._jobs.clear()
            self._hardware = DEFAULT_HARDWARE
            self._default_user = User(DEFAULT_USER)
            self._users.clear()
            self._denied.clear()
            self.clock = time.time

    def now_ns(self) -> int:
        """The clock's now, in nanoseconds."""
        return round(self.clock() * 1e6) * 1000

    # -- Jobs ----------------------------------------------------------------------------------

    def new_id(self, created_ns: int) -> str:
        """24 hex digits like the Hub's (Mongo ObjectId) ids: creation seconds, 5 random bytes, a counter."""
        counter = next(self._counter) & 0xFFFFFF
        seconds = (created_ns // 1_000_000_000) & 0xFFFFFFFF
        return f"{seconds:08x}{os.urandom(5).hex()}{counter:06x}"

    def add(self, job: Job) -> Job:
        """Store a new Job (ValueError if its id is taken in its namespace)."""
        with self._lock:
            jobs = self._jobs.setdefault(job.namespace, {})
            if job.id in jobs:
                raise ValueError(f"Job {job.id} already exists in {job.namespace}")
            job = jobs[job.id] = replace(job, seq=next(self._seq))
            return job

    def get(self, namespace: str, job_id: str) -> Job | None:
        """The Job, None if the namespace has no Job with this id."""
        with self._lock:
            return self._jobs.get(namespace, {}).get(job_id)

    def existing(self, namespace: str, job_id: str) -> Job:
        """The Job, KeyError if there is none (for test-side helpers)."""
        job = self.get(namespace, job_id)
        if job is None:
            raise KeyError(f"No Job {job_id} in namespace {namespace}")
        return job

    def update(self, namespace: str, job_id: str, change: Callable[[Job], Job]) -> Job:
        """Replace a Job by ``change(job)`` atomically; KeyError if it is missing."""
        with self._lock:
            jobs = self._jobs.get(namespace, {})
            if job_id not in jobs:
                raise KeyError(f"No Job {job_id} in namespace {namespace}")
            job = jobs[job_id] = change(jobs[job_id])
            return job

    def append_logs(self, namespace: str, job_id: str, lines: Iterable[str], at_ns: int | None) -> Job:
        """Append log lines dated ``at_ns`` (default: the clock's now)."""
        stamp = self.now_ns() if at_ns is None else at_ns
        new = tuple(LogLine(stamp, line) for line in lines)
        return self.update(namespace, job_id, lambda job: replace(job, logs=job.logs + new))

    def listing(self, namespace: str) -> list[Job]:
        """The namespace's Jobs, newest first."""
        with self._lock:
            jobs = list(self._jobs.get(namespace, {}).values())
        jobs.sort(key=lambda j: j.sort_key, reverse=True)
        return jobs

    def has_namespace(self, namespace: str) -> bool:
        """Whether a Job was ever added to ``namespace``."""
        with self._lock:
            return namespace in self._jobs

    def durations(self, job: Job) -> dict[str, int]:
        """``schedulingSecs``/``runningSecs``/``totalSecs`` now (absent keys: not applicable yet)."""
        end = job.finished_ns if job.finished_ns is not None else self.now_ns()
        out = {"totalSecs": _secs(job.created_ns, end)}
        if job.started_ns is not None:
            out["schedulingSecs"] = _secs(job.created_ns, job.started_ns)
            out["runningSecs"] = _secs(job.started_ns, end)
        if job.running_secs is not None:
            out["runningSecs"] = job.running_secs
        return out

    # -- hardware ------------------------------------------------------------------------------

    @property
    def hardware(self) -> tuple[Flavor, ...]:
        """The hardware table served."""
        with self._lock:
            return self._hardware

    def set_hardware(self, flavors: Iterable[Flavor]) -> None:
        """Serve these flavors (in this order)."""
        table = tuple(flavors)
        if not all(isinstance(f, Flavor) for f in table):
            raise TypeError("set_hardware takes Flavor entries")
        with self._lock:
            self._hardware = table

    # -- users and access ----------------------------------------------------------------------

    def set_user(self, user: User, token: str | None) -> None:
        """``user`` for ``token``, or for every token without a user of its own when ``token`` is None."""
        with self._lock:
            if token is None:
                self._default_user = user
            else:
                self._users[token] = user

    def user(self, token: str) -> User:
        """The user a (non-empty) bearer token belongs to."""
        with self._lock:
            return self._users.get(token, self._default_user)

    def is_user_name(self, name: str) -> bool:
        """Whether ``name`` is a configured user (a Job owned by it is a user's, else an org's)."""
        with self._lock:
            return name == self._default_user.name or any(u.name == name for u in self._users.values())

    def deny(self, namespace: str) -> None:
        """Every token is refused (403) the Jobs of ``namespace``."""
        with self._lock:
            self._denied.add(namespace)

    def allow(self, namespace: str) -> None:
        """Undo ``deny``."""
        with self._lock:
            self._denied.discard(namespace)

    def is_denied(self, namespace: str) -> bool:
        """Whether ``deny(namespace)`` is in force."""
        with self._lock:
            return namespace in self._denied


def owner_id(name: str) -> str:
    """A stable 24-hex id for a user or organisation name."""
    return derive_id("owner", name)[:24]
