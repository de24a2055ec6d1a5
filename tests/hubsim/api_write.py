"""Write routes: validate-yaml, preupload, commit, repo creation; plus the telemetry probe."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from .cards import CardError, parse_card_data
from .context import Context
from .repo import BRANCH, AddFile, DeleteFile, DeleteFolder, Operation, valid_repo_part
from .responses import HubError, Request, Response, json_response, revision_not_found


def handle_validate_yaml(ctx: Context, req: Request, p: dict[str, str]) -> Response:
    """POST /api/validate-yaml: always JSON, 400 with ``errors`` when the front matter is invalid."""
    try:
        payload = json.loads(req.body or b"null")
    except ValueError:
        payload = None
    content = payload.get("content") if isinstance(payload, dict) else None
    if not isinstance(content, str):
        return json_response({"errors": [{"message": "Expected a JSON body with 'content'"}]}, 400)
    try:
        parse_card_data(content)
    except CardError as err:
        return json_response({"errors": [{"message": str(err)}], "warnings": []}, 400)
    return json_response({"errors": [], "warnings": []})


def _branch(rev: str) -> None:
    if rev != BRANCH:
        raise revision_not_found(rev)


def handle_preupload(ctx: Context, req: Request, p: dict[str, str]) -> Response:
    """POST .../preupload/{rev}: always ``regular``, with the current remote blob id as ``oid``."""
    repo = ctx.store.existing(p["ns"], p["name"])
    ctx.check_write(req)
    _branch(p["rev"])
    payload = req.json()
    files = payload.get("files") if isinstance(payload, dict) else None
    if not isinstance(files, list):
        raise HubError(400, "Expected a JSON body with 'files'")
    out = []
    for f in files:
        path = f.get("path") if isinstance(f, dict) else None
        if not isinstance(path, str):
            raise HubError(400, "Every file needs a 'path'")
        item: dict[str, Any] = {"path": path, "uploadMode": "regular", "shouldIgnore": False}
        entry = repo.disk_entry(path)
        if entry is not None:
            item["oid"] = entry.blob_sha1
        out.append(item)
    return json_response({"files": out})


def _operation(key: Any, value: Any) -> Operation:
    if not isinstance(value, dict) or not isinstance(value.get("path"), str):
        raise HubError(400, f"Invalid {key!r} line: a 'path' is required")
    path = value["path"]
    if key == "file":
        if value.get("encoding", "base64") != "base64" or not isinstance(value.get("content"), str):
            raise HubError(400, "Only base64-encoded 'file' content is supported")
        try:
            content = base64.b64decode(value["content"], validate=True)
        except binascii.Error:
            raise HubError(400, f"Invalid base64 content for {path!r}") from None
        return AddFile(path, content)
    if key == "deletedFile":
        return DeleteFile(path)
    if key == "deletedFolder":
        return DeleteFolder(path.rstrip("/"))
    if key == "lfsFile":
        raise HubError(400, "LFS uploads are not supported by the simulator (preupload never answers 'lfs')")
    raise HubError(400, f"Unsupported commit operation {key!r}")


def handle_commit(ctx: Context, req: Request, p: dict[str, str]) -> Response:
    """POST .../commit/{rev} with an ndjson body: header line, then file / deletedFile / deletedFolder."""
    repo = ctx.store.existing(p["ns"], p["name"])
    ctx.check_write(req)
    _branch(p["rev"])
    if req.flag("create_pr"):
        raise HubError(400, "Pull requests are not supported by the simulator")
    lines = []
    for raw in req.body.splitlines():
        if raw.strip():
            try:
                lines.append(json.loads(raw))
            except ValueError:
                raise HubError(400, "Invalid ndjson line in commit payload") from None
    if not lines or not isinstance(lines[0], dict) or lines[0].get("key") != "header":
        raise HubError(400, "The first ndjson line must be the commit header")
    header = lines[0].get("value") or {}
    ops = [_operation(line.get("key"), line.get("value")) for line in lines[1:] if isinstance(line, dict)]
    parent = header.get("parentCommit")
    record = repo.commit(
        ops,
        title=str(header.get("summary") or ""),
        description=str(header.get("description") or ""),
        parent=str(parent) if parent else None,
    )
    return json_response(
        {
            "success": True,
            "commitOid": record.sha,
            "commitUrl": f"{req.base_url}/datasets/{repo.repo_id}/commit/{record.sha}",
            "hookOutput": "",
            "pullRequestUrl": None,
        }
    )


def handle_create_repo(ctx: Context, req: Request, p: dict[str, str]) -> Response:
    """POST /api/repos/create; 409 (with ``url``, which the client reads) when it already exists."""
    payload = req.json()
    if not isinstance(payload, dict):
        raise HubError(400, "Expected a JSON object")
    if payload.get("type", "model") != "dataset":
        raise HubError(400, "The simulator only hosts dataset repositories")
    org, name = payload.get("organization"), payload.get("name")
    if not isinstance(org, str) or not isinstance(name, str):
        raise HubError(400, "Both 'organization' and 'name' are required (the simulator has no users)")
    if not (valid_repo_part(org) and valid_repo_part(name)):
        raise HubError(400, f"Invalid repository name: {org}/{name}")
    ctx.check_auth(org, req)
    repo = ctx.store.repo(org, name)
    url = f"{req.base_url}/datasets/{repo.repo_id}"
    try:
        repo.path.mkdir(parents=True)
    except FileExistsError:
        return json_response({"error": "You already created this dataset repo", "url": url}, 409)
    if payload.get("private") is True or payload.get("visibility") == "private":
        ctx.store.private.add(repo.repo_id)
    return json_response({"url": url, "name": repo.repo_id, "id": repo.repo_id})


def handle_agent_harnesses(ctx: Context, req: Request, p: dict[str, str]) -> Response:
    """GET /api/agent-harnesses (telemetry probe the client sends unless disabled)."""
    return json_response({"standardEnvVars": [], "harnesses": {}})
