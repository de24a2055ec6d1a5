"""The `progress-card` command: wires the real clients and the clock, then runs one update."""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn

import click
from huggingface_hub import set_client_factory

from . import __version__, actions
from .compute import FinishDetector, JobsClient, SshClient
from .editing import JobsFile
from .errors import ManifestError, TellingError
from .manifest import Job, Manifest, load_manifest
from .notes import Notebook
from .options import REFRESH_AFTER, Options
from .plan import Plan
from .redaction import Redactor, secrets_from
from .report import Report
from .run import apply, plan
from .services import Services
from .storage import QUOTA_WAIT, HubClient, InputTotals, ShardMemory, Storage
from .storage.quota import RateLimits
from .storage.transport import RetryPolicy
from .total import resolve_total

if TYPE_CHECKING:
    from .telling import Audience, GitHubRepository

log = logging.getLogger("progress_card")

JOBS_OPTION = click.option(
    "--jobs",
    "jobs_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default="jobs.yaml",
    show_default=True,
    help="The manifest listing the jobs.",
)


STATE_DIR_OPTION = click.option(
    "--state-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=".progress-card",
    show_default=True,
    help="Where each shard's row count is remembered between runs (safe to delete; it only saves time).",
)
NOTIFY_OPTION = click.option(
    "--notify",
    "notify_urls",
    multiple=True,
    metavar="URL",
    envvar="PROGRESS_CARD_NOTIFY",
    help="An apprise URL to notify of each event (repeatable; or PROGRESS_CARD_NOTIFY, space-separated).",
)
_NOISY = ("httpx", "httpx2", "urllib3", "huggingface_hub", "datasets", "fsspec")


def _verbose(context: click.Context, parameter: click.Parameter, verbose: bool) -> None:
    """Log every step, the libraries' too: before the command (`progress-card -v update`) or after it
    (`progress-card update -v`)."""
    if verbose:
        logging.getLogger().setLevel(logging.DEBUG)
        for noisy in _NOISY:
            logging.getLogger(noisy).setLevel(logging.NOTSET)


VERBOSE_OPTION = click.option(
    "-v",
    "--verbose",
    is_flag=True,
    expose_value=False,
    callback=_verbose,
    help="Log every step, not just the outcome.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="progress-card")
@click.option("-v", "--verbose", is_flag=True, help="Log every step, not just the outcome.")
def main(verbose: bool) -> None:
    """Keep the progress bar of Hugging Face dataset cards up to date while generation jobs upload shards."""
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(levelname)s %(message)s",
    )
    if not verbose:
        for noisy in _NOISY:
            logging.getLogger(noisy).setLevel(logging.WARNING)


