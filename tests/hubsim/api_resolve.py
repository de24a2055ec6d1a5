"""File downloads: HEAD/GET /datasets/{ns}/{name}/resolve/{rev}/{path}, with byte ranges."""

from __future__ import annotations

from .context import Context
from .filecache import FileEntry
from .ranges import Unsatisfiable, parse_range
from .repo import BRANCH, Repo, valid_file_path
from .responses import HubError, Request, Response, entry_not_found
from .snapshot import Snapshot

_TEXT_SUFFIXES = (".md", ".txt", ".json", ".jsonl", ".yaml", ".yml", ".csv")


def _locate(repo: Repo, rev: str, path: str, fast: bool) -> tuple[FileEntry, Snapshot]:
    """The entry to serve and the snapshot (commit) it belongs to."""
    if rev == BRANCH and fast:
        found = repo.main_entry(path)
        if found is None:
            raise entry_not_found(repo.head().sha)
        return found
    snap = repo.resolve(rev)
    entry = snap.files.get(path) if valid_file_path(path) else None
    if entry is None:
        raise entry_not_found(snap.sha)
    return entry, snap


def handle_resolve(ctx: Context, req: Request, p: dict[str, str]) -> Response:
    """Serve a file. GETs at ``main`` only stat the file; HEADs rescan so X-Repo-Commit is exact."""
    repo = ctx.store.existing(p["ns"], p["name"])
    rev, path = p["rev"], p["path"]
    for _ in range(3):
        entry, snap = _locate(repo, rev, path, fast=req.method == "GET")
        content_type = (
            "text/plain; charset=utf-8" if path.endswith(_TEXT_SUFFIXES) else "application/octet-stream"
        )
        headers = [
            ("X-Repo-Commit", snap.sha),
            ("ETag", f'"{entry.etag}"'),
            ("Accept-Ranges", "bytes"),
            ("Content-Type", content_type),
        ]
        try:
            rng = parse_range(req.header("Range"), entry.size)
        except Unsatisfiable:
            return Response(416, [*headers, ("Content-Range", f"bytes */{entry.size}")])
        start, stop = rng or (0, entry.size)
        status = 200
        if rng is not None:
            status = 206
            headers.append(("Content-Range", f"bytes {start}-{stop - 1}/{entry.size}"))
        if req.method == "HEAD":
            return Response(status, headers, length=stop - start)
        data = repo.read(entry, start, stop)
        if data is not None:
            return Response(status, headers, data)
        if rev != BRANCH:
            raise entry_not_found(snap.sha)
        # the file changed between stat and read: locate it again
    raise HubError(503, "File keeps changing while being served", headers=[("Retry-After", "1")])
