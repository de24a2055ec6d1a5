"""datatrove's logging folder: which tasks are done, what they produced, and how the job was launched.

datatrove writes, whatever runs the job:
- `executor.json` at each launch: the executor's settings (`world_size`, `workers`, `job_name`) and
  the pipeline, whose reader names the input (`data_folder`, `limit` per task) and whose writer
  names the output (`output_folder`), each as a `DataFolder(path=..., fs=<...FileSystem ...>)`;
- `ranks_to_run.json`: the ranks this launch runs (all, or after a relaunch those not completed);
- `completions/<rank:05d>`: an empty file when a task finishes;
- `stats/<rank:05d>.json`: that task's stats (documents, prompt and completion tokens...);
- `logs/task_<rank:05d>.log`: its log, whose last lines say why a task died.

`FolderListing` is what a reader brought back (on the cluster through the questions script, or
through fsspec for a URL); `findings` reads it (pure). Only the stats files of tasks not summed
before are brought back each run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ..errors import StatsFormatError
from ..formatting import format_first
from ..model import LaunchSettings, Tail, TaskFigures, TaskProgress
from .remote import RemoteFiles
from .stats import task_figures

log = logging.getLogger(__name__)

EXECUTOR_SIZE_LIMIT = 16 * 1024 * 1024
RANKS_SIZE_LIMIT = 16 * 1024 * 1024
TASK_STATS_SIZE_LIMIT = 4 * 1024 * 1024
TAIL_LINES = 20
TAILS_AT_MOST = 5
"""The logs of this many unfinished ranks at most are quoted."""
_DATA_FOLDER = re.compile(r"DataFolder\(path='(?P<path>[^']*)', fs=<(?P<fs>[\w.]+) object")
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_RANK_FILE = re.compile(r"^(\d+)(?:\.json)?$")
_JOBS_EXECUTOR_KEYS = ("flavor", "tasks_per_job", "poll_interval", "max_retries")
"""Settings only datatrove's JobsPipelineExecutor has, among those executor.json records."""
_FILESYSTEMS = (("HfFileSystem", "hf://"), ("S3FileSystem", "s3://"), ("GCSFileSystem", "gs://"))


@dataclass(frozen=True)
class StatsFile:
    """A file of `stats/`: its name, when it was written, its content when it was brought back."""

    name: str
    mtime: float | None
    content: bytes | None
    """None for a task summed before: not read again."""


@dataclass(frozen=True)
class FolderListing:
    """What reading a logging folder brought back; None where a file is missing."""

    exists: bool
    completions: tuple[str, ...] = ()
    executor: bytes | None = None
    ranks: bytes | None = None
    stats: tuple[StatsFile, ...] = ()


@dataclass(frozen=True)
class Executor:
    """What datatrove's executor.json says of a launch."""

    world_size: int | None
    workers: int | None
    job_name: str | None
    output: str | None
    """The (last) writer's `output_folder`, as a URL or a path."""
    input: str | None
    """The (first) reader's `data_folder`, as a URL or a path."""
    limit: int | None
    """The reader's `limit`: documents per task at most (None: all)."""
    fingerprint: str
    on_hf_jobs: bool = False
    """Launched by datatrove's JobsPipelineExecutor, on Hugging Face Jobs."""
    namespace: str | None = None
    """The namespace its Hugging Face Jobs run in, when the executor names one."""

    @property
    def settings(self) -> LaunchSettings | None:
        if self.world_size is None:
            return None
        return LaunchSettings(self.world_size, self.output, self.fingerprint)


@dataclass(frozen=True)
class Findings:
    """What a logging folder says: the tasks, the launch, the tasks finished since the last look."""

    tasks: TaskProgress | None
    executor: Executor | None = None
    finished: tuple[TaskFigures, ...] = ()
    problems: tuple[str, ...] = ()


