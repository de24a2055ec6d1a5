from datetime import datetime, timedelta, timezone

import pytest
import yaml

from progress_card.card import (
    CardEntry,
    CardSpec,
    Shown,
    average_rate_line,
    describe_late,
    describe_queue,
    describe_stall,
    describe_stop,
    last_updated,
    new_card,
    patch_card,
    patch_final_figures,
    progress_line,
    rate_line,
    render_bar,
    shown,
    spend_text,
    write,
)
from progress_card.model import Eta, FinalFigures, Pending, Silence, Spend, SpendUnit
from tests.cards import DATATROVE_CARD, LATER, NOW, entry, line


def test_bar_fills_one_dot_per_five_percent_rounded_down() -> None:
    assert render_bar(3_120, 5_000) == "[●●●●●●●●●●●●○○○○○○○○] 62% • 3,120/5,000 docs"
    assert render_bar(249, 5_000) == "[○○○○○○○○○○○○○○○○○○○○] 4% • 249/5,000 docs"
    assert render_bar(250, 5_000) == "[●○○○○○○○○○○○○○○○○○○○] 5% • 250/5,000 docs"


def test_counts_are_clamped_to_the_total() -> None:
    assert render_bar(7_000, 5_000) == "[●●●●●●●●●●●●●●●●●●●●] 100% • 5,000/5,000 docs"
    assert render_bar(-3, 5_000) == "[○○○○○○○○○○○○○○○○○○○○] 0% • 0/5,000 docs"


def test_large_counts_carry_a_suffix() -> None:
    assert render_bar(12_345_678, 20_000_000).endswith("• 12,345,678 (≈12.3M)/20,000,000 (≈20.0M) docs")


def test_line_with_eta_matches_datatrove_layout() -> None:
    eta = Eta(timedelta(hours=2, minutes=15), datetime(2026, 11, 27, 18, 30, tzinfo=timezone.utc))
    assert line("math", 3_120, 5_000, eta) == (
        "**math**: [●●●●●●●●●●●●○○○○○○○○] 62% • 3,120/5,000 docs"
        "<br>⏱️ 2h 15m remaining • 📅 Nov 27 2026, 18:30 UTC"
    )


def test_nothing_uploaded_yet_says_waiting() -> None:
    assert line("default", 0, 100).endswith("<br>⏱️ waiting for first shard upload...")


def test_done_reaching_total_says_complete() -> None:
    assert line("default", 100, 100).endswith("] 100% • 100/100 docs<br>✅ Complete")
    assert line("default", 130, 100).endswith("] 100% • 100/100 docs<br>✅ Complete")


def test_patch_changes_only_the_config_line_and_the_timestamp() -> None:
    new_line = line("math", 3_120, 5_000, Eta(timedelta(hours=2), NOW + timedelta(hours=2)))
    patched = patch_card(DATATROVE_CARD, entry("math", new_line), LATER)
    before, after = DATATROVE_CARD.splitlines(), patched.splitlines()
    changed = [(b, a) for b, a in zip(before, after, strict=False) if b != a]
    assert len(before) == len(after)
    assert changed == [
        (before[25], new_line),
        ("*Last updated: 2026-11-21 11:00:00 UTC*", "*Last updated: 2026-11-21 13:00:00 UTC*"),
    ]
    assert "**math** is bold here but is not a progress line." in patched


def test_patch_is_idempotent() -> None:
    new_line = line("faq", 500, 1_000)
    once = patch_card(DATATROVE_CARD, entry("faq", new_line), LATER)
    assert patch_card(once, entry("faq", new_line), LATER) == once


def test_a_missing_config_line_is_added_before_the_timestamp() -> None:
    new_line = line("code", 10, 100)
    patched = patch_card(DATATROVE_CARD, entry("code", new_line), LATER)
    assert f"{new_line}\n\n*Last updated: 2026-11-21 13:00:00 UTC*" in patched
    assert "**faq**: [●●●●○○○○○○○○○○○○○○○○]" in patched
    assert patched.replace(f"{new_line}\n\n", "").replace("13:00:00", "11:00:00") == DATATROVE_CARD


def test_a_card_without_progress_section_gets_one_at_the_end() -> None:
    card = "---\nlicense: mit\n---\n\n# My dataset\n\nHand-written text.\n"
    patched = patch_card(card, entry("default", line("default", 0, 10)), NOW)
    assert patched.startswith(card)
    assert patched[len(card) :] == (
        "\n## 🔄 Generation Progress\n\n"
        "**default**: [○○○○○○○○○○○○○○○○○○○○] 0% • 0/10 docs<br>⏱️ waiting for first shard upload...\n\n"
        "*Last updated: 2026-11-21 12:00:00 UTC*\n"
    )


