"""A dataset in a local folder (the offline demo, or a shared filesystem): shards and card on disk."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..atomic import write_atomically
from ..errors import JobError, RepoNotFound
from .dataset import CARD_PATH, MAX_CARD_BYTES, Listing, Shard, card_text


@dataclass(frozen=True)
class LocalRepo:
    """A folder laid out like a dataset repo; a shard counts as committed at its modification time."""

    root: Path

    @property
    def label(self) -> str:
        return str(self.root)

    def snapshot(self) -> LocalSnapshot:
        if not self.root.is_dir():
            raise RepoNotFound(f"folder {self.root} does not exist")
        return LocalSnapshot(self.root)

    def write_card(self, text: str, parent: str | None, message: str) -> None:
        try:
            write_atomically(self.root / CARD_PATH, text.encode("utf-8"))
        except OSError as error:  # a full disk, a read-only folder: the card stays as it was
            raise JobError(f"the card in {self.root} was not written: {error.strerror or error}") from None

    def check_writable(self) -> None:
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise JobError(
                f"folder {self.root} is not writable by this user: the card cannot be written there"
            )


@dataclass(frozen=True)
class LocalSnapshot:
    root: Path
    revision: str | None = None

    def listing(self, folder: str) -> Listing:
        base = self.root / folder
        if not base.is_dir():
            return Listing(())
        shards: list[Shard] = []
        entries: dict[str, int] = {}
        files = 0
        for directory, folders, names in os.walk(base):
            here = Path(directory).relative_to(self.root).as_posix()
            entries["" if here == "." else here] = len(folders) + len(names)
            files += len(names)
            for name in names:
                if not name.endswith(".parquet"):
                    continue
                path = Path(directory) / name
                stat = path.stat()
                relative = path.relative_to(self.root).as_posix()
                shards.append(Shard(relative, stat.st_size, f"{stat.st_size}-{stat.st_mtime_ns}"))
        return Listing(tuple(sorted(shards, key=lambda shard: shard.path)), entries, files)

    def commit_times(self, shards: Iterable[Shard]) -> dict[str, datetime]:
        return {
            shard.path: datetime.fromtimestamp((self.root / shard.path).stat().st_mtime, tz=timezone.utc)
            for shard in shards
        }

    def read_tail(self, shard: Shard, length: int) -> bytes:
        with (self.root / shard.path).open("rb") as file:
            file.seek(max(0, shard.size - length))
            return file.read(length)

    def read_card(self) -> str | None:
        try:
            with (self.root / CARD_PATH).open("rb") as file:
                return card_text(file.read(MAX_CARD_BYTES + 1), str(self.root))
        except FileNotFoundError:
            return None
        except OSError as error:
            raise JobError(f"the card in {self.root} cannot be read: {error.strerror or error}") from None
