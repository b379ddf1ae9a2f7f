"""A real HTTP/1.1 server with named fault routes, for fetch tests (reliability.md §8).

Runs a `ThreadingHTTPServer` on 127.0.0.1 with an ephemeral port in a background thread; a
thread per connection gives us raw socket control for the routes an ASGI app cannot express
(a reset without a response, a body shorter than its Content-Length). Every request is logged
with its start time, and open requests are counted per Host header name.

Routes:
    /ok/<name>               200, static body "ok <name>"
    /status/<n>              that status
    /retry-after/<secs>      429 + Retry-After: <secs> the first time, then 200
    /retry-after-date        429 + Retry-After: <HTTP-date ~2 s ahead> the first time, then 200
    /flaky/<name>            500 the first time, then 200
    /drip                    one byte every 0.5 s, forever
    /reset                   TCP reset without any response
    /truncated               Content-Length: 10000, sends 100 bytes, closes
    /gzip-bomb               ~200 KB gzip of 200 MiB of zeros, Content-Encoding: gzip
    /huge                    50 MiB streamed without Content-Length (?declare=1 declares it)
    /redirect?to=<url>       302 to <url>
    /redirect-chain/<n>      302 to /redirect-chain/<n-1>; 0 answers 200
    /redirect-loop           302 to itself
    /etag/<name>             ETag + Last-Modified; 304 on a matching validator
    /robots.txt              `server.robots`: text -> 200, int -> that status, None -> 404
    /slow/<secs>             sleeps, then 200
    /secret                  200; SSRF tests assert it is never hit

Site pages: `server.site` maps a path (with or without its query) to a body, served with an
ETag and 304s. `server.site_faults` (a list of fault names) makes the first request of every
second site path fail, cycling through them: "500", "429", "cut" (a body shorter than its
Content-Length), "stall" (2 s of silence, then the page).
"""

from __future__ import annotations

import email.utils
import gzip
import io
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

ETAG_LAST_MODIFIED = "Tue, 01 Jul 2025 00:00:00 GMT"
_BOMB_CACHE: list[bytes] = []


def gzip_bomb() -> bytes:
    """~200 KB of gzip that expands to 200 MiB of zeros; built once per process."""
    if not _BOMB_CACHE:
        buffer = io.BytesIO()
        zeros = bytes(1024 * 1024)
        with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=9) as out:
            for _ in range(200):
                out.write(zeros)
        _BOMB_CACHE.append(buffer.getvalue())
    return _BOMB_CACHE[0]


