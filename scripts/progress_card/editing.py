"""Edits of jobs.yaml: finished jobs marked, relaunches recorded, jobs added. The user's file is
edited as text, not regenerated.

New keys are inserted after the job's last line, at the job's own indentation (or inside a
one-line `{...}` entry), removed keys take their line (or their `, key: value`) with them, and a
changed value is replaced where it stands, so comments, key order, quoting and blank lines all stay
as the user wrote them. The file is re-read just before the edit, the result is checked as a
manifest before anything is written, and the file is replaced atomically, one writer at a time
across processes.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from .atomic import one_writer, write_atomically
from .errors import MarkingError
from .manifest import parse_manifest


@dataclass(frozen=True)
class Mark:
    job: str
    outcome: str
    at: datetime
    count: int

    def fields(self) -> list[tuple[str, str]]:
        when = self.at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return [
            ("finished", "true"),
            ("outcome", self.outcome),
            ("finished_at", json.dumps(when)),
            ("final_count", str(self.count)),
        ]


FINISH_KEYS = ("finished", "outcome", "finished_at", "final_count")


class JobsFile:
    """jobs.yaml on disk, edited by one writer at a time: repos updated side by side, and runs started
    together, mark their jobs one after the other, each on the file as the previous mark left it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def mark(self, mark: Mark) -> None:
        mark_file(self.path, [mark])


def mark_file(path: Path, marks: Sequence[Mark]) -> str:
    """Mark the jobs in the file as it is now; returns the new text (also written, atomically)."""
    with one_writer(path):
        text = mark_text(path.read_text(encoding="utf-8"), marks)
        write_atomically(path, text.encode("utf-8"))
    return text


def edit_file(path: Path, edit: Callable[[str], str], create: str | None = None) -> tuple[str, str]:
    """Apply `edit` to the file as it is now (to `create` when there is no file, if given), check the
    result is a valid manifest, then replace the file atomically; returns the text before and after.
    Raises ManifestError (nothing written) when the result is not valid, MarkingError when the edit
    cannot be made, FileNotFoundError when there is no file and nothing to create."""
    with one_writer(path):
        before = create if create is not None and not path.exists() else path.read_text(encoding="utf-8")
        after = edit(before)
        parse_manifest(path, after)
        write_atomically(path, after.encode("utf-8"))
    return before, after


@dataclass(frozen=True)
class NewLaunch:
    """What names a job's new launch in jobs.yaml: Slurm job ids, or Hugging Face Job ids; nothing
    for a job followed by datatrove's job name, which a relaunch keeps."""

    slurm_job_ids: tuple[str, ...] = ()
    hf_job_ids: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.slurm_job_ids:
            return f"Slurm job {', '.join(self.slurm_job_ids)}"
        if self.hf_job_ids:
            return f"Hugging Face Job {', '.join(self.hf_job_ids)}"
        return "its Jobs by name, as before"


