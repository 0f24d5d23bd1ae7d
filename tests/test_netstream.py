"""The fetcher's connections on asyncio streams: its own HTTP/1.1 transport
(``fetch_transport``, h11) and, with HTTP/2 on, httpcore's pool on the
``netstream`` backend. Both: plain HTTP and TLS, kept alive and re-made when the
server closed them, and TLS failures said as before."""

from __future__ import annotations

import asyncio
import os
import shutil
import ssl
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from newsmirror.errors import ConnectError
from newsmirror.fetch import Fetcher, FetchSettings
from newsmirror.fetch_transport import H11Transport
from newsmirror.loopback import LoopbackServer
from newsmirror.netstream import AsyncioBackend

ONE_TRY = FetchSettings(retries=0, per_host=1, concurrency=1)
SETTINGS = pytest.mark.parametrize(
    "settings", [ONE_TRY, replace(ONE_TRY, http2=True)], ids=["h11", "httpcore"]
)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (certificate file, key file)."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed (.ci/run installs it)")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def _tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*map(str, certificate))
    return ctx


def _fetch_all(urls: list[str], settings: FetchSettings = ONE_TRY, pause: float = 0.0) -> list:
    async def go() -> list:
        out = []
        async with Fetcher(settings) as f:
            transport = f._client._transport  # type: ignore[union-attr]
            if settings.http2:
                assert isinstance(transport._pool._network_backend, AsyncioBackend)
            else:
                assert isinstance(transport, H11Transport)
            for url in urls:
                try:
                    out.append((await f.fetch(url)).body)
                except ConnectError as e:
                    out.append(e)
                await asyncio.sleep(pause)
        return out

    return asyncio.run(go())


@SETTINGS
def test_plain_and_tls_fetches_go_through_asyncio_streams(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, settings: FetchSettings
) -> None:
    """Pages over HTTP and HTTPS, one kept-alive connection each (one handshake for
    three pages), read through the asyncio backend."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    with LoopbackServer() as plain, LoopbackServer(tls=_tls(certificate)) as tls:
        for srv in (plain, tls):
            for k in range(3):
                srv.add(f"/p{k}", f"第{k}頁 ".encode() * 2000)
        assert tls.base_url.startswith("https://")
        urls = [srv.url(f"/p{k}") for srv in (plain, tls) for k in range(3)]
        got = _fetch_all(urls, settings)
        assert got == [f"第{k}頁 ".encode() * 2000 for _ in range(2) for k in range(3)]
        assert len({r.client for r in tls.requests}) == 1  # (kept alive)
        assert len({r.client for r in plain.requests}) == 1


@SETTINGS
def test_a_connection_the_server_closed_is_not_used_again(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, settings: FetchSettings
) -> None:
    """The server closes a kept-alive connection after 0.2 s idle: the next fetch (no
    retries) sees it closed before sending and opens a new one, on HTTP and HTTPS."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    with LoopbackServer() as plain, LoopbackServer(tls=_tls(certificate)) as tls:
        for srv in (plain, tls):
            srv.add("/a", b"first")
            srv.add("/b", b"second")
            srv._httpd.RequestHandlerClass.timeout = 0.2  # type: ignore[attr-defined]
        for srv in (plain, tls):
            assert _fetch_all([srv.url("/a"), srv.url("/b")], settings, pause=0.6) == [b"first", b"second"]
            assert len({r.client for r in srv.requests}) == 2


