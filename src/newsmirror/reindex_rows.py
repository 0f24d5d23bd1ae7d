"""Post file → index row: the per-file half of ``reindex``, kept light (no PyYAML,
lxml or network modules until a post needs them) because ``reindex`` runs it in
worker processes for a big mirror.

A post in newsmirror's own layout is read by ``frontmatter.read_values`` and turned
straight into its row (its times are already in the stored form; the index keeps
no text, so the HTML is not parsed). Anything else (a legacy or hand-edited post)
goes through ``postfile_record.parse_post`` and PyYAML. Both give the same row for the
same file: the tests hold them to it.

A file is read as bytes: the front matter is found there (UTF-8 never hides an
ASCII byte inside another character) and decoded alone, and the body is only
searched for what could show a local image (decoding the whole post was about half
of the work). A file with a carriage return, or a byte order mark, or anything
else, is read as its text (``post_text``), as before.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .errors import ItemError
from .frontmatter import KEYS, read_values
from .urls import fingerprint, guid_key

# The content (the body) cannot show a local image without "/assets/" spelled out,
# or an "<img" and entities. In bytes, "<img" spelled as re.I finds it in text
# (which takes "İ" and "ı" for "i" too).
_IMG = re.compile("<img", re.I)
_IMG_BYTES = re.compile(b"<(?:[iI]|\xc4[\xb0\xb1])[mM][gG]")
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)

# (article row in store.ARTICLE_COLUMNS order, content HTML when it shows local
# images else "", changed-else-fetched as stored: when its images were indexed)
PostRow = tuple[tuple[Any, ...], str, str]
RevisionRow = tuple[str, int, str, str, str, str]  # key, revision, hash, title, stored, path


def read_post_text(path: str, dir_fd: int | None = None) -> str:
    """The file's text as ``Path.read_text(encoding="utf-8")`` gives it (universal
    newlines), with plain reads (``path`` relative to ``dir_fd`` when given)."""
    return post_text(read_post_bytes(path, dir_fd))


def read_post_bytes(path: str, dir_fd: int | None = None) -> bytes:
    """The file's bytes, in one read for a post of the usual size."""
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
    return data


def post_text(data: bytes) -> str:
    """A file's text from its bytes, as ``Path.read_text(encoding="utf-8")`` gives it."""
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
    start = end + 5
    return _own_row(
        text[4 : end + 1], rel, lambda: text[start:] if may_show_images(text, start) else None
    )


def bytes_row(data: bytes, rel: str) -> PostRow | None:
    """``fast_row`` of the file's text, from the file's bytes: only the front matter
    is made text, and the body only when it may show a local image. None where
    ``fast_row`` gives None, and for a file with a carriage return (its text is not
    its bytes decoded).

    The rest of the body is not decoded, so a byte there that is not UTF-8 does not
    keep the post out of the index (no value of its row comes from there); whatever
    reads the body says so (the site build warns, naming the file and the cause).
    Bad bytes in the front matter, or in a body that may show images, still give
    UnicodeDecodeError, as reading the whole text did."""
    if not data.startswith(b"---\n") or b"\r" in data:
        return None
    end = data.find(b"\n---\n", 3)  # the same place: UTF-8 never hides an ASCII byte
    if end < 0:
        return None
    start = end + 5
    return _own_row(
        _decode(data, 4, end + 1), rel,
        lambda: _decode(data, start, len(data)) if may_show_images_in(data, start) else None,
    )  # fmt: skip


def _own_row(front: str, rel: str, body: Callable[[], str | None]) -> PostRow | None:
    """The row of a post whose front matter is ``front`` (None when not in our
    layout); ``body()`` is its body when that may show a local image, else None."""
    values = read_values(front)
    if values is None:
        return None
    row = _row(values, rel)
    if row is None:
        return None
    text = body()
    content = "" if text is None else _content(text, values[-1] is True)
    return row, content, row[12] or row[10]


def _decode(data: bytes, start: int, stop: int) -> str:
    """The text of ``data[start:stop]`` (a cut between characters); UnicodeDecodeError
    said with the position in the whole file, as decoding the file says it."""
    try:
        return data[start:stop].decode("utf-8")
    except UnicodeDecodeError:
        data.decode("utf-8")
        raise


def may_show_images(text: str, start: int) -> bool:
    """False only when the content (``text[start:]``) cannot show a local image (its
    ``src`` would need ``/assets/`` spelled out, or written with entities)."""
    return text.find("/assets/", start) >= 0 or (
        text.find("&", start) >= 0 and _IMG.search(text, start) is not None
    )


def may_show_images_in(data: bytes, start: int) -> bool:
    """``may_show_images`` of the text of ``data`` from byte ``start`` (True whenever
    that is)."""
    return data.find(b"/assets/", start) >= 0 or (
        data.find(b"&", start) >= 0 and _IMG_BYTES.search(data, start) is not None
    )


# The order of frontmatter.read_values's answer, as _row unpacks it.
assert KEYS == (
    "layout", "title", "date", "author", "from", "tags", "comments", "categories", "source",
    "guid", "key", "hash", "fetched", "origin", "revision", "first_seen", "changed", "updated",
    "feed_categories", "authors", "deleted", "deletions", "liquid_escaped",
)  # fmt: skip


