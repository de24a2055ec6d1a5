"""Has a job finished, and how? stats.json means completed; a Slurm job that is gone means it stopped.

`decide` is the pure rule; `FinishDetector` asks each login node once (over SSH, or on this
machine for `ssh: local`) and the stats and logging URLs, then applies it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace

from ..errors import SshConfigError, StatsFormatError
from ..model import RUNNING, Outcome, TaskProgress, Verdict
from .logging_folder import probe_folder_url
from .slurm import (
    Answer,
    JobState,
    Liveness,
    Login,
    SshClient,
    Watched,
    ask,
    asks_cluster,
    on_cluster,
    unknown,
)
from .stats import Presence, StatsProbe, final_figures, probe_url


def decide(
    job_ids: Sequence[str],
    stats_expected: bool,
    stats: StatsProbe | None,
    slurm: JobState | None,
    tasks: TaskProgress | None = None,
) -> Verdict:
    """The rule. Only stats.json or a Slurm job that has clearly ended may finish a job.

    A job whose tasks are all done (datatrove's completions) has not stopped when its Slurm job
    leaves the queue: datatrove's follow-up job is still to write stats.json.
    """
    who, are = slurm_jobs(job_ids), "are" if len(job_ids) > 1 else "is"
    if stats is not None and stats.presence is Presence.FOUND:
        try:
            figures = final_figures(stats.content) if stats.content is not None else None
        except StatsFormatError as error:  # the merge job may still be writing it
            return Verdict(warning=f"{error}; it may still be being written, looking again next run")
        return Verdict(Outcome.COMPLETED, "stats.json found", figures=figures)
    if stats is not None and stats.presence is Presence.UNKNOWN:
        return Verdict(warning=f"cannot tell whether stats.json exists: {stats.detail}")
    if slurm is None:
        return RUNNING
    if slurm.liveness is Liveness.UNKNOWN:
        return Verdict(warning=f"cannot tell whether {who} {are} alive: {slurm.detail}")
    if slurm.liveness is Liveness.ALIVE:
        if slurm.pending is not None and slurm.pending.never_starts:
            return Verdict(
                warning=f"{who} will never start: a job it depends on failed ({slurm.pending.reason}); "
                "cancel it, then relaunch"
            )
        return RUNNING
    without = " without stats.json" if stats_expected else ""
    all_done = tasks is not None and tasks.complete
    if stats_expected and all_done and (slurm.liveness is Liveness.GONE or slurm.state == "COMPLETED"):
        return Verdict(
            warning=f"all {tasks.total if tasks else '?'} tasks are done; waiting for datatrove's stats.json"
        )
    if slurm.liveness is Liveness.GONE:
        return Verdict(Outcome.STOPPED, f"{who} {are} no longer in the queue{without}")
    if slurm.state == "COMPLETED":
        if stats_expected:
            # datatrove writes stats.json from a follow-up job that starts when this one ends.
            return Verdict(warning=f"{who} ended (COMPLETED); waiting for stats.json")
        return Verdict(Outcome.COMPLETED, f"{who} ended (COMPLETED)")
    return Verdict(Outcome.FAILED, f"{who} ended ({slurm.state}){without}")


def slurm_jobs(job_ids: Sequence[str]) -> str:
    """`Slurm job 123`, or `Slurm jobs 123 and 124` for a job launched as several arrays."""
    if len(job_ids) <= 1:
        return f"Slurm job {''.join(job_ids)}"
    return f"Slurm jobs {', '.join(job_ids[:-1])} and {job_ids[-1]}"


class FinishDetector:
    """Asks each login node once for all its jobs, and each stats or logging URL, then decides."""

    def __init__(
        self,
        ssh: SshClient,
        read_url: Callable[[str], StatsProbe] = probe_url,
        read_logs: Callable[[str], TaskProgress | None] = probe_folder_url,
    ) -> None:
        self._ssh = ssh
        self._read_url = read_url
        self._read_logs = read_logs

    def verdicts(self, jobs: Sequence[Watched]) -> dict[str, Verdict]:
        answers = self._ask_clusters(jobs)
        verdicts = {}
        for job in jobs:
            answer = answers.get(job.name, Answer())
            stats = answer.stats
            if job.stats_path is not None and on_cluster(job.stats_path) is None:
                stats = self._read_url(job.stats_path)
            tasks = answer.tasks
            if job.logging_dir is not None and on_cluster(job.logging_dir) is None:
                tasks = self._read_logs(job.logging_dir)
            verdict = decide(job.slurm_job_ids, job.stats_path is not None, stats, answer.slurm, tasks)
            slurm = answer.slurm or JobState(Liveness.UNKNOWN)
            verdicts[job.name] = replace(
                verdict, tasks=tasks, started_at=slurm.started_at, pending=slurm.pending
            )
        return verdicts

    def _ask_clusters(self, jobs: Sequence[Watched]) -> dict[str, Answer]:
        by_login: dict[Login, list[Watched]] = defaultdict(list)
        for job in jobs:
            if job.login is not None and asks_cluster(job):
                by_login[job.login].append(job)
        answers: dict[str, Answer] = {}
        for login, asked in by_login.items():
            try:
                answers.update(ask(login, self._ssh, asked))
            except SshConfigError as error:
                answers.update({job.name: unknown(job, str(error)) for job in asked})
        return answers
