"""jobs.yaml in: parse, apply defaults, validate against the JSON Schema, build typed jobs.

Every problem is reported as `jobs.yaml:LINE: job "NAME": what is wrong and what is expected`,
all the problems found in one go rather than the first one only.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlparse

from jsonschema import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from .compute import LOCAL, HfJobs, Login, SshSettings
from .errors import ManifestError
from .schema import ExactValidator, defined, schema
from .storage.locations import HubBucket, HubDataset, LocalDataset, Location, Output

HF_DATASETS_PREFIX = "hf://datasets/"
HF_BUCKETS_PREFIX = "hf://buckets/"
_REPO_ID = defined("repoId")
T = TypeVar("T")
# Mapping-valued keys that merge key by key with the defaults instead of replacing them.
_MERGED_KEYS = ("input", "ssh", "hf_jobs")
# Keys that stand for one another: a job that sets one does not inherit the others from the defaults.
_ALTERNATIVES = (frozenset({"repo", "output"}), frozenset({"slurm_job_id", "hf_jobs"}))


@dataclass(frozen=True)
class InputDataset:
    location: Location
    split: str = "train"
    config: str | None = None


@dataclass(frozen=True)
class Finished:
    """What jobs.yaml says about a job that progress-card marked finished."""

    outcome: str
    at: str
    count: int | None = None


@dataclass(frozen=True)
class Job:
    name: str
    repo: Location | None = None
    """The dataset whose card shows the job's progress (`repo:`)."""
    output: Output | None = None
    """The folder its writer writes shards to (`output:`), when jobs.yaml says; otherwise the shards
    are found as the repo's card declares them, or by datatrove's convention."""
    config: str = "default"
    total: int | None = None
    input: InputDataset | None = None
    max_examples: int = -1
    slurm_job_ids: tuple[str, ...] = ()
    """Several when the job was launched as several arrays; none when Slurm is not asked."""
    hf_jobs: HfJobs | None = None
    """The Hugging Face Jobs running it (`hf_jobs:`), when it runs there."""
    stats_path: str | None = None
    logging_dir: str | None = None
    model: str | None = None
    description: str | None = None
    login: Login | None = None
    """How to reach the login node (`ssh:`): SSH settings, or this machine."""
    finished: Finished | None = None
    assignees: tuple[str, ...] = ()
    """GitHub logins to assign its incident issues to."""
    notify: frozenset[str] | None = None
    """The events it sends notifications for; None: all of them."""

    @property
    def card_home(self) -> Location | None:
        """Where the job's card lives: its repo, or the dataset its output is in; None for a job whose
        shards are in a bucket or a folder and that names no repo."""
        if self.repo is not None:
            return self.repo
        return self.output.place.dataset if self.output is not None else None

    @property
    def where(self) -> str:
        """How messages name where the job writes: its output, or its repo."""
        return str(self.output) if self.output is not None else str(self.repo)

    @property
    def page(self) -> str:
        """Where people see the job's data: its card's dataset, or the place of its shards."""
        if self.card_home is not None:
            return self.card_home.page
        assert self.output is not None  # the schema asks for repo or output
        return self.output.place.page

    @property
    def needs_hub(self) -> bool:
        """Something of the job is on the Hub: its card, its shards, its input, its compute or its logs."""
        places = [self.card_home.url if self.card_home else "", self.output.place.url if self.output else ""]
        places += [
            self.input.location.url if self.input else "",
            self.logging_dir or "",
            self.stats_path or "",
        ]
        return self.hf_jobs is not None or any(place.startswith("hf://") for place in places)

    @property
    def launch(self) -> tuple[str, ...]:
        """What names the job's current launch in its compute: a new one after a relaunch."""
        return self.hf_jobs.launch if self.hf_jobs is not None else self.slurm_job_ids


