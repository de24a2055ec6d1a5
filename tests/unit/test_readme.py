"""The README teaches what the code does: every option and manifest key is documented there."""

from __future__ import annotations

import re
from pathlib import Path

import click
import yaml

from progress_card.cli import main
from progress_card.manifest import schema

ROOT = Path(__file__).parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_command_and_option_is_documented() -> None:
    assert isinstance(main, click.Group)
    for name, command in main.commands.items():
        assert f"progress-card {name}" in README, name
        for parameter in command.params:
            for option in parameter.opts:
                assert f"`{option}" in README, f"{name} {option}"
    for parameter in main.params:
        for option in parameter.opts:
            if option != "--version":
                assert f"`{option}`" in README, option


def test_every_manifest_key_is_documented() -> None:
    for key in schema()["$defs"]["jobFields"]["properties"]:
        assert re.search(rf"^\| `{key}` \|", README, re.MULTILINE), key


def test_the_two_setup_commands_are_the_ones_ci_runs() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make demo   #" in README and "make test   #" in README
    assert re.search(r"^demo:", makefile, re.MULTILINE) and re.search(r"^test:", makefile, re.MULTILINE)
    assert re.search(r"^make test$", ci, re.MULTILINE)


def test_every_action_input_and_output_is_documented() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    for name, spec in action["inputs"].items():
        assert spec["description"] and "default" in spec, name
        assert re.search(rf"^\| `{name}` \|", README, re.MULTILINE), name
    for name, spec in action["outputs"].items():
        assert spec["description"], name
        assert f"`{name}`" in README, name


def test_the_workflow_to_copy_uses_only_real_inputs() -> None:
    section = README.split("## Use it in your repo", 1)[1]
    workflow = yaml.safe_load(section.split("```yaml\n", 1)[1].split("```", 1)[0])
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    (step,) = [step for step in workflow["jobs"]["update"]["steps"] if "progress-card" in step["uses"]]
    assert set(step["with"]) <= set(action["inputs"])
    assert workflow["concurrency"]["cancel-in-progress"] is False
    assert workflow["jobs"]["update"]["permissions"] == {
        "contents": "write",
        "issues": "write",
        "actions": "write",
    }
