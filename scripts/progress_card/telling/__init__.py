"""Telling people: an incident issue per job that needs a person, and a notification per event.

One entry point, `tell(report, jobs, audience)`, run after the cards are updated: `plan` works out
what to tell (reading the open issues and the state folder), `apply` says it. A job that
stalled, stopped or failed without stats.json, or whose update failed three runs in a row, gets one
issue in the workflow's repository (labelled, assigned); a change of situation is a comment, and
the end of it (new shards, a completion) a closing comment. Each event is also sent once to the
notification URLs. The situation last told is read from the open issues themselves, so a lost
state folder repeats nothing; the state folder keeps it too, for runs without issues, with the
count of failed runs.
"""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..errors import TellingError
from ..formatting import format_count, format_eta_date
from ..manifest import Job
from ..model import Outcome
from ..report import JobReport, Report
from ..state_files import read_state, save_state
from .incidents import GitHubRepository, Incident
from .notify import Notifier
from .situations import EVENTS, Kind, Situation, event, resolution, situation

__all__ = ["EVENTS", "Audience", "GitHubRepository", "Notifier", "Telling", "apply", "plan", "tell"]

log = logging.getLogger(__name__)
MEMORY_FILE = "telling.json"
FENCE = "`" * 3
"""A Markdown code fence: quoted logs go between two, and cannot close one themselves."""


@dataclass(frozen=True)
class Audience:
    """Who is told, and how: the incident issues (None: off), the notification URLs, the state folder."""

    issues: GitHubRepository | None
    notifier: Notifier
    state_dir: Path | None = None
    run_url: str | None = None
    """The workflow run, linked from the issues."""
    redact: Callable[[str], str] = str
    """Masks the secrets in what is quoted from the cluster (task logs) before it is posted."""


@dataclass(frozen=True)
class _Told:
    kind: Kind | None
    since: datetime | None
    failures: int


@dataclass(frozen=True)
class Step:
    """What is told of one job this run: its incident issue's change, and the event notified."""

    job: Job
    report: JobReport
    incident: Incident | None
    now: Situation | None
    before: Kind | None
    since: datetime | None
    happened: str | None
    """The event to notify of, when it is one the job's `notify:` lets through."""

    def describe(self, issues: bool) -> list[str]:
        """What applying this step does, in words (for `--dry-run`)."""
        lines = []
        action = self._issue_action() if issues else None
        if action is not None:
            lines.append(f"{self.job.name}: would {action}")
        if self.happened is not None:
            lines.append(
                f"{self.job.name}: would notify {_message(self.happened, self.now, self.report)[0]!r}"
            )
        return lines

    def _issue_action(self) -> str | None:
        now, incident = self.now, self.incident
        if now is not None and incident is None:
            return f"open the incident issue {now.title!r}"
        if now is not None and incident is not None and now.kind is not incident.kind:
            return f"comment on its incident issue: {now.title!r}"
        if now is None and incident is not None and not self.report.failed:
            return "close its incident issue"
        return None


@dataclass(frozen=True)
class Telling:
    """Everything this run tells, worked out before any of it is said."""

    steps: tuple[Step, ...]
    memory: dict[str, _Told]
    """What is remembered after this run, for the next one."""
    warnings: tuple[str, ...]
    issues: bool
    """The incident issues could be read, so they are kept."""

    def describe(self) -> str:
        return "".join(f"# {line}\n" for step in self.steps for line in step.describe(self.issues))


def plan(report: Report, jobs: Sequence[Job], audience: Audience) -> Telling:
    """Each job's situation against the one last told (the open incident issues, the state folder):
    what to open, comment on or close, and what to notify. Reads only."""
    warnings: list[str] = []
    memory = _load(audience.state_dir)
    incidents: dict[str, Incident] = {}
    issues = audience.issues
    if issues is not None:
        try:
            incidents = issues.open_incidents()
        except TellingError as error:
            warnings.append(f"incident issues left alone this run: {error}")
            issues = None
    by_name = {job.name: job for job in jobs}
    steps = []
    for job_report in report.jobs:
        job = by_name.get(job_report.name)
        if job is None or not job_report.current:
            continue
        told = memory.get(job.name, _Told(None, None, 0))
        incident = incidents.get(job.name) if issues is not None else None
        before = incident.kind if incident is not None else (told.kind if issues is None else None)
        since = incident.since if incident is not None else told.since
        failures = told.failures + 1 if job_report.failed else 0
        now = situation(job_report, failures)
        happened = event(before, now, job_report)
        if happened is not None and job.notify is not None and happened not in job.notify:
            happened = None
        steps.append(Step(job, job_report, incident, now, before, since, happened))
        memory[job.name] = _Told(now.kind if now else None, now.since if now else None, failures)
    return Telling(tuple(steps), memory, tuple(warnings), issues is not None)


