"""The fault server: a real HTTP server on 127.0.0.1 whose routes misbehave on purpose.

:class:`FaultServer` is a :class:`~newsmirror.loopback.LoopbackServer` with *raw*
routes: functions that write straight to the socket (a stall after the headers, an
endless body, a reset mid-body, broken chunking, a 100,000-item feed streamed as it
is generated). :func:`install_faults` registers every fault of the issue and returns
what each must come to (:class:`Fault`), for the CI tests and ``chaos/``.

Also here: :func:`install_connect_guard`, the backstop that refuses any connection
to a non-loopback address before a packet leaves (the SSRF faults name private
addresses; if a check ever let one through, nothing may reach the network), and
``python -m tests.faults run CONFIG``, the child that runs ``newsmirror run --json``
under that guard and reports its peak memory.
"""

from __future__ import annotations

import errno
import gzip
import io
import ipaddress
import json
import os
import resource
import socket
import struct
import sys
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import unquote

import pytest

from newsmirror.loopback import LoopbackServer

Raw = Callable[[BaseHTTPRequestHandler, "FaultServer"], None]
GUARD_REFUSED: list[str] = []  # non-loopback connects the guard refused in this process
GUARD_PORTS: set[int] = set()  # loopback ports refused too (to test the guard itself)

# ---- the connect guard -------------------------------------------------------------


def _loopback(address: object) -> bool:
    if not isinstance(address, tuple):
        return True  # AF_UNIX and the like never leave the machine
    if len(address) > 1 and address[1] in GUARD_PORTS:
        return False
    try:
        return ipaddress.ip_address(str(address[0]).partition("%")[0]).is_loopback
    except ValueError:
        return str(address[0]) in ("localhost", "localhost.localdomain")


def install_connect_guard() -> Callable[[], None]:
    """Refuse connect() to anything but loopback, in this process; returns the undo."""
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def connect(self: socket.socket, address: object) -> None:
        if not _loopback(address):
            GUARD_REFUSED.append(repr(address))
            raise ConnectionRefusedError(errno.ECONNREFUSED, f"guard: no route to {address!r}")
        return real_connect(self, address)  # type: ignore[arg-type]

    def connect_ex(self: socket.socket, address: object) -> int:
        if not _loopback(address):
            GUARD_REFUSED.append(repr(address))
            return errno.ECONNREFUSED
        return real_connect_ex(self, address)  # type: ignore[arg-type]

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]

    def undo() -> None:
        socket.socket.connect = real_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = real_connect_ex  # type: ignore[method-assign]

    return undo


@pytest.fixture
def connect_guard() -> Iterator[list[str]]:
    """The guard for one test; yields the list of refused addresses (must stay empty)."""
    GUARD_REFUSED.clear()
    undo = install_connect_guard()
    try:
        yield GUARD_REFUSED
    finally:
        undo()
        GUARD_PORTS.clear()


# ---- feeds (synthetic text) ----------------------------------------------------------

GOOD_TITLES = ("市議會通過新預算案", "山區道路今晨恢復通車", "港口貨運量創新高", "大學公布招生名額")


def rss(items: list[tuple[str, str, str]], *, title: str = "測試頻道", decl: str = "utf-8") -> str:
    """An RSS 2.0 document from (title, link, description-HTML) triples (text, not bytes)."""
    body = "".join(
        f"<item><title>{_x(t)}</title><link>{_x(link)}</link><guid>{_x(link)}</guid>"
        f"<pubDate>Tue, 24 Nov 2026 0{i % 10}:00:00 +0800</pubDate>"
        f"<description>{_x(d)}</description></item>"
        for i, (t, link, d) in enumerate(items)
    )
    return (
        f'<?xml version="1.0" encoding="{decl}"?><rss version="2.0"><channel>'
        f"<title>{_x(title)}</title><link>http://127.0.0.1/</link>{body}</channel></rss>"
    )


