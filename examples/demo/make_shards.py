"""Write the demo's dataset: an input split and the shards a generation job has uploaded so far.

The shards are back-dated as if one had arrived every 40 minutes, so that the demo's ETA has a
history to go on. Running it again rewrites the same bytes and moves the dates along.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).parent
INPUT_ROWS = (2_000, 2_000, 1_000)  # three input files: 5,000 prompts
UPLOADED = {"default": (400, 400, 400, 400, 400), "math": (250, 250, 250)}
"""Where datatrove writes each config: `<config>/`, `default/` for the default config."""
MINUTES_BETWEEN_SHARDS = 40


def table(rows: int, start: int, column: str) -> pa.Table:
    return pa.table(
        {
            "id": list(range(start, start + rows)),
            column: [f"document {i}" for i in range(start, start + rows)],
        }
    )


def write(path: Path, data: pa.Table) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(data, path)


def main() -> None:
    start = 0
    for index, rows in enumerate(INPUT_ROWS):
        write(
            HERE / "input" / "data" / f"train-{index:05d}-of-{len(INPUT_ROWS):05d}.parquet",
            table(rows, start, "prompt"),
        )
        start += rows
    now = time.time()
    for folder, shards in UPLOADED.items():
        start = 0
        for index, rows in enumerate(shards):
            path = HERE / folder / f"00000_{index:05d}.parquet"
            write(path, table(rows, start, "completion"))
            start += rows
            committed = now - (len(shards) - index) * MINUTES_BETWEEN_SHARDS * 60
            os.utime(path, (committed, committed))


if __name__ == "__main__":
    main()
