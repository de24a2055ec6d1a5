"""Fault injection: answer the next matching requests with an error, a delay or a reset."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Fault:
    """Answer the next ``times`` requests matching ``method`` and ``path_regex`` (searched in the raw path).

    ``status=None`` with ``delay_s`` only slows the request down and then serves it normally;
    ``reset=True`` closes the socket without answering (after ``delay_s``); ``truncate=True`` serves
    the request but sends half its body under the whole body's Content-Length, then closes the
    connection (a body that broke off, as a proxy or a reset mid-transfer leaves it); ``before`` runs just
    before the request is served (to change the repo under a client's feet, as another writer would).
    """

    method: str | None = None
    path_regex: str = ""
    status: int | None = 503
    times: int = 1
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    reset: bool = False
    truncate: bool = False
    message: str = "Simulated failure"
    error_code: str | None = None  # e.g. "EntryNotFound": sent as X-Error-Code
    before: Callable[[], None] | None = None

    def matches(self, method: str, path: str) -> bool:
        """Whether this fault applies to a request."""
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return re.search(self.path_regex, path) is not None


class FaultQueue:
    """Pending faults, consumed in the order they were injected."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[tuple[Fault, int]] = []

    def add(self, fault: Fault) -> None:
        """Queue a fault."""
        if fault.times < 1:
            raise ValueError("Fault.times must be >= 1")
        with self._lock:
            self._faults.append((fault, fault.times))

    def take(self, method: str, path: str) -> Fault | None:
        """Consume one use of the first pending fault matching the request."""
        with self._lock:
            for i, (fault, left) in enumerate(self._faults):
                if fault.matches(method, path):
                    if left <= 1:
                        del self._faults[i]
                    else:
                        self._faults[i] = (fault, left - 1)
                    return fault
        return None

    def pending(self) -> list[tuple[Fault, int]]:
        """Faults not yet used up, with their remaining count."""
        with self._lock:
            return list(self._faults)

    def clear(self) -> None:
        """Drop all pending faults."""
        with self._lock:
            self._faults.clear()
