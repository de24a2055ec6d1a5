"""HTTP plumbing: a threading HTTP/1.1 keep-alive server whose handler records, delays, faults, routes."""

from __future__ import annotations

import contextlib
import socket
import struct
import sys
import threading
import time
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from . import routes
from .context import Context
from .faults import Fault
from .records import RequestRecord
from .responses import HubError, Request, Response, error_response

if TYPE_CHECKING:
    from .sim import HubSim

MAX_BODY = 1 << 30


class HubHTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that knows its simulator and can drop every open connection on stop."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512

    def __init__(self, address: tuple[str, int], sim: HubSim) -> None:
        self.sim = sim
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        self.in_flight = 0
        self.in_flight_lock = threading.Lock()
        super().__init__(address, HubRequestHandler)

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


class HubRequestHandler(BaseHTTPRequestHandler):
    """Serves one connection; every request goes through ``_serve``."""

    protocol_version = "HTTP/1.1"
    server_version = "hubsim/1"
    disable_nagle_algorithm = True
    server: HubHTTPServer

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
        """Stay quiet: requests are recorded in the simulator's log instead."""

    def do_GET(self) -> None:
        """Serve a GET."""
        self._serve()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    # -- one request -----------------------------------------------------------------------------

    def _serve(self) -> None:
        with self.server.in_flight_lock:
            self.server.in_flight += 1
        try:
            self._serve_counted()
        finally:
            with self.server.in_flight_lock:
                self.server.in_flight -= 1

    def _serve_counted(self) -> None:
        sim = self.server.sim
        started_at, t0 = time.time(), time.perf_counter()
        raw_path, _, query = self.path.partition("?")
        resp: Response | None = None
        try:
            body = self._read_body()
            if sim.latency_ms > 0:
                time.sleep(sim.latency_ms / 1000)
            fault = sim.faults.take(self.command, raw_path)
            if fault is not None and fault.before is not None:
                fault.before()
            if fault is not None and fault.delay_s > 0:
                time.sleep(fault.delay_s)
            if fault is not None and fault.reset:
                pass  # resp stays None: drop the connection
            elif fault is not None and fault.status is not None:
                resp = _fault_response(fault)
            else:
                resp = self._dispatch(raw_path, query, body)
        except ValueError:  # malformed Content-Length or chunk size
            self.close_connection = True
            resp = error_response(400, "Malformed request framing")
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        # record before answering, so a client that got its answer always finds the record
        auth = self.headers.get("Authorization", "")
        sim.log.add(
            RequestRecord(
                method=self.command,
                path=raw_path,
                query=query,
                status=0 if resp is None else resp.status,
                started_at=started_at,
                duration_s=time.perf_counter() - t0,
                has_token=auth.lower().startswith("bearer "),
            )
        )
        if resp is None:
            self._reset()
            return
        try:
            self._send(resp)
        except (ConnectionError, TimeoutError):
            self.close_connection = True

    def _dispatch(self, raw_path: str, query: str, body: bytes) -> Response:
        sim = self.server.sim
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        headers = {k.lower(): v for k, v in self.headers.items()}
        req = Request(self.command, raw_path, query, headers, body, f"http://{host}")
        ctx = Context(store=sim.store, tokens=sim.tokens)
        try:
            handler, params = routes.match(self.command, raw_path)
            ctx.check_auth(params.get("ns"), req)
            return handler(ctx, req, params)
        except HubError as err:
            return err.response()
        except Exception as err:
            traceback.print_exc()
            return error_response(500, f"Simulator error: {type(err).__name__}: {err}")

    def _read_body(self) -> bytes:
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

    def _send(self, resp: Response) -> None:
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

    def _reset(self) -> None:
        """Drop the connection without answering (RST rather than FIN)."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()  # the fd really closes once finish() closes rfile/wfile
        except OSError:
            pass


def _fault_response(fault: Fault) -> Response:
    resp = error_response(fault.status or 503, fault.message, fault.error_code)
    resp.headers.extend(fault.headers.items())
    return resp
