"""The compute wing: where a job runs, and what that says of it.

One entry point, `FinishDetector.verdicts(jobs)`: each login node is asked once for all its jobs
(over SSH, or on this machine for `ssh: local`), and stats or logging folders given as URLs are
read with fsspec. What comes back is a `Verdict` per job (`model.py`). The other names here are
what a manifest needs to say how to reach a login node.
"""

from .slurm import DEFAULT_KEY_ENV, LOCAL, LocalLogin, Login, SshClient, SshSettings, Watched, valid_job_id
from .verdicts import FinishDetector

__all__ = [
    "DEFAULT_KEY_ENV",
    "LOCAL",
    "FinishDetector",
    "LocalLogin",
    "Login",
    "SshClient",
    "SshSettings",
    "Watched",
    "valid_job_id",
]
