"""The index: every article's identity, dates, hash, revisions and post path,
plus each feed's conditional-GET validators and health. SQLite in WAL mode,
one writer; or PostgreSQL, running the same statements (``store_db``
translates the few SQLite-only forms). All SQL of newsmirror lives in this
module and its parts: ``store_schema`` (the tables, and the values in their
rows) and ``store_state`` (the feeds, re-checks and images: ``StoreState``, a
base of ``Store``). Keep it portable (no SQLite date functions).

The articles and revisions tables are a cache of facts that are also in the
mirror's files (``reindex`` rebuilds them from the posts alone). The feeds
table is operational state: losing it costs one unconditional fetch per feed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import sqlite3
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path

from . import store_db
from .errors import StoreError
from .models import Article
from .store_schema import (
    ARTICLE_COLUMNS,
    MIGRATIONS,
    PUT_ARTICLES,
    SCHEMA,
    SCHEMA_VERSION,
    Known,
    article_row,
    known_from_row,
    parse_ts,
    ts,
)
from .store_state import FeedHealth, RecheckState, StoreState


class Store(StoreState):
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
                return known_from_row(row)
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
            yield known_from_row(row).article

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

    # -- export (newsmirror.export) ---------------------------------------------

    def iter_known(self) -> Iterator[Known]:
        """Every article with its index keys, oldest first, streamed."""
        cols = ", ".join(ARTICLE_COLUMNS)
        for row in self.db.execute(f"SELECT {cols} FROM articles ORDER BY published, key"):
            yield known_from_row(row)

    def revisions_of(self, key: str) -> list[tuple[int, str, str, datetime, str]]:
        """(revision, content_hash, title, stored, path) of an article's kept revisions."""
        rows = self.db.execute(
            "SELECT revision, content_hash, title, stored, path FROM revisions WHERE key = ?"
            " ORDER BY revision",
            (key,),
        ).fetchall()
        return [(n, h, t, parse_ts(s), p) for n, h, t, s, p in rows]  # type: ignore[misc]

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
