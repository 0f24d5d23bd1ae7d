"""Faults: every misbehaving server of the issue in one real run (a child process, as
``newsmirror run --json``), plus the 100,000-item feed in a run of its own.

For each fault: the run finishes, the source is reported in one line naming it, its
URL and the cause, its time is bounded by the configured timeouts, the peak memory of
the child's process tree (its own peak RSS, ``VmHWM``, and the summed RSS of it and its pool
workers, sampled) stays under 300 MB, no local file's content appears
anywhere in the output, and the good sources of the same run keep every article.
A connect guard in the child refuses every non-loopback address, so the SSRF faults
can never send a packet even if a check failed (and the test would see it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from newsmirror.errors import BlockedURLError, FetchError
from newsmirror.fetch import Fetcher, FetchSettings
from newsmirror.netpolicy import blocked_reason, literal_ip, private_reason, same_host
from newsmirror.postfile_record import parse_post
from newsmirror.store import Store

from .faults import (
    BIG_ITEMS,
    GUARD_PORTS,
    PRIVATE_TARGETS,
    RSS_TYPE,
    Fault,
    FaultServer,
    big_feed,
    connect_guard,  # noqa: F401  (fixture)
    fault_config,
    good_feed,
    install_faults,
    rss,
)

REPO = Path(__file__).resolve().parents[1]
TOTAL = 4.0  # total_timeout of the fault runs
PEAK_LIMIT_KIB = 300 * 1024
SECRET = "NEWSMIRROR-SECRET-7f3a9c"


@dataclass
class Run:
    root: Path
    report: dict[str, Any]
    usage: dict[str, Any]
    wall: float
    stdout: str
    stderr: str
    faults: list[Fault]
    base: str

    def source(self, slug: str) -> dict[str, Any]:
        return next(s for s in self.report["sources"] if s["slug"] == slug)


def child_run(
    root: Path, config: str, *, timeout: float = 600
) -> tuple[subprocess.CompletedProcess[str], float]:
    root.mkdir(parents=True, exist_ok=True)
    (root / "newsmirror.toml").write_text(config, encoding="utf-8")
    # This checkout's code (REPO/src), not whichever newsmirror is installed.
    path = os.pathsep.join([str(REPO), str(REPO / "src"), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "NEWSMIRROR_NOW": "2026-11-28T08:00:00Z", "PYTHONPATH": path}
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "tests.faults", "run", str(root / "newsmirror.toml")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    return proc, time.monotonic() - start


def parse_child(proc: subprocess.CompletedProcess[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    assert "CRASH" not in proc.stderr, proc.stderr[-2000:]
    peak_line = next(ln for ln in proc.stderr.splitlines() if ln.startswith("PEAK "))
    return json.loads(proc.stdout), json.loads(peak_line[5:])


@pytest.fixture(scope="module")
def fault_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    base = tmp_path_factory.mktemp("faults")
    secret = base / "secret.txt"
    secret.write_text(f"{SECRET}\n", encoding="utf-8")
    with FaultServer() as server:
        faults = install_faults(server, secret, big=0)
        proc, wall = child_run(base / "m", fault_config(server, faults, total=TOTAL))
        report, usage = parse_child(proc)
        yield Run(
            base / "m", report, usage, wall, proc.stdout, proc.stderr, faults, server.base_url
        )


def test_every_fault_reported_in_one_line_with_its_cause(fault_run: Run) -> None:
    assert fault_run.usage["code"] == 0
    reported = {s["slug"] for s in fault_run.report["sources"]}
    assert reported == {f.slug for f in fault_run.faults} | {"good-a", "good-b"}
    wrong = []
    for f in fault_run.faults:
        src = fault_run.source(f.slug)
        if src["error_reason"] != f.reason:
            wrong.append(f"{f.slug}: expected {f.reason or 'success'}, got {src['error']!r}")
        elif f.reason:
            line = src["error"]
            assert "\n" not in line and line.startswith(f"{f.slug}: {src['url']}: "), line
            assert len(line.split(": ", 2)[2]) > 8, line  # a cause, not an empty tail
        if f.kept >= 0 and src["new"] != f.kept:
            wrong.append(f"{f.slug}: kept {src['new']} posts, expected {f.kept}")
    assert not wrong, wrong


def test_ssrf_redirects_blocked_before_any_connect(fault_run: Run) -> None:
    assert fault_run.usage["refused"] == []  # the guard never had to stop a connect
    for slug, target in PRIVATE_TARGETS.items():
        error = fault_run.source(slug)["error"]
        assert "not allowed" in error and "private address" in error, error
        assert target.split("/")[2].strip("[]").split(":")[0] in error


def test_good_sources_keep_every_article(fault_run: Run) -> None:
    for slug, tag in (("good-a", "a"), ("good-b", "b"), ("503-then-ok", "f")):
        src = fault_run.source(slug)
        assert not src["error"], src["error"]
        links = sorted(i["url"] for i in src["items"] if i["outcome"] == "new")
        want = 4 if slug.startswith("good") else 3
        assert links == sorted(f"{fault_run.base}/{tag}/{i}.html" for i in range(want)), slug
    with Store(fault_run.root / ".newsmirror" / "index.sqlite") as store:
        assert store.count(source="good-a") == 4 and store.count(source="good-b") == 4


def test_time_is_bounded_by_the_timeouts(fault_run: Run) -> None:
    slow = {
        s["slug"]: s["seconds"] for s in fault_run.report["sources"] if s["seconds"] > TOTAL + 2
    }
    assert not slow, slow
    assert fault_run.source("drip")["seconds"] >= TOTAL - 0.5  # cut by the deadline, not earlier
    assert fault_run.wall < TOTAL + 20


def test_peak_memory_under_300_mb(fault_run: Run) -> None:
    """The run's whole process tree (main and pool workers): its own exact peak, and
    the summed RSS of the tree sampled through the run."""
    assert fault_run.usage["tree_kib"] > 0 and fault_run.usage["self_kib"] > 0
    assert fault_run.usage["peak_kib"] < PEAK_LIMIT_KIB, fault_run.usage


def test_no_local_file_content_anywhere(fault_run: Run) -> None:
    needles = [SECRET.encode(), b"root:x:0:0"]
    leaks = [
        str(p.relative_to(fault_run.root))
        for p in fault_run.root.rglob("*")
        if p.is_file() and any(n in p.read_bytes() for n in needles)
    ]
    assert not leaks
    assert SECRET not in fault_run.stdout + fault_run.stderr
    assert "root:x:0:0" not in fault_run.stdout + fault_run.stderr
    for slug in ("xxe-general", "xxe-parameter", "xxe-dtd", "xxe-xinclude", "xxe-broken"):
        assert fault_run.source(slug)["new"] == 1  # the feed is read, its entities are not


def posts_of(run: Run, slug: str) -> list[Any]:
    paths = [i["path"] for i in run.source(slug)["items"] if i["path"]]
    return [parse_post((run.root / p).read_text(encoding="utf-8"), path=p) for p in paths]


def test_hostile_xml_is_read_without_expansion(fault_run: Run) -> None:
    (bomb,) = posts_of(fault_run, "entity-bomb")
    assert bomb.title.startswith("爆炸") and len(bomb.title) < 50
    assert "lollol" not in (fault_run.root / bomb.path).read_text(encoding="utf-8")


def test_odd_but_readable_feeds_keep_their_articles(fault_run: Run) -> None:
    (gbk,) = posts_of(fault_run, "wrong-charset")
    assert gbk.title == "市議會通過新預算案" and "預算案內容摘要" in gbk.content
    assert "does not fit the bytes" in fault_run.source("wrong-charset")["warnings"][0]
    assert fault_run.source("wrong-type")["new"] == 3
    cut = fault_run.source("truncated")
    assert cut["new"] >= 3 and cut["warnings"]  # the complete items, and a warning
    assert all(i["outcome"] in ("new", "failed") for i in cut["items"])
    (huge,) = posts_of(fault_run, "huge-title")
    assert len(huge.title) > 300_000 and huge.title.endswith("標題")
    assert len(Path(huge.path).name.encode()) <= 200


# ---- the 100,000-item feed ------------------------------------------------------------


@pytest.fixture(scope="module")
def big_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """The big feed (streamed as generated) beside a good feed; 500 items kept, the
    rest reported ``filtered/max_items`` (every item of it is parsed)."""
    base = tmp_path_factory.mktemp("big")
    with FaultServer() as server:
        server.raw["/fault/big"] = big_feed(BIG_ITEMS)
        server.add("/fault/503-then-ok", good_feed(server.base_url, "f", 3),
                   content_type=RSS_TYPE, fail_times=1, retry_after=1)  # fmt: skip
        faults = [Fault("big", "/fault/big", ""), Fault("503-then-ok", "/fault/503-then-ok", "")]
        config = fault_config(server, faults, total=TOTAL, max_items=500)
        proc, wall = child_run(base / "m", config)
        report, usage = parse_child(proc)
        yield Run(
            base / "m", report, usage, wall, proc.stdout, proc.stderr, faults, server.base_url
        )


def test_big_feed_every_item_accounted_for(big_run: Run) -> None:
    big = big_run.source("big")
    assert not big["error"]
    assert (big["new"], big["filtered"], len(big["items"])) == (500, BIG_ITEMS - 500, BIG_ITEMS)
    assert {i["reason"] for i in big["items"] if i["outcome"] == "filtered"} == {"max_items"}
    assert big_run.source("good-a")["new"] == big_run.source("good-b")["new"] == 4
    assert big_run.wall < 120


def test_big_feed_peak_memory_under_300_mb(big_run: Run) -> None:
    """The 100,000-item feed is parsed as it streams in, released once written, and
    its report streamed: the tree (main and the workers that clean the kept items)
    stays under the limit."""
    if (os.cpu_count() or 1) > 1:  # the pool's workers (and its resource tracker) were seen
        assert big_run.usage["tree_procs"] >= 3, big_run.usage
    assert big_run.usage["peak_kib"] < PEAK_LIMIT_KIB, big_run.usage


def test_big_feed_does_not_starve_other_sources(big_run: Run) -> None:
    src = big_run.source("503-then-ok")
    assert not src["error"], src["error"]
    assert src["new"] == 3


# ---- the address policy, in process ---------------------------------------------------


@pytest.mark.parametrize(
    ("host", "why"),
    [
        ("10.0.0.1", "private"), ("167772161", "private"), ("0xa.0.0.1", "private"),
        ("012.0.0.1", "private"), ("::ffff:10.0.0.1", "private"), ("[fe80::1]", "private"),
        ("2002:a00:1::", "private"), ("169.254.169.254", "private"), ("100.64.0.1", "private"),
        ("0.0.0.0", "private"), ("127.0.0.2", "loopback"), ("localhost", "loopback"),
        ("a.localhost.", "loopback"), ("[::1]", "loopback"), ("8.8.8.8", ""),
        ("2001:4860::8888", ""), ("example.com", ""), ("10.example.com", ""),
    ],
)  # fmt: skip
def test_private_reason_reads_every_spelling(host: str, why: str) -> None:
    assert private_reason(host).split(" ")[0] == why


def test_policy_anchor_rules() -> None:
    assert literal_ip("example.com") is None and str(literal_ip("167772161")) == "10.0.0.1"
    assert same_host("127.0.0.1", "2130706433") and not same_host("a.example", "b.example")

    def reason(url: str, anchor: str) -> str:
        import asyncio

        return asyncio.run(blocked_reason(httpx.URL(url), anchor))

    assert reason("http://10.0.0.1/x", "10.0.0.1") == ""  # the trusted host itself
    assert reason("http://localhost:9/x", "127.0.0.1") == ""  # loopback to loopback
    assert reason("http://127.0.0.1/x", "news.example").startswith("loopback")
    assert reason("http://10.0.0.1/x", "127.0.0.1").startswith("private")


def fetch(url: str, *, via: str = "", **settings: Any) -> bytes:
    import asyncio

    async def go() -> bytes:
        async with Fetcher(FetchSettings(retries=0, total_timeout=5, **settings)) as f:
            return (await f.fetch(url, via=via, source="t")).body

    return asyncio.run(go())


def test_links_found_in_a_public_feed_may_not_reach_loopback(
    connect_guard: list[str],  # noqa: F811
) -> None:
    with FaultServer() as server:
        server.add("/page", b"ok")
        with pytest.raises(BlockedURLError) as info:
            fetch(server.url("/page"), via="https://news.example/feed.xml")
        assert "loopback address 127.0.0.1" in str(info.value)
        assert server.hits["/page"] == 0
        assert fetch(server.url("/page"), via=server.url("/feed.xml")) == b"ok"  # same host
        assert fetch(server.url("/page"), via="https://news.example/f", allow_private=True) == b"ok"
    assert connect_guard == []


def test_redirect_from_a_name_to_a_private_literal_is_blocked(
    connect_guard: list[str],  # noqa: F811
) -> None:
    with FaultServer() as server:
        server.redirect("/r", "http://[::ffff:a00:1]:8080/x")
        with pytest.raises(BlockedURLError) as info:
            fetch(server.url("/r").replace("127.0.0.1", "localhost"))
        assert "private address 10.0.0.1" in str(info.value)
    assert connect_guard == []


def test_the_connect_guard_stops_httpx_before_the_socket_connects(
    connect_guard: list[str],  # noqa: F811
) -> None:
    """The backstop itself: a refused address never reaches connect(2)."""
    with FaultServer() as server:
        server.add("/x", b"ok")
        GUARD_PORTS.add(server.port)
        with pytest.raises(FetchError) as info:
            fetch(server.url("/x"))
        assert info.value.reason == "connect" and server.hits["/x"] == 0
    assert connect_guard and str(server.port) in connect_guard[0]


def private_feed(base: str) -> bytes:
    """Items whose links and images point at private addresses (a hostile feed)."""
    items = [
        ("內網文章", "http://10.0.0.7/article.html", "<p>摘要…</p>"),
        ("內網圖片", "http://10.0.0.8/a.html", '<p>圖</p><img src="http://10.0.0.8/p.png">'),
        ("無連結圖片", "", '<p>圖</p><img src="http://192.168.9.9/p.png">'),
    ]
    return rss([(t, link, d) for t, link, d in items]).encode()


def test_links_and_images_in_a_feed_never_reach_private_addresses(
    tmp_path: Path,
    connect_guard: list[str],  # noqa: F811
) -> None:
    from newsmirror.config import load_config, sources_toml
    from newsmirror.pipeline import run

    with FaultServer() as server:
        server.add("/feed.xml", private_feed(server.base_url), content_type=RSS_TYPE)
        (tmp_path / "newsmirror.toml").write_text(
            '[fetch]\nretries = 0\ntotal_timeout = 3\n\n[defaults]\nfulltext = "page"\n\n'
            + sources_toml([("內網", "lan", server.url("/feed.xml"))]),
            encoding="utf-8",
        )
        report = run(load_config(tmp_path / "newsmirror.toml"))
    (src,) = report.sources
    assert not src.error and len(src.outcomes) == 3
    assert connect_guard == []  # no connect to 10.x or 192.168.x was even tried