@SETTINGS
def test_an_untrusted_certificate_is_a_connect_error_that_says_so(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, settings: FetchSettings
) -> None:
    """A certificate no trusted authority signed: a ConnectError naming the TLS
    verification, as with httpx's own network layer; no request is sent."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    with LoopbackServer(tls=_tls(certificate)) as tls:
        tls.add("/a", b"x")
        (err,) = _fetch_all([tls.url("/a")], settings)
        assert isinstance(err, ConnectError), err
        assert err.reason == "connect"
        assert "TLS certificate rejected" in str(err), str(err)
        assert tls.requests == []


class _RawServer:
    """An HTTP/1.1 server on a raw socket: its k-th connection answers its requests with
    ``answers[k]`` in turn, then closes; ``None`` closes at once without an answer."""

    def __init__(self, *answers: list[bytes | None]) -> None:
        self.answers = answers
        self.connections = 0
        self.requests = 0
        self.heads: list[bytes] = []

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        for answer in self.answers[min(self.connections, len(self.answers)) - 1]:
            try:
                self.heads.append(await reader.readuntil(b"\r\n\r\n"))
            except (asyncio.IncompleteReadError, ConnectionError):
                break
            self.requests += 1
            if answer is None:
                break
            writer.write(answer)
            await writer.drain()
        writer.close()

    def fetch(self, *paths: str) -> list[bytes | Exception]:
        async def go() -> list[bytes | Exception]:
            server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
            port = server.sockets[0].getsockname()[1]
            out: list[bytes | Exception] = []
            try:
                async with Fetcher(replace(ONE_TRY, allow_private=True)) as f:
                    for path in paths:
                        try:
                            out.append((await f.fetch(f"http://127.0.0.1:{port}{path}")).body)
                        except Exception as e:  # (the FetchError said)
                            out.append(e)
            finally:
                server.close()
            return out

        return asyncio.run(go())


def _ok(body: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


def test_a_kept_connection_closed_in_the_request_is_tried_once_more_anew() -> None:
    """The server reads the second request on the kept connection and closes it without
    an answer: the fetch (no retries) is sent once more, on a new connection."""
    srv = _RawServer([_ok(b"one"), None], [_ok(b"two")])
    assert srv.fetch("/a", "/b") == [b"one", b"two"]
    assert (srv.connections, srv.requests) == (2, 3)


def test_a_new_connection_closed_without_an_answer_is_an_error() -> None:
    srv = _RawServer([None])
    (err,) = srv.fetch("/a")
    assert isinstance(err, ConnectError), err
    assert "broken HTTP response" in str(err), str(err)
    assert (srv.connections, srv.requests) == (1, 1)


def test_a_body_cut_short_is_an_error_and_its_connection_is_not_kept() -> None:
    srv = _RawServer([b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"], [_ok(b"x")])
    err, again = srv.fetch("/a", "/b")
    assert isinstance(err, ConnectError) and "broken HTTP response" in str(err), err
    assert again == b"x"
    assert srv.connections == 2


def test_a_304_and_a_whole_body_keep_the_connection_an_unread_body_does_not() -> None:
    """A 304 (no body) and a 200 read to its end leave the connection for the next
    request; a 404's body, not read, closes it."""
    not_modified = b'HTTP/1.1 304 Not Modified\r\nETag: "e"\r\n\r\n'
    missing = b"HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\n\r\ngone!"
    srv = _RawServer([not_modified, _ok(b"two"), missing], [_ok(b"four")])
    got = srv.fetch("/a", "/b", "/c", "/d")
    assert got[0] == b"" and got[1] == b"two" and got[3] == b"four", got
    assert isinstance(got[2], Exception) and "404" in str(got[2])
    assert (srv.connections, srv.requests) == (2, 4)


def test_a_cookie_the_server_sets_goes_with_the_next_requests() -> None:
    """The client's jar skips responses without Set-Cookie, and keeps what one sets."""
    sets = b"HTTP/1.1 302 Found\r\nSet-Cookie: consent=yes; Path=/\r\nLocation: /b\r\n"
    srv = _RawServer([_ok(b"plain"), sets + b"Content-Length: 0\r\n\r\n", _ok(b"b"), _ok(b"c")])
    assert srv.fetch("/plain", "/a", "/c") == [b"plain", b"b", b"c"]
    cookies = [[ln for ln in h.split(b"\r\n") if ln.lower().startswith(b"cookie:")] for h in srv.heads]
    assert cookies == [[], [], [b"Cookie: consent=yes"], [b"Cookie: consent=yes"]], srv.heads


def test_the_run_imports_neither_httpx_command_line_tool_nor_httpcore() -> None:
    """What a run imports to fetch: httpx without its command-line tool (click, rich's
    syntax highlighting, pygments), and the direct transport without httpcore or anyio
    (they come only with HTTP/2 or a proxy)."""
    import subprocess
    import sys

    code = (
        "import asyncio, sys\n"
        "import newsmirror.pipeline\n"
        "from newsmirror.fetch import Fetcher\n"
        "async def go():\n"
        "    async with Fetcher():\n"
        "        pass\n"
        "asyncio.run(go())\n"
        "print(sorted(m for m in ('httpx._main', 'pygments', 'click', 'httpcore', 'anyio')"
        " if sys.modules.get(m) is not None))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
