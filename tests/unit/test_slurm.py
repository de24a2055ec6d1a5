from datetime import datetime, timezone

import pytest

from progress_card.compute.slurm.squeue import JobState, Liveness, parse_squeue, squeue_argv
from progress_card.model import Pending

T = "2026-12-01T14:02:00"
SUBMITTED = "2026-12-01T13:00:00"


def squeue(*lines: str) -> str:
    """squeue's output for lines of `id state [start]`: the submit time and reason filled in."""
    rows = []
    for line in lines:
        task, state, *rest = line.split(maxsplit=2)
        start = rest[0] if rest else ("N/A" if state == "PENDING" else T)
        reason = "Priority" if state == "PENDING" else "None"
        rows.append(f"{task} {state} {start} {SUBMITTED} {reason}\n")
    return "".join(rows)


def test_the_command_asks_for_every_state_with_a_fixed_format() -> None:
    assert squeue_argv(["4242"]) == [
        "env",
        "TZ=UTC",
        "SLURM_TIME_FORMAT=standard",
        "squeue",
        "--noheader",
        "--states=all",
        "--format=%i %T %S %V %r",
        "--jobs=4242",
    ]
    assert squeue_argv(["4242", "4243"])[-1] == "--jobs=4242,4243"


@pytest.mark.parametrize("job_id", ["", "12a", "1;rm -rf /", "$(id)", "12_3", "-1", "1 2"])
def test_only_digits_become_a_job_id(job_id: str) -> None:
    with pytest.raises(ValueError, match="not a Slurm job id"):
        squeue_argv(["1", job_id])


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (squeue("123 RUNNING"), JobState(Liveness.ALIVE, "RUNNING")),
        (squeue("123 PENDING"), JobState(Liveness.ALIVE, "PENDING")),
        (
            squeue("123_[2-3%2] PENDING", "123_1 RUNNING", "123_0 RUNNING"),
            JobState(Liveness.ALIVE, "RUNNING"),
        ),
        (
            squeue("123_[4-9%2] PENDING", "123_3 COMPLETED"),
            JobState(Liveness.ALIVE, "PENDING"),
        ),
        (squeue("123 COMPLETING"), JobState(Liveness.ALIVE, "COMPLETING")),
        (squeue("123 SUSPENDED"), JobState(Liveness.ALIVE, "SUSPENDED")),
        (squeue("123 REQUEUED"), JobState(Liveness.ALIVE, "REQUEUED")),
        (squeue("123 CONFIGURING"), JobState(Liveness.ALIVE, "CONFIGURING")),
        (squeue("123 COMPLETED"), JobState(Liveness.ENDED, "COMPLETED")),
        (
            squeue("123_0 COMPLETED", "123_1 COMPLETED"),
            JobState(Liveness.ENDED, "COMPLETED"),
        ),
        (
            squeue("123_0 COMPLETED", "123_1 FAILED", "123_2 CANCELLED"),
            JobState(Liveness.ENDED, "FAILED"),
        ),
        (
            squeue("123_0 COMPLETED", "123_1 TIMEOUT"),
            JobState(Liveness.ENDED, "TIMEOUT"),
        ),
        (squeue("123 CANCELLED"), JobState(Liveness.ENDED, "CANCELLED")),
        (squeue("123 OUT_OF_MEMORY"), JobState(Liveness.ENDED, "OUT_OF_MEMORY")),
        (squeue("123 NODE_FAIL"), JobState(Liveness.ENDED, "NODE_FAIL")),
        (squeue("123 PREEMPTED"), JobState(Liveness.ENDED, "PREEMPTED")),
        (squeue("123 BOOT_FAIL"), JobState(Liveness.ENDED, "BOOT_FAIL")),
        (squeue("123 DEADLINE"), JobState(Liveness.ENDED, "DEADLINE")),
        ("", JobState(Liveness.GONE)),
        ("\n\n", JobState(Liveness.GONE)),
    ],
)
def test_squeue_answers_after_exit_0(output: str, expected: JobState) -> None:
    answer = parse_squeue(["123"], 0, output)
    assert (answer.liveness, answer.state, answer.detail) == (expected.liveness, expected.state, "")


