"""`LoopbackCluster`: the node as the code under test sees it, over ssh, plus direct Slurm job control."""

from __future__ import annotations

import subprocess
from collections.abc import Collection
from datetime import datetime
from pathlib import Path

from .slurm import Slurm, StatePredicate
from .sshd import Sshd


class LoopbackCluster:
    """One Slurm node reachable as root@127.0.0.1 over ssh, with a shared directory jobs and tests write."""

    def __init__(self, slurm: Slurm, sshd: Sshd) -> None:
        self.slurm = slurm
        self.sshd = sshd

    # -- ssh -------------------------------------------------------------------------------------

    @property
    def host(self) -> str:
        """Always "127.0.0.1"."""
        return self.sshd.host

    @property
    def port(self) -> int:
        """sshd's port."""
        return self.sshd.port

    @property
    def user(self) -> str:
        """Always "root"."""
        return self.sshd.user

    @property
    def key_file(self) -> Path:
        """The user's private key (ed25519, no passphrase)."""
        return self.sshd.key_file

    @property
    def known_hosts(self) -> Path:
        """A known_hosts file holding only `host_key_line`."""
        return self.sshd.known_hosts

    @property
    def host_key_line(self) -> str:
        """`[127.0.0.1]:<port> ssh-ed25519 AAAA...`."""
        return self.sshd.host_key_line

    @property
    def sshd_log(self) -> Path:
        """sshd's log (LogLevel VERBOSE)."""
        return self.sshd.log

    def accepted_connections(self) -> int:
        """Successful ssh logins so far (count of "Accepted publickey" lines in the sshd log)."""
        return self.sshd.accepted_connections()

    def stop_sshd(self) -> None:
        """Stop sshd: new connections are refused and ssh exits 255."""
        self.sshd.stop()

    def start_sshd(self) -> None:
        """Start sshd again on the same port with the same host key (no-op if it runs)."""
        self.sshd.start()

    def ssh_options(self, known_hosts: Path | None = None) -> list[str]:
        """ssh's options for this node, without `ssh` and the destination."""
        return self.sshd.ssh_options(known_hosts)

    def ssh_argv(self, *remote_args: str, known_hosts: Path | None = None) -> list[str]:
        """`ssh -F none -o BatchMode=yes -o StrictHostKeyChecking=yes ... -i key -p port root@127.0.0.1 ARGS`."""
        return self.sshd.ssh_argv(*remote_args, known_hosts=known_hosts)

    def ssh(
        self, *remote_args: str, known_hosts: Path | None = None, timeout: float = 30.0
    ) -> subprocess.CompletedProcess[str]:
        """Run a command on the node over ssh; returns the finished process (text stdout/stderr)."""
        return self.sshd.ssh(*remote_args, known_hosts=known_hosts, timeout=timeout)

    # -- Slurm -----------------------------------------------------------------------------------

    @property
    def slurm_conf(self) -> Path:
        """The slurm.conf that `SLURM_CONF` points at, locally and in ssh sessions."""
        return self.slurm.conf_path

    @property
    def shared_dir(self) -> Path:
        """A directory jobs and tests both read and write, like a cluster's shared file system."""
        return self.slurm.shared_dir

    def sbatch(self, *args: str, script: str | None = None, wrap: str | None = None) -> str:
        """Submit a job; returns its id. See `Slurm.sbatch`."""
        return self.slurm.sbatch(*args, script=script, wrap=wrap)

    def scancel(self, job_id: str) -> None:
        """Cancel a job or array."""
        self.slurm.scancel(job_id)

    def squeue_rows(self, job_id: str) -> list[tuple[str, str]]:
        """`(id, state)` lines of `squeue --states=all`; [] once Slurm forgot the job."""
        return self.slurm.squeue_rows(job_id)

    def requeue(self, job_id: str) -> None:
        """Put a running job back in the queue (`scontrol requeue`)."""
        self.slurm.requeue(job_id)

    def wait_for_reason(self, job_id: str, reason: str, timeout: float = 30.0) -> None:
        """Poll until squeue gives `reason` (`%r`) for the job."""
        self.slurm.wait_for_reason(job_id, reason, timeout)

    def start_time(self, job_id: str) -> datetime:
        """When Slurm started the job, in UTC."""
        return self.slurm.start_time(job_id)

    def squeue_states(self, job_id: str) -> list[str]:
        """States of `squeue --states=all` lines; [] once Slurm forgot the job."""
        return self.slurm.squeue_states(job_id)

    def wait_for(
        self, job_id: str, until: StatePredicate | Collection[str], timeout: float = 30.0
    ) -> list[str]:
        """Poll until the states satisfy `until` (predicate, or a set every line's state must be in)."""
        return self.slurm.wait_for(job_id, until, timeout)

    def wait_gone(self, job_id: str, timeout: float = 30.0) -> None:
        """Poll until squeue answers `Invalid job id specified` for the job."""
        self.slurm.wait_gone(job_id, timeout)
