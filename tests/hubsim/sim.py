"""HubSim: the loopback Hugging Face Hub simulator that tests start and drive."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from enum import Enum
from pathlib import Path
from types import TracebackType
from typing import overload

from .bridge import XetBridge
from .buckets import BucketStore, split_bucket_id
from .context import BUCKET_PAGE_SIZE, Context
from .faults import Fault, FaultQueue
from .jobs import (
    DEFAULT_HARDWARE,
    DEFAULT_IMAGE,
    JOBS_PAGE_SIZE,
    TERMINAL_STAGES,
    Flavor,
    Job,
    JobStore,
    User,
    check_labels,
    check_stage,
)
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


@overload
def _ns(when: float | datetime) -> int: ...
@overload
def _ns(when: float | datetime | None) -> int | None: ...
def _ns(when: float | datetime | None) -> int | None:
    """Epoch seconds or an aware datetime as epoch nanoseconds (exact to the microsecond)."""
    if when is None:
        return None
    if isinstance(when, datetime):
        return (when - _EPOCH) // timedelta(microseconds=1) * 1000
    return round(when * 1e6) * 1000


class _Keep(Enum):
    """The default of ``HubSim.set_job``'s arguments: leave that field as it is."""

    KEEP = "keep"


KEEP = _Keep.KEEP
Time = float | datetime  # epoch seconds or an aware datetime


