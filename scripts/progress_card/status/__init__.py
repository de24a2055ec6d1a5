"""The status page of all jobs: `DIR/README.md` (a table, the finished jobs, each job's chart),
`DIR/<job>.svg` and `DIR/<job>.json` (a shields.io endpoint badge).

One entry point, `write_status(folder, report, jobs, now)`. Files change only when
their news would, as the card does: what the clock alone changes (the time left) is not news, and a
run with nothing new leaves the folder byte-identical. The page keeps, in a hidden comment, each
row and what it said, so that a job finished earlier keeps its last row.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from ..atomic import write_atomically
from ..card import describe_loss, render_bar, tokens_text
from ..formatting import format_count, format_duration, format_eta_date, format_timestamp
from ..manifest import Job
from ..progress import Progress
from ..report import JobReport, Report
from .badge import badge_json, state_of

log = logging.getLogger(__name__)

PAGE = "README.md"
_MEMORY = re.compile(r"^<!-- progress-card:status (?P<json>.*) -->$", re.MULTILINE)
HEADER = "| Job | Dataset · config | Progress | Documents | ETA / ended | Last shard | Status |"
"""Seven columns: a page 1,000 px wide shows a row on one or two lines."""
COLUMNS = HEADER.count("|") - 1


def write_status(folder: Path, report: Report, jobs: Sequence[Job], now: datetime) -> list[Path]:
    """Bring the folder up to date; returns the files written (none when nothing is news)."""
    page = folder / PAGE
    before = page.read_text(encoding="utf-8", errors="replace") if page.is_file() else ""
    memory = _memory(before, page)
    reports = {r.name: r for r in report.jobs}
    rows, news, changed = {}, {}, []
    for job in jobs:
        result = reports.get(job.name)
        if result is None or not result.current or result.failed or result.progress is None:
            rows[job.name] = memory["rows"].get(job.name) or _finished_row(job, folder)
            news[job.name] = memory["news"].get(job.name, "")
            continue
        row, key = _row(job, result, folder)
        if key == memory["news"].get(job.name) and memory["rows"].get(job.name):
            rows[job.name], news[job.name] = memory["rows"][job.name], key
            continue
        rows[job.name], news[job.name] = row, key
        changed.append(job.name)
    if not changed and set(rows) == set(memory["rows"]) and before:
        return []
    from .chart import chart_svg  # matplotlib: imported only when a chart is to be drawn

    written = []
    folder.mkdir(parents=True, exist_ok=True)
    for name in changed:
        result = reports[name]
        progress = result.progress
        assert progress is not None  # a changed row is a job this run worked out
        ends = progress.eta.finish_at if progress.eta and state_of(result) == "running" else None
        svg = chart_svg(name, progress.history, progress.total, ends, progress.done)
        for path, data in ((folder / f"{name}.svg", svg), (folder / f"{name}.json", badge_json(result))):
            write_atomically(path, data)
            written.append(path)
    text = _page(jobs, reports, rows, news, now)
    write_atomically(page, text.encode("utf-8"))
    return [page, *written]


def _page(
    jobs: Sequence[Job],
    reports: Mapping[str, JobReport],
    rows: Mapping[str, str],
    news: Mapping[str, str],
    now: datetime,
) -> str:
    lines = [
        "# Generation jobs",
        "",
        f"*Last change: {format_timestamp(now)}*",
        "",
        HEADER,
        "|" + "---|" * COLUMNS,
    ]
    lines += [rows[job.name] for job in jobs]
    ended = [_ended(job, reports.get(job.name), now) for job in jobs]
    if any(ended):
        lines += ["", "## Finished", ""]
        lines += [f"- `{job.name}`: {line}" for job, line in zip(jobs, ended, strict=True) if line]
    lines += ["", "## Charts", ""]
    lines += [f"![{job.name}]({job.name}.svg)\n" for job in jobs]
    memory = json.dumps({"rows": dict(rows), "news": dict(news)}, ensure_ascii=False, sort_keys=True)
    return "\n".join(lines) + f"\n<!-- progress-card:status {memory} -->\n"


def _ended(job: Job, report: JobReport | None, now: datetime) -> str | None:
    """How a finished job ended, and when: from jobs.yaml's marks, or from this run."""
    if job.finished is not None:
        count = f", {format_count(job.finished.count)} documents" if job.finished.count is not None else ""
        return f"{job.finished.outcome} at {job.finished.at}{count}"
    progress = report.progress if report is not None else None
    if progress is not None and progress.outcome is not None:
        return (
            f"{progress.outcome.value} at {now:%Y-%m-%dT%H:%M:%SZ}, {format_count(progress.done)} documents"
        )
    return None


