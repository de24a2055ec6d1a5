"""Bad input never gets far: malformed manifests stop before anything is read or written, and values
from the manifest reach the remote shell only quoted."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from progress_card.cli import main
from progress_card.compute.slurm.script import Asked, build_script, parse_sections
from progress_card.schema import defined, pattern
from tests.hubsim import HubSim
from tests.support import watched

VALID = {
    "defaults": {"repo": "acme/gen", "total": 100},
    "jobs": [
        {"name": "math", "config": "math", "slurm_job_id": 42, "ssh": {"host": "127.0.0.1", "port": 9}},
        {
            "name": "code",
            "total": 5,
            "stats_path": "/scratch/stats.json",
            "ssh": {"host": "127.0.0.1", "port": 9},
        },
    ],
}
KNOWN = {
    "name", "repo", "output", "config", "total", "input", "max_examples", "slurm_job_id", "stats_path",
    "model", "description", "ssh", "finished", "outcome", "finished_at", "final_count",
}  # fmt: skip
LOCATED = re.compile(r"^error: .*jobs\.yaml:\d+: ")

junk = st.one_of(
    st.text(max_size=12),
    st.floats(allow_nan=False),
    st.lists(st.integers(), max_size=3),
    st.booleans(),
    st.none(),
)
bad_values = st.one_of(
    st.tuples(
        st.just("total"),
        # (an integral float such as 3.0 is an integer to JSON Schema, and means 3)
        st.one_of(st.text(max_size=8), st.integers(max_value=0), st.booleans(), st.floats().filter(lambda f: not f.is_integer())),
    ),
    st.tuples(st.just("name"), st.text(min_size=1, max_size=10).filter(lambda t: not pattern("name").fullmatch(t))),
    st.tuples(st.just("repo"), st.text(max_size=20).filter(lambda t: not defined("repoId").fullmatch(t))),
    st.tuples(st.just("slurm_job_id"), st.text(min_size=1, max_size=10).filter(lambda t: not pattern("slurm_job_id").fullmatch(t))),
    st.tuples(st.just("stats_path"), st.text(max_size=20).filter(lambda t: not pattern("stats_path").match(t))),
    st.tuples(st.just("max_examples"), st.integers(max_value=-2)),
    st.tuples(st.just("config"), st.text(min_size=1, max_size=10).filter(lambda t: not pattern("config").fullmatch(t))),
)  # fmt: skip


@st.composite
def malformed(draw: st.DrawFn) -> str:
    """A manifest with one thing wrong in it, as YAML text."""
    document = yaml.safe_load(yaml.safe_dump(VALID))
    job = draw(st.sampled_from(document["jobs"]))
    kind = draw(
        st.sampled_from(["unknown key", "bad value", "duplicate name", "broken yaml", "not a mapping"])
    )
    if kind == "unknown key":
        job[draw(st.from_regex(r"[a-z_]{2,12}", fullmatch=True).filter(lambda k: k not in KNOWN))] = draw(
            junk
        )
    elif kind == "bad value":
        key, value = draw(bad_values)
        job[key] = value
    elif kind == "duplicate name":
        document["jobs"].append(dict(job))
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    if kind == "broken yaml":
        lines = text.splitlines()
        at = draw(st.integers(0, len(lines) - 1))
        lines[at] = lines[at] + draw(st.sampled_from([": [", ": : :", " ]", "\n  - ] x", "\n\t- x"]))
        text = "\n".join(lines) + "\n"
        try:
            yaml.safe_load(text)
        except yaml.YAMLError:
            pass
        else:
            assume(False)  # that edit happened to stay valid YAML
    elif kind == "not a mapping":
        text = draw(st.sampled_from(["- a\n- b\n", "just text\n", "42\n", "jobs: 7\n", "jobs: {a: 1}\n"]))
    return text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=malformed())
def test_a_malformed_manifest_exits_2_with_its_line_and_touches_nothing(
    hub: HubSim, tmp_path: Path, text: str
) -> None:
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(text, encoding="utf-8")
    hub.clear_requests()

    result = CliRunner().invoke(main, ["update", "--jobs", str(jobs), "--state-dir", str(tmp_path / "state")])

    assert result.exit_code == 2, (text, result.stderr)
    assert LOCATED.match(result.stderr), (text, result.stderr)
    assert hub.requests == []
    assert jobs.read_text(encoding="utf-8") == text
    assert not (tmp_path / "state").exists()


TOKENS = [*"abc /'\"$()`;|&<>*?!\\#~{}[]%\t", "$(touch pwned)", "`touch pwned`", "'; touch pwned; '", "$HOME"]
hostile = st.lists(st.sampled_from(TOKENS), min_size=1, max_size=10).map("".join)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=hostile)
def test_any_stats_path_reaches_the_shell_only_as_data(tmp_path: Path, name: str) -> None:
    path = f"{tmp_path}/{name}/stats.json"
    script = build_script([Asked(watched("job", "42", stats_path=path))], "cafe0123")
    done = subprocess.run(
        ["sh", "-s"],
        input=script.replace("squeue", "true squeue").encode(),
        capture_output=True,
        cwd=tmp_path,
        timeout=10,
    )
    assert done.returncode == 0, done.stderr
    assert parse_sections(done.stdout, "cafe0123")[("stats", 0)] == ("missing", "")
    assert not list(tmp_path.rglob("pwned"))


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("name", "abc\n"),
        ("name", "n" * 300),
        ("config", "x.y\n"),
        ("repo", "acme/n\n"),
        ("slurm_job_id", "42\n"),
    ],
    ids=["name newline", "name 300 characters", "config newline", "repo newline", "job id newline"],
)
def test_a_value_with_a_trailing_newline_or_beyond_its_length_is_refused_by_validate(
    tmp_path: Path, key: str, value: str
) -> None:
    job = {"name": "gen", "repo": "acme/gen", "total": 10, key: value}
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(yaml.safe_dump({"jobs": [job]}), encoding="utf-8")

    result = CliRunner().invoke(main, ["validate", "--jobs", str(jobs)])

    assert result.exit_code == 2, result.output
    assert LOCATED.match(result.stderr) and key in result.stderr, result.stderr
