"""A repo's plan: every config's line in one card, one commit message, and the lines left alone."""

from datetime import datetime, timedelta, timezone
from pathlib import Path

from progress_card.manifest import Job
from progress_card.options import Options
from progress_card.plan import Item, plan_card
from progress_card.storage import HubDataset
from progress_card.storage.local import LocalRepo
from tests.support import progress_of

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
REPO = LocalRepo(Path("/data/acme-gen"))
"""Where the card would go: the plan only names it."""


def progress(config: str, done: int, total: int) -> Item:
    """A job of config `config`, with `done` of `total` documents up."""
    return Item(
        Job(config, HubDataset("acme/gen"), config=config, total=total),
        progress_of(done, total, config=config),
    )


def test_every_config_goes_in_one_new_card_and_one_commit() -> None:
    plan = plan_card(
        REPO, None, None, [progress("default", 400, 1000), progress("math", 50, 100)], Options(NOW)
    )

    assert plan.news
    assert plan.message == "Update generation progress: default 40% (400 docs), math 50% (50 docs)"
    assert "**default**: [●●●●●●●●○○○○○○○○○○○○] 40%" in plan.after and "**math**: [" in plan.after
    assert "config_name: default" in plan.after and "config_name: math" in plan.after


def test_a_count_that_went_down_is_left_as_it_is_and_the_others_still_go_in() -> None:
    first = plan_card(
        REPO, None, None, [progress("default", 400, 1000), progress("math", 50, 100)], Options(NOW)
    )

    later = plan_card(
        REPO,
        "abc",
        first.after,
        [progress("default", 300, 1000), progress("math", 60, 100)],
        Options(NOW),
    )

    assert [item.job.name for item in later.included] == ["math"]
    assert later.held["default"].reason.startswith("the count went down from 400 to 300")
    assert "**default**: [●●●●●●●●○○○○○○○○○○○○] 40%" in later.after and "60% • 60/100" in later.after
    assert later.message == "Update generation progress: math 60% (60 docs)"


def test_the_clock_alone_is_not_news_until_the_card_is_old() -> None:
    first = plan_card(REPO, None, None, [progress("default", 400, 1000)], Options(NOW))
    later = NOW + timedelta(minutes=10)
    again = plan_card(REPO, "abc", first.after, [progress("default", 400, 1000)], Options(later))
    assert again.after != first.after  # the Last updated line moved
    assert not again.news
    old = Options(later, refresh_after=timedelta(minutes=5))
    assert plan_card(REPO, "abc", first.after, [progress("default", 400, 1000)], old).news
