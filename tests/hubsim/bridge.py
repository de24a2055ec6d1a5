"""The Xet storage bridge: a second loopback server (127.0.0.2) serving signed, bounded byte ranges."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from .faults import Fault, FaultQueue
from .filecache import FileEntry
from .plumbing import KeepAliveHandler, LoopbackServer
from .ranges import plan
from .records import BridgeRecord, RequestLog
from .repo import Repo
from .responses import Response
from .xet import BRIDGE_PREFIX, URL_TTL_S, UrlSigner, xet_hash

BRIDGE_HOST = "127.0.0.2"

#: Reads bytes ``[start, stop)`` of a published object; None once that content is gone.
Reader = Callable[[int, int], bytes | None]


@dataclass(frozen=True)
class _Object:
    size: int
    read: Reader


def _text(status: int, message: str) -> Response:
    return Response(status, [("Content-Type", "text/plain; charset=utf-8")], message.encode())


class XetBridge:
    """Serves the content of Xet-backed files published by the Hub's 302s, at signed URLs.

    Started lazily by ``start()``; ``reset()`` forgets published files, faults and requests but keeps
    serving. ``ignore_ranges`` is asked on each request (the simulator's switch).
    """

    def __init__(self, ignore_ranges: Callable[[], bool], host: str = BRIDGE_HOST) -> None:
        self._ignore_ranges = ignore_ranges
        self._host = host
        self._lock = threading.Lock()
        self._files: dict[str, _Object] = {}
        self._signer = UrlSigner()
        self._server: _BridgeServer | None = None
        self.faults = FaultQueue()
        self.log: RequestLog[BridgeRecord] = RequestLog()
        self.url_ttl_s = URL_TTL_S

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        """Bind a free port on the bridge host and serve (no-op when already serving)."""
        with self._lock:
            if self._server is None:
                self._server = _BridgeServer((self._host, 0), self)
                self._server.start("hubsim-xet-bridge")

    def stop(self) -> None:
        """Stop serving."""
        with self._lock:
            server, self._server = self._server, None
        if server is not None:
            server.stop()

    def reset(self) -> None:
        """Forget published files, faults and requests; URLs live ``URL_TTL_S`` again."""
        with self._lock:
            self._files.clear()
        self.faults.clear()
        self.log.clear()
        self.url_ttl_s = URL_TTL_S

    def wait_idle(self, deadline: float) -> None:
        """Wait (until ``deadline``, monotonic) for no request to be in flight."""
        server = self._server
        if server is not None:
            server.wait_idle(deadline)

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.2:43124``."""
        server = self._server
        if server is None:
            raise RuntimeError("The Xet bridge is not started (call HubSim.enable_xet())")
        return f"http://{self._host}:{server.server_port}"

    # -- content -------------------------------------------------------------------------------

    def publish(self, repo: Repo, entry: FileEntry) -> str:
        """Make ``entry``'s content downloadable; returns its signed bridge URL."""
        if entry.lfs_sha256 is None:
            raise ValueError(f"{entry.path} is not Xet-backed")
        return self.publish_object(
            xet_hash(entry.lfs_sha256), entry.size, lambda start, stop: repo.read(entry, start, stop)
        )

    def publish_object(self, digest: str, size: int, read: Reader) -> str:
        """Make ``size`` bytes, read by ``read``, downloadable under Xet hash ``digest``; returns the signed URL.

        Starts the bridge if it is not serving yet (bucket files are always Xet-backed).
        """
        self.start()
        with self._lock:
            self._files[digest] = _Object(size, read)
        path = BRIDGE_PREFIX + quote(digest)
        return f"{self.url}{path}?{self._signer.query(path, size, self.url_ttl_s)}"

    def serve(self, method: str, raw_path: str, query: str, range_header: str | None) -> Response:
        """Answer one bridge request."""
        if method not in ("GET", "HEAD"):
            return _text(405, "Method not allowed")
        if not raw_path.startswith(BRIDGE_PREFIX):
            return _text(404, "Not found")
        why = self._signer.check(raw_path, query)
        if why is not None:
            return _text(403, why)
        with self._lock:
            found = self._files.get(raw_path.removeprefix(BRIDGE_PREFIX))
        if found is None:
            return _text(404, "No such object")
        part = plan(range_header, found.size, self._ignore_ranges(), suffix_ok=False)
        headers = [("Accept-Ranges", "bytes"), ("Content-Type", "application/octet-stream")]
        headers.append(("ETag", f'"{raw_path.removeprefix(BRIDGE_PREFIX)}"'))
        if part.content_range is not None:
            headers.append(("Content-Range", part.content_range))
        if part.status == 416 or method == "HEAD":
            return Response(part.status, headers, length=part.stop - part.start)
        data = found.read(part.start, part.stop)
        if data is None:
            return _text(404, "Object content is no longer available")
        return Response(part.status, headers, data)

    # -- faults and records ----------------------------------------------------------------------

    def inject(self, fault: Fault) -> None:
        """Queue a fault for bridge requests (matched on method and raw path, as on the Hub)."""
        self.faults.add(fault)

    def clear_faults(self) -> None:
        """Drop pending bridge faults."""
        self.faults.clear()

    @property
    def requests(self) -> list[BridgeRecord]:
        """A copy of the requests the bridge served since the last reset."""
        return self.log.snapshot()

    def clear_requests(self) -> None:
        """Forget the bridge requests served so far."""
        self.log.clear()


class _BridgeServer(LoopbackServer):
    def __init__(self, address: tuple[str, int], bridge: XetBridge) -> None:
        self.bridge = bridge
        super().__init__(address, _BridgeHandler)


class _BridgeHandler(KeepAliveHandler):
    server: _BridgeServer
    server_version = "hubsim-xet-bridge/1"

    def serve_one(self) -> None:
        bridge = self.server.bridge
        started_at = time.time()
        raw_path, _, query = self.path.partition("?")
        range_header = self.headers.get("Range")
        resp: Response | None = None
        try:
            self.read_body()
            resp = self.serve_with_faults(
                bridge.faults,
                raw_path,
                lambda: bridge.serve(self.command, raw_path, query, range_header),
            )
        except ValueError:
            self.close_connection = True
            resp = _text(400, "Malformed request framing")
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        status = 0 if resp is None else resp.status
        record = BridgeRecord(
            self.command, raw_path, query, range_header, status, started_at, self.headers.get("Authorization")
        )
        bridge.log.add(record)
        self.answer(resp)
