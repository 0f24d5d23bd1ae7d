"""The index's operational state, as ``StoreState`` (a part of ``Store``) reads and
writes it: each feed's conditional-GET validators and health (newsmirror.health,
newsmirror.backoff), each article's re-check state and deletion marks
(newsmirror.recheck), and the images the mirror keeps with the articles that
show them (newsmirror.assets). It owns the feeds, rechecks and images tables; it
reads the articles table only for them (new articles per source, articles not
yet scheduled, deletion marks, an image's articles). SQL of the store (see
``store``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from . import store_db
from .models import FeedState
from .store_schema import ARTICLE_COLUMNS, Known, known_from_row, parse_ts, ts


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


class StoreState:
    """The feeds, re-checks and images of ``Store`` (which owns ``db``)."""

    db: store_db.Connection

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
            known = known_from_row(row[:n])
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

    def image(self, url: str) -> StoreState.ImageRow | None:
        """The row of an image URL; None when it was never seen (not a failure)."""
        row = (
            self._images()
            .execute(f"SELECT {self._IMAGE_COLUMNS} FROM images WHERE url = ?", (url,))
            .fetchone()
        )
        return StoreState.ImageRow(*row) if row else None

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

    def pending_images(self, max_tries: int) -> list[StoreState.ImageRow]:
        """Failed images still worth another try, least tried first."""
        rows = self._images().execute(
            f"SELECT {self._IMAGE_COLUMNS} FROM images WHERE status != 'ok' AND tries < ?"
            " ORDER BY tries, url",
            (max_tries,),
        )
        return [StoreState.ImageRow(*r) for r in rows]

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


__all__ = ["StoreState", "FeedHealth", "RecheckState"]
