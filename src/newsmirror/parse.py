"""The parse stage: feed bytes → :class:`ParsedFeed`; pure, no I/O. Formats: RSS 0.90/0.91/
0.92/1.0 (RDF)/2.0, Atom 0.3/1.0 and JSON Feed 1.0/1.1.

The hot path is one pass of lxml with a hardened parser (no entity expansion, DTD or network
access). Ill-formed XML is repaired (control characters, HTML entities, bare ampersands),
else read in lxml's recover mode, else by feedparser; the result is then marked
``recovered`` with a warning. HTML pages raise :class:`NotAFeedError`, other junk
:class:`InvalidFeedError`: any bytes give a ``ParsedFeed`` or a ``ParseError``.

``content`` is content:encoded / Atom content / content_html, else the description/summary,
which ``summary`` keeps (both HTML). ``link``: feedburner:origLink, RSS <link>, Atom
rel=alternate (or another link), a permalink guid, rdf:about; absolute against xml:base and
the feed URL. ``title`` is plain text. ``guid`` falls back to rdf:about, then the link;
``published`` to ``updated``; Atom entries without authors inherit the feed's.
"""

from __future__ import annotations

import copy
import html
import html.entities
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urljoin

from lxml import etree

from .charset import declared_charset, decode, normalize_charset
from .dates import parse_date
from .errors import InvalidFeedError, NotAFeedError
from .models import Entry, FeedResponse, ParsedFeed

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
_ITEM_TAGS = frozenset(
    {"item", "entry", f"{{{RSS10}}}item", f"{{{RSS090}}}item"}
    | {f"{{{ns}}}entry" for ns in _ATOM_NS}
    | {f"{{{ns}}}item" for ns in USERLAND}
)
_SKIP_RELS = frozenset({"self", "edit", "replies", "enclosure", "license", "via", "hub"})

_HTML_PAGE = re.compile(
    r"(?:\s|<\?[^>]*>|<!--.*?-->)*<(?:!doctype\s+html|html|head|body)[\s>/]", re.I | re.S
)
_BAD_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# "&" that does not start an XML reference; group 1 is an HTML-only entity name, if any
_BAD_AMP = re.compile(
    r"&(?!(?:amp|lt|gt|quot|apos|#[0-9]+|#[xX][0-9a-fA-F]+);)([A-Za-z][A-Za-z0-9]{0,31};)?"
)
_TAG = re.compile(r"</?[A-Za-z!][^<>]*>")
_HTML_ROOTS = frozenset({"html", "head", "body"})
_FP_FORMATS = ("rss090", "rss091", "rss092", "rss10", "atom03", "atom10")  # feedparser's codes
_FP_HEADERS = {"content-type": "application/xml; charset=utf-8"}
_FP_OPTIONS = {"resolve_relative_uris": False, "sanitize_html": False}


_PARSER_OPTIONS: dict[str, Any] = {
    "encoding": "utf-8",  # the text is re-encoded as UTF-8, whatever the declaration says
    "resolve_entities": False,  # no entity expansion: no XXE, no billion laughs
    "no_network": True,
    "huge_tree": False,
    "load_dtd": False,
    "remove_comments": True,
    "remove_pis": True,
}


def _parser(recover: bool) -> etree.XMLParser:
    """A new hardened parser per call (lxml parsers must not be shared between threads)."""
    return etree.XMLParser(**_PARSER_OPTIONS, recover=recover)


def _split(tag: str) -> tuple[str, str]:
    ns, _, local = tag[1:].partition("}") if tag[:1] == "{" else ("", "", tag)
    return ns, local


def _children(el: etree._Element) -> Iterator[tuple[str, str, etree._Element]]:
    """(namespace, local name, element) for each child element, skipping other nodes."""
    for child in el:
        if isinstance(child.tag, str):
            yield (*_split(child.tag), child)


def _text(el: etree._Element) -> str:
    return (el.text or "") if not len(el) else "".join(el.itertext())


def _plain(value: str, *, markup: bool = True) -> str:
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
            node.tag = _split(node.tag)[1]
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
        div = kids[0] if len(kids) == 1 and _split(kids[0].tag)[1] == "div" else el
        return _inner_html(div), "xhtml"
    if typ in {"html", "text/html"} or mode == "escaped":
        return _text(el).strip(), "html"
    if el.get("src"):
        return "", "text"  # out-of-line content
    return html.escape(_text(el).strip(), quote=False), "text"


def _atom_title(el: etree._Element) -> str:
    value, kind = _atom_text(el)
    return _plain(html.unescape(value), markup=False) if kind == "text" else _plain(value)


def _absolute(base: str, href: str) -> str:
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
    return _absolute(base, el.get(XML_BASE) or "") or base


def _names(author: etree._Element) -> Iterator[str]:
    return (_text(c) for ns, local, c in _children(author) if local == "name")


