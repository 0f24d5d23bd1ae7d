"""The site's own feeds: Atom 1.0 (RFC 4287) and RSS 2.0, overall and per
source, with each article's full clean content.

Built with lxml (escaping, well-formedness); deterministic: the feed's own
``updated`` is its newest entry's time, never the build time. Entry ids are
``urn:uuid:`` names derived from the article key (and the script variant), so
they stay the same across builds and hosts.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree

from .site_pages import Item, Tree
from .site_text import iso_utc, rfc822

ATOM = "http://www.w3.org/2005/Atom"
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One entry: the article's item, its page's URL and its content (for this tree)."""

    item: Item
    url: str  # the article page: absolute when the site has a base URL
    title: str
    source_name: str
    content: str  # clean HTML


@dataclass(frozen=True, slots=True)
class FeedMeta:
    title: str
    page_url: str  # the HTML page this feed belongs to
    self_url: str  # this feed's own URL
    id_seed: str  # stable: "overall" or "source:<slug>", plus the tree
    lang: str
    author: str


def _x(s: str) -> str:
    """Text XML 1.0 can carry."""
    return _XML_BAD.sub("", s)


def entry_id(key: str, tree: Tree) -> str:
    return "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, key + "#" + tree.variant))


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    el = etree.SubElement(parent, tag, {k.replace("_", ":"): v for k, v in attrs.items()})
    if text is not None:
        el.text = _x(text)
    return el


def _updated(item: Item) -> str:
    return iso_utc(item.updated or item.published)


def atom_feed(meta: FeedMeta, entries: Sequence[FeedEntry], tree: Tree) -> bytes:
    """An Atom 1.0 document, newest entry first."""
    feed = etree.Element(f"{{{ATOM}}}feed", nsmap={None: ATOM})
    feed.set("{http://www.w3.org/XML/1998/namespace}lang", meta.lang)
    A = f"{{{ATOM}}}"
    _sub(feed, A + "id", "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, meta.id_seed)))
    _sub(feed, A + "title", meta.title)
    newest = max((_updated(e.item) for e in entries), default="1970-01-01T00:00:00Z")
    _sub(feed, A + "updated", newest)
    author = _sub(feed, A + "author")
    _sub(author, A + "name", meta.author)
    _sub(feed, A + "link", rel="self", type="application/atom+xml", href=meta.self_url)
    _sub(feed, A + "link", rel="alternate", type="text/html", href=meta.page_url)
    _sub(feed, A + "generator", "newsmirror")
    for e in entries:
        it = e.item
        en = _sub(feed, A + "entry")
        _sub(en, A + "id", entry_id(it.key, tree))
        _sub(en, A + "title", e.title)
        _sub(en, A + "link", rel="alternate", type="text/html", href=e.url)
        if it.link:
            _sub(en, A + "link", rel="via", href=it.link)
        _sub(en, A + "published", iso_utc(it.published))
        _sub(en, A + "updated", _updated(it))
        a = _sub(en, A + "author")
        _sub(a, A + "name", e.source_name)
        _sub(en, A + "category", term=it.source, label=e.source_name)
        content = _sub(en, A + "content", e.content, type="html")
        content.set("{http://www.w3.org/XML/1998/namespace}lang", tree.lang(it.lang))
    return etree.tostring(feed, xml_declaration=True, encoding="utf-8") + b"\n"


def rss_feed(meta: FeedMeta, entries: Sequence[FeedEntry], tree: Tree) -> bytes:
    """An RSS 2.0 document (with atom:link rel=self), newest item first."""
    rss = etree.Element("rss", nsmap={"atom": ATOM}, version="2.0")
    ch = _sub(rss, "channel")
    _sub(ch, "title", meta.title)
    _sub(ch, "link", meta.page_url)
    _sub(ch, "description", meta.title)
    _sub(ch, "language", meta.lang)
    newest = max((e.item.updated or e.item.published for e in entries), default=None)
    if newest is not None:
        _sub(ch, "lastBuildDate", rfc822(newest))
    _sub(ch, "generator", "newsmirror")
    _sub(ch, f"{{{ATOM}}}link", rel="self", type="application/rss+xml", href=meta.self_url)
    for e in entries:
        it = e.item
        item = _sub(ch, "item")
        _sub(item, "title", e.title)
        _sub(item, "link", e.url)
        _sub(item, "guid", entry_id(it.key, tree), isPermaLink="false")
        _sub(item, "pubDate", rfc822(it.published))
        _sub(item, "category", e.source_name)
        _sub(item, "description", e.content)
    return etree.tostring(rss, xml_declaration=True, encoding="utf-8") + b"\n"