def findings(where: str, listing: FolderListing) -> Findings:
    """Read what was brought back from the logging folder `where` (for messages)."""
    if not listing.exists:
        return Findings(
            None,
            problems=(
                f"the logging folder {where} does not exist: check logging_dir in jobs.yaml (datatrove's "
                "logging_dir of the executor); tasks cannot be followed",
            ),
        )
    problems: list[str] = []
    executor = read_executor(listing.executor) if listing.executor is not None else None
    if listing.executor is None:
        problems.append(
            f"{where}/executor.json is missing: is {where} datatrove's logging folder of the job?"
        )
    elif executor is None:
        problems.append(
            f"{where}/executor.json is not datatrove's executor settings; the number of tasks is unknown"
        )
    completed = frozenset(rank for name in listing.completions if (rank := _rank_of(name)) is not None)
    total = executor.world_size if executor is not None else None
    tasks = TaskProgress(
        sum(1 for rank in completed if total is None or rank < total),
        total,
        executor.workers if executor is not None else None,
        ranks_to_run(listing.ranks) if listing.ranks is not None else None,
        completed,
    )
    if tasks.beyond:
        problems.append(
            f"{where}/completions has ranks beyond the {total} tasks of executor.json "
            f"({format_first(tasks.beyond)}): a folder shared with another launch? they are not counted"
        )
    finished = []
    for stats in listing.stats:
        rank = _rank_of(stats.name)
        if stats.content is None or rank is None:
            continue
        when = datetime.fromtimestamp(stats.mtime, timezone.utc) if stats.mtime else None
        try:
            finished.append(task_figures(rank, stats.content, when))
        except StatsFormatError as error:
            problems.append(f"{where}/stats/{stats.name}: {error}; that task's figures are left out")
    return Findings(tasks, executor, tuple(finished), tuple(problems))


def read_executor(content: bytes) -> Executor | None:
    """datatrove's executor.json, or None when it is not a JSON mapping."""
    try:
        settings = json.loads(content)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(settings, dict):
        return None
    world_size = next((v for key in ("world_size", "tasks") if (v := _positive(settings.get(key)))), None)
    workers = _positive(settings.get("workers"))
    pipeline = settings.get("pipeline")
    steps = list(_steps(pipeline))
    writers = [step["output_folder"] for step in steps if isinstance(step.get("output_folder"), str)]
    readers = [step for step in steps if isinstance(step.get("data_folder"), str)]
    limit = _positive(readers[0].get("limit")) if readers else None
    text = _ADDRESS.sub("", json.dumps(pipeline, sort_keys=True, ensure_ascii=False))
    return Executor(
        world_size=world_size,
        workers=workers if workers is not None and (world_size is None or workers < world_size) else None,
        job_name=str(settings["job_name"]) if isinstance(settings.get("job_name"), str) else None,
        output=folder_url(writers[-1]) if writers else None,
        input=folder_url(readers[0]["data_folder"]) if readers else None,
        limit=limit,
        fingerprint=hashlib.sha256(text.encode("utf-8")).hexdigest()[:16],
        on_hf_jobs=all(key in settings for key in _JOBS_EXECUTOR_KEYS),
        namespace=str(settings["namespace"]) if isinstance(settings.get("namespace"), str) else None,
    )


def folder_url(text: str) -> str | None:
    """A `DataFolder(path=..., fs=<...>)` as datatrove writes it, as a URL (or a path on disk)."""
    match = _DATA_FOLDER.search(text)
    if match is None:
        return None
    path, filesystem = match["path"], match["fs"]
    if filesystem.endswith("LocalFileSystem"):
        return path
    return next((f"{scheme}{path}" for name, scheme in _FILESYSTEMS if filesystem.endswith(name)), None)


def ranks_to_run(content: bytes) -> frozenset[int] | None:
    """The ranks in datatrove's ranks_to_run.json (a JSON list of integers), or None when it is not one."""
    try:
        ranks = json.loads(content)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(ranks, list) or not all(_rank(rank) for rank in ranks):
        return None
    return frozenset(ranks)


