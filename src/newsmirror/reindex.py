"""Rebuild the index from the mirror's files alone: the repository is the backup.

Posts (``_posts/``, ``_archive`` included) give the articles table; kept
versions under ``_revisions/`` give the revisions table. Files are streamed one
at a time and rows written in batches, so memory stays flat however large the
archive.

A post in newsmirror's own layout is read by ``frontmatter.split_post`` and
turned straight into its index row (its times are already in the stored form;
the index keeps no text, so the HTML is not parsed). Anything else (a legacy or
hand-edited post) goes through ``postfile.parse_post`` and PyYAML. Both give
the same row for the same file: the tests hold them to it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from .assets import index_post_images, local_images
from .config import Config
from .errors import ItemError
from .frontmatter import Raw, split_post
from .fsutil import MirrorFiles, MirrorLock
from .mirror import REVISIONS_DIR
from .postfile import body_content, parse_post
from .store import Store, article_row, parse_ts
from .urls import fingerprint, guid_key

BATCH = 2000  # rows per executemany
_POST_SUFFIXES = (".md", ".markdown", ".html")
_IMG = re.compile("<img", re.I)
_TIME_KEYS = ("date", "fetched", "first_seen", "changed", "updated")


@dataclass(frozen=True, slots=True)
class ReindexReport:
    posts: int
    revisions: int
    skipped: tuple[str, ...]  # "path: cause" for files that could not be read


@dataclass(frozen=True, slots=True)
class PostRow:
    """What the index takes from one post file."""

    row: tuple[Any, ...]  # store.ARTICLE_COLUMNS order, values as stored
    content: str  # the content HTML when it shows local images, else ""
    when: str  # changed, else fetched (as stored): when its images were indexed

    @property
    def key(self) -> str:
        return str(self.row[0])


# ------------------------------------------------------------------ reading


def walk_posts(posts_dir: Path, root: Path) -> Iterator[tuple[str, str]]:
    """(absolute path, path relative to ``root``) of every post under ``posts_dir``
    (``_archive`` included) in ``fsutil.iter_posts``'s order, streamed."""
    prefix = len(str(root).rstrip(os.sep)) + 1
    stack = [str(posts_dir)]
    while stack:
        d = stack.pop()
        try:
            entries = sorted(os.scandir(d), key=lambda e: e.name)
        except (FileNotFoundError, NotADirectoryError):
            continue
        subdirs = []
        for e in entries:
            if e.is_dir(follow_symlinks=False):
                subdirs.append(e.path)
            elif e.name.endswith(_POST_SUFFIXES) and not e.name.startswith("."):
                yield e.path, e.path[prefix:]
        stack.extend(reversed(subdirs))


def read_post_text(path: str) -> str:
    """The file's text as ``Path.read_text(encoding="utf-8")`` gives it (universal
    newlines), with plain reads."""
    fd = os.open(path, os.O_RDONLY)
    try:
        data = os.read(fd, 1 << 16)
        if len(data) == 1 << 16:
            chunks = [data]
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
            data = b"".join(chunks)
    finally:
        os.close(fd)
    text = data.decode("utf-8")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


_JSON_LISTS: dict[tuple[str, ...], str] = {}


def _json_list(items: tuple[str, ...]) -> str:
    got = _JSON_LISTS.get(items)
    if got is None:
        got = json.dumps(list(items), ensure_ascii=False)
        if len(_JSON_LISTS) < 4096:
            _JSON_LISTS[items] = got
    return got


def fast_row(text: str, rel: str) -> PostRow | None:
    """The index row of a post in newsmirror's own layout; None for any other file."""
    got = split_post(text)
    if got is None:
        return None
    fm, body = got
    for k in _TIME_KEYS:  # ts() writes years before 1000 unpadded: leave those to the slow path
        v = fm.get(k)
        if v is not None and v[0] == "0":
            return None
    return _row(fm, body, rel)


