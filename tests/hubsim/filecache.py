"""Per-file hash cache (so rescans only stat) and a store of small blob contents."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from .gitids import git_blob_oid, is_lfs_path, lfs_pointer

#: A file whose ctime is this close to the moment it was hashed may have changed again within the
#: same timestamp tick ("racy git"), so its cached hash is not trusted and it is re-read next time.
RACY_MARGIN_NS = 50_000_000
#: Files smaller than this have their bytes kept, so that past revisions can still be served.
SMALL_FILE_LIMIT = 1 << 20

StatKey = tuple[int, int, int, int]


def stat_key(st: os.stat_result) -> StatKey:
    """What identifies one version of a file on disk: size, mtime, ctime, inode."""
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One file of a repository at one commit."""

    path: str
    size: int
    mtime_ns: int
    blob_sha1: str  # git blob id of the content (what preupload reports)
    lfs_sha256: str | None  # set for LFS-tracked files
    oid: str  # tree oid: the blob id, or for LFS files the blob id of the pointer
    pointer_size: int = 0

    @property
    def etag(self) -> str:
        """The ETag the Hub sends on resolve: sha256 for LFS files, blob id otherwise."""
        return self.lfs_sha256 or self.blob_sha1


def make_entry(path: str, data: bytes, mtime_ns: int) -> FileEntry:
    """Build the entry of ``data`` stored at ``path``."""
    blob = git_blob_oid(data)
    if not is_lfs_path(path):
        return FileEntry(path, len(data), mtime_ns, blob, None, blob)
    sha256 = hashlib.sha256(data).hexdigest()
    pointer = lfs_pointer(sha256, len(data))
    return FileEntry(path, len(data), mtime_ns, blob, sha256, git_blob_oid(pointer), len(pointer))


class BlobStore:
    """Content-addressed bytes of small files, bounded in total size (least recently used dropped)."""

    def __init__(self, max_bytes: int = 256 << 20) -> None:
        self._max = max_bytes
        self._total = 0
        self._data: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, oid: str, data: bytes) -> None:
        """Keep ``data`` under its blob id."""
        with self._lock:
            if oid in self._data:
                self._data.move_to_end(oid)
                return
            self._data[oid] = data
            self._total += len(data)
            while self._total > self._max and len(self._data) > 1:
                _, old = self._data.popitem(last=False)
                self._total -= len(old)

    def get(self, oid: str) -> bytes | None:
        """The bytes kept for ``oid``, if any."""
        with self._lock:
            data = self._data.get(oid)
            if data is not None:
                self._data.move_to_end(oid)
            return data


class HashCache:
    """Maps an absolute file path to its entry, valid while the file's stat key is unchanged."""

    def __init__(self, blobs: BlobStore) -> None:
        self._blobs = blobs
        self._lock = threading.Lock()
        # abs path -> (stat key, entry, ctime below which the entry is trusted)
        self._cache: dict[str, tuple[StatKey, FileEntry, int]] = {}

    def lookup(self, abs_path: str, key: StatKey) -> FileEntry | None:
        """The cached entry if the file still has stat ``key`` and was not racily hashed."""
        hit = self._cache.get(abs_path)  # a single dict read: atomic, no lock needed
        if hit is None or hit[0] != key or key[2] >= hit[2]:
            return None
        return hit[1]

    def entry(self, abs_path: str, rel_path: str, key: StatKey | None = None) -> FileEntry | None:
        """The entry of the file now on disk (hashing it if needed); None if it is gone."""
        if key is not None:
            hit = self.lookup(abs_path, key)
            if hit is not None:
                return hit
        loaded = self.load(abs_path, rel_path)
        return None if loaded is None else loaded[0]

    def load(self, abs_path: str, rel_path: str) -> tuple[FileEntry, bytes] | None:
        """Read and hash the file now on disk, caching its entry; None if it is gone."""
        for _ in range(5):
            hashed_at = time.time_ns()
            try:
                with open(abs_path, "rb") as f:  # noqa: PTH123 - hot path
                    before = stat_key(os.fstat(f.fileno()))
                    data = f.read()
                    after = stat_key(os.fstat(f.fileno()))
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                return None
            if before != after or len(data) != after[0]:
                continue  # written while we read: try again
            entry = make_entry(rel_path, data, after[1])
            if len(data) < SMALL_FILE_LIMIT:
                self._blobs.put(entry.blob_sha1, data)
            with self._lock:
                self._cache[abs_path] = (after, entry, hashed_at - RACY_MARGIN_NS)
            return entry, data
        raise OSError(f"{abs_path} keeps changing while being hashed")
