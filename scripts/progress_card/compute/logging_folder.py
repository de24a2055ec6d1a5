"""datatrove's logging folder: how many of the job's tasks are done, and how they are launched.

datatrove writes an empty `completions/<rank>` file when a task finishes; when it launches the job,
`executor.json` (its executor's settings: `world_size`, the number of tasks, and `workers`, how
many may run at once) and `ranks_to_run.json` (the ranks this launch runs: all of them, or after
a relaunch only those not completed).
"""

from __future__ import annotations

import json

from ..model import TaskProgress

EXECUTOR_SIZE_LIMIT = 16 * 1024 * 1024
RANKS_SIZE_LIMIT = 16 * 1024 * 1024


def tasks_total(executor_json: bytes) -> int | None:
    """The number of tasks in datatrove's executor.json, or None when it does not say."""
    settings = _settings(executor_json)
    return next((value for key in ("world_size", "tasks") if (value := _positive(settings.get(key)))), None)


def workers_limit(executor_json: bytes) -> int | None:
    """How many tasks executor.json lets run at once, when fewer than all (`workers` is -1 for all)."""
    settings = _settings(executor_json)
    workers, tasks = _positive(settings.get("workers")), tasks_total(executor_json)
    return workers if workers is not None and (tasks is None or workers < tasks) else None


def ranks_to_run(content: bytes) -> frozenset[int] | None:
    """The ranks in datatrove's ranks_to_run.json (a JSON list of integers), or None when it is not one."""
    try:
        ranks = json.loads(content)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(ranks, list) or not all(_rank(rank) for rank in ranks):
        return None
    return frozenset(ranks)


def progress(done: int, executor_json: bytes | None, ranks_json: bytes | None) -> TaskProgress:
    """The progress of a logging folder from its completions and the two launch files (None: missing)."""
    if executor_json is None:
        return TaskProgress(done, None, ranks=ranks_to_run(ranks_json) if ranks_json is not None else None)
    return TaskProgress(
        done,
        tasks_total(executor_json),
        workers_limit(executor_json),
        ranks_to_run(ranks_json) if ranks_json is not None else None,
    )


def _settings(executor_json: bytes) -> dict[str, object]:
    try:
        settings = json.loads(executor_json)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return settings if isinstance(settings, dict) else {}


def _rank(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _positive(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def probe_folder_url(url: str) -> TaskProgress | None:
    """Count the completions in a logging folder at an fsspec URL; None when it cannot be read."""
    import fsspec

    base = url.rstrip("/")
    try:
        fs, path = fsspec.core.url_to_fs(base, skip_instance_cache=True)
        done = len(fs.ls(f"{path}/completions", detail=False)) if fs.exists(f"{path}/completions") else 0
        launch_files = []
        for name, limit in (("executor.json", EXECUTOR_SIZE_LIMIT), ("ranks_to_run.json", RANKS_SIZE_LIMIT)):
            content = None
            if fs.exists(f"{path}/{name}"):
                with fs.open(f"{path}/{name}", "rb") as file:
                    content = file.read(limit)
            launch_files.append(content)
    except Exception:  # whatever the backend raises, "cannot tell" is the only safe answer
        return None
    return progress(done, *launch_files)
