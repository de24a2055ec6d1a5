"""Has a job finished, and how? stats.json, or every task's completion, means completed; a Slurm job
that ended, or that the queue showed and no longer does, means it stopped.

`decide` is the pure rule; `FinishDetector` asks each login node once (over SSH, or on this
machine for `ssh: local`) and the stats and logging URLs, then applies it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from ..errors import SshConfigError, StatsFormatError
from ..model import NOTHING, RUNNING, JobNotes, Outcome, TaskProgress, Verdict
from .logging_folder import TAILS_AT_MOST, Findings, FolderListing, findings, read_folder_url, read_tails_url
from .slurm import (
    Answer,
    Asked,
    JobState,
    Liveness,
    Login,
    SshClient,
    Watched,
    ask,
    ask_tails,
    asks_cluster,
    on_cluster,
    unknown,
)
from .stats import Presence, StatsProbe, final_figures, probe_url


def decide(
    job_ids: Sequence[str],
    stats: StatsProbe | None,
    slurm: JobState | None,
    tasks: TaskProgress | None = None,
    seen: bool = True,
    ended: str | None = None,
) -> Verdict:
    """The rule. Only stats.json, every task's completion, or a Slurm job that has clearly ended may
    finish a job; a job id the queue has never shown (`seen`), and that Slurm's accounts do not know
    (`ended`), finishes nothing: it is more likely a typo than a job that ended.

    A job whose tasks have all completed is complete once nothing of it is queued or running, with
    or without stats.json (datatrove's merge job may never run: its coordinator died, a task
    needed a relaunch). A job that ended with tasks unfinished names them.
    """
    who, are = slurm_jobs(job_ids), "are" if len(job_ids) > 1 else "is"
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
    if slurm is None:
        return Verdict(Outcome.COMPLETED, done_reason) if all_done else RUNNING
    if slurm.liveness is Liveness.UNKNOWN:
        return Verdict(warnings=(f"cannot tell whether {who} {are} alive: {slurm.detail}",))
    if slurm.liveness is Liveness.ALIVE:
        if slurm.pending is not None and slurm.pending.never_starts:
            warning = (
                f"{who} will never start: a job it depends on failed ({slurm.pending.reason}); "
                "cancel it, then relaunch"
            )
            return Verdict(warnings=(warning,))
        return RUNNING
    if all_done:
        return Verdict(Outcome.COMPLETED, done_reason)
    state = slurm.state if slurm.liveness is Liveness.ENDED else ended
    if slurm.liveness is Liveness.GONE and not seen and state is None:
        return Verdict(
            warnings=(
                f"Slurm does not know {who}: it was never seen queued or running, and Slurm's accounts do not "
                "say how it ended; a typo in slurm_job_id? nothing is marked finished",
            )
        )
    without = " without stats.json" if stats is not None else ""
    how = f"{who} ended ({state})" if state is not None else f"{who} {are} no longer in the queue"
    unfinished = tasks.unfinished if tasks is not None else ()
    if unfinished:
        assert tasks is not None and tasks.total is not None
        shown = ", ".join(str(rank) for rank in unfinished[:3]) + (", …" if len(unfinished) > 3 else "")
        missing = f"{len(unfinished)} of {tasks.total} tasks unfinished (ranks {shown})"
        return Verdict(
            Outcome.STOPPED if state in (None, "COMPLETED") else Outcome.FAILED,
            f"{missing}; {how}",
        )
    if state == "COMPLETED" and stats is not None:
        # datatrove writes stats.json from a follow-up job that starts when this one ends.
        return Verdict(warnings=(f"{how}; waiting for stats.json",))
    if state is None:
        return Verdict(Outcome.STOPPED, f"{how}{without}")
    if state == "COMPLETED":
        return Verdict(Outcome.COMPLETED, how)
    return Verdict(Outcome.FAILED, f"{how}{without}")


def slurm_jobs(job_ids: Sequence[str]) -> str:
    """`Slurm job 123`, or `Slurm jobs 123 and 124` for a job launched as several arrays."""
    if len(job_ids) <= 1:
        return f"Slurm job {''.join(job_ids)}"
    return f"Slurm jobs {', '.join(job_ids[:-1])} and {job_ids[-1]}"


class FinishDetector:
    """Asks each login node once for all its jobs, and each stats or logging URL, then decides; asks
    again for the logs of the tasks that did not finish, when a job ended without them."""

    def __init__(
        self,
        ssh: SshClient,
        read_url: Callable[[str], StatsProbe] = probe_url,
        read_folder: Callable[[str, frozenset[int]], FolderListing | None] = read_folder_url,
    ) -> None:
        self._ssh = ssh
        self._read_url = read_url
        self._read_folder = read_folder

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
            stats = self._read_url(job.stats_path)
        listing = answer.folder
        if job.logging_dir is not None and on_cluster(job.logging_dir) is None:
            listing = self._read_folder(job.logging_dir, question.known)
        found = (
            findings(job.logging_dir, listing) if job.logging_dir is not None and listing else Findings(None)
        )
        if job.logging_dir is not None and listing is None:
            found = Findings(None, problems=(f"cannot read the logging folder {job.logging_dir} this run",))
        slurm = answer.slurm or JobState(Liveness.UNKNOWN)
        alive_now = slurm.liveness in (Liveness.ALIVE, Liveness.ENDED)
        verdict = decide(
            job.slurm_job_ids, stats, answer.slurm, found.tasks, question.seen or alive_now, answer.ended
        )
        verdict = replace(
            verdict,
            warnings=(*verdict.warnings, *found.problems),
            tasks=found.tasks,
            started_at=slurm.started_at,
            pending=slurm.pending,
            settings=found.executor.settings if found.executor is not None else None,
            finished_tasks=found.finished,
            seen=frozenset(job.slurm_job_ids) if alive_now else frozenset(),
        )
        unfinished = found.tasks.unfinished if found.tasks is not None else ()
        if (
            verdict.outcome in (Outcome.STOPPED, Outcome.FAILED)
            and unfinished
            and job.logging_dir is not None
        ):
            verdict = replace(verdict, tails=self._tails(job, unfinished[:TAILS_AT_MOST]))
        return verdict

    def _tails(self, job: Watched, ranks: tuple[int, ...]) -> tuple[tuple[int, str], ...]:
        folder = job.logging_dir
        assert folder is not None
        if on_cluster(folder) is None:
            return read_tails_url(folder, ranks)
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
