"""A repo's plan: every config's line in one card, one commit message, and the lines left alone."""

from datetime import datetime, timedelta, timezone

from progress_card.card import describe_progress, progress_line
from progress_card.cluster import RUNNING
from progress_card.manifest import HubDataset, Job
from progress_card.report import JobReport, Status
from progress_card.run import Options, Progress, plan_card

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


def progress(config: str, done: int, total: int) -> Progress:
    job = Job(config, HubDataset("acme/gen"), config=config, total=total)
    line = progress_line(config, done, total, describe_progress(done, total, None))
    return Progress(job, RUNNING, line, None, None, JobReport(config, Status.PUSHED, done, total))


def test_every_config_goes_in_one_new_card_and_one_commit() -> None:
    plan = plan_card(
        "acme/gen", None, None, [progress("default", 400, 1000), progress("math", 50, 100)], Options(NOW)
    )

    assert plan.changed and plan.news(NOW, Options(NOW).refresh_after)
    assert plan.message == "Update generation progress: default 40% (400 docs), math 50% (50 docs)"
    assert "**default**: [●●●●●●●●○○○○○○○○○○○○] 40%" in plan.after and "**math**: [" in plan.after
    assert "config_name: default" in plan.after and "config_name: math" in plan.after


def test_a_count_that_went_down_is_left_as_it_is_and_the_others_still_go_in() -> None:
    first = plan_card(
        "acme/gen", None, None, [progress("default", 400, 1000), progress("math", 50, 100)], Options(NOW)
    )

    later = plan_card(
        "acme/gen",
        "abc",
        first.after,
        [progress("default", 300, 1000), progress("math", 60, 100)],
        Options(NOW),
    )

    assert [p.job.name for p in later.jobs] == ["math"]
    assert later.held["default"].reason.startswith("the count went down from 400 to 300")
    assert "**default**: [●●●●●●●●○○○○○○○○○○○○] 40%" in later.after and "60% • 60/100" in later.after
    assert later.message == "Update generation progress: math 60% (60 docs)"


def test_the_clock_alone_is_not_news_until_the_card_is_old() -> None:
    first = plan_card("acme/gen", None, None, [progress("default", 400, 1000)], Options(NOW))
    later = NOW + timedelta(minutes=10)
    again = plan_card("acme/gen", "abc", first.after, [progress("default", 400, 1000)], Options(later))
    assert again.changed  # the Last updated line moved
    assert not again.news(later, timedelta(hours=6))
    assert again.news(later, timedelta(minutes=5))
