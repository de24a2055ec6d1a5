"""A folder filling up towards the Hub's 10,000 entries, or a repo towards 100,000 files, is seen
before it gets there (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from progress_card.limits import crowding
from progress_card.model import Arrival, Found

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc)


def found(entries: int, files: int | None = None) -> Found:
    return Found("default/**/*.parquet in acme/gen (...)", "acme/gen/default", "acme/gen", {"default": entries},
                 files if files is not None else entries)  # fmt: skip


def arriving(per_hour: int, hours: int = 3) -> tuple[Arrival, ...]:
    """`per_hour` shards an hour into default/ over the last `hours` hours."""
    count = per_hour * hours
    return tuple(
        Arrival(
            NOW - timedelta(hours=hours) + timedelta(hours=hours) * (i + 1) / count,
            10,
            f"default/{i}.parquet",
        )
        for i in range(count)
    )


def test_a_folder_far_from_the_limit_is_not_news() -> None:
    assert crowding(found(5_000), arriving(100), NOW) is None


def test_more_than_nine_thousand_entries_is_a_warning_even_without_new_shards() -> None:
    crowded = crowding(found(9_001), (), NOW)
    assert crowded is not None
    assert str(crowded) == "default/ holds 9,001 entries of the Hub's 10,000"


def test_a_folder_that_fills_within_six_hours_is_a_warning_with_the_time_left() -> None:
    crowded = crowding(found(8_000), arriving(500), NOW)  # 2,000 to go at 500 an hour: 4 h
    assert crowded is not None and crowded.reached_in == timedelta(hours=4)
    assert str(crowded) == "default/ holds 8,000 entries of the Hub's 10,000 (full in ≈ 4h)"
    assert crowding(found(8_000), arriving(300), NOW) is None  # 6h 40m: not yet


def test_a_repo_near_a_hundred_thousand_files_is_a_warning() -> None:
    crowded = crowding(Found("", "acme/gen/default", "acme/gen", {"default/0": 100}, 95_000), (), NOW)
    assert crowded is not None and str(crowded) == "acme/gen holds 95,000 files of the Hub's 100,000"
