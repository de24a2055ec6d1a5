"""The dataset card as text: render the progress section and patch it into a README.

The section is the one datatrove's inference monitor writes, so that either tool can update a
card the other wrote:

    ## 🔄 Generation Progress

    **math**: [●●●●●●●●●●●●○○○○○○○○] 62% • 3,120/5,000 docs<br>⏱️ 2h 15m remaining • 📅 Nov 27 2026, 18:30 UTC

    *Last updated: 2026-11-27 16:15:00 UTC*

What the tool writes for one config is one value, a `CardEntry`: the progress line, the rate line
below it, the final figures once the job completed, and what a new card says of the job. `write`
puts an entry into a card (creating the card when there is none).

Everything here is a pure text transform: patching twice equals patching once, and the bytes
of the card outside this config's lines and the timestamp are never touched, except the
`configs:` of a card this tool created, which gains each config it follows (`ensure_config`).
Lines inside the card's code blocks are examples, never ours; inserted lines follow the card's own
line endings.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import yaml
from huggingface_hub import DatasetCard, DatasetCardData

from . import code_blocks
from .formatting import (
    format_compact,
    format_count,
    format_duration,
    format_eta_date,
    format_spend,
    format_timestamp,
    percent,
    sparkline,
)
from .model import Eta, FinalFigures, Loss, Pending, Silence, Spend, SpendUnit, TaskProgress

SECTION_HEADER = "## 🔄 Generation Progress"
STATS_PENDING = "Generation in progress. Final statistics will be available upon completion."
"""datatrove's placeholder for the final figures, which a completed job's table replaces."""
BAR_WIDTH = 20
COMPLETE = "✅ Complete"
"""The words after the bar of a complete job (datatrove's)."""
_HEADER_LINE = re.compile(r"^## 🔄 Generation Progress[ \t]*\r?$", re.MULTILINE)
_NEXT_SECTION = re.compile(r"^#{1,2} ", re.MULTILINE)
_TIMESTAMP_LINE = re.compile(r"^\*Last updated:[^\r\n]*", re.MULTILINE)
_STAMP_VALUE = re.compile(r"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) UTC")
# The rate line starts with an invisible marker, so that it can be found, replaced and taken out.
_RATE_MARK = "<!-- progress-card:rate {config} -->"
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)


def _config_line(config: str) -> re.Pattern[str]:
    """A config's progress line, as both tools write it: it starts `**<config>**:`."""
    return re.compile(rf"^\*\*{re.escape(config)}\*\*:[^\r\n]*", re.MULTILINE)


def clamp(done: int, total: int) -> int:
    return max(0, min(done, total))


def render_bar(done: int, total: int) -> str:
    """`[●●●●○○○○○○○○○○○○○○○○] 23% • 1,150/5,000 docs`; counts clamped to [0, total]."""
    shown = clamp(done, total)
    filled = (shown * BAR_WIDTH) // total if total > 0 else 0
    bar = "●" * filled + "○" * (BAR_WIDTH - filled)
    return f"[{bar}] {percent(shown, total)}% • {format_count(shown)}/{format_count(total)} docs"


def describe_progress(done: int, total: int, eta: Eta | None, tasks: TaskProgress | None = None) -> str:
    """The text after the bar: waiting, time remaining with the expected end, or complete.

    A job whose documents reached the total is complete only once all its tasks are done.
    """
    shown = clamp(done, total)
    if shown >= total > 0:
        if tasks is not None and not tasks.complete:
            return f"⏱️ waiting for the last tasks ({tasks.done}/{tasks.total if tasks.total is not None else '?'} done)"
        return COMPLETE
    if shown == 0:
        return "⏱️ waiting for first shard upload..."
    if eta is None:
        return "⏱️ estimating time remaining..."
    remaining = format_duration(eta.remaining.total_seconds())
    return f"⏱️ {remaining} remaining • 📅 {format_eta_date(eta.finish_at)}"


