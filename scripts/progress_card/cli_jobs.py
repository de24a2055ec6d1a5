"""The commands that edit jobs.yaml or check it alone: validate, relaunch, add. Each edit keeps the
file's comments and layout, and refuses (exit 2, nothing written) what would make it invalid.
Registered on the `progress-card` group by cli.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from .adding import infer
from .cli import JOBS_OPTION, _fail_usage, _load, main
from .compute import SshClient, valid_hf_job_id, valid_job_id
from .compute.inspect import inspect_folder
from .editing import NewLaunch, add_text, edit_file, relaunch_text
from .errors import ManifestError, MarkingError
from .manifest import default_login
from .starting import jobs_yaml


@main.command(short_help="Check jobs.yaml alone.")
@JOBS_OPTION
def validate(jobs_path: Path) -> None:
    """Check the manifest only: exit 0 when it is valid, 2 with every problem listed otherwise."""
    manifest = _load(jobs_path)
    count = len(manifest.jobs)
    click.echo(f"{jobs_path}: {count} job{'' if count == 1 else 's'}, all valid", err=True)


def _id_option(
    flag: str, name: str, valid: Callable[[str], bool], what: str, help: str
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """A repeatable option of ids, each checked by `valid` (`what` says what one looks like)."""

    def checked(
        context: click.Context, parameter: click.Parameter, values: tuple[str, ...]
    ) -> tuple[str, ...]:
        for value in values:
            if not valid(value):
                raise click.BadParameter(f"not a {what}: {value!r}")
        return values

    return click.option(flag, name, multiple=True, callback=checked, metavar="ID", help=help)


SLURM_JOB_ID_OPTION = _id_option(
    "--slurm-job-id",
    "job_ids",
    valid_job_id,
    "Slurm job id",
    "The Slurm job id (digits; for an array, its base id); repeat it for a job launched as several arrays.",
)
HF_JOB_ID_OPTION = _id_option(
    "--hf-job-id",
    "hf_job_ids",
    valid_hf_job_id,
    "Hugging Face Job id",
    "A Hugging Face Job id (24 hexadecimal digits, as `hf jobs ps` shows), for a job followed by its Jobs' "
    "ids (hf_jobs: ids); repeatable.",
)


@main.command(
    short_help="Follow a job's new launch.", options_metavar="(--slurm-job-id ID | --hf-job-id ID) [OPTIONS]"
)
@JOBS_OPTION
@click.argument("name")
@SLURM_JOB_ID_OPTION
@HF_JOB_ID_OPTION
def relaunch(jobs_path: Path, name: str, job_ids: tuple[str, ...], hf_job_ids: tuple[str, ...]) -> None:
    """Record that job NAME was relaunched: under a new Slurm job id, or new Hugging Face Job ids (one of
    the two is required, except for a job followed on Hugging Face Jobs by datatrove's job name).

    Its finish marks go, its slurm_job_id (or hf_jobs' ids) becomes ID, and nothing else in jobs.yaml
    changes (comments, quoting and layout stay). The next update follows the job again. A job
    followed on Hugging Face Jobs by datatrove's job name needs no id: the relaunch keeps the name.
    """
    if job_ids and hf_job_ids:
        raise click.UsageError("give --slurm-job-id or --hf-job-id, not both")
    if not (job_ids or hf_job_ids):
        job = next((job for job in _load(jobs_path).jobs if job.name == name), None)
        if job is not None and (job.hf_jobs is None or job.hf_jobs.name is None):
            raise click.UsageError(
                "give the new launch: --slurm-job-id ID (Slurm) or --hf-job-id ID (Hugging Face Jobs)"
            )
    launch = NewLaunch(job_ids, hf_job_ids)
    _edit(jobs_path, lambda text: relaunch_text(text, name, launch))
    click.echo(f"{jobs_path}: {name} now follows {launch.describe()}; commit {jobs_path}", err=True)


@main.command(short_help="Add a job to jobs.yaml (created if need be).")
@JOBS_OPTION
@click.option(
    "--name",
    help="The job's name, unique in jobs.yaml (with --logging-dir, the executor's job name by default).",
)
@click.option("--repo", help="The dataset whose card shows the job's progress: org/name, or a local folder.")
@click.option(
    "--output",
    help="The folder the job's writer writes shards to: hf://datasets/org/name/FOLDER, "
    "hf://buckets/NS/NAME/PREFIX, or a local folder.",
)
@click.option("--config", help="The dataset config (default: default).")
@click.option("--total", type=int, help="The expected number of documents.")
@SLURM_JOB_ID_OPTION
@click.option(
    "--hf-jobs-name",
    help="datatrove's job_name of a job on Hugging Face Jobs: its Jobs carry the label datatrove_job_name=NAME.",
)
@HF_JOB_ID_OPTION
@click.option(
    "--hf-jobs-namespace",
    help="The user or organization its Hugging Face Jobs run in (default: the token's user).",
)
@click.option(
    "--logging-dir",
    help="datatrove's logging folder (a path on the cluster, reached through the defaults' ssh:, or here; or "
    "a URL): what it records fills in the options not given (name, output and config, input and its limit, "
    "the Slurm job id, or the Hugging Face Jobs' name and namespace).",
)
@click.option(
    "--stats-path", help="Where stats.json appears when the job completes, if not in --logging-dir."
)
@click.option("--model", help="The model generating the data, shown on a new card.")
@click.option("--description", help="A sentence about the job, shown on a new card.")
def add(
    jobs_path: Path,
    job_ids: tuple[str, ...],
    hf_job_ids: tuple[str, ...],
    hf_jobs_name: str | None,
    hf_jobs_namespace: str | None,
    **values: str | int | None,
) -> None:
    """Append a job to jobs.yaml, checked against the schema before anything is written.

    Keys not given come from the file's defaults (ssh, repo...), as for any other job. With
    --logging-dir, what datatrove's logging folder records fills in the options not given, and is
    printed; what cannot be worked out from it must be given.
    """
    ids = [int(job_id) for job_id in job_ids]
    hf_jobs = {"name": hf_jobs_name, "ids": list(hf_job_ids) or None, "namespace": hf_jobs_namespace}
    given: dict[str, object] = {
        **values,
        "slurm_job_id": (ids[0] if len(ids) == 1 else ids) if ids else None,
        "hf_jobs": {key: value for key, value in hf_jobs.items() if value is not None} or None,
    }
    given = {key: value for key, value in given.items() if value is not None}
    folder = values["logging_dir"]
    if folder is not None:
        given = _inferred(jobs_path, str(folder), given)
    if "name" not in given:
        raise click.UsageError("give the job's name: --name NAME")
    fields = [(key, given[key]) for key in _ADDED_KEYS if key in given]
    created = not jobs_path.exists()
    _edit(jobs_path, lambda text: add_text(text, fields), create=jobs_yaml())
    click.echo(
        f"{jobs_path}: {'created, with' if created else 'added'} {given['name']}; commit {jobs_path}",
        err=True,
    )


def _inferred(jobs_path: Path, folder: str, given: dict[str, object]) -> dict[str, object]:
    """The options given, completed from the logging folder; exit 2 when it cannot be read and the
    options given do not say enough."""
    with SshClient() as ssh:
        launched = inspect_folder(folder, default_login(jobs_path), ssh)
    if launched.problem is not None:
        if "name" in given and ("repo" in given or "output" in given):
            click.echo(f"warning: {launched.problem}; adding the job as given", err=True)
            return given
        _fail_usage(ManifestError([f"{launched.problem}; give at least --name and --repo or --output"]))
    inferred = infer(launched, given, folder)
    for line in inferred.said:
        click.echo(f"inferred {line}", err=True)
    return inferred.fields


_ADDED_KEYS = (
    "name", "repo", "output", "config", "total", "input", "max_examples", "slurm_job_id", "hf_jobs",
    "logging_dir", "stats_path", "model", "description",
)  # fmt: skip
"""The keys of a job `add` writes, in this order."""


def _edit(path: Path, edit: Callable[[str], str], create: str | None = None) -> None:
    """Edit jobs.yaml as text (`create`d first when given and there is no file); refuse (exit 2, nothing
    written) what would leave it invalid."""
    try:
        edit_file(path, edit, create)
    except FileNotFoundError:
        _fail_usage(ManifestError([f"{path}: no such file; `progress-card init` writes one"]))
    except MarkingError as error:
        _fail_usage(ManifestError([f"{path}: {error}"]))
    except ManifestError as error:
        _fail_usage(
            ManifestError(
                [f"{path}: the change was not written, it would make the manifest invalid", *error.problems]
            )
        )
