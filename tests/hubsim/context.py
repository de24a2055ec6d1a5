"""What a request handler gets besides the request: the repository store, auth rules and modes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .buckets import BucketStore
from .filecache import FileEntry
from .jobs import JOBS_PAGE_SIZE, JobStore
from .repo import HubStore, Repo
from .responses import HubError, Request, repo_not_found

#: Publishes a Xet-backed file on the bridge and returns its signed URL.
XetPublisher = Callable[[Repo, FileEntry], str]
#: Publishes content on the bridge (Xet hash, size, reader of ``[start, stop)``) and returns its signed URL.
ObjectPublisher = Callable[[str, int, Callable[[int, int], bytes | None]], str]

BUCKET_PAGE_SIZE = 1000


@dataclass(frozen=True)
class Context:
    """Per-request view of the simulator state."""

    store: HubStore
    tokens: Mapping[str, str]  # organisation -> token required for its repositories
    xet: XetPublisher | None = None  # set in Xet mode
    resolve_cache: bool = False  # regular files answer resolve with a 307 to /api/resolve-cache/
    ignore_ranges: bool = False  # answer every read with the whole file
    buckets: BucketStore | None = None  # Storage Buckets (None: the simulator serves none)
    publish_object: ObjectPublisher | None = None  # the bridge, always on for bucket files
    bucket_page_size: int = BUCKET_PAGE_SIZE  # entries per bucket tree page
    jobs: JobStore | None = None  # Hugging Face Jobs, users and hardware (None: the simulator serves none)
    jobs_page_size: int = JOBS_PAGE_SIZE  # Jobs per page of a namespace listing
    read_only: frozenset[str] = frozenset()  # tokens that may read but not write (a "read" token)
    revoked: frozenset[str] = frozenset()  # tokens the Hub no longer knows: 401 on every request

    def check_token(self, req: Request) -> None:
        """401 for a token the Hub does not know (revoked, mistyped), whatever the request."""
        auth = req.header("Authorization") or ""
        if auth.lower().startswith("bearer ") and auth[7:].strip() in self.revoked:
            raise HubError(401, "Invalid credentials in Authorization header")

    def check_write(self, req: Request) -> None:
        """403 for a write (preupload, commit) made with a read token, as the Hub answers."""
        auth = req.header("Authorization") or ""
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        if token in self.read_only:
            raise HubError(403, "Forbidden: you must use a write token to upload to a repository.")

    def check_auth(self, namespace: str | None, req: Request) -> None:
        """401 RepoNotFound (the Hub hides private repos) unless the org's token rule is met."""
        if namespace is None:
            return
        token = self.tokens.get(namespace)
        if token is not None and req.header("Authorization") != f"Bearer {token}":
            raise repo_not_found(401)