def test_a_section_without_timestamp_gets_one_after_the_line() -> None:
    card = "# T\n\n## 🔄 Generation Progress\n\n**default**: old\n\n## Usage\n\ntext\n"
    new_line = line("default", 1, 10)
    assert patch_card(card, entry("default", new_line), NOW) == (
        f"# T\n\n## 🔄 Generation Progress\n\n{new_line}\n\n*Last updated: 2026-11-21 12:00:00 UTC*\n\n## Usage\n\ntext\n"
    )


def test_an_empty_section_gets_the_line_and_timestamp_and_keeps_the_next_heading() -> None:
    card = "# T\n\n## 🔄 Generation Progress\n\n## Usage\n"
    new_line = line("default", 1, 10)
    assert patch_card(card, entry("default", new_line), NOW) == (
        f"# T\n\n## 🔄 Generation Progress\n\n{new_line}\n\n*Last updated: 2026-11-21 12:00:00 UTC*\n\n## Usage\n"
    )


def test_a_timestamp_outside_the_section_is_left_alone() -> None:
    card = "*Last updated: by hand*\n\n## 🔄 Generation Progress\n\n**a**: x\n\n*Last updated: old*\n"
    patched = patch_card(card, entry("a", "**a**: y"), NOW)
    assert (
        patched
        == "*Last updated: by hand*\n\n## 🔄 Generation Progress\n\n**a**: y\n\n*Last updated: 2026-11-21 12:00:00 UTC*\n"
    )


@pytest.mark.parametrize("config", ["default", "math"])
def test_a_new_card_declares_what_it_counted_and_has_progress_and_usage(config: str) -> None:
    folder = config  # datatrove writes every config, the default one too, to <config>/
    spec = CardSpec(
        title="acme/gen",
        load_path="acme/gen",
        config=config,
        patterns=(f"{folder}/**/*.parquet",),
        split="train",
        model="org/model-7b",
        source_dataset="org/prompts",
    )
    text = new_card(CardEntry(spec, line(config, 0, 100)), NOW)
    front, body = text.removeprefix("---\n").split("\n---\n", 1)
    metadata = yaml.safe_load(front)
    assert metadata["configs"] == [
        {"config_name": config, "data_files": [{"split": "train", "path": f"{folder}/**/*.parquet"}]}
    ]
    assert metadata["pretty_name"] == "acme/gen"
    assert metadata["source_datasets"] == ["org/prompts"]
    assert "model-7b" in metadata["tags"]
    assert "[`org/model-7b`](https://huggingface.co/org/model-7b)" in body
    assert "[`org/prompts`](https://huggingface.co/datasets/org/prompts)" in body
    expected_load = (
        'load_dataset("acme/gen")' if config == "default" else f'load_dataset("acme/gen", "{config}")'
    )
    assert expected_load in body
    assert (
        f"## 🔄 Generation Progress\n\n{line(config, 0, 100)}\n\n*Last updated: 2026-11-21 12:00:00 UTC*"
        in body
    )
    # A new card is then patched like any other.
    assert patch_card(text, entry(config, line(config, 0, 100)), NOW) == text


def test_a_stopped_job_keeps_its_last_bar_and_says_why() -> None:
    detail = describe_stop(630, 1_000, "Slurm job 123 ended (FAILED) without stats.json")
    assert progress_line("math", 630, 1_000, detail) == (
        "**math**: [●●●●●●●●●●●●○○○○○○○○] 63% • 630/1,000 docs"
        "<br>⚠️ stopped at 63%: Slurm job 123 ended (FAILED) without stats.json"
    )


FIGURES = FinalFigures(
    documents=4_990,
    prompt_tokens=250_000,
    completion_tokens=1_500_000,
    prompt_tokens_mean=50.1,
    completion_tokens_mean=300.6,
    mean_doc_chars=None,
)
TABLE = (
    "| Metric | Value |\n| --- | --- |\n| Documents processed | 4,990 |\n| Total prompt tokens | 250,000 |\n"
    "| Total completion tokens | 1,500,000 (≈1.5M) |\n| Mean prompt tokens | 50.10 |\n| Mean completion tokens | 300.60 |"
)


def test_final_figures_replace_datatrove_placeholder_once() -> None:
    card = "# T\n\n## Dataset Stats\n\nGeneration in progress. Final statistics will be available upon completion.\n"
    patched = patch_final_figures(card, "math", FIGURES)
    assert patched == (
        "# T\n\n## Dataset Stats\n\n<!-- progress-card:final-figures math -->\n"
        f"Final figures of **math**, from stats.json:\n\n{TABLE}\n<!-- /progress-card:final-figures math -->\n"
    )
    assert patch_final_figures(patched, "math", FIGURES) == patched


