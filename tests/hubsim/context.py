"""What a request handler gets besides the request: the repository store and the auth rules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .repo import HubStore
from .responses import Request, repo_not_found


@dataclass(frozen=True)
class Context:
    """Per-request view of the simulator state."""

    store: HubStore
    tokens: Mapping[str, str]  # organisation -> token required for its repositories

    def check_auth(self, namespace: str | None, req: Request) -> None:
        """401 RepoNotFound (the Hub hides private repos) unless the org's token rule is met."""
        if namespace is None:
            return
        token = self.tokens.get(namespace)
        if token is not None and req.header("Authorization") != f"Bearer {token}":
            raise repo_not_found(401)
