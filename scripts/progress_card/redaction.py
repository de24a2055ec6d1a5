"""Keeping secrets out of everything the tool prints: the HF token and SSH keys become `***`.

The tool itself never prints them; this is for what others say: a server or a proxy echoing a
header back in an error, a library's debug log printing a response.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

from huggingface_hub import get_token

from .compute import DEFAULT_KEY_ENV

MASK = "***"
SHORTEST = 8
"""Shorter values are not treated as secrets (masking them would garble ordinary text)."""
TOKEN_VARIABLES = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "GITHUB_TOKEN")
"""The environment variables holding a token: the Hub's, and GitHub's for the incident issues."""


class Redactor:
    """Replaces every known secret, and every line of a multi-line one (a key), with `***`."""

    def __init__(self, secrets: Iterable[str]) -> None:
        pieces = {piece.strip() for secret in secrets for piece in [secret, *secret.splitlines()]}
        self._pieces = sorted((p for p in pieces if len(p) >= SHORTEST), key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for piece in self._pieces:
            text = text.replace(piece, MASK)
        return text

    @contextmanager
    def guarding(self, handlers: Iterable[logging.Handler]) -> Iterator[None]:
        """Redact every record these handlers write, while the context lasts."""
        guard = _RedactingFilter(self)
        chosen = list(handlers)
        for handler in chosen:
            handler.addFilter(guard)
        try:
            yield
        finally:
            for handler in chosen:
                handler.removeFilter(guard)


class _RedactingFilter(logging.Filter):
    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self._redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
            record.exc_text = None
        record.msg, record.args = self._redact(message), ()
        return True


def secrets_from(environ: Mapping[str, str], key_variables: Iterable[str]) -> list[str]:
    """The tokens (from the environment or huggingface_hub's login) and the SSH keys given by variable."""
    values = [environ.get(name, "") for name in (*TOKEN_VARIABLES, DEFAULT_KEY_ENV, *key_variables)]
    values.append(get_token() or "")
    return [value for value in values if value]
