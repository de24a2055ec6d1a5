"""A Storage Bucket on the Hub as a source of shards: listed through the bucket tree API, footers read
as exact ranges on `/buckets/<id>/resolve/<path>`, whose Xet redirect is followed without the token.

A bucket has no revisions and no card: a snapshot is simply the bucket now, and each file's arrival
is its upload time (`uploadedAt`, or `mtime` where it is missing) straight from the listing, so no
other request is needed to date it. The shard memory knows a file by its Xet hash and size.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..errors import JobError, RepoNotFound
from .dataset import Listing, Shard
from .tree import list_tree

if TYPE_CHECKING:
    from .hub import HubClient


@dataclass(frozen=True)
class HubBucketStore:
    client: HubClient = field(repr=False)
    bucket_id: str

    @property
    def label(self) -> str:
        return f"hf://buckets/{self.bucket_id}"

    def snapshot(self) -> BucketSnapshot:
        """The bucket now; whether it exists is found out by its first listing (no request of its own)."""
        return BucketSnapshot(self)


@dataclass(frozen=True)
class BucketSnapshot:
    bucket: HubBucketStore
    revision: str | None = None

    def listing(self, folder: str) -> Listing:
        client, bucket_id = self.bucket.client, self.bucket.bucket_id
        below = f"/{quote(folder, safe='')}" if folder else ""
        url = f"{client.endpoint}/api/buckets/{bucket_id}/tree{below}?recursive=true"
        where = f"{self.bucket.label}/{folder}" if folder else self.bucket.label
        try:
            return list_tree(client.transport, url, f"listing {where}", _shard)
        except RepoNotFound:
            raise JobError(
                f"bucket {bucket_id} not found on {client.endpoint}, or the token cannot see it: check output: "
                "in jobs.yaml (hf://buckets/<namespace>/<bucket>/<prefix>) and that HF_TOKEN can read the bucket"
            ) from None

    def commit_times(self, shards: Iterable[Shard]) -> dict[str, datetime]:
        """A bucket's listing dates every file it can: there is nothing more to ask."""
        return {}

    def read_tail(self, shard: Shard, length: int) -> bytes:
        client = self.bucket.client
        length = min(length, shard.size)
        return client.transport.get_range(
            f"{client.endpoint}/buckets/{self.bucket.bucket_id}/resolve/{quote(shard.path)}",
            f"reading {shard.path} in {self.bucket.label}",
            start=shard.size - length,
            length=length,
            size=shard.size,
        )

    def read_card(self) -> str | None:
        return None


def _shard(entry: Any) -> Shard:
    """A bucket file: its Xet hash names its content, its upload time is its arrival."""
    stamp = entry.get("uploadedAt") or entry.get("mtime")
    return Shard(
        path=str(entry["path"]),
        size=int(entry["size"]),
        content_id=str(entry["xetHash"]),
        committed_at=datetime.fromisoformat(str(stamp)) if stamp else None,
    )
