"""The compute wing: where a job runs, and what that says of it.

One entry point, `FinishDetector.verdicts(jobs)`: each Slurm login node is asked once for all its
jobs (over SSH, or on this machine for `ssh: local`), the Hub once for each job followed on Hugging
Face Jobs, and stats or logging folders given as URLs are read with fsspec. Both schedulers answer in
one shape (`schedule.JobState`), which one rule reads (`verdicts.decide`). What comes back is a
`Verdict` per job (`model.py`). The other names here are what a manifest needs to say how to reach
a login node, or which Jobs run a job.
"""

from .hf_jobs import HfJobs, JobsClient, JobsFollower, valid_hf_job_id
from .slurm import DEFAULT_KEY_ENV, LOCAL, LocalLogin, Login, SshClient, SshSettings, valid_job_id
from .verdicts import FinishDetector
from .watched import Watched

__all__ = [
    "DEFAULT_KEY_ENV",
    "LOCAL",
    "FinishDetector",
    "HfJobs",
    "JobsClient",
    "JobsFollower",
    "LocalLogin",
    "Login",
    "SshClient",
    "SshSettings",
    "Watched",
    "valid_hf_job_id",
    "valid_job_id",
]
