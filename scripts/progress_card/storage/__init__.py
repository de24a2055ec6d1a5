"""The storage wing: where a job's shards are, and what they hold.

One door: a place (`HubDataset`, `HubBucket`, `LocalDataset`) opened with the run's `Storage` gives a
source whose `snapshot()` lists what is there (`Listings`), reads footers (`count_documents`, with the
shard memory of earlier runs) and reads the card, all at one moment; a dataset's `write_card` pushes
a card. Behind the door: the Hub (dataset repos and Storage Buckets, transport, rate limits, Xet
redirects) and local folders.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model import Count, Unreadable
from .counting import count_documents, read_rows
from .dataset import Dataset, Listing, Listings, Shard, Snapshot, Source, parent
from .hub import QUOTA_WAIT, HubClient
from .locations import HubBucket, HubDataset, LocalDataset, Location, Output, Place
from .memory import InputTotals, RememberedTotal, ShardMemory


@dataclass(frozen=True)
class Storage:
    """The clients a run opens datasets with (built by the CLI, or by tests on loopback servers)."""

    hub: HubClient

    def open(self, location: Location) -> Dataset:
        """Where a card lives, opened."""
        return location.open(self)

    @property
    def workers(self) -> int:
        """How many footers a count reads at once."""
        return self.hub.pool_size


__all__ = [
    "QUOTA_WAIT",
    "Count",
    "Dataset",
    "HubBucket",
    "HubClient",
    "HubDataset",
    "InputTotals",
    "Listing",
    "Listings",
    "LocalDataset",
    "Location",
    "Output",
    "Place",
    "RememberedTotal",
    "Shard",
    "ShardMemory",
    "Snapshot",
    "Source",
    "Storage",
    "Unreadable",
    "count_documents",
    "parent",
    "read_rows",
]