def test_the_start_is_the_first_task_that_started_never_a_pending_forecast() -> None:
    output = squeue(
        "123_[4-9%2] PENDING 2026-12-01T09:00:00", "123_1 RUNNING 2026-12-01T14:05:00", "123_0 COMPLETED"
    )
    assert parse_squeue(["123"], 0, output).started_at == datetime(2026, 12, 1, 14, 2, tzinfo=timezone.utc)
    assert parse_squeue(["123"], 0, squeue("123 PENDING 2026-12-02T00:00:00")).started_at is None
    assert parse_squeue(["123"], 0, squeue("123 RUNNING Unknown")).started_at is None
    assert parse_squeue(["123"], 0, squeue("123 FAILED")).started_at is not None


def test_a_job_nothing_of_which_runs_is_pending_with_slurms_reason_and_since_when() -> None:
    held = parse_squeue(["123"], 0, f"123 PENDING N/A {SUBMITTED} JobHeldUser\n")
    assert held.liveness is Liveness.ALIVE
    assert held.pending == Pending("JobHeldUser", datetime(2026, 12, 1, 13, 0, tzinfo=timezone.utc))
    odd = parse_squeue(["123"], 0, f"123 PENDING N/A {SUBMITTED} ReqNodeNotAvail, UnavailableNodes:n1\n")
    assert odd.pending is not None and odd.pending.reason == "ReqNodeNotAvail, UnavailableNodes:n1"
    assert parse_squeue(["123"], 0, squeue("123_[2-3%2] PENDING", "123_1 RUNNING")).pending is None


def test_a_job_of_several_arrays_is_alive_while_any_is_and_over_when_all_are() -> None:
    ids = ["123", "124"]
    assert parse_squeue(ids, 0, squeue("123_0 COMPLETED", "124_7 RUNNING")).liveness is Liveness.ALIVE
    both = parse_squeue(ids, 0, squeue("123_0 COMPLETED", "124_0 FAILED"))
    assert (both.liveness, both.state) == (Liveness.ENDED, "FAILED")
    assert parse_squeue(ids, 0, squeue("123_0 COMPLETED", "124_0 COMPLETED")).state == "COMPLETED"
    # 124 already left the queue: how it ended is not known, so the job is not called completed.
    assert parse_squeue(ids, 0, squeue("123_0 COMPLETED")).liveness is Liveness.GONE
    assert parse_squeue(ids, 0, squeue("123_0 FAILED")).state == "FAILED"
    assert parse_squeue(ids, 0, "").liveness is Liveness.GONE  # squeue exits 0 when none is known
    assert parse_squeue(ids, 0, squeue("125 RUNNING")).liveness is Liveness.UNKNOWN


def test_an_invalid_job_id_means_the_job_is_gone() -> None:
    answer = parse_squeue(["123"], 1, "slurm_load_jobs error: Invalid job id specified\n")
    assert answer == JobState(Liveness.GONE)


@pytest.mark.parametrize(
    ("exit_code", "output", "detail"),
    [
        (
            1,
            "slurm_load_jobs error: Unable to contact slurm controller (connect failure)\n",
            "squeue exited with 1",
        ),
        (127, "sh: 1: squeue: not found\n", "squeue exited with 127"),
        (0, squeue("1234 RUNNING"), "unexpected squeue output: '1234 RUNNING"),
        (0, "123 RUNNING N/A\n", "unexpected squeue output"),
        (
            0,
            "JOBID STATE START_TIME\n123 RUNNING N/A\n",
            "unexpected squeue output: 'JOBID STATE START_TIME'",
        ),
        (0, squeue("123 LOST_IN_SPACE"), "unknown Slurm state LOST_IN_SPACE"),
    ],
)
def test_anything_else_is_unknown_never_finished(exit_code: int, output: str, detail: str) -> None:
    answer = parse_squeue(["123"], exit_code, output)
    assert answer.liveness is Liveness.UNKNOWN
    assert detail in answer.detail
