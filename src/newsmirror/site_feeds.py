"""The site's own feeds: Atom 1.0 (RFC 4287) and RSS 2.0, overall and per
source, with each article's full clean content.

Written as text, escaped as the standard library's ``xml.sax.saxutils.escape``
does (``escape`` here: the same replacements, without the import of
``urllib.request``, ``http.client`` and ``ssl`` that module brings), exactly as
an XML serializer would (a build may write dozens of feeds of fifty full
articles; each entry's content is escaped once per build). Deterministic: the
feed's own ``updated`` is its newest entry's time, never the build time. Entry
ids are ``urn:uuid:`` names derived from the article key (and the script
variant), so they stay the same across builds and hosts.
"""

from __future__ import annotations

import io
import itertools
import re
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from .site_pages import Item, Tree
from .site_text import iso_utc, rfc822

ATOM = "http://www.w3.org/2005/Atom"
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ATTR = {'"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}
_HEAD = "<?xml version='1.0' encoding='utf-8'?>\n"


def escape(data: str, entities: dict[str, str] | None = None) -> str:
    """``xml.sax.saxutils.escape``: ``&``, ``<`` and ``>``, then ``entities``."""
    data = data.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")
    for key, value in (entities or {}).items():
        data = data.replace(key, value)
    return data


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One entry: the article's item, its page's URL and its content (for this tree)."""

    item: Item
    url: str  # the article page: absolute when the site has a base URL
    title: str
    source_name: str
    content: str  # clean HTML, or already XML-escaped when ``escaped``
    escaped: bool = False


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


def xml_text(s: str) -> str:
    """``s`` as XML character data (what lxml writes for an element's text)."""
    s = escape(_x(s))
    return s.replace("\r", "&#13;") if "\r" in s else s


def _a(s: str) -> str:
    """``s`` as a double-quoted XML attribute value."""
    s = _x(s)
    return escape(s, _ATTR) if any(c in s for c in _ATTR) else escape(s)


def entry_id(key: str, tree: Tree) -> str:
    return "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, key + "#" + tree.variant))


def _updated(item: Item) -> str:
    return iso_utc(item.updated or item.published)


def _content(e: FeedEntry) -> str:
    return e.content if e.escaped else xml_text(e.content)


def atom_head(meta: FeedMeta, items: Sequence[Item]) -> str:
    """An Atom document up to its first entry (``items``: its entries, newest first)."""
    newest = max((_updated(i) for i in items), default="1970-01-01T00:00:00Z")
    feed_id = "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, meta.id_seed))
    return (
        f'{_HEAD}<feed xmlns="{ATOM}" xml:lang="{_a(meta.lang)}"><id>{feed_id}</id>'
        f"<title>{xml_text(meta.title)}</title><updated>{newest}</updated>"
        f"<author><name>{xml_text(meta.author)}</name></author>"
        f'<link rel="self" type="application/atom+xml" href="{_a(meta.self_url)}"/>'
        f'<link rel="alternate" type="text/html" href="{_a(meta.page_url)}"/>'
        "<generator>newsmirror</generator>"
    )


def atom_entry(e: FeedEntry, tree: Tree) -> str:
    it = e.item
    via = f'<link rel="via" href="{_a(it.link)}"/>' if it.link else ""
    name = xml_text(e.source_name)
    return (
        f"<entry><id>{entry_id(it.key, tree)}</id><title>{xml_text(e.title)}</title>"
        f'<link rel="alternate" type="text/html" href="{_a(e.url)}"/>{via}'
        f"<published>{iso_utc(it.published)}</published><updated>{_updated(it)}</updated>"
        f'<author><name>{name}</name></author><category term="{_a(it.source)}" '
        f'label="{_a(e.source_name)}"/><content type="html" xml:lang="{_a(tree.lang(it.lang))}">'
        f"{_content(e)}</content></entry>"
    )


def rss_head(meta: FeedMeta, items: Sequence[Item]) -> str:
    """An RSS document up to its first item (``items``: its entries, newest first)."""
    newest = max((i.updated or i.published for i in items), default=None)
    built = f"<lastBuildDate>{rfc822(newest)}</lastBuildDate>" if newest is not None else ""
    title = xml_text(meta.title)
    return (
        f'{_HEAD}<rss xmlns:atom="{ATOM}" version="2.0"><channel><title>{title}</title>'
        f"<link>{xml_text(meta.page_url)}</link><description>{title}</description>"
        f"<language>{xml_text(meta.lang)}</language>{built}<generator>newsmirror</generator>"
        f'<atom:link rel="self" type="application/rss+xml" href="{_a(meta.self_url)}"/>'
    )


def rss_entry(e: FeedEntry, tree: Tree) -> str:
    it = e.item
    return (
        f"<item><title>{xml_text(e.title)}</title><link>{xml_text(e.url)}</link>"
        f'<guid isPermaLink="false">{entry_id(it.key, tree)}</guid>'
        f"<pubDate>{rfc822(it.published)}</pubDate>"
        f"<category>{xml_text(e.source_name)}</category>"
        f"<description>{_content(e)}</description></item>"
    )


@dataclass(frozen=True, slots=True)
class Format:
    head: Callable[[FeedMeta, Sequence[Item]], str]
    entry: Callable[[FeedEntry, Tree], str]
    mark: str  # what each entry starts with (never in its escaped text)
    tail: str


#: The feeds of each folder, by file name.
FORMATS = {
    "atom.xml": Format(atom_head, atom_entry, "<entry>", "</feed>\n"),
    "rss.xml": Format(rss_head, rss_entry, "<item>", "</channel></rss>\n"),
}


def split_entries(raw: bytes, fmt: Format) -> list[bytes] | None:
    """The entries of a feed file this module wrote (its bytes), each as it was
    written (None when the file is not in that shape). Every ``<`` of an entry's
    text is escaped, so the entry mark can only be an entry's start; the mark is
    ASCII, so the UTF-8 bytes split where the text would."""
    tail, mark = fmt.tail.encode(), fmt.mark.encode()
    if not raw.endswith(tail):
        return None
    parts = raw[: -len(tail)].split(mark)
    return [mark + p for p in parts[1:]]


SITEMAP_MAX = 50_000  # URLs in one sitemap file (the protocol's limit)


class SitemapUrls:
    """The sitemap's URLs (path in a tree, lastmod or "") as a build finds them, kept
    in a temporary file in the folder ``folder`` (one line each): a site of 100,000
    articles would hold as many tuples all build long. Iterated as often as needed
    once every one is in."""

    def __init__(self, folder: Path | str, first: Iterable[tuple[str, str]] = ()) -> None:
        self._file = tempfile.TemporaryFile("w+b", buffering=1 << 16, dir=folder)  # noqa: SIM115
        self._n = 0
        for url in first:
            self.append(url)

    def append(self, url: tuple[str, str]) -> None:
        self._file.write(f"{url[0]}\t{url[1]}\n".encode())
        self._n += 1

    def __len__(self) -> int:
        return self._n

    def __iter__(self) -> Iterator[tuple[str, str]]:
        self._file.seek(0)
        try:
            for line in self._file:
                rel, _, mod = line.decode().rstrip("\n").partition("\t")
                yield rel, mod
        finally:
            self._file.seek(0, io.SEEK_END)

    def close(self) -> None:
        """The file is gone (it has no name: nothing is left behind on any exit)."""
        self._file.close()


def sitemaps(
    base: str, prefixes: Sequence[str], urls: Sequence[tuple[str, str]] | SitemapUrls
) -> Iterator[tuple[str, str]]:
    """The sitemap files (name, text) of ``urls`` (path in a tree, lastmod or "") in
    every tree: ``sitemap.xml``, or ``sitemap-N.xml`` files and their index last when
    they are many; one file at a time (one file's lines held)."""
    # Our own paths need no escaping (ASCII: dates, hashes, slugs); the base URL may.
    head = '<?xml version="1.0" encoding="UTF-8"?>\n'
    ns = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'

    def lines() -> Iterator[str]:
        for p in prefixes:
            loc = _x(escape(base + p, _ATTR))
            for rel, mod in urls:
                yield (f"<url><loc>{loc}{rel}</loc><lastmod>{mod}</lastmod></url>" if mod
                       else f"<url><loc>{loc}{rel}</loc></url>")  # fmt: skip

    if len(prefixes) * len(urls) <= SITEMAP_MAX:
        yield "sitemap.xml", f"{head}<urlset {ns}>\n" + "\n".join(lines()) + "\n</urlset>\n"
        return
    todo, index = lines(), list[str]()
    while chunk := list(itertools.islice(todo, SITEMAP_MAX)):
        name = f"sitemap-{len(index) + 1}.xml"
        yield name, f"{head}<urlset {ns}>\n" + "\n".join(chunk) + "\n</urlset>\n"
        index.append(f"<sitemap><loc>{_x(escape(base, _ATTR))}{name}</loc></sitemap>")
    yield "sitemap.xml", f"{head}<sitemapindex {ns}>\n" + "\n".join(index) + "\n</sitemapindex>\n"
