"""Builders the tests share: real parquet shards and manifests."""

from __future__ import annotations

import io
import os
from pathlib import Path
from textwrap import dedent

import pyarrow as pa
import pyarrow.parquet as pq


def parquet_bytes(rows: int, start: int = 0) -> bytes:
    """A real parquet file with `rows` rows, like a generation job's shard."""
    table = pa.table(
        {
            "id": list(range(start, start + rows)),
            "completion": [f"text {i}" for i in range(start, start + rows)],
        }
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def write_shard(path: Path, rows: int, mtime: float | None = None) -> Path:
    """Write a shard at `path`; `mtime` back-dates it (the Hub simulator reports it as its commit time)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(parquet_bytes(rows))
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def write_manifest(folder: Path, text: str) -> Path:
    path = folder / "jobs.yaml"
    path.write_text(dedent(text).lstrip("\n"), encoding="utf-8")
    return path
