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

    python bench/eta.py
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from progress_card.estimate import Estimate, estimate, simple_eta  # noqa: E402
from progress_card.formatting import format_duration  # noqa: E402
from progress_card.model import UNKNOWN_LAUNCH  # noqa: E402
from tests.scenarios import NOW, Scenario, all_scenarios  # noqa: E402

MONITOR_AGE = timedelta(hours=1)
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


if __name__ == "__main__":
    main()
