from datetime import datetime, timedelta, timezone

import pytest

from progress_card.estimate import Estimate, documents_per_hour, estimate, rank_of, simple_eta
from progress_card.formatting import sparkline
from progress_card.model import UNKNOWN_LAUNCH, Arrival
from tests.scenarios import NOW, Scenario, parallel_scenarios, scenarios

TOLERANCE = {
    "constant rate for 10 h, seen at hour 10": 0.10,
    "slow first hour, then steady for 5 h": 0.10,
    "steady 4 h, a 5 h gap, steady 2 h": 0.15,
    "rate doubled 3 h ago": 0.15,
}


@pytest.mark.parametrize("scenario", [s for s in scenarios(NOW) if s.truth is not None], ids=lambda s: s.name)
def test_the_eta_is_right_from_the_first_look(scenario: Scenario) -> None:
    result = estimate(scenario.arrivals, scenario.done, scenario.total, scenario.now)
    assert result.eta is not None and result.stalled_since is None
    error = abs(result.eta.remaining - scenario.truth) / scenario.truth
    assert error <= TOLERANCE[scenario.name]


def test_the_naive_estimate_is_wrong_where_the_robust_one_is_not() -> None:
    errors = {}
    for scenario in scenarios(NOW):
        if scenario.truth is None:
            continue
        naive = simple_eta(scenario.done, scenario.total, scenario.arrivals[0].at, scenario.now)
        assert naive is not None
        errors[scenario.name] = abs(naive.remaining - scenario.truth) / scenario.truth
    assert errors["steady 4 h, a 5 h gap, steady 2 h"] > 0.5
    assert errors["rate doubled 3 h ago"] > 0.4
    assert errors["slow first hour, then steady for 5 h"] > 0.10


def test_a_long_silence_while_the_job_runs_is_a_stall_without_eta() -> None:
    [scenario] = [s for s in scenarios(NOW) if s.truth is None]
    result = estimate(scenario.arrivals, scenario.done, scenario.total, scenario.now, alive=True)
    assert result.eta is None
    assert result.stalled_since == scenario.arrivals[-1].at
    assert result.quiet_for == timedelta(hours=1)  # 3 × 6 min, but at least an hour


def test_a_silence_of_a_few_usual_gaps_is_not_a_stall() -> None:
    arrivals = [Arrival(NOW - timedelta(hours=h), 100) for h in (12, 10, 8, 6, 4)]  # one every 2 h
    result = estimate(arrivals, 500, 1000, NOW, alive=True)
    assert result.stalled_since is None and result.eta is not None
    assert (
        estimate(arrivals, 500, 1000, NOW + timedelta(hours=3), alive=True).stalled_since == arrivals[-1].at
    )


def test_a_job_that_is_not_alive_never_stalls() -> None:
    [scenario] = [s for s in scenarios(NOW) if s.truth is None]
    assert (
        estimate(scenario.arrivals, scenario.done, scenario.total, scenario.now, alive=False).stalled_since
        is None
    )


def test_the_first_shards_fall_back_to_the_average_since_the_first_one() -> None:
    arrivals = [Arrival(NOW - timedelta(hours=2), 100), Arrival(NOW - timedelta(hours=1), 100)]
    result = estimate(arrivals, 200, 600, NOW)
    assert result.rate_per_hour is None
    assert result.eta is not None and result.eta.remaining == timedelta(hours=4)


def test_nothing_uploaded_gives_nothing_to_project() -> None:
    result = estimate([], 0, 100, NOW)
    assert (result.rate_per_hour, result.eta, result.stalled_since) == (None, None, None)
    assert result.hourly == (0,) * 24


def test_documents_per_hour_over_the_last_day() -> None:
    arrivals = [
        Arrival(NOW - timedelta(hours=30), 999),  # more than a day ago: not charted
        Arrival(NOW - timedelta(hours=23, minutes=30), 10),
        Arrival(NOW - timedelta(minutes=50), 5),
        Arrival(NOW - timedelta(minutes=10), 7),
    ]
    hourly = documents_per_hour(arrivals, NOW)
    assert len(hourly) == 24
    assert hourly[0] == 10 and hourly[-1] == 12 and sum(hourly) == 22


@pytest.mark.parametrize(
    ("values", "chart"),
    [([0, 0, 0], "▁▁▁"), ([0, 1, 7, 14], "▁▂▅█"), ([5, 5], "██"), ([1, 1000], "▂█")],
)
def test_sparkline_scales_to_the_busiest_hour_and_marks_nothing_as_the_lowest_bar(
    values: list[int], chart: str
) -> None:
    assert sparkline(values) == chart


def test_simple_eta_projects_the_average_since_the_first_upload() -> None:
    eta = simple_eta(done=1_000, total=3_000, first_upload=NOW - timedelta(hours=2), now=NOW)
    assert (
        eta is not None and eta.remaining == timedelta(hours=4) and eta.finish_at == NOW + timedelta(hours=4)
    )
    assert simple_eta(0, 100, NOW - timedelta(hours=1), NOW) is None
    assert simple_eta(10, 100, None, NOW) is None
    assert simple_eta(100, 100, NOW - timedelta(hours=1), NOW) is None
    assert simple_eta(10, 100, datetime(2030, 1, 1, tzinfo=timezone.utc), NOW) is None


