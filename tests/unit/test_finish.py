import pytest

from progress_card.finish import Outcome, Verdict, decide
from progress_card.slurm import JobState, Liveness
from progress_card.stats import Presence, StatsProbe
from progress_card.tasks import TaskProgress

FOUND = StatsProbe(Presence.FOUND, b"[]")
MISSING = StatsProbe(Presence.MISSING)
UNREADABLE = StatsProbe(Presence.UNKNOWN, detail="permission denied")
RUNNING = JobState(Liveness.ALIVE, "RUNNING")
GONE = JobState(Liveness.GONE)
LOST = JobState(Liveness.UNKNOWN, detail="cannot reach login:22")


def ended(state: str) -> JobState:
    return JobState(Liveness.ENDED, state)


def test_stats_json_means_completed_whatever_slurm_says() -> None:
    for slurm in (RUNNING, GONE, LOST, None):
        verdict = decide("123", True, FOUND, slurm)
        assert (verdict.outcome, verdict.reason, verdict.stats) == (
            Outcome.COMPLETED,
            "stats.json found",
            b"[]",
        )


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
    assert decide("123", True, MISSING, slurm) == Verdict(outcome, reason)


def test_a_completed_slurm_job_waits_for_stats_json_written_after_it() -> None:
    verdict = decide("123", True, MISSING, ended("COMPLETED"))
    assert verdict.outcome is None
    assert verdict.warning == "Slurm job 123 ended (COMPLETED); waiting for stats.json"


def test_without_a_stats_path_slurm_alone_decides() -> None:
    assert decide("123", False, None, ended("COMPLETED")) == Verdict(
        Outcome.COMPLETED, "Slurm job 123 ended (COMPLETED)"
    )
    assert decide("123", False, None, GONE) == Verdict(
        Outcome.STOPPED, "Slurm job 123 is no longer in the queue"
    )


def test_alive_or_no_slurm_id_keeps_running() -> None:
    assert decide("123", True, MISSING, RUNNING) == Verdict()
    assert decide(None, True, MISSING, None) == Verdict()
    assert decide(None, False, None, None) == Verdict()


def test_unknown_answers_keep_the_job_active_with_a_warning() -> None:
    lost = decide("123", True, MISSING, LOST)
    assert (lost.outcome, lost.warning) == (
        None,
        "cannot tell whether Slurm job 123 is alive: cannot reach login:22",
    )
    unreadable = decide("123", True, UNREADABLE, GONE)
    assert (unreadable.outcome, unreadable.warning) == (
        None,
        "cannot tell whether stats.json exists: permission denied",
    )


def test_a_job_whose_tasks_are_all_done_waits_for_stats_json_after_leaving_the_queue() -> None:
    done = TaskProgress(4, 4)
    verdict = decide("123", True, MISSING, GONE, done)
    assert (verdict.outcome, verdict.warning) == (
        None,
        "all 4 tasks are done; waiting for datatrove's stats.json",
    )
    assert decide("123", True, MISSING, GONE, TaskProgress(3, 4)).outcome is Outcome.STOPPED
    assert decide("123", True, MISSING, ended("CANCELLED"), done).outcome is Outcome.FAILED
    assert decide("123", True, FOUND, GONE, done).outcome is Outcome.COMPLETED
