"""What earlier runs learnt, so that an hourly run only reads what is new.

In the state folder (`.progress-card/` by default, kept between workflow runs by actions/cache):
one JSON file per dataset folder with each shard's row count and commit time, and one file of the
expected totals derived from input datasets. A shard is known when its path, content id (LFS
sha256 or blob id) and size are all unchanged; anything else is read again. A count saves what it
has read as it goes, so that an interrupted one resumes where it stopped. Losing or corrupting the
state costs speed, never correctness: a file that cannot be used is set aside with a warning, and a
save that fails is a warning too (`state_files`).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ..state_files import Damaged, count, moment, read_state, save_state, set_aside
from .dataset import Shard

FORMAT = 1


@dataclass(frozen=True)
class Known:
    """A shard's row count, and when it was committed, as an earlier run found them."""

    rows: int
    committed_at: datetime | None


class ShardMemory:
    """The known shards of one dataset folder, loaded from and saved to one file."""

    def __init__(self, path: Path | None, location: str, writable: bool = True) -> None:
        """`path` None: remember for this run only; `writable` False: read it, never write it (a dry run)."""
        self.path = path
        self.location = location
        self.writable = writable
        self._shards = self._load() if path is not None else {}

    @classmethod
    def in_folder(cls, folder: Path, location: str, writable: bool = True) -> ShardMemory:
        """The memory for `location` (e.g. `hf://datasets/org/name/math`) inside the state folder."""
        digest = hashlib.sha256(location.encode("utf-8")).hexdigest()[:16]
        readable = "".join(c if c.isalnum() or c in "._-" else "_" for c in location.split("://")[-1])[-80:]
        return cls(folder / "shards" / f"{readable}-{digest}.json", location, writable)

    def recall(self, shard: Shard) -> Known | None:
        """What is known about this shard, if it is the same file (path, content and size)."""
        entry = self._shards.get(shard.path)
        if entry is None or entry[0] != shard.content_id or entry[1] != shard.size:
            return None
        return entry[2]

    def retain(self, shards: Iterable[Shard]) -> tuple[int, int]:
        """Forget every shard but these (the current listing), in their current versions; returns the
        shards remembered whose path is no longer listed, and their rows: the shards that disappeared."""
        listed = {shard.path: (shard.content_id, shard.size) for shard in shards}
        gone = [entry for path, entry in self._shards.items() if path not in listed]
        self._shards = {path: entry for path, entry in self._shards.items() if listed.get(path) == entry[:2]}
        return len(gone), sum(known.rows for _, _, known in gone)

    def learn(self, shard: Shard, known: Known) -> None:
        """Remember what was found out about a shard (kept in memory until `save`)."""
        self._shards[shard.path] = (shard.content_id, shard.size, known)

    def save(self) -> None:
        """Write what is known, atomically: a run killed at any moment leaves a whole file."""
        if self.path is None or not self.writable:
            return
        document = {
            "format": FORMAT,
            "location": self.location,
            "shards": {
                path: [
                    content_id,
                    size,
                    known.rows,
                    known.committed_at.isoformat() if known.committed_at else None,
                ]
                for path, (content_id, size, known) in sorted(self._shards.items())
            },
        }
        save_state(
            self.path,
            json.dumps(document, separators=(",", ":")).encode("utf-8"),
            "the next run reads them again",
        )

    def __len__(self) -> int:
        return len(self._shards)

    def _load(self) -> dict[str, tuple[str, int, Known]]:
        assert self.path is not None
        document = read_state(self.path, LOST)
        if document is None:
            return {}
        try:
            return _parse(document, self.location)
        except Damaged as error:
            set_aside(self.path, str(error), LOST)
            return {}


LOST = "counting every shard again"


def _parse(document: Any, location: str) -> dict[str, tuple[str, int, Known]]:
    """The shards a state file remembers; Damaged when it is not what `save` writes for `location`."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise Damaged(f"not a format {FORMAT} state file")
    if document.get("location") != location:
        raise Damaged(f"it describes {document.get('location')!r}")
    entries = document.get("shards")
    if not isinstance(entries, dict):
        raise Damaged("its shards are not a mapping")
    shards: dict[str, tuple[str, int, Known]] = {}
    for path, entry in entries.items():
        if not isinstance(entry, list) or len(entry) != 4 or not isinstance(entry[0], str):
            raise Damaged(f"bad entry for {path}")
        content_id, size, rows, committed_at = entry
        try:
            when = moment(committed_at) if committed_at is not None else None
            shards[path] = (content_id, count(size), Known(count(rows), when))
        except Damaged as error:
            raise Damaged(f"bad entry for {path}: {error}") from None
    return shards


@dataclass(frozen=True)
class RememberedTotal:
    documents: int
    source: str


class InputTotals:
    """Expected totals derived from input datasets, each valid for the input revision it was read at.

    An input does not change while its job runs, so a warm run asks only for the input's revision.
    """

    def __init__(self, path: Path, writable: bool = True) -> None:
        """`writable` False: recall what is remembered, never write (a dry run)."""
        self.path = path
        self.writable = writable
        self._lock = threading.Lock()

    @classmethod
    def in_folder(cls, folder: Path, writable: bool = True) -> InputTotals:
        return cls(folder / "totals.json", writable)

    def recall(self, key: str, revision: str) -> RememberedTotal | None:
        entry = self._load().get(key)
        if entry is None or entry.get("revision") != revision:
            return None
        documents, source = entry.get("documents"), entry.get("source")
        if not isinstance(source, str):
            return None
        try:
            return RememberedTotal(count(documents), source)
        except Damaged:
            return None

    def remember(self, key: str, revision: str, total: RememberedTotal) -> None:
        if not self.writable:
            return
        with self._lock:
            entries = self._load()
            entries[key] = {"revision": revision, "documents": total.documents, "source": total.source}
            document = {"format": FORMAT, "totals": dict(sorted(entries.items()))}
            save_state(
                self.path, json.dumps(document, indent=1).encode("utf-8"), "the next run derives it again"
            )

    def _load(self) -> dict[str, dict[str, Any]]:
        lost = "input totals will be derived again"
        document = read_state(self.path, lost)
        if document is None:
            return {}
        totals = document.get("totals") if isinstance(document, dict) else None
        if not isinstance(document, dict) or document.get("format") != FORMAT or not isinstance(totals, dict):
            set_aside(self.path, f"not a format {FORMAT} totals file", lost)
            return {}
        return {k: v for k, v in totals.items() if isinstance(v, dict)}
