"""An RSS or Atom document read from its lxml tree: the format code, the feed's title, link
and authors, the item elements, and each item as an :class:`~newsmirror.models.Entry`.

:func:`entry` reads an RSS item (0.90 to 2.0, RDF included) or an Atom (0.3, 1.0) entry in
one pass over its children: the namespaces it knows, text and inner HTML, Atom text
constructs, links made absolute against every xml:base. :class:`Raw` holds an item's
fields as found and gives the Entry (fallbacks, dates parsed); the JSON Feed and
feedparser readers of :mod:`newsmirror.parse` fill it too, with :func:`plain`,
:func:`absolute` and :func:`unique`.
"""

from __future__ import annotations

import copy
import html
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urljoin

from lxml import etree

from .dates import parse_date
from .models import Entry

__all__ = [
    "ATOM03", "ATOM10", "CONTENT", "DC", "DCTERMS", "FEEDBURNER", "ITEM_TAGS", "RDF_ABOUT",
    "RSS090", "RSS10", "USERLAND", "XML_BASE", "Raw", "absolute", "entry", "feed_format",
    "feed_items", "feed_meta", "plain", "split_tag", "unique",
]  # fmt: skip

ATOM10 = "http://www.w3.org/2005/Atom"
ATOM03 = "http://purl.org/atom/ns#"
RSS090 = "http://my.netscape.com/rdf/simple/0.9/"
RSS10 = "http://purl.org/rss/1.0/"
DC = "http://purl.org/dc/elements/1.1/"
DCTERMS = "http://purl.org/dc/terms/"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
FEEDBURNER = "http://rssnamespace.org/feedburner/ext/1.0"
XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
RDF_ABOUT = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about"
USERLAND = ("http://backend.userland.com/rss2", "http://backend.userland.com/rss")

_RSS_NS = frozenset({"", RSS090, RSS10, *USERLAND})
_ATOM_NS = frozenset({ATOM10, ATOM03})
ITEM_TAGS = frozenset(
    {"item", "entry", f"{{{RSS10}}}item", f"{{{RSS090}}}item"}
    | {f"{{{ns}}}entry" for ns in _ATOM_NS}
    | {f"{{{ns}}}item" for ns in USERLAND}
)
_SKIP_RELS = frozenset({"self", "edit", "replies", "enclosure", "license", "via", "hub"})

_TAG = re.compile(r"</?[A-Za-z!][^<>]*>")


def split_tag(tag: str) -> tuple[str, str]:
    ns, _, local = tag[1:].partition("}") if tag[:1] == "{" else ("", "", tag)
    return ns, local


def _children(el: etree._Element) -> Iterator[tuple[str, str, etree._Element]]:
    """(namespace, local name, element) for each child element, skipping other nodes."""
    for child in el:
        if isinstance(child.tag, str):
            yield (*split_tag(child.tag), child)


def _text(el: etree._Element) -> str:
    return (el.text or "") if not len(el) else "".join(el.itertext())


def plain(value: str, *, markup: bool = True) -> str:
    """One-line plain text; tags stripped and entities decoded when ``markup`` may be present."""
    if markup and ("<" in value or "&" in value):
        value = html.unescape(_TAG.sub("", value))
    return " ".join(value.split())


def _inner_html(el: etree._Element) -> str:
    """The element's mixed content serialized as HTML, without namespace prefixes."""
    if not len(el):
        return html.escape((el.text or "").strip(), quote=False)
    el = copy.deepcopy(el)
    for node in el.iter():
        if isinstance(node.tag, str) and node.tag[:1] == "{":
            node.tag = split_tag(node.tag)[1]
    etree.cleanup_namespaces(el)
    parts = [html.escape(el.text or "", quote=False)]
    parts.extend(etree.tostring(c, encoding="unicode", method="html", with_tail=True) for c in el)
    return "".join(parts).strip()


def _html_field(el: etree._Element) -> str:
    """RSS description/content:encoded: escaped HTML as text, or (rarely) child markup."""
    markup = any(isinstance(c.tag, str) for c in el)  # else text, maybe with &entity; refs
    return _inner_html(el) if markup else _text(el).strip()


def _atom_text(el: etree._Element) -> tuple[str, str]:
    """An Atom (0.3 or 1.0) text construct as ``(html, kind)``; kind is text/html/xhtml."""
    typ = (el.get("type") or "text").lower()
    mode = (el.get("mode") or "").lower()  # Atom 0.3
    if typ in {"xhtml", "application/xhtml+xml"} or (len(el) and (mode == "xml" or "xml" in typ)):
        kids = [c for _, local, c in _children(el)]  # xhtml: one wrapping div, not kept
        div = kids[0] if len(kids) == 1 and split_tag(kids[0].tag)[1] == "div" else el
        return _inner_html(div), "xhtml"
    if typ in {"html", "text/html"} or mode == "escaped":
        return _text(el).strip(), "html"
    if el.get("src"):
        return "", "text"  # out-of-line content
    return html.escape(_text(el).strip(), quote=False), "text"


def _atom_title(el: etree._Element) -> str:
    value, kind = _atom_text(el)
    return plain(html.unescape(value), markup=False) if kind == "text" else plain(value)


def absolute(base: str, href: str) -> str:
    href = href.strip()
    if not href or not base:
        return href
    try:
        return urljoin(base, href)
    except ValueError:
        return href


def _is_web_url(value: str) -> bool:
    return value[:8].lower().startswith(("http://", "https://"))


def _base(el: etree._Element, base: str) -> str:
    return absolute(base, el.get(XML_BASE) or "") or base


def _names(author: etree._Element) -> Iterator[str]:
    return (_text(c) for ns, local, c in _children(author) if local == "name")


