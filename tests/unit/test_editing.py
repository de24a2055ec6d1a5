"""jobs.yaml edited as text: finish marks, relaunches and new jobs change only their own lines."""

import difflib
from datetime import datetime, timezone
from pathlib import Path

import pytest

from progress_card.editing import Mark, NewLaunch, add_text, mark_file, mark_text, relaunch_text
from progress_card.errors import MarkingError
from progress_card.manifest import load_manifest
from tests.support import ROOT, command

WHEN = datetime(2026, 11, 22, 1, 30, tzinfo=timezone.utc)

COMMENTED = """\
# The team's generation jobs.
defaults:
  repo: acme/gen   # shared output
  total: 1000
  ssh: {host: login.example}

jobs:
  # First job: the default config.
  - name: default
    slurm_job_id: '101'     # quoted on purpose
    input:
      dataset: acme/prompts

  # Second job, in flow style.
  - {name: math, config: math, total: 500}

  # Third job, the last one, followed by a comment.
  - name: code
    config: code
    description: |
      Code answers.
      # not a comment: part of the text
# trailing comment
"""


def test_only_the_new_keys_are_added_comments_and_quotes_stay() -> None:
    marked = mark_text(COMMENTED, [Mark("default", "completed", WHEN, 1000)])
    assert marked == COMMENTED.replace(
        "      dataset: acme/prompts\n",
        "      dataset: acme/prompts\n"
        "    finished: true\n"
        "    outcome: completed\n"
        '    finished_at: "2026-11-22T01:30:00Z"\n'
        "    final_count: 1000\n",
    )


def test_a_flow_style_entry_gains_the_keys_inside_its_braces() -> None:
    marked = mark_text(COMMENTED, [Mark("math", "failed", WHEN, 3)])
    assert "  - {name: math, config: math, total: 500, finished: true, outcome: failed, " in marked
    assert 'finished_at: "2026-11-22T01:30:00Z", final_count: 3}\n' in marked


def test_the_last_entry_ends_before_trailing_comments() -> None:
    marked = mark_text(COMMENTED, [Mark("code", "stopped", WHEN, 7)])
    assert marked.endswith(
        "      # not a comment: part of the text\n"
        "    finished: true\n    outcome: stopped\n"
        '    finished_at: "2026-11-22T01:30:00Z"\n    final_count: 7\n'
        "# trailing comment\n"
    )


def test_several_marks_at_once_and_the_result_loads(tmp_path: Path) -> None:
    path = tmp_path / "jobs.yaml"
    path.write_text(COMMENTED)
    mark_file(
        path,
        [
            Mark("code", "stopped", WHEN, 7),
            Mark("default", "completed", WHEN, 1000),
            Mark("math", "failed", WHEN, 3),
        ],
    )
    jobs = {job.name: job for job in load_manifest(path).jobs}
    assert {name: (job.finished.outcome if job.finished else None) for name, job in jobs.items()} == {
        "default": "completed",
        "math": "failed",
        "code": "stopped",
    }
    assert jobs["code"].description == "Code answers.\n# not a comment: part of the text\n"
    assert [p.name for p in tmp_path.iterdir()] == ["jobs.yaml"]  # no temporary file left behind


def test_a_job_removed_or_already_marked_meanwhile_is_refused() -> None:
    with pytest.raises(MarkingError, match=r"no longer in jobs\.yaml"):
        mark_text(COMMENTED, [Mark("gone", "stopped", WHEN, 0)])
    once = mark_text(COMMENTED, [Mark("math", "failed", WHEN, 3)])
    with pytest.raises(MarkingError, match="already marked finished"):
        mark_text(once, [Mark("math", "failed", WHEN, 3)])


def test_a_relaunch_undoes_the_marks_and_changes_only_the_id_keeping_its_quotes() -> None:
    marked = mark_text(COMMENTED, [Mark("default", "stopped", WHEN, 630)])
    assert relaunch_text(marked, "default", NewLaunch(("202",))) == COMMENTED.replace("'101'", "'202'")


def test_a_relaunch_of_a_flow_entry_without_an_id_adds_one_inside_its_braces() -> None:
    marked = mark_text(COMMENTED, [Mark("math", "failed", WHEN, 3)])
    assert relaunch_text(marked, "math", NewLaunch(("303",))) == COMMENTED.replace(
        "{name: math, config: math, total: 500}", "{name: math, config: math, total: 500, slurm_job_id: 303}"
    )


def test_a_relaunch_as_several_arrays_writes_a_list_after_the_last_line() -> None:
    relaunched = relaunch_text(COMMENTED, "code", NewLaunch(("404", "405")))
    assert relaunched == COMMENTED.replace(
        "      # not a comment: part of the text\n",
        "      # not a comment: part of the text\n    slurm_job_id: [404, 405]\n",
    )


def test_on_the_example_manifest_a_relaunch_changes_one_line(tmp_path: Path) -> None:
    example = (ROOT / "jobs.yaml").read_text()
    marked = mark_text(example, [Mark("prompts", "stopped", WHEN, 120)])
    relaunched = relaunch_text(marked, "prompts", NewLaunch(("4242077",)))
    changed = [
        line for line in difflib.ndiff(example.splitlines(), relaunched.splitlines()) if line[:1] in "+-"
    ]
    assert changed == [
        "-     slurm_job_id: 4242001             # the generation job (an array: its base id)",
        "+     slurm_job_id: 4242077             # the generation job (an array: its base id)",
    ]


