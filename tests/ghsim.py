"""A loopback GitHub REST API, as much of it as progress-card uses, and a receiver for notifications.

`GitHubSim` serves the endpoints PyGithub calls: get a workflow and enable it; list a repo's issues by state and labels,
create one (labels it names are created with it, as GitHub does), edit one (title, body, state),
and comment on one; a public repository's annotated release tags (`releases`), which need no
token; every other request must carry the token, `token_refused` turns every answer into a
401, and `rate_limited` answers the next requests with a secondary rate limit. `Receiver` collects the JSON that apprise's `json://` URLs post.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

REPOSITORY = "acme/generation-cards"
TOKEN = "ghs_loopback_token"


@dataclass
class Issue:
    number: int
    title: str
    body: str
    labels: list[str]
    assignees: list[str]
    state: str = "open"
    comments: list[str] = field(default_factory=list)


class GitHubSim:
    """`with GitHubSim() as github:`; `github.url` is the API's base URL (what GITHUB_API_URL holds)."""

    def __init__(self, repository: str = REPOSITORY, token: str = TOKEN) -> None:
        self.repository = repository
        self.token = token
        self.token_refused = False
        self.rate_limited = 0
        """Answer this many next requests with a secondary rate limit (403, Retry-After: 1), as GitHub does."""
        self.issues: list[Issue] = []
        self.requests: list[tuple[str, str]] = []
        self.enabled: list[str] = []
        """The workflows enabled, once per call."""
        self.releases: dict[str, dict[str, str]] = {}
        """Public repositories' annotated tags: repository -> tag -> the commit it names."""
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> GitHubSim:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def open_issues(self) -> list[Issue]:
        return [issue for issue in self.issues if issue.state == "open"]

    def _json(self, issue: Issue) -> dict[str, Any]:
        url = f"{self.url}/repos/{self.repository}/issues/{issue.number}"
        return {
            "id": issue.number,
            "number": issue.number,
            "title": issue.title,
            "body": issue.body,
            "state": issue.state,
            "url": url,
            "html_url": f"https://github.com/{self.repository}/issues/{issue.number}",
            "comments_url": f"{url}/comments",
            "labels": [
                {"name": name, "url": f"{self.url}/repos/{self.repository}/labels/{name}"}
                for name in issue.labels
            ],
            "assignees": [{"login": login} for login in issue.assignees],
            "comments": len(issue.comments),
        }

    def _public(self, method: str, path: str) -> tuple[int, Any] | None:
        """A release tag of a public repository (`/git/ref/tags/T`, then the tag object `/git/tags/S`)."""
        for repository, tags in self.releases.items():
            prefix = f"/repos/{repository}/git/"
            if method != "GET" or not path.startswith(prefix):
                continue
            kind, _, name = path.removeprefix(prefix).partition("/")
            if kind == "ref" and name.startswith("tags/") and name[5:] in tags:
                tag_object = f"{tags[name[5:]][:32]}7a97a9a9"  # the tag's own id, not the commit's
                return 200, {"ref": f"refs/{name}", "url": self.url + path,
                             "object": {"type": "tag", "sha": tag_object, "url": f"{self.url}{prefix}tags/{tag_object}"}}  # fmt: skip
            for commit in tags.values():
                if kind == "tags" and name == f"{commit[:32]}7a97a9a9":
                    return 200, {"sha": name, "url": self.url + path,
                                 "object": {"type": "commit", "sha": commit, "url": f"{self.url}{prefix}commits/{commit}"}}  # fmt: skip
            return 404, {"message": "Not Found"}
        return None

    def _handle(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        prefix = f"/repos/{self.repository}"
        if path == prefix and method == "GET":
            return 200, {
                "full_name": self.repository,
                "name": self.repository.split("/")[1],
                "url": self.url + prefix,
            }
        if path == f"{prefix}/issues" and method == "GET":
            state = query.get("state", ["open"])[0]
            wanted = set(",".join(query.get("labels", [""])).split(",")) - {""}
            found = [
                i for i in self.issues if (state == "all" or i.state == state) and wanted <= set(i.labels)
            ]
            return 200, [self._json(issue) for issue in found]
        if path == f"{prefix}/issues" and method == "POST":
            issue = Issue(len(self.issues) + 1, body["title"], body.get("body", ""), body.get("labels", []),
                          body.get("assignees", []))  # fmt: skip
            self.issues.append(issue)
            return 201, self._json(issue)
        workflows = f"{prefix}/actions/workflows/"
        if path.startswith(workflows):
            name, _, action = path.removeprefix(workflows).partition("/")
            if method == "GET" and not action:
                url = f"{self.url}{workflows}{name}"
                return 200, {
                    "id": 1,
                    "name": name,
                    "path": f".github/workflows/{name}",
                    "state": "active",
                    "url": url,
                }
            if method == "PUT" and action == "enable":
                self.enabled.append(name)
                return 204, None
        parts = path.removeprefix(f"{prefix}/issues/").split("/")
        if (
            not path.startswith(f"{prefix}/issues/")
            or not parts[0].isdigit()
            or int(parts[0]) > len(self.issues)
        ):
            return 404, {"message": "Not Found"}
        issue = self.issues[int(parts[0]) - 1]
        if parts[1:] == ["comments"] and method == "POST":
            issue.comments.append(body["body"])
            return 201, {
                "id": len(issue.comments),
                "body": body["body"],
                "url": f"{self.url}{path}/{len(issue.comments)}",
            }
        if parts[1:] == [] and method == "PATCH":
            issue.title = body.get("title", issue.title)
            issue.body = body.get("body", issue.body)
            issue.state = body.get("state", issue.state)
            return 200, self._json(issue)
        if parts[1:] == [] and method == "GET":
            return 200, self._json(issue)
        return 404, {"message": "Not Found"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        sim = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: object) -> None:
                pass

            def _serve(self) -> None:
                split = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                with sim._lock:
                    sim.requests.append((self.command, split.path))
                    authorized = self.headers.get("Authorization") in (
                        f"token {sim.token}",
                        f"Bearer {sim.token}",
                    )
                    headers = {}
                    public = sim._public(self.command, split.path)
                    if public is not None:
                        status, answer = public
                    elif sim.token_refused or not authorized:
                        status, answer = 401, {"message": "Bad credentials"}
                    elif sim.rate_limited > 0:
                        sim.rate_limited -= 1
                        status, answer = 403, {"message": "You have exceeded a secondary rate limit."}
                        headers = {"Retry-After": "1"}
                    else:
                        status, answer = sim._handle(self.command, split.path, parse_qs(split.query),
                                                     json.loads(raw) if raw else None)  # fmt: skip
                data = json.dumps(answer).encode() if answer is not None else b""
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_PUT = _serve

        return Handler


class Receiver:
    """An HTTP endpoint collecting what is posted to it: `json://127.0.0.1:<port>/` in apprise's terms."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                receiver.messages.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"json://127.0.0.1:{self._server.server_address[1]}/"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
