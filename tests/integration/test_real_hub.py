"""Counting against the Hub as it really is: rate-limit windows, Xet storage behind redirects, the
resolve cache, and an input whose total is derived once. The simulator plays each part; the
windows are seconds long instead of five minutes. The updates run through the core with the clock
injected, but for SIGTERM during a rate-limit wait, which the command in its own process handles."""

from __future__ import annotations

import io
import logging
import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from progress_card import actions
from progress_card.report import Status
from tests.hubsim import Fault, HubSim
from tests.support import (
    card,
    environment,
    hub_client,
    parquet_bytes,
    said,
    update_at,
    write_manifest,
    write_shard,
)

TOKEN = "hf_RealHubTestToken0123456789"
BOUNDED = re.compile(r"^bytes=\d+-\d+$")


def shards(hub: HubSim, count: int, rows: int = 10, repo: str = "acme/gen") -> None:
    for index in range(count):
        write_shard(hub.repo_dir(repo) / "data" / f"00000_{index:05d}.parquet", rows)


def manifest(tmp_path: Path, total: int) -> Path:
    return write_manifest(tmp_path, f"jobs:\n  - {{name: gen, repo: acme/gen, total: {total}}}\n")


def footer_reads(hub: HubSim, status: int = 206) -> list[str]:
    """The shards whose tail the Hub served (or, in Xet mode, redirected) with `status`."""
    return [r.path for r in hub.requests if r.path.endswith(".parquet") and r.status == status]