def _rss_author(value: str) -> str:
    m = re.fullmatch(r"\S+@\S+\s*\((.+)\)", value.strip())  # "editor@example.com (Name)"
    return m.group(1) if m else value


def unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in (" ".join(v.split()) for v in values) if v))


@dataclass(slots=True)
class Raw:
    """An item's fields as found, before the shared fallbacks and date parsing."""

    guid: str = ""
    link: str = ""
    title: str = ""
    published: str = ""
    updated: str = ""
    summary: str = ""
    content: str = ""
    categories: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)

    def entry(self, source: str, default_authors: tuple[str, ...] = ()) -> Entry:
        updated = parse_date(self.updated)
        return Entry(
            source=source,
            guid=self.guid.strip() or self.link,
            link=self.link,
            title=self.title,
            published=parse_date(self.published) or updated,
            updated=updated,
            summary=self.summary,
            content=self.content or self.summary,
            categories=unique(self.categories),
            authors=unique(self.authors) or default_authors,
        )


def entry(
    item: etree._Element, source: str, url: str, atom: bool, feed_authors: tuple[str, ...]
) -> Entry:
    """One RSS item or Atom entry, in a single pass over its children."""
    base = url
    for el in (*reversed(list(item.iterancestors())), item):  # every xml:base, root down
        base = _base(el, base)
    r = Raw()
    orig = alt = other = permalink = ""
    for ns, local, child in _children(item):
        if ns in _ATOM_NS or (atom and not ns):
            if local == "title":
                r.title = _atom_title(child)
            elif local == "link":
                href = absolute(_base(child, base), child.get("href") or _text(child))
                rel = (child.get("rel") or "alternate").lower()
                if rel == "alternate":
                    alt = alt or href
                elif rel not in _SKIP_RELS:
                    other = other or href
            elif local == "id":
                r.guid = _text(child)
            elif local in {"content", "summary"}:
                setattr(r, local, _atom_text(child)[0])
            elif local in {"published", "issued", "created"}:
                r.published = r.published or _text(child)
            elif local in {"updated", "modified"}:
                r.updated = _text(child)
            elif local == "category":
                r.categories.append(child.get("label") or child.get("term") or _text(child))
            elif local == "author":
                r.authors.extend(_names(child))
        elif ns in _RSS_NS:
            if local == "title":
                r.title = plain(_text(child))
            elif local == "link":
                r.link = r.link or absolute(base, _text(child))
            elif local == "description":
                r.summary = _html_field(child)
            elif local == "guid":
                r.guid = _text(child).strip()
                perma = (child.get("isPermaLink") or "true").strip().lower() != "false"
                if perma and (_is_web_url(r.guid) or r.guid.startswith("/")):
                    permalink = absolute(base, r.guid)
            elif local == "pubDate":
                r.published = _text(child)
            elif local == "category":
                r.categories.append(_text(child))
            elif local == "author":
                r.authors.append(_rss_author(_text(child)))
        elif ns == CONTENT and local == "encoded":
            r.content = _html_field(child)
        elif ns == DC:
            if local in {"creator", "contributor"}:
                r.authors.append(_text(child))
            elif local == "subject":
                r.categories.append(_text(child))
            elif local == "date":
                r.published = r.published or _text(child)
        elif ns == DCTERMS and local in {"created", "issued", "modified"}:
            if local == "modified":
                r.updated = r.updated or _text(child)
            else:
                r.published = r.published or _text(child)
        elif ns == FEEDBURNER and local == "origLink":
            orig = absolute(base, _text(child))
    about = absolute(base, item.get(RDF_ABOUT) or "")
    r.guid = r.guid or about
    r.link = r.link or alt or other or (permalink if _is_web_url(permalink) else "") or about
    if orig and _is_web_url(orig):
        r.link = orig
    return r.entry(source, feed_authors if atom else ())


def feed_format(root: etree._Element) -> str:
    """The ParsedFeed.format code of a document root, or ``""`` when it is no feed."""
    ns, local = split_tag(root.tag)
    if local == "feed":
        return "atom03" if ns == ATOM03 else "atom10"
    if local == "RDF":
        for ns, local, _ in _children(root):
            if local in {"channel", "item"}:
                return "rss090" if ns == RSS090 else "rss10"
        return "rss10"
    if local == "rss":
        version = (root.get("version") or "").strip()
        return {"0.90": "rss090", "0.91": "rss091", "0.92": "rss092"}.get(version, "rss20")
    return ""


def feed_meta(root: etree._Element, url: str, atom: bool) -> tuple[str, str, tuple[str, ...]]:
    """Feed title, link and (Atom) feed-level authors."""
    base = _base(root, url)
    channel = root
    if not atom:
        channel = next((c for ns, local, c in _children(root) if local == "channel"), root)
        base = _base(channel, base)
    title = link = ""
    authors: list[str] = []
    for ns, local, child in _children(channel):
        is_atom = ns in _ATOM_NS or (atom and not ns)
        if local == "title" and not title:
            title = _atom_title(child) if is_atom else plain(_text(child))
        elif local == "link" and not link:
            if not is_atom:
                link = absolute(base, _text(child))
            elif (child.get("rel") or "alternate") == "alternate":
                link = absolute(base, child.get("href") or "")
        elif atom and local == "author":
            authors.extend(_names(child))
    return title, link, unique(authors)


def feed_items(root: etree._Element, deep: bool) -> list[etree._Element]:
    """Items/entries: children of the root or of its channel; anywhere when ``deep``."""
    if deep:
        return [el for el in root.iter() if el.tag in ITEM_TAGS]
    found: list[etree._Element] = []
    for _ns, local, child in _children(root):
        if child.tag in ITEM_TAGS:
            found.append(child)
        elif local == "channel":
            found.extend(c for c in child if c.tag in ITEM_TAGS)
    return found
