"""datatrove's logging folder: how many of the job's tasks are done.

datatrove writes an empty `completions/<rank>` file when a task finishes, and `executor.json`
(its executor's settings) when it starts, with `world_size`, the number of tasks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

EXECUTOR_SIZE_LIMIT = 16 * 1024 * 1024


@dataclass(frozen=True)
class TaskProgress:
    done: int
    total: int | None
    """None until executor.json can be read."""

    @property
    def complete(self) -> bool:
        return self.total is not None and self.done >= self.total

    def __str__(self) -> str:
        return f"tasks {self.done}/{self.total if self.total is not None else '?'}"


def tasks_total(executor_json: bytes) -> int | None:
    """The number of tasks in datatrove's executor.json, or None when it does not say."""
    try:
        settings = json.loads(executor_json)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(settings, dict):
        return None
    for key in ("world_size", "tasks"):
        value = settings.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def probe_folder_url(url: str) -> TaskProgress | None:
    """Count the completions in a logging folder at an fsspec URL; None when it cannot be read."""
    import fsspec

    base = url.rstrip("/")
    try:
        fs, path = fsspec.core.url_to_fs(base, skip_instance_cache=True)
        done = len(fs.ls(f"{path}/completions", detail=False)) if fs.exists(f"{path}/completions") else 0
        total = None
        if fs.exists(f"{path}/executor.json"):
            with fs.open(f"{path}/executor.json", "rb") as file:
                total = tasks_total(file.read(EXECUTOR_SIZE_LIMIT))
    except Exception:  # whatever the backend raises, "cannot tell" is the only safe answer
        return None
    return TaskProgress(done, total)
