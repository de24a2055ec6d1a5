"""A job's shields.io endpoint badge (pure): `62% · 2h 15m left`, coloured by state."""

from __future__ import annotations

import json

from ..formatting import format_duration
from ..model import Outcome
from ..report import JobReport

COLORS = {"running": "blue", "pending": "lightgrey", "late": "yellow", "stalled": "orange", "completed": "brightgreen",
          "stopped": "red", "failed": "red", "error": "red"}  # fmt: skip


def badge_json(report: JobReport) -> bytes:
    """The JSON shields.io reads from `https://img.shields.io/endpoint?url=<raw URL of the file>`."""
    state, progress = state_of(report), report.progress
    message = f"{progress.percent}%" if progress is not None else "?"
    if state == "running" and progress is not None and progress.eta is not None:
        message += f" · {format_duration(progress.eta.remaining.total_seconds())} left"
    elif state != "running":
        message += f" · {state}"
    badge = {"schemaVersion": 1, "label": report.name, "message": message, "color": COLORS[state]}
    return (json.dumps(badge, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def state_of(report: JobReport) -> str:
    progress = report.progress
    if report.failed or progress is None:
        return "error"
    if progress.outcome is not None:
        return "completed" if progress.outcome is Outcome.COMPLETED else progress.outcome.value
    if progress.stalled_since is not None:
        return "stalled"
    if progress.late is not None:
        return "late"
    return "pending" if progress.queue else "running"
