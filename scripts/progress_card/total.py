"""The number of documents a job is expected to produce.

Tried in order, the first that answers wins: `total` in jobs.yaml; the input split's size in the
input dataset's metadata; the row counts in the input's own parquet footers; `max_examples`.
`max_examples` then caps the answer. Nothing here downloads a dataset's data. What is derived
from an input on the Hub is remembered for the input's revision, so that later runs only ask for
the revision.
"""

from __future__ import annotations

import logging
import tempfile
from typing import Any

from .errors import JobError, RepoNotFound
from .manifest import InputDataset, Job
from .model import Total
from .storage import InputTotals, Location, RememberedTotal, Snapshot, Storage, read_rows

log = logging.getLogger(__name__)


def resolve_total(job: Job, storage: Storage, remembered: InputTotals | None = None) -> Total:
    """The expected total for `job`, or JobError saying what was tried and to set `total`."""
    cap = job.max_examples if job.max_examples > 0 else None
    found = _explicit(job) or (_from_input(job.input, storage, remembered) if job.input else None)
    if found is None and cap is not None:
        found = Total(cap, "max_examples in jobs.yaml")
    if found is None:
        tried = (
            f"input {job.input.location} has neither split sizes nor parquet footers"
            if job.input
            else "no input"
        )
        raise JobError(f"cannot work out the expected number of documents ({tried}); set total: in jobs.yaml")
    if cap is not None and found.documents > cap:
        return Total(cap, f"{found.source}, capped by max_examples")
    return found


def _explicit(job: Job) -> Total | None:
    return Total(job.total, "total in jobs.yaml") if job.total is not None else None


def _from_input(source: InputDataset, storage: Storage, remembered: InputTotals | None) -> Total | None:
    snapshot = _snapshot(source.location, storage)
    if snapshot is None:
        return None
    if remembered is None or snapshot.revision is None:
        return _derived(source, snapshot, storage.workers)
    key = f"{source.location}|{source.config or ''}|{source.split}"
    recalled = remembered.recall(key, snapshot.revision)
    if recalled is not None:
        return Total(
            recalled.documents, f"{recalled.source}, remembered for revision {snapshot.revision[:8]}"
        )
    found = _derived(source, snapshot, storage.workers)
    if found is not None:
        remembered.remember(key, snapshot.revision, RememberedTotal(found.documents, found.source))
    return found


def _derived(source: InputDataset, snapshot: Snapshot, workers: int) -> Total | None:
    """The split's size from the input's metadata, or failing that from its footers."""
    builder = _builder(source, snapshot)
    if builder is None:
        return None
    splits = builder.info.splits
    split = splits.get(source.split) if splits else None
    if split is not None and split.num_examples:
        return Total(
            int(split.num_examples), f"{source.split} split size in the metadata of {source.location}"
        )
    files = (builder.config.data_files or {}).get(source.split)
    if not files:
        log.warning("input %s has no %s split", source.location, source.split)
        return None
    return _from_footers(source, snapshot, [str(file) for file in files], workers)


def _snapshot(location: Location, storage: Storage) -> Snapshot | None:
    """The input at one revision, which the metadata and the footers are both read from."""
    try:
        return storage.open(location).snapshot()
    except RepoNotFound as error:
        log.warning("input dataset: %s", error)
        return None


def _builder(source: InputDataset, snapshot: Snapshot) -> Any:
    """The input's `datasets` builder: metadata and data file names only, pinned to the snapshot."""
    from datasets import load_dataset_builder

    location = source.location
    with tempfile.TemporaryDirectory(prefix="progress-card-datasets-") as cache:
        try:
            # A pinned revision keeps every read consistent (and skips the dataset viewer lookup).
            arguments = location.builder_arguments(snapshot.revision)
            return load_dataset_builder(**arguments, name=source.config, cache_dir=cache)
        except (OSError, ValueError) as error:
            log.warning("cannot read the metadata of input %s: %s", location, _first_line(error))
        return None


def _from_footers(source: InputDataset, snapshot: Snapshot, files: list[str], workers: int) -> Total | None:
    """Sum the footers of the split's files; None unless every one is a readable parquet file."""
    location = source.location
    prefix = location.file_prefix(snapshot.revision)
    wanted = {file.removeprefix(prefix) for file in files}
    if not all(path.endswith(".parquet") for path in wanted):
        log.warning(
            "input %s: the %s split is not all parquet, its size cannot be read", location, source.split
        )
        return None
    shards = [shard for shard in snapshot.listing("").shards if shard.path in wanted]
    readable = [n for _, n in read_rows(snapshot, shards, workers=workers) if isinstance(n, int)]
    if len(readable) != len(wanted):
        log.warning(
            "input %s: %d of %d %s files readable", location, len(readable), len(wanted), source.split
        )
        return None
    return Total(sum(readable), f"parquet footers of {len(readable)} {source.split} files of {location}")


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
