"""A job's shields.io endpoint badge (pure): `62% · 2h 15m left`, coloured by state."""

from __future__ import annotations

import json

from ..cluster import Outcome
from ..formatting import format_duration
from ..report import JobReport

COLORS = {"running": "blue", "pending": "lightgrey", "stalled": "orange", "completed": "brightgreen",
          "stopped": "red", "failed": "red", "error": "red"}  # fmt: skip


def badge_json(report: JobReport) -> bytes:
    """The JSON shields.io reads from `https://img.shields.io/endpoint?url=<raw URL of the file>`."""
    state = state_of(report)
    message = f"{report.percent}%" if report.percent is not None else "?"
    if state == "running" and report.eta is not None:
        message += f" · {format_duration(report.eta.remaining.total_seconds())} left"
    elif state != "running":
        message += f" · {state}"
    badge = {"schemaVersion": 1, "label": report.name, "message": message, "color": COLORS[state]}
    return (json.dumps(badge, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def state_of(report: JobReport) -> str:
    if report.failed:
        return "error"
    if report.outcome is not None:
        return "completed" if report.outcome is Outcome.COMPLETED else report.outcome.value
    if report.stalled_since is not None:
        return "stalled"
    return "pending" if report.queue else "running"
