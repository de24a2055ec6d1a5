"""Read-only API routes: repository info, tree listings and paths-info."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode

from .cards import CardError, parse_card_data
from .context import Context
from .gitids import hub_date
from .repo import Repo
from .responses import HubError, Request, Response, entry_not_found, json_response
from .snapshot import Snapshot

PAGE_SIZE = 1000
EXPAND_PAGE_SIZE = 50
PATHS_INFO_LIMIT = 1000
PATHS_INFO_EXPAND_LIMIT = 50
MAX_CARD_BYTES = 1 << 20


def card_data(repo: Repo, snap: Snapshot) -> dict[str, Any] | None:
    """Parsed YAML front matter of README.md at ``snap``; None when absent, too big or invalid."""
    entry = snap.files.get("README.md")
    if entry is None or entry.size > MAX_CARD_BYTES:
        return None
    data = repo.read(entry, 0, entry.size)
    if data is None:
        return None
    try:
        return parse_card_data(data.decode("utf-8", "replace"))
    except CardError:
        return None


def handle_info(ctx: Context, req: Request, p: dict[str, str]) -> Response:
    """GET /api/datasets/{ns}/{name}[/revision/{rev}]."""
    repo = ctx.store.existing(p["ns"], p["name"])
    snap = repo.resolve(p.get("rev", "main"))
    blobs = req.flag("blobs")
    siblings: list[dict[str, Any]] = []
    for e in snap.files.values():
        sib: dict[str, Any] = {"rfilename": e.path}
        if blobs:
            sib["size"] = e.size
            sib["blobId"] = e.oid
            if e.lfs_sha256 is not None:
                sib["lfs"] = {"size": e.size, "sha256": e.lfs_sha256, "pointerSize": e.pointer_size}
        siblings.append(sib)
    modified = snap.mtime_ns or repo.path.stat().st_mtime_ns
    created = min((e.mtime_ns for e in snap.files.values()), default=modified)
    body: dict[str, Any] = {
        "_id": snap.sha[:24],
        "id": repo.repo_id,
        "author": repo.namespace,
        "sha": snap.sha,
        "lastModified": hub_date(modified),
        "createdAt": hub_date(created),
        "private": repo.repo_id in ctx.store.private,
        "gated": False,
        "disabled": False,
        "downloads": 0,
        "likes": 0,
        "tags": [],
        "siblings": siblings,
    }
    card = card_data(repo, snap)
    if card is not None:
        body["cardData"] = card
    return json_response(body)


def _parse_cursor(cursor: str) -> tuple[str, int]:
    sha, _, offset = cursor.partition("-")
    if not offset.isdigit():
        raise HubError(400, f"Invalid cursor: {cursor!r}")
    return sha, int(offset)


def handle_tree(ctx: Context, req: Request, p: dict[str, str]) -> Response:
    """GET /api/datasets/{ns}/{name}/tree/{rev}[/{path}] with Link pagination."""
    repo = ctx.store.existing(p["ns"], p["name"])
    if p.get("path") == "":
        # ``tree/{rev}/``: no official client sends it, and how the Hub answers is unknown. A plain
        # 404 (no X-Error-Code) that no client can mistake for a missing or empty folder.
        raise HubError(404, "Invalid tree URL: nothing may follow the revision but a path")
    path = p.get("path", "").strip("/")
    recursive, expand = req.flag("recursive"), req.flag("expand")
    cursor = req.query.get("cursor")
    if cursor:
        sha, offset = _parse_cursor(cursor[-1])
        found = repo.snapshot(sha)
        if found is None:
            raise HubError(400, "Cursor refers to a commit the simulator no longer remembers")
        snap = found
    else:
        snap, offset = repo.resolve(p["rev"]), 0
    if not snap.is_dir(path):
        raise entry_not_found(snap.sha)
    listing = snap.listing(path, recursive)
    size = EXPAND_PAGE_SIZE if expand else PAGE_SIZE
    xet = ctx.xet is not None
    page = [snap.entry_json(x, expand, xet) for x in listing[offset : offset + size]]
    headers = [("X-Repo-Commit", snap.sha)]
    if offset + size < len(listing):
        query = urlencode(
            {
                "recursive": str(recursive).lower(),
                "expand": str(expand).lower(),
                "cursor": f"{snap.sha}-{offset + size}",
            }
        )
        headers.append(("Link", f'<{req.base_url}{req.raw_path}?{query}>; rel="next"'))
    return json_response(page, headers=headers)


def handle_paths_info(ctx: Context, req: Request, p: dict[str, str]) -> Response:
    """POST /api/datasets/{ns}/{name}/paths-info/{rev} (form-encoded or JSON body); 413 beyond the limit."""
    repo = ctx.store.existing(p["ns"], p["name"])
    snap = repo.resolve(p["rev"])
    paths: list[str]
    if (req.header("Content-Type") or "").startswith("application/json"):
        payload = req.json()
        if not isinstance(payload, dict):
            raise HubError(400, "Expected a JSON object")
        paths = [str(x) for x in payload.get("paths") or []]
        expand = bool(payload.get("expand"))
    else:
        form = parse_qs(req.body.decode("utf-8", "replace"), keep_blank_values=True)
        paths = form.get("paths", [])
        expand = form.get("expand", ["false"])[-1].lower() in ("true", "1")
    limit = PATHS_INFO_EXPAND_LIMIT if expand else PATHS_INFO_LIMIT
    if len(paths) > limit:
        with_expand = " with expand=true" if expand else ""
        raise HubError(413, f"Too many paths: {len(paths)} asked, at most {limit} per request{with_expand}")
    out = []
    xet = ctx.xet is not None
    for path in paths:
        entry = snap.entry_json(path.strip("/"), expand, xet) if path.strip("/") else None
        if entry is not None:
            out.append(entry)
    return json_response(out, headers=[("X-Repo-Commit", snap.sha)])
