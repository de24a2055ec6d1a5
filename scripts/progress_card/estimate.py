"""Rate, ETA and stalls, from when each shard was committed. Pure arithmetic: `now` is passed in.

The job's history is rebuilt from the shards themselves (their commit times and row counts), so
the estimate is right from the first look, whenever the updater started.

A datatrove job runs many tasks at once, each uploading `<rank>_<chunk>.parquet` as its chunks
close, so shards arrive in waves. Where the file names give the ranks, each task is followed as
its own stream: its chunk size over the time its chunks take is its rate, the tasks uploading now
add up to the job's rate, the chunks they are writing count as under way, and the job's rhythm
(how long a chunk takes) decides what a pause or a stall is. A task's first chunk says how long
a chunk takes only when the job's start is known (Slurm's start time): otherwise, until a second
chunk, there is no estimate and no stall verdict rather than a wrong one. What the logging folder
says of the launch (the number of tasks, how many run at once, the ranks a relaunch runs) decides
whether every task is uploading and what each still has to write.

A silence is judged against that rhythm too. Once nothing has come for two beats (and 20 minutes),
no task is uploading at its pace: the job is late, and there is no rate and no ETA to show, rather
than a rate that tasks dropping out of it shrink and an ETA that a few idle minutes multiply. After
three beats (and an hour) it is a stall. For the first two beats, the tasks counted as uploading are
those that were at the last upload, so a quiet spell that short moves nothing.

Shards whose names give no ranks are one stream, and the rate is measured over a recent window of
the current stretch of uploads:

- a gap much longer than usual (a requeued job that waited for hours) starts a new stretch, so
  the hours of nothing before it do not dilute the rate once uploads resume;
- the window is the last few hours or the last few shards, whichever holds more shards, so a
  slow warm-up falls out of it once the job has run a while, and a change of pace (nodes
  joining) shows within hours.
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from .model import UNKNOWN_LAUNCH, Arrival, Eta, Launch, Silence

WINDOW = timedelta(hours=3)
"""How far back the rate is measured, at most (unless more shards are needed)."""
WINDOW_SHARDS = 20
"""Or over this many shards, when that holds more shards than the time window."""
MIN_SHARDS = 3
GAP_FACTOR = 4
"""A pause longer than this many typical gaps (and an hour) starts a new stretch of uploads."""
STALL_FACTOR = 3
"""No shard for this many typical gaps (and an hour) while the job is alive: a stall."""
MIN_PAUSE = timedelta(hours=1)
LATE_FACTOR = 2
"""No shard for this many typical gaps (and MIN_LATE): late. Twice a chunk time is when a task stops
counting as uploading (RUNNING_FACTOR), so this is when none of them does."""
MIN_LATE = timedelta(minutes=20)
CHART_HOURS = 24
MIN_CHUNK_TIME = timedelta(seconds=1)
"""A task's chunks closer than this were written at once (a burst, a replay): they give no pace."""
MIN_WINDOW = timedelta(minutes=5)
"""A single stream's rate needs its shards spread over at least this long."""
RUNNING_FACTOR = 2.0
"""A task counts as uploading while its last chunk is under this many of its chunk times old."""
WAVE_FACTOR = 1.5
"""Every task uploaded its first chunk within this many chunk times: one wave, no task waiting for a
slot. A chunk time and a half, because tasks resuming after a pause upload the chunks they were in the
middle of, anywhere within one chunk time."""
NAMED_SHARE = 0.9
"""Follow tasks when at least this share of the shards name their rank."""
_TASK_FILE = re.compile(r"(?:^|/)(?:\d{3}_)?(\d{5})_\d+\.parquet$")


