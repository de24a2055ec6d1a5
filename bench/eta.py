"""How far off the ETA is on the five scenarios, against two naive estimates.

- robust: progress-card's estimate (recent window of the current stretch of uploads);
- since first shard: the documents so far over the time since the first shard (progress-card's
  first estimator);
- monitor: what a monitor loop computes an hour after it was started (datatrove's way): all the
  documents counted, over the time since the monitor started.

    python bench/eta.py
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from progress_card.estimate import estimate, simple_eta  # noqa: E402
from progress_card.formatting import format_duration  # noqa: E402
from tests.scenarios import NOW, Scenario, scenarios  # noqa: E402

MONITOR_AGE = timedelta(hours=1)


def monitor_eta(scenario: Scenario) -> timedelta:
    per_second = scenario.done / MONITOR_AGE.total_seconds()
    return timedelta(seconds=(scenario.total - scenario.done) / per_second)


def error(estimate_: timedelta | None, truth: timedelta) -> str:
    if estimate_ is None:
        return "none"
    return f"{format_duration(estimate_.total_seconds())} ({abs(estimate_ - truth) / truth:.0%} off)"


def main() -> None:
    print("| scenario | truth | robust | since first shard | monitor, 1 h after it started |")
    print("|---|---|---|---|---|")
    for scenario in scenarios(NOW):
        result = estimate(scenario.arrivals, scenario.done, scenario.total, scenario.now)
        naive = simple_eta(scenario.done, scenario.total, scenario.arrivals[0].at, scenario.now)
        if scenario.truth is None:
            robust = (
                f"stall since {result.stalled_since:%H:%M}, no ETA"
                if result.stalled_since
                else "no stall seen"
            )
            since_first = format_duration(naive.remaining.total_seconds()) if naive else "none"
            monitor = format_duration(monitor_eta(scenario).total_seconds())
            print(f"| {scenario.name} | stalled | {robust} | {since_first} | {monitor} |")
            continue
        truth = scenario.truth
        print(
            f"| {scenario.name} | {format_duration(truth.total_seconds())} "
            f"| {error(result.eta.remaining if result.eta else None, truth)} "
            f"| {error(naive.remaining if naive else None, truth)} "
            f"| {error(monitor_eta(scenario), truth)} |"
        )


if __name__ == "__main__":
    main()
