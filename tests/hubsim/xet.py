"""Xet-backed files: their content hash, signed bridge URLs, and the 302 that resolve answers for them."""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from urllib.parse import parse_qs, urlencode

from .filecache import FileEntry
from .responses import Response

BRIDGE_PREFIX = "/xet-bridge-us/"
URL_TTL_S = 3600


def xet_hash(sha256: str) -> str:
    """The (simulated) Xet hash of a file: 64 hex, derived from its content's sha256."""
    return hashlib.sha256(b"hubsim-xet\0" + sha256.encode()).hexdigest()


def is_xet_backed(entry: FileEntry) -> bool:
    """Whether a file is stored in Xet when Xet mode is on (the files the simulator lists as LFS)."""
    return entry.lfs_sha256 is not None


class UrlSigner:
    """HMAC-signs bridge URLs (path, signed range, expiry) with a per-simulator secret."""

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret or os.urandom(32)

    def _mac(self, path: str, signed_range: str, expires: int) -> str:
        msg = f"{path}\n{signed_range}\n{expires}".encode()
        return hmac.new(self._secret, msg, hashlib.sha256).hexdigest()

    def query(self, path: str, size: int, ttl_s: int) -> str:
        """The signed query string for ``path``: the whole file, valid ``ttl_s`` seconds from now."""
        signed_range = f"bytes=0-{max(size - 1, 0)}"
        expires = int(time.time()) + ttl_s
        signature = self._mac(path, signed_range, expires)
        return urlencode({"X-Xet-Signed-Range": signed_range, "Expires": expires, "Signature": signature})

    def check(self, path: str, query: str) -> str | None:
        """None when ``query`` is a valid, unexpired signature of ``path``; otherwise why not."""
        params = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
        expires, signature = params.get("Expires", ""), params.get("Signature", "")
        signed_range = params.get("X-Xet-Signed-Range", "")
        if not expires.isdigit() or not signature:
            return "Missing signature"
        if not hmac.compare_digest(self._mac(path, signed_range, int(expires)), signature):
            return "Signature does not match"
        if int(expires) < time.time():
            return "Request has expired"
        return None


def redirect(entry: FileEntry, commit: str, location: str) -> Response:
    """The Hub's answer to resolve of a Xet-backed file: 302 to the bridge, with the linked file's metadata.

    No ``Link: rel="xet-auth"`` and no ``X-Xet-Refresh-Route``: ``X-Xet-Hash`` alone keeps
    ``hf_hub_download`` on plain HTTP.
    """
    if entry.lfs_sha256 is None:
        raise ValueError(f"{entry.path} is not Xet-backed")
    body = f"Found. Redirecting to {location}".encode()
    headers = [
        ("Location", location),
        ("X-Repo-Commit", commit),
        ("ETag", f'"{entry.oid}"'),
        ("X-Linked-ETag", f'"{entry.lfs_sha256}"'),
        ("X-Linked-Size", str(entry.size)),
        ("X-Xet-Hash", xet_hash(entry.lfs_sha256)),
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Vary", "Origin, Accept"),
    ]
    return Response(302, headers, body)
