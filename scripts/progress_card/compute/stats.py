"""stats.json: whether it exists, and the final figures when it is datatrove's.

datatrove writes a list of pipeline steps, each `{"name", "time_stats", "stats": {metric: value}}`,
where a value is a number (its total) or `{"total", "n", "mean", ...}`. The inference step counts
`documents_processed`, `prompt_tokens` and `completion_tokens`; readers count `documents` and
`doc_len`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from ..errors import StatsFormatError
from ..model import FinalFigures, TaskFigures
from .remote import RemoteFiles

STATS_SIZE_LIMIT = 16 * 1024 * 1024


class Presence(Enum):
    FOUND = "found"
    MISSING = "missing"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class StatsProbe:
    """What looking for stats.json found; `content` only when FOUND, `detail` says why UNKNOWN."""

    presence: Presence
    content: bytes | None = None
    detail: str = ""


def final_figures(content: bytes) -> FinalFigures | None:
    """The figures of a datatrove stats.json; None for any other JSON; StatsFormatError if not JSON."""
    metrics = _metrics(content, "stats.json")
    if not metrics:
        return None

    def first(name: str) -> Any:
        return next((m[name] for m in metrics if name in m), None)

    documents = _documents(first)
    return FinalFigures(
        documents=_int(documents),
        prompt_tokens=_int(_total(first("prompt_tokens"))),
        completion_tokens=_int(_total(first("completion_tokens"))),
        prompt_tokens_mean=_mean(first("prompt_tokens")),
        completion_tokens_mean=_mean(first("completion_tokens")),
        mean_doc_chars=_mean(first("doc_len")),
    )


def task_figures(rank: int, content: bytes, finished_at: datetime | None) -> TaskFigures:
    """One task's figures from its `stats/<rank>.json` (the same form as stats.json); StatsFormatError
    when it is not datatrove's stats of a task."""
    metrics = _metrics(content, "the file")
    if not metrics:
        raise StatsFormatError("not datatrove's stats of a task (a list of steps with their stats)")

    def first(name: str) -> Any:
        return next((m[name] for m in metrics if name in m), None)

    return TaskFigures(
        rank,
        _int(_documents(first)) or 0,
        _int(_total(first("prompt_tokens"))) or 0,
        _int(_total(first("completion_tokens"))) or 0,
        finished_at,
    )


def _metrics(content: bytes, what: str) -> list[dict[str, Any]]:
    """Each step's `stats` mapping; StatsFormatError when the content is not JSON."""
    try:
        steps = json.loads(content)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise StatsFormatError(f"{what} is not valid JSON ({error})") from None
    if not isinstance(steps, list):
        return []
    return [step["stats"] for step in steps if isinstance(step, dict) and isinstance(step.get("stats"), dict)]


def _documents(first: Callable[[str], Any]) -> float | None:
    """The documents a run went through: the inference step's, else the reader's."""
    return _total(first("documents_processed")) or _total(first("documents")) or _count(first("doc_len"))


def _total(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dict) and isinstance(value.get("total"), (int, float)):
        return float(value["total"])
    return None


def _count(value: Any) -> float | None:
    if isinstance(value, dict) and isinstance(value.get("n"), (int, float)):
        return float(value["n"])
    return None


def _mean(value: Any) -> float | None:
    if isinstance(value, dict) and isinstance(value.get("mean"), (int, float)):
        return float(value["mean"])
    return None


def _int(value: float | None) -> int | None:
    return round(value) if value is not None else None


def probe_url(files: RemoteFiles, url: str) -> StatsProbe:
    """Look for stats.json at an fsspec URL (hf://, s3://, file://...)."""
    try:
        fs, path = files.open(url)
    except (ImportError, ValueError) as error:
        return StatsProbe(Presence.UNKNOWN, detail=f"cannot open {url}: {error}")
    try:
        with fs.open(path, "rb") as file:
            content = file.read(STATS_SIZE_LIMIT + 1)
    except FileNotFoundError:
        return StatsProbe(Presence.MISSING)
    except Exception as error:  # whatever the backend raises, "cannot tell" is the only safe answer
        return StatsProbe(Presence.UNKNOWN, detail=f"cannot read {url}: {type(error).__name__}: {error}")
    if len(content) > STATS_SIZE_LIMIT:
        return StatsProbe(Presence.FOUND, detail=f"{url} is larger than {STATS_SIZE_LIMIT} bytes; not read")
    return StatsProbe(Presence.FOUND, content)
