"""The fetch stage: asynchronous HTTP for feeds and article pages.

One :class:`Fetcher` owns one ``httpx.AsyncClient``. Every request is bounded:
a global and a per-host concurrency limit, connect/read timeouts plus a total
deadline (``asyncio.timeout``) over all attempts, a size cap on the raw *and*
the decoded body (compression bombs stop at the cap), at most 10 redirects and
only http/https anywhere in the chain; a redirect (or a link found ``via`` a
feed) reaches a private address only as :mod:`newsmirror.netpolicy` allows. 5xx,
429, connection failures and read timeouts are retried with exponential backoff
and full jitter, honouring Retry-After. Every failure is one of the
``errors.FetchError`` classes; no httpx exception escapes.

Content-Encoding is undone here, not by httpx: httpx inflates a whole network
chunk at once (64 KiB of gzip can become 64 MB); BodyDecoder emits bounded pieces.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.message
import functools
import os
import random
import socket
import ssl
import sys
import zlib
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from .errors import (
    BlockedURLError,
    ConnectError,
    FetchError,
    FetchTimeoutError,
    HTTPStatusError,
    TooLargeError,
)
from .models import FeedResponse, FeedState
from .netpolicy import blocked_reason, literal_ip
from .settings import DEFAULT_USER_AGENT as DEFAULT_USER_AGENT
from .settings import PROXY_SCHEMES as PROXY_SCHEMES
from .settings import FetchSettings as FetchSettings
from .settings import MiB

if TYPE_CHECKING:
    from .hostgate import HostGate

try:
    import brotli
except ImportError:  # pragma: no cover - installed with httpx[brotli]
    brotli = None

ALLOWED_SCHEMES = frozenset({"http", "https"})
ACCEPT_ENCODING = "gzip, deflate, br" if brotli is not None else "gzip, deflate"
_PIECE = 64 * 1024  # largest decoded piece held at once beyond the body itself
_DECODE_ERRORS = (zlib.error,) if brotli is None else (zlib.error, brotli.error)
NO_STATE = FeedState()  # no validators: an unconditional GET

Sleep = Callable[[float], Awaitable[None]]


class Recorder(Protocol):
    """Where 2xx responses are kept as they were read (``export.Capture``: WARC)."""

    def record(
        self,
        url: str,
        status: int,
        headers: Iterable[tuple[str, str]],
        body: bytes,
        *,
        reason: str = "",
        http_version: str = "HTTP/1.1",
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class FetchRequest:
    """One URL for :func:`fetch_many`."""

    url: str
    state: FeedState = field(default_factory=FeedState)
    source: str = ""
    via: str = ""  # the trusted URL this one came from (see Fetcher.fetch)


class _Retryable(Exception):
    """An attempt failed in a way worth trying again (after ``retry_after`` if given)."""

    def __init__(self, error: FetchError, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


class Fetcher:
    """Fetches URLs; use as ``async with Fetcher(settings) as fetcher:``.

    ``sleep`` is awaited for every backoff (tests pass a recorder); ``rng``
    draws the jitter. ``capture`` records every 2xx response read in full (feeds,
    pages, re-checks) for the WARC export; a capture that cannot write costs the
    record, never the fetch.
    """

    def __init__(
        self,
        settings: FetchSettings | None = None,
        *,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        capture: Recorder | None = None,
        gate: HostGate | None = None,
    ) -> None:
        self.settings = settings or FetchSettings()
        self.capture = capture
        self._gate = gate  # per-host limit and backoff shared with other processes (hostgate)
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._client: httpx.AsyncClient | None = None
        self._global = asyncio.Semaphore(self.settings.concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        # Names are looked up once per run: the first fetch to a host goes alone
        # (the others wait for it), a name that does not resolve fails the rest of
        # the run's fetches to it at once, and the private-address check is kept.
        self._contact: dict[str, asyncio.Event] = {}
        self._unresolved: dict[str, str] = {}  # host -> why
        self._checked: dict[tuple[str, int | None, str], str] = {}

    async def __aenter__(self) -> Fetcher:
        s = self.settings
        _import_httpcore(s.http2, _wants_socks(s.proxy))
        self._client = httpx.AsyncClient(
            headers={"User-Agent": s.user_agent, "Accept-Encoding": ACCEPT_ENCODING},
            timeout=httpx.Timeout(
                connect=s.connect_timeout, read=s.read_timeout, write=s.read_timeout, pool=None
            ),
            limits=httpx.Limits(
                max_connections=s.concurrency, max_keepalive_connections=s.concurrency
            ),
            proxy=s.proxy or None,
            verify=_ssl_context(
                os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"), s.http2
            ),
            trust_env=True,
            http2=s.http2,
            follow_redirects=False,
        )
        from .netstream import use_asyncio_streams  # (after httpcore's import, above)

        use_asyncio_streams(self._client)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def fetch(
        self, url: str, *, state: FeedState = NO_STATE, source: str = "", via: str = ""
    ) -> FeedResponse:
        """GET ``url`` (conditionally when ``state`` has validators); 200 or 304, else raise.

        ``via``: the trusted URL that ``url`` was found in (an article link's feed);
        then only ``via``'s host may be private. Without it ``url`` itself is trusted.
        """
        if self._client is None:
            raise RuntimeError("Fetcher is not open: use 'async with Fetcher() as f'")
        try:
            target = check_url(url)  # (parsed once: the request is built from it)
            host = target.host
            anchor = _host_of(via) if via else host
            if (why := self._unresolved.get(host)) is not None:
                raise ConnectError(why, reason="dns")
            if literal_ip(host) is not None:
                return await self._fetch(url, target, anchor, state)
            gate = self._contact.get(host)
            if gate is not None:
                await gate.wait()
                return await self._fetch(url, target, anchor, state)
            gate = self._contact[host] = asyncio.Event()
            try:
                return await self._fetch(url, target, anchor, state)
            finally:
                gate.set()
        except FetchError as exc:
            raise exc.with_context(source=source, url=url) from None

    async def _fetch(
        self, url: str, target: httpx.URL, anchor: str, state: FeedState
    ) -> FeedResponse:
        assert self._client is not None
        # Slots are taken before the deadline starts (time in the queue does not
        # count) and kept through backoff; a fetch waiting for its host holds no
        # global slot.
        async with self._host_slot(target.host), self._global:
            deadline = asyncio.get_running_loop().time() + self.settings.total_timeout
            timeout = asyncio.timeout_at(deadline)
            try:
                async with timeout:
                    return await self._attempts(
                        self._client, url, target, state, deadline, anchor
                    )
            except TimeoutError:
                if not timeout.expired():
                    raise
                raise FetchTimeoutError(
                    f"timed out after {self.settings.total_timeout:g}s in total"
                ) from None

    def _host_slot(self, host: str) -> contextlib.AbstractAsyncContextManager[Any]:
        if self._gate is not None:
            return self._gate.slot(host)
        slot = self._hosts.get(host)
        if slot is None:
            slot = self._hosts[host] = asyncio.Semaphore(self.settings.per_host)
        return slot

    async def _attempts(
        self, client: httpx.AsyncClient, url: str, target: httpx.URL, state: FeedState,
        deadline: float, anchor: str,
    ) -> FeedResponse:  # fmt: skip
        s = self.settings
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._attempt(client, url, target, state, anchor)
                return replace(response, attempts=attempt)
            except FetchError as error:
                raise _after(error, attempt) from None
            except _Retryable as retry:
                error = retry.error
                if attempt > s.retries:
                    raise _after(error, attempt) from None
                if retry.retry_after is not None:
                    delay = float(min(retry.retry_after, s.backoff_max))
                else:
                    cap = min(s.backoff_max, s.backoff_base * 2 ** (attempt - 1))
                    delay = self._rng.uniform(0.0, cap)
                if delay >= deadline - asyncio.get_running_loop().time():
                    raise _after(error, attempt) from None  # waiting would outlast the deadline
                if self._gate is not None:  # the other workers wait for this host too
                    await self._gate.cool(target.host, delay)
                await self._sleep(delay)

    async def _attempt(
        self, client: httpx.AsyncClient, url: str, target: httpx.URL, state: FeedState,
        anchor: str,
    ) -> FeedResponse:  # fmt: skip
        """One try: follow the redirect chain from ``target`` (``url`` parsed) and read
        the body, or raise."""
        validators = {"If-None-Match": state.etag, "If-Modified-Since": state.last_modified}
        headers = {k: raw for k, v in validators.items() if (raw := _header_bytes(v))}
        try:
            request = client.build_request("GET", target, headers=headers)
            for hop in range(self.settings.max_redirects + 1):
                if (why := self._unresolved.get(request.url.host)) is not None:
                    raise ConnectError(why, reason="dns")
                await self._check_host(request.url, anchor, redirect=hop > 0)
                try:
                    response = await client.send(request, stream=True)
                except httpx.ConnectError as exc:
                    error = _map_httpx(exc, self.settings)
                    if isinstance(error, ConnectError) and error.reason == "dns":
                        self._unresolved[request.url.host] = error.message
                    raise
                try:
                    if response.next_request is None:
                        return await self._answer(response, url, state)
                    request = response.next_request
                    if request.url.scheme not in ALLOWED_SCHEMES:
                        raise BlockedURLError(
                            f"redirect to {request.url} is not allowed (only http and https)"
                        )
                finally:
                    await response.aclose()
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise _map_httpx(exc, self.settings) from None
        raise FetchError(f"more than {self.settings.max_redirects} redirects", reason="redirects")

    async def _check_host(self, url: httpx.URL, anchor: str, *, redirect: bool) -> None:
        """Raise BlockedURLError when ``url`` would reach a private address it may not."""
        s = self.settings
        if s.allow_private:
            return
        key = (url.host, url.port, anchor)
        why = self._checked.get(key)
        if why is None:
            why = self._checked[key] = await blocked_reason(url, anchor, proxy=s.proxy)
        if why:
            what = "redirect to" if redirect else "link to"
            raise BlockedURLError(f"{what} {url} is not allowed: {why} (see fetch.allow_private)")

    async def _answer(self, response: httpx.Response, url: str, state: FeedState) -> FeedResponse:
        """The last response of a chain: 2xx with its body, 304, or raise."""
        status = response.status_code
        if status == 304:
            return _to_response(url, response, state)
        if 200 <= status < 300:
            body = await self._read_body(response)
            if self.capture is not None:
                with contextlib.suppress(OSError):
                    self.capture.record(
                        str(response.url), status, response.headers.multi_items(), body,
                        reason=response.reason_phrase, http_version=response.http_version,
                    )  # fmt: skip
            return _to_response(url, response, state, body)
        error = HTTPStatusError(_status_text(response), status=status)
        if status == 429 or status >= 500:
            raise _Retryable(error, retry_after_seconds(response.headers.get("retry-after")))
        raise error

    async def _read_body(self, response: httpx.Response) -> bytes:
        """Stream the body, undoing Content-Encoding, stopping past ``max_bytes``."""
        cap = self.settings.max_bytes
        too_large = TooLargeError(f"body over {_size(cap)}")
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise too_large
        coding = response.headers.get("content-encoding", "")
        decoder = BodyDecoder(coding)
        body = bytearray()

        def keep(pieces: Iterator[bytes]) -> None:
            for piece in pieces:
                body.extend(piece)
                if len(body) > cap:
                    raise too_large

        try:
            async for chunk in response.aiter_raw():
                if response.num_bytes_downloaded > cap:
                    raise too_large
                keep(decoder.feed(chunk))
            keep(decoder.finish())
        except _DECODE_ERRORS as exc:
            raise FetchError(
                f"could not decode the {coding.strip()} body: {exc}", reason="bad_encoding"
            ) from None
        return bytes(body)


async def fetch_many(
    fetcher: Fetcher, requests: Iterable[FetchRequest | str]
) -> list[FeedResponse | FetchError]:
    """Fetch all concurrently (within the fetcher's limits); results in input order."""

    async def one(req: FetchRequest) -> FeedResponse | FetchError:
        try:
            return await fetcher.fetch(req.url, state=req.state, source=req.source, via=req.via)
        except FetchError as exc:
            return exc

    reqs = [FetchRequest(r) if isinstance(r, str) else r for r in requests]
    return list(await asyncio.gather(*(one(r) for r in reqs)))


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


def _wants_socks(proxy: str) -> bool:
    """Would httpx go through a SOCKS proxy: the configured one, else (``trust_env``)
    one from the environment's ``*_proxy`` variables?"""
    if proxy:
        return proxy.lower().startswith("socks")
    return any(
        k.lower().endswith("_proxy") and v.strip().lower().startswith("socks")
        for k, v in os.environ.items()
    )


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


@functools.lru_cache(maxsize=256)
def _host_of(url: str) -> str:
    return check_url(url).host


def check_url(url: str) -> httpx.URL:
    """Parse ``url``; raise BlockedURLError unless it is http(s) with a host."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise FetchError(f"invalid URL: {exc}", url=str(url), reason="invalid_url") from None
    if parsed.scheme not in ALLOWED_SCHEMES:
        scheme = f"{parsed.scheme}: URLs are" if parsed.scheme else "URLs without a scheme are"
        raise BlockedURLError(f"{scheme} not allowed (only http and https)", url=url)
    if not parsed.host:
        raise FetchError("URL has no host", url=url, reason="invalid_url")
    return parsed


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if absent."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class _ZlibStage:
    """gzip or deflate (zlib-wrapped, falling back to raw deflate as browsers do)."""

    def __init__(self, gzip: bool) -> None:
        self._may_fall_back = not gzip
        self._d = zlib.decompressobj(zlib.MAX_WBITS | 32 if gzip else zlib.MAX_WBITS)

    def feed(self, data: bytes) -> Iterator[bytes]:
        try:
            out = self._d.decompress(data, _PIECE)
        except zlib.error:
            if not self._may_fall_back:
                raise
            self._d = zlib.decompressobj(-zlib.MAX_WBITS)
            out = self._d.decompress(data, _PIECE)
        self._may_fall_back = False
        while out:
            yield out
            out = self._d.decompress(self._d.unconsumed_tail, _PIECE)

    def finish(self) -> Iterator[bytes]:
        yield self._d.flush(_PIECE)


class _BrotliStage:
    def __init__(self) -> None:
        assert brotli is not None
        self._d = brotli.Decompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        out = self._d.process(data, output_buffer_limit=_PIECE)
        while out:
            yield out
            if self._d.is_finished():
                return
            out = self._d.process(b"", output_buffer_limit=_PIECE)

    def finish(self) -> Iterator[bytes]:
        return iter(())


class BodyDecoder:
    """Undo a Content-Encoding header ("gzip", "br", "deflate, gzip", …) in bounded pieces.

    Unknown codings are passed through, as httpx does.
    """

    def __init__(self, content_encoding: str) -> None:
        self.stages: list[_ZlibStage | _BrotliStage] = []
        for coding in reversed([c.strip().lower() for c in content_encoding.split(",")]):
            if coding in ("gzip", "x-gzip"):
                self.stages.append(_ZlibStage(gzip=True))
            elif coding == "deflate":
                self.stages.append(_ZlibStage(gzip=False))
            elif coding == "br" and brotli is not None:
                self.stages.append(_BrotliStage())

    def feed(self, data: bytes) -> Iterator[bytes]:
        return self._through(0, data)

    def finish(self) -> Iterator[bytes]:
        for i, stage in enumerate(self.stages):
            for piece in stage.finish():
                yield from self._through(i + 1, piece)

    def _through(self, i: int, data: bytes) -> Iterator[bytes]:
        if i == len(self.stages):
            if data:
                yield data
            return
        for piece in self.stages[i].feed(data):
            yield from self._through(i + 1, piece)


def _to_response(
    url: str, response: httpx.Response, state: FeedState, body: bytes = b""
) -> FeedResponse:
    h = response.headers
    if response.status_code == 304:  # keep what we had unless the server sent fresher validators
        new_state = FeedState(
            etag=h.get("etag") or state.etag,
            last_modified=h.get("last-modified") or state.last_modified,
        )
    else:
        new_state = FeedState(etag=h.get("etag", ""), last_modified=h.get("last-modified", ""))
    ctype = h.get("content-type", "")
    return FeedResponse(
        url=url,
        final_url=str(response.url),
        status=response.status_code,
        body=body,
        content_type=ctype.partition(";")[0].strip().lower(),
        charset=_charset(ctype),
        state=new_state,
    )


def _header_bytes(value: str) -> bytes:
    """A stored validator as the bytes the server sent; b"" when it cannot be sent back."""
    value = value.strip()
    try:
        raw = value.encode("latin-1")  # how httpx decodes header bytes that are not UTF-8
    except UnicodeEncodeError:
        raw = value.encode("utf-8")
    return b"" if any(b < 0x20 and b != 0x09 or b == 0x7F for b in raw) else raw


@functools.lru_cache(maxsize=256)
def _charset(content_type: str) -> str:
    """The charset parameter of a Content-Type header, lower-cased; "" if none
    (a server sends the same few headers: each is parsed once)."""
    msg = email.message.Message()
    msg["content-type"] = content_type
    return msg.get_content_charset("") or ""


def _status_text(response: httpx.Response) -> str:
    code = response.status_code
    phrase = httpx.codes.get_reason_phrase(code) or response.reason_phrase
    return f"HTTP {code} {phrase}".strip()


def _after(error: FetchError, attempts: int) -> FetchError:
    if attempts > 1:
        error.message = f"{error.message} (after {attempts} attempts)"
    return error


def _map_httpx(exc: Exception, s: FetchSettings) -> FetchError | _Retryable:
    """Translate an httpx exception: a FetchError, or a _Retryable wrapping one."""
    if isinstance(exc, httpx.TimeoutException):
        what, secs = {
            httpx.ConnectTimeout: ("connecting", s.connect_timeout),
            httpx.WriteTimeout: ("sending", s.read_timeout),
            httpx.PoolTimeout: ("waiting for a connection", s.connect_timeout),
        }.get(type(exc), ("reading", s.read_timeout))
        return _Retryable(FetchTimeoutError(f"timed out after {secs:g}s {what}"))
    if isinstance(exc, httpx.UnsupportedProtocol):
        return BlockedURLError(f"not allowed: {exc}")
    if isinstance(exc, httpx.InvalidURL):
        return FetchError(f"invalid URL: {exc}", reason="invalid_url")
    if isinstance(exc, httpx.ConnectError):
        reason, message, again = classify_connect_error(exc)
        error = ConnectError(message, reason=reason)
        return _Retryable(error) if again else error
    if isinstance(exc, httpx.ProxyError):
        return _Retryable(ConnectError(f"proxy failed: {exc}"))
    if isinstance(exc, httpx.TransportError) and not isinstance(exc, httpx.LocalProtocolError):
        what = (
            "broken HTTP response"
            if isinstance(exc, httpx.RemoteProtocolError)
            else "connection lost"
        )
        return _Retryable(ConnectError(f"{what}: {_cause(exc)}"))
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


def _size(n: int) -> str:
    if n % MiB == 0:
        return f"{n // MiB} MiB"
    if n % 1024 == 0:
        return f"{n // 1024} KiB"
    return f"{n} bytes"