@dataclass(frozen=True)
class Manifest:
    path: Path
    jobs: tuple[Job, ...]

    def select(self, names: Sequence[str]) -> tuple[Job, ...]:
        """The jobs named in `names` (all when empty); an unknown name is a usage error."""
        if not names:
            return self.jobs
        known = {job.name: job for job in self.jobs}
        unknown = [name for name in names if name not in known]
        if unknown:
            raise ManifestError(
                [f"{self.path}: no job named {_quote(name)}{_suggest(name, known)}" for name in unknown]
            )
        return tuple(job for job in self.jobs if job.name in names)


def load_manifest(path: Path) -> Manifest:
    """Read and validate jobs.yaml; raise `ManifestError` listing every problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ManifestError(
            [
                f"{path}: no such file; `progress-card init` writes one, `progress-card add` starts one, or give --jobs PATH"
            ]
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        why = error.strerror if isinstance(error, OSError) else f"not UTF-8 text ({error.reason})"
        raise ManifestError([f"{path}: cannot read the manifest: {why}"]) from error
    return parse_manifest(path, text)


def parse_manifest(path: Path, text: str) -> Manifest:
    """The manifest `text`, as if read from `path`; raise `ManifestError` listing every problem."""
    return Manifest(path=path, jobs=_build_jobs(path, _parse_yaml(path, text)))


def default_login(path: Path) -> Login | None:
    """How the jobs of the manifest at `path` reach their login node by default (`defaults: ssh:`);
    None when it says nothing, or cannot be read."""
    try:
        document = _parse_yaml(path, path.read_text(encoding="utf-8"))
    except (OSError, ManifestError):
        return None
    defaults = document.get("defaults") if isinstance(document, Mapping) else None
    ssh = defaults.get("ssh") if isinstance(defaults, Mapping) else None
    if ssh == "local" or (isinstance(ssh, Mapping) and isinstance(ssh.get("host"), str)):
        return _login(path.parent, ssh)
    return None


def _parse_yaml(path: Path, text: str) -> Any:
    try:
        return YAML(typ="rt").load(text)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = error.problem or error.context or "invalid YAML"
        if error.context and error.context_mark is not None and error.context_mark is not mark:
            problem += f" ({error.context} on line {error.context_mark.line + 1})"
        raise ManifestError([f"{path}{line}: not valid YAML: {problem}"]) from error


def _build_jobs(path: Path, document: Any) -> tuple[Job, ...]:
    if not isinstance(document, CommentedMap):
        raise ManifestError([f"{path}:1: expected a mapping with a 'jobs' list (see the example jobs.yaml)"])
    validator = ExactValidator(schema())
    problems = [_describe(path, document, error) for error in _sorted(validator.iter_errors(document))]
    if problems:
        raise ManifestError(problems)

    defaults: Mapping[str, Any] = document.get("defaults") or {}
    entries: CommentedSeq = document["jobs"]
    job_validator = ExactValidator({"$ref": "#/$defs/job", "$defs": schema()["$defs"]})
    jobs: list[Job] = []
    seen: dict[str, int] = {}
    claimed: dict[tuple[str, str], tuple[str, int]] = {}
    """Each (dataset, config) an unfinished job shows its progress line in: the job, and its line."""
    for index, entry in enumerate(entries):
        merged, origins = _merge(defaults, entry)
        located = _Located(path, origins, entry_line=_line(entries, index))
        name = merged["name"]
        errors = [located.describe(error, name) for error in _sorted(job_validator.iter_errors(merged))]
        problems.extend(errors)
        if name in seen:
            problems.append(
                f"{path}:{located.entry_line}: job {_quote(name)}: duplicate name "
                f"(also on line {seen[name]}); names must be unique"
            )
        else:
            seen[name] = located.entry_line
        if errors:
            continue
        try:
            job = _job(path.parent, merged)
        except _KeyError as error:
            problems.append(f"{path}:{located.line_of(error.key)}: job {_quote(name)}: {error.key} {error}")
            continue
        jobs.append(job)
        where = f"{path}:{located.entry_line}: job {_quote(name)}"
        if job.total is None and job.input is None and job.max_examples <= 0:
            problems.append(
                f"{where}: nothing says how many documents to expect: set total:, or input: (whose size is "
                "read from its metadata or footers), or max_examples:"
            )
        shown = (job.card_home.url if job.card_home is not None else job.where, job.config)
        if job.finished is None and shown in claimed:
            other, number = claimed[shown]
            problems.append(
                f"{where}: {shown[0]} config {job.config} is also job {_quote(other)}'s (line {number}); a config "
                "has one progress line, so give one of them another config (config:) or mark it finished"
            )
        elif job.finished is None:
            claimed[shown] = (name, located.entry_line)
    if problems:
        raise ManifestError(problems)
    return tuple(jobs)


def _merge(defaults: Mapping[str, Any], entry: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Apply defaults to one job; `origins` maps each key to the YAML mapping it came from (for lines)."""
    overridden = {key for group in _ALTERNATIVES if group & entry.keys() for key in group - entry.keys()}
    inherited = {key: value for key, value in defaults.items() if key not in overridden}
    merged: dict[str, Any] = {}
    origins: dict[str, Any] = {}
    for source, items in ((defaults, inherited), (entry, entry)):
        for key, value in items.items():
            if key in _MERGED_KEYS and isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
            origins[key] = source
    return merged, origins


