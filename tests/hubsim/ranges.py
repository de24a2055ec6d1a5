"""HTTP ``Range: bytes=...`` parsing (single ranges only) and what to answer for it."""

from __future__ import annotations

import re
from dataclasses import dataclass

_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


class Unsatisfiable(Exception):
    """The range cannot be served (answer 416 with ``Content-Range: bytes */size``)."""


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """Return ``(start, stop)`` (stop exclusive) to serve, or None to serve the whole file.

    Supports ``bytes=S-E``, ``bytes=S-`` and suffix ``bytes=-N``. A header we do not understand
    (several ranges, bad syntax) is ignored, as RFC 9110 allows.
    """
    if not header:
        return None
    m = _RANGE.match(header)
    if m is None:
        return None
    first, last = m.group(1), m.group(2)
    if first == "" and last == "":
        return None
    if first == "":
        n = int(last)
        if n == 0 or size == 0:
            raise Unsatisfiable
        return max(0, size - n), size
    start = int(first)
    if last and int(last) < start:
        return None  # syntactically invalid: ignore
    if start >= size:
        raise Unsatisfiable
    end = int(last) if last else size - 1
    return start, min(end, size - 1) + 1


def is_suffix_range(header: str | None) -> bool:
    """Whether ``header`` asks for the last N bytes (``bytes=-N``)."""
    m = _RANGE.match(header or "")
    return m is not None and m.group(1) == "" and m.group(2) != ""


@dataclass(frozen=True)
class Slice:
    """How to answer a (possibly ranged) read: status 200, 206 or 416, bytes ``[start, stop)``."""

    status: int
    start: int
    stop: int
    content_range: str | None = None  # the Content-Range header to send, if any


def plan(header: str | None, size: int, ignore_ranges: bool = False, suffix_ok: bool = True) -> Slice:
    """The slice to serve for ``Range: header`` of a ``size``-byte file.

    ``ignore_ranges`` answers every read with the whole file (a server that ignores Range);
    ``suffix_ok=False`` refuses ``bytes=-N`` with 416, as the Xet bridge does.
    """
    if ignore_ranges:
        return Slice(200, 0, size)
    unsatisfiable = Slice(416, 0, 0, f"bytes */{size}")
    if not suffix_ok and is_suffix_range(header):
        return unsatisfiable
    try:
        rng = parse_range(header, size)
    except Unsatisfiable:
        return unsatisfiable
    if rng is None:
        return Slice(200, 0, size)
    start, stop = rng
    return Slice(206, start, stop, f"bytes {start}-{stop - 1}/{size}")