def test_an_added_job_goes_after_the_last_one_in_its_style() -> None:
    added = add_text(
        COMMENTED, [("name", "poems"), ("config", "poems"), ("total", 200), ("slurm_job_id", [7, 8])]
    )
    assert added == COMMENTED.replace(
        "# trailing comment\n",
        "  - name: poems\n    config: poems\n    total: 200\n    slurm_job_id: [7, 8]\n# trailing comment\n",
    )
    flow = "jobs: [{name: a, repo: acme/a, total: 1}]  # one job\n"
    assert add_text(flow, [("name", "b"), ("repo", "acme/b"), ("logging_dir", "/scratch/my logs")]) == (
        'jobs: [{name: a, repo: acme/a, total: 1}, {name: b, repo: acme/b, logging_dir: "/scratch/my logs"}]'
        "  # one job\n"
    )
    one_line_entries = "jobs:\n  - {name: a, repo: acme/a, total: 1}\n"
    assert add_text(one_line_entries, [("name", "b"), ("repo", "acme/b")]).endswith(
        "  - {name: a, repo: acme/a, total: 1}\n  - {name: b, repo: acme/b}\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["relaunch", "nope", "--slurm-job-id", "5"], "no job named 'nope'"),
        (["relaunch", "math", "--slurm-job-id", "12x"], "not a Slurm job id: '12x'"),
        (["relaunch", "math"], "give the new launch: --slurm-job-id ID (Slurm) or --hf-job-id ID"),
        (["add", "--name", "math", "--config", "m2"], "duplicate name (also on line"),
        (["add", "--name", "poems", "--repo", "not a repo"], "repo must be a dataset id such as org/name"),
        (["add", "--name", "po ems"], "name must be a name of at most 96 letters"),
    ],
)
def test_bad_edits_are_refused_and_nothing_is_written(tmp_path: Path, args: list[str], message: str) -> None:
    path = tmp_path / "jobs.yaml"
    path.write_text(COMMENTED)

    result = command(*args[:1], "--jobs", str(path), *args[1:])

    assert result.exit_code == 2
    assert message in result.stderr
    assert path.read_text() == COMMENTED
    assert [p.name for p in tmp_path.iterdir()] == ["jobs.yaml"]


def test_the_commands_edit_the_file_and_say_what_to_commit(tmp_path: Path) -> None:
    path = tmp_path / "jobs.yaml"
    path.write_text(mark_text(COMMENTED, [Mark("default", "stopped", WHEN, 630)]))

    relaunched = command("relaunch", "default", "--slurm-job-id", "202", "--jobs", str(path))
    added = command("add", "--jobs", str(path), "--name", "poems", "--config", "poems", "--slurm-job-id", "9")

    assert (relaunched.exit_code, added.exit_code) == (0, 0)
    assert relaunched.stderr == f"{path}: default now follows Slurm job 202; commit {path}\n"
    assert path.read_text() == COMMENTED.replace("'101'", "'202'").replace(
        "# trailing comment\n",
        "  - name: poems\n    config: poems\n    slurm_job_id: 9\n# trailing comment\n",
    )
    jobs = {job.name: job for job in load_manifest(path).jobs}
    assert jobs["default"].finished is None and jobs["default"].slurm_job_ids == ("202",)


ON_HF_JOBS = """\
defaults:
  repo: acme/gen
  hf_jobs: {namespace: acme}
jobs:
  - name: by-name
    hf_jobs:
      name: gen
  - name: by-id
    hf_jobs: {ids: ["68780d00bbe36d38803f645f"]}   # the first launch
"""


def test_a_relaunch_on_hugging_face_jobs_sets_the_ids_or_only_clears_the_marks() -> None:
    marked = mark_text(ON_HF_JOBS, [Mark("by-name", "failed", WHEN, 3), Mark("by-id", "failed", WHEN, 3)])
    new = ("6878aa00bbe36d38803f6460", "6878aa00bbe36d38803f6461")
    relaunched = relaunch_text(marked, "by-id", NewLaunch(hf_job_ids=new))
    relaunched = relaunch_text(relaunched, "by-name", NewLaunch())
    assert relaunched == ON_HF_JOBS.replace('"68780d00bbe36d38803f645f"', f'"{new[0]}", "{new[1]}"')
    with pytest.raises(MarkingError, match=r"by datatrove's job name .* without --hf-job-id"):
        relaunch_text(ON_HF_JOBS, "by-name", NewLaunch(hf_job_ids=new))


def test_a_killed_writers_temporary_files_are_removed_by_the_next_edit(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text("jobs:\n  - {name: a, repo: ./out, total: 10}\n")
    leftovers = [tmp_path / ".jobs.yaml.k1ll3d.tmp", tmp_path / ".jobs.yaml.x7.tmp"]
    for leftover in leftovers:
        leftover.write_text("jobs:\n  - {name: a, re")
    other = tmp_path / ".other.yaml.x7.tmp"
    other.write_text("not ours")

    mark_file(jobs, [Mark("a", "completed", datetime(2026, 12, 5, tzinfo=timezone.utc), 10)])

    assert not any(leftover.exists() for leftover in leftovers)
    assert other.exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == [".other.yaml.x7.tmp", "jobs.yaml"]
