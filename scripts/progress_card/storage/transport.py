"""The HTTP connections for the many small reads of a count, and the retry policy of every Hub call.

A counting run reads the end of thousands of shards: a pool of keep-alive connections (urllib3)
carries them, with the proxies and CA bundle of the environment worked out once for the endpoint,
as `requests` would for each request. Every request to the Hub is admitted by the run's rate
limits first (quota.py). Redirects are followed by hand: to the storage behind a Xet-backed file
(another host, which never sees the token) and to the Hub's own resolve cache.

Failures that may pass (5xx, a dropped connection) are retried with exponential backoff, or after
the Retry-After the server asked for, honoured in full, within a bound on attempts and on total
time. A refusal for a rate limit is not a failure: it is sent again once its window allows.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from requests.utils import DEFAULT_CA_BUNDLE_PATH

from ..errors import JobError, RateLimited, Retryable
from .quota import RateLimits, bucket_of, retry_after

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying a call that fails for a reason that may pass (5xx, network), and the
    clock it waits by (tests give one that does not sleep)."""

    attempts: int = 6
    total_seconds: float = 120.0
    first_wait: float = 0.5
    max_wait: float = 16.0
    """The longest backoff between attempts; a Retry-After the server asked for is not capped."""
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)


def retrying(what: str, attempt: Callable[[], T], policy: RetryPolicy) -> T:
    """Call `attempt` until it succeeds; after the policy's last attempt, fail the job saying why.

    The wait before each new attempt is the Retry-After the server asked for, or an exponential
    backoff with jitter capped at `max_wait`; no wait may carry the whole past `total_seconds`.
    A `RateLimited` attempt is repeated at once and not counted: the rate limits did the waiting.
    """
    sleep, clock = policy.sleep, policy.clock
    started = clock()
    number = 0
    while True:
        try:
            return attempt()
        except RateLimited:
            continue
        except Retryable as error:
            number += 1
            if error.retry_after is not None:
                wait = error.retry_after
            else:
                backoff = policy.first_wait * 2 ** (number - 1) + random.uniform(0, policy.first_wait / 2)  # noqa: S311
                wait = min(backoff, policy.max_wait)
            if number == policy.attempts:
                raise JobError(
                    f"{error} (gave up after {number} attempts; the next run will try again)"
                ) from None
            if clock() - started + wait > policy.total_seconds:
                asked = f"it asked to retry after {wait:.0f}s, " if error.retry_after is not None else ""
                raise JobError(
                    f"{error} ({asked}gave up after {number} attempts within the {policy.total_seconds:.0f}s "
                    "allowed (--give-up-after); the next run will try again)"
                ) from None
            sleep(wait)