def test_a_cold_count_under_quota_is_exact_and_sends_nothing_into_an_exhausted_window(
    hub: HubSim, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shards(hub, 60)
    hub.set_quota("resolvers", limit=20, window_s=2)

    report = update_at(manifest(tmp_path, 1000), datetime.now(timezone.utc))

    assert report.exit_code == 0, said(report)
    assert "**default**: [●●●●●●●●●●●●○○○○○○○○] 60% • 600/1,000 docs" in card(hub)
    assert hub.quota_windows("resolvers") >= 3  # 60 footers and the card, 20 a window
    assert caplog.messages.count("rate-limited by the Hub (resolvers: 20 per 2s): waiting 3s") == 3
    # Only the first burst, sent before the Hub had said anything, can meet the exhausted window:
    # at most one refusal per request beyond the window's 20, and none in any later window.
    resolves = [r for r in hub.requests if r.bucket == "resolvers"]
    refused = [r for r in resolves if r.throttled]
    assert len(refused) <= 60 - 20
    assert all(r.started_at < resolves[0].started_at + 2 for r in refused)


def test_sigterm_while_waiting_for_quota_stops_at_once_and_the_next_run_reads_only_the_rest(
    hub: HubSim, tmp_path: Path
) -> None:
    """Through `progress-card update` in its own process on purpose: it protects the command's
    handling of SIGTERM (every rate-limit wait ends, exit status 143)."""
    shards(hub, 300)
    hub.set_quota("resolvers", limit=100, window_s=120)
    jobs = manifest(tmp_path, 6000)
    state = tmp_path / "state"
    with subprocess.Popen(
        [sys.executable, "-m", "progress_card", "update", "--jobs", str(jobs), "--state-dir", str(state)],
        env=environment(),
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stderr is not None
        lines = []
        for line in process.stderr:  # footer reads log as they go: this one says the window is spent
            lines.append(line)  # and that the workers now wait for it to reset, in two minutes
            if "rate-limited by the Hub (resolvers: 100 per 2 min): waiting" in line:
                break
        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        stderr = "".join(lines) + process.stderr.read()  # to the end, when the process exits
        process.wait(timeout=60)

    assert process.returncode == 143, stderr
    assert time.monotonic() - signalled < 30  # far sooner than the window's reset
    # The card is read first (where its configs: may say the shards are): 99 footers fill the window.
    assert re.search(
        r"gen: not updated: the run was stopped.*counted 99 of 300 shards; the next run continues", stderr
    )
    first = set(footer_reads(hub))
    assert len(first) == 99
    assert hub.commits("acme/gen") == []

    hub.clear_quota()
    hub.clear_requests()
    report = update_at(jobs, datetime.now(timezone.utc), state=state)
    assert report.exit_code == 0, said(report)
    second = footer_reads(hub)
    assert len(second) == 201 and first.isdisjoint(second)
    assert "**default**: [●●●●●●●●●●○○○○○○○○○○] 50% • 3,000/6,000 docs" in card(hub)


def test_a_count_that_outlives_its_budget_pushes_nothing_and_the_next_run_continues(
    hub: HubSim, tmp_path: Path
) -> None:
    shards(hub, 60)
    hub.set_quota("resolvers", limit=20, window_s=60)
    jobs = manifest(tmp_path, 1000)
    state = tmp_path / "state"
    now = datetime.now(timezone.utc)

    report = update_at(jobs, now, hub=hub_client(quota_wait=5), state=state)

    assert report.exit_code == 0, said(report)  # still counting is not a failure
    [row] = report.jobs
    assert row.status is Status.COUNTING
    line = said(report).splitlines()[-1]
    assert line.startswith(
        "gen: still counting, card not pushed, rate-limited by the Hub (resolvers: 20 per 1 min)"
    )
    assert line.endswith("counted 19 of 60 shards; the next run continues")  # the card took one read
    assert hub.commits("acme/gen") == [] and not (hub.repo_dir("acme/gen") / "README.md").exists()
    told = actions.outputs(report)["report"]  # the step's outputs in Actions
    assert '"card": "counting"' in told and '"status": "running"' in told
    assert any(
        command.startswith("::warning title=progress-card%3A gen::rate-limited by the Hub")
        for command in actions.workflow_commands(report)
    )
    read_first = set(footer_reads(hub))
    assert len(read_first) == 19

    hub.clear_quota()
    hub.clear_requests()
    report = update_at(jobs, now, state=state)
    assert report.exit_code == 0, said(report)
    assert len(footer_reads(hub)) == 41 and read_first.isdisjoint(footer_reads(hub))
    assert "60% • 600/1,000 docs" in card(hub)


def test_xet_backed_shards_are_read_in_bounded_ranges_and_the_storage_never_sees_the_token(
    hub: HubSim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shards(hub, 12)
    write_shard(hub.repo_dir("acme/gen") / "data" / "00001_00000.parquet", 10)
    hub.create_repo("acme/gen")
    hub.put_file("acme/gen", "README.md", "---\nlicense: mit\n---\n# gen\n")
    hub.require_token("acme", TOKEN)
    hub.enable_xet()
    hub.resolve_cache = True
    hub.bridge.inject(Fault(method="GET", status=416, times=1))  # a CDN's passing 416
    monkeypatch.setenv("HF_TOKEN", TOKEN)

    report = update_at(manifest(tmp_path, 1000), datetime.now(timezone.utc))

    assert report.exit_code == 0, said(report)
    assert "13% • 130/1,000 docs" in card(hub)
    reads = hub.bridge.requests
    assert len(reads) == 14  # 13 footers, one of them twice after the 416
    assert all(r.range is not None and BOUNDED.match(r.range) for r in reads)
    assert all(r.authorization is None for r in reads)
    assert hub.count("GET", "/api/resolve-cache/datasets/acme/gen/") == 1  # the card, through the 307


def test_a_416_that_does_not_pass_is_reported_clearly(hub: HubSim, tmp_path: Path) -> None:
    shards(hub, 1)
    hub.enable_xet()
    hub.bridge.inject(Fault(method="GET", status=416, times=2))

    report = update_at(manifest(tmp_path, 100), datetime.now(timezone.utc))

    assert report.exit_code == 1
    assert re.search(
        r"gen: failed: reading data/00000_00000\.parquet in acme/gen: the storage answered 416 \(range not "
        r"satisfiable\) twice for bytes \d+-\d+/\d+",
        said(report),
    )


def big_shard(megabytes: int) -> bytes:
    """A parquet file of about `megabytes` MB that does not compress."""
    table = pa.table({"blob": [os.urandom(1024 * 1024) for _ in range(megabytes)]})
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="none")
    return buffer.getvalue()


def test_a_server_that_ignores_range_is_reported_and_its_answer_is_not_buffered(hub: HubSim) -> None:
    hub.put_file("acme/gen", "data/big.parquet", big_shard(64))
    hub.ignore_ranges = True
    # In a child process, so that its memory is the client's alone.
    child = subprocess.run(
        [sys.executable, "-c", MEASURED_COUNT, hub.url],
        env=environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    error, grown = child.stdout.strip().split("\n")
    assert re.search(
        r"the server ignored the Range header and started sending the whole file \(\d+ bytes\); not read",
        error,
    )
    assert int(grown) < 16 * 1024 * 1024  # of a 64 MB answer


MEASURED_COUNT = """
import sys
from progress_card.storage import count_documents
from progress_card.storage import HubClient
from progress_card.errors import JobError

def peak():
    return next(int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith("VmHWM:"))

snapshot = HubClient(endpoint=sys.argv[1]).repo("acme/gen").snapshot()
before = peak()
try:
    count_documents(snapshot, snapshot.listing("data").shards)
except JobError as error:
    print(str(error).replace(chr(10), " "))
print(peak() - before)
"""


def test_a_warm_run_with_a_total_derived_from_the_input_reads_none_of_the_input(
    hub: HubSim, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    for index in range(3):
        hub.put_file("acme/prompts", f"data/train-{index:05d}-of-00003.parquet", parquet_bytes(100))
    shards(hub, 5)
    jobs = write_manifest(
        tmp_path, "jobs:\n  - {name: gen, repo: acme/gen, input: {dataset: acme/prompts, split: train}}\n"
    )
    state = tmp_path / "state"
    now = datetime.now(timezone.utc)
    caplog.set_level(logging.INFO)
    assert update_at(jobs, now, state=state).exit_code == 0
    assert "50/300 docs" in card(hub)
    assert hub.count(path_contains="/datasets/acme/prompts/resolve/") >= 3  # the footers, cold

    write_shard(hub.repo_dir("acme/gen") / "data" / "00000_00005.parquet", 10)
    hub.clear_requests()
    report = update_at(jobs, now, state=state)

    assert report.exit_code == 0, said(report)
    assert "60/300 docs" in card(hub)
    asked = [r.path for r in hub.requests if "acme/prompts" in r.path]
    assert asked == ["/api/datasets/acme/prompts"]  # its revision, nothing else
    assert any(
        message.endswith(f"remembered for revision {hub.head_sha('acme/prompts')[:8]})")
        for message in caplog.messages
    )