@dataclass
class Hit:
    start: float  # time.monotonic() when the request line and headers were read
    wall: float  # time.time() at the same moment, for HTTP-date comparisons
    path: str  # path with query
    host: str  # Host header name, without port
    headers: dict[str, str] = field(default_factory=dict)
    peer_port: int = 0  # the client's port: the same one again means a reused connection


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FaultServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]").lower()
        self.server.record(
            Hit(time.monotonic(), time.time(), self.path, host, dict(self.headers.items()),
                int(self.client_address[1]))
        )
        self.server.enter(host)
        try:
            self._route()
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            self.server.leave(host)

    # ---- helpers

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _first_time(self) -> bool:
        return self.server.count_path(self.path) == 1

    # ---- routes

    def _route(self) -> None:
        body = self.server.site.get(self.path, self.server.site.get(urlsplit(self.path).path))
        if body is not None:
            self._serve_site(body)
            return
        parts = urlsplit(self.path)
        segments = [s for s in parts.path.split("/") if s]
        name = segments[0] if segments else ""
        arg = segments[1] if len(segments) > 1 else ""
        query = parse_qs(parts.query)
        handler = getattr(self, "_route_" + name.replace("-", "_").replace(".", "_"), None)
        if handler is None:
            self._send(404, b"not found")
        else:
            handler(arg, query)

    def _serve_site(self, body: bytes) -> None:
        fault = self.server.site_fault_for(self.path) if self._first_time() else None
        if fault == "500":
            self._send(500, b"oops")
            return
        if fault == "429":
            self._send(429, b"slow down", {"Retry-After": "1"})
            return
        etag = f'"{hash(body) & 0xFFFFFFFF:x}"'
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        if fault == "stall":
            time.sleep(2.0)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("ETag", etag)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 3] if fault == "cut" else body)
        if fault == "cut":
            self.close_connection = True

    def _route_ok(self, arg: str, query: dict[str, list[str]]) -> None:
        self._send(200, f"ok {arg}".encode(), {"Content-Type": "text/html; charset=utf-8"})

    def _route_secret(self, arg: str, query: dict[str, list[str]]) -> None:
        self._send(200, b"the secret")

    def _route_status(self, arg: str, query: dict[str, list[str]]) -> None:
        self._send(int(arg), f"status {arg}".encode())

    def _route_retry_after(self, arg: str, query: dict[str, list[str]]) -> None:
        if self._first_time():
            self._send(429, b"slow down", {"Retry-After": arg})
        else:
            self._send(200, b"ok after retry-after")

    def _route_retry_after_date(self, arg: str, query: dict[str, list[str]]) -> None:
        if self._first_time():
            date = email.utils.formatdate(time.time() + 2, usegmt=True)
            self.server.retry_after_date = date
            self._send(429, b"slow down", {"Retry-After": date})
        else:
            self._send(200, b"ok after retry-after date")

    def _route_flaky(self, arg: str, query: dict[str, list[str]]) -> None:
        if self._first_time():
            self._send(500, b"oops")
        else:
            self._send(200, f"ok {arg}".encode())

    def _route_slow(self, arg: str, query: dict[str, list[str]]) -> None:
        self.server.stopping.wait(float(arg))
        self._send(200, f"slow {arg}".encode())

    def _route_drip(self, arg: str, query: dict[str, list[str]]) -> None:
        self.send_response(200)
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        while not self.server.stopping.wait(0.5):
            self.wfile.write(b"x")
            self.wfile.flush()

    def _route_reset(self, arg: str, query: dict[str, list[str]]) -> None:
        # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def _route_truncated(self, arg: str, query: dict[str, list[str]]) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "10000")
        self.end_headers()
        self.wfile.write(b"<html>" + b"p" * 94)
        self.wfile.flush()
        self.close_connection = True

    def _route_gzip_bomb(self, arg: str, query: dict[str, list[str]]) -> None:
        self._send(200, gzip_bomb(), {"Content-Encoding": "gzip", "Content-Type": "text/html"})

    def _route_huge(self, arg: str, query: dict[str, list[str]]) -> None:
        total, chunk = 50 * 1024 * 1024, bytes(64 * 1024)
        self.send_response(200)
        if query.get("declare"):
            self.send_header("Content-Length", str(total))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        for _ in range(total // len(chunk)):
            if self.server.stopping.is_set():
                return
            self.wfile.write(chunk)

    def _route_redirect(self, arg: str, query: dict[str, list[str]]) -> None:
        self._send(302, b"", {"Location": query["to"][0]})

    def _route_redirect_chain(self, arg: str, query: dict[str, list[str]]) -> None:
        n = int(arg)
        if n == 0:
            self._send(200, b"chain end")
        else:
            self._send(302, b"", {"Location": f"/redirect-chain/{n - 1}"})

    def _route_redirect_loop(self, arg: str, query: dict[str, list[str]]) -> None:
        self._send(302, b"", {"Location": "/redirect-loop"})

    def _route_etag(self, arg: str, query: dict[str, list[str]]) -> None:
        etag = f'"v1-{arg}"'
        validators = {"ETag": etag, "Last-Modified": ETAG_LAST_MODIFIED}
        inm = self.headers.get("If-None-Match")
        ims = self.headers.get("If-Modified-Since")
        if inm == etag or (inm is None and ims == ETAG_LAST_MODIFIED):
            self.send_response(304)
            for key, value in validators.items():
                self.send_header(key, value)
            self.end_headers()
        else:
            self._send(200, f"etag body {arg}".encode(), validators)

    def _route_robots_txt(self, arg: str, query: dict[str, list[str]]) -> None:
        robots = self.server.robots
        if robots is None:
            self._send(404, b"no robots")
        elif isinstance(robots, int):
            self._send(robots, b"robots status")
        else:
            self._send(200, robots.encode(), {"Content-Type": "text/plain"})


class FaultServer(ThreadingHTTPServer):
    """The server plus its observations. Create with `start()`, end with `stop()`."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.robots: str | int | None = None
        self.site: dict[str, bytes] = {}
        self.site_faults: list[str] = []
        self._fault_order: dict[str, int] = {}
        self.retry_after_date: str | None = None
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self.hits: list[Hit] = []
        self._path_counts: dict[str, int] = {}
        self._open: dict[str, int] = {}
        self.max_open: dict[str, int] = {}
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def start(self) -> FaultServer:
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def handle_error(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any
    ) -> None:
        # The client hanging up on purpose (a too-large body, a deadline) is not a server bug.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def stop(self) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()

    # ---- observations (called from handler threads)

    def record(self, hit: Hit) -> None:
        with self._lock:
            self.hits.append(hit)

    def count_path(self, path: str) -> int:
        with self._lock:
            self._path_counts[path] = self._path_counts.get(path, 0) + 1
            return self._path_counts[path]

    def enter(self, host: str) -> None:
        with self._lock:
            self._open[host] = self._open.get(host, 0) + 1
            self.max_open[host] = max(self.max_open.get(host, 0), self._open[host])

    def leave(self, host: str) -> None:
        with self._lock:
            self._open[host] -= 1

    def site_fault_for(self, path: str) -> str | None:
        """The fault for the first request of `path`: every second site path gets one."""
        if not self.site_faults:
            return None
        with self._lock:
            order = self._fault_order.setdefault(path, len(self._fault_order))
        if order % 2:
            return None
        return self.site_faults[(order // 2) % len(self.site_faults)]

    def hits_for(self, prefix: str) -> list[Hit]:
        with self._lock:
            return [h for h in self.hits if h.path.startswith(prefix)]
