"""The index: every article's identity, dates, hash, revisions and post path,
plus each feed's conditional-GET validators and health. SQLite in WAL mode,
one writer; or PostgreSQL, running the same statements (``store_db``
translates the few SQLite-only forms). All SQL of newsmirror lives in this
module: keep it portable (no SQLite date functions).

The articles and revisions tables are a cache of facts that are also in the
mirror's files (``reindex`` rebuilds them from the posts alone). The feeds
table is operational state: losing it costs one unconditional fetch per feed.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import os
import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from . import store_db
from .errors import StoreError
from .models import Article, FeedState

SCHEMA_VERSION = 2  # 2: articles.deleted/deletions, the rechecks table

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    key TEXT PRIMARY KEY,
    guid TEXT NOT NULL,
    guid_key TEXT NOT NULL,
    fp TEXT NOT NULL,
    source TEXT NOT NULL,
    source_name TEXT NOT NULL,
    title TEXT NOT NULL,
    link TEXT NOT NULL,
    published TEXT NOT NULL,
    updated TEXT,
    fetched TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    changed TEXT,
    content_hash TEXT NOT NULL,
    origin TEXT NOT NULL,
    revision INTEGER NOT NULL,
    path TEXT NOT NULL UNIQUE,
    categories TEXT NOT NULL,
    authors TEXT NOT NULL,
    deleted TEXT,
    deletions TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS articles_guid ON articles(guid_key) WHERE guid_key != '';
CREATE INDEX IF NOT EXISTS articles_fp ON articles(fp) WHERE fp != '';
CREATE INDEX IF NOT EXISTS articles_source ON articles(source, published);
CREATE INDEX IF NOT EXISTS articles_first_seen ON articles(first_seen);
CREATE TABLE IF NOT EXISTS revisions (
    key TEXT NOT NULL,
    revision INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    title TEXT NOT NULL,
    stored TEXT NOT NULL,
    path TEXT NOT NULL,
    PRIMARY KEY (key, revision)
);
CREATE TABLE IF NOT EXISTS feeds (
    slug TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    etag TEXT NOT NULL DEFAULT '',
    last_modified TEXT NOT NULL DEFAULT '',
    last_attempt TEXT,
    last_success TEXT,
    last_new TEXT,
    last_error TEXT NOT NULL DEFAULT '',
    last_error_reason TEXT NOT NULL DEFAULT '',
    failures INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS rechecks (
    key TEXT PRIMARY KEY,
    due TEXT,
    checked TEXT,
    etag TEXT NOT NULL DEFAULT '',
    last_modified TEXT NOT NULL DEFAULT '',
    page_sig TEXT NOT NULL DEFAULT '',
    page_title TEXT NOT NULL DEFAULT '',
    misses INTEGER NOT NULL DEFAULT 0,
    miss_since TEXT,
    miss_reason TEXT NOT NULL DEFAULT '',
    outcome TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS rechecks_due ON rechecks(due);
"""

# Columns added after a schema version, with their definition (ALTER TABLE … ADD COLUMN).
MIGRATIONS = (
    ("articles", "deleted", "TEXT"),
    ("articles", "deletions", "TEXT NOT NULL DEFAULT '[]'"),
)

ARTICLE_COLUMNS = (
    "key", "guid", "guid_key", "fp", "source", "source_name", "title", "link", "published",
    "updated", "fetched", "first_seen", "changed", "content_hash", "origin", "revision", "path",
    "categories", "authors", "deleted", "deletions",
)  # fmt: skip
# (the index rows of ``article_row``, from values or, for reindex, a shard's SELECT)
PUT_ARTICLES = f"INSERT OR REPLACE INTO articles ({', '.join(ARTICLE_COLUMNS)})"


