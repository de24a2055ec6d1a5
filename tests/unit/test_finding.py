"""Where a job's shards are looked for: output:, else the card's configs:, else datatrove's convention."""

from __future__ import annotations

from pathlib import Path

import pytest

from progress_card.card import declared_files
from progress_card.finding import seek
from progress_card.manifest import Job
from progress_card.storage import HubBucket, HubDataset, Listing, LocalDataset, Output, Shard

REPO = HubDataset("acme/gen")


def card(configs: str) -> str:
    return f"---\n{configs}---\n\n# acme/gen\n"


DATATROVE_CARD = card(
    "configs:\n- config_name: default\n  data_files:\n  - split: train\n    path: default/**/*.parquet\n"
    "- config_name: math\n  data_files:\n  - split: train\n    path: math/**/*.parquet\n"
)


def listing(*paths: str) -> Listing:
    return Listing(tuple(Shard(path, 100, path) for path in paths))


def test_an_output_wins_and_every_parquet_file_below_it_counts() -> None:
    job = Job("gen", REPO, Output(HubBucket("acme/raw"), "v1"))
    where = seek(job, DATATROVE_CARD)
    assert (where.place, where.patterns, where.why) == (
        HubBucket("acme/raw"),
        ("v1/**/*.parquet",),
        "output: in jobs.yaml",
    )
    assert where.folders == ("v1",)
    found = where.matching(
        listing("v1/00000_00000.parquet", "v1/a/00001_00000.parquet", "v10/x.parquet", "v1/x.json")
    )
    assert [shard.path for shard in found] == ["v1/00000_00000.parquet", "v1/a/00001_00000.parquet"]
    assert str(where) == "v1/**/*.parquet in hf://buckets/acme/raw (output: in jobs.yaml)"


def test_a_datatrove_card_says_where_each_config_is() -> None:
    where = seek(Job("gen", REPO), DATATROVE_CARD)
    assert (where.patterns, where.why, where.instead) == (
        ("default/**/*.parquet",),
        "the card's configs: entry for default",
        None,
    )


@pytest.mark.parametrize(
    ("data_files", "patterns"),
    [
        ('"gen/*.parquet"', ("gen/*.parquet",)),
        ('["a/*.parquet", "b/*.parquet"]', ("a/*.parquet", "b/*.parquet")),
        (
            '[{split: train, path: "t/*.parquet"}, {split: test, path: ["x/*.parquet", "y/*.parquet"]}]',
            ("t/*.parquet", "x/*.parquet", "y/*.parquet"),
        ),
        ('{train: "t/*.parquet", test: "s/*.parquet"}', ("t/*.parquet", "s/*.parquet")),
    ],
)
def test_every_form_of_data_files_and_every_split_counts(data_files: str, patterns: tuple[str, ...]) -> None:
    text = card(f"configs:\n- config_name: default\n  data_files: {data_files}\n")
    assert declared_files(text, "default") == patterns


def test_a_data_dir_is_where_the_files_are() -> None:
    text = card("configs:\n- config_name: math\n  data_dir: generated/math\n")
    assert declared_files(text, "math") == ("generated/math/**/*.parquet",)
    text = card("configs:\n- config_name: math\n  data_dir: gen\n  data_files: '*.parquet'\n")
    assert declared_files(text, "math") == ("gen/*.parquet",)


def test_without_a_declaration_the_default_config_is_in_default_then_data() -> None:
    where = seek(Job("gen", REPO), "# a card without metadata\n")
    assert (where.patterns, where.why) == (
        ("default/**/*.parquet",),
        "datatrove's convention for the default config",
    )
    assert where.instead is not None and where.instead.patterns == ("data/**/*.parquet",)
    math = seek(Job("gen", REPO, config="math"), None)
    assert (math.patterns, math.instead) == (("math/**/*.parquet",), None)


def test_a_card_that_lists_other_configs_is_named_in_the_reason() -> None:
    where = seek(Job("gen", REPO, config="code"), DATATROVE_CARD)
    assert where.patterns == ("code/**/*.parquet",)
    assert (
        where.why
        == "datatrove's convention for the code config; the card's configs: lists default, math but not code"
    )


@pytest.mark.parametrize(
    "front",
    ["configs: [\n", "- just\n- a list\n", "configs: 3\n", "configs:\n- 7\n- {config_name: default}\n"],
)
def test_front_matter_that_is_not_usable_declares_nothing(front: str) -> None:
    assert declared_files(card(front), "default") is None


def test_a_local_output_folder_is_its_own_root(tmp_path: Path) -> None:
    where = seek(Job("gen", None, Output(LocalDataset(tmp_path), "")), None)
    assert (where.patterns, where.folders) == (("**/*.parquet",), ("",))
