"""What an update needs from the place a job writes to: a dataset repo on the Hub, or a local folder."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ..errors import JobError

CARD_PATH = "README.md"
MAX_CARD_BYTES = 4 * 1024 * 1024
"""A README larger than this is not read (cards are small; a huge one is a mistake or hostile)."""


def card_text(data: bytes, where: str) -> str:
    """The README's text, refusing what is too large or not UTF-8 rather than patching it blindly."""
    if len(data) > MAX_CARD_BYTES:
        raise JobError(f"the card of {where} is larger than {MAX_CARD_BYTES:,} bytes; it was left alone")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise JobError(f"the card of {where} is not UTF-8 text; it was left alone") from None


@dataclass(frozen=True)
class Shard:
    """One parquet file of the config, as listed."""

    path: str
    size: int
    content_id: str
    """Changes whenever the bytes change: LFS sha256 or git blob id on the Hub, mtime for a folder."""


class Snapshot(Protocol):
    """The repo at one revision: everything read from it is consistent."""

    @property
    def revision(self) -> str | None: ...

    def list_shards(self, folder: str) -> list[Shard]:
        """Every `*.parquet` under `folder`, recursively; [] when the folder does not exist."""
        ...

    def commit_times(self, shards: Iterable[Shard]) -> dict[str, datetime]:
        """When each shard was last committed, by path."""
        ...

    def read_tail(self, shard: Shard, length: int) -> bytes:
        """The last `length` bytes of the shard (the whole file when it is shorter)."""
        ...

    def read_card(self) -> str | None:
        """The README's text, or None when there is none yet."""
        ...


def shards_in(snapshot: Snapshot, folders: Sequence[str]) -> dict[str, list[Shard]]:
    """The shards of each folder, from one listing: of the folder itself when there is one, of the
    whole repo (kept to those folders) when there are several."""
    if len(folders) == 1:
        return {folders[0]: snapshot.list_shards(folders[0])}
    every = snapshot.list_shards("")
    return {folder: [shard for shard in every if shard.path.startswith(f"{folder}/")] for folder in folders}


class Dataset(Protocol):
    """A dataset being written by a job."""

    @property
    def label(self) -> str:
        """How messages name it: `org/name`, or the folder."""
        ...

    def snapshot(self) -> Snapshot:
        """The current revision (raises RepoNotFound)."""
        ...

    def write_card(self, text: str, parent: str | None, message: str) -> None:
        """Commit the README on top of `parent`; raises CardConflict when the branch moved."""
        ...