def relaunch_text(text: str, name: str, launch: NewLaunch) -> str:
    """The job `name` following its new launch: its finish keys removed, and `slurm_job_id`, or
    `hf_jobs`' `ids`, set (replaced where it stands, or added after the entry's last line); nothing
    else changes."""
    entries = _jobs(text)
    index = _find(entries, name)
    if index is None:
        names = [str(entry.get("name")) for entry in entries if isinstance(entry, CommentedMap)]
        close = difflib.get_close_matches(name, names, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise MarkingError(f"no job named {name!r}{hint}")
    lines = text.splitlines(keepends=True)
    entry: CommentedMap = entries[index]
    spans = [_key_span(lines, entry, key) for key in FINISH_KEYS if key in entry]
    added: list[tuple[str, str]] = []
    if launch.slurm_job_ids:
        value = _ids_value(launch.slurm_job_ids)
        if "slurm_job_id" in entry:
            spans.append(
                _value_span(lines, entry, "slurm_job_id", value, quoted=len(launch.slurm_job_ids) == 1)
            )
        else:
            added.append(("slurm_job_id", value))
    elif launch.hf_job_ids:
        ids = "[" + ", ".join(json.dumps(job_id) for job_id in launch.hf_job_ids) + "]"  # 0123… is no int
        jobs = entry.get("hf_jobs")
        if isinstance(jobs, CommentedMap) and "ids" in jobs:
            spans.append(_value_span(lines, jobs, "ids", ids, quoted=False))
        elif isinstance(jobs, CommentedMap):
            raise MarkingError(
                f"{name} follows its Jobs by datatrove's job name (hf_jobs: name), which a relaunch keeps: "
                f"`progress-card relaunch {name}` without --hf-job-id follows the new launch"
            )
        else:
            added.append(("hf_jobs", "{ids: " + ids + "}"))
    for start, end, replacement in sorted(spans, reverse=True):
        lines = _replace(lines, start, end, replacement)
    edited = "".join(lines)
    if not added:
        return edited
    return "".join(_add_keys(edited.splitlines(keepends=True), _jobs(edited), index, added))


def _value_span(lines: list[str], mapping: CommentedMap, key: str, value: str, quoted: bool) -> Span:
    """What replaces the value of `key` in `mapping` with `value` (kept in its quotes when `quoted`)."""
    row, column = (int(n) for n in mapping.lc.value(key))
    end = _value_end(lines, row, column)
    if end[0] != row:
        raise MarkingError(
            f"{key} spans several lines in jobs.yaml; write it on one line, or edit it by hand"
        )
    quote = lines[row][column]
    return (row, column), end, f"{quote}{value}{quote}" if quoted and quote in "'\"" else value


def add_text(text: str, fields: Sequence[tuple[str, object]]) -> str:
    """`text` with a new job at the end of its jobs list, in the style of the entry before it; the first
    job of a manifest with none (`jobs: []`, `jobs:` left empty, no `jobs:` at all, an empty file) as a
    block entry."""
    pairs = [(key, _yaml_value(value)) for key, value in fields]
    document = YAML(typ="rt").load(text)
    found = document.get("jobs") if isinstance(document, CommentedMap) else None
    if document is None or (isinstance(document, CommentedMap) and (found is None or found == [])):
        return _first_job(text, document, pairs)
    entries = _jobs_of(document)
    lines = text.splitlines(keepends=True)
    flow = "{" + ", ".join(f"{key}: {value}" for key, value in pairs) + "}"
    if entries.fa.flow_style():
        row, closing = _closing_brace(lines, int(entries.lc.line), int(entries.lc.col))
        separator = ", " if entries else ""
        return "".join(_replace(lines, (row, closing), (row, closing), separator + flow))
    last = len(entries) - 1
    first, column = int(entries.lc.item(last)[0]), int(entries.lc.item(last)[1])
    end = _last_line(lines, first, _end_of_entry(lines, entries, last), column)
    dash = lines[first].rfind("-", 0, column)
    newline = "\r\n" if lines[end].endswith("\r\n") else "\n"
    if not lines[end].endswith(("\n", "\r")):
        lines = [*lines[:end], lines[end] + newline, *lines[end + 1 :]]
    gap = " " * (column - dash - 1)
    if isinstance(entries[last], CommentedMap) and entries[last].fa.flow_style():
        added = [f"{' ' * dash}-{gap}{flow}{newline}"]
    else:
        (key, value), *rest = pairs
        added = [f"{' ' * dash}-{gap}{key}: {value}{newline}"]
        added += [f"{' ' * column}{key}: {value}{newline}" for key, value in rest]
    return "".join([*lines[: end + 1], *added, *lines[end + 1 :]])


_EMPTY_JOBS = re.compile(r"^jobs:[ \t]*(?:\[[ \t]*\])?[ \t]*(#[^\r\n]*)?(\r?\n|\Z)", re.MULTILINE)


def _first_job(text: str, document: CommentedMap | None, pairs: Sequence[tuple[str, str]]) -> str:
    """The manifest with its first job, as a block entry under `jobs:` (written when missing)."""
    newline = "\r\n" if "\r\n" in text else "\n"
    (key, value), *rest = pairs
    entry = f"  - {key}: {value}{newline}" + "".join(f"    {k}: {v}{newline}" for k, v in rest)
    if document is not None and "jobs" in document:
        found = _EMPTY_JOBS.search(text)
        if found is None:
            raise MarkingError(
                "cannot find its `jobs:` line; write `jobs:` at the start of a line, with no indentation"
            )
        comment = f" {found.group(1)}" if found.group(1) else ""
        return f"{text[: found.start()]}jobs:{comment}{newline}{entry}{text[found.end() :]}"
    body = text if not text or text.endswith(("\n", "\r")) else text + newline
    return f"{body}jobs:{newline}{entry}"


def _ids_value(job_ids: Sequence[str]) -> str:
    return job_ids[0] if len(job_ids) == 1 else "[" + ", ".join(job_ids) + "]"


_PLAIN = re.compile(r"[A-Za-z_/.][A-Za-z0-9_./:@+-]*")
_RESERVED = frozenset({"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"})


def _yaml_value(value: object) -> str:
    """A YAML scalar (or a flow list or mapping) for a value of a new job: plain where that reads back the
    same."""
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_yaml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {_yaml_value(item)}" for key, item in value.items()) + "}"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if _PLAIN.fullmatch(text) and text.lower() not in _RESERVED and ": " not in text:
        return text
    return json.dumps(text, ensure_ascii=False)


