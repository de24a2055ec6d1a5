import io
import logging
import sys

import pytest

from progress_card.storage.progressbar import LOG_EVERY, SHOW_FROM, footer_progress


def test_outside_a_terminal_a_line_is_logged_every_few_seconds(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    now = [0.0]
    with footer_progress("math", 1_000, clock=lambda: now[0]) as tick:
        for done in range(1, 1_001):
            now[0] = done * 0.01  # 100 reads a second: 10 s in all
            tick()
    # At 5 s and 10 s; the 10 s one is the last read, which the count's own log line reports.
    assert LOG_EVERY == 5.0
    assert [r.getMessage() for r in caplog.records] == ["math: 500/1,000 footers read"]


def test_in_a_terminal_a_bar_is_drawn(monkeypatch: pytest.MonkeyPatch) -> None:
    screen = io.StringIO()
    screen.isatty = lambda: True  # type: ignore[method-assign]
    monkeypatch.setattr(sys, "stderr", screen)
    with footer_progress("math", SHOW_FROM) as tick:
        for _ in range(SHOW_FROM):
            tick()
    drawn = screen.getvalue()
    assert drawn.startswith(f"\rmath: footers:   0%|          | 0/{SHOW_FROM} [")
    assert drawn.endswith("\r")  # cleared when done, leaving the log readable


def test_small_counts_show_nothing(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    caplog.set_level(logging.INFO)
    with footer_progress("math", SHOW_FROM - 1, clock=lambda: 1e9) as tick:
        tick()
    assert caplog.records == []
