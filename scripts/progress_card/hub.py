"""A dataset repo on the Hugging Face Hub: listing shards, reading their tails, reading and pushing the card.

Metadata goes through `huggingface_hub`'s `HfApi`. The many small ranged reads of shard tails go
through a pooled `requests` session, so that their number of connections, timeouts and retries
are ours to set.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

import requests
from huggingface_hub import CommitOperationAdd, HfApi, RepoFile
from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, RepositoryNotFoundError
from huggingface_hub.utils import build_hf_headers
from requests.adapters import HTTPAdapter
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential_jitter,
)

from . import __version__
from .storage import CARD_PATH, CardConflict, JobError, RepoNotFound, Shard

PATHS_INFO_BATCH = 50
"""Paths per paths-info request when asking for commit dates (the Hub's expanded page size)."""
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying a read that fails for a reason that may pass (429, 5xx, network)."""

    attempts: int = 6
    total_seconds: float = 120.0
    first_wait: float = 0.5
    max_wait: float = 16.0


class _Retryable(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class HubClient:
    """What every repo of a run shares: endpoint, token, connection pool and retry policy."""

    def __init__(
        self,
        endpoint: str | None = None,
        token: str | None = None,
        pool_size: int = 32,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.api = HfApi(
            endpoint=endpoint, token=token, library_name="progress-card", library_version=__version__
        )
        self.endpoint = self.api.endpoint.rstrip("/")
        self.pool_size = pool_size
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self._headers = build_hf_headers(
            token=token, library_name="progress-card", library_version=__version__
        )
        self._session = requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    def __repr__(self) -> str:
        return f"HubClient(endpoint={self.endpoint!r})"

    def repo(self, repo_id: str) -> HubRepo:
        return HubRepo(self, repo_id)

    def get(self, url: str, what: str, headers: dict[str, str] | None = None) -> requests.Response:
        """GET with retries on 429/5xx/network errors (honouring Retry-After), bounded in attempts and time.

        Returns the last response for any other status, for the caller to interpret.
        """
        retrying = Retrying(
            stop=stop_after_attempt(self.retry.attempts) | stop_after_delay(self.retry.total_seconds),
            wait=self._wait,
            retry=retry_if_exception_type(_Retryable),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._get_once(url, what, headers or {})
        except _Retryable as error:
            raise JobError(
                f"{error} (gave up after {retrying.statistics.get('attempt_number', 1)} attempts)"
            ) from None
        raise AssertionError("unreachable: tenacity either returns or raises")

    def _get_once(self, url: str, what: str, headers: dict[str, str]) -> requests.Response:
        try:
            response = self._session.get(url, headers={**self._headers, **headers}, timeout=self.timeout)
        except (requests.ConnectionError, requests.Timeout) as error:
            raise _Retryable(f"{what}: {type(error).__name__} talking to {self.endpoint}") from None
        if response.status_code in RETRYABLE_STATUSES:
            raise _Retryable(
                f"{what}: the Hub answered {response.status_code}",
                _retry_after(response.headers.get("Retry-After")),
            )
        return response

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _Retryable) and error.retry_after is not None:
            return min(error.retry_after, self.retry.max_wait)
        backoff = wait_exponential_jitter(initial=self.retry.first_wait, max=self.retry.max_wait, jitter=0.25)
        return float(backoff(state))


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


@dataclass(frozen=True)
class HubRepo:
    client: HubClient = field(repr=False)
    repo_id: str

    @property
    def label(self) -> str:
        return self.repo_id

    def snapshot(self) -> HubSnapshot:
        try:
            info = self.client.api.dataset_info(self.repo_id)
        except RepositoryNotFoundError:
            raise RepoNotFound(
                f"dataset repo {self.repo_id} not found on {self.client.endpoint} "
                "(not created yet, a typo in jobs.yaml, or a token that cannot see it)"
            ) from None
        except HfHubHTTPError as error:
            raise JobError(f"cannot read dataset repo {self.repo_id}: {_short(error)}") from None
        if not info.sha:
            raise JobError(f"the Hub gave no revision for {self.repo_id}; try again later")
        return HubSnapshot(self, info.sha)

    def write_card(self, text: str, parent: str | None, message: str) -> None:
        try:
            self.client.api.create_commit(
                self.repo_id,
                [CommitOperationAdd(CARD_PATH, text.encode("utf-8"))],
                commit_message=message,
                repo_type="dataset",
                parent_commit=parent,
            )
        except RepositoryNotFoundError:
            raise RepoNotFound(
                f"dataset repo {self.repo_id} disappeared before the card could be pushed"
            ) from None
        except HfHubHTTPError as error:
            status = error.response.status_code if error.response is not None else None
            if status == 412:
                raise CardConflict(f"{self.repo_id} changed since its card was read") from None
            hint = " (does the token have write access to the repo?)" if status in (401, 403) else ""
            raise JobError(f"pushing the card of {self.repo_id} failed: {_short(error)}{hint}") from None


@dataclass(frozen=True)
class HubSnapshot:
    repo: HubRepo
    revision: str

    @property
    def _api(self) -> HfApi:
        return self.repo.client.api

    def list_shards(self, folder: str) -> list[Shard]:
        try:
            entries = list(
                self._api.list_repo_tree(
                    self.repo.repo_id,
                    path_in_repo=folder,
                    recursive=True,
                    expand=False,
                    revision=self.revision,
                    repo_type="dataset",
                )
            )
        except EntryNotFoundError:
            return []
        except HfHubHTTPError as error:
            raise JobError(f"listing {self.repo.repo_id}/{folder} failed: {_short(error)}") from None
        return sorted(
            (
                Shard(
                    path=entry.path,
                    size=entry.size,
                    content_id=entry.lfs.sha256 if entry.lfs else entry.blob_id,
                )
                for entry in entries
                if isinstance(entry, RepoFile) and entry.path.endswith(".parquet")
            ),
            key=lambda shard: shard.path,
        )

    def commit_times(self, shards: Iterable[Shard]) -> dict[str, datetime]:
        """When each shard was last committed, asked in batches of paths."""
        batches = list(_batched([shard.path for shard in shards], PATHS_INFO_BATCH))
        with ThreadPoolExecutor(max_workers=min(self.repo.client.pool_size, max(1, len(batches)))) as pool:
            answers = list(pool.map(self._commit_times, batches))
        return {path: moment for answer in answers for path, moment in answer.items()}

    def _commit_times(self, paths: list[str]) -> dict[str, datetime]:
        try:
            entries = self._api.get_paths_info(
                self.repo.repo_id, paths, expand=True, revision=self.revision, repo_type="dataset"
            )
        except HfHubHTTPError as error:
            raise JobError(f"reading commit dates in {self.repo.repo_id} failed: {_short(error)}") from None
        return {
            entry.path: entry.last_commit.date
            for entry in entries
            if isinstance(entry, RepoFile) and entry.last_commit is not None
        }

    def read_tail(self, shard: Shard, length: int) -> bytes:
        response = self.repo.client.get(
            self._url(shard.path), f"reading {shard.path}", headers={"Range": f"bytes=-{length}"}
        )
        if response.status_code not in (200, 206):
            raise JobError(f"reading {shard.path} in {self.repo.repo_id}: {_describe(response)}")
        return response.content[-length:]

    def read_card(self) -> str | None:
        response = self.repo.client.get(self._url(CARD_PATH), f"reading the card of {self.repo.repo_id}")
        if response.status_code == 404 and response.headers.get("X-Error-Code") == "EntryNotFound":
            return None
        if response.status_code != 200:
            raise JobError(f"reading the card of {self.repo.repo_id}: {_describe(response)}")
        return response.content.decode("utf-8")

    def _url(self, path: str) -> str:
        client = self.repo.client
        return f"{client.endpoint}/datasets/{self.repo.repo_id}/resolve/{self.revision}/{quote(path)}"


def _batched(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _describe(response: requests.Response) -> str:
    detail = response.headers.get("X-Error-Message") or response.reason
    return f"HTTP {response.status_code} ({detail})"


def _short(error: Any) -> str:
    """The first line of a huggingface_hub error, without the request id noise below it."""
    return str(error).strip().splitlines()[0]
