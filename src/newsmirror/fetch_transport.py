"""The fetcher's direct HTTP/1.1 connections: h11 on asyncio's streams, as an httpx
transport.

httpx's default transport is httpcore's connection pool, which speaks HTTP/1.1
through h11 too, but around each request it takes locks and semaphores through
anyio, each one a pass of the event loop, and asks every idle connection whether it
is still open. In a run that fetches article pages the process that fetches is the
one the others wait for, and that was most of its CPU. Fetching the bench's 2,000
article pages (26 KB each, 8 at a time, over loopback) took 1.5 ms of CPU a page
through httpcore (on :mod:`newsmirror.netstream`'s asyncio streams) and 0.3 ms
through h11 alone; the httpx client around either adds 0.3 ms.

:class:`H11Transport` is what a fetcher's client uses for every request that goes
straight to the site over HTTP/1.1. HTTP/2 (``fetch.http2``) and proxies (configured
or from the environment) stay with httpcore: the client mounts its own transports
for them. What it does:

* one connection per request at a time, kept alive after a response read to its
  end (at most ``max_idle`` of them idle); a connection the server closed, or that
  has bytes nobody asked for, is not used again; a request whose kept connection
  turns out closed before any byte of the answer is sent once more on a new one
  (GET is idempotent);
* TLS with the client's context (SNI and host name checked), happy eyeballs;
* the request's connect/read/write timeouts; failures raised as httpx's
  exceptions (``ConnectError`` chained to the ``OSError``, ``ReadTimeout``,
  ``RemoteProtocolError`` …), so ``fetch_client.map_httpx`` says them as ever;
* the body streamed as it arrives (the fetcher caps and decodes it); a response
  closed before its end closes its connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from typing import Any

import h11
import httpx

HAPPY_EYEBALLS_DELAY = 0.25  # seconds before the next address is tried (as anyio does)
MAX_HEAD = 100 * 1024  # largest status line and headers (as httpcore allows)
READ_SIZE = 64 * 1024

Key = tuple[str, str, int]  # (scheme, host, port)


def closed_or_unread(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
    """Is an idle connection unfit for the next request: closed by the server (or by
    us), or holding bytes nobody asked for?"""
    return reader.at_eof() or writer.is_closing() or bool(getattr(reader, "_buffer", b""))


class _Stale(Exception):
    """A kept connection was closed by the server before this request got an answer."""


class H11Connection:
    """One TCP (or TLS) connection and its h11 state."""

    def __init__(self, key: Key, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.key = key
        self.reader = reader
        self.writer = writer
        self.h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD)
        self.reused = False

    def idle_and_open(self) -> bool:
        """May a kept connection take a request: not closed by the server, nothing unread?"""
        return not closed_or_unread(self.reader, self.writer)

    def close(self) -> None:
        self.writer.close()

    async def send(self, request: httpx.Request, timeout: float | None) -> None:
        h = self.h11
        data = h.send(
            h11.Request(
                method=request.method,
                target=request.url.raw_path,
                headers=request.headers.raw,
            )
        )
        try:
            async with asyncio.timeout(timeout):
                self.writer.write(data)  # (the head goes with the first piece of any body)
                async for chunk in request.stream:  # type: ignore[union-attr]
                    if chunk:
                        self.writer.write(h.send(h11.Data(data=chunk)))
                self.writer.write(h.send(h11.EndOfMessage()))
                await self.writer.drain()
        except TimeoutError:
            raise httpx.WriteTimeout("timed out sending", request=request) from None
        except OSError as e:
            if self.reused:
                raise _Stale from e
            raise httpx.WriteError(str(e) or type(e).__name__, request=request) from e

    async def next_event(self, request: httpx.Request, timeout: float | None) -> Any:
        """The next h11 event of the answer, reading from the network as needed."""
        h = self.h11
        while True:
            try:
                event = h.next_event()
            except h11.RemoteProtocolError as e:
                raise httpx.RemoteProtocolError(str(e), request=request) from e
            if event is not h11.NEED_DATA:
                return event
            try:
                if timeout is None:
                    data = await self.reader.read(READ_SIZE)
                else:
                    async with asyncio.timeout(timeout):
                        data = await self.reader.read(READ_SIZE)
            except TimeoutError:
                raise httpx.ReadTimeout("timed out reading", request=request) from None
            except OSError as e:
                if self.reused and h.their_state is h11.SEND_RESPONSE:
                    raise _Stale from e
                raise httpx.ReadError(str(e) or type(e).__name__, request=request) from e
            if not data and self.reused and h.their_state is h11.SEND_RESPONSE:
                raise _Stale
            h.receive_data(data)

    async def exchange(
        self, request: httpx.Request, write_timeout: float | None, read_timeout: float | None
    ) -> h11.Response:
        """Send ``request`` and read the answer's head (past any 1xx); the connection is
        closed if that fails."""
        try:
            await self.send(request, write_timeout)
            event = await self.next_event(request, read_timeout)
            while isinstance(event, h11.InformationalResponse):
                event = await self.next_event(request, read_timeout)
        except BaseException:
            self.close()
            raise
        assert isinstance(event, h11.Response)
        return event

    def reusable(self) -> bool:
        """After a whole exchange: start the next cycle if both sides allow it."""
        h = self.h11
        if h.our_state is h11.DONE and h.their_state is h11.DONE:
            h.start_next_cycle()
            return True
        return False


class _Body(httpx.AsyncByteStream):
    """A response's body as it arrives; its connection goes back to the pool at the end."""

    def __init__(
        self, pool: H11Transport, conn: H11Connection, request: httpx.Request, timeout: float | None
    ) -> None:
        self._pool = pool
        self._conn: H11Connection | None = conn
        self._request = request
        self._timeout = timeout
        self._ended = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        conn = self._conn
        if conn is None or self._ended:
            return
        try:
            while True:
                event = await conn.next_event(self._request, self._timeout)
                if isinstance(event, h11.Data):
                    yield bytes(event.data)
                elif isinstance(event, h11.EndOfMessage):
                    self._ended = True
                    return
                elif isinstance(event, h11.ConnectionClosed):
                    raise httpx.RemoteProtocolError(
                        "the server closed the connection in the body", request=self._request
                    )
        except BaseException:
            self._drop()
            raise

    async def aclose(self) -> None:
        conn = self._conn
        if conn is None:
            return
        self._conn = None
        if not self._ended:  # (a body with nothing left, as a 304's, ends without reading)
            try:
                event = conn.h11.next_event()
            except h11.ProtocolError:
                event = None
            self._ended = isinstance(event, h11.EndOfMessage)
        if self._ended and conn.reusable():
            self._pool.keep(conn)
        else:
            conn.close()

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class H11Transport(httpx.AsyncBaseTransport):
    """Direct HTTP/1.1 requests on kept-alive asyncio connections (see the module)."""

    def __init__(self, ssl_context: ssl.SSLContext, *, max_idle: int = 8) -> None:
        self._ssl = ssl_context
        self._max_idle = max_idle
        self._idle: list[H11Connection] = []  # oldest first

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.scheme
        if scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"unsupported scheme {scheme!r}", request=request)
        key: Key = (scheme, url.raw_host.decode("ascii"), url.port or _PORTS[scheme])
        timeouts = request.extensions.get("timeout", {})
        write_timeout, read_timeout = timeouts.get("write"), timeouts.get("read")
        conn = self._kept(key)
        event = None
        if conn is not None:  # (the server may have closed it: then once more, anew)
            with contextlib.suppress(_Stale):
                event = await conn.exchange(request, write_timeout, read_timeout)
        if event is None:
            conn = await self._connect(key, timeouts.get("connect"), request)
            event = await conn.exchange(request, write_timeout, read_timeout)  # (never stale)
        return httpx.Response(
            status_code=event.status_code,
            headers=event.headers.raw_items(),
            stream=_Body(self, conn, request, read_timeout),
            extensions={
                "http_version": b"HTTP/" + event.http_version,
                "reason_phrase": event.reason,
            },
        )

    def _kept(self, key: Key) -> H11Connection | None:
        """A kept connection to ``key`` still fit for a request (the newest first)."""
        for i in range(len(self._idle) - 1, -1, -1):
            conn = self._idle[i]
            if conn.key != key:
                continue
            del self._idle[i]
            if conn.idle_and_open():
                conn.reused = True
                return conn
            conn.close()
        return None

    def keep(self, conn: H11Connection) -> None:
        self._idle.append(conn)
        while len(self._idle) > self._max_idle:
            self._idle.pop(0).close()

    async def _connect(
        self, key: Key, timeout: float | None, request: httpx.Request
    ) -> H11Connection:
        scheme, host, port = key
        tls = self._ssl if scheme == "https" else None
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, ssl=tls, server_hostname=host if tls else None,
                    happy_eyeballs_delay=HAPPY_EYEBALLS_DELAY,
                )  # fmt: skip
        except TimeoutError:
            raise httpx.ConnectTimeout("timed out connecting", request=request) from None
        except OSError as e:  # (socket.gaierror and ssl.SSLError included)
            raise httpx.ConnectError(str(e) or type(e).__name__, request=request) from e
        return H11Connection(key, reader, writer)

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


_PORTS = {"http": 80, "https": 443}
