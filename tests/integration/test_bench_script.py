"""bench/count.py keeps working (its figures are for people to read; nothing here is timed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_the_benchmark_counts_every_method_exactly() -> None:
    small = ["--shards", "40", "--rows", "3", "--new", "5", "--latency-ms", "0"]
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "count.py"), *small],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    rows = [line.split("|")[1:-1] for line in done.stdout.splitlines() if line.startswith("| ")][1:]
    assert [(cells[0].strip(), cells[1].strip()) for cells in rows] == [
        ("straightforward", "120"),
        ("progress-card, cold", "120"),
        ("progress-card, warm", "135"),
    ]
    warm_requests = int(rows[2][3].strip())
    assert warm_requests <= 1 + 5 + 10  # one listing page, the new shards, and a few calls more
    assert "floor, warm: (1 listing pages + 5 reads / 64)" in done.stdout
