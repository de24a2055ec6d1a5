from collections.abc import Callable
from dataclasses import replace

import pytest

from progress_card.errors import JobError, RateLimited, Retryable
from progress_card.storage.quota import retry_after
from progress_card.storage.transport import RetryPolicy, retrying


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now


def failing(times: int, wait: float | None = None) -> tuple[list[int], Callable[[], str]]:
    calls: list[int] = []

    def attempt() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise Retryable("reading x: the Hub answered 503", wait)
        return "ok"

    return calls, attempt


def test_success_needs_no_wait() -> None:
    clock = Clock()
    _calls, attempt = failing(0)
    assert retrying("x", attempt, RetryPolicy(sleep=clock.sleep, clock=clock)) == "ok"
    assert clock.sleeps == []


def test_backoff_doubles_and_is_capped() -> None:
    clock = Clock()
    calls, attempt = failing(5)
    policy = RetryPolicy(attempts=6, first_wait=1.0, max_wait=5.0, total_seconds=1000)
    assert retrying("x", attempt, replace(policy, sleep=clock.sleep, clock=clock)) == "ok"
    assert len(calls) == 6
    assert [int(s) for s in clock.sleeps] == [1, 2, 4, 5, 5]


def test_retry_after_is_the_wait_when_given() -> None:
    clock = Clock()
    _calls, attempt = failing(2, wait=3.0)
    assert retrying("x", attempt, RetryPolicy(max_wait=10, sleep=clock.sleep, clock=clock)) == "ok"
    assert clock.sleeps == [3.0, 3.0]


def test_retry_after_is_honoured_in_full_beyond_the_backoff_cap() -> None:
    clock = Clock()
    _calls, attempt = failing(1, wait=45.0)
    assert retrying("x", attempt, RetryPolicy(max_wait=16, sleep=clock.sleep, clock=clock)) == "ok"
    assert clock.sleeps == [45.0]


def test_a_retry_after_beyond_the_time_bound_gives_up_saying_so() -> None:
    clock = Clock()
    calls, attempt = failing(1, wait=600.0)
    with pytest.raises(
        JobError, match=r"asked to retry after 600s, gave up after 1 attempts within the 120s"
    ):
        retrying("x", attempt, RetryPolicy(total_seconds=120, sleep=clock.sleep, clock=clock))
    assert clock.sleeps == [] and len(calls) == 1


def test_a_rate_limited_attempt_is_repeated_without_counting_as_a_failure() -> None:
    clock = Clock()
    calls: list[int] = []

    def attempt() -> str:
        calls.append(1)
        if len(calls) <= 10:
            raise RateLimited("reading x: rate-limited by the Hub")
        return "ok"

    assert retrying("x", attempt, RetryPolicy(attempts=2, sleep=clock.sleep, clock=clock)) == "ok"
    assert len(calls) == 11 and clock.sleeps == []


def test_giving_up_fails_the_job_with_the_reason_and_the_attempts() -> None:
    clock = Clock()
    calls, attempt = failing(100)
    with pytest.raises(JobError, match=r"the Hub answered 503 \(gave up after 4 attempts"):
        retrying("x", attempt, RetryPolicy(attempts=4, first_wait=0.1, sleep=clock.sleep, clock=clock))
    assert len(calls) == 4


def test_no_wait_may_carry_the_run_past_the_time_bound() -> None:
    clock = Clock()
    _calls, attempt = failing(100, wait=30.0)
    policy = RetryPolicy(attempts=10, max_wait=30.0, total_seconds=70.0)
    with pytest.raises(JobError, match=r"gave up after 3 attempts"):
        retrying("x", attempt, replace(policy, sleep=clock.sleep, clock=clock))
    assert clock.sleeps == [30.0, 30.0] and clock.now <= 70.0


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("5", 5.0), ("0", 0.0), ("-3", 0.0), ("Wed, 21 Oct 2026 07:28:00 GMT", None), (None, None)],
)
def test_retry_after_reads_seconds_only(header: str | None, seconds: float | None) -> None:
    assert retry_after({"Retry-After": header} if header is not None else {}) == seconds
