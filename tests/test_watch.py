"""newsmirror watch: the schedule, one run at a time, surviving failures, clean stops."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from newsmirror.fsutil import MirrorLock
from newsmirror.loopback import LoopbackServer, Route
from newsmirror.postfile_record import parse_post
from newsmirror.publish import ensure_repo
from newsmirror.store import Store
from newsmirror.watch import Watcher, WatchSettings, parse_interval

from .helpers import make_mirror
from .test_publish import bare_remote, clean_git_env, git, rss  # noqa: F401 (fixture)


def test_parse_interval() -> None:
    assert parse_interval("30m") == 1800
    assert parse_interval("1h30m") == 5400
    assert parse_interval("90s") == 90
    assert parse_interval("1d") == 86400
    assert parse_interval("0.5s") == 0.5
    assert parse_interval("45") == 45
    assert parse_interval("0", allow_zero=True) == 0
    for bad in ("", "soon", "30x", "-5", "0", "1h soon"):
        with pytest.raises(ValueError):
            parse_interval(bad)


def test_jitter_defaults() -> None:
    assert WatchSettings(every=1800).max_jitter == 180
    assert WatchSettings(every=7200).max_jitter == 300
    assert WatchSettings(every=60, jitter=0).max_jitter == 0
    assert WatchSettings(every=60, jitter=7).max_jitter == 7


def test_three_runs_on_schedule_one_at_a_time_surviving_a_failure() -> None:
    starts: list[float] = []
    active = [0, 0]  # now, most ever

    async def run() -> str:
        starts.append(time.monotonic())
        active[0] += 1
        active[1] = max(active)
        try:
            await asyncio.sleep(0.03)  # longer than the interval: the next waits, never overlaps
            if len(starts) == 2:
                raise RuntimeError("the feed host is on fire")
            return f"ok {len(starts)}"
        finally:
            active[0] -= 1

    published: list[int] = []

    def after() -> str:
        published.append(len(starts))
        return "published"

    logs: list[str] = []
    w = Watcher(run, WatchSettings(every=0.01, jitter=0, max_runs=3), after=after, log=logs.append)
    assert asyncio.run(w.serve()) == 3
    assert w.runs == 3 and w.failures == 1
    assert active[1] == 1
    assert published == [1, 3]  # no publish after the failed run
    assert "run 2 failed: the feed host is on fire" in logs
    assert "run 3: ok 3" in logs


def test_schedule_keeps_its_rate_with_jitter() -> None:
    starts: list[float] = []

    async def run() -> str:
        starts.append(time.monotonic())
        return "ok"

    rng = random.Random(7)
    w = Watcher(run, WatchSettings(every=0.05, jitter=0.02, max_runs=4), log=lambda _m: None,
                rng=rng)  # fmt: skip
    asyncio.run(w.serve())
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert len(gaps) == 3
    assert all(0.05 <= g < 0.2 for g in gaps), gaps


def test_stop_cancels_a_run_at_a_safe_point_and_skips_publish() -> None:
    logs: list[str] = []

    async def scenario() -> Watcher:
        started = asyncio.Event()

        async def run() -> str:
            started.set()
            await asyncio.sleep(30)
            return "never"

        def after() -> str:
            raise AssertionError("publish after a stopped run")

        w = Watcher(run, WatchSettings(every=0.01, jitter=0), after=after, log=logs.append)
        task = asyncio.create_task(w.serve())
        await started.wait()
        w.stop("SIGTERM")
        await asyncio.wait_for(task, 2)
        return w

    w = asyncio.run(scenario())
    assert w.runs == 1 and w.failures == 0
    assert logs[0] == "stopping (SIGTERM): finishing the current write"
    assert logs[1].startswith("run 1: stopped between two writes")


def test_stop_while_waiting_returns_at_once() -> None:
    async def scenario() -> tuple[Watcher, float]:
        async def run() -> str:
            return "ok"

        w = Watcher(run, WatchSettings(every=60, jitter=0), log=lambda _m: None)
        task = asyncio.create_task(w.serve())
        await asyncio.sleep(0.05)
        t = time.monotonic()
        w.stop()
        await asyncio.wait_for(task, 2)
        return w, time.monotonic() - t

    w, took = asyncio.run(scenario())
    assert w.runs == 1 and took < 1


# -- the real process -------------------------------------------------------------

APP = (
    "import sys, typer\nfrom newsmirror.cli_ops import register\n"
    "app = typer.Typer()\n@app.callback()\ndef main() -> None: pass\n"
    "register(app)\napp(sys.argv[1:])\n"
)


class SlowFrom(Route):
    """A route that answers at once until its ``n``-th hit, then stalls."""

    def __init__(self, server: LoopbackServer, path: str, n: int, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self._hits: Callable[[], int] = lambda: server.hits[path]
        self._n = n

    def __getattribute__(self, name: str) -> object:
        if name == "delay":
            return 30.0 if object.__getattribute__(self, "_hits")() >= self._n else 0.0
        return object.__getattribute__(self, name)


def wait_for(what: Callable[[], bool], timeout: float = 20) -> None:
    end = time.monotonic() + timeout
    while not what():
        if time.monotonic() > end:
            raise AssertionError("timed out waiting")
        time.sleep(0.01)


def test_watch_process_three_runs_sigterm_during_the_third(
    tmp_path: Path, server: LoopbackServer
) -> None:
    """Run 1 finds the mirror locked (fails, the watch goes on), run 2 writes and
    publishes, run 3 is stalled on the network when SIGTERM comes: the process
    exits 0 at once, the tree is whole, the lock is free."""
    server.routes["/feed.xml"] = SlowFrom(
        server, "/feed.xml", 2, body=rss(["a1", "a2", "b1"]), content_type="application/rss+xml"
    )
    remote = bare_remote(tmp_path)
    root = tmp_path / "m"
    cfg = make_mirror(root, [("甲報", "alpha", server.url("/feed.xml"))])
    ensure_repo(root)
    git(root, "remote", "add", "origin", str(remote))
    env = {**os.environ, "GIT_AUTHOR_NAME": "w", "GIT_AUTHOR_EMAIL": "w@example.org",
           "GIT_COMMITTER_NAME": "w", "GIT_COMMITTER_EMAIL": "w@example.org"}  # fmt: skip

    lines: list[str] = []
    lock = MirrorLock(root).__enter__()  # run 1 will find the mirror busy
    proc = subprocess.Popen(
        [sys.executable, "-c", APP, "watch", "-c", str(root / "newsmirror.toml"),
         "--every", "1s", "--jitter", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)  # type: ignore[arg-type]
    reader.start()
    try:
        wait_for(lambda: any(" run 1 failed" in ln for ln in lines))
        lock.__exit__(None, None, None)
        wait_for(lambda: any(" run 2: published" in ln for ln in lines))
        wait_for(lambda: server.hits["/feed.xml"] == 2)  # run 3 is waiting for the feed
        time.sleep(0.2)
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=15)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
        reader.join(5)
    log = "".join(lines)
    assert code == 0, log
    assert took < 10, log  # did not sit out the stalled request
    assert "holds this mirror" in log
    assert "run 3: stopped between two writes" in log
    assert "stopped after 3 runs (1 failed)" in log

    # The lock is free, no temporary file is left, every post is whole and indexed.
    with MirrorLock(root):
        pass
    tmp = root / ".newsmirror" / "tmp"
    assert not tmp.exists() or not any(tmp.iterdir())
    posts = sorted((root / "_posts").rglob("*.md"))
    assert len(posts) == 3
    for p in posts:
        parse_post(p.read_text(encoding="utf-8"), path=str(p))
    with Store(cfg.index_path) as store:
        assert store.count() == 3
    # Run 2's work reached the remote.
    tree = git(remote, "-c", "core.quotepath=false", "ls-tree", "-r", "--name-only", "main")
    assert sum(1 for ln in tree.splitlines() if ln.startswith("_posts/")) == 3
