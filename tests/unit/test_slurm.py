from datetime import datetime, timezone

import pytest

from progress_card.compute.slurm.squeue import InQueue, QueueState, parse_sacct, parse_squeue, squeue_argv
from progress_card.model import Pending, Spend, SpendUnit

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
        (squeue("123 RUNNING"), QueueState(InQueue.ALIVE, "RUNNING")),
        (squeue("123 PENDING"), QueueState(InQueue.ALIVE, "PENDING")),
        (
            squeue("123_[2-3%2] PENDING", "123_1 RUNNING", "123_0 RUNNING"),
            QueueState(InQueue.ALIVE, "RUNNING"),
        ),
        (
            squeue("123_[4-9%2] PENDING", "123_3 COMPLETED"),
            QueueState(InQueue.ALIVE, "PENDING"),
        ),
        (squeue("123 COMPLETING"), QueueState(InQueue.ALIVE, "COMPLETING")),
        (squeue("123 SUSPENDED"), QueueState(InQueue.ALIVE, "SUSPENDED")),
        (squeue("123 REQUEUED"), QueueState(InQueue.ALIVE, "REQUEUED")),
        (squeue("123 CONFIGURING"), QueueState(InQueue.ALIVE, "CONFIGURING")),
        (squeue("123 COMPLETED"), QueueState(InQueue.ENDED, "COMPLETED")),
        (
            squeue("123_0 COMPLETED", "123_1 COMPLETED"),
            QueueState(InQueue.ENDED, "COMPLETED"),
        ),
        (
            squeue("123_0 COMPLETED", "123_1 FAILED", "123_2 CANCELLED"),
            QueueState(InQueue.ENDED, "FAILED"),
        ),
        (
            squeue("123_0 COMPLETED", "123_1 TIMEOUT"),
            QueueState(InQueue.ENDED, "TIMEOUT"),
        ),
        (squeue("123 CANCELLED"), QueueState(InQueue.ENDED, "CANCELLED")),
        (squeue("123 OUT_OF_MEMORY"), QueueState(InQueue.ENDED, "OUT_OF_MEMORY")),
        (squeue("123 NODE_FAIL"), QueueState(InQueue.ENDED, "NODE_FAIL")),
        (squeue("123 PREEMPTED"), QueueState(InQueue.ENDED, "PREEMPTED")),
        (squeue("123 BOOT_FAIL"), QueueState(InQueue.ENDED, "BOOT_FAIL")),
        (squeue("123 DEADLINE"), QueueState(InQueue.ENDED, "DEADLINE")),
        ("", QueueState(InQueue.GONE)),
        ("\n\n", QueueState(InQueue.GONE)),
    ],
)
def test_squeue_answers_after_exit_0(output: str, expected: QueueState) -> None:
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
    assert held.liveness is InQueue.ALIVE
    assert held.pending == Pending("JobHeldUser", datetime(2026, 12, 1, 13, 0, tzinfo=timezone.utc))
    odd = parse_squeue(["123"], 0, f"123 PENDING N/A {SUBMITTED} ReqNodeNotAvail, UnavailableNodes:n1\n")
    assert odd.pending is not None and odd.pending.reason == "ReqNodeNotAvail, UnavailableNodes:n1"
    assert parse_squeue(["123"], 0, squeue("123_[2-3%2] PENDING", "123_1 RUNNING")).pending is None


def test_a_job_of_several_arrays_is_alive_while_any_is_and_over_when_all_are() -> None:
    ids = ["123", "124"]
    assert parse_squeue(ids, 0, squeue("123_0 COMPLETED", "124_7 RUNNING")).liveness is InQueue.ALIVE
    both = parse_squeue(ids, 0, squeue("123_0 COMPLETED", "124_0 FAILED"))
    assert (both.liveness, both.state) == (InQueue.ENDED, "FAILED")
    assert parse_squeue(ids, 0, squeue("123_0 COMPLETED", "124_0 COMPLETED")).state == "COMPLETED"
    # 124 already left the queue: how it ended is not known, so the job is not called completed.
    assert parse_squeue(ids, 0, squeue("123_0 COMPLETED")).liveness is InQueue.GONE
    assert parse_squeue(ids, 0, squeue("123_0 FAILED")).state == "FAILED"
    assert parse_squeue(ids, 0, "").liveness is InQueue.GONE  # squeue exits 0 when none is known
    assert parse_squeue(ids, 0, squeue("125 RUNNING")).liveness is InQueue.UNKNOWN


def test_an_invalid_job_id_means_the_job_is_gone() -> None:
    answer = parse_squeue(["123"], 1, "slurm_load_jobs error: Invalid job id specified\n")
    assert answer == QueueState(InQueue.GONE)


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
    assert answer.liveness is InQueue.UNKNOWN
    assert detail in answer.detail


def test_slurms_accounts_say_how_a_job_ended_and_the_gpu_hours_its_tasks_held() -> None:
    accounts = parse_sacct(
        ("123",),
        "123_0|COMPLETED|3600|billing=8,cpu=8,gres/gpu=4,mem=64G,node=1\n"
        "123_1|FAILED|1800|cpu=8,gres/gpu:h100=2,mem=64G,node=1\n"
        "123_1.batch|FAILED|1800|cpu=8,gres/gpu=2,mem=64G,node=1\n",  # a step: not an allocation of ours
    )
    assert accounts.ended == "FAILED"
    assert accounts.spend == Spend(4 + 1, 0, SpendUnit.GPU_HOURS)
    running = parse_sacct(("123",), "123_0|RUNNING|7200|cpu=8,gres/gpu=8,node=1\n123_1|PENDING|0|\n")
    assert running.ended is None and running.spend == Spend(16, 8, SpendUnit.GPU_HOURS)


def test_without_gpus_or_accounts_there_are_no_gpu_hours() -> None:
    assert parse_sacct(("123",), "123_0|COMPLETED|3600|billing=8,cpu=8,mem=64G,node=1\n").spend is None
    assert parse_sacct(("123",), "").ended is None and parse_sacct(("123",), "").spend is None
