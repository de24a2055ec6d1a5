"""Run commands and keep daemons in the foreground as children of the test process."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path


class DaemonError(RuntimeError):
    """A daemon did not come up, or died; the message carries its exit status and log tails."""


def run(
    argv: Sequence[str | Path],
    *,
    input: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> subprocess.CompletedProcess[str]:
    """Run a command to completion, capturing text stdout and stderr; never raises on a non-zero exit."""
    return subprocess.run(
        [str(a) for a in argv],
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=dict(env) if env is not None else None,
        timeout=timeout,
        check=False,
    )


def tail(path: Path, lines: int = 20) -> str:
    """The last `lines` lines of a text file, or a note that it does not exist."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return f"({path} does not exist)"
    return "\n".join(text.splitlines()[-lines:]) or f"({path} is empty)"


def poll(
    check: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    details: Callable[[], str] = lambda: "",
    interval: float = 0.05,
) -> None:
    """Call `check` every `interval` s until it is true; raise TimeoutError naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() >= deadline:
            extra = details()
            raise TimeoutError(f"{what}: not within {timeout:g} s" + (f"\n{extra}" if extra else ""))
        time.sleep(interval)


class Daemon:
    """One daemon run in the foreground (its own session), its stdout and stderr appended to `output`."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str | Path],
        *,
        output: Path,
        logs: Sequence[Path] = (),
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.argv = [str(a) for a in argv]
        self.output = output
        self.logs = list(logs)
        self.env = dict(env) if env is not None else None
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the daemon (it must not be running)."""
        if self.running:
            raise DaemonError(f"{self.name} is already running (pid {self.pid})")
        with self.output.open("ab") as out:
            self.process = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
            )

    @property
    def pid(self) -> int | None:
        """The process id while started, else None."""
        return self.process.pid if self.process is not None else None

    @property
    def running(self) -> bool:
        """Whether the process was started and has not exited."""
        return self.process is not None and self.process.poll() is None

    def check_alive(self) -> None:
        """Raise DaemonError with diagnostics if the daemon has exited."""
        if not self.running:
            raise DaemonError(f"{self.name} is not running\n{self.diagnostics()}")

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after `timeout` s; always reaps the process."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout)

    def diagnostics(self, lines: int = 20) -> str:
        """Command line, exit status and the tails of the daemon's output and log files."""
        status = "never started"
        if self.process is not None:
            code = self.process.poll()
            status = "running" if code is None else f"exited with status {code}"
        parts = [f"{self.name} ({status}): {' '.join(self.argv)}"]
        for path in (self.output, *self.logs):
            parts.append(f"--- tail of {path} ---\n{tail(path, lines)}")
        return "\n".join(parts)


def describe(result: subprocess.CompletedProcess[str]) -> str:
    """A command's argv, exit status, stdout and stderr, for assertion and error messages."""
    args = result.args if isinstance(result.args, str) else " ".join(map(str, result.args))
    return f"$ {args}\nexit {result.returncode}\nstdout: {result.stdout!r}\nstderr: {result.stderr!r}"


def cpu_count() -> int:
    """CPUs this process may run on."""
    return len(os.sched_getaffinity(0))
