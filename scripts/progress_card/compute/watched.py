"""What the compute wing needs to know of a job: where to look. A manifest job is one."""

from __future__ import annotations

from typing import Protocol

from .hf_jobs.target import HfJobs
from .slurm.login import Login


class Watched(Protocol):
    """Where a job's scheduler and its datatrove files are: a manifest job is one."""

    @property
    def name(self) -> str: ...
    @property
    def slurm_job_ids(self) -> tuple[str, ...]: ...
    @property
    def hf_jobs(self) -> HfJobs | None: ...
    @property
    def stats_path(self) -> str | None: ...
    @property
    def logging_dir(self) -> str | None: ...
    @property
    def login(self) -> Login | None: ...
