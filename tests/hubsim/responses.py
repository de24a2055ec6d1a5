"""Requests and responses as the handlers see them, and Hub-style coded errors."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

Headers = list[tuple[str, str]]


@dataclass
class Request:
    """One parsed HTTP request."""

    method: str
    raw_path: str  # the path as sent, still percent-encoded, without the query
    query_string: str
    headers: Mapping[str, str]  # keys lower-cased
    body: bytes
    base_url: str  # scheme://host[:port] as the client addressed us

    @property
    def query(self) -> dict[str, list[str]]:
        """Decoded query parameters (repeated keys kept)."""
        return parse_qs(self.query_string, keep_blank_values=True)

    def flag(self, name: str) -> bool:
        """Whether query parameter ``name`` is ``true``/``1``."""
        values = self.query.get(name)
        if not values:
            return False
        return values[-1].lower() in ("true", "1")

    def header(self, name: str) -> str | None:
        """A request header, looked up case-insensitively."""
        return self.headers.get(name.lower())

    def json(self) -> Any:
        """The body parsed as JSON (raises HubError 400 when it is not)."""
        try:
            return json.loads(self.body or b"null")
        except ValueError as err:
            raise HubError(400, f"Invalid JSON body: {err}") from None


@dataclass
class Response:
    """What a handler answers; ``length`` overrides Content-Length (HEAD answers carry no body)."""

    status: int
    headers: Headers = field(default_factory=list)
    body: bytes = b""
    length: int | None = None


class HubError(Exception):
    """An error answered the way the Hub does: ``X-Error-Code``, ``X-Error-Message``, JSON body."""

    def __init__(self, status: int, message: str, code: str | None = None, headers: Headers | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers or []

    def response(self) -> Response:
        """Render as a response."""
        return error_response(self.status, self.message, self.code, self.headers)


def json_response(obj: Any, status: int = 200, headers: Headers | None = None) -> Response:
    """A JSON response."""
    body = json.dumps(obj, default=str, separators=(",", ":")).encode()
    return Response(status, [("Content-Type", "application/json; charset=utf-8"), *(headers or [])], body)


def error_response(
    status: int, message: str, code: str | None = None, headers: Headers | None = None
) -> Response:
    """A coded error response with JSON body ``{"error": message}``."""
    extra: Headers = [("X-Error-Message", message.encode("ascii", "replace").decode())]
    if code:
        extra.append(("X-Error-Code", code))
    return json_response({"error": message}, status, [*extra, *(headers or [])])


def repo_not_found(status: int = 404) -> HubError:
    """Unknown (or hidden) repository."""
    return HubError(status, "Repository not found", "RepoNotFound")


def revision_not_found(rev: str) -> HubError:
    """Unknown branch or commit."""
    return HubError(404, f"Invalid rev id: {rev}", "RevisionNotFound")


def entry_not_found(commit: str | None = None) -> HubError:
    """Missing file or folder (``X-Repo-Commit`` added when known)."""
    headers = [("X-Repo-Commit", commit)] if commit else []
    return HubError(404, "Entry not found", "EntryNotFound", headers)
