"""httpcore's network layer on asyncio's own streams, for the fetcher's client when
httpcore carries its direct requests (``fetch.http2`` on; otherwise they go through
:mod:`newsmirror.fetch_transport`).

httpx (through httpcore) reaches the network through anyio by default. Under
asyncio that costs a lot of the run's own CPU: every read and write enters an
anyio cancel scope, and before each request the pool asks every idle connection
whether it is still open, which anyio answers by building a dict of socket
attributes (a ``getpeername`` call included) and polling the socket. On the
bench's 2,000 article pages (the run of ``python bench/run.py --only b``), the
process that fetches and writes took 9.6-10.7 s of CPU with anyio and 7.5-8.5 s
with this backend; the run, 11.5-12.9 s and 9.9-10.8 s.

:class:`AsyncioBackend` answers the same calls with ``asyncio.open_connection``
and ``StreamWriter.start_tls`` (Python 3.11), and raises httpcore's errors as the
anyio backend does (so httpx's are unchanged). :func:`use_asyncio_streams` puts
it into a client's direct connection pools (a proxy's pool keeps anyio's: TLS to an
HTTPS proxy and then to the site is TLS in TLS); a client of another httpx or
httpcore (where the pools are not where it looks) keeps the default backend.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from .fetch_transport import HAPPY_EYEBALLS_DELAY, closed_or_unread


class AsyncioStream(httpcore.AsyncNetworkStream):
    """One connection (TCP, or TLS after :meth:`start_tls`) as asyncio streams."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)
        except TimeoutError:
            raise httpcore.ReadTimeout("timed out reading") from None
        except OSError as e:
            raise httpcore.ReadError(str(e) or type(e).__name__) from e

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            async with asyncio.timeout(timeout):
                self._writer.write(buffer)
                await self._writer.drain()
        except TimeoutError:
            raise httpcore.WriteTimeout("timed out writing") from None
        except OSError as e:  # (a write after the peer closed, among others)
            raise httpcore.WriteError(str(e) or type(e).__name__) from e

    async def aclose(self) -> None:
        self._writer.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        except TimeoutError:
            self._writer.close()
            raise httpcore.ConnectTimeout("timed out in the TLS handshake") from None
        except (OSError, ssl.SSLError) as e:  # (SSLError is an OSError: both named)
            self._writer.close()
            raise httpcore.ConnectError(str(e) or type(e).__name__) from e
        return self

    def get_extra_info(self, info: str) -> Any:
        w = self._writer
        if info == "ssl_object":
            return w.get_extra_info("ssl_object")
        if info == "client_addr":
            return w.get_extra_info("sockname")
        if info == "server_addr":
            return w.get_extra_info("peername")
        if info == "socket":
            return w.get_extra_info("socket")
        if info == "is_readable":  # (an idle connection: the server closed it, or sent junk)
            return closed_or_unread(self._reader, w)
        return None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend on asyncio streams (see the module docstring)."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[tuple[int, int, int | bytes]] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, local_addr=(local_address, 0) if local_address else None,
                    happy_eyeballs_delay=HAPPY_EYEBALLS_DELAY,
                )  # fmt: skip
        except TimeoutError:
            raise httpcore.ConnectTimeout("timed out connecting") from None
        except OSError as e:  # (socket.gaierror included)
            raise httpcore.ConnectError(str(e) or type(e).__name__) from e
        _set_options(writer, socket_options)
        return AsyncioStream(reader, writer)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[tuple[int, int, int | bytes]] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_unix_connection(path)
        except TimeoutError:
            raise httpcore.ConnectTimeout("timed out connecting") from None
        except OSError as e:
            raise httpcore.ConnectError(str(e) or type(e).__name__) from e
        _set_options(writer, socket_options)
        return AsyncioStream(reader, writer)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def _set_options(
    writer: asyncio.StreamWriter, options: Iterable[tuple[int, int, int | bytes]] | None
) -> None:
    sock: socket.socket | None = writer.get_extra_info("socket")
    for option in options or ():
        if sock is not None:
            sock.setsockopt(*option)


def use_asyncio_streams(client: httpx.AsyncClient) -> int:
    """Give the direct connection pools of ``client`` (not its proxies') the asyncio
    backend; the number of pools that took it."""
    done = 0
    for transport in [client._transport, *client._mounts.values()]:
        pool = getattr(transport, "_pool", None)
        if type(pool) is httpcore.AsyncConnectionPool and hasattr(pool, "_network_backend"):
            pool._network_backend = AsyncioBackend()
            done += 1
    return done
