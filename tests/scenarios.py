"""Upload histories for the ETA scenarios: shards back-dated as a generation job would commit them.

Shared by the ETA tests and bench/eta.py, which compares the estimates with the naive ones.

- `scenarios(now)`: the five single-stream acceptance scenarios (one shard at a time, at a steady
  pace, with gaps and changes of pace);
- `parallel_scenarios(now)`: datatrove-like jobs, many tasks uploading at once, simulated by
  `simulate(job, start)`;
- `all_scenarios(now)`: both, the five first.

Every scenario is a first look at `now`: only the shards committed by then, and what the simulated
future says about the rest (`truth`, `rate`).
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

from progress_card.model import UNKNOWN_LAUNCH, Arrival, Launch

RATE = 600
"""Documents per hour at the steady pace: a shard of 60 documents every 6 minutes."""
EVERY = timedelta(minutes=6)


@dataclass(frozen=True)
class Scenario:
    name: str
    arrivals: tuple[Arrival, ...]
    total: int
    now: datetime
    truth: timedelta | None
    """Time left at the true current pace; None when the job has stalled.

    For a simulated job: when its last shard is uploaded, minus `now` (see `parallel_scenarios`)."""
    rate: float | None = None
    """The true current pace, documents per hour; None when the job has stalled."""
    job: Job | None = None
    """The simulated job, for the parallel scenarios; None for the single-stream ones."""
    started: datetime | None = None
    """When the simulated job started (its tasks were launched)."""
    created: datetime | None = None
    """When the dataset repo was created: as the job starts, or hours before it (a late start)."""
    launch: Launch = UNKNOWN_LAUNCH
    """What Slurm and the logging folder say of the (latest) launch; nothing for the single streams."""

    @property
    def done(self) -> int:
        return sum(arrival.rows for arrival in self.arrivals)


def _uploads(start: datetime, hours: float, rows: int, seed: int) -> list[Arrival]:
    """Shards at the nominal pace, each a little early or late and a little bigger or smaller,
    as real workers finish them (the same jitter every time: seeded)."""
    jitter = random.Random(seed)
    count = round(timedelta(hours=hours) / EVERY)
    return [
        Arrival(
            start + EVERY * (index + 1 + jitter.uniform(-0.4, 0.4)), round(rows * jitter.uniform(0.8, 1.2))
        )
        for index in range(count)
    ]


def scenarios(now: datetime) -> list[Scenario]:
    """The five acceptance scenarios, each seen for the first time at `now`."""
    result = []

    def add(name: str, arrivals: list[Arrival], left: timedelta | None, rate: float = RATE) -> None:
        shift = now - arrivals[-1].at - (timedelta(minutes=1) if left is not None else timedelta(hours=6))
        moved = tuple(Arrival(a.at + shift, a.rows) for a in arrivals)
        done = sum(a.rows for a in arrivals)
        remaining = round((left or timedelta(hours=10)) / timedelta(hours=1) * rate)
        truth = left - timedelta(minutes=1) if left is not None else None
        result.append(Scenario(name, moved, done + remaining, now, truth, rate if left is not None else None))

    start = now - timedelta(days=2)
    add("constant rate for 10 h, seen at hour 10", _uploads(start, 10, 60, seed=1), timedelta(hours=10))
    warm = _uploads(start, 1, 15, seed=2)
    steady = _uploads(warm[-1].at, 5, 60, seed=3)
    add("slow first hour, then steady for 5 h", warm + steady, timedelta(hours=5))
    before = _uploads(start, 4, 60, seed=4)
    after = _uploads(before[-1].at + timedelta(hours=5), 2, 60, seed=5)
    add("steady 4 h, a 5 h gap, steady 2 h", before + after, timedelta(hours=4))
    slow = _uploads(start, 6, 60, seed=6)
    fast = _uploads(slow[-1].at, 3, 120, seed=7)
    add("rate doubled 3 h ago", slow + fast, timedelta(hours=5), rate=2 * RATE)
    add("nothing for 6 h while the job runs", _uploads(start, 5, 60, seed=8), None)
    return result


JITTER = 0.10
"""Each chunk takes its task's pace within ±10 %: some documents take longer than others."""
SPEED_SPREAD = 0.05
"""Each task keeps its own pace, within ±5 % of the job's: so the waves spread apart over the hours."""


