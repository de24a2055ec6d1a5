"""The Hub's rate limits as it states them, shared by every request of a run.

The Hub counts each account's requests in fixed windows, one count per bucket ("api" for the API,
"resolvers" for file reads), and says on every response how many the window has left and when it
resets (`RateLimit: "resolvers";r=12;t=40`, parsed by huggingface_hub). Every request to the Hub
first asks its bucket here:

- while the requests left are known, no more are sent at once than are left;
- when none are left, every worker waits for the reset; then a single request opens the new window
  and its answer says how many may follow;
- a 429 that names no window but asks for a `Retry-After` is waited out the same way, in full.

Waiting for a window is not a fault, so it does not use the retries' budget: it has its own, for
the whole run. A wait that would overrun it raises `QuotaSpent` at once, so that the caller can
save what it has and leave the rest to the next run. `stop()` ends every wait within a fraction of
a second (SIGTERM); requests that need no wait are still sent, so that writes under way complete.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from huggingface_hub.utils import parse_ratelimit_headers

from ..errors import QuotaSpent, Stopped

log = logging.getLogger(__name__)

RESET_MARGIN = 1.0
"""Seconds waited past the announced reset: the announcement is rounded to whole seconds."""
POLL = 0.25
"""Longest uninterrupted pause of a waiting worker, so that a stop is noticed at once."""


def bucket_of(path: str) -> str:
    """The rate-limit bucket a request to the Hub counts against, from its URL path."""
    return "resolvers" if "/resolve/" in path or path.startswith("/api/resolve-cache/") else "api"


@dataclass
class _Window:
    """What the Hub last said about one bucket."""

    remaining: int | None = None
    """Requests left in the current window; None when the Hub has not said (no limit known)."""
    resets_at: float = 0.0
    limit: int | None = None
    seconds: int | None = None
    closed_until: float = 0.0
    """No request is sent before this moment: the window is exhausted."""
    probing: bool = False
    """The window has just reset: one request at a time until an answer says what is left."""
    in_flight: int = 0
    spent: str | None = None
    """Why the run cannot wait for this window to reset (its budget would be overrun)."""


class RateLimits:
    """The run's view of the Hub's windows; thread-safe, shared by every worker."""

    def __init__(
        self,
        budget: float,
        clock: Callable[[], float] = time.monotonic,
        pause: Callable[[threading.Condition, float], None] | None = None,
    ) -> None:
        self.budget = budget
        self.waited = 0.0
        """Seconds of this run spent waiting for windows to reset (each wait counted once)."""
        self.refusals = 0
        """429s received for a rate limit."""
        self._clock = clock
        self._pause = pause or (lambda condition, seconds: condition.wait(seconds))
        self._condition = threading.Condition()
        self._windows: dict[str, _Window] = {}
        self._stopping = False

    def stop(self) -> None:
        """End every wait now, and every later one: waiting workers raise Stopped."""
        with self._condition:
            self._stopping = True
            self._condition.notify_all()

    def admit(self, bucket: str) -> None:
        """Return when a request of `bucket` may be sent; `settle` must follow, whatever happens."""
        with self._condition:
            window = self._windows.setdefault(bucket, _Window())
            while not self._may_send(window):
                if window.spent:
                    raise QuotaSpent(window.spent)
                if self._stopping:
                    raise Stopped("the run was asked to stop while waiting for the Hub's rate limit")
                self._pause(self._condition, POLL)  # woken early by every answer
            window.in_flight += 1

    def _may_send(self, window: _Window) -> bool:
        now = self._clock()
        if window.closed_until > now:
            return False
        if window.closed_until:
            window.closed_until, window.spent = 0.0, None
            window.remaining, window.probing = None, True
        if window.remaining is not None and window.resets_at <= now:
            window.remaining = None  # a new window began: the old count says nothing
        if window.probing:
            return window.in_flight == 0
        return window.remaining is None or window.remaining - window.in_flight > 0

    def settle(self, bucket: str, status: int | None, headers: Mapping[str, str] | None) -> bool:
        """Record the answer to an admitted request (None when none came); True when it was refused
        for a rate limit, and the request should be sent again once admitted."""
        info = parse_ratelimit_headers(headers) if headers is not None else None
        with self._condition:
            window = self._windows.setdefault(bucket, _Window())
            window.in_flight -= 1
            now = self._clock()
            if info is not None:
                if window.remaining is not None and now < window.resets_at:
                    # The same window: answers arrive out of order, and what is left only goes down.
                    window.remaining = min(window.remaining, info.remaining)
                else:
                    window.remaining, window.resets_at = info.remaining, now + info.reset_in_seconds
                window.limit, window.seconds = info.limit, info.window_seconds
                window.probing = False
            elif status is not None:
                window.probing = False  # answered without a word on limits: nothing to wait for
            refused = status == 429 and headers is not None and is_refusal(headers)
            if refused:
                self.refusals += 1
            if info is not None and info.remaining == 0:  # refused or not, the window is spent
                self._close(bucket, window, now, info.reset_in_seconds + RESET_MARGIN)
            elif refused:
                self._close(bucket, window, now, retry_after(headers) or 0.0)
            self._condition.notify_all()
            return refused

    def _close(self, bucket: str, window: _Window, now: float, wait: float) -> None:
        """No request of `bucket` before `now + wait`; waiting for it, if the budget allows."""
        until = now + wait
        if until <= window.closed_until:
            return  # this exhaustion is already being waited out
        already_closed = window.closed_until > now
        extra = until - max(now, window.closed_until)
        window.closed_until = until
        if window.spent or self.waited + extra > self.budget:
            window.spent = (
                f"rate-limited by the Hub ({_describe(bucket, window)}): the window resets in "
                f"{_seconds(wait)}, more than is left of the {_seconds(self.budget)} this run may spend "
                "waiting for rate limits (--quota-wait)"
            )
            return
        self.waited += extra
        if not already_closed:  # the other workers' refusals only confirm the same wait
            log.warning("rate-limited by the Hub (%s): waiting %s", _describe(bucket, window), _seconds(wait))


def _describe(bucket: str, window: _Window) -> str:
    if window.limit is None or window.seconds is None:
        return bucket
    return f"{bucket}: {window.limit:,} per {_seconds(window.seconds)}"


def _seconds(seconds: float) -> str:
    """`3m 40s`, `5 min`, `12s`: a wait or a window length, to the second."""
    whole = round(seconds)
    if whole % 60 == 0 and whole >= 60:
        return f"{whole // 60} min"
    minutes, rest = divmod(whole, 60)
    return f"{minutes}m {rest}s" if minutes else f"{rest}s"


def is_refusal(headers: Mapping[str, str]) -> bool:
    """Whether a 429 with these headers is a rate limit to wait for: it names an exhausted window, or
    a time to wait. (A bare 429 is left to the retries.)"""
    info = parse_ratelimit_headers(headers)
    return (info is not None and info.remaining == 0) or retry_after(headers) is not None


def retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds from a Retry-After header (seconds only; a date is ignored)."""
    value = next((v for k, v in (headers or {}).items() if k.lower() == "retry-after"), None)
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