def _x(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def good_feed(base: str, tag: str, n: int = 4) -> bytes:
    items = [
        (f"{GOOD_TITLES[i % 4]}（{tag}{i}）", f"{base}/{tag}/{i}.html",
         f"<p>本報訊：{GOOD_TITLES[i % 4]}，相關單位表示將持續關注後續發展。</p>")
        for i in range(n)
    ]  # fmt: skip
    return rss(items).encode()


def gzip_bomb(gib: int = 4, *, layers: int = 2) -> bytes:
    """A gzip stream of ``gib`` GiB of zeros, gzipped again (``layers=2``): a few KB.

    Built from one full-flushed 1 MiB deflate segment repeated (identical bytes after
    a full flush), so it costs milliseconds; the trailer is never reached by a reader
    that stops at its cap, so its CRC is left as zero."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    segment = comp.compress(bytes(1 << 20)) + comp.flush(zlib.Z_FULL_FLUSH)
    head = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    inner = head + segment * (gib << 10) + b"\x03\x00" + struct.pack("<II", 0, 0)
    return gzip.compress(inner, 9, mtime=0) if layers == 2 else inner


def entity_bomb() -> bytes:
    lol = ['<!ENTITY lol0 "lollollollollollollollollollol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]
    return (
        '<?xml version="1.0"?><!DOCTYPE rss [' + "".join(lol) + ']><rss version="2.0">'
        "<channel><title>&lol9;</title><item><title>爆炸&lol9;</title>"
        "<link>http://127.0.0.1/bomb/1</link><description>&lol9;</description></item>"
        "</channel></rss>"
    ).encode()


def xxe_feeds(secret: Path) -> dict[str, bytes]:
    """Documents that try to read ``secret`` and /etc/passwd by every XML route."""
    uri = secret.as_uri()
    item = "<item><title>{t}</title><link>http://127.0.0.1/xxe/{n}</link><description>{d}</description></item>"
    docs = {
        "xxe-general": f'<!DOCTYPE rss [<!ENTITY s SYSTEM "{uri}"><!ENTITY p SYSTEM "file:///etc/passwd">]>'
        '<rss version="2.0"><channel><title>&s;</title>'
        + item.format(t="外部&s;", n=1, d="&s;&p;") + "</channel></rss>",
        "xxe-parameter": f'<!DOCTYPE rss [<!ENTITY % s SYSTEM "{uri}"> %s;]>'
        '<rss version="2.0"><channel>' + item.format(t="參數實體", n=2, d="x") + "</channel></rss>",
        "xxe-dtd": f'<!DOCTYPE rss SYSTEM "{uri}"><rss version="2.0"><channel>'
        + item.format(t="外部DTD&s;", n=3, d="&s;") + "</channel></rss>",
        "xxe-xinclude": '<rss version="2.0" xmlns:xi="http://www.w3.org/2001/XInclude"><channel>'
        + item.format(t="包含", n=4, d=f'<xi:include href="{uri}" parse="text"/>') + "</channel></rss>",
        # ill-formed (a stray "</b>"): the repair and recovery paths must not resolve it either
        "xxe-broken": f'<!DOCTYPE rss [<!ENTITY s SYSTEM "{uri}">]><rss version="2.0"><channel></b>'
        + item.format(t="壞&s;", n=5, d="&s;") + "</channel></rss>",
    }  # fmt: skip
    return {k: ('<?xml version="1.0"?>' + v).encode() for k, v in docs.items()}


# ---- the server ------------------------------------------------------------------------


class FaultServer(LoopbackServer):
    """LoopbackServer plus raw routes (``server.raw[path] = fn(handler, server)``)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        # socketserver listens with a backlog of 5: a run opening dozens of connections
        # at once would see SYNs dropped and 1 s connect stalls that are not the faults'.
        self._httpd.socket.listen(128)
        self.raw: dict[str, Raw] = {}
        base: type[BaseHTTPRequestHandler] = self._httpd.RequestHandlerClass  # type: ignore[assignment]
        server = self

        class Handler(base):  # type: ignore[valid-type,misc]
            def do_GET(self) -> None:
                path = unquote(self.path)
                fn = server.raw.get(path)
                if fn is None:
                    super().do_GET()
                    return
                with server._lock:
                    server.hits[path] += 1
                self.close_connection = True
                try:
                    fn(self, server)
                except (OSError, ValueError):
                    self.wfile = io.BytesIO()  # the client went away (or we reset it)

        self._httpd.RequestHandlerClass = Handler

    def waiting(self, seconds: float) -> bool:
        """Sleep; False once the server is shutting down."""
        return self._wait(seconds)


def _head(h: BaseHTTPRequestHandler, headers: dict[str, str], status: int = 200) -> None:
    h.send_response(status)
    for k, v in headers.items():
        h.send_header(k, v)
    h.end_headers()
    h.wfile.flush()


RSS_TYPE = "application/rss+xml; charset=utf-8"


def stall_after_headers(h: BaseHTTPRequestHandler, server: FaultServer) -> None:
    _head(h, {"Content-Type": RSS_TYPE, "Content-Length": "5000"})
    server.waiting(120)


def endless_body(h: BaseHTTPRequestHandler, server: FaultServer) -> None:
    _head(h, {"Content-Type": RSS_TYPE, "Transfer-Encoding": "chunked"})
    piece = "<item><title>無盡</title></item>".encode() * 2000
    start = b'<rss version="2.0"><channel>'
    h.wfile.write(b"%x\r\n%s\r\n" % (len(start), start))
    while not server._closing.is_set():
        h.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))


