"""Git-like identifiers, LFS pointers and Hub date strings."""

from __future__ import annotations

import hashlib
import time

LFS_SUFFIXES: tuple[str, ...] = (".parquet",)


def is_lfs_path(path: str) -> bool:
    """Whether the Hub would store ``path`` through LFS (the simulator only tracks ``*.parquet``)."""
    return path.lower().endswith(LFS_SUFFIXES)


def git_blob_oid(data: bytes) -> str:
    """Git blob id: ``sha1(b"blob <len>\\0" + data)``."""
    h = hashlib.sha1(b"blob %d\0" % len(data))
    h.update(data)
    return h.hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    """The text of the git-lfs pointer file for a blob."""
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


def derive_id(*parts: object) -> str:
    """A stable 40-hex id derived from ``parts``."""
    h = hashlib.sha1()
    for part in parts:
        h.update(str(part).encode())
        h.update(b"\0")
    return h.hexdigest()


def hub_date(mtime_ns: int) -> str:
    """Format a ns timestamp the way the Hub does: ``2024-05-01T12:00:00.000Z`` (UTC, always ``Z``)."""
    secs, rem = divmod(mtime_ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{rem // 1_000_000:03d}Z"


def is_hex_sha(rev: str) -> bool:
    """Whether ``rev`` looks like a full 40-hex commit id."""
    return len(rev) == 40 and all(c in "0123456789abcdef" for c in rev)
