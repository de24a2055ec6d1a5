"""`update --dry-run` prints the whole plan and writes nothing at all: not the card, not jobs.yaml,
not the state folder, not the status page, not an issue, not a notification."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from progress_card.telling import Audience, GitHubRepository, Notifier
from tests.ghsim import REPOSITORY, TOKEN, GitHubSim, Receiver
from tests.hubsim import HubSim
from tests.support import card, datatrove_stats, update, update_at, write_manifest, write_shard

HOUR = 3600.0


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as server:
        yield server


def files(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under `folder`, with its bytes and modification time."""
    return {
        path.relative_to(folder).as_posix(): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_a_dry_run_prints_the_plan_and_leaves_everything_untouched(
    hub: HubSim, tmp_path: Path, github: GitHubSim, receiver: Receiver
) -> None:
    started = time.time() - 8 * HOUR
    for index in range(6):  # `slow` uploads every half hour, then falls silent for six hours
        write_shard(
            hub.repo_dir("acme/slow") / "data" / f"{index:05d}.parquet", 10, started + index * HOUR / 2
        )
    write_shard(hub.repo_dir("acme/gen") / "data" / "0.parquet", 30, started)
    stats = tmp_path / "stats.json"
    jobs = write_manifest(
        tmp_path,
        f"""
        jobs:
          - {{name: gen, repo: acme/gen, total: 60, stats_path: "file://{stats}"}}
          - {{name: slow, repo: acme/slow, total: 1000}}
        """,
    )
    state, status = tmp_path / "state", tmp_path / "status"
    audience = Audience(GitHubRepository(github.url, REPOSITORY, TOKEN), Notifier([receiver.url]), state)
    # An hourly run while both were uploading: the cards, the state folder and the status page exist.
    then = datetime.fromtimestamp(started, timezone.utc) + timedelta(hours=3, minutes=10)
    first = update_at(jobs, then, state=state, status_dir=status, audience=audience)
    assert [row.status.value for row in first.jobs] == ["card pushed", "card pushed"]
    # Since then: gen uploaded the rest and completed; slow went silent.
    write_shard(hub.repo_dir("acme/gen") / "data" / "1.parquet", 30)
    stats.write_text(datatrove_stats(60))

    def written() -> dict[str, object]:
        """Everything an update may write, as it is now."""
        return {
            "state": files(state),
            "status": files(status),
            "jobs.yaml": jobs.read_bytes(),
            "cards": (card(hub, "acme/gen"), card(hub, "acme/slow")),
            "commits": (len(hub.commits("acme/gen")), len(hub.commits("acme/slow"))),
        }

    before = written()
    issues, messages = list(github.issues), list(receiver.messages)
    github.requests.clear()
    hub.clear_requests()

    result = update(
        jobs,
        "--dry-run",
        "--state-dir", str(state),
        "--status-dir", str(status),
        "--issues",
        "--notify", receiver.url,
        env={"GITHUB_API_URL": github.url, "GITHUB_REPOSITORY": REPOSITORY, "GITHUB_TOKEN": TOKEN},
    )  # fmt: skip

    assert result.exit_code == 0, result.stderr
    plan = result.stdout
    assert "# acme/gen: would commit 'Update generation progress: default 100% (60 docs)'" in plan
    assert "#   then mark gen completed in jobs.yaml" in plan
    assert "+**default**: [●●●●●●●●●●●●●●●●●●●●] 100% • 60/60 docs<br>✅ Complete" in plan
    assert "# acme/slow: would commit 'Update generation progress: default 6% (60 docs)'" in plan
    assert "# gen: would close its incident issue\n# gen: would notify '✅ gen: completed'\n" in plan
    assert "# slow: would open the incident issue '⚠️ slow: no new shards since " in plan
    assert "gen: 60/60 docs (100%), completed (stats.json found), dry run, nothing pushed, would be marked " \
        "finished" in result.stderr  # fmt: skip
    assert written() == before
    assert (github.issues, receiver.messages) == (issues, messages)
    assert all(method == "GET" for method, _ in github.requests)
    assert [
        r.path for r in hub.requests if r.method not in ("GET", "HEAD") and "paths-info" not in r.path
    ] == []


def test_a_dry_run_creates_no_state_folder(hub: HubSim, tmp_path: Path) -> None:
    write_shard(hub.repo_dir("acme/gen") / "data" / "0.parquet", 30)
    jobs = write_manifest(tmp_path, "jobs: [{name: gen, repo: acme/gen, total: 100}]")

    result = update(jobs, "--dry-run", "--state-dir", str(tmp_path / "scratch"))

    assert result.exit_code == 0, result.stderr
    assert "+**default**: [●●●●●●○○○○○○○○○○○○○○] 30% • 30/100 docs" in result.stdout
    assert not (tmp_path / "scratch").exists()
    assert not (tmp_path / ".progress-card").exists()