@dataclass(frozen=True)
class Estimate:
    rate_per_hour: float | None
    """Documents per hour now; None until there is an honest measure of it, and while late or stalled."""
    eta: Eta | None
    silence: Silence | None
    """Nothing has come for longer than usual (late), or for much longer (stalled)."""
    quiet_for: timedelta | None
    """How long without a new shard is a stall for this job; None until its rhythm is known."""
    hourly: tuple[int, ...]
    """Documents committed in each of the last CHART_HOURS hours, oldest first."""

    @property
    def stalled_since(self) -> datetime | None:
        """The last upload, when the silence since is a stall."""
        return self.silence.since if self.silence is not None and self.silence.stalled else None


def estimate(
    arrivals: Sequence[Arrival],
    done: int,
    total: int,
    now: datetime,
    alive: bool = True,
    launch: Launch = UNKNOWN_LAUNCH,
) -> Estimate:
    """How fast the job goes now, when it should end, and whether it is late or has stalled."""
    hourly = documents_per_hour(arrivals, now)
    if not arrivals:
        return Estimate(None, None, None, None, hourly)
    last = arrivals[-1].at
    named = _tasks(arrivals)
    beat = _rhythm(arrivals, named, launch.started_at)
    quiet = _quiet_for(beat) if beat is not None else None
    silence = _silence(last, now, beat, named is not None) if alive and beat is not None else None
    if silence is not None:
        return Estimate(
            None, None, silence, quiet, hourly
        )  # nothing comes at the usual pace: no rate to show
    stretches = _stretches(arrivals, beat)
    tasks = _tasks(stretches[-1])
    if tasks is not None:
        rate, eta = _parallel(tasks, _written(arrivals), done, total, now, last, launch)
        return Estimate(rate, eta if done < total else None, None, quiet, hourly)
    # The latest stretch, or (when uploads just resumed) the last one long enough to measure.
    single = next((rate for earlier in reversed(stretches) if (rate := _rate(earlier))), None)
    if single is None:
        return Estimate(None, simple_eta(done, total, arrivals[0].at, now), None, quiet, hourly)
    eta = None
    if done < total:
        finish_at = last + timedelta(hours=(total - done) / single)
        eta = Eta(max(finish_at - now, timedelta(0)), max(finish_at, now))
    return Estimate(single, eta, None, quiet, hourly)


def _silence(last: datetime, now: datetime, beat: timedelta, per_task: bool) -> Silence | None:
    """The silence since the last upload, once it is longer than the beat allows: late, then stalled."""
    quiet = now - last
    if quiet > _quiet_for(beat):
        return Silence(last, beat, per_task, stalled=True)
    if quiet > max(LATE_FACTOR * beat, MIN_LATE):
        return Silence(last, beat, per_task, stalled=False)
    return None


def average_rate(arrivals: Sequence[Arrival]) -> tuple[float, timedelta] | None:
    """Documents per hour over the job's whole life, and that span: the documents after the first shard
    over the time from the first shard to the last. None when there is no such span to measure."""
    if len(arrivals) < MIN_SHARDS:
        return None
    span = arrivals[-1].at - arrivals[0].at
    if span < MIN_WINDOW:
        return None
    return sum(arrival.rows for arrival in arrivals[1:]) / (span / timedelta(hours=1)), span


def rank_of(path: str) -> int | None:
    """The task a shard comes from, by datatrove's names: `00012_00003.parquet` (or `000_00012_...`)."""
    match = _TASK_FILE.search(path)
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class _Task:
    uploads: tuple[Arrival, ...]
    chunk_time: timedelta | None
    """The median time between its chunks; None until two of them are apart in time."""

    @property
    def chunk_rows(self) -> float:
        return statistics.median(arrival.rows for arrival in self.uploads)


def _tasks(arrivals: Sequence[Arrival]) -> dict[int, _Task] | None:
    """The uploads of each task, when the names give the tasks; None when they mostly do not."""
    streams: dict[int, list[Arrival]] = defaultdict(list)
    for arrival in arrivals:
        rank = rank_of(arrival.path)
        if rank is not None:
            streams[rank].append(arrival)
    if sum(len(stream) for stream in streams.values()) < NAMED_SHARE * len(arrivals):
        return None
    return {rank: _Task(tuple(stream), _chunk_time(stream)) for rank, stream in streams.items()}


