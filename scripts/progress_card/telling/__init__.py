"""Telling people: an incident issue per job that needs a person, and a notification per event.

One entry point, `tell(report, jobs, audience)`, run after the cards are updated. A job that
stalled, stopped or failed without stats.json, or whose update failed three runs in a row, gets one
issue in the workflow's repository (labelled, assigned); a change of situation is a comment, and
the end of it (new shards, a completion) a closing comment. Each event is also sent once to the
notification URLs. The situation last told is read from the open issues themselves, so a lost
state folder repeats nothing; the state folder keeps it too, for runs without issues, with the
count of failed runs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..atomic import write_atomically
from ..cluster import Outcome
from ..errors import TellingError
from ..formatting import format_count, format_eta_date
from ..manifest import Job
from ..report import JobReport, Report
from .incidents import GitHubRepository, Incident
from .notify import Notifier
from .situations import EVENTS, Kind, Situation, event, resolution, situation

__all__ = ["EVENTS", "Audience", "GitHubRepository", "Notifier", "tell"]

log = logging.getLogger(__name__)
MEMORY_FILE = "telling.json"


@dataclass(frozen=True)
class Audience:
    """Who is told, and how: the incident issues (None: off), the notification URLs, the state folder."""

    issues: GitHubRepository | None
    notifier: Notifier
    state_dir: Path | None = None
    run_url: str | None = None
    """The workflow run, linked from the issues."""


@dataclass(frozen=True)
class _Told:
    kind: Kind | None
    since: datetime | None
    failures: int


def tell(report: Report, jobs: Sequence[Job], audience: Audience) -> list[str]:
    """Open, comment on and close incident issues, and send notifications; returns warnings."""
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
    for job_report in report.jobs:
        job = by_name.get(job_report.name)
        if job is None or not job_report.current:
            continue
        told = memory.get(job.name, _Told(None, None, 0))
        incident = incidents.get(job.name)
        before = incident.kind if incident is not None else (told.kind if issues is None else None)
        since = incident.since if incident is not None else told.since
        failures = told.failures + 1 if job_report.failed else 0
        now = situation(job_report, failures)
        happened = event(before, now, job_report)
        try:
            if issues is not None:
                _file(issues, job, job_report, incident, now, before, since, audience.run_url)
        except TellingError as error:
            warnings.append(str(error))
        if happened is not None and (job.notify is None or happened in job.notify) and audience.notifier:
            problem = audience.notifier.send(*_message(happened, now, job_report))
            if problem:
                warnings.append(problem)
        memory[job.name] = _Told(now.kind if now else None, now.since if now else None, failures)
    _save(audience.state_dir, memory)
    for warning in warnings:
        log.warning("%s", warning)
    return warnings


def _file(
    issues: GitHubRepository,
    job: Job,
    report: JobReport,
    incident: Incident | None,
    now: Situation | None,
    before: Kind | None,
    since: datetime | None,
    run_url: str | None,
) -> None:
    if now is not None and incident is None:
        issues.open(job.name, now, _body(report, run_url), job.assignees)
    elif now is not None and incident is not None and now.kind is not incident.kind:
        issues.change(incident, now, f"now: {now.title}\n\n{report.line or ''}")
    elif now is None and incident is not None and not report.failed:
        issues.close(incident, resolution(incident.kind, since, report))


def _body(report: JobReport, run_url: str | None) -> str:
    last = f"; last shard {format_eta_date(report.last_shard)}" if report.last_shard else ""
    count = (
        f"{format_count(report.done)} of {format_count(report.total)} documents ({report.percent}%)"
        if report.done is not None and report.total is not None
        else "not counted"
    )
    lines = [report.line or report.error or "", ""]
    if report.dataset:
        lines.append(f"- Dataset: {report.dataset}")
    if run_url:
        lines.append(f"- Workflow run: {run_url}")
    lines.append(f"- Last count: {count}{last}")
    lines += [
        "",
        "What to do: check the job's logs (datatrove's `logs/` and `slurm_logs/`, `squeue`), relaunch it "
        f"if it stopped, then record the new job with `progress-card relaunch {report.name} --slurm-job-id ID` "
        "and commit jobs.yaml. This issue is closed by itself once the job uploads again or completes.",
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
    count = (
        f"{format_count(report.done or 0)}/{format_count(report.total or 0)} documents ({report.percent}%)"
    )
    body = [count]
    if happened == "completed" and report.figures is not None:
        figures = report.figures
        if figures.completion_tokens:
            body.append(f"{format_count(figures.completion_tokens)} completion tokens")
        if figures.prompt_tokens:
            body.append(f"{format_count(figures.prompt_tokens)} prompt tokens")
    if report.outcome is not None and report.outcome is not Outcome.COMPLETED:
        body.append(report.reason)
    if report.dataset:
        body.append(report.dataset)
    return title, "\n".join(body)


def _load(folder: Path | None) -> dict[str, _Told]:
    if folder is None:
        return {}
    try:
        raw = json.loads((folder / MEMORY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
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
    folder.mkdir(parents=True, exist_ok=True)
    write_atomically(folder / MEMORY_FILE, json.dumps(data, indent=1).encode("utf-8"))
