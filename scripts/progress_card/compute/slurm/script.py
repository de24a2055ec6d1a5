"""The questions asked of a login node: one small shell script per host, whatever the number of jobs.

The script asks, for each job: squeue about all its Slurm arrays at once; whether its stats path
exists, and its content; in its datatrove logging folder, how many completions, executor.json
and ranks_to_run.json. Every value in the script is validated and shell-quoted; the answers come
back between marker lines that carry a random nonce. Paths are on the cluster when absolute
(URLs are read elsewhere, with fsspec).
"""

from __future__ import annotations

import base64
import binascii
import secrets
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ...model import TaskProgress
from ..logging_folder import EXECUTOR_SIZE_LIMIT, RANKS_SIZE_LIMIT, progress
from ..stats import STATS_SIZE_LIMIT, Presence, StatsProbe
from .login import UNREACHED, Login
from .squeue import JobState, Liveness, parse_squeue, squeue_argv
from .ssh import SshClient

_LAUNCH_FILES = (
    ("executor", "executor.json", EXECUTOR_SIZE_LIMIT),
    ("ranks", "ranks_to_run.json", RANKS_SIZE_LIMIT),
)
"""The logging folder's files read whole: (section kind, file name, size limit)."""


class Watched(Protocol):
    """What a job says about where to look: a manifest job is one."""

    @property
    def name(self) -> str: ...
    @property
    def slurm_job_ids(self) -> tuple[str, ...]: ...
    @property
    def stats_path(self) -> str | None: ...
    @property
    def logging_dir(self) -> str | None: ...
    @property
    def login(self) -> Login | None: ...


def on_cluster(path: str | None) -> str | None:
    """The path when it is one on the cluster (absolute), None for a URL or no path."""
    return path if path is not None and path.startswith("/") else None


def asks_cluster(job: Watched) -> bool:
    return bool(job.slurm_job_ids or on_cluster(job.stats_path) or on_cluster(job.logging_dir))


@dataclass(frozen=True)
class Answer:
    slurm: JobState | None = None
    stats: StatsProbe | None = None
    tasks: TaskProgress | None = None


def ask(login: Login, ssh: SshClient, jobs: Sequence[Watched]) -> dict[str, Answer]:
    """Ask about every job in one run of the script; when it cannot run, every answer is unknown, with why."""
    nonce = secrets.token_hex(8)
    script = build_script(jobs, nonce)
    result = login.run(script, ssh)
    if result.exit_code == UNREACHED:
        reason = login.explain(result)
        return {job.name: unknown(job, reason) for job in jobs}
    sections = parse_sections(result.stdout, nonce)
    return {job.name: _answer(job, index, sections, result.exit_code) for index, job in enumerate(jobs)}


def build_script(jobs: Sequence[Watched], nonce: str) -> str:
    """The POSIX shell script asking every question; answers end with `@@<nonce> <kind> <index> <status>`."""
    mark = f"@@{nonce}"
    lines = ["# progress-card: read-only questions about generation jobs", f"printf '\\n{mark} begin 0 0\\n'"]
    for index, job in enumerate(jobs):
        stats_path, logging_dir = on_cluster(job.stats_path), on_cluster(job.logging_dir)
        if job.slurm_job_ids:
            command = shlex.join(squeue_argv(job.slurm_job_ids))
            lines.append(f"{command} 2>&1; printf '\\n{mark} squeue {index} %s\\n' \"$?\"")
        if stats_path is not None:
            path = shlex.quote(_absolute(stats_path))
            lines.append(
                f"if [ -f {path} ] && [ -r {path} ]; then head -c {STATS_SIZE_LIMIT + 1} < {path} | base64; "
                f"printf '\\n{mark} stats {index} found\\n'; "
                f"elif [ -e {path} ]; then printf '\\n{mark} stats {index} unreadable\\n'; "
                f"else printf '\\n{mark} stats {index} missing\\n'; fi"
            )
        if logging_dir is not None:
            folder = _absolute(logging_dir).rstrip("/") or "/"
            completions = shlex.quote(f"{folder}/completions")
            lines.append(
                f"if [ -d {completions} ]; then find {completions} -mindepth 1 -maxdepth 1 -type f | wc -l; "
                f"else echo 0; fi; printf '\\n{mark} completions {index} %s\\n' \"$?\""
            )
            for kind, name, limit in _LAUNCH_FILES:
                file = shlex.quote(f"{folder}/{name}")
                lines.append(
                    f"if [ -f {file} ] && [ -r {file} ]; then head -c {limit} < {file} | base64; "
                    f"printf '\\n{mark} {kind} {index} found\\n'; else printf '\\n{mark} {kind} {index} missing\\n'; fi"
                )
    return "\n".join(lines) + "\n"


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
    job: Watched, index: int, sections: dict[tuple[str, int], tuple[str, str]], exit_code: int
) -> Answer:
    cut_short = f"the questions script stopped early (exit {exit_code})"
    stats_path = on_cluster(job.stats_path)
    slurm = None
    if job.slurm_job_ids:
        section = sections.get(("squeue", index))
        if section is None:
            slurm = JobState(Liveness.UNKNOWN, detail=cut_short)
        elif not section[0].isdigit():
            slurm = JobState(Liveness.UNKNOWN, detail=f"unexpected squeue status {section[0]!r}")
        else:
            slurm = parse_squeue(job.slurm_job_ids, int(section[0]), section[1])
    stats = None
    if stats_path is not None:
        section = sections.get(("stats", index))
        stats = _stats(stats_path, section) if section else StatsProbe(Presence.UNKNOWN, detail=cut_short)
    tasks = _tasks(sections, index) if on_cluster(job.logging_dir) is not None else None
    return Answer(slurm, stats, tasks)


def _stats(path: str, section: tuple[str, str]) -> StatsProbe:
    status, text = section
    if status == "missing":
        return StatsProbe(Presence.MISSING)
    if status == "unreadable":
        return StatsProbe(Presence.UNKNOWN, detail=f"{path} exists but cannot be read (permissions?)")
    try:
        content = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        return StatsProbe(Presence.UNKNOWN, detail=f"{path}: the content did not come back intact")
    if len(content) > STATS_SIZE_LIMIT:
        return StatsProbe(Presence.FOUND, detail=f"{path} is larger than {STATS_SIZE_LIMIT} bytes; not read")
    return StatsProbe(Presence.FOUND, content)


def _tasks(sections: dict[tuple[str, int], tuple[str, str]], index: int) -> TaskProgress | None:
    """Completions counted and the launch files read; None when the answer did not come back whole."""
    counted = sections.get(("completions", index))
    if counted is None or counted[0] != "0" or not counted[1].strip().isdigit():
        return None
    contents: list[bytes | None] = []
    for kind, _, _ in _LAUNCH_FILES:
        section = sections.get((kind, index))
        if section is None:
            return None
        try:
            found = section[0] == "found"
            contents.append(base64.b64decode("".join(section[1].split()), validate=True) if found else None)
        except (binascii.Error, ValueError):
            return None
    return progress(int(counted[1].strip()), *contents)


def unknown(job: Watched, reason: str) -> Answer:
    """The answer when the cluster could not be asked: nothing known, and why."""
    return Answer(
        JobState(Liveness.UNKNOWN, detail=reason) if job.slurm_job_ids else None,
        StatsProbe(Presence.UNKNOWN, detail=reason) if on_cluster(job.stats_path) is not None else None,
    )


def _absolute(path: str) -> str:
    if not path.startswith("/") or "\0" in path or "\n" in path:
        raise ValueError(f"a stats path on the cluster must be absolute and on one line, got {path!r}")
    return path
