"""Showing the progress of a long count: a tqdm bar in a terminal, a log line every few seconds elsewhere."""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tqdm import tqdm

log = logging.getLogger(__name__)

SHOW_FROM = 500
"""Fewer footers than this are read too quickly to be worth a progress display."""
LOG_EVERY = 5.0


@contextmanager
def footer_progress(
    label: str, total: int, clock: Callable[[], float] = time.monotonic
) -> Iterator[Callable[[], None]]:
    """A function to call once per footer read; it shows progress when there are many to read."""
    if total < SHOW_FROM:
        yield lambda: None
        return
    if sys.stderr.isatty():
        with tqdm(total=total, desc=f"{label}: footers", unit="shard", file=sys.stderr, leave=False) as bar:
            lock = threading.Lock()

            def tick() -> None:
                with lock:
                    bar.update(1)

            yield tick
        return
    done = 0
    last = clock()
    lock = threading.Lock()

    def tick_and_log() -> None:
        nonlocal done, last
        with lock:
            done += 1
            now = clock()
            if now - last >= LOG_EVERY and done < total:
                last = now
                log.info("%s: %s/%s footers read", label, f"{done:,}", f"{total:,}")

    yield tick_and_log
