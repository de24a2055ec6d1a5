"""Hugging Face Jobs routes: whoami, the namespace listing, one Job, its logs (SSE) and the hardware table.

Choices where the client leaves the server's behaviour open (see ``jobs.py`` for durations and ids):

- Reading Jobs needs a bearer token: none is a 401 (no ``X-Error-Code``: on a jobs URL the client
  raises a plain ``HfHubHTTPError``). The token's user (``/api/whoami-v2``) may read its own
  namespace, its orgs and any namespace a test added Jobs to; ``HubSim.deny_namespace`` and an org
  token rule (``HubSim.require_token``) with another token make it a 403, and so does a namespace it
  may not read (the Hub does not tell "unknown" from "not yours"). ``list_jobs_hardware`` needs no token.
- An unknown Job id (or one of another namespace) is a 404 without ``X-Error-Code``: the client turns
  a 404 on ``/api/jobs/{namespace}/{id}[...]`` into ``JobNotFoundError``; a code such as
  ``RepoNotFound`` would win over that and be misleading.
- The listing is newest first (``createdAt``, then order of addition, descending), in pages of ``jobs_page_size``
  (1,000 unless a test lowers it) with an absolute ``Link: <...>; rel="next"``; the cursor is the
  last Job served, so Jobs added between pages neither repeat nor shift entries. ``stage`` values are
  ORed, ``label=key=value`` pairs ANDed; an unknown stage or a label without ``=`` is a 400.
- A Job's JSON carries ``id``, ``createdAt``, ``startedAt``/``finishedAt`` once set, ``dockerImage``,
  ``command``, ``arguments``, ``environment``, ``flavor``, ``labels`` (left out when there are none,
  as ``JobInfo.labels`` is then None), ``status: {stage, message}``, ``durations`` and ``owner``
  (required by the client: ``{id, name, type}``, type ``user`` for a configured user, else ``org``).
- Logs are server-sent events ``data: {"data": <line>, "timestamp": <...Z>}``, one per line, then
  the stream ends: non-follow reads get every available line at once, and follow reads come back
  after polling the Job's stage, as against the Hub. ``tail=N`` keeps the last N lines. The Hub's
  ``===== Job started at ... =====`` banner is not invented (a test may log it; the client skips it).
  In non-follow mode the client drops lines dated after the answer's ``Date`` header.
- Anything else under ``/api/jobs/`` (``run_job``, ``cancel_job``, metrics): 501, nothing is run.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from .context import Context
from .gitids import hub_date
from .jobs import STAGES, Job, JobStore, owner_id
from .responses import HubError, Request, Response, json_response

NOT_SIMULATED = (
    "The Hub simulator does not run Jobs ({what}); add and move them with HubSim.add_job / HubSim.set_job"
)


def _store(ctx: Context) -> JobStore:
    if ctx.jobs is None:
        raise HubError(501, "This simulator serves no Jobs")
    return ctx.jobs


def bearer(req: Request) -> str | None:
    """The request's bearer token, None without one."""
    auth = req.header("Authorization") or ""
    if auth.lower().startswith("bearer ") and auth[7:].strip():
        return auth[7:].strip()
    return None


def _readable(ctx: Context, req: Request, namespace: str) -> JobStore:
    """The store, once the request's token may read the Jobs of ``namespace`` (401/403 otherwise)."""
    store = _store(ctx)
    token = bearer(req)
    if token is None:
        raise HubError(401, "Unauthorized: a user access token is required to read Jobs")
    rule = ctx.tokens.get(namespace)
    if store.is_denied(namespace) or (rule is not None and rule != token):
        raise HubError(403, f"This token has no access to the Jobs of namespace '{namespace}'")
    user = store.user(token)
    if namespace != user.name and namespace not in user.orgs and not store.has_namespace(namespace):
        raise HubError(403, f"Namespace '{namespace}' does not exist or this token may not read its Jobs")
    return store


def _job(ctx: Context, req: Request, p: dict[str, str]) -> tuple[JobStore, Job]:
    store = _readable(ctx, req, p["namespace"])
    job = store.get(p["namespace"], p["job_id"])
    if job is None:
        raise HubError(404, f"Job {p['job_id']} not found in namespace '{p['namespace']}'")
    return store, job


def job_json(store: JobStore, job: Job) -> dict[str, Any]:
    """A Job as listed and inspected."""
    out: dict[str, Any] = {
        "id": job.id,
        "createdAt": hub_date(job.created_ns),
        "dockerImage": job.docker_image,
        "command": list(job.command),
        "arguments": [],
        "environment": {},
        "flavor": job.flavor,
        "status": {"stage": job.stage, "message": job.message},
        "durations": store.durations(job),
        "owner": {
            "id": owner_id(job.namespace),
            "name": job.namespace,
            "type": "user" if store.is_user_name(job.namespace) else "org",
        },
    }
    if job.started_ns is not None:
        out["startedAt"] = hub_date(job.started_ns)
    if job.finished_ns is not None:
        out["finishedAt"] = hub_date(job.finished_ns)
    if job.labels:
        out["labels"] = dict(job.labels)
    return out


