"""What a run notes about each job, kept between runs: written whole, read back, healed when damaged."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path

import pytest

from progress_card.model import NOTHING, JobNotes, LaunchSettings, Loss, Peak, TaskSums
from progress_card.notes import Notebook

AT = datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc)
NOTES = JobNotes(
    AT,
    Peak(800, 8, AT),
    Loss(3, 300, AT, "hf://buckets/acme/raw/v1"),
    ("41",),
    frozenset({"41"}),
    LaunchSettings(64, "hf://datasets/acme/gen/default", "f9f0f351082c7014"),
    TaskSums(frozenset({0, 3}), 20, 2_000, 6_000, ((AT, 3_000), (AT, 3_000))),
)


def test_notes_are_read_back_as_written(tmp_path: Path) -> None:
    Notebook(tmp_path).write("gen", NOTES)
    assert Notebook(tmp_path).read("gen") == NOTES
    assert Notebook(tmp_path).read("other") == NOTHING


def test_a_dry_runs_notebook_writes_nothing(tmp_path: Path) -> None:
    Notebook(tmp_path, writable=False).write("gen", NOTES)
    assert not (tmp_path / "jobs").exists()


@pytest.mark.parametrize(
    "damage",
    [
        b"\xff\xfe not json",
        b'{"format": 1, "peak": {"documents": -4, "shards": 1, "at": "2026-12-05T12:00:00+00:00"}}',
        b"[1, 2]",
        b'{"format": 1, "at": "yesterday"}',
    ],
)
def test_damaged_notes_are_set_aside_with_a_warning(
    tmp_path: Path, damage: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "gen.json").write_bytes(damage)
    with caplog.at_level(logging.WARNING):
        assert Notebook(tmp_path).read("gen") == NOTHING
    assert "jobs/gen.json is damaged" in caplog.text and "gen starts its notes afresh" in caplog.text
    assert (tmp_path / "jobs" / "gen.json.broken").read_bytes() == damage
