"""Logs of work done side by side, shown in a fixed order: each piece's records are held back while
it runs, then replayed by the caller in the order it chooses (the manifest's).

Records logged by the thread running the piece are held; the threads it starts in turn (footer
reads) log as they go, which only their progress lines do.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
_held = threading.local()


class _HoldBack(logging.Filter):
    """On the root logger's handlers: a record logged where records are held goes to the holder."""

    def filter(self, record: logging.LogRecord) -> bool:
        records: list[logging.LogRecord] | None = getattr(_held, "records", None)
        if records is None:
            return True
        if not records or records[-1] is not record:  # each handler sees it: hold it once
            records.append(record)
        return False


_FILTER = _HoldBack()


def deferred(work: Callable[[], T]) -> tuple[list[logging.LogRecord], T]:
    """Run `work`, holding back what it logs; returns the records and its result."""
    handlers = logging.getLogger().handlers
    for handler in handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
    records: list[logging.LogRecord] = []
    _held.records = records
    try:
        result = work()
    except BaseException:
        del _held.records
        replay(records)  # what led to the failure is shown with it
        raise
    del _held.records
    return records, result


def replay(records: Sequence[logging.LogRecord]) -> None:
    """Show held records now, as if they were being logged."""
    for record in records:
        for handler in logging.getLogger().handlers:
            if record.levelno >= handler.level:
                handler.handle(record)
