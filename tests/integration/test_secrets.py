"""The HF token and the SSH key never show: not in logs or error messages, not on any command line,
not in files left behind. Run with recognisable secrets, through failures, then search for them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cluster import LoopbackCluster
from tests.hubsim import Fault, HubSim
from tests.support import write_manifest, write_shard

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).parents[2]
TOKEN = "hf_LeakCanaryToken0123456789abcdefXYZ"


def secrets_in(text: str, key: str) -> list[str]:
    """Which secret (the token, or any line of the key's body) appears in `text`."""
    key_lines = [line for line in key.splitlines() if line and not line.startswith("-----")]
    return [secret for secret in [TOKEN, *key_lines] if secret in text]


def test_no_secret_in_output_command_lines_or_leftover_files(
    hub: HubSim, cluster: LoopbackCluster, tmp_path: Path
) -> None:
    key = cluster.key_file.read_text()
    hub.require_token("acme", TOKEN)  # the token works for acme...
    hub.require_token("other", "hf_SomeoneElsesToken")  # ...and is refused for other
    write_shard(hub.repo_dir("acme/gen") / "data" / "0.parquet", 10)
    write_shard(hub.repo_dir("other/gen") / "data" / "0.parquet", 10)
    hub.inject(Fault(path_regex=r"/acme/broken", status=500, times=1000, message=f"echoing {TOKEN}?"))
    running = cluster.sbatch(wrap="sleep 60")

    # An `ssh` first on the PATH that records its command line, then runs the real one.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    argv_log = tmp_path / "ssh-argv.log"
    (bin_dir / "ssh").write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {argv_log}\nexec /usr/bin/ssh "$@"\n')
    (bin_dir / "ssh").chmod(0o755)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    ssh = (
        f"{{host: {cluster.host}, port: {cluster.port}, user: {cluster.user}}}"  # key and host keys from env
    )
    jobs = write_manifest(
        tmp_path,
        f"""
        defaults: {{total: 100, ssh: {ssh}}}
        jobs:
          - {{name: mine, repo: acme/gen, slurm_job_id: {running}}}
          - {{name: theirs, repo: other/gen, slurm_job_id: 987654}}
          - {{name: broken, repo: acme/broken}}
        """,
    )
    outputs, summary = tmp_path / "outputs", tmp_path / "summary.md"
    environment = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "PYTHONPATH": str(ROOT / "scripts"),
        "TMPDIR": str(scratch),
        "HF_TOKEN": TOKEN,
        "SSH_PRIVATE_KEY": key,
        "SSH_KNOWN_HOSTS": cluster.known_hosts.read_text(),
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(outputs),
        "GITHUB_STEP_SUMMARY": str(summary),
        "HF_DEBUG": "1",
    }
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "progress_card",
                "-v",
                "update",
                "--jobs",
                str(jobs),
                "--state-dir",
                str(scratch / "state"),
            ],
            env=environment,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        cluster.scancel(running)

    assert done.returncode == 1, done.stderr  # "broken" fails; the others ran
    assert "mine: 10/100 docs (10%)" in done.stderr
    theirs = next(line for line in done.stderr.splitlines() if line.startswith("theirs: "))
    assert "repo not created yet" in theirs  # invisible without the right token
    assert all(r.has_token for r in hub.requests if "/acme/" in r.path)
    assert argv_log.read_text().count("\n") == 1  # one ssh connection for both jobs
    report = json.dumps(
        done.stdout + done.stderr + argv_log.read_text() + outputs.read_text() + summary.read_text()
    )
    assert secrets_in(done.stdout + done.stderr, key) == []
    assert secrets_in(argv_log.read_text(), key) == []
    assert secrets_in(outputs.read_text() + summary.read_text(), key) == []
    assert TOKEN not in report
    leftovers = [path for path in scratch.rglob("*") if path.is_file()]
    for path in leftovers:
        assert secrets_in(path.read_text(errors="replace"), key) == [], path
    assert not list(scratch.glob("progress-card-ssh-*"))