@main.command(short_help="Count each job's shards, push its card's progress.")
@JOBS_OPTION
@VERBOSE_OPTION
@click.option("--only", "only", multiple=True, metavar="NAME", help="Update only this job (repeatable).")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print the plan (each repo's commit and card diff, the jobs it would mark, the issues and "
    "notifications it would make); write nothing at all, the state folder included.",
)
@STATE_DIR_OPTION
@click.option(
    "--refresh-after",
    type=click.FloatRange(min=0),
    default=REFRESH_AFTER.total_seconds() / 3600,
    show_default=True,
    metavar="HOURS",
    help="Push a card whose counts did not change once its Last updated line is this old.",
)
@click.option(
    "--allow-decrease",
    is_flag=True,
    help="Publish a count lower than the card shows (after shards were deleted on purpose).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=30.0,
    show_default=True,
    metavar="SECONDS",
    help="Give up on one request to the Hub after this long (it is then retried).",
)
@click.option(
    "--give-up-after",
    type=click.FloatRange(min=1),
    default=RetryPolicy().total_seconds,
    show_default=True,
    metavar="SECONDS",
    help="Stop retrying a failing Hub call after this long; the job then fails and its card is left as it was.",
)
@click.option(
    "--quota-wait",
    type=click.FloatRange(min=0),
    default=QUOTA_WAIT,
    show_default=True,
    metavar="SECONDS",
    help="Wait at most this long in all for the Hub's rate-limit windows to reset; a count that needs "
    "more is saved, reported as still counting, and continued by the next run.",
)
@click.option(
    "--issues",
    is_flag=True,
    help="Open, comment on and close an incident issue per job that needs a person, in the repository "
    "GITHUB_REPOSITORY (API at GITHUB_API_URL, token in GITHUB_TOKEN).",
)
@NOTIFY_OPTION
@click.option(
    "--keep-alive",
    is_flag=True,
    help="Keep this run's workflow enabled through GitHub's API (GITHUB_WORKFLOW_REF), which GitHub "
    "turns off in a public repository after 60 days without activity.",
)
@click.option(
    "--status-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Keep a status page of all jobs there: README.md (a table, and each job's chart), <job>.svg "
    "and <job>.json (a shields.io badge); files change only when their news does.",
)
def update(
    jobs_path: Path,
    only: tuple[str, ...],
    dry_run: bool,
    state_dir: Path,
    refresh_after: float,
    allow_decrease: bool,
    timeout: float,
    give_up_after: float,
    quota_wait: float,
    issues: bool,
    notify_urls: tuple[str, ...],
    status_dir: Path | None,
    keep_alive: bool,
) -> None:
    """Count what each job has uploaded and push its progress into the dataset card.

    Exit status: 0 when every job was updated, 1 when at least one failed (the others still
    ran), 2 when the manifest or the command line is wrong (nothing is written); a job still
    counting when the rate-limit wait runs out is not a failure. SIGTERM stops a count under way
    (what it read is saved), lets a push under way finish, then exits with 143.

    \b
    Environment:
      HF_TOKEN             a Hugging Face token with write access to the dataset repos
      SSH_PRIVATE_KEY      the private key for the login nodes (or ssh: key_file in jobs.yaml)
      SSH_KNOWN_HOSTS      the login nodes' known_hosts lines (or ssh: known_hosts)
      PROGRESS_CARD_NOTIFY apprise URLs, space-separated (as --notify)
      GITHUB_REPOSITORY, GITHUB_TOKEN, GITHUB_API_URL, GITHUB_WORKFLOW_REF
                           for --issues and --keep-alive (Actions sets them)
    """
    manifest = _load(jobs_path)
    try:
        jobs = manifest.select(only)
    except ManifestError as error:
        _fail_usage(error)
    _refuse_unknown_urls(notify_urls)
    redact = _redactor(jobs, notify_urls)
    limits = RateLimits(budget=quota_wait)
    hub = _hub_client(
        HubClient(timeout=timeout, retry=RetryPolicy(total_seconds=give_up_after), limits=limits)
    )
    options = Options(
        now=datetime.now(timezone.utc),
        dry_run=dry_run,
        refresh_after=timedelta(hours=refresh_after),
        allow_decrease=allow_decrease,
    )
    audience = _audience(issues, notify_urls, state_dir, redact) if issues or notify_urls else None
    with (
        redact.guarding(logging.getLogger().handlers),
        _StopOnSignal(limits.stop) as stop,
        SshClient() as ssh,
    ):
        options = replace(options, should_stop=stop.requested)
        wired = services(manifest, jobs, hub, ssh, state_dir, options, status_dir, audience)
        if dry_run:
            report = _print_plan(plan(jobs, wired, options), jobs, audience, redact)
        else:
            report = apply(plan(jobs, wired, options), wired, options)
            if keep_alive:
                report = replace(report, warnings=(*report.warnings, *_keep_alive()))
    _print_report(report, redact)
    sys.exit(128 + stop.signal if stop.signal else report.exit_code)


