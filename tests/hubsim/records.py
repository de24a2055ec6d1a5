"""Records of what the simulator served: requests and commits."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, Protocol, TypeVar


@dataclass(frozen=True)
class RequestRecord:
    """One request served. ``path`` is raw (percent-encoded), ``query`` the raw query string."""

    method: str
    path: str
    query: str
    status: int  # 0 when the connection was reset without an answer
    started_at: float  # time.time() when the request line was read
    duration_s: float
    has_token: bool = False  # whether an ``Authorization: Bearer`` header was sent (never the token)
    bucket: str | None = None  # the rate-limit bucket it counts against: "api", "resolvers" or None
    throttled: bool = False  # refused with 429 by quota mode


@dataclass(frozen=True)
class BridgeRecord:
    """One request served by the Xet bridge (``authorization`` is kept, to prove it never arrives)."""

    method: str
    path: str
    query: str
    range: str | None  # the Range header as sent
    status: int  # 0 when the connection was reset without an answer
    started_at: float
    authorization: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class CommitRecord:
    """One commit made through the commit API."""

    sha: str
    title: str
    description: str
    parent: str
    files: dict[str, bytes] = field(default_factory=dict)  # added or updated path -> content
    deleted: tuple[str, ...] = ()  # deleted files and folders
    time: float = 0.0


class _Served(Protocol):
    @property
    def method(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def query(self) -> str: ...
    @property
    def status(self) -> int: ...


R = TypeVar("R", bound=_Served)


class RequestLog(Generic[R]):
    """Thread-safe list of request records, optionally mirrored to a text file."""

    def __init__(self, log_file: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # notified whenever a record is added
        self._records: list[R] = []
        self._log_file = log_file

    def add(self, record: R) -> None:
        """Record one request (and append ``METHOD PATH STATUS`` to the log file)."""
        with self._lock:
            self._records.append(record)
            if self._log_file is not None:
                target = record.path + ("?" + record.query if record.query else "")
                with self._log_file.open("a", encoding="utf-8") as f:
                    f.write(f"{record.method} {target} {record.status}\n")
            self._changed.notify_all()

    def wait_for(self, predicate: Callable[[list[R]], bool], timeout: float) -> bool:
        """Block until ``predicate(records so far)`` holds: checked now, then each time a record is added
        (or ``wake`` is called), never by polling. False when ``timeout`` seconds passed first. The predicate
        runs under the log's lock: it reads the list it is given, never ``snapshot`` (that would deadlock)."""
        with self._changed:
            return self._changed.wait_for(lambda: predicate(list(self._records)), timeout)

    def wake(self) -> None:
        """Have ``wait_for`` check its predicate again now (for one that looks at more than the records)."""
        with self._changed:
            self._changed.notify_all()

    def snapshot(self) -> list[R]:
        """A copy of the records so far."""
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        """Forget all records."""
        with self._lock:
            self._records.clear()
