"""The datatrove job simulator behind the parallel ETA scenarios (the generator, not the estimator)."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import timedelta
from itertools import pairwise

from tests.scenarios import (
    JITTER,
    NOW,
    SPEED_SPREAD,
    Chunk,
    Job,
    finished_at,
    parallel_scenarios,
    production_rate,
    scenarios,
    simulate,
)

MINUTE = timedelta(minutes=1)
JOB = Job(tasks=7, workers=3, documents=230, records_per_chunk=50, chunk_every=10 * MINUTE, seed=1)


def by_rank(chunks: list[Chunk]) -> dict[int, list[Chunk]]:
    ranks: dict[int, list[Chunk]] = defaultdict(list)
    for chunk in sorted(chunks, key=lambda chunk: (chunk.rank, chunk.index)):
        ranks[chunk.rank].append(chunk)
    return ranks


def test_every_document_is_uploaded_in_full_chunks_then_a_partial_one() -> None:
    chunks = simulate(JOB, NOW)
    assert sum(chunk.rows for chunk in chunks) == JOB.total == 7 * 230
    for rank, own in by_rank(chunks).items():
        assert [chunk.rows for chunk in own] == [50, 50, 50, 50, 30], rank
        assert [chunk.index for chunk in own] == [0, 1, 2, 3, 4]
        # One chunk after the other; the partial one takes its share of a chunk's time.
        assert all(earlier.uploaded == later.began for earlier, later in pairwise(own))
        full, partial = own[0].uploaded - own[0].began, own[-1].uploaded - own[-1].began
        assert partial < full


def test_dropped_documents_make_smaller_shards_and_a_total_below_the_expected_one() -> None:
    job = Job(
        tasks=20, workers=20, documents=500, records_per_chunk=50, chunk_every=MINUTE, seed=2, drop_rate=0.05
    )
    chunks = simulate(job, NOW)
    assert len(chunks) == 20 * 10  # a dropped document still counts toward its chunk
    assert all(0 < chunk.rows <= 50 for chunk in chunks)
    assert any(chunk.rows < 50 for chunk in chunks)
    uploaded = sum(chunk.rows for chunk in chunks)
    assert 0.9 * job.total < uploaded < job.total
    assert finished_at(chunks, job.total) == chunks[-1].uploaded


def test_the_count_reaches_the_total_with_the_last_shard() -> None:
    chunks = simulate(JOB, NOW)
    assert finished_at(chunks, JOB.total) == chunks[-1].uploaded
    assert finished_at(chunks, 100) == chunks[1].uploaded


def test_shards_are_named_as_datatrove_names_them() -> None:
    chunks = simulate(JOB, NOW)
    assert all(re.fullmatch(r"data/\d{5}_\d{5}\.parquet", chunk.path) for chunk in chunks)
    assert {chunk.path for chunk in chunks} == {
        f"data/{rank:05d}_{index:05d}.parquet" for rank in range(7) for index in range(5)
    }
    assert Chunk(12, 3, NOW, NOW, 50).path == "data/00012_00003.parquet"
    arrival = chunks[0].arrival
    assert (arrival.at, arrival.rows, arrival.path) == (chunks[0].uploaded, chunks[0].rows, chunks[0].path)


def test_no_more_tasks_run_at_once_than_there_are_workers_and_they_start_in_rank_order() -> None:
    for job in (JOB, Job(50, 8, 120, 50, 5 * MINUTE, seed=3, stagger=2 * MINUTE)):
        ranks = by_rank(simulate(job, NOW))
        spans = [(own[0].began, own[-1].uploaded) for own in ranks.values()]
        events = sorted([(end, -1) for _, end in spans] + [(begin, 1) for begin, _ in spans])
        running = peak = 0
        for _, change in events:
            running += change
            peak = max(peak, running)
        assert peak == job.workers
        assert len(ranks) == job.tasks
    ranks = by_rank(simulate(JOB, NOW))
    starts = [own[0].began for own in ranks.values()]
    ends = {own[-1].uploaded for own in ranks.values()}
    assert starts[:3] == [NOW] * 3  # no stagger: the first round starts at once
    assert starts == sorted(starts) and all(start in ends for start in starts[3:])  # as a slot frees up


def test_uploads_come_in_time_order() -> None:
    chunks = simulate(Job(64, 64, 1_000, 50, 12 * MINUTE, seed=4, stagger=MINUTE), NOW)
    assert chunks == sorted(chunks, key=lambda chunk: (chunk.uploaded, chunk.path))
    for scenario in parallel_scenarios(NOW):
        times = [arrival.at for arrival in scenario.arrivals]
        assert times == sorted(times) and times[-1] <= scenario.now, scenario.name


def test_chunks_take_the_nominal_time_within_the_jitter_and_the_task_pace() -> None:
    job = Job(64, 64, 1_000, 50, 12 * MINUTE, seed=5)
    for chunk in simulate(job, NOW):
        took = (chunk.uploaded - chunk.began) / job.chunk_every
        assert (1 - JITTER) * (1 - SPEED_SPREAD) <= took <= (1 + JITTER) * (1 + SPEED_SPREAD)


def test_the_same_seed_gives_the_same_job() -> None:
    assert simulate(JOB, NOW) == simulate(JOB, NOW)
    later = NOW + timedelta(hours=3)
    assert [chunk.uploaded - later for chunk in simulate(JOB, later)] == [
        chunk.uploaded - NOW for chunk in simulate(JOB, NOW)
    ]
    other = Job(7, 3, 230, 50, 10 * MINUTE, seed=2)
    assert [chunk.uploaded for chunk in simulate(other, NOW)] != [
        chunk.uploaded for chunk in simulate(JOB, NOW)
    ]


def test_nothing_is_uploaded_after_the_stop() -> None:
    whole = Job(64, 64, 1_000, 50, 12 * MINUTE, seed=6)
    stopped = Job(64, 64, 1_000, 50, 12 * MINUTE, seed=6, stop=timedelta(hours=2))
    chunks = simulate(stopped, NOW)
    assert chunks[-1].uploaded <= NOW + timedelta(hours=2)
    assert chunks == [chunk for chunk in simulate(whole, NOW) if chunk.uploaded <= NOW + timedelta(hours=2)]
    assert production_rate(chunks, NOW + timedelta(hours=2, minutes=30)) == 0


def test_a_relaunched_job_uploads_what_was_left_that_much_later_and_nothing_twice() -> None:
    hours = timedelta(hours=1)
    whole = Job(64, 64, 1_000, 50, 12 * MINUTE, seed=6)
    relaunched = Job(64, 64, 1_000, 50, 12 * MINUTE, seed=6, relaunch=(2 * hours, 5 * hours))
    before, after = simulate(whole, NOW), simulate(relaunched, NOW)
    assert sorted(c.path for c in before) == sorted(c.path for c in after)  # each chunk once
    moved = {c.path: c.uploaded for c in after}
    for chunk in before:
        shift = moved[chunk.path] - chunk.uploaded
        assert shift == (timedelta(0) if chunk.uploaded <= NOW + 2 * hours else 5 * hours)


def test_the_true_rate_is_what_the_running_tasks_produce() -> None:
    job = Job(64, 64, 1_000, 50, 12 * MINUTE, seed=7)
    rate = production_rate(simulate(job, NOW), NOW + timedelta(hours=1))
    assert abs(rate - 64 * 50 * 5) / (64 * 50 * 5) < 0.03  # 16,000 docs/h, each task at its own pace
    assert production_rate(simulate(job, NOW), NOW - MINUTE) == 0


def test_the_parallel_scenarios_are_first_looks_with_their_truth_from_the_simulated_future() -> None:
    assert len(scenarios(NOW)) == 5  # the single-stream ones are unchanged
    looks = {scenario.name: scenario for scenario in parallel_scenarios(NOW)}
    for scenario in looks.values():
        assert scenario.job is not None and scenario.started is not None and scenario.created is not None
        assert scenario.total == scenario.job.tasks * scenario.job.documents
        chunks = simulate(scenario.job, scenario.started)
        assert scenario.arrivals == tuple(chunk.arrival for chunk in chunks if chunk.uploaded <= NOW)
        if scenario.job.stop is None:
            assert scenario.truth == chunks[-1].uploaded - NOW
            assert scenario.rate == production_rate(chunks, NOW)
        else:
            assert scenario.truth is None and scenario.rate is None
    first, second = (
        looks["64 tasks, after the first wave (15 min)"],
        looks["64 tasks, after two waves (30 min)"],
    )
    assert {arrival.path[-13:] for arrival in first.arrivals} == {"00000.parquet"}
    assert len(first.arrivals) == 64 and len(second.arrivals) == 128
    late = looks["late start (repo 5 h older), at 45 min"]
    assert late.started is not None and late.created == late.started - timedelta(hours=5)
    for name in (
        "64 tasks, 2 h chunks, between waves (5.2 h)",
        "64 tasks, 2 h chunks, before the 3rd wave (5.4 h)",
    ):
        assert len(looks[name].arrivals) == 128  # two waves, the third not begun
