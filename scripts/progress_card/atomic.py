"""Replacing a file so that a reader (or a crash) sees the old content or the new, never half of it,
and editing it one writer at a time, across processes."""

from __future__ import annotations

import fcntl
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)


NEW_FILE_MODE = 0o644
"""A new file is readable by all, as files people read are (cards, the status page); a replaced one
keeps its mode."""


def write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, fsync it, rename it over `path`, fsync the folder."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=_prefix(path), suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        Path(temporary).chmod(path.stat().st_mode & 0o7777 if path.exists() else NEW_FILE_MODE)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def _prefix(path: Path) -> str:
    return f".{path.name}."


@contextmanager
def one_writer(path: Path) -> Iterator[None]:
    """Hold the lock of `path`'s folder while reading, changing and replacing `path`: runs started
    together on one machine (cron on a login node, a self-hosted runner) edit it one after the other,
    so that none loses another's change. The lock goes with the process, even a killed one; the
    temporary files a killed writer left are removed once the lock is held."""
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)
        for leftover in path.parent.glob(f"{_prefix(path)}*.tmp"):
            leftover.unlink(missing_ok=True)
            log.info("removed %s, left by a run that was stopped while writing %s", leftover.name, path.name)
        yield
    finally:
        os.close(folder)  # releases the lock
