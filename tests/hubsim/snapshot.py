"""Immutable repository states (one per commit sha) and the listings derived from them."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from .filecache import FileEntry
from .gitids import derive_id, hub_date
from .xet import xet_hash

_MTIME = attrgetter("mtime_ns")


@dataclass(frozen=True, slots=True)
class DirInfo:
    """A directory of a snapshot: its tree oid and the newest file below it."""

    path: str
    oid: str
    newest: FileEntry


@dataclass(slots=True)
class _Derived:
    dirs: dict[str, DirInfo]
    subdirs: dict[str, list[str]]
    files_in: dict[str, list[str]]


def last_commit(entry: FileEntry) -> dict[str, str]:
    """The ``lastCommit`` of a file: derived from its path, oid and mtime (its date is the mtime)."""
    return {
        "id": derive_id("commit", entry.path, entry.oid, entry.mtime_ns),
        "title": f"Upload {entry.path}",
        "date": hub_date(entry.mtime_ns),
    }


def file_json(entry: FileEntry, expand: bool = False, xet: bool = False) -> dict[str, Any]:
    """A tree / paths-info entry for a file (with ``xetHash`` for LFS files when ``xet``)."""
    out: dict[str, Any] = {"type": "file", "oid": entry.oid, "size": entry.size, "path": entry.path}
    if entry.lfs_sha256 is not None:
        out["lfs"] = {"oid": entry.lfs_sha256, "size": entry.size, "pointerSize": entry.pointer_size}
        if xet:
            out["xetHash"] = xet_hash(entry.lfs_sha256)
    if expand:
        out["lastCommit"] = last_commit(entry)
    return out


def dir_json(info: DirInfo, expand: bool = False) -> dict[str, Any]:
    """A tree / paths-info entry for a directory."""
    out: dict[str, Any] = {"type": "directory", "oid": info.oid, "size": 0, "path": info.path}
    if expand:
        out["lastCommit"] = last_commit(info.newest)
    return out


class Snapshot:
    """The files of a repository at one commit; directories and listings are derived lazily."""

    def __init__(self, files: dict[str, FileEntry]) -> None:
        """``files`` must be keyed by path in sorted order."""
        self.files = files
        content = "".join([f"{p}\0{e.oid}\n" for p, e in files.items()]).encode()
        self.sha = hashlib.sha1(b"hubsim-commit\0" + content).hexdigest()
        self.mtime_ns = max([e.mtime_ns for e in files.values()], default=0)
        self._lock = threading.Lock()
        self._derived: _Derived | None = None
        self._listings: dict[tuple[str, bool], list[str]] = {}

    def same_state(self, other: Snapshot) -> bool:
        """Whether ``other`` holds the very same entries (same content *and* mtimes)."""
        return len(self.files) == len(other.files) and all(
            other.files.get(p) == e for p, e in self.files.items()
        )

    def _derive(self) -> _Derived:
        with self._lock:
            if self._derived is None:
                self._derived = _build_dirs(self.files)
            return self._derived

    @property
    def dirs(self) -> dict[str, DirInfo]:
        """Every directory holding at least one file, by path (the root ``""`` excluded)."""
        return self._derive().dirs

    def is_dir(self, path: str) -> bool:
        """Whether ``path`` is a directory (``""`` is the root and always one)."""
        return path == "" or path in self.dirs

    def listing(self, path: str, recursive: bool) -> list[str]:
        """Paths below directory ``path``: directories first, then files, each sorted."""
        key = (path, recursive)
        with self._lock:
            hit = self._listings.get(key)
        if hit is not None:
            return hit
        derived = self._derive()
        if not recursive:
            out = sorted(derived.subdirs.get(path, ())) + derived.files_in.get(path, [])
        elif path == "":
            out = sorted(derived.dirs) + list(self.files)
        else:
            prefix = path + "/"
            out = [d for d in sorted(derived.dirs) if d.startswith(prefix)]
            out += [f for f in self.files if f.startswith(prefix)]
        with self._lock:
            self._listings[key] = out
        return out

    def entry_json(self, path: str, expand: bool, xet: bool = False) -> dict[str, Any] | None:
        """The tree entry of a file or directory ``path``, None if absent."""
        entry = self.files.get(path)
        if entry is not None:
            return file_json(entry, expand, xet)
        info = self.dirs.get(path)
        return None if info is None else dir_json(info, expand)


def _build_dirs(files: dict[str, FileEntry]) -> _Derived:
    """Derive directories (tree oids, newest file) and per-directory children from sorted files."""
    files_in: dict[str, list[str]] = {}
    for path in files:
        parent = path.rpartition("/")[0]
        bucket = files_in.get(parent)
        if bucket is None:
            files_in[parent] = [path]
        else:
            bucket.append(path)
    subdirs: dict[str, list[str]] = {}
    known: set[str] = set()
    for parent in files_in:
        d = parent
        while d and d not in known:
            known.add(d)
            up = d.rpartition("/")[0]
            subdirs.setdefault(up, []).append(d)
            d = up
    for children in subdirs.values():
        children.sort()
    dirs: dict[str, DirInfo] = {}
    for d in sorted(known, key=lambda p: p.count("/"), reverse=True):
        subs = [dirs[sub] for sub in subdirs.get(d, ())]
        entries = [files[fp] for fp in files_in.get(d, ())]
        cut = len(d) + 1
        parts = [f"tree {i.path[cut:]} {i.oid}" for i in subs]
        parts += [f"blob {e.path[cut:]} {e.oid}" for e in entries]
        newest = max([i.newest for i in subs] + entries, key=_MTIME)
        dirs[d] = DirInfo(d, derive_id("tree", "\n".join(parts)), newest)
    return _Derived(dirs=dirs, subdirs=subdirs, files_in=files_in)