def test_without_placeholder_the_figures_go_below_the_config_line() -> None:
    patched = patch_final_figures(
        DATATROVE_CARD.replace("Generation in progress. Final", "Final"), "faq", FIGURES
    )
    faq_line = DATATROVE_CARD.splitlines()[23]
    assert f"{faq_line}\n\n<!-- progress-card:final-figures faq -->\nFinal figures of **faq**" in patched
    assert patch_final_figures(patched, "faq", FIGURES) == patched
    # The progress lines still patch as before: the block does not look like a config line.
    assert patch_card(patched, entry("faq", "**faq**: new"), LATER).count("**faq**: new") == 1


def test_last_updated_is_read_from_the_progress_section() -> None:
    assert last_updated(DATATROVE_CARD) == datetime(2026, 11, 21, 11, 0, tzinfo=timezone.utc)
    assert last_updated("# no section\n*Last updated: 2026-11-21 11:00:00 UTC*\n") is None


def test_what_the_compute_costs_reads_so_far_and_in_all() -> None:
    dollars = Spend(41.2, 20.0, SpendUnit.USD)
    assert spend_text(dollars, timedelta(hours=4, minutes=30), ended=False) == "💵 $41 so far, ≈ $131 in all"
    assert spend_text(dollars, None, ended=False) == "💵 $41 so far"
    assert spend_text(Spend(4.266, 0, SpendUnit.USD), None, ended=True) == "💵 $4.27 in all"
    gpus = Spend(1234.4, 64, SpendUnit.GPU_HOURS)
    assert spend_text(gpus, timedelta(hours=10), ended=False) == "🖥️ 1,234 GPU-hours so far, ≈ 1,874 in all"
    shown = progress_line(
        "math", 3_120, 5_000, "⏱️ 2h remaining", spend=spend_text(dollars, None, ended=False)
    )
    assert (
        shown == "**math**: [●●●●●●●●●●●●○○○○○○○○] 62% • 3,120/5,000 docs • 💵 $41 so far<br>⏱️ 2h remaining"
    )


def test_the_rate_line_sits_below_the_config_line_and_is_patched_in_place() -> None:
    hourly = [0] * 20 + [600, 610, 1200, 1240]
    rate = rate_line("math", 1_240.4, hourly)
    assert rate == "<!-- progress-card:rate math -->≈ 1,240 docs/h • last 24 h: ▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▅▅██"
    new_line = line("math", 3_120, 5_000)
    patched = patch_card(DATATROVE_CARD, entry("math", new_line, rate), LATER)
    assert f"{new_line}\n\n{rate}\n\n*Last updated" in patched
    faster = rate_line("math", 2_000, hourly)
    again = patch_card(patched, entry("math", new_line, faster), LATER)
    assert again == patched.replace(rate, faster)
    assert patch_card(again, entry("math", new_line, faster), LATER) == again
    # datatrove's own patcher finds the config's line as before: the first line starting **math**:
    assert [row for row in again.splitlines() if row.startswith("**math**:")] == [new_line]


def test_a_new_card_carries_the_rate_line() -> None:
    spec = CardSpec(
        title="acme/gen",
        load_path="acme/gen",
        config="default",
        patterns=("default/**/*.parquet",),
        split="train",
    )
    rate = rate_line("default", 50, [1] * 24)
    text = new_card(CardEntry(spec, line("default", 5, 10), rate), NOW)
    assert f"{line('default', 5, 10)}\n\n{rate}\n\n*Last updated: " in text
    assert (
        "## Dataset Stats\n\nGeneration in progress. Final statistics will be available upon completion."
        in text
    )


def test_a_stall_replaces_the_eta() -> None:
    since = datetime(2026, 11, 21, 6, 0, tzinfo=timezone.utc)
    assert progress_line("math", 3_000, 9_000, describe_stall(since)).endswith(
        "<br>⚠️ no new shards since Nov 21 2026, 06:00 UTC"
    )


def test_a_late_job_says_how_long_it_has_been_silent_and_what_is_usual() -> None:
    since = NOW - timedelta(hours=1, minutes=20)
    usual = timedelta(minutes=40)
    assert describe_late(Silence(since, usual, per_task=False, stalled=False), NOW) == (
        "⏱️ no new shards for 1h 20m (usually every 40m)"
    )
    assert describe_late(Silence(since, usual, per_task=True, stalled=False), NOW) == (
        "⏱️ no new shards for 1h 20m (each task usually uploads every 40m)"
    )


def test_without_an_honest_rate_the_rate_line_is_taken_out() -> None:
    progress = line("math", 3_120, 5_000)
    bare = patch_card(DATATROVE_CARD, entry("math", progress), NOW)
    with_rate = patch_card(bare, entry("math", progress, rate_line("math", 1_240, [1] * 24)), NOW)

    assert with_rate != bare
    assert patch_card(with_rate, entry("math", progress), NOW) == bare
    assert patch_card(with_rate.replace("\n", "\r\n"), entry("math", progress), NOW) == bare.replace(
        "\n", "\r\n"
    )


