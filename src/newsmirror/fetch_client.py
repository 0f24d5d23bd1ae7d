"""The fetcher's httpx client: how it is made and what its exceptions mean.

:func:`open_client` makes the ``httpx.AsyncClient`` of one ``Fetcher`` from its
settings: requests straight to a site go through our own HTTP/1.1 transport
(:mod:`newsmirror.fetch_transport`: h11 on asyncio's streams); with HTTP/2 on, or a
proxy (configured, or from the environment), httpcore carries them, imported
without the HTTP/2 and SOCKS code the run does not use and, for direct
connections, on asyncio's streams too (:mod:`newsmirror.netstream`). Either way: a
verifying TLS context whose CA certificates are loaded at the first TLS
connection, and no redirects followed (the fetcher follows them itself).
:func:`map_httpx` turns an httpx exception into one of the ``errors.FetchError``
classes, wrapped in :class:`Retryable` when another attempt may succeed.
"""

from __future__ import annotations

import functools
import os
import socket
import ssl
import sys
from typing import Any

import httpx

from .errors import BlockedURLError, ConnectError, FetchError, FetchTimeoutError
from .fetch_response import ACCEPT_ENCODING
from .settings import FetchSettings


def open_client(s: FetchSettings) -> httpx.AsyncClient:
    """The client of a fetcher with settings ``s`` (see the module's docstring)."""
    verify = _ssl_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"), s.http2)
    direct: httpx.AsyncBaseTransport | None = None
    if not s.http2:
        from .fetch_transport import H11Transport

        direct = H11Transport(verify, max_idle=s.concurrency)
    env = _env_proxies()
    if s.http2 or s.proxy or env:
        _import_httpcore(s.http2, _wants_socks(s.proxy, env))
    client = httpx.AsyncClient(
        headers={"User-Agent": s.user_agent, "Accept-Encoding": ACCEPT_ENCODING},
        timeout=httpx.Timeout(
            connect=s.connect_timeout, read=s.read_timeout, write=s.read_timeout, pool=None
        ),
        limits=httpx.Limits(max_connections=s.concurrency, max_keepalive_connections=s.concurrency),
        proxy=s.proxy or None,
        verify=verify,
        trust_env=True,
        http2=s.http2,
        follow_redirects=False,
        transport=direct,
    )
    if isinstance(getattr(client, "_cookies", None), httpx.Cookies):  # (the setter copies)
        client._cookies = _Cookies()
    if direct is None:
        from .netstream import use_asyncio_streams  # (after httpcore's import, above)

        use_asyncio_streams(client)
    return client


class _Cookies(httpx.Cookies):
    """The client's cookies, which read only the responses that set one.

    For every response httpx wraps it and its request in ``urllib`` stand-ins for
    the cookie jar, which then copies all its headers into an
    ``email.message.Message`` to look for Set-Cookie: 8-10% of the fetching
    process's CPU in a run that fetches article pages, most of which set none."""

    def extract_cookies(self, response: httpx.Response) -> None:
        headers = response.headers
        if "set-cookie" in headers or "set-cookie2" in headers:
            super().extract_cookies(response)


def _env_proxies() -> list[str]:
    """The proxies the environment names (``*_proxy`` but ``no_proxy``), which httpx
    would use (``trust_env``)."""
    return [
        v.strip()
        for k, v in os.environ.items()
        if k.lower().endswith("_proxy") and k.lower() != "no_proxy" and v.strip()
    ]


@functools.lru_cache(maxsize=4)
def _ssl_context(cert_file: str | None, cert_dir: str | None, http2: bool) -> ssl.SSLContext:
    """One verifying TLS context per process and HTTP/2 setting (httpcore sets its
    ALPN), made as httpx makes it: SSL_CERT_FILE, else SSL_CERT_DIR, else certifi's
    bundle. Loading the CA certificates is slow: they are loaded at the first TLS
    connection (a run of plain-HTTP feeds never loads them)."""
    if cert_file and not os.path.isfile(cert_file):
        return httpx.create_ssl_context(trust_env=True)  # its error, at the start as ever
    if cert_file:
        return _LazyCAContext.make(cafile=cert_file)
    return _LazyCAContext.make(capath=cert_dir or None)


class _LazyCAContext(ssl.SSLContext):
    """``ssl.create_default_context(cafile=…, capath=…)`` (certifi's bundle when
    neither is given), with the CA certificates loaded when the first TLS connection
    wraps its socket (``wrap_bio``: asyncio; ``wrap_socket``: blocking code)."""

    _ca: tuple[str | None, str | None] | None = None  # (cafile, capath) until loaded

    @classmethod
    def make(cls, *, cafile: str | None = None, capath: str | None = None) -> _LazyCAContext:
        ctx = cls(ssl.PROTOCOL_TLS_CLIENT)
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.check_hostname = True
        keylog = os.environ.get("SSLKEYLOGFILE")  # as create_default_context does
        if keylog and not sys.flags.ignore_environment and hasattr(ctx, "keylog_filename"):
            ctx.keylog_filename = keylog
        ctx._ca = (cafile, capath)
        return ctx

    def load_ca(self) -> None:
        if self._ca is None:
            return
        cafile, capath = self._ca
        if cafile is None and capath is None:
            import certifi

            cafile = certifi.where()
        self.load_verify_locations(cafile=cafile, capath=capath)
        self._ca = None

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:
        self.load_ca()
        return super().wrap_bio(*args, **kwargs)

    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        self.load_ca()
        return super().wrap_socket(*args, **kwargs)