def _row(fm: Raw, body: str, rel: str) -> PostRow:
    title, link, published, fetched = fm["title"], fm["from"], fm["date"], fm["fetched"]
    source_name = fm["author"]
    if not source_name:
        cats = fm["categories"] or fm["tags"]
        source_name = cats[0] if cats else ""
    source, guid = fm.get("source", ""), fm.get("guid", "")
    revision = fm.get("revision", 1)
    changed = fm.get("changed")
    row = (
        fm.get("key") or link, guid, guid_key(guid, source), fingerprint(title, published),
        source, source_name, title, link, published, fm.get("updated"), fetched,
        fm.get("first_seen") or fetched, changed, fm.get("hash", ""),
        "page" if fm.get("origin") == "page" else "feed", revision if revision >= 1 else 1, rel,
        _json_list(fm.get("feed_categories", ())), _json_list(fm.get("authors", ())),
    )  # fmt: skip
    content = ""
    if _may_show_images(body):
        content, _ = body_content(body, liquid=fm.get("liquid_escaped") is True)
        if not local_images(content):
            content = ""
    return PostRow(row, content, changed or fetched)


def _may_show_images(body: str) -> bool:
    """False only when the content cannot show a local image (its ``src`` would need
    ``/assets/`` spelled out or written with entities)."""
    return "/assets/" in body or ("&" in body and _IMG.search(body) is not None)


def slow_row(text: str, rel: str) -> PostRow:
    """The index row of any post, read with ``parse_post`` (PyYAML for front matter
    not in newsmirror's own layout). Raises ItemError for an unreadable post."""
    from .article import derive_keys  # the article module is heavy; only slow posts need it

    art = parse_post(text, path=rel).to_article(with_text=False)
    keys = derive_keys(art)
    row = article_row(art, guid_key=keys.guid_key, fp=keys.fp)
    content = art.content if local_images(art.content) else ""
    return PostRow(row, content, row[12] or row[10])


def post_row(text: str, rel: str) -> PostRow:
    return fast_row(text, rel) or slow_row(text, rel)


def revision_row(text: str, rel: str) -> tuple[str, int, str, str, str, str]:
    """(key, revision, hash, title, stored, path) of a kept version's file."""
    r = post_row(text, rel).row
    return (r[0], r[15], r[13], r[6], r[12] or r[11] or r[10], rel)


# ------------------------------------------------------------------ the index


def _rows(root: Path, top: Path, skipped: list[str]) -> Iterator[PostRow]:
    for path, rel in walk_posts(top, root):
        try:
            yield post_row(read_post_text(path), rel)
        except (ItemError, UnicodeDecodeError, OSError) as e:
            skipped.append(f"{rel}: {e}")


def reindex(config: Config) -> ReindexReport:
    """Replace the index's articles and revisions with what the files say."""
    root = config.root
    skipped: list[str] = []
    posts = revisions = 0
    files = MirrorFiles(root)
    with MirrorLock(root), Store(config.index_path) as store, store.batch():
        store.clear_articles()
        seen: set[str] = set()
        batch: list[tuple[Any, ...]] = []
        for got in _rows(root, root / config.mirror.posts_dir, skipped):
            key = got.key
            if not key:
                continue
            if key in seen:
                skipped.append(f"{got.row[16]}: same key as another post ({key})")
                continue
            seen.add(key)
            batch.append(got.row)
            if got.content:
                when: datetime = parse_ts(got.when)  # type: ignore[assignment]
                index_post_images(store, files, key, got.content, when)
            if len(batch) >= BATCH:
                store.put_rows(batch)
                batch.clear()
            posts += 1
        store.put_rows(batch)
        seen.clear()
        revs: list[tuple[str, int, str, str, str, str]] = []
        for path, rel in walk_posts(root / REVISIONS_DIR, root):
            try:
                revs.append(revision_row(read_post_text(path), rel))
            except (ItemError, UnicodeDecodeError, OSError) as e:
                skipped.append(f"{rel}: {e}")
                continue
            revisions += 1
            if len(revs) >= BATCH:
                store.add_revision_rows(revs)
                revs.clear()
        store.add_revision_rows(revs)
    return ReindexReport(posts=posts, revisions=revisions, skipped=tuple(skipped))