Span = tuple[tuple[int, int], tuple[int, int], str]


def _key_span(lines: list[str], entry: CommentedMap, key: str) -> Span:
    """What to cut to remove `key: value` from the entry: its line in a block mapping, or the
    `, key: value` in a `{...}` one."""
    row, column = (int(n) for n in entry.lc.key(key))
    end_row, end = _value_end(lines, *(int(n) for n in entry.lc.value(key)))
    if end_row != row:
        raise MarkingError(f"{key} spans several lines in jobs.yaml; edit it by hand")
    if not entry.fa.flow_style():
        return (row, 0), (row + 1, 0), ""
    before = lines[row][:column].rstrip()
    if before.endswith(","):
        return (row, len(before) - 1), (row, end), ""
    after = lines[row][end:]
    skipped = len(after) - len(after.lstrip(" ,"))
    return (row, column), (row, end + skipped), ""


def _replace(lines: list[str], start: tuple[int, int], end: tuple[int, int], text: str) -> list[str]:
    """`lines` with the text from `start` to `end` (line, column; exclusive) replaced by `text`."""
    joined = "".join(lines)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    begin, finish = offsets[start[0]] + start[1], offsets[end[0]] + end[1]
    return (joined[:begin] + text + joined[finish:]).splitlines(keepends=True)


def mark_text(text: str, marks: Sequence[Mark]) -> str:
    """The same document with each marked job's entry gaining the finished keys."""
    lines = text.splitlines(keepends=True)
    entries = _jobs(text)
    # Edit from the bottom up, so that earlier line numbers stay valid.
    edits = sorted((_locate(entries, mark.job), mark) for mark in marks)
    for (index, _), mark in reversed(edits):
        lines = _insert(lines, entries, index, mark)
    return "".join(lines)


def _locate(entries: CommentedSeq, name: str) -> tuple[int, str]:
    index = _find(entries, name)
    if index is None:
        raise MarkingError(f"job {name!r} is no longer in jobs.yaml; its mark was not written")
    if "finished" in entries[index]:
        raise MarkingError(f"job {name!r} is already marked finished in jobs.yaml")
    return index, name


def _find(entries: CommentedSeq, name: str) -> int | None:
    return next(
        (
            i
            for i, entry in enumerate(entries)
            if isinstance(entry, CommentedMap) and entry.get("name") == name
        ),
        None,
    )


def _jobs(text: str) -> CommentedSeq:
    return _jobs_of(YAML(typ="rt").load(text))


def _jobs_of(document: object) -> CommentedSeq:
    entries = document.get("jobs") if isinstance(document, CommentedMap) else None
    if not isinstance(entries, CommentedSeq):
        raise MarkingError("it has no `jobs:` list")
    return entries


def _insert(lines: list[str], entries: CommentedSeq, index: int, mark: Mark) -> list[str]:
    return _add_keys(lines, entries, index, mark.fields())


