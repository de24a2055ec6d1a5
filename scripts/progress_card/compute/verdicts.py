"""Has a job finished, and how? stats.json, or every task's completion, means completed; a scheduler
that says the job ended (Slurm's queue or accounts, its Hugging Face Jobs) means it completed, failed
or stopped.

`decide` is the pure rule, whatever the scheduler; `FinishDetector` asks each login node once (over
SSH, or on this machine for `ssh: local`), the Hub once per job followed on Hugging Face Jobs, and
the stats and logging URLs, then applies it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import partial

from ..errors import SshConfigError, StatsFormatError
from ..formatting import format_first
from ..model import NOTHING, RUNNING, JobNotes, Outcome, Tail, TaskProgress, Verdict
from .hf_jobs import JobsClient, JobsFollower
from .logging_folder import (
    TAILS_AT_MOST,
    Findings,
    findings,
    launch_time_url,
    read_folder_url,
    read_tails_url,
)
from .remote import RemoteFiles
from .schedule import JobState, Liveness
from .slurm import Answer, Asked, Login, SshClient, ask, ask_tails, asks_cluster, on_cluster, unknown
from .stats import Presence, StatsProbe, final_figures, probe_url
from .watched import Watched


def decide(stats: StatsProbe | None, schedule: JobState | None, tasks: TaskProgress | None = None) -> Verdict:
    """The rule. Only stats.json, every task's completion, or a scheduler that clearly says the job
    ended may finish it; a job its scheduler knows nothing of (`schedule.unknown`) finishes nothing:
    it is more likely a typo than a job that ended.

    A job whose tasks have all completed is complete once nothing of it is queued or running, with
    or without stats.json (datatrove's merge may never run: its coordinator died, a task needed a
    relaunch). A job that ended with tasks unfinished names them.
    """
    if stats is not None and stats.presence is Presence.FOUND:
        try:
            figures = final_figures(stats.content) if stats.content is not None else None
        except StatsFormatError as error:  # the merge job may still be writing it
            return Verdict(warnings=(f"{error}; it may still be being written, looking again next run",))
        return Verdict(Outcome.COMPLETED, "stats.json found", figures=figures)
    if stats is not None and stats.presence is Presence.UNKNOWN:
        return Verdict(warnings=(f"cannot tell whether stats.json exists: {stats.detail}",))
    all_done = tasks is not None and tasks.complete
    done_reason = f"all {tasks.total if tasks else '?'} tasks completed" + (
        "; stats.json not written" if stats is not None else ""
    )
    if schedule is None:
        return Verdict(Outcome.COMPLETED, done_reason) if all_done else RUNNING
    if schedule.liveness is Liveness.UNKNOWN:
        verb = "are" if schedule.plural else "is"
        return Verdict(warnings=(f"cannot tell whether {schedule.who} {verb} alive: {schedule.detail}",))
    if schedule.alive:
        if schedule.pending is not None and schedule.pending.never_starts:
            warning = (
                f"{schedule.who} will never start: a job it depends on failed ({schedule.pending.reason}); "
                "cancel it, then relaunch"
            )
            return Verdict(warnings=(warning,))
        return RUNNING
    if all_done:
        return Verdict(Outcome.COMPLETED, done_reason)
    if schedule.unknown is not None:
        return Verdict(warnings=(f"{schedule.unknown} nothing is marked finished",))
    ended = Outcome.FAILED if schedule.failure else Outcome.STOPPED
    unfinished = tasks.unfinished if tasks is not None else ()
    if unfinished:
        assert tasks is not None and tasks.total is not None
        missing = f"{len(unfinished)} of {tasks.total} tasks unfinished (ranks {format_first(unfinished)})"
        return Verdict(ended, f"{missing}; {schedule.how}")
    if schedule.completed and stats is not None:
        # datatrove writes stats.json once every task is done: a follow-up Slurm job, or the coordinator.
        return Verdict(warnings=(f"{schedule.how}; waiting for stats.json",))
    if schedule.completed:
        return Verdict(Outcome.COMPLETED, schedule.how)
    without = " without stats.json" if stats is not None else ""
    return Verdict(ended, f"{schedule.how}{without}")


class FinishDetector:
    """Asks each login node once for all its jobs, the Hub about each job's Hugging Face Jobs, and each
    stats or logging URL, then decides; asks again for the logs of what did not finish, when a job
    ended without it."""

    def __init__(self, ssh: SshClient, jobs_client: JobsClient | None = None) -> None:
        self._ssh = ssh
        self._files = RemoteFiles()
        self._hf_jobs = (
            JobsFollower(jobs_client, partial(launch_time_url, self._files))
            if jobs_client is not None
            else None
        )

    def verdicts(self, jobs: Sequence[Watched], notes: Mapping[str, JobNotes]) -> dict[str, Verdict]:
        remembered = {job.name: notes.get(job.name, NOTHING) for job in jobs}
        asked = [
            Asked(
                job, remembered[job.name].sums.ranks, bool(remembered[job.name].seen & set(job.slurm_job_ids))
            )
            for job in jobs
        ]
        answers = self._ask_clusters(asked)
        return {
            question.job.name: self._verdict(question, answers.get(question.job.name, Answer()))
            for question in asked
        }

    def _verdict(self, question: Asked, answer: Answer) -> Verdict:
        job = question.job
        stats = answer.stats
        if job.stats_path is not None and on_cluster(job.stats_path) is None:
            stats = probe_url(self._files, job.stats_path)
        listing = answer.folder
        if job.logging_dir is not None and on_cluster(job.logging_dir) is None:
            listing = read_folder_url(self._files, job.logging_dir, question.known)
        found = (
            findings(job.logging_dir, listing) if job.logging_dir is not None and listing else Findings(None)
        )
        if job.logging_dir is not None and listing is None:
            found = Findings(None, problems=(f"cannot read the logging folder {job.logging_dir} this run",))
        schedule = answer.schedule or self._on_hf_jobs(job)
        verdict = decide(stats, schedule, found.tasks)
        if schedule is not None:
            verdict = replace(
                verdict,
                warnings=(*verdict.warnings, *schedule.warnings),
                started_at=schedule.started_at,
                pending=schedule.pending,
                seen=schedule.shown,
                retrying=schedule.retrying,
                stale=schedule.stale,
                spend=schedule.spend,
            )
        verdict = replace(
            verdict,
            warnings=(*verdict.warnings, *found.problems),
            tasks=found.tasks,
            settings=found.executor.settings if found.executor is not None else None,
            finished_tasks=found.finished,
        )
        if verdict.outcome in (Outcome.STOPPED, Outcome.FAILED):
            verdict = replace(verdict, tails=self._tails(job, schedule, found.tasks))
        return verdict

    def _on_hf_jobs(self, job: Watched) -> JobState | None:
        if job.hf_jobs is None or self._hf_jobs is None:
            return None
        return self._hf_jobs.state(job.hf_jobs, job.logging_dir)

    def _tails(self, job: Watched, schedule: JobState | None, tasks: TaskProgress | None) -> tuple[Tail, ...]:
        """The logs of the parts that failed (Hugging Face Jobs), or else of the unfinished tasks."""
        if schedule is not None and schedule.failed and job.hf_jobs is not None and self._hf_jobs is not None:
            return self._hf_jobs.tails(job.hf_jobs, schedule.failed)
        folder = job.logging_dir
        ranks = tasks.unfinished[:TAILS_AT_MOST] if tasks is not None else ()
        if folder is None or not ranks:
            return ()
        if on_cluster(folder) is None:
            return read_tails_url(self._files, folder, ranks)
        if job.login is None:
            return ()
        try:
            return ask_tails(job.login, self._ssh, folder, ranks)
        except SshConfigError:
            return ()

    def _ask_clusters(self, asked: Sequence[Asked]) -> dict[str, Answer]:
        by_login: dict[Login, list[Asked]] = defaultdict(list)
        for question in asked:
            job = question.job
            if job.login is not None and asks_cluster(job):
                by_login[job.login].append(question)
        answers: dict[str, Answer] = {}
        for login, questions in by_login.items():
            try:
                answers.update(ask(login, self._ssh, questions))
            except SshConfigError as error:
                answers.update({q.job.name: unknown(q.job, str(error)) for q in questions})
        return answers
