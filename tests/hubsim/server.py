"""The Hub's HTTP server: each request is delayed, charged to its quota, faulted, routed and recorded."""

from __future__ import annotations

import time
import traceback
from typing import TYPE_CHECKING

from . import routes
from .plumbing import KeepAliveHandler, LoopbackServer
from .quota import Verdict, account_of, bucket_of
from .records import RequestRecord
from .responses import HubError, Request, Response, error_response

if TYPE_CHECKING:
    from .sim import HubSim


class HubHTTPServer(LoopbackServer):
    """The loopback server of one simulator."""

    def __init__(self, address: tuple[str, int], sim: HubSim) -> None:
        self.sim = sim
        super().__init__(address, HubRequestHandler)


class HubRequestHandler(KeepAliveHandler):
    """Serves one connection to the Hub."""

    server: HubHTTPServer

    def serve_one(self) -> None:
        """Latency, quota, faults, routing; the request is recorded before it is answered."""
        sim = self.server.sim
        started_at, t0 = time.time(), time.perf_counter()
        raw_path, _, query = self.path.partition("?")
        auth = self.headers.get("Authorization", "")
        bucket = bucket_of(raw_path)
        verdict: Verdict | None = None
        resp: Response | None = None
        try:
            body = self.read_body()
            if sim.latency_ms > 0:
                time.sleep(sim.latency_ms / 1000)
            verdict = sim.quota.admit(bucket, account_of(auth))
            if verdict is not None and not verdict.allowed:
                resp = error_response(429, verdict.message)  # no Retry-After, as on the Hub
            else:
                resp = self.serve_with_faults(
                    sim.faults, raw_path, lambda: self._dispatch(raw_path, query, body)
                )
        except ValueError:  # malformed Content-Length or chunk size
            self.close_connection = True
            resp = error_response(400, "Malformed request framing")
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        if resp is not None and verdict is not None:
            resp.headers.extend(verdict.headers)
        # record before answering, so a client that got its answer always finds the record
        sim.log.add(
            RequestRecord(
                method=self.command,
                path=raw_path,
                query=query,
                status=0 if resp is None else resp.status,
                started_at=started_at,
                duration_s=time.perf_counter() - t0,
                has_token=auth.lower().startswith("bearer "),
                bucket=bucket,
                throttled=verdict is not None and not verdict.allowed,
            )
        )
        self.answer(resp)

    def _dispatch(self, raw_path: str, query: str, body: bytes) -> Response:
        sim = self.server.sim
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        headers = {k.lower(): v for k, v in self.headers.items()}
        req = Request(self.command, raw_path, query, headers, body, f"http://{host}")
        ctx = sim.context()
        try:
            handler, params = routes.match(self.command, raw_path)
            ctx.check_token(req)
            ctx.check_auth(params.get("ns"), req)
            return handler(ctx, req, params)
        except HubError as err:
            return err.response()
        except Exception as err:
            traceback.print_exc()
            return error_response(500, f"Simulator error: {type(err).__name__}: {err}")
