"""A dataset repo on the Hugging Face Hub: listing shards, reading their tails, reading and pushing the card.

Metadata and commits go through `huggingface_hub`'s `HfApi`; the listing and the many small ranged
reads of shard tails go through our own connection pool (transport.py), whose size, timeouts and
retries are ours to set. Both kinds of request wait for the run's rate limits (quota.py): the
client `huggingface_hub` shares is built by our factory, which admits each of its requests too.
Every call is retried on failures that may pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import httpx2
import urllib3
from huggingface_hub import CommitOperationAdd, HfApi, RepoFile, get_token, is_offline_mode
from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled, RepositoryNotFoundError
from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status
from huggingface_hub.utils._http import hf_request_event_hook

from .. import __version__
from ..errors import CardConflict, JobError, RateLimited, RepoNotFound, Retryable
from .bucket import HubBucketStore
from .dataset import CARD_PATH, Listing, Shard, card_text
from .quota import RateLimits, bucket_of, is_refusal, retry_after
from .transport import RETRYABLE_STATUSES, RetryPolicy, Transport, retrying
from .tree import list_tree

PATHS_INFO_BATCH = 50
"""Paths per paths-info request when asking for commit dates (the Hub's limit with `expand`)."""
QUOTA_WAIT = 20 * 60.0
"""Seconds a run may spend in all waiting for the Hub's rate-limit windows to reset: most of the
workflow's 30 minutes, leaving the rest for the work itself."""
T = TypeVar("T")


class HubClient:
    """What every repo of a run shares: endpoint, token, connection pool, rate limits and retry policy.

    `huggingface_hub` (and `datasets`, which uses it) send their requests through a shared HTTP
    client; the command line makes it this one's (`set_client_factory(hub.http_client)`), so that
    those requests wait for the same rate limits and carry the same timeout.
    """

    def __init__(
        self,
        endpoint: str | None = None,
        token: str | None = None,
        pool_size: int = 64,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        limits: RateLimits | None = None,
    ) -> None:
        self.api = HfApi(
            endpoint=endpoint, token=token, library_name="progress-card", library_version=__version__
        )
        self.endpoint = self.api.endpoint.rstrip("/")
        self.has_token = bool(token or get_token())
        """A token was given (HF_TOKEN, or the one `hf auth login` saved): without one, only public repos
        can be seen, and nothing can be pushed."""
        self.pool_size = pool_size
        self.retry = retry or RetryPolicy()
        self.limits = limits or RateLimits(budget=QUOTA_WAIT)
        self.headers = build_hf_headers(
            token=token, library_name="progress-card", library_version=__version__
        )
        self.transport = Transport(self.endpoint, self.headers, pool_size, timeout, self.retry, self.limits)
        self.timeout = timeout

    def http_client(self) -> httpx2.Client:
        """An HTTP client for `huggingface_hub`'s own requests: with this one's timeout, and every
        request to the Hub admitted by the run's rate limits (a client factory for the library)."""
        api_timeout = httpx2.Timeout(self.timeout, connect=min(self.timeout, 10.0))
        return _RateLimitedClient(self.limits, urlsplit(self.endpoint).netloc, api_timeout)

    def __repr__(self) -> str:
        return f"HubClient(endpoint={self.endpoint!r})"

    def repo(self, repo_id: str) -> HubRepo:
        return HubRepo(self, repo_id)

    def bucket(self, bucket_id: str) -> HubBucketStore:
        return HubBucketStore(self, bucket_id)

    def call(self, what: str, function: Callable[[], T]) -> T:
        """Run a `huggingface_hub` call, retrying it on 429/5xx/network errors as the reads are."""
        self.online(what)

        def attempt() -> T:
            try:
                return function()
            except OfflineModeIsEnabled:
                raise JobError(f"{what}: {OFFLINE}") from None
            except HfHubHTTPError as error:
                status = error.response.status_code if error.response is not None else None
                if status == 429 and error.response is not None and is_refusal(error.response.headers):
                    # Already recorded by the limits, which do the waiting: not a failed attempt.
                    raise RateLimited(f"{what}: rate-limited by the Hub") from None
                if status in RETRYABLE_STATUSES and error.response is not None:
                    wait = retry_after(error.response.headers)
                    raise Retryable(f"{what}: the Hub answered {status}", wait) from None
                raise
            except httpx2.TransportError as error:
                raise Retryable(f"{what}: {type(error).__name__} talking to {self.endpoint}") from None

        return retrying(what, attempt, self.retry)

    def online(self, what: str) -> None:
        """Refuse, as the job's error, to reach the Hub when HF_HUB_OFFLINE says not to."""
        if is_offline_mode():
            raise JobError(f"{what}: {OFFLINE}")

    def without_token(self) -> str:
        """What to add to an error that may come from having no token."""
        return "" if self.has_token else f"; {ANONYMOUS}"


OFFLINE = "HF_HUB_OFFLINE is set, so the Hub is not reached; unset it to follow a job on the Hub"
REFUSED = (
    "the Hub refuses the token (401: revoked, expired or mistyped); make a new one with write access at "
    "https://huggingface.co/settings/tokens and set HF_TOKEN to it"
)
ANONYMOUS = (
    "no Hugging Face token was given (set HF_TOKEN to a token with write access to the dataset repos): "
    "without one only public repos can be seen, and no card can be pushed"
)


class _RateLimitedClient(httpx2.Client):
    """huggingface_hub's shared HTTP client, as its default factory makes it, with a timeout, and
    every request to the Hub admitted by the run's rate limits and its answer recorded by them."""

    def __init__(self, limits: RateLimits, host: str, timeout: httpx2.Timeout) -> None:
        super().__init__(
            event_hooks={"request": [hf_request_event_hook]}, follow_redirects=True, timeout=timeout
        )
        self._limits = limits
        self._host = host

    def send(self, request: httpx2.Request, **kwargs: Any) -> httpx2.Response:
        if request.url.netloc.decode("ascii") != self._host:
            return super().send(request, **kwargs)
        bucket = bucket_of(request.url.path)
        self._limits.admit(bucket)
        response: httpx2.Response | None = None
        try:
            response = super().send(request, **kwargs)
            return response
        finally:
            status, headers = (response.status_code, response.headers) if response else (None, None)
            self._limits.settle(bucket, status, headers)


@dataclass(frozen=True)
class HubRepo:
    client: HubClient = field(repr=False)
    repo_id: str

    @property
    def label(self) -> str:
        return self.repo_id

    def snapshot(self) -> HubSnapshot:
        try:
            info = self.client.call(
                f"reading dataset repo {self.repo_id}",
                lambda: self.client.api.dataset_info(self.repo_id, timeout=self.client.timeout),
            )
        except RepositoryNotFoundError:
            raise RepoNotFound(
                f"dataset repo {self.repo_id} not found on {self.client.endpoint} "
                "(not created yet, a typo in jobs.yaml, or a token that cannot see it)"
                f"{self.client.without_token()}"
            ) from None
        except HfHubHTTPError as error:
            if error.response is not None and error.response.status_code == 401:
                raise JobError(f"cannot read dataset repo {self.repo_id}: {REFUSED}") from None
            raise JobError(f"cannot read dataset repo {self.repo_id}: {_short(error)}") from None
        if not info.sha:
            raise JobError(f"the Hub gave no revision for {self.repo_id}; try again later")
        return HubSnapshot(self, info.sha)

    def check_writable(self) -> None:
        """Ask the Hub to prepare an upload of no files: it answers only a token that may write."""
        url = f"{self.client.endpoint}/api/datasets/{self.repo_id}/preupload/main"

        def ask() -> None:
            response = get_session().post(
                url, json={"files": []}, headers=self.client.headers, timeout=self.client.timeout
            )
            hf_raise_for_status(response)

        try:
            self.client.call(f"asking whether the token may push to {self.repo_id}", ask)
        except HfHubHTTPError as error:
            status = error.response.status_code if error.response is not None else None
            if status in (401, 403):
                raise JobError(
                    f"the token cannot push to dataset repo {self.repo_id} ({status}): give it write access "
                    f"to the repo, or use a write token{self.client.without_token()}"
                ) from None
            raise JobError(
                f"cannot tell whether the token may push to {self.repo_id}: {_short(error)}"
            ) from None

    def write_card(self, text: str, parent: str | None, message: str) -> None:
        try:
            # Safe to retry: with parent_commit, a commit that did land makes the retry a conflict.
            self.client.call(
                f"pushing the card of {self.repo_id}",
                lambda: self.client.api.create_commit(
                    self.repo_id,
                    [CommitOperationAdd(CARD_PATH, text.encode("utf-8"))],
                    commit_message=message,
                    repo_type="dataset",
                    parent_commit=parent,
                ),
            )
        except RepositoryNotFoundError:
            raise RepoNotFound(
                f"dataset repo {self.repo_id} disappeared before the card could be pushed"
            ) from None
        except ValueError as error:  # huggingface_hub's check of the card's metadata, before the commit
            why = str(error).strip().splitlines()
            raise JobError(
                f"the card of {self.repo_id} was not pushed: its README.md front matter is refused "
                f"({'; '.join(line.strip(' -') for line in why[1:3]) or why[0]}); fix the YAML between "
                "the --- lines at the card's top, and the next run pushes"
            ) from None
        except HfHubHTTPError as error:
            status = error.response.status_code if error.response is not None else None
            if status == 412:
                raise CardConflict(f"{self.repo_id} changed since its card was read") from None
            hint = " (does the token have write access to the repo?)" if status in (401, 403) else ""
            raise JobError(
                f"pushing the card of {self.repo_id} failed: {_short(error)}{hint}{self.client.without_token()}"
            ) from None


@dataclass(frozen=True)
class HubSnapshot:
    repo: HubRepo
    revision: str

    @property
    def _api(self) -> HfApi:
        return self.repo.client.api

    def listing(self, folder: str) -> Listing:
        """The tree API, page by page (1,000 entries each), through our transport: huggingface_hub's
        listing takes no timeout, and a stalled page must not hang the run."""
        client = self.repo.client
        below = f"/{quote(folder, safe='')}" if folder else ""  # never `tree/<rev>/`: no client sends it
        url = (
            f"{client.endpoint}/api/datasets/{self.repo.repo_id}/tree/{quote(self.revision, safe='')}"
            f"{below}?recursive=true&expand=false"
        )
        return list_tree(client.transport, url, f"listing {self.repo.repo_id}/{folder}", _shard)

    def commit_times(self, shards: Iterable[Shard]) -> dict[str, datetime]:
        """When each shard was last committed, asked in batches of paths."""
        batches = list(_batched([shard.path for shard in shards], PATHS_INFO_BATCH))
        with ThreadPoolExecutor(max_workers=min(self.repo.client.pool_size, max(1, len(batches)))) as pool:
            answers = list(pool.map(self._commit_times, batches))
        return {path: moment for answer in answers for path, moment in answer.items()}

    def _commit_times(self, paths: list[str]) -> dict[str, datetime]:
        try:
            entries = self.repo.client.call(
                f"reading commit dates in {self.repo.repo_id}",
                lambda: self._api.get_paths_info(
                    self.repo.repo_id, paths, expand=True, revision=self.revision, repo_type="dataset"
                ),
            )
        except HfHubHTTPError as error:
            raise JobError(f"reading commit dates in {self.repo.repo_id} failed: {_short(error)}") from None
        return {
            entry.path: entry.last_commit.date
            for entry in entries
            if isinstance(entry, RepoFile) and entry.last_commit is not None
        }

    def read_tail(self, shard: Shard, length: int) -> bytes:
        length = min(length, shard.size)
        return self.repo.client.transport.get_range(
            self._url(shard.path),
            f"reading {shard.path} in {self.repo.repo_id}",
            start=shard.size - length,
            length=length,
            size=shard.size,
        )

    def read_card(self) -> str | None:
        response = self.repo.client.transport.get(
            self._url(CARD_PATH), f"reading the card of {self.repo.repo_id}"
        )
        if response.status == 404 and response.headers.get("X-Error-Code") == "EntryNotFound":
            return None
        if response.status != 200:
            raise JobError(f"reading the card of {self.repo.repo_id}: {_describe(response)}")
        return card_text(response.data, self.repo.repo_id)

    def _url(self, path: str) -> str:
        client = self.repo.client
        return f"{client.endpoint}/datasets/{self.repo.repo_id}/resolve/{self.revision}/{quote(path)}"


def _shard(entry: Any) -> Shard:
    """A tree entry: the LFS sha256 identifies the content when there is one, the git blob id otherwise."""
    lfs = entry.get("lfs")
    return Shard(
        path=str(entry["path"]), size=int(entry["size"]), content_id=str(lfs["oid"] if lfs else entry["oid"])
    )


def _batched(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _describe(response: urllib3.BaseHTTPResponse) -> str:
    detail = response.headers.get("X-Error-Message") or response.reason
    return f"HTTP {response.status} ({detail})"


def _short(error: Any) -> str:
    """The first line of a huggingface_hub error, without the request id noise below it."""
    return str(error).strip().splitlines()[0]
