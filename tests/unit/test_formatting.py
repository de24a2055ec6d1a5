from datetime import datetime, timezone

import pytest

from progress_card.formatting import (
    format_count,
    format_duration,
    format_eta_date,
    format_first,
    format_timestamp,
    percent,
)


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0"),
        (999, "999"),
        (3_120, "3,120"),
        (999_999, "999,999"),
        (1_000_000, "1,000,000 (≈1.0M)"),
        (12_345_678, "12,345,678 (≈12.3M)"),
        (2_500_000_000, "2,500,000,000 (≈2.5B)"),
        (1_200_000_000_000, "1,200,000,000,000 (≈1.2T)"),
    ],
)
def test_counts_have_separators_and_a_suffix_from_a_million(n: int, text: str) -> None:
    assert format_count(n) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "< 1m"),
        (59.9, "< 1m"),
        (60, "1m"),
        (90, "1m"),
        (5_400, "1h 30m"),
        (3_600, "1h"),
        (90_000, "1d 1h"),
        (7 * 86_400 + 3 * 86_400, "1w 3d"),
        (3_000_000, "1mo 4d"),
        (40_000_000, "1y 3mo"),
    ],
)
def test_durations_show_the_two_largest_units(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_dates_are_written_in_utc() -> None:
    moment = datetime(2026, 11, 27, 18, 30, 5, tzinfo=timezone.utc)
    assert format_eta_date(moment) == "Nov 27 2026, 18:30 UTC"
    assert format_timestamp(moment) == "2026-11-27 18:30:05 UTC"


@pytest.mark.parametrize(
    ("done", "total", "expected"), [(0, 10, 0), (3_120, 5_000, 62), (999, 1_000, 99), (5, 5, 100)]
)
def test_percent_rounds_down(done: int, total: int, expected: int) -> None:
    assert percent(done, total) == expected


@pytest.mark.parametrize(
    ("items", "text"), [((), ""), ((3,), "3"), ((3, 17, 18), "3, 17, 18"), ((3, 17, 18, 40), "3, 17, 18, …")]
)
def test_a_list_shows_its_first_three_and_says_when_there_are_more(items: tuple[int, ...], text: str) -> None:
    assert format_first(items) == text