def _steps(node: Any) -> Iterator[dict[str, Any]]:
    """Every pipeline step's settings, in order, those nested in another (an inference runner's
    writer) right after it."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _steps(value) if isinstance(value, dict | list) else ()
    elif isinstance(node, list):
        for item in node:
            yield from _steps(item)


def _rank_of(name: str) -> int | None:
    match = _RANK_FILE.match(name)
    return int(match.group(1)) if match else None


def _rank(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _positive(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def read_folder_url(files: RemoteFiles, url: str, known: frozenset[int]) -> FolderListing | None:
    """A logging folder at an fsspec URL (hf://, s3://, file://), the stats of ranks in `known` left
    unread; None when it cannot be read."""
    try:
        fs, path = files.open(url.rstrip("/"))
        if not fs.isdir(path):
            return FolderListing(False)
        completions = _names(fs, f"{path}/completions")
        executor = _read_present(fs, f"{path}/executor.json", EXECUTOR_SIZE_LIMIT)
        ranks = _read_present(fs, f"{path}/ranks_to_run.json", RANKS_SIZE_LIMIT)
        stats = []
        for entry in _listed(fs, f"{path}/stats", detail=True):
            name = str(entry["name"]).rsplit("/", 1)[-1]
            rank = _rank_of(name)
            content = (
                None
                if rank is not None and rank in known
                else _read(fs, entry["name"], TASK_STATS_SIZE_LIMIT)
            )
            stats.append(StatsFile(name, _mtime(entry), content))
    except Exception:  # whatever the backend raises, "cannot tell" is the only safe answer
        log.debug("cannot read the logging folder %s", url, exc_info=True)
        return None
    return FolderListing(True, completions, executor, ranks, tuple(stats))


def launch_time_url(files: RemoteFiles, url: str) -> datetime | None:
    """When the executor.json of a logging folder at an fsspec URL was last written: datatrove rewrites
    it at each launch (None when that cannot be told)."""
    try:
        fs, path = files.open(url.rstrip("/"))
        moment = fs.modified(f"{path}/executor.json")
    except Exception:  # whatever the backend raises, "cannot tell" is the only safe answer
        log.debug("cannot tell when %s/executor.json was written", url, exc_info=True)
        return None
    if not isinstance(moment, datetime):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def read_launch_url(files: RemoteFiles, url: str) -> tuple[bytes | None, tuple[str, ...], str | None]:
    """executor.json of a logging folder at an fsspec URL (or a folder on this machine), and the names
    in its slurm_logs/; with why, when the folder could not be read."""
    try:
        fs, path = files.open(url.rstrip("/"))
        if not fs.isdir(path):
            return None, (), f"{url} is not a folder"
        executor = _read_present(fs, f"{path}/executor.json", EXECUTOR_SIZE_LIMIT)
        logs = _names(fs, f"{path}/slurm_logs")
    except Exception as error:  # whatever the backend raises, say it
        return None, (), f"cannot read {url}: {type(error).__name__}: {error}"
    return executor, logs, None


def read_tails_url(files: RemoteFiles, url: str, ranks: tuple[int, ...]) -> tuple[Tail, ...]:
    """The last lines of the logs of `ranks` in a logging folder at an fsspec URL (those it can read)."""
    tails = []
    try:
        fs, path = files.open(url.rstrip("/"))
        for rank in ranks[:TAILS_AT_MOST]:
            name = f"{path}/logs/task_{rank:05d}.log"
            if fs.exists(name):
                tails.append(task_tail(rank, tail_of(_read(fs, name, 256 * 1024, from_end=True))))
    except Exception:  # a missing tail is no reason to fail the job
        log.debug("cannot read the task logs of %s", url, exc_info=True)
    return tuple(tails)


def task_tail(rank: int, text: str) -> Tail:
    """The last lines of a task's log, named as people find it in the logging folder."""
    return Tail(f"logs/task_{rank:05d}.log", f"rank {rank}", text)


def tail_of(content: bytes, lines: int = TAIL_LINES) -> str:
    """The last `lines` lines of a log."""
    return "\n".join(content.decode("utf-8", "replace").rstrip("\n").splitlines()[-lines:])


def _listed(fs: Any, path: str, detail: bool) -> list[Any]:
    return list(fs.ls(path, detail=detail)) if fs.isdir(path) else []


def _names(fs: Any, folder: str) -> tuple[str, ...]:
    """The names of what `folder` holds (none when it is not there)."""
    return tuple(str(entry).rsplit("/", 1)[-1] for entry in _listed(fs, folder, detail=False))


def _read_present(fs: Any, path: str, limit: int) -> bytes | None:
    """The first `limit` bytes of the file at `path`, or None when there is none."""
    return _read(fs, path, limit) if fs.exists(path) else None


def _read(fs: Any, path: str, limit: int, from_end: bool = False) -> bytes:
    with fs.open(path, "rb") as file:
        if from_end:
            size = fs.size(path) or 0
            file.seek(max(0, size - limit))
        return bytes(file.read(limit))


def _mtime(entry: dict[str, Any]) -> float | None:
    """When a listed file was last written, from whatever the filesystem says."""
    for key in ("mtime", "created", "LastModified", "last_modified"):
        value = entry.get(key)
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, datetime):
            return value.timestamp()
    commit = entry.get("last_commit")
    date = getattr(commit, "date", None) if commit is not None else None
    return date.timestamp() if isinstance(date, datetime) else None
