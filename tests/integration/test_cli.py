"""The installed command in its own process: exit statuses, stdout and stderr as a user sees them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.hubsim import HubSim
from tests.support import write_manifest, write_shard


def progress_card(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "progress_card", *args],
        cwd=cwd,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_exit_statuses_tell_success_job_failure_and_manifest_errors(hub: HubSim, tmp_path: Path) -> None:
    write_shard(hub.repo_dir("acme/gen") / "data" / "0.parquet", 25)
    write_manifest(tmp_path, "jobs: [{name: gen, repo: acme/gen, total: 100}]")
    ok = progress_card("update", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert ok.stderr.splitlines()[-1].startswith("gen: 25/100 docs (25%), ETA ")
    assert ok.stderr.splitlines()[-1].endswith(", card pushed")
    assert ok.stdout == ""

    write_manifest(
        tmp_path,
        "jobs:\n  - {name: gen, repo: acme/gen, total: 100}\n  - {name: lost, repo: acme/gen, config: x, input: {dataset: acme/none}}\n",
    )
    partial = progress_card("update", cwd=tmp_path)
    assert partial.returncode == 1
    assert partial.stderr.splitlines()[-2].startswith("gen: 25/100 docs (25%)")
    assert partial.stderr.splitlines()[-1].startswith(
        "lost: failed: cannot work out the expected number of documents"
    )

    write_manifest(tmp_path, "jobs:\n  - name: gen\n    repo: acme/gen\n    total: 5k\n")
    commits = len(hub.commits("acme/gen"))
    hub.clear_requests()
    broken = progress_card("update", cwd=tmp_path)
    assert broken.returncode == 2
    assert broken.stderr == 'error: jobs.yaml:4: job "gen": total must be a positive integer, got "5k"\n'
    assert hub.requests == [] and len(hub.commits("acme/gen")) == commits


def test_validate_checks_the_manifest_without_touching_anything(hub: HubSim, tmp_path: Path) -> None:
    write_manifest(tmp_path, "jobs: [{name: gen, repo: acme/gen, total: 100}]")
    valid = progress_card("validate", "--jobs", "jobs.yaml", cwd=tmp_path)
    assert (valid.returncode, valid.stderr) == (0, "jobs.yaml: 1 job, all valid\n")

    write_manifest(tmp_path, "jobs: [{name: gen, repo: acme/gen, totl: 100}]")
    invalid = progress_card("validate", cwd=tmp_path)
    assert invalid.returncode == 2
    assert invalid.stderr.startswith(
        'error: jobs.yaml:1: job "gen": unknown key "totl" (did you mean "total"?)'
    )
    assert hub.requests == []


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert progress_card("update", "--no-such-flag", cwd=tmp_path).returncode == 2
    missing = progress_card("update", "--jobs", "nope.yaml", cwd=tmp_path)
    assert missing.returncode == 2
    assert (
        missing.stderr
        == "error: nope.yaml: no such file; `progress-card init` writes one, `progress-card add` starts one, or give --jobs PATH\n"
    )
