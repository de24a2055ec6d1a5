"""Finish detection against a real sshd and a real Slurm on loopback, through one update of the core.

Slurm's times are the real clock's, so each update's `now` is the real clock's at the moment it runs."""

from __future__ import annotations

import difflib
import json
import shlex
import subprocess
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from progress_card.compute import FinishDetector, SshClient
from progress_card.manifest import load_manifest
from progress_card.model import Launch
from progress_card.report import Report
from tests.cards import progress_line
from tests.cluster import LoopbackCluster
from tests.hubsim import HubSim
from tests.support import (
    card,
    datatrove_stats,
    said,
    ssh_settings,
    update_at,
    write_manifest,
    write_shard,
)

pytestmark = pytest.mark.cluster


UNKNOWN_ID = "Slurm does not know Slurm job 987654: it was never seen queued or running"
"""What a run says of a job id squeue does not know and was never seen: the answer came back."""


def settings(cluster: LoopbackCluster, known_hosts: Path | None = None) -> str:
    return ssh_settings(cluster, known_hosts=str(known_hosts or cluster.known_hosts), connect_timeout=5)


def jobs_file(
    folder: Path,
    cluster: LoopbackCluster,
    *entries: str,
    known_hosts: Path | None = None,
    login: str = "ssh",
) -> Path:
    """A manifest whose jobs reach the loopback cluster over SSH, or (`login="local"`) as its login node."""
    body = "\n".join(entries)
    ssh = "local" if login == "local" else settings(cluster, known_hosts)
    return write_manifest(
        folder,
        f"# Generation jobs of the team.\ndefaults:\n  repo: acme/gen\n  total: 100\n  ssh: {ssh}\n\njobs:\n{body}\n",
    )


BOTH_WAYS = pytest.mark.parametrize("login", ["ssh", "local"])
"""A finishing rule holds the same over SSH and with `ssh: local` on the login node itself."""


def last_line(report: Report) -> str:
    """The last job's summary line."""
    return said(report).splitlines()[-1]


def card_line(hub: HubSim, config: str) -> str:
    return progress_line(card(hub), config)


def only_added(before: str, after: str) -> list[str]:
    """The lines `after` adds to `before`, asserting it removes or changes none."""
    diff = [line for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line[:1] in "+-"]
    assert all(line.startswith("+ ") for line in diff), diff
    return [line[2:] for line in diff]


@pytest.fixture
def uploaded(hub: HubSim) -> None:
    for index, rows in enumerate([20, 10, 33]):
        write_shard(hub.repo_dir("acme/gen") / "data" / f"{index}.parquet", rows)


@BOTH_WAYS
def test_a_running_array_job_keeps_its_progress_card(
    cluster: LoopbackCluster, hub: HubSim, uploaded: None, tmp_path: Path, login: str
) -> None:
    job = cluster.sbatch("--array=0-3%2", wrap="sleep 60")
    try:
        cluster.wait_for(job, lambda states: "RUNNING" in states)
        jobs = jobs_file(tmp_path, cluster, f"  - name: gen\n    slurm_job_id: {job}", login=login)
        before = jobs.read_text()

        report = update_at(jobs, datetime.now(timezone.utc))

        assert report.exit_code == 0, said(report)
        assert last_line(report).startswith("gen: 63/100 docs (63%), ETA ")
        assert "⏱️" in card_line(hub, "default")
        assert jobs.read_text() == before
    finally:
        cluster.scancel(job)


