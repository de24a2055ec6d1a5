from datetime import datetime, timezone
from pathlib import Path

import pytest

from progress_card.manifest import load_manifest
from progress_card.marking import Mark, MarkingError, mark_file, mark_text

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
