"""Session fixtures: `slurm`, `sshd` and `cluster` (both together); imported by tests/conftest.py."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .cluster import LoopbackCluster
from .munge import Munge
from .ports import free_ports
from .procs import cpu_count
from .slurm import Slurm
from .slurmconf import SlurmConf
from .sshd import Sshd
from .system import require_system

STARTUP_SECONDS: dict[str, float] = {}


@pytest.fixture(scope="session")
def slurm() -> Iterator[Slurm]:
    """munged, slurmctld and slurmd for one node on 127.0.0.1; sets `SLURM_CONF` in os.environ."""
    require_system()
    started = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="loopback-slurm-"))
    root.chmod(0o755)  # munged wants every directory above its socket searchable by all
    previous = os.environ.get("SLURM_CONF")
    munge = Munge(root / "munge")
    ctld_port, slurmd_port = free_ports(2)
    conf = SlurmConf(root / "slurm", munge.socket, ctld_port, slurmd_port, cpus=max(4, cpu_count()))
    cluster = Slurm(conf, shared_dir=root / "shared")
    try:
        munge.start()
        cluster.start()
        os.environ["SLURM_CONF"] = str(conf.path)
        STARTUP_SECONDS["slurm"] = time.monotonic() - started
        yield cluster
    finally:
        try:
            cluster.stop()
            munge.stop()
        finally:
            if previous is None:
                os.environ.pop("SLURM_CONF", None)
            else:
                os.environ["SLURM_CONF"] = previous
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def sshd(slurm: Slurm) -> Iterator[Sshd]:
    """sshd on 127.0.0.1:<free port> for root with a generated key; sessions get the test `SLURM_CONF`."""
    started = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="loopback-sshd-"))
    server = Sshd(root, session_env={"SLURM_CONF": str(slurm.conf_path)})
    try:
        server.start()
        STARTUP_SECONDS["sshd"] = time.monotonic() - started
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def cluster(slurm: Slurm, sshd: Sshd) -> LoopbackCluster:
    """The node over ssh plus direct job control: see LoopbackCluster."""
    return LoopbackCluster(slurm, sshd)
