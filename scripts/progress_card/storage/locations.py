"""Where a dataset is: a repo on the Hub, or a local folder. Plain values that the manifest builds;
each knows how to open itself with the run's clients (`Storage`) and how people and tools name it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .dataset import Dataset
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
    """A folder laid out like a dataset repo."""

    path: Path

    def __str__(self) -> str:
        return str(self.path)

    def open(self, storage: Storage) -> Dataset:
        return LocalRepo(self.path)

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


Location = HubDataset | LocalDataset
