"""A job's life through a silence, hour by hour with an injected clock: on its way, late, stalled, on its
way again, complete; the rate line following that state; one push per change of state, plus the refresh.

The job has the shape of a real one (`tests.lifetime.stuck_for`): 32 tasks, each writing 200-document
chunks in about 40 minutes (±10 %), 192,000 documents in all, every task stuck for hours half-way.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise

import pytest

from progress_card.options import REFRESH_AFTER
from tests.lifetime import START, STUCK_AT, Hour, hour_by_hour, hourly_runs, state, stuck_for

MINUTE, HOUR = timedelta(minutes=1), timedelta(hours=1)


def through(silence: timedelta) -> list[Hour]:
    """Every hourly run, from the first hour to 3 hours after the job's end."""
    return hour_by_hour(stuck_for(silence), START, hourly_runs(silence))


def changes(states: list[str]) -> list[str]:
    return [s for i, s in enumerate(states) if i == 0 or states[i - 1] != s]


def test_the_card_goes_from_on_its_way_to_late_to_stalled_and_back_never_through_a_ballooning_eta() -> None:
    hours = through(6 * HOUR)

    assert changes([state(hour.detail) for hour in hours]) == [
        "on its way",
        "late",
        "stalled",
        "on its way",
        "✅ Complete",
    ]
    late = next(hour for hour in hours if state(hour.detail) == "late")
    assert late.detail == "⏱️ no new shards for 1h 48m (each task usually uploads every 40m)"
    ends = [hour.eta.finish_at for hour in hours if hour.eta is not None and hour.at < late.at]
    # From the second look on (the first has one chunk per task), the expected end holds within an hour.
    assert all(abs(later - earlier) < HOUR for earlier, later in pairwise(ends[1:]))


def test_the_rate_line_follows_the_state() -> None:
    for hour in through(6 * HOUR):
        if state(hour.detail) == "on its way":
            assert hour.rate is not None and " docs/h • last 24 h: " in hour.rate
        elif state(hour.detail) == "✅ Complete":
            assert hour.rate == "≈ 7,257 docs/h on average over 1d 2h of uploads"
        else:
            assert hour.rate is None, hour


def test_after_the_silence_the_eta_is_within_ten_percent_while_hours_remain() -> None:
    resumed = [hour for hour in through(6 * HOUR) if hour.at > START + STUCK_AT + 6 * HOUR]
    honest = [
        hour for hour in resumed if hour.eta is not None and hour.truth is not None and hour.truth >= 2 * HOUR
    ]

    assert len(honest) >= 6
    for hour in honest:
        assert hour.eta is not None and hour.truth is not None
        assert abs(hour.eta.remaining - hour.truth) <= 0.10 * hour.truth, hour


@pytest.mark.parametrize("silence", [6 * HOUR, 15 * HOUR], ids=["6h", "15h"])
def test_a_silence_of_any_length_pushes_once_per_change_of_state_plus_the_refresh(silence: timedelta) -> None:
    hours = through(silence)
    quiet = [hour for hour in hours if state(hour.detail) in ("late", "stalled")]

    expected = []
    last_push: datetime | None = None
    for index, hour in enumerate(quiet):
        changed = index == 0 or state(quiet[index - 1].detail) != state(hour.detail)
        refresh = last_push is not None and hour.at - last_push >= REFRESH_AFTER
        expected.append(changed or refresh)
        last_push = hour.at if changed or refresh else last_push
    assert [hour.pushed for hour in quiet] == expected
    assert sum(expected) == 2 + (silence - 2 * HOUR) // REFRESH_AFTER  # late, stalled, and each refresh
    assert all(hour.pushed for hour in hours if state(hour.detail) == "on its way")  # new shards every hour
