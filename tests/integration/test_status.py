"""The status page end to end, written by an update through the core with the clock injected: rows,
charts, badges, no noise, and the charts as a browser draws them; and `progress-card update
--keep-alive` keeping the workflow enabled."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests.ghsim import REPOSITORY, TOKEN, GitHubSim
from tests.hubsim import HubSim
from tests.support import datatrove_stats, said, update, update_at, write_manifest, write_shard

HOUR = 3600.0


def two_repos(hub: HubSim, tmp_path: Path, now: datetime) -> Path:
    """`gen` on acme/one, still running, a shard an hour until an hour before `now`; `done` on acme/two,
    completing (its stats.json is there)."""
    for index in range(4):
        write_shard(
            hub.repo_dir("acme/one") / "data" / f"00000_{index:05d}.parquet",
            100,
            now.timestamp() - HOUR * (4 - index),
        )
    write_shard(hub.repo_dir("acme/two") / "data" / "0.parquet", 60, now.timestamp() - HOUR)
    stats = tmp_path / "stats.json"
    stats.write_text(datatrove_stats(60))
    return write_manifest(
        tmp_path,
        f"""
        jobs:
          - {{name: gen, repo: acme/one, total: 1000}}
          - {{name: done, repo: acme/two, total: 60, stats_path: "file://{stats}"}}
        """,
    )


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    return {
        p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(folder.iterdir())
    }


def test_the_page_has_a_row_per_job_the_finished_ones_and_a_chart_each(hub: HubSim, tmp_path: Path) -> None:
    now = datetime.now(timezone.utc)
    jobs = two_repos(hub, tmp_path, now)
    status = tmp_path / "status"

    report = update_at(jobs, now, status_dir=status)

    assert report.exit_code == 0, said(report)
    assert sorted(p.name for p in status.iterdir()) == [
        "README.md",
        "done.json",
        "done.svg",
        "gen.json",
        "gen.svg",
    ]
    page = (status / "README.md").read_text()
    rows = [line for line in page.splitlines() if line.startswith("| `")]
    gen = re.fullmatch(
        r"\| `gen` \| \[acme/one\]\(https://huggingface.co/datasets/acme/one\) · default \| \[●{8}○{12}\] "
        r"\| 40% · 400/1,000 \| [\dhm ]+ \(📅 \w{3} \d\d \d{4}, \d\d:\d\d UTC\) \| \w{3} \d\d \d{4}, \d\d:\d\d UTC \| running \|",
        rows[0],
    )
    assert gen, rows[0]
    assert re.fullmatch(
        r"\| `done` \| \[acme/two\]\(https://huggingface.co/datasets/acme/two\) · default \| \[●{20}\] "
        r"\| 100% · 60/60 \| completed: stats.json found \| .+ UTC \| completed \|",
        rows[1],
    ), rows[1]
    assert page.count("|---") == 7
    assert re.search(
        r"^- `done`: completed at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ, 60 documents$", page, re.MULTILINE
    )
    assert "![gen](gen.svg)" in page and "![done](done.svg)" in page


def test_charts_are_svg_with_the_data_and_badges_are_shields_endpoints(hub: HubSim, tmp_path: Path) -> None:
    now = datetime.now(timezone.utc)
    jobs = two_repos(hub, tmp_path, now)
    status = tmp_path / "status"
    assert update_at(jobs, now, status_dir=status).exit_code == 0

    svg = ElementTree.parse(status / "gen.svg").getroot()
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    texts = [t.text or "" for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert "gen" in texts and "documents uploaded" in texts and "total: 1,000" in texts
    lines = [g for g in svg.iter("{http://www.w3.org/2000/svg}g") if g.get("id", "").startswith("line2d")]
    paths = [p.get("d", "") for g in lines for p in g.iter("{http://www.w3.org/2000/svg}path")]
    points = max(len(re.findall(r"[ML]", d)) for d in paths)
    assert points == 2 * 4 - 1  # the uploads as steps: 4 shards, a rise and a run each
    for name in ("gen", "done"):
        badge = json.loads((status / f"{name}.json").read_text())
        assert set(badge) == {"schemaVersion", "label", "message", "color"} and badge["schemaVersion"] == 1
    assert json.loads((status / "done.json").read_text())["message"] == "100% · completed"
    assert re.fullmatch(r"40% · [\dhm ]+ left", json.loads((status / "gen.json").read_text())["message"])


def test_a_run_with_nothing_new_leaves_the_folder_byte_identical(hub: HubSim, tmp_path: Path) -> None:
    now = datetime.now(timezone.utc)
    jobs = two_repos(hub, tmp_path, now)
    status = tmp_path / "status"
    assert update_at(jobs, now, status_dir=status).exit_code == 0
    written = (now - timedelta(hours=1)).timestamp()
    for path in status.iterdir():  # back-dated: a file written again would show it in its mtime
        os.utime(path, (written, written))
    before = snapshot(status)

    later = now + timedelta(minutes=10)
    again = update_at(jobs, later, status_dir=status)

    assert again.exit_code == 0
    assert snapshot(status) == before  # not even rewritten
    write_shard(hub.repo_dir("acme/one") / "data" / "00000_00004.parquet", 100, later.timestamp() - 60)
    assert update_at(jobs, later, status_dir=status).exit_code == 0
    after = snapshot(status)
    assert after["gen.svg"] != before["gen.svg"] and after["done.svg"] == before["done.svg"]


def test_each_run_keeps_its_workflow_enabled_once(hub: HubSim, tmp_path: Path, github: GitHubSim) -> None:
    """Through `progress-card update` on purpose: keeping the workflow enabled is the command's own
    `--keep-alive` option, not part of the core's update."""
    jobs = two_repos(hub, tmp_path, datetime.now(timezone.utc))
    env = {
        "GITHUB_API_URL": github.url,
        "GITHUB_REPOSITORY": REPOSITORY,
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_WORKFLOW_REF": f"{REPOSITORY}/.github/workflows/progress.yml@refs/heads/main",
    }

    for run in range(2):
        assert update(jobs, "--keep-alive", env=env).exit_code == 0
        assert github.enabled == ["progress.yml"] * (run + 1)
    assert github.requests == [("PUT", f"/repos/{REPOSITORY}/actions/workflows/progress.yml/enable")] * 2