def describe_loss(loss: Loss) -> str:
    """Shards counted before that are gone (a relaunch's overwrite, a deletion)."""
    return (
        f"{format_count(loss.shards)} shards ({format_count(loss.documents)} documents) disappeared from "
        f"{loss.where} since {format_eta_date(loss.since)}"
    )


def describe_stall(since: datetime) -> str:
    """The text after the bar of a job that is alive but has uploaded nothing for much longer than usual."""
    return f"⚠️ no new shards since {format_eta_date(since)}"


def describe_late(silence: Silence, now: datetime) -> str:
    """The text after the bar of a job that is alive and has uploaded nothing for longer than usual, not
    yet long enough for a stall: what is known, rather than an ETA the silence inflates."""
    usual = format_duration(silence.usual.total_seconds())
    beat = f"each task usually uploads every {usual}" if silence.per_task else f"usually every {usual}"
    return f"⏱️ no new shards for {format_duration((now - silence.since).total_seconds())} ({beat})"


def queue_text(pending: Pending, uploaded: bool) -> str:
    """Why a job waits in Slurm's queue: `pending (Priority) since ...`, or `requeued, pending (Resources)`
    for one that has uploaded before."""
    if pending.never_starts:
        return f"never starts: a job it depends on failed ({pending.reason})"
    why = f" ({pending.reason})" if pending.reason not in ("", "None") else ""  # None: not looked at yet
    if uploaded:
        return f"requeued, pending{why}"
    since = f" since {format_eta_date(pending.since)}" if pending.since is not None else ""
    return f"pending{why}{since}"


def describe_queue(pending: Pending, uploaded: bool) -> str:
    """The text after the bar of a job waiting in the queue."""
    return f"{'⚠️' if pending.never_starts else '⏳'} {queue_text(pending, uploaded)}"


def rate_line(config: str, rate_per_hour: float, hourly: Sequence[int]) -> str:
    """The line below the config's progress line: the current rate and a chart of the last day."""
    return f"{_RATE_MARK.format(config=config)}≈ {format_count(round(rate_per_hour))} docs/h • last 24 h: {sparkline(hourly)}"


def average_rate_line(config: str, rate_per_hour: float, span: timedelta) -> str:
    """The rate line of a completed job: its average rate over its whole life, and that it is one."""
    over = format_duration(span.total_seconds())
    return f"{_RATE_MARK.format(config=config)}≈ {format_count(round(rate_per_hour))} docs/h on average over {over} of uploads"


def describe_stop(done: int, total: int, reason: str) -> str:
    """The text after the bar of a job that ended without completing: the bar stays where it stopped."""
    return f"⚠️ stopped at {percent(clamp(done, total), total)}%: {reason}"


def progress_line(
    config: str,
    done: int,
    total: int,
    detail: str,
    tasks: TaskProgress | None = None,
    tokens: str | None = None,
    spend: str | None = None,
) -> str:
    """The config's line: `**config**: [bar] P% • done/total docs<br>detail`, with ` • tasks d/t` after
    the documents when the job's datatrove logging folder is known, ` • 36K tokens (≈ 9K/h)` once
    tasks have finished, and ` • 💵 $41 so far, ≈ $130 in all` when the compute says what it costs."""
    counts = render_bar(done, total)
    counts += f" • {tasks}" if tasks is not None else ""
    counts += f" • {tokens}" if tokens else ""
    counts += f" • {spend}" if spend else ""
    return f"**{config}**: {counts}<br>{detail}"


def spend_text(spend: Spend, remaining: timedelta | None, ended: bool) -> str:
    """`💵 $41 so far, ≈ $130 in all` while the job runs and its end is expected (`remaining`), `💵 $41
    so far` before, `💵 $130 in all` once it ended; GPU-hours as `🖥️ 120 GPU-hours so far, ≈ 400 in all`."""
    mark = "💵" if spend.unit is SpendUnit.USD else "🖥️"
    so_far = format_spend(spend.so_far, spend.unit)
    if ended:
        return f"{mark} {so_far} in all"
    if remaining is None:
        return f"{mark} {so_far} so far"
    projected = format_spend(spend.projected(remaining), spend.unit)
    if spend.unit is SpendUnit.GPU_HOURS:
        projected = projected.removesuffix(" GPU-hours")
    return f"{mark} {so_far} so far, ≈ {projected} in all"


