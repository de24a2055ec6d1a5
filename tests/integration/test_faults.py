"""Hub faults of every kind, at every kind of request an update makes, injected by the simulator.

A fault that passes (once) must not change the result: the card shows the exact count. A fault
that does not pass fails that job cleanly, leaves its card byte for byte as it was, and the other
job (a local folder) is still updated.
"""

from __future__ import annotations

import time
import types
from datetime import datetime, timezone
from pathlib import Path

import huggingface_hub.utils._http as hub_http
import pytest

from progress_card.report import Report
from tests.hubsim import Fault, HubSim
from tests.support import hub_client, said, update_at, write_manifest, write_shard

REQUESTS = {
    "repo info": ("GET", r"^/api/datasets/acme/gen$"),
    "tree listing": ("GET", r"^/api/datasets/acme/gen/tree/"),
    "paths-info": ("POST", r"^/api/datasets/acme/gen/paths-info/"),
    "footer read": ("GET", r"^/datasets/acme/gen/resolve/[^/]+/data/.*\.parquet$"),
    "card read": ("GET", r"^/datasets/acme/gen/resolve/[^/]+/README\.md$"),
    "validate-yaml": ("POST", r"^/api/validate-yaml$"),
    "preupload": ("POST", r"^/api/datasets/acme/gen/preupload/"),
    "commit": ("POST", r"^/api/datasets/acme/gen/commit/"),
}
FAULTS = {
    "429": {"status": 429, "headers": {"Retry-After": "0"}},
    "500": {"status": 500},
    "502": {"status": 502},
    "503": {"status": 503},
    "reset": {"status": None, "reset": True},
    "truncated body": {"status": None, "truncate": True},
    "timeout": {"status": None, "delay_s": 1.2},
}
OLD_CARD = "# Generated\n\n## 🔄 Generation Progress\n\n**default**: old line\n\n*Last updated: 2020-01-01 00:00:00 UTC*\n"


@pytest.fixture
def no_backoff_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """huggingface_hub's own retries (inside a commit) happen at once, as ours do (`hub_client`); the
    simulator's own delays, which provoke timeouts, still take their time."""
    quick = types.SimpleNamespace(sleep=lambda seconds: None, monotonic=time.monotonic, time=time.time)
    monkeypatch.setattr(hub_http, "time", quick)


@pytest.fixture
def jobs(hub: HubSim, tmp_path: Path) -> Path:
    for index, rows in enumerate([11, 22, 33]):
        write_shard(hub.repo_dir("acme/gen") / "data" / f"{index}.parquet", rows)
    hub.put_file("acme/gen", "README.md", OLD_CARD)
    write_shard(tmp_path / "local" / "data" / "0.parquet", 7)
    return write_manifest(
        tmp_path,
        "jobs:\n  - {name: hub, repo: acme/gen, total: 100}\n  - {name: local, repo: ./local, total: 10}\n",
    )


def update(jobs: Path) -> Report:
    """One update with a 0.5 s timeout per request, giving up on a call after 2 s."""
    hub = hub_client(timeout=0.5, give_up_after=2)
    return update_at(jobs, datetime.now(timezone.utc), hub=hub)


@pytest.mark.parametrize("fault_kind", list(FAULTS))
@pytest.mark.parametrize("request_kind", list(REQUESTS))
def test_a_fault_that_passes_changes_nothing(
    hub: HubSim, jobs: Path, no_backoff_waits: None, request_kind: str, fault_kind: str
) -> None:
    method, path = REQUESTS[request_kind]
    hub.inject(Fault(method=method, path_regex=path, times=1, **FAULTS[fault_kind]))  # type: ignore[arg-type]

    report = update(jobs)

    assert report.exit_code == 0, said(report)
    assert hub.faults.pending() == [], "the fault was never met"
    card = (hub.repo_dir("acme/gen") / "README.md").read_text()
    assert "**default**: [●●●●●●●●●●●●●○○○○○○○] 66% • 66/100 docs<br>" in card
    assert len(hub.commits("acme/gen")) == 1
    assert "local: 7/10 docs (70%)" in said(report)


@pytest.mark.parametrize("fault_kind", ["503", "reset", "timeout"])
@pytest.mark.parametrize("request_kind", list(REQUESTS))
def test_a_fault_that_does_not_pass_fails_only_that_job_and_leaves_its_card(
    hub: HubSim, jobs: Path, no_backoff_waits: None, request_kind: str, fault_kind: str
) -> None:
    method, path = REQUESTS[request_kind]
    hub.inject(Fault(method=method, path_regex=path, times=1000, **FAULTS[fault_kind]))  # type: ignore[arg-type]

    report = update(jobs)

    assert report.exit_code == 1, said(report)
    failure = next(line for line in said(report).splitlines() if line.startswith("hub: "))
    assert failure.startswith("hub: failed: ")
    assert "(gave up after" in failure or "kept changing" in failure
    hub.wait_idle()
    card = (hub.repo_dir("acme/gen") / "README.md").read_text()
    if (request_kind, fault_kind) == ("commit", "timeout"):
        # The Hub may apply a commit whose answer never came back: the card is then the right one.
        assert card == OLD_CARD or "**default**: [●●●●●●●●●●●●●○○○○○○○] 66% • 66/100 docs<br>" in card
    else:
        assert card == OLD_CARD
        assert hub.commits("acme/gen") == []
    assert "local: 7/10 docs (70%)" in said(report)
    assert (jobs.parent / "local" / "README.md").exists()
