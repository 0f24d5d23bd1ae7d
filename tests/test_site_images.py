"""The built site serves the mirror's own image copies (``assets/``): placed
incrementally (hard-linked or copied), linked relatively from every page and
tree, by the base URL in feeds; an image whose copy is missing falls back to
its original (lazy, no referrer)."""

from __future__ import annotations

import os
import random
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import feedparser
from lxml import html

from newsmirror.article import derive_keys
from newsmirror.assets import asset_path
from newsmirror.config import Config
from newsmirror.fsutil import MirrorFiles
from newsmirror.mirror import MirrorWriter
from newsmirror.samples import sample_png
from newsmirror.site import build_site
from newsmirror.site_pages import article_href
from newsmirror.site_text import Clock
from newsmirror.store import Store

from .test_site import START, article, make_config, settings


def _with_images(root: Path) -> tuple[Config, dict[str, str], list[str]]:
    """A mirror of 6 articles; articles 0 and 3 show kept images (one shared), article
    3 also one whose file is missing. Returns (config, key -> page href, asset paths)."""
    cfg = make_config(root)
    red, blue = sample_png("#aa0000", 8, 4), sample_png("#0000aa", 8, 4)
    paths = []
    for data in (red, blue):
        _, rel = asset_path(data, "png")
        (cfg.root / rel).parent.mkdir(parents=True, exist_ok=True)
        (cfg.root / rel).write_bytes(data)
        paths.append(rel)
    _, missing = asset_path(b"never written", "png")
    imgs = {
        0: [paths[0]],
        3: [paths[0], paths[1], missing],
    }
    hrefs = {}
    rng = random.Random(1)
    clock = Clock(cfg.mirror.tz)
    with Store(cfg.index_path) as store, store.batch():
        writer = MirrorWriter(cfg, store, MirrorFiles(cfg.root))
        for i in range(6):
            rels = imgs.get(i, [])
            slug = ("tw", "cn", "en")[i % 3]
            art = article(i, slug, when=START + timedelta(minutes=20 * i), rng=rng)
            figs = "".join(
                f'<figure><img src="/{r}" data-orig-src="https://img.example/o/{n}.png" '
                f'alt="圖{n}" width="8" height="4"></figure>'
                for n, r in enumerate(rels)
            )
            art = replace(art, content=art.content + figs)
            writer.keep(art, derive_keys(art))
            hrefs[art.key] = article_href(art.key, art.published, clock)
    return cfg, hrefs, paths


def _imgs(page: Path) -> list[html.HtmlElement]:
    return html.fromstring(page.read_bytes()).cssselect("div.content img")


def test_pages_show_the_mirrors_own_copies(tmp_path: Path) -> None:
    cfg, hrefs, paths = _with_images(tmp_path / "m")
    out = tmp_path / "site"
    build_site(cfg, out, settings=settings(variants=("zh-Hans",), images="link"))
    for rel in paths:
        assert (out / rel).read_bytes() == (cfg.root / rel).read_bytes()
        assert os.stat(out / rel).st_ino == os.stat(cfg.root / rel).st_ino  # hard-linked
    seen = set()
    for href in hrefs.values():
        for prefix in ("", "zh-hans/"):
            page = out / prefix / href
            for img in _imgs(page):
                src = img.get("src")
                if "img.example" in src:  # the copy is missing: the original, safely
                    assert img.get("referrerpolicy") == "no-referrer"
                    assert src == "https://img.example/o/2.png"
                    continue
                assert not src.startswith(("/", "http")), src  # relative: any base path
                target = (page.parent / src).resolve()
                assert target.is_relative_to(out.resolve()) and target.is_file()
                assert img.get("loading") == "lazy" and img.get("width") == "8"
                seen.add(target.relative_to(out.resolve()).as_posix())
    assert seen == set(paths)
    key3 = next(k for k in hrefs if k.endswith("/3.html"))  # "link": the missing one is a link
    links = html.fromstring((out / hrefs[key3]).read_bytes()).cssselect("a.img-link")
    assert [a.get("href") for a in links] == ["https://img.example/o/2.png"]
    feed = feedparser.parse((out / "atom.xml").read_bytes())
    bodies = " ".join(e.content[0].value for e in feed.entries)
    assert f"https://mirror.example/news/{paths[1]}" in bodies


def test_images_are_placed_incrementally_and_removed_when_unused(tmp_path: Path) -> None:
    cfg, hrefs, paths = _with_images(tmp_path / "m")
    out = tmp_path / "site"
    s = settings()
    build_site(cfg, out, settings=s)
    key3 = next(k for k in hrefs if k.endswith("/3.html"))
    orig = [i for i in _imgs(out / hrefs[key3]) if "img.example" in i.get("src")]
    assert [i.get("src") for i in orig] == ["https://img.example/o/2.png"]
    assert orig[0].get("referrerpolicy") == "no-referrer" and orig[0].get("loading") == "lazy"
    before = {p: os.stat(out / p).st_mtime_ns for p in paths}
    rep = build_site(cfg, out, settings=s)
    assert rep.written == 0 and rep.rendered == 0
    assert {p: os.stat(out / p).st_mtime_ns for p in paths} == before
    (out / paths[1]).unlink()  # deleted by hand: placed again
    build_site(cfg, out, settings=s)
    assert (out / paths[1]).is_file()
    # article 3 no longer shows the blue image: its copy leaves the site
    with Store(cfg.index_path) as store:
        rec = next(a for a in store.iter_articles() if a.key == key3)
    post = cfg.root / rec.path
    post.write_text(post.read_text(encoding="utf-8").replace(f"/{paths[1]}", "/x.png"),
                    encoding="utf-8")  # fmt: skip
    build_site(cfg, out, settings=s)
    assert not (out / paths[1]).exists() and (out / paths[0]).is_file()
    assert (cfg.root / paths[1]).is_file()  # the mirror's own file is never touched
