"""Generic HTTP/1.1 keep-alive plumbing shared by the Hub server and the Xet bridge."""

from __future__ import annotations

import contextlib
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .faults import Fault, FaultQueue
from .responses import Response, error_response

MAX_BODY = 1 << 30


class LoopbackServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that counts requests in flight and can drop every open connection on stop."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512

    def __init__(self, address: tuple[str, int], handler: type[KeepAliveHandler]) -> None:
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        self.in_flight = 0
        self.in_flight_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        super().__init__(address, handler)

    def start(self, name: str) -> None:
        """Serve in a daemon thread."""
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving, close every connection and the socket."""
        self.shutdown()
        self.drop_connections()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def wait_idle(self, deadline: float) -> None:
        """Wait (until ``deadline``, a ``time.monotonic()`` value) for no request to be in flight."""
        while self.in_flight and time.monotonic() < deadline:
            time.sleep(0.02)

    def track(self, conn: socket.socket, alive: bool) -> None:
        """Remember (or forget) an open client connection."""
        with self._conns_lock:
            if alive:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)

    def drop_connections(self) -> None:
        """Shut down every open client connection (wakes handler threads blocked on keep-alive)."""
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore clients that went away; report anything else."""
        exc = sys.exc_info()[1]
        if not isinstance(exc, (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class KeepAliveHandler(BaseHTTPRequestHandler):
    """Serves one connection; subclasses answer each request in ``serve_one``."""

    protocol_version = "HTTP/1.1"
    server_version = "hubsim/1"
    disable_nagle_algorithm = True
    server: LoopbackServer

    def setup(self) -> None:
        """Register the connection so stop() can close it."""
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        """Forget the connection."""
        self.server.track(self.connection, False)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: requests are recorded by the simulator instead."""

    def do_GET(self) -> None:
        """Serve a GET."""
        self._serve()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def _serve(self) -> None:
        with self.server.in_flight_lock:
            self.server.in_flight += 1
        try:
            self.serve_one()
        finally:
            with self.server.in_flight_lock:
                self.server.in_flight -= 1

    def serve_one(self) -> None:
        """Answer the request just read (subclasses)."""
        raise NotImplementedError

    def serve_with_faults(
        self, faults: FaultQueue, raw_path: str, serve: Callable[[], Response]
    ) -> Response | None:
        """Apply the first pending fault matching this request, else ``serve()``; None means reset."""
        fault = faults.take(self.command, raw_path)
        if fault is None:
            return serve()
        if fault.before is not None:
            fault.before()
        if fault.delay_s > 0:
            time.sleep(fault.delay_s)
        if fault.reset:
            return None
        if fault.truncate:
            served = serve()
            self.close_connection = True
            half = served.body[: len(served.body) // 2]
            return Response(served.status, served.headers, half, length=len(served.body))
        if fault.status is not None:
            return fault_response(fault)
        return serve()

    def answer(self, resp: Response | None) -> None:
        """Send ``resp``, or reset the connection when it is None."""
        if resp is None:
            self.reset()
            return
        try:
            self.send(resp)
        except (ConnectionError, TimeoutError):
            self.close_connection = True

    def read_body(self) -> bytes:
        """The whole request body (Content-Length or chunked); ValueError on bad framing."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ConnectionError("request body too large")
        data = self.rfile.read(length) if length > 0 else b""
        if len(data) != length:
            raise ConnectionError("client closed the connection mid-body")
        return data

    def send(self, resp: Response) -> None:
        """Write status line, headers (always with Content-Length) and body (none for HEAD)."""
        body = b"" if self.command == "HEAD" else resp.body
        length = resp.length if resp.length is not None else len(resp.body)
        try:
            phrase = HTTPStatus(resp.status).phrase
        except ValueError:
            phrase = "Status"
        lines = [f"HTTP/1.1 {resp.status} {phrase}", f"Server: {self.server_version}"]
        lines.append(f"Date: {self.date_time_string()}")
        lines += [f"{k}: {v}" for k, v in resp.headers if k.lower() != "content-length"]
        lines.append(f"Content-Length: {length}")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
        self.wfile.write(head + body)
        self.wfile.flush()

    def reset(self) -> None:
        """Drop the connection without answering (RST rather than FIN)."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()  # the fd really closes once finish() closes rfile/wfile
        except OSError:
            pass


def fault_response(fault: Fault) -> Response:
    """The error a fault with a status answers."""
    resp = error_response(fault.status or 503, fault.message, fault.error_code)
    resp.headers.extend(fault.headers.items())
    return resp
