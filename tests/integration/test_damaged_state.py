"""The state folder damaged every way it is in real life: the next run still gives the right card, says
which file it set aside, and the run after that is back to reading only what is new."""

from __future__ import annotations

import errno
import json
import logging
import os
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from progress_card import state_files
from progress_card.state_files import read_state, save_state
from tests.cards import progress_line
from tests.hubsim import HubSim
from tests.support import card, said, update_at, write_manifest, write_shard

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc)
RIGHT = "**default**: [●●●●●●○○○○○○○○○○○○○○] 30% • 30/100 docs"


def memory_file(state: Path) -> Path:
    [found] = (state / "shards").glob("*.json")
    return found


def rewrite(change: Callable[[dict[str, object]], object]) -> Callable[[Path], None]:
    """A damage that rewrites the shard memory's JSON with `change` applied to it."""

    def damage(state: Path) -> None:
        path = memory_file(state)
        document = json.loads(path.read_text())
        path.write_text(json.dumps(change(document)))

    return damage


def first_entry_rows(value: object) -> Callable[[dict[str, object]], object]:
    def change(document: dict[str, object]) -> object:
        shards = document["shards"]
        assert isinstance(shards, dict)
        entry = next(iter(shards.values()))
        entry[2] = value
        return document

    return change


def replace_with_folder(path: Path) -> None:
    path.unlink()
    path.mkdir()
    (path / "inside").write_text("x")


def shards_folder_a_file(state: Path) -> None:
    for file in (state / "shards").iterdir():
        file.unlink()
    (state / "shards").rmdir()
    (state / "shards").write_text("not a folder")


DAMAGES: dict[str, Callable[[Path], None]] = {
    "random bytes": lambda state: memory_file(state).write_bytes(os.urandom(3_000)),
    "shards null": rewrite(lambda document: {**document, "shards": None}),
    "shards a list": rewrite(lambda document: {**document, "shards": [1, 2]}),
    "rows true": rewrite(first_entry_rows(True)),
    "rows negative": rewrite(first_entry_rows(-5)),
    "deeply nested": lambda state: memory_file(state).write_text("[" * 100_000 + "]" * 100_000),
    "file a folder": lambda state: replace_with_folder(memory_file(state)),
    "shards/ a file": shards_folder_a_file,
    "notes garbage": lambda state: next((state / "jobs").glob("*.json")).write_bytes(b"\xff\xfe{"),
    "notes a list": lambda state: next((state / "jobs").glob("*.json")).write_text("[1]"),
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_damaged_state_file_is_set_aside_and_the_card_is_still_right(
    hub: HubSim, tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    for index in range(3):
        write_shard(hub.repo_dir("acme/gen") / "data" / f"0000{index}_00000.parquet", 10)
    jobs = write_manifest(tmp_path, "jobs: [{name: gen, repo: acme/gen, total: 100}]")
    state = tmp_path / "state"
    assert update_at(jobs, NOW, state=state).exit_code == 0
    DAMAGES[damage](state)
    write_shard(hub.repo_dir("acme/gen") / "data" / "00003_00000.parquet", 0)

    with caplog.at_level(logging.WARNING):
        report = update_at(jobs, NOW + timedelta(hours=1), state=state)

    assert report.exit_code == 0, said(report)
    assert progress_line(card(hub)).startswith(RIGHT)
    assert "state " in caplog.text and ("damaged" in caplog.text or "not saved" in caplog.text), caplog.text
    again = update_at(jobs, NOW + timedelta(hours=2), state=state)
    assert again.exit_code == 0 and progress_line(card(hub)).startswith(RIGHT)


def test_a_full_disk_drops_the_old_copy_rather_than_need_room_for_two(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "memory.json"
    path.write_bytes(b"old")
    real = state_files.write_atomically

    def no_room_for_two(target: Path, data: bytes) -> None:
        if target.exists():
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(target, data)

    monkeypatch.setattr(state_files, "write_atomically", no_room_for_two)

    assert save_state(path, b'{"new": 1}', "nothing")
    assert read_state(path, "nothing") == {"new": 1}


def test_a_disk_too_full_for_one_copy_saves_nothing_and_warns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def full(target: Path, data: bytes) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(state_files, "write_atomically", full)
    (tmp_path / "memory.json").write_bytes(b"old")

    with caplog.at_level(logging.WARNING):
        assert not save_state(tmp_path / "memory.json", b"{}", "the next run reads them again")

    assert "not saved (No space left on device): the next run reads them again" in caplog.text


@pytest.mark.parametrize("memory", ["{not json", '{"rows": null, "news": {}}', "[" * 50_000 + "]" * 50_000])
def test_a_status_page_whose_memory_is_damaged_is_written_afresh(
    hub: HubSim, tmp_path: Path, caplog: pytest.LogCaptureFixture, memory: str
) -> None:
    write_shard(hub.repo_dir("acme/gen") / "data" / "00000_00000.parquet", 30)
    jobs = write_manifest(tmp_path, "jobs: [{name: gen, repo: acme/gen, total: 100}]")
    status = tmp_path / "status"
    status.mkdir()
    (status / "README.md").write_text(f"# old page\n<!-- progress-card:status {memory} -->\n")

    with caplog.at_level(logging.WARNING):
        report = update_at(jobs, NOW, status_dir=status)

    assert report.exit_code == 0, said(report)
    assert "its memory is damaged" in caplog.text
    page = (status / "README.md").read_text()
    assert "| `gen` |" in page and "# old page" not in page
