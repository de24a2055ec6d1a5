"""The real .github/workflows/progress.yml, run by act on this machine through the real action.yml.

A temporary git repository holds the action and a jobs.yaml whose jobs live on the Hub simulator,
the loopback sshd and the real Slurm; its `origin` is a local bare repository. actions/checkout
runs as act runs it (a copy of the working tree); actions/setup-python and actions/cache are
replaced by local stand-ins (tests/e2e/standins).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cluster import LoopbackCluster
from tests.hubsim import HubSim
from tests.support import write_shard

pytestmark = pytest.mark.cluster

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
STATS = [
    {
        "name": "reader",
        "time_stats": {},
        "stats": {"documents": 60, "doc_len": {"total": 600, "n": 60, "mean": 10.0}},
    },
    {
        "name": "inference",
        "time_stats": {},
        "stats": {
            "documents_processed": 60,
            "prompt_tokens": {"total": 3000, "n": 60, "mean": 50.0},
            "completion_tokens": {"total": 18000, "n": 60, "mean": 300.0},
        },
    },
]


@dataclass
class ActRun:
    returncode: int
    log: str

    def output(self, name: str) -> str:
        found = re.findall(rf"::set-output:: {name}=(.*)", self.log)
        assert found, f"no output {name} in the log:\n{self.log[-4000:]}"
        return str(found[-1]).strip()

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
    """`owner/repo@sha` of a third-party action used in the workflow or the action."""
    match = re.search(rf"uses: ({re.escape(name)}@[0-9a-f]{{40}})", workflow)
    assert match, f"{name} is not pinned in the workflow files"
    return match.group(1)


@pytest.fixture
def repo(tmp_path: Path, cluster: LoopbackCluster) -> Path:
    """A clone of the project's action and workflow, with a bare `origin`, ready for act."""
    origin = tmp_path / "origin.git"
    work = tmp_path / "work"
    work.mkdir()
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
    done = subprocess.run(
        ["git", "--git-dir", str(work.parent / "origin.git"), "log", "--format=%s", "main"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.splitlines()


def act(work: Path, hub: HubSim, cluster: LoopbackCluster, inputs: dict[str, object]) -> ActRun:
    secrets = work.parent / "act.secrets"
    secrets.write_text(
        "\n".join(
            f"{name}={json.dumps(value)}"
            for name, value in {
                "HF_TOKEN": HF_TOKEN,
                "SSH_PRIVATE_KEY": cluster.key_file.read_text(),
                "SSH_KNOWN_HOSTS": cluster.known_hosts.read_text(),
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
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_XET": "1",
        "HF_UPDATE_DOWNLOAD_COUNTS": "0",
        "HF_HOME": str(work.parent / "hf-home"),
        "NO_PROXY": "127.0.0.1,localhost",
        "STANDIN_PYTHON": sys.executable,
        "STANDIN_SITE_PACKAGES": sysconfig.get_paths()["purelib"],
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
        f"{remote_action(workflows, 'actions/setup-python')}={STANDINS / 'setup-python'}",
        "--local-repository",
        f"{remote_action(workflows, 'actions/cache')}={STANDINS / 'cache'}",
    ]
    for name, value in environment.items():
        argv += ["--env", f"{name}={value}"]
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("HF_", "GITHUB_"))}
    clean["ACT_DISABLE_VERSION_CHECK"] = "1"  # act would otherwise ask api.nektosact.com for notices
    done = subprocess.run(argv, cwd=work, env=clean, capture_output=True, text=True, timeout=600, check=False)
    return ActRun(done.returncode, done.stdout + done.stderr)


def test_the_hourly_workflow_updates_cards_marks_finished_jobs_and_commits_them_back(
    repo: Path, hub: HubSim, cluster: LoopbackCluster
) -> None:
    now = time.time()
    for index, rows in enumerate([20, 20, 20]):
        write_shard(hub.repo_dir("acme/gen") / "data" / f"{index}.parquet", rows, now - 3600 * (3 - index))
    for index, rows in enumerate([15, 10]):
        write_shard(hub.repo_dir("acme/gen") / "math" / f"{index}.parquet", rows, now - 3600 * (2 - index))
    stats = cluster.shared_dir / f"e2e-{repo.parent.name}" / "stats.json"
    stats.parent.mkdir(parents=True)
    stats.write_text(json.dumps(STATS))
    running = cluster.sbatch(wrap="sleep 600")
    try:
        (repo / "jobs.yaml").write_text(
            "# Jobs followed by the hourly workflow.\n"
            "defaults:\n"
            "  repo: acme/gen\n"
            "  total: 100\n"
            f"  ssh: {{host: {cluster.host}, port: {cluster.port}, user: {cluster.user}}}\n"
            "\n"
            "jobs:\n"
            "  - name: default\n"
            "    slurm_job_id: 987654\n"
            f"    stats_path: {stats}\n"
            "  - name: math\n"
            "    config: math\n"
            f"    slurm_job_id: {running}\n"
        )
        commit_and_push(repo, "Follow two jobs")

        first = act(repo, hub, cluster, {"only": "", "dry-run": "false"})

        assert first.returncode == 0, first.log[-6000:]
        assert HF_TOKEN not in first.log and "PRIVATE KEY" not in first.log
        card = (hub.repo_dir("acme/gen") / "README.md").read_text()
        assert "**default**: [●●●●●●●●●●●●○○○○○○○○] 60% • 60/100 docs<br>✅ Complete" in card
        assert "**math**: [●●●●●○○○○○○○○○○○○○○○] 25% • 25/100 docs<br>⏱️ " in card
        assert "| Total completion tokens | 18,000 |" in card
        assert len(hub.commits("acme/gen")) == 2
        assert all(r.has_token for r in hub.requests if r.method == "POST" and "/commit/" in r.path)
        assert origin_log(repo)[0] == "Mark finished generation jobs in jobs.yaml"
        pushed = subprocess.run(
            ["git", "--git-dir", str(repo.parent / "origin.git"), "show", "main:jobs.yaml"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert f"    stats_path: {stats}\n    finished: true\n    outcome: completed\n" in pushed
        assert (first.output("updated"), first.output("finished"), first.output("failed")) == ("2", "1", "0")
        report = {record["name"]: record for record in json.loads(first.output("report"))}
        assert report["default"]["status"] == "completed" and report["default"]["marked"] is True
        assert report["math"]["status"] == "running" and report["math"]["percent"] == 25
        assert report["math"]["eta"] is not None
        assert "| `math` | [●●●●●○○○○○○○○○○○○○○○] | 25% | 25/100 |" in first.summary
        assert (
            "| `default` | [●●●●●●●●●●●●○○○○○○○○] | 60% | 60/100 |  | ✅ completed: stats.json found"
            in first.summary
        )

        # The next hour: nothing new. No card commit, no commit of jobs.yaml.
        subprocess.run(["git", "pull", "--quiet", "origin", "main"], cwd=repo, check=True)
        commits, history = len(hub.commits("acme/gen")), origin_log(repo)

        second = act(repo, hub, cluster, {"only": "", "dry-run": "false"})

        assert second.returncode == 0, second.log[-6000:]
        assert len(hub.commits("acme/gen")) == commits
        assert origin_log(repo) == history
        assert (second.output("updated"), second.output("finished")) == ("0", "0")
        assert "finished earlier" in second.summary

        # A manual refresh as a dry run: new shards, but nothing pushed anywhere.
        write_shard(hub.repo_dir("acme/gen") / "math" / "2.parquet", 30)
        dry = act(repo, hub, cluster, {"only": "math", "dry-run": "true"})

        assert dry.returncode == 0, dry.log[-6000:]
        assert "+**math**: [●●●●●●●●●●●○○○○○○○○○] 55% • 55/100 docs" in dry.log
        assert len(hub.commits("acme/gen")) == commits
        assert origin_log(repo) == history
        assert [record["name"] for record in json.loads(dry.output("report"))] == ["math"]
    finally:
        cluster.scancel(running)
