"""Counting at scale against the Hub simulator: what earlier runs counted is not read again,
and faults on the footer reads never change the count."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from progress_card.storage import HubClient, ShardMemory, count_documents
from progress_card.storage.transport import RetryPolicy
from tests.hubsim import Fault, HubSim
from tests.support import parquet_bytes, write_shard

LOCATION = "hf://datasets/acme/gen/data"


def footer_reads(hub: HubSim) -> list[str]:
    return [
        r.path.rsplit("/", 1)[-1]
        for r in hub.requests
        if "/resolve/" in r.path and r.path.endswith(".parquet")
    ]


@pytest.fixture
def client(hub: HubSim) -> HubClient:
    return HubClient(endpoint=hub.url, retry=RetryPolicy(first_wait=0.01, max_wait=2.0))


def count(client: HubClient, memory: ShardMemory | None) -> int:
    snapshot = client.repo("acme/gen").snapshot()
    result = count_documents(snapshot, snapshot.listing("data").shards, workers=8, memory=memory)
    assert result.complete
    return result.documents


def test_only_new_or_changed_shards_are_read_and_deleted_ones_drop_out(
    hub: HubSim, client: HubClient, tmp_path: Path
) -> None:
    folder = hub.repo_dir("acme/gen") / "data"
    for index in range(20):
        write_shard(folder / f"{index:03d}.parquet", 10)
    memory = lambda: ShardMemory.in_folder(tmp_path / "state", LOCATION)  # noqa: E731 - a fresh load each run

    assert count(client, memory()) == 200
    assert len(footer_reads(hub)) == 20

    hub.clear_requests()
    assert count(client, memory()) == 200
    assert footer_reads(hub) == []
    assert not any("paths-info" in r.path for r in hub.requests)  # commit dates come from the state too

    write_shard(folder / "020.parquet", 7)  # added
    (folder / "005.parquet").write_bytes(parquet_bytes(33))  # replaced in place: same path, new content
    (folder / "011.parquet").unlink()  # deleted
    hub.clear_requests()
    assert count(client, memory()) == 200 + 7 + (33 - 10) - 10
    assert sorted(footer_reads(hub)) == ["005.parquet", "020.parquet"]
    assert len(memory()) == 20


def test_a_corrupt_state_file_is_set_aside_with_a_warning(
    hub: HubSim, client: HubClient, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    for index in range(5):
        write_shard(hub.repo_dir("acme/gen") / "data" / f"{index}.parquet", 4)
    memory = ShardMemory.in_folder(tmp_path / "state", LOCATION)
    assert count(client, memory) == 20
    memory.path.write_text(
        '{"format": 1, "location": "hf://datasets/acme/gen/data", "shards": {"0.parquet": ['
    )

    caplog.set_level(logging.WARNING)
    hub.clear_requests()
    assert count(client, ShardMemory.in_folder(tmp_path / "state", LOCATION)) == 20
    assert len(footer_reads(hub)) == 5
    assert "is damaged" in caplog.text and ".json.broken; counting every shard again" in caplog.text


def test_a_state_file_that_lies_costs_a_read_not_a_wrong_count(
    hub: HubSim, client: HubClient, tmp_path: Path
) -> None:
    write_shard(hub.repo_dir("acme/gen") / "data" / "0.parquet", 4)
    memory = ShardMemory.in_folder(tmp_path / "state", LOCATION)
    assert count(client, memory) == 4
    lying = memory.path.read_text().replace(',4,"', ',999,"')
    memory.path.write_text(lying.replace('"data/0.parquet":["', '"data/0.parquet":["not-the-content-'))
    assert count(client, ShardMemory.in_folder(tmp_path / "state", LOCATION)) == 4


@pytest.mark.parametrize(
    "fault",
    [
        Fault(
            method="GET",
            path_regex=r"/resolve/.*\.parquet$",
            status=429,
            times=5,
            headers={"Retry-After": "0"},
        ),
        Fault(method="GET", path_regex=r"/resolve/.*\.parquet$", status=503, times=5),
        Fault(method="GET", path_regex=r"/resolve/.*\.parquet$", status=None, reset=True, times=5),
        Fault(method="POST", path_regex=r"/paths-info/", status=502, times=2),
        Fault(method="GET", path_regex=r"/api/datasets/acme/gen$", status=500, times=2),
    ],
    ids=["429", "503", "reset", "paths-info-502", "info-500"],
)
def test_many_reads_at_once_under_faults_give_the_exact_count(
    hub: HubSim, client: HubClient, fault: Fault
) -> None:
    for index in range(120):
        write_shard(hub.repo_dir("acme/gen") / "data" / f"{index:03d}.parquet", index % 7 + 1)
    hub.inject(fault)

    assert count(client, None) == sum(index % 7 + 1 for index in range(120))
    assert hub.faults.pending() == []  # every fault was met, and got past


def test_retry_after_is_honoured(hub: HubSim, client: HubClient) -> None:
    write_shard(hub.repo_dir("acme/gen") / "data" / "0.parquet", 3)
    hub.inject(
        Fault(method="GET", path_regex=r"\.parquet$", status=429, times=1, headers={"Retry-After": "1"})
    )

    assert count(client, None) == 3

    reads = [r for r in hub.requests if r.path.endswith(".parquet")]
    assert [r.status for r in reads] == [429, 206]
    assert reads[1].started_at - reads[0].started_at >= 1.0


def test_a_fault_that_does_not_pass_fails_the_job_with_the_reason(hub: HubSim, tmp_path: Path) -> None:
    write_shard(hub.repo_dir("acme/gen") / "data" / "0.parquet", 3)
    hub.inject(Fault(method="GET", path_regex=r"\.parquet$", status=503, times=100))
    client = HubClient(endpoint=hub.url, retry=RetryPolicy(attempts=3, first_wait=0.01))

    with pytest.raises(
        Exception,
        match=r"reading data/0\.parquet in acme/gen: the Hub answered 503 \(gave up after 3 attempts",
    ):
        count(client, None)
