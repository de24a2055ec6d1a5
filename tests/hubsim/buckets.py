"""Storage Buckets on disk: ``ROOT/buckets/<ns>/<name>/<path>``, mutable, no commits, Xet-backed.

Times, one rule: a file's mtime on disk **is** its ``uploadedAt`` (when the Hub received it), so a
test back-dates an upload with ``os.utime`` or ``HubSim.put_bucket_file(..., uploaded_at=...)``.
``mtime`` is the uploader's own file time, which the real client sends with each ``addFile``:
``put_bucket_file(..., mtime=...)`` records one, kept while the file stays as it was put (same
size, mtime, ctime and inode); otherwise ``mtime`` equals ``uploadedAt``.

``xetHash`` is derived from the content's sha256 (``xet.xet_hash``), as the Xet mode of dataset
repositories derives it, so equal bytes have equal hashes wherever they are stored.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .filecache import RACY_MARGIN_NS, StatKey, stat_key
from .repo import valid_file_path, valid_repo_part
from .responses import repo_not_found
from .scan import SKIP_DIRS
from .xet import xet_hash


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file as one stat sees it (cheap: listings of directories and bucket totals need no hash)."""

    path: str
    size: int
    uploaded_ns: int  # the file's mtime on disk


@dataclass(frozen=True, slots=True)
class BucketObject:
    """A file with its content identity, as tree entries, paths-info and resolve describe it."""

    path: str
    size: int
    uploaded_ns: int
    mtime_ns: int  # the uploader's file time (``uploaded_ns`` unless one was recorded)
    sha256: str
    xet_hash: str
    key: StatKey  # the stat the hash belongs to


@dataclass(frozen=True)
class BucketMeta:
    """What a bucket is besides its files."""

    private: bool
    created_ns: int


def split_bucket_id(bucket_id: str) -> tuple[str, str]:
    """``"ns/name"`` -> ``("ns", "name")``; ValueError for anything else."""
    ns, sep, name = bucket_id.partition("/")
    if not sep or not valid_repo_part(ns) or not valid_repo_part(name):
        raise ValueError(f"Expected a bucket id 'namespace/name', got {bucket_id!r}")
    return ns, name


class Bucket:
    """One bucket: a directory whose regular files are the bucket's files."""

    def __init__(self, store: BucketStore, namespace: str, name: str, meta: BucketMeta) -> None:
        self.store = store
        self.namespace = namespace
        self.name = name
        self.bucket_id = f"{namespace}/{name}"
        self.path = store.root / namespace / name
        self._base = str(self.path)
        self.meta = meta

    def abs_path(self, path: str) -> str:
        """Absolute path on disk of bucket file ``path``."""
        return self._base + "/" + path

    # -- listing -------------------------------------------------------------------------------

    def files(self, prefix: str = "") -> list[StoredFile]:
        """Every file whose path starts with ``prefix`` (a raw string prefix, as the Hub matches it), by path."""
        start = prefix[: prefix.rfind("/") + 1]  # the deepest folder the prefix names in full
        out: list[StoredFile] = []
        stack = [start]
        while stack:
            rel_dir = stack.pop()
            try:
                it = os.scandir(self._base + "/" + rel_dir if rel_dir else self._base)
            except (FileNotFoundError, NotADirectoryError):
                continue
            with it:
                for de in it:
                    rel = rel_dir + de.name
                    if de.is_dir(follow_symlinks=False):
                        if de.name not in SKIP_DIRS and (rel + "/").startswith(prefix[: len(rel) + 1]):
                            stack.append(rel + "/")
                        continue
                    if not rel.startswith(prefix):
                        continue
                    try:
                        st = de.stat(follow_symlinks=False)
                    except FileNotFoundError:
                        continue
                    if stat.S_ISREG(st.st_mode):
                        out.append(StoredFile(rel, st.st_size, st.st_mtime_ns))
        out.sort(key=lambda f: f.path)
        return out

    def stored(self, path: str) -> StoredFile | None:
        """The file now at ``path`` (one stat), None if there is none."""
        if not valid_file_path(path):
            return None
        try:
            st = os.stat(self.abs_path(path), follow_symlinks=False)  # noqa: PTH116 - hot path
        except (FileNotFoundError, NotADirectoryError):
            return None
        return StoredFile(path, st.st_size, st.st_mtime_ns) if stat.S_ISREG(st.st_mode) else None

    def object(self, path: str) -> BucketObject | None:
        """The file now at ``path`` with its content hash (cached while its stat is unchanged)."""
        if not valid_file_path(path):
            return None
        return self.store.hashes.object(self.abs_path(path), path)

    # -- reads and writes ----------------------------------------------------------------------

    def read(self, obj: BucketObject, start: int, stop: int) -> bytes | None:
        """Bytes ``[start, stop)`` of ``obj``'s content; None once the file holds other content."""
        for _ in range(3):
            try:
                f = open(self.abs_path(obj.path), "rb")  # noqa: PTH123, SIM115 - hot path
            except OSError:
                return None
            with f:
                key = stat_key(os.fstat(f.fileno()))
                if key != obj.key:
                    now = self.object(obj.path)
                    if now is None or now.sha256 != obj.sha256:
                        return None
                    obj = now
                    continue
                f.seek(start)
                data = f.read(stop - start)
                if stat_key(os.fstat(f.fileno())) == key:
                    return data
        return None

    def put(self, path: str, data: bytes, uploaded_ns: int | None, mtime_ns: int | None) -> Path:
        """Write ``data`` at ``path`` atomically (a listing never sees half a file); returns its path."""
        if not valid_file_path(path):
            raise ValueError(f"Invalid bucket file path: {path!r}")
        target = Path(self.abs_path(path))
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.store.tmp_dir(), prefix="bucket-")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        if uploaded_ns is not None:
            os.utime(tmp, ns=(uploaded_ns, uploaded_ns))
        Path(tmp).replace(target)
        if mtime_ns is not None:
            self.store.hashes.set_client_mtime(str(target), stat_key(target.stat()), mtime_ns)
        return target

    def delete(self, path: str) -> bool:
        """Delete file ``path`` (and the folders it leaves empty); whether there was one."""
        if self.stored(path) is None:
            return False
        target = Path(self.abs_path(path))
        try:
            target.unlink()
        except FileNotFoundError:
            return False
        parent = target.parent
        while parent != self.path and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent
        return True

    def delete_many(self, prefix_or_paths: str | Iterable[str]) -> list[str]:
        """Delete every file under a raw string prefix, or the given paths; returns the paths deleted."""
        paths = (
            [f.path for f in self.files(prefix_or_paths)]
            if isinstance(prefix_or_paths, str)
            else list(prefix_or_paths)
        )
        return [p for p in paths if self.delete(p)]


