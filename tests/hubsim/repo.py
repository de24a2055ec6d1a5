"""Repository state read from disk: scanning, snapshots per commit sha, reads and commits."""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from .filecache import BlobStore, FileEntry, HashCache, stat_key
from .gitids import is_hex_sha
from .records import CommitRecord
from .responses import HubError, entry_not_found, repo_not_found, revision_not_found
from .scan import SKIP_DIRS, restat, walk
from .snapshot import Snapshot
from .watch import ChangeSet, InotifyWatcher

MAX_SNAPSHOTS = 64
BRANCH = "main"
STALE_PARENT_MESSAGE = "The branch was updated since you opened this page. Please refresh and try again."
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")


def valid_repo_part(part: str) -> bool:
    """Whether ``part`` is a usable namespace or repository name."""
    return bool(_NAME.match(part)) and ".." not in part


def valid_file_path(path: str) -> bool:
    """Whether ``path`` is a clean relative path inside a repository."""
    if not path or "\\" in path or "\0" in path or path.startswith("/"):
        return False
    return all(seg not in ("", ".", "..") and seg not in SKIP_DIRS for seg in path.split("/"))


@dataclass(frozen=True)
class AddFile:
    """Commit operation: write ``content`` at ``path``."""

    path: str
    content: bytes


@dataclass(frozen=True)
class DeleteFile:
    """Commit operation: delete file ``path``."""

    path: str


@dataclass(frozen=True)
class DeleteFolder:
    """Commit operation: delete folder ``path`` and everything below."""

    path: str


Operation = AddFile | DeleteFile | DeleteFolder


