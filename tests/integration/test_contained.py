"""An error no one foresaw stays one repo's problem: its jobs fail with a message that says so, the
other repos' cards are pushed, and the summary and the status page cover every job. An output that
cannot be written (the status page) is a warning, after the cards."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

import progress_card.run
from progress_card.progress import Observation, Progress, assess
from tests.cards import progress_line
from tests.hubsim import HubSim
from tests.support import card, said, update_at, write_manifest, write_shard

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc)
TWO_REPOS = (
    "jobs:\n  - {name: bad, repo: acme/bad, total: 100}\n  - {name: gen, repo: acme/gen, total: 100}\n"
)


def two_repos(hub: HubSim, folder: Path) -> Path:
    for repo in ("acme/bad", "acme/gen"):
        write_shard(hub.repo_dir(repo) / "default" / "00000_00000.parquet", 30)
    return write_manifest(folder, TWO_REPOS)


def test_a_bug_in_one_repos_jobs_fails_those_jobs_only(
    hub: HubSim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def assess_or_trip(seen: Observation, options: object) -> Progress:
        if seen.job.name == "bad":
            raise ZeroDivisionError("division by zero")
        return assess(seen, options)  # type: ignore[arg-type]

    monkeypatch.setattr(progress_card.run, "assess", assess_or_trip)
    jobs = two_repos(hub, tmp_path)

    report = update_at(jobs, NOW, status_dir=tmp_path / "status")

    bad, gen = said(report).splitlines()[:2]
    assert bad.startswith(
        "bad: failed: unexpected ZeroDivisionError: division by zero (a fault of progress-card"
    )
    assert gen.startswith("gen: 30/100 docs (30%)")
    assert "30/100 docs" in progress_line(card(hub, "acme/gen"))
    page = (tmp_path / "status" / "README.md").read_text()
    assert "| `gen` |" in page and "| `bad` |" in page
    assert report.exit_code == 1


def test_a_status_page_that_cannot_be_written_is_a_warning_after_the_cards(
    hub: HubSim, tmp_path: Path
) -> None:
    jobs = two_repos(hub, tmp_path)
    (tmp_path / "status").write_text("a file where the status folder should be")

    report = update_at(jobs, NOW, status_dir=tmp_path / "status")

    assert "30/100 docs" in progress_line(card(hub, "acme/bad"))
    assert "30/100 docs" in progress_line(card(hub, "acme/gen"))
    assert report.warnings == (
        f"the status page was not written: FileExistsError: [Errno 17] File exists: '{tmp_path / 'status'}'",
    )
    assert report.exit_code == 0
