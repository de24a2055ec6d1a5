"""The edges an update talks to, in one object: built by the CLI with the real clients, or by tests
with the same clients on loopback servers."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from .editing import Mark
from .manifest import Job
from .model import JobNotes, Total, Verdict
from .notes import Notebook
from .report import Report
from .storage import ShardMemory, Storage


@dataclass(frozen=True)
class Services:
    """The edges an update talks to, built by the CLI (real clients) or by tests (loopback servers)."""

    storage: Storage
    resolve_total: Callable[[Job], Total]
    verdicts: Callable[[Sequence[Job], Mapping[str, JobNotes]], dict[str, Verdict]]
    """What each job's compute says, asked once for all of them, knowing what earlier runs noted."""
    mark: Callable[[Mark], None]
    """Record a finished job in jobs.yaml (called for one job at a time, whatever the repos running)."""
    memory: Callable[[str], ShardMemory | None] = lambda location: None
    """What earlier runs learnt about the shards at a location (None: count everything)."""
    notebook: Notebook | None = None
    """What earlier runs noted about each job, and where this one notes it (None: nothing kept)."""
    tell: Callable[[Report], list[str]] | None = None
    """Incident issues and notifications, once the cards are pushed; returns warnings."""
    publish: Callable[[Report], None] | None = None
    """The status page of all jobs, written last."""
