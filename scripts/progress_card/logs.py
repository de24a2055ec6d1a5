"""Logs of work done side by side, shown in a fixed order: each piece's records are held back while
it runs, then replayed by the caller in the order it chooses (the manifest's).

Records logged by the thread running the piece are held; the threads it starts in turn (footer
reads) log as they go, which only their progress lines do.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import TypeVar

T = TypeVar("T")


class HeldLogs(logging.Filter):
    """While the context lasts, on the root logger's handlers: a record logged by a thread running
    `deferred` work goes to that work's records instead of the handlers."""

    def __init__(self) -> None:
        super().__init__()
        self._held = threading.local()
        self._handlers: list[logging.Handler] = []

    def __enter__(self) -> HeldLogs:
        self._handlers = list(logging.getLogger().handlers)
        for handler in self._handlers:
            handler.addFilter(self)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        for handler in self._handlers:
            handler.removeFilter(self)

    def filter(self, record: logging.LogRecord) -> bool:
        records: list[logging.LogRecord] | None = getattr(self._held, "records", None)
        if records is None:
            return True
        if not records or records[-1] is not record:  # each handler sees it: hold it once
            records.append(record)
        return False

    def deferred(self, work: Callable[[], T]) -> tuple[list[logging.LogRecord], T]:
        """Run `work`, holding back what it logs; returns the records and its result."""
        records: list[logging.LogRecord] = []
        self._held.records = records
        try:
            result = work()
        except BaseException:
            del self._held.records
            replay(records)  # what led to the failure is shown with it
            raise
        del self._held.records
        return records, result


def replay(records: Sequence[logging.LogRecord]) -> None:
    """Show held records now, as if they were being logged."""
    for record in records:
        for handler in logging.getLogger().handlers:
            if record.levelno >= handler.level:
                handler.handle(record)
