"""slurmctld and slurmd for one node, and the job commands tests use against them."""

from __future__ import annotations

import os
import pwd
import subprocess
import time
from collections.abc import Callable, Collection
from datetime import datetime, timezone
from pathlib import Path

from .procs import Daemon, describe, poll, run
from .slurmconf import NODE, PARTITION, SlurmConf
from .system import binary

INVALID_JOB_ID = "Invalid job id specified"

StatePredicate = Callable[[list[str]], bool]


class SlurmError(RuntimeError):
    """A Slurm command failed in a way the caller did not expect."""


class Slurm:
    """A running one-node Slurm; `env` carries `SLURM_CONF` for every command run against it."""

    def __init__(self, conf: SlurmConf, shared_dir: Path) -> None:
        self.conf = conf
        self.shared_dir = shared_dir
        self.env = {**os.environ, "SLURM_CONF": str(conf.path)}
        flags = ["-D", "-f", str(conf.path)]
        out = conf.root
        self.slurmctld = Daemon(
            "slurmctld",
            [binary("slurmctld"), *flags, "-c"],
            output=out / "slurmctld.out",
            logs=[conf.ctld_log],
            env=self.env,
        )
        self.slurmd = Daemon(
            "slurmd",
            [binary("slurmd"), *flags, "-N", NODE],
            output=out / "slurmd.out",
            logs=[conf.slurmd_log],
            env=self.env,
        )

    @property
    def conf_path(self) -> Path:
        """The slurm.conf in use (the value of `SLURM_CONF`)."""
        return self.conf.path

    # -- daemons ---------------------------------------------------------------------------------

    def start(self, timeout: float = 20.0) -> None:
        """Write slurm.conf, start both daemons, and wait until `sinfo` shows the partition idle."""
        self.conf.write()
        self.shared_dir.mkdir(parents=True, exist_ok=True)
        self.slurmctld.start()
        self.slurmd.start()

        def idle() -> bool:
            self.slurmctld.check_alive()
            self.slurmd.check_alive()
            states = self.sinfo_states()
            return states == ["idle"]

        poll(
            idle, timeout=timeout, what=f"sinfo showing partition {PARTITION} idle", details=self.diagnostics
        )

    def sinfo_states(self) -> list[str]:
        """The node states `sinfo` reports for the partition (empty if sinfo fails)."""
        result = self._run("sinfo", "--noheader", f"--partition={PARTITION}", "--format=%T", timeout=10)
        return result.stdout.split() if result.returncode == 0 else []

    def stop(self) -> None:
        """Cancel every job, give them a moment to end, then stop slurmd and slurmctld."""
        if self.slurmctld.running:
            user = pwd.getpwuid(os.getuid()).pw_name
            self._run("scancel", f"--user={user}", timeout=10)
            deadline = time.monotonic() + 5
            while (
                time.monotonic() < deadline and self._run("squeue", "--noheader", timeout=10).stdout.strip()
            ):
                time.sleep(0.1)
        self.slurmd.stop()
        self.slurmctld.stop()

    def diagnostics(self) -> str:
        """Both daemons' status and log tails."""
        return f"{self.slurmctld.diagnostics()}\n{self.slurmd.diagnostics()}"

    # -- jobs ------------------------------------------------------------------------------------

    def sbatch(self, *args: str, script: str | None = None, wrap: str | None = None) -> str:
        """Submit a job and return its id (for an array, the array's id).

        Runs `sbatch --parsable --chdir=<shared_dir> --output=<shared_dir>/slurm-%j.out [args]`; `args`
        come after the defaults, so `--output=...` or `--chdir=...` in them win. `script` is fed on stdin
        (a `#!/bin/sh` line is added if it has none); `wrap` becomes `--wrap`; with neither, `args` must
        name a script file.
        """
        if script is not None and wrap is not None:
            raise ValueError("pass script or wrap, not both")
        argv = [
            "--parsable",
            f"--chdir={self.shared_dir}",
            f"--output={self.shared_dir / 'slurm-%j.out'}",
            *args,
        ]
        if wrap is not None:
            argv.append(f"--wrap={wrap}")
        if script is not None and not script.startswith("#!"):
            script = "#!/bin/sh\n" + script
        result = self._run("sbatch", *argv, input=script)
        if result.returncode != 0:
            raise SlurmError(f"sbatch failed\n{describe(result)}")
        return result.stdout.strip().split(";")[0]

    def scancel(self, job_id: str) -> None:
        """Cancel a job (or a whole array)."""
        result = self._run("scancel", job_id)
        if result.returncode != 0:
            raise SlurmError(f"scancel failed\n{describe(result)}")

    def requeue(self, job_id: str) -> None:
        """Put a running job back in the queue, as a node failure or preemption does (`scontrol requeue`)."""
        result = self._run("scontrol", "requeue", job_id)
        if result.returncode != 0:
            raise SlurmError(f"scontrol requeue failed\n{describe(result)}")

    def reason(self, job_id: str) -> str:
        """Why the job is in its state (`%r`: Priority, JobHeldUser, DependencyNeverSatisfied...)."""
        result = self._run(
            "squeue", "--noheader", "--states=all", "--format=%r", f"--jobs={job_id}", timeout=10
        )
        if result.returncode != 0:
            raise SlurmError(f"squeue failed\n{describe(result)}")
        return result.stdout.strip()

    def wait_for_reason(self, job_id: str, reason: str, timeout: float = 30.0) -> None:
        """Poll until squeue gives `reason` for the job."""
        poll(
            lambda: self.reason(job_id) == reason,
            timeout=timeout,
            interval=0.2,
            what=f"job {job_id} pending with reason {reason}",
            details=lambda: f"reason now: {self.reason(job_id)!r}\n{self.diagnostics()}",
        )

    def squeue_rows(self, job_id: str) -> list[tuple[str, str]]:
        """`(id, state)` for each line of `squeue --states=all --jobs=<id>`; [] once the job is unknown.

        An array shows one line per started task (`1000_0`) and one for its pending tasks (`1000_[2-3%2]`).
        """
        result = self._run(
            "squeue", "--noheader", "--states=all", "--format=%i %T", f"--jobs={job_id}", timeout=10
        )
        if result.returncode == 1 and INVALID_JOB_ID in result.stderr:
            return []
        if result.returncode != 0:
            raise SlurmError(f"squeue failed\n{describe(result)}")
        rows = []
        for line in result.stdout.splitlines():
            task, _, state = line.strip().partition(" ")
            if task:
                rows.append((task, state.strip()))
        return rows

    def start_time(self, job_id: str) -> datetime:
        """When Slurm started the job (its `%S`, in UTC, to the second)."""
        result = run(
            [binary("squeue"), "--noheader", "--format=%S", f"--jobs={job_id}"],
            env={**self.env, "TZ": "UTC"},
            timeout=10,
        )
        if result.returncode != 0:
            raise SlurmError(f"squeue failed\n{describe(result)}")
        first = result.stdout.split()[0]
        return datetime.strptime(first, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)

    def squeue_states(self, job_id: str) -> list[str]:
        """The state of each line `squeue --states=all` shows for the job; [] once Slurm forgot it."""
        return [state for _, state in self.squeue_rows(job_id)]

    def wait_for(
        self, job_id: str, until: StatePredicate | Collection[str], timeout: float = 30.0
    ) -> list[str]:
        """Poll `squeue_states` until `until` holds, and return those states.

        `until` is either a predicate on the list of states (it may be empty: the job is gone) or a
        collection of states: then every line must be in it, and there must be at least one line.
        """
        if callable(until):
            predicate = until
        else:
            wanted = set(until)

            def predicate(states: list[str]) -> bool:
                return bool(states) and set(states) <= wanted

        seen: list[list[str]] = []
        current: list[str] = []

        def check() -> bool:
            nonlocal current
            current = self.squeue_states(job_id)
            if not seen or seen[-1] != current:
                seen.append(current)
            return predicate(current)

        target = until if callable(until) else sorted(wanted)
        poll(
            check,
            timeout=timeout,
            interval=0.1,
            what=f"job {job_id} reaching {target}",
            details=lambda: f"states seen, in order: {seen}\n{self.diagnostics()}",
        )
        return current

    def wait_gone(self, job_id: str, timeout: float = 30.0) -> None:
        """Wait until squeue no longer knows the job (`Invalid job id specified`): 2 to ~12 s after it ended."""
        self.wait_for(job_id, lambda states: not states, timeout=timeout)

    def check(self) -> None:
        """Raise DaemonError (from procs) unless both daemons are alive."""
        self.slurmctld.check_alive()
        self.slurmd.check_alive()

    def _run(
        self, command: str, *args: str, input: str | None = None, timeout: float = 30.0
    ) -> subprocess.CompletedProcess[str]:
        return run([binary(command), *args], input=input, env=self.env, timeout=timeout)
