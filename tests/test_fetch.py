"""The fetch stage against a real HTTP server on 127.0.0.1 (tests/loopback.py)."""

from __future__ import annotations

import asyncio
import gzip
import os
import socket
import tracemalloc
import zlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import brotli
import httpx
import pytest

from newsmirror.errors import (
    BlockedURLError,
    ConfigError,
    ConnectError,
    FetchError,
    FetchTimeoutError,
    HTTPStatusError,
    TooLargeError,
)
from newsmirror.fetch import (
    DEFAULT_USER_AGENT,
    NO_STATE,
    Fetcher,
    FetchRequest,
    FetchSettings,
    fetch_many,
)
from newsmirror.fetch_client import classify_connect_error
from newsmirror.fetch_response import BodyDecoder, retry_after_seconds
from newsmirror.loopback import LoopbackServer, gzip_bomb, http_date, serving
from newsmirror.models import FeedResponse, FeedState
from newsmirror.settings import MiB

server = pytest.fixture(serving, name="server")

FAST = FetchSettings(
    connect_timeout=2, read_timeout=2, total_timeout=20, backoff_base=0.01, backoff_max=10
)
ETAG = '"v1-abc"'
LAST_MODIFIED = "Wed, 01 Jan 2025 08:00:00 GMT"
FEED = (
    '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
    "<title>測試新聞</title><item><title>港口貨運量創下新高</title>"
    "<link>https://news.example/a/1</link></item></channel></rss>"
).encode()
TEXT = ("這是一段用來測試壓縮的合成中文段落，內容重複出現。" * 300).encode()


