import pytest

from progress_card.compute.schedule import JobState
from progress_card.compute.slurm.squeue import Accounts, InQueue, QueueState, job_state
from progress_card.compute.stats import Presence, StatsProbe
from progress_card.compute.verdicts import decide
from progress_card.model import Outcome, Pending, TaskProgress, Verdict

FOUND = StatsProbe(Presence.FOUND, b"[]")
MISSING = StatsProbe(Presence.MISSING)
UNREADABLE = StatsProbe(Presence.UNKNOWN, detail="permission denied")
ID = ("123",)


def slurm(
    queue: QueueState, ids: tuple[str, ...] = ID, seen: bool = True, ended: str | None = None
) -> JobState:
    """What Slurm says of job `ids`, from the queue's answer and the accounts' (`ended`)."""
    return job_state(ids, queue, Accounts(ended), seen)


RUNNING = slurm(QueueState(InQueue.ALIVE, "RUNNING"))
GONE = slurm(QueueState(InQueue.GONE))
LOST = slurm(QueueState(InQueue.UNKNOWN, detail="cannot reach login:22"))


def ended(state: str) -> JobState:
    return slurm(QueueState(InQueue.ENDED, state))


def test_stats_json_means_completed_whatever_slurm_says() -> None:
    for slurm in (RUNNING, GONE, LOST, None):
        verdict = decide(FOUND, slurm)
        assert (verdict.outcome, verdict.reason, verdict.figures) == (
            Outcome.COMPLETED,
            "stats.json found",
            None,
        )


def test_a_stats_json_still_being_written_completes_nothing() -> None:
    verdict = decide(StatsProbe(Presence.FOUND, b'[{"name": "inf'), GONE)
    assert verdict.outcome is None
    [warning] = verdict.warnings
    assert warning.startswith("stats.json is not valid JSON")
    assert warning.endswith("; it may still be being written, looking again next run")


@pytest.mark.parametrize(
    ("slurm", "outcome", "reason"),
    [
        (GONE, Outcome.STOPPED, "Slurm job 123 is no longer in the queue without stats.json"),
        (ended("FAILED"), Outcome.FAILED, "Slurm job 123 ended (FAILED) without stats.json"),
        (ended("CANCELLED"), Outcome.FAILED, "Slurm job 123 ended (CANCELLED) without stats.json"),
        (ended("TIMEOUT"), Outcome.FAILED, "Slurm job 123 ended (TIMEOUT) without stats.json"),
    ],
)
def test_a_job_gone_or_ended_without_stats_has_stopped(
    slurm: JobState, outcome: Outcome, reason: str
) -> None:
    assert decide(MISSING, slurm) == Verdict(outcome, reason)


def test_a_completed_slurm_job_waits_for_stats_json_written_after_it() -> None:
    verdict = decide(MISSING, ended("COMPLETED"))
    assert (verdict.outcome, verdict.warnings) == (
        None,
        ("Slurm job 123 ended (COMPLETED); waiting for stats.json",),
    )


def test_without_a_stats_path_slurm_alone_decides() -> None:
    assert decide(None, ended("COMPLETED")) == Verdict(Outcome.COMPLETED, "Slurm job 123 ended (COMPLETED)")
    assert decide(None, GONE) == Verdict(Outcome.STOPPED, "Slurm job 123 is no longer in the queue")


def test_alive_or_no_slurm_id_keeps_running() -> None:
    assert decide(MISSING, RUNNING) == Verdict()
    assert decide(MISSING, None) == Verdict()
    assert decide(None, None) == Verdict()


def test_unknown_answers_keep_the_job_active_with_a_warning() -> None:
    lost = decide(MISSING, LOST)
    assert (lost.outcome, lost.warnings) == (
        None,
        ("cannot tell whether Slurm job 123 is alive: cannot reach login:22",),
    )
    unreadable = decide(UNREADABLE, GONE)
    assert (unreadable.outcome, unreadable.warnings) == (
        None,
        ("cannot tell whether stats.json exists: permission denied",),
    )


def test_every_task_completed_and_nothing_queued_is_complete_with_or_without_stats_json() -> None:
    done = TaskProgress(4, 4, completed=frozenset(range(4)))
    assert decide(MISSING, GONE, done) == Verdict(
        Outcome.COMPLETED, "all 4 tasks completed; stats.json not written"
    )
    assert (
        decide(MISSING, ended("CANCELLED"), done).outcome is Outcome.COMPLETED
    )  # the merge job was cancelled
    assert decide(MISSING, None, done).outcome is Outcome.COMPLETED  # nothing to ask: the completions say it
    assert decide(MISSING, RUNNING, done) == Verdict()  # something of it still runs
    assert decide(FOUND, GONE, done).reason == "stats.json found"


def test_a_job_that_ended_with_tasks_unfinished_names_them() -> None:
    tasks = TaskProgress(60, 64, completed=frozenset(range(64)) - {3, 17, 18, 40})
    assert decide(MISSING, GONE, tasks) == Verdict(
        Outcome.STOPPED,
        "4 of 64 tasks unfinished (ranks 3, 17, 18, …); Slurm job 123 is no longer in the queue",
    )
    failed = decide(MISSING, ended("FAILED"), tasks)
    assert (failed.outcome, failed.reason) == (
        Outcome.FAILED,
        "4 of 64 tasks unfinished (ranks 3, 17, 18, …); Slurm job 123 ended (FAILED)",
    )


def test_a_job_id_the_queue_never_showed_finishes_nothing_unless_the_accounts_say_how_it_ended() -> None:
    typo = decide(MISSING, slurm(QueueState(InQueue.GONE), seen=False))
    assert typo.outcome is None
    assert typo.warnings == (
        "Slurm does not know Slurm job 123: it was never seen queued or running, and Slurm's accounts do not say "
        "how it ended; a typo in slurm_job_id? nothing is marked finished",
    )
    assert decide(MISSING, slurm(QueueState(InQueue.GONE), seen=False, ended="FAILED")) == Verdict(
        Outcome.FAILED, "Slurm job 123 ended (FAILED) without stats.json"
    )
    assert (
        decide(MISSING, slurm(QueueState(InQueue.ENDED, "FAILED"), seen=False)).outcome is Outcome.FAILED
    )  # squeue itself shows it


def test_a_job_of_several_arrays_is_named_by_all_its_ids() -> None:
    assert decide(MISSING, slurm(QueueState(InQueue.GONE), ids=("123", "124"))) == Verdict(
        Outcome.STOPPED, "Slurm jobs 123 and 124 are no longer in the queue without stats.json"
    )


def test_a_job_whose_dependency_failed_is_said_never_to_start() -> None:
    waiting = slurm(
        QueueState(
            InQueue.ALIVE, "PENDING", pending=Pending("DependencyNeverSatisfied", None, never_starts=True)
        )
    )
    verdict = decide(MISSING, waiting)
    assert verdict.outcome is None
    assert verdict.warnings == (
        "Slurm job 123 will never start: a job it depends on failed (DependencyNeverSatisfied); cancel it, then relaunch",
    )
    held = slurm(QueueState(InQueue.ALIVE, "PENDING", pending=Pending("JobHeldUser", None)))
    assert decide(MISSING, held) == Verdict()