def reset_mid_body(h: BaseHTTPRequestHandler, server: FaultServer) -> None:
    body = good_feed("http://127.0.0.1", "reset", 20)
    _head(h, {"Content-Type": RSS_TYPE, "Content-Length": str(len(body))})
    h.wfile.write(body[: len(body) // 3])
    h.wfile.flush()
    h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    h.connection.close()  # with SO_LINGER 0: an RST, not a FIN


def broken_chunked(h: BaseHTTPRequestHandler, server: FaultServer) -> None:
    _head(h, {"Content-Type": RSS_TYPE, "Transfer-Encoding": "chunked"})
    start = b'<?xml version="1.0"?><rss version="2.0"><channel>'
    h.wfile.write(b"%x\r\n%s\r\n" % (len(start), start))
    h.wfile.write(b"zz-not-hex\r\n<item></item>\r\n0\r\n\r\n")


def big_feed(n: int) -> Raw:
    """A feed of ``n`` items, generated and sent in pieces (never whole in memory)."""

    def route(h: BaseHTTPRequestHandler, server: FaultServer) -> None:
        _head(h, {"Content-Type": RSS_TYPE, "Transfer-Encoding": "chunked"})
        base = f"http://127.0.0.1:{server.port}/big"

        def chunk(data: bytes) -> None:
            h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

        chunk(
            b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>big</title>'
        )
        for start in range(0, n, 2000):
            chunk("".join(
                f"<item><title>第{i}則快訊</title><link>{base}/{i}</link>"
                f"<description>&lt;p&gt;短訊{i}&lt;/p&gt;</description></item>"
                for i in range(start, min(n, start + 2000))
            ).encode())  # fmt: skip
        chunk(b"</channel></rss>")
        h.wfile.write(b"0\r\n\r\n")

    return route


# ---- the catalogue ----------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    """One fault source: its path and what the run must make of it."""

    slug: str
    path: str
    reason: str  # expected error_reason; "" = the source succeeds
    kept: int = -1  # posts it must yield (-1: do not check)
    note: str = ""  # e.g. "timeout": its time is bounded by total_timeout


PRIVATE_TARGETS = {
    "ssrf-10": "http://10.0.0.1/feed.xml",
    "ssrf-metadata": "http://169.254.169.254/latest/meta-data/",
    "ssrf-decimal": "http://167772161/feed.xml",  # 10.0.0.1 spelled as one number
    "ssrf-v6mapped": "http://[::ffff:192.168.0.1]/feed.xml",
    "ssrf-zero": "http://0.0.0.0:8080/",
}
BIG_ITEMS = 100_000


def install_faults(server: FaultServer, secret: Path, *, big: int = BIG_ITEMS) -> list[Fault]:
    """Register every fault of the issue on ``server``; return the catalogue (the
    ``big`` feed last; ``big=0`` leaves it out)."""
    feed = good_feed(server.base_url, "f", 3)
    add, faults = server.add, []

    def fault(slug: str, reason: str, kept: int = -1, note: str = "") -> str:
        faults.append(Fault(slug, f"/fault/{slug}", reason, kept, note))
        return f"/fault/{slug}"

    add(fault("drip", "timeout", note="timeout"), feed, drip=1.0, content_type=RSS_TYPE)
    server.raw[fault("stall", "timeout", note="timeout")] = stall_after_headers
    server.raw[fault("endless", "too_large")] = endless_body
    add(fault("gzip-bomb", "too_large"), gzip_bomb(), headers={"Content-Encoding": "gzip, gzip"})
    server.redirect(fault("redirect-loop", "redirects"), "/fault/redirect-loop-b")
    server.redirect("/fault/redirect-loop-b", "/fault/redirect-loop")
    server.redirect(fault("redirect-file", "blocked_url"), secret.as_uri())
    server.redirect(fault("redirect-ftp", "blocked_url"), "ftp://127.0.0.1/feed.xml")
    for slug, target in PRIVATE_TARGETS.items():
        server.redirect(fault(slug, "blocked_url"), target)
    add(fault("429", "http_429"), b"slow down", status=429, retry_after=3600)
    add(fault("503-then-ok", "", 3), feed, content_type=RSS_TYPE, fail_times=1, retry_after=1)
    add(fault("503", "http_503"), b"busy", status=503, retry_after=1)
    server.raw[fault("reset", "connect")] = reset_mid_body
    server.raw[fault("broken-chunked", "connect")] = broken_chunked
    add(fault("wrong-type", "", 3), good_feed(server.base_url, "t", 3), content_type="image/png")
    gbk = rss([("市議會通過新預算案", f"{server.base_url}/gbk/1", "<p>預算案內容摘要。</p>")],
              decl="utf-8").encode("gb18030")  # fmt: skip
    add(fault("wrong-charset", "", 1), gbk, content_type="application/rss+xml; charset=utf-8")
    add(fault("empty", "invalid_xml"), b"", content_type=RSS_TYPE)
    whole = good_feed(server.base_url, "cut", 6)
    add(
        fault("truncated", "", note="recovered"),
        whole[: int(len(whole) * 0.7)],
        content_type=RSS_TYPE,
    )
    add(fault("entity-bomb", "", note="no expansion"), entity_bomb(), content_type=RSS_TYPE)
    for slug, doc in xxe_feeds(secret).items():
        add(fault(slug, "", note="no local file"), doc, content_type=RSS_TYPE)
    huge = rss([("巨" * ((1 << 20) // 3) + "標題", f"{server.base_url}/huge/1", "<p>內文</p>")])
    add(fault("huge-title", "", 1), huge.encode(), content_type=RSS_TYPE)
    if big:
        server.raw[fault("big", "", note="big")] = big_feed(big)
    return faults


def fault_config(
    server: FaultServer, faults: list[Fault], *, total: float = 4.0, max_items: int = 0
) -> str:
    """A newsmirror.toml for the fault run: tiny timeouts, every fault plus two good feeds;
    ``max_items`` > 0 keeps only that many items of each feed (the rest are reported)."""
    from newsmirror.config import sources_toml

    server.add("/good/a.xml", good_feed(server.base_url, "a"), content_type=RSS_TYPE)
    server.add("/good/b.xml", good_feed(server.base_url, "b"), content_type=RSS_TYPE)
    triples = [("正常甲", "good-a", server.url("/good/a.xml"))]
    triples += [(f"故障 {f.slug}", f.slug, server.url(f.path)) for f in faults]
    triples += [("正常乙", "good-b", server.url("/good/b.xml"))]
    return (
        f"[mirror]\nmax_items_per_feed = {max_items}\n\n"
        f"[fetch]\nretries = 1\nconnect_timeout = 1\nread_timeout = 2\ntotal_timeout = {total}\n"
        "backoff_base = 0.1\nbackoff_max = 2\nmax_bytes = 16777216\nconcurrency = 64\n"
        'per_host = 64\n\n[defaults]\nfulltext = "feed"\n\n' + sources_toml(triples)
    )


# ---- the child: newsmirror run under the guard, with its peak memory -----------------


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read()
    except OSError:
        return b""


def _tree_rss_kib(pid: int) -> list[int]:
    """VmRSS (KiB) of ``pid`` and of every process below it (none for one gone). A
    child caught between fork and exec (its command line still its parent's) shares
    its parent's memory and is not counted: the workers are started that way."""
    sizes, todo = [], [(pid, b"")]
    while todo:
        p, parent_cmd = todo.pop()
        try:
            cmd = _cmdline(p)
            if parent_cmd and cmd == parent_cmd:
                continue
            with open(f"/proc/{p}/status", "rb") as fh:
                for line in fh:
                    if line.startswith(b"VmRSS:"):
                        sizes.append(int(line.split()[1]))
                        break
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children", "rb") as fh:
                    todo.extend((int(c), cmd) for c in fh.read().split())
        except (OSError, ValueError):
            continue
    return sizes


class TreePeak:
    """The peak of the summed RSS of this process and all its children (the run's
    pool workers), sampled every ``interval`` seconds by a thread; ``sizes`` are the
    processes' own RSS at that moment (this process first); ``procs`` the most
    processes seen at once."""

    def __init__(self, interval: float = 0.01) -> None:
        self.interval, self.peak_kib, self.sizes, self.procs = interval, 0, [0], 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        me = os.getpid()
        while not self._stop.is_set():
            sizes = _tree_rss_kib(me)
            self.procs = max(self.procs, len(sizes))
            if sum(sizes) > self.peak_kib:
                self.peak_kib, self.sizes = sum(sizes), sizes
            self._stop.wait(self.interval)

    def __enter__(self) -> TreePeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()



def _own_peak_kib() -> int:
    """This process's peak RSS since it started its program (``VmHWM``). Not
    ``ru_maxrss``: Linux carries the parent's peak across fork + exec into it, so a
    child of a big pytest process would report pytest's size."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

def run_child(config: str) -> int:
    """``newsmirror run --json``; prints the report, then a last line with the peak
    memory: of this process (``ru_maxrss``) and of its whole process tree (the pool
    workers included: summed RSS, sampled), ``peak_kib`` being the larger."""
    from newsmirror.cli import main

    install_connect_guard()
    sys.argv = ["newsmirror", "run", "--json", "--quiet", "--config", config]
    code = 0
    with TreePeak() as peak:
        try:
            main()
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        except Exception as e:  # a crash is a finding: say so plainly
            print(f"CRASH {type(e).__name__}: {e}", file=sys.stderr)
            code = 99
        sys.stdout.flush()
    own = _own_peak_kib()
    usage = {
        # The run's own process exactly, and the tree sampled: RUSAGE_CHILDREN would not
        # tell the workers' size (a child counts the parent's pages it shares between
        # fork and exec), and the workers are gone by now.
        "peak_kib": max(own, peak.peak_kib),
        "self_kib": own,
        "tree_kib": peak.peak_kib,
        "tree_sizes_kib": peak.sizes,
        "tree_procs": peak.procs,  # the most processes seen at once
        "refused": GUARD_REFUSED,
        "code": code,
    }
    print("\nPEAK " + json.dumps(usage), file=sys.stderr)
    return code


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "run":
        sys.exit(run_child(sys.argv[2]))
    sys.exit("usage: python -m tests.faults run CONFIG")
