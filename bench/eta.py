"""How far off the ETA is on the scenarios, against two naive estimates; and the docs/h and stalls.

The five single-stream scenarios first, then the parallel ones (datatrove-like jobs, simulated by
tests/scenarios.py: many tasks uploading chunks in waves).

- robust: progress-card's estimate from the shards alone (their names and commit times), as
  without Slurm or a logging folder;
- told: the same with what Slurm (the job's start) and datatrove's logging folder (tasks, workers,
  the ranks a relaunch runs) say; the single streams have neither, so it is robust again there;
- since first shard: the documents so far over the time since the first shard (progress-card's
  first estimator);
- monitor: what a monitor loop computes an hour after it was started (datatrove's way): all the
  documents counted, over the time since the monitor started.

A second table puts the docs/h the card shows (told) against the true current pace, and the stall
verdicts. The first table's first five rows are the original acceptance table.

A third follows one job through a silence, as the hourly updater sees it (tests/lifetime.py): 32
tasks, 200-document chunks every 40 minutes or so, 192,000 documents, every task stuck for 6 hours
half-way. Each row is an hourly run around the silence: what the card says after the bar, its rate
line, whether the run pushed, and how far off the ETA is (until the job resumes, from its end had the
silence not come, which no estimate can foresee; after, from its real end).

    python bench/eta.py
"""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from progress_card.estimate import Estimate, estimate, simple_eta  # noqa: E402
from progress_card.formatting import format_duration  # noqa: E402
from progress_card.model import UNKNOWN_LAUNCH  # noqa: E402
from tests.lifetime import START, STUCK_AT, Hour, hour_by_hour, hourly_runs, stuck_for  # noqa: E402
from tests.scenarios import NOW, Scenario, all_scenarios, finished_at, simulate  # noqa: E402

MONITOR_AGE = timedelta(hours=1)
SILENCE = timedelta(hours=6)
TARGETS = (
    "Targets: ETA after two waves ±20 %, after an hour ±12 %, steady state ±10 %, rounds ±15 %, "
    "after the first wave alone none or ±25 %; docs/h ±25 % whenever shown; no false stall between "
    "waves; a stall reported once several of the job's own periods pass in silence."
)


def monitor_eta(scenario: Scenario) -> timedelta:
    per_second = scenario.done / MONITOR_AGE.total_seconds()
    return timedelta(seconds=(scenario.total - scenario.done) / per_second)


def error(estimate_: timedelta | None, truth: timedelta) -> str:
    if estimate_ is None:
        return "none"
    return f"{format_duration(estimate_.total_seconds())} ({abs(estimate_ - truth) / truth:.0%} off)"


def verdict(result: Estimate) -> str:
    return f"stall since {result.stalled_since:%H:%M}, no ETA" if result.stalled_since else "no stall seen"


def rate_error(result: Estimate, scenario: Scenario) -> str:
    """The docs/h the card shows (it shows any measured rate), against the true current pace."""
    if not result.rate_per_hour:
        return "not shown"
    if scenario.rate is None:
        return f"{result.rate_per_hour:,.0f} (shown while stalled)"
    return (
        f"{result.rate_per_hour:,.0f} ({abs(result.rate_per_hour - scenario.rate) / scenario.rate:.0%} off)"
    )


def main() -> None:
    rows = [
        (
            scenario,
            estimate(scenario.arrivals, scenario.done, scenario.total, scenario.now, launch=UNKNOWN_LAUNCH),
            estimate(scenario.arrivals, scenario.done, scenario.total, scenario.now, launch=scenario.launch),
        )
        for scenario in all_scenarios(NOW)
    ]
    print("| scenario | truth | robust | told | since first shard | monitor, 1 h after it started |")
    print("|---|---|---|---|---|---|")
    for scenario, robust, told in rows:
        naive = simple_eta(scenario.done, scenario.total, scenario.arrivals[0].at, scenario.now)
        if scenario.truth is None:
            since_first = format_duration(naive.remaining.total_seconds()) if naive else "none"
            monitor = format_duration(monitor_eta(scenario).total_seconds())
            print(
                f"| {scenario.name} | stalled | {verdict(robust)} | {verdict(told)} | {since_first} | {monitor} |"
            )
            continue
        truth = scenario.truth
        print(
            f"| {scenario.name} | {format_duration(truth.total_seconds())} "
            f"| {error(robust.eta.remaining if robust.eta else None, truth)} "
            f"| {error(told.eta.remaining if told.eta else None, truth)} "
            f"| {error(naive.remaining if naive else None, truth)} "
            f"| {error(monitor_eta(scenario), truth)} |"
        )
    print()
    print("| scenario | true docs/h | docs/h shown (told) | stall verdict (robust) | stall verdict (told) |")
    print("|---|---|---|---|---|")
    for scenario, robust, told in rows:
        true_rate = f"{scenario.rate:,.0f}" if scenario.rate is not None else "none (stalled)"
        print(
            f"| {scenario.name} | {true_rate} | {rate_error(told, scenario)} | {verdict(robust)} | {verdict(told)} |"
        )
    print()
    print(TARGETS)
    print()
    silence_table()


def silence_table() -> None:
    """The card through the silence, hour by hour, and the ETA's error over the job's whole life."""
    hours = hour_by_hour(stuck_for(SILENCE), START, hourly_runs(SILENCE))
    unstuck = replace(stuck_for(SILENCE), relaunch=None)
    unstuck_end = finished_at(simulate(unstuck, START), unstuck.total)
    stuck, resumed = START + STUCK_AT, START + STUCK_AT + SILENCE
    errors = []
    print("| run | into the silence | the card after the bar | rate line | pushed | ETA off |")
    print("|---|---|---|---|---|---|")
    for hour in hours:
        truth = (unstuck_end - hour.at) if hour.at < resumed else hour.truth
        off = ""
        if hour.eta is not None and truth is not None:
            errors.append(abs(hour.eta.remaining - truth) / truth)
            off = f"{errors[-1]:.0%}"
        if stuck - timedelta(hours=2) <= hour.at <= resumed + timedelta(hours=2):
            into = format_duration((hour.at - stuck).total_seconds()) if stuck <= hour.at <= resumed else ""
            print(
                f"| {format_duration((hour.at - START).total_seconds())} | {into} | {hour.detail} "
                f"| {hour.rate or 'none'} | {'yes' if hour.pushed else 'no'} | {off} |"
            )
    ordered = sorted(errors)
    quiet = [hour for hour in hours if stuck <= hour.at <= resumed]
    print()
    print(
        f"ETA while the job uploaded ({len(errors)} runs): {ordered[len(ordered) // 2]:.0%} off (median), "
        f"{ordered[-1]:.0%} (worst). Pushes: {sum(hour.pushed for hour in hours)} of {len(hours)} runs, "
        f"{sum(hour.pushed for hour in quiet)} of {len(quiet)} in the silence. Completed: {_completed(hours)}."
    )


def _completed(hours: list[Hour]) -> str:
    last = hours[-1]
    return f"{last.detail}, {last.rate}" if last.rate else last.detail


if __name__ == "__main__":
    main()
