"""Following a job on Hugging Face Jobs: its Jobs, read once a run, made into its state; and, when it
ended without finishing, the last lines of the logs of the Jobs that failed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ...model import Tail
from ..schedule import JobState, Liveness, Part
from .client import JobsClient, JobsUnreadable
from .rule import jobs_state
from .target import HfJobs


class JobsFollower:
    """Asks the Hub about each job's Jobs; `launch_time(logging_dir)` says when a logging folder's
    executor.json was last written (read only while Jobs are live, to tell launches apart)."""

    def __init__(self, client: JobsClient, launch_time: Callable[[str], datetime | None]) -> None:
        self._client = client
        self._launch_time = launch_time

    def state(self, target: HfJobs, logging_dir: str | None) -> JobState:
        try:
            found = self._client.find(target)
        except JobsUnreadable as error:
            where = target.namespace or "the token's namespace"
            return JobState(Liveness.UNKNOWN, target.describe(where), target.plural, detail=str(error))
        folder = logging_dir.rstrip("/") if logging_dir is not None else None
        launched_at = (
            self._launch_time(folder) if folder is not None and any(job.live for job in found.jobs) else None
        )
        pipeline = f"{folder}/executor.pik" if folder is not None else None
        return jobs_state(found, self._client.prices(), pipeline, launched_at)

    def tails(self, target: HfJobs, parts: tuple[Part, ...]) -> tuple[Tail, ...]:
        try:
            namespace = self._client.namespace(target)
        except JobsUnreadable:
            return ()
        return tuple(tail for part in parts if (tail := self._client.tail(namespace, part)) is not None)
