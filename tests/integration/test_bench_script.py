"""bench/count.py keeps working (its figures are for people to read; nothing here is timed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
POOL = 64  # progress-card's default pool, which the benchmark uses without --pool


def tables(text: str) -> list[list[list[str]]]:
    """The rows (their stripped cells) of each Markdown table in `text`, header and separator left out."""
    found: list[list[list[str]]] = []
    previous = ""
    for line in text.splitlines():
        if line.startswith("| "):
            if not previous.startswith("|"):
                found.append([])
            found[-1].append([cell.strip() for cell in line.split("|")[1:-1]])
        previous = line
    return [table[1:] for table in found]  # the separator ("|---|...") was never kept


def test_the_benchmark_counts_every_method_exactly() -> None:
    small = ["--shards", "40", "--rows", "3", "--new", "5", "--latency-ms", "0"]
    free = ["--free-resolvers", "15", "--free-api", "50", "--window-s", "1"]  # 40 reads: 3 windows
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "count.py"), *small, *free],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    side_by_side, free_account = tables(done.stdout)
    assert [(cells[0], cells[1]) for cells in side_by_side] == [
        ("straightforward", "120"),
        ("progress-card, cold", "120"),
        ("progress-card, warm", "135"),
    ]
    warm_requests = int(side_by_side[2][3])
    assert warm_requests <= 1 + 5 + 10  # one listing page, the new shards, and a few calls more
    assert "floor, warm: (1 listing pages + 5 reads / 64)" in done.stdout

    assert "free account scaled down: 15 resolver reads and 50 API calls per 1 s window" in done.stdout
    header = (
        "| progress-card, free account | documents | wall s | requests | listing pages | footer reads | 429s "
        "| footers read twice |"
    )
    assert header in done.stdout
    rows = {cells[0]: cells for cells in free_account}
    assert list(rows) == ["repo, cold", "repo, warm", "bucket, cold", "bucket, warm"]
    for place in ("repo", "bucket"):  # the same shards, counted the same way from either
        cold, warm = rows[f"{place}, cold"], rows[f"{place}, warm"]
        assert (cold[1], warm[1]) == ("120", "135")
        assert (cold[4], cold[5], warm[4], warm[5]) == ("1", "40", "1", "5")  # listing pages, footer reads
        assert int(cold[6]) <= POOL  # 429s: at most the first burst, sent before the quota was known
        assert (cold[7], warm[7]) == ("0", "0")  # no footer read again: nothing lost to the 429s
        assert (cold[8], warm[8]) == ("40", "5")  # resolver reads
        assert (cold[11], warm[11]) == ("2", "0")  # ⌈40 / 15⌉ - 1 windows of 1 s; 5 reads fit in one
        assert int(warm[3]) <= 1 + 5 + 3  # a warm run: the listing, the new shards and a few calls more