def _row(values: list[Any], rel: str) -> tuple[Any, ...] | None:
    """The article row of a post whose front matter ``read_values`` read; None when
    a time has a year before 1000 (``ts()`` writes those unpadded: left to slow_row)."""
    (_, title, published, source_name, link, tags, _, cats, source, guid, key, digest, fetched,
     origin, revision, first_seen, changed, updated, feed_cats, authors, deleted, deletions,
     _) = values  # fmt: skip
    if (
        published[0] == "0"
        or fetched[0] == "0"
        or (first_seen is not None and first_seen[0] == "0")
        or (changed is not None and changed[0] == "0")
        or (updated is not None and updated[0] == "0")
        or (deleted is not None and deleted[0] == "0")
    ):
        return None
    if not source_name:
        cats = cats or tags
        source_name = cats[0] if cats else ""
    if source is None:
        source = ""
    if guid is None:
        guid = ""
    # Equal texts as one object (the key, GUID and link are mostly one URL): the row
    # goes back to the main process pickled, and pickle sends an object once.
    if not key or key == link:
        key = link
    if guid == link:
        guid = link
    return (
        key, guid, guid_key(guid, source), fingerprint(title, published),
        source, source_name, title, link, published, updated, fetched,
        first_seen or fetched, changed, "" if digest is None else digest,
        "page" if origin == "page" else "feed",
        revision if revision is not None and revision >= 1 else 1, rel,
        _json_list(feed_cats or ()), _json_list(authors or ()),
        deleted, _json_list(deletions or ()),
    )  # fmt: skip


def _content(body: str, liquid: bool) -> str:
    """The content HTML of a post's body when it shows local images, else ""."""
    from .assets import local_images
    from .postfile_record import body_content

    content, _ = body_content(body, liquid=liquid)
    return content if local_images(content) else ""


def slow_row(text: str, rel: str) -> PostRow:
    """The index row of any post, read with ``parse_post`` (PyYAML for front matter
    not in newsmirror's own layout). Raises ItemError for an unreadable post."""
    from .article import derive_keys
    from .assets import local_images
    from .postfile_record import parse_post
    from .store import article_row

    art = parse_post(text, path=rel).to_article(with_text=False)
    keys = derive_keys(art)
    row = article_row(art, guid_key=keys.guid_key, fp=keys.fp)
    content = art.content if local_images(art.content) else ""
    return row, content, row[12] or row[10]


def post_row(text: str, rel: str) -> PostRow:
    return fast_row(text, rel) or slow_row(text, rel)


def file_post_row(data: bytes, rel: str) -> PostRow:
    """``post_row`` of a file's text, from its bytes (the text made only when needed)."""
    return bytes_row(data, rel) or post_row(post_text(data), rel)


def revision_row(text: str, rel: str) -> RevisionRow:
    """(key, revision, hash, title, stored, path) of a kept version's file."""
    return _revision(post_row(text, rel)[0], rel)


def file_revision_row(data: bytes, rel: str) -> RevisionRow:
    """``revision_row`` of a file's text, from its bytes."""
    return _revision(file_post_row(data, rel)[0], rel)


def _revision(r: tuple[Any, ...], rel: str) -> RevisionRow:
    return (r[0], r[15], r[13], r[6], r[12] or r[11] or r[10], rel)


def read_rows(kind: str, files: list[Any], top: str | None) -> list[Any]:
    """For each file (its path relative to the mirror, whose folder is ``top`` with
    its trailing separator; when ``top`` is None, a pair of its own path and that):
    its row (``post_row`` for ``kind`` "post", ``revision_row`` for "revision"), or
    the string "path: cause" when the file cannot be read. Runs in ``reindex``'s
    worker processes."""
    make = file_post_row if kind == "post" else file_revision_row
    out: list[Any] = []
    with gc_paused():
        _read_into(out, make, files, top)
    return out


@dataclass(frozen=True, slots=True)
class Shard:
    """The posts of a chunk as ``shard_rows`` wrote them: their article rows are in
    the shard file ``path`` (rowid i + 1 for the i-th row), read by a worker
    process; only what the main process needs to place them comes back here."""

    path: str
    keys: list[str]  # the key of each row, in rowid order
    notes: list[tuple[int, str]]  # (how many rows came before, "path: cause") of each file skipped
    images: list[tuple[int, str, str]]  # (row index, content, when) of posts showing local images


def shard_rows(files: list[Any], top: str | None, path: str) -> Shard | list[Any]:
    """``read_rows`` of the posts ``files``, but with their rows written to a new
    shard file at ``path`` (``store_shard``) instead of sent back: the process
    building the index copies them in SQLite, without Python (no rows to pickle,
    none to bind there). Posts without a key are left out, as ``reindex`` leaves
    them. When the shard cannot be written (a full disk), ``read_rows``'s list."""
    import sqlite3

    from .store_shard import write_shard

    got = read_rows("post", files, top)
    rows: list[tuple[Any, ...]] = []
    keys: list[str] = []
    notes: list[tuple[int, str]] = []
    images: list[tuple[int, str, str]] = []
    for one in got:
        if isinstance(one, str):
            notes.append((len(rows), one))
            continue
        row, content, when = one
        if not row[0]:
            continue
        if content:
            images.append((len(rows), content, when))
        keys.append(row[0])
        rows.append(row)
    if rows:
        try:
            write_shard(path, rows)
        except (sqlite3.Error, OSError):
            with contextlib.suppress(OSError):
                os.unlink(path)
            return got
    return Shard(path, keys, notes, images)


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
    out: list[Any], make: Callable[[bytes, str], Any], files: list[Any], top: str | None
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
                data = read_post_bytes(name, dir_fd)
            except OSError as e:
                if e.filename in (name, head):  # said as opening the file by its path says it
                    e = OSError(e.errno, e.strerror, path)
                out.append(f"{rel}: {e}")
                continue
            try:
                out.append(make(data, rel))
            except (ItemError, UnicodeDecodeError, OSError) as e:
                out.append(f"{rel}: {e}")
    finally:
        if dir_fd >= 0:
            os.close(dir_fd)