def ts(dt: datetime | None) -> str | None:
    """A UTC instant as stored: ISO 8601 with milliseconds and Z (sorts as text)."""
    if dt is None:
        return None
    u = dt.astimezone(UTC)
    if u.year < 1000 or u.microsecond != dt.microsecond:  # (an unpadded year; an offset
        # with microseconds): as it has always been written
        return u.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
    return u.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def parse_ts(s: str | None) -> datetime | None:
    if not s:
        return None
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def article_row(art: Article, *, guid_key: str, fp: str) -> tuple:
    """An article's values in ``ARTICLE_COLUMNS`` order, as stored."""
    return (
        art.key, art.guid, guid_key, fp, art.source, art.source_name, art.title, art.link,
        ts(art.published), ts(art.updated), ts(art.fetched), ts(art.first_seen or art.fetched),
        ts(art.changed), art.content_hash, art.origin, art.revision, art.path,
        _json_list(art.categories, ensure_ascii=False), _json_list(art.authors, ensure_ascii=False),
        ts(art.deleted), _json_list(art.deletions),
    )  # fmt: skip


def _json_list(items: tuple[str, ...], *, ensure_ascii: bool = True) -> str:
    """``json.dumps(list(items))`` (most lists are empty; a source's items share theirs)."""
    if not items:
        return "[]"
    if type(items) is tuple and all(type(x) is str for x in items):
        return _json_dumps(items, ensure_ascii)
    return json.dumps(list(items), ensure_ascii=ensure_ascii)


@functools.lru_cache(maxsize=1024)
def _json_dumps(items: tuple[str, ...], ensure_ascii: bool) -> str:
    return json.dumps(list(items), ensure_ascii=ensure_ascii)


@dataclass(frozen=True, slots=True)
class Known:
    """What the index knows of an article (everything but its content)."""

    article: Article
    guid_key: str
    fp: str


@dataclass(frozen=True, slots=True)
class RecheckState:
    """Where an article stands in its re-checks (see newsmirror.recheck)."""

    key: str
    due: datetime | None = None  # next re-check; None = no more (or never scheduled)
    checked: datetime | None = None  # last re-check that got an answer
    state: FeedState = FeedState()  # the page's validators (conditional GET)
    page_sig: str = ""  # content signature of the page when last seen whole
    page_title: str = ""  # the page's own title then (may differ from the feed's)
    misses: int = 0  # consecutive re-checks that found the article gone
    miss_since: datetime | None = None  # when the first of them was made
    miss_reason: str = ""  # gone / redirected_home / removed_page (+ detail)
    outcome: str = ""  # last re-check's outcome and reason (for status)
    reason: str = ""


@dataclass(frozen=True, slots=True)
class FeedHealth:
    slug: str
    url: str
    state: FeedState
    last_attempt: datetime | None
    last_success: datetime | None
    last_new: datetime | None
    last_error: str
    last_error_reason: str
    failures: int


