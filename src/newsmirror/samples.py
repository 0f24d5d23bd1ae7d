"""Synthetic sample feeds and article pages for ``newsmirror demo`` and for tests.

Every word here is invented for this project: fictional cities, fictional news,
in Traditional and Simplified Chinese and in English. :func:`sample_site`
returns every file a demo server serves under ``base_url`` (feeds of every kind
newsmirror reads, the article pages they link to, PNG pictures made here byte by
byte and an SVG advert, an index page);
:func:`sample_sources` returns the matching source list. Both are pure and
deterministic: the same arguments always give the same bytes.

The feeds, the stories and the items, with the quirks real feeds have, are
:mod:`newsmirror.samples_news`'s. Here each feed is written in its own format (one Atom
entry with XHTML content; the first demo-cna article again in a second feed) and each
item gets an article page with the chrome real news pages have (cookie notice,
navigation, adverts, share bar, related links, footer).
"""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from html import escape, unescape

from .samples_news import CHROME, FEEDS, TZ8, Feed, Item, feed_items

__all__ = ["DEFAULT_NOW", "SampleFile", "sample_png", "sample_site", "sample_sources"]

DEFAULT_NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
_XHTML_ENTRY = 2  # in the Atom 1.0 feed
_SHARED_FROM, _SHARED_INTO = "demo-cna", "demo-north-big5"  # cna's first item reappears


@dataclass(frozen=True)
class SampleFile:
    """One file the demo server serves: URL path (no query), bytes, Content-Type."""

    path: str
    body: bytes
    content_type: str


def sample_sources(base_url: str) -> list[dict[str, str]]:
    """One ``{"name", "slug", "url"}`` per demo feed, in a stable order."""
    base = base_url.rstrip("/")
    return [{"name": f.name, "slug": f.slug, "url": base + f.path} for f in FEEDS]


def sample_site(
    base_url: str, *, seed: int = 0, items_per_feed: int = 8, now: datetime = DEFAULT_NOW
) -> list[SampleFile]:
    """Every file of the demo site under ``base_url``: feeds, article pages, images, index.

    ``seed`` varies cities, numbers and times; ``now`` is the reference instant the
    item dates are spread back from (a naive value is taken as UTC).
    """
    if not 1 <= items_per_feed <= 24:
        raise ValueError("items_per_feed must be between 1 and 24")
    base = base_url.rstrip("/")
    now = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    per_feed = {
        f.slug: feed_items(i, f, base, seed, items_per_feed, now) for i, f in enumerate(FEEDS)
    }
    if items_per_feed > 1:  # the same article (same link) in a second feed
        per_feed[_SHARED_INTO][-1] = per_feed[_SHARED_FROM][0]
    files: dict[str, SampleFile] = {}
    for f in FEEDS:
        items = per_feed[f.slug]
        text = _WRITERS[f.kind](f, items, base, now)
        files[f.path] = SampleFile(f.path, text.encode(f.codec), f.content_type)
        for n, item in enumerate(items):
            if item.path in files:
                continue  # the shared article keeps the page of its first feed
            related = [items[(n + k) % len(items)] for k in (1, 2, 3) if len(items) > k]
            page = _page(f, item, related, base, now)
            ctype = f"text/html; charset={f.declared if f.codec != 'utf-8' else 'utf-8'}"
            files[item.path] = SampleFile(item.path, page.encode(f.codec), ctype)
    for key, color in _IMAGES.items():
        if key != "ad":  # the topics' pictures: PNG, as a mirror keeps them
            path = f"/images/{key}.png"
            files[path] = SampleFile(path, sample_png(color), "image/png")
            continue
        svg = (  # the advert: SVG, which a mirror refuses to keep
            f'<svg xmlns="http://www.w3.org/2000/svg" width="640" height="360" viewBox="0 0 640 360">'
            f'<rect width="640" height="360" fill="{color}"/><text x="40" y="196" font-size="56" '
            f'font-family="sans-serif" fill="#ffffff">{key}</text></svg>\n'
        )
        path = f"/images/{key}.svg"
        files[path] = SampleFile(path, svg.encode(), "image/svg+xml")
    links = "".join(f'<li><a href="{f.path}">{escape(f.name)}</a> ({f.kind})</li>' for f in FEEDS)
    index = f'<!DOCTYPE html>\n<html lang="zh-Hant"><head><meta charset="utf-8"><title>newsmirror demo</title></head><body><h1>newsmirror demo feeds</h1><ul>{links}</ul><p>{CHROME["tc"][10]}</p></body></html>\n'
    files["/"] = SampleFile("/", index.encode(), "text/html; charset=utf-8")
    return [files[p] for p in sorted(files)]