def _chunk_time(stream: Sequence[Arrival]) -> timedelta | None:
    gaps = sorted(later.at - earlier.at for earlier, later in pairwise(stream))
    gaps = [gap for gap in gaps if gap >= MIN_CHUNK_TIME]
    return _median(gaps) if gaps else None


def _median(durations: Sequence[timedelta]) -> timedelta:
    return timedelta(seconds=statistics.median(d.total_seconds() for d in durations))


def _first_chunk(tasks: dict[int, _Task], started_at: datetime | None) -> timedelta | None:
    """How long the tasks took over their first chunk since the job started; None when the start is not
    known."""
    if started_at is None:
        return None
    firsts = [task.uploads[0].at - started_at for task in tasks.values()]
    firsts = [took for took in firsts if took >= MIN_CHUNK_TIME]
    return _median(firsts) if firsts else None


def _parallel(
    tasks: dict[int, _Task],
    written: dict[int, int],
    done: int,
    total: int,
    now: datetime,
    last: datetime,
    launch: Launch,
) -> tuple[float | None, Eta | None]:
    """The job's rate (documents per hour) and ETA from the tasks uploading: as of the last upload (`last`)
    while the job has been quiet for less than two chunk times, as of now after that."""
    timed = [task.chunk_time for task in tasks.values() if task.chunk_time is not None]
    typical = _median(timed) if timed else _first_chunk(tasks, launch.started_at)
    if typical is None:
        return None, None  # every task has shown one chunk and the start is not known: no pace yet
    # Tasks are judged as of the last upload while the job is quiet for less than two chunk times, so
    # that a short quiet spell takes none of them out of the rate; after that, as of now.
    judged_at = last if now - last <= RUNNING_FACTOR * typical else now
    per_second = 0.0
    under_way = 0.0
    for task in tasks.values():
        chunk_time = task.chunk_time or typical
        if judged_at - task.uploads[-1].at > RUNNING_FACTOR * chunk_time:
            continue  # finished, or stopped: it adds nothing now
        since = now - task.uploads[-1].at
        per_second += task.chunk_rows / chunk_time.total_seconds()
        under_way += task.chunk_rows * min(1.0, since / chunk_time)
    if per_second <= 0:
        return None, None
    left = max(total - done - under_way, 0.0)
    finish_at = now + timedelta(seconds=left / per_second)
    if _all_uploading(tasks, typical, launch):
        # Every task is running and has its share to write: the job ends with its slowest task.
        share = total / (launch.tasks or len(tasks))
        ends = (_task_end(task, share - written[rank], typical) for rank, task in tasks.items())
        finish_at = max(finish_at, *ends)
    return per_second * 3600, Eta(max(finish_at - now, timedelta(0)), max(finish_at, now))


def _all_uploading(tasks: dict[int, _Task], chunk_time: timedelta, launch: Launch) -> bool:
    """Every task of this launch is uploading: none waits for a slot (no rounds).

    Known when the logging folder gives the ranks (or the number of tasks) and how many run at once;
    otherwise inferred: every rank from 0 up uploaded its first chunk in the first wave (WAVE_FACTOR)."""
    ranks = launch.ranks
    if ranks is None and launch.tasks is not None:
        ranks = frozenset(range(launch.tasks))
    if ranks is not None:
        return (launch.workers is None or launch.workers >= len(ranks)) and ranks <= tasks.keys()
    firsts = [task.uploads[0].at for task in tasks.values()]
    return max(firsts) - min(firsts) < WAVE_FACTOR * chunk_time and max(tasks) + 1 == len(tasks)


def _written(arrivals: Sequence[Arrival]) -> dict[int, int]:
    """Documents each task has uploaded in all (before a relaunch too)."""
    written: dict[int, int] = defaultdict(int)
    for arrival in arrivals:
        rank = rank_of(arrival.path)
        if rank is not None:
            written[rank] += arrival.rows
    return written


