"""Dataset card (README.md) YAML front matter."""

from __future__ import annotations

import re
from typing import Any

import yaml

MAX_FRONT_MATTER = 1 << 20
_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)(?:\r?\n)?^---[ \t]*\r?$", re.DOTALL | re.MULTILINE)


class CardError(ValueError):
    """The front matter exists but is not a valid YAML mapping."""


def front_matter_text(text: str) -> str | None:
    """The YAML between the leading ``---`` lines, None when there is no front matter."""
    m = _FRONT_MATTER.match(text)
    return None if m is None else m.group(1)


def parse_card_data(text: str) -> dict[str, Any] | None:
    """The parsed front matter: a dict, None when there is none; CardError when it is invalid."""
    raw = front_matter_text(text)
    if raw is None:
        return None
    if len(raw) > MAX_FRONT_MATTER:
        raise CardError("YAML front matter is too large")
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as err:
        raise CardError(f"Invalid YAML in front matter: {err}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise CardError("YAML front matter must be a mapping")
    return data
