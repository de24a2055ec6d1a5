"""The questions asked of a login node: one small shell script per host, whatever the number of jobs.

The script asks, for each job: squeue about all its Slurm arrays at once, and sacct (how did they
end, and what GPUs did they hold, where Slurm keeps accounts); whether its stats
path exists, and its content; in its datatrove logging folder, which ranks completed,
executor.json, ranks_to_run.json, and the stats files of the tasks not summed before. A second,
rarer script brings back the last lines of the logs of tasks that did not finish. Every value in
the scripts is validated and shell-quoted; the answers come back between marker lines that carry a
random nonce. Paths are on the cluster when absolute (URLs are read elsewhere, with fsspec).
"""

from __future__ import annotations

import base64
import binascii
import secrets
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from ...model import Tail
from ..logging_folder import (
    EXECUTOR_SIZE_LIMIT,
    RANKS_SIZE_LIMIT,
    TAIL_LINES,
    TASK_STATS_SIZE_LIMIT,
    FolderListing,
    StatsFile,
    task_tail,
)
from ..schedule import JobState, Liveness
from ..stats import STATS_SIZE_LIMIT, Presence, StatsProbe
from ..watched import Watched
from .login import UNREACHED, Login
from .squeue import (
    Accounts,
    InQueue,
    QueueState,
    job_state,
    parse_sacct,
    parse_squeue,
    sacct_argv,
    slurm_jobs,
    squeue_argv,
)
from .ssh import SshClient

_LAUNCH_FILES = (
    ("executor", "executor.json", EXECUTOR_SIZE_LIMIT),
    ("ranks", "ranks_to_run.json", RANKS_SIZE_LIMIT),
)
"""The logging folder's files read whole: (section kind, file name, size limit)."""


def on_cluster(path: str | None) -> str | None:
    """The path when it is one on the cluster (absolute), None for a URL or no path."""
    return path if path is not None and path.startswith("/") else None


def asks_cluster(job: Watched) -> bool:
    return bool(job.slurm_job_ids or on_cluster(job.stats_path) or on_cluster(job.logging_dir))


@dataclass(frozen=True)
class Asked:
    """A job to ask about, with what earlier runs already know of it."""

    job: Watched
    known: frozenset[int] = frozenset()
    """The ranks whose stats were summed before: their files are not sent again."""
    seen: bool = True
    """An earlier run saw the job queued or running: when the queue no longer shows it, it ended."""


@dataclass(frozen=True)
class Answer:
    schedule: JobState | None = None
    """What Slurm says of the job (None: the job names no Slurm job)."""
    stats: StatsProbe | None = None
    folder: FolderListing | None = None
    """What the logging folder holds; None when it was not asked about or did not come back whole."""


def ask(login: Login, ssh: SshClient, asked: Sequence[Asked]) -> dict[str, Answer]:
    """Ask about every job in one run of the script; when it cannot run, every answer is unknown, with why."""
    nonce = secrets.token_hex(8)
    script = build_script(asked, nonce)
    result = login.run(script, ssh)
    if result.exit_code == UNREACHED:
        reason = login.explain(result)
        return {question.job.name: unknown(question.job, reason) for question in asked}
    sections = parse_sections(result.stdout, nonce)
    return {
        question.job.name: _answer(question, index, sections, result.exit_code)
        for index, question in enumerate(asked)
    }


def ask_tails(login: Login, ssh: SshClient, folder: str, ranks: Sequence[int]) -> tuple[Tail, ...]:
    """The last lines of the task logs of `ranks` in the logging folder on the cluster (those there)."""
    nonce = secrets.token_hex(8)
    mark = f"@@{nonce}"
    base = _absolute(folder).rstrip("/") or "/"
    lines = [f"printf '\\n{mark} begin 0 0\\n'"]
    for rank in ranks:
        log = shlex.quote(f"{base}/logs/task_{rank:05d}.log")
        lines.append(
            f"if [ -f {log} ]; then tail -n {TAIL_LINES} < {log} | base64; printf '\\n{mark} tail {rank} found\\n'; fi"
        )
    result = login.run("\n".join(lines) + "\n", ssh)
    if result.exit_code == UNREACHED:
        return ()
    sections = parse_sections(result.stdout, nonce)
    tails = []
    for rank in ranks:
        content = _decoded(sections.get(("tail", rank)))
        if content is not None:
            tails.append(task_tail(rank, content.decode("utf-8", "replace").rstrip("\n")))
    return tuple(tails)


