"""A job's chart as SVG: documents over time from its upload history, the projection to the expected
end, and the total as a line. Drawn with matplotlib, byte-identical for the same data: no dates in
the file, a fixed hash salt for its ids, text kept as text in a font every browser has."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime, timezone
from itertools import accumulate
from typing import Any

import matplotlib

matplotlib.use("Agg")

from matplotlib import pyplot
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

from ..formatting import format_count
from ..model import Arrival

WIDTH_IN, HEIGHT_IN = 8.0, 3.0
"""768 x 288 px at 96 dpi: readable at the width GitHub gives a README."""
INK = "#808080"
"""Axes and text in a mid grey, readable on GitHub's light and dark backgrounds alike."""
DONE, PROJECTED, TOTAL = "#2f81f7", "#d29922", "#3fb950"
STYLE: dict[str, Any] = {
    "svg.hashsalt": "progress-card",
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.edgecolor": INK,
    "axes.labelcolor": INK,
    "xtick.color": INK,
    "ytick.color": INK,
    "text.color": INK,
}


def chart_svg(
    name: str, arrivals: Sequence[Arrival], total: int, finish_at: datetime | None, done: int
) -> bytes:
    """The chart of one job; `finish_at` None draws no projection (a job ended, stalled or not known)."""
    with matplotlib.rc_context(STYLE):  # type: ignore[arg-type]
        figure, axes = pyplot.subplots(figsize=(WIDTH_IN, HEIGHT_IN), dpi=96)
        try:
            figure.patch.set_alpha(0.0)
            axes.patch.set_alpha(0.0)
            times = [_days(arrival.at) for arrival in arrivals]
            counts = list(accumulate(arrival.rows for arrival in arrivals))
            if times:
                axes.step(times, counts, where="post", color=DONE, linewidth=1.8, label="documents uploaded")
            end = _days(finish_at) if finish_at is not None else None
            if end is not None and times and end > times[-1]:
                axes.plot([times[-1], end], [done, total], color=PROJECTED, linestyle="--", linewidth=1.4,
                          label="projection to the expected end")  # fmt: skip
            axes.axhline(
                total, color=TOTAL, linewidth=1.0, linestyle=":", label=f"total: {format_count(total)}"
            )
            axes.set_title(name, loc="left", fontsize=10)
            axes.set_ylim(0, total * 1.08 if total > 0 else 1)
            axes.yaxis.set_major_formatter(lambda value, _: format_count(int(value)))
            locator = AutoDateLocator()  # type: ignore[no-untyped-call]
            axes.xaxis.set_major_locator(locator)
            axes.xaxis.set_major_formatter(ConciseDateFormatter(locator, tz=timezone.utc))  # type: ignore[no-untyped-call]
            axes.set_xlabel("time (UTC)", fontsize=8, loc="left")
            for side in ("top", "right"):
                axes.spines[side].set_visible(False)
            axes.legend(loc="lower right", frameon=False, fontsize=8)
            figure.tight_layout()
            buffer = io.BytesIO()
            figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None}, transparent=True)
        finally:
            pyplot.close(figure)
    return buffer.getvalue()


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _days(moment: datetime) -> float:
    """matplotlib's date number: days since its epoch, 1970-01-01 UTC."""
    return (moment - _EPOCH).total_seconds() / 86400
