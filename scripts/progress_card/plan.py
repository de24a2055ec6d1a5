"""The plan of one repo's update, and of a whole run: worked out in full before anything is written.

A repo's plan says the card before and after (every job's entry patched in, except the lines that
must be left as they are), whether that is news worth a commit, the commit message, the jobs to
mark finished in jobs.yaml once the card is pushed, and each job's row of the report. Pure: it is
made from the card's text, the jobs' progress and the run's options.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

from .card import is_final_datatrove_card, shown, write
from .editing import Mark
from .formatting import format_count
from .manifest import Job
from .model import Outcome
from .news import is_news
from .options import Options
from .progress import Progress
from .report import JobReport, Report, Status

if TYPE_CHECKING:
    from .storage import Dataset


@dataclass(frozen=True)
class Hold:
    """Why a job's line is left as it is; `final` when the card already shows the job's end."""

    reason: str
    final: bool


@dataclass(frozen=True)
class Item:
    """One job of a repo, with its progress worked out."""

    job: Job
    progress: Progress


@dataclass(frozen=True)
class RepoPlan:
    """What one repo's update will do."""

    label: str
    target: Dataset | None = field(repr=False)
    """Where the card is pushed; None for jobs with no card (shards in a bucket or a folder, no repo),
    or whose repo does not exist yet (`missing`)."""
    revision: str | None
    """The revision the card was read at: the commit goes on top of it, or fails."""
    before: str | None
    after: str
    items: tuple[Item, ...]
    """Every job of the repo whose progress was worked out."""
    held: dict[str, Hold] = field(default_factory=dict)
    warnings: dict[str, tuple[str, ...]] = field(default_factory=dict)
    news: bool = False
    """Worth a commit: more than the clock changed, or the card's timestamp is old."""
    missing: str | None = None
    """Why the card's repo cannot be written: it does not exist (yet), or the token cannot see it."""

    @property
    def included(self) -> tuple[Item, ...]:
        """The jobs whose lines are in `after`."""
        return tuple(item for item in self.items if item.job.name not in self.held)

    @property
    def message(self) -> str:
        """`Update generation progress: math 62% (3,120 docs), code 40% (400 docs)`."""
        parts = [
            f"{i.job.config} {i.progress.percent}% ({format_count(i.progress.done)} docs)"
            for i in self.included
        ]
        return f"Update generation progress: {', '.join(parts)}"

    def marks(self, now: datetime) -> list[Mark]:
        """The finished jobs to mark in jobs.yaml once the card shows their final numbers (none while
        the card's repo is missing: no card would show them)."""
        if self.missing is not None:
            return []
        return [
            Mark(item.job.name, item.progress.outcome.value, now, item.progress.done)
            for item in self.items
            if item.progress.outcome is not None
            and (item.job.name not in self.held or self.held[item.job.name].final)
        ]

    def rows(self) -> list[JobReport]:
        """Each job's row of the report once the plan is applied, as far as the plan can tell."""
        status = Status.PUSHED if self.news else Status.UNCHANGED
        if self.target is None:
            status = Status.NO_REPO if self.missing is not None else Status.NO_CARD
        rows = []
        for item in self.items:
            name, progress = item.job.name, item.progress
            warnings = (*progress.warnings, *self.warnings.get(name, ()))
            if self.missing is not None:
                warnings += (self.missing,)
            hold = self.held.get(name)
            if hold is not None:
                rows.append(JobReport(name, Status.HELD, progress, warnings=(*warnings, hold.reason)))
            else:
                rows.append(JobReport(name, status, progress, warnings=warnings))
        return rows

    def describe(self, now: datetime) -> str:
        """The plan for `--dry-run`: the commit it would make, the jobs it would mark, and the card's diff."""
        if self.target is None:
            why = self.missing or "no card: the shards are not in a dataset repo, and jobs.yaml names no repo"
            lines = [f"# {self.label}: {why}"]
            lines += [f"#   mark {mark.job} {mark.outcome} in jobs.yaml" for mark in self.marks(now)]
            return "\n".join(lines) + "\n"
        if not self.news:
            return f"# {self.label}: nothing new, no commit\n"
        lines = [f"# {self.label}: would commit {self.message!r}"]
        lines += [f"#   then mark {mark.job} {mark.outcome} in jobs.yaml" for mark in self.marks(now)]
        lines += [f"#   {name}: line left as it is ({hold.reason})" for name, hold in self.held.items()]
        return "\n".join(lines) + "\n" + self.diff()

    def diff(self) -> str:
        lines = difflib.unified_diff(
            (self.before or "").splitlines(keepends=True),
            self.after.splitlines(keepends=True),
            fromfile=f"{self.label}/README.md (current)" if self.before is not None else "/dev/null",
            tofile=f"{self.label}/README.md (updated)",
        )
        return "".join(lines)