def build_script(asked: Sequence[Asked], nonce: str) -> str:
    """The POSIX shell script asking every question; answers end with `@@<nonce> <kind> <index> <status>`."""
    mark = f"@@{nonce}"
    lines = ["# progress-card: read-only questions about generation jobs", f"printf '\\n{mark} begin 0 0\\n'"]
    for index, question in enumerate(asked):
        job = question.job
        stats_path, logging_dir = on_cluster(job.stats_path), on_cluster(job.logging_dir)
        if job.slurm_job_ids:
            command = shlex.join(squeue_argv(job.slurm_job_ids))
            lines.append(f"{command} 2>&1; printf '\\n{mark} squeue {index} %s\\n' \"$?\"")
            command = shlex.join(sacct_argv(job.slurm_job_ids))
            lines.append(f"{command} 2>/dev/null; printf '\\n{mark} sacct {index} %s\\n' \"$?\"")
        if stats_path is not None:
            path = shlex.quote(_absolute(stats_path))
            lines.append(
                f"if [ -f {path} ] && [ -r {path} ]; then head -c {STATS_SIZE_LIMIT + 1} < {path} | base64; "
                f"printf '\\n{mark} stats {index} found\\n'; "
                f"elif [ -e {path} ]; then printf '\\n{mark} stats {index} unreadable\\n'; "
                f"else printf '\\n{mark} stats {index} missing\\n'; fi"
            )
        if logging_dir is not None:
            lines += _folder_questions(_absolute(logging_dir).rstrip("/") or "/", index, mark, question.known)
    return "\n".join(lines) + "\n"


def _folder_questions(folder: str, index: int, mark: str, known: frozenset[int]) -> list[str]:
    """Whether the logging folder exists, the ranks completed, the launch files, and the stats files
    (with when each was written; the content of those not summed before)."""
    completions, stats = shlex.quote(f"{folder}/completions"), shlex.quote(f"{folder}/stats")
    known_ranks = shlex.quote(" " + " ".join(str(rank) for rank in sorted(known)) + " ")
    lines = [
        f"if [ -d {shlex.quote(folder)} ]; then printf '\\n{mark} folder {index} yes\\n'; "
        f"else printf '\\n{mark} folder {index} no\\n'; fi",
        f"if [ -d {completions} ]; then ls -1 {completions}; fi; printf '\\n{mark} completions {index} %s\\n' \"$?\"",
    ]
    for kind, name, limit in _LAUNCH_FILES:
        file = shlex.quote(f"{folder}/{name}")
        lines.append(
            f"if [ -f {file} ] && [ -r {file} ]; then head -c {limit} < {file} | base64; "
            f"printf '\\n{mark} {kind} {index} found\\n'; else printf '\\n{mark} {kind} {index} missing\\n'; fi"
        )
    # One section a stats file: `stat/<name>` with its content, `statknown/<name>` without; the status
    # is when it was written (seconds since the epoch).
    lines.append(
        f'known={known_ranks}; for f in {stats}/*.json; do [ -f "$f" ] || continue; n=${{f##*/}}; '
        "r=$(printf '%s' \"${n%.json}\" | sed 's/^0*//'); r=${r:-0}; "
        't=$(stat -c %Y "$f" 2>/dev/null || echo 0); '
        f'case "$known" in *" $r "*) printf \'\\n{mark} statknown/%s {index} %s\\n\' "$n" "$t";; '
        f'*) head -c {TASK_STATS_SIZE_LIMIT} < "$f" | base64; printf \'\\n{mark} stat/%s {index} %s\\n\' "$n" "$t";; '
        "esac; done"
    )
    return lines


def parse_sections(stdout: bytes, nonce: str) -> dict[tuple[str, int], tuple[str, str]]:
    """`{(kind, index): (status, text before the marker)}`; text before `begin` (a chatty profile) is ignored."""
    mark = f"@@{nonce} "
    sections: dict[tuple[str, int], tuple[str, str]] = {}
    text: list[str] = []
    for line in stdout.decode("utf-8", "replace").split("\n"):
        if line.startswith(mark):
            fields = line[len(mark) :].split()
            if len(fields) == 3 and fields[1].isdigit():
                sections[(fields[0], int(fields[1]))] = (fields[2], "\n".join(text).strip("\n"))
            text = []
        else:
            text.append(line)
    return sections


def _answer(
    question: Asked, index: int, sections: dict[tuple[str, int], tuple[str, str]], exit_code: int
) -> Answer:
    job = question.job
    cut_short = f"the questions script stopped early (exit {exit_code})"
    stats_path = on_cluster(job.stats_path)
    schedule = None
    if job.slurm_job_ids:
        section = sections.get(("squeue", index))
        if section is None:
            queue = QueueState(InQueue.UNKNOWN, detail=cut_short)
        elif not section[0].isdigit():
            queue = QueueState(InQueue.UNKNOWN, detail=f"unexpected squeue status {section[0]!r}")
        else:
            queue = parse_squeue(job.slurm_job_ids, int(section[0]), section[1])
        accounts = sections.get(("sacct", index))
        said = (
            parse_sacct(job.slurm_job_ids, accounts[1])
            if accounts is not None and accounts[0] == "0"
            else Accounts()
        )
        schedule = job_state(job.slurm_job_ids, queue, said, question.seen)
    stats = None
    if stats_path is not None:
        section = sections.get(("stats", index))
        stats = _stats(stats_path, section) if section else StatsProbe(Presence.UNKNOWN, detail=cut_short)
    folder = _folder(sections, index) if on_cluster(job.logging_dir) is not None else None
    return Answer(schedule, stats, folder)


