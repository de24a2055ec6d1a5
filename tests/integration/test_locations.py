"""Shards found where datatrove writes them today: the card's configs, `default/`, a Storage Bucket;
shards that disappear, and a folder filling towards the Hub's limit. Through the core, with the real
client against the Hub simulator and an injected clock."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from progress_card.report import Status
from progress_card.telling import Audience, GitHubRepository, Notifier
from tests.cards import progress_line
from tests.cluster import LoopbackCluster
from tests.ghsim import REPOSITORY, TOKEN, GitHubSim, Receiver
from tests.hubsim import HubSim
from tests.support import (
    card,
    parquet_bytes,
    said,
    ssh_settings,
    update_at,
    write_manifest,
    write_shard,
)

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc)
BUCKET = "acme/raw"
DATATROVE_CARD = """---
configs:
- config_name: default
  data_files:
  - split: train
    path: default/**/*.parquet
train-eval-index:
- config: default
  task: text-generation
---

# Dataset Card for acme/gen

## 🔄 Generation Progress

**default**: [○○○○○○○○○○○○○○○○○○○○] 0% • 0/1,000 docs<br>⏱️ waiting for first shard upload...

*Last updated: 2026-12-05 08:00:00 UTC*

## Dataset Stats

Generation in progress. Final statistics will be available upon completion.
"""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as server:
        yield server


def upload(hub: HubSim, folder: str, rows: list[int], minutes: float = 20) -> None:
    """Shards of one task into the repo acme/gen, one every `minutes`, the last ten minutes before NOW."""
    for index, count in enumerate(rows):
        at = NOW - timedelta(minutes=10 + (len(rows) - 1 - index) * minutes)
        write_shard(hub.repo_dir("acme/gen") / folder / f"00000_{index:05d}.parquet", count, at.timestamp())


def into_bucket(
    hub: HubSim, prefix: str, rows: list[int], first: int = 0, minutes: float = 20, until: datetime = NOW
) -> None:
    """Shards of one task into the bucket, one every `minutes`, the last ten minutes before `until`."""
    for index, count in enumerate(rows):
        at = until - timedelta(minutes=10 + (len(rows) - 1 - index) * minutes)
        name = f"{prefix}/00000_{first + index:05d}.parquet"
        hub.put_bucket_file(BUCKET, name, parquet_bytes(count, start=1000 * (first + index)), at)


def test_a_datatrove_made_card_and_its_default_folder_are_counted_exactly(
    hub: HubSim, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="progress_card")
    hub.put_file("acme/gen", "README.md", DATATROVE_CARD)
    upload(hub, "default", [100, 150, 50])
    upload(hub, "data", [999])  # not the default config's: the card says default/
    jobs = write_manifest(tmp_path, "jobs: [{name: gen, repo: acme/gen, total: 1000}]")

    [row] = update_at(jobs, NOW).jobs

    assert row.status is Status.PUSHED and row.warnings == ()
    text = card(hub)
    assert progress_line(text).startswith("**default**: [●●●●●●○○○○○○○○○○○○○○] 30% • 300/1,000 docs<br>⏱️ ")
    assert text.split("\n---\n")[0] == DATATROVE_CARD.split("\n---\n")[0]  # front matter untouched
    said_where = "default/**/*.parquet in acme/gen (the card's configs: entry for default)"
    assert f"gen: 300 documents in 3 shards: {said_where}" in caplog.text


def test_a_hand_made_card_whose_data_files_point_elsewhere_is_followed(hub: HubSim, tmp_path: Path) -> None:
    hub.put_file(
        "acme/gen",
        "README.md",
        "---\nconfigs:\n- config_name: math\n  data_files:\n  - split: train\n    path: generated/math/train-*.parquet\n"
        "  - split: test\n    path: [generated/math/test-*.parquet]\n---\n# Math\n",
    )
    for name, rows in (("train-0", 40), ("train-1", 40), ("test-0", 20), ("other-0", 500)):
        write_shard(hub.repo_dir("acme/gen") / "generated" / "math" / f"{name}.parquet", rows)
    upload(hub, "math", [700])  # datatrove's convention, which the card overrides
    jobs = write_manifest(tmp_path, "jobs: [{name: math, repo: acme/gen, config: math, total: 200}]")

    [row] = update_at(jobs, NOW).jobs

    assert row.progress is not None and row.progress.done == 100  # both splits, the other file not
    assert row.progress.found == (
        "generated/math/train-*.parquet, generated/math/test-*.parquet in acme/gen "
        "(the card's configs: entry for math)"
    )
    assert "**math**: [●●●●●●●●●●○○○○○○○○○○] 50% • 100/200 docs" in card(hub)


def test_a_new_card_declares_the_folder_it_counted(hub: HubSim, tmp_path: Path) -> None:
    upload(hub, "default", [10])
    upload(hub, "math", [10])
    jobs = write_manifest(
        tmp_path,
        "jobs: [{name: a, repo: acme/gen, total: 100}, {name: b, repo: acme/gen, config: math, total: 100}]",
    )

    update_at(jobs, NOW)

    configs = yaml.safe_load(card(hub).split("---\n")[1])["configs"]
    assert configs == [
        {"config_name": "default", "data_files": [{"split": "train", "path": "default/**/*.parquet"}]},
        {"config_name": "math", "data_files": [{"split": "train", "path": "math/**/*.parquet"}]},
    ]


@pytest.mark.cluster
def test_a_bucket_job_cold_warm_then_after_deletions_and_a_relaunch(
    hub: HubSim, tmp_path: Path, github: GitHubSim, receiver: Receiver, cluster: LoopbackCluster
) -> None:
    into_bucket(hub, "v1", [100] * 6)
    hub.create_repo("acme/gen")
    first, second = cluster.sbatch(wrap="sleep 120"), cluster.sbatch(wrap="sleep 120")  # two launches
    try:
        for launch in (first, second):
            cluster.wait_for(launch, {"RUNNING"})

        def following(job: str) -> Path:
            """jobs.yaml following the Slurm job `job` (a relaunch changes it)."""
            ssh = ssh_settings(cluster)
            return write_manifest(
                tmp_path,
                f"jobs: [{{name: gen, repo: acme/gen, output: hf://buckets/acme/raw/v1, total: 1000, ssh: {ssh}, "
                f"slurm_job_id: {job}}}]",
            )

        jobs = following(first)
        audience = Audience(
            GitHubRepository(github.url, REPOSITORY, TOKEN), Notifier([receiver.url]), tmp_path / "state"
        )

        cold = update_at(jobs, NOW, audience=audience)

        assert said(cold).startswith("gen: 600/1,000 docs (60%), ETA "), said(cold)
        line = progress_line(card(hub))
        assert line.startswith("**default**: [●●●●●●●●●●●●○○○○○○○○] 60% • 600/1,000 docs<br>⏱️ ")
        assert "config_name" not in card(hub)  # the shards are not in the repo: nothing to declare there
        reads = [r for r in hub.requests if "/buckets/acme/raw/resolve/" in r.path]
        assert [r.status for r in reads] == [
            302
        ] * 6  # to Xet storage, which serves bounded ranges, tokenless
        ranges = [r for r in hub.bridge.requests if r.range is not None]
        assert len(ranges) == 6 and all(r.authorization is None for r in ranges)

        # An hour later, two new shards: the warm run lists once and reads only those two.
        later = NOW + timedelta(hours=1)
        into_bucket(hub, "v1", [100, 100], first=6, until=later)
        hub.clear_requests()
        warm = update_at(jobs, later, audience=audience)
        assert "800/1,000 docs (80%)" in said(warm)
        bucket_requests = [r.path for r in hub.requests if "/buckets/" in r.path]
        assert len([p for p in bucket_requests if "/tree" in p]) == 1
        assert len([p for p in bucket_requests if "/resolve/" in p]) == 2

        # A task restarts with overwrite=True: its writer deletes every file under the prefix.
        hub.delete_bucket_files(
            BUCKET, ["v1/00000_00000.parquet", "v1/00000_00001.parquet", "v1/00000_00002.parquet"]
        )
        lost = update_at(jobs, later + timedelta(minutes=30), audience=audience)

        gone = (
            "3 shards (300 documents) disappeared from hf://buckets/acme/raw/v1 since Dec 05 2026, 13:00 UTC"
        )
        assert said(lost).startswith("gen: 800/1,000 docs (80%), card pushed, ")
        assert f"{gone}; 500 documents counted now" in said(lost)
        assert (
            progress_line(card(hub))
            == f"**default**: [●●●●●●●●●●●●●●●●○○○○] 80% • 800/1,000 docs<br>⚠️ {gone}"
        )
        [issue] = github.open_issues()
        assert issue.title == f"⚠️ gen: {gone}"
        assert "progress-card relaunch gen" in issue.body and "--allow-decrease" in issue.body
        assert [m["title"] for m in receiver.messages] == [issue.title]

        # The next run still says so, and tells nobody again.
        again = update_at(jobs, later + timedelta(minutes=40), audience=audience)
        assert gone in said(again) and len(github.issues) == 1 and len(receiver.messages) == 1

        # Recorded as relaunched (a new Slurm id): the lower count is the job's, and the incident closes.
        jobs = following(second)
        relaunched = update_at(jobs, later + timedelta(minutes=50), audience=audience)
    finally:
        cluster.scancel(first)
        cluster.scancel(second)
    assert said(relaunched).startswith("gen: 500/1,000 docs (50%)") and "disappeared" not in said(relaunched)
    assert "**default**: [●●●●●●●●●●○○○○○○○○○○] 50% • 500/1,000 docs" in card(hub)
    assert (
        github.open_issues() == []
        and github.issues[0].comments[-1] == "resolved: gen was relaunched; counting afresh"
    )


def test_a_job_with_only_a_bucket_has_no_card_but_a_report_and_a_status_page(
    hub: HubSim, tmp_path: Path
) -> None:
    into_bucket(hub, "v1/math", [50, 50])
    jobs = write_manifest(tmp_path, "jobs: [{name: gen, output: hf://buckets/acme/raw/v1/math, total: 200}]")

    report = update_at(jobs, NOW, status_dir=tmp_path / "status")

    assert said(report).startswith("gen: 100/200 docs (50%), ETA ")
    assert "no card (jobs.yaml names no repo for it)" in said(report)
    assert (
        "| `gen` | [hf://buckets/acme/raw/v1/math](https://huggingface.co/buckets/acme/raw) · default |"
        in (tmp_path / "status" / "README.md").read_text()
    )


def test_a_folder_filling_towards_the_hubs_limit_is_seen_on_the_card_the_run_and_the_status_page(
    hub: HubSim, tmp_path: Path, github: GitHubSim, receiver: Receiver
) -> None:
    upload(hub, "default", [10, 10, 10])
    folder = hub.repo_dir("acme/gen") / "default"
    for index in range(9_000):  # what else the writer leaves beside its shards
        (folder / f"{index:05d}.json").write_text("{}")
    jobs = write_manifest(tmp_path, "jobs: [{name: gen, repo: acme/gen, total: 100}]")
    audience = Audience(
        GitHubRepository(github.url, REPOSITORY, TOKEN), Notifier([receiver.url]), tmp_path / "state"
    )

    report = update_at(jobs, NOW, status_dir=tmp_path / "status", audience=audience)

    crowded = "default/ holds 9,003 entries of the Hub's 10,000"
    assert progress_line(card(hub)).endswith(f" • ⚠️ {crowded}")
    assert any(w.startswith(f"{crowded}: datatrove's output_filename") for w in report.jobs[0].warnings)
    assert f"⚠️ {crowded}" in (tmp_path / "status" / "README.md").read_text()
    [issue] = github.open_issues()
    assert issue.title == f"⚠️ gen: {crowded}"
    assert 'output_filename="${rank}/${chunk_index}.parquet"' in issue.body


@pytest.mark.parametrize("bucket", ["acme/nope", "acme/secret"])
def test_a_bucket_that_is_not_there_or_not_visible_fails_the_job_and_says_what_to_check(
    hub: HubSim, tmp_path: Path, bucket: str
) -> None:
    hub.create_repo("acme/gen")
    hub.create_bucket("acme/secret", private=True)  # and the run has no token
    jobs = write_manifest(
        tmp_path, f"jobs: [{{name: gen, repo: acme/gen, output: hf://buckets/{bucket}/v1, total: 10}}]"
    )

    report = update_at(jobs, NOW)

    assert report.exit_code == 1
    assert said(report).startswith(f"gen: failed: bucket {bucket} not found on http://127.0.0.1:")
    assert (
        "or the token cannot see it: check output: in jobs.yaml (hf://buckets/<namespace>/<bucket>/<prefix>) "
        "and that HF_TOKEN can read the bucket" in said(report)
    )


def test_a_location_that_matches_nothing_says_what_was_looked_for(hub: HubSim, tmp_path: Path) -> None:
    upload(hub, "defualt", [10])  # a typo in the writer's folder
    jobs = write_manifest(tmp_path, "jobs: [{name: gen, repo: acme/gen, total: 100}]")

    [row] = update_at(jobs, NOW).jobs

    assert row.warnings == (
        "no shards found yet: looked for data/**/*.parquet in acme/gen (default/ holds nothing: the Hub's data/ folder)",
    )


def test_a_card_whose_configs_leave_the_job_out_names_them(hub: HubSim, tmp_path: Path) -> None:
    hub.put_file("acme/gen", "README.md", DATATROVE_CARD)
    upload(hub, "code", [10])
    jobs = write_manifest(tmp_path, "jobs: [{name: code, repo: acme/gen, config: code, total: 100}]")

    [row] = update_at(jobs, NOW).jobs

    assert row.progress is not None and row.progress.done == 10
    assert row.progress.found == (
        "code/**/*.parquet in acme/gen (datatrove's convention for the code config; the card's configs: lists "
        "default but not code)"
    )
    assert row.warnings == (
        "the card's configs: does not list code, so load_dataset and the dataset viewer cannot find it; add "
        "`- config_name: code` with data_files `code/**/*.parquet` to the card's front matter",
    )
