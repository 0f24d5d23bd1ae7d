"""An article's page content, made from its post file: the post read (newsmirror's
own shape with one regular expression, else its front matter parsed), its HTML
made fit for the page (``site_text.page_content``) and its language told.

The build does this for each article page it renders, unless the row reader's
child (``site_rows``) did it already: the child prepares the rows whose
signature the manifest does not know (new or changed articles; every article
of a first build) on the other core, with these same functions.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from .assets import local_asset
from .errors import ItemError
from .postfile_record import parse_post
from .site_images import MARK
from .site_text import ImageMap, detect_lang, page_content
from .store import parse_ts

_TAGS = re.compile(r"<[^>]+>")
# The body of a post as newsmirror writes it (postfile.render_post), after the front matter.
_OUR_BODY = re.compile(
    r"\n---\n<!--(?:-?\d+)-->\n[^\n]*\n------\n\n<div>\n(?:([^\n]*)\n)?</div>\s*\Z"
)
# (page content, language, mark, deleted at ISO, images shown, warnings)
Prepared = tuple[str, str, str, str, list[str], list[str]]
Mapper = Callable[[list[str]], ImageMap]  # images found -> the page's image map


def read_post(root: str, path: str, warnings: list[str]) -> tuple[str, str, str, bool]:
    """(content, mark, deleted_at ISO, legacy) from the post file ``root + path``;
    a problem is added to ``warnings``. A post in newsmirror's own shape is read
    with one regular expression (no YAML)."""
    try:
        with open(root + path, "rb") as fh:
            text = fh.read().decode("utf-8")
        if "\r" in text:  # as a text-mode read gives it (universal newlines)
            text = text.replace("\r\n", "\n").replace("\r", "\n")
    except (OSError, UnicodeDecodeError) as e:
        warnings.append(f"{path}: {e}")
        return "", "", "", False
    m = _OUR_BODY.search(text)
    head = text[: m.start()] if m else ""
    if m and "\nkey: " in head and "\nliquid_escaped:" not in head and "\ndeleted" not in head:
        return m.group(1) or "", "", "", False
    try:
        rec = parse_post(text, path=path)
    except ItemError as e:
        warnings.append(f"{path}: {e}")
        return "", "", "", False
    fm = rec.front_matter
    deleted = fm.get("deleted") or fm.get("deleted_at")
    mark = "deleted" if deleted else ""
    when = deleted if isinstance(deleted, datetime) else None
    if deleted and when is None:
        with contextlib.suppress(ValueError):
            when = parse_ts(str(deleted))
    at = when.isoformat() if isinstance(when, datetime) else ""
    return rec.content, mark, at, rec.legacy


def image_mapper(src_root: str, exists: dict[str, bool]) -> Mapper:
    """The image maps of pages: a post's local ``src`` to the marked site path when
    the mirror (at ``src_root``) has the file (``exists`` remembers which it has);
    each path shown is added to the list the map was made for."""

    def mapper(found: list[str]) -> ImageMap:
        def image_map(src: str) -> str | None:
            rel = local_asset(src)
            if rel is None:
                return None
            got = exists.get(rel)
            if got is None:
                got = exists[rel] = os.path.isfile(src_root + rel)
            if not got:
                return None
            found.append(rel)
            return MARK + rel

        return image_map

    return mapper


def prepare(row: tuple[Any, ...], root: str, images: str, lang: str, mapper: Mapper) -> Prepared:
    """The page content of the article of index row ``row`` (``Store.SITE_COLUMNS``)
    in the mirror at ``root``; ``images`` and ``lang``: the site's settings."""
    warnings: list[str] = []
    raw, mark, deleted_at, legacy = read_post(root, row[10], warnings)
    shown: list[str] = []
    content = page_content(raw, link=row[4], legacy=legacy, images=images,
                           image_map=mapper(shown))  # fmt: skip
    found = detect_lang(row[3] + " " + _TAGS.sub("", content[:3000]), lang)
    return content, found, mark, deleted_at, shown, warnings
