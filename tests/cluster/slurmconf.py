"""slurm.conf for a one-node Slurm on loopback, independent of the machine's host name."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

NODE = "node1"
PARTITION = "debug"
# slurmctld purges every max(10, MinJobAge) s, so a finished job leaves squeue (-> "Invalid job id
# specified") 5 to ~15 s after it ended: long enough to see its final state, short enough to wait for.
MIN_JOB_AGE = 5


@dataclass(frozen=True)
class SlurmConf:
    """Where a test Slurm keeps its state, logs and sockets, and the two ports it listens on."""

    root: Path
    munge_socket: Path
    ctld_port: int
    slurmd_port: int
    cpus: int
    memory_mb: int = 16 * 1024

    @property
    def path(self) -> Path:
        """The slurm.conf file (what `SLURM_CONF` points at)."""
        return self.root / "slurm.conf"

    @property
    def ctld_log(self) -> Path:
        """slurmctld's log file."""
        return self.root / "slurmctld.log"

    @property
    def slurmd_log(self) -> Path:
        """slurmd's log file."""
        return self.root / "slurmd.log"

    def render(self) -> str:
        """The file's text.

        `localhost(127.0.0.1)` as controller and `NodeAddr=127.0.0.1` keep every connection on loopback
        whatever the host name resolves to; `NoInAddrAny`/`NoCtldInAddrAny` bind the daemons to 127.0.0.1.
        `config_overrides` lets the node claim at least 4 CPUs on a smaller machine (jobs here only sleep),
        and `memory_mb` of memory, so that jobs asking for some (`--mem-per-cpu=2G`, as datatrove's do) can
        be placed; with `CR_Core` memory is not a consumable resource, so it is never enforced.
        """
        root = self.root
        lines = [
            "ClusterName=loopback",
            "SlurmctldHost=localhost(127.0.0.1)",
            "SlurmUser=root",
            "SlurmdUser=root",
            f"SlurmctldPort={self.ctld_port}",
            f"SlurmdPort={self.slurmd_port}",
            "CommunicationParameters=NoInAddrAny,NoCtldInAddrAny",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={self.munge_socket}",
            f"StateSaveLocation={root / 'state'}",
            f"SlurmdSpoolDir={root / 'spool'}",
            f"SlurmctldPidFile={root / 'slurmctld.pid'}",
            f"SlurmdPidFile={root / 'slurmd.pid'}",
            f"SlurmctldLogFile={self.ctld_log}",
            f"SlurmdLogFile={self.slurmd_log}",
            f"PlugStackConfig={root / 'plugstack.conf'}",
            "MailProg=/bin/true",
            "SwitchType=switch/none",
            "MpiDefault=none",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "JobCompType=jobcomp/none",
            "SchedulerType=sched/backfill",
            "SchedulerParameters=batch_sched_delay=0",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core",
            "SlurmdParameters=config_overrides",
            "ReturnToService=2",
            f"MinJobAge={MIN_JOB_AGE}",
            "KillWait=2",
            "FirstJobId=1000",
            f"NodeName={NODE} NodeAddr=127.0.0.1 NodeHostname=localhost CPUs={self.cpus} "
            f"RealMemory={self.memory_mb} State=UNKNOWN",
            f"PartitionName={PARTITION} Nodes={NODE} Default=YES MaxTime=INFINITE State=UP",
        ]
        return "\n".join(lines) + "\n"

    def write(self) -> Path:
        """Create the directories and write slurm.conf (and an empty plugstack.conf); return its path."""
        for sub in ("state", "spool"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        (self.root / "plugstack.conf").write_text("", encoding="utf-8")
        self.path.write_text(self.render(), encoding="utf-8")
        return self.path
