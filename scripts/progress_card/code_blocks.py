"""Where a Markdown text has code: the fenced and indented blocks whose lines are examples, not ours.

A card's progress lines and headings count only outside them. CommonMark's rules decide (a fence
left open runs to the end, an indented block needs a blank line before it after a paragraph), so
they come from markdown-it-py rather than from a pattern of our own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from markdown_it import MarkdownIt

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n.*?\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_PARSER = MarkdownIt("commonmark")


@lru_cache(maxsize=64)
def code_spans(text: str) -> tuple[tuple[int, int], ...]:
    """The character ranges of the text's code blocks, front matter excluded from the parse."""
    front = _FRONT_MATTER.match(text)
    skipped = front.group(0).count("\n") if front else 0
    starts = [0] + [m.end() for m in _LINE_BREAK.finditer(text)]
    body = "\n" * skipped + _LINE_BREAK.sub("\n", text[front.end() if front else 0 :])
    spans = []
    for token in _PARSER.parse(body):
        if token.type in ("fence", "code_block") and token.map is not None:
            first, after = token.map
            spans.append((starts[first], starts[after] if after < len(starts) else len(text)))
    return tuple(spans)


def in_code(text: str, position: int) -> bool:
    return any(start <= position < end for start, end in code_spans(text))


def matches(
    pattern: re.Pattern[str], text: str, pos: int = 0, endpos: int | None = None
) -> Iterator[re.Match[str]]:
    """The pattern's matches in `text[pos:endpos]` that start outside its code blocks."""
    end = len(text) if endpos is None else endpos
    return (found for found in pattern.finditer(text, pos, end) if not in_code(text, found.start()))


def search(
    pattern: re.Pattern[str], text: str, pos: int = 0, endpos: int | None = None
) -> re.Match[str] | None:
    """The first match outside code blocks."""
    return next(matches(pattern, text, pos, endpos), None)
