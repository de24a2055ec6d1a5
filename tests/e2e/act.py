"""Running the real .github/workflows/progress.yml with act, through the real action.yml.

`checkout` makes a temporary git repository holding the action and the workflow, whose `origin`
is a local bare repository; `act` runs the workflow in it against the Hub simulator and the
loopback cluster. actions/checkout runs as act runs it (a copy of the working tree, in a workspace
act makes for the run and removes after it); astral-sh/setup-uv and actions/cache are replaced by
local stand-ins (tests/e2e/standins). The cache stand-ins keep the state folder in `folder/actions-cache`
between act runs, as actions/cache keeps it between the workflow's runs on GitHub.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.cluster import LoopbackCluster
from tests.ghsim import GitHubSim
from tests.hubsim import HubSim

ROOT = Path(__file__).parents[2]
STANDINS = Path(__file__).parent / "standins"
WORKFLOW = ROOT / ".github" / "workflows" / "progress.yml"
PROJECT_FILES = (
    "action.yml",
    "pyproject.toml",
    "constraints.txt",
    "README.md",
    "scripts",
    ".github/workflows",
)
HF_TOKEN = "hf_e2e_secret_token_value"


@dataclass
class ActRun:
    returncode: int
    log: str

    def output(self, name: str) -> str:
        found = re.findall(rf"::set-output:: {name}=(.*)", self.log)
        assert found, f"no output {name} in the log:\n{self.log[-4000:]}"
        return str(found[-1]).strip()

    def seconds(self, step: str) -> float:
        """How long a step of the action took, from act's `Success - Main <step> [1.8s]` line."""
        found = re.search(rf"Success - Main {re.escape(step)} \[([\d.]+)(ms|s|m)\]", self.log)
        assert found, f"no timing for step {step!r} in the log"
        value, unit = float(found.group(1)), found.group(2)
        return value / 1000 if unit == "ms" else value * 60 if unit == "m" else value

    @property
    def summary(self) -> str:
        """The step summary, which act prints after `Summary - `, continued on unprefixed lines."""
        lines: list[str] = []
        inside = False
        for line in self.log.splitlines():
            if "Summary - " in line:
                inside = True
                lines.append(line.split("Summary - ", 1)[1])
            elif inside and not line.startswith(("[", "time=")):
                lines.append(line)
            else:
                inside = False
        return "\n".join(lines)


def remote_action(workflow: str, name: str) -> str:
    """`owner/repo@sha` of a third-party action used in the workflow or the action (also as
    `owner/repo/path@sha`, as actions/cache/restore is)."""
    match = re.search(rf"uses: {re.escape(name)}(?:/[\w-]+)?@([0-9a-f]{{40}})", workflow)
    assert match, f"{name} is not pinned in the workflow files"
    return f"{name}@{match.group(1)}"


def checkout(folder: Path) -> Path:
    """`folder/work`: a clone of the project's action and workflow, with a bare `folder/origin.git`."""
    origin = folder / "origin.git"
    work = folder / "work"
    work.mkdir(parents=True)
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, work / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, work / name)
    subprocess.run(["git", "init", "--quiet", "--bare", "--initial-branch=main", str(origin)], check=True)
    subprocess.run(["git", "init", "--quiet", "--initial-branch=main"], cwd=work, check=True)
    subprocess.run(["git", "remote", "add", "origin", str(origin)], cwd=work, check=True)
    (work / ".gitignore").write_text("*.egg-info/\nbuild/\n")
    return work


def commit_and_push(work: Path, message: str) -> None:
    git = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com"]
    subprocess.run([*git, "add", "-A"], cwd=work, check=True)
    subprocess.run([*git, "commit", "--quiet", "-m", message], cwd=work, check=True)
    subprocess.run(["git", "push", "--quiet", "origin", "HEAD:main"], cwd=work, check=True)


def origin_log(work: Path) -> list[str]:
    """The subjects of `origin`'s main branch, newest first."""
    done = subprocess.run(
        ["git", "--git-dir", str(work.parent / "origin.git"), "log", "--format=%s", "main"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.splitlines()


def origin_file(work: Path, path: str) -> str:
    """A file as `origin`'s main branch has it."""
    return subprocess.run(
        ["git", "--git-dir", str(work.parent / "origin.git"), "show", f"main:{path}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


UV_CACHE = ROOT / ".venv" / "uv-cache"
"""uv's cache as `make test` warms it: what the action installs, so that act runs it offline."""


def act(
    work: Path, hub: HubSim, cluster: LoopbackCluster, github: GitHubSim, inputs: dict[str, object]
) -> ActRun:
    """Run the workflow once, as `workflow_dispatch` with `inputs`, with the tokens and SSH secrets, its
    GitHub API the loopback one."""
    secrets = work.parent / "act.secrets"
    secrets.write_text(
        "\n".join(
            f"{name}={json.dumps(value)}"
            for name, value in {
                "HF_TOKEN": HF_TOKEN,
                "SSH_PRIVATE_KEY": cluster.key_file.read_text(),
                "SSH_KNOWN_HOSTS": cluster.known_hosts.read_text(),
                "GITHUB_TOKEN": github.token,
            }.items()
        )
        + "\n"
    )
    secrets.chmod(0o600)
    event = work.parent / "event.json"
    event.write_text(json.dumps({"inputs": inputs}))
    workflows = WORKFLOW.read_text() + (ROOT / "action.yml").read_text()
    environment = {
        "HF_ENDPOINT": hub.url,
        "GITHUB_API_URL": github.url,
        "GITHUB_REPOSITORY": github.repository,
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_XET": "1",
        "HF_UPDATE_DOWNLOAD_COUNTS": "0",
        "HF_HOME": str(work.parent / "hf-home"),
        "NO_PROXY": "127.0.0.1,localhost",
        "STANDIN_PYTHON": sys.executable,
        "STANDIN_UV": str(Path(sys.executable).parent / "uv"),
        "STANDIN_UV_CACHE": str(UV_CACHE),
        "STANDIN_CACHE": str(work.parent / "actions-cache"),
    }
    argv = [
        str(Path(sys.executable).parent / "act"),
        "workflow_dispatch",
        "--workflows",
        ".github/workflows/progress.yml",
        "-P",
        "ubuntu-latest=-self-hosted",
        "--no-cache-server",
        "--action-offline-mode",
        "--eventpath",
        str(event),
        "--secret-file",
        str(secrets),
        "--local-repository",
        f"{remote_action(workflows, 'astral-sh/setup-uv')}={STANDINS / 'setup-uv'}",
        "--local-repository",
        f"{remote_action(workflows, 'actions/cache')}={STANDINS / 'cache'}",
    ]
    for name, value in environment.items():
        argv += ["--env", f"{name}={value}"]
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("HF_", "GITHUB_"))}
    clean["ACT_DISABLE_VERSION_CHECK"] = "1"  # act would otherwise ask api.nektosact.com for notices
    done = subprocess.run(argv, cwd=work, env=clean, capture_output=True, text=True, timeout=600, check=False)
    return ActRun(done.returncode, done.stdout + done.stderr)