class Store:
    """The SQLite index. Use as a context manager; group writes in ``batch()``."""

    def __init__(self, path: Path | str, *, scratch: bool = False) -> None:
        """``path``: the SQLite file, or a ``postgresql://`` URL (see store_db);
        ``scratch``: a new file built to replace the index (``seal()`` it when done)."""
        self.path = str(path)
        try:
            self.db = store_db.connect(path, scratch=scratch)
            self._migrate()
            self.db.executescript(SCHEMA)
            self.db.execute(
                "INSERT OR IGNORE INTO meta(k, v) VALUES ('schema', ?)", (str(SCHEMA_VERSION),)
            )
        except sqlite3.DatabaseError as e:
            raise StoreError(f"cannot open the index: {e}", url=store_db.display(path)) from None
        self._depth = 0

    def _migrate(self) -> None:
        """Bring an index made by an older version up to this schema: add missing
        columns (portable ALTER TABLE), then record the version."""
        for table, column, definition in MIGRATIONS:
            have = {row[1] for row in self.db.execute(f"PRAGMA table_info({table})")}
            if have and column not in have:  # no columns: a fresh index, SCHEMA makes it whole
                self.db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
        self.db.execute("CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)")
        self.db.execute(
            "UPDATE meta SET v = ? WHERE k = 'schema' AND CAST(v AS INTEGER) < ?",
            (str(SCHEMA_VERSION), SCHEMA_VERSION),
        )

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    def seal(self) -> None:
        """Make a ``scratch`` index an ordinary one (journaled as ``connect`` leaves
        it) before it replaces the index."""
        self.db.execute("PRAGMA journal_mode=WAL")

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """One transaction for many writes (nested calls join the outer one)."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self.db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
            self.db.execute("COMMIT")
        except BaseException as e:
            with contextlib.suppress(sqlite3.Error):
                self.db.execute("ROLLBACK")
            if isinstance(e, sqlite3.OperationalError) and "full" in str(e):
                # A full disk is one clear line (like a post that cannot be written).
                raise StoreError(f"{os.strerror(errno.ENOSPC)}: {self.path}", reason="write") from None
            raise
        finally:
            self._depth = 0

    # -- articles -------------------------------------------------------------

    def _row_to_known(self, row: sqlite3.Row | tuple) -> Known:
        r = dict(zip(ARTICLE_COLUMNS, row, strict=True))
        art = Article(
            key=r["key"],
            guid=r["guid"],
            source=r["source"],
            source_name=r["source_name"],
            title=r["title"],
            link=r["link"],
            published=parse_ts(r["published"]),  # type: ignore[arg-type]
            fetched=parse_ts(r["fetched"]),  # type: ignore[arg-type]
            content="",
            text="",
            content_hash=r["content_hash"],
            updated=parse_ts(r["updated"]),
            categories=tuple(json.loads(r["categories"])),
            authors=tuple(json.loads(r["authors"])),
            origin=r["origin"],
            revision=r["revision"],
            first_seen=parse_ts(r["first_seen"]),
            changed=parse_ts(r["changed"]),
            path=r["path"],
            deleted=parse_ts(r["deleted"]),
            deletions=tuple(json.loads(r["deletions"] or "[]")),
        )
        return Known(article=art, guid_key=r["guid_key"], fp=r["fp"])

    def find(self, key: str, guid_key: str = "", fp: str = "") -> Known | None:
        """The known article with this key, else this GUID key, else this
        fingerprint; None when the article is new (not a failure)."""
        cols = ", ".join(ARTICLE_COLUMNS)
        for col, value in (("key", key), ("guid_key", guid_key), ("fp", fp)):
            if not value:
                continue
            # "col != ''" lets SQLite use the partial indexes (else: a full scan).
            row = self.db.execute(
                f"SELECT {cols} FROM articles WHERE {col} = ? AND {col} != '' LIMIT 1", (value,)
            ).fetchone()
            if row:
                return self._row_to_known(row)
        return None

    def path_owner(self, path: str) -> str | None:
        row = self.db.execute("SELECT key FROM articles WHERE path = ?", (path,)).fetchone()
        return row[0] if row else None

    _PUT = PUT_ARTICLES + f" VALUES ({', '.join('?' * len(ARTICLE_COLUMNS))})"

    def put(self, art: Article, *, guid_key: str, fp: str) -> None:
        """Insert or replace an article's row."""
        try:
            self.db.execute(self._PUT, article_row(art, guid_key=guid_key, fp=fp))
        except sqlite3.IntegrityError as e:
            raise StoreError(f"cannot store: {e}", source=art.source, url=art.link) from None

    def put_rows(self, rows: Iterable[tuple]) -> None:
        """Insert or replace many article rows (``article_row`` tuples) at once."""
        try:
            self.db.executemany(self._PUT, rows)
        except sqlite3.IntegrityError as e:
            raise StoreError(f"cannot store: {e}") from None

    def add_revision_rows(self, rows: Iterable[tuple[str, int, str, str, str, str]]) -> None:
        """Many (key, revision, content_hash, title, stored as text, path) rows at once."""
        self.db.executemany(
            "INSERT OR REPLACE INTO revisions (key, revision, content_hash, title, stored, path)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )

    def set_path(self, key: str, path: str) -> None:
        self.db.execute("UPDATE articles SET path = ? WHERE key = ?", (path, key))

    def add_revision(
        self, key: str, revision: int, content_hash: str, title: str, stored: datetime, path: str
    ) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO revisions (key, revision, content_hash, title, stored, path)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (key, revision, content_hash, title, ts(stored), path),
        )

    def iter_articles(self, source: str | None = None) -> Iterator[Article]:
        """All articles (no content), oldest first, streamed."""
        cols = ", ".join(ARTICLE_COLUMNS)
        sql = f"SELECT {cols} FROM articles"
        args: tuple = ()
        if source is not None:
            sql += " WHERE source = ?"
            args = (source,)
        for row in self.db.execute(sql + " ORDER BY published, key", args):
            yield self._row_to_known(row).article

    def newest(self, source: str, limit: int) -> list[tuple[datetime, str, str]]:
        """(published, title, link) of a source's newest articles."""
        rows = self.db.execute(
            "SELECT published, title, link FROM articles WHERE source = ?"
            " ORDER BY published DESC, key LIMIT ?",
            (source, limit),
        ).fetchall()
        return [(parse_ts(p), t, link) for p, t, link in rows]  # type: ignore[misc]

    def older_than(self, cutoff: datetime, under: str) -> list[tuple[str, str]]:
        """(key, path) of articles published before cutoff whose post sits directly
        under the folder ``under`` (for the archive rotation)."""
        rows = self.db.execute(
            "SELECT key, path FROM articles WHERE published < ? AND path LIKE ? ORDER BY path",
            (ts(cutoff), under.rstrip("/") + "/%"),
        ).fetchall()
        prefix = under.rstrip("/") + "/"
        return [(k, p) for k, p in rows if "/" not in p[len(prefix) :]]

    def count(self, since: datetime | None = None, source: str | None = None) -> int:
        sql, args = "SELECT COUNT(*) FROM articles WHERE 1=1", []
        if since is not None:
            sql += " AND first_seen >= ?"
            args.append(ts(since))
        if source is not None:
            sql += " AND source = ?"
            args.append(source)
        return int(self.db.execute(sql, args).fetchone()[0])

    def dump(self) -> dict[str, list[tuple]]:
        """Every article and revision row in a stable order (for comparisons)."""
        cols = ", ".join(ARTICLE_COLUMNS)
        return {
            "articles": self.db.execute(f"SELECT {cols} FROM articles ORDER BY key").fetchall(),
            "revisions": self.db.execute(
                "SELECT key, revision, content_hash, title, stored, path FROM revisions"
                " ORDER BY key, revision"
            ).fetchall(),
        }

    # The articles table's secondary indexes, as SCHEMA creates them.
    _ARTICLE_INDEXES = tuple(
        (m.group(1), m.group(0))
        for m in re.finditer(r"CREATE INDEX IF NOT EXISTS (\w+) ON articles\b[^;]*", SCHEMA)
    )

    @contextlib.contextmanager
    def bulk_articles(self) -> Iterator[None]:
        """Many article rows at once (``reindex``): the secondary indexes are dropped
        and built again at the end (sorting once beats updating them row by row).
        Inside ``batch()``, so nobody sees the table without them."""
        for name, _ in self._ARTICLE_INDEXES:
            self.db.execute(f"DROP INDEX IF EXISTS {name}")
        try:
            yield
        finally:
            for _, create in self._ARTICLE_INDEXES:
                self.db.execute(create)

    def clear_articles(self) -> None:
        self.db.execute("DELETE FROM articles")
        self.db.execute("DELETE FROM revisions")

    # -- feeds ----------------------------------------------------------------

    def feed(self, slug: str) -> FeedHealth | None:
        row = self.db.execute(
            "SELECT slug, url, etag, last_modified, last_attempt, last_success, last_new,"
            " last_error, last_error_reason, failures FROM feeds WHERE slug = ?",
            (slug,),
        ).fetchone()
        if row is None:
            return None
        return FeedHealth(
            slug=row[0],
            url=row[1],
            state=FeedState(etag=row[2], last_modified=row[3]),
            last_attempt=parse_ts(row[4]),
            last_success=parse_ts(row[5]),
            last_new=parse_ts(row[6]),
            last_error=row[7],
            last_error_reason=row[8],
            failures=row[9],
        )

    def feed_state(self, slug: str, url: str) -> FeedState:
        """Validators for a conditional GET (none when the URL changed)."""
        h = self.feed(slug)
        return h.state if h is not None and h.url == url else FeedState()

    def record_success(
        self, slug: str, url: str, state: FeedState, when: datetime, *, had_new: bool
    ) -> None:
        self.db.execute(
            "INSERT INTO feeds (slug, url, etag, last_modified, last_attempt, last_success,"
            " last_new, failures, last_error, last_error_reason) VALUES (?, ?, ?, ?, ?, ?, ?, 0, '', '')"
            " ON CONFLICT(slug) DO UPDATE SET url = excluded.url, etag = excluded.etag,"
            " last_modified = excluded.last_modified, last_attempt = excluded.last_attempt,"
            " last_success = excluded.last_success,"
            " last_new = COALESCE(excluded.last_new, feeds.last_new), failures = 0",
            (slug, url, state.etag, state.last_modified, ts(when), ts(when),
             ts(when) if had_new else None),
        )  # fmt: skip

    def record_failure(self, slug: str, url: str, when: datetime, error: str, reason: str) -> None:
        self.db.execute(
            "INSERT INTO feeds (slug, url, last_attempt, last_error, last_error_reason, failures)"
            " VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT(slug) DO UPDATE SET url = excluded.url,"
            " last_attempt = excluded.last_attempt, last_error = excluded.last_error,"
            " last_error_reason = excluded.last_error_reason, failures = feeds.failures + 1",
            (slug, url, ts(when), error, reason),
        )

    def feeds(self) -> list[FeedHealth]:
        slugs = [r[0] for r in self.db.execute("SELECT slug FROM feeds ORDER BY slug")]
        return [h for s in slugs if (h := self.feed(s)) is not None]

    def daily_counts(self, now: datetime, days: int = 7) -> dict[str, list[int]]:
        """Articles first seen per source in each of the last ``days`` 24-hour
        windows before ``now``, oldest window first."""
        rows = self.db.execute(
            "SELECT source, first_seen FROM articles WHERE first_seen >= ? AND first_seen <= ?",
            (ts(now - timedelta(days=days)), ts(now)),
        )
        out: dict[str, list[int]] = {}
        for source, seen in rows:
            d = int((now - parse_ts(seen)).total_seconds() // 86400)  # type: ignore[operator]
            if 0 <= d < days:
                out.setdefault(source, [0] * days)[days - 1 - d] += 1
        return out

    def newest_first_seen(self) -> dict[str, datetime]:
        """When each source's most recently mirrored article was first seen
        (survives a ``reindex``, unlike the feeds table)."""
        rows = self.db.execute("SELECT source, MAX(first_seen) FROM articles GROUP BY source")
        return {s: dt for s, v in rows if (dt := parse_ts(v)) is not None}

    # -- export (newsmirror.export) ---------------------------------------------

    def iter_known(self) -> Iterator[Known]:
        """Every article with its index keys, oldest first, streamed."""
        cols = ", ".join(ARTICLE_COLUMNS)
        for row in self.db.execute(f"SELECT {cols} FROM articles ORDER BY published, key"):
            yield self._row_to_known(row)

    def revisions_of(self, key: str) -> list[tuple[int, str, str, datetime, str]]:
        """(revision, content_hash, title, stored, path) of an article's kept revisions."""
        rows = self.db.execute(
            "SELECT revision, content_hash, title, stored, path FROM revisions WHERE key = ?"
            " ORDER BY revision",
            (key,),
        ).fetchall()
        return [(n, h, t, parse_ts(s), p) for n, h, t, s, p in rows]  # type: ignore[misc]

    # -- re-checks (newsmirror.recheck) ------------------------------------------
    # Operational state like the feeds table: losing it costs re-checks that
    # start over from each article's publish time. Deletion marks themselves live
    # in the articles table (and the posts), so ``reindex`` restores them.

    _RECHECK_COLUMNS = (
        "key, due, checked, etag, last_modified, page_sig, page_title, misses, miss_since,"
        " miss_reason, outcome, reason"
    )

    def _recheck_row(self, row: tuple) -> RecheckState:
        k, due, checked, etag, lm, sig, title, misses, since, why, outcome, reason = row
        return RecheckState(
            key=k, due=parse_ts(due), checked=parse_ts(checked),
            state=FeedState(etag=etag, last_modified=lm), page_sig=sig, page_title=title,
            misses=misses, miss_since=parse_ts(since), miss_reason=why, outcome=outcome,
            reason=reason,
        )  # fmt: skip

    def unscheduled(self) -> list[tuple[str, str, datetime, datetime]]:
        """(key, source, published, first seen) of articles with no re-check state yet."""
        rows = self.db.execute(
            "SELECT a.key, a.source, a.published, a.first_seen FROM articles a"
            " LEFT JOIN rechecks r ON r.key = a.key WHERE r.key IS NULL ORDER BY a.key"
        ).fetchall()
        return [(k, s, parse_ts(p), parse_ts(f)) for k, s, p, f in rows]  # type: ignore[misc]

    def schedule(self, due: list[tuple[str, datetime | None]]) -> None:
        """Give articles their first re-check time (None: nothing left to check)."""
        self.db.executemany(
            "INSERT INTO rechecks (key, due) VALUES (?, ?) ON CONFLICT(key) DO NOTHING",
            [(k, ts(d)) for k, d in due],
        )

    def _with_rechecks(
        self, where: str, args: list, limit: int | None
    ) -> list[tuple[Known, RecheckState]]:
        cols = ", ".join(f"a.{c}" for c in ARTICLE_COLUMNS)
        rcols = ", ".join(f"r.{c.strip()}" for c in self._RECHECK_COLUMNS.split(","))
        sql = (
            f"SELECT {cols}, {rcols} FROM articles a LEFT JOIN rechecks r ON r.key = a.key"
            f" WHERE {where} ORDER BY r.due, a.key"
        )
        if limit is not None:
            sql += " LIMIT ?"
            args = [*args, limit]
        n = len(ARTICLE_COLUMNS)
        out = []
        for row in self.db.execute(sql, args):
            known = self._row_to_known(row[:n])
            if row[n] is None:  # never scheduled
                state = RecheckState(key=known.article.key)
            else:
                state = self._recheck_row(row[n:])
            out.append((known, state))
        return out

    @staticmethod
    def _sources_clause(sources: Sequence[str] | None) -> tuple[str, list]:
        if sources is None:
            return "", []
        return f" AND a.source IN ({', '.join('?' * len(sources)) or 'NULL'})", list(sources)

    def due_rechecks(
        self, now: datetime, limit: int, sources: Sequence[str] | None = None
    ) -> list[tuple[Known, RecheckState]]:
        """Articles whose re-check is due at ``now``, longest overdue first, at most ``limit``."""
        extra, args = self._sources_clause(sources)
        return self._with_rechecks(
            "r.due IS NOT NULL AND r.due <= ?" + extra, [ts(now), *args], limit
        )

    def every_recheck(
        self, sources: Sequence[str] | None = None
    ) -> list[tuple[Known, RecheckState]]:
        """Every article with its re-check state (``recheck --all``)."""
        extra, args = self._sources_clause(sources)
        return self._with_rechecks("1 = 1" + extra, args, None)

    def recheck_state(self, key: str) -> RecheckState | None:
        row = self.db.execute(
            f"SELECT {self._RECHECK_COLUMNS} FROM rechecks WHERE key = ?", (key,)
        ).fetchone()
        return self._recheck_row(row) if row else None

    def save_recheck(self, r: RecheckState) -> None:
        self.db.execute(
            f"INSERT OR REPLACE INTO rechecks ({self._RECHECK_COLUMNS})"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (r.key, ts(r.due), ts(r.checked), r.state.etag, r.state.last_modified, r.page_sig,
             r.page_title, r.misses, ts(r.miss_since), r.miss_reason, r.outcome, r.reason),
        )  # fmt: skip

    def deletion_marks(self) -> list[tuple[str, datetime, datetime | None]]:
        """Every deletion mark, current and undone: (key, gone since, back at or None),
        newest first (for the site's deletions page)."""
        rows = self.db.execute(
            "SELECT key, deleted, deletions FROM articles WHERE deleted IS NOT NULL"
            " OR deletions != '[]'"
        ).fetchall()
        out: list[tuple[str, datetime, datetime | None]] = []
        for key, deleted, past in rows:
            if deleted:
                out.append((key, parse_ts(deleted), None))  # type: ignore[arg-type]
            for interval in json.loads(past or "[]"):
                gone, _, back = interval.partition("/")
                out.append((key, parse_ts(gone), parse_ts(back)))  # type: ignore[arg-type]
        return sorted(out, key=lambda m: (m[1], m[0]), reverse=True)

    # -- images (newsmirror.assets) ----------------------------------------------
    # Created on first use, so index files made before images existed just gain them.

    _IMAGES_SCHEMA = (
        "CREATE TABLE IF NOT EXISTS images (url TEXT PRIMARY KEY, fetch_url TEXT NOT NULL,"
        " status TEXT NOT NULL, sha256 TEXT NOT NULL DEFAULT '', path TEXT NOT NULL DEFAULT '',"
        " ctype TEXT NOT NULL DEFAULT '', size INTEGER NOT NULL DEFAULT 0,"
        " tries INTEGER NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '',"
        " last_reason TEXT NOT NULL DEFAULT '', first_seen TEXT NOT NULL, last_try TEXT)",
        "CREATE INDEX IF NOT EXISTS images_pending ON images(status) WHERE status != 'ok'",
        "CREATE TABLE IF NOT EXISTS image_refs (url TEXT NOT NULL, key TEXT NOT NULL,"
        " applied INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (url, key))",
        "CREATE INDEX IF NOT EXISTS image_refs_key ON image_refs(key)",
        "CREATE INDEX IF NOT EXISTS image_refs_todo ON image_refs(applied) WHERE applied = 0",
    )
    _IMAGE_COLUMNS = (
        "url, fetch_url, status, sha256, path, ctype, size, tries, last_error, last_reason"
    )

    @dataclass(frozen=True, slots=True)
    class ImageRow:
        """One image URL as the index knows it: ``ok`` (a file under assets/) or ``failed``."""

        url: str  # as written in the article's <img src> (maybe a proxy URL)
        fetch_url: str  # what was fetched (the proxy unwrapped)
        status: str
        sha256: str
        path: str  # relative to the mirror root; "" unless ok
        ctype: str
        size: int
        tries: int  # failed attempts (a deferral by the run's byte cap is not one)
        last_error: str
        last_reason: str

    def _images(self) -> store_db.Connection:
        if not getattr(self, "_images_ready", False):
            for sql in self._IMAGES_SCHEMA:
                self.db.execute(sql)
            self._images_ready = True
        return self.db

    def image(self, url: str) -> Store.ImageRow | None:
        """The row of an image URL; None when it was never seen (not a failure)."""
        row = (
            self._images()
            .execute(f"SELECT {self._IMAGE_COLUMNS} FROM images WHERE url = ?", (url,))
            .fetchone()
        )
        return Store.ImageRow(*row) if row else None

    def image_ok(
        self,
        url: str,
        fetch_url: str,
        sha256: str,
        path: str,
        ctype: str,
        size: int,
        when: datetime,
    ) -> None:
        self._images().execute(
            "INSERT INTO images (url, fetch_url, status, sha256, path, ctype, size, first_seen,"
            " last_try) VALUES (?, ?, 'ok', ?, ?, ?, ?, ?, ?) ON CONFLICT(url) DO UPDATE SET"
            " fetch_url = excluded.fetch_url, status = 'ok', sha256 = excluded.sha256,"
            " path = excluded.path, ctype = excluded.ctype, size = excluded.size,"
            " last_error = '', last_reason = '', last_try = excluded.last_try",
            (url, fetch_url, sha256, path, ctype, size, ts(when), ts(when)),
        )

    def image_failed(
        self, url: str, fetch_url: str, error: str, reason: str, when: datetime, *, count: bool
    ) -> None:
        """Record a failed (``count``) or deferred attempt; an ok row stays ok."""
        self._images().execute(
            "INSERT INTO images (url, fetch_url, status, tries, last_error, last_reason,"
            " first_seen, last_try) VALUES (?, ?, 'failed', ?, ?, ?, ?, ?)"
            " ON CONFLICT(url) DO UPDATE SET tries = images.tries + excluded.tries,"
            " last_error = excluded.last_error, last_reason = excluded.last_reason,"
            " last_try = excluded.last_try WHERE images.status != 'ok'",
            (url, fetch_url, int(count), error, reason, ts(when), ts(when)),
        )

    def image_source(self, url: str) -> str:
        """The slug of a source whose article shows image ``url`` ("" when none)."""
        row = self._images().execute(
            "SELECT a.source FROM image_refs r JOIN articles a ON a.key = r.key"
            " WHERE r.url = ? ORDER BY a.key LIMIT 1",
            (url,),
        ).fetchone()
        return row[0] if row else ""

    def pending_images(self, max_tries: int) -> list[Store.ImageRow]:
        """Failed images still worth another try, least tried first."""
        rows = self._images().execute(
            f"SELECT {self._IMAGE_COLUMNS} FROM images WHERE status != 'ok' AND tries < ?"
            " ORDER BY tries, url",
            (max_tries,),
        )
        return [Store.ImageRow(*r) for r in rows]

    def add_image_refs(self, key: str, urls: list[str]) -> None:
        """Article ``key`` shows these image URLs (its post is patched when one arrives)."""
        self._images().executemany(
            "INSERT OR IGNORE INTO image_refs (url, key) VALUES (?, ?)", [(u, key) for u in urls]
        )

    def unapplied_image_posts(self) -> list[tuple[str, str, dict[str, str]]]:
        """(key, post path, {image URL: asset path}) for posts that may still show an
        image's original URL although the mirror has its copy."""
        rows = self._images().execute(
            "SELECT r.key, a.path, r.url, i.path FROM image_refs r"
            " JOIN images i ON i.url = r.url AND i.status = 'ok'"
            " JOIN articles a ON a.key = r.key WHERE r.applied = 0 ORDER BY a.path, r.url"
        )
        out: dict[tuple[str, str], dict[str, str]] = {}
        for key, post, url, asset in rows:
            out.setdefault((key, post), {})[url] = asset
        return [(k, p, m) for (k, p), m in out.items()]

    def mark_image_refs_applied(self, key: str, urls: list[str]) -> None:
        self._images().executemany(
            "UPDATE image_refs SET applied = 1 WHERE key = ? AND url = ?", [(key, u) for u in urls]
        )

    def image_counts(self) -> dict[str, int]:
        """Images per status (``ok``, ``failed``)."""
        rows = self._images().execute("SELECT status, COUNT(*) FROM images GROUP BY status")
        return {s: n for s, n in rows}

    # -- the built site (newsmirror.site_render) ----------------------------------

    SITE_COLUMNS = (
        "key", "source", "source_name", "title", "link", "published", "updated", "changed",
        "revision", "content_hash", "path",
    )  # fmt: skip

    def site_rows(self, since: str = "") -> Iterator[tuple[str, ...]]:
        """Every article (published at ``since`` or later: a time as stored) as the
        built site needs it (``SITE_COLUMNS``, values as stored, times as ISO text),
        oldest first, streamed."""
        cols = ", ".join(self.SITE_COLUMNS)
        yield from self.db.execute(
            f"SELECT {cols} FROM articles WHERE published >= ? ORDER BY published, key", (since,)
        )

    def site_published(self) -> dict[str, str]:
        """Every article's key and publish time (as stored)."""
        return dict(self.db.execute("SELECT key, published FROM articles"))


__all__ = ["Store", "Known", "FeedHealth", "RecheckState", "article_row", "ts", "parse_ts"]