class _KeyError(ValueError):
    """A key's value that the schema lets through but that cannot be used."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(problem)
        self.key = key


def _keyed(key: str, parse: Callable[[], T]) -> T:
    try:
        return parse()
    except ValueError as error:
        raise _KeyError(key, str(error)) from None


def _job(base: Path, fields: Mapping[str, Any]) -> Job:
    raw_input = fields.get("input")
    job_ids = fields.get("slurm_job_id")
    repo = (
        _keyed("repo", lambda: _location(base, str(fields["repo"]), bare_ids=True))
        if "repo" in fields
        else None
    )
    output = _keyed("output", lambda: _output(base, str(fields["output"]))) if "output" in fields else None
    if output is not None and not output.folder and output.place.dataset is not None and repo is None:
        repo, output = (
            output.place.dataset,
            None,
        )  # hf://datasets/org/name alone names the dataset, as repo does
    return Job(
        name=str(fields["name"]),
        repo=repo,
        output=output,
        config=str(fields.get("config", "default")),
        total=_int_or_none(fields.get("total")),
        input=InputDataset(
            location=_keyed("input", lambda: _location(base, str(raw_input["dataset"]), bare_ids=True)),
            split=str(raw_input.get("split", "train")),
            config=_str_or_none(raw_input.get("config")),
        )
        if raw_input is not None
        else None,
        max_examples=int(fields.get("max_examples", -1)),
        slurm_job_ids=tuple(str(i) for i in job_ids) if isinstance(job_ids, list) else _strings(job_ids),
        hf_jobs=_hf_jobs(fields["hf_jobs"]) if "hf_jobs" in fields else None,
        stats_path=_str_or_none(fields.get("stats_path"))
        or (f"{str(fields['logging_dir']).rstrip('/')}/stats.json" if "logging_dir" in fields else None),
        logging_dir=_str_or_none(fields.get("logging_dir")),
        model=_str_or_none(fields.get("model")),
        description=_str_or_none(fields.get("description")),
        login=_login(base, fields["ssh"]) if "ssh" in fields else None,
        assignees=tuple(str(login) for login in fields.get("assignees", ())),
        notify=frozenset(str(e) for e in fields["notify"]) if "notify" in fields else None,
        finished=Finished(
            outcome=str(fields.get("outcome", "finished")),
            at=str(fields.get("finished_at", "")),
            count=_int_or_none(fields.get("final_count")),
        )
        if fields.get("finished") is True
        else None,
    )


def _hf_jobs(fields: Mapping[str, Any]) -> HfJobs:
    return HfJobs(
        name=_str_or_none(fields.get("name")),
        ids=tuple(str(job_id) for job_id in fields.get("ids", ())),
        namespace=_str_or_none(fields.get("namespace")),
    )


def _login(base: Path, fields: Mapping[str, Any] | str) -> Login:
    """`ssh: local`, or the SSH settings (key paths relative to jobs.yaml)."""
    if isinstance(fields, str):
        return LOCAL

    def path(key: str) -> Path | None:
        value = fields.get(key)
        return (base / Path(str(value)).expanduser()).resolve() if value is not None else None

    return SshSettings(
        host=str(fields["host"]),
        user=_str_or_none(fields.get("user")),
        port=_int_or_none(fields.get("port")),
        key_file=path("key_file"),
        key_env=_str_or_none(fields.get("key_env")),
        known_hosts=path("known_hosts"),
        known_hosts_env=_str_or_none(fields.get("known_hosts_env")),
        proxy_jump=_str_or_none(fields.get("proxy_jump")),
        connect_timeout=int(fields.get("connect_timeout", 15)),
    )


def _location(base: Path, text: str, bare_ids: bool = False) -> Location:
    """`hf://datasets/org/name`, a `file://` URL, or a path relative to jobs.yaml's folder.

    With `bare_ids`, `org/name` names a Hub dataset; a local folder then starts with `.` or `/`.
    """
    if text.startswith(HF_DATASETS_PREFIX):
        repo_id = text.removeprefix(HF_DATASETS_PREFIX).strip("/")
        if not _REPO_ID.fullmatch(repo_id):
            raise ValueError(f"must be hf://datasets/org/name, got {_quote(text)}")
        return HubDataset(repo_id)
    if bare_ids and not text.startswith((".", "/", "~")) and "://" not in text:
        if not _REPO_ID.fullmatch(text):
            raise ValueError(
                f"must be a dataset id such as org/name, or a folder starting with . or /, got {_quote(text)}"
            )
        return HubDataset(text)
    return _folder(base, text)


def _output(base: Path, text: str) -> Output:
    """The writer's output folder: `hf://datasets/org/name/folder`, `hf://buckets/ns/name/prefix`, or a
    local folder (a path relative to jobs.yaml's folder, or a `file://` URL)."""
    for prefix, kind in ((HF_DATASETS_PREFIX, "datasets"), (HF_BUCKETS_PREFIX, "buckets")):
        if text.startswith(prefix):
            namespace, name, *rest = [*text.removeprefix(prefix).strip("/").split("/"), ""]
            identifier, folder = f"{namespace}/{name}", "/".join(part for part in rest if part)
            if not _REPO_ID.fullmatch(identifier) or ".." in rest or "." in rest:
                raise ValueError(f"must be hf://{kind}/<namespace>/<name>[/<folder>], got {_quote(text)}")
            place = HubDataset(identifier) if kind == "datasets" else HubBucket(identifier)
            return Output(place, folder)
    return Output(_folder(base, text), "")


def _folder(base: Path, text: str) -> LocalDataset:
    """A local folder: a `file://` URL, or a path relative to jobs.yaml's folder."""
    parsed = urlparse(text)
    if parsed.scheme == "file":
        return LocalDataset(Path(unquote(parsed.path)))
    if "://" in text:
        raise ValueError(
            f"must be hf://datasets/..., hf://buckets/..., a folder or a file:// URL, got {_quote(text)}"
        )
    return LocalDataset((base / Path(text).expanduser()).resolve())


def _int_or_none(value: Any) -> int | None:
    return int(value) if value is not None else None


def _strings(value: Any) -> tuple[str, ...]:
    return (str(value),) if value is not None else ()


def _str_or_none(value: Any) -> str | None:
    return str(value) if value is not None else None


class _Located:
    """Turns a schema error on a merged job into a message with the line where the key was written."""

    def __init__(self, path: Path, origins: Mapping[str, Any], entry_line: int) -> None:
        self.path = path
        self.origins = origins
        self.entry_line = entry_line

    def line_of(self, key: str) -> int:
        origin = self.origins.get(key)
        return _line(origin, key) if origin is not None else self.entry_line

    def describe(self, error: ValidationError, name: str) -> str:
        key = str(error.absolute_path[0]) if error.absolute_path else None
        line = self.line_of(key) if key is not None else self.entry_line
        return f"{self.path}:{line}: job {_quote(name)}: {_explain(error)}"


def _describe(path: Path, document: Any, error: ValidationError) -> str:
    """A located message for a schema error in the document as written."""
    where = list(error.absolute_path)
    node: Any = document
    line = 1
    context = ""
    for step in where:
        line = _line(node, step)
        node = node[step]
        if step == "defaults":
            context = "defaults: "
        elif isinstance(step, int) and where[0] == "jobs" and isinstance(node, Mapping):
            name = node.get("name")
            context = f"job {_quote(name)}: " if isinstance(name, str) else f"job #{step + 1}: "
    if error.validator == "additionalProperties" and isinstance(node, CommentedMap):
        line = _first_unknown_key_line(node, error)
    return f"{path}:{line}: {context}{_explain(error)}"


def _explain(error: ValidationError) -> str:
    """What is wrong, in words: the key, what is expected, and what was found."""
    message = _annotation(error, f"x-message-{error.validator}") or _annotation(error, "x-message")
    if message:
        return message
    key = _key_name(error)
    instance: Any = error.instance
    if error.validator == "additionalProperties":
        allowed = sorted(_schema_of(error).get("properties", {}))
        unknown = sorted(set(instance) - set(allowed))
        return "; ".join(
            f"unknown key {_quote(name)}{_suggest(name, allowed)} (known keys: {', '.join(allowed)})"
            for name in unknown
        )
    if error.validator == "required":
        required: Any = error.validator_value
        missing = [name for name in required if name not in instance]
        return ", ".join(f"missing key {_quote(name)}" for name in missing)
    expected = _annotation(error, "x-expected") or error.message
    subject = f"{key} must be" if key else "must be"
    return f"{subject} {expected}, got {_show(instance)}"


def _annotation(error: ValidationError, keyword: str) -> str | None:
    """An `x-...` hint of the schema that failed: every property in the schema carries one."""
    value = _schema_of(error).get(keyword)
    return str(value) if value is not None else None


def _schema_of(error: ValidationError) -> Mapping[str, Any]:
    return error.schema if isinstance(error.schema, Mapping) else {}


def _key_name(error: ValidationError) -> str | None:
    """The key as the user wrote it: `total`, `input.split`, or `jobs` for the list itself."""
    steps = list(error.absolute_path)
    if len(steps) > 1 and steps[0] == "jobs":
        steps = steps[2:]
    elif len(steps) > 1 and steps[0] == "defaults":
        steps = steps[1:]
    return ".".join(str(step) for step in steps) or None


def _first_unknown_key_line(node: CommentedMap, error: ValidationError) -> int:
    allowed = set(_schema_of(error).get("properties", {}))
    for key in node:
        if key not in allowed:
            return _line(node, key)
    return int(node.lc.line) + 1


def _line(node: Any, step: Any) -> int:
    """1-based line of a key in a mapping or an item in a list, as ruamel recorded it."""
    if isinstance(node, CommentedMap) and step in node:
        return int(node.lc.key(step)[0]) + 1
    if isinstance(node, CommentedSeq) and isinstance(step, int):
        return int(node.lc.item(step)[0]) + 1
    return int(getattr(getattr(node, "lc", None), "line", 0)) + 1


def _sorted(errors: Iterator[ValidationError]) -> list[ValidationError]:
    """In document order."""
    return sorted(errors, key=lambda e: [str(step) for step in e.absolute_path])


def _show(value: Any) -> str:
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return json.dumps(value)


def _quote(value: object) -> str:
    return json.dumps(str(value), ensure_ascii=False)


def _suggest(name: str, choices: Any) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" (did you mean {_quote(close[0])}?)" if close else ""
