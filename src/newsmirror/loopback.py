"""A real HTTP server on 127.0.0.1 for tests and the offline demo (stdlib only).

Routes are registered up front; the server answers them from a background
thread and records what it saw (hits, 304 answers, request headers, how many
requests overlapped)::

    with LoopbackServer() as server:
        server.add("/feed.xml", xml, content_type="application/rss+xml", etag='"v1"')
        server.add("/flaky", b"ok", fail_times=2)  # 503, 503, then 200
        server.redirect("/old", "/feed.xml", status=301)
        server.serve_dir("/corpus", Path("shared/corpus/feeds"))
        ...fetch server.url("/feed.xml")...
        assert server.hits["/feed.xml"] == 1

As a pytest fixture: ``server = pytest.fixture(serving, name="server")``.
Paths are matched percent-decoded (``add("/中文.xml")`` answers
``/%E4%B8%AD%E6%96%87.xml``), first with the query string, then without.
"""

from __future__ import annotations

import collections
import gzip as gzip_module
import hashlib
import mimetypes
import ssl
import sys
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime, formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote

_EXTRA_TYPES = {
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".xml": "application/xml",
    ".json": "application/json",
}


@dataclass
class Route:
    """What one path answers. ``body`` is stored already content-encoded."""

    body: bytes = b""
    status: int = 200
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    delay: float = 0.0  # seconds to wait before the status line
    drip: float = 0.0  # seconds between body bytes (one byte at a time; ignores repeat)
    redirect_to: str | None = None
    retry_after: str | None = None
    fail_times: int = 0  # the first N hits get `fail_status`
    fail_status: int = 503
    repeat: int = 1  # the body is sent this many times (huge bodies without the memory)
    chunked: bool = False  # Transfer-Encoding: chunked instead of Content-Length


@dataclass(frozen=True)
class Recorded:
    """One request as the server received it (header names lower-cased)."""

    method: str
    path: str
    headers: dict[str, str]
    client: tuple[str, int]  # the client's address and port (its connection)


