"""Rate limits the Hub's way: fixed windows per account and bucket, announced in ``RateLimit`` headers."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from .responses import Headers

BUCKETS = ("api", "resolvers")
ANONYMOUS = "anonymous"
THROTTLED_MESSAGE = (
    "You have been rate-limited; you can retry this action in about {t} seconds "
    "(quota of {q} {bucket} requests per {w} s)."
)


def bucket_of(raw_path: str) -> str | None:
    """The bucket a request counts against: file reads are ``resolvers``, other ``/api/`` calls ``api``."""
    if raw_path.startswith("/api/resolve-cache/"):
        return "resolvers"
    if raw_path.startswith("/api/"):
        return "api"
    if "/resolve/" in raw_path:
        return "resolvers"
    return None


def account_of(authorization: str | None) -> str:
    """The account a request is charged to: its bearer token, or ``anonymous``."""
    if authorization and authorization.lower().startswith("bearer "):
        token = authorization[7:].strip()
        if token:
            return token
    return ANONYMOUS


@dataclass(frozen=True)
class Policy:
    """A bucket's quota: ``limit`` requests per fixed window of ``window_s`` seconds."""

    limit: int
    window_s: int


@dataclass
class _Window:
    ends_at: float
    used: int = 0


@dataclass(frozen=True)
class Verdict:
    """Whether a request may be served, and the headers its answer carries either way."""

    allowed: bool
    headers: Headers
    message: str = ""


class QuotaBook:
    """Quota policies and the windows open per (account, bucket); thread-safe.

    ``clock`` (``time.monotonic`` by default) may be replaced by a test to move time along.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._policies: dict[str, Policy] = {}
        self._windows: dict[tuple[str, str], _Window] = {}
        self._opened: dict[tuple[str, str], int] = {}
        self.clock: Callable[[], float] = time.monotonic

    def set(self, bucket: str, limit: int, window_s: int) -> None:
        """Put ``bucket`` in quota mode (its windows and window count start afresh)."""
        if bucket not in BUCKETS:
            raise ValueError(f"Unknown bucket {bucket!r}: expected one of {BUCKETS}")
        if limit < 0 or window_s < 1:
            raise ValueError("limit must be >= 0 and window_s >= 1")
        with self._lock:
            self._policies[bucket] = Policy(limit, window_s)
            for key in [k for k in self._windows if k[1] == bucket]:
                del self._windows[key]
            for key in [k for k in self._opened if k[1] == bucket]:
                del self._opened[key]

    def clear(self) -> None:
        """Leave quota mode for every bucket and forget all windows."""
        with self._lock:
            self._policies.clear()
            self._windows.clear()
            self._opened.clear()

    def reset(self) -> None:
        """``clear()`` and go back to the real clock."""
        self.clear()
        self.clock = time.monotonic

    def policy(self, bucket: str) -> Policy | None:
        """The quota of ``bucket``, None when it is not in quota mode."""
        with self._lock:
            return self._policies.get(bucket)

    def windows(self, bucket: str, account: str | None = None) -> int:
        """How many windows were opened in ``bucket`` (by ``account``, or by all accounts)."""
        with self._lock:
            return sum(n for (acc, b), n in self._opened.items() if b == bucket and account in (None, acc))

    def admit(self, bucket: str | None, account: str) -> Verdict | None:
        """Charge one request to ``account``'s window of ``bucket``; None when that bucket has no quota."""
        if bucket is None or not self._policies:  # a lock-free look first: quota mode is rare
            return None
        with self._lock:
            policy = self._policies.get(bucket)
            if policy is None:
                return None
            now = self.clock()
            key = (account, bucket)
            window = self._windows.get(key)
            if window is None or now >= window.ends_at:
                window = self._windows[key] = _Window(now + policy.window_s)
                self._opened[key] = self._opened.get(key, 0) + 1
            allowed = window.used < policy.limit
            if allowed:
                window.used += 1
            remaining = policy.limit - window.used
            reset_in = max(1, math.ceil(window.ends_at - now))
        headers = [
            ("RateLimit", f'"{bucket}";r={remaining};t={reset_in}'),
            ("RateLimit-Policy", f'"fixed window";"{bucket}";q={policy.limit};w={policy.window_s}'),
        ]
        message = THROTTLED_MESSAGE.format(t=reset_in, q=policy.limit, bucket=bucket, w=policy.window_s)
        return Verdict(allowed, headers, "" if allowed else message)