def handle_whoami(ctx: Context, req: Request, p: dict[str, str]) -> Response:
    """GET /api/whoami-v2: the token's user (``HubSim.set_user``) and its orgs; 401 without a token."""
    store = _store(ctx)
    token = bearer(req)
    if token is None:
        raise HubError(401, "Invalid credentials in Authorization header")
    user = store.user(token)
    return json_response(
        {
            "type": "user",
            "id": owner_id(user.name),
            "name": user.name,
            "fullname": user.name,
            "isPro": True,
            "canPay": True,
            "orgs": [
                {"type": "org", "id": owner_id(org), "name": org, "fullname": org, "roleInOrg": "write"}
                for org in user.orgs
            ],
            "auth": {"type": "access_token", "accessToken": {"displayName": "hubsim", "role": "write"}},
        }
    )


def handle_hardware(ctx: Context, req: Request, p: dict[str, str]) -> Response:
    """GET /api/jobs/hardware: the flavors and their prices (``HubSim.set_hardware``)."""
    return json_response([flavor.to_json() for flavor in _store(ctx).hardware])


def _filters(req: Request) -> tuple[set[str], list[tuple[str, str]]]:
    query = req.query
    stages: set[str] = set()
    for value in query.get("stage", []):
        if value.upper() not in STAGES:
            raise HubError(400, f"Invalid stage '{value}': expected one of {', '.join(STAGES)}")
        stages.add(value.upper())
    labels: list[tuple[str, str]] = []
    for value in query.get("label", []):
        key, eq, wanted = value.partition("=")
        if not key or not eq:
            raise HubError(400, f"Invalid label filter '{value}': expected key=value")
        labels.append((key, wanted))
    return stages, labels


def _after(cursor: str) -> tuple[int, int]:
    created, sep, seq = cursor.partition("-")
    if not sep or not created.isdigit() or not seq.isdigit():
        raise HubError(400, f"Invalid cursor '{cursor}'")
    return int(created), int(seq)


def handle_list(ctx: Context, req: Request, p: dict[str, str]) -> Response:
    """GET /api/jobs/{namespace}?stage=...&label=k=v...[&cursor=...], newest first, with Link pagination."""
    store = _readable(ctx, req, p["namespace"])
    stages, labels = _filters(req)
    query = req.query
    jobs = [
        job
        for job in store.listing(p["namespace"])
        if (not stages or job.stage in stages) and all(job.labels.get(k) == v for k, v in labels)
    ]
    cursor = query.get("cursor", [""])[-1]
    if cursor:
        after = _after(cursor)
        jobs = [job for job in jobs if job.sort_key < after]
    size = max(1, ctx.jobs_page_size)
    page = jobs[:size]
    headers = []
    if len(jobs) > size:
        last = page[-1]
        params = [(k, v) for k, vs in query.items() if k != "cursor" for v in vs]
        params.append(("cursor", f"{last.created_ns}-{last.seq}"))
        headers.append(("Link", f'<{req.base_url}{req.raw_path}?{urlencode(params)}>; rel="next"'))
    return json_response([job_json(store, job) for job in page], headers=headers)


def handle_inspect(ctx: Context, req: Request, p: dict[str, str]) -> Response:
    """GET /api/jobs/{namespace}/{job_id}."""
    store, job = _job(ctx, req, p)
    return json_response(job_json(store, job))


def handle_logs(ctx: Context, req: Request, p: dict[str, str]) -> Response:
    """GET /api/jobs/{namespace}/{job_id}/logs[?tail=N]: the available lines as server-sent events, then the end."""
    _, job = _job(ctx, req, p)
    lines = job.logs
    tail = req.query.get("tail")
    if tail:
        try:
            n = int(tail[-1])
        except ValueError:
            n = -1
        if n < 0:
            raise HubError(400, f"Invalid tail '{tail[-1]}': expected a non-negative integer")
        lines = lines[max(0, len(lines) - n) :]
    body = b"".join(
        b"data: "
        + json.dumps({"data": line.text, "timestamp": hub_date(line.at_ns)}, separators=(",", ":")).encode()
        + b"\n\n"
        for line in lines
    )
    headers = [("Content-Type", "text/event-stream; charset=utf-8"), ("Cache-Control", "no-cache")]
    return Response(200, headers, body)


def handle_not_simulated(ctx: Context, req: Request, p: dict[str, str]) -> Response:
    """POST /api/jobs/{namespace} (run_job) and the rest (cancel, metrics...): 501."""
    rest = p.get("rest")
    what = f"{req.method} {rest}" if rest else ("run_job" if req.method == "POST" else req.method)
    raise HubError(501, NOT_SIMULATED.format(what=what))
