"""Route table: match the raw (still percent-encoded) path, then decode each captured piece."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

from . import api_buckets, api_jobs, api_read, api_resolve, api_write
from .context import Context
from .responses import HubError, Request, Response

Handler = Callable[[Context, Request, dict[str, str]], Response]

_REPO = r"/(?P<ns>[^/]+)/(?P<name>[^/]+)"
# Jobs name their namespace ``namespace``, not ``ns``: the org token rules of repos (401 RepoNotFound)
# are not theirs; api_jobs applies its own (403).
_JOB = r"/api/jobs/(?P<namespace>[^/]+)/(?P<job_id>[^/]+)"


@dataclass(frozen=True)
class Route:
    """One route: allowed methods, a regex over the raw path, and its handler."""

    methods: frozenset[str]
    pattern: re.Pattern[str]
    handler: Handler


def _route(methods: str, pattern: str, handler: Handler) -> Route:
    return Route(frozenset(methods.split()), re.compile(f"^{pattern}$"), handler)


ROUTES: tuple[Route, ...] = (
    _route(
        "GET HEAD", r"/datasets" + _REPO + r"/resolve/(?P<rev>[^/]+)/(?P<path>.+)", api_resolve.handle_resolve
    ),
    _route(
        "GET HEAD",
        r"/api/resolve-cache/datasets" + _REPO + r"/(?P<rev>[^/]+)/(?P<path>.+)",
        api_resolve.handle_resolve_cache,
    ),
    _route("GET", r"/api/datasets" + _REPO, api_read.handle_info),
    _route("GET", r"/api/datasets" + _REPO + r"/revision/(?P<rev>[^/]+)", api_read.handle_info),
    _route("GET", r"/api/datasets" + _REPO + r"/tree/(?P<rev>[^/]+)(?:/(?P<path>.*))?", api_read.handle_tree),
    _route("POST", r"/api/datasets" + _REPO + r"/paths-info/(?P<rev>[^/]+)", api_read.handle_paths_info),
    _route("POST", r"/api/datasets" + _REPO + r"/preupload/(?P<rev>[^/]+)", api_write.handle_preupload),
    _route("POST", r"/api/datasets" + _REPO + r"/commit/(?P<rev>[^/]+)", api_write.handle_commit),
    _route("POST", r"/api/validate-yaml", api_write.handle_validate_yaml),
    _route("POST", r"/api/repos/create", api_write.handle_create_repo),
    _route("GET", r"/api/agent-harnesses", api_write.handle_agent_harnesses),
    # Storage Buckets
    _route("GET HEAD", r"/buckets" + _REPO + r"/resolve/(?P<path>.+)", api_buckets.handle_resolve),
    _route("GET", r"/api/buckets" + _REPO, api_buckets.handle_info),
    _route("POST", r"/api/buckets" + _REPO, api_buckets.handle_create),
    _route("GET", r"/api/buckets" + _REPO + r"/tree(?:/(?P<path>.*))?", api_buckets.handle_tree),
    _route("POST", r"/api/buckets" + _REPO + r"/paths-info", api_buckets.handle_paths_info),
    _route("POST", r"/api/buckets" + _REPO + r"/batch", api_buckets.handle_batch),
    _route("GET", r"/api/buckets" + _REPO + r"/xet-(?P<kind>read|write)-token", api_buckets.handle_xet_token),
    # Hugging Face Jobs (read side) and the account
    _route("GET", r"/api/whoami-v2", api_jobs.handle_whoami),
    _route("GET", r"/api/jobs/hardware", api_jobs.handle_hardware),
    _route("GET", r"/api/jobs/(?P<namespace>[^/]+)", api_jobs.handle_list),
    _route("POST", r"/api/jobs/(?P<namespace>[^/]+)", api_jobs.handle_not_simulated),
    _route("GET", _JOB, api_jobs.handle_inspect),
    _route("GET", _JOB + r"/logs", api_jobs.handle_logs),
    _route("GET POST DELETE", _JOB + r"(?:/(?P<rest>.+))?", api_jobs.handle_not_simulated),
)


def match(method: str, raw_path: str) -> tuple[Handler, dict[str, str]]:
    """Find the handler for a request and its decoded path parameters (HubError 404/405 otherwise)."""
    allowed: set[str] = set()
    for route in ROUTES:
        m = route.pattern.match(raw_path)
        if m is None:
            continue
        if method not in route.methods:
            allowed |= route.methods
            continue
        params = {k: unquote(v) for k, v in m.groupdict().items() if v is not None}
        return route.handler, params
    if allowed:
        raise HubError(405, f"Method {method} not allowed", headers=[("Allow", ", ".join(sorted(allowed)))])
    raise HubError(404, f"No route for {raw_path}")
