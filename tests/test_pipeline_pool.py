"""Feeds parsed in the worker processes (``resolve.parse_job``, once a run has seen
``POOL_MIN_ITEMS`` items) make the same mirror, index and report as feeds parsed in
the main process."""

from __future__ import annotations

import asyncio
import os
import pickle
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsmirror import procpool, resolve
from newsmirror.errors import ItemError
from newsmirror.loopback import LoopbackServer
from newsmirror.models import FeedResponse, OutcomeKind, RunReport, Source
from newsmirror.pipeline import run
from newsmirror.postfile import render_post
from newsmirror.store import Store

from .faults import RSS_TYPE, rss
from .helpers import make_mirror, snapshot

NOW = datetime(2026, 11, 28, 8, tzinfo=UTC)
PARA = "本報訊：市府今日宣布擴大補助方案，相關單位表示將持續關注後續發展並適時公布細節。"


def full_feed(base: str, tag: str, n: int) -> bytes:
    items = [
        (f"第{i}則新聞（{tag}）", f"{base}/{tag}/{i}.html", f"<p>{PARA * 12}</p><p>{tag}{i}</p>")
        for i in range(n)
    ]
    items.append((f"摘要（{tag}）", f"{base}/{tag}/short.html", "<p>短短一句…</p>"))  # page wanted
    items.append((items[0][0], f"{base}/{tag}/dup.html", f"<p>{PARA * 12}</p>"))  # name taken
    return rss(items).encode()


def _serve(server: LoopbackServer) -> list[tuple[str, str, str]]:
    sources = []
    for i in range(5):
        server.add(f"/f{i}.xml", full_feed(server.base_url, f"s{i}", 30), content_type=RSS_TYPE)
        sources.append((f"源{i}", f"s{i}", server.url(f"/f{i}.xml")))
    server.add("/page.xml", b"<!doctype html><html><body>no feed</body></html>",
               content_type="text/html")  # fmt: skip
    sources.append(("頁", "page", server.url("/page.xml")))
    broken = rss([("壞&nbsp;標題", f"{server.base_url}/b/1.html", "<p>內文</p>")])
    server.add("/broken.xml", broken.replace("&amp;nbsp;", "&nbsp;").encode(), content_type=RSS_TYPE)
    sources.append(("壞", "broken", server.url("/broken.xml")))
    for i in range(5):
        for j in [*range(30), "dup", "short"]:
            server.add(f"/s{i}/{j}.html", f"<html><body><article><h1>標題</h1><p>{PARA * 6}</p>"
                       f"<p>{i}-{j}</p></article></body></html>".encode(), content_type="text/html")  # fmt: skip
    return sources


def _summary(report: RunReport) -> list[tuple]:
    return [
        (s.slug, s.error, s.error_reason, s.warnings,
         tuple((o.url, o.kind, o.reason, o.detail, o.path) for o in s.outcomes))
        for s in report.sources
    ]  # fmt: skip