def _memory(page_text: str, page: Path) -> dict[str, dict[str, str]]:
    """What the page remembers of each row; a memory that cannot be read is forgotten, with a warning:
    the page is then written again in full, and finished jobs get their one-line row."""
    empty: dict[str, dict[str, str]] = {"rows": {}, "news": {}}
    found = _MEMORY.search(page_text)
    if found is None:
        return empty
    try:
        memory = json.loads(found["json"])
    except (ValueError, RecursionError) as error:
        memory, reason = None, f"{type(error).__name__}: {error}"[:200]
    else:
        reason = "not the shape this tool writes"
    if isinstance(memory, dict) and all(
        isinstance(memory.get(part), dict) and all(isinstance(v, str) for v in memory[part].values())
        for part in ("rows", "news")
    ):
        return {"rows": memory["rows"], "news": memory["news"]}
    log.warning("status page %s: its memory is damaged (%s); writing the page afresh", page, reason)
    return empty


def _dataset(job: Job, page: str, folder: Path) -> str:
    """Where the job's data is, with its config: a link to its Hub page, or to its folder relative to
    the status page (so that the link works where the page is read, and no one's home shows)."""
    if page.startswith("https://"):
        return f"[{job.where}]({page}) · {job.config}"
    link = Path(os.path.relpath(page, folder.resolve())).as_posix()
    here = Path(os.path.relpath(page)).as_posix()  # as the repository's root (the run's folder) names it
    return f"[{Path(page).name if here.startswith('..') else here}]({quote(link)}) · {job.config}"


def _row(job: Job, report: JobReport, folder: Path) -> tuple[str, str]:
    """The job's row, and what it says without the clock (the time left)."""
    progress = report.progress
    assert progress is not None
    done, total = progress.done, progress.total
    bar = render_bar(done, total).split("]")[0] + "]" if total else ""
    state = state_of(report)
    if progress.outcome is not None:
        ended = f"{progress.outcome.value}: {progress.reason}"
    elif progress.eta is not None and state == "running":
        ended = f"{format_duration(progress.eta.remaining.total_seconds())} (📅 {format_eta_date(progress.eta.finish_at)})"
    elif progress.late is not None:
        ended = progress.late.removeprefix("⏱️ ")
    else:
        ended = ""
    if progress.spent:
        ended = f"{ended} · {progress.spent}" if ended else progress.spent
    last = format_eta_date(progress.last_shard) if progress.last_shard else ""
    status = f"{state} ({progress.queue})" if progress.queue else state
    if progress.unsafe is not None:
        status += f" ⚠️ {progress.unsafe.what}"
    if progress.loss is not None:
        status += f" ⚠️ {describe_loss(progress.loss)}"
    if progress.crowding is not None:
        status += f" ⚠️ {progress.crowding}"
    cells = [
        f"`{job.name}`",
        _dataset(job, progress.dataset, folder),
        bar,
        _documents(progress),
        ended,
        last,
        status,
    ]
    row = "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"
    key = "| " + " | ".join([*cells[:4], ended if progress.outcome is not None else "", *cells[5:]]) + " |"
    return row, key


def _documents(progress: Progress) -> str:
    """`62% · 3,120/5,000`, the tasks done and the completion tokens of the finished tasks:
    `62% · 3,120/5,000 · tasks 3/8 · 36K tokens (≈ 9K/h)`."""
    counts = f"{format_count(progress.done)}/{format_count(progress.total)}"
    if progress.total:
        counts = f"{progress.percent}% · {counts}"
    tokens = tokens_text(progress.tokens.completion_tokens, progress.tokens.tokens_per_hour)
    return " · ".join(
        part for part in (counts, str(progress.tasks) if progress.tasks else "", tokens) if part
    )


def _finished_row(job: Job, folder: Path) -> str:
    finished = job.finished
    outcome = f"{finished.outcome} at {finished.at}" if finished else ""
    count = format_count(finished.count) if finished and finished.count is not None else ""
    return f"| `{job.name}` | {_dataset(job, job.page, folder)} |  | {count} | {outcome} |  | {finished.outcome if finished else ''} |"
