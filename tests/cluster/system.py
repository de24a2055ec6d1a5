"""What the machine must provide: root and the Debian packages that tools/setup-system.sh installs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

SETUP_HINT = "run tools/setup-system.sh (installs slurm-wlm munge openssh-server openssh-client)"
SSHD = Path("/usr/sbin/sshd")
NEEDED = (
    "munged",
    "munge",
    "unmunge",
    "slurmctld",
    "slurmd",
    "sbatch",
    "squeue",
    "scancel",
    "sinfo",
    "ssh",
    "ssh-keygen",
)


class MissingSystemError(RuntimeError):
    """The machine lacks something the loopback cluster needs; the message says how to fix it."""


def find(name: str) -> Path | None:
    """`name` on PATH, else in /usr/sbin or /usr/bin (a non-login root shell may lack sbin on PATH)."""
    found = shutil.which(name)
    if found is not None:
        return Path(found)
    return next((p for p in (Path("/usr/sbin", name), Path("/usr/bin", name)) if os.access(p, os.X_OK)), None)


def binary(name: str) -> Path:
    """The absolute path of `name`, or MissingSystemError saying how to install it."""
    path = find(name)
    if path is None:
        raise MissingSystemError(f"{name} not found: {SETUP_HINT}")
    return path


def require_system() -> None:
    """Fail with one clear message unless running as root with every needed binary installed."""
    problems = []
    if os.geteuid() != 0:
        problems.append("the loopback cluster must run as root (it starts sshd, slurmd and munged)")
    missing = [name for name in NEEDED if find(name) is None]
    if not os.access(SSHD, os.X_OK):
        missing.append(str(SSHD))
    if missing:
        problems.append(f"missing {', '.join(missing)}: {SETUP_HINT}")
    if problems:
        raise MissingSystemError("; ".join(problems))