class Repo:
    """One dataset repository: a directory on disk plus the snapshots served so far."""

    def __init__(self, store: HubStore, namespace: str, name: str) -> None:
        self.store = store
        self.namespace = namespace
        self.name = name
        self.repo_id = f"{namespace}/{name}"
        self.path = store.root / "datasets" / namespace / name
        self._base = str(self.path)
        self.commit_lock = threading.Lock()
        self._scan_lock = threading.Lock()
        self._snap_lock = threading.Lock()
        self._snapshots: OrderedDict[str, Snapshot] = OrderedDict()
        self._head: Snapshot | None = None
        self._head_started = -1
        self._files: dict[str, FileEntry] = {}
        self.changes = ChangeSet()
        self.commits: list[CommitRecord] = []

    # -- state ---------------------------------------------------------------------------------

    def exists(self) -> bool:
        """A repository exists iff its directory exists."""
        return self.path.is_dir()

    def head(self) -> Snapshot:
        """The current state (re-reads the disk, sharing the work with concurrent callers)."""
        arrived = time.monotonic_ns()
        with self._scan_lock:
            if self._head is not None and self._head_started >= arrived:
                return self._head
            started = time.monotonic_ns()
            snap = self._refresh()
            self._head, self._head_started = snap, started
            return snap

    def resolve(self, rev: str) -> Snapshot:
        """The snapshot for ``main`` or a known commit sha; HubError RevisionNotFound otherwise."""
        if rev == BRANCH:
            return self.head()
        rev = rev.lower()
        if is_hex_sha(rev):
            with self._snap_lock:
                snap = self._snapshots.get(rev)
            if snap is not None:
                return snap
            head = self.head()
            if head.sha == rev:
                return head
        raise revision_not_found(rev)

    def snapshot(self, sha: str) -> Snapshot | None:
        """A stored snapshot by sha."""
        with self._snap_lock:
            return self._snapshots.get(sha)

    def _refresh(self) -> Snapshot:
        """Bring ``_files`` up to date (only changed paths when watched) and return the head snapshot."""
        watcher = self.store.watcher
        dirty = None
        if watcher is not None:
            watcher.drain()
            dirty = self.changes.take()
        head = self._head
        if dirty is None or head is None:
            changed = self._full_scan()
        else:
            changed = restat(self._base, self.store.hashes, self._files, dirty)
        if not changed and head is not None:
            return head
        files = self._files
        snap = Snapshot({p: files[p] for p in sorted(files)})
        with self._snap_lock:
            known = self._snapshots.get(snap.sha)
            if known is not None and known.same_state(snap):
                snap = known
            self._snapshots[snap.sha] = snap
            self._snapshots.move_to_end(snap.sha)
            while len(self._snapshots) > MAX_SNAPSHOTS:
                self._snapshots.popitem(last=False)
        return snap

    def _full_scan(self) -> bool:
        watcher = self.store.watcher
        on_dir = None
        ok = True
        if watcher is not None:
            watcher.unwatch(self.changes)

            def on_dir(abs_dir: str, rel_dir: str) -> None:
                nonlocal ok
                ok = ok and watcher.watch(self.changes, abs_dir, rel_dir)

        try:
            files, changed = walk(self._base, self.store.hashes, self._files, on_dir)
        except FileNotFoundError:
            self._files = {}
            self.changes.watched = False
            if watcher is not None:
                watcher.unwatch(self.changes)
            raise repo_not_found() from None
        if watcher is not None and not ok:
            watcher.unwatch(self.changes)  # watch limit reached: keep doing full scans
        self.changes.watched = watcher is not None and ok
        self._files = files
        return changed

    # -- reads ---------------------------------------------------------------------------------

    def abs_path(self, path: str) -> str:
        """Absolute path on disk of repository file ``path``."""
        return self._base + "/" + path

    def disk_entry(self, path: str) -> FileEntry | None:
        """Entry of the file now at ``path`` on disk (stat + hash cache), None if there is none."""
        if not valid_file_path(path):
            return None
        abs_path = self.abs_path(path)
        try:
            st = Path(abs_path).stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not stat.S_ISREG(st.st_mode):
            return None
        return self.store.hashes.entry(abs_path, path, stat_key(st))

    def main_entry(self, path: str) -> tuple[FileEntry, Snapshot] | None:
        """Entry of ``path`` at ``main`` with a snapshot holding it, without a full scan when possible."""
        entry = self.disk_entry(path)
        if entry is None:
            return None
        head = self._head
        if head is not None and head.files.get(path) == entry:
            return entry, head
        snap = self.head()
        found = snap.files.get(path)
        return None if found is None else (found, snap)

    def read(self, entry: FileEntry, start: int, stop: int) -> bytes | None:
        """Bytes ``[start, stop)`` of ``entry``'s content, or None if that content is no longer available."""
        data = self.store.blobs.get(entry.blob_sha1)
        if data is not None:
            return data[start:stop]
        abs_path = self.abs_path(entry.path)
        hashes = self.store.hashes
        for _ in range(3):
            try:
                f = open(abs_path, "rb")  # noqa: PTH123, SIM115 - hot path
            except OSError:
                return None
            with f:
                key = stat_key(os.fstat(f.fileno()))
                cached = hashes.lookup(abs_path, key)
                if cached is not None:
                    if cached.blob_sha1 != entry.blob_sha1:
                        return None
                    f.seek(start)
                    data = f.read(stop - start)
                    if stat_key(os.fstat(f.fileno())) == key:
                        return data
                    continue
            loaded = hashes.load(abs_path, entry.path)
            if loaded is None or loaded[0].blob_sha1 != entry.blob_sha1:
                return None
            return loaded[1][start:stop]
        return None

    # -- commits -------------------------------------------------------------------------------

    def commit(self, ops: list[Operation], title: str, description: str, parent: str | None) -> CommitRecord:
        """Apply ``ops`` to ``main`` atomically with respect to other commits; returns the record."""
        with self.commit_lock:
            head = self.head()
            if parent is not None and not head.sha.startswith(parent.lower()):
                raise HubError(412, STALE_PARENT_MESSAGE)
            for op in ops:
                self._check(op, head)
            now_ns = time.time_ns()
            for op in ops:
                self._apply(op, now_ns)
            snap = self.head()
            record = CommitRecord(
                sha=snap.sha,
                title=title,
                description=description,
                parent=head.sha,
                files={op.path: op.content for op in ops if isinstance(op, AddFile)},
                deleted=tuple(op.path for op in ops if not isinstance(op, AddFile)),
                time=now_ns / 1e9,
            )
            self.commits.append(record)
            return record

    def _check(self, op: Operation, head: Snapshot) -> None:
        if not valid_file_path(op.path):
            raise HubError(422, f"Invalid path: {op.path!r}")
        if isinstance(op, DeleteFile) and op.path not in head.files:
            raise entry_not_found(head.sha)
        if isinstance(op, DeleteFolder) and op.path not in head.dirs:
            raise entry_not_found(head.sha)
        if isinstance(op, AddFile):
            if op.path in head.dirs:
                raise HubError(422, f"Invalid path: {op.path!r} is a folder")
            parts = op.path.split("/")
            for i in range(1, len(parts)):
                if "/".join(parts[:i]) in head.files:
                    raise HubError(422, f"Invalid path: {op.path!r} is below a file")

    def _apply(self, op: Operation, now_ns: int) -> None:
        target = Path(self.abs_path(op.path))
        if isinstance(op, AddFile):
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp_dir = self.store.tmp_dir()
            fd, tmp = tempfile.mkstemp(dir=tmp_dir, prefix="commit-")
            with os.fdopen(fd, "wb") as f:
                f.write(op.content)
            os.utime(tmp, ns=(now_ns, now_ns))
            Path(tmp).replace(target)
        elif isinstance(op, DeleteFile):
            target.unlink(missing_ok=True)
        else:
            shutil.rmtree(target, ignore_errors=True)
        parent = target.parent
        while parent != self.path and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent


class HubStore:
    """All repositories under one root directory, with the caches shared between them."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).absolute()
        self.blobs = BlobStore()
        self.hashes = HashCache(self.blobs)
        self.private: set[str] = set()
        self.watcher = InotifyWatcher.create()
        self._lock = threading.Lock()
        self._repos: dict[tuple[str, str], Repo] = {}

    def repo(self, namespace: str, name: str) -> Repo:
        """The repository object (which may not exist on disk); RepoNotFound for invalid names."""
        if not (valid_repo_part(namespace) and valid_repo_part(name)):
            raise repo_not_found()
        with self._lock:
            repo = self._repos.get((namespace, name))
            if repo is None:
                repo = self._repos[(namespace, name)] = Repo(self, namespace, name)
            return repo

    def existing(self, namespace: str, name: str) -> Repo:
        """An existing repository, or HubError RepoNotFound."""
        repo = self.repo(namespace, name)
        if not repo.exists():
            raise repo_not_found()
        return repo

    def tmp_dir(self) -> Path:
        """Scratch directory on the same filesystem as the repositories (for atomic writes)."""
        path = self.root / ".hubsim-tmp"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def close(self) -> None:
        """Release the change watcher (the store keeps working with full scans)."""
        watcher, self.watcher = self.watcher, None
        if watcher is not None:
            watcher.close()
