"""``reindex`` in worker processes gives exactly the index it gives in one process
(and the index a run built), legacy and broken files included."""

from __future__ import annotations

import shutil
import sqlite3
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

import newsmirror.reindex
from newsmirror.loopback import LoopbackServer
from newsmirror.pipeline import run
from newsmirror.reindex import reindex
from newsmirror.store import Store, parse_ts

from .helpers import make_mirror
from .test_pipeline import corpus_sources

NOW = parse_ts("2026-11-28T08:00:00.000Z")
LEGACY = """---
layout: post
title: 舊文章
date: 2020-03-04 05:06:07 +0800
author: 舊來源
from: http://legacy.example/1
tags: [ 舊來源 ]
categories: 舊來源
---
舊的純文字內文
"""


def dump(cfg_index: Path) -> dict[str, list[tuple]]:
    with Store(cfg_index) as store:
        return store.dump()


def sql_dump(cfg_index: Path) -> list[str]:
    """The index file as SQL (rows in rowid order: the order they were put in)."""
    db = sqlite3.connect(cfg_index)
    try:
        return list(db.iterdump())
    finally:
        db.close()


class HerePool:
    """A worker pool that runs the workers' functions here, at once (so that
    patches apply to them)."""

    def __init__(self, workers: int, **kw: Any) -> None:
        pass

    def submit(self, fn: Any, *args: Any) -> Future:
        f: Future = Future()
        f.set_result(fn(*args))
        return f

    def shutdown(self, **kw: Any) -> None:
        pass


