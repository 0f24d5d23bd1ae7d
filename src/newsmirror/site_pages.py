"""HTML pages of the built site: the URL layout, the script-variant trees and
rendering with the Jinja2 templates in ``templates/site/`` (compiled once).

Every link in a page is relative, so the site works under any base path
(``https://user.github.io/mirror/``) and from any static host. A tree is one
copy of the whole site: the original text at the root, and each script
variant (``zh-hans/``, ``zh-hant/``) converted with OpenCC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup, escape

from .site_text import VARIANT_LABELS, VARIANTS, Clock, convert, convert_html
from .urls import short_hash

LABELS = {
    "home": "首頁",
    "archive": "按日檔案",
    "search": "搜尋",
    "sources": "來源",
    "newest": "最新文章",
    "count": "篇數",
    "last": "最後更新",
    "published": "發布",
    "updated": "更新",
    "original": "原文連結",
    "revision": "第 {n} 版，修訂於 {when}",
    "deleted": "原文已刪除",
    "newer": "較新",
    "older": "較舊",
    "page": "第 {n} 頁",
    "pages": "頁次",
    "prev_day": "前一日",
    "next_day": "後一日",
    "not_found": "找不到這一頁",
    "not_found_hint": "這個網址沒有頁面。可以從首頁、按日檔案或搜尋找文章。",
    "search_hint": "輸入關鍵詞（中文或其他語言）",
    "search_button": "搜尋",
    "search_nojs": "搜尋需要 JavaScript；也可以瀏覽按日檔案。",
    "search_more": "更多結果",
    "search_found": "找到 {n} 篇",
    "feeds": "訂閱",
    "script": "文字",
    "articles": "篇",
    "history": "修訂紀錄",
    "history_hint": "每一版的時間與標題；每一版與前一版的差異：刪去的文字加刪除線，新增的文字加底線。",
    "version": "第 {n} 版",
    "current": "目前版本",
    "changes": "刪去 {removed} 字，新增 {added} 字",
    "no_text_change": "內文未變",
    "deletions": "原文已刪除的文章",
    "deletions_hint": "原網站已刪除、本站仍保留最後一份的文章，最近刪除的在前。",
    "deletions_link": "已刪除文章列表（{n} 篇）",
    "no_deletions": "目前沒有。",
    "folded": "⋯ 未變段落",
}


@dataclass(frozen=True, slots=True)
class Tree:
    """One copy of the site: ``prefix`` is its folder ("" for the original)."""

    variant: str  # "" (original text), "zh-Hant" or "zh-Hans"
    prefix: str  # "" or "zh-hant/"
    config: str  # OpenCC config ("" for none)

    @property
    def label(self) -> str:
        return VARIANT_LABELS[self.variant]

    def text(self, s: str) -> str:
        return convert(s, self.config)

    def html(self, s: str) -> str:
        return convert_html(s, self.config)

    def lang(self, detected: str) -> str:
        return self.variant or detected


def make_trees(variants: Sequence[str]) -> tuple[Tree, ...]:
    trees = [Tree("", "", "")]
    for v in variants:
        folder, cfg = VARIANTS[v]
        trees.append(Tree(v, folder + "/", cfg))
    return tuple(trees)


# Not frozen: one is made for every article in every build, and a frozen
# dataclass's __init__ is several times slower.
@dataclass(slots=True)
class Item:
    """One article as pages and feeds need it (no content)."""

    key: str
    source: str
    source_name: str
    title: str
    link: str
    published: datetime
    updated: datetime | None  # the latest of the feed's updated time and our last revision
    revision: int
    lang: str
    mark: str  # "" or "deleted"
    href: str  # article page, relative to a tree's root
    day: str  # YYYY-MM-DD in the mirror's time zone
    path: str = ""  # the post file, relative to the mirror
    sig: str = ""  # the article's signature: changes whenever anything above may change


def esc(s: str) -> str:
    """``s`` escaped for HTML exactly as markupsafe's ``escape`` (and so the templates)
    escape a plain string, as a plain string (no Markup object to make: pages call
    this hundreds of thousands of times in a full build)."""
    return (
        s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        .replace('"', "&#34;").replace("'", "&#39;")
    )  # fmt: skip


# ------------------------------------------------------------------ URLs


def article_href(key: str, published: datetime, clock: Clock) -> str:
    """``a/YYYY/MM/DD/HHMM-<hash>.html``: the local time first, so that the search
    index can select articles by day and hour with a file glob."""
    d = clock.local(published)  # (the fields as strftime writes them, but 3× faster)
    day = f"{d.year}/{d.month:02d}/{d.day:02d}"
    return f"a/{day}/{d.hour:02d}{d.minute:02d}-{short_hash(key, 10)}.html"


def source_href(slug: str, page: int = 0) -> str:
    return f"s/{slug}/index.html" if page == 0 else f"s/{slug}/p{page}.html"


def day_href(day: str) -> str:
    return f"d/{day}.html"


def rel_link(from_rel: str, to_rel: str) -> str:
    """A relative link from the file ``from_rel`` to the file ``to_rel`` (both under
    the output folder)."""
    here, there = from_rel.split("/")[:-1], to_rel.split("/")
    n = 0
    while n < len(here) and n < len(there) - 1 and here[n] == there[n]:
        n += 1
    return "../" * (len(here) - n) + "/".join(there[n:])


def up(rel: str) -> str:
    """The prefix that leads from the file ``rel`` back to the output folder."""
    depth = rel.count("/")
    return "../" * depth


# ------------------------------------------------------------ rendering


def _close(root: str, t: dict[str, str]) -> str:
    """The end of a page of ``base.html``, after its main block."""
    return (
        f'</main>\n<footer class="site">\n<a href="{root}index.html">{t["home"]}</a> ·\n'
        f'<a href="{root}atom.xml">Atom</a> ·\n<a href="{root}rss.xml">RSS</a>\n'
        "</footer>\n</body>\n</html>\n"
    )


def items_list(
    items: Sequence[Item],
    root: str,
    clock: Clock,
    lang: str,
    tree: Tree,
    show_source: bool = True,
    show_day: bool = True,
    t: dict[str, str] | None = None,
) -> Markup:
    """The ``<ol class="items">`` of a listing page (in Python: a listing has hundreds
    of items, and a Jinja macro call per item is the slowest part of a page)."""
    e = esc
    r = e(root)
    deleted = e(t["deleted"]) if t else ""
    out = ['<ol class="items">\n']
    for it in items:
        il = tree.lang(it.lang)
        d = clock.local(it.published)
        day = f"{d.month:02d}-{d.day:02d} " if show_day else ""
        out.append(
            (f'<li lang="{e(il)}">\n' if il != lang else "<li>\n")
            + f'<time datetime="{d.isoformat(timespec="seconds")}">{day}{d.hour:02d}:'
            f"{d.minute:02d}</time>\n"
            + f'<a href="{r}{e(it.href)}">{e(tree.text(it.title))}</a>\n'
        )
        if show_source:
            out.append(f'<a class="src" href="{r}s/{e(it.source)}/index.html">'
                       f"{e(tree.text(it.source_name))}</a>")  # fmt: skip
        if it.revision > 1:
            out.append(f'<span class="mark rev">r{it.revision}</span>')
        if it.mark == "deleted":
            out.append(f'<span class="mark del">{deleted}</span>')
        out.append("</li>\n")
    out.append("</ol>\n")
    return Markup("".join(out))


@dataclass
class Pages:
    """Renders pages; one instance per build (templates compiled once)."""

    title: str
    base_url: str
    clock: Clock
    trees: tuple[Tree, ...]
    images: str = "original"
    default_lang: str = "zh-Hant"
    cache_dir: Path | None = None  # compiled templates kept here between builds
    env: jinja2.Environment = field(init=False)
    _fixed: dict[str, tuple[dict[str, str], str, str, str]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.env = jinja2.Environment(
            loader=jinja2.PackageLoader("newsmirror", "templates/site"),
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            undefined=jinja2.StrictUndefined,
            auto_reload=False,  # compiled once: no stat of the template files per page
            bytecode_cache=(
                jinja2.FileSystemBytecodeCache(str(self.cache_dir)) if self.cache_dir else None
            ),
        )
        self.env.globals["items_list"] = items_list

    @cached_property
    def _labels(self) -> dict[str, dict[str, str]]:
        return {t.variant: {k: t.text(v) for k, v in LABELS.items()} for t in self.trees}

    def csp(self, *, script: bool) -> str:
        img = "'self' data:" + (" https: http:" if self.images == "original" else "")
        js = "'self'" if script else "'none'"
        return (
            f"default-src 'none'; img-src {img}; style-src 'self'; script-src {js}; "
            "connect-src 'self'; "
            "base-uri 'none'; form-action 'self'"
        )

    def render(
        self,
        template: str,
        tree: Tree,
        rel: str,
        /,
        *,
        lang: str,
        page_title: str,
        script: bool = False,
        **ctx: Any,
    ) -> str:
        """Render ``template`` as the page at ``tree.prefix + rel``."""
        out_rel = tree.prefix + rel
        alternates = []
        if len(self.trees) > 1:
            for other in self.trees:
                href = rel_link(out_rel, other.prefix + rel)
                alternates.append((other.label, href, other is tree, other.variant or ""))
        canonical = (self.base_url + out_rel) if self.base_url else ""
        return self.env.get_template(template + ".html").render(
            t=self._labels[tree.variant],
            tree=tree,
            root=up(out_rel) + tree.prefix,
            site=up(out_rel),
            lang=lang,
            site_title=tree.text(self.title),
            page_title=page_title,
            alternates=alternates,
            canonical=canonical,
            csp=self.csp(script=script),
            script=script,
            clock=self.clock,
            **ctx,
        )

    def _article_fixed(self, tree: Tree) -> tuple[dict[str, str], str, str, str]:
        """What every article page of ``tree`` shows the same, escaped once: the labels,
        the site's title (and unescaped, to compare) and the CSP."""
        got = self._fixed.get(tree.variant)
        if got is None:
            labels = {k: str(escape(v)) for k, v in self._labels[tree.variant].items()}
            title = tree.text(self.title)
            got = (labels, title, str(escape(title)), str(escape(self.csp(script=False))))
            self._fixed[tree.variant] = got
        return got

    def _open(
        self, tree: Tree, rel: str, lang: str, page_title: str
    ) -> tuple[list[str], str, dict[str, str]]:
        """A page of ``base.html`` up to its main block, as ``render`` makes it (the
        labels escaped once: see ``_article_fixed``): (its parts, root, labels)."""
        e = esc
        t, site_title, title_e, csp = self._article_fixed(tree)
        out_rel = tree.prefix + rel
        site = up(out_rel)
        root = site + tree.prefix  # (our own ASCII paths and times need no escaping)
        alternates = []
        if len(self.trees) > 1:
            for other in self.trees:
                href = rel_link(out_rel, other.prefix + rel)
                alternates.append((other.label, href, other is tree, other.variant or ""))
        out = [
            f'<!doctype html>\n<html lang="{e(lang)}">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n'
            '<meta name="referrer" content="no-referrer">\n<link rel="icon" href="data:,">\n'
            f"<title>{e(page_title)}"
            + (f" · {title_e}" if page_title != site_title else "")
            + f'</title>\n<link rel="stylesheet" href="{site}assets/site.css">\n'
        ]
        if self.base_url:
            out.append(f'<link rel="canonical" href="{e(self.base_url + out_rel)}">\n')
        for _label, href, current, variant in alternates:
            if not current and variant:
                out.append(f'<link rel="alternate" hreflang="{e(variant)}" href="{e(href)}">\n')
        out.append(
            f'</head>\n<body>\n<header class="site">\n<a class="brand" href="{root}index.html">'
            f"{title_e}</a>\n<nav>\n<a href=\"{root}d/index.html\">{t['archive']}</a>\n"
            f"<a href=\"{root}search.html\">{t['search']}</a>\n"
        )
        if alternates:
            out.append(f'<span class="variants" aria-label="{t["script"]}">\n')
            for label, href, current, variant in alternates:
                if current:
                    out.append(f"<b>{e(label)}</b>")
                else:
                    lang_attrs = f' hreflang="{e(variant)}" lang="{e(variant)}"' if variant else ""
                    out.append(f'<a href="{e(href)}"{lang_attrs}>{e(label)}</a>')
            out.append("</span>\n")
        out.append("</nav>\n</header>\n<main>\n")
        return out, root, t

    def day(
        self, tree: Tree, rel: str, /, *, lang: str, page_title: str, day: str,
        items: Sequence[Item], prev_day: str, next_day: str,
    ) -> str:  # fmt: skip
        """The day page ``rel``: exactly what ``render("day", …)`` makes from ``day.html``
        in ``base.html``, written out in Python (a build makes one a day: a thousand
        for three years). The tests compare both for every branch."""
        out, root, t = self._open(tree, rel, lang, page_title)
        out.append(
            f'<h1><time datetime="{esc(day)}">{esc(day)}</time></h1>\n'
            f'<p class="meta">{len(items)} {t["articles"]}</p>\n'
        )
        labels = self._labels[tree.variant]  # (items_list escapes what it shows)
        out.append(items_list(items, root, self.clock, lang, tree, show_day=False, t=labels))
        out.append('\n<nav class="pager">\n')
        if prev_day:
            out.append(f'<a rel="prev" href="{esc(prev_day)}.html">← {t["prev_day"]} {esc(prev_day)}</a>')
        out.append(f'<a href="index.html">{t["archive"]}</a>\n')
        if next_day:
            out.append(f'<a rel="next" href="{esc(next_day)}.html">{t["next_day"]} {esc(next_day)} →</a>')
        out.append("</nav>\n")
        out.append(_close(root, t))
        return "".join(out)

    def article(
        self,
        tree: Tree,
        rel: str,
        /,
        *,
        lang: str,
        page_title: str,
        it: Item,
        title: str,
        source_name: str,
        content: str,
        deleted_at: datetime | None,
    ) -> str:
        """The article page ``rel``: exactly what ``render("article", …)`` makes from
        ``article.html`` in ``base.html``, written out in Python (a build makes thousands
        of them, and Jinja's own work per page was most of a full build's time). The
        tests compare both for every branch of the templates."""
        e, clock = esc, self.clock
        out, root, t = self._open(tree, rel, lang, page_title)
        out.append(
            "<article>\n"
            f"<h1>{e(title)}</h1>\n"
            '<p class="meta">\n'
            f'<a class="src" href="{root}s/{e(it.source)}/index.html">'
            f"{e(source_name)}</a>\n· {t['published']} <time datetime=\"{clock.iso(it.published)}\""
            f">{clock.full(it.published)}</time>\n"
        )
        if it.updated:
            out.append(f"· {t['updated']} <time datetime=\"{clock.iso(it.updated)}\">"
                       f"{clock.full(it.updated)}</time>")  # fmt: skip
        out.append(
            '</p>\n<p class="meta">\n'
            f'<a class="orig" href="{e(it.link)}" rel="noopener noreferrer">{t["original"]}</a>\n'
            f'· <a href="{root}d/{it.day}.html">{it.day}</a>\n'
        )
        if it.revision > 1:
            when = clock.full(it.updated or it.published)
            label = self._labels[tree.variant]["revision"].format(n=it.revision, when=when)
            out.append(f'<span class="mark rev">{e(label)}</span> <a class="history" '
                       f'href="{root}h/{it.href[2:]}">{t["history"]}</a>')  # fmt: skip
        if it.mark == "deleted":
            out.append(f'<span class="mark del">{t["deleted"]}')
            if deleted_at:
                out.append(f' <time datetime="{clock.iso(deleted_at)}">'
                           f"{clock.full(deleted_at)}</time>")  # fmt: skip
            out.append("</span>")
        out.append(f'</p>\n<div class="content">\n{content}\n</div>\n</article>\n')
        out.append(_close(root, t))
        return "".join(out)

    def not_found(self, tree: Tree) -> str:
        """The 404 page: served at any path, so its links start at the site's base path."""
        base = urlsplit(self.base_url).path if self.base_url else "/"
        base = base if base.endswith("/") else base + "/"
        return self.env.get_template("404.html").render(
            t=self._labels[tree.variant],
            tree=tree,
            root=base + tree.prefix,
            site=base,
            lang=tree.lang(self.default_lang),
            site_title=tree.text(self.title),
            page_title=self._labels[tree.variant]["not_found"],
            alternates=[],
            canonical="",
            csp=self.csp(script=False),
            script=False,
            clock=self.clock,
        )
