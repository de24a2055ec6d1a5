"""`progress-card check`: everything a run would touch, tried once, one line each, writing nothing.

The Hub token, each dataset a card goes to and each login node first; then each job as a dry run
plans it (where its shards were looked for, its total, what its compute and its logging folder
say); then each notification URL, and GitHub. A job's compute warnings (a job id the
queue never knew, a logging folder that is not there) are failures here: a run would go on without
them, but nobody would see the job properly. Exit 0 only when nothing failed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

import yaml
from huggingface_hub.errors import HfHubHTTPError

from .compute import SshClient
from .compute.slurm.login import UNREACHED, Login
from .compute.slurm.script import asks_cluster
from .errors import JobError, SshConfigError, TellingError
from .manifest import Job
from .options import Options
from .report import JobReport, Status
from .run import plan
from .services import Services
from .storage import HubClient
from .storage.hub import ANONYMOUS, OFFLINE

if TYPE_CHECKING:
    from .telling import GitHubRepository

SSH_PROBE = "echo progress-card; command -v squeue >/dev/null 2>&1 && echo squeue || echo no-squeue\n"
"""What is run on each login node: that it runs scripts at all, and that squeue is on a login shell's PATH."""


class Mark(Enum):
    OK = "✓"
    WARN = "⚠"
    FAIL = "✗"


@dataclass(frozen=True)
class Finding:
    """One line of the check: what was tried, and what came of it (with what to do when it failed)."""

    subject: str
    mark: Mark
    said: str

    def line(self) -> str:
        return f"{self.mark.value} {self.subject}: {self.said}"


def ok(subject: str, said: str) -> Finding:
    return Finding(subject, Mark.OK, said)


def fail(subject: str, said: str) -> Finding:
    return Finding(subject, Mark.FAIL, said)


@dataclass(frozen=True)
class GitHubTarget:
    """The GitHub side of a run, as the workflow gives it: the incident issues' repository, the
    workflow kept enabled; `problem` says why it cannot be reached (variables missing)."""

    repository: GitHubRepository | None
    issues: bool
    workflow: str | None
    """The workflow to keep enabled (a file name under .github/workflows/), with --keep-alive."""
    problem: str | None = None
    permissions: dict[str, str] | None = None
    """What the running workflow's file grants its token, when the file is here (a checkout)."""


def granted(workflow_text: str) -> dict[str, str]:
    """The permissions a workflow grants its token: the top level's, then each job's, the widest kept."""
    document = yaml.safe_load(workflow_text)
    found: dict[str, str] = {}
    scopes = [document] if isinstance(document, dict) else []
    scopes += (
        [job for job in (document.get("jobs") or {}).values() if isinstance(job, dict)] if scopes else []
    )
    for scope in scopes:
        permissions = scope.get("permissions")
        if permissions == "write-all":
            return {"*": "write"}
        if isinstance(permissions, dict):
            for name, level in permissions.items():
                if found.get(str(name)) != "write":
                    found[str(name)] = str(level)
    return found


def _grant(target: GitHubTarget, permission: str, subject: str, fine: str) -> Finding:
    """The finding of a GitHub read that worked: the permission the write needs, as the workflow grants it."""
    if target.permissions is None:
        return ok(subject, f"{fine}; writing needs `{permission}: write` in the workflow's permissions")
    if "write" in (target.permissions.get(permission), target.permissions.get("*")):
        return ok(subject, f"{fine}, and the workflow grants `{permission}: write`")
    return fail(
        subject, f"{fine}, but the workflow does not grant `{permission}: write`: add it under permissions:"
    )


def check_hub(hub: HubClient, jobs: Sequence[Job]) -> list[Finding]:
    """The token: there, and known to the Hub (for the jobs that need the Hub at all)."""
    if not any(job.needs_hub for job in jobs):
        return []
    try:
        hub.online("the Hub")
    except JobError:
        return [fail("Hugging Face Hub", OFFLINE)]
    if not hub.has_token:
        return [fail("Hugging Face token", ANONYMOUS)]
    try:
        who = hub.call("asking the Hub who the token belongs to", lambda: hub.api.whoami())
    except JobError as error:
        return [fail("Hugging Face token", str(error))]
    except HfHubHTTPError as error:  # 401 for a token the Hub does not know
        return [
            fail(
                "Hugging Face token",
                f"refused by {hub.endpoint} ({str(error).splitlines()[0]}): make a new one at "
                "https://huggingface.co/settings/tokens with write access, and set HF_TOKEN to it",
            )
        ]
    orgs = [org.get("name", "?") for org in who.get("orgs", [])]
    member = f", member of {', '.join(orgs)}" if orgs else ""
    return [ok("Hugging Face token", f"{who.get('name', '?')}'s{member}")]


