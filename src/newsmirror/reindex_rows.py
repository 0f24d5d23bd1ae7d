"""Post file → index row: the per-file half of ``reindex``, kept light (no PyYAML,
lxml or network modules until a post needs them) because ``reindex`` runs it in
worker processes for a big mirror.

A post in newsmirror's own layout is read by ``frontmatter.split_post`` and turned
straight into its row (its times are already in the stored form; the index keeps
no text, so the HTML is not parsed). Anything else (a legacy or hand-edited post)
goes through ``postfile.parse_post`` and PyYAML. Both give the same row for the
same file: the tests hold them to it.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import re
from collections.abc import Callable, Iterator
from typing import Any

from .errors import ItemError
from .frontmatter import Raw, read_block
from .urls import fingerprint, guid_key

_IMG = re.compile("<img", re.I)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_TIME_KEYS = ("date", "fetched", "first_seen", "changed", "updated", "deleted")

# (article row in store.ARTICLE_COLUMNS order, content HTML when it shows local
# images else "", changed-else-fetched as stored: when its images were indexed)
PostRow = tuple[tuple[Any, ...], str, str]
RevisionRow = tuple[str, int, str, str, str, str]  # key, revision, hash, title, stored, path


def read_post_text(path: str, dir_fd: int | None = None) -> str:
    """The file's text as ``Path.read_text(encoding="utf-8")`` gives it (universal
    newlines), with plain reads (``path`` relative to ``dir_fd`` when given)."""
    fd = os.open(path, os.O_RDONLY, dir_fd=dir_fd)
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
    if not text.startswith("---\n"):
        return None
    end = text.find("\n---\n", 3)  # as split_post, without copying the body
    if end < 0:
        return None
    fm = read_block(text[4 : end + 1])
    if fm is None:
        return None
    for k in _TIME_KEYS:  # ts() writes years before 1000 unpadded: leave those to slow_row
        v = fm.get(k)
        if v is not None and v[0] == "0":
            return None
    return _row(fm, text, end + 5, rel)


def _row(fm: Raw, text: str, start: int, rel: str) -> PostRow:
    """The row of front matter ``fm``; the body is ``text[start:]``."""
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
        fm.get("deleted"), _json_list(fm.get("deletions", ())),
    )  # fmt: skip
    content = ""
    if _may_show_images(text, start):
        from .assets import local_images
        from .postfile import body_content

        content, _ = body_content(text[start:], liquid=fm.get("liquid_escaped") is True)
        if not local_images(content):
            content = ""
    return row, content, changed or fetched


def _may_show_images(text: str, start: int) -> bool:
    """False only when the content (``text[start:]``) cannot show a local image (its
    ``src`` would need ``/assets/`` spelled out, or written with entities)."""
    return text.find("/assets/", start) >= 0 or (
        text.find("&", start) >= 0 and _IMG.search(text, start) is not None
    )


def slow_row(text: str, rel: str) -> PostRow:
    """The index row of any post, read with ``parse_post`` (PyYAML for front matter
    not in newsmirror's own layout). Raises ItemError for an unreadable post."""
    from .article import derive_keys
    from .assets import local_images
    from .postfile import parse_post
    from .store import article_row

    art = parse_post(text, path=rel).to_article(with_text=False)
    keys = derive_keys(art)
    row = article_row(art, guid_key=keys.guid_key, fp=keys.fp)
    content = art.content if local_images(art.content) else ""
    return row, content, row[12] or row[10]


def post_row(text: str, rel: str) -> PostRow:
    return fast_row(text, rel) or slow_row(text, rel)


def revision_row(text: str, rel: str) -> RevisionRow:
    """(key, revision, hash, title, stored, path) of a kept version's file."""
    r = post_row(text, rel)[0]
    return (r[0], r[15], r[13], r[6], r[12] or r[11] or r[10], rel)


def read_rows(kind: str, files: list[Any], top: str | None) -> list[Any]:
    """For each file (its path relative to the mirror, whose folder is ``top`` with
    its trailing separator; when ``top`` is None, a pair of its own path and that):
    its row (``post_row`` for ``kind`` "post", ``revision_row`` for "revision"), or
    the string "path: cause" when the file cannot be read. Runs in ``reindex``'s
    worker processes."""
    make = post_row if kind == "post" else revision_row
    out: list[Any] = []
    with gc_paused():
        _read_into(out, make, files, top)
    return out


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection meanwhile: rows are tuples of strings, made by
    the hundred thousand and freed by reference counting; the collector's passes
    over them cost about a tenth of the time and find nothing."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _read_into(
    out: list[Any], make: Callable[[str, str], Any], files: list[Any], top: str | None
) -> None:
    folder, dir_fd = "", -1  # files are opened relative to their folder (fewer lookups)
    try:
        for item in files:
            path, rel = (top + item, item) if top is not None else item
            head, _, name = path.rpartition(os.sep)
            try:
                if head != folder:
                    if dir_fd >= 0:
                        os.close(dir_fd)
                    folder, dir_fd = "", -1
                    dir_fd = os.open(head or os.sep, os.O_RDONLY | _O_DIRECTORY)
                    folder = head
                text = read_post_text(name, dir_fd)
            except OSError as e:
                if e.filename in (name, head):  # said as opening the file by its path says it
                    e = OSError(e.errno, e.strerror, path)
                out.append(f"{rel}: {e}")
                continue
            except UnicodeDecodeError as e:
                out.append(f"{rel}: {e}")
                continue
            try:
                out.append(make(text, rel))
            except (ItemError, UnicodeDecodeError, OSError) as e:
                out.append(f"{rel}: {e}")
    finally:
        if dir_fd >= 0:
            os.close(dir_fd)
