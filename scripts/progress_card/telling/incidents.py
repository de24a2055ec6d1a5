"""The workflow's repository through GitHub's REST API (PyGithub): incident issues, and keeping the
workflow enabled.

The tool's issues carry the label `progress-card` and the job's name, and a hidden marker line in
their body saying which job and which situation they are about; so the open ones are found again
through the API (one request), whatever happened to the state folder, and never opened twice.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from github import Auth, Github, GithubException, GithubRetry
from github.Issue import Issue

from ..errors import TellingError
from .situations import Kind, Situation

LABEL = "progress-card"
_MARKER = re.compile(
    r"<!-- progress-card: job=(?P<job>\S+) situation=(?P<kind>\w+)(?: since=(?P<since>\S+))? -->"
)


@dataclass(frozen=True)
class Incident:
    """An open issue of the tool's, about one job."""

    job: str
    kind: Kind
    since: datetime | None
    issue: Issue


def marker(job: str, situation: Situation) -> str:
    since = f" since={situation.since.isoformat()}" if situation.since else ""
    return f"<!-- progress-card: job={job} situation={situation.kind.value}{since} -->"


class GitHubRepository:
    """The workflow's repository through GitHub's API, with the workflow's token: its incident issues,
    and its workflow kept enabled. Retries and rate limits are PyGithub's (GithubRetry waits for the
    reset a 403/429 announces, within `wait` seconds)."""

    def __init__(
        self, api_url: str, repository: str, token: str, timeout: int = 15, wait: float = 120.0
    ) -> None:
        retry = GithubRetry(total=4, max_rate_limit_wait=wait)
        self._github = Github(
            auth=Auth.Token(token), base_url=api_url, timeout=timeout, retry=retry, lazy=True
        )
        self._repository = self._github.get_repo(repository)
        self.repository = repository

    def open_incidents(self) -> dict[str, Incident]:
        """The tool's open issues, by job (one request for the first 100)."""
        found: dict[str, Incident] = {}
        for issue in self._call(
            "listing the open incident issues",
            lambda: list(self._repository.get_issues(state="open", labels=[LABEL])),
        ):
            match = _MARKER.search(issue.body or "")
            if match is None or match["kind"] not in Kind._value2member_map_:
                continue
            since = datetime.fromisoformat(match["since"]) if match["since"] else None
            found.setdefault(match["job"], Incident(match["job"], Kind(match["kind"]), since, issue))
        return found

    def open(self, job: str, situation: Situation, body: str, assignees: Sequence[str]) -> None:
        text = f"{body}\n\n{marker(job, situation)}\n"
        self._call(
            f"opening the incident issue of {job}",
            lambda: self._repository.create_issue(
                situation.title, body=text, labels=[LABEL, job], assignees=list(assignees)
            ),
        )

    def change(self, incident: Incident, situation: Situation, comment: str) -> None:
        """A new situation for an open incident: a comment, and the marker and title updated."""
        body = _MARKER.sub(marker(incident.job, situation), incident.issue.body or "")
        self._call(
            f"commenting on the incident issue of {incident.job}",
            lambda: incident.issue.create_comment(comment),
        )
        self._call(
            f"updating the incident issue of {incident.job}",
            lambda: incident.issue.edit(title=situation.title, body=body),
        )

    def close(self, incident: Incident, comment: str) -> None:
        self._call(
            f"commenting on the incident issue of {incident.job}",
            lambda: incident.issue.create_comment(comment),
        )
        self._call(
            f"closing the incident issue of {incident.job}", lambda: incident.issue.edit(state="closed")
        )

    def workflow_state(self, workflow: str) -> str:
        """The workflow's state (`active`, `disabled_inactivity`...): a read that shows it can be reached."""
        what = f"reading the workflow {workflow}"
        return str(
            self._call(
                what, lambda: self._repository.get_workflow(workflow).state, permission="actions: read"
            )
        )

    def keep_enabled(self, workflow: str) -> None:
        """Enable the workflow (a file name under .github/workflows/), which GitHub turns off in a
        public repository after 60 days without activity. One PUT; enabling an enabled workflow changes
        nothing."""
        what = f"keeping the workflow {workflow} enabled"
        enabled = self._call(
            what, lambda: self._repository.get_workflow(workflow).enable(), permission="actions: write"
        )
        if not enabled:  # PyGithub answers a refused PUT with False, not an exception
            raise TellingError(
                f"{what} in {self.repository} failed: GitHub refused it "
                "(does the workflow give the token `actions: write`?)"
            )

    def _call(self, what: str, function, permission: str = "issues: write"):  # type: ignore[no-untyped-def]
        """Run a PyGithub call; a refusal names the workflow permission the token needs."""
        try:
            return function()
        except GithubException as error:
            hint = (
                f" (does the workflow give the token `{permission}`?)"
                if error.status in (401, 403, 404)
                else ""
            )
            raise TellingError(
                f"{what} in {self.repository} failed: GitHub answered {error.status}{hint}"
            ) from None
        except OSError as error:
            raise TellingError(f"{what} in {self.repository} failed: {error}") from None
