"""The fetcher's connections on asyncio streams (``netstream``): plain HTTP and
TLS, kept alive and re-made when the server closed them, and TLS failures said
as before."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest

from newsmirror.errors import ConnectError
from newsmirror.fetch import Fetcher, FetchSettings
from newsmirror.loopback import LoopbackServer
from newsmirror.netstream import AsyncioBackend

ONE_TRY = FetchSettings(retries=0, per_host=1, concurrency=1)


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
            pool = f._client._transport._pool  # type: ignore[union-attr]
            assert isinstance(pool._network_backend, AsyncioBackend)
            for url in urls:
                try:
                    out.append((await f.fetch(url)).body)
                except ConnectError as e:
                    out.append(e)
                await asyncio.sleep(pause)
        return out

    return asyncio.run(go())


def test_plain_and_tls_fetches_go_through_asyncio_streams(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
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
        got = _fetch_all(urls)
        assert got == [f"第{k}頁 ".encode() * 2000 for _ in range(2) for k in range(3)]
        assert len({r.client for r in tls.requests}) == 1  # (kept alive)
        assert len({r.client for r in plain.requests}) == 1


def test_a_connection_the_server_closed_is_not_used_again(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
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
            assert _fetch_all([srv.url("/a"), srv.url("/b")], pause=0.6) == [b"first", b"second"]
            assert len({r.client for r in srv.requests}) == 2


def test_an_untrusted_certificate_is_a_connect_error_that_says_so(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A certificate no trusted authority signed: a ConnectError naming the TLS
    verification, as with httpx's own network layer; no request is sent."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    with LoopbackServer(tls=_tls(certificate)) as tls:
        tls.add("/a", b"x")
        (err,) = _fetch_all([tls.url("/a")])
        assert isinstance(err, ConnectError), err
        assert err.reason == "connect"
        assert "TLS certificate rejected" in str(err), str(err)
        assert tls.requests == []
