"""What counts as news on a card, in one place: whether a run pushes the card it wrote, or leaves the
one on the Hub as it is.

A run compares the card it read with the card it would write. News is

- a count: the documents, the bar, the tasks done, the tokens;
- a state: the words after the bar (waiting, on its way, late, stalled, queued, stopped, complete,
  shards lost, a warning), and whether there is a rate line below it;
- the expected end (`📅`) moving by more than ETA_SHARE of the time that was left to it;
- a new card, and a card whose *Last updated* line is older than the refresh period
  (`--refresh-after`, 6 hours by default): that one is pushed whatever it says.

Not news, because the clock alone moves it: the time left counting down, how long a silence has
lasted, the rate's figure and the chart of the last day, what the compute has spent, how soon a
folder fills up, and the timestamp. So a silence of any length pushes the card once per change of
state (on its way, late, stalled), plus the refresh.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from .card import last_updated

ETA_SHARE = 0.25
"""The expected end is news when it moves by more than this share of the time that was left to it."""

_CLOCK = (
    # the time left before the expected end: "⏱️ 2h 15m remaining • 📅 Nov 27 2026, 18:30 UTC"
    (re.compile(r"⏱️ [^\r\n<]* remaining • 📅 [^\r\n<]*UTC"), "⏱️"),
    # how long a late job has been silent: "no new shards for 1h 20m (each task usually ...)"
    (re.compile(r"(?<=no new shards for )[^(<\r\n]*(?= \()"), ""),
    # the rate line after its marker: its figure, its chart, or a completed job's average
    (re.compile(r"(?<=<!-- progress-card:rate )([^>]*-->)[^\r\n]*"), r"\1"),
    # what the compute has used: "💵 $41 so far, ≈ $130 in all", "🖥️ 120 GPU-hours so far"
    (re.compile(r"(?:💵|🖥️) [^•<\r\n]*"), ""),
    # how soon a crowded folder fills up: " (full in ≈ 3h)"
    (re.compile(r" \(full in ≈ [^)]*\)"), ""),
    (re.compile(r"^\*Last updated:[^\r\n]*", re.MULTILINE), ""),
)
_EXPECTED_END = re.compile(r"📅 ([A-Z][a-z]{2} \d{2} \d{4}, \d{2}:\d{2}) UTC")


def is_news(before: str | None, after: str, now: datetime, refresh_after: timedelta) -> bool:
    """Whether the card written (`after`) is worth a commit over the one read (`before`, None: no card)."""
    if before is None:
        return True
    written = last_updated(before)
    if written is None or now - written >= refresh_after:
        return True
    return without_clock(before) != without_clock(after) or _end_moved(before, after, written)


def without_clock(text: str) -> str:
    """The card with what the clock alone moves taken out: two cards that differ only there say the same."""
    for pattern, replacement in _CLOCK:
        text = pattern.sub(replacement, text)
    return text


def _end_moved(before: str, after: str, written: datetime) -> bool:
    """An expected end moved by more than ETA_SHARE of the time that was left to it when `before` was
    written (the cards' other lines being the same, they show their ends in the same places)."""
    for was, now in zip(_ends(before), _ends(after), strict=False):
        left = max(was - written, timedelta(0))
        if abs(now - was) > ETA_SHARE * left:
            return True
    return False


def _ends(text: str) -> list[datetime]:
    return [
        datetime.strptime(found, "%b %d %Y, %H:%M").replace(tzinfo=timezone.utc)
        for found in _EXPECTED_END.findall(text)
    ]
