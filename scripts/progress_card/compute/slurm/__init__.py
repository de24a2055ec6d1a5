"""Slurm: the login node (over SSH, or this machine), the questions script asked there, and what
`squeue` and `sacct` answer, read as a job's state."""

from .login import LOCAL, LocalLogin, Login
from .script import Answer, Asked, ask, ask_launch, ask_tails, asks_cluster, on_cluster, unknown
from .squeue import valid_job_id
from .ssh import DEFAULT_KEY_ENV, SshClient, SshSettings

__all__ = [
    "DEFAULT_KEY_ENV",
    "LOCAL",
    "Answer",
    "Asked",
    "LocalLogin",
    "Login",
    "SshClient",
    "SshSettings",
    "ask",
    "ask_launch",
    "ask_tails",
    "asks_cluster",
    "on_cluster",
    "unknown",
    "valid_job_id",
]
