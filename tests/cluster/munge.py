"""A private munged: its own key, socket, log and seed files under one directory."""

from __future__ import annotations

import os
from pathlib import Path

from .procs import Daemon, DaemonError, poll, run
from .system import binary


class Munge:
    """munged in the foreground with a fresh random key; Slurm finds it through `AuthInfo=socket=...`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.key = root / "munge.key"
        self.socket = root / "munge.socket"
        self.log = root / "munged.log"
        self.daemon = Daemon(
            "munged",
            [
                binary("munged"),
                "--foreground",
                f"--key-file={self.key}",
                f"--socket={self.socket}",
                f"--pid-file={root / 'munged.pid'}",
                f"--log-file={self.log}",
                f"--seed-file={root / 'munged.seed'}",
                "--origin=127.0.0.1",
            ],
            output=root / "munged.out",
            logs=[self.log],
        )

    def start(self, timeout: float = 10.0) -> None:
        """Write a key, start munged and wait until a credential round-trips through its socket."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)
        # munged insists that every directory above its socket is searchable by all.
        closed = [str(d) for d in self.root.parents if d.stat().st_mode & 0o111 != 0o111]
        if closed:
            raise DaemonError(f"munged refuses a socket under {closed}: not searchable by all (set TMPDIR)")
        if not self.key.exists():
            self.key.write_bytes(os.urandom(1024))
            self.key.chmod(0o400)
        self.daemon.start()

        def ready() -> bool:
            self.daemon.check_alive()
            return self.socket.exists() and self.works()

        poll(ready, timeout=timeout, what="munged answering on its socket", details=self.daemon.diagnostics)

    def works(self) -> bool:
        """Whether `munge -n | unmunge` succeeds through this daemon's socket."""
        credential = run([binary("munge"), "-n", "-S", self.socket], timeout=5)
        if credential.returncode != 0:
            return False
        decoded = run([binary("unmunge"), "-S", self.socket], input=credential.stdout, timeout=5)
        return decoded.returncode == 0 and "Success" in decoded.stdout

    def stop(self) -> None:
        """Stop munged."""
        self.daemon.stop()

    def check(self) -> None:
        """Raise DaemonError unless munged is up and answering."""
        self.daemon.check_alive()
        if not self.works():
            raise DaemonError(f"munged does not answer on {self.socket}\n{self.daemon.diagnostics()}")