class BucketHashes:
    """sha256 per file, valid while the file's stat key is unchanged; plus recorded uploader mtimes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # abs path -> (stat key, sha256, ctime below which the hash is trusted)
        self._hashes: dict[str, tuple[StatKey, str, int]] = {}
        self._client_mtimes: dict[str, tuple[StatKey, int]] = {}

    def set_client_mtime(self, abs_path: str, key: StatKey, mtime_ns: int) -> None:
        """Record the uploader's mtime of the file now at ``abs_path`` (with stat ``key``)."""
        with self._lock:
            self._client_mtimes[abs_path] = (key, mtime_ns)

    def object(self, abs_path: str, rel_path: str) -> BucketObject | None:
        """The file now at ``abs_path`` with its hash; None if it is gone or not a regular file."""
        for _ in range(5):
            try:
                f = open(abs_path, "rb")  # noqa: PTH123, SIM115 - hot path
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                return None
            with f:
                st = os.fstat(f.fileno())
                if not stat.S_ISREG(st.st_mode):
                    return None
                key = stat_key(st)
                with self._lock:
                    hit = self._hashes.get(abs_path)
                    client = self._client_mtimes.get(abs_path)
                if hit is not None and hit[0] == key and key[2] < hit[2]:
                    sha256 = hit[1]
                else:
                    hashed_at = time.time_ns()
                    sha256 = hashlib.file_digest(f, "sha256").hexdigest()
                    if stat_key(os.fstat(f.fileno())) != key:
                        continue  # written while we read: try again
                    with self._lock:
                        self._hashes[abs_path] = (key, sha256, hashed_at - RACY_MARGIN_NS)
            mtime_ns = client[1] if client is not None and client[0] == key else key[1]
            return BucketObject(rel_path, key[0], key[1], mtime_ns, sha256, xet_hash(sha256), key)
        raise OSError(f"{abs_path} keeps changing while being hashed")


class BucketStore:
    """All buckets under ``ROOT/buckets``: existence is the folder's, the rest is kept here."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).absolute() / "buckets"
        self._tmp = Path(root).absolute() / ".hubsim-tmp"
        self.hashes = BucketHashes()
        self._lock = threading.Lock()
        self._meta: dict[str, BucketMeta] = {}

    def tmp_dir(self) -> Path:
        """Scratch directory on the buckets' filesystem (for atomic writes)."""
        self._tmp.mkdir(parents=True, exist_ok=True)
        return self._tmp

    def create(self, namespace: str, name: str, private: bool = False) -> Bucket:
        """Create a bucket (or change the visibility of an existing one)."""
        if not (valid_repo_part(namespace) and valid_repo_part(name)):
            raise ValueError(f"Invalid bucket id: {namespace}/{name}")
        (self.root / namespace / name).mkdir(parents=True, exist_ok=True)
        with self._lock:
            old = self._meta.get(f"{namespace}/{name}")
            meta = BucketMeta(private, old.created_ns if old else time.time_ns())
            self._meta[f"{namespace}/{name}"] = meta
        return Bucket(self, namespace, name, meta)

    def get(self, namespace: str, name: str) -> Bucket | None:
        """The bucket if its folder exists (one made by hand is public, created when first seen)."""
        if not (valid_repo_part(namespace) and valid_repo_part(name)):
            return None
        path = self.root / namespace / name
        try:
            st = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not stat.S_ISDIR(st.st_mode):
            return None
        with self._lock:
            meta = self._meta.setdefault(f"{namespace}/{name}", BucketMeta(False, st.st_mtime_ns))
        return Bucket(self, namespace, name, meta)

    def existing(self, namespace: str, name: str) -> Bucket:
        """An existing bucket, or HubError 404 RepoNotFound (which the client turns into BucketNotFoundError)."""
        bucket = self.get(namespace, name)
        if bucket is None:
            raise repo_not_found()
        return bucket
