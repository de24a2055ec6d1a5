"""Reporting to GitHub Actions: annotations, the step summary and the step's outputs.

All pure text, written by the CLI when it runs inside Actions (`GITHUB_ACTIONS=true`).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from typing import Any

from .card import render_bar
from .formatting import format_count, format_duration
from .model import Outcome
from .report import JobReport, Report, Status


def job_state(job: JobReport) -> str:
    """What became of the job: running, pending, completed, stopped, failed, finished earlier, or error."""
    if job.failed:
        return "error"
    if job.status is Status.SKIPPED:
        return "finished earlier"
    progress = job.progress
    if progress is not None and progress.outcome is not None:
        return progress.outcome.value
    return "pending" if progress is not None and progress.queue is not None else "running"


def record(job: JobReport) -> dict[str, Any]:
    """One job of the `report` output."""
    progress = job.progress
    eta = progress.eta if progress is not None else None
    tasks = progress.tasks if progress is not None else None
    return {
        "name": job.name,
        "done": progress.done if progress is not None else None,
        "total": progress.total if progress is not None else None,
        "percent": progress.percent if progress is not None else None,
        "tasks_done": tasks.done if tasks else None,
        "tasks_total": tasks.total if tasks else None,
        "eta": format_duration(eta.remaining.total_seconds()) if eta else None,
        "eta_at": eta.finish_at.strftime("%Y-%m-%dT%H:%M:%SZ") if eta else None,
        "status": job_state(job),
        "card": None
        if job.failed or job.status is Status.SKIPPED
        else job.status.name.lower().replace("_", "-"),
        "marked": job.marked,
        "queue": progress.queue if progress is not None else None,
        "counted": progress.found or None if progress is not None else None,
        "message": job.error
        or (progress.reason if progress else "")
        or job.earlier
        or "; ".join(job.warnings)
        or None,
    }


def outputs(report: Report) -> dict[str, str]:
    """`updated` (cards pushed), `finished` (jobs marked finished), `failed` (jobs that errored), `report`."""
    jobs = report.jobs
    return {
        "updated": str(sum(job.status is Status.PUSHED for job in jobs)),
        "finished": str(sum(job.marked for job in jobs)),
        "failed": str(sum(job.failed for job in jobs)),
        "report": json.dumps([record(job) for job in jobs], ensure_ascii=False),
    }


def output_file_text(values: Mapping[str, str]) -> str:
    """`$GITHUB_OUTPUT` lines; every value goes between delimiters that cannot occur in it."""
    lines = []
    for name, value in values.items():
        delimiter = f"progress_card_{secrets.token_hex(8)}"
        lines += [f"{name}<<{delimiter}", value, delimiter]
    return "\n".join(lines) + "\n"


def step_summary(report: Report) -> str:
    """A Markdown table of every job, running ones first, finished ones (this run or before) last."""
    ordered = sorted(report.jobs, key=lambda job: job.outcome is not None or job.status is Status.SKIPPED)
    rows = [
        "| Job | Progress | % | Documents | Tasks | ETA | Status |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for job in ordered:
        progress = job.progress
        cells = ["", "", "", "", ""]
        if progress is not None:
            cells = [
                render_bar(progress.done, progress.total).split("]")[0] + "]",
                f"{progress.percent}%",
                f"{format_count(progress.done)}/{format_count(progress.total)}",
                str(progress.tasks).removeprefix("tasks ") if progress.tasks else "",
                format_duration(progress.eta.remaining.total_seconds()) if progress.eta else "",
            ]
        rows.append("| " + " | ".join([f"`{job.name}`", *cells, _status_cell(job)]) + " |")
    return "## Generation progress\n\n" + "\n".join(rows) + "\n"


def _status_cell(job: JobReport) -> str:
    if job.failed:
        return f"❌ error: {_cell(job.error or '')}"
    if job.status is Status.SKIPPED:
        return f"finished earlier ({_cell(job.earlier or '')})"
    progress = job.progress
    if progress is not None and progress.outcome is not None:
        icon = "✅" if progress.outcome.value == "completed" else "⚠️"
        marked = ", marked in jobs file" if job.marked else ""
        return f"{icon} {progress.outcome.value}: {_cell(progress.reason)}{marked}"
    queue = progress.queue if progress is not None else None
    text = f"⏳ {_cell(queue)}, {job.status.value}" if queue else f"running, {job.status.value}"
    if job.warnings:
        text += f" ⚠️ {_cell('; '.join(job.warnings))}"
    return text


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def workflow_commands(report: Report) -> list[str]:
    """`::error::` for jobs that failed to update, `::warning::` for stops, failures and warnings."""
    lines = []
    for job in report.jobs:
        title = f"progress-card: {job.name}"
        if job.failed:
            lines.append(_command("error", title, job.error or "failed"))
        elif job.progress is not None and job.progress.outcome not in (None, Outcome.COMPLETED):
            progress = job.progress
            outcome = progress.outcome.value if progress.outcome else ""
            lines.append(_command("warning", title, f"{outcome} at {progress.percent}%: {progress.reason}"))
        for warning in job.warnings if not job.failed else ():
            lines.append(_command("warning", title, warning))
    return lines


def _command(kind: str, title: str, message: str) -> str:
    return f"::{kind} title={_escape_property(title)}::{_escape_data(message)}"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")