def _rss_author(value: str) -> str:
    m = re.fullmatch(r"\S+@\S+\s*\((.+)\)", value.strip())  # "editor@example.com (Name)"
    return m.group(1) if m else value


def _s(value: Any) -> str:
    """A JSON / feedparser value as a string; ``""`` for anything that is not a scalar."""
    return str(value) if type(value) in (str, int, float) else ""  # not bool, not containers


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in (" ".join(v.split()) for v in values) if v))


@dataclass(slots=True)
class _Raw:
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
            categories=_unique(self.categories),
            authors=_unique(self.authors) or default_authors,
        )


def _entry(
    item: etree._Element, source: str, url: str, atom: bool, feed_authors: tuple[str, ...]
) -> Entry:
    """One RSS item or Atom entry, in a single pass over its children."""
    base = url
    for el in (*reversed(list(item.iterancestors())), item):  # every xml:base, root down
        base = _base(el, base)
    r = _Raw()
    orig = alt = other = permalink = ""
    for ns, local, child in _children(item):
        if ns in _ATOM_NS or (atom and not ns):
            if local == "title":
                r.title = _atom_title(child)
            elif local == "link":
                href = _absolute(_base(child, base), child.get("href") or _text(child))
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
                r.title = _plain(_text(child))
            elif local == "link":
                r.link = r.link or _absolute(base, _text(child))
            elif local == "description":
                r.summary = _html_field(child)
            elif local == "guid":
                r.guid = _text(child).strip()
                perma = (child.get("isPermaLink") or "true").strip().lower() != "false"
                if perma and (_is_web_url(r.guid) or r.guid.startswith("/")):
                    permalink = _absolute(base, r.guid)
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
            orig = _absolute(base, _text(child))
    about = _absolute(base, item.get(RDF_ABOUT) or "")
    r.guid = r.guid or about
    r.link = r.link or alt or other or (permalink if _is_web_url(permalink) else "") or about
    if orig and _is_web_url(orig):
        r.link = orig
    return r.entry(source, feed_authors if atom else ())


def _format(root: etree._Element) -> str:
    """The ParsedFeed.format code of a document root, or ``""`` when it is no feed."""
    ns, local = _split(root.tag)
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


def _feed_meta(root: etree._Element, url: str, atom: bool) -> tuple[str, str, tuple[str, ...]]:
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
            title = _atom_title(child) if is_atom else _plain(_text(child))
        elif local == "link" and not link:
            if not is_atom:
                link = _absolute(base, _text(child))
            elif (child.get("rel") or "alternate") == "alternate":
                link = _absolute(base, child.get("href") or "")
        elif atom and local == "author":
            authors.extend(_names(child))
    return title, link, _unique(authors)


def _items(root: etree._Element, deep: bool) -> list[etree._Element]:
    """Items/entries: children of the root or of its channel; anywhere when ``deep``."""
    if deep:
        return [el for el in root.iter() if el.tag in _ITEM_TAGS]
    found: list[etree._Element] = []
    for _ns, local, child in _children(root):
        if child.tag in _ITEM_TAGS:
            found.append(child)
        elif local == "channel":
            found.extend(c for c in child if c.tag in _ITEM_TAGS)
    return found


def _build(
    root: etree._Element, fmt: str, items: list[etree._Element], source: str, url: str,
    warnings: list[str], recovered: bool,
) -> ParsedFeed:  # fmt: skip
    atom = fmt.startswith("atom")
    title, link, feed_authors = _feed_meta(root, url, atom)
    entries = tuple(_entry(it, source, url, atom, feed_authors) for it in items)
    return ParsedFeed(fmt, title, link, entries, recovered, tuple(warnings))


_PULL_CHUNK = 1 << 20


def _feed_level(item: etree._Element, root: etree._Element) -> bool:
    """Whether ``_items(root, deep=False)`` would list ``item``."""
    parent = item.getparent()
    if parent is root:
        return True
    return parent is not None and parent.getparent() is root and _split(parent.tag)[1] == "channel"


