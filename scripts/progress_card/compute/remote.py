"""Files at fsspec URLs (hf://, s3://, file://...): datatrove's logging folders and stats files when
they are not on a login node."""

from __future__ import annotations

from typing import Any


class RemoteFiles:
    """The filesystems one run reads URLs through. URLs that fsspec serves with equal filesystems (the
    same protocol and options) share one instance, and with it what the instance learnt: a bucket is
    resolved, and a folder listed, once a run rather than once a question. Nothing outlives the run:
    each run makes its own, and so sees the files afresh."""

    def __init__(self) -> None:
        self._made: dict[Any, Any] = {}

    def open(self, url: str) -> tuple[Any, str]:
        """The filesystem serving `url`, and `url`'s path in it."""
        import fsspec

        fs, path = fsspec.core.url_to_fs(url, skip_instance_cache=True)
        return self._made.setdefault(fs, fs), path
