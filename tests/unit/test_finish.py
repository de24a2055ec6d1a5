import pytest

from progress_card.compute.slurm.squeue import JobState, Liveness
from progress_card.compute.stats import Presence, StatsProbe
from progress_card.compute.verdicts import decide
from progress_card.model import Outcome, Pending, TaskProgress, Verdict

FOUND = StatsProbe(Presence.FOUND, b"[]")
MISSING = StatsProbe(Presence.MISSING)
UNREADABLE = StatsProbe(Presence.UNKNOWN, detail="permission denied")
RUNNING = JobState(Liveness.ALIVE, "RUNNING")
GONE = JobState(Liveness.GONE)
LOST = JobState(Liveness.UNKNOWN, detail="cannot reach login:22")
ID = ("123",)


def ended(state: str) -> JobState:
    return JobState(Liveness.ENDED, state)


def test_stats_json_means_completed_whatever_slurm_says() -> None:
    for slurm in (RUNNING, GONE, LOST, None):
        verdict = decide(ID, True, FOUND, slurm)
        assert (verdict.outcome, verdict.reason, verdict.figures) == (
            Outcome.COMPLETED,
            "stats.json found",
            None,
        )


def test_a_stats_json_still_being_written_completes_nothing() -> None:
    verdict = decide(ID, True, StatsProbe(Presence.FOUND, b'[{"name": "inf'), GONE)
    assert verdict.outcome is None
    assert verdict.warning is not None and verdict.warning.startswith("stats.json is not valid JSON")
    assert verdict.warning.endswith("; it may still be being written, looking again next run")


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
    assert decide(ID, True, MISSING, slurm) == Verdict(outcome, reason)


def test_a_completed_slurm_job_waits_for_stats_json_written_after_it() -> None:
    verdict = decide(ID, True, MISSING, ended("COMPLETED"))
    assert verdict.outcome is None
    assert verdict.warning == "Slurm job 123 ended (COMPLETED); waiting for stats.json"


def test_without_a_stats_path_slurm_alone_decides() -> None:
    assert decide(ID, False, None, ended("COMPLETED")) == Verdict(
        Outcome.COMPLETED, "Slurm job 123 ended (COMPLETED)"
    )
    assert decide(ID, False, None, GONE) == Verdict(
        Outcome.STOPPED, "Slurm job 123 is no longer in the queue"
    )


def test_alive_or_no_slurm_id_keeps_running() -> None:
    assert decide(ID, True, MISSING, RUNNING) == Verdict()
    assert decide((), True, MISSING, None) == Verdict()
    assert decide((), False, None, None) == Verdict()


def test_unknown_answers_keep_the_job_active_with_a_warning() -> None:
    lost = decide(ID, True, MISSING, LOST)
    assert (lost.outcome, lost.warning) == (
        None,
        "cannot tell whether Slurm job 123 is alive: cannot reach login:22",
    )
    unreadable = decide(ID, True, UNREADABLE, GONE)
    assert (unreadable.outcome, unreadable.warning) == (
        None,
        "cannot tell whether stats.json exists: permission denied",
    )


def test_a_job_whose_tasks_are_all_done_waits_for_stats_json_after_leaving_the_queue() -> None:
    done = TaskProgress(4, 4)
    verdict = decide(ID, True, MISSING, GONE, done)
    assert (verdict.outcome, verdict.warning) == (
        None,
        "all 4 tasks are done; waiting for datatrove's stats.json",
    )
    assert decide(ID, True, MISSING, GONE, TaskProgress(3, 4)).outcome is Outcome.STOPPED
    assert decide(ID, True, MISSING, ended("CANCELLED"), done).outcome is Outcome.FAILED
    assert decide(ID, True, FOUND, GONE, done).outcome is Outcome.COMPLETED


def test_a_job_of_several_arrays_is_named_by_all_its_ids() -> None:
    assert decide(("123", "124"), True, MISSING, GONE) == Verdict(
        Outcome.STOPPED, "Slurm jobs 123 and 124 are no longer in the queue without stats.json"
    )


def test_a_job_whose_dependency_failed_is_said_never_to_start() -> None:
    waiting = JobState(
        Liveness.ALIVE, "PENDING", pending=Pending("DependencyNeverSatisfied", None, never_starts=True)
    )
    verdict = decide(ID, True, MISSING, waiting)
    assert verdict.outcome is None
    assert verdict.warning == (
        "Slurm job 123 will never start: a job it depends on failed (DependencyNeverSatisfied); "
        "cancel it, then relaunch"
    )
    held = JobState(Liveness.ALIVE, "PENDING", pending=Pending("JobHeldUser", None))
    assert decide(ID, True, MISSING, held) == Verdict()