def test_feeds_parsed_in_workers_make_the_same_mirror(
    tmp_path: Path, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = _serve(server)
    monkeypatch.setattr(procpool.os, "cpu_count", lambda: 2)  # (two workers on any machine)
    asked: list[bool] = []
    in_pool = resolve.route_feed

    def spy(pool: procpool.ExtractPool, size: int) -> bool:
        asked.append(in_pool(pool, size))
        return asked[-1]

    monkeypatch.setattr(resolve, "route_feed", spy)
    a = make_mirror(tmp_path / "a", sources, defaults='[defaults]\nfulltext = "auto"\n')
    ra = run(a, now=NOW)
    assert any(asked) and not all(asked)  # the first feeds here, the later ones in a worker
    monkeypatch.setattr(resolve, "route_feed", lambda pool, size: False)
    b = make_mirror(tmp_path / "b", sources, defaults='[defaults]\nfulltext = "auto"\n')
    rb = run(b, now=NOW)

    assert _summary(ra) == _summary(rb)
    assert ra.total(OutcomeKind.NEW) == 5 * 32 + 1, _summary(ra)
    assert [s.error_reason for s in ra.sources if s.error] == ["not_a_feed"]
    assert any(s.warnings for s in ra.sources if s.slug == "broken")
    assert snapshot(a.root) == snapshot(b.root)
    with Store(a.store_target) as sa, Store(b.store_target) as sb:
        assert sa.dump() == sb.dump()
    pages = [o for s in ra.sources for o in s.outcomes if o.url.endswith("short.html")]
    assert len(pages) == 5 and all(o.kind is OutcomeKind.NEW and not o.reason for o in pages)
    taken = [o.path for s in ra.sources for o in s.outcomes if o.url.endswith("dup.html")]
    assert len(taken) == 5 and all(re.search(r"-[0-9a-f]{6}\.md$", p) for p in taken), taken


def test_a_first_run_starts_its_workers_at_once_and_makes_the_same_mirror(
    tmp_path: Path, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``newsmirror run`` starts the workers before it imports the run's modules when
    the mirror has no index yet (and runs two sources or more); the run takes that
    pool, and makes the mirror it makes without it. A later run does not."""
    from newsmirror.cli_run import prestart_workers

    sources = _serve(server)
    monkeypatch.setattr(procpool.os, "cpu_count", lambda: 2)
    a = make_mirror(tmp_path / "a", sources, defaults='[defaults]\nfulltext = "auto"\n')
    prestart_workers(a, ["s0"])  # one source: not worth it
    assert procpool.take_prestarted() is None
    prestart_workers(a, [])
    pool = procpool._prestarted
    assert pool is not None and len(pool.pids()) == 2
    ra = run(a, now=NOW)
    assert procpool.take_prestarted() is None  # the run took it, and closed it
    assert pool.pids() == [] and not pool.started
    b = make_mirror(tmp_path / "b", sources, defaults='[defaults]\nfulltext = "auto"\n')
    rb = run(b, now=NOW)
    assert _summary(ra) == _summary(rb)
    assert snapshot(a.root) == snapshot(b.root)
    prestart_workers(a, [])  # the index is there now
    assert procpool.take_prestarted() is None


def test_workers_given_no_job_are_not_waited_for() -> None:
    """Closing a pool whose workers never had a job kills them (they may still be
    importing), where a worker that had jobs ends when its job pipe does."""
    import signal

    pool = procpool.ExtractPool(2)
    pool.warm()
    procs = [w.process for w in pool._procs]
    pool.close()
    assert [p.exitcode for p in procs] == [-signal.SIGKILL] * 2
    with procpool.ExtractPool(1) as used:
        assert asyncio.run(used.submit(exit_on_boom, "a")) == "A"
        (proc,) = [w.process for w in used._procs]
    assert proc.exitcode == 0


def test_parse_job_builds_small_feeds_and_leaves_big_or_cut_ones() -> None:
    src = Source(name="源", slug="s", url="http://127.0.0.1/f.xml")

    def resp(n: int) -> FeedResponse:
        body = full_feed("http://127.0.0.1", "s", n)
        return FeedResponse(url=src.url, final_url=src.url, status=200, body=body)

    small = resolve.parse_job(resp(10), src, NOW, 0)
    assert small.feed.entries == () and small.parts is not None and len(small.parts) == 12
    assert [p[3] for p in small.parts] == [False] * 10 + [True, False]  # the summary's page
    assert all(p[0] is not None and p[1] is not None for p in small.parts)
    # Each item's post as a new post, made in the worker (none for the one whose page
    # is wanted: the page makes another article).
    for art, _keys, _out, page, post in small.parts:
        assert art is not None
        assert post == ("" if page else render_post(replace(art, first_seen=art.fetched)))
    prep, _page = resolve.prepared_from_pool(small.parts)[0]
    assert prep.new_post == small.parts[0][4] != ""
    assert replace(prep, article=replace(prep.article, content="<p>x</p>")).new_post == ""
    big = resolve.parse_job(resp(resolve.POOL_MIN_ITEMS), src, NOW, 0)
    assert big.parts is None and len(big.feed.entries) == resolve.POOL_MIN_ITEMS + 2
    cut = resolve.parse_job(resp(10), src, NOW, 5)
    assert cut.parts is None and len(cut.feed.entries) == 12


def exit_on_boom(word: str) -> str:
    """Pool job for the test below: kills its worker process on "boom"."""
    if word == "boom":
        os._exit(3)
    return word.upper()


def test_a_job_that_kills_its_worker_fails_alone() -> None:
    async def scenario() -> None:
        with procpool.ExtractPool(1) as pool:
            assert await pool.submit(exit_on_boom, "a") == "A"
            with pytest.raises(ItemError) as err:
                await pool.submit(exit_on_boom, "boom")
            assert err.value.reason == "worker_crashed"
            assert await pool.submit(exit_on_boom, "b") == "B"  # the pool was recreated

    asyncio.run(scenario())


def test_a_worker_is_given_its_next_jobs_while_it_works() -> None:
    """A worker is given jobs ahead (they wait in its pipe): two at least, more while
    they come to less than AHEAD bytes, and answered in order; a job waiting behind
    one that kills the worker is not counted as a crash: it runs on the replacement,
    once."""
    big = b"x" * (procpool.ExtractPool.AHEAD // 2)

    async def scenario() -> None:
        with procpool.ExtractPool(1) as pool:
            jobs = [asyncio.ensure_future(pool.submit(exit_on_boom, w)) for w in "abc"]
            await asyncio.sleep(0)  # (the submits queue and dispatch)
            assert [len(w.jobs) for w in pool._procs] == [3] and not pool._queue
            assert await asyncio.gather(*jobs) == ["A", "B", "C"]
            sizes = [asyncio.ensure_future(pool.submit(sized, n, big)) for n in range(5)]
            await asyncio.sleep(0)
            assert [len(w.jobs) for w in pool._procs] == [2] and len(pool._queue) == 3
            assert [len(x) for x in await asyncio.gather(*sizes)] == [0, 1, 2, 3, 4]
            assert pool._procs[0].ahead == 0
            got = await asyncio.wait_for(
                asyncio.gather(
                    pool.submit(exit_on_boom, "boom"), pool.submit(exit_on_boom, "d"),
                    return_exceptions=True,
                ),
                60,
            )  # fmt: skip
            assert isinstance(got[0], ItemError) and got[0].reason == "worker_crashed"
            assert got[1] == "D"

    asyncio.run(scenario())


def sized(n: int, data: bytes) -> bytes:
    """Pool job for the test below: ``n`` bytes made from ``data``, or raise."""
    if n < 0:
        raise ItemError("asked for fewer than none", url=f"n={n}", reason="negative")
    return (data * (n // max(1, len(data)) + 1))[:n]


def test_jobs_and_answers_of_any_size_under_successive_event_loops() -> None:
    """Many jobs at once on two workers, each answered in its own future: payloads and
    answers far larger than a pipe holds (both go a piece at a time), an exception
    raised in a worker comes back as itself, and a second event loop takes over the
    same workers."""
    big = os.urandom(3_000_000)

    async def scenario(pool: procpool.ExtractPool) -> None:
        sizes = [0, 1, 70_000, 5_000_000, 12, 1_000_000, 3, 200_000]
        got = await asyncio.gather(*(pool.submit(sized, n, big[:1000]) for n in sizes))
        assert [len(g) for g in got] == sizes
        assert await pool.submit(sized, len(big), big) == big
        with pytest.raises(ItemError) as err:
            await pool.submit(sized, -1, b"")
        assert (err.value.reason, err.value.url) == ("negative", "n=-1")

    with procpool.ExtractPool(2) as pool:
        asyncio.run(scenario(pool))
        pids = pool.pids()
        asyncio.run(scenario(pool))
        assert pool.pids() == pids and len(pids) == 2  # (the same workers)


def test_a_job_that_cannot_be_sent_fails_alone() -> None:
    """A job whose arguments do not pickle raises for its caller, and the worker it was
    meant for stays free: the jobs after it run (a one-worker pool would wait for ever
    if it were not)."""
    import threading

    async def scenario() -> None:
        with procpool.ExtractPool(1) as pool:
            for _ in range(2):
                with pytest.raises((TypeError, AttributeError, pickle.PicklingError)):
                    await asyncio.wait_for(pool.submit(exit_on_boom, threading.Lock()), 30)
            assert await asyncio.wait_for(pool.submit(exit_on_boom, "a"), 60) == "A"

    asyncio.run(scenario())


def test_a_worker_that_dies_while_idle_is_replaced() -> None:
    """A worker killed between jobs (say, by the kernel for memory) is not handed a job
    again: two jobs at once on a one-worker pool both run on its replacement."""
    import signal

    async def scenario() -> None:
        with procpool.ExtractPool(1) as pool:
            assert await pool.submit(exit_on_boom, "a") == "A"
            (pid,) = pool.pids()
            os.kill(pid, signal.SIGKILL)
            for _ in range(100):  # (the run sees the death when the event loop runs)
                await asyncio.sleep(0.05)
                if pool.pids() != [pid]:
                    break
            both = asyncio.gather(pool.submit(exit_on_boom, "b"), pool.submit(exit_on_boom, "c"))
            assert await asyncio.wait_for(both, 60) == ["B", "C"]

    asyncio.run(scenario())


def test_big_new_feeds_start_the_workers_at_once() -> None:
    big = resolve.POOL_WARM_BYTES
    with procpool.ExtractPool(2) as pool:
        assert not resolve.route_feed(pool, big) and not pool.started  # one feed, alone
        assert resolve.route_feed(pool, 1) and pool.started  # a second: started, and used
        assert resolve.route_feed(pool, 0)  # (every feed after)
        assert not resolve.route_feed(pool, resolve.BIG_FEED_BYTES)  # but a huge one
    with procpool.ExtractPool(2) as pool:
        for _ in range(3):  # small feeds
            assert not resolve.route_feed(pool, big // 4) and not pool.started
    with procpool.ExtractPool(2) as pool:  # huge feeds: parsed here, and start nothing
        for _ in range(2):
            assert not resolve.route_feed(pool, resolve.BIG_FEED_BYTES)
        assert not pool.started
    with procpool.ExtractPool(2) as pool:
        pool.items_seen = resolve.POOL_MIN_ITEMS
        assert resolve.route_feed(pool, 0) and not pool.started  # (started at first use)
    with procpool.ExtractPool(1) as pool:  # one worker: feeds stay in this process
        assert not resolve.route_feed(pool, resolve.POOL_WARM_BYTES) and not pool.started
