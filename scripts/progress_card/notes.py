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
from pathlib import Path
from typing import Any

from .model import NOTHING, JobNotes, LaunchSettings, Loss, Peak, TaskSums
from .state_files import count, moment, read_state, save_state, set_aside

FORMAT = 1


class Notebook:
    """The notes of every job, one file each in the state folder's `jobs/`."""

    def __init__(self, folder: Path, writable: bool = True) -> None:
        """`writable` False: read them, never write them (a dry run)."""
        self.folder = folder / "jobs"
        self.writable = writable

    def read(self, name: str) -> JobNotes:
        path = self.folder / f"{name}.json"
        lost = f"{name} starts its notes afresh"
        document = read_state(path, lost)
        if document is None:
            return NOTHING
        try:
            return _parse(document)
        except (ValueError, TypeError, KeyError, AttributeError) as error:  # not the shape `write` gives
            set_aside(path, f"{type(error).__name__}: {error}", lost)
            return NOTHING

    def write(self, name: str, notes: JobNotes) -> None:
        if not self.writable:
            return
        data = json.dumps(_dump(notes), indent=1).encode("utf-8")
        save_state(
            self.folder / f"{name}.json", data, f"the next run does not know what this one saw of {name}"
        )


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
        at=moment(document["at"]) if document.get("at") is not None else None,
        peak=Peak(count(peak["documents"]), count(peak["shards"]), moment(peak["at"])) if peak else None,
        loss=Loss(count(loss["shards"]), count(loss["documents"]), moment(loss["since"]), str(loss["where"]))
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
        count(value["world_size"]), str(output) if output is not None else None, str(value["fingerprint"])
    )


def _sums(value: Any) -> TaskSums:
    if value is None:
        return TaskSums()
    return TaskSums(
        frozenset(count(rank) for rank in value["ranks"]),
        count(value["documents"]),
        count(value["prompt_tokens"]),
        count(value["completion_tokens"]),
        tuple((moment(when), count(tokens)) for when, tokens in value["finishes"]),
    )
