"""The index behaves the same on SQLite and on PostgreSQL: every test here runs
against both backends (``store_target``), on a real server for PostgreSQL."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from newsmirror.errors import StoreError
from newsmirror.loopback import LoopbackServer
from newsmirror.models import Article, FeedState
from newsmirror.store import SCHEMA_VERSION, Store, parse_ts
from newsmirror.store_db import display, split_script, translate

T0 = parse_ts("2026-11-28T08:00:00.000Z")
assert T0 is not None


def art(n: int, **kw: object) -> Article:
    base = dict(
        key=f"https://example.org/news/{n}",
        guid=f"guid-{n}",
        source="cna" if n % 2 else "bbc",
        source_name="中央社" if n % 2 else "BBC 中文",
        title=f"標題 {n} 100%",
        link=f"https://example.org/news/{n}",
        published=T0 - timedelta(hours=n),
        fetched=T0,
        content="<p>x</p>",
        text="x",
        content_hash=f"sha256:{n:064x}",
        categories=("政治", "國際"),
        authors=("記者 王",),
        first_seen=T0 - timedelta(days=n % 9, minutes=1),
        path=f"_posts/2026-11-{(n % 27) + 1:02d}-標題-{n}.md",
    )
    base.update(kw)
    return Article(**base)  # type: ignore[arg-type]


def test_identity_find_by_key_guid_then_fingerprint(store_target: str) -> None:
    with Store(store_target) as s:
        with s.batch():
            s.put(art(1), guid_key="g1", fp="fp1")
            s.put(art(2), guid_key="", fp="fp2")
        assert s.find(art(1).key).article.title == "標題 1 100%"  # type: ignore[union-attr]
        assert s.find("nope", guid_key="g1").article.key == art(1).key  # type: ignore[union-attr]
        assert s.find("nope", "", fp="fp2").article.key == art(2).key  # type: ignore[union-attr]
        assert s.find("nope", guid_key="", fp="") is None
        known = s.find(art(1).key)
        assert known is not None and known.guid_key == "g1" and known.fp == "fp1"
        a = known.article
        assert a.categories == ("政治", "國際") and a.authors == ("記者 王",)
        assert a.published == art(1).published and a.first_seen == art(1).first_seen
        assert s.path_owner(art(2).path) == art(2).key and s.path_owner("x") is None


def test_put_replaces_and_revisions_are_kept(store_target: str) -> None:
    with Store(store_target) as s:
        s.put(art(1), guid_key="g1", fp="fp1")
        changed = art(1, title="新標題", revision=2, changed=T0, content_hash="sha256:ff")
        with s.batch():
            s.add_revision(
                art(1).key, 1, art(1).content_hash, art(1).title, T0, "_revisions/a/1.md"
            )
            s.put(changed, guid_key="g1", fp="fp1")
            s.add_revision(
                art(1).key, 1, art(1).content_hash, art(1).title, T0, "_revisions/a/1.md"
            )
        assert s.count() == 1
        got = s.find(art(1).key).article  # type: ignore[union-attr]
        assert (got.title, got.revision, got.changed) == ("新標題", 2, T0)
        assert s.revisions_of(art(1).key) == [
            (1, art(1).content_hash, art(1).title, T0, "_revisions/a/1.md")
        ]
        s.set_path(art(1).key, "_posts/_archive/x.md")
        assert s.path_owner("_posts/_archive/x.md") == art(1).key


def test_a_failed_write_in_a_batch_undoes_only_itself(store_target: str) -> None:
    with Store(store_target) as s:
        with s.batch():
            s.put(art(1), guid_key="", fp="")
            with pytest.raises(StoreError):  # a clear error, not a traceback
                s.put(art(3, title=None), guid_key="", fp="")
            s.put(art(5), guid_key="", fp="")
        assert sorted(a.key for a in s.iter_articles()) == [art(1).key, art(5).key]


def test_put_takes_over_a_path_as_sqlite_replace_does(store_target: str) -> None:
    with Store(store_target) as s:
        s.put(art(1), guid_key="", fp="")
        s.put(art(2), guid_key="", fp="")
        s.put(art(3, path=art(1).path), guid_key="", fp="")
        assert sorted(a.key for a in s.iter_articles()) == [art(2).key, art(3).key]
        assert s.path_owner(art(1).path) == art(3).key


def test_queries_order_and_count_alike(store_target: str) -> None:
    with Store(store_target) as s, s.batch():
        for n in range(1, 21):
            s.put(art(n), guid_key=f"g{n}", fp=f"f{n}")
    with Store(store_target) as s:  # reopening keeps everything (schema made once)
        assert s.count() == 20
        assert s.count(source="cna") == 10
        assert s.count(since=T0 - timedelta(days=2)) == sum(1 for n in range(1, 21) if n % 9 < 2)
        keys = [a.key for a in s.iter_articles()]
        assert keys == [art(n).key for n in range(20, 0, -1)]  # oldest first
        assert [a.key for a in s.iter_articles("bbc")] == [art(n).key for n in range(20, 0, -2)]
        assert s.newest("cna", 2) == [
            (art(1).published, art(1).title, art(1).link),
            (art(3).published, art(3).title, art(3).link),
        ]
        old = s.older_than(T0 - timedelta(hours=18), "_posts")
        assert [k for k, _ in old] == sorted(
            (art(n).key for n in (19, 20)), key=lambda k: art(int(k.rsplit("/", 1)[1])).path
        )
        daily = s.daily_counts(T0, days=7)
        assert sum(sum(v) for v in daily.values()) == sum(1 for n in range(1, 21) if n % 9 < 7)
        assert daily["bbc"][-1] == sum(1 for n in range(2, 21, 2) if n % 9 == 0)
        assert set(s.newest_first_seen()) == {"bbc", "cna"}
        rows = list(s.site_rows())
        assert len(rows) == 20 and rows[0][0] == art(20).key
        assert len(s.site_published()) == 20
        assert len(list(s.iter_known())) == 20
        dump = s.dump()
        assert [r[0] for r in dump["articles"]] == sorted(art(n).key for n in range(1, 21))
        s.clear_articles()
        assert s.count() == 0


def test_paths_sort_bytewise(store_target: str) -> None:
    """Post paths with Chinese, upper and lower case sort the same on both backends."""
    names = ["_posts/b.md", "_posts/B.md", "_posts/中.md", "_posts/a-z.md", "_posts/a_z.md"]
    with Store(store_target) as s, s.batch():
        for i, p in enumerate(names):
            s.put(art(i + 1, path=p, published=T0 - timedelta(days=40)), guid_key="", fp="")
    with Store(store_target) as s:
        got = [p for _, p in s.older_than(T0, "_posts")]
    assert got == sorted(names, key=lambda p: p.encode())


def test_feed_health(store_target: str) -> None:
    with Store(store_target) as s:
        url = "https://example.org/feed.xml"
        assert s.feed("cna") is None and s.feed_state("cna", url) == FeedState()
        s.record_failure("cna", url, T0, "cna: timed out", "timeout")
        s.record_failure("cna", url, T0 + timedelta(hours=1), "cna: refused", "connect")
        h = s.feed("cna")
        assert h is not None and h.failures == 2 and h.last_error_reason == "connect"
        s.record_success("cna", url, FeedState('"e1"', "Sat"), T0, had_new=True)
        s.record_success(
            "cna", url, FeedState('"e2"', "Sun"), T0 + timedelta(hours=2), had_new=False
        )
        h = s.feed("cna")
        assert h is not None and h.failures == 0 and h.last_new == T0
        assert h.last_success == T0 + timedelta(hours=2)
        assert s.feed_state("cna", url) == FeedState('"e2"', "Sun")
        assert s.feed_state("cna", url + "?moved") == FeedState()
        assert [f.slug for f in s.feeds()] == ["cna"]


def test_images(store_target: str) -> None:
    with Store(store_target) as s:
        s.put(art(1), guid_key="", fp="")
        assert s.image("u1") is None
        s.image_failed("u1", "u1", "refused", "connect", T0, count=True)
        s.image_failed("u1", "u1", "deferred", "run_cap", T0, count=False)
        row = s.image("u1")
        assert row is not None and (row.status, row.tries, row.last_reason) == (
            "failed",
            1,
            "run_cap",
        )
        assert [r.url for r in s.pending_images(5)] == ["u1"] and s.pending_images(1) == []
        s.add_image_refs(art(1).key, ["u1", "u1", "u2"])
        s.image_ok("u1", "u1", "ab", "assets/ab.jpg", "image/jpeg", 10, T0)
        s.image_failed("u1", "u1", "x", "y", T0, count=True)  # an ok row stays ok
        assert s.image("u1").status == "ok"  # type: ignore[union-attr]
        assert s.image_source("u1") == "cna" and s.image_source("zz") == ""
        assert s.unapplied_image_posts() == [(art(1).key, art(1).path, {"u1": "assets/ab.jpg"})]
        s.mark_image_refs_applied(art(1).key, ["u1"])
        assert s.unapplied_image_posts() == []
        assert s.image_counts() == {"ok": 1}


def test_schema_version_is_recorded_once(store_target: str) -> None:
    for _ in range(2):
        with Store(store_target) as s:
            rows = s.db.execute("SELECT k, v FROM meta").fetchall()
            assert rows == [("schema", str(SCHEMA_VERSION))]


def test_a_bad_target_is_one_clear_error(tmp_path: object, postgres_url: str) -> None:
    bad = postgres_url.rsplit("/", 1)[0] + "/no_such_db"
    with pytest.raises(StoreError) as e:
        Store(bad.replace("postgres@", "postgres:secret@"))
    assert "no_such_db" in str(e.value) and "secret" not in str(e.value)


def test_translation_of_the_sqlite_dialect() -> None:
    assert translate("SELECT a FROM t WHERE b = ? AND c LIKE '%?%'") == (
        "SELECT a FROM t WHERE b = %s AND c LIKE '%?%'"
    )
    assert translate("BEGIN IMMEDIATE") == "BEGIN"
    assert translate("SELECT IFNULL(a, 0) % 2 FROM t") == "SELECT COALESCE(a, 0) %% 2 FROM t"
    ddl = translate("CREATE TABLE x (id INTEGER PRIMARY KEY, n INTEGER, s TEXT, b BLOB)")
    assert "GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY" in ddl
    assert 'n BIGINT, s TEXT COLLATE "C", b BYTEA' in ddl
    assert translate("ALTER TABLE x ADD COLUMN y TEXT") == (
        'ALTER TABLE x ADD COLUMN IF NOT EXISTS y TEXT COLLATE "C"'
    )
    assert split_script("CREATE TABLE a (s TEXT DEFAULT ';'); CREATE INDEX i ON a(s);") == [
        "CREATE TABLE a (s TEXT DEFAULT ';')",
        "CREATE INDEX i ON a(s)",
    ]
    assert display("postgresql://u:pw@h/db") == "postgresql://u:***@h/db"


def test_portable_new_tables_work_on_both(store_target: str) -> None:
    """What another part of the store adds in plain SQL (a table with an
    auto-numbered key, INSERT OR REPLACE/IGNORE, a column added later, PRAGMA
    table_info) runs on both backends."""
    with Store(store_target) as s:
        db = s.db
        db.execute("CREATE TABLE IF NOT EXISTS checks (id INTEGER PRIMARY KEY, key TEXT NOT NULL,"
                   " due TEXT NOT NULL, n INTEGER NOT NULL DEFAULT 0, UNIQUE (key))")  # fmt: skip
        db.execute("INSERT OR IGNORE INTO checks (key, due) VALUES (?, ?)", ("a", "t1"))
        db.execute("INSERT OR IGNORE INTO checks (key, due) VALUES (?, ?)", ("a", "t2"))
        db.execute("INSERT INTO checks (key, due) VALUES (?, ?)", ("b", "t3"))
        assert db.execute("SELECT key, due FROM checks ORDER BY id").fetchall() == [
            ("a", "t1"), ("b", "t3"),
        ]  # fmt: skip
        db.execute("INSERT OR REPLACE INTO checks (id, key, due, n) VALUES (?, ?, ?, ?)",
                   (1, "a", "t9", 2 ** 40))  # fmt: skip
        assert db.execute("SELECT due, n FROM checks WHERE key = ?", ("a",)).fetchone() == (
            "t9", 2 ** 40,
        )  # fmt: skip
        cols = [r[1] for r in db.execute("PRAGMA table_info(checks)")]
        assert cols == ["id", "key", "due", "n"]
        db.execute("ALTER TABLE checks ADD COLUMN note TEXT NOT NULL DEFAULT ''")
        assert [r[1] for r in db.execute("PRAGMA table_info(checks)")][-1] == "note"
        with pytest.raises(sqlite3.IntegrityError):
            db.execute("INSERT INTO checks (key, due) VALUES (?, ?)", ("b", "t4"))


def test_a_corpus_run_on_postgresql_equals_the_sqlite_run(
    tmp_path: Path, server: LoopbackServer, corpus: Path, postgres_url: str
) -> None:
    from newsmirror.pipeline import run
    from newsmirror.reindex import reindex

    from .helpers import make_mirror, snapshot
    from .test_pipeline import corpus_sources

    sources = corpus_sources(server, corpus)
    lite = make_mirror(tmp_path / "lite", sources)
    pg = make_mirror(tmp_path / "pg", sources, extra=f'[store]\nurl = "{postgres_url}"\n')
    assert pg.store_target == postgres_url
    one, two = run(lite, now=T0), run(pg, now=T0)
    assert [r.outcomes for r in one.sources] == [r.outcomes for r in two.sources]
    skip = (".newsmirror", "newsmirror.toml")
    assert snapshot(lite.root, skip=skip) == snapshot(pg.root, skip=skip)
    assert not (pg.root / ".newsmirror" / "index.sqlite").exists()
    with Store(lite.store_target) as a, Store(pg.store_target) as b:
        dumped = a.dump()
        assert dumped == b.dump() and len(dumped["articles"]) > 100
        assert [(f.slug, f.state) for f in a.feeds()] == [(f.slug, f.state) for f in b.feeds()]
    again = run(pg, now=T0)
    assert all(s.not_modified for s in again.sources)
    reindex(pg)
    with Store(pg.store_target) as b:
        assert b.dump()["articles"] == dumped["articles"]


def test_returning_and_rowcount_are_portable(store_target: str) -> None:
    with Store(store_target) as s:
        s.db.execute("CREATE TABLE IF NOT EXISTS jobs (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
        ids = [
            s.db.execute("INSERT INTO jobs (name) VALUES (?) RETURNING id", (n,)).fetchone()[0]
            for n in ("a", "b")
        ]
        with s.batch():  # inside a transaction too (each write has its savepoint there)
            ids.append(
                s.db.execute("INSERT INTO jobs (name) VALUES (?) RETURNING id", ("z",)).fetchone()[0]
            )
        assert ids[1] == ids[0] + 1 and ids[2] == ids[1] + 1
        assert s.db.execute("UPDATE jobs SET name = 'c' WHERE id >= ?", (ids[0],)).rowcount == 3