def tokens_text(completion_tokens: int, per_hour: float | None) -> str | None:
    """`36K tokens (≈ 9.5K/h)`: the completion tokens of the finished tasks, and their rate once known."""
    if not completion_tokens:
        return None
    rate = f" (≈ {format_compact(per_hour)}/h)" if per_hour else ""
    return f"{format_compact(completion_tokens)} tokens{rate}"


def timestamp_line(now: datetime) -> str:
    return f"*Last updated: {format_timestamp(now)}*"


@dataclass(frozen=True)
class Shown:
    """What a card's line for a config shows now."""

    done: int
    total: int
    complete: bool


def shown(text: str, config: str) -> Shown | None:
    """The counts on the config's progress line (ours or datatrove's), if the card has one."""
    section = _section(text)
    if section is None:
        return None
    line = re.compile(
        rf"^\*\*{re.escape(config)}\*\*: \[[●○]*\] \d+% • ([\d,]+)(?: \(≈[^)]*\))?/([\d,]+)(?: \(≈[^)]*\))? docs"
        r"(?: • [^<\r\n]*)?<br>([^\r\n]*)",
        re.MULTILINE,
    )
    found = code_blocks.search(line, text, section[0], section[1])
    if found is None:
        return None
    done, total = (int(group.replace(",", "")) for group in found.group(1, 2))
    return Shown(done, total, found.group(3).startswith("✅"))


def is_final_datatrove_card(text: str) -> bool:
    """datatrove's final card: its statistics table filled in, and no progress section any more."""
    return _section(text) is None and "| Documents processed |" in text and "## Dataset Stats" in text


def last_updated(text: str) -> datetime | None:
    """When the card's progress section was last written, from its *Last updated* line."""
    section = _section(text)
    stamp = code_blocks.search(_TIMESTAMP_LINE, text, section[0], section[1]) if section else None
    found = _STAMP_VALUE.search(stamp.group(0)) if stamp else None
    if found is None:
        return None
    return datetime.strptime(found.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)


def _section(text: str) -> tuple[int, int] | None:
    """Where the progress section's body starts and ends."""
    header = code_blocks.search(_HEADER_LINE, text)
    if header is None:
        return None
    following = code_blocks.search(_NEXT_SECTION, text, header.end())
    return header.end(), following.start() if following else len(text)


def patch_card(text: str, entry: CardEntry, now: datetime) -> str:
    """Put the entry's lines in place of the config's (its progress line, the rate line below it, its
    final figures), refresh the timestamp.

    Adds the line (before the timestamp) when the section lacks it, and the section (at the
    end of the card) when the card lacks it. Other configs' lines and all other text stay.
    """
    config = entry.config
    section = _section(text)
    if section is None:
        text = _append_section(text, entry.lines, now)
    else:
        start, end = section
        patched = _put_rate_line(_patch_section(text[start:end], config, entry.line, now), config, entry.rate)
        text = text[:start] + patched + text[end:]
    return patch_final_figures(text, config, entry.figures) if entry.figures else text


def _put_rate_line(section: str, config: str, rate: str | None) -> str:
    """The config's rate line replaced, put in below its progress line, or (`rate` None) taken out with
    the blank line before it."""
    mark = re.escape(_RATE_MARK.format(config=config))
    existing = code_blocks.search(re.compile(rf"^{mark}[^\r\n]*", re.MULTILINE), section)
    if rate is None:
        if existing is None:
            return section
        start = len(section[: existing.start()].rstrip("\r\n"))
        return section[:start] + section[existing.end() :]
    if existing is not None:
        return section[: existing.start()] + rate + section[existing.end() :]
    anchor = code_blocks.search(_config_line(config), section)
    assert anchor is not None  # the config's line was just put in
    return f"{section[: anchor.end()]}\n\n{rate}{section[anchor.end() :]}"


