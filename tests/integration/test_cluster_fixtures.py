"""The loopback cluster the tests start: a real sshd in front of a real one-node Slurm."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.cluster import INVALID_JOB_ID, LoopbackCluster
from tests.cluster.procs import describe, run
from tests.cluster.system import binary

pytestmark = pytest.mark.cluster

TERMINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "PREEMPTED"}


def remote_squeue(cluster: LoopbackCluster, job_id: str) -> subprocess.CompletedProcess[str]:
    """What progress-card will run: squeue on the node over ssh with strict host key checking."""
    return cluster.ssh("squeue", "--noheader", "--states=all", "--format='%i %T'", f"--jobs={job_id}")


def rows(result: subprocess.CompletedProcess[str]) -> list[tuple[str, str]]:
    """`(id, state)` pairs of a successful squeue, sorted."""
    assert result.returncode == 0, describe(result)
    pairs = []
    for line in result.stdout.splitlines():
        task, state = line.split()
        pairs.append((task, state))
    return sorted(pairs)


def test_session_sees_the_test_slurm_conf(cluster: LoopbackCluster) -> None:
    result = cluster.ssh("echo", "$SLURM_CONF", ";", "sinfo", "--noheader", "--format=%P_%T")
    assert result.returncode == 0, describe(result)
    assert result.stdout.split() == [str(cluster.slurm_conf), "debug*_idle"]
    assert result.stderr == ""


def test_jobs_asking_for_memory_are_placed(cluster: LoopbackCluster) -> None:
    # datatrove asks for --mem-per-cpu=2G for its tasks and 1G for its stats job.
    job = cluster.sbatch("--cpus-per-task=2", "--mem-per-cpu=2G", wrap="true")
    assert cluster.wait_for(job, {"COMPLETED"}, timeout=30) == ["COMPLETED"]


def test_array_job_runs_two_at_a_time_and_completes(cluster: LoopbackCluster) -> None:
    job = cluster.sbatch("--array=0-3%2", wrap="sleep 3")
    cluster.wait_for(job, lambda states: "RUNNING" in states, timeout=15)

    running = rows(remote_squeue(cluster, job))
    assert running == [(f"{job}_0", "RUNNING"), (f"{job}_1", "RUNNING"), (f"{job}_[2-3%2]", "PENDING")]

    # Tasks 2 and 3 start once 0 and 1 are done; the records of finished tasks leave within ~12 s.
    cluster.wait_for(job, lambda states: states.count("RUNNING") == 2 and "PENDING" not in states, timeout=15)
    cluster.wait_for(job, lambda states: not states or set(states) == {"COMPLETED"}, timeout=20)

    after = remote_squeue(cluster, job)
    if after.returncode == 0:
        done = rows(after)
        assert {state for _, state in done} == {"COMPLETED"}, describe(after)
        assert {task for task, _ in done} <= {f"{job}_{i}" for i in range(4)}
    else:
        assert (after.returncode, after.stdout) == (1, ""), describe(after)
        assert INVALID_JOB_ID in after.stderr


def test_failed_job_shows_failed_then_leaves_the_queue(cluster: LoopbackCluster) -> None:
    job = cluster.sbatch(wrap="exit 3")
    assert cluster.wait_for(job, {"FAILED"}, timeout=15) == ["FAILED"]
    assert rows(remote_squeue(cluster, job)) == [(job, "FAILED")]

    cluster.wait_gone(job, timeout=30)
    gone = remote_squeue(cluster, job)
    assert (gone.returncode, gone.stdout) == (1, ""), describe(gone)
    assert INVALID_JOB_ID in gone.stderr


def test_scancel_gives_cancelled(cluster: LoopbackCluster) -> None:
    job = cluster.sbatch(wrap="sleep 60")
    cluster.wait_for(job, {"RUNNING"}, timeout=15)
    cluster.scancel(job)
    assert cluster.wait_for(job, {"CANCELLED"}, timeout=15) == ["CANCELLED"]
    assert rows(remote_squeue(cluster, job)) == [(job, "CANCELLED")]


def test_unknown_job_id_is_an_error_with_exit_1(cluster: LoopbackCluster) -> None:
    result = remote_squeue(cluster, "4000000")
    assert (result.returncode, result.stdout) == (1, ""), describe(result)
    assert INVALID_JOB_ID in result.stderr
    assert cluster.squeue_states("4000000") == []


def test_job_output_in_shared_dir_is_readable_over_ssh(cluster: LoopbackCluster) -> None:
    stats = cluster.shared_dir / "fixture-test" / "stats.json"
    job = cluster.sbatch(
        script=f"""mkdir -p {stats.parent}
cat > {stats} <<EOF
{{"docs": 42, "task": "$SLURM_JOB_ID"}}
EOF
"""
    )
    cluster.wait_for(job, {"COMPLETED"}, timeout=15)
    result = cluster.ssh("cat", str(stats))
    assert result.returncode == 0, describe(result)
    assert json.loads(result.stdout) == {"docs": 42, "task": job}


def test_unknown_host_key_fails_with_255(cluster: LoopbackCluster, tmp_path: Path) -> None:
    before = cluster.accepted_connections()
    empty = tmp_path / "known_hosts_empty"
    empty.write_text("", encoding="utf-8")
    other_key = tmp_path / "other"
    run([binary("ssh-keygen"), "-q", "-t", "ed25519", "-N", "", "-f", other_key])
    other = tmp_path / "known_hosts_other"
    other.write_text(f"[{cluster.host}]:{cluster.port} {other_key.with_suffix('.pub').read_text()}")

    for known_hosts in (empty, other):
        result = cluster.ssh("true", known_hosts=known_hosts)
        assert result.returncode == 255, describe(result)
        assert "Host key verification failed." in result.stderr
    assert cluster.accepted_connections() == before


def test_stopped_sshd_fails_with_255_and_comes_back(cluster: LoopbackCluster) -> None:
    cluster.stop_sshd()
    try:
        down = cluster.ssh("true")
        assert down.returncode == 255, describe(down)
        assert "Connection refused" in down.stderr
    finally:
        cluster.start_sshd()
    up = cluster.ssh("squeue", "--noheader")
    assert up.returncode == 0, describe(up)
    assert cluster.known_hosts.read_text().strip() == cluster.host_key_line


def test_each_ssh_invocation_is_one_accepted_connection(cluster: LoopbackCluster) -> None:
    before = cluster.accepted_connections()
    for n in range(1, 4):
        result = cluster.ssh("true")
        assert result.returncode == 0, describe(result)
        assert cluster.accepted_connections() == before + n