def apply(telling: Telling, audience: Audience) -> list[str]:
    """Open, comment on and close the incident issues, send the notifications, remember what was told;
    returns warnings."""
    warnings = list(telling.warnings)
    issues = audience.issues if telling.issues else None
    for step in telling.steps:
        try:
            if issues is not None:
                _file(issues, step, audience.run_url, audience.redact)
        except TellingError as error:
            warnings.append(str(error))
        if step.happened is not None and audience.notifier:
            problem = audience.notifier.send(*_message(step.happened, step.now, step.report))
            if problem:
                warnings.append(problem)
    _save(audience.state_dir, telling.memory)
    for warning in warnings:
        log.warning("%s", warning)
    return warnings


def tell(report: Report, jobs: Sequence[Job], audience: Audience) -> list[str]:
    """Plan what to tell, then tell it; returns warnings."""
    return apply(plan(report, jobs, audience), audience)


def _file(issues: GitHubRepository, step: Step, run_url: str | None, redact: Callable[[str], str]) -> None:
    now, incident, report = step.now, step.incident, step.report
    if now is not None and incident is None:
        issues.open(step.job.name, now, _body(report, now, run_url, redact), step.job.assignees)
    elif now is not None and incident is not None and now.kind is not incident.kind:
        line = report.progress.line if report.progress is not None else ""
        issues.change(incident, now, f"now: {now.title}\n\n{line}")
    elif now is None and incident is not None and not report.failed:
        issues.close(incident, resolution(incident.kind, step.since, report))


def _body(report: JobReport, now: Situation, run_url: str | None, redact: Callable[[str], str]) -> str:
    progress = report.progress
    last = f"; last shard {format_eta_date(progress.last_shard)}" if progress and progress.last_shard else ""
    count = (
        f"{format_count(progress.done)} of {format_count(progress.total)} documents ({progress.percent}%)"
        if progress is not None
        else "not counted"
    )
    lines = [progress.line if progress is not None else report.error or "", ""]
    if progress is not None:
        lines.append(f"- Dataset: {progress.dataset}")
    if run_url:
        lines.append(f"- Workflow run: {run_url}")
    lines.append(f"- Last count: {count}{last}")
    if progress is not None and progress.found:
        lines.append(f"- Counted: {progress.found}")
    advice = now.advice or (
        "check the job's logs (datatrove's `logs/` and `slurm_logs/`, `squeue`), relaunch it if it stopped, "
        f"then record the new job with `progress-card relaunch {report.name} --slurm-job-id ID` and commit "
        "jobs.yaml"
    )
    lines += [
        "",
        f"What to do: {advice.rstrip('.')}. This issue is closed by itself once the situation is over "
        "(new shards, the count back, a completion).",
    ]
    for tail in progress.verdict.tails if progress is not None else ():
        lines += [
            "",
            f"<details><summary>The last lines of <code>{html.escape(tail.log)}</code> "
            f"({html.escape(tail.about)})</summary>",
            "",
            FENCE + "text",
            redact(tail.text).replace(FENCE, "` ` `"),
            FENCE,
            "</details>",
        ]
    return "\n".join(lines)


def _message(happened: str, now: Situation | None, report: JobReport) -> tuple[str, str]:
    """A notification's title and body."""
    if now is not None:
        title = now.title
    elif happened == "completed":
        title = f"✅ {report.name}: completed"
    else:
        title = f"✅ {report.name}: {happened}"
    progress = report.progress
    if progress is None:
        return title, report.error or ""
    body = [f"{format_count(progress.done)}/{format_count(progress.total)} documents ({progress.percent}%)"]
    if happened == "completed" and progress.figures is not None:
        figures = progress.figures
        if figures.completion_tokens:
            body.append(f"{format_count(figures.completion_tokens)} completion tokens")
        if figures.prompt_tokens:
            body.append(f"{format_count(figures.prompt_tokens)} prompt tokens")
    if happened == "completed" and progress.spent:
        body.append(progress.spent)
    if progress.outcome is not None and progress.outcome is not Outcome.COMPLETED:
        body.append(progress.reason)
    body.append(progress.dataset)
    return title, "\n".join(body)


def _load(folder: Path | None) -> dict[str, _Told]:
    if folder is None:
        return {}
    raw = read_state(
        folder / MEMORY_FILE, "what people were told is forgotten: open situations are told again"
    )
    told = {}
    for name, value in raw.items() if isinstance(raw, dict) else ():
        try:
            kind = Kind(value["kind"]) if value.get("kind") else None
            since = datetime.fromisoformat(value["since"]) if value.get("since") else None
            told[name] = _Told(kind, since, int(value.get("failures", 0)))
        except (AttributeError, KeyError, TypeError, ValueError):
            continue
    return told


def _save(folder: Path | None, memory: dict[str, _Told]) -> None:
    if folder is None:
        return
    data = {
        name: {
            "kind": t.kind.value if t.kind else None,
            "since": t.since.isoformat() if t.since else None,
            "failures": t.failures,
        }
        for name, t in sorted(memory.items())
    }
    save_state(
        folder / MEMORY_FILE, json.dumps(data, indent=1).encode("utf-8"), "the next run may tell again"
    )
