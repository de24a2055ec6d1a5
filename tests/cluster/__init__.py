"""A real Slurm (munged, slurmctld, slurmd) and a real OpenSSH server on loopback, started by the tests.

tools/setup-system.sh installs the Debian packages; `fixtures` holds the session fixtures
`slurm`, `sshd` and `cluster` that tests/conftest.py registers.
"""

from __future__ import annotations

from .cluster import LoopbackCluster
from .procs import DaemonError
from .slurm import INVALID_JOB_ID, Slurm, SlurmError
from .sshd import Sshd
from .system import MissingSystemError

__all__ = [
    "INVALID_JOB_ID",
    "DaemonError",
    "LoopbackCluster",
    "MissingSystemError",
    "Slurm",
    "SlurmError",
    "Sshd",
]