@dataclass(frozen=True)
class Job:
    """A datatrove generation job, as its Slurm array runs it.

    `tasks` ranks run, at most `workers` at once (the array's `%N` throttle): each task starts in rank
    order when a slot frees up, up to `stagger` after it (the scheduler, the model loading). A task
    processes its `documents` in chunks of `records_per_chunk`, each in about `chunk_every`, and
    uploads each chunk as one shard when it closes, the last (partial) one at the task's end. A
    dropped document counts toward its chunk but is not written. After `stop` (from the start),
    nothing more is uploaded: the tasks hang.
    """

    tasks: int
    workers: int
    documents: int
    """Per task."""
    records_per_chunk: int
    chunk_every: timedelta
    """How long a task takes to write a full chunk, at the job's nominal pace."""
    seed: int
    stagger: timedelta = timedelta(0)
    drop_rate: float = 0.0
    """The share of documents dropped (counted toward their chunk, not written)."""
    stop: timedelta | None = None
    relaunch: tuple[timedelta, timedelta] | None = None
    """Stopped this long after the start, relaunched that long after: each task not done by then
    resumes from its checkpoint (the chunk it was writing), as datatrove's do; the done ones are
    not run again (ranks_to_run.json holds the others)."""

    @property
    def total(self) -> int:
        """What the job is set to produce, the `total` a user writes down: drops are not known in advance."""
        return self.tasks * self.documents


@dataclass(frozen=True)
class Chunk:
    """One chunk of one task: written from `began`, uploaded as one shard at `uploaded`."""

    rank: int
    index: int
    began: datetime
    uploaded: datetime
    rows: int

    @property
    def path(self) -> str:
        """Where datatrove's writer puts it: `data/<rank>_<chunk>.parquet`."""
        return f"data/{self.rank:05d}_{self.index:05d}.parquet"

    @property
    def arrival(self) -> Arrival:
        return Arrival(self.uploaded, self.rows, self.path)


def simulate(job: Job, start: datetime) -> list[Chunk]:
    """Every chunk the job uploads when launched at `start`, in upload order (seeded: the same every time)."""
    jitter = random.Random(job.seed)
    free = [start] * min(job.workers, job.tasks)  # when each worker is next free: a heap
    chunks: list[Chunk] = []
    for rank in range(job.tasks):
        clock = heapq.heappop(free) + job.stagger * jitter.random()
        speed = jitter.uniform(1 - SPEED_SPREAD, 1 + SPEED_SPREAD)
        for index, first in enumerate(range(0, job.documents, job.records_per_chunk)):
            size = min(job.records_per_chunk, job.documents - first)
            dropped = sum(jitter.random() < job.drop_rate for _ in range(size)) if job.drop_rate else 0
            took = job.chunk_every * (
                speed * jitter.uniform(1 - JITTER, 1 + JITTER) * size / job.records_per_chunk
            )
            if dropped < size:  # a chunk whose every document was dropped writes no file
                chunks.append(Chunk(rank, index, clock, clock + took, size - dropped))
            clock += took
        heapq.heappush(free, clock)
    if job.relaunch is not None:
        stopped, gap = start + job.relaunch[0], job.relaunch[1]
        chunks = [
            chunk
            if chunk.uploaded <= stopped
            else replace(chunk, began=chunk.began + gap, uploaded=chunk.uploaded + gap)
            for chunk in chunks
        ]
    stop = start + job.stop if job.stop is not None else None
    uploaded = [chunk for chunk in chunks if stop is None or chunk.uploaded <= stop]
    return sorted(uploaded, key=lambda chunk: (chunk.uploaded, chunk.path))


def launch_of(job: Job, start: datetime, chunks: list[Chunk], now: datetime) -> Launch:
    """What Slurm (the start of the array's first task) and the logging folder (executor.json,
    ranks_to_run.json) say at `now` of the launch running then."""
    workers = job.workers if job.workers < job.tasks else None
    ranks = frozenset(range(job.tasks))
    if job.relaunch is not None and now >= start + sum(job.relaunch, timedelta(0)):
        stopped = start + job.relaunch[0]
        relaunched = stopped + job.relaunch[1]
        ranks = frozenset(chunk.rank for chunk in chunks if chunk.uploaded > relaunched)
        return Launch(relaunched, job.tasks, workers, ranks)
    return Launch(start, job.tasks, workers, ranks)


def finished_at(chunks: list[Chunk], total: int) -> datetime:
    """When the uploaded count reaches `total`, or the last upload when drops keep it below."""
    done = 0
    for chunk in chunks:
        done += chunk.rows
        if done >= total:
            return chunk.uploaded
    return chunks[-1].uploaded


