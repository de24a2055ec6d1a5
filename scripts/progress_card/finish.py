"""Has a job finished, and how? stats.json means completed; a Slurm job that is gone means it stopped.

`decide` is the pure rule; `FinishDetector` asks the cluster (one SSH connection per host) and
the stats URLs, then applies it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum

from .cluster import Answer, Question, ask
from .slurm import JobState, Liveness
from .ssh import SshClient, SshConfigError, SshSettings
from .stats import Presence, StatsProbe, probe_url
from .tasks import Launch, TaskProgress, probe_folder_url


class Outcome(str, Enum):
    COMPLETED = "completed"
    STOPPED = "stopped"
    FAILED = "failed"


@dataclass(frozen=True)
class Verdict:
    """`outcome` None: the job is still running (or we cannot tell, and `warning` says why)."""

    outcome: Outcome | None = None
    reason: str = ""
    warning: str | None = None
    stats: bytes | None = None
    tasks: TaskProgress | None = None
    """Tasks done in datatrove's logging folder, when the job has one and it could be read."""
    started_at: datetime | None = None
    """When Slurm started the job's first task, when it says."""

    @property
    def launch(self) -> Launch:
        """How the job's tasks run, as far as the cluster says."""
        tasks = self.tasks or TaskProgress(0, None)
        return Launch(self.started_at, tasks.total, tasks.workers, tasks.ranks)


RUNNING = Verdict()


def decide(
    job_id: str | None,
    stats_expected: bool,
    stats: StatsProbe | None,
    slurm: JobState | None,
    tasks: TaskProgress | None = None,
) -> Verdict:
    """The rule. Only stats.json or a Slurm job that has clearly ended may finish a job.

    A job whose tasks are all done (datatrove's completions) has not stopped when its Slurm job
    leaves the queue: datatrove's follow-up job is still to write stats.json.
    """
    if stats is not None and stats.presence is Presence.FOUND:
        return Verdict(Outcome.COMPLETED, "stats.json found", stats=stats.content)
    if stats is not None and stats.presence is Presence.UNKNOWN:
        return Verdict(warning=f"cannot tell whether stats.json exists: {stats.detail}")
    if slurm is None:
        return RUNNING
    if slurm.liveness is Liveness.UNKNOWN:
        return Verdict(warning=f"cannot tell whether Slurm job {job_id} is alive: {slurm.detail}")
    if slurm.liveness is Liveness.ALIVE:
        return RUNNING
    without = " without stats.json" if stats_expected else ""
    all_done = tasks is not None and tasks.complete
    if stats_expected and all_done and (slurm.liveness is Liveness.GONE or slurm.state == "COMPLETED"):
        return Verdict(
            warning=f"all {tasks.total if tasks else '?'} tasks are done; waiting for datatrove's stats.json"
        )
    if slurm.liveness is Liveness.GONE:
        return Verdict(Outcome.STOPPED, f"Slurm job {job_id} is no longer in the queue{without}")
    if slurm.state == "COMPLETED":
        if stats_expected:
            # datatrove writes stats.json from a follow-up job that starts when this one ends.
            return Verdict(warning=f"Slurm job {job_id} ended (COMPLETED); waiting for stats.json")
        return Verdict(Outcome.COMPLETED, f"Slurm job {job_id} ended (COMPLETED)")
    return Verdict(Outcome.FAILED, f"Slurm job {job_id} ended ({slurm.state}){without}")


@dataclass(frozen=True)
class Watch:
    """What to watch for one job: its Slurm id and stats path, and how to reach the cluster."""

    job: str
    slurm_job_id: str | None
    stats_path: str | None
    ssh: SshSettings | None
    logging_dir: str | None = None

    @property
    def stats_on_cluster(self) -> bool:
        return self.stats_path is not None and self.stats_path.startswith("/")

    @property
    def logs_on_cluster(self) -> bool:
        return self.logging_dir is not None and self.logging_dir.startswith("/")


class FinishDetector:
    """Asks each cluster once for all its jobs, and each stats URL, then decides."""

    def __init__(
        self,
        ssh: SshClient,
        read_url: Callable[[str], StatsProbe] = probe_url,
        read_logs: Callable[[str], TaskProgress | None] = probe_folder_url,
    ) -> None:
        self._ssh = ssh
        self._read_url = read_url
        self._read_logs = read_logs

    def verdicts(self, watches: Sequence[Watch]) -> dict[str, Verdict]:
        answers = self._ask_clusters(watches)
        verdicts = {}
        for watch in watches:
            answer = answers.get(watch.job, Answer())
            stats = answer.stats
            if watch.stats_path is not None and not watch.stats_on_cluster:
                stats = self._read_url(watch.stats_path)
            tasks = answer.tasks
            if watch.logging_dir is not None and not watch.logs_on_cluster:
                tasks = self._read_logs(watch.logging_dir)
            verdict = decide(watch.slurm_job_id, watch.stats_path is not None, stats, answer.slurm, tasks)
            started = answer.slurm.started_at if answer.slurm is not None else None
            verdicts[watch.job] = replace(verdict, tasks=tasks, started_at=started)
        return verdicts

    def _ask_clusters(self, watches: Sequence[Watch]) -> dict[str, Answer]:
        by_host: dict[SshSettings, list[Question]] = defaultdict(list)
        for watch in watches:
            question = Question(
                watch.job,
                watch.slurm_job_id,
                watch.stats_path if watch.stats_on_cluster else None,
                watch.logging_dir if watch.logs_on_cluster else None,
            )
            if watch.ssh is not None and (
                question.slurm_job_id or question.stats_path or question.logging_dir
            ):
                by_host[watch.ssh].append(question)
        answers: dict[str, Answer] = {}
        for settings, questions in by_host.items():
            try:
                answers.update(ask(self._ssh, settings, questions))
            except SshConfigError as error:
                failed = JobState(Liveness.UNKNOWN, detail=str(error))
                unknown = StatsProbe(Presence.UNKNOWN, detail=str(error))
                answers.update(
                    {
                        q.job: Answer(failed if q.slurm_job_id else None, unknown if q.stats_path else None)
                        for q in questions
                    }
                )
        return answers