def _parse_pull(data: bytes, *, source: str, url: str, warnings: list[str]) -> ParsedFeed | None:
    """The hot path for a well-formed feed: items are read as the parser reaches them
    and then dropped from the tree, so a 100,000-item feed never has its whole tree in
    memory. Gives what ``_build`` gives for the whole tree, or None when the document
    is not well-formed (the caller then reads it whole, to repair or recover it)."""
    parser = etree.XMLPullParser(events=("end",), tag=sorted(_ITEM_TAGS), **_PARSER_OPTIONS)
    entries: list[Entry | etree._Element] = []
    root: etree._Element | None = None
    fmt: str | None = None
    done: etree._Element | None = None  # the last item read (removed at the next one)

    def take(events: Iterator[tuple[str, etree._Element]]) -> None:
        nonlocal root, fmt, done
        for _event, el in events:
            if root is None:
                root = el.getroottree().getroot()
            if not _feed_level(el, root):
                continue
            if fmt is None:  # as _format(root) at the end: the first channel/item is here
                fmt = _format(root)
            if any(len(child) for child in el):
                # Inline markup is serialized, which needs the document's encoding:
                # libxml2 knows it only at the end. Such an item is read then.
                entries.append(el)
                continue
            entries.append(_entry(el, source, url, fmt.startswith("atom"), ()))
            el.clear(keep_tail=True)
            if done is not None and (parent := done.getparent()) is not None:
                parent.remove(done)
            done = el

    try:
        for start in range(0, len(data), _PULL_CHUNK):
            parser.feed(data[start : start + _PULL_CHUNK])
            take(parser.read_events())
        root = parser.close()
        take(parser.read_events())
    except etree.XMLSyntaxError:
        return None
    local = _split(root.tag)[1]
    if local.lower() in _HTML_ROOTS:
        raise NotAFeedError("got an HTML page, not a feed", source=source, url=url)
    fmt = _format(root) if fmt is None else fmt
    if not fmt:
        raise NotAFeedError(f"XML document <{local}> is not a feed", source=source, url=url)
    atom = fmt.startswith("atom")
    title, link, feed_authors = _feed_meta(root, url, atom)
    out = [
        _entry(e, source, url, atom, feed_authors) if isinstance(e, etree._Element)
        else e if e.authors or not feed_authors
        else replace(e, authors=feed_authors)  # what _entry gives an item without its own
        for e in entries
    ]  # fmt: skip
    return ParsedFeed(fmt, title, link, tuple(out), False, tuple(warnings))


def _fix_amp(m: re.Match[str]) -> str:
    name = m.group(1)
    chars = html.entities.html5.get(name) if name else None
    return "".join(f"&#{ord(c)};" for c in chars) if chars else "&amp;" + (name or "")


def _repair(text: str) -> tuple[str, list[str]]:
    """Drop control characters; rewrite HTML entities and bare "&" (neutral for HTML text)."""
    text, bad = _BAD_XML_CHARS.subn("", text)
    text, amps = _BAD_AMP.subn(_fix_amp, text)
    notes = [f"removed {bad} control characters"] if bad else []
    return text, notes + ([f"rewrote {amps} HTML entities or bare ampersands"] if amps else [])


def _try_parse(data: bytes, recover: bool) -> tuple[etree._Element | None, str]:
    try:
        return etree.fromstring(data, _parser(recover)), ""
    except etree.XMLSyntaxError as exc:
        return None, " ".join(str(exc).split())


def _parse_xml(text: str, *, source: str, url: str, warnings: list[str]) -> ParsedFeed:
    data = text.encode("utf-8")
    pulled = _parse_pull(data, source=source, url=url, warnings=warnings)
    if pulled is not None:
        return pulled
    root, error = _try_parse(data, recover=False)
    recover = False
    if root is None:  # ill-formed: repair, else lxml's recover mode, else feedparser
        text, notes = _repair(text)
        data = text.encode("utf-8")
        root = _try_parse(data, recover=False)[0] if notes else None
        if root is not None:
            warnings.append(f"ill-formed XML repaired ({'; '.join(notes)}): {error}")
        else:
            root, recover = _try_parse(data, recover=True)[0], True
    if root is not None:
        local = _split(root.tag)[1]
        if local.lower() in _HTML_ROOTS:
            raise NotAFeedError("got an HTML page, not a feed", source=source, url=url)
        fmt = _format(root)
        if not recover:  # well-formed (the hot path) or repaired
            if not fmt:
                raise NotAFeedError(f"XML document <{local}> is not a feed", source=source, url=url)
            return _build(root, fmt, _items(root, deep=False), source, url, warnings, bool(error))
        items = _items(root, deep=True)
        if fmt and items:
            warnings.append(f"ill-formed XML recovered by lxml: {error}")
            return _build(root, fmt, items, source, url, warnings, True)
    return _feedparser(data, source, url, error, warnings)