def gzip_bomb(size: int, *, piece: int = 1 << 20) -> bytes:
    """A gzip stream that inflates to ``size`` zero bytes, built without holding them."""
    zeros = bytes(piece)
    comp = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    parts = [comp.compress(zeros) for _ in range(size // piece)]
    parts.append(comp.compress(bytes(size % piece)))
    parts.append(comp.flush())
    return b"".join(parts)


def http_date(value: datetime | float) -> str:
    """An HTTP-date for a timezone-aware datetime or a POSIX timestamp."""
    if isinstance(value, datetime):
        return format_datetime(value, usegmt=True)
    return formatdate(value, usegmt=True)


class LoopbackServer:
    """A threaded HTTP/1.1 server on an OS-assigned loopback port; a context manager.
    With ``tls`` (a server-side context with its certificate), it serves HTTPS."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, tls: ssl.SSLContext | None = None
    ) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: collections.Counter[str] = collections.Counter()
        self.conditional_hits: collections.Counter[str] = collections.Counter()  # 304s by path
        self.requests: list[Recorded] = []
        self._events: list[tuple[int, str]] = []  # (+1 | -1, path) in arrival order
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._httpd = _Server((host, port), _make_handler(self))
        if tls is not None:
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
        self._scheme = "https" if tls is not None else "http"
        self._thread: threading.Thread | None = None

    # ---- lifecycle -------------------------------------------------------
    def start(self) -> LoopbackServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        self._closing.set()  # wakes handlers that are sleeping in delay/drip
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- addresses -------------------------------------------------------
    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"{self._scheme}://127.0.0.1:{self.port}"

    def url(self, path: str = "/") -> str:
        """The absolute URL of ``path`` (non-ASCII characters percent-encoded)."""
        return self.base_url + quote(path, safe="/?&=%:;,@!$'()*+~#")

    # ---- routes ----------------------------------------------------------
    def add(
        self,
        path: str,
        body: bytes = b"",
        *,
        status: int = 200,
        content_type: str = "text/plain; charset=utf-8",
        headers: dict[str, str] | None = None,
        etag: str | None = None,
        last_modified: str | datetime | float | None = None,
        delay: float = 0.0,
        drip: float = 0.0,
        gzip: bool = False,
        deflate: bool = False,
        brotli: bool = False,
        redirect_to: str | None = None,
        retry_after: str | float | None = None,
        fail_times: int = 0,
        fail_status: int = 503,
        repeat: int = 1,
        chunked: bool = False,
    ) -> Route:
        """Register (or replace) the answer for ``path`` and return it.

        ``gzip``/``deflate``/``brotli`` encode ``body`` and send Content-Encoding
        (brotli needs the ``brotli`` package). ``retry_after`` goes out on every
        non-2xx answer of this route, including the ``fail_times`` ones.
        """
        hdrs = dict(headers or {})
        if gzip:
            body = gzip_module.compress(body, mtime=0)
            hdrs["Content-Encoding"] = "gzip"
        elif deflate:
            body = zlib.compress(body)
            hdrs["Content-Encoding"] = "deflate"
        elif brotli:
            import brotli as brotli_module  # optional: only this feature needs it

            body = brotli_module.compress(body)
            hdrs["Content-Encoding"] = "br"
        if redirect_to is not None and status == 200:
            status = 302
        if last_modified is not None and not isinstance(last_modified, str):
            last_modified = http_date(last_modified)
        route = Route(
            body=body,
            status=status,
            content_type=content_type,
            headers=hdrs,
            etag=etag,
            last_modified=last_modified,
            delay=delay,
            drip=drip,
            redirect_to=redirect_to,
            retry_after=None if retry_after is None else str(retry_after),
            fail_times=fail_times,
            fail_status=fail_status,
            repeat=repeat,
            chunked=chunked,
        )
        self.routes[unquote(path)] = route
        return route

    def redirect(self, path: str, to: str, *, status: int = 302) -> Route:
        """``path`` answers ``status`` with ``Location: to`` (a path or any URL)."""
        return self.add(path, b"", status=status, redirect_to=to)

    def serve_dir(self, prefix: str, folder: str | Path, *, validators: bool = True) -> list[str]:
        """Serve every file under ``folder`` at ``prefix/<relative path>``; return the paths.

        Content types are guessed from the file names; with ``validators`` each
        file gets an ETag (content hash) and a Last-Modified (its mtime).
        """
        root = Path(folder)
        paths = []
        for file in sorted(p for p in root.rglob("*") if p.is_file()):
            data = file.read_bytes()
            ctype = _EXTRA_TYPES.get(file.suffix.lower()) or (
                mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            )
            path = prefix.rstrip("/") + "/" + file.relative_to(root).as_posix()
            self.add(
                path,
                data,
                content_type=ctype,
                etag=f'"{hashlib.sha256(data).hexdigest()[:16]}"' if validators else None,
                last_modified=file.stat().st_mtime if validators else None,
            )
            paths.append(path)
        return paths

    # ---- observations ----------------------------------------------------
    def max_concurrent(self, prefix: str = "/") -> int:
        """The most requests under ``prefix`` that were being answered at the same time."""
        with self._lock:
            events = list(self._events)
        now = peak = 0
        for step, path in events:
            if path.startswith(prefix):
                now += step
                peak = max(peak, now)
        return peak

    def last_request(self, path: str | None = None) -> Recorded:
        with self._lock:
            found = [r for r in self.requests if path is None or r.path == unquote(path)]
        if not found:
            raise LookupError(f"no request for {path!r}")
        return found[-1]

    def reset(self) -> None:
        """Forget hits and recorded requests (routes stay)."""
        with self._lock:
            self.hits.clear()
            self.conditional_hits.clear()
            self.requests.clear()
            self._events.clear()

    # ---- used by the handler ---------------------------------------------
    def _arrive(
        self, method: str, path: str, headers: dict[str, str], client: tuple[str, int]
    ) -> int:
        with self._lock:
            self.hits[path] += 1
            self.requests.append(Recorded(method, path, headers, client))
            self._events.append((1, path))
            return self.hits[path]

    def _leave(self, path: str) -> None:
        with self._lock:
            self._events.append((-1, path))

    def _not_modified(self, path: str) -> None:
        """Counted before the 304 is sent, so a client that has its answer sees the count."""
        with self._lock:
            self.conditional_hits[path] += 1

    def _find(self, path: str) -> Route | None:
        return self.routes.get(path) or self.routes.get(path.partition("?")[0])

    def _wait(self, seconds: float) -> bool:
        """Sleep; False when the server is shutting down meanwhile."""
        return not self._closing.wait(seconds)


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a handler stuck on a slow client never blocks shutdown
    request_queue_size = 128  # bursts of concurrent fetches are queued, not refused

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


def serving() -> Iterator[LoopbackServer]:
    """Generator for a pytest fixture: ``pytest.fixture(serving, name="server")``."""
    with LoopbackServer() as server:
        yield server


def _not_modified(route: Route, headers: dict[str, str]) -> bool:
    inm = headers.get("if-none-match")
    if inm is not None:
        if route.etag is None:
            return False
        tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
        return "*" in tags or route.etag.removeprefix("W/") in tags
    ims = headers.get("if-modified-since")
    if ims and route.last_modified:
        try:
            return parsedate_to_datetime(route.last_modified) <= parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False
    return False


def _make_handler(server: LoopbackServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # TCP_NODELAY, as web servers set it: else a response's body waits behind its
        # headers for the client's delayed ACK (~40 ms a response on a kept-alive
        # connection, where a new connection's first answer goes at once).
        disable_nagle_algorithm = True
        timeout = 60

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self._answer(send_body=True)

        def do_HEAD(self) -> None:
            self._answer(send_body=False)

        def _answer(self, *, send_body: bool) -> None:
            path = unquote(self.path)
            headers = {k.lower(): v for k, v in self.headers.items()}
            hit = server._arrive(self.command, path, headers, self.client_address[:2])
            try:
                route = server._find(path)
                if route is None:
                    self._simple(404, b"not found\n", send_body=send_body)
                elif route.delay and not server._wait(route.delay):
                    self.close_connection = True
                elif hit <= route.fail_times:
                    self._simple(route.fail_status, b"try again\n", route, send_body)
                elif route.redirect_to is not None:
                    self._simple(route.status, b"", route, send_body, route.redirect_to)
                elif route.status == 200 and _not_modified(route, headers):
                    server._not_modified(path)
                    self.send_response(304)
                    self._validators(route)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    self._full(route, send_body)
            except (BrokenPipeError, ConnectionResetError, TimeoutError):
                self.close_connection = True
            finally:
                server._leave(path)

        def _simple(
            self,
            status: int,
            body: bytes,
            route: Route | None = None,
            send_body: bool = True,
            location: str | None = None,
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            if location is not None:
                self.send_header("Location", location)
            if route is not None and route.retry_after is not None:
                self.send_header("Retry-After", route.retry_after)
            self.end_headers()
            if send_body:
                self.wfile.write(body)

        def _validators(self, route: Route) -> None:
            if route.etag is not None:
                self.send_header("ETag", route.etag)
            if route.last_modified is not None:
                self.send_header("Last-Modified", route.last_modified)

        def _full(self, route: Route, send_body: bool) -> None:
            self.send_response(route.status)
            self.send_header("Content-Type", route.content_type)
            self._validators(route)
            if route.retry_after is not None and not 200 <= route.status < 300:
                self.send_header("Retry-After", route.retry_after)
            for name, value in route.headers.items():
                self.send_header(name, value)
            if route.chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Content-Length", str(len(route.body) * route.repeat))
            self.end_headers()
            if not send_body:
                return
            if route.drip:
                for i in range(len(route.body)):
                    self.wfile.write(route.body[i : i + 1])
                    self.wfile.flush()
                    if not server._wait(route.drip):
                        self.close_connection = True
                        return
                return
            for _ in range(route.repeat if route.body else 0):
                if route.chunked:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(route.body), route.body))
                else:
                    self.wfile.write(route.body)
            if route.chunked:
                self.wfile.write(b"0\r\n\r\n")

    return Handler
