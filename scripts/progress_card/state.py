"""What earlier runs learnt about each shard, so that an hourly run only reads what is new.

One JSON file per dataset folder in the state folder (`.progress-card/` by default, kept between
workflow runs by actions/cache). A shard is known when its path, content id (LFS sha256 or blob
id) and size are all unchanged; anything else is read again. Losing or corrupting the state costs
speed, never correctness: a file that cannot be used is set aside with a warning.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from .atomic import write_atomically
from .storage import Shard

log = logging.getLogger(__name__)

FORMAT = 1


@dataclass(frozen=True)
class Known:
    """A shard's row count, and when it was committed, as an earlier run found them."""

    rows: int
    committed_at: datetime | None


class ShardMemory:
    """The known shards of one dataset folder, loaded from and saved to one file."""

    def __init__(self, path: Path, location: str) -> None:
        self.path = path
        self.location = location
        self._shards = self._load()

    @classmethod
    def in_folder(cls, folder: Path, location: str) -> ShardMemory:
        """The memory for `location` (e.g. `hf://datasets/org/name/math`) inside the state folder."""
        digest = hashlib.sha256(location.encode("utf-8")).hexdigest()[:16]
        readable = "".join(c if c.isalnum() or c in "._-" else "_" for c in location.split("://")[-1])[-80:]
        return cls(folder / "shards" / f"{readable}-{digest}.json", location)

    def recall(self, shard: Shard) -> Known | None:
        """What is known about this shard, if it is the same file (path, content and size)."""
        entry = self._shards.get(shard.path)
        if entry is None or entry[0] != shard.content_id or entry[1] != shard.size:
            return None
        return entry[2]

    def replace(self, shards: Iterable[tuple[Shard, Known]]) -> None:
        """Remember exactly these shards (the folder's current ones) and save, atomically."""
        self._shards = {shard.path: (shard.content_id, shard.size, known) for shard, known in shards}
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
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(self.path, json.dumps(document, separators=(",", ":")).encode("utf-8"))

    def __len__(self) -> int:
        return len(self._shards)

    def _load(self) -> dict[str, tuple[str, int, Known]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as error:
            log.warning("state %s cannot be read (%s); counting every shard again", self.path, error.strerror)
            return {}
        try:
            return _parse(json.loads(text), self.location)
        except (ValueError, TypeError, KeyError, IndexError) as error:
            log.warning(
                "state %s is not usable (%s); discarded, counting every shard again", self.path, error
            )
            self.path.unlink(missing_ok=True)
            return {}


def _parse(document: Any, location: str) -> dict[str, tuple[str, int, Known]]:
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError(f"not a format {FORMAT} state file")
    if document.get("location") != location:
        raise ValueError(f"it describes {document.get('location')!r}")
    shards: dict[str, tuple[str, int, Known]] = {}
    for path, (content_id, size, rows, committed_at) in document["shards"].items():
        if (
            not isinstance(content_id, str)
            or not isinstance(size, int)
            or not isinstance(rows, int)
            or rows < 0
        ):
            raise ValueError(f"bad entry for {path}")
        when = datetime.fromisoformat(committed_at) if committed_at is not None else None
        shards[path] = (content_id, size, Known(rows, when))
    return shards