class HubSim:
    """A Hub simulator serving ``ROOT/datasets/<org>/<name>/...`` and Storage Buckets
    ``ROOT/buckets/<ns>/<name>/...`` on a loopback port.

    ``set_root`` swaps in a fresh directory (and resets requests, faults, token rules, commits,
    snapshots, buckets, latency and every mode below), so one session-wide server can give each test
    a clean Hub.

    Modes, all off by default: quota (``set_quota``), Xet (``enable_xet``; the bridge is
    ``self.bridge``), ``resolve_cache`` (307 for regular files) and ``ignore_ranges``.

    Hugging Face Jobs live in memory (``self.jobs``, whose ``clock`` a test may replace): ``add_job``,
    ``set_job``, ``job_logs``, ``set_hardware``, ``set_user`` and ``deny_namespace`` shape what
    ``list_jobs``, ``inspect_job``, ``fetch_job_logs``, ``list_jobs_hardware`` and ``whoami`` see.
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
        self.jobs = JobStore()
        # Jobs per page of a namespace listing (1,000 unless lowered to test paging quickly)
        self.jobs_page_size = JOBS_PAGE_SIZE
        self._tokens: dict[str, str] = {}
        self.read_only: set[str] = set()
        """Tokens that may read but not write: preupload and commit answer 403."""
        self.revoked: set[str] = set()
        """Tokens the Hub does not know: every request with one answers 401."""
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
        """Serve a new root; resets requests, faults, token rules, commits, snapshots, Jobs, latency and modes."""
        with self._lock:
            Path(path).mkdir(parents=True, exist_ok=True)
            old, self._store = self._store, HubStore(Path(path))
            old.close()
            self._buckets = BucketStore(Path(path))
            self.bucket_page_size = BUCKET_PAGE_SIZE
            self.jobs.reset()
            self.jobs_page_size = JOBS_PAGE_SIZE
            self._tokens = {}
            self.read_only, self.revoked = set(), set()
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
            jobs=self.jobs,
            jobs_page_size=self.jobs_page_size,
            read_only=frozenset(self.read_only),
            revoked=frozenset(self.revoked),
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

    # -- Hugging Face Jobs -----------------------------------------------------------------------

    def add_job(
        self,
        namespace: str,
        *,
        labels: Mapping[str, str],
        flavor: str = "a100-large",
        stage: str = "SCHEDULING",
        message: str | None = None,
        created_at: Time | None = None,
        started_at: Time | None = None,
        finished_at: Time | None = None,
        running_secs: int | None = None,
        logs: Iterable[str] = (),
        job_id: str | None = None,
        docker_image: str = DEFAULT_IMAGE,
        command: Iterable[str] = ("uv", "run", "job.py"),
    ) -> str:
        """Add a Job to ``namespace`` and return its id (24 hex digits, as on the Hub, unless ``job_id``).

        Times are epoch seconds or aware datetimes; ``created_at`` defaults to ``self.jobs.clock()``.
        A Job added RUNNING or COMPLETED without ``started_at`` started then too, and one added in a
        final stage (COMPLETED, ERROR, CANCELED, DELETED) without ``finished_at`` finished then.
        ``running_secs`` freezes ``durations.runningSecs`` (otherwise computed from the times). ``logs``
        are its first log lines, dated now. Adding a Job makes ``namespace`` readable by every token
        (unless denied).
        """
        if job_id is not None and (not job_id or "/" in job_id or "?" in job_id):
            raise ValueError(f"A Job id is one URL path segment, got {job_id!r}")
        created = _ns(created_at)
        if created is None:
            created = self.jobs.now_ns()
        job = Job(
            id=job_id or self.jobs.new_id(created),
            namespace=namespace,
            labels=check_labels(labels),
            flavor=flavor,
            stage=check_stage(stage),
            message=message,
            created_ns=created,
            started_ns=_ns(started_at),
            finished_ns=_ns(finished_at),
            running_secs=running_secs,
            docker_image=docker_image,
            command=tuple(command),
        )
        self.jobs.add(self._fill_times(job))
        lines = [logs] if isinstance(logs, str) else list(logs)
        if lines:
            self.jobs.append_logs(namespace, job.id, lines, None)
        return job.id

    def set_job(
        self,
        namespace: str,
        job_id: str,
        *,
        stage: str | _Keep = KEEP,
        message: str | _Keep | None = KEEP,
        labels: Mapping[str, str] | _Keep = KEEP,
        flavor: str | _Keep = KEEP,
        created_at: Time | _Keep = KEEP,
        started_at: Time | _Keep | None = KEEP,
        finished_at: Time | _Keep | None = KEEP,
        running_secs: int | _Keep | None = KEEP,
    ) -> Job:
        """Change a Job (what is not given stays), e.g. move it SCHEDULING -> RUNNING -> COMPLETED/ERROR.

        A stage change clears ``message`` unless one is given. Entering RUNNING or COMPLETED without a
        start time sets ``started_at`` to now; entering a final stage without an end time sets
        ``finished_at`` to now (``self.jobs.clock()``). ``None`` clears a time or ``running_secs``.
        Returns the Job as stored; KeyError if there is no such Job.
        """

        def change(job: Job) -> Job:
            new = job
            if not isinstance(stage, _Keep) and stage != job.stage:
                new = replace(new, stage=check_stage(stage), message=None)
            if not isinstance(message, _Keep):
                new = replace(new, message=message)
            if not isinstance(labels, _Keep):
                new = replace(new, labels=check_labels(labels))
            if not isinstance(flavor, _Keep):
                new = replace(new, flavor=flavor)
            if not isinstance(created_at, _Keep):
                new = replace(new, created_ns=_ns(created_at))
            if not isinstance(started_at, _Keep):
                new = replace(new, started_ns=_ns(started_at))
            if not isinstance(finished_at, _Keep):
                new = replace(new, finished_ns=_ns(finished_at))
            if not isinstance(running_secs, _Keep):
                new = replace(new, running_secs=running_secs)
            return self._fill_times(new) if new.stage != job.stage else new

        return self.jobs.update(namespace, job_id, change)

    def _fill_times(self, job: Job) -> Job:
        """The start and end a Job entering ``job.stage`` gets when none was given: now (within bounds)."""
        now = self.jobs.now_ns()
        if job.started_ns is None and job.stage in ("RUNNING", "COMPLETED"):
            start = max(job.created_ns, now if job.finished_ns is None else min(now, job.finished_ns))
            job = replace(job, started_ns=start)
        if job.finished_ns is None and job.stage in TERMINAL_STAGES:
            job = replace(job, finished_ns=max(now, job.started_ns or job.created_ns))
        return job

    def job_logs(self, namespace: str, job_id: str, lines: Iterable[str], *, at: Time | None = None) -> None:
        """Append lines to a Job's log, dated ``at`` (default now, ``self.jobs.clock()``).

        ``fetch_job_logs(follow=False)`` drops lines dated after the answer's ``Date`` header: date
        them in the past, or leave the clock alone.
        """
        self.jobs.append_logs(namespace, job_id, [lines] if isinstance(lines, str) else list(lines), _ns(at))

    def job(self, namespace: str, job_id: str) -> Job:
        """The Job as stored (KeyError if there is none)."""
        return self.jobs.existing(namespace, job_id)

    def set_hardware(self, flavors: Iterable[Flavor] | None = None) -> None:
        """Serve these flavors from ``/api/jobs/hardware`` (None: the default table, ``jobs.DEFAULT_HARDWARE``)."""
        self.jobs.set_hardware(DEFAULT_HARDWARE if flavors is None else flavors)

    def set_user(self, name: str, *, orgs: Iterable[str] = (), token: str | None = None) -> None:
        """Who ``/api/whoami-v2`` says a token belongs to: ``token``'s user, or every token's when None.

        The user may read the Jobs of its own namespace and of its ``orgs``. The default user is
        ``hubsim-user`` without orgs.
        """
        self.jobs.set_user(User(name, tuple(orgs)), token)

    def deny_namespace(self, namespace: str) -> None:
        """Every token gets 403 on the Jobs of ``namespace`` (a token without access to it)."""
        self.jobs.deny(namespace)

    def allow_namespace(self, namespace: str) -> None:
        """Undo ``deny_namespace``."""
        self.jobs.allow(namespace)

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
