"""The HTTP connections for the many small reads of a count, and the retry policy of every Hub call.

A counting run reads the end of thousands of shards: a pool of keep-alive connections (urllib3)
carries them, with the proxies and CA bundle of the environment worked out once for the endpoint,
as `requests` would for each request. Failures that may pass (429, 5xx, a dropped connection)
are retried with exponential backoff, or after the Retry-After the Hub asked for, within a bound
on attempts and on total time.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from requests.utils import DEFAULT_CA_BUNDLE_PATH

from .storage import JobError

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying a call that fails for a reason that may pass (429, 5xx, network)."""

    attempts: int = 6
    total_seconds: float = 120.0
    first_wait: float = 0.5
    max_wait: float = 16.0


class Retryable(Exception):
    """A failure worth another attempt; `retry_after` is the wait the server asked for."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (the Hub sends seconds; dates are ignored)."""
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def retrying(
    what: str,
    attempt: Callable[[], T],
    policy: RetryPolicy,
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], float] | None = None,
) -> T:
    """Call `attempt` until it succeeds; after the policy's last attempt, fail the job saying why.

    The wait before each new attempt is the Retry-After the server asked for, or an exponential
    backoff with jitter, capped at `max_wait`; no wait may carry the whole past `total_seconds`.
    """
    sleep = sleep or time.sleep
    clock = clock or time.monotonic
    started = clock()
    for number in range(1, policy.attempts + 1):
        try:
            return attempt()
        except Retryable as error:
            if error.retry_after is not None:
                wait = error.retry_after
            else:
                wait = policy.first_wait * 2 ** (number - 1) + random.uniform(0, policy.first_wait / 2)  # noqa: S311
            wait = min(wait, policy.max_wait)
            if number == policy.attempts or clock() - started + wait > policy.total_seconds:
                raise JobError(
                    f"{error} (gave up after {number} attempts; the next run will try again)"
                ) from None
            sleep(wait)
    raise AssertionError("unreachable: the loop returns or raises")


class Transport:
    """Pooled GETs to one endpoint, with retries."""

    def __init__(
        self,
        endpoint: str,
        headers: Mapping[str, str],
        pool_size: int,
        timeout: float,
        policy: RetryPolicy,
    ) -> None:
        self.endpoint = endpoint
        self.policy = policy
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

    def get(self, url: str, what: str, headers: Mapping[str, str] | None = None) -> urllib3.BaseHTTPResponse:
        """The response to a GET, retried on 429/5xx/network errors; other statuses are the caller's."""
        return retrying(what, lambda: self._get_once(url, what, headers or {}), self.policy)

    def _get_once(self, url: str, what: str, headers: Mapping[str, str]) -> urllib3.BaseHTTPResponse:
        try:
            response = self._send(url, {**self._headers, **headers})
        except urllib3.exceptions.HTTPError as error:
            raise Retryable(f"{what}: {type(error).__name__} talking to {self.endpoint}") from None
        if response.status in RETRYABLE_STATUSES:
            raise Retryable(
                f"{what}: the Hub answered {response.status}",
                retry_after(response.headers.get("Retry-After")),
            )
        return response

    def _send(self, url: str, headers: dict[str, str]) -> urllib3.BaseHTTPResponse:
        """Straight to the endpoint's pool (the hot path); redirects, to a CDN say, through the manager,
        which drops the Authorization header when the host changes."""
        if not url.startswith(self.endpoint + "/"):
            return self._pools.request("GET", url, headers=headers, redirect=True)
        response = self._endpoint_pool.urlopen(
            "GET",
            url[len(self.endpoint) :],
            headers=headers,
            redirect=False,
            retries=False,
            decode_content=False,
        )
        location = response.headers.get("Location")
        if response.status in (301, 302, 303, 307, 308) and location:
            target = urljoin(url, location)
            if urlsplit(target).netloc != urlsplit(url).netloc:  # the token is for the Hub only
                headers = {name: value for name, value in headers.items() if name.lower() != "authorization"}
            return self._pools.request("GET", target, headers=headers, redirect=True)
        return response
