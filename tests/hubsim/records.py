"""Records of what the simulator served: requests and commits."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path


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


class RequestLog:
    """Thread-safe list of request records, optionally mirrored to a text file."""

    def __init__(self, log_file: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []
        self._log_file = log_file

    def add(self, record: RequestRecord) -> None:
        """Record one request (and append ``METHOD PATH STATUS`` to the log file)."""
        with self._lock:
            self._records.append(record)
            if self._log_file is not None:
                target = record.path + ("?" + record.query if record.query else "")
                with self._log_file.open("a", encoding="utf-8") as f:
                    f.write(f"{record.method} {target} {record.status}\n")

    def snapshot(self) -> list[RequestRecord]:
        """A copy of the records so far."""
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        """Forget all records."""
        with self._lock:
            self._records.clear()