def sample_png(color: str, width: int = 160, height: int = 90) -> bytes:
    """A small valid PNG (8-bit RGB, made here byte by byte): a field of ``color``
    (``#rrggbb``) with a lighter band across the middle. A few hundred bytes."""
    if not 1 <= width <= 4096 or not 1 <= height <= 4096:
        raise ValueError("PNG sides must be between 1 and 4096")
    rgb = bytes.fromhex(color.lstrip("#"))
    light = bytes(min(255, c + (255 - c) // 2) for c in rgb)
    band = range(height * 2 // 5, height * 3 // 5)
    rows = b"".join(b"\x00" + (light if y in band else rgb) * width for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    head = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head) + chunk(b"IDAT", zlib.compress(rows, 9))
            + chunk(b"IEND", b""))  # fmt: skip


def _page(f: Feed, item: Item, related: list[Item], base: str, now: datetime) -> str:
    """A realistic article page: cookie banner, nav, ads, share bar, related links, footer."""
    lang, nav, share, copy, rel, cookie, ok, ad, reporter, _, footer, privacy = CHROME[f.lang]
    title, name = escape(unescape(item.title)), escape(f.name)
    when = (item.published or now).astimezone(TZ8)
    charset = f.declared if f.codec != "utf-8" else "utf-8"
    menu = "".join(f'<li><a href="/section/{k}">{w}</a></li>' for k, w in enumerate(nav.split()))
    links = "".join(
        f'<li><a href="{escape(base + r.path)}">{escape(unescape(r.title))}</a></li>'
        for r in related
    )
    banner = f'<a href="/ads/click?slot={{}}" rel="sponsored nofollow"><img src="/images/ad.svg" alt="{ad}"></a>'
    return f"""<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="{charset}">
<title>{title} - {name}</title>
<meta name="description" content="{escape(item.summary)}">
<meta property="og:title" content="{title}">
<meta property="og:type" content="article">
<meta property="article:published_time" content="{when.isoformat()}">
<link rel="canonical" href="{escape(base + item.path)}">
<script>window.dataLayer = window.dataLayer || []; dataLayer.push({{"event": "pageview"}});</script>
</head>
<body>
<div id="cookie-consent" class="cookie-banner"><p>{cookie}</p><button type="button">{ok}</button></div>
<header class="site-header"><a class="logo" href="/">{name}</a>
<nav class="main-nav"><ul>{menu}</ul></nav></header>
<div class="ad ad-leaderboard"><span class="ad-label">{ad}</span>{banner.format("top")}</div>
<main class="content">
<article class="news-article">
<header><h1>{title}</h1>
<p class="byline"><span class="author">{reporter}</span> <time datetime="{when.isoformat()}">{when:%Y-%m-%d %H:%M}</time></p></header>
<div class="share-bar"><a href="/share?to=social">{share}</a> <a href="#" class="copy-link">{copy}</a></div>
<div class="article-body">
{item.body}
</div>
</article>
<aside class="related-news"><h3>{rel}</h3><ul>{links}</ul></aside>
<div class="ad ad-sidebar"><span class="ad-label">{ad}</span>{banner.format("side")}</div>
</main>
<footer class="site-footer"><p>{footer}</p><p><a href="/privacy">{privacy}</a> | 2026 {name}</p></footer>
<script>document.querySelector(".copy-link").onclick = function () {{ return false; }};</script>
</body>
</html>
"""


def _rfc822(dt: datetime, gmt: bool) -> str:
    return format_datetime(dt.astimezone(UTC if gmt else TZ8), usegmt=gmt)


def _iso(dt: datetime) -> str:
    return dt.astimezone(TZ8).isoformat(timespec="seconds")


def _zulu(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _rss20(f: Feed, items: list[Item], base: str, now: datetime) -> str:
    gmt, lang = f.lang == "en", {"tc": "zh-TW", "sc": "zh-CN", "en": "en-GB"}[f.lang]
    out = [
        f'<?xml version="1.0" encoding="{f.declared}"?>',
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">',
        f"<channel>\n<title>{escape(f.name)}</title>\n<link>{base}/</link>",
        f'<atom:link href="{base}{f.path}" rel="self" type="application/rss+xml"/>',
        f"<description>{escape(CHROME[f.lang][10])}</description>\n<language>{lang}</language>",
        f"<lastBuildDate>{_rfc822(now, gmt)}</lastBuildDate>\n<generator>newsmirror demo</generator>",
    ]
    for it in items:
        perma = "true" if it.guid.startswith("http") else "false"
        out += ["<item>", f"<title>{escape(it.title)}</title>", f"<link>{escape(it.link)}</link>"]
        out.append(f'<guid isPermaLink="{perma}">{escape(it.guid)}</guid>')
        if it.published is not None:
            out.append(f"<pubDate>{_rfc822(it.published, gmt)}</pubDate>")
        out += [f"<category>{escape(c)}</category>" for c in it.categories]
        out.append(f"<dc:creator>{escape(CHROME[f.lang][8])}</dc:creator>")
        if f.full and f.codec == "gbk":  # the full text in <description>, as many Chinese sites do
            out.append(f"<description><![CDATA[{it.body}]]></description>")
        else:
            out.append(f"<description>{escape(it.summary)}</description>")
            if f.full:
                out.append(f"<content:encoded><![CDATA[{it.body}]]></content:encoded>")
        out.append("</item>")
    return "\n".join([*out, "</channel>", "</rss>", ""])


def _rss10(f: Feed, items: list[Item], base: str, now: datetime) -> str:
    seq = "".join(f'<rdf:li rdf:resource="{escape(it.link)}"/>' for it in items)
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">',
        f'<channel rdf:about="{base}{f.path}">\n<title>{escape(f.name)}</title>\n<link>{base}/</link>',
        f"<description>{escape(CHROME[f.lang][10])}</description>",
        f"<dc:language>zh-tw</dc:language>\n<dc:date>{_iso(now)}</dc:date>",
        f"<items><rdf:Seq>{seq}</rdf:Seq></items>\n</channel>",
    ]
    for it in items:
        out += [f'<item rdf:about="{escape(it.link)}">', f"<title>{escape(it.title)}</title>"]
        out.append(f"<link>{escape(it.link)}</link><description>{escape(it.summary)}</description>")
        if it.published is not None:
            out.append(f"<dc:date>{_iso(it.published)}</dc:date>")
        out += [f"<dc:subject>{escape(c)}</dc:subject>" for c in it.categories]
        out += [f"<dc:creator>{escape(CHROME[f.lang][8])}</dc:creator>", "</item>"]
    return "\n".join([*out, "</rdf:RDF>", ""])


def _rss091(f: Feed, items: list[Item], base: str, now: datetime) -> str:
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
        '"http://my.netscape.com/publish/formats/rss-0.91.dtd">',
        f'<rss version="0.91">\n<channel>\n<title>{escape(f.name)}</title>\n<link>{base}/</link>',
        f"<description>{escape(CHROME[f.lang][10])}</description>\n<language>zh-cn</language>",
    ]
    for it in items:
        out += ["<item>", f"<title>{escape(it.title)}</title>", f"<link>{escape(it.link)}</link>"]
        out += [f"<description>{escape(it.summary)}</description>", "</item>"]
    return "\n".join([*out, "</channel>", "</rss>", ""])


def _atom10(f: Feed, items: list[Item], base: str, now: datetime) -> str:
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="zh-Hant">',
        f"<title>{escape(f.name)}</title>\n<subtitle>{escape(CHROME[f.lang][10])}</subtitle>",
        f'<id>{base}{f.path}</id>\n<link rel="self" href="{base}{f.path}"/>',
        f'<link rel="alternate" type="text/html" href="{base}/"/>\n<updated>{_zulu(now)}</updated>',
        f"<author><name>{escape(f.name)}</name></author>\n<generator>newsmirror demo</generator>",
    ]
    for n, it in enumerate(items):
        out += ["<entry>", f"<title>{escape(it.title)}</title>", f"<id>{escape(it.guid)}</id>"]
        out.append(f'<link rel="alternate" type="text/html" href="{escape(it.link)}"/>')
        out.append(f"<published>{_zulu(it.published or now)}</published>")
        out.append(f"<updated>{_zulu(it.updated)}</updated>")
        out += [f'<category term="{escape(c)}"/>' for c in it.categories]
        out.append(f'<summary type="text">{escape(it.summary)}</summary>')
        if n == _XHTML_ENTRY:
            xhtml = f'<div xmlns="http://www.w3.org/1999/xhtml">{it.body}</div>'
            out.append(f'<content type="xhtml">{xhtml}</content>')
        else:
            out.append(f'<content type="html">{escape(it.body)}</content>')
        out.append("</entry>")
    return "\n".join([*out, "</feed>", ""])