def _refuse_unknown_urls(notify_urls: tuple[str, ...]) -> None:
    """Exit 2 before anything runs when a --notify URL is not one apprise understands."""
    if notify_urls:
        from .telling.notify import Notifier

        if invalid := Notifier(notify_urls).invalid():
            _fail_usage(ManifestError([f"--notify: not a URL apprise understands: {url}" for url in invalid]))


def _redactor(jobs: Sequence[Job], notify_urls: tuple[str, ...]) -> Redactor:
    """What must never be printed: the tokens and keys in the environment, and the notify URLs."""
    keys = [job.login.key_variable for job in jobs if job.login and job.login.key_variable]
    return Redactor([*secrets_from(os.environ, keys), *notify_urls])


def _hub_client(hub: HubClient) -> HubClient:
    """`hub`, made the client of huggingface_hub's own requests too: our timeout and rate limits."""
    set_client_factory(hub.http_client)
    return hub


def _print_plan(planned: Plan, jobs: Sequence[Job], audience: Audience | None, redact: Redactor) -> Report:
    """A dry run's output: the plan, and what telling people would do; its report."""
    click.echo(redact(planned.describe()), nl=False)
    if audience is not None:
        from .telling import plan as plan_telling

        click.echo(redact(plan_telling(planned.expected, jobs, audience).describe()), nl=False)
    return planned.dry_run


def _print_report(report: Report, redact: Redactor) -> None:
    """A line per job and the run's warnings on stderr; in Actions, annotations and outputs too."""
    for job in report.jobs:
        click.echo(redact(job.summary()), err=True)
    for warning in report.warnings:  # beyond the jobs: telling people, keeping the workflow enabled
        click.echo(redact(f"warning: {warning}"), err=True)
    if os.environ.get("GITHUB_ACTIONS") == "true":
        _report_to_actions(report, redact)
        for warning in report.warnings:
            click.echo(redact(f"::warning title=progress-card::{warning}"))


def services(
    manifest: Manifest,
    jobs: Sequence[Job],
    hub: HubClient,
    ssh: SshClient,
    state_dir: Path,
    options: Options,
    status_dir: Path | None = None,
    audience: Audience | None = None,
) -> Services:
    """The real clients behind an update: the Hub, the clusters, the state folder and jobs.yaml, and
    the status page and the people told once the cards are pushed. A dry run's write nothing."""
    writable = not options.dry_run
    storage = Storage(hub)
    totals = InputTotals.in_folder(state_dir, writable)
    jobs_file = JobsFile(manifest.path)

    def publish(report: Report) -> None:
        from .status import write_status  # matplotlib: imported only by the runs that draw

        assert status_dir is not None
        write_status(status_dir, report, manifest.jobs, options.now)

    return Services(
        storage=storage,
        resolve_total=lambda job: resolve_total(job, storage, totals),
        verdicts=FinishDetector(ssh, JobsClient(hub)).verdicts,
        mark=jobs_file.mark,
        memory=lambda location: ShardMemory.in_folder(state_dir, location, writable),
        notebook=Notebook(state_dir, writable),
        tell=(lambda report: _tell(report, jobs, audience)) if audience is not None else None,
        publish=publish if status_dir is not None else None,
    )


def _tell(report: Report, jobs: Sequence[Job], audience: Audience) -> list[str]:
    """Tell people; whatever goes wrong there is a warning, never a failed update."""
    from .telling import tell

    try:
        return tell(report, jobs, audience)
    except Exception as error:  # the cards are updated already: this must not fail the run
        log.exception("telling people failed")
        return [f"incident issues and notifications failed: {type(error).__name__}: {error}"]


def _github() -> GitHubRepository | None:
    """The workflow's repository through GitHub's API, from the environment the workflow gives; None
    when GITHUB_REPOSITORY or GITHUB_TOKEN is missing."""
    from .telling import GitHubRepository  # PyGithub and apprise: imported only by the runs that tell

    environ = os.environ
    repository, token = environ.get("GITHUB_REPOSITORY"), environ.get("GITHUB_TOKEN")
    if not (repository and token):
        return None
    return GitHubRepository(environ.get("GITHUB_API_URL", "https://api.github.com"), repository, token)