@BOTH_WAYS
def test_a_job_that_left_the_queue_without_stats_has_stopped(
    cluster: LoopbackCluster, hub: HubSim, uploaded: None, tmp_path: Path, login: str
) -> None:
    job = cluster.sbatch(wrap="sleep 60")
    cluster.wait_for(job, {"RUNNING"})
    jobs = jobs_file(
        tmp_path,
        cluster,
        f"  - name: gen   # the main job\n    slurm_job_id: {job}\n    stats_path: {cluster.shared_dir}/never/stats.json",
        login=login,
    )
    before = jobs.read_text()
    assert "ETA" in last_line(update_at(jobs, datetime.now(timezone.utc)))  # seen running: noted
    cluster.scancel(job)
    cluster.wait_gone(job, timeout=60)

    report = update_at(jobs, datetime.now(timezone.utc))

    assert report.exit_code == 0, said(report)
    reason = f"Slurm job {job} is no longer in the queue without stats.json"
    assert (
        last_line(report)
        == f"gen: 63/100 docs (63%), stopped ({reason}), card pushed, marked stopped in jobs.yaml"
    )
    assert card_line(hub, "default") == (
        f"**default**: [●●●●●●●●●●●●○○○○○○○○] 63% • 63/100 docs<br>⚠️ stopped at 63%: {reason}"
    )
    added = only_added(before, jobs.read_text())
    assert added[:2] == ["    finished: true", "    outcome: stopped"]
    assert added[2].startswith('    finished_at: "') and added[3] == "    final_count: 63"
    assert len(added) == 4


@BOTH_WAYS
def test_a_job_that_wrote_stats_json_has_completed_even_with_an_awkward_path(
    cluster: LoopbackCluster, hub: HubSim, uploaded: None, tmp_path: Path, login: str
) -> None:
    source = cluster.shared_dir / f"stats-source-{tmp_path.name}.json"
    source.write_text(datatrove_stats(30))
    target = cluster.shared_dir / f"it's done $(touch pwned) {tmp_path.name}" / "stats.json"
    job = cluster.sbatch(
        wrap=shlex.join(
            ["sh", "-c", 'mkdir -p "$(dirname "$1")" && cp "$2" "$1"', "-", str(target), str(source)]
        )
    )
    cluster.wait_for(job, {"COMPLETED"}, timeout=60)
    assert target.exists()
    jobs = jobs_file(
        tmp_path,
        cluster,
        f"  - name: gen\n    slurm_job_id: {job}\n    stats_path: {json.dumps(str(target))}",
        login=login,
    )

    report = update_at(jobs, datetime.now(timezone.utc))

    assert report.exit_code == 0, said(report)
    assert last_line(report) == (
        "gen: 63/100 docs (63%), completed (stats.json found), card pushed, marked completed in jobs.yaml"
    )
    card = (hub.repo_dir("acme/gen") / "README.md").read_text()
    assert card_line(hub, "default").endswith("63% • 63/100 docs<br>✅ Complete")
    assert (
        "| Documents processed | 30 |\n| Avg. source chars | 10.00 |\n| Total prompt tokens | 1,500 |" in card
    )
    assert not list(cluster.shared_dir.rglob("pwned")) and not Path("pwned").exists()


@BOTH_WAYS
def test_a_cancelled_job_has_failed_with_its_slurm_state(
    cluster: LoopbackCluster, hub: HubSim, uploaded: None, tmp_path: Path, login: str
) -> None:
    job = cluster.sbatch(wrap="sleep 60")
    cluster.wait_for(job, {"RUNNING"})
    cluster.scancel(job)
    cluster.wait_for(job, {"CANCELLED"})
    jobs = jobs_file(
        tmp_path,
        cluster,
        f"  - name: gen\n    slurm_job_id: {job}\n    stats_path: /nowhere/stats.json",
        login=login,
    )

    report = update_at(jobs, datetime.now(timezone.utc))

    assert report.exit_code == 0, said(report)
    reason = f"Slurm job {job} ended (CANCELLED) without stats.json"
    assert last_line(report).startswith(
        f"gen: 63/100 docs (63%), failed ({reason}), card pushed, marked failed"
    )
    assert card_line(hub, "default").endswith(f"<br>⚠️ stopped at 63%: {reason}")


@BOTH_WAYS
def test_a_job_id_the_queue_never_knew_marks_nothing(
    cluster: LoopbackCluster, hub: HubSim, uploaded: None, tmp_path: Path, login: str
) -> None:
    """A typo in slurm_job_id: squeue answers as it does for a job long gone, but progress-card never saw
    it queued or running, and Slurm's accounts (off on this cluster) do not know it either."""
    jobs = jobs_file(tmp_path, cluster, "  - name: gen\n    slurm_job_id: 987654", login=login)
    before = jobs.read_text()

    for minutes in (0, 10):  # nor on a later run
        report = update_at(jobs, datetime.now(timezone.utc) + timedelta(minutes=minutes))
        assert last_line(report).startswith("gen: 63/100 docs (63%), ETA ")
        assert UNKNOWN_ID in last_line(report)
    assert jobs.read_text() == before
    assert card_line(hub, "default").startswith("**default**: [●●●●●●●●●●●●○○○○○○○○] 63% • 63/100 docs<br>⏱️ ")


