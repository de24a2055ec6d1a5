from datetime import datetime, timezone

import pytest

from progress_card.slurm import JobState, Liveness, parse_squeue, squeue_argv


def test_the_command_asks_for_every_state_with_a_fixed_format() -> None:
    assert squeue_argv("4242") == [
        "env",
        "TZ=UTC",
        "SLURM_TIME_FORMAT=standard",
        "squeue",
        "--noheader",
        "--states=all",
        "--format=%i %T %S",
        "--jobs=4242",
    ]


@pytest.mark.parametrize("job_id", ["", "12a", "1;rm -rf /", "$(id)", "12_3", "-1", "1 2"])
def test_only_digits_become_a_job_id(job_id: str) -> None:
    with pytest.raises(ValueError, match="not a Slurm job id"):
        squeue_argv(job_id)


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("123 RUNNING 2026-12-01T14:02:00\n", JobState(Liveness.ALIVE, "RUNNING")),
        ("123 PENDING N/A\n", JobState(Liveness.ALIVE, "PENDING")),
        (
            "123_[2-3%2] PENDING N/A\n123_1 RUNNING 2026-12-01T14:02:00\n123_0 RUNNING 2026-12-01T14:02:00\n",
            JobState(Liveness.ALIVE, "RUNNING"),
        ),
        (
            "123_[4-9%2] PENDING N/A\n123_3 COMPLETED 2026-12-01T14:02:00\n",
            JobState(Liveness.ALIVE, "PENDING"),
        ),
        ("\n123 COMPLETING 2026-12-01T14:02:00\n\n", JobState(Liveness.ALIVE, "COMPLETING")),
        ("123 SUSPENDED 2026-12-01T14:02:00\n", JobState(Liveness.ALIVE, "SUSPENDED")),
        ("123 REQUEUED 2026-12-01T14:02:00\n", JobState(Liveness.ALIVE, "REQUEUED")),
        ("123 CONFIGURING 2026-12-01T14:02:00\n", JobState(Liveness.ALIVE, "CONFIGURING")),
        ("123 COMPLETED 2026-12-01T14:02:00\n", JobState(Liveness.ENDED, "COMPLETED")),
        (
            "123_0 COMPLETED 2026-12-01T14:02:00\n123_1 COMPLETED 2026-12-01T14:02:00\n",
            JobState(Liveness.ENDED, "COMPLETED"),
        ),
        (
            "123_0 COMPLETED 2026-12-01T14:02:00\n123_1 FAILED 2026-12-01T14:02:00\n123_2 CANCELLED 2026-12-01T14:02:00\n",
            JobState(Liveness.ENDED, "FAILED"),
        ),
        (
            "123_0 COMPLETED 2026-12-01T14:02:00\n123_1 TIMEOUT 2026-12-01T14:02:00\n",
            JobState(Liveness.ENDED, "TIMEOUT"),
        ),
        ("123 CANCELLED 2026-12-01T14:02:00\n", JobState(Liveness.ENDED, "CANCELLED")),
        ("123 OUT_OF_MEMORY 2026-12-01T14:02:00\n", JobState(Liveness.ENDED, "OUT_OF_MEMORY")),
        ("123 NODE_FAIL 2026-12-01T14:02:00\n", JobState(Liveness.ENDED, "NODE_FAIL")),
        ("123 PREEMPTED 2026-12-01T14:02:00\n", JobState(Liveness.ENDED, "PREEMPTED")),
        ("123 BOOT_FAIL 2026-12-01T14:02:00\n", JobState(Liveness.ENDED, "BOOT_FAIL")),
        ("123 DEADLINE 2026-12-01T14:02:00\n", JobState(Liveness.ENDED, "DEADLINE")),
        ("", JobState(Liveness.GONE)),
        ("\n\n", JobState(Liveness.GONE)),
    ],
)
def test_squeue_answers_after_exit_0(output: str, expected: JobState) -> None:
    answer = parse_squeue("123", 0, output)
    assert (answer.liveness, answer.state, answer.detail) == (expected.liveness, expected.state, "")


def test_the_start_is_the_first_task_that_started_never_a_pending_forecast() -> None:
    output = (
        "123_[4-9%2] PENDING 2026-12-01T09:00:00\n"
        "123_1 RUNNING 2026-12-01T14:05:00\n"
        "123_0 COMPLETED 2026-12-01T14:02:00\n"
    )
    assert parse_squeue("123", 0, output).started_at == datetime(2026, 12, 1, 14, 2, tzinfo=timezone.utc)
    assert parse_squeue("123", 0, "123 PENDING 2026-12-02T00:00:00\n").started_at is None
    assert parse_squeue("123", 0, "123 RUNNING Unknown\n").started_at is None
    assert parse_squeue("123", 0, "123 FAILED 2026-12-01T14:02:00\n").started_at is not None


def test_an_invalid_job_id_means_the_job_is_gone() -> None:
    answer = parse_squeue("123", 1, "slurm_load_jobs error: Invalid job id specified\n")
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
        (0, "1234 RUNNING N/A\n", "unexpected squeue output: '1234 RUNNING N/A'"),
        (0, "123 RUNNING N/A extra\n", "unexpected squeue output"),
        (
            0,
            "JOBID STATE START_TIME\n123 RUNNING N/A\n",
            "unexpected squeue output: 'JOBID STATE START_TIME'",
        ),
        (0, "123 LOST_IN_SPACE N/A\n", "unknown Slurm state LOST_IN_SPACE"),
    ],
)
def test_anything_else_is_unknown_never_finished(exit_code: int, output: str, detail: str) -> None:
    answer = parse_squeue("123", exit_code, output)
    assert answer.liveness is Liveness.UNKNOWN
    assert detail in answer.detail