class Transport:
    """Pooled GETs to one endpoint, admitted by the run's rate limits, with retries."""

    def __init__(
        self,
        endpoint: str,
        headers: Mapping[str, str],
        pool_size: int,
        timeout: float,
        policy: RetryPolicy,
        limits: RateLimits,
    ) -> None:
        self.endpoint = endpoint
        self.policy = policy
        self.limits = limits
        self._host = urlsplit(endpoint).netloc
        self._headers = dict(headers)
        settings = requests.Session().merge_environment_settings(endpoint, {}, None, None, None)
        verify = settings["verify"]
        proxy = settings["proxies"].get(endpoint.split("://", 1)[0])
        timeouts = urllib3.Timeout(connect=min(timeout, 10.0), read=timeout)
        certificates = verify if isinstance(verify, str) else DEFAULT_CA_BUNDLE_PATH
        checking = "CERT_REQUIRED" if verify is not False else "CERT_NONE"
        self._pools: urllib3.PoolManager
        if proxy:
            self._pools = urllib3.ProxyManager(
                proxy, num_pools=4, maxsize=pool_size, retries=False, timeout=timeouts,
                cert_reqs=checking, ca_certs=certificates,
            )  # fmt: skip
        else:
            self._pools = urllib3.PoolManager(
                num_pools=4, maxsize=pool_size, retries=False, timeout=timeouts,
                cert_reqs=checking, ca_certs=certificates,
            )  # fmt: skip
        self._endpoint_pool = self._pools.connection_from_url(endpoint)

    def get(self, url: str, what: str) -> urllib3.BaseHTTPResponse:
        """The whole response to a GET, retried on 5xx/network errors; other statuses are the caller's."""

        def attempt() -> urllib3.BaseHTTPResponse:
            response = self._fetch(url, what, {})
            with _whole_body(response, what):
                response.read(cache_content=True)
            response.release_conn()
            return response

        return retrying(what, attempt, self.policy)

    def get_range(self, url: str, what: str, start: int, length: int, size: int) -> bytes:
        """Bytes `start` to `start + length` of a `size`-byte file, and never more than that.

        The range is asked for with both ends (Xet storage refuses suffix ranges). An answer that
        is not exactly that range (a whole file, another range) is an error, read no further; a
        416 is tried once more, as storage front-ends give them out now and then.
        """
        end = start + length - 1
        wanted = f"bytes {start}-{end}/{size}"
        headers = {"Range": f"bytes={start}-{end}"}

        def attempt() -> bytes:
            for tries in (1, 2):
                response = self._fetch(url, what, headers)
                if response.status == 416 and tries == 1:
                    _discard(response)
                    continue
                try:
                    return _exact_range(response, what, wanted, length)
                finally:
                    response.release_conn()
            raise AssertionError("unreachable: the second try returns or raises")

        return retrying(what, attempt, self.policy)

    def _fetch(self, url: str, what: str, headers: Mapping[str, str]) -> urllib3.BaseHTTPResponse:
        """The final response (body not read yet), redirects followed; raises Retryable/RateLimited."""
        sent = {**self._headers, **headers}
        for _ in range(MAX_REDIRECTS + 1):
            response = self._hop(url, sent, what)
            location = response.headers.get("Location")
            if response.status not in REDIRECTS or not location:
                return response
            _discard(response)
            target = urljoin(url, location)
            if urlsplit(target).netloc != urlsplit(url).netloc:  # the token is for the Hub only
                sent = {name: value for name, value in sent.items() if name.lower() != "authorization"}
            url = target
        raise JobError(f"{what}: more than {MAX_REDIRECTS} redirects, starting at {url}")

    def _hop(self, url: str, headers: Mapping[str, str], what: str) -> urllib3.BaseHTTPResponse:
        """One request, not following redirects; a request to the Hub waits for its rate limit first."""
        parts = urlsplit(url)
        hub = parts.netloc == self._host
        who = "the Hub" if hub else f"the storage at {parts.netloc}"
        bucket = bucket_of(parts.path) if hub else None
        if bucket is not None:
            self.limits.admit(bucket)
        response: urllib3.BaseHTTPResponse | None = None
        try:
            response = self._send(url, headers)
        except urllib3.exceptions.HTTPError as error:
            raise Retryable(f"{what}: {type(error).__name__} talking to {who}") from None
        finally:
            if bucket is not None:
                status, answer = (response.status, response.headers) if response else (None, None)
                refused = self.limits.settle(bucket, status, answer)
        if bucket is not None and refused:
            _discard(response)
            raise RateLimited(f"{what}: rate-limited by the Hub")
        if response.status in RETRYABLE_STATUSES:
            _discard(response)
            raise Retryable(f"{what}: {who} answered {response.status}", retry_after(response.headers))
        return response

    def _send(self, url: str, headers: Mapping[str, str]) -> urllib3.BaseHTTPResponse:
        """Straight to the endpoint's pool on the hot path; elsewhere (the storage) through the manager."""
        if url.startswith(self.endpoint + "/"):
            return self._endpoint_pool.urlopen(
                "GET", url[len(self.endpoint) :], headers=headers, redirect=False, retries=False,
                preload_content=False, decode_content=False,
            )  # fmt: skip
        return self._pools.request(
            "GET", url, headers=headers, redirect=False, preload_content=False, decode_content=False
        )


def _exact_range(response: urllib3.BaseHTTPResponse, what: str, wanted: str, length: int) -> bytes:
    """The body of a 206 carrying exactly the range asked for; anything else is an error, unread."""
    if response.status == 200:
        response.close()
        raise JobError(
            f"{what}: the server ignored the Range header and started sending the whole file "
            f"({response.headers.get('Content-Length', 'unknown')} bytes); not read. A proxy or "
            "storage front-end that drops Range cannot be used for counting"
        )
    if response.status == 416:
        response.close()
        raise JobError(
            f"{what}: the storage answered 416 (range not satisfiable) twice for {wanted}; "
            "the file may have been replaced while being read: the next run will try again"
        )
    if response.status != 206:
        response.close()
        detail = response.headers.get("X-Error-Message") or response.reason
        raise JobError(f"{what}: HTTP {response.status} ({detail})")
    answered = response.headers.get("Content-Range", "")
    if answered.strip() != wanted:
        response.close()
        raise JobError(f"{what}: asked for {wanted}, the server sent {answered or 'no Content-Range'}")
    with _whole_body(response, what):
        data = response.read(length + 1)
    if len(data) < length:
        response.close()
        raise Retryable(f"{what}: asked for {length} bytes, the server sent {len(data)} before closing")
    if len(data) != length:
        response.close()
        raise JobError(f"{what}: asked for {length} bytes, the server sent more")
    return data


@contextmanager
def _whole_body(response: urllib3.BaseHTTPResponse, what: str) -> Iterator[None]:
    """Reading a body: one that stops short of its Content-Length, or a connection broken in the middle
    of it, is retried like a dropped connection."""
    try:
        yield
    except urllib3.exceptions.HTTPError as error:
        response.close()
        raise Retryable(f"{what}: the body broke off ({type(error).__name__})") from None


def _discard(response: urllib3.BaseHTTPResponse | None) -> None:
    """Let go of a response that will not be used: a small body keeps the connection, a large one closes it."""
    if response is None:
        return
    length = response.headers.get("Content-Length")
    if length is not None and length.isdigit() and int(length) <= 64 * 1024:
        response.drain_conn()
        response.release_conn()
    else:
        response.close()
        response.release_conn()
