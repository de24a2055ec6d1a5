"""Where the questions script runs: the login node over SSH, or this machine when it is the login node.

Both run the same POSIX shell script with a login shell (`sh -l -s`, the script on stdin), so the
cluster's profile puts squeue on the PATH and the answers are the same either way.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .ssh import SshClient

LOGIN_SHELL = ("sh", "-l", "-s")
UNREACHED = 255
"""The exit status of a script that never ran: ssh's own for a failed connection."""


@dataclass(frozen=True)
class ScriptResult:
    exit_code: int
    """UNREACHED when the login node could not run the script at all."""
    stdout: bytes = field(repr=False)
    stderr: str


class Login(Protocol):
    """How to reach a cluster's login node: `ssh:` settings, or `ssh: local`."""

    @property
    def target(self) -> str:
        """What to call it in messages."""
        ...

    @property
    def key_variable(self) -> str | None:
        """The environment variable holding a private key it uses, if any (to redact it)."""
        ...

    def run(self, script: str, ssh: SshClient) -> ScriptResult:
        """Run the script there; UNREACHED when it could not be run."""
        ...

    def explain(self, result: ScriptResult) -> str:
        """Why an UNREACHED script could not run, and what to do."""
        ...


@dataclass(frozen=True)
class LocalLogin:
    """`ssh: local`: this machine is the login node (a self-hosted runner in the cluster, or cron)."""

    timeout: float = 120.0

    @property
    def target(self) -> str:
        return "this machine (ssh: local)"

    @property
    def key_variable(self) -> str | None:
        return None

    def run(self, script: str, ssh: SshClient) -> ScriptResult:
        try:
            completed = subprocess.run(
                LOGIN_SHELL,
                input=script.encode("utf-8"),
                capture_output=True,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return ScriptResult(
                UNREACHED, b"", f"the questions took more than {self.timeout:.0f} s to answer"
            )
        except OSError as error:
            return ScriptResult(UNREACHED, b"", f"cannot run sh: {error.strerror}")
        return ScriptResult(
            completed.returncode, completed.stdout, completed.stderr.decode("utf-8", "replace")
        )

    def explain(self, result: ScriptResult) -> str:
        return f"cannot ask Slurm on {self.target}: {result.stderr or f'exit {result.exit_code}'}"


LOCAL = LocalLogin()