def _add_keys(
    lines: list[str], entries: CommentedSeq, index: int, fields: Sequence[tuple[str, str]]
) -> list[str]:
    """The entry at `index` with `key: value` lines (or `, key: value` in a `{...}` entry) after its last."""
    entry: CommentedMap = entries[index]
    first, column = int(entries.lc.item(index)[0]), int(entries.lc.item(index)[1])
    if entry.fa.flow_style():
        number, closing = _closing_brace(lines, first, column)
        line = lines[number]
        extra = "".join(f", {key}: {value}" for key, value in fields)
        return [*lines[:number], line[:closing] + extra + line[closing:], *lines[number + 1 :]]
    last = _last_line(lines, first, _end_of_entry(lines, entries, index), column)
    indent = " " * int(entry.lc.col)
    newline = "\r\n" if lines[last].endswith("\r\n") else "\n"
    if not lines[last].endswith(("\n", "\r")):
        lines = [*lines[:last], lines[last] + newline, *lines[last + 1 :]]
    added = [f"{indent}{key}: {value}{newline}" for key, value in fields]
    return [*lines[: last + 1], *added, *lines[last + 1 :]]


def _closing_brace(lines: list[str], number: int, column: int) -> tuple[int, int]:
    """Where the `{...}` (or `[...]`) starting at (number, column) closes, skipping quoted text."""
    end = _scan(lines, number, column, stop_at_depth_zero="")
    if end is None:
        raise MarkingError("cannot find where a {...} job entry ends")
    return end


def _value_end(lines: list[str], number: int, column: int) -> tuple[int, int]:
    """Where the scalar or flow collection starting at (number, column) ends (exclusive): at a `,`,
    `}` or `]` that closes nothing of its own, a comment, or the end of the line."""
    line = lines[number]
    if line[column : column + 1] in ("[", "{"):
        row, closing = _closing_brace(lines, number, column)
        return row, closing + 1
    end = _scan(lines, number, column, stop_at_depth_zero=",}]")
    row, position = end if end is not None and end[0] == number else (number, len(line.rstrip("\r\n")))
    return row, len(lines[row][:position].rstrip())


def _scan(lines: list[str], number: int, column: int, stop_at_depth_zero: str) -> tuple[int, int] | None:
    """Walk from (number, column), skipping quoted text: the closing bracket of what opens there, or
    (with `stop_at_depth_zero`) the first of those characters outside any bracket, or a comment."""
    depth = 0
    quote: str | None = None
    for row in range(number, len(lines)):
        line = lines[row]
        position = column if row == number else 0
        while position < len(line):
            char = line[position]
            if quote is not None:
                if char == "\\" and quote == '"':
                    position += 1
                elif char == quote:
                    quote = None
            elif char in "'\"":
                quote = char
            elif char == "#" and (position == 0 or line[position - 1] in " \t"):
                if stop_at_depth_zero:
                    return row, position
                break  # a comment runs to the end of the line
            elif depth == 0 and char in stop_at_depth_zero:
                return row, position
            elif char in "{[":
                depth += 1
            elif char in "}]":
                depth -= 1
                if depth == 0 and not stop_at_depth_zero:
                    return row, position
            position += 1
        if stop_at_depth_zero and depth == 0:
            return row, len(line.rstrip("\r\n"))
    return None


def _end_of_entry(lines: list[str], entries: CommentedSeq, index: int) -> int:
    """First line after the entry: the next entry, or the first line back at the list's own indentation."""
    if index + 1 < len(entries):
        return int(entries.lc.item(index + 1)[0])
    column = int(entries.lc.item(index)[1])
    for number in range(int(entries.lc.item(index)[0]) + 1, len(lines)):
        stripped = lines[number].strip()
        if stripped and not stripped.startswith("#") and _indentation(lines[number]) < column:
            return number
    return len(lines)


def _last_line(lines: list[str], first: int, end: int, column: int) -> int:
    """The entry's last line: blank lines and comments left of its keys belong to what follows.

    (A `#` line indented like the entry's keys or deeper is the entry's own: a comment among its
    keys, or text inside a block scalar.)
    """
    for number in range(end - 1, first, -1):
        stripped = lines[number].strip()
        if stripped and (not stripped.startswith("#") or _indentation(lines[number]) >= column):
            return number
    return first


def _indentation(line: str) -> int:
    return len(line) - len(line.lstrip(" "))