def test_an_unknown_host_key_is_refused_and_nothing_is_marked(
    cluster: LoopbackCluster, hub: HubSim, uploaded: None, tmp_path: Path
) -> None:
    stranger = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True)
    wrong = tmp_path / "known_hosts"
    wrong.write_text(f"[{cluster.host}]:{cluster.port} {stranger.with_suffix('.pub').read_text()}")
    jobs = jobs_file(tmp_path, cluster, "  - name: gen\n    slurm_job_id: 987654", known_hosts=wrong)
    before = jobs.read_text()

    report = update_at(jobs, datetime.now(timezone.utc))

    assert report.exit_code == 0, said(report)
    assert "gen: 63/100 docs (63%), ETA" in last_line(report)
    assert (
        f"the host key of root@{cluster.host}:{cluster.port} has changed: refusing to connect"
        in last_line(report)
    )
    assert jobs.read_text() == before


def test_a_host_missing_from_known_hosts_is_refused(
    cluster: LoopbackCluster, hub: HubSim, uploaded: None, tmp_path: Path
) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    jobs = jobs_file(tmp_path, cluster, "  - name: gen\n    slurm_job_id: 987654", known_hosts=empty)
    report = update_at(jobs, datetime.now(timezone.utc))
    assert (
        f"the host key of root@{cluster.host}:{cluster.port} is not in known_hosts: refusing to connect"
        in last_line(report)
    )
    assert "finished" not in jobs.read_text()


def test_a_stopped_sshd_leaves_the_job_active_with_a_warning(
    cluster: LoopbackCluster, hub: HubSim, uploaded: None, tmp_path: Path
) -> None:
    jobs = jobs_file(tmp_path, cluster, "  - name: gen\n    slurm_job_id: 987654")
    cluster.stop_sshd()
    try:
        report = update_at(jobs, datetime.now(timezone.utc))
    finally:
        cluster.start_sshd()
    assert report.exit_code == 0, said(report)
    assert (
        f"cannot tell whether Slurm job 987654 is alive: cannot reach root@{cluster.host}:{cluster.port}"
        in last_line(report)
    )
    assert "finished" not in jobs.read_text()


def test_jobs_on_the_same_host_share_one_connection(
    cluster: LoopbackCluster, hub: HubSim, tmp_path: Path
) -> None:
    write_shard(hub.repo_dir("acme/gen") / "math" / "0.parquet", 5)
    write_shard(hub.repo_dir("acme/gen") / "code" / "0.parquet", 7)
    running = cluster.sbatch(wrap="sleep 60")
    try:
        jobs = jobs_file(
            tmp_path,
            cluster,
            f"  - {{name: math, config: math, slurm_job_id: {running}, stats_path: /nowhere/math/stats.json}}",
            "  - {name: code, config: code, slurm_job_id: 987654, stats_path: /nowhere/code/stats.json}",
        )
        connections = cluster.accepted_connections()

        report = update_at(jobs, datetime.now(timezone.utc))

        assert report.exit_code == 0, said(report)
        assert cluster.accepted_connections() == connections + 1
        lines = said(report).splitlines()[-2:]
        assert lines[0].startswith("math: 5/100 docs (5%)") and "marked" not in lines[0]
        assert lines[1].startswith("code: 7/100 docs (7%), ") and UNKNOWN_ID in lines[1]  # squeue answered
    finally:
        cluster.scancel(running)