def _audience(issues: bool, notify_urls: tuple[str, ...], state_dir: Path, redact: Redactor) -> Audience:
    """Who to tell, from the options and the environment the workflow gives."""
    from .telling import Audience, Notifier

    environ = os.environ
    server, run_id = environ.get("GITHUB_SERVER_URL", "https://github.com"), environ.get("GITHUB_RUN_ID")
    run_url = (
        f"{server}/{environ['GITHUB_REPOSITORY']}/actions/runs/{run_id}"
        if run_id and environ.get("GITHUB_REPOSITORY")
        else None
    )
    github = _github() if issues else None
    if issues and github is None:
        log.warning(
            "--issues needs GITHUB_REPOSITORY and GITHUB_TOKEN in the environment; no issues this run"
        )
    return Audience(github, Notifier(notify_urls), state_dir, run_url, redact)


def _workflow_file() -> str | None:
    """The running workflow's file name under .github/workflows/, from GITHUB_WORKFLOW_REF
    (`owner/repo/.github/workflows/progress.yml@refs/heads/main`)."""
    reference = os.environ.get("GITHUB_WORKFLOW_REF", "")
    return reference.partition("@")[0].rpartition("/.github/workflows/")[2] or None


def _keep_alive() -> list[str]:
    """Keep this run's own workflow enabled (GITHUB_WORKFLOW_REF names it); a warning when it cannot be."""
    workflow = _workflow_file()
    if workflow is None:
        return ["--keep-alive: GITHUB_WORKFLOW_REF does not name a workflow file; nothing kept enabled"]
    github = _github()
    if github is None:
        return [
            "--keep-alive needs GITHUB_REPOSITORY and GITHUB_TOKEN in the environment; the workflow was not kept enabled"
        ]
    try:
        github.keep_enabled(workflow)
    except TellingError as error:
        return [str(error)]
    return []


class _StopOnSignal:
    """SIGTERM and SIGINT ask the run to stop: counts and waits end, writes under way complete."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self, on_stop: Callable[[], None]) -> None:
        self.signal = 0
        self._on_stop = on_stop
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _StopOnSignal:
        for number in self.SIGNALS:
            self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *_: object) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)

    def _handle(self, number: int, frame: FrameType | None) -> None:
        if self.signal:
            raise KeyboardInterrupt  # a second signal: stop now
        self.signal = number
        self._on_stop()
        log.warning(
            "received signal %d: saving what was counted, finishing writes under way, then stopping", number
        )

    def requested(self) -> bool:
        return self.signal != 0


def _report_to_actions(report: Report, redact: Redactor) -> None:
    """Annotations on stdout; the step summary and outputs in the files Actions names."""
    for line in actions.workflow_commands(report):
        click.echo(redact(line))
    summary, output = os.environ.get("GITHUB_STEP_SUMMARY"), os.environ.get("GITHUB_OUTPUT")
    if summary:
        with Path(summary).open("a", encoding="utf-8") as file:
            file.write(redact(actions.step_summary(report)))
    if output:
        values = {name: redact(value) for name, value in actions.outputs(report).items()}
        with Path(output).open("a", encoding="utf-8") as file:
            file.write(actions.output_file_text(values))


def _load(path: Path) -> Manifest:
    try:
        return load_manifest(path)
    except ManifestError as error:
        _fail_usage(error)


def _fail_usage(error: ManifestError) -> NoReturn:
    for problem in error.problems:
        click.echo(f"error: {problem}", err=True)
    sys.exit(2)


from . import cli_jobs, cli_setup  # noqa: E402  (register their commands on the group)

__all__ = ["cli_jobs", "cli_setup", "main", "services"]
