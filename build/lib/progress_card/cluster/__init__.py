"""The cluster: has a job finished, how are its tasks doing, and how was it launched.

One entry point, `FinishDetector.verdicts(jobs)`: each login node is asked once for all its jobs
(over SSH, or on this machine for `ssh: local`), and stats or logging folders given as URLs are
read with fsspec. What comes back is a `Verdict` per job. The other names here are the values a
manifest or a card needs: how to reach a login node, and what a verdict holds.
"""

from .finish import RUNNING, FinishDetector, Outcome, Verdict
from .login import LOCAL, LocalLogin, Login
from .questions import Watched
from .slurm import Pending, valid_job_id
from .ssh import DEFAULT_KEY_ENV, SshClient, SshSettings
from .stats import FinalFigures, final_figures
from .tasks import UNKNOWN_LAUNCH, Launch, TaskProgress

__all__ = [
    "DEFAULT_KEY_ENV",
    "LOCAL",
    "RUNNING",
    "UNKNOWN_LAUNCH",
    "FinalFigures",
    "FinishDetector",
    "Launch",
    "LocalLogin",
    "Login",
    "Outcome",
    "Pending",
    "SshClient",
    "SshSettings",
    "TaskProgress",
    "Verdict",
    "Watched",
    "final_figures",
    "valid_job_id",
]
