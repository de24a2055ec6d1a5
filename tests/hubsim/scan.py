"""Reading a repository directory into ``{path: FileEntry}``: full walks and single-file re-stats."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable

from .filecache import FileEntry, HashCache

SKIP_DIRS = frozenset({".git"})

#: Called with (absolute dir, relative dir ending in "/" or "") before a directory is listed.
OnDir = Callable[[str, str], None]


def walk(
    base: str, hashes: HashCache, prev: dict[str, FileEntry], on_dir: OnDir | None = None
) -> tuple[dict[str, FileEntry], bool]:
    """All regular files below ``base`` (``.git`` skipped) and whether they differ from ``prev``.

    Raises FileNotFoundError when ``base`` itself is missing. Unchanged files cost one stat each.
    """
    files: dict[str, FileEntry] = {}
    changed = False
    lookup, prev_get = hashes.lookup, prev.get
    stack = [(base, "")]
    while stack:
        abs_dir, rel_dir = stack.pop()
        if on_dir is not None:
            on_dir(abs_dir, rel_dir)
        try:
            it = os.scandir(abs_dir)
        except (FileNotFoundError, NotADirectoryError):
            if not rel_dir:
                raise FileNotFoundError(base) from None
            changed = True
            continue
        with it:
            for de in it:
                if de.is_dir(follow_symlinks=False):
                    if de.name not in SKIP_DIRS:
                        stack.append((de.path, rel_dir + de.name + "/"))
                    continue
                try:
                    st = de.stat()
                except FileNotFoundError:
                    continue
                if not stat.S_ISREG(st.st_mode):
                    continue
                rel = rel_dir + de.name
                key = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
                entry = lookup(de.path, key) or hashes.entry(de.path, rel)
                if entry is None:
                    continue
                files[rel] = entry
                if prev_get(rel) is not entry:
                    changed = True
    return files, changed or len(files) != len(prev)


def restat(base: str, hashes: HashCache, files: dict[str, FileEntry], paths: set[str]) -> bool:
    """Update ``files`` in place for the given changed ``paths``; whether anything changed."""
    changed = False
    for rel in paths:
        if any(seg in SKIP_DIRS for seg in rel.split("/")):
            continue
        abs_path = base + "/" + rel
        try:
            st = os.stat(abs_path)  # noqa: PTH116 - hot path
        except (FileNotFoundError, NotADirectoryError):
            st = None
        entry = None
        if st is not None and stat.S_ISREG(st.st_mode):
            key = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
            entry = hashes.lookup(abs_path, key) or hashes.entry(abs_path, rel)
        if entry is None:
            changed |= files.pop(rel, None) is not None
        elif files.get(rel) is not entry:
            files[rel] = entry
            changed = True
    return changed