def check_datasets(jobs: Sequence[Job], services: Services) -> list[Finding]:
    """Each dataset a card goes to: there, readable, and writable by the token."""
    findings = []
    seen: set[str] = set()
    for job in jobs:
        home = job.card_home
        if home is None or home.url in seen:
            continue
        seen.add(home.url)
        dataset = services.storage.open(home)
        try:
            card = dataset.snapshot().read_card()
            dataset.check_writable()
        except JobError as error:
            findings.append(fail(str(home), str(error)))
            continue
        findings.append(
            ok(str(home), "readable, and the card can be pushed" + ("" if card else " (no card yet)"))
        )
    return findings


def check_logins(jobs: Sequence[Job], ssh: SshClient) -> list[Finding]:
    """Each login node: reached, host key known, key accepted, squeue found."""
    findings = []
    logins: dict[str, Login] = {}
    for job in jobs:
        if job.login is not None and asks_cluster(job):
            logins.setdefault(job.login.target, job.login)
    for target, login in logins.items():
        try:
            result = login.run(SSH_PROBE, ssh)
        except SshConfigError as error:  # settings refused before ssh ran (a key file that is not there)
            findings.append(fail(target, str(error)))
            continue
        if result.exit_code == UNREACHED or b"progress-card" not in result.stdout:
            findings.append(fail(target, login.explain(result)))
        elif b"no-squeue" in result.stdout:
            findings.append(fail(target, "reached, but squeue is not on a login shell's PATH there"))
        else:
            findings.append(ok(target, "reached (host key known, key accepted), squeue found"))
    return findings


def check_jobs(jobs: Sequence[Job], services: Services, options: Options) -> list[Finding]:
    """Each job, as a dry run plans it."""
    findings = []
    for row in plan(jobs, services, options).rows:
        findings += job_findings(row)
    return findings


def job_findings(row: JobReport) -> list[Finding]:
    """The lines of one job: failed, or what was found, then its compute's warnings (failures here) and
    the others (warnings)."""
    subject = f"job {row.name}"
    if row.status is Status.SKIPPED:
        return [ok(subject, f"finished ({row.earlier}); not followed any more")]
    if row.error is not None:
        return [fail(subject, row.error)]
    progress = row.progress
    if progress is None:
        return [fail(subject, "; ".join(row.warnings) or row.status.value)]
    compute = set(progress.verdict.warnings)
    findings = [ok(subject, f"{progress.done:,}/{progress.total:,} documents: {progress.found}")]
    findings += [fail(subject, warning) for warning in progress.verdict.warnings]
    findings += [Finding(subject, Mark.WARN, warning) for warning in row.warnings if warning not in compute]
    return findings


def check_notify(urls: Sequence[str], test: Callable[[str], str | None] | None) -> list[Finding]:
    """Each notification URL: one apprise understands; with `test`, a message sent through it."""
    from .telling.notify import describe, understood

    findings = []
    for url in urls:
        subject = f"notify {describe(url)}"
        if not understood(url):
            findings.append(
                fail(subject, "not a URL apprise understands: see https://github.com/caronc/apprise/wiki")
            )
            continue
        problem = test(url) if test is not None else None
        if problem:
            findings.append(fail(subject, problem))
        else:
            findings.append(ok(subject, "test message sent" if test is not None else "understood"))
    return findings


def check_github(target: GitHubTarget | None) -> list[Finding]:
    """The incident issues' repository, readable; the workflow, found, so that it can be kept enabled."""
    if target is None:
        return []
    if target.problem is not None:
        return [fail("GitHub", target.problem)]
    repository = target.repository
    assert repository is not None  # no problem: reachable
    findings = []
    if target.issues:
        try:
            repository.open_incidents()
            findings.append(
                _grant(target, "issues", f"GitHub {repository.repository}", "its issues can be read")
            )
        except TellingError as error:
            findings.append(fail(f"GitHub {repository.repository}", str(error)))
    if target.workflow is not None:
        try:
            state = repository.workflow_state(target.workflow)
            findings.append(_grant(target, "actions", f"GitHub {target.workflow}", f"found ({state})"))
        except TellingError as error:
            findings.append(fail(f"GitHub {target.workflow}", str(error)))
    return findings
