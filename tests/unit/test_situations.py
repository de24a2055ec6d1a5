"""Which situations need a person, and which events a change of situation makes (pure)."""

from datetime import datetime, timezone

from progress_card.model import Arrival, Outcome, Verdict
from progress_card.report import JobReport, Status
from progress_card.telling.situations import Kind, event, resolution, situation
from tests.support import progress_of

STALL = datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)


def report(
    outcome: Outcome | None = None,
    reason: str = "",
    stalled_since: datetime | None = None,
    last_shard: datetime | None = None,
    done: int = 630,
) -> JobReport:
    """math's row, 630 of 1,000 documents, as the plan would have it."""
    history = (Arrival(last_shard, 10),) if last_shard is not None else ()
    verdict = Verdict(outcome, reason)
    return JobReport(
        "math",
        Status.PUSHED,
        progress_of(done, 1000, verdict=verdict, stalled_since=stalled_since, history=history),
    )


def test_a_stop_a_failure_a_stall_and_three_failed_runs_need_a_person() -> None:
    failed = situation(
        report(outcome=Outcome.FAILED, reason="Slurm job 123 ended (FAILED) without stats.json"), 0
    )
    assert failed is not None and failed.title == "⚠️ math: stopped at 63% (Slurm job 123 ended FAILED)"
    stalled = situation(report(stalled_since=STALL), 0)
    assert stalled is not None and stalled.kind is Kind.STALLED and stalled.since == STALL
    assert stalled.title == "⚠️ math: no new shards since Dec 01 2026, 08:00 UTC (at 63%)"
    broken = JobReport("math", Status.FAILED, error="dataset repo acme/x not found")
    assert situation(broken, 2) is None
    failing = situation(broken, 3)
    assert (
        failing is not None
        and failing.title == "❌ math: update failing for 3 runs (dataset repo acme/x not found)"
    )
    assert situation(report(), 0) is None


def test_events_come_from_changes_only() -> None:
    stalled = situation(report(stalled_since=STALL), 0)
    assert event(None, stalled, report()) == "stalled"
    assert event(Kind.STALLED, stalled, report()) is None  # told already
    assert event(Kind.STALLED, None, report()) == "resumed"
    assert event(None, None, report()) is None
    done = report(outcome=Outcome.COMPLETED, reason="stats.json found")
    assert event(Kind.STALLED, None, done) == "completed" and event(None, None, done) == "completed"


def test_the_closing_comment_says_how_it_ended() -> None:
    later = datetime(2026, 12, 1, 14, 10, tzinfo=timezone.utc)
    assert (
        resolution(Kind.STALLED, STALL, report(last_shard=later))
        == "resolved: math uploaded again after 6h 10m"
    )
    done = report(done=1000, outcome=Outcome.COMPLETED, reason="stats.json found")
    assert (
        resolution(Kind.STALLED, STALL, done)
        == "resolved: math completed with 1,000 documents (stats.json found)"
    )
