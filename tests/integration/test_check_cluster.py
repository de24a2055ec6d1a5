"""`progress-card check` against the loopback Slurm over SSH: a login node that works, and each way it
does not (unreachable, unknown host key, a key file that is not there, a job id the queue never knew)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cluster import LoopbackCluster
from tests.cluster.ports import free_ports
from tests.hubsim import HubSim
from tests.support import command, ssh_settings, write_manifest, write_shard

pytestmark = pytest.mark.cluster

HF_TOKEN = "hf_loopback_write_token"


def check(tmp_path: Path, hub: HubSim, ssh: str, job_id: str) -> tuple[int, list[str]]:
    write_shard(hub.repo_dir("acme/gen") / "default" / "00000_00000.parquet", 30)
    jobs = write_manifest(
        tmp_path,
        f"defaults:\n  ssh: {ssh}\njobs:\n  - {{name: gen, repo: acme/gen, total: 100, slurm_job_id: {job_id}}}\n",
    )
    result = command("check", "--jobs", str(jobs), env={"HF_TOKEN": HF_TOKEN})
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout.splitlines()


def test_a_login_node_that_works_and_a_running_job(
    cluster: LoopbackCluster, hub: HubSim, tmp_path: Path
) -> None:
    job_id = cluster.sbatch(wrap="sleep 60")
    try:
        code, lines = check(tmp_path, hub, ssh_settings(cluster), job_id)
    finally:
        cluster.scancel(job_id)

    assert code == 0, lines
    target = f"root@{cluster.host}:{cluster.port}"
    assert f"✓ {target}: reached (host key known, key accepted), squeue found" in lines
    assert any(line.startswith("✓ job gen: 30/100 documents") for line in lines), lines


def unknown_host_key(cluster: LoopbackCluster, folder: Path) -> str:
    empty = folder / "known_hosts"
    empty.write_text("")
    return ssh_settings(cluster, known_hosts=str(empty))


def unreachable(cluster: LoopbackCluster, folder: Path) -> str:
    settings = json.loads(ssh_settings(cluster))
    (settings["port"],) = free_ports(1)
    return json.dumps(settings)


FAILURES = {
    "unknown host key": (unknown_host_key, "is not in known_hosts: refusing to connect"),
    "unreachable host": (unreachable, ": cannot reach root@127.0.0.1:"),
    "no key file": (
        lambda cluster, folder: ssh_settings(cluster, key_file=str(folder / "nothing")),
        "the private key file",
    ),
}


@pytest.mark.parametrize("failure", list(FAILURES))
def test_a_login_node_that_cannot_be_used_says_why(
    cluster: LoopbackCluster, hub: HubSim, tmp_path: Path, failure: str
) -> None:
    settings, expected = FAILURES[failure]

    code, lines = check(tmp_path, hub, settings(cluster, tmp_path), "987654")

    assert code == 1
    target = next(line for line in lines if line.startswith("✗ root@"))
    assert expected in target, lines


def test_a_job_id_the_queue_never_knew_fails_the_check(
    cluster: LoopbackCluster, hub: HubSim, tmp_path: Path
) -> None:
    code, lines = check(tmp_path, hub, ssh_settings(cluster), "987654")

    assert code == 1
    assert (
        "✗ job gen: Slurm does not know Slurm job 987654: it was never seen queued or running"
        in "\n".join(lines)
    )
