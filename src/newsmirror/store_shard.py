"""Shards of the articles table, for ``reindex``: a worker process writes the rows
it read into a small SQLite file of its own (a shard), and the process building
the new index copies them in with one ``INSERT … SELECT`` (SQLite moves the
values without Python, where binding them one by one from Python cost more than
reading the posts). Kept apart from ``store`` so that the workers need nothing
but ``sqlite3``.

A shard is a scratch file: written without a journal or syncs, read once, then
deleted. Its one table, ``rows``, has no column types (no affinity: a value is
kept as it was bound) and no keys (rows are appended in file order: its rowids
1, 2, … are the order of the files); the index's column types apply when the
rows are copied, as when they are bound there directly.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

SHARD_NAME = "shard"  # the name a shard is attached under
_AS_NULL = {}.get  # None for None, in C (an adapter of None: see write_shard)


def write_shard(path: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """A new shard at ``path`` holding ``rows`` (tuples of one length), in order."""
    # None is bound as NULL either way, but sqlite3 first looks for an adapter of
    # its type, and not finding one costs more than binding a text (a row has a
    # few Nones): finding one that answers None is cheaper. The same for any
    # other use of sqlite3 in the process (a worker's, mostly).
    sqlite3.register_adapter(type(None), _AS_NULL)
    width = len(rows[0]) if rows else 1
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        db.execute(f"CREATE TABLE rows ({', '.join(f'c{i}' for i in range(width))})")
        db.execute("BEGIN")
        db.executemany(f"INSERT INTO rows VALUES ({', '.join('?' * width)})", rows)
        db.execute("COMMIT")
    finally:
        db.close()


class Attached:
    """A shard attached to the index's connection (``with``: detached after)."""

    def __init__(self, db: Any, path: str) -> None:
        self.db = db
        db.execute(f"ATTACH DATABASE ? AS {SHARD_NAME}", (path,))

    def __enter__(self) -> Attached:
        return self

    def __exit__(self, *exc: object) -> None:
        self.db.execute(f"DETACH DATABASE {SHARD_NAME}")

    def column(self, column: int, rowids: Sequence[int]) -> list[Any]:
        """The values of one column (0 the first) of the rows ``rowids``."""
        sql = f"SELECT c{column} FROM {SHARD_NAME}.rows WHERE rowid = ?"
        return [self.db.execute(sql, (r,)).fetchone()[0] for r in rowids]

    def put_articles(self, runs: Sequence[tuple[int, int]]) -> None:
        """Insert (or replace, as ``Store.put_rows``) the shard's rows whose rowids
        are in the ``runs`` (first, last) as articles rows (``article_row``
        tuples), in rowid order."""
        from .store import ARTICLE_COLUMNS, PUT_ARTICLES

        picks = ", ".join(f"c{i}" for i in range(len(ARTICLE_COLUMNS)))
        sql = (
            f"{PUT_ARTICLES} SELECT {picks} FROM {SHARD_NAME}.rows"
            " WHERE rowid BETWEEN ? AND ? ORDER BY rowid"
        )
        for first, last in runs:
            self.db.execute(sql, (first, last))


__all__ = ["Attached", "write_shard"]
