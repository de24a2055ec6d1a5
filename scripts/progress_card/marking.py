"""Marking finished jobs in jobs.yaml: the user's file is edited, not regenerated.

The new keys are inserted as text after the job's last line, at the job's own indentation (or
inside a one-line `{...}` entry), so comments, key order, quoting and blank lines all stay as the
user wrote them. The file is re-read just before the edit and replaced atomically.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from .atomic import write_atomically


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


class MarkingError(Exception):
    """jobs.yaml changed in a way that leaves nowhere to put the mark."""


def mark_file(path: Path, marks: Sequence[Mark]) -> str:
    """Mark the jobs in the file as it is now; returns the new text (also written, atomically)."""
    text = mark_text(path.read_text(encoding="utf-8"), marks)
    write_atomically(path, text.encode("utf-8"))
    return text


def mark_text(text: str, marks: Sequence[Mark]) -> str:
    """The same document with each marked job's entry gaining the finished keys."""
    lines = text.splitlines(keepends=True)
    document = YAML(typ="rt").load(text)
    entries = document.get("jobs") if isinstance(document, CommentedMap) else None
    if not isinstance(entries, CommentedSeq):
        raise MarkingError("jobs.yaml has no jobs list any more")
    # Edit from the bottom up, so that earlier line numbers stay valid.
    edits = sorted((_locate(entries, mark.job), mark) for mark in marks)
    for (index, _), mark in reversed(edits):
        lines = _insert(lines, entries, index, mark)
    return "".join(lines)


def _locate(entries: CommentedSeq, name: str) -> tuple[int, str]:
    for index, entry in enumerate(entries):
        if isinstance(entry, CommentedMap) and entry.get("name") == name:
            if "finished" in entry:
                raise MarkingError(f"job {name!r} is already marked finished in jobs.yaml")
            return index, name
    raise MarkingError(f"job {name!r} is no longer in jobs.yaml; its mark was not written")


def _insert(lines: list[str], entries: CommentedSeq, index: int, mark: Mark) -> list[str]:
    entry: CommentedMap = entries[index]
    first, column = int(entries.lc.item(index)[0]), int(entries.lc.item(index)[1])
    if entry.fa.flow_style():
        number, closing = _closing_brace(lines, first, column)
        line = lines[number]
        extra = "".join(f", {key}: {value}" for key, value in mark.fields())
        return [*lines[:number], line[:closing] + extra + line[closing:], *lines[number + 1 :]]
    last = _last_line(lines, first, _end_of_entry(lines, entries, index), column)
    indent = " " * int(entry.lc.col)
    newline = "\r\n" if lines[last].endswith("\r\n") else "\n"
    if not lines[last].endswith(("\n", "\r")):
        lines = [*lines[:last], lines[last] + newline, *lines[last + 1 :]]
    added = [f"{indent}{key}: {value}{newline}" for key, value in mark.fields()]
    return [*lines[: last + 1], *added, *lines[last + 1 :]]


def _closing_brace(lines: list[str], number: int, column: int) -> tuple[int, int]:
    """Where the `{...}` entry starting at (number, column) closes, skipping quoted text."""
    depth = 0
    quote: str | None = None
    for row in range(number, len(lines)):
        line = lines[row]
        start = column if row == number else 0
        position = start
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
                break  # a comment runs to the end of the line
            elif char in "{[":
                depth += 1
            elif char in "}]":
                depth -= 1
                if depth == 0:
                    return row, position
            position += 1
    raise MarkingError("cannot find where a {...} job entry ends")


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
