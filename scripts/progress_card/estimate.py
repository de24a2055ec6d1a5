"""Rate and time left, from when documents arrived. Pure arithmetic: `now` is always passed in."""

from __future__ import annotations

from datetime import datetime, timedelta

from .card import Eta


def simple_eta(done: int, total: int, first_upload: datetime | None, now: datetime) -> Eta | None:
    """Project the average rate since the first shard was committed over what remains.

    None when there is nothing to project from: no documents yet, no upload time, or no time
    elapsed since the first upload.
    """
    if done <= 0 or first_upload is None or done >= total:
        return None
    elapsed = (now - first_upload).total_seconds()
    if elapsed <= 0:
        return None
    remaining = timedelta(seconds=(total - done) * elapsed / done)
    return Eta(remaining=remaining, finish_at=now + remaining)
