"""The benchmark workload: synthetic Chinese news feeds and article pages, served on loopback.

A ``Workload`` is N feeds × M items of one kind:

* ``full`` — full-text feeds: each item carries its whole article (2–8 KB of
  HTML, with the "延伸閱讀" and share-link chrome real full-text feeds carry),
  four feeds in five RSS 2.0 and one Atom 1.0;
* ``summary`` — teaser feeds (a sentence or two) whose links lead to article
  pages with real-looking chrome: navigation, breadcrumbs, share bar, ads,
  related and popular lists, comments, footer, inline CSS/JS (≈40–60 KB).

Everything is deterministic from the seed (see ``textgen``). ``CorpusServer``
mounts workloads on a ``newsmirror.loopback.LoopbackServer`` with ETag and
Last-Modified validators, so a second run can be answered with 304.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from functools import cached_property
from hashlib import sha256
from html import escape
from typing import Literal

import textgen
from textgen import Story, item_rng, make_story

from newsmirror.loopback import LoopbackServer

BASE_TIME = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)  # the fixed clock (NEWSMIRROR_NOW)
NOW_ENV = "2026-11-28T08:00:00Z"
TZ8 = timezone(timedelta(hours=8))  # the feeds' own time zone
Kind = Literal["full", "summary"]


@dataclass(frozen=True, slots=True)
class Workload:
    kind: Kind
    feeds: int
    items: int
    seed: int = 1
    tag: str = ""  # keeps two workloads of the same shape apart (paths, slugs)

    @property
    def total(self) -> int:
        return self.feeds * self.items

    @property
    def prefix(self) -> str:
        return f"/{self.kind}{self.tag}"

    def slug(self, i: int) -> str:
        return f"{'ft' if self.kind == 'full' else 'sm'}{self.tag}{i + 1:03d}"

    def name(self, i: int) -> str:
        return textgen.outlet_name(self.seed, i + (0 if self.kind == "full" else 500))

    def feed_path(self, i: int) -> str:
        ext = "atom" if self.is_atom(i) else "xml"
        return f"{self.prefix}/feeds/{self.slug(i)}.{ext}"

    def page_path(self, i: int, j: int) -> str:
        return f"{self.prefix}/news/{self.slug(i)}/{j + 1:05d}.html"

    def is_atom(self, i: int) -> bool:
        return i % 5 == 4


@dataclass(frozen=True, slots=True)
class Item:
    story: Story
    link: str
    published: datetime
    categories: tuple[str, ...]


class Feed:
    """One feed of a workload: its items and its documents, made on demand."""

    def __init__(self, work: Workload, index: int, base_url: str) -> None:
        self.work, self.index, self.base_url = work, index, base_url

    @property
    def slug(self) -> str:
        return self.work.slug(self.index)

    @property
    def name(self) -> str:
        return self.work.name(self.index)

    @property
    def url(self) -> str:
        return self.base_url + self.work.feed_path(self.index)

    def item(self, j: int) -> Item:
        w = self.work
        rng = item_rng(w.seed, w.kind, w.tag, self.index, j)
        target = rng.randint(1700, 7400) if w.kind == "full" else rng.randint(2500, 6000)
        story = make_story(rng, target)
        minutes = j * 53 + self.index * 7 + rng.randint(0, 40)
        return Item(
            story=story,
            link=self.base_url + w.page_path(self.index, j),
            published=BASE_TIME - timedelta(minutes=minutes),
            categories=(story.section,),
        )

    @cached_property
    def items(self) -> tuple[Item, ...]:
        return tuple(self.item(j) for j in range(self.work.items))

    def document(self) -> bytes:
        return (atom_feed(self) if self.work.is_atom(self.index) else rss_feed(self)).encode()


def _feed_chrome(item: Item, rng_key: int) -> str:
    """What full-text feeds append to the article: related links and a share line."""
    rel = "".join(
        f'<li><a href="{escape(item.link)}?r={k}">{escape(textgen.title(item_rng(rng_key, k)))}</a></li>'
        for k in range(3)
    )
    return (
        f'<div class="related"><h3>延伸閱讀</h3><ul>{rel}</ul></div>'
        f'<p class="share">分享：<a href="https://share.example.invalid/fb?u={escape(item.link)}">'
        'Facebook</a> | <a href="https://share.example.invalid/line">LINE</a></p>'
    )


def full_html(item: Item, key: int) -> str:
    return item.story.body_html() + "\n" + _feed_chrome(item, key)


def rss_feed(feed: Feed) -> str:
    w = feed.work
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">'
        f"\n<channel>\n<title>{escape(feed.name)}</title>\n<link>{feed.base_url}/</link>\n"
        f"<description>{escape(feed.name)}即時新聞</description>\n<language>zh-TW</language>\n"
        f"<lastBuildDate>{format_datetime(BASE_TIME)}</lastBuildDate>\n"
        f'<atom:link href="{escape(feed.url)}" rel="self" type="application/rss+xml"/>\n'
    ]
    in_description = feed.index % 2 == 0  # feedx-style: the full HTML in <description>
    for j, it in enumerate(feed.items):
        s = it.story
        teaser = escape(s.summary())
        if w.kind == "full":
            body = full_html(it, hash_key(w, feed.index, j)).replace("]]>", "]]&gt;")
            desc = f"<![CDATA[{body}]]>" if in_description else teaser
            content = (
                "" if in_description else f"<content:encoded><![CDATA[{body}]]></content:encoded>\n"
            )
        else:
            desc, content = teaser, ""
        cats = "".join(f"<category>{escape(c)}</category>" for c in it.categories)
        parts.append(
            f"<item>\n<title>{escape(s.title)}</title>\n<link>{escape(it.link)}</link>\n"
            f'<guid isPermaLink="true">{escape(it.link)}</guid>\n'
            f"<pubDate>{format_datetime(it.published.astimezone(TZ8))}</pubDate>\n"
            f"<dc:creator>{escape(s.author)}</dc:creator>\n{cats}\n"
            f"<description>{desc}</description>\n{content}</item>\n"
        )
    parts.append("</channel>\n</rss>\n")
    return "".join(parts)


def atom_feed(feed: Feed) -> str:
    w = feed.work
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" '
        f'xml:lang="zh-Hant">\n<title>{escape(feed.name)}</title>\n'
        f'<link href="{feed.base_url}/"/>\n<link rel="self" href="{escape(feed.url)}"/>\n'
        f"<id>{escape(feed.url)}</id>\n<updated>{BASE_TIME.isoformat()}</updated>\n"
    ]
    for j, it in enumerate(feed.items):
        s = it.story
        when = it.published.astimezone(TZ8).isoformat()
        if w.kind == "full":
            body = f'<content type="html">{escape(full_html(it, hash_key(w, feed.index, j)))}</content>\n'
        else:
            body = ""
        cats = "".join(f'<category term="{escape(c)}"/>' for c in it.categories)
        parts.append(
            f"<entry>\n<title>{escape(s.title)}</title>\n"
            f'<link rel="alternate" type="text/html" href="{escape(it.link)}"/>\n'
            f"<id>{escape(it.link)}</id>\n<published>{when}</published>\n"
            f"<updated>{when}</updated>\n<author><name>{escape(s.author)}</name></author>\n"
            f"{cats}\n<summary>{escape(s.summary())}</summary>\n{body}</entry>\n"
        )
    parts.append("</feed>\n")
    return "".join(parts)


def hash_key(w: Workload, i: int, j: int) -> int:
    return int.from_bytes(sha256(f"{w.seed}:{w.kind}:{i}:{j}".encode()).digest()[:4], "big")


_NAV = ("首頁", "即時", "政治", "國際", "兩岸", "財經", "科技", "生活", "社會", "地方",
        "文化", "運動", "娛樂", "評論", "專題", "影音", "圖輯", "Podcast", "訂閱", "關於我們")  # fmt: skip
_CSS = "".join(
    f".c{k}{{margin:{k % 7}px {k % 5}px;padding:{k % 3}px;color:#{k * 2654435761 % 16777216:06x};"
    f"font-size:{12 + k % 6}px;line-height:1.{k % 9}}}"
    for k in range(90)
)
_JS = (
    "window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments);}"
    "gtag('js',new Date());gtag('config','G-BENCH0000');"
    + "".join(
        f"var slot{k}={{id:'ad-{k}',sizes:[[300,250],[728,90]],refresh:{k * 30}}};"
        for k in range(60)
    )
    + "document.querySelectorAll('.lazy').forEach(function(e){e.src=e.dataset.src;});"
)


def page_html(feed: Feed, j: int) -> str:
    """A whole article page with the chrome a news site wraps around the story."""
    it = feed.items[j]
    s = it.story
    rng = item_rng(feed.work.seed, "page", feed.slug, j)
    nav = "".join(f'<li><a href="/c/{k}" class="c{k}">{n}</a></li>' for k, n in enumerate(_NAV))
    menu = "".join(
        f'<li><a href="/tag/{k}">{escape(rng.choice(textgen.TOPICS))}</a></li>' for k in range(24)
    )
    related = "".join(
        f'<li><a href="/news/r{rng.randint(10000, 99999)}.html">'
        f'<img class="lazy" data-src="/thumb/{k}.jpg" alt="">{escape(textgen.title(rng))}</a></li>'
        for k in range(8)
    )
    popular = "".join(
        f'<li><span class="rank">{k + 1}</span><a href="/news/p{rng.randint(10000, 99999)}.html">'
        f"{escape(textgen.title(rng))}</a></li>"
        for k in range(10)
    )
    comments = "".join(
        f'<div class="comment"><span class="user">網友{textgen.person(rng)}</span>'
        f'<p>{escape(textgen.sentence(rng))}</p><span class="likes">{rng.randint(0, 900)} 讚</span></div>'
        for _ in range(4)
    )
    body = s.body_html(image_base="/media")
    cut = body.find("</p>", body.find("</p>") + 4) + 4  # an ad after the second paragraph
    body = (
        body[:cut] + '<div class="ad-slot ad-inline"><span>廣告</span><ins class="adsbygoogle" '
        'data-ad-slot="12345"></ins><script>(adsbygoogle=window.adsbygoogle||[]).push({});</script></div>'
        + body[cut:]
    )
    when = it.published.astimezone(TZ8)
    footer = "".join(f'<a href="/about/{k}">{n}</a>' for k, n in enumerate(_NAV[::-1]))
    return (
        f'<!DOCTYPE html>\n<html lang="zh-Hant"><head><meta charset="utf-8">'
        f"<title>{escape(s.title)} | {escape(feed.name)}</title>"
        f'<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<meta name="description" content="{escape(s.summary())}">'
        f'<meta property="og:title" content="{escape(s.title)}">'
        f'<meta property="og:type" content="article"><meta property="og:url" content="{escape(it.link)}">'
        f'<link rel="canonical" href="{escape(it.link)}"><style>{_CSS}</style>'
        f'<script type="application/ld+json">{{"@context":"https://schema.org","@type":"NewsArticle",'
        f'"headline":"{escape(s.title)}","datePublished":"{when.isoformat()}",'
        f'"author":{{"@type":"Person","name":"{escape(s.author)}"}}}}</script>'
        f"<script>{_JS}</script></head>\n<body>"
        f'<header class="site-header"><a class="logo" href="/">{escape(feed.name)}</a>'
        f'<nav class="main-nav"><ul>{nav}</ul></nav><div class="search"><form action="/search">'
        f'<input name="q" placeholder="搜尋"></form></div><ul class="hot-tags">{menu}</ul></header>\n'
        f'<div class="ad-slot ad-top"><span>廣告</span><iframe src="/ads/top.html" width="728" height="90">'
        f"</iframe></div>\n"
        f'<div class="breadcrumb"><a href="/">首頁</a> &gt; <a href="/c/{escape(s.section)}">'
        f"{escape(s.section)}</a></div>\n<main><article>"
        f'<h1 class="headline">{escape(s.title)}</h1><div class="meta"><span class="author">'
        f'{escape(s.author)}</span><time datetime="{when.isoformat()}">'
        f"{when:%Y/%m/%d %H:%M}</time></div>"
        f'<div class="share-bar"><a href="#fb">Facebook</a><a href="#x">X</a><a href="#line">LINE</a>'
        f'<button class="copy">複製連結</button><button class="font">字級</button></div>\n'
        f'<div class="article-body" itemprop="articleBody">\n{body}\n</div>'
        f'<div class="tags">標籤：<a href="/tag/a">{escape(s.place)}</a>'
        f'<a href="/tag/b">{escape(s.section)}</a></div>'
        f'<div class="subscribe">訂閱電子報，每天掌握最新消息 <a href="/subscribe">立即訂閱</a></div>'
        f"</article>\n"
        f'<aside class="related"><h3>相關新聞</h3><ul>{related}</ul></aside>\n'
        f'<aside class="popular"><h3>熱門新聞</h3><ol>{popular}</ol></aside>\n'
        f'<section class="comments"><h3>留言（{len(comments) % 97}）</h3>{comments}</section></main>\n'
        f'<div class="ad-slot ad-bottom"><span>廣告</span><iframe src="/ads/bottom.html"></iframe></div>'
        f'<footer class="site-footer"><nav>{footer}</nav><p>© 2026 {escape(feed.name)} 版權所有，'
        f"未經授權不得轉載。</p><p>客服信箱 service@example.invalid</p></footer>"
        f"<script>{_JS[:2000]}</script></body></html>\n"
    )


@dataclass(frozen=True, slots=True)
class Mounted:
    """A workload as served: its feeds (name, slug, url) and the paths it added."""

    work: Workload
    sources: tuple[tuple[str, str, str], ...]
    feed_paths: tuple[str, ...]
    page_paths: tuple[str, ...]


class CorpusServer(LoopbackServer):
    """A loopback server that serves benchmark workloads (feeds, and pages for summaries)."""

    def mount(self, work: Workload, *, pages: bool | None = None) -> Mounted:
        """Serve ``work``'s feeds (and its article pages: by default for summary feeds)."""
        with_pages = work.kind == "summary" if pages is None else pages
        sources, feed_paths, page_paths = [], [], []
        for i in range(work.feeds):
            feed = Feed(work, i, self.base_url)
            self._serve(work.feed_path(i), feed.document(),
                        "application/atom+xml" if work.is_atom(i) else "application/rss+xml")  # fmt: skip
            feed_paths.append(work.feed_path(i))
            sources.append((feed.name, feed.slug, feed.url))
            if with_pages:
                for j in range(work.items):
                    self._serve(work.page_path(i, j), page_html(feed, j).encode(),
                                "text/html; charset=utf-8")  # fmt: skip
                    page_paths.append(work.page_path(i, j))
        return Mounted(work, tuple(sources), tuple(feed_paths), tuple(page_paths))

    def unmount(self, mounted: Mounted) -> None:
        for p in (*mounted.feed_paths, *mounted.page_paths):
            self.routes.pop(p, None)

    def _serve(self, path: str, body: bytes, ctype: str) -> None:
        self.add(path, body, content_type=ctype, etag=f'"{sha256(body).hexdigest()[:20]}"',
                 last_modified=BASE_TIME - timedelta(minutes=5))  # fmt: skip

    def hits_under(self, prefix: str, *, not_modified: bool = False) -> int:
        """Requests answered under ``prefix`` (only 304s with ``not_modified``)."""
        counter = self.conditional_hits if not_modified else self.hits
        return sum(n for p, n in counter.items() if p.startswith(prefix))


def iter_feeds(work: Workload, base_url: str) -> Iterator[Feed]:
    for i in range(work.feeds):
        yield Feed(work, i, base_url)