def _patch_section(section: str, config: str, line: str, now: datetime) -> str:
    """Every progress line of the config made right (a card can have two), or the line put in."""
    config_line = _config_line(config)
    stamp = timestamp_line(now)
    lines = list(code_blocks.matches(config_line, section))
    if lines:
        for found in reversed(lines):
            section = section[: found.start()] + line + section[found.end() :]
    else:
        existing = code_blocks.search(_TIMESTAMP_LINE, section)
        if existing:
            section = f"{section[: existing.start()]}{line}\n\n{section[existing.start() :]}"
        else:
            body = section.rstrip("\r\n")
            section = f"{body}\n\n{line}\n\n{stamp}\n{_trailing_gap(section)}"
    existing = code_blocks.search(_TIMESTAMP_LINE, section)
    if existing:
        return section[: existing.start()] + stamp + section[existing.end() :]
    anchor = code_blocks.search(config_line, section)
    assert anchor is not None  # the line was put in above
    return f"{section[: anchor.end()]}\n\n{stamp}{section[anchor.end() :]}"


def progress_lines(text: str, config: str) -> int:
    """How many progress lines the card's section has for the config, outside code blocks."""
    section = _section(text)
    if section is None:
        return 0
    return sum(1 for _ in code_blocks.matches(_config_line(config), text, *section))


def _trailing_gap(section: str) -> str:
    """Keep the blank line the section had before the next heading."""
    return "\n" if section.endswith("\n\n") else ""


def _append_section(text: str, lines: list[str], now: datetime) -> str:
    if not text or text.endswith("\n\n"):
        separator = ""
    elif text.endswith("\n"):
        separator = "\n"
    else:
        separator = "\n\n"
    return f"{text}{separator}{render_section(lines, now)}"


def render_section(lines: list[str], now: datetime) -> str:
    body = "\n\n".join(lines)
    return f"{SECTION_HEADER}\n\n{body}\n\n{timestamp_line(now)}\n"


def figures_table(figures: FinalFigures) -> str:
    """The final figures as datatrove's card shows them; rows without a value are left out."""
    rows = [
        ("Documents processed", format_count(figures.documents) if figures.documents is not None else None),
        ("Avg. source chars", f"{figures.mean_doc_chars:.2f}" if figures.mean_doc_chars else None),
        ("Total prompt tokens", format_count(figures.prompt_tokens) if figures.prompt_tokens else None),
        (
            "Total completion tokens",
            format_count(figures.completion_tokens) if figures.completion_tokens else None,
        ),
        ("Mean prompt tokens", f"{figures.prompt_tokens_mean:.2f}" if figures.prompt_tokens_mean else None),
        (
            "Mean completion tokens",
            f"{figures.completion_tokens_mean:.2f}" if figures.completion_tokens_mean else None,
        ),
    ]
    body = [f"| {name} | {value} |" for name, value in rows if value is not None]
    return "\n".join(["| Metric | Value |", "| --- | --- |", *body])


def patch_final_figures(text: str, config: str, figures: FinalFigures) -> str:
    """Show a completed config's final figures: in place of datatrove's placeholder when the card has
    one, otherwise below the config's progress line. The block is marked, so patching is idempotent."""
    opening, closing = (
        f"<!-- progress-card:final-figures {config} -->",
        f"<!-- /progress-card:final-figures {config} -->",
    )
    source = (
        f"summed from the {figures.tasks} per-task stats files (stats.json was not written)"
        if figures.tasks is not None
        else "from stats.json"
    )
    block = f"{opening}\nFinal figures of **{config}**, {source}:\n\n{figures_table(figures)}\n{closing}"
    marked = re.compile(rf"^{re.escape(opening)}$.*?^{re.escape(closing)}$", re.MULTILINE | re.DOTALL)
    existing = code_blocks.search(marked, text) or code_blocks.search(
        re.compile(re.escape(STATS_PENDING)), text
    )
    if existing:
        return text[: existing.start()] + block + text[existing.end() :]
    section = _section(text)
    found = code_blocks.search(_config_line(config), text, *section) if section else None
    if found is None:
        return text
    return f"{text[: found.end()]}\n\n{block}{text[found.end() :]}"