PARALLEL_TOLERANCE = {
    "64 tasks, after two waves (30 min)": 0.20,
    "64 tasks, at 1 h": 0.12,
    "64 tasks, at 3 h": 0.10,
    "200 tasks on 50 workers, at 1 h": 0.15,
    "200 tasks on 50 workers, mid-job (4 h)": 0.15,
    "2,000 tasks, at 1 h": 0.12,
    "2,000 tasks, steady state (2 h)": 0.10,
    "late start (repo 5 h older), at 45 min": 0.12,
    "64 tasks, 2 h chunks, between waves (5.2 h)": 0.12,
    "64 tasks, 2 h chunks, before the 3rd wave (5.4 h)": 0.12,
    "64 tasks, relaunched after a 5 h gap, 1 h later": 0.15,  # as the single stream's restart gap
    "96 tasks on 64 workers, the unfinished 32 relaunched, 40 min later": 0.15,
}
LOOKS = {s.name: s for s in parallel_scenarios(NOW)}
FROM_THE_CLUSTER = pytest.mark.parametrize(
    "told", [False, True], ids=["names only", "with Slurm and the logging folder"]
)


def look(name: str, told: bool) -> Estimate:
    """The estimate on a parallel scenario's first look: from the shards alone, or also from what Slurm
    and the logging folder say of the launch."""
    scenario = LOOKS[name]
    launch = scenario.launch if told else UNKNOWN_LAUNCH
    return estimate(scenario.arrivals, scenario.done, scenario.total, scenario.now, launch=launch)


@FROM_THE_CLUSTER
@pytest.mark.parametrize("name", list(PARALLEL_TOLERANCE))
def test_a_parallel_job_gets_an_eta_and_a_rate_within_its_target(name: str, told: bool) -> None:
    scenario = LOOKS[name]
    assert scenario.truth is not None and scenario.rate is not None
    result = look(name, told)
    assert result.eta is not None and result.stalled_since is None
    assert abs(result.eta.remaining - scenario.truth) / scenario.truth <= PARALLEL_TOLERANCE[name]
    assert result.rate_per_hour is not None
    assert abs(result.rate_per_hour - scenario.rate) / scenario.rate <= 0.25


FIRST_WAVES = ("64 tasks, after the first wave (15 min)", "64 tasks, 2 h chunks, after the first wave (3 h)")


@pytest.mark.parametrize("name", FIRST_WAVES)
def test_after_the_first_wave_alone_there_is_no_estimate_rather_than_a_wrong_one(name: str) -> None:
    result = look(name, told=False)
    assert (result.eta, result.rate_per_hour, result.stalled_since, result.quiet_for) == (None,) * 4


@pytest.mark.parametrize("name", FIRST_WAVES)
def test_with_the_start_from_slurm_the_first_wave_gives_an_eta_within_25_percent(name: str) -> None:
    scenario = LOOKS[name]
    assert scenario.truth is not None and scenario.rate is not None
    result = look(name, told=True)
    assert result.eta is not None and result.rate_per_hour is not None and result.stalled_since is None
    assert abs(result.eta.remaining - scenario.truth) / scenario.truth <= 0.25
    assert abs(result.rate_per_hour - scenario.rate) / scenario.rate <= 0.25


@FROM_THE_CLUSTER
def test_a_healthy_job_between_long_waves_is_not_stalled_and_a_job_whose_waves_stopped_is(told: bool) -> None:
    for name in (
        "64 tasks, 2 h chunks, after the first wave (3 h)",
        "64 tasks, 2 h chunks, between waves (5.2 h)",
        "64 tasks, 2 h chunks, before the 3rd wave (5.4 h)",
    ):
        result = look(name, told)
        assert result.stalled_since is None
        if result.quiet_for is not None:
            assert result.quiet_for >= timedelta(hours=5)  # three of its own 2 h chunks
    early = look("64 tasks, uploads stop at 2 h, seen at 2.5 h", told)
    assert (early.stalled_since, early.eta, early.rate_per_hour) == (None, None, None)  # no task is due yet
    later = LOOKS["64 tasks, uploads stop at 2 h, seen at 4 h"]
    stalled = look(later.name, told)
    assert stalled.stalled_since == later.arrivals[-1].at
    assert stalled.eta is None and stalled.rate_per_hour is None


def test_knowing_the_relaunched_ranks_projects_each_one_to_its_end() -> None:
    name = "96 tasks on 64 workers, the unfinished 32 relaunched, 40 min later"
    truth = LOOKS[name].truth
    assert truth is not None
    told, untold = look(name, told=True), look(name, told=False)
    assert told.eta is not None and untold.eta is not None
    assert abs(told.eta.remaining - truth) < abs(untold.eta.remaining - truth)


def test_chunks_written_all_at_once_give_no_rate() -> None:
    burst = [
        Arrival(NOW - timedelta(minutes=5, seconds=-i), 50, f"data/00000_{i:05d}.parquet") for i in range(5)
    ]
    result = estimate(burst, 250, 1000, NOW)
    assert (result.rate_per_hour, result.eta) == (None, None)
    unnamed = [Arrival(a.at, a.rows) for a in burst]
    assert estimate(unnamed, 250, 1000, NOW).rate_per_hour is None


@pytest.mark.parametrize(
    ("path", "rank"),
    [
        ("data/00012_00003.parquet", 12),
        ("math/000_00007_00001.parquet", 7),
        ("data/001_00007_00000.parquet", 7),
        ("data/train-00000-of-00003.parquet", None),
        ("data/shard-1.parquet", None),
    ],
)
def test_the_rank_comes_from_datatrove_file_names(path: str, rank: int | None) -> None:
    assert rank_of(path) == rank
