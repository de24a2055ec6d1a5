"""Hugging Face Jobs through the run's Hub client, with its token, timeout, retries and rate limits:
the token's namespace, a job's Jobs (one listing per followed name, however many Jobs), the prices
(once a run), and the last lines of a Job's log. Every failure comes back as a message to show,
never as an exception that would stop the other jobs' updates."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Protocol, TypeVar

from huggingface_hub import HfApi, JobInfo
from huggingface_hub.errors import HfHubHTTPError, JobNotFoundError

from ...errors import QuotaSpent, Retryable, Stopped
from ...model import Tail
from ..logging_folder import TAIL_LINES
from ..schedule import Part
from .rule import Found, JobRecord, Prices
from .target import INDEX_LABEL, NAME_LABEL, HfJobs

T = TypeVar("T")
_PER_HOUR = {"second": 3600.0, "minute": 60.0, "hour": 1.0}
"""Hours in each unit the hardware list prices a flavor by."""


class HubCalls(Protocol):
    """What the Jobs client needs of the run's Hub client (`storage.hub.HubClient` is one)."""

    @property
    def api(self) -> HfApi: ...
    @property
    def endpoint(self) -> str: ...
    def call(self, what: str, function: Callable[[], T]) -> T: ...


class JobsUnreadable(Exception):
    """The Jobs could not be read; the message says why and what to do."""


class JobsClient:
    """Asks the Hub about Jobs; the token's user and the prices are asked at most once (one client a run)."""

    def __init__(self, hub: HubCalls) -> None:
        self._hub = hub
        self._user: str | None = None
        self._prices: Prices | None = None

    def namespace(self, target: HfJobs) -> str:
        """The namespace of the job's Jobs: jobs.yaml's, or else the token's user."""
        if target.namespace is not None:
            return target.namespace
        if self._user is None:
            info = self._ask("asking the Hub whose token this is", lambda: self._hub.api.whoami(), "")
            self._user = str(info["name"])
        return self._user

    def find(self, target: HfJobs) -> Found:
        """The job's Jobs: one listing by datatrove's label, or each Job given by id."""
        namespace = self.namespace(target)
        api = self._hub.api
        name = target.name
        if name is not None:
            listed = self._ask(
                f"listing the Jobs labelled {NAME_LABEL}={name} in {namespace}",
                lambda: list(api.list_jobs(labels={NAME_LABEL: name}, namespace=namespace)),
                namespace,
            )
            return Found(target, namespace, tuple(_record(job) for job in listed))
        jobs: list[JobInfo] = []
        missing: list[str] = []
        for job_id in target.ids:

            def inspect(job_id: str = job_id) -> JobInfo:
                return api.inspect_job(job_id=job_id, namespace=namespace)

            try:
                jobs.append(self._ask(f"reading Job {job_id} in {namespace}", inspect, namespace))
            except _NotFound:
                missing.append(job_id)
        return Found(target, namespace, tuple(_record(job) for job in jobs), tuple(missing))

    def prices(self) -> Prices:
        """Each flavor's price an hour, from the Hub's hardware list (read once a run)."""
        if self._prices is None:
            try:
                table = self._ask(
                    "reading the Jobs hardware list", lambda: self._hub.api.list_jobs_hardware(), ""
                )
            except JobsUnreadable as error:
                self._prices = Prices(problem=str(error))
            else:
                self._prices = Prices(
                    {
                        hardware.name: hardware.unit_cost_usd * _PER_HOUR[hardware.unit_label]
                        for hardware in table
                        if hardware.unit_label in _PER_HOUR and hardware.unit_cost_usd is not None
                    }
                )
        return self._prices

    def tail(self, namespace: str, part: Part) -> Tail | None:
        """The last lines of a Job's log (None when they cannot be read: no reason to fail the job)."""
        try:
            lines = self._ask(
                f"reading the log of Job {part.id}",
                lambda: list(
                    self._hub.api.fetch_job_logs(job_id=part.id, namespace=namespace, tail=TAIL_LINES)
                ),
                namespace,
            )
        except (JobsUnreadable, _NotFound):
            return None
        text = "\n".join(line.rstrip("\n") for line in lines[-TAIL_LINES:])
        return Tail(part.id, part.label, text) if text.strip() else None

    def _ask(self, what: str, function: Callable[[], T], namespace: str) -> T:
        try:
            return self._hub.call(what, function)
        except JobNotFoundError:
            raise _NotFound(what) from None
        except HfHubHTTPError as error:
            status = error.response.status_code if error.response is not None else None
            raise JobsUnreadable(f"{what}: {_explain(status, namespace, error)}") from None
        except (Retryable, QuotaSpent, Stopped) as error:
            raise JobsUnreadable(f"{what}: {error}") from None
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise JobsUnreadable(f"{what}: {type(error).__name__}: {error}") from None


class _NotFound(Exception):
    """A Job id the namespace does not know."""


def _explain(status: int | None, namespace: str, error: HfHubHTTPError) -> str:
    if status == 401:
        return (
            "the Hub refused the token (401): set HF_TOKEN to a token that may read Jobs "
            "(the workflow's HF_TOKEN secret)"
        )
    if status == 403:
        return (
            f"the token may not read the Jobs of {namespace} (403): use a token of a member of {namespace} "
            "with read access, or set hf_jobs: namespace to the namespace the Jobs run in"
        )
    first = str(error).splitlines()[0] if str(error) else type(error).__name__
    return first


def _record(job: JobInfo) -> JobRecord:
    """Our view of a `huggingface_hub` JobInfo."""
    labels = job.labels or {}
    index = labels.get(INDEX_LABEL)
    command = list(job.command or []) + list(job.arguments or [])
    pipeline = command[-1] if command and str(command[-1]).endswith("/executor.pik") else None
    durations = getattr(job, "durations", None)
    return JobRecord(
        id=str(job.id),
        stage=str(getattr(job.status.stage, "value", job.status.stage)) if job.status else "UNKNOWN",
        message=job.status.message if job.status else None,
        array_index=int(index) if isinstance(index, str) and index.isdigit() else None,
        created_at=_aware(job.created_at),
        started_at=_aware(getattr(job, "started_at", None)),
        running_secs=durations.running_secs if durations is not None else None,
        flavor=str(job.flavor) if job.flavor else None,
        pipeline=str(pipeline) if pipeline else None,
    )


def _aware(moment: datetime | None) -> datetime | None:
    """The Hub's times are UTC."""
    return moment if moment is None or moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
