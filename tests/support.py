"""Builders the tests share: real parquet shards, manifests, and the command run as users run it."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from textwrap import dedent
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from click.testing import CliRunner, Result
from huggingface_hub import set_client_factory

from progress_card.card import CardEntry, describe_progress
from progress_card.card import progress_line as line_of
from progress_card.cli import main, services
from progress_card.compute import SshClient
from progress_card.manifest import Job, load_manifest
from progress_card.model import RUNNING, Arrival, Eta, Silence, Verdict
from progress_card.options import Options
from progress_card.plan import Plan
from progress_card.progress import Progress, card_spec
from progress_card.report import Report
from progress_card.run import plan as plan_core
from progress_card.run import update as update_core
from progress_card.services import Services
from progress_card.storage import HubClient, HubDataset
from progress_card.storage.quota import RateLimits
from progress_card.storage.transport import RetryPolicy
from progress_card.telling import Audience
from tests.cluster import LoopbackCluster
from tests.hubsim import HubSim

ROOT = Path(__file__).parents[1]


def parquet_bytes(rows: int, start: int = 0) -> bytes:
    """A real parquet file with `rows` rows, like a generation job's shard."""
    table = pa.table(
        {
            "id": list(range(start, start + rows)),
            "completion": [f"text {i}" for i in range(start, start + rows)],
        }
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def _varint(value: int) -> bytes:
    """Thrift's compact encoding of an i64: zigzag, then 7 bits a byte."""
    zigzag = (value << 1) ^ (value >> 63)
    out = bytearray()
    while True:
        byte, zigzag = zigzag & 0x7F, zigzag >> 7
        out.append(byte | (0x80 if zigzag else 0))
        if not zigzag:
            return bytes(out)


def claiming_rows(rows: int, claimed: int, *, row_groups_too: bool = True) -> bytes:
    """A shard of `rows` rows whose footer claims `claimed` (its row groups as well, or not): a damaged
    or hostile file. Every i64 field that follows another field (header 0x16) and holds `rows` is
    rewritten; num_rows is one, and its row groups' are next."""
    data = parquet_bytes(rows)
    length = int.from_bytes(data[-8:-4], "little")
    footer = data[-8 - length : -8]
    old, new = b"\x16" + _varint(rows), b"\x16" + _varint(claimed)
    assert old in footer
    doctored = footer.replace(old, new) if row_groups_too else footer.replace(old, new, 1)
    return data[: -8 - length] + doctored + len(doctored).to_bytes(4, "little") + b"PAR1"


def write_shard(path: Path, rows: int, mtime: float | None = None) -> Path:
    """Write a shard at `path`; `mtime` back-dates it (the Hub simulator reports it as its commit time)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(parquet_bytes(rows))
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def write_manifest(folder: Path, text: str) -> Path:
    path = folder / "jobs.yaml"
    path.write_text(dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def datatrove_stats(documents: int, prompt_mean: float = 50.0, completion_mean: float = 300.0) -> str:
    """A stats.json as datatrove's inference pipeline writes it: a reader step, then the inference step."""
    return json.dumps(
        [
            {
                "name": "reader",
                "time_stats": {},
                "stats": {
                    "documents": documents,
                    "doc_len": {"total": documents * 10, "n": documents, "mean": 10.0},
                },
            },
            {
                "name": "inference",
                "time_stats": {},
                "stats": {
                    "documents_processed": documents,
                    "prompt_tokens": {
                        "total": round(documents * prompt_mean),
                        "n": documents,
                        "mean": prompt_mean,
                    },
                    "completion_tokens": {
                        "total": round(documents * completion_mean),
                        "n": documents,
                        "mean": completion_mean,
                    },
                },
            },
        ]
    )


def progress_of(
    done: int,
    total: int,
    *,
    config: str = "default",
    verdict: Verdict = RUNNING,
    eta: Eta | None = None,
    stalled_since: datetime | None = None,
    history: tuple[Arrival, ...] = (),
) -> Progress:
    """A job's progress with the figures a test chooses (its card line says them plainly)."""
    job = Job(config, HubDataset("acme/gen"), config=config, total=total)
    line = line_of(config, done, total, describe_progress(done, total, eta), verdict.tasks)
    entry = CardEntry(card_spec(job, (f"{config}/**/*.parquet",)), line, None, verdict.figures)
    silence = Silence(stalled_since, timedelta(minutes=10), True, stalled=True) if stalled_since else None
    return Progress(done, total, verdict, eta, silence, job.page, entry, history)


def ssh_settings(cluster: LoopbackCluster, **extra: object) -> str:
    """The `ssh:` mapping of a manifest that reaches the loopback cluster, as one line of YAML."""
    settings = {
        "host": cluster.host,
        "port": cluster.port,
        "user": cluster.user,
        "key_file": str(cluster.key_file),
        "known_hosts": str(cluster.known_hosts),
        **extra,
    }
    return json.dumps(settings)


def card(hub: HubSim, repo_id: str = "acme/gen") -> str:
    """The dataset card as it is on the Hub simulator now."""
    return (hub.repo_dir(repo_id) / "README.md").read_text(encoding="utf-8")


def command(*args: str, env: dict[str, str] | None = None) -> Result:
    """`progress-card ARGS...` in this process, as a user would type it (with `env` added)."""
    return CliRunner().invoke(main, list(args), catch_exceptions=False, env=env)


def update(jobs: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    """`progress-card update --jobs JOBS ARGS...`."""
    return command("update", "--jobs", str(jobs), *args, env=env)


def watched(name: str, *job_ids: str, stats_path: str | None = None, logging_dir: str | None = None) -> Job:
    """A job of acme/gen that the cluster is asked about: its Slurm ids, stats path and logging folder."""
    return Job(
        name, HubDataset("acme/gen"), slurm_job_ids=job_ids, stats_path=stats_path, logging_dir=logging_dir
    )


def no_sleep(seconds: float) -> None:
    """A retry's wait, skipped: the tests' faults pass at once or never."""


def hub_client(timeout: float = 30.0, give_up_after: float = 120.0, quota_wait: float = 1200.0) -> HubClient:
    """The Hub client `update` builds, on the simulator, whose retries do not wait; huggingface_hub's
    own requests go through it too, as in the command."""
    client = HubClient(
        timeout=timeout,
        retry=RetryPolicy(total_seconds=give_up_after, sleep=no_sleep),
        limits=RateLimits(budget=quota_wait),
    )
    set_client_factory(client.http_client)
    return client


def update_at(
    jobs: Path,
    now: datetime,
    *,
    hub: HubClient | None = None,
    state: Path | None = None,
    status_dir: Path | None = None,
    audience: Audience | None = None,
    only: Sequence[str] = (),
    **options: Any,
) -> Report:
    """One update through the core with the clock at `now`: the real clients `update` builds, on the
    loopback servers, and a state folder beside the manifest unless `state` says where. With
    `status_dir`, the status page; with `audience`, incident issues and notifications; with `only`,
    those jobs alone. `options` are the run's `Options` (dry_run, allow_decrease, refresh_after...)."""
    chosen = Options(now, **options)
    with _wired(jobs, chosen, hub, state, status_dir, audience, only) as (selected, wired):
        return update_core(selected, wired, chosen)


def plan_at(jobs: Path, now: datetime, *, state: Path | None = None, **options: Any) -> Plan:
    """The plan an update at `now` works out (what a dry run prints), with the same clients."""
    chosen = Options(now, **options)
    with _wired(jobs, chosen, None, state, None, None, ()) as (selected, wired):
        return plan_core(selected, wired, chosen)


@contextmanager
def _wired(
    jobs: Path,
    options: Options,
    hub: HubClient | None,
    state: Path | None,
    status_dir: Path | None,
    audience: Audience | None,
    only: Sequence[str],
) -> Iterator[tuple[tuple[Job, ...], Services]]:
    """The manifest's selected jobs and the services `update` builds for them."""
    manifest = load_manifest(jobs)
    selected = manifest.select(only)
    with SshClient() as ssh:
        folder = state or jobs.parent / "state"
        yield (
            selected,
            services(manifest, selected, hub or hub_client(), ssh, folder, options, status_dir, audience),
        )


def said(report: Report) -> str:
    """What `update` prints of the report: a summary line per job."""
    return "\n".join(job.summary() for job in report.jobs)


def environment(**extra: str) -> dict[str, str]:
    """The environment for `python -m progress_card` in a child process: this one's, plus `extra`."""
    return {**os.environ, "PYTHONPATH": str(ROOT / "scripts"), **extra}
