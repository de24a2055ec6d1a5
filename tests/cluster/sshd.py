"""An OpenSSH server on 127.0.0.1 with its own host key, user key, known_hosts and log."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path

from .ports import LOOPBACK, free_port
from .procs import Daemon, poll, run
from .system import SSHD, binary

ACCEPTED = "Accepted publickey for "
PRIVSEP_DIR = Path("/run/sshd")


class Sshd:
    """sshd in the foreground (`-D`), accepting only the generated user key for root.

    `session_env` is set in every session with `SetEnv` (OpenSSH >= 8.7): that is how a remote `squeue`
    finds the test Slurm's `SLURM_CONF`. Stopping and starting again keeps port and host key.
    """

    host = LOOPBACK
    user = "root"

    def __init__(self, root: Path, session_env: Mapping[str, str] | None = None) -> None:
        self.root = root
        self.port = free_port()
        self.host_key = root / "ssh_host_ed25519_key"
        self.key_file = root / "id_ed25519"
        self.authorized_keys = root / "authorized_keys"
        self.known_hosts = root / "known_hosts"
        self.config = root / "sshd_config"
        self.log = root / "sshd.log"
        self.session_env = dict(session_env or {})
        self.daemon = Daemon(
            "sshd",
            [SSHD, "-D", "-f", self.config, "-E", self.log],
            output=root / "sshd.out",
            logs=[self.log],
        )

    @property
    def host_key_line(self) -> str:
        """The known_hosts line for this server: `[127.0.0.1]:<port> ssh-ed25519 AAAA...`."""
        return f"[{self.host}]:{self.port} {self.host_key.with_suffix('.pub').read_text(encoding='utf-8').strip()}"

    def setup(self) -> None:
        """Generate the keys and write authorized_keys, known_hosts and sshd_config (once)."""
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        for key in (self.host_key, self.key_file):
            if not key.exists():
                result = run(
                    [binary("ssh-keygen"), "-q", "-t", "ed25519", "-N", "", "-C", key.name, "-f", key]
                )
                if result.returncode != 0:
                    raise RuntimeError(f"ssh-keygen failed: {result.stderr}")
        pub = self.key_file.with_suffix(".pub").read_text(encoding="utf-8")
        self.authorized_keys.write_text(pub, encoding="utf-8")
        self.known_hosts.write_text(self.host_key_line + "\n", encoding="utf-8")
        self.config.write_text(self.render_config(), encoding="utf-8")

    def render_config(self) -> str:
        """sshd_config: loopback only, key authentication only, verbose log (one line per accepted login)."""
        for name, value in self.session_env.items():
            if any(c.isspace() or c == '"' for c in f"{name}{value}"):
                raise ValueError(f"SetEnv value must not contain blanks or quotes: {name}={value!r}")
        lines = [
            f"Port {self.port}",
            f"ListenAddress {self.host}",
            f"HostKey {self.host_key}",
            f"AuthorizedKeysFile {self.authorized_keys}",
            f"PidFile {self.root / 'sshd.pid'}",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PermitRootLogin prohibit-password",
            "StrictModes no",
            "UsePAM no",
            "UseDNS no",
            "X11Forwarding no",
            "PrintMotd no",
            "LogLevel VERBOSE",
            "Subsystem sftp internal-sftp",
        ]
        if self.session_env:
            lines.append("SetEnv " + " ".join(f"{k}={v}" for k, v in self.session_env.items()))
        return "\n".join(lines) + "\n"

    def start(self, timeout: float = 10.0) -> None:
        """Start sshd unless it runs, and wait for its `Server listening on 127.0.0.1 port N.` log line."""
        if self.daemon.running:
            return
        if not self.config.exists():
            self.setup()
        PRIVSEP_DIR.mkdir(mode=0o755, parents=True, exist_ok=True)
        test = run([SSHD, "-t", "-f", self.config])
        if test.returncode != 0:
            raise RuntimeError(f"sshd -t rejected {self.config}: {test.stderr}")
        offset = self.log.stat().st_size if self.log.exists() else 0
        listening = f"Server listening on {self.host} port {self.port}."
        self.daemon.start()

        def ready() -> bool:
            self.daemon.check_alive()
            return listening in _read_from(self.log, offset)

        poll(
            ready,
            timeout=timeout,
            what=f"sshd listening on {self.host}:{self.port}",
            details=self.daemon.diagnostics,
        )

    def stop(self) -> None:
        """Stop the listening sshd (sessions already open finish on their own)."""
        self.daemon.stop()

    @property
    def running(self) -> bool:
        """Whether the listening sshd is up."""
        return self.daemon.running

    def accepted_connections(self) -> int:
        """How many `Accepted publickey for ...` lines the log holds so far (one per successful login)."""
        return _read_from(self.log, 0).count(ACCEPTED)

    def ssh_options(self, known_hosts: Path | None = None) -> list[str]:
        """ssh options (no `ssh`, no destination) that reach this server and trust nothing but known_hosts.

        `-F none` ignores ~/.ssh/config and /etc/ssh/ssh_config; `IdentitiesOnly` keeps agent keys out;
        the global known_hosts is /dev/null so only `known_hosts` decides.
        """
        return [
            "-F",
            "none",
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            f"UserKnownHostsFile={known_hosts or self.known_hosts}",
            "-o",
            "GlobalKnownHostsFile=/dev/null",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "ConnectTimeout=10",
            "-i",
            str(self.key_file),
            "-p",
            str(self.port),
        ]

    def ssh_argv(self, *remote_args: str, known_hosts: Path | None = None) -> list[str]:
        """The full ssh command line running `remote_args` on the node.

        As always with ssh, the remote arguments are joined with blanks and run by the remote login shell:
        quote them for a shell (e.g. `"--format='%i %T'"` or `shlex.join`).
        """
        return [str(binary("ssh")), *self.ssh_options(known_hosts), f"{self.user}@{self.host}", *remote_args]

    def ssh(
        self, *remote_args: str, known_hosts: Path | None = None, timeout: float = 30.0
    ) -> subprocess.CompletedProcess[str]:
        """Run `ssh_argv(*remote_args)` and return its result (exit 255: ssh itself failed)."""
        return run(self.ssh_argv(*remote_args, known_hosts=known_hosts), timeout=timeout)


def _read_from(path: Path, offset: int) -> str:
    try:
        with path.open("rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""
