"""Where a dataset is, and where a job's shards are: plain values that the manifest builds. Each knows
how to open itself with the run's clients (`Storage`) and how people and tools name it.

A card lives in a dataset: a repo on the Hub, or a local folder laid out like one. Shards may be in
that dataset, in another one, in a Storage Bucket on the Hub (no card there), or in a local folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .dataset import Dataset, Source
from .local import LocalRepo

if TYPE_CHECKING:
    from . import Storage


@dataclass(frozen=True)
class HubDataset:
    """A dataset repo on the Hub."""

    repo_id: str

    def __str__(self) -> str:
        return self.repo_id

    def open(self, storage: Storage) -> Dataset:
        return storage.hub.repo(self.repo_id)

    @property
    def dataset(self) -> HubDataset | None:
        """The dataset whose card shows the shards found here: this repo."""
        return self

    @property
    def url(self) -> str:
        """The fsspec URL of the repo (the state folder is keyed by it)."""
        return f"hf://datasets/{self.repo_id}"

    @property
    def title(self) -> str:
        """What a new card calls it."""
        return self.repo_id

    @property
    def page(self) -> str:
        """Where people see it."""
        return f"https://huggingface.co/datasets/{self.repo_id}"

    @property
    def hub_id(self) -> str | None:
        """The repo id, for links on a card."""
        return self.repo_id

    def file_prefix(self, revision: str | None) -> str:
        """How `datasets` names the repo's files at `revision`, before their path in the repo."""
        return f"hf://datasets/{self.repo_id}@{revision}/"

    def builder_arguments(self, revision: str | None) -> dict[str, Any]:
        """What `datasets.load_dataset_builder` needs to read this dataset, pinned to `revision`."""
        return {"path": self.repo_id, "revision": revision}


@dataclass(frozen=True)
class LocalDataset:
    """A folder laid out like a dataset repo (a card may live there), or a folder of shards."""

    path: Path

    def __str__(self) -> str:
        return str(self.path)

    def open(self, storage: Storage) -> Dataset:
        return LocalRepo(self.path)

    @property
    def dataset(self) -> LocalDataset | None:
        """A folder of shards has no card of its own (a local dataset's card is named by `repo:`)."""
        return None

    @property
    def url(self) -> str:
        return self.path.as_uri()

    @property
    def title(self) -> str:
        return self.path.name

    @property
    def page(self) -> str:
        return str(self.path)

    @property
    def hub_id(self) -> str | None:
        return None

    def file_prefix(self, revision: str | None) -> str:
        return f"{self.path}/"

    def builder_arguments(self, revision: str | None) -> dict[str, Any]:
        return {"path": str(self.path)}


@dataclass(frozen=True)
class HubBucket:
    """A Storage Bucket on the Hub: mutable, Xet-backed files with no commits and no card."""

    bucket_id: str

    def __str__(self) -> str:
        return f"hf://buckets/{self.bucket_id}"

    def open(self, storage: Storage) -> Source:
        return storage.hub.bucket(self.bucket_id)

    @property
    def dataset(self) -> HubDataset | None:
        """A bucket holds no card."""
        return None

    @property
    def url(self) -> str:
        return f"hf://buckets/{self.bucket_id}"

    @property
    def page(self) -> str:
        return f"https://huggingface.co/buckets/{self.bucket_id}"


Location = HubDataset | LocalDataset
"""Where a card can live."""
Place = HubDataset | LocalDataset | HubBucket
"""Where shards can be."""


@dataclass(frozen=True)
class Output:
    """The folder a job's writer writes its shards to, as datatrove was given it (`output:`)."""

    place: Place
    folder: str
    """The folder inside the place, without slashes at either end; "" for its root."""

    def __str__(self) -> str:
        return f"{self.place.url}/{self.folder}" if self.folder else self.place.url

    @property
    def pattern(self) -> str:
        """Every parquet file below the folder."""
        return f"{self.folder}/**/*.parquet" if self.folder else "**/*.parquet"