def test_a_completed_job_shows_its_average_rate_and_says_so() -> None:
    assert average_rate_line("math", 9_296.4, timedelta(hours=20, minutes=40)) == (
        "<!-- progress-card:rate math -->≈ 9,296 docs/h on average over 20h 40m of uploads"
    )


def test_a_job_in_the_queue_says_why_and_since_when() -> None:
    since = datetime(2026, 12, 1, 14, 2, tzinfo=timezone.utc)
    assert (
        describe_queue(Pending("Priority", since), uploaded=False)
        == "⏳ pending (Priority) since Dec 01 2026, 14:02 UTC"
    )
    assert describe_queue(Pending("None", since), uploaded=False) == "⏳ pending since Dec 01 2026, 14:02 UTC"
    assert describe_queue(Pending("Resources", since), uploaded=True) == "⏳ requeued, pending (Resources)"
    assert describe_queue(Pending("DependencyNeverSatisfied", since, never_starts=True), uploaded=False) == (
        "⚠️ never starts: a job it depends on failed (DependencyNeverSatisfied)"
    )


EXAMPLE_CARD = """---
configs:
- config_name: math
  data_files: math/*.parquet
---
# acme/gen

## 🔄 Generation Progress

The line below is what a finished config looks like:

```markdown
# a comment in an example
**math**: [●●●●●●●●●●●●●●●●●●●●] 100% • 5,000/5,000 docs<br>✅ Complete
*Last updated: 2020-01-01 00:00:00 UTC*
```

    **math**: [○○○○○○○○○○○○○○○○○○○○] 0% • 0/5,000 docs<br>an indented example

**math**: [●○○○○○○○○○○○○○○○○○○○] 5% • 250/5,000 docs<br>⏱️ 9h remaining • 📅 Nov 21 2026, 20:00 UTC

*Last updated: 2026-11-21 11:00:00 UTC*

## Usage
"""


def test_lines_in_code_blocks_are_examples_not_ours() -> None:
    new_line = line("math", 3_120, 5_000)
    patched, warnings = write(EXAMPLE_CARD, entry("math", new_line, rate="≈ 1 docs/h"), LATER)
    assert warnings == ()
    assert shown(EXAMPLE_CARD, "math") == Shown(250, 5_000, complete=False)
    assert last_updated(EXAMPLE_CARD) == datetime(2026, 11, 21, 11, tzinfo=timezone.utc)
    before, after = EXAMPLE_CARD.splitlines(), patched.splitlines()
    assert after[:19] == before[:19]  # both examples, and the heading-like comment, as they were
    assert after[19] == new_line
    assert "*Last updated: 2026-11-21 13:00:00 UTC*" in after
    assert after[-1] == "## Usage"


def test_a_fence_left_open_hides_everything_after_it() -> None:
    card = "## 🔄 Generation Progress\n\n```\n**math**: [○] 0% • 0/5 docs<br>x\n"
    assert shown(card, "math") is None
    assert shown(card.replace("```", "~~~~"), "math") is None


def test_a_config_with_two_progress_lines_gets_both_right_and_a_warning() -> None:
    stale = line("faq", 10, 1_000)
    card = DATATROVE_CARD.replace("*Last updated:", f"{stale}\n\n*Last updated:")
    new_line = line("faq", 500, 1_000)
    patched, warnings = write(card, entry("faq", new_line), LATER)
    assert patched.count(new_line) == 2 and stale not in patched
    assert warnings == (
        "the card has 2 progress lines for **faq**; all are kept up to date, but readers see it twice: "
        "delete all but one",
    )


def test_a_crlf_card_keeps_crlf_on_every_line_put_in() -> None:
    card = DATATROVE_CARD.replace("\n", "\r\n")
    patched, _ = write(card, entry("code", line("code", 10, 100), rate="≈ 3 docs/h"), LATER)
    assert patched.count("\n") == patched.count("\r\n") > card.count("\r\n")
    assert (
        patched.replace("\r\n", "\n")
        == write(DATATROVE_CARD, entry("code", line("code", 10, 100), rate="≈ 3 docs/h"), LATER)[0]
    )


def test_a_card_with_mixed_line_endings_keeps_its_bytes() -> None:
    card = DATATROVE_CARD.replace("## Dataset Stats", "## Dataset Stats\r")
    patched, _ = write(card, entry("faq", line("faq", 1, 1_000)), LATER)
    assert "## Dataset Stats\r\n" in patched and patched.count("\r") == 1