def production_rate(chunks: list[Chunk], at: datetime) -> float:
    """Documents per hour being produced at `at`: each chunk being written then, its rows over the time it
    takes (tasks running × records_per_chunk / chunk duration, with each task's own pace and drops)."""
    hour = timedelta(hours=1)
    return sum(
        chunk.rows / ((chunk.uploaded - chunk.began) / hour)
        for chunk in chunks
        if chunk.began <= at < chunk.uploaded
    )


def parallel_scenarios(now: datetime) -> list[Scenario]:
    """Datatrove-like jobs, many tasks uploading at once, each seen for the first time at `now`.

    - arrivals: the shards uploaded by `now`, with datatrove's paths;
    - total: what the job is set to produce (tasks × documents per task), as a user sets `total`;
      with drops, the uploads end below it;
    - truth: when the uploaded count reaches that total, or the last upload when drops keep it
      below (so: the job's last shard), minus `now`, from the simulated future; None once the
      uploads have stopped (a stall);
    - rate: `production_rate` at `now`, the pace the job really goes at; None once stopped.
    """
    result: list[Scenario] = []

    def look(name: str, job: Job, after: timedelta, repo_age: timedelta = timedelta(0)) -> None:
        """The job seen `after` its start, in a repo created `repo_age` before it."""
        start = now - after
        chunks = simulate(job, start)
        seen = tuple(chunk.arrival for chunk in chunks if chunk.uploaded <= now)
        stalled = job.stop is not None and job.stop < after
        truth = None if stalled else finished_at(chunks, job.total) - now
        rate = None if stalled else production_rate(chunks, now)
        launch = launch_of(job, start, chunks, now)
        result.append(Scenario(name, seen, job.total, now, truth, rate, job, start, start - repo_age, launch))

    minutes, hours = timedelta(minutes=1), timedelta(hours=1)
    wide = Job(64, 64, 1_000, 50, 12 * minutes, seed=11, stagger=minutes)
    look("64 tasks, after the first wave (15 min)", wide, 15 * minutes)
    look("64 tasks, after two waves (30 min)", wide, 30 * minutes)
    look("64 tasks, at 1 h", wide, hours)
    look("64 tasks, at 3 h", wide, 3 * hours)
    rounds = Job(200, 50, 500, 50, 12 * minutes, seed=12, stagger=3 * minutes, drop_rate=0.02)
    look("200 tasks on 50 workers, at 1 h", rounds, hours)
    look("200 tasks on 50 workers, mid-job (4 h)", rounds, 4 * hours)
    many = Job(2_000, 2_000, 500, 50, 20 * minutes, seed=13, stagger=5 * minutes, drop_rate=0.01)
    look("2,000 tasks, at 1 h", many, hours)
    look("2,000 tasks, steady state (2 h)", many, 2 * hours)
    late = Job(100, 100, 2_000, 100, 10 * minutes, seed=14, stagger=2 * minutes)
    look("late start (repo 5 h older), at 45 min", late, 45 * minutes, repo_age=5 * hours)
    slow = Job(64, 64, 600, 100, 2 * hours, seed=15, stagger=2 * minutes)
    look("64 tasks, 2 h chunks, after the first wave (3 h)", slow, 3 * hours)
    look("64 tasks, 2 h chunks, between waves (5.2 h)", slow, 5.2 * hours)
    look("64 tasks, 2 h chunks, before the 3rd wave (5.4 h)", slow, 5.4 * hours)
    resumed = Job(64, 64, 1_000, 50, 12 * minutes, seed=17, stagger=minutes, relaunch=(2 * hours, 5 * hours))
    look("64 tasks, relaunched after a 5 h gap, 1 h later", resumed, 8 * hours)
    tail = Job(96, 64, 1_000, 50, 12 * minutes, seed=18, stagger=minutes, relaunch=(5 * hours, 2 * hours))
    look("96 tasks on 64 workers, the unfinished 32 relaunched, 40 min later", tail, 7.67 * hours)
    dying = Job(64, 64, 1_000, 50, 12 * minutes, seed=16, stagger=minutes, stop=2 * hours)
    look("64 tasks, uploads stop at 2 h, seen at 2.5 h", dying, 2.5 * hours)
    look("64 tasks, uploads stop at 2 h, seen at 4 h", dying, 4 * hours)
    return result


def all_scenarios(now: datetime) -> list[Scenario]:
    """The five single-stream scenarios, then the parallel ones."""
    return scenarios(now) + parallel_scenarios(now)


NOW = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)
