"""The run's view of the Hub's rate limits, on a fake clock: who may send, who waits, and for how long."""

from __future__ import annotations

import logging
import threading

import pytest

from progress_card.errors import QuotaSpent, Stopped
from progress_card.storage.quota import RESET_MARGIN, RateLimits, bucket_of

START = 1000.0


class Clock:
    """A monotonic clock that moves only when a worker pauses (and lets other threads run meanwhile)."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now

    def pause(self, condition: threading.Condition, seconds: float) -> None:
        self.now += seconds
        condition.wait(0.001)


def limits(budget: float = 3600.0) -> tuple[RateLimits, Clock]:
    clock = Clock()
    return RateLimits(budget, clock=clock, pause=clock.pause), clock


def window(remaining: int, resets_in: int, bucket: str = "resolvers", limit: int = 5000) -> dict[str, str]:
    return {
        "RateLimit": f'"{bucket}";r={remaining};t={resets_in}',
        "RateLimit-Policy": f'"fixed window";"{bucket}";q={limit};w=300',
    }


def admitted_in_thread(gate: RateLimits) -> tuple[threading.Thread, list[BaseException | None]]:
    outcome: list[BaseException | None] = []

    def admit() -> None:
        try:
            gate.admit("resolvers")
            outcome.append(None)
        except (QuotaSpent, Stopped) as error:
            outcome.append(error)

    thread = threading.Thread(target=admit, daemon=True)
    thread.start()
    return thread, outcome


def test_requests_count_against_the_bucket_their_path_names() -> None:
    assert bucket_of("/datasets/acme/gen/resolve/main/data/0.parquet") == "resolvers"
    assert bucket_of("/api/resolve-cache/datasets/acme/gen/abc/README.md") == "resolvers"
    assert bucket_of("/api/datasets/acme/gen/tree/main/data") == "api"


def test_without_a_word_on_limits_nothing_waits() -> None:
    gate, clock = limits()
    for _ in range(100):
        gate.admit("resolvers")
    assert not any(gate.settle("resolvers", 200, {}) for _ in range(100))
    assert clock.now == START and gate.waited == 0


def test_no_more_requests_are_in_flight_than_the_window_has_left() -> None:
    gate, clock = limits()
    gate.admit("resolvers")
    gate.settle("resolvers", 206, window(remaining=2, resets_in=200))
    gate.admit("resolvers")
    gate.admit("resolvers")
    assert clock.now == START

    gate.admit("resolvers")  # two in flight, two left: the third goes once the window has reset
    assert clock.now >= START + 200


def test_an_exhausted_window_is_waited_out_then_one_request_opens_the_next() -> None:
    gate, clock = limits()
    gate.admit("resolvers")
    assert gate.settle("resolvers", 429, window(remaining=0, resets_in=30)) is True

    gate.admit("resolvers")
    assert START + 30 + RESET_MARGIN <= clock.now < START + 30 + RESET_MARGIN + 1
    follower, outcome = admitted_in_thread(gate)
    follower.join(0.2)
    assert follower.is_alive()  # the probe's answer is not in yet

    gate.settle("resolvers", 206, window(remaining=4999, resets_in=299))
    follower.join(5)
    assert outcome == [None]
    assert gate.waited == pytest.approx(30 + RESET_MARGIN) and gate.refusals == 1


def test_a_success_that_leaves_nothing_closes_the_window_too() -> None:
    gate, clock = limits()
    gate.admit("api")
    assert gate.settle("api", 200, window(remaining=0, resets_in=12, bucket="api")) is False
    gate.admit("api")
    assert clock.now >= START + 12 + RESET_MARGIN


def test_a_retry_after_without_a_window_is_honoured_in_full() -> None:
    gate, clock = limits()
    gate.admit("resolvers")
    assert gate.settle("resolvers", 429, {"Retry-After": "45"}) is True
    gate.admit("resolvers")
    assert START + 45 <= clock.now < START + 46


def test_a_429_that_names_no_wait_is_left_to_the_retries() -> None:
    gate, _clock = limits()
    gate.admit("resolvers")
    assert gate.settle("resolvers", 429, {}) is False


def test_waits_add_up_against_the_budget_and_one_beyond_it_is_refused_with_the_reason() -> None:
    gate, _clock = limits(budget=70)
    for _ in range(2):
        gate.admit("resolvers")
        gate.settle("resolvers", 429, window(remaining=0, resets_in=30))
    gate.admit("resolvers")
    assert gate.waited == pytest.approx(2 * (30 + RESET_MARGIN))

    gate.settle("resolvers", 429, window(remaining=0, resets_in=30))
    with pytest.raises(QuotaSpent) as refused:
        gate.admit("resolvers")
    assert str(refused.value) == (
        "rate-limited by the Hub (resolvers: 5,000 per 5 min): the window resets in 31s, more than is left "
        "of the 1m 10s this run may spend waiting for rate limits (--quota-wait)"
    )


def test_workers_refused_at_once_count_one_wait() -> None:
    gate, _clock = limits()
    for _ in range(8):
        gate.admit("resolvers")
    assert all(gate.settle("resolvers", 429, window(remaining=0, resets_in=60)) for _ in range(8))
    assert gate.waited == pytest.approx(60 + RESET_MARGIN) and gate.refusals == 8


def test_the_wait_is_logged_with_the_window_it_is_for(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    gate, _clock = limits()
    gate.admit("resolvers")
    gate.settle("resolvers", 429, window(remaining=0, resets_in=219))
    assert caplog.messages == ["rate-limited by the Hub (resolvers: 5,000 per 5 min): waiting 3m 40s"]


def test_stopping_ends_a_wait_but_lets_requests_that_need_none_through() -> None:
    gate, _clock = limits(budget=10**7)
    gate.admit("resolvers")
    gate.settle("resolvers", 429, window(remaining=0, resets_in=10**6))
    waiting, outcome = admitted_in_thread(gate)
    waiting.join(0.1)
    assert waiting.is_alive()

    gate.stop()
    waiting.join(2)
    assert len(outcome) == 1 and isinstance(outcome[0], Stopped)
    gate.admit("api")  # another bucket, open: a push under way completes
