"""File downloads: HEAD/GET resolve (direct, 302 to the Xet bridge, or 307 to resolve-cache), with ranges."""

from __future__ import annotations

from urllib.parse import quote, unquote, urlencode

from . import xet
from .context import Context
from .filecache import FileEntry
from .ranges import plan
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


def _serve(ctx: Context, req: Request, repo: Repo, entry: FileEntry, commit: str) -> Response | None:
    """The file's bytes (or the part Range asks for); None when that content is no longer available."""
    content_type = (
        "text/plain; charset=utf-8" if entry.path.endswith(_TEXT_SUFFIXES) else "application/octet-stream"
    )
    headers = [
        ("X-Repo-Commit", commit),
        ("ETag", f'"{entry.etag}"'),
        ("Accept-Ranges", "bytes"),
        ("Content-Type", content_type),
    ]
    part = plan(req.header("Range"), entry.size, ctx.ignore_ranges)
    if part.content_range is not None:
        headers.append(("Content-Range", part.content_range))
    if part.status == 416:
        return Response(416, headers)
    if req.method == "HEAD":
        return Response(part.status, headers, length=part.stop - part.start)
    data = repo.read(entry, part.start, part.stop)
    return None if data is None else Response(part.status, headers, data)


def _cache_redirect(req: Request, repo: Repo, entry: FileEntry, commit: str) -> Response:
    """307 to the same host's ``/api/resolve-cache/...`` (a relative Location, as the Hub sends)."""
    etag = f'"{entry.etag}"'
    target = f"/api/resolve-cache/datasets/{repo.namespace}/{repo.name}/{commit}/{quote(entry.path)}"
    location = target + "?" + urlencode({unquote(req.raw_path): "true", "etag": etag})
    headers = [
        ("Location", location),
        ("X-Repo-Commit", commit),
        ("ETag", etag),
        ("Content-Type", "text/plain; charset=utf-8"),
    ]
    return Response(307, headers, f"Temporary Redirect. Redirecting to {location}".encode())


def handle_resolve(ctx: Context, req: Request, p: dict[str, str]) -> Response:
    """Serve a file. GETs at ``main`` only stat the file; HEADs rescan so X-Repo-Commit is exact."""
    repo = ctx.store.existing(p["ns"], p["name"])
    rev, path = p["rev"], p["path"]
    for _ in range(3):
        entry, snap = _locate(repo, rev, path, fast=req.method == "GET")
        if ctx.xet is not None and xet.is_xet_backed(entry):
            return xet.redirect(entry, snap.sha, ctx.xet(repo, entry))
        if ctx.resolve_cache and entry.lfs_sha256 is None:
            return _cache_redirect(req, repo, entry, snap.sha)
        resp = _serve(ctx, req, repo, entry, snap.sha)
        if resp is not None:
            return resp
        if rev != BRANCH:
            raise entry_not_found(snap.sha)
        # the file changed between stat and read: locate it again
    raise HubError(503, "File keeps changing while being served", headers=[("Retry-After", "1")])


def handle_resolve_cache(ctx: Context, req: Request, p: dict[str, str]) -> Response:
    """HEAD/GET /api/resolve-cache/datasets/{ns}/{name}/{rev}/{path}: where the 307 leads; serves any file."""
    repo = ctx.store.existing(p["ns"], p["name"])
    entry, snap = _locate(repo, p["rev"], p["path"], fast=False)
    resp = _serve(ctx, req, repo, entry, snap.sha)
    if resp is None:
        raise entry_not_found(snap.sha)
    return resp
