"""The storage wing: where a job's shards are, and what they hold.

One door: `Storage.open(location)` gives a `Dataset`; its `snapshot()` lists shards, reads their
footers (`count_documents`, with the shard memory of earlier runs) and reads the card, all at one
revision; `Dataset.write_card` pushes a card. Behind the door: the Hub (transport, rate limits,
Xet redirects) and local folders.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model import Count, Unreadable
from .counting import count_documents, read_rows
from .dataset import Dataset, Shard, Snapshot, shards_in
from .hub import QUOTA_WAIT, HubClient
from .locations import HubDataset, LocalDataset, Location
from .memory import InputTotals, RememberedTotal, ShardMemory


@dataclass(frozen=True)
class Storage:
    """The clients a run opens datasets with (built by the CLI, or by tests on loopback servers)."""

    hub: HubClient

    def open(self, location: Location) -> Dataset:
        return location.open(self)

    @property
    def workers(self) -> int:
        """How many footers a count reads at once."""
        return self.hub.pool_size


__all__ = [
    "QUOTA_WAIT",
    "Count",
    "Dataset",
    "HubClient",
    "HubDataset",
    "InputTotals",
    "LocalDataset",
    "Location",
    "RememberedTotal",
    "Shard",
    "ShardMemory",
    "Snapshot",
    "Storage",
    "Unreadable",
    "count_documents",
    "read_rows",
    "shards_in",
]