def test_a_token_that_may_not_enable_the_workflow_is_told_the_permission_it_needs(
    hub: HubSim, tmp_path: Path, github: GitHubSim
) -> None:
    jobs = two_repos(hub, tmp_path, datetime.now(timezone.utc))
    github.token_refused = True
    env = {
        "GITHUB_API_URL": github.url,
        "GITHUB_REPOSITORY": REPOSITORY,
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_WORKFLOW_REF": f"{REPOSITORY}/.github/workflows/progress.yml@refs/heads/main",
    }

    result = update(jobs, "--keep-alive", env=env)

    assert result.exit_code == 0, result.stderr
    assert (
        f"warning: keeping the workflow progress.yml enabled in {REPOSITORY} failed: GitHub refused it "
        "(does the workflow give the token `actions: write`?)"
    ) in result.stderr


@pytest.mark.skipif(
    shutil.which("chromium") is None, reason="Debian's chromium: tools/setup-system.sh installs it"
)
def test_a_browser_draws_each_chart_at_its_size_and_not_blank(hub: HubSim, tmp_path: Path) -> None:
    now = datetime.now(timezone.utc)
    jobs = two_repos(hub, tmp_path, now)
    status = tmp_path / "status"
    assert update_at(jobs, now, status_dir=status).exit_code == 0

    for name in ("gen", "done"):
        png = render(status / f"{name}.svg", tmp_path / f"{name}.png", 768, 288)
        width, height, pixels = decode_png(png)
        assert (width, height) == (768, 288)
        assert len(set(pixels)) > 8  # lines, text and background: not a blank page


def render(svg: Path, png: Path, width: int, height: int) -> bytes:
    """The SVG as headless Chromium (Debian's, from tools/setup-system.sh) draws it, on a white page."""
    assert shutil.which("chromium"), "chromium is missing: run tools/setup-system.sh"
    page = svg.with_suffix(".html")
    page.write_text(f'<html><body style="margin:0;background:#fff"><img src="{svg.name}"></body></html>')
    subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         f"--window-size={width},{height}", f"--screenshot={png}", page.as_uri()],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    return png.read_bytes()


def decode_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and the RGB(A) pixels of an 8-bit PNG (the filters undone), with the standard library."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks, header = 8, [], b""
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        body = data[position + 8 : position + 8 + length]
        header = body if kind == b"IHDR" else header
        chunks += [body] if kind == b"IDAT" else []
        position += 12 + length
    width, height, depth, color = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and color in (2, 6)
    step = 3 if color == 2 else 4
    raw, stride, rows, previous = zlib.decompress(b"".join(chunks)), width * step, [], bytearray(width * step)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - step] if i >= step else 0
            up, corner = previous[i], previous[i - step] if i >= step else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                guess = left + up - corner
                near = min((abs(guess - left), left), (abs(guess - up), up), (abs(guess - corner), corner))[1]
                line[i] = (line[i] + near) & 255
        rows.append(bytes(line))
        previous = line
    return width, height, [row[i : i + step] for row in rows for i in range(0, stride, step)]