def _stats(path: str, section: tuple[str, str]) -> StatsProbe:
    status = section[0]
    if status == "missing":
        return StatsProbe(Presence.MISSING)
    if status == "unreadable":
        return StatsProbe(Presence.UNKNOWN, detail=f"{path} exists but cannot be read (permissions?)")
    content = _decoded(section)
    if content is None:
        return StatsProbe(Presence.UNKNOWN, detail=f"{path}: the content did not come back intact")
    if len(content) > STATS_SIZE_LIMIT:
        return StatsProbe(Presence.FOUND, detail=f"{path} is larger than {STATS_SIZE_LIMIT} bytes; not read")
    return StatsProbe(Presence.FOUND, content)


def _folder(sections: dict[tuple[str, int], tuple[str, str]], index: int) -> FolderListing | None:
    """What the logging folder holds; None when the answer did not come back whole."""
    exists = sections.get(("folder", index))
    listed = sections.get(("completions", index))
    if exists is None or listed is None or listed[0] != "0":
        return None
    if exists[0] != "yes":
        return FolderListing(False)
    launch_files: list[bytes | None] = []
    for kind, _, _ in _LAUNCH_FILES:
        section = sections.get((kind, index))
        if section is None:
            return None
        content = _decoded(section) if section[0] == "found" else None
        if section[0] == "found" and content is None:
            return None
        launch_files.append(content)
    stats = []
    for (kind, number), (status, text) in sections.items():
        if number != index or not kind.startswith(("stat/", "statknown/")):
            continue
        name = kind.partition("/")[2]
        content = _decoded((status, text)) if kind.startswith("stat/") else None
        stats.append(StatsFile(name, float(status) if status.isdigit() else None, content))
    completions = tuple(line.strip() for line in listed[1].splitlines() if line.strip())
    return FolderListing(
        True, completions, launch_files[0], launch_files[1], tuple(sorted(stats, key=lambda f: f.name))
    )


def _decoded(section: tuple[str, str] | None) -> bytes | None:
    """The base64 content of a section, or None when it did not come back intact."""
    if section is None:
        return None
    try:
        return base64.b64decode("".join(section[1].split()), validate=True)
    except (binascii.Error, ValueError):
        return None


def unknown(job: Watched, reason: str) -> Answer:
    """The answer when the cluster could not be asked: nothing known, and why."""
    return Answer(
        JobState(Liveness.UNKNOWN, slurm_jobs(job.slurm_job_ids), len(job.slurm_job_ids) > 1, detail=reason)
        if job.slurm_job_ids
        else None,
        StatsProbe(Presence.UNKNOWN, detail=reason) if on_cluster(job.stats_path) is not None else None,
    )


def _absolute(path: str) -> str:
    if not path.startswith("/") or "\0" in path or "\n" in path:
        raise ValueError(f"a stats path on the cluster must be absolute and on one line, got {path!r}")
    return path


def ask_launch(login: Login, ssh: SshClient, folder: str) -> tuple[bytes | None, tuple[str, ...], str | None]:
    """executor.json of the logging folder on the cluster, and the names in its slurm_logs/; with why,
    when the folder could not be read."""
    nonce = secrets.token_hex(8)
    mark = f"@@{nonce}"
    base = _absolute(folder).rstrip("/") or "/"
    executor, logs = shlex.quote(f"{base}/executor.json"), shlex.quote(f"{base}/slurm_logs")
    script = "\n".join(
        [
            f"printf '\\n{mark} begin 0 0\\n'",
            f"if [ -f {executor} ]; then head -c {EXECUTOR_SIZE_LIMIT} < {executor} | base64; "
            f"printf '\\n{mark} executor 0 found\\n'; else printf '\\n{mark} executor 0 missing\\n'; fi",
            f"if [ -d {logs} ]; then ls -1 {logs}; fi; printf '\\n{mark} slurmlogs 0 %s\\n' \"$?\"",
        ]
    )
    result = login.run(script + "\n", ssh)
    if result.exit_code == UNREACHED:
        return None, (), login.explain(result)
    sections = parse_sections(result.stdout, nonce)
    found = sections.get(("executor", 0))
    content = _decoded(found) if found is not None and found[0] == "found" else None
    listed = sections.get(("slurmlogs", 0))
    names = tuple(line.strip() for line in listed[1].splitlines() if line.strip()) if listed else ()
    return content, names, None
