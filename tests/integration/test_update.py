"""An update through the core against the Hub simulator, through the real huggingface_hub client,
with the clock injected; one test runs the `progress-card update` command for its option's parsing."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from progress_card.errors import ManifestError
from progress_card.options import REPOS_AT_ONCE
from progress_card.report import Status
from tests.cards import progress_line
from tests.hubsim import HubSim
from tests.support import (
    card,
    claiming_rows,
    command,
    parquet_bytes,
    plan_at,
    said,
    update_at,
    write_manifest,
    write_shard,
)

HOUR = 3600.0


def shards(
    hub: HubSim, repo_id: str, folder: str, rows: list[int], now: datetime, every: float = HOUR
) -> None:
    """Upload shards by hand, one every `every` seconds, the last one ten minutes before `now`."""
    for index, count in enumerate(rows):
        write_shard(
            hub.repo_dir(repo_id) / folder / f"00000_{index:05d}.parquet",
            count,
            now.timestamp() - 600 - (len(rows) - 1 - index) * every,
        )


def test_counts_shards_of_the_default_and_a_named_config_exactly(hub: HubSim, tmp_path: Path) -> None:
    now = datetime.now(timezone.utc)
    shards(hub, "acme/gen", "data", [100, 250, 50], now)
    shards(hub, "acme/gen", "math/part-1", [1_000, 1_000], now)  # nested folders count too
    write_shard(hub.repo_dir("acme/gen") / "code" / "0.parquet", 999)  # another config: not ours
    jobs = write_manifest(
        tmp_path,
        """
        defaults: {repo: acme/gen}
        jobs:
          - {name: default, total: 1000}
          - {name: math, config: math, total: 4000}
        """,
    )

    report = update_at(jobs, now)

    assert report.exit_code == 0, said(report)
    text = card(hub, "acme/gen")
    assert progress_line(text, "default").startswith(
        "**default**: [●●●●●●●●○○○○○○○○○○○○] 40% • 400/1,000 docs<br>⏱️ "
    )
    assert progress_line(text, "math").startswith(
        "**math**: [●●●●●●●●●●○○○○○○○○○○] 50% • 2,000/4,000 docs<br>⏱️ "
    )
    assert "default: 400/1,000 docs (40%), ETA" in said(report)
    assert "math: 2,000/4,000 docs (50%), ETA" in said(report)
    [commit] = hub.commits("acme/gen")  # one commit for the repo, naming every config
    assert commit.title == "Update generation progress: default 40% (400 docs), math 50% (2,000 docs)"
    front_matter = text.split("---\n")[1]
    assert "config_name: default" in front_matter and "config_name: math" in front_matter
    assert "path: math/**/*.parquet" in front_matter


def test_a_new_card_is_created_then_patched_with_the_rest_byte_identical(hub: HubSim, tmp_path: Path) -> None:
    now = datetime.now(timezone.utc)
    shards(hub, "acme/gen", "data", [10], now)
    manifest = """
    jobs:
      - name: gen
        repo: acme/gen
        total: 100
        model: acme/instruct-7b
        input: {dataset: acme/prompts, split: train}
    """
    hub.create_repo("acme/prompts")
    jobs = write_manifest(tmp_path, manifest)
    [first] = update_at(jobs, now).jobs
    assert first.status is Status.PUSHED
    created = card(hub, "acme/gen")
    assert created.startswith("---\n")
    assert "path: data/**/*.parquet" in created
    assert "- acme/prompts" in created  # source dataset in the metadata
    assert "[`acme/instruct-7b`](https://huggingface.co/acme/instruct-7b)" in created
    assert 'ds = load_dataset("acme/gen")' in created

    # Someone edits the card by hand; then the job uploads more.
    edited = created.replace("## Usage", "A paragraph written by a person.\n\n## Usage")
    hub.put_file("acme/gen", "README.md", edited)
    shards(hub, "acme/gen", "data", [10, 30], now)
    [second] = update_at(jobs, now + timedelta(minutes=1)).jobs
    assert second.status is Status.PUSHED

    patched = card(hub, "acme/gen")
    changed = [
        (old, new) for old, new in zip(edited.splitlines(), patched.splitlines(), strict=True) if old != new
    ]
    assert [(old.split("<br>")[0], new.split("<br>")[0]) for old, new in changed] == [
        (
            "**default**: [●●○○○○○○○○○○○○○○○○○○] 10% • 10/100 docs",
            "**default**: [●●●●●●●●○○○○○○○○○○○○] 40% • 40/100 docs",
        ),
        (changed[1][0], changed[1][1]),
    ]
    assert changed[1][0].startswith("*Last updated: ") and changed[1][1].startswith("*Last updated: ")
    assert changed[1][0] != changed[1][1]
    assert "A paragraph written by a person." in patched


def test_a_datatrove_card_with_several_configs_keeps_the_other_lines(hub: HubSim, tmp_path: Path) -> None:
    now = datetime.now(timezone.utc)
    other = (
        "**faq**: [●●●●○○○○○○○○○○○○○○○○] 20% • 200/1,000 docs<br>⏱️ 4h remaining • 📅 Nov 21 2026, 16:00 UTC"
    )
    hub.put_file(
        "acme/gen",
        "README.md",
        "---\nconfigs:\n- config_name: faq\n  data_files:\n  - split: train\n    path: faq/**/*.parquet\n---\n\n"
        "# Dataset Card for acme/gen\n\n## 🔄 Generation Progress\n\n"
        f"{other}\n\n*Last updated: 2026-11-21 11:00:00 UTC*\n\n## Dataset Stats\n\nIn progress.\n",
    )
    shards(hub, "acme/gen", "math", [5], now)
    jobs = write_manifest(tmp_path, "jobs: [{name: m, repo: acme/gen, config: math, total: 10}]")

    assert update_at(jobs, now).exit_code == 0

    text = card(hub, "acme/gen")
    assert f"{other}\n\n**math**: [●●●●●●●●●●○○○○○○○○○○] 50% • 5/10 docs<br>⏱️ " in text
    assert text.endswith(" UTC*\n\n## Dataset Stats\n\nIn progress.\n")


def test_a_missing_repo_counts_as_nothing_uploaded_yet(hub: HubSim, tmp_path: Path) -> None:
    jobs = write_manifest(tmp_path, "jobs: [{name: gen, repo: acme/not-yet, total: 100}]")

    report = update_at(jobs, datetime.now(timezone.utc))

    assert report.exit_code == 0
    assert "gen: 0/100 docs (0%), repo not created yet, card not pushed" in said(report)
    assert hub.commits("acme/not-yet") == []


def test_a_repo_without_shards_shows_waiting(hub: HubSim, tmp_path: Path) -> None:
    hub.create_repo("acme/gen")
    jobs = write_manifest(tmp_path, "jobs: [{name: gen, repo: acme/gen, total: 100}]")

    report = update_at(jobs, datetime.now(timezone.utc))

    assert report.exit_code == 0
    assert progress_line(card(hub, "acme/gen"), "default").endswith(
        "0% • 0/100 docs<br>⏱️ waiting for first shard upload..."
    )


def test_a_broken_shard_is_reported_and_never_counted_as_zero(
    hub: HubSim, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    now = datetime.now(timezone.utc)
    shards(hub, "acme/gen", "data", [100, 100], now)
    hub.put_file("acme/gen", "data/00000_00002.parquet", parquet_bytes(100)[:-300] + b"PAR1")  # truncated
    caplog.set_level(logging.INFO)
    jobs = write_manifest(tmp_path, "jobs: [{name: gen, repo: acme/gen, total: 1000}]")

    report = update_at(jobs, now)

    assert report.exit_code == 0
    assert "gen: 200/1,000 docs (20%)" in said(report)
    assert "count incomplete: 1 shard unreadable" in said(report)
    assert progress_line(card(hub, "acme/gen")).endswith(" • ⚠️ 1 shard unreadable")
    messages = [record.getMessage() for record in caplog.records]
    assert any(m.startswith("cannot read the footer of data/00000_00002.parquet: ") for m in messages)
    assert "gen: count incomplete: 1 of 3 shards could not be read (listed above)" in messages


def test_footers_that_cannot_be_true_are_unreadable_shards_not_a_false_completion(
    hub: HubSim, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    now = datetime.now(timezone.utc)
    shards(hub, "acme/gen", "data", [100], now)
    hub.put_file("acme/gen", "data/00000_00001.parquet", claiming_rows(100, 2**40))
    hub.put_file("acme/gen", "data/00000_00002.parquet", claiming_rows(100, -5))
    jobs = write_manifest(tmp_path, "jobs: [{name: gen, repo: acme/gen, total: 1000}]")

    report = update_at(jobs, now)

    assert progress_line(card(hub, "acme/gen")).startswith(
        "**default**: [●●○○○○○○○○○○○○○○○○○○] 10% • 100/1,000 docs"
    )
    assert progress_line(card(hub, "acme/gen")).endswith(" • ⚠️ 2 shards unreadable")
    assert "count incomplete: 2 shards unreadable" in said(report)
    messages = "\n".join(record.getMessage() for record in caplog.records)
    assert (
        "cannot read the footer of data/00000_00001.parquet: the footer claims 1,099,511,627,776 rows"
        in messages
    )
    assert "cannot read the footer of data/00000_00002.parquet: the footer claims -5 rows" in messages


def test_a_count_well_beyond_the_total_is_doubted_not_published_as_complete(
    hub: HubSim, tmp_path: Path
) -> None:
    now = datetime.now(timezone.utc)
    shards(hub, "acme/gen", "data", [100, 100], now)
    jobs = write_manifest(tmp_path, "jobs: [{name: gen, repo: acme/gen, total: 150}]")

    report = update_at(jobs, now)

    doubt = (
        "200 documents counted, 33% more than the total of 150: check the total in jobs.yaml, and that no "
        "shards are counted twice"
    )
    assert progress_line(card(hub, "acme/gen")).endswith(f"100% • 150/150 docs<br>⚠️ {doubt}")
    assert doubt in said(report)
    write_manifest(tmp_path, "jobs: [{name: gen, repo: acme/gen, total: 210}]")  # the total, put right

    report = update_at(jobs, now)

    assert "more than the total" not in said(report)
    assert "95% • 200/210 docs<br>" in progress_line(card(hub, "acme/gen"))


def test_the_listing_is_fresh_on_every_run_in_the_same_process(hub: HubSim, tmp_path: Path) -> None:
    now = datetime.now(timezone.utc)
    jobs = write_manifest(tmp_path, "jobs: [{name: gen, repo: acme/gen, total: 100}]")
    shards(hub, "acme/gen", "data", [10], now)
    assert "10/100 docs" in said(update_at(jobs, now))
    write_shard(hub.repo_dir("acme/gen") / "data" / "later.parquet", 20, now.timestamp() + 60)
    assert "30/100 docs" in said(update_at(jobs, now + timedelta(minutes=2)))


def test_footers_are_read_with_ranged_requests_never_whole_files(hub: HubSim, tmp_path: Path) -> None:
    now = datetime.now(timezone.utc)
    shards(hub, "acme/gen", "data", [100] * 5, now)
    jobs = write_manifest(tmp_path, "jobs: [{name: gen, repo: acme/gen, total: 1000}]")
    hub.clear_requests()

    assert update_at(jobs, now).exit_code == 0

    reads = [r for r in hub.requests if "/resolve/" in r.path and r.path.endswith(".parquet")]
    assert len(reads) == 5
    assert all(r.status == 206 for r in reads)


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ("jobs:\n  - name: gen\n    repo: acme/gen\n    total: [1\n", "not valid YAML"),
        ("jobs:\n  - name: gen\n    repo: acme/gen\n    totl: 5\n", 'unknown key "totl"'),
        (
            "jobs:\n  - {name: gen, repo: acme/gen, total: 5}\n  - {name: gen, repo: acme/gen, total: 5}\n",
            "duplicate name",
        ),
        (
            "jobs:\n  - name: gen\n    repo: acme/gen\n    total: five\n",
            'total must be a positive integer, got "five"',
        ),
    ],
)
def test_a_manifest_error_is_refused_with_its_place_and_touches_nothing(
    hub: HubSim, tmp_path: Path, manifest: str, message: str
) -> None:
    """The command exits 2 on it (tests/integration/test_cli.py)."""
    now = datetime.now(timezone.utc)
    shards(hub, "acme/gen", "data", [10], now)
    jobs = write_manifest(tmp_path, manifest)
    hub.clear_requests()

    with pytest.raises(ManifestError) as refused:
        update_at(jobs, now)

    problems = "\n".join(refused.value.problems)
    assert message in problems
    assert "jobs.yaml:" in problems
    assert hub.requests == []


def test_only_selects_jobs_and_refuses_unknown_names_before_any_request(hub: HubSim, tmp_path: Path) -> None:
    now = datetime.now(timezone.utc)
    shards(hub, "acme/a", "data", [1], now)
    shards(hub, "acme/b", "data", [1], now)
    jobs = write_manifest(
        tmp_path, "jobs:\n  - {name: a, repo: acme/a, total: 2}\n  - {name: b, repo: acme/b, total: 2}\n"
    )

    assert update_at(jobs, now, only=["b"]).exit_code == 0
    assert hub.commits("acme/a") == []
    assert len(hub.commits("acme/b")) == 1

    hub.clear_requests()
    with pytest.raises(ManifestError, match='no job named "c"'):
        update_at(jobs, now, only=["c"])
    assert hub.requests == []


def test_dry_run_plans_the_diff_and_pushes_nothing(hub: HubSim, tmp_path: Path) -> None:
    now = datetime.now(timezone.utc)
    shards(hub, "acme/gen", "data", [30], now)
    jobs = write_manifest(tmp_path, "jobs: [{name: gen, repo: acme/gen, total: 100}]")

    planned = plan_at(jobs, now, dry_run=True)

    report = planned.dry_run
    assert report.exit_code == 0
    assert hub.commits("acme/gen") == []
    assert not (hub.repo_dir("acme/gen") / "README.md").exists()
    diff = planned.describe()  # what `--dry-run` prints
    assert diff.startswith(
        "# acme/gen: would commit 'Update generation progress: default 30% (30 docs)'\n--- /dev/null\n"
    )
    assert "+++ acme/gen/README.md (updated)" in diff
    assert "+**default**: [●●●●●●○○○○○○○○○○○○○○] 30% • 30/100 docs<br>⏱️ " in diff
    assert "gen: 30/100 docs (30%), dry run, nothing pushed" in said(report)


def test_one_failing_job_exits_1_and_the_others_still_run(hub: HubSim, tmp_path: Path) -> None:
    now = datetime.now(timezone.utc)
    shards(hub, "acme/gen", "data", [10], now)
    jobs = write_manifest(
        tmp_path,
        """
        jobs:
          - {name: broken, repo: acme/gen, config: math, input: {dataset: acme/missing-input}}
          - {name: fine, repo: acme/gen, total: 100}
        """,
    )

    report = update_at(jobs, now)

    assert report.exit_code == 1
    assert "broken: failed: cannot work out the expected number of documents" in said(report)
    assert "set total: in jobs.yaml" in said(report)
    assert "fine: 10/100 docs (10%)" in said(report)
    assert len(hub.commits("acme/gen")) == 1


def stale(hub: HubSim, text: str) -> None:
    """Put back the card `text` with its Last updated line from long ago."""
    stamp = next(line for line in text.splitlines() if line.startswith("*Last updated:"))
    hub.put_file("acme/gen", "README.md", text.replace(stamp, "*Last updated: 2020-01-01 00:00:00 UTC*"))


def test_a_second_run_without_new_shards_pushes_nothing_until_the_card_is_old(
    hub: HubSim, tmp_path: Path
) -> None:
    now = datetime.now(timezone.utc)
    shards(hub, "acme/gen", "data", [10, 20], now)
    jobs = write_manifest(tmp_path, "jobs: [{name: gen, repo: acme/gen, total: 100}]")
    assert "card pushed" in said(update_at(jobs, now))
    commits = len(hub.commits("acme/gen"))

    quiet = update_at(jobs, now + timedelta(minutes=5))  # the clock ticking alone is no news
    assert said(quiet).splitlines()[-1].endswith("card unchanged")
    assert len(hub.commits("acme/gen")) == commits

    # Six hours later the timestamp and the ETA are refreshed even without news.
    old = card(hub)
    stale(hub, old)
    assert said(update_at(jobs, now + timedelta(minutes=10))).splitlines()[-1].endswith("card pushed")
    stale(hub, old)
    kept = update_at(jobs, now + timedelta(minutes=15), refresh_after=timedelta(hours=100_000))
    assert said(kept).splitlines()[-1].endswith("card unchanged")


def test_the_command_takes_refresh_after_in_hours(hub: HubSim, tmp_path: Path) -> None:
    """Through `progress-card update` on purpose: it protects the parsing of `--refresh-after`, given
    in hours (in seconds, 100,000 would refresh a card last updated in 2020)."""
    now = datetime.now(timezone.utc)
    shards(hub, "acme/gen", "data", [10, 20], now)
    jobs = write_manifest(tmp_path, "jobs: [{name: gen, repo: acme/gen, total: 100}]")
    assert update_at(jobs, now).exit_code == 0
    stale(hub, card(hub))
    commits = len(hub.commits("acme/gen"))

    assert "--refresh-after HOURS" in command("update", "--help").stdout
    result = command("update", "--jobs", str(jobs), "--refresh-after", "100000")

    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines()[-1].endswith("card unchanged")
    assert len(hub.commits("acme/gen")) == commits


def test_the_state_folder_spares_the_next_run_the_known_footers(hub: HubSim, tmp_path: Path) -> None:
    now = datetime.now(timezone.utc)
    shards(hub, "acme/gen", "data", [10] * 12, now)
    jobs = write_manifest(tmp_path, "jobs: [{name: gen, repo: acme/gen, total: 1000}]")
    state = tmp_path / "state"
    assert "120/1,000 docs" in said(update_at(jobs, now, state=state))
    write_shard(hub.repo_dir("acme/gen") / "data" / "later.parquet", 5, now.timestamp() + 60)
    hub.clear_requests()

    assert "125/1,000 docs" in said(update_at(jobs, now + timedelta(minutes=2), state=state))

    assert [r.path.rsplit("/", 1)[-1] for r in hub.requests if r.path.endswith(".parquet")] == [
        "later.parquet"
    ]
    assert list((state / "shards").iterdir())  # kept for the next run


def test_a_card_written_by_someone_else_gets_a_warning_for_each_config_it_does_not_list(
    hub: HubSim, tmp_path: Path
) -> None:
    now = datetime.now(timezone.utc)
    shards(hub, "acme/gen", "data", [10], now)
    shards(hub, "acme/gen", "math", [20], now)
    theirs = "---\nconfigs:\n- config_name: default\n  data_files: data/*.parquet\n---\n# Our data\n"
    hub.put_file("acme/gen", "README.md", theirs)
    jobs = write_manifest(
        tmp_path,
        """
        defaults: {repo: acme/gen, total: 100}
        jobs: [{name: default}, {name: math, config: math}]
        """,
    )

    report = update_at(jobs, now)

    assert report.exit_code == 0, said(report)
    text = card(hub, "acme/gen")
    assert text.startswith(theirs)  # their front matter, byte for byte
    math = said(report).splitlines()[-1]
    assert math.startswith("math: 20/100 docs (20%)")
    assert "the card's configs: does not list math" in math and "math/**/*.parquet" in math
    assert "does not list" not in said(report).splitlines()[-2]


def test_repos_are_updated_side_by_side_and_reported_in_manifest_order(
    hub: HubSim, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    hub.latency_ms = 20
    now = datetime.now(timezone.utc)
    names = [f"r{index}" for index in range(REPOS_AT_ONCE + 3)]
    for index, name in enumerate(names):
        shards(hub, f"acme/{name}", "data", [index + 1], now)
    jobs = write_manifest(
        tmp_path, "jobs:\n" + "".join(f"  - {{name: {n}, repo: acme/{n}, total: 100}}\n" for n in names)
    )

    report = update_at(jobs, now)

    assert report.exit_code == 0, said(report)
    assert [job.name for job in report.jobs] == names
    assert [line.split(":")[0] for line in said(report).splitlines()] == names
    expecting = [r.getMessage().split(":")[0] for r in caplog.records if "expecting" in r.getMessage()]
    assert expecting == names  # the log reads as if they ran one after another
    assert all(len(hub.commits(f"acme/{name}")) == 1 for name in names)
