"""``newsmirror build``: the mirror's own static site, made from the index.

One pass over the index (oldest first, streamed) makes every page: article
pages (content read from the post files), day pages, per-source pages, the
home page, feeds, the sitemap, the search page and its index segments. Only
listing state that a page needs is held (one day, one page per source, the
newest items for the home page and feeds).

Incremental: every page has a signature of what it is made from (the index
row and the post file's size and mtime for an article; its items' signatures
and its links for a listing), kept in the manifest (``.newsmirror/site-manifest.bin``).
The rows and their signatures are read by a forked child, on the other core,
while the build works through them (``site_rows``).
A page whose signature is unchanged is not even rendered; a rendered page whose
bytes are unchanged is not written. A feed made again takes the entries of
unchanged articles from its own file; search segments are indexed in a
process of their own while the build goes on (see ``site_search``). Output is deterministic: the same index gives byte-identical
files, whether built at once or build after build.
"""

from __future__ import annotations

import gc
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import Any

from . import __version__
from .config import Config, SiteSettings
from .config_schema import parse_tz
from .site_files import Manifest, SiteFiles, digest, manifest_path, signature, site_dir
from .site_pages import Item, Pages, Tree, article_href, make_trees
from .site_rows import RowReader
from .site_text import Clock
from .store import Store, parse_ts

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class SiteReport:
    out: Path
    articles: int  # in the index
    rendered: int  # article pages rendered in this build
    written: int  # files written
    kept: int  # files left as they were
    removed: int  # files of an earlier build no longer made
    search_runs: int  # search segments indexed
    seconds: float
    warnings: tuple[str, ...] = ()


def _templates_sig() -> str:
    folder = Path(__file__).parent / "templates" / "site"
    parts = [(p.name, digest(p.read_bytes())) for p in sorted(folder.iterdir()) if p.is_file()]
    mods = (
        "site.py",
        "site_pages.py",
        "site_text.py",
        "site_feeds.py",
        "site_search.py",
        "site_render.py",
        "site_images.py",
        "site_records.py",
        "site_history.py",
        "site_rows.py",
        "site_content.py",
        "han.py",
    )
    code = [(m, digest((Path(__file__).parent / m).read_bytes())) for m in mods]
    return signature(parts, code)


def build_site(
    config: Config,
    out: Path | None = None,
    *,
    settings: SiteSettings | None = None,
    progress: Progress | None = None,
    rows: RowReader | None = None,
) -> SiteReport:
    """Build (or bring up to date) the static site of the mirror at ``config.root``;
    ``rows``: its index rows, when their reading started already (see ``site_rows``)."""
    start = time.monotonic()
    s = settings or SiteSettings.from_config(config)
    out_dir = site_dir(config, out, s)
    out_dir.mkdir(parents=True, exist_ok=True)
    if rows is None:
        rows = RowReader.for_site(config, out_dir, s)  # (see site_rows)
    try:
        manifest = Manifest.load(manifest_path(config, out_dir), out_dir)
        gc.freeze()  # the manifest lives all build long: the collector need not scan it again
        try:
            return _build(config, out_dir, s, manifest, rows, progress, start)
        finally:
            gc.unfreeze()
    finally:
        rows.close()


def _build(
    config: Config,
    out_dir: Path,
    s: SiteSettings,
    manifest: Manifest,
    rows: RowReader,
    progress: Progress | None,
    start: float,
) -> SiteReport:
    from .site_render import Builder

    tz = parse_tz(config.mirror.timezone)
    build_sig = signature(__version__, _templates_sig(), [getattr(s, f.name) for f in fields(s)],
                          config.mirror.timezone)  # fmt: skip
    if manifest.build != build_sig:  # templates or settings changed: every page is re-rendered
        manifest.articles.clear()
        manifest.pages.clear()
        manifest.build = build_sig
    files = SiteFiles(out_dir, manifest)
    trees = make_trees(s.variants)
    jinja_cache = config.state_dir / "cache" / "site-templates"
    jinja_cache.mkdir(parents=True, exist_ok=True)
    pages = Pages(s.title, s.base_url, Clock(tz), trees, images=s.images, default_lang=s.lang,
                  cache_dir=jinja_cache)  # fmt: skip
    with Store(config.store_target) as store:
        b = Builder(config, s, files, pages, build_sig, progress)
        b.run(store, rows)
    removed = files.prune()
    files.settle()
    manifest.save()
    warnings = list(b.warnings)
    if not s.base_url:
        warnings.append("site.base_url is not set: feeds and sitemap.xml use relative URLs")
    return SiteReport(
        out=out_dir,
        articles=b.count,
        rendered=b.rendered,
        written=files.written,
        kept=files.kept,
        removed=len(removed) + b.search_removed,
        search_runs=b.search_runs,
        seconds=round(time.monotonic() - start, 3),
        warnings=tuple(warnings),
    )


def make_item(
    row: tuple[Any, ...], sig: str, clock: Clock, lang: str, mark: str, href: str = ""
) -> Item:
    """An index row (``Store.SITE_COLUMNS``) as the site's pages use it; ``href`` when
    known already (it depends on the key, the publish time and the time zone only)."""
    key, source, source_name, title, link, published, updated, changed, revision = row[:9]
    pub = datetime.fromisoformat(published)  # stored as ts() writes it: ISO 8601, UTC
    upd: datetime | None = None
    if updated or (changed and revision > 1):
        for cand in (updated, changed if revision > 1 else None):
            when = parse_ts(cand)
            if when is not None and when > pub and (upd is None or when > upd):
                upd = when
    href = href or article_href(key, pub, clock)
    return Item(
        key, source or "unknown", source_name or source or "?", title or link or key, link,
        pub, upd, revision, lang, mark, href,
        href[2:12].replace("/", "-"),  # a/YYYY/MM/DD/…: the local day
        row[10], sig,
    )  # fmt: skip


@dataclass
class SourceState:
    """What one source's pages need while the index streams by."""

    slug: str
    name: str
    size: int
    keep: int
    count: int = 0
    chunk: list[Item] | None = None
    full: list[Item] | None = None  # a full page waiting to learn whether a newer one exists
    pages: int = 0
    newest: deque[Item] | None = None
    last: datetime | None = None

    def __post_init__(self) -> None:
        self.chunk = []
        self.newest = deque(maxlen=self.keep)


def tree_of(trees: tuple[Tree, ...], variant: str) -> Tree:
    return next(t for t in trees if t.variant == variant)
