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

Reading the tree of an RSS or Atom document is :mod:`newsmirror.parse_tree`'s.
"""

from __future__ import annotations

import html
import html.entities
import io
import json
import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from lxml import etree

from .charset import declared_charset, decode, normalize_charset
from .errors import InvalidFeedError, NotAFeedError
from .models import Entry, FeedResponse, ParsedFeed
from .parse_tree import (
    ITEM_TAGS,
    Raw,
    absolute,
    entry,
    feed_format,
    feed_items,
    feed_meta,
    plain,
    split_tag,
    unique,
)

_HTML_PAGE = re.compile(
    r"(?:\s|<\?[^>]*>|<!--.*?-->)*<(?:!doctype\s+html|html|head|body)[\s>/]", re.I | re.S
)
_BAD_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# "&" that does not start an XML reference; group 1 is an HTML-only entity name, if any
_BAD_AMP = re.compile(
    r"&(?!(?:amp|lt|gt|quot|apos|#[0-9]+|#[xX][0-9a-fA-F]+);)([A-Za-z][A-Za-z0-9]{0,31};)?"
)
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


def _s(value: Any) -> str:
    """A JSON / feedparser value as a string; ``""`` for anything that is not a scalar."""
    return str(value) if type(value) in (str, int, float) else ""  # not bool, not containers


def _build(
    root: etree._Element, fmt: str, items: list[etree._Element], source: str, url: str,
    warnings: list[str], recovered: bool,
) -> ParsedFeed:  # fmt: skip
    atom = fmt.startswith("atom")
    title, link, feed_authors = feed_meta(root, url, atom)
    entries = tuple(entry(it, source, url, atom, feed_authors) for it in items)
    return ParsedFeed(fmt, title, link, entries, recovered, tuple(warnings))


_PULL_CHUNK = 1 << 20


def _feed_level(item: etree._Element, root: etree._Element) -> bool:
    """Whether ``feed_items(root, deep=False)`` would list ``item``."""
    parent = item.getparent()
    if parent is root:
        return True
    return (
        parent is not None and parent.getparent() is root and split_tag(parent.tag)[1] == "channel"
    )


def _parse_pull(data: bytes, *, source: str, url: str, warnings: list[str]) -> ParsedFeed | None:
    """The hot path for a well-formed feed: items are read as the parser reaches them
    and then dropped from the tree, so a 100,000-item feed never has its whole tree in
    memory. Gives what ``_build`` gives for the whole tree, or None when the document
    is not well-formed (the caller then reads it whole, to repair or recover it)."""
    parser = etree.XMLPullParser(events=("end",), tag=sorted(ITEM_TAGS), **_PARSER_OPTIONS)
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
            if fmt is None:  # as feed_format(root) at the end: the first channel/item is here
                fmt = feed_format(root)
            if any(len(child) for child in el):
                # Inline markup is serialized, which needs the document's encoding:
                # libxml2 knows it only at the end. Such an item is read then.
                entries.append(el)
                continue
            entries.append(entry(el, source, url, fmt.startswith("atom"), ()))
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
    local = split_tag(root.tag)[1]
    if local.lower() in _HTML_ROOTS:
        raise NotAFeedError("got an HTML page, not a feed", source=source, url=url)
    fmt = feed_format(root) if fmt is None else fmt
    if not fmt:
        raise NotAFeedError(f"XML document <{local}> is not a feed", source=source, url=url)
    atom = fmt.startswith("atom")
    title, link, feed_authors = feed_meta(root, url, atom)
    out = [
        entry(e, source, url, atom, feed_authors) if isinstance(e, etree._Element)
        else e if e.authors or not feed_authors
        else replace(e, authors=feed_authors)  # what entry gives an item without its own
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
        local = split_tag(root.tag)[1]
        if local.lower() in _HTML_ROOTS:
            raise NotAFeedError("got an HTML page, not a feed", source=source, url=url)
        fmt = feed_format(root)
        if not recover:  # well-formed (the hot path) or repaired
            if not fmt:
                raise NotAFeedError(f"XML document <{local}> is not a feed", source=source, url=url)
            return _build(
                root, fmt, feed_items(root, deep=False), source, url, warnings, bool(error)
            )
        items = feed_items(root, deep=True)
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
        raw = Raw(_s(e.get("id")), absolute(url, _s(e.get("link"))), plain(_s(e.get("title"))))
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
    title, link = plain(_s(feed.get("title"))), absolute(url, _s(feed.get("link")))
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
    base = absolute(url, _s(doc.get("feed_url"))) or url
    feed_authors = unique(_json_authors(doc))
    entries = []
    for item in doc["items"]:
        if not isinstance(item, dict):
            warnings.append("skipped a JSON Feed item that is not an object")
            continue
        link = absolute(base, _s(item.get("url")) or _s(item.get("external_url")))
        raw = Raw(_s(item.get("id")), link, plain(_s(item.get("title")), markup=False))
        raw.published, raw.updated = _s(item.get("date_published")), _s(item.get("date_modified"))
        raw.summary = html.escape(_s(item.get("summary")), quote=False)  # plain text in JSON Feed
        text = html.escape(_s(item.get("content_text")), quote=False)
        raw.content = _s(item.get("content_html")) or text
        tags = item.get("tags")
        raw.categories = [_s(t) for t in tags] if isinstance(tags, list) else []
        raw.authors = list(_json_authors(item))
        entries.append(raw.entry(source, feed_authors))
    title = plain(_s(doc.get("title")), markup=False)
    link = absolute(url, _s(doc.get("home_page_url")))
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
