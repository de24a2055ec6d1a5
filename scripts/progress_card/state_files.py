"""The state folder's files, read and written so that a cache never stops a run.

Everything in the state folder (the shard memory, the input totals, the job notes, what people were
told) is a cache: without it a run is slower, or says again what it said. So a file that cannot be
read or parsed, or has the wrong shape, is set aside (renamed `*.broken`) with a warning naming it,
and the run goes on without it; a write that fails (a read-only folder, a full disk, a file where a
folder should be) is a warning, and the run goes on without saving.
"""

from __future__ import annotations

import errno
import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from .atomic import write_atomically

log = logging.getLogger(__name__)


class Damaged(ValueError):
    """A state file whose content does not have the shape its reader expects."""


def count(value: Any) -> int:
    """A whole number of rows, bytes, documents or tokens as a state file holds it: an int, not a bool,
    not negative; Damaged otherwise."""
    if type(value) is not int or value < 0:
        raise Damaged(f"not a count: {value!r}")
    return value


def moment(value: Any) -> datetime:
    """A time with its zone, as `datetime.isoformat` wrote it; Damaged otherwise."""
    try:
        when = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise Damaged(f"not a time with its zone: {value!r}")
    return when


def read_state(path: Path, lost: str) -> Any | None:
    """The file's JSON; None when there is no such file, or it is damaged: then it is set aside, with a
    warning naming it and saying what is `lost` (e.g. "counting every shard again")."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:  # a folder in the way, no permission, bytes that are not UTF-8
        set_aside(path, _reason(error), lost)
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:  # not JSON, or nested beyond what Python parses
        set_aside(path, _reason(error), lost)
        return None


def set_aside(path: Path, reason: str, lost: str) -> None:
    """Move a damaged state file out of the way (to `<name>.broken`, for a person to look at) and warn."""
    try:
        path.replace(path.with_name(path.name + ".broken"))
        where = f"set aside as {path.name}.broken"
    except OSError:
        where = "left in place (it cannot be moved)"
    log.warning("state %s is damaged (%s): %s; %s", path, reason, where, lost)


def save_state(path: Path, data: bytes, lost: str) -> bool:
    """Replace the file with `data`, atomically; on failure warn, saying what is `lost` (e.g. "the next
    run reads these shards again"), and return False. Never needs room for two copies: on a full disk
    the old copy goes first, and if the new one still does not fit, nothing is saved."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, data)
        return True
    except OSError as error:
        failure = error
    if failure.errno == errno.ENOSPC and path.is_file():
        try:
            path.unlink()
            write_atomically(path, data)
            return True
        except OSError as again:
            failure = again
    log.warning("state %s not saved (%s): %s", path, _reason(failure), lost)
    return False


def _reason(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return f"{type(error).__name__}: {error}"[:200]
