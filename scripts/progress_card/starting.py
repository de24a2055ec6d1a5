"""What `progress-card init` writes into a repository: a commented jobs.yaml, the hourly workflow
pinned to a release of the action, and the state folder's line in .gitignore. Pure text; the
command line writes it.

progress-card is published as the GitHub repository `ACTION_REPOSITORY`. Each release is a tag
`vX.Y.Z` (with a CHANGELOG section); workflows pin the release's commit, with the tag in a comment,
which is what zizmor asks of third-party actions and what Dependabot keeps up to date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from . import __version__

ACTION_REPOSITORY = "progress-card/progress-card"
RELEASE = f"v{__version__}"
SCHEMA_URL = (
    f"https://raw.githubusercontent.com/{ACTION_REPOSITORY}/{RELEASE}/scripts/progress_card/jobs.schema.json"
)
README_URL = f"https://github.com/{ACTION_REPOSITORY}/blob/{RELEASE}/README.md"
WORKFLOW = Path(".github/workflows/progress.yml")
JOBS = Path("jobs.yaml")
IGNORED = ".progress-card/"
"""The state folder: a cache of row counts, never committed."""
_COMMIT = re.compile(r"[0-9a-f]{40}")


@dataclass(frozen=True)
class Pin:
    """The action's reference in a workflow: a release's full commit id, and its tag for people."""

    commit: str
    release: str = RELEASE

    def __post_init__(self) -> None:
        if not _COMMIT.fullmatch(self.commit):
            raise ValueError(f"not a full commit id (40 hexadecimal digits): {self.commit!r}")

    @property
    def uses(self) -> str:
        return f"{ACTION_REPOSITORY}@{self.commit} # {self.release}"


def jobs_yaml() -> str:
    """A manifest with no jobs yet, saying where its keys are explained."""
    return f"""\
# yaml-language-server: $schema={SCHEMA_URL}
#
# The generation jobs whose progress goes into their dataset cards, every hour.
# Add one with `progress-card add` (or `progress-card add --logging-dir FOLDER` to read it from
# datatrove's logging folder), then try everything a run touches with `progress-card check`.
# Every key: {README_URL}#jobsyaml

# Keys every job shares, unless it sets its own:
# defaults:
#   repo: acme/synthetic-prompts        # the dataset whose card shows the progress
#   ssh: {{host: login.cluster.example, user: me}}   # the login node that runs squeue (or: local)

jobs: []
"""


def workflow(pin: Pin) -> str:
    """The hourly workflow, with the least permissions it needs, a timeout, one run at a time."""
    return f"""\
# Every hour: count what each job in jobs.yaml has uploaded, update its dataset card, and commit
# jobs.yaml back when jobs were found finished. "Run workflow" refreshes by hand.
name: Generation progress

on:
  schedule:
    - cron: "17 * * * *" # hourly, away from :00 when the scheduler is most crowded
  workflow_dispatch:
    inputs:
      only:
        description: Jobs to update, separated by spaces (all when empty)
        type: string
        default: ""
      dry-run:
        description: Print how the cards would change; push and commit nothing
        type: boolean
        default: false

permissions: {{}}

concurrency:
  group: progress-card # one run at a time: a new one waits rather than cancelling the current one
  cancel-in-progress: false

jobs:
  update:
    name: Update the dataset cards
    runs-on: ubuntu-latest
    timeout-minutes: 30 # the action's quota-wait (20 min) leaves the rest for the work
    permissions:
      contents: write # to commit jobs.yaml back
      issues: write # to open, comment on and close the incident issues of jobs that need a person
      actions: write # to keep this workflow enabled: GitHub turns off quiet repos' schedules after 60 days
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with:
          persist-credentials: true # the action pushes jobs.yaml back with them # zizmor: ignore[artipacked]

      - uses: {pin.uses}
        with:
          hf-token: ${{{{ secrets.HF_TOKEN }}}}
          ssh-private-key: ${{{{ secrets.SSH_PRIVATE_KEY }}}}
          ssh-known-hosts: ${{{{ secrets.SSH_KNOWN_HOSTS }}}}
          notify-urls: ${{{{ secrets.PROGRESS_CARD_NOTIFY }}}}
          only: ${{{{ inputs.only }}}}
          dry-run: ${{{{ inputs.dry-run }}}}
          check: ${{{{ github.event_name == 'workflow_dispatch' }}}} # "Run workflow" tries everything first
"""


def gitignore(text: str | None) -> str | None:
    """.gitignore with the state folder in it; None when it is there already."""
    text = text or ""
    lines = {line.strip() for line in text.splitlines()}
    if {IGNORED, IGNORED.rstrip("/"), "/" + IGNORED, "/" + IGNORED.rstrip("/")} & lines:
        return None
    separator = "" if not text or text.endswith("\n") else "\n"
    return f"{text}{separator}# progress-card's state folder: a cache of row counts, kept by actions/cache\n{IGNORED}\n"


def next_steps(written: list[Path]) -> str:
    """What to do once the files are written: secrets, a first job, a check, a commit."""
    files = " ".join(str(path) for path in written) or f"{JOBS} {WORKFLOW} .gitignore"
    return f"""\
Next:
  1. The secrets the workflow reads (GitHub CLI, in this repository):
       gh secret set HF_TOKEN                      # a Hugging Face token with write access to the dataset repos
     For jobs on a Slurm cluster, a key made for this (public half in the cluster's ~/.ssh/authorized_keys)
     and the login node's host key, checked against the fingerprint your cluster publishes:
       ssh-keygen -t ed25519 -N '' -C progress-card -f ~/.ssh/progress-card
       gh secret set SSH_PRIVATE_KEY < ~/.ssh/progress-card
       ssh-keyscan -t ed25519 LOGIN_NODE > known_hosts && ssh-keygen -lf known_hosts
       gh secret set SSH_KNOWN_HOSTS < known_hosts
     Optionally, where to be told (apprise URLs, space-separated):
       gh secret set PROGRESS_CARD_NOTIFY
  2. A job:
       progress-card add --name prompts --repo acme/synthetic-prompts --total 500000
     on Slurm, once ssh: is set under defaults: in jobs.yaml, with --slurm-job-id 4242001; or from
     datatrove's logging folder:
       progress-card add --logging-dir /scratch/acme/logs/prompts
  3. Everything a run touches, tried once:
       HF_TOKEN=hf_... progress-card check
  4. git add {files} && git commit -m "Watch the generation jobs" && git push
"""
