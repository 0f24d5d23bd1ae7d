"""The built site in a real browser: Debian's headless Chromium (driven by
Playwright, started with the flags that keep it off the network) loads every
page type of a site built from the real-world corpus and records every
request and console message.

Skips cleanly when chromium, playwright or the corpus is absent.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from lxml import html

from newsmirror.article import derive_keys
from newsmirror.cli_site import make_server
from newsmirror.config import load_config
from newsmirror.fsutil import MirrorFiles
from newsmirror.mirror import MirrorWriter
from newsmirror.models import OutcomeKind
from newsmirror.postfile_record import parse_post
from newsmirror.reindex import reindex
from newsmirror.site import SiteSettings, build_site
from newsmirror.site_pages import article_href
from newsmirror.site_text import Clock
from newsmirror.store import Store

from .conftest import corpus_path

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed"),
    pytest.mark.skipif(not corpus_path().is_dir(), reason="corpus not found"),
]
VARIANTS = ("zh-Hans",)


def _corpus_mirror(root: Path) -> Path:
    (root / "_posts").mkdir(parents=True)
    for p in sorted((corpus_path() / "posts").iterdir()):
        shutil.copy(p, root / "_posts" / p.name)
    (root / "newsmirror.toml").write_text(
        '[[sources]]\nname = "x"\nslug = "x"\nurl = "https://x.example/f.xml"\n', encoding="utf-8"
    )
    cfg = load_config(root / "newsmirror.toml")
    reindex(cfg)
    # One article edited twice (a history page), one deleted at the source.
    with Store(cfg.index_path) as store:
        first, second = sorted(store.iter_articles(), key=lambda a: a.key)[:2]
        post = root / first.path
        art = parse_post(post.read_text(encoding="utf-8"), path=first.path).to_article()
        writer = MirrorWriter(cfg, store, MirrorFiles(root))
        for n, extra in enumerate(("<p>更正：補充一段說明。</p>", "<p>再次更正。</p>")):
            art = replace(art, content=art.content + extra, text=art.text + extra,
                          content_hash=f"sha256:{n:064x}", fetched=art.fetched + timedelta(hours=n + 1))  # fmt: skip
            with store.batch():
                writer.keep(art, derive_keys(art))
    gone = root / second.path
    gone.write_text(gone.read_text(encoding="utf-8").replace(
        "\n---\n", "\ndeleted: 2026-01-02T03:04:05.000Z\n---\n", 1), encoding="utf-8")  # fmt: skip
    return root / "newsmirror.toml"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str], Path]]:
    """The corpus mirror built twice, each served at the root of its own port on
    127.0.0.1: ``strict`` with images as links (no request may leave the site),
    ``orig`` with images from their originals."""
    root = tmp_path_factory.mktemp("corpus")
    cfg = load_config(_corpus_mirror(root))
    common = {"title": "語料鏡像", "variants": VARIANTS, "search_shard_size": 1000}
    build_site(cfg, root / "strict", settings=SiteSettings(images="link", **common))
    build_site(cfg, root / "orig", settings=SiteSettings(images="original", search=False, **common))
    servers = {name: make_server(root / name, 0) for name in ("strict", "orig")}
    for srv in servers.values():
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield (
            root,
            {n: f"http://127.0.0.1:{s.server_address[1]}/" for n, s in servers.items()},
            cfg.index_path,
        )
    finally:
        for srv in servers.values():
            srv.shutdown()
            srv.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


class Visit:
    """One page load with every request and console message recorded; requests
    to any other host are recorded and aborted, never sent."""

    def __init__(self, browser: object, origin: str) -> None:
        self.page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
        self.origin = origin
        self.main_url, self.expect_404 = "", False
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.console: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.console.append(str(e)))
        self.page.route("**/*", self._route)

    def _console(self, msg: object) -> None:
        if msg.type != "error":
            return
        if msg.location.get("url") == self.main_url and "404" in msg.text and self.expect_404:
            return  # the 404 page's own status, reported by the browser
        self.console.append(f"{msg.text} @ {msg.location.get('url')}")

    def goto(self, url: str, *, expect_404: bool = False) -> object:
        self.main_url, self.expect_404 = url, expect_404
        return self.page.goto(url, wait_until="networkidle")

    def _route(self, route: object) -> None:
        req = route.request
        self.requests.append((req.url, req.resource_type, req.headers))
        if req.url.startswith(self.origin):
            route.continue_()
        else:
            route.abort()

    def foreign(self) -> list[tuple[str, str, dict[str, str]]]:
        return [r for r in self.requests if not r[0].startswith(self.origin)]

    def close(self) -> None:
        self.page.close()


def _pages(out: Path) -> dict[str, str]:
    """One page of every type (paths under the output folder)."""
    arts = sorted((out / "a").rglob("*.html"))
    with_img = next(p for p in arts if "img-link" in p.read_text(encoding="utf-8"))
    source = sorted((out / "s").iterdir())[0].name
    day = sorted((out / "d").glob("20*.html"))[-1].name
    rel = lambda p: p.relative_to(out).as_posix()  # noqa: E731
    return {
        "home": "index.html", "source": f"s/{source}/index.html", "source page": f"s/{source}/p1.html",
        "archive": "d/index.html", "day": f"d/{day}", "article": rel(arts[0]),
        "article with images": rel(with_img), "search": "search.html", "404": "no/such/page.html",
        "variant home": "zh-hans/index.html", "variant article": "zh-hans/" + rel(arts[1]),
        "atom": "atom.xml", "sitemap": "sitemap.xml",
        "history": rel(next((out / "h").rglob("*.html"))), "deletions": "deleted.html",
        "variant history": "zh-hans/" + rel(next((out / "h").rglob("*.html"))),
        "variant deletions": "zh-hans/deleted.html",
    }  # fmt: skip


def test_every_page_type_loads_only_the_sites_own_files(site, browser) -> None:
    root, bases, _ = site
    base = bases["strict"]
    for kind, rel in _pages(root / "strict").items():
        v = Visit(browser, base)
        resp = v.goto(base + rel, expect_404=kind == "404")
        assert resp is not None and resp.status == (404 if kind == "404" else 200), kind
        if rel.endswith(".html"):
            assert v.page.locator("h1").count() >= 1, kind
            assert v.page.evaluate("document.documentElement.lang"), kind
        assert v.foreign() == [], kind
        assert v.console == [], (kind, v.console)
        if kind.endswith("history"):
            assert v.page.locator("ol.versions > li").count() == 3, kind
            assert v.page.locator(".diff ins").count() >= 2, kind
        if kind.endswith("deletions"):
            assert v.page.locator("ol.items li").count() == 1, kind
        own = {urlsplit(u).path for u, _, _ in v.requests}
        if kind not in ("atom", "sitemap", "404"):
            assert any(p.endswith("/assets/site.css") for p in own), kind
        v.close()


def test_images_come_from_their_originals_lazily_without_referrer(site, browser) -> None:
    root, bases, _ = site
    base = bases["orig"]
    out = root / "orig"
    arts = sorted((out / "a").rglob("*.html"))
    rel = next(p for p in arts if "<img" in p.read_text(encoding="utf-8")).relative_to(out)
    doc = html.fromstring((out / rel).read_bytes())
    srcs = {i.get("src") for i in doc.cssselect("div.content img")}
    assert all(i.get("loading") == "lazy" for i in doc.cssselect("div.content img"))
    v = Visit(browser, base)
    v.goto(base + rel.as_posix())
    v.page.mouse.wheel(0, 20000)
    v.page.wait_for_timeout(300)
    foreign = v.foreign()
    assert foreign, "the first image is in view: the browser asks for it"
    for url, kind, headers in foreign:
        assert kind == "image" and url in srcs, url
        assert "referer" not in {k.lower() for k in headers}, url
    v.close()


def test_a_chinese_word_finds_its_article(site, browser) -> None:
    root, bases, _ = site
    base = bases["strict"]
    out = root / "strict"
    page = next(p for p in sorted((out / "a").rglob("*.html"))
                if "波音" in html.fromstring(p.read_bytes()).cssselect("h1")[0].text_content())  # fmt: skip
    title = html.fromstring(page.read_bytes()).cssselect("h1")[0].text_content()
    for prefix in ("", "zh-hans/"):
        v = Visit(browser, base)
        v.goto(base + prefix + "search.html?q=波音")
        v.page.wait_for_selector("#search-results li")
        links = v.page.eval_on_selector_all(
            "#search-results li > a", "els => els.map(e => [e.textContent, e.pathname])"
        )
        want = "/" + prefix + page.relative_to(out).as_posix()
        assert [title, want] in [list(x) for x in links], links
        assert v.foreign() == [] and v.console == []
        v.close()


def test_search_pages_through_many_results_in_the_browser(site, browser) -> None:
    """A one-character query that most articles hold: the count, the first 30,
    then 30 more; the same results as a search over the built files (search.js
    and search_index read the index alike)."""
    from .test_search import search_site

    root, bases, _ = site
    out = root / "strict"
    want = search_site(out, "的")
    assert len(want) > 60
    v = Visit(browser, bases["strict"])
    v.goto(bases["strict"] + "search.html?q=的")
    v.page.wait_for_selector("#search-results li")
    assert v.page.text_content("#search-status") == f"找到 {len(want)} 篇"
    hrefs = "els => els.map(e => e.getAttribute('href'))"
    first = v.page.eval_on_selector_all("#search-results li > a", hrefs)
    assert [h.split("/", 3)[3] for h in first] == want[:30]
    v.page.click("#search-more")
    v.page.wait_for_function("document.querySelectorAll('#search-results li').length > 30")
    more = v.page.eval_on_selector_all("#search-results li > a", hrefs)
    assert [h.split("/", 3)[3] for h in more] == want[:60]
    assert v.page.eval_on_selector_all("#search-results mark", "els => els.length") > 0
    assert v.foreign() == [] and v.console == []
    v.close()


def test_every_article_is_in_each_tree_exactly_once(site) -> None:
    root, _, index = site
    out = root / "strict"
    cfg_tz = load_config(root / "newsmirror.toml").mirror.tz
    clock = Clock(cfg_tz)
    with Store(index) as store:
        expected = sorted(article_href(a.key, a.published, clock) for a in store.iter_articles())
    assert len(expected) == len(set(expected)) > 300
    for prefix in ("",) + tuple(v.lower() + "/" for v in VARIANTS):
        found = sorted(
            p.relative_to(out / prefix).as_posix() for p in (out / prefix / "a").rglob("*.html")
        )
        assert found == expected, prefix


# ------------------------------------------- a mirror's images, originals gone


@pytest.fixture(scope="module")
def image_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, str]]:
    """A mirror run against the sample feeds (PNG pictures) on a loopback "origin",
    which is then stopped; the site is built with images from their originals where
    the mirror has no copy, and served on a port of its own. Yields (output folder,
    site URL, the stopped origin's URL)."""
    from newsmirror.loopback import LoopbackServer
    from newsmirror.pipeline import run
    from newsmirror.samples import sample_site, sample_sources

    from .helpers import make_mirror

    root = tmp_path_factory.mktemp("images")
    with LoopbackServer() as origin:
        for f in sample_site(origin.base_url):
            origin.add(f.path, f.body, content_type=f.content_type)
        triples = [(s["name"], s["slug"], s["url"]) for s in sample_sources(origin.base_url)]
        cfg = make_mirror(root / "m", triples, defaults="")
        with ThreadPoolExecutor(1) as pool:  # off Playwright's event loop
            report = pool.submit(run, cfg).result()
        gone = origin.base_url
    assert sum(s.count(OutcomeKind.NEW) for s in report.sources) > 20
    assert list((cfg.root / "assets").rglob("*.png")), "the run kept the pictures"
    out = root / "site"
    build_site(cfg, out, settings=SiteSettings(title="圖片鏡像", variants=VARIANTS, search=False))
    srv = make_server(out, 0)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield out, f"http://127.0.0.1:{srv.server_address[1]}/", gone
    finally:
        srv.shutdown()
        srv.server_close()


_LOAD_ALL = """async () => {
  const out = [];
  for (const img of document.querySelectorAll("div.content img")) {
    img.scrollIntoView();
    if (!img.complete) {
      await new Promise(r => { img.onload = img.onerror = r; setTimeout(r, 5000); });
    }
    out.push([img.currentSrc, img.naturalWidth]);
  }
  return out;
}"""


def test_a_mirrors_images_load_from_its_own_folder(image_site, browser) -> None:
    out, base, gone = image_site
    root_pages = sorted((out / "a").rglob("*.html"))
    pages = root_pages + sorted((out / "zh-hans" / "a").rglob("*.html"))[:5]
    with_imgs = [p for p in pages if "<img" in p.read_text(encoding="utf-8")]
    assert len(with_imgs) >= len(root_pages) // 2 > 10
    v = Visit(browser, base)  # one tab for every page: each load waits for its images
    loaded = 0
    for page in with_imgs:
        resp = v.page.goto(base + page.relative_to(out).as_posix(), wait_until="load")
        assert resp is not None and resp.status == 200
        got = v.page.evaluate(_LOAD_ALL)
        assert got, page
        for src, width in got:
            assert src.startswith(base + "assets/") and width > 0, (page, src, width)
        loaded += len(got)
    assert loaded >= len(with_imgs)
    assert v.foreign() == [] and v.console == [], (v.foreign(), v.console)
    assert not any(u.startswith(gone) for u, _, _ in v.requests)
    images = [u for u, kind, _ in v.requests if kind == "image"]
    assert images and all(u.startswith(base + "assets/") for u in images)
    v.close()
