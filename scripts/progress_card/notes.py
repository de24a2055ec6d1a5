"""What earlier runs noted about each job, in the state folder (`jobs/<name>.json`): the highest count
seen, the shards that have disappeared since, the launch it followed, the job ids the queue has shown,
the launch settings a resume must keep, and the finished tasks' figures summed so far.

The run reads a job's notes with its other I/O, works out the next notes purely (`progress.assess`),
and writes them once it has applied its plan (a dry run never does). Like every cache of the state
folder, notes that cannot be read are set aside with a warning: without them, the run only knows
less (a lower count is then held back by the card itself).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from .atomic import write_atomically
from .model import NOTHING, JobNotes, LaunchSettings, Loss, Peak, TaskSums

log = logging.getLogger(__name__)

FORMAT = 1


class Notebook:
    """The notes of every job, one file each in the state folder's `jobs/`."""

    def __init__(self, folder: Path, writable: bool = True) -> None:
        """`writable` False: read them, never write them (a dry run)."""
        self.folder = folder / "jobs"
        self.writable = writable

    def read(self, name: str) -> JobNotes:
        path = self.folder / f"{name}.json"
        try:
            return _parse(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return NOTHING
        except (OSError, ValueError, TypeError, KeyError) as error:
            log.warning("%s: notes %s are not usable (%s); set aside, starting afresh", name, path, error)
            return NOTHING

    def write(self, name: str, notes: JobNotes) -> None:
        if not self.writable:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        write_atomically(self.folder / f"{name}.json", json.dumps(_dump(notes), indent=1).encode("utf-8"))


def _dump(notes: JobNotes) -> dict[str, Any]:
    peak, loss = notes.peak, notes.loss
    return {
        "format": FORMAT,
        "at": notes.at.isoformat() if notes.at else None,
        "peak": {"documents": peak.documents, "shards": peak.shards, "at": peak.at.isoformat()}
        if peak
        else None,
        "loss": {
            "shards": loss.shards,
            "documents": loss.documents,
            "since": loss.since.isoformat(),
            "where": loss.where,
        }
        if loss
        else None,
        "launch": list(notes.launch),
        "seen": sorted(notes.seen),
        "settings": {
            "world_size": notes.settings.world_size,
            "output": notes.settings.output,
            "fingerprint": notes.settings.fingerprint,
        }
        if notes.settings
        else None,
        "sums": {
            "ranks": sorted(notes.sums.ranks),
            "documents": notes.sums.documents,
            "prompt_tokens": notes.sums.prompt_tokens,
            "completion_tokens": notes.sums.completion_tokens,
            "finishes": [[when.isoformat(), tokens] for when, tokens in notes.sums.finishes],
        },
    }


def _parse(document: Any) -> JobNotes:
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError(f"not format {FORMAT} notes")
    peak, loss = document.get("peak"), document.get("loss")
    return JobNotes(
        at=_moment(document.get("at")),
        peak=Peak(_count(peak["documents"]), _count(peak["shards"]), _when(peak["at"])) if peak else None,
        loss=Loss(_count(loss["shards"]), _count(loss["documents"]), _when(loss["since"]), str(loss["where"]))
        if loss
        else None,
        launch=tuple(str(name) for name in document.get("launch") or ()),
        seen=frozenset(str(name) for name in document.get("seen") or ()),
        settings=_settings(document.get("settings")),
        sums=_sums(document.get("sums")),
    )


def _settings(value: Any) -> LaunchSettings | None:
    if value is None:
        return None
    output = value["output"]
    return LaunchSettings(
        _count(value["world_size"]), str(output) if output is not None else None, str(value["fingerprint"])
    )


def _sums(value: Any) -> TaskSums:
    if value is None:
        return TaskSums()
    return TaskSums(
        frozenset(_count(rank) for rank in value["ranks"]),
        _count(value["documents"]),
        _count(value["prompt_tokens"]),
        _count(value["completion_tokens"]),
        tuple((_when(when), _count(tokens)) for when, tokens in value["finishes"]),
    )


def _count(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"not a count: {value!r}")
    return value


def _when(value: Any) -> datetime:
    moment = datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError(f"not a UTC time: {value!r}")
    return moment


def _moment(value: Any) -> datetime | None:
    return _when(value) if value is not None else None
