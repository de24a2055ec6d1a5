"""What an update needs from where shards and cards are: a snapshot to list and read, and a card to push."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
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
    """One parquet file, as listed."""

    path: str
    size: int
    content_id: str
    """Changes whenever the bytes change: LFS sha256 or git blob id in a repo, the Xet hash in a bucket,
    mtime for a folder."""
    committed_at: datetime | None = None
    """When it arrived, when the listing says (a bucket's upload time); None: ask `commit_times`."""


@dataclass(frozen=True)
class Listing:
    """What listing a folder found: its shards, and how full its folders are."""

    shards: tuple[Shard, ...]
    """Every `*.parquet` below the folder, by path."""
    entries: dict[str, int] = field(default_factory=dict)
    """The entries (files and folders) directly in each folder listed, by folder ("" is the root)."""
    files: int = 0
    """Files of any kind in the whole listing: a floor on the files of the repo or bucket."""

    def below(self, folder: str) -> Listing:
        """The part of this listing below `folder` ("" for all of it)."""
        if not folder:
            return self
        prefix = f"{folder}/"
        return Listing(
            tuple(shard for shard in self.shards if shard.path.startswith(prefix)),
            {name: n for name, n in self.entries.items() if name == folder or name.startswith(prefix)},
            self.files,
        )


def parent(path: str) -> str:
    """The folder of a path ("" at the root)."""
    return path.rpartition("/")[0]


class Snapshot(Protocol):
    """A dataset or bucket as it is at one moment (one revision of a repo): everything read from it
    is consistent."""

    @property
    def revision(self) -> str | None: ...

    def listing(self, folder: str) -> Listing:
        """Everything under `folder`, recursively; no shards when the folder does not exist."""
        ...

    def commit_times(self, shards: Iterable[Shard]) -> dict[str, datetime]:
        """When each shard was last committed, by path."""
        ...

    def read_tail(self, shard: Shard, length: int) -> bytes:
        """The last `length` bytes of the shard (the whole file when it is shorter)."""
        ...

    def read_card(self) -> str | None:
        """The README's text, or None when there is none (yet, or at all: a bucket)."""
        ...


class Listings:
    """The listings one snapshot gives the jobs that read it: one listing of the root when several
    folders are wanted at once, of the folder itself when one is; a folder not covered is listed
    when it is asked for."""

    def __init__(self, snapshot: Snapshot, wanted: Iterable[str]) -> None:
        self.snapshot = snapshot
        folders = sorted(set(wanted))
        self._listed: dict[str, Listing] = {}
        if len(folders) == 1:
            self._listed[folders[0]] = snapshot.listing(folders[0])
        elif folders:
            self._listed[""] = snapshot.listing("")

    def below(self, folder: str) -> Listing:
        for listed, listing in self._listed.items():
            if not listed or folder == listed or folder.startswith(f"{listed}/"):
                return listing.below(folder)
        self._listed[folder] = self.snapshot.listing(folder)
        return self._listed[folder]


class Source(Protocol):
    """Where shards are: a dataset, or a bucket."""

    @property
    def label(self) -> str:
        """How messages name it: `org/name`, `hf://buckets/org/name`, or the folder."""
        ...

    def snapshot(self) -> Snapshot:
        """As it is now (raises RepoNotFound when it does not exist or cannot be seen)."""
        ...


class Dataset(Source, Protocol):
    """A dataset being written by a job: where its card lives."""

    def write_card(self, text: str, parent: str | None, message: str) -> None:
        """Commit the README on top of `parent`; raises CardConflict when the branch moved."""
        ...

    def check_writable(self) -> None:
        """Raise JobError, saying what to do, when a card could not be pushed; writes nothing."""
        ...
