"""The build pass of ``newsmirror build``: streams the index once and makes
each page, rendering only pages whose inputs changed (see ``site.py``)."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .config import Config
from .site import SiteSettings, SourceState, make_item
from .site_content import prepare, read_post
from .site_feeds import (
    FORMATS,
    FeedEntry,
    FeedMeta,
    Format,
    SitemapUrls,
    sitemaps,
    split_entries,
    xml_text,
)
from .site_files import SEP, SiteFiles, article_record, digest, record_stat, signature
from .site_images import SiteImages, resolve_marks
from .site_pages import Item, Pages, Tree, day_href, rel_link, source_href, up
from .site_records import Records
from .site_search import SearchIndex, drop_bundles
from .site_text import han_kinds, learn_han_kinds, majority_lang, page_content
from .store import Store, parse_ts


class Builder:
    """One build: holds the streaming state and writes pages as they complete."""

    def __init__(
        self,
        config: Config,
        settings: SiteSettings,
        files: SiteFiles,
        pages: Pages,
        build_sig: str,
        progress: Callable[[str], None] | None,
    ) -> None:
        self.config, self.s, self.files, self.pages = config, settings, files, pages
        self.m = files.manifest
        self.build_sig = build_sig
        self.progress = progress or (lambda _msg: None)
        self.trees = pages.trees
        self.prefixes = tuple(t.prefix for t in self.trees)
        self.clock = pages.clock
        self.names = {src.slug: src.name for src in config.sources}
        self.count = self.rendered = self.search_runs = self.search_removed = 0
        self.warnings: list[str] = []
        self.sources: dict[str, SourceState] = {}
        self.home: deque[Item] = deque(maxlen=max(settings.home_size, settings.feed_size))
        self.days: list[tuple[str, int]] = []
        self.day_items: list[Item] = []
        self.pending_day: tuple[str, list[Item]] | None = None
        self.prev_day = ""
        self.sitemap = SitemapUrls(config.state_dir,  # (nothing is written outside the mirror)
                                   [("index.html", ""), ("d/index.html", ""), ("search.html", "")])  # fmt: skip
        self.root = str(config.root) + "/"
        # Page content of articles rendered in this build that a feed may still show.
        self._content: dict[str, str] = {}
        self._escaped: dict[tuple[str, str, str], str] = {}  # (key, variant, root) -> entry content
        self.search: SearchIndex | None = None
        self.images = SiteImages(str(config.root), files)
        self._arts = self.m.articles
        self._shows_images = self.images.by_article  # (keys whose page shows an image)
        self._keep = files.keeper(self.prefixes)
        self._seen: set[str] = set()  # the keys of the index's articles
        self._prepared = False  # the rows may carry their page content (see run)

    # ------------------------------------------------------------ the pass

    def run(self, store: Store, rows: Iterable[tuple[Any, ...]]) -> None:
        """Make the site from the index (``store``) and its signed rows (``site_rows``;
        those it prepared carry their page content, when made with this build's
        settings)."""
        self._prepared = getattr(rows, "prepares", None) == (self.s.images, self.s.lang)
        learn_han_kinds(self.m.extra.get("han", {}))
        self._drop_odd_records()
        self.search = self._search_index()
        self.records = Records(self, store)
        try:
            self._pass(rows)
        finally:
            if self.search is not None:
                self.search.close()
        if not han_kinds():  # the child told every language: the table it made
            learn_han_kinds(getattr(rows, "han", {}))
        self.m.extra["han"] = han_kinds()

    def _pass(self, rows: Iterable[tuple[Any, ...]]) -> None:
        article, records_see, day, source = self._article, self.records.see, self._day, self._source
        search_see = self.search.see if self.search is not None else None
        home, sitemap = self.home.append, self.sitemap.append
        for row in rows:
            self.count += 1
            item = article(row)
            if search_see is not None:
                search_see(item)
            records_see(item, row)
            day(item)
            source(item)
            home(item)
            # lastmod: the date of the stored ISO time, as published.date() gives it
            upd = item.updated
            sitemap((item.href, upd.date().isoformat() if upd else row[5][:10]))
            if self.count % 1000 == 0:
                self.progress(f"{self.count} articles")
                self._drop_old_content()
        self._forget_gone()
        self._flush_day(None)
        if self.search is not None:  # indexing overlaps the listings and feeds
            self.search.start()
        for st in self.sources.values():
            self._finish_source(st)
        self._archive_index()
        self.records.finish()
        self._home()
        self._feeds()
        for tree in self.trees:
            self._once(
                tree.prefix + "404.html", self.build_sig, lambda t=tree: self.pages.not_found(t)
            )
        self._assets()
        self._sitemap()
        self.images.finish(set(self.m.articles))
        segments: dict[str, list[dict[str, Any]]] = {}
        if self.search is not None:
            segments = self.search.finish()
            self.search_runs = self.search.ran
            self.warnings.extend(self.search.warnings)
        else:
            self.search_removed = drop_bundles(self.files)
            self.m.extra.pop("index", None)
            for key in [k for k in self.m.pages if k.startswith("index:")]:
                del self.m.pages[key]
        for tree in self.trees:
            self._search_page(tree, segments.get(tree.prefix, []))

    # ------------------------------------------------------------ articles

    def _read_post(self, path: str) -> tuple[str, str, str, bool]:
        """(content, mark, deleted_at ISO, legacy) from an article's post file."""
        return read_post(self.root, path, self.warnings)

    def _drop_odd_records(self) -> None:
        """Forget article records not in this version's shape (their pages are made
        again; files no longer made are pruned at the end)."""
        odd = [k for k, r in self.m.articles.items() if not isinstance(r, str) or r.count(SEP) != 4]
        for key in odd:
            del self.m.articles[key]

    def _forget_gone(self) -> None:
        """Forget the articles gone from the index. Their pages, and the old pages of
        articles moved to another day (a new publish time), are not made by this
        build, so ``SiteFiles.prune`` removes them."""
        if len(self.m.articles) == len(self._seen):  # every record was seen: none gone
            return
        for key in [k for k in self.m.articles if k not in self._seen]:
            del self.m.articles[key]

    def _article(self, row: tuple[Any, ...]) -> Item:
        key, sig = row[0], row[11]
        self._seen.add(key)
        rec = self._arts.get(key)
        if rec is not None:
            old_sig, lang, mark, href, _ = rec.split(SEP)  # (see _drop_odd_records)
            if old_sig == sig and self._keep(href):
                if key in self._shows_images:
                    self.images.keep(key)
                return make_item(row, sig, self.clock, lang, mark, href)
        pre = row[12] if self._prepared and len(row) > 12 else None  # (see site_rows)
        if pre is None:
            pre = prepare(row, self.root, self.s.images, self.s.lang, self.images.mapper)
        content, lang, mark, deleted_at, shown, warnings = pre
        self.warnings.extend(warnings)
        item = make_item(row, sig, self.clock, lang, mark)
        self._content[item.key] = content
        at = parse_ts(deleted_at) if deleted_at else None
        for tree in self.trees:
            shown_content = tree.html(content)
            page = self.pages.article(
                tree, item.href, lang=tree.lang(lang),
                page_title=tree.text(item.title), it=item, title=tree.text(item.title),
                source_name=tree.text(item.source_name), content=shown_content,
                deleted_at=at,
            )  # fmt: skip
            if self.search is not None:
                self.search.feed(tree, item, shown_content)
            page = resolve_marks(page, up(tree.prefix + item.href))
            self.files.write(tree.prefix + item.href, page)
        self.images.set(item.key, shown)
        self.records.rendered(item.key, deleted_at if mark else "")
        self.m.articles[item.key] = article_record(sig, lang, mark, item.href, row[5])
        self.rendered += 1
        return item

    def _feed_keys(self) -> set[str]:
        keys = {i.key for i in self.home}
        for st in self.sources.values():
            assert st.newest is not None
            keys.update(i.key for i in st.newest)
        return keys

    def _drop_old_content(self) -> None:
        """Forget the content of articles no feed can show any more (bounded memory)."""
        live = self._feed_keys()
        for key in [k for k in self._content if k not in live]:
            del self._content[key]

    def content_of(self, item: Item) -> str:
        """The page content of a feed entry: rendered in this build, else read again
        from its post file."""
        got = self._content.get(item.key)
        if got is None:
            got = self._content[item.key] = self._content_once(item)
        return got

    # ------------------------------------------------------------ listings

    def _page(self, template: str, rel: str, sig: str, **kw: Any) -> None:
        """Render the listing ``rel`` in every tree unless its signature is unchanged."""
        key = "page:" + rel
        if self.m.pages.get(key) == sig and all(
            self.files.keep(t.prefix + rel) for t in self.trees
        ):
            return
        items: list[Item] = kw.get("items", [])
        title_fn = kw.pop("title_fn", None)
        for tree in self.trees:
            lang = tree.variant or majority_lang((i.lang for i in items), self.s.lang)
            if title_fn is not None:
                kw["page_title"] = title_fn(tree)
            if template == "day":  # (written out in Python: a page a day of the archive)
                page = self.pages.day(tree, rel, lang=lang, **kw)
            else:
                page = self.pages.render(template, tree, rel, lang=lang, **kw)
            self.files.write(tree.prefix + rel, page)
        self.m.pages[key] = sig

    def _day(self, item: Item) -> None:
        if self.day_items and self.day_items[0].day != item.day:
            self._flush_day(item.day)
        self.day_items.append(item)

    def _flush_day(self, next_day: str | None) -> None:
        """The current day is complete: write the day before it (now that its next
        day is known), and hold this one until the next is known."""
        if self.pending_day is not None:
            day, items = self.pending_day
            self._write_day(
                day, items, self.prev_day, self.day_items[0].day if self.day_items else ""
            )
            self.prev_day = day
        if self.day_items:
            self.pending_day = (self.day_items[0].day, self.day_items)
            self.days.append((self.day_items[0].day, len(self.day_items)))
            self.day_items = []
        if next_day is None and self.pending_day is not None:
            day, items = self.pending_day
            self._write_day(day, items, self.prev_day, "")
            self.pending_day = None

    def _write_day(self, day: str, items: list[Item], prev: str, nxt: str) -> None:
        newest_first = items[::-1]
        sig = digest("\x1f".join([self.build_sig, day, prev, nxt, *[i.sig for i in newest_first]]))
        self._page("day", day_href(day), sig, page_title=day, day=day, items=newest_first,
                   prev_day=prev, next_day=nxt)  # fmt: skip
        self.sitemap.append((day_href(day), day))

    def _source(self, item: Item) -> None:
        st = self.sources.get(item.source)
        if st is None:
            name = self.names.get(item.source, item.source_name)
            keep = max(self.s.page_size, self.s.feed_size)
            st = self.sources[item.source] = SourceState(item.source, name, self.s.page_size, keep)
        assert st.chunk is not None and st.newest is not None
        if st.full is not None:  # a newer page exists: the full one can be written
            self._source_page(st, st.full, st.pages, last=False)
            st.full = None
        st.chunk.append(item)
        st.newest.append(item)
        st.count += 1
        when = item.updated or item.published
        if st.last is None or when > st.last:
            st.last = when
        if len(st.chunk) == st.size:
            st.pages += 1
            st.full, st.chunk = st.chunk, []

    def _source_page(self, st: SourceState, items: list[Item], n: int, *, last: bool) -> None:
        newer = "index.html" if last else f"p{n + 1}.html"
        older = f"p{n - 1}.html" if n > 1 else ""
        rev = items[::-1]
        sig = digest("\x1f".join([self.build_sig, st.slug, st.name, str(n), newer, older,
                                  *[i.sig for i in rev]]))  # fmt: skip
        self._page("source", source_href(st.slug, n), sig, items=rev, newer=newer, older=older,
                   page=n, count=None, page_links=[], name=st.name,
                   title_fn=lambda t, st=st, n=n: f"{t.text(st.name)} · {n}")  # fmt: skip
        self.sitemap.append((source_href(st.slug, n), rev[0].published.date().isoformat()))

    def _finish_source(self, st: SourceState) -> None:
        assert st.chunk is not None and st.newest is not None
        if st.full is not None:
            self._source_page(st, st.full, st.pages, last=not st.chunk)
        if st.chunk:
            st.pages += 1
            self._source_page(st, st.chunk, st.pages, last=True)
        front = list(st.newest)[-self.s.page_size :][::-1]
        older = f"p{st.pages - 1}.html" if st.pages > 1 else ""
        links = [(n, f"p{n}.html") for n in range(1, st.pages + 1)]
        sig = signature(self.build_sig, st.slug, st.name, st.count, older, st.pages,
                        [i.sig for i in front])  # fmt: skip
        self._page("source", source_href(st.slug), sig, items=front, newer="", older=older,
                   page=0, count=st.count, page_links=links if st.pages > 1 else [],
                   name=st.name, title_fn=lambda t, st=st: t.text(st.name))  # fmt: skip
        self.sitemap.append((source_href(st.slug), front[0].published.date().isoformat()))

    def _archive_index(self) -> None:
        months: dict[str, list[tuple[str, int]]] = {}
        for day, n in reversed(self.days):
            months.setdefault(day[:7], []).append((day, n))
        sig = signature(self.build_sig, self.days)
        self._page("days", "d/index.html", sig, months=list(months.items()),
                   title_fn=lambda t: self.pages._labels[t.variant]["archive"])  # fmt: skip

    def _home(self) -> None:
        newest = list(self.home)[-self.s.home_size :][::-1]
        summary = sorted(
            ({"slug": st.slug, "name": st.name, "count": st.count, "last": st.last}
             for st in self.sources.values()), key=lambda d: (d["name"], d["slug"]),
        )  # fmt: skip
        sig = signature(self.build_sig, [i.sig for i in newest], self.records.count,
                        [(d["slug"], d["name"], d["count"], str(d["last"])) for d in summary])  # fmt: skip
        self._page("home", "index.html", sig, items=newest, sources=summary,
                   deletions=self.records.count,
                   title_fn=lambda t: t.text(self.s.title))  # fmt: skip

    # ------------------------------------------------------------ feeds

    def _feeds(self) -> None:
        overall = list(self.home)[-self.s.feed_size :][::-1]
        groups = [("", self.s.title, "overall", overall)]
        for st in sorted(self.sources.values(), key=lambda x: x.slug):
            assert st.newest is not None
            items = list(st.newest)[-self.s.feed_size :][::-1]
            groups.append((f"s/{st.slug}/", st.name, "source:" + st.slug, items))
        for folder, title, seed, items in groups:
            sig = signature(self.build_sig, folder, title, [i.sig for i in items])
            rels = [t.prefix + folder + n for t in self.trees for n in FORMATS]
            if self.m.pages.get("feed:" + folder) == sig and all(self.files.keep(r) for r in rels):
                continue
            old = self.m.pages.get("feed-items:" + folder, "").split(",")
            for tree in self.trees:
                self._write_feeds(tree, folder, title, seed, items, old)
            self.m.pages["feed:" + folder] = sig
            self.m.pages["feed-items:" + folder] = ",".join(i.sig[:16] for i in items)
        self._content.clear()
        self._escaped.clear()

    def _url(self, tree: Tree, rel: str, from_rel: str) -> str:
        if self.s.base_url:
            return self.s.base_url + tree.prefix + rel
        return rel_link(tree.prefix + from_rel, tree.prefix + rel)

    def _write_feeds(
        self, tree: Tree, folder: str, title: str, seed: str, items: list[Item], old: list[str]
    ) -> None:
        """Write the feeds of ``folder``; the entries of articles already in the feed
        file and unchanged (same signature) are taken from it as they are."""
        lang = tree.variant or majority_lang((i.lang for i in items), self.s.lang)
        for name, fmt in FORMATS.items():
            rel = folder + name
            page = folder + "index.html" if folder else "index.html"
            meta = FeedMeta(
                title=tree.text(title), page_url=self._url(tree, page, rel),
                self_url=self._url(tree, rel, rel), id_seed=seed + "#" + tree.variant,
                lang=lang, author=tree.text(self.s.title),
            )  # fmt: skip
            kept = self._old_entries(tree.prefix + rel, fmt, old)
            parts = [fmt.head(meta, items).encode()]
            for i in items:
                got = kept.get(i.sig[:16])
                if got is None:
                    content = self._feed_content(i, tree, self._site_root(tree.prefix + rel))
                    e = FeedEntry(i, self._url(tree, i.href, rel), tree.text(i.title),
                                  tree.text(i.source_name), content, True)  # fmt: skip
                    got = fmt.entry(e, tree).encode()
                parts.append(got)
            parts.append(fmt.tail.encode())
            self.files.write(tree.prefix + rel, b"".join(parts))

    def _old_entries(self, rel: str, fmt: Format, old: list[str]) -> dict[str, bytes]:
        """The entries of the feed file ``rel`` by (short) article signature, when the
        file is as this build's manifest says it was written (as bytes: they are
        written again as they are)."""
        rec = self.m.files.get(rel)
        if rec is None or not old:
            return {}
        path = self.files.path(rel)
        try:
            st = os.stat(path)
            if record_stat(rec) != (st.st_size, st.st_mtime_ns):
                return {}
            with open(path, "rb") as fh:
                entries = split_entries(fh.read(), fmt)
        except OSError:
            return {}
        if entries is None or len(entries) != len(old):
            return {}
        return dict(zip(old, entries, strict=True))

    def _site_root(self, out_rel: str) -> str:
        """The way from the feed ``out_rel`` to the output folder's root (for images)."""
        return self.s.base_url or up(out_rel)

    def _feed_content(self, item: Item, tree: Tree, root: str) -> str:
        """An entry's content in ``tree``'s script, escaped for XML (once per build:
        the overall feed and the source's feed share most entries)."""
        key = (item.key, tree.variant, root)
        got = self._escaped.get(key)
        if got is None:
            got = xml_text(resolve_marks(tree.html(self.content_of(item)), root))
            self._escaped[key] = got
        return got

    # ------------------------------------------------------------ search, assets, sitemap

    def _search_index(self) -> SearchIndex | None:
        if not self.s.search:
            return None
        return SearchIndex(self.files, self.build_sig, self.trees, self.s.search_shard_size,
                           self._content_once)  # fmt: skip

    def _content_once(self, item: Item) -> str:
        """An article's page content, not kept (the search index reads many)."""
        got = self._content.get(item.key)
        if got is None:
            raw, _mark, _at, legacy = self._read_post(item.path)
            got = page_content(raw, link=item.link, legacy=legacy, images=self.s.images,
                               image_map=self.images.mapper([]))  # fmt: skip
        return got

    def _once(self, rel: str, sig: str, make: Callable[[], str]) -> None:
        """Write the page ``rel`` made by ``make`` unless its signature is unchanged."""
        key = "page:" + rel
        if self.m.pages.get(key) == sig and self.files.keep(rel):
            return
        self.files.write(rel, make())
        self.m.pages[key] = sig

    def _search_page(self, tree: Tree, segments: list[dict[str, Any]]) -> None:
        data = segments  # folders relative to the tree's root, newest first
        self._once(tree.prefix + "search.html", signature(self.build_sig, data),
                   lambda: self.pages.render(
                       "search", tree, "search.html", lang=tree.lang(self.s.lang),
                       page_title=self.pages._labels[tree.variant]["search"], script=True,
                       segments=data))  # fmt: skip

    def _assets(self) -> None:
        folder = Path(__file__).parent / "templates" / "site"
        for name in ("site.css", "search.js"):
            self.files.write("assets/" + name, (folder / name).read_bytes())

    def _sitemap(self) -> None:
        try:
            for name, text in sitemaps(self.s.base_url, self.prefixes, self.sitemap):
                self.files.write(name, text)
        finally:
            self.sitemap.close()
