"""HubSim: the loopback Hugging Face Hub simulator that tests start and drive."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import TracebackType

from .bridge import XetBridge
from .buckets import BucketStore, split_bucket_id
from .context import BUCKET_PAGE_SIZE, Context
from .faults import Fault, FaultQueue
from .quota import QuotaBook
from .records import CommitRecord, RequestLog, RequestRecord
from .repo import HubStore
from .server import HubHTTPServer


def _split_repo_id(repo_id: str) -> tuple[str, str]:
    ns, sep, name = repo_id.partition("/")
    if not sep or not ns or not name or "/" in name:
        raise ValueError(f"Expected 'namespace/name', got {repo_id!r}")
    return ns, name


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _ns(when: float | datetime | None) -> int | None:
    """Epoch seconds or an aware datetime as epoch nanoseconds (exact to the microsecond)."""
    if when is None:
        return None
    if isinstance(when, datetime):
        return (when - _EPOCH) // timedelta(microseconds=1) * 1000
    return round(when * 1e6) * 1000


class HubSim:
    """A Hub simulator serving ``ROOT/datasets/<org>/<name>/...`` and Storage Buckets
    ``ROOT/buckets/<ns>/<name>/...`` on a loopback port.

    ``set_root`` swaps in a fresh directory (and resets requests, faults, token rules, commits,
    snapshots, buckets, latency and every mode below), so one session-wide server can give each test
    a clean Hub.

    Modes, all off by default: quota (``set_quota``), Xet (``enable_xet``; the bridge is
    ``self.bridge``), ``resolve_cache`` (307 for regular files) and ``ignore_ranges``.
    """

    def __init__(
        self,
        root: Path,
        latency_ms: float = 0,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        log_file: Path | None = None,
    ) -> None:
        self.latency_ms = latency_ms
        self._initial_latency_ms = latency_ms
        self._address = (host, port)
        self._lock = threading.Lock()
        Path(root).mkdir(parents=True, exist_ok=True)
        self._store = HubStore(Path(root))
        self._buckets = BucketStore(Path(root))
        # entries per page of a bucket tree listing (1,000 on the Hub; lower it to test paging quickly)
        self.bucket_page_size = BUCKET_PAGE_SIZE
        self._tokens: dict[str, str] = {}
        self.faults = FaultQueue()
        self.log: RequestLog[RequestRecord] = RequestLog(Path(log_file) if log_file is not None else None)
        self.quota = QuotaBook()
        self.bridge = XetBridge(lambda: self.ignore_ranges)
        self._xet = False
        # regular (non-LFS) files answer resolve with a 307 to /api/resolve-cache/..., as the Hub does
        self.resolve_cache = False
        # the Hub and the bridge answer every read with 200 and the whole file, whatever the Range
        self.ignore_ranges = False
        self._server: HubHTTPServer | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> HubSim:
        """Bind and serve in a daemon thread; returns self."""
        if self._server is not None:
            return self
        self._server = HubHTTPServer(self._address, self)
        self._server.start("hubsim")
        return self

    def stop(self) -> None:
        """Stop serving (the Xet bridge too) and close every connection."""
        server, self._server = self._server, None
        self._store.close()
        self.bridge.stop()
        if server is not None:
            server.stop()

    def __enter__(self) -> HubSim:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:43123`` (use it as ``HF_ENDPOINT``)."""
        if self._server is None:
            raise RuntimeError("HubSim is not started")
        return f"http://{self._address[0]}:{self._server.server_port}"

    # -- state ---------------------------------------------------------------------------------

    @property
    def store(self) -> HubStore:
        """The repository store of the current root."""
        return self._store

    @property
    def root(self) -> Path:
        """The directory holding ``datasets/<org>/<name>``."""
        return self._store.root

    @root.setter
    def root(self, path: Path) -> None:
        self.set_root(path)

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Wait until no request is being served (delayed ones included), so none outlives a test."""
        deadline = time.monotonic() + timeout
        server = self._server
        if server is not None:
            server.wait_idle(deadline)
        self.bridge.wait_idle(deadline)

    def set_root(self, path: Path) -> None:
        """Serve a new root; resets requests, faults, token rules, commits, snapshots, latency and modes."""
        with self._lock:
            Path(path).mkdir(parents=True, exist_ok=True)
            old, self._store = self._store, HubStore(Path(path))
            old.close()
            self._buckets = BucketStore(Path(path))
            self.bucket_page_size = BUCKET_PAGE_SIZE
            self._tokens = {}
            self.faults.clear()
            self.log.clear()
            self.latency_ms = self._initial_latency_ms
            self.quota.reset()
            self._xet = False
            self.bridge.reset()
            self.resolve_cache = False
            self.ignore_ranges = False

    def context(self) -> Context:
        """What a request handler sees of the simulator now."""
        return Context(
            store=self._store,
            tokens=self.tokens,
            xet=self.bridge.publish if self._xet else None,
            resolve_cache=self.resolve_cache,
            ignore_ranges=self.ignore_ranges,
            buckets=self._buckets,
            publish_object=self.bridge.publish_object,
            bucket_page_size=self.bucket_page_size,
        )

    def repo_dir(self, repo_id: str) -> Path:
        """Directory of a dataset repository (creates nothing)."""
        ns, name = _split_repo_id(repo_id)
        return self.root / "datasets" / ns / name

    def create_repo(self, repo_id: str) -> Path:
        """Create an (empty) dataset repository by hand; returns its directory."""
        path = self.repo_dir(repo_id)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def put_file(
        self, repo_id: str, path_in_repo: str, data: bytes | str, mtime: float | None = None
    ) -> Path:
        """Write a file into a repository by hand (optionally with a given mtime); returns its path."""
        target = self.repo_dir(repo_id) / path_in_repo
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data.encode() if isinstance(data, str) else data)
        if mtime is not None:
            os.utime(target, (mtime, mtime))
        return target

    def head_sha(self, repo_id: str) -> str:
        """The current head commit sha of a repository (rescans the disk)."""
        return self._store.existing(*_split_repo_id(repo_id)).head().sha

    def commits(self, repo_id: str) -> list[CommitRecord]:
        """Commits made through the commit API to this repository, oldest first."""
        return list(self._store.repo(*_split_repo_id(repo_id)).commits)

    # -- Storage Buckets -------------------------------------------------------------------------

    def bucket_dir(self, bucket_id: str) -> Path:
        """Directory of a bucket (creates nothing); its regular files are the bucket's files."""
        ns, name = split_bucket_id(bucket_id)
        return self._buckets.root / ns / name

    def create_bucket(self, bucket_id: str, private: bool = False) -> Path:
        """Create a bucket (or set an existing one's visibility); returns its directory.

        A private bucket answers 401 RepoNotFound to requests without a token. A folder made by hand
        under ``ROOT/buckets`` is a public bucket too, created when first seen.
        """
        return self._buckets.create(*split_bucket_id(bucket_id), private=private).path

    def put_bucket_file(
        self,
        bucket_id: str,
        path: str,
        data: bytes | str,
        uploaded_at: float | datetime | None = None,
        *,
        mtime: float | datetime | None = None,
    ) -> Path:
        """Write a bucket file atomically (creating the bucket if needed); returns its path on disk.

        ``uploaded_at`` (epoch seconds or aware datetime; default now) becomes the file's mtime on
        disk, which is what listings report as ``uploadedAt``: ``os.utime`` on the file later moves it
        too. ``mtime`` is the uploader's file time, reported as ``mtime`` while the file is left as
        put; without one, ``mtime`` equals ``uploadedAt``.
        """
        ns, name = split_bucket_id(bucket_id)
        bucket = self._buckets.get(ns, name) or self._buckets.create(ns, name)
        content = data.encode() if isinstance(data, str) else data
        return bucket.put(path, content, _ns(uploaded_at), _ns(mtime))

    def delete_bucket_files(self, bucket_id: str, prefix_or_paths: str | Iterable[str]) -> list[str]:
        """Delete every file under a raw string prefix (``str``) or the given paths; returns those deleted."""
        bucket = self._buckets.get(*split_bucket_id(bucket_id))
        if bucket is None:
            raise FileNotFoundError(f"No bucket {bucket_id}")
        return bucket.delete_many(prefix_or_paths)

    # -- auth ----------------------------------------------------------------------------------

    @property
    def tokens(self) -> dict[str, str]:
        """A copy of the token rules: organisation -> required bearer token."""
        with self._lock:
            return dict(self._tokens)

    def require_token(self, org: str, token: str) -> None:
        """Requests for repos of ``org`` without ``Authorization: Bearer <token>`` get 401 RepoNotFound."""
        with self._lock:
            self._tokens[org] = token

    def clear_tokens(self) -> None:
        """Drop all token rules."""
        with self._lock:
            self._tokens.clear()

    # -- faults --------------------------------------------------------------------------------

    def inject(self, fault: Fault) -> None:
        """Queue a fault (consumed in injection order by matching requests)."""
        self.faults.add(fault)

    def clear_faults(self) -> None:
        """Drop pending faults."""
        self.faults.clear()

    # -- request log ---------------------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        """A copy of the requests served since the last reset."""
        return self.log.snapshot()

    def wait_for(self, predicate: Callable[[list[RequestRecord]], bool], timeout: float = 30.0) -> bool:
        """Block until ``predicate(requests so far)`` holds, checked each time a request is recorded (before
        it is answered) and on ``wake``; False when ``timeout`` seconds passed first. The predicate reads the
        list it is given, not ``requests`` (it runs under the request log's lock)."""
        return self.log.wait_for(predicate, timeout)

    def wake(self) -> None:
        """Have ``wait_for`` check its predicate again now, e.g. when it also looks at a process having ended."""
        self.log.wake()

    def clear_requests(self) -> None:
        """Forget the requests served so far."""
        self.log.clear()

    def count(
        self, method: str | None = None, path_contains: str | None = None, status: int | None = None
    ) -> int:
        """Number of recorded requests matching all the given criteria."""
        return sum(
            1
            for r in self.log.snapshot()
            if (method is None or r.method == method.upper())
            and (path_contains is None or path_contains in r.path)
            and (status is None or r.status == status)
        )

    # -- quota mode ----------------------------------------------------------------------------

    def set_quota(self, bucket: str, limit: int, window_s: int) -> None:
        """Rate-limit ``bucket`` ("api" or "resolvers"): ``limit`` requests per fixed window, per account.

        Every answer of that bucket then carries ``RateLimit``/``RateLimit-Policy``; past the limit it
        is a 429 without ``Retry-After``, which does not use up quota. Windows restart for this bucket.
        """
        self.quota.set(bucket, limit, window_s)

    def clear_quota(self) -> None:
        """Leave quota mode for every bucket."""
        self.quota.clear()

    def quota_windows(self, bucket: str, account: str | None = None) -> int:
        """How many quota windows were opened in ``bucket`` (by one account: a token or "anonymous")."""
        return self.quota.windows(bucket, account)

    def throttled(self, bucket: str | None = None) -> int:
        """Number of recorded requests refused with 429 by quota mode (in ``bucket``, or in any)."""
        return sum(1 for r in self.log.snapshot() if r.throttled and bucket in (None, r.bucket))

    # -- Xet mode ------------------------------------------------------------------------------

    def enable_xet(self) -> None:
        """LFS files (``*.parquet``) become Xet-backed: ``xetHash`` in listings, resolve answers 302 to the bridge.

        Starts the bridge on 127.0.0.2 the first time; ``set_root`` turns the mode off again.
        """
        self.bridge.start()
        self._xet = True

    @property
    def xet(self) -> bool:
        """Whether Xet mode is on."""
        return self._xet
