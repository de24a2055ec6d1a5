"""A job through a silence on the Hub simulator: an update every hour with the clock injected, the
shards uploaded as the simulated job commits them; the card each hour, and the commits it took."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from tests.cards import progress_line
from tests.hubsim import HubSim
from tests.lifetime import state
from tests.scenarios import Job, simulate
from tests.support import card, said, update_at, write_manifest, write_shard

MINUTE, HOUR = timedelta(minutes=1), timedelta(hours=1)
START = datetime(2026, 12, 5, 0, 0, tzinfo=timezone.utc)
# 8 tasks of 10 chunks of 200 documents, about 40 minutes each; every task stuck from 3.5 h for 6 h.
JOB = Job(8, 8, 2_000, 200, 40 * MINUTE, seed=7, stagger=2 * MINUTE, relaunch=(3.5 * HOUR, 6 * HOUR))


def test_an_hourly_update_through_a_silence_commits_once_per_change_of_state(
    hub: HubSim, tmp_path: Path
) -> None:
    jobs = write_manifest(tmp_path, f"jobs: [{{name: gen, repo: acme/gen, total: {JOB.total}}}]")
    chunks = simulate(JOB, START)
    seen: list[tuple[str, bool, bool]] = []
    for hour in range(1, 15):
        now = START + hour * HOUR + 17 * MINUTE
        for chunk in chunks:
            if now - HOUR < chunk.uploaded <= now:
                write_shard(hub.repo_dir("acme/gen") / chunk.path, chunk.rows, chunk.uploaded.timestamp())
        commits = len(hub.commits("acme/gen"))

        report = update_at(jobs, now)

        assert report.exit_code == 0, said(report)
        text = card(hub)
        seen.append(
            (
                state(progress_line(text).partition("<br>")[2]),
                len(hub.commits("acme/gen")) > commits,
                "progress-card:rate" in text,
            )
        )

    assert seen == [
        ("on its way", True, True),
        ("on its way", True, True),
        ("on its way", True, True),
        ("on its way", True, True),  # the last shards, at 3:28, 49 minutes before
        ("late", True, False),  # 1h 49m without a shard: more than two chunks
        ("stalled", True, False),  # more than three
        ("stalled", False, False),
        ("stalled", False, False),
        ("stalled", False, False),
        ("⏱️ estimating time remaining...", True, False),  # uploads resumed at 9:30: one chunk per task since
        ("on its way", True, True),
        ("on its way", True, True),
        ("✅ Complete", True, True),
        ("✅ Complete", False, True),
    ]
    assert "docs/h on average over " in card(hub)