def test_key_and_host_keys_from_the_environment_are_written_privately_and_removed(
    cluster: LoopbackCluster, hub: HubSim, uploaded: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSH_PRIVATE_KEY", cluster.key_file.read_text())
    monkeypatch.setenv("SSH_KNOWN_HOSTS", cluster.known_hosts.read_text())
    settings = f"{{host: {cluster.host}, port: {cluster.port}, user: {cluster.user}}}"
    jobs = write_manifest(
        tmp_path,
        f"jobs:\n  - {{name: gen, repo: acme/gen, total: 100, slurm_job_id: 987654, ssh: {settings}}}\n",
    )
    leftovers = set(Path(tempfile.gettempdir()).glob("progress-card-ssh-*"))

    report = update_at(jobs, datetime.now(timezone.utc))

    assert UNKNOWN_ID in last_line(report)  # squeue answered, over the connection the keys opened
    assert set(Path(tempfile.gettempdir()).glob("progress-card-ssh-*")) == leftovers


def test_a_login_node_behind_a_bastion_is_reached_through_it(
    cluster: LoopbackCluster, hub: HubSim, uploaded: None, tmp_path: Path
) -> None:
    # The loopback sshd plays both parts: the bastion, and the login node behind it.
    jobs = jobs_file(tmp_path, cluster, "  - name: gen\n    slurm_job_id: 987654")
    bastion = f"root@{cluster.host}:{cluster.port}"
    jobs.write_text(
        jobs.read_text().replace('"connect_timeout": 5', f'"connect_timeout": 5, "proxy_jump": "{bastion}"')
    )
    connections = cluster.accepted_connections()

    report = update_at(jobs, datetime.now(timezone.utc))

    assert UNKNOWN_ID in last_line(report)  # squeue answered through the bastion
    assert cluster.accepted_connections() == connections + 2  # the bastion, then the login node


@BOTH_WAYS
def test_tasks_done_are_read_from_the_logging_folder_on_the_cluster(
    cluster: LoopbackCluster, hub: HubSim, uploaded: None, tmp_path: Path, login: str
) -> None:
    logs = cluster.shared_dir / f"logs {tmp_path.name}"
    (logs / "completions").mkdir(parents=True)
    (logs / "executor.json").write_text(json.dumps({"world_size": 8, "tasks": 8}))
    for rank in (0, 1, 5):
        (logs / "completions" / f"{rank:05d}").touch()
    job = cluster.sbatch(wrap="sleep 60")
    try:
        cluster.wait_for(job, {"RUNNING"})
        jobs = jobs_file(
            tmp_path,
            cluster,
            f"  - name: gen\n    slurm_job_id: {job}\n    logging_dir: {json.dumps(str(logs))}",
            login=login,
        )
        report = update_at(jobs, datetime.now(timezone.utc))
    finally:
        cluster.scancel(job)

    assert report.exit_code == 0, said(report)
    assert last_line(report).startswith("gen: 63/100 docs (63%), tasks 3/8, ETA ")
    assert "63% • 63/100 docs • tasks 3/8<br>⏱️ " in card_line(hub, "default")


@BOTH_WAYS
def test_the_launch_comes_back_in_the_same_round_trip(
    cluster: LoopbackCluster, tmp_path: Path, login: str
) -> None:
    logs = cluster.shared_dir / f"launch {tmp_path.name}"
    (logs / "completions").mkdir(parents=True)
    (logs / "executor.json").write_text(json.dumps({"world_size": 96, "tasks": 96, "workers": 64}))
    (logs / "ranks_to_run.json").write_text(json.dumps(list(range(64, 96))))
    job = cluster.sbatch(wrap="sleep 60")
    try:
        cluster.wait_for(job, {"RUNNING"})
        manifest = load_manifest(
            jobs_file(
                tmp_path,
                cluster,
                f"  - {{name: gen, slurm_job_id: {job}, logging_dir: {json.dumps(str(logs))}}}",
                login=login,
            )
        )
        connections = cluster.accepted_connections()
        with SshClient() as ssh:
            verdict = FinishDetector(ssh).verdicts(manifest.jobs, {})["gen"]
        started = cluster.start_time(job)
    finally:
        cluster.scancel(job)

    assert cluster.accepted_connections() == connections + (login == "ssh")
    assert verdict.outcome is None and verdict.started_at == started
    assert verdict.launch == Launch(started, 96, 64, frozenset(range(64, 96)))