def test_reindex_in_workers_gives_the_same_index(
    tmp_path: Path, server: LoopbackServer, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pools: list[int] = []

    class Pool(newsmirror.reindex.ProcessPoolExecutor):  # type: ignore[name-defined]
        def __init__(self, workers: int, **kw: Any) -> None:
            pools.append(workers)
            super().__init__(workers, **kw)

    monkeypatch.setattr(newsmirror.reindex, "ProcessPoolExecutor", Pool)
    cfg = make_mirror(tmp_path / "m", corpus_sources(server, corpus))
    run(cfg, now=NOW)
    before = dump(cfg.index_path)
    cfg.index_path.unlink()
    rep = reindex(cfg, workers=2, chunk=7, pool_min=0)
    assert rep.skipped == () and rep.posts == len(before["articles"])
    assert dump(cfg.index_path) == before
    assert pools == [2]  # the rows were read by two worker processes

    # Files newsmirror did not write, a second post with a taken key, unreadable ones.
    posts = cfg.root / "_posts"
    (posts / "2020-03-04-舊文章.md").write_text(LEGACY, encoding="utf-8")
    first = sorted(posts.glob("*.md"))[0]
    shutil.copy(first, posts / "zz-copy.md")
    (posts / "zz-bad-utf8.md").write_bytes(b"---\ntitle: x\n---\n\xff\xfe")
    (posts / "zz-bad-yaml.md").write_text("---\ntitle: [x\n---\n", encoding="utf-8")
    (posts / "zz-no-front.md").write_text("just text\n", encoding="utf-8")
    cfg.index_path.unlink()
    one = reindex(cfg, workers=1)
    inline, inline_sql = dump(cfg.index_path), sql_dump(cfg.index_path)
    cfg.index_path.unlink()
    two = reindex(cfg, workers=2, chunk=3, pool_min=0)  # the workers' rows copied from shards
    assert dump(cfg.index_path) == inline and two == one
    assert sql_dump(cfg.index_path) == inline_sql  # the same file, row for row
    assert one.posts == len(before["articles"]) + 1
    assert [s.split(":")[0] for s in one.skipped] == [
        "_posts/zz-bad-utf8.md", "_posts/zz-bad-yaml.md", "_posts/zz-copy.md",
        "_posts/zz-no-front.md",
    ]  # fmt: skip
    assert "same key as another post" in one.skipped[2]
    legacy = [r for r in inline["articles"] if r[7] == "http://legacy.example/1"]
    assert len(legacy) == 1 and legacy[0][8] == "2020-03-03T21:06:07.000Z"


def test_reindex_over_an_index_or_a_taken_name_gives_the_same_index(
    tmp_path: Path, server: LoopbackServer, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new index is built aside and linked into place; an existing one is updated in
    place (its other tables kept); when the name is taken meanwhile, in place too."""
    cfg = make_mirror(tmp_path / "m", corpus_sources(server, corpus))
    run(cfg, now=NOW)
    with Store(cfg.index_path) as store:
        before, feeds = store.dump(), store.feeds()
    assert feeds
    scratch = cfg.index_path.with_name(cfg.index_path.name + ".reindex")

    reindex(cfg)  # in place: the feeds' state stays
    with Store(cfg.index_path) as store:
        assert store.dump() == before and store.feeds() == feeds
    assert not scratch.exists()

    cfg.index_path.unlink()
    made = []

    def link(src: object, dst: object) -> None:  # someone opens the index meanwhile
        with Store(cfg.index_path) as store:
            store.record_failure("x", "http://x.example/", NOW, "boom", "http")  # type: ignore[arg-type]
        made.append(dst)
        raise FileExistsError(17, "File exists")

    monkeypatch.setattr(newsmirror.reindex.os, "link", link)
    rep = reindex(cfg, workers=2, chunk=7, pool_min=0)  # read twice, by two pools
    assert made == [cfg.index_path] and rep.posts == len(before["articles"])
    with Store(cfg.index_path) as store:
        assert store.dump() == before and [f.slug for f in store.feeds()] == ["x"]
    assert not scratch.exists()


def test_reindex_goes_on_here_when_a_worker_dies(
    tmp_path: Path, server: LoopbackServer, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool

    class Pool:  # answers two chunks, then breaks
        def __init__(self, workers: int, **kw: Any) -> None:
            self.answered = 0

        def submit(self, fn: Any, *args: Any) -> Future:
            f: Future = Future()
            self.answered += 1
            if self.answered <= 2:
                f.set_result(fn(*args))
            else:
                f.set_exception(BrokenProcessPool("a worker died"))
            return f

        def shutdown(self, **kw: Any) -> None:
            pass

    cfg = make_mirror(tmp_path / "m", corpus_sources(server, corpus))
    run(cfg, now=NOW)
    before = dump(cfg.index_path)
    cfg.index_path.unlink()
    monkeypatch.setattr(newsmirror.reindex, "ProcessPoolExecutor", Pool)
    rep = reindex(cfg, workers=2, chunk=5, pool_min=0)
    assert rep.skipped == () and dump(cfg.index_path) == before


def test_reindex_when_shards_cannot_be_written_gives_the_same_index(
    tmp_path: Path, server: LoopbackServer, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker that cannot write its shard (a full disk) sends its rows back; no
    folder for shards at all: every row comes back. The index is the same."""

    import newsmirror.store_shard

    cfg = make_mirror(tmp_path / "m", corpus_sources(server, corpus))
    run(cfg, now=NOW)
    cfg.index_path.unlink()
    reindex(cfg, workers=1)
    inline = sql_dump(cfg.index_path)
    monkeypatch.setattr(newsmirror.reindex, "ProcessPoolExecutor", HerePool)
    written: list[str] = []
    write = newsmirror.store_shard.write_shard

    def every_other(path: str, rows: Any) -> None:
        written.append(path)
        if len(written) % 2 == 0:
            raise sqlite3.OperationalError("database or disk is full")
        write(path, rows)

    monkeypatch.setattr(newsmirror.store_shard, "write_shard", every_other)
    cfg.index_path.unlink()
    rep = reindex(cfg, workers=2, chunk=2, pool_min=0)
    assert len(written) >= 3 and rep.skipped == ()
    assert sql_dump(cfg.index_path) == inline

    def no_folder(**kw: Any) -> Any:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(newsmirror.reindex.tempfile, "TemporaryDirectory", no_folder)
    written.clear()
    cfg.index_path.unlink()
    reindex(cfg, workers=2, chunk=2, pool_min=0)
    assert written == [] and sql_dump(cfg.index_path) == inline


def test_reindex_from_shards_gives_the_posts_images_back(
    tmp_path: Path, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The images of the posts read into shards are indexed as those of the posts
    read here (and not those of a post skipped for its taken key)."""
    from newsmirror.assets import ImageRun

    from .test_assets import keep, localize, make_article, serve_images

    mirror = make_mirror(tmp_path / "m", [("測試源", "t", server.url("/f.xml"))])
    u = serve_images(server)
    for n in range(1, 7):
        keep(mirror, localize(mirror, make_article(server, [u["red"]], n=n), ImageRun()))
    posts = sorted((mirror.root / "_posts").rglob("*.md"))
    shutil.copy(posts[0], posts[0].with_name("zz-copy.md"))  # its key taken, in a later shard
    mirror.index_path.unlink()
    one = reindex(mirror, workers=1)
    inline = sql_dump(mirror.index_path)
    assert sum('INSERT INTO "image_refs"' in line for line in inline) == 6
    monkeypatch.setattr(newsmirror.reindex, "ProcessPoolExecutor", HerePool)
    mirror.index_path.unlink()
    two = reindex(mirror, workers=2, chunk=1, pool_min=0)  # shards of 4 posts
    assert two == one and len(one.skipped) == 1 and sql_dump(mirror.index_path) == inline
