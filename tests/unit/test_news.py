"""What counts as news on a card: counts, state, the expected end moving by more than a quarter of the
time left, and the refresh; never the clock alone."""

from __future__ import annotations

from datetime import datetime, timedelta

from progress_card.card import (
    average_rate_line,
    describe_late,
    describe_stall,
    patch_card,
    progress_line,
    rate_line,
    spend_text,
)
from progress_card.model import Eta, Silence, Spend, SpendUnit
from progress_card.news import ETA_SHARE, is_news
from tests.cards import DATATROVE_CARD, LATER, NOW, entry, line

REFRESH = timedelta(hours=6)
HOURLY = [0] * 20 + [600, 610, 1200, 1240]


def written(detail_line: str, rate: str | None = None, at: datetime = NOW) -> str:
    """datatrove's card with the math config's lines as a run at `at` writes them."""
    return patch_card(DATATROVE_CARD, entry("math", detail_line, rate), at)


def news(before: str, after: str, at: datetime = LATER) -> bool:
    return is_news(before, after, at, REFRESH)


def ends_at(hours: float) -> Eta:
    return Eta(timedelta(hours=hours), NOW + timedelta(hours=hours))


def test_the_clock_alone_is_not_news() -> None:
    first = written(line("math", 3_120, 5_000, ends_at(4)), rate_line("math", 1_240, HOURLY))
    ticked = Eta(timedelta(hours=3), NOW + timedelta(hours=4))  # an hour later, the same expected end
    later = written(line("math", 3_120, 5_000, ticked), rate_line("math", 1_180, [0, *HOURLY[:-1]]), LATER)

    assert later != first and not news(first, later)


def test_counts_and_states_are_news() -> None:
    first = written(line("math", 3_120, 5_000, ends_at(4)))

    assert news(first, written(line("math", 3_121, 5_000, ends_at(4)), at=LATER))
    assert news(first, written(progress_line("math", 3_120, 5_000, describe_stall(NOW)), at=LATER))


def test_what_the_compute_spent_growing_is_not_news() -> None:
    spent = Spend(41.2, 20.0, SpendUnit.USD)
    first = written(progress_line("math", 3_120, 5_000, "⏱️ estimating", spend=spend_text(spent, None, False)))
    more = Spend(61.2, 20.0, SpendUnit.USD)
    later = written(progress_line("math", 3_120, 5_000, "⏱️ estimating", spend=spend_text(more, None, False)))

    assert not news(first, later)


def test_a_silence_growing_is_not_news_its_turning_late_and_then_stalled_is() -> None:
    since = NOW - timedelta(hours=1)
    on_time = written(line("math", 3_120, 5_000, ends_at(4)), rate_line("math", 1_240, HOURLY))
    silence = Silence(since, timedelta(minutes=40), per_task=True, stalled=False)
    late = written(progress_line("math", 3_120, 5_000, describe_late(silence, NOW)))
    later = written(progress_line("math", 3_120, 5_000, describe_late(silence, LATER)), at=LATER)
    stalled = written(progress_line("math", 3_120, 5_000, describe_stall(since)), at=LATER)

    assert late != later and not news(late, later)
    assert news(on_time, late, NOW)
    assert news(late, stalled)


def test_the_rate_line_coming_or_going_is_news_its_figure_moving_is_not() -> None:
    bare = written(line("math", 3_120, 5_000))
    with_rate = written(line("math", 3_120, 5_000), rate_line("math", 1_240, HOURLY))
    faster = written(line("math", 3_120, 5_000), rate_line("math", 2_000, HOURLY), LATER)
    average = written(
        line("math", 3_120, 5_000), average_rate_line("math", 1_100, timedelta(hours=20)), LATER
    )

    assert news(bare, with_rate) and news(with_rate, bare)
    assert not news(with_rate, faster)
    assert not news(with_rate, average)  # the same line's kind: the state around it says what changed


def test_the_expected_end_moving_by_more_than_its_share_of_the_time_left_is_news() -> None:
    first = written(line("math", 3_120, 5_000, ends_at(4)))  # 4 h left when written, at NOW
    within = timedelta(hours=4) * ETA_SHARE - timedelta(minutes=5)
    beyond = timedelta(hours=4) * ETA_SHARE + timedelta(minutes=5)
    moved = [
        written(
            line("math", 3_120, 5_000, Eta(ends_at(4).remaining + shift, ends_at(4).finish_at + shift)),
            at=LATER,
        )
        for shift in (within, beyond, -beyond)
    ]

    assert [news(first, card) for card in moved] == [False, True, True]


def test_an_old_card_is_refreshed_whatever_it_says() -> None:
    first = written(line("math", 3_120, 5_000, ends_at(10)))
    same = written(line("math", 3_120, 5_000, ends_at(10)), at=NOW + REFRESH)

    assert not news(first, same, NOW + REFRESH - timedelta(minutes=1))
    assert news(first, same, NOW + REFRESH)
    assert is_news(None, first, NOW, REFRESH)  # a new card
