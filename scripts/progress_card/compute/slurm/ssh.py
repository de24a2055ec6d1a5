"""Reaching a cluster's login node through the system OpenSSH client.

Host keys are always checked (`StrictHostKeyChecking=yes`, `BatchMode=yes`). Key material and
known_hosts lines given through environment variables are written to 0600 files in a private
temporary folder that is removed when the client closes. Nothing secret is put on a command line,
and the script travels on stdin, so no value ever goes through the remote command line either.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from ...errors import SshConfigError
from ...schema import pattern
from .login import UNREACHED, ScriptResult

DEFAULT_KEY_ENV = "SSH_PRIVATE_KEY"
DEFAULT_KNOWN_HOSTS_ENV = "SSH_KNOWN_HOSTS"
REMOTE_COMMAND = "sh -l -s"
"""A login shell, so that the cluster's profile puts squeue on the PATH; the script comes on stdin."""

HOST = pattern("ssh", "host")
USER = pattern("ssh", "user")
JUMP = re.compile(rf"(?:(?P<user>{USER.pattern})@)?(?P<host>{HOST.pattern})(?::(?P<port>[0-9]{{1,5}}))?")
ENV_NAME = pattern("ssh", "key_env")


@dataclass(frozen=True)
class SshSettings:
    """How to reach one cluster's login node."""

    host: str
    user: str | None = None
    port: int | None = None
    key_file: Path | None = None
    key_env: str | None = None
    """Environment variable holding the private key itself (default SSH_PRIVATE_KEY, when it is set)."""
    known_hosts: Path | None = None
    known_hosts_env: str | None = None
    """Environment variable holding known_hosts lines (default SSH_KNOWN_HOSTS, when it is set)."""
    proxy_jump: str | None = None
    connect_timeout: int = 15

    @property
    def target(self) -> str:
        """`user@host:port` (for messages and for grouping jobs by host)."""
        who = f"{self.user}@" if self.user else ""
        where = f":{self.port}" if self.port else ""
        jump = f" via {self.proxy_jump}" if self.proxy_jump else ""
        return f"{who}{self.host}{where}{jump}"

    @property
    def key_variable(self) -> str | None:
        """The environment variable this login reads a private key from, when it names one."""
        return self.key_env

    def run(self, script: str, ssh: SshClient) -> ScriptResult:
        return ssh.run_script(self, script)

    def explain(self, result: ScriptResult) -> str:
        return explain_failure(result, self)


class SshClient:
    """Runs scripts on remote hosts; a context manager that removes the secret files it wrote."""

    def __init__(self, environ: Mapping[str, str] | None = None, command_timeout: float = 120.0) -> None:
        self._environ = dict(os.environ if environ is None else environ)
        self._command_timeout = command_timeout
        self._folder: tempfile.TemporaryDirectory[str] | None = None

    def __enter__(self) -> SshClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None

    def run_script(self, settings: SshSettings, script: str) -> ScriptResult:
        """Run `script` with `sh` on the host; exit 255 (or a timeout) means ssh itself failed."""
        argv = self.argv(settings)
        for path, what in ((settings.key_file, "private key"), (settings.known_hosts, "known_hosts")):
            if path is not None and not path.is_file():
                return ScriptResult(
                    UNREACHED, b"", f"the {what} file {path} (jobs.yaml's ssh:) does not exist here"
                )
        try:
            completed = subprocess.run(
                argv,
                input=script.encode("utf-8"),
                capture_output=True,
                timeout=settings.connect_timeout + self._command_timeout,
                check=False,
                env=self._environ,
            )
        except subprocess.TimeoutExpired:
            return ScriptResult(UNREACHED, b"", f"no answer from {settings.target} within the time limit")
        except FileNotFoundError:
            return ScriptResult(UNREACHED, b"", "the ssh client is not installed (install OpenSSH)")
        return ScriptResult(
            completed.returncode, completed.stdout, completed.stderr.decode("utf-8", "replace")
        )

    def argv(self, settings: SshSettings) -> list[str]:
        """The ssh command line for `settings`: options only, never a secret."""
        _check(settings)
        options = self._options(settings)
        argv = ["ssh", *options]
        if settings.port:
            argv += ["-p", str(settings.port)]
        if settings.user:
            argv += ["-l", settings.user]
        if settings.proxy_jump:
            argv += ["-o", f"ProxyCommand={_proxy_command(settings.proxy_jump, options)}"]
        return [*argv, "--", settings.host, REMOTE_COMMAND]

    def _options(self, settings: SshSettings) -> list[str]:
        options = [
            "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=yes",
            "-o", f"ConnectTimeout={settings.connect_timeout}",
            "-o", "ServerAliveInterval=15",
            "-o", "ServerAliveCountMax=3",
            "-o", "LogLevel=ERROR",
        ]  # fmt: skip
        known_hosts = settings.known_hosts or self._secret_file(
            settings.known_hosts_env, DEFAULT_KNOWN_HOSTS_ENV, "known_hosts"
        )
        if known_hosts is not None:
            options += ["-o", f"UserKnownHostsFile={known_hosts}", "-o", "GlobalKnownHostsFile=/dev/null"]
        key = settings.key_file or self._secret_file(settings.key_env, DEFAULT_KEY_ENV, "key")
        if key is not None:
            options += ["-i", str(key), "-o", "IdentitiesOnly=yes"]
        return options

    def _secret_file(self, name: str | None, default: str, kind: str) -> Path | None:
        """Write the named variable's value to a 0600 file, once per value; None when not configured."""
        variable = name or default
        value = self._environ.get(variable)
        if value is None or not value.strip():
            if name is not None:
                raise SshConfigError(f"environment variable {variable} (ssh {kind}) is not set or empty")
            return None
        if self._folder is None:
            self._folder = tempfile.TemporaryDirectory(prefix="progress-card-ssh-")
        digest = hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]
        path = Path(self._folder.name) / f"{kind}-{digest}"
        if not path.exists():
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                file.write(value if value.endswith("\n") else value + "\n")
        return path