def _atom03(f: Feed, items: list[Item], base: str, now: datetime) -> str:
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed version="0.3" xmlns="http://purl.org/atom/ns#" xml:lang="zh-Hant">',
        f'<title mode="escaped" type="text/html">{escape(f.name)}</title>',
        f'<link rel="alternate" type="text/html" href="{base}/"/>\n<modified>{_zulu(now)}</modified>',
        f"<tagline>{escape(CHROME[f.lang][10])}</tagline>\n<author><name>{escape(f.name)}</name></author>",
    ]
    for it in items:
        out += ["<entry>", f"<title>{escape(it.title)}</title>", f"<id>{escape(it.guid)}</id>"]
        out.append(f'<link rel="alternate" type="text/html" href="{escape(it.link)}"/>')
        out.append(f"<issued>{_iso(it.published or now)}</issued>")
        out.append(f"<modified>{_zulu(it.updated)}</modified>")
        out.append(f'<summary type="text/plain">{escape(it.summary)}</summary>')
        out.append(
            f'<content type="text/html" mode="escaped" xml:base="{base}/">{escape(it.body)}</content>'
        )
        out.append("</entry>")
    return "\n".join([*out, "</feed>", ""])


def _json11(f: Feed, items: list[Item], base: str, now: datetime) -> str:
    lang = {"tc": "zh-Hant", "sc": "zh-Hans", "en": "en"}[f.lang]
    entries = []
    for it in items:
        entry: dict[str, object] = {"id": it.guid, "url": it.link, "title": it.title}
        entry |= {"summary": it.summary, "content_html": it.body}
        entry["image"] = f"{base}/images/{it.topic}.png"
        if it.published is not None:
            entry |= {"date_published": _iso(it.published), "date_modified": _iso(it.updated)}
        entry |= {"tags": list(it.categories), "authors": [{"name": CHROME[f.lang][8]}]}
        entries.append(entry)
    feed = {"version": "https://jsonfeed.org/version/1.1", "title": f.name}
    feed |= {"home_page_url": f"{base}/", "feed_url": f"{base}{f.path}", "language": lang}
    feed |= {"description": CHROME[f.lang][10], "authors": [{"name": f.name}], "items": entries}
    return json.dumps(feed, ensure_ascii=False, indent=2) + "\n"


_WRITERS = {
    "rss20": _rss20, "rss10": _rss10, "rss091": _rss091,
    "atom10": _atom10, "atom03": _atom03, "json11": _json11,
}  # fmt: skip
_IMAGES = {
    "metro": "#2d6a8f", "weather": "#5b7c99", "museum": "#6b4c8a", "fair": "#a0643b",
    "library": "#3f7d5a", "ferry": "#1f5f7a", "robotics": "#8a3b3b", "citrus": "#c07a1e",
    "ad": "#9a9a9a",
}  # fmt: skip
