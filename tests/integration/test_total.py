"""The expected total, from the manifest or the input dataset, against the Hub simulator."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from progress_card.errors import JobError
from progress_card.manifest import InputDataset, Job
from progress_card.storage import HubClient, HubDataset, LocalDataset, Storage
from progress_card.total import resolve_total
from tests.hubsim import HubSim
from tests.support import write_shard

README_WITH_SPLITS = """---
dataset_info:
  splits:
  - name: train
    num_bytes: 1000
    num_examples: 12345
  - name: test
    num_bytes: 10
    num_examples: 7
configs:
- config_name: default
  data_files:
  - split: train
    path: data/train-*
  - split: test
    path: data/test-*
---

# Prompts
"""


def job(**fields: object) -> Job:
    return Job(name="gen", repo=HubDataset("acme/gen"), **fields)  # type: ignore[arg-type]


def on_hub(split: str = "train", config: str | None = None) -> InputDataset:
    return InputDataset(HubDataset("acme/prompts"), split=split, config=config)


@pytest.fixture
def client(hub: HubSim) -> Storage:
    return Storage(HubClient(endpoint=hub.url))


def test_an_explicit_total_wins(client: Storage) -> None:
    total = resolve_total(job(total=5000, input=on_hub()), client)
    assert (total.documents, total.source) == (5000, "total in jobs.yaml")


def prompts_with_metadata(hub: HubSim) -> None:
    hub.put_file("acme/prompts", "README.md", README_WITH_SPLITS)
    write_shard(hub.repo_dir("acme/prompts") / "data" / "train-00000.parquet", 3)
    write_shard(hub.repo_dir("acme/prompts") / "data" / "test-00000.parquet", 7)


def test_the_split_size_comes_from_the_input_metadata(hub: HubSim, client: Storage) -> None:
    prompts_with_metadata(hub)

    total = resolve_total(job(input=on_hub()), client)

    assert total.documents == 12345
    assert total.source == "train split size in the metadata of acme/prompts"
    assert all(r.method != "GET" or not r.path.endswith(".parquet") for r in hub.requests), (
        "no data downloaded"
    )


def test_max_examples_caps_the_total(hub: HubSim, client: Storage) -> None:
    prompts_with_metadata(hub)
    total = resolve_total(job(input=on_hub(), max_examples=1000), client)
    assert (total.documents, total.source) == (
        1000,
        "train split size in the metadata of acme/prompts, capped by max_examples",
    )


def test_without_metadata_the_input_footers_are_summed(hub: HubSim, client: Storage) -> None:
    for index, rows in enumerate([300, 200]):
        write_shard(hub.repo_dir("acme/prompts") / "data" / f"train-{index:05d}-of-00002.parquet", rows)
    write_shard(hub.repo_dir("acme/prompts") / "data" / "test-00000-of-00001.parquet", 50)

    total = resolve_total(job(input=on_hub()), client)

    assert total.documents == 500
    assert total.source == "parquet footers of 2 train files of acme/prompts"
    reads = [r for r in hub.requests if r.path.endswith(".parquet")]
    assert len(reads) == 2 and all(r.status == 206 for r in reads)


def test_a_named_input_config_is_read(hub: HubSim, client: Storage) -> None:
    write_shard(hub.repo_dir("acme/prompts") / "math" / "train-00000.parquet", 40)
    write_shard(hub.repo_dir("acme/prompts") / "code" / "train-00000.parquet", 60)
    hub.put_file(
        "acme/prompts",
        "README.md",
        "---\nconfigs:\n- config_name: math\n  data_files:\n  - split: train\n    path: math/*.parquet\n"
        "- config_name: code\n  data_files:\n  - split: train\n    path: code/*.parquet\n---\n",
    )
    assert resolve_total(job(input=on_hub(config="code")), client).documents == 60


def test_a_local_input_folder_is_read_from_its_footers(tmp_path: Path, client: Storage) -> None:
    write_shard(tmp_path / "prompts" / "data" / "train-00000-of-00001.parquet", 77)
    source = InputDataset(LocalDataset(tmp_path / "prompts"))
    assert resolve_total(job(input=source), client).documents == 77


def test_max_examples_is_the_last_resort(
    hub: HubSim, client: Storage, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    total = resolve_total(job(input=on_hub(), max_examples=250), client)
    assert (total.documents, total.source) == (250, "max_examples in jobs.yaml")
    assert "input dataset: dataset repo acme/prompts not found" in caplog.text


def test_nothing_to_go_on_fails_the_job_with_what_to_do(hub: HubSim, client: Storage) -> None:
    hub.create_repo("acme/prompts")
    with pytest.raises(
        JobError, match=r"has neither split sizes nor parquet footers\); set total: in jobs.yaml"
    ):
        resolve_total(job(input=on_hub()), client)
    with pytest.raises(JobError, match=r"\(no input\); set total: in jobs.yaml"):
        resolve_total(job(), client)