def _check(settings: SshSettings) -> None:
    """Refuse values that could be read as options or shell syntax before they reach ssh."""
    if not HOST.fullmatch(settings.host):
        raise SshConfigError(f"not a host name: {settings.host!r}")
    if settings.user is not None and not USER.fullmatch(settings.user):
        raise SshConfigError(f"not a user name: {settings.user!r}")
    if settings.proxy_jump is not None and not JUMP.fullmatch(settings.proxy_jump):
        raise SshConfigError(f"proxy_jump must be [user@]host[:port], got {settings.proxy_jump!r}")
    for variable in (settings.key_env, settings.known_hosts_env):
        if variable is not None and not ENV_NAME.fullmatch(variable):
            raise SshConfigError(f"not an environment variable name: {variable!r}")
    for path in (settings.key_file, settings.known_hosts):
        if path is not None and "%" in str(path):
            raise SshConfigError(f"ssh would expand '%' in {str(path)!r}; rename the file")


def _proxy_command(jump: str, options: list[str]) -> str:
    """Reach the bastion with the same strict options: ssh does not pass -o options to a ProxyJump."""
    match = JUMP.fullmatch(jump)
    assert match is not None  # checked in _check
    argv = ["ssh", *options, "-W", "%h:%p"]
    if match["port"]:
        argv += ["-p", match["port"]]
    if match["user"]:
        argv += ["-l", match["user"]]
    return shlex.join([*argv, "--", match["host"]])


def explain_failure(result: ScriptResult, settings: SshSettings) -> str:
    """Why ssh could not run the script, and what to do about it."""
    text = result.stderr
    if "REMOTE HOST IDENTIFICATION HAS CHANGED" in text:
        return (
            f"the host key of {settings.target} has changed: refusing to connect. If the change is expected, "
            "check the new key with the cluster's admins and update known_hosts"
        )
    if "Host key verification failed" in text or "No ED25519 host key is known" in text or "host key" in text:
        return (
            f"the host key of {settings.target} is not in known_hosts: refusing to connect. Add its line "
            f"(`ssh-keyscan -p {settings.port or 22} {settings.host}`, checked against the cluster's fingerprint)"
        )
    if "Permission denied" in text:
        return f"{settings.target} refused the key (Permission denied); check the user and the private key"
    first = next((line for line in text.splitlines() if line.strip()), f"ssh exited with {result.exit_code}")
    return f"cannot reach {settings.target}: {first.strip()}"
