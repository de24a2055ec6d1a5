"""Asking a cluster about its jobs: one SSH connection per host, whatever the number of jobs on it.

All the questions for one host go in one small shell script (squeue for each Slurm job; for
each stats path: does the file exist, and its content; for each datatrove logging folder: how
many completions, executor.json and ranks_to_run.json). Every value in the script is validated
and shell-quoted; the answers come back between marker lines that carry a random nonce.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from .slurm import JobState, Liveness, parse_squeue, squeue_argv
from .ssh import SshClient, SshSettings, explain_failure
from .stats import STATS_SIZE_LIMIT, Presence, StatsProbe
from .tasks import EXECUTOR_SIZE_LIMIT, RANKS_SIZE_LIMIT, TaskProgress, progress

_LAUNCH_FILES = (
    ("executor", "executor.json", EXECUTOR_SIZE_LIMIT),
    ("ranks", "ranks_to_run.json", RANKS_SIZE_LIMIT),
)
"""The logging folder's files read whole: (section kind, file name, size limit)."""


@dataclass(frozen=True)
class Question:
    """What to ask the cluster about one job."""

    job: str
    slurm_job_id: str | None = None
    stats_path: str | None = None
    """An absolute path on the cluster."""
    logging_dir: str | None = None
    """datatrove's logging folder, an absolute path on the cluster."""


@dataclass(frozen=True)
class Answer:
    slurm: JobState | None = None
    stats: StatsProbe | None = None
    tasks: TaskProgress | None = None


def ask(client: SshClient, settings: SshSettings, questions: Sequence[Question]) -> dict[str, Answer]:
    """Ask every question over one connection; when ssh fails, every answer is unknown with the reason."""
    nonce = secrets.token_hex(8)
    script = build_script(questions, nonce)
    result = client.run_script(settings, script)
    if result.exit_code == 255:
        reason = explain_failure(result, settings)
        return {q.job: _unknown(q, reason) for q in questions}
    sections = parse_sections(result.stdout, nonce)
    return {q.job: _answer(q, index, sections, result.exit_code) for index, q in enumerate(questions)}


def build_script(questions: Sequence[Question], nonce: str) -> str:
    """The POSIX shell script asking every question; answers end with `@@<nonce> <kind> <index> <status>`."""
    mark = f"@@{nonce}"
    lines = ["# progress-card: read-only questions about generation jobs", f"printf '\\n{mark} begin 0 0\\n'"]
    for index, question in enumerate(questions):
        if question.slurm_job_id is not None:
            command = shlex.join(squeue_argv(question.slurm_job_id))
            lines.append(f"{command} 2>&1; printf '\\n{mark} squeue {index} %s\\n' \"$?\"")
        if question.stats_path is not None:
            path = shlex.quote(_absolute(question.stats_path))
            lines.append(
                f"if [ -f {path} ] && [ -r {path} ]; then head -c {STATS_SIZE_LIMIT + 1} < {path} | base64; "
                f"printf '\\n{mark} stats {index} found\\n'; "
                f"elif [ -e {path} ]; then printf '\\n{mark} stats {index} unreadable\\n'; "
                f"else printf '\\n{mark} stats {index} missing\\n'; fi"
            )
        if question.logging_dir is not None:
            folder = _absolute(question.logging_dir).rstrip("/") or "/"
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
    question: Question, index: int, sections: dict[tuple[str, int], tuple[str, str]], exit_code: int
) -> Answer:
    cut_short = f"the remote script stopped early (exit {exit_code})"
    slurm = None
    if question.slurm_job_id is not None:
        section = sections.get(("squeue", index))
        if section is None:
            slurm = JobState(Liveness.UNKNOWN, detail=cut_short)
        elif not section[0].isdigit():
            slurm = JobState(Liveness.UNKNOWN, detail=f"unexpected squeue status {section[0]!r}")
        else:
            slurm = parse_squeue(question.slurm_job_id, int(section[0]), section[1])
    stats = None
    if question.stats_path is not None:
        section = sections.get(("stats", index))
        stats = (
            _stats(question.stats_path, section)
            if section
            else StatsProbe(Presence.UNKNOWN, detail=cut_short)
        )
    tasks = _tasks(sections, index) if question.logging_dir is not None else None
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


def _unknown(question: Question, reason: str) -> Answer:
    return Answer(
        JobState(Liveness.UNKNOWN, detail=reason) if question.slurm_job_id is not None else None,
        StatsProbe(Presence.UNKNOWN, detail=reason) if question.stats_path is not None else None,
    )


def _absolute(path: str) -> str:
    if not path.startswith("/") or "\0" in path or "\n" in path:
        raise ValueError(f"a stats path on the cluster must be absolute and on one line, got {path!r}")
    return path