class SleepRecorder:
    """Stands in for asyncio.sleep: records the delays, waits for nothing."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def fetch(
    url: str,
    settings: FetchSettings = FAST,
    sleep: SleepRecorder | None = None,
    *,
    state: FeedState = NO_STATE,
    source: str = "test",
) -> FeedResponse:
    async def go() -> FeedResponse:
        async with Fetcher(settings, sleep=sleep or SleepRecorder()) as fetcher:
            return await fetcher.fetch(url, state=state, source=source)

    return asyncio.run(go())


def tuned(**changes: object) -> FetchSettings:
    """FAST with some settings changed."""
    return replace(FAST, **changes)  # type: ignore[arg-type]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---- success, validators, conditional GET ---------------------------------


def test_ok_body_type_charset_and_validators(server: LoopbackServer) -> None:
    server.add(
        "/feed.xml",
        FEED,
        content_type="application/RSS+xml; charset=UTF-8",
        etag=ETAG,
        last_modified=LAST_MODIFIED,
    )
    resp = fetch(server.url("/feed.xml"))
    assert resp.status == 200 and not resp.not_modified
    assert resp.body == FEED
    assert resp.content_type == "application/rss+xml"
    assert resp.charset == "utf-8"
    assert resp.state == FeedState(etag=ETAG, last_modified=LAST_MODIFIED)
    assert resp.url == resp.final_url == server.url("/feed.xml")
    assert resp.attempts == 1
    assert server.last_request("/feed.xml").headers["user-agent"] == DEFAULT_USER_AGENT


def test_legacy_charset_passed_through_untouched(server: LoopbackServer) -> None:
    page = "<p>今日天氣晴朗</p>".encode("gb18030")
    server.add("/gbk.html", page, content_type="text/html; charset=GB2312")
    resp = fetch(server.url("/gbk.html"))
    assert (resp.content_type, resp.charset, resp.body) == ("text/html", "gb2312", page)


def test_custom_user_agent_is_sent(server: LoopbackServer) -> None:
    server.add("/ua", b"ok")
    fetch(server.url("/ua"), tuned(user_agent="mirror-bot/2"))
    assert server.last_request("/ua").headers["user-agent"] == "mirror-bot/2"


def test_second_fetch_with_state_is_not_modified(server: LoopbackServer) -> None:
    server.add("/feed.xml", FEED, etag=ETAG, last_modified=LAST_MODIFIED)
    first = fetch(server.url("/feed.xml"))
    second = fetch(server.url("/feed.xml"), state=first.state)
    assert second.status == 304 and second.not_modified
    assert second.body == b""
    assert second.state == first.state
    assert server.conditional_hits["/feed.xml"] == 1
    sent = server.last_request("/feed.xml").headers
    assert sent["if-none-match"] == ETAG
    assert sent["if-modified-since"] == LAST_MODIFIED


def test_last_modified_alone_gives_304_and_stale_etag_gives_200(server: LoopbackServer) -> None:
    server.add("/lm", FEED, last_modified=LAST_MODIFIED)
    resp = fetch(server.url("/lm"), state=FeedState(last_modified=LAST_MODIFIED))
    assert resp.status == 304
    assert resp.state == FeedState(last_modified=LAST_MODIFIED)
    server.add("/changed", FEED, etag='"v2"')
    resp = fetch(server.url("/changed"), state=FeedState(etag='"v1"'))
    assert resp.status == 200 and resp.body == FEED
    assert resp.state.etag == '"v2"'
    assert server.conditional_hits.total() == 1


def test_odd_validators_are_sent_back_or_dropped(server: LoopbackServer) -> None:
    server.add("/odd", FEED, etag='"caf\u00e9"')  # http.server sends it as latin-1
    first = fetch(server.url("/odd"))
    assert first.state.etag == '"caf\u00e9"'
    assert fetch(server.url("/odd"), state=first.state).status == 304
    unsendable = FeedState(etag="a\nb", last_modified="\x00")
    assert fetch(server.url("/odd"), state=unsendable).status == 200
    assert "if-none-match" not in server.last_request("/odd").headers


# ---- status errors and retries ----------------------------------------------


def test_404_is_not_retried(server: LoopbackServer) -> None:
    sleep = SleepRecorder()
    with pytest.raises(HTTPStatusError) as info:
        fetch(server.url("/missing"), sleep=sleep, source="cna")
    err = info.value
    assert (err.status, err.reason, err.message) == (404, "http_404", "HTTP 404 Not Found")
    assert (err.source, err.url) == ("cna", server.url("/missing"))
    assert str(err) == f"cna: {server.url('/missing')}: HTTP 404 Not Found"
    assert server.hits["/missing"] == 1
    assert sleep.calls == []


def test_500_retried_with_bounded_jittered_backoff_then_fails(server: LoopbackServer) -> None:
    server.add("/broken", b"oops", status=500)
    sleep = SleepRecorder()
    with pytest.raises(HTTPStatusError) as info:
        fetch(server.url("/broken"), tuned(retries=2, backoff_base=1.0), sleep)
    assert info.value.status == 500
    assert info.value.message == "HTTP 500 Internal Server Error (after 3 attempts)"
    assert server.hits["/broken"] == 3
    assert len(sleep.calls) == 2
    assert 0 <= sleep.calls[0] <= 1.0 and 0 <= sleep.calls[1] <= 2.0


def test_503_twice_then_ok(server: LoopbackServer) -> None:
    server.add("/flaky", FEED, fail_times=2)
    sleep = SleepRecorder()
    resp = fetch(server.url("/flaky"), sleep=sleep)
    assert resp.status == 200 and resp.body == FEED
    assert resp.attempts == 3
    assert server.hits["/flaky"] == 3
    assert len(sleep.calls) == 2


def test_429_retry_after_is_honoured_and_capped(server: LoopbackServer) -> None:
    server.add("/busy", FEED, fail_times=1, fail_status=429, retry_after=7)
    sleep = SleepRecorder()
    assert fetch(server.url("/busy"), sleep=sleep).body == FEED
    assert sleep.calls == [7.0]
    server.add("/busier", FEED, fail_times=1, fail_status=429, retry_after=3600)
    sleep = SleepRecorder()
    assert fetch(server.url("/busier"), sleep=sleep).attempts == 2
    assert sleep.calls == [FAST.backoff_max]


def test_retry_after_longer_than_the_deadline_fails_at_once(server: LoopbackServer) -> None:
    server.add("/later", FEED, fail_times=5, fail_status=429, retry_after=30)
    sleep = SleepRecorder()
    with pytest.raises(HTTPStatusError) as info:
        fetch(server.url("/later"), tuned(total_timeout=3, backoff_max=60), sleep)
    assert info.value.status == 429
    assert sleep.calls == []
    assert server.hits["/later"] == 1


def test_retry_after_values() -> None:
    now = datetime(2025, 1, 1, 8, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("120") == 120.0
    assert retry_after_seconds(http_date(now + timedelta(seconds=90)), now=now) == 90.0
    assert retry_after_seconds(http_date(now - timedelta(seconds=90)), now=now) == 0.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


# ---- encodings --------------------------------------------------------------


@pytest.mark.parametrize("coding", ["gzip", "deflate", "brotli"])
def test_compressed_bodies_are_decoded(server: LoopbackServer, coding: str) -> None:
    route = server.add("/z", TEXT, **{coding: True})
    assert len(route.body) < len(TEXT) // 10  # really sent compressed
    resp = fetch(server.url("/z"))
    assert resp.body == TEXT
    assert "br" in server.last_request("/z").headers["accept-encoding"]


def test_raw_deflate_and_stacked_encodings_decode() -> None:
    raw = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    data = raw.compress(TEXT) + raw.flush()
    assert b"".join(BodyDecoder("deflate").feed(data)) == TEXT
    stacked = brotli.compress(gzip.compress(TEXT))
    dec = BodyDecoder("gzip, br")
    assert b"".join([*dec.feed(stacked), *dec.finish()]) == TEXT


def test_broken_gzip_is_a_fetch_error(server: LoopbackServer) -> None:
    server.add("/bad", b"this is not gzip at all", headers={"Content-Encoding": "gzip"})
    with pytest.raises(FetchError) as info:
        fetch(server.url("/bad"))
    assert info.value.reason == "bad_encoding"


# ---- redirects and URL policy ---------------------------------------------------


def test_redirect_chain_is_followed(server: LoopbackServer) -> None:
    server.redirect("/a", "/b", status=301)
    server.redirect("/b", server.url("/c"), status=302)
    server.add("/c", FEED)
    resp = fetch(server.url("/a"))
    assert resp.url == server.url("/a")
    assert resp.final_url == server.url("/c")
    assert resp.body == FEED
    assert [server.hits[p] for p in ("/a", "/b", "/c")] == [1, 1, 1]


def test_redirect_to_file_url_is_blocked(server: LoopbackServer) -> None:
    server.redirect("/sneaky", "file:///etc/passwd")
    with pytest.raises(BlockedURLError) as info:
        fetch(server.url("/sneaky"))
    assert info.value.reason == "blocked_url"
    assert "file://" in info.value.message
    assert info.value.url == server.url("/sneaky")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/feed.xml", "feed.xml"])
def test_non_http_urls_are_blocked(url: str) -> None:
    with pytest.raises(BlockedURLError):
        fetch(url)


def test_redirect_loop_stops(server: LoopbackServer) -> None:
    server.redirect("/loop", "/loop")
    with pytest.raises(FetchError) as info:
        fetch(server.url("/loop"), tuned(max_redirects=3))
    assert info.value.reason == "redirects"
    assert server.hits["/loop"] == 4


# ---- size cap -----------------------------------------------------------------------


@pytest.mark.parametrize("chunked", [False, True])
def test_body_over_the_cap_is_refused(server: LoopbackServer, chunked: bool) -> None:
    server.add("/huge", b"x" * 65536, repeat=40, chunked=chunked)  # 2.5 MiB
    with pytest.raises(TooLargeError) as info:
        fetch(server.url("/huge"), tuned(max_bytes=MiB))
    assert info.value.message == "body over 1 MiB"
    assert info.value.reason == "too_large"


def test_body_exactly_at_the_cap_is_kept(server: LoopbackServer) -> None:
    server.add("/full", b"y" * 65536, repeat=16, chunked=True)
    assert len(fetch(server.url("/full"), tuned(max_bytes=MiB)).body) == MiB


@pytest.mark.parametrize("coding", ["gzip", "br"])
def test_compression_bomb_stops_at_the_cap_without_inflating(
    server: LoopbackServer, coding: str
) -> None:
    size = 50_000_000
    bomb = gzip_bomb(size) if coding == "gzip" else brotli.compress(bytes(size), quality=5)
    assert len(bomb) < 100_000
    server.add("/bomb", bomb, headers={"Content-Encoding": coding})
    tracemalloc.start()
    try:
        with pytest.raises(TooLargeError):
            fetch(server.url("/bomb"), tuned(max_bytes=MiB))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * MiB  # inflating one 64 KiB network chunk at once would take ~50 MB


# ---- timeouts and connection failures -------------------------------------------


def test_slow_answer_times_out_reading_and_is_retried(server: LoopbackServer) -> None:
    server.add("/slow", FEED, delay=1.5)
    with pytest.raises(FetchTimeoutError) as info:
        fetch(server.url("/slow"), tuned(read_timeout=0.2, retries=1))
    assert info.value.reason == "timeout"
    assert info.value.message == "timed out after 0.2s reading (after 2 attempts)"
    assert server.hits["/slow"] == 2


@pytest.mark.timeout(15)
def test_drip_fed_body_is_cut_by_the_total_timeout(server: LoopbackServer) -> None:
    server.add("/drip", b"z" * 400, drip=0.05)  # 20 s to send, every byte well within read_timeout
    with pytest.raises(FetchTimeoutError) as info:
        fetch(server.url("/drip"), tuned(read_timeout=2, total_timeout=0.5))
    assert info.value.message == "timed out after 0.5s in total"


def test_refused_connection_is_a_connect_error() -> None:
    sleep = SleepRecorder()
    url = f"http://127.0.0.1:{free_port()}/feed.xml"
    with pytest.raises(ConnectError) as info:
        fetch(url, tuned(retries=1), sleep, source="voa")
    err = info.value
    assert err.reason == "connect"
    assert err.message == "connection refused (after 2 attempts)"
    assert (err.source, err.url) == ("voa", url)
    assert len(sleep.calls) == 1


def test_connect_errors_are_classified_from_their_cause() -> None:
    def wrapped(cause: BaseException) -> httpx.ConnectError:
        try:
            raise httpx.ConnectError(str(cause)) from cause
        except httpx.ConnectError as exc:
            return exc

    nxdomain = wrapped(socket.gaierror(socket.EAI_NONAME, "Name or service not known"))
    assert classify_connect_error(nxdomain) == ("dns", "name does not resolve", False)
    flaky_dns = wrapped(socket.gaierror(socket.EAI_AGAIN, "Temporary failure"))
    assert classify_connect_error(flaky_dns) == ("dns", "name does not resolve", True)
    refused = wrapped(ConnectionRefusedError(111, "Connection refused"))
    assert classify_connect_error(refused) == ("connect", "connection refused", True)


# ---- concurrency --------------------------------------------------------------------


def run_many(urls: list[str], fetch_settings: FetchSettings) -> list[FeedResponse | FetchError]:
    async def go() -> list[FeedResponse | FetchError]:
        async with Fetcher(fetch_settings, sleep=SleepRecorder()) as fetcher:
            return await fetch_many(fetcher, urls)

    return asyncio.run(go())


@pytest.mark.parametrize(("per_host", "concurrency", "expected"), [(1, 8, 1), (2, 8, 2), (8, 3, 3)])
def test_per_host_and_global_limits(
    server: LoopbackServer, per_host: int, concurrency: int, expected: int
) -> None:
    urls = []
    for i in range(5):
        server.add(f"/slow/{i}", b"ok", delay=0.1)
        urls.append(server.url(f"/slow/{i}"))
    results = run_many(urls, tuned(per_host=per_host, concurrency=concurrency))
    assert all(isinstance(r, FeedResponse) and r.status == 200 for r in results)
    assert server.max_concurrent("/slow/") == expected


def test_time_queued_for_a_slot_does_not_count_against_the_deadline(
    server: LoopbackServer,
) -> None:
    for i in range(4):
        server.add(f"/q/{i}", b"ok", delay=0.25)
    urls = [server.url(f"/q/{i}") for i in range(4)]
    # Counting the queue, the last would need 1 s against a 0.7 s deadline.
    results = run_many(urls, tuned(concurrency=1, total_timeout=0.7, read_timeout=2))
    assert [getattr(r, "status", r) for r in results] == [200] * 4
    assert server.max_concurrent("/q/") == 1


def test_fetch_many_keeps_order_and_returns_errors(server: LoopbackServer) -> None:
    server.add("/one", b"1")
    reqs = [
        FetchRequest(server.url("/one"), source="a"),
        FetchRequest(server.url("/two"), source="b"),
        server.url("/one"),
    ]
    results = run_many(reqs, FAST)  # type: ignore[arg-type]
    assert isinstance(results[0], FeedResponse) and results[0].body == b"1"
    assert isinstance(results[1], HTTPStatusError) and results[1].source == "b"
    assert isinstance(results[2], FeedResponse)


# ---- settings and the loopback server itself ---------------------------------------------


def test_settings_are_validated() -> None:
    with pytest.raises(ConfigError, match="fetch.proxy"):
        FetchSettings(proxy="ftp://proxy.example:21")
    with pytest.raises(ConfigError, match="per_host"):
        FetchSettings(per_host=0)
    assert FetchSettings(proxy="socks5://127.0.0.1:1080").proxy.startswith("socks5")


def test_fetcher_with_socks_proxy_opens_and_closes() -> None:
    async def go() -> None:
        async with Fetcher(FetchSettings(proxy="socks5://127.0.0.1:1080")):
            pass

    asyncio.run(go())


def test_loopback_serves_non_ascii_paths_and_head(server: LoopbackServer) -> None:
    server.add("/新聞/要聞.xml", FEED)
    assert server.url("/新聞/要聞.xml").endswith("/%E6%96%B0%E8%81%9E/%E8%A6%81%E8%81%9E.xml")
    with httpx.Client() as client:
        assert client.get(server.url("/新聞/要聞.xml")).content == FEED
        head = client.head(server.url("/新聞/要聞.xml?x=1"))
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(FEED))
    assert server.hits["/新聞/要聞.xml"] == 1 and server.hits["/新聞/要聞.xml?x=1"] == 1


def corpus_feeds() -> Path:
    root = os.environ.get("NEWSMIRROR_CORPUS")
    base = Path(root) if root else Path(__file__).resolve().parents[2] / "shared" / "corpus"
    return base / "feeds"


def test_serve_dir_serves_the_corpus_with_validators(server: LoopbackServer) -> None:
    folder = corpus_feeds()
    if not folder.is_dir():
        pytest.skip(f"corpus not found at {folder}")
    paths = server.serve_dir("/feeds", folder)
    assert "/feeds/greatfire/bbc.xml" in paths
    original = (folder / "greatfire" / "bbc.xml").read_bytes()
    first = fetch(server.url("/feeds/greatfire/bbc.xml"))
    assert first.body == original
    assert first.content_type == "application/xml"
    again = fetch(server.url("/feeds/greatfire/bbc.xml"), state=first.state)
    assert again.status == 304


LEFT_OUT = """
import asyncio, sys
from newsmirror.fetch import Fetcher, FetchSettings

async def main():
    async with Fetcher(FetchSettings()):
        print("h2" in sys.modules, "socksio" in sys.modules)
    async with Fetcher(FetchSettings(proxy="socks5://127.0.0.1:1080")) as f:
        print(sorted(type(t._pool).__name__ for t in f._client._mounts.values() if t))
    async with Fetcher(FetchSettings(http2=True)):
        from httpcore._async.http2 import AsyncHTTP2Connection
        print(AsyncHTTP2Connection.__name__)

asyncio.run(main())
"""


def test_httpcore_is_imported_without_http2_and_socks_until_a_fetcher_needs_them() -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    out = subprocess.run([sys.executable, "-c", LEFT_OUT], capture_output=True, text=True,
                         env=env, check=True, timeout=120).stdout.split("\n")  # fmt: skip
    assert out[:3] == ["False False", "['AsyncSOCKSProxy']", "AsyncHTTP2Connection"]
