"""How numbers, durations and dates read on the card: the same conventions as datatrove's monitor."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

from .model import SpendUnit

_SUFFIXES = ((1_000_000_000_000, "T"), (1_000_000_000, "B"), (1_000_000, "M"))

SPARKS = "▁▂▃▄▅▆▇█"

# Largest first; months and years as datatrove counts them.
_DURATION_UNITS = (
    ("y", 365.25 * 24 * 3600),
    ("mo", 30.44 * 24 * 3600),
    ("w", 7 * 24 * 3600),
    ("d", 24 * 3600),
    ("h", 3600),
    ("m", 60),
)


def format_count(n: int) -> str:
    """`1,234`; from a million on with a rounded suffix: `12,345,678 (≈12.3M)`.

    `≈` rather than `~`, which Markdown may read as strikethrough.
    """
    for threshold, suffix in _SUFFIXES:
        if n >= threshold:
            return f"{n:,} (≈{n / threshold:.1f}{suffix})"
    return f"{n:,}"


def format_compact(n: float) -> str:
    """`950`, `36K`, `1.2M`, `3.4B`: a figure beside another on one line."""
    for threshold, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "K")):
        if n >= threshold:
            value = n / threshold
            return f"{value:.1f}{suffix}" if value < 10 else f"{value:.0f}{suffix}"
    return f"{n:.0f}"


def format_spend(amount: float, unit: SpendUnit) -> str:
    """`$4.27`, `$41`, `$1,234`; `3.5 GPU-hours`, `1,234 GPU-hours`: cents only where they matter."""
    places = (2 if unit is SpendUnit.USD else 1) if amount < 10 else 0
    figure = f"{amount:,.{places}f}"
    return f"${figure}" if unit is SpendUnit.USD else f"{figure} GPU-hours"


def format_duration(seconds: float) -> str:
    """The two largest non-zero units: `< 1m`, `1h 30m`, `1d 1h`, `1w 3d`, `1mo 4d`, `1y 3mo`."""
    if seconds < 60:
        return "< 1m"
    parts: list[str] = []
    remaining = seconds
    for label, unit in _DURATION_UNITS:
        if remaining >= unit:
            parts.append(f"{int(remaining // unit)}{label}")
            remaining %= unit
            if len(parts) == 2:
                break
    return " ".join(parts)


def format_eta_date(moment: datetime) -> str:
    """`Nov 27 2026, 18:30 UTC`."""
    return moment.astimezone(timezone.utc).strftime("%b %d %Y, %H:%M UTC")


def format_timestamp(moment: datetime) -> str:
    """`2026-11-27 18:30:05 UTC`, as in the card's *Last updated* line."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def percent(done: int, total: int) -> int:
    """Whole percent, rounded down (a job at 99.9% is not shown as 100%)."""
    return (done * 100) // total if total > 0 else 0


def format_first(items: Sequence[object], shown: int = 3) -> str:
    """`3, 17, 18, …`: the first `shown` items, and an ellipsis when there are more."""
    text = ", ".join(str(item) for item in items[:shown])
    return f"{text}, …" if len(items) > shown else text


def sparkline(values: Sequence[int]) -> str:
    """`▁▂▃▅▇█`, one character a value: ▁ is nothing, ▂ to █ scale up to the largest value."""
    top = max(values, default=0)
    if top <= 0:
        return SPARKS[0] * len(values)
    steps = len(SPARKS) - 1
    return "".join(SPARKS[0] if v <= 0 else SPARKS[max(1, -(-v * steps // top))] for v in values)
