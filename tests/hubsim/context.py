"""What a request handler gets besides the request: the repository store, auth rules and modes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .filecache import FileEntry
from .repo import HubStore, Repo
from .responses import Request, repo_not_found

#: Publishes a Xet-backed file on the bridge and returns its signed URL.
XetPublisher = Callable[[Repo, FileEntry], str]


@dataclass(frozen=True)
class Context:
    """Per-request view of the simulator state."""

    store: HubStore
    tokens: Mapping[str, str]  # organisation -> token required for its repositories
    xet: XetPublisher | None = None  # set in Xet mode
    resolve_cache: bool = False  # regular files answer resolve with a 307 to /api/resolve-cache/
    ignore_ranges: bool = False  # answer every read with the whole file

    def check_auth(self, namespace: str | None, req: Request) -> None:
        """401 RepoNotFound (the Hub hides private repos) unless the org's token rule is met."""
        if namespace is None:
            return
        token = self.tokens.get(namespace)
        if token is not None and req.header("Authorization") != f"Bearer {token}":
            raise repo_not_found(401)
