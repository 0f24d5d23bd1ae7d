"""The parts of the distributed mode on their own: the JSON wire format, the
Redis host gate (against a real Redis), the [store]/[engine] settings and
the worker command's refusals."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from newsmirror import wire
from newsmirror.config import default_config_text, parse_config
from newsmirror.errors import ConfigError, HTTPStatusError
from newsmirror.fetch import FetchSettings
from newsmirror.models import Article, Entry, FeedState, ItemOutcome, OutcomeKind, Rules, Source
from newsmirror.pipeline import Gathered

from .helpers import make_mirror

T = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


def test_wire_round_trips_the_pipeline_values() -> None:
    src = Source("中央社", "cna", "https://example.org/f.xml", Rules(remove_selectors=(".ad",)))
    art = Article(
        key="k", guid="g", source="cna", source_name="中央社", title="標題", link="https://e/1",
        published=T.astimezone(timezone(timedelta(hours=8))), fetched=T, content="<p>x</p>",
        text="x", content_hash="sha256:0", categories=("a",),
    )  # fmt: skip
    from newsmirror.article import Keys
    from newsmirror.resolve import Prepared

    prep = Prepared(entry=Entry("cna", "g", "https://e/1", "標題", published=T), article=art,
                    keys=Keys("k", "g", "fp"))  # fmt: skip
    g = Gathered(
        source=src,
        items=(prep, Prepared(entry=prep.entry, outcome=ItemOutcome("cna", "u", OutcomeKind.FILTERED, "category"))),
        extra=(ItemOutcome("cna", "u2", OutcomeKind.FILTERED, "max_items"),),
        seconds=1.5,
    )  # fmt: skip
    back = wire.decode(json.loads(json.dumps(wire.encode(g))))
    assert back == g
    assert back.items[0].article.published.utcoffset() == timedelta(hours=8)
    assert wire.decode(wire.encode({"a": b"\x00\xff", 1: [FeedState("e")]})) == {
        "a": b"\x00\xff",
        1: [FeedState("e")],
    }
    assert wire.decode(wire.encode(FetchSettings(per_host=3))) == FetchSettings(per_host=3)


def test_wire_errors_keep_message_source_url_and_reason() -> None:
    e = HTTPStatusError("HTTP 503", status=503, source="cna", url="https://e/f")
    back = wire.decode(json.loads(json.dumps(wire.encode(e))))
    assert (str(back), back.reason) == (str(e), "http_503")


def test_wire_refuses_to_build_anything_but_our_values() -> None:
    for evil in (
        {"~c": "subprocess:Popen", "f": {"args": ["true"]}},
        {"~c": "os:system", "f": {}},
        {"~c": "newsmirror.store:Store", "f": {"path": "/tmp/x"}},  # not a dataclass
        {"~c": "newsmirror.config:Config", "f": {"root": "/", "sources": []}},  # not on the wire
        {"~e": "newsmirror.models:Source", "v": 1},  # not an enum
    ):
        with pytest.raises(ValueError):
            wire.decode(evil)
    with pytest.raises(TypeError):
        wire.encode(object())


def test_store_and_engine_settings(tmp_path: Path) -> None:
    base = {"sources": []}
    cfg = parse_config(base, root=tmp_path)
    assert cfg.store_target == cfg.index_path and not cfg.engine.distributed
    cfg = parse_config(
        {**base, "store": {"url": "postgresql://u@h:5432/db"},
         "engine": {"kind": "celery", "broker": "redis://h:6379/0", "visibility_timeout": 60}},
        root=tmp_path,
    )  # fmt: skip
    assert cfg.store_target == "postgresql://u@h:5432/db"
    assert cfg.engine.distributed and cfg.engine.visibility_timeout == 60
    with pytest.raises(ConfigError) as e:
        parse_config(
            {**base, "store": {"url": "mysql://h/db"}, "engine": {"kind": "celery"}},
            root=tmp_path,
        )
    assert "store.url" in str(e.value) and "engine.broker: required" in str(e.value)
    with pytest.raises(ConfigError) as e:
        parse_config({**base, "engine": {"kind": "spark", "broker": "amqp://h"}}, root=tmp_path)
    assert "engine.kind" in str(e.value) and "engine.broker" in str(e.value)
    text = default_config_text()
    assert "[store]" in text and "[engine]" in text and '# kind = "embedded"' in text


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    src = str(Path(__file__).resolve().parents[1] / "src")
    return subprocess.run(
        [sys.executable, "-m", "newsmirror", *args], cwd=cwd, capture_output=True, text=True,
        env={"PYTHONPATH": src, "PATH": "/usr/bin:/bin"}, timeout=60,
    )  # fmt: skip


def test_worker_needs_the_celery_engine(tmp_path: Path) -> None:
    cfg = make_mirror(tmp_path / "m", [])
    r = _cli("worker", "--config", str(cfg.path), cwd=tmp_path)
    assert r.returncode == 2 and 'kind = "celery"' in r.stderr and "Traceback" not in r.stderr


# -- the host gate, on a real Redis -------------------------------------------------


def test_the_host_gate_holds_the_limit_across_clients(redis_url: str) -> None:
    from newsmirror.hostgate import RedisHostGate

    async def main() -> tuple[int, int]:
        gates = [RedisHostGate(redis_url, limit=2, lease=30) for _ in range(4)]  # 4 "workers"
        now = peak = 0

        async def one(gate: RedisHostGate) -> None:
            nonlocal now, peak
            async with gate.slot("example.org"):
                now += 1
                peak = max(peak, now)
                await asyncio.sleep(0.02)
                now -= 1

        other = 0

        async def elsewhere(gate: RedisHostGate) -> None:
            nonlocal other
            async with gate.slot("other.example"):
                other += 1

        await asyncio.gather(*(one(gates[i % 4]) for i in range(16)), elsewhere(gates[0]))
        for g in gates:
            await g.aclose()
        return peak, other

    peak, other = asyncio.run(main())
    assert peak == 2 and other == 1


def test_a_lost_lease_expires_and_a_cool_down_is_shared(redis_url: str) -> None:
    from newsmirror.hostgate import RedisHostGate

    async def main() -> tuple[bool, bool, bool]:
        a = RedisHostGate(redis_url, limit=1, lease=1)
        b = RedisHostGate(redis_url, limit=1, lease=1)
        # A worker takes the only slot and dies without giving it back.
        await a._acquire(keys=list(a._keys("h")), args=[1, 1000, "dead"])
        blocked = await _times_out(b.slot("h"), 0.3)
        freed = not await _times_out(b.slot("h"), 3)  # the lease ran out
        await a.cool("h", 0.5)  # a 429 seen by one worker...
        cooled = await _times_out(b.slot("h"), 0.2)  # ...holds back the others
        await a.aclose()
        await b.aclose()
        return blocked, freed, cooled

    assert asyncio.run(main()) == (True, True, True)


async def _times_out(cm: object, seconds: float) -> bool:
    async def enter() -> None:
        async with cm:  # type: ignore[attr-defined]
            pass

    try:
        await asyncio.wait_for(enter(), seconds)
    except TimeoutError:
        return True
    return False


def test_fetchers_in_different_processes_share_per_host(redis_url: str, server: object) -> None:
    """Two fetchers (two workers) with per_host = 2 each: never more than two
    requests in flight at the server, where without the gate there would be four."""
    from newsmirror.fetch import Fetcher
    from newsmirror.hostgate import RedisHostGate

    srv = server  # LoopbackServer
    for i in range(12):
        srv.add(f"/slow/{i}", b"<rss/>", delay=0.05)  # type: ignore[attr-defined]
    settings = FetchSettings(per_host=2, retries=0)

    async def main(shared: bool) -> int:
        srv.reset()  # type: ignore[attr-defined]
        gates = [RedisHostGate(redis_url, limit=2, lease=30) if shared else None for _ in range(2)]
        async with Fetcher(settings, gate=gates[0]) as f1, Fetcher(settings, gate=gates[1]) as f2:
            await asyncio.gather(
                *((f1 if i % 2 else f2).fetch(srv.url(f"/slow/{i}")) for i in range(12))  # type: ignore[attr-defined]
            )
        for g in gates:
            if g is not None:
                await g.aclose()
        return srv.max_concurrent("/slow/")  # type: ignore[attr-defined,no-any-return]

    assert asyncio.run(main(False)) == 4  # the test can fail: per process, it is 2 + 2
    assert asyncio.run(main(True)) == 2


def test_a_run_without_workers_or_broker_fails_in_one_line(tmp_path: Path, redis_url: str) -> None:
    from tests.servers import free_port

    toml = '[engine]\nkind = "celery"\nbroker = "{}"\n'
    feeds = [("A", "a", "http://127.0.0.1:9/feed.xml")]
    no_workers = make_mirror(tmp_path / "a", feeds, extra=toml.format(redis_url))
    r = _cli("run", "--config", str(no_workers.path), cwd=tmp_path)
    assert r.returncode == 1 and "no newsmirror worker answers" in r.stderr, r.stderr
    dead = f"redis://:sekrit@127.0.0.1:{free_port()}/0"
    no_broker = make_mirror(tmp_path / "b", feeds, extra=toml.format(dead))
    r = _cli("run", "--config", str(no_broker.path), cwd=tmp_path)
    assert r.returncode == 1 and "cannot reach the broker" in r.stderr, r.stderr
    assert "sekrit" not in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_an_overdue_task_is_sent_again_under_its_own_id() -> None:
    from newsmirror.dist_run import _Results

    class Task:
        def __init__(self) -> None:
            self.sent: list[tuple[object, str]] = []

        def apply_async(self, args: tuple[object], task_id: str) -> None:
            self.sent.append((args[0], task_id))

    class App:
        backend = None

    task = Task()
    patient = _Results(App(), overdue=3600)
    patient.send(task, {"job": 1}, "run.feed.a", ("feed", "a"))
    patient.resend_overdue()
    assert task.sent == [({"job": 1}, "run.feed.a")] and patient.resent == 0
    hasty = _Results(App(), overdue=0)
    hasty.send(task, {"job": 2}, "run.page.a.0.x", ("page", "a", 0))
    hasty.resend_overdue()
    assert task.sent[-2:] == [({"job": 2}, "run.page.a.0.x")] * 2 and hasty.resent == 1
    assert hasty.pending == {"run.page.a.0.x": ("page", "a", 0)}  # taken once when it arrives


def test_the_fetcher_takes_host_slots_from_its_gate_and_reports_backoff(server: object) -> None:
    """The fetcher's side of the shared politeness: every request holds a slot
    of its gate, and a Retry-After pause is handed to the gate for everyone."""
    import contextlib

    from newsmirror.fetch import Fetcher

    events: list[tuple[str, str, float]] = []

    class Gate:
        @contextlib.asynccontextmanager
        async def slot(self, host: str):  # type: ignore[no-untyped-def]
            events.append(("take", host, 0.0))
            yield
            events.append(("give", host, 0.0))

        async def cool(self, host: str, seconds: float) -> None:
            events.append(("cool", host, seconds))

    slept: list[float] = []

    async def sleep(s: float) -> None:
        slept.append(s)

    srv = server
    srv.add("/busy", b"<rss/>", fail_times=1, fail_status=429, retry_after=2)  # type: ignore[attr-defined]

    async def main() -> None:
        async with Fetcher(FetchSettings(retries=1), gate=Gate(), sleep=sleep) as f:  # type: ignore[arg-type]
            await f.fetch(srv.url("/busy"))  # type: ignore[attr-defined]

    asyncio.run(main())
    assert events == [("take", "127.0.0.1", 0.0), ("cool", "127.0.0.1", 2.0), ("give", "127.0.0.1", 0.0)]
    assert slept == [2.0]
