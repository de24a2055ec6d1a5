"""jobs.yaml's JSON Schema: the one source of the manifest's keys and of the patterns its values follow.

The manifest is validated against it, and the code that checks a value again before it goes near a
shell or a URL (a host name, a job id, a repo id) takes its pattern from here, as the tests do.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, ValidationError, validators

SCHEMA_FILE = "jobs.schema.json"


@cache
def schema() -> dict[str, Any]:
    text = resources.files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@cache
def pattern(*keys: str) -> re.Pattern[str]:
    """The pattern a job key's value follows, for `fullmatch`: `pattern("name")`, `pattern("ssh", "host")`."""
    node = _resolve(schema()["$defs"]["jobFields"]["properties"][keys[0]])
    for key in keys[1:]:
        node = _resolve(node["properties"][key])
    return re.compile(str(node["pattern"]).removeprefix("^").removesuffix("$"))


@cache
def defined(name: str) -> re.Pattern[str]:
    """The pattern of a value the schema defines once in `$defs`, for `fullmatch`: `defined("repoId")`."""
    return re.compile(str(schema()["$defs"][name]["pattern"]).removeprefix("^").removesuffix("$"))


def _exact_pattern(
    validator: Any, pattern_: str, instance: Any, schema_: dict[str, Any]
) -> Iterator[ValidationError]:
    """JSON Schema's `pattern`, with a final `$` meaning the end of the value: Python's `$` also matches
    before a trailing newline, which would let `name: "abc\\n"` through to a file name."""
    if not validator.is_type(instance, "string"):
        return
    exact = pattern_[:-1] + r"\Z" if pattern_.endswith("$") and not pattern_.endswith(r"\$") else pattern_
    if re.search(exact, instance) is None:
        yield ValidationError(f"{instance!r} does not match {pattern_!r}")


ExactValidator = validators.extend(Draft202012Validator, {"pattern": _exact_pattern})  # type: ignore[no-untyped-call]
"""The manifest's validator: Draft 2020-12, with patterns matching whole values."""


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    """The schema a value is checked against: through `$ref`, the mapping (or single) branch of an
    `if`/`else` (ssh: local or settings; one job id or a list), and a list's items (hf_jobs' ids)."""
    while "pattern" not in node and "properties" not in node:
        if "items" in node:
            node = node["items"]
        elif "$ref" in node:
            node = schema()["$defs"][node["$ref"].removeprefix("#/$defs/")]
        elif "else" in node:
            node = node["else"]
        else:
            raise KeyError(f"no pattern or properties in {sorted(node)}")
    return node