@dataclass(frozen=True)
class CardSpec:
    """What a new card says about the job."""

    title: str
    load_path: str
    """What `load_dataset` is given in the usage example: the repo id, or the folder."""
    config: str
    patterns: tuple[str, ...]
    """The files counted as the config's shards, relative to the repo's root; none when they are not
    in the repo (a bucket, a folder elsewhere)."""
    split: str
    model: str | None = None
    source_dataset: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class CardEntry:
    """Everything the tool writes into a card for one config."""

    spec: CardSpec
    line: str
    """The progress line: `**config**: [bar] P% • done/total docs<br>detail`."""
    rate: str | None = None
    """The line below it: the rate and a chart of the last day, or a completed job's average rate; None
    when there is no honest rate to show (a card that has one loses it)."""
    figures: FinalFigures | None = None
    """The final figures of a completed job, shown below the line or in datatrove's stats section."""

    @property
    def config(self) -> str:
        return self.spec.config

    @property
    def lines(self) -> list[str]:
        """The lines of a new progress section."""
        return [self.line, self.rate] if self.rate else [self.line]


def write(card: str | None, entry: CardEntry, now: datetime) -> tuple[str, tuple[str, ...]]:
    """The card with the entry in it (created when there is none yet), and warnings: the card's
    `configs:` cannot list the config, or the card has more than one progress line for it.

    A card whose every line ends in CRLF keeps CRLF on the lines put in."""
    if card is None:
        text, warning = ensure_config(new_card(entry, now), entry.spec)
        return text, (warning,) if warning else ()
    crlf = "\r\n" in card and card.count("\n") == card.count("\r\n")
    text, warning = ensure_config(
        patch_card(card.replace("\r\n", "\n") if crlf else card, entry, now), entry.spec
    )
    warnings: tuple[str, ...] = (warning,) if warning else ()
    if (lines := progress_lines(text, entry.config)) > 1:
        warnings += (
            f"the card has {lines} progress lines for **{entry.config}**; all are kept up to date, but "
            "readers see it twice: delete all but one",
        )
    return text.replace("\n", "\r\n") if crlf else text, warnings


OUR_TAG = "progress-card"
"""The tag of the cards this tool created: their front matter is ours to rewrite."""


def config_entry(spec: CardSpec) -> dict[str, object]:
    """The `configs:` entry that lets `load_dataset(repo, config)` and the viewer find the config."""
    path: str | list[str] = spec.patterns[0] if len(spec.patterns) == 1 else list(spec.patterns)
    return {"config_name": spec.config, "data_files": [{"split": spec.split, "path": path}]}


def front_matter(text: str) -> dict[str, Any] | None:
    """The card's YAML metadata, or None when it has none, or none that reads as a mapping."""
    match = _FRONT_MATTER.match(text)
    if match is None:
        return None
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        return None
    return data if isinstance(data, dict) else None


def declared_files(text: str | None, config: str) -> tuple[str, ...] | None:
    """The files the card's `configs:` entry for `config` names, every split's, as `load_dataset` reads
    them (a string, a list, a list of `{split, path}`, or split names mapped to paths), relative to the
    repo's root and below its `data_dir`; None when the card declares nothing for the config."""
    data = front_matter(text) if text is not None else None
    configs = data.get("configs") if data else None
    entry = next(
        (e for e in configs if isinstance(e, dict) and e.get("config_name") == config),
        None,
    ) if isinstance(configs, list) else None  # fmt: skip
    if entry is None:
        return None
    data_dir = str(entry.get("data_dir") or "").strip("/")
    patterns = _patterns(entry.get("data_files")) or (["**/*.parquet"] if data_dir else [])
    if not patterns:
        return None
    return tuple(f"{data_dir}/{pattern}" if data_dir else pattern for pattern in patterns)


