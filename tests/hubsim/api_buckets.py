"""Storage Bucket routes: info, creation, tree, paths-info, batch (deletes), and resolve (302 to the bridge).

Choices where the client leaves the server's behaviour open (see ``buckets.py`` for times and hashes):

- A tree ``prefix`` is matched as a raw string (``logs`` also matches ``logs_old/a``), as the client's
  own code says the Hub does; ``HfFileSystem`` filters the extra matches out itself.
- ``recursive=true`` lists files only (``HfFileSystem`` rebuilds folders itself); ``recursive=false``
  lists one level below the prefix's depth, folders included, each with the newest ``uploadedAt``
  below it. Without the parameter the listing is recursive (what the client's tests against the
  Hub show, whatever its docstring says).
- A prefix that matches nothing: ``200 []`` (the client's ``copy_files`` tests ``any(listing)`` and
  ``HfFileSystem`` raises its own FileNotFoundError on an empty listing), never a 404.
- Pages of ``bucket_page_size`` entries (1,000 on the Hub), sorted by path; the ``Link`` cursor is
  the last path served, so files added or deleted between pages neither repeat nor shift entries.
- A private bucket answers 401 ``RepoNotFound`` to a request without a token (as the Hub answered
  the client's own tests); the org token rules of ``HubSim.require_token`` apply as for repos.
- ``deleteFile`` of a path that is not there succeeds (deletes are idempotent); an invalid path is
  reported in ``failed``. ``addFile`` and ``copyFile`` need Xet storage: 501, nothing applied.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from typing import Any
from urllib.parse import urlencode

from .buckets import Bucket, BucketObject, StoredFile
from .context import Context
from .gitids import hub_date
from .repo import valid_file_path, valid_repo_part
from .responses import HubError, Request, Response, json_response, repo_not_found

PATHS_INFO_LIMIT = 1000
NO_XET_MESSAGE = (
    "The Hub simulator has no Xet storage (CAS) server: it cannot {what}. "
    "Put bucket files with HubSim.put_bucket_file and read them through resolve (plain HTTP ranges)."
)


def _has_token(req: Request) -> bool:
    return (req.header("Authorization") or "").lower().startswith("bearer ")


def _bucket(ctx: Context, req: Request, p: dict[str, str]) -> Bucket:
    """The bucket of the URL: 404 RepoNotFound if missing, 401 RepoNotFound if private and no token is sent."""
    if ctx.buckets is None:
        raise repo_not_found()
    bucket = ctx.buckets.existing(p["ns"], p["name"])
    if bucket.meta.private and not _has_token(req):
        raise repo_not_found(401)
    return bucket


def file_json(obj: BucketObject) -> dict[str, Any]:
    """A file entry as tree and paths-info list it."""
    return {
        "type": "file",
        "path": obj.path,
        "size": obj.size,
        "xetHash": obj.xet_hash,
        "mtime": hub_date(obj.mtime_ns),
        "uploadedAt": hub_date(obj.uploaded_ns),
    }


def handle_info(ctx: Context, req: Request, p: dict[str, str]) -> Response:
    """GET /api/buckets/{ns}/{name}."""
    bucket = _bucket(ctx, req, p)
    files = bucket.files()
    return json_response(
        {
            "id": bucket.bucket_id,
            "author": bucket.namespace,
            "private": bucket.meta.private,
            "createdAt": hub_date(bucket.meta.created_ns),
            "size": sum(f.size for f in files),
            "totalFiles": len(files),
        }
    )


def handle_create(ctx: Context, req: Request, p: dict[str, str]) -> Response:
    """POST /api/buckets/{ns}/{name} (``create_bucket``); 409 with ``url`` (read by exist_ok) if it exists."""
    if ctx.buckets is None:
        raise HubError(501, "This simulator serves no buckets")
    ns, name = p["ns"], p["name"]
    if not (valid_repo_part(ns) and valid_repo_part(name)):
        raise HubError(400, f"Invalid bucket name: {ns}/{name}")
    payload = req.json() or {}
    if not isinstance(payload, dict):
        raise HubError(400, "Expected a JSON object")
    url = f"{req.base_url}/buckets/{ns}/{name}"
    if ctx.buckets.get(ns, name) is not None:
        return json_response({"error": "You already created this bucket", "url": url}, 409)
    ctx.buckets.create(ns, name, private=payload.get("visibility") == "private")
    return json_response({"url": url, "name": name, "id": f"{ns}/{name}"})


class _Folder:
    """A folder in a non-recursive listing, dated by the newest upload below it."""

    __slots__ = ("path", "uploaded_ns")

    def __init__(self, path: str, uploaded_ns: int) -> None:
        self.path = path
        self.uploaded_ns = uploaded_ns


def _listing(bucket: Bucket, prefix: str, recursive: bool) -> list[StoredFile | _Folder]:
    files = bucket.files(prefix)
    if recursive:
        return list(files)
    depth = len(prefix.rstrip("/").split("/")) + 1 if prefix.rstrip("/") else 1
    out: list[StoredFile | _Folder] = []
    folders: dict[str, _Folder] = {}
    for f in files:
        parts = f.path.split("/")
        if len(parts) <= depth:
            out.append(f)
            continue
        shown = "/".join(parts[:depth])
        folder = folders.get(shown)
        if folder is None:
            folder = folders[shown] = _Folder(shown, f.uploaded_ns)
            out.append(folder)
        elif f.uploaded_ns > folder.uploaded_ns:
            folder.uploaded_ns = f.uploaded_ns
    out.sort(key=lambda e: e.path)
    return out


def handle_tree(ctx: Context, req: Request, p: dict[str, str]) -> Response:
    """GET /api/buckets/{ns}/{name}/tree[/{prefix}]?recursive=...[&cursor=...], with Link pagination."""
    bucket = _bucket(ctx, req, p)
    prefix = p.get("path", "").lstrip("/")
    query = req.query
    recursive = req.flag("recursive") if "recursive" in query else True
    cursor = query.get("cursor", [""])[-1]
    listing = _listing(bucket, prefix, recursive)
    start = bisect_right([e.path for e in listing], cursor) if cursor else 0
    size = max(1, ctx.bucket_page_size)
    page: list[dict[str, Any]] = []
    for e in listing[start : start + size]:
        if isinstance(e, _Folder):
            page.append({"type": "directory", "path": e.path, "uploadedAt": hub_date(e.uploaded_ns)})
            continue
        obj = bucket.object(e.path)
        if obj is not None:  # None: deleted since the listing was read
            page.append(file_json(obj))
    headers = []
    if start + size < len(listing):
        params = [(k, v) for k, vs in query.items() if k != "cursor" for v in vs]
        params.append(("cursor", listing[start + size - 1].path))
        headers.append(("Link", f'<{req.base_url}{req.raw_path}?{urlencode(params)}>; rel="next"'))
    return json_response(page, headers=headers)


def handle_paths_info(ctx: Context, req: Request, p: dict[str, str]) -> Response:
    """POST /api/buckets/{ns}/{name}/paths-info with JSON ``{"paths": [...]}``: the files among them; 413 past 1,000."""
    bucket = _bucket(ctx, req, p)
    payload = req.json()
    paths = payload.get("paths") if isinstance(payload, dict) else None
    if not isinstance(paths, list) or not all(isinstance(x, str) for x in paths):
        raise HubError(400, "Expected a JSON body with 'paths', a list of strings")
    if len(paths) > PATHS_INFO_LIMIT:
        raise HubError(413, f"Too many paths: {len(paths)} asked, at most {PATHS_INFO_LIMIT} per request")
    out = []
    for path in paths:
        obj = bucket.object(path)
        if obj is not None:
            out.append(file_json(obj))
    return json_response(out)


def handle_batch(ctx: Context, req: Request, p: dict[str, str]) -> Response:
    """POST /api/buckets/{ns}/{name}/batch (ndjson): ``deleteFile`` lines; ``addFile``/``copyFile`` get 501."""
    bucket = _bucket(ctx, req, p)
    ops: list[tuple[str, str]] = []
    for raw in req.body.splitlines():
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except ValueError:
            raise HubError(400, "Invalid ndjson line in batch payload") from None
        kind = line.get("type") if isinstance(line, dict) else None
        path = line.get("path") if isinstance(line, dict) else None
        if kind in ("addFile", "copyFile"):
            raise HubError(
                501, NO_XET_MESSAGE.format(what=f"apply '{kind}' (nothing in this batch was applied)")
            )
        if kind != "deleteFile" or not isinstance(path, str):
            raise HubError(400, f"Unsupported batch line: {raw[:200].decode('utf-8', 'replace')}")
        ops.append((kind, path))
    failed = []
    for _, path in ops:
        if not valid_file_path(path):
            failed.append({"path": path, "error": "Invalid path"})
        else:
            bucket.delete(path)
    status = 422 if failed and len(failed) == len(ops) else 200
    return json_response({"failed": failed}, status)


def handle_xet_token(ctx: Context, req: Request, p: dict[str, str]) -> Response:
    """GET /api/buckets/{ns}/{name}/xet-{read,write}-token: 501, there is no CAS server to hand a token for."""
    _bucket(ctx, req, p)
    what = (
        "upload bucket files (batch_bucket_files add=...)" if p["kind"] == "write" else "download through Xet"
    )
    raise HubError(501, NO_XET_MESSAGE.format(what=what))


def handle_resolve(ctx: Context, req: Request, p: dict[str, str]) -> Response:
    """HEAD/GET /buckets/{ns}/{name}/resolve/{path}: always a 302 to the Xet bridge, as for Xet-backed files.

    ``X-Xet-Hash`` with ``Link: rel="xet-auth"`` is what ``get_bucket_file_metadata`` parses; the
    bridge serves bounded ranges (and the whole file), never ``bytes=-N``.
    """
    bucket = _bucket(ctx, req, p)
    obj = bucket.object(p["path"])
    if obj is None:
        raise HubError(404, "Entry not found", "EntryNotFound")
    if ctx.publish_object is None:
        raise HubError(501, "This simulator has no Xet bridge")
    found = obj
    location = ctx.publish_object(obj.xet_hash, obj.size, lambda start, stop: bucket.read(found, start, stop))
    token_url = f"{req.base_url}/api/buckets/{bucket.bucket_id}/xet-read-token"
    headers = [
        ("Location", location),
        ("ETag", f'"{obj.xet_hash}"'),
        ("X-Linked-ETag", f'"{obj.xet_hash}"'),
        ("X-Linked-Size", str(obj.size)),
        ("X-Xet-Hash", obj.xet_hash),
        ("Link", f'<{token_url}>; rel="xet-auth"'),
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Vary", "Origin, Accept"),
    ]
    return Response(302, headers, f"Found. Redirecting to {location}".encode())