def plan_card(
    target: Dataset, revision: str | None, card: str | None, items: Sequence[Item], options: Options
) -> RepoPlan:
    """The card with every job's entry written in, except the lines that must be left as they are."""
    text = card
    held: dict[str, Hold] = {}
    warnings: dict[str, tuple[str, ...]] = {}
    for item in items:
        hold = _hold(card, item, options.allow_decrease)
        if hold is not None:
            held[item.job.name] = hold
            continue
        text, said = write(text, item.progress.entry, options.now)
        if said:
            warnings[item.job.name] = said
    after = text or ""
    included = len(held) < len(items)
    news = included and after != card and is_news(card, after, options.now, options.refresh_after)
    return RepoPlan(target.label, target, revision, card, after, tuple(items), held, warnings, news)


def plan_without_card(label: str, items: Sequence[Item], missing: str | None = None) -> RepoPlan:
    """The plan of jobs whose card cannot be written: they have none, or its repo is `missing`."""
    return RepoPlan(label, None, None, None, "", tuple(items), missing=missing)


def _hold(card: str | None, item: Item, allow_decrease: bool) -> Hold | None:
    """Never publish progress going backwards, nor turn a finished card back into a progress card."""
    if card is None:
        return None
    if is_final_datatrove_card(card):
        return Hold(
            "the card is datatrove's final card (statistics, no progress section); left as it is", True
        )
    config, progress = item.job.config, item.progress
    now_shown = shown(card, config)
    if now_shown is None:
        return None
    if now_shown.complete and progress.outcome is not Outcome.COMPLETED:
        return Hold(f"the card already shows {config} complete; left as it is", True)
    if progress.done < now_shown.done and not allow_decrease and not progress.relaunched:
        return Hold(
            f"the count went down from {format_count(now_shown.done)} to {format_count(progress.done)}: card "
            "not changed (a listing glitch? if shards were deleted, run with --allow-decrease)",
            False,
        )
    return None


@dataclass(frozen=True)
class Plan:
    """A whole run's plan: each repo's, and every job's row once it is applied, in manifest order."""

    repos: tuple[RepoPlan, ...]
    rows: tuple[JobReport, ...]
    now: datetime

    def describe(self) -> str:
        """What applying the plan would do, repo by repo (for `--dry-run`)."""
        return "".join(repo.describe(self.now) for repo in self.repos)

    @property
    def marks(self) -> list[Mark]:
        return [mark for repo in self.repos for mark in repo.marks(self.now)]

    @property
    def expected(self) -> Report:
        """The report applying the plan would give if every write succeeds (what people would be told)."""
        marked = {mark.job for mark in self.marks}
        return Report(tuple(replace(row, marked=row.name in marked) for row in self.rows))

    @property
    def dry_run(self) -> Report:
        """The report of a dry run: nothing pushed, nothing marked, and what would have been."""
        marked = {mark.job for mark in self.marks}
        rows = []
        for row in self.rows:
            if row.status is Status.PUSHED:
                row = replace(row, status=Status.DRY_RUN)
            if row.name in marked:
                row = row.but(row.status, "would be marked finished")
            rows.append(row)
        return Report(tuple(rows))
