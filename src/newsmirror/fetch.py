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

The client is made, and httpx's exceptions translated, in
:mod:`newsmirror.fetch_client`; a body is read, its Content-Encoding undone and the
FeedResponse made in :mod:`newsmirror.fetch_response`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import random
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from .errors import BlockedURLError, ConnectError, FetchError, FetchTimeoutError, HTTPStatusError
from .fetch_client import Retryable, map_httpx, open_client
from .fetch_response import read_body, retry_after_seconds, status_text, to_response
from .models import FeedResponse, FeedState
from .netpolicy import blocked_reason, literal_ip
from .settings import DEFAULT_USER_AGENT as DEFAULT_USER_AGENT
from .settings import PROXY_SCHEMES as PROXY_SCHEMES
from .settings import FetchSettings as FetchSettings

if TYPE_CHECKING:
    from .hostgate import HostGate

ALLOWED_SCHEMES = frozenset({"http", "https"})
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
        self._client = open_client(self.settings)
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
            except Retryable as retry:
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
                    error = map_httpx(exc, self.settings)
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
            raise map_httpx(exc, self.settings) from None
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
            return to_response(url, response, state)
        if 200 <= status < 300:
            body = await read_body(response, self.settings.max_bytes)
            if self.capture is not None:
                with contextlib.suppress(OSError):
                    self.capture.record(
                        str(response.url), status, response.headers.multi_items(), body,
                        reason=response.reason_phrase, http_version=response.http_version,
                    )  # fmt: skip
            return to_response(url, response, state, body)
        error = HTTPStatusError(status_text(response), status=status)
        if status == 429 or status >= 500:
            raise Retryable(error, retry_after_seconds(response.headers.get("retry-after")))
        raise error


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


def _header_bytes(value: str) -> bytes:
    """A stored validator as the bytes the server sent; b"" when it cannot be sent back."""
    value = value.strip()
    try:
        raw = value.encode("latin-1")  # how httpx decodes header bytes that are not UTF-8
    except UnicodeEncodeError:
        raw = value.encode("utf-8")
    return b"" if any(b < 0x20 and b != 0x09 or b == 0x7F for b in raw) else raw


def _after(error: FetchError, attempts: int) -> FetchError:
    if attempts > 1:
        error.message = f"{error.message} (after {attempts} attempts)"
    return error