def declared_configs(text: str | None) -> tuple[str, ...]:
    """The config names the card's `configs:` lists."""
    data = front_matter(text) if text is not None else None
    configs = data.get("configs") if data else None
    if not isinstance(configs, list):
        return ()
    return tuple(str(e["config_name"]) for e in configs if isinstance(e, dict) and "config_name" in e)


def _patterns(files: object) -> list[str]:
    """The paths of a `data_files` value, in any of its forms."""
    if isinstance(files, str):
        return [files]
    if isinstance(files, dict):
        return [path for value in files.values() for path in _patterns(value)]
    if isinstance(files, list):
        found = []
        for item in files:
            found += _patterns(item["path"]) if isinstance(item, dict) and "path" in item else _patterns(item)
        return found
    return []


def ensure_config(text: str, spec: CardSpec) -> tuple[str, str | None]:
    """The card with the spec's config in its `configs:`, and a warning when it is missing from a card
    this tool did not create (whose front matter is not ours to re-serialise)."""
    if _FRONT_MATTER.match(text) is not None and front_matter(text) is None:
        return text, (
            "the card's front matter (between the --- lines at its top) is not a YAML mapping, so its "
            "configs: cannot be checked and the Hub cannot read the card's metadata; fix it by hand"
        )
    card = DatasetCard(text)
    data = card.data
    configs = list(data.get("configs") or [])
    if any(isinstance(entry, dict) and entry.get("config_name") == spec.config for entry in configs):
        return text, None
    if not spec.patterns:
        return text, None  # the shards are not in this repo: nothing to declare
    if OUR_TAG in (data.get("tags") or []):
        data["configs"] = [*configs, config_entry(spec)]
        return str(card), None
    if not configs and spec.config == "default":
        return text, None  # the Hub finds the default config's files by itself
    return text, (
        f"the card's configs: does not list {spec.config}, so load_dataset and the dataset viewer cannot "
        f"find it; add `- config_name: {spec.config}` with data_files `{', '.join(spec.patterns)}` to the "
        "card's front matter"
    )


def new_card(entry: CardEntry, now: datetime) -> str:
    """A complete card for a repo that has no README yet: metadata, summary, progress, usage."""
    spec = entry.spec
    tags = ["synthetic", OUR_TAG]
    if spec.model:
        tags.append(spec.model.split("/")[-1])
    data = DatasetCardData(
        pretty_name=spec.title,
        tags=tags,
        source_datasets=[spec.source_dataset] if spec.source_dataset else None,
        task_categories=["text-generation"],
        annotations_creators=["machine-generated"],
        configs=[config_entry(spec)] if spec.patterns else None,
    )
    body = "\n".join(
        [
            f"# {spec.title}",
            "",
            _summary(spec),
            "",
            render_section(entry.lines, now).rstrip("\n"),
            "",
            "## Dataset Stats",
            "",
            STATS_PENDING,
            "",
            "## Usage",
            "",
            "```python",
            "from datasets import load_dataset",
            "",
            _load_example(spec),
            "```",
            "",
        ]
    )
    text = str(DatasetCard(f"---\n{data.to_yaml()}\n---\n\n{body}"))
    return patch_final_figures(text, spec.config, entry.figures) if entry.figures else text


def _summary(spec: CardSpec) -> str:
    parts = []
    if spec.description:
        parts.append(spec.description.strip())
    facts = []
    if spec.model:
        facts.append(f" * Model: [`{spec.model}`](https://huggingface.co/{spec.model})")
    if spec.source_dataset:
        facts.append(
            f" * Source dataset: [`{spec.source_dataset}`](https://huggingface.co/datasets/{spec.source_dataset})"
            f" (`{spec.split}` split)"
        )
    if facts:
        parts.append("\n".join(facts))
    if not parts:
        parts.append("Synthetic data, still being generated: the progress below is updated every hour.")
    return "\n\n".join(parts)


def _load_example(spec: CardSpec) -> str:
    if spec.config == "default":
        return f'ds = load_dataset("{spec.load_path}")'
    return f'ds = load_dataset("{spec.load_path}", "{spec.config}")'
