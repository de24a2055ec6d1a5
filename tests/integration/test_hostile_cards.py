"""Cards as people leave them: front matter that is not YAML, or not a mapping. Such a card is its
repo's problem: the other repos' jobs are updated and summarised, and the status page is written."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.cards import progress_line
from tests.hubsim import HubSim
from tests.support import card, said, update_at, write_manifest, write_shard

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc)
HOSTILE = {
    "invalid YAML": "---\nlicense: [mit\n---\n\n# Hostile\n",
    "a list": "---\n- license\n- mit\n---\n\n# Hostile\n",
    "a scalar": "---\njust words\n---\n\n# Hostile\n",
    "tabs and a colon": "---\nlicense:\tmit: x\n---\n\n# Hostile\n",
}


@pytest.mark.parametrize("front", list(HOSTILE))
def test_a_hostile_card_is_its_repos_problem_alone(hub: HubSim, tmp_path: Path, front: str) -> None:
    for repo in ("acme/hostile", "acme/gen"):
        write_shard(hub.repo_dir(repo) / "default" / "00000_00000.parquet", 30)
    hub.put_file("acme/hostile", "README.md", HOSTILE[front])
    jobs = write_manifest(
        tmp_path,
        "jobs:\n  - {name: hostile, repo: acme/hostile, total: 100}\n  - {name: gen, repo: acme/gen, total: 100}\n",
    )
    status = tmp_path / "status"

    report = update_at(jobs, NOW, status_dir=status)

    lines = said(report).splitlines()
    assert lines[1].startswith("gen: 30/100 docs (30%)"), said(report)
    assert progress_line(card(hub)).startswith("**default**: [●●●●●●○○○○○○○○○○○○○○] 30% • 30/100 docs")
    hostile = lines[0]
    if hostile.startswith("hostile: failed: "):
        assert "README.md" in hostile and "front matter" in hostile, hostile
        assert (hub.repo_dir("acme/hostile") / "README.md").read_text() == HOSTILE[front]
    else:
        assert "30/100 docs" in progress_line(card(hub, "acme/hostile"))
    assert "| `gen` |" in (status / "README.md").read_text()


def test_an_example_in_a_code_block_neither_freezes_nor_hides_the_real_line(
    hub: HubSim, tmp_path: Path
) -> None:
    example = "**default**: [●●●●●●●●●●●●●●●●●●●●] 100% • 100/100 docs<br>✅ Complete"
    hub.put_file(
        "acme/gen",
        "README.md",
        f"# Gen\n\n## 🔄 Generation Progress\n\nWhen done it reads:\n\n```\n{example}\n```\n\n"
        "**default**: [●●○○○○○○○○○○○○○○○○○○] 10% • 10/100 docs<br>⏱️ estimating time remaining...\n",
    )
    write_shard(hub.repo_dir("acme/gen") / "default" / "00000_00000.parquet", 30)
    jobs = write_manifest(tmp_path, "jobs:\n  - {name: gen, repo: acme/gen, total: 100}\n")

    update_at(jobs, NOW)

    text = card(hub)
    assert f"```\n{example}\n```" in text
    assert "\n**default**: [●●●●●●○○○○○○○○○○○○○○] 30% • 30/100 docs" in text
