"""Where a job's shards are, as the dataset itself declares them. Pure: the card's text is passed in.

In order, the first that applies:
1. `output:` in jobs.yaml, the writer's output folder as datatrove was given it: every `*.parquet`
   below it (a folder of a repo, a bucket prefix, a local folder);
2. the card's `configs:` entry for the config, in any of its forms, every split's files;
3. datatrove's convention, `<config>/**/*.parquet` in the job's repo: `default/` for the default
   config, and, for the default config only, the Hub's `data/` when `default/` holds nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from fsspec.utils import glob_translate

from .card import declared_configs, declared_files
from .manifest import Job
from .storage import Listing, Place, Shard


@dataclass(frozen=True)
class Sought:
    """Where a job's shards are looked for, and why there."""

    place: Place
    patterns: tuple[str, ...]
    """Globs, relative to the place's root, as `load_dataset` reads them."""
    why: str
    instead: Sought | None = None
    """Where to look when these match nothing."""

    @property
    def folders(self) -> tuple[str, ...]:
        """The folders that hold every file the patterns can match (what to list)."""
        return tuple(sorted({_fixed_folder(pattern) for pattern in self.patterns}))

    def __str__(self) -> str:
        where = ", ".join(self.patterns)
        return f"{where} in {self.place} ({self.why})"

    def matching(self, listing: Listing) -> tuple[Shard, ...]:
        """The listed shards that the patterns match."""
        rules = [_glob(pattern) for pattern in self.patterns]
        return tuple(shard for shard in listing.shards if any(rule.fullmatch(shard.path) for rule in rules))


def seek(job: Job, card: str | None) -> Sought:
    """Where `job`'s shards are to be found, and why there (see the module's docstring)."""
    if job.output is not None:
        return Sought(job.output.place, (job.output.pattern,), "output: in jobs.yaml")
    home = job.card_home
    assert home is not None  # a job without output has a repo
    config = job.config
    declared = declared_files(card, config)
    if declared:
        return Sought(home, declared, f"the card's configs: entry for {config}")
    listed = declared_configs(card)
    why = f"datatrove's convention for the {config} config"
    if listed:
        why += f"; the card's configs: lists {', '.join(listed)} but not {config}"
    instead = None
    if config == "default":
        instead = Sought(home, ("data/**/*.parquet",), "default/ holds nothing: the Hub's data/ folder")
    return Sought(home, (f"{config}/**/*.parquet",), why, instead)


def _fixed_folder(pattern: str) -> str:
    """The folder part of a glob before its first wildcard: `default` for `default/**/*.parquet`."""
    folders = []
    for part in pattern.split("/")[:-1]:
        if any(sign in part for sign in "*?["):
            break
        folders.append(part)
    return "/".join(folders)


@cache
def _glob(pattern: str) -> re.Pattern[str]:
    """A glob as `datasets` and fsspec read it: `*` within a folder, `**` across folders."""
    return re.compile(glob_translate(pattern))