def _wants_socks(proxy: str, env_proxies: list[str]) -> bool:
    """Would httpx go through a SOCKS proxy: the configured one, else (``trust_env``)
    one the environment names (:func:`_env_proxies`)?"""
    if proxy:
        return proxy.lower().startswith("socks")
    return any(v.lower().startswith("socks") for v in env_proxies)


def _import_httpcore(http2: bool, socks: bool) -> None:
    """Import httpcore (httpx does so when its first client is made) without the
    code of what this fetcher does not use: HTTP/2 (h2, hpack, hyperframe: a third of
    httpcore's import) unless ``http2`` is on, SOCKS (socksio) unless ``socks``.

    A later fetcher of the process that needs them still gets them: httpcore imports
    its HTTP/2 connection when it first makes one, and the SOCKS pools (which
    httpcore replaced by stand-ins that say socksio is missing) are put back here."""
    if "httpcore" in sys.modules:
        if socks:
            _restore_socks()
        return
    left_out = [m for m, used in (("h2", http2), ("socksio", socks)) if not used]
    left_out = [m for m in left_out if m not in sys.modules]
    for m in left_out:
        sys.modules[m] = None  # type: ignore[assignment]
    try:
        import httpcore  # noqa: F401
    finally:
        for m in left_out:
            if m in sys.modules and sys.modules[m] is None:
                del sys.modules[m]


def _restore_socks() -> None:
    if "httpcore._async.socks_proxy" in sys.modules:
        return  # httpcore has its own
    import httpcore
    from httpcore._async.socks_proxy import AsyncSOCKSProxy
    from httpcore._sync.socks_proxy import SOCKSProxy

    httpcore.AsyncSOCKSProxy = httpcore._async.AsyncSOCKSProxy = AsyncSOCKSProxy  # type: ignore[misc]
    httpcore.SOCKSProxy = httpcore._sync.SOCKSProxy = SOCKSProxy  # type: ignore[misc]


class Retryable(Exception):
    """An attempt failed in a way worth trying again (after ``retry_after`` if given)."""

    def __init__(self, error: FetchError, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


def map_httpx(exc: Exception, s: FetchSettings) -> FetchError | Retryable:
    """Translate an httpx exception: a FetchError, or a Retryable wrapping one."""
    if isinstance(exc, httpx.TimeoutException):
        what, secs = {
            httpx.ConnectTimeout: ("connecting", s.connect_timeout),
            httpx.WriteTimeout: ("sending", s.read_timeout),
            httpx.PoolTimeout: ("waiting for a connection", s.connect_timeout),
        }.get(type(exc), ("reading", s.read_timeout))
        return Retryable(FetchTimeoutError(f"timed out after {secs:g}s {what}"))
    if isinstance(exc, httpx.UnsupportedProtocol):
        return BlockedURLError(f"not allowed: {exc}")
    if isinstance(exc, httpx.InvalidURL):
        return FetchError(f"invalid URL: {exc}", reason="invalid_url")
    if isinstance(exc, httpx.ConnectError):
        reason, message, again = classify_connect_error(exc)
        error = ConnectError(message, reason=reason)
        return Retryable(error) if again else error
    if isinstance(exc, httpx.ProxyError):
        return Retryable(ConnectError(f"proxy failed: {exc}"))
    if isinstance(exc, httpx.TransportError) and not isinstance(exc, httpx.LocalProtocolError):
        what = (
            "broken HTTP response"
            if isinstance(exc, httpx.RemoteProtocolError)
            else "connection lost"
        )
        return Retryable(ConnectError(f"{what}: {_cause(exc)}"))
    return FetchError(f"{type(exc).__name__}: {exc}")


def classify_connect_error(exc: BaseException) -> tuple[str, str, bool]:
    """(reason, short cause, worth retrying) for a connection failure, from its cause chain."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, socket.gaierror):
            return "dns", "name does not resolve", cur.errno != socket.EAI_NONAME
        if isinstance(cur, ConnectionRefusedError):
            return "connect", "connection refused", True
        if isinstance(cur, ssl.SSLCertVerificationError):
            return "connect", f"TLS certificate rejected: {cur.verify_message}", False
        if isinstance(cur, ssl.SSLError):
            return "connect", f"TLS failed: {cur.reason or cur}", True
        cur = cur.__cause__ or cur.__context__
    if "name or service not known" in str(exc).lower():
        return "dns", "name does not resolve", False
    return "connect", f"could not connect: {_cause(exc)}", True


def _cause(exc: BaseException) -> str:
    """The exception's message, or its class name when it has none (httpx's often do not)."""
    return str(exc) or type(exc).__name__