def _feedparser(data: bytes, source: str, url: str, error: str, warnings: list[str]) -> ParsedFeed:
    """Lenient recovery with feedparser (only for documents lxml could not read)."""
    import feedparser  # imported lazily: only the recovery path needs it

    fail = InvalidFeedError(f"not a usable feed: {error}", source=source, url=url)
    try:  # a stream, never a str: feedparser would take a str for a URL or a file name
        d = feedparser.parse(io.BytesIO(data), response_headers=_FP_HEADERS, **_FP_OPTIONS)
    except Exception as exc:  # the recovery path must not crash on hostile input
        raise fail from exc
    version = str(d.get("version") or "")
    if not d.entries and not version:
        raise fail
    entries = []
    for e in d.entries:
        raw = _Raw(_s(e.get("id")), _absolute(url, _s(e.get("link"))), _plain(_s(e.get("title"))))
        raw.published, raw.updated = _s(e.get("published")), _s(e.get("updated"))
        raw.summary = _s(e.get("summary"))
        raw.content = _s((e.get("content") or [{}])[0].get("value"))
        raw.categories = [_s(t.get("label") or t.get("term")) for t in e.get("tags") or []]
        raw.authors = [_s(a.get("name")) for a in e.get("authors") or []] or [_s(e.get("author"))]
        entries.append(raw.entry(source))
    warnings.append(f"ill-formed XML recovered by feedparser: {error}")
    other = "atom10" if version.startswith("atom") else "rss20"
    fmt = next((f for f in _FP_FORMATS if version.startswith(f)), other)  # rss091u → rss091
    feed = d.get("feed") or {}
    title, link = _plain(_s(feed.get("title"))), _absolute(url, _s(feed.get("link")))
    return ParsedFeed(fmt, title, link, tuple(entries), True, tuple(warnings))


def _json_authors(obj: dict[str, Any]) -> Iterator[str]:
    authors = obj.get("authors")  # 1.1; 1.0 had a single "author"
    for a in authors if isinstance(authors, list) else [obj.get("author")]:
        if isinstance(a, dict):
            yield _s(a.get("name"))


def _parse_json(text: str, *, source: str, url: str, warnings: list[str]) -> ParsedFeed:
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:
        msg = f"invalid JSON: {exc}"
        raise InvalidFeedError(msg, source=source, url=url, reason="invalid_json") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("items"), list):
        raise NotAFeedError("JSON document is not a JSON Feed", source=source, url=url)
    version = _s(doc.get("version"))
    fmt = "json11" if version.rstrip("/").endswith("1.1") or not version else "json10"
    if not version:
        warnings.append("JSON Feed without a version; read as 1.1")
    base = _absolute(url, _s(doc.get("feed_url"))) or url
    feed_authors = _unique(_json_authors(doc))
    entries = []
    for item in doc["items"]:
        if not isinstance(item, dict):
            warnings.append("skipped a JSON Feed item that is not an object")
            continue
        link = _absolute(base, _s(item.get("url")) or _s(item.get("external_url")))
        raw = _Raw(_s(item.get("id")), link, _plain(_s(item.get("title")), markup=False))
        raw.published, raw.updated = _s(item.get("date_published")), _s(item.get("date_modified"))
        raw.summary = html.escape(_s(item.get("summary")), quote=False)  # plain text in JSON Feed
        text = html.escape(_s(item.get("content_text")), quote=False)
        raw.content = _s(item.get("content_html")) or text
        tags = item.get("tags")
        raw.categories = [_s(t) for t in tags] if isinstance(tags, list) else []
        raw.authors = list(_json_authors(item))
        entries.append(raw.entry(source, feed_authors))
    title = _plain(_s(doc.get("title")), markup=False)
    link = _absolute(url, _s(doc.get("home_page_url")))
    return ParsedFeed(fmt, title, link, tuple(entries), False, tuple(warnings))


def parse_feed(body: bytes, *, source: str, url: str, header_charset: str = "") -> ParsedFeed:
    """Parse feed bytes fetched from ``url`` (the base for relative links) for ``source``.

    Raises :class:`NotAFeedError` for an HTML page (or a document that is no feed) and
    :class:`InvalidFeedError` (reason ``invalid_xml`` / ``invalid_json``) for bytes that
    cannot be read as a feed at all.
    """
    start = body[:64].lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    kind = "json" if start in (b"{", b"[") else "xml"
    text, encoding = decode(body, header_charset=header_charset, kind=kind)
    warnings: list[str] = []
    claimed = [normalize_charset(c) for c in (header_charset, declared_charset(body, kind)) if c]
    if claimed and encoding not in claimed and not encoding.startswith("utf-16"):
        warnings.append(f"declared charset {claimed[0]} does not fit the bytes; read as {encoding}")
    text = text.strip()
    if not text:
        raise InvalidFeedError("empty body", source=source, url=url, reason="invalid_xml")
    if text[0] in "{[":
        return _parse_json(text, source=source, url=url, warnings=warnings)
    if _HTML_PAGE.match(text[:4096]):
        raise NotAFeedError("got an HTML page, not a feed", source=source, url=url)
    if "<" not in text:
        raise InvalidFeedError("no markup: not XML", source=source, url=url, reason="invalid_xml")
    return _parse_xml(text, source=source, url=url, warnings=warnings)


def parse_response(resp: FeedResponse, *, source: str) -> ParsedFeed:
    """Parse a fetched response; its final URL is the base for relative links."""
    url = resp.final_url or resp.url
    return parse_feed(resp.body, source=source, url=url, header_charset=resp.charset)
