"""What one run is asked to do, the same for every job: one object, passed down as it is."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

REFRESH_AFTER = timedelta(hours=6)
"""A card whose news did not change is left alone, unless its Last updated line is older than this."""
REPOS_AT_ONCE = 8


def _never() -> bool:
    return False


@dataclass(frozen=True)
class Options:
    """What one run is asked to do, the same for every job."""

    now: datetime
    """The run's clock: nothing below the command line reads the time of day on its own."""
    dry_run: bool = False
    """Work out every plan and print it; write nothing."""
    refresh_after: timedelta = REFRESH_AFTER
    """Push a card whose news did not change once its Last updated line is this old; before that, the
    clock ticking alone (time left, timestamp) commits nothing."""
    allow_decrease: bool = False
    """Publish a count lower than the card shows (after shards were deleted on purpose)."""
    repos_at_once: int = REPOS_AT_ONCE
    should_stop: Callable[[], bool] = _never
    """Turns true on SIGTERM: the writes under way finish, the jobs not started are left for later."""