def _task_end(task: _Task, left: float, typical: timedelta) -> datetime:
    """When a task should upload its last chunk, at its own pace, with `left` documents still to write."""
    chunks_left = max(left, 0.0) / task.chunk_rows
    return task.uploads[-1].at + (task.chunk_time or typical) * chunks_left


def simple_eta(done: int, total: int, first_upload: datetime | None, now: datetime) -> Eta | None:
    """The average rate since the first shard, projected over what remains (the naive estimate)."""
    if done <= 0 or first_upload is None or done >= total:
        return None
    elapsed = (now - first_upload).total_seconds()
    if elapsed <= 0:
        return None
    remaining = timedelta(seconds=(total - done) * elapsed / done)
    return Eta(remaining=remaining, finish_at=now + remaining)


def _quiet_for(beat: timedelta) -> timedelta:
    """How long without a new shard counts as a stall: several beats of the job's rhythm, and at least
    an hour."""
    return max(STALL_FACTOR * beat, MIN_PAUSE)


def documents_per_hour(
    arrivals: Sequence[Arrival], now: datetime, hours: int = CHART_HOURS
) -> tuple[int, ...]:
    """Documents committed in each of the last `hours` hours, oldest first."""
    buckets = [0] * hours
    start = now - timedelta(hours=hours)
    for arrival in arrivals:
        if start <= arrival.at < now:
            buckets[int((arrival.at - start) / timedelta(hours=1))] += arrival.rows
    return tuple(buckets)


def _stretches(arrivals: Sequence[Arrival], beat: timedelta | None) -> list[list[Arrival]]:
    """The uploads split at every pause much longer than the job's beat, oldest stretch first (one
    stretch while the beat is not known)."""
    if beat is None:
        return [list(arrivals)]
    pause = max(GAP_FACTOR * beat, MIN_PAUSE)
    stretches = [[arrivals[0]]]
    for earlier, later in pairwise(arrivals):
        if later.at - earlier.at > pause:
            stretches.append([])
        stretches[-1].append(later)
    return stretches


def _rhythm(
    arrivals: Sequence[Arrival], tasks: dict[int, _Task] | None, started_at: datetime | None
) -> timedelta | None:
    """The job's beat: how long a task takes over a chunk, where the names give `tasks` (None while each
    task has shown one chunk and the start is not known); otherwise the usual gap between uploads."""
    if tasks is None:
        return _typical_gap(arrivals)
    timed = [task.chunk_time for task in tasks.values() if task.chunk_time]
    return _median(timed) if timed else _first_chunk(tasks, started_at)


def _typical_gap(arrivals: Sequence[Arrival]) -> timedelta:
    """The median time between consecutive uploads (of the last few dozen)."""
    recent = arrivals[-(WINDOW_SHARDS * 3) :]
    gaps = [(later.at - earlier.at).total_seconds() for earlier, later in pairwise(recent)]
    return timedelta(seconds=statistics.median(gaps)) if gaps else timedelta(0)


def _rate(stretch: list[Arrival]) -> float | None:
    """Documents per hour over the window: the rows after its first shard, over the time they took."""
    if len(stretch) < MIN_SHARDS:
        return None
    last = stretch[-1].at
    by_time = [arrival for arrival in stretch if last - arrival.at <= WINDOW]
    by_count = stretch[-WINDOW_SHARDS:]
    window = by_time if len(by_time) >= len(by_count) else by_count
    if len(window) < MIN_SHARDS:
        window = stretch[-MIN_SHARDS:]
    if window[-1].at - window[0].at < MIN_WINDOW:
        return None  # written all at once: no honest rate
    hours = (window[-1].at - window[0].at) / timedelta(hours=1)
    return sum(arrival.rows for arrival in window[1:]) / hours
