"""The Hub's tree listing, for a dataset repo or a Storage Bucket: page by page (1,000 entries
each, following `Link: rel="next"`), through our transport, so that a stalled page cannot hang the
run and every page waits for the run's rate limits. Every entry, file or folder, is counted in the
folder it sits in, so that a folder filling up is seen; the parquet files become shards.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any

from requests.utils import parse_header_links

from ..errors import JobError, RepoNotFound
from .dataset import Listing, Shard, parent
from .transport import Transport


def list_tree(transport: Transport, url: str, what: str, shard_of: Callable[[Any], Shard]) -> Listing:
    """Every entry of the listing at `url`; no shards when the folder does not exist, RepoNotFound
    when the repo or bucket does not (or the token cannot see it)."""
    shards: list[Shard] = []
    entries: Counter[str] = Counter()
    files = 0
    page: str | None = url
    while page:
        response = transport.get(page, what)
        code = response.headers.get("X-Error-Code")
        if response.status == 404 and code == "EntryNotFound":
            return Listing(())
        if response.status in (401, 404) and code == "RepoNotFound":
            raise RepoNotFound(f"{what}: not found")
        if response.status != 200:
            detail = response.headers.get("X-Error-Message") or response.reason
            raise JobError(f"{what} failed: HTTP {response.status} ({detail})")
        try:
            for entry in json.loads(response.data):
                path = str(entry["path"])
                entries[parent(path)] += 1
                if entry["type"] == "file":
                    files += 1
                    if path.endswith(".parquet"):
                        shards.append(shard_of(entry))
        except (ValueError, TypeError, KeyError) as error:
            raise JobError(f"{what}: the Hub sent a listing this tool cannot read ({error!r})") from None
        page = _next_page(response.headers.get("Link"))
    return Listing(tuple(sorted(shards, key=lambda shard: shard.path)), dict(entries), files)


def _next_page(link: str | None) -> str | None:
    """The `rel="next"` URL of a Link header."""
    for page in parse_header_links(link or ""):
        if page.get("rel") == "next":
            return page.get("url")
    return None
