"""What a datatrove logging folder says of a launch, read wherever it is: on this machine, on the
cluster's login node over SSH, or at a URL. For setting a job up from its folder (`progress-card add
--logging-dir`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import SshConfigError
from .logging_folder import Executor, read_executor, read_launch_url
from .remote import RemoteFiles
from .slurm import Login, SshClient, ask_launch, on_cluster

_SLURM_LOG = re.compile(r"^(\d+)_\d+\.out$")


@dataclass(frozen=True)
class Launched:
    """The launch a logging folder records."""

    executor: Executor | None
    slurm_jobs: tuple[str, ...]
    """The Slurm jobs its slurm_logs/ name, the likeliest array of the latest launch first."""
    problem: str | None = None
    """Why the folder could not be read, when it could not."""


def inspect_folder(folder: str, login: Login | None, ssh: SshClient) -> Launched:
    """Read the logging folder: a URL or a folder on this machine directly, a path on the cluster over
    its login node."""
    if on_cluster(folder) is None or Path(folder).is_dir() or login is None:
        content, logs, problem = read_launch_url(RemoteFiles(), folder)
    else:
        try:
            content, logs, problem = ask_launch(login, ssh, folder)
        except SshConfigError as error:
            return Launched(None, (), str(error))
    if problem is not None:
        return Launched(None, (), problem)
    if content is None:
        return Launched(
            None, (), f"{folder} has no executor.json: is it datatrove's logging folder of the job?"
        )
    executor = read_executor(content)
    if executor is None:
        return Launched(None, (), f"{folder}/executor.json is not datatrove's executor settings")
    return Launched(executor, _arrays(logs))


def _arrays(logs: tuple[str, ...]) -> tuple[str, ...]:
    """The Slurm jobs slurm_logs/ names (`<job>_<task>.out`), newest first, those with more than one
    task's log before the others: datatrove's stats merge job, which runs after the array, logs one."""
    tasks: dict[str, int] = {}
    for name in logs:
        match = _SLURM_LOG.match(name)
        if match:
            tasks[match[1]] = tasks.get(match[1], 0) + 1
    return tuple(sorted(tasks, key=lambda job: (tasks[job] > 1, int(job)), reverse=True))
