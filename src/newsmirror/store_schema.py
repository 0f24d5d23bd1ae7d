"""The index's tables and the values in their rows: ``SCHEMA`` (made whole when
the index is opened; the images tables are made on first use, in
``store_state``), ``MIGRATIONS`` (the columns added since), the articles
table's columns, and how values are written there and read back: times
(``ts``/``parse_ts``) and article rows (``article_row``/``known_from_row``).
SQL of the store (see ``store``): keep it portable (no SQLite date functions).
"""

from __future__ import annotations

import functools
import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime

from .models import Article

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


def known_from_row(row: sqlite3.Row | tuple) -> Known:
    """An articles row (``ARTICLE_COLUMNS``) as the index knows the article."""
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


__all__ = [
    "SCHEMA_VERSION", "SCHEMA", "MIGRATIONS", "ARTICLE_COLUMNS", "PUT_ARTICLES", "Known",
    "ts", "parse_ts", "article_row", "known_from_row",
]  # fmt: skip
