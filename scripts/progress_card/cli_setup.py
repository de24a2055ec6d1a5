"""The set-up commands: `init` writes a repository's starting files, `check` tries everything a run
would touch. Registered on the `progress-card` group by cli.py."""

from __future__ import annotations

import os
import sys
from datetime import datetime, timezone
from pathlib import Path

import click

from . import checking, starting
from .cli import (
    JOBS_OPTION,
    NOTIFY_OPTION,
    STATE_DIR_OPTION,
    VERBOSE_OPTION,
    _github,
    _hub_client,
    _load,
    _workflow_file,
    main,
    services,
)
from .compute import SshClient
from .options import Options
from .storage import HubClient


@main.command(short_help="Write jobs.yaml, the workflow, .gitignore's line.")
@click.option(
    "--action-ref",
    metavar="COMMIT",
    help=f"The commit of the action's release to pin in the workflow (default: the commit of {starting.RELEASE}, "
    f"asked of GitHub's API at GITHUB_API_URL).",
)
@click.option("--force", is_flag=True, help="Replace jobs.yaml and the workflow when they exist.")
@click.option(
    "--directory",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    default=".",
    help="The repository to set up (default: here).",
)
def init(action_ref: str | None, force: bool, directory: Path) -> None:
    """Set a repository up: a commented jobs.yaml, the hourly workflow, and .gitignore's line for the
    state folder; then print the next steps (secrets, a first job, a check). Never replaces a file
    without --force."""
    try:
        pin = starting.Pin(action_ref) if action_ref else starting.Pin(_release_commit())
    except (ValueError, LookupError) as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(2)
    written: list[Path] = []
    for relative, text in (
        (starting.JOBS, starting.jobs_yaml()),
        (starting.WORKFLOW, starting.workflow(pin)),
    ):
        path = directory / relative
        if path.exists() and not force:
            click.echo(f"{relative}: exists, left as it is (--force replaces it)", err=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(relative)
        click.echo(f"{relative}: written", err=True)
    ignore = directory / ".gitignore"
    updated = starting.gitignore(ignore.read_text(encoding="utf-8") if ignore.exists() else None)
    if updated is not None:
        ignore.write_text(updated, encoding="utf-8")
        written.append(Path(".gitignore"))
        click.echo(f".gitignore: {starting.IGNORED} added", err=True)
    click.echo(starting.next_steps(written), nl=False)


def _release_commit() -> str:
    """The commit the tag of this version's release names, from GitHub's API."""
    from github import Auth, Github, GithubException

    api = os.environ.get("GITHUB_API_URL", "https://api.github.com")
    token = os.environ.get("GITHUB_TOKEN")
    github = Github(auth=Auth.Token(token) if token else None, base_url=api, timeout=15, retry=2, lazy=True)
    try:
        repository = github.get_repo(starting.ACTION_REPOSITORY)
        target = repository.get_git_ref(f"tags/{starting.RELEASE}").object
        if target.type == "tag":  # an annotated tag: the commit is behind it
            target = repository.get_git_tag(target.sha).object
        return str(target.sha)
    except (GithubException, OSError) as error:
        why = f"GitHub answered {error.status}" if isinstance(error, GithubException) else str(error)
        raise LookupError(
            f"cannot find the commit of progress-card's release {starting.RELEASE} at {api} ({why}); give it "
            f"with --action-ref COMMIT: `git ls-remote https://github.com/{starting.ACTION_REPOSITORY} "
            f"refs/tags/{starting.RELEASE}^{{}}` prints it"
        ) from None


@main.command(short_help="Try everything a run touches; write nothing.")
@JOBS_OPTION
@VERBOSE_OPTION
@STATE_DIR_OPTION
@NOTIFY_OPTION
@click.option("--test-notify", is_flag=True, help="Send a test message through each notification URL.")
@click.option(
    "--issues",
    is_flag=True,
    help="Check that the incident issues can be read (GITHUB_REPOSITORY, GITHUB_TOKEN).",
)
@click.option(
    "--keep-alive",
    is_flag=True,
    help="Check that the workflow (GITHUB_WORKFLOW_REF) can be found to keep it enabled.",
)
def check(
    jobs_path: Path,
    state_dir: Path,
    notify_urls: tuple[str, ...],
    test_notify: bool,
    issues: bool,
    keep_alive: bool,
) -> None:
    """Try everything a run would touch, once, and write nothing: the Hugging Face token, each dataset
    (read, and whether the card can be pushed), each login node, each job as a dry run sees it (its
    shards, its total, its job ids, its logging folder), each notification URL, GitHub.

    One line each: ✓, ⚠ (a run works, but look), or ✗ with what to do. Exit status: 0 when nothing
    failed, 1 otherwise, 2 when the manifest is wrong. Reads HF_TOKEN, SSH_PRIVATE_KEY and
    SSH_KNOWN_HOSTS as update does.
    """
    manifest = _load(jobs_path)
    hub = _hub_client(HubClient())
    options = Options(now=datetime.now(timezone.utc), dry_run=True)
    findings: list[checking.Finding] = checking.check_hub(hub, manifest.jobs)
    with SshClient() as ssh:
        wired = services(manifest, manifest.jobs, hub, ssh, state_dir, options)
        findings += checking.check_datasets(manifest.jobs, wired)
        findings += checking.check_logins(manifest.jobs, ssh)
        findings += checking.check_jobs(manifest.jobs, wired, options)
    findings += checking.check_notify(notify_urls, _test_message if test_notify else None)
    findings += checking.check_github(_github_target(issues, keep_alive))
    for finding in findings:
        click.echo(finding.line())
    failed = sum(finding.mark is checking.Mark.FAIL for finding in findings)
    click.echo(
        f"{len(findings)} checks, {failed} failed" if failed else f"{len(findings)} checks, all passed",
        err=True,
    )
    sys.exit(1 if failed else 0)


def _test_message(url: str) -> str | None:
    from .telling.notify import Notifier

    return Notifier([url]).send(
        "progress-card: test message", "progress-card check --test-notify reached you."
    )


def _github_target(issues: bool, keep_alive: bool) -> checking.GitHubTarget | None:
    if not (issues or keep_alive):
        return None
    workflow = _workflow_file()
    if keep_alive and workflow is None:
        return checking.GitHubTarget(
            None, issues, None, "--keep-alive: GITHUB_WORKFLOW_REF does not name a workflow file"
        )
    repository = _github()
    if repository is None:
        return checking.GitHubTarget(
            None, issues, workflow, "GITHUB_REPOSITORY and GITHUB_TOKEN are not both set"
        )
    local = Path(".github/workflows") / workflow if workflow is not None else None
    permissions = (
        checking.granted(local.read_text(encoding="utf-8")) if local is not None and local.is_file() else None
    )
    return checking.GitHubTarget(
        repository, issues, workflow if keep_alive else None, permissions=permissions
    )
