"""What a job's Hugging Face Jobs say of it, and what they cost: the pure rule. The same rule read
through the real client and the Hub simulator is in tests/integration/test_hf_jobs.py."""

from datetime import datetime, timedelta, timezone

import pytest

from progress_card.compute.hf_jobs import HfJobs, JobRecord, Prices, jobs_state
from progress_card.compute.hf_jobs.rule import Found
from progress_card.compute.schedule import Liveness
from progress_card.model import SpendUnit

T0 = datetime(2026, 12, 5, 8, tzinfo=timezone.utc)
GEN = HfJobs(name="gen", namespace="acme")
PRICES = Prices({"a100-large": 2.5, "h200": 5.0})
PIK = "hf://buckets/acme/logs/gen/executor.pik"


def job(job_id: str, stage: str, index: int | None, minutes: int = 0, **fields: object) -> JobRecord:
    """A Job of the pipeline, created `minutes` after T0."""
    values: dict[str, object] = {"flavor": "a100-large", "pipeline": PIK, **fields}
    return JobRecord(job_id, stage, array_index=index, created_at=T0 + timedelta(minutes=minutes), **values)  # type: ignore[arg-type]


def state(*jobs: JobRecord, launched_at: datetime | None = None, prices: Prices = PRICES):
    return jobs_state(Found(GEN, "acme", jobs), prices, PIK, launched_at)


def test_every_job_scheduling_is_pending_with_the_first_ones_message() -> None:
    waiting = state(job("a", "SCHEDULING", 0, message="Waiting for capacity"), job("b", "SCHEDULING", 1, 5))
    assert waiting.alive and waiting.pending is not None
    assert (waiting.pending.reason, waiting.pending.since) == ("scheduling: Waiting for capacity", T0)
    assert state(job("a", "SCHEDULING", 0), job("b", "RUNNING", 1)).pending is None


def test_a_failed_index_running_again_is_retrying_and_a_retry_is_not_a_second_launch() -> None:
    retried = state(job("a", "ERROR", 3), job("b", "RUNNING", 3, 30), job("c", "RUNNING", 4))
    assert retried.alive and retried.retrying == (3,) and retried.stale == ()


def test_two_live_jobs_of_one_index_or_a_live_job_older_than_the_launch_are_stale() -> None:
    by_index = state(job("old", "RUNNING", 0), job("new", "RUNNING", 0, 60), job("x", "RUNNING", 1, 60))
    assert by_index.stale == ("old",)
    by_time = state(
        job("old", "RUNNING", 5), job("new", "RUNNING", 0, 60), launched_at=T0 + timedelta(minutes=50)
    )
    assert by_time.stale == ("old",)
    ended_before = state(
        job("old", "COMPLETED", 5), job("new", "RUNNING", 0, 60), launched_at=T0 + timedelta(minutes=50)
    )
    assert ended_before.stale == ()  # only live Jobs can do harm


def test_how_the_jobs_ended_reads_the_last_attempt_of_each_index() -> None:
    ended = state(
        job("a", "COMPLETED", 0), job("b", "ERROR", 1), job("c", "COMPLETED", 1, 30), job("d", "ERROR", 2),
        job("e", "CANCELED", 3),
    )  # fmt: skip
    assert ended.liveness is Liveness.ENDED and ended.failure and not ended.completed
    assert ended.how == (
        "the Jobs labelled datatrove_job_name=gen in acme ended: 2 COMPLETED, 1 CANCELED (array index 3), "
        "1 ERROR (array index 2)"
    )
    assert [part.id for part in ended.failed] == ["d", "e"]  # the errors first, then the others
    done = state(job("a", "COMPLETED", 0), job("b", "COMPLETED", 1))
    assert done.completed and not done.failure and done.failed == ()
    stopped = state(job("a", "COMPLETED", 0), job("b", "DELETED", 1))
    assert not stopped.completed and not stopped.failure


def test_the_cost_is_each_jobs_running_time_at_its_flavors_price() -> None:
    costed = state(
        job("a", "COMPLETED", 0, running_secs=3600),
        job("b", "RUNNING", 1, running_secs=1800, flavor="h200"),
        job("c", "SCHEDULING", 2),
    )
    assert costed.spend is not None
    assert (costed.spend.so_far, costed.spend.per_hour, costed.spend.unit) == (2.5 + 2.5, 5.0, SpendUnit.USD)


@pytest.mark.parametrize(
    ("prices", "warning"),
    [
        (Prices({"h200": 5.0}), "flavor a100-large is not in the Hub's hardware list"),
        (Prices(problem="reading the Jobs hardware list: 503"), "what the Jobs cost is not shown: reading"),
    ],
)
def test_a_price_unknown_shows_no_cost_and_says_why(prices: Prices, warning: str) -> None:
    unknown = state(job("a", "RUNNING", 0, running_secs=60), prices=prices)
    assert unknown.spend is None and unknown.warnings[0].startswith(warning)


def test_jobs_of_another_pipeline_are_left_out_and_nothing_left_is_unknown_never_ended() -> None:
    other = state(job("a", "RUNNING", 0, pipeline="hf://buckets/team/logs/gen/executor.pik"))
    assert other.unknown is not None and other.unknown.startswith(
        "no Jobs labelled datatrove_job_name=gen in acme"
    )
    assert other.warnings[0].startswith(
        "1 of the Jobs labelled datatrove_job_name=gen in acme run another pipeline"
    )
    assert not other.completed and not other.failure
