"""The README's pictures of the status page and of a chart, as headless Chromium draws them.

Run by `make pictures` after `make demo`: reads examples/demo/status/ and writes
docs/status-page.png and docs/status-chart.png.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import markdown

ROOT = Path(__file__).resolve().parents[1]
STATUS = ROOT / "examples" / "demo" / "status"
STYLE = (
    "body{font-family:sans-serif;margin:24px;color:#1f2328}table{border-collapse:collapse;font-size:13px}"
    "td,th{border:1px solid #d0d7de;padding:4px 8px}img{max-width:100%}"
)


def screenshot(page: Path, png: Path, width: int, height: int) -> None:
    subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         f"--window-size={width},{height}", f"--screenshot={png}", page.as_uri()],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip


def main() -> None:
    if not (STATUS / "README.md").exists():
        sys.exit("run `make demo` first: it writes examples/demo/status/")
    docs = ROOT / "docs"
    docs.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=STATUS) as scratch:
        folder = Path(scratch)
        body = markdown.markdown((STATUS / "README.md").read_text(encoding="utf-8"), extensions=["tables"])
        page = folder / "page.html"
        body = body.replace('src="', 'src="../')  # the page sits one folder below the charts
        page.write_text(f"<html><head><style>{STYLE}</style></head><body>{body}</body></html>")
        screenshot(page, docs / "status-page.png", 1100, 900)
        chart = folder / "chart.html"
        chart.write_text(
            '<html><body style="margin:0;background:#fff"><img src="../demo-default.svg"></body></html>'
        )
        screenshot(chart, docs / "status-chart.png", 768, 288)
    print("wrote docs/status-page.png and docs/status-chart.png")


if __name__ == "__main__":
    main()
