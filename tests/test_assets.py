"""Images kept in the mirror: finding, unwrapping proxies, sniffing, downloading
into assets/ against a loopback server (dedup, caps, failures, retries), and the
acceptance check: a post's images load from the mirror's own folder in headless
Chromium with every other host unreachable (also built by real Jekyll under a
GitHub-Pages-style sub-path)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import sqlite3
import struct
import subprocess
import zlib
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pytest

from newsmirror.article import content_hash, derive_keys
from newsmirror.assets import (
    JEKYLL_CONTENT,
    ImageRefused,
    ImageRun,
    ImageSettings,
    find_image_urls,
    image_fetch_settings,
    index_post_images,
    local_asset,
    local_images,
    localize_images,
    retry_images,
    rewrite_images,
    sniff_image,
    unwrap_proxy,
)
from newsmirror.clean_text import html_to_text
from newsmirror.config import Config
from newsmirror.fetch import Fetcher, FetchSettings
from newsmirror.fsutil import MirrorFiles
from newsmirror.loopback import LoopbackServer
from newsmirror.mirror import MirrorWriter
from newsmirror.models import Article
from newsmirror.postfile import render_post
from newsmirror.postfile_record import parse_post
from newsmirror.store import Store

from .conftest import corpus_path
from .helpers import make_mirror

NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
T = TypeVar("T")
FAST = FetchSettings(retries=0, connect_timeout=3, read_timeout=5, total_timeout=10)


# ------------------------------------------------------------- image bytes


def png(rgb: tuple[int, int, int], w: int = 3, h: int = 2) -> bytes:
    """A real (decodable) RGB PNG of one colour."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\x00" + bytes(rgb) * w for _ in range(h))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def gif(rgb: tuple[int, int, int]) -> bytes:
    """A real 1×1 GIF: two-colour table, LZW codes clear(4), 0, end(5) in 3 bits."""
    return (b"GIF89a" + struct.pack("<HH", 1, 1) + b"\x80\x00\x00" + bytes(rgb) + b"\xff\xff\xff"
            + b"," + struct.pack("<HHHH", 0, 0, 1, 1) + b"\x00" + b"\x02\x02\x44\x01\x00" + b";")  # fmt: skip


JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
WEBP_HEAD = b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"
AVIF_HEAD = (
    struct.pack(">I", 28) + b"ftypavif" + b"\x00\x00\x00\x00" + b"avifmif1miaf" + b"\x00" * 8
)
HEIC_HEAD = struct.pack(">I", 24) + b"ftypheic" + b"\x00\x00\x00\x00" + b"mif1heic" + b"\x00" * 8
SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
PAGE = "<!DOCTYPE html><html><body><p>這不是圖片</p></body></html>".encode()


# ------------------------------------------------------------------ pure parts


def test_find_and_rewrite_touch_only_image_sources() -> None:
    content = (
        '<p>市府記者會<img alt="圖一" src="https://a.example/x.jpg?a=1&amp;b=2"></p>'
        '<p><img src=\'https://b.example/y.png\' width="3"><img src="data:image/gif;base64,R0lG">'
        '<IMG SRC=https://c.example/z.gif><img data-src="https://d.example/lazy.png"></p>'
        '<img src="https://a.example/x.jpg?a=1&amp;b=2">'
    )
    urls = find_image_urls(content)
    assert urls == ["https://a.example/x.jpg?a=1&b=2", "https://b.example/y.png",
                    "https://c.example/z.gif"]  # fmt: skip
    local = "/assets/ab/" + "ab" + "0" * 62 + ".jpg"
    out = rewrite_images(content, {urls[0]: local, urls[2]: local.replace(".jpg", ".gif")})
    assert out.count(f'src="{local}" data-orig-src="https://a.example/x.jpg?a=1&amp;b=2"') == 2
    assert "src='https://b.example/y.png'" in out  # not in the mapping: byte for byte
    assert 'data-src="https://d.example/lazy.png"' in out
    assert "<p>市府記者會" in out and 'alt="圖一"' in out
    assert find_image_urls(out) == ["https://b.example/y.png"]
    assert local_images(out)[0] == (local[1:], urls[0])
    assert local_asset(local) == local[1:] and local_asset("/assets/x.png") is None
    assert html_to_text(out) == html_to_text(content)  # the text (so the hash) is unchanged
    assert rewrite_images(out, {urls[0]: local}) == out  # already local: nothing to do


@pytest.mark.parametrize(
    ("wrapped", "original"),
    [
        ("https://images.weserv.nl/?url=ichef.bbci.co.uk/news/640/cpsprodpb/a.jpg",
         "https://ichef.bbci.co.uk/news/640/cpsprodpb/a.jpg"),
        ("https://images.weserv.nl/?url=ssl:static.dw.com/image/1_303.jpg&w=300&h=200",
         "https://static.dw.com/image/1_303.jpg"),
        ("https://wsrv.nl/?url=http%3A%2F%2Fimg.example%2Fp.png%3Fv%3D2", "http://img.example/p.png?v=2"),
        ("https://i0.wp.com/img.example/wp/photo.jpg?resize=570%2C380", "https://img.example/wp/photo.jpg"),
        ("https://external-content.duckduckgo.com/iu/?u=https%3A%2F%2Fimg.example%2Fq.jpg&f=1",
         "https://img.example/q.jpg"),
        ("https://images1-focus-opensocial.googleusercontent.com/gadgets/proxy?container=focus"
         "&url=https%3A%2F%2Fimg.example%2Fg.png", "https://img.example/g.png"),
        ("https://camo.githubusercontent.com/0123abcd/" + b"https://img.example/c.gif".hex(),
         "https://img.example/c.gif"),
        ("https://news.example/cdn-cgi/image/width=80,quality=75/uploads/x.jpg",
         "https://news.example/uploads/x.jpg"),
        # nested: a proxy of a proxy
        ("https://images.weserv.nl/?url=" + "i1.wp.com/img.example/n.jpg", "https://img.example/n.jpg"),
        # not proxies, or inner URLs that are not http(s): unchanged
        ("https://img.example/a.jpg?url=https://other.example/b.jpg", None),
        ("https://images.weserv.nl/?url=javascript:alert(1)", None),
        ("https://images.weserv.nl/?w=300", None),
    ],
)  # fmt: skip
def test_unwrap_proxy(wrapped: str, original: str | None) -> None:
    assert unwrap_proxy(wrapped) == (original or wrapped)


def test_corpus_proxied_images_unwrap_to_their_originals() -> None:
    posts = corpus_path() / "posts"
    if not posts.is_dir():
        pytest.skip("corpus not found")
    found = []
    for p in sorted(posts.iterdir()):
        content = parse_post(p.read_text(encoding="utf-8"), path=p.name).content
        found += [u for u in find_image_urls(content) if "weserv.nl" in u]
    assert len(found) > 300
    hosts = set()
    for u in found:
        orig = urlsplit(unwrap_proxy(u))
        assert (
            orig.scheme == "https" and "weserv" not in orig.netloc and orig.path.count("/") >= 2
        ), u
        hosts.add(orig.hostname)
    assert {"ichef.bbci.co.uk", "static.dw.com"} <= hosts


@pytest.mark.parametrize(
    ("data", "ext"),
    [(png((1, 2, 3)), "png"), (gif((9, 9, 9)), "gif"), (JPEG_HEAD, "jpg"), (WEBP_HEAD, "webp"),
     (AVIF_HEAD, "avif")],
)  # fmt: skip
def test_sniff_accepts_images_by_their_bytes(data: bytes, ext: str) -> None:
    assert sniff_image(data) == ext


@pytest.mark.parametrize(
    ("data", "reason"),
    [(SVG, "svg"), (b"\xef\xbb\xbf  <svg viewBox='0 0 1 1'/>", "svg"), (PAGE, "not_an_image"),
     (HEIC_HEAD, "not_an_image"), (b"", "not_an_image"), (b"GIF8", "not_an_image")],
)  # fmt: skip
def test_sniff_refuses_everything_else(data: bytes, reason: str) -> None:
    with pytest.raises(ImageRefused) as e:
        sniff_image(data)
    assert e.value.reason == reason


def test_image_tables_appear_in_an_index_made_before_them(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite"
    Store(path).close()
    with sqlite3.connect(path) as db:  # an index file from before images existed
        assert not db.execute("SELECT name FROM sqlite_master WHERE name = 'images'").fetchall()
    with Store(path) as store:
        assert store.image("https://img.example/a.png") is None
        store.image_failed("https://img.example/a.png", "https://img.example/a.png", "x", "http_404", NOW, count=True)  # fmt: skip
    with Store(path) as store:
        row = store.image("https://img.example/a.png")
        assert row is not None and row.status == "failed" and row.tries == 1


# --------------------------------------------------------------- downloads

RED, GREEN, BLUE = png((220, 20, 20)), png((20, 160, 20)), png((20, 20, 220))


def serve_images(server: LoopbackServer) -> dict[str, str]:
    """Image routes on the loopback server; name -> URL as an article would show it."""
    server.add("/img/red.png", RED, content_type="image/png")
    server.add("/img/red-again.png", RED, content_type="image/png")  # same bytes, other URL
    server.add("/img/green.gif", gif((0, 128, 0)), content_type="image/gif")
    server.add("/img/photo", JPEG_HEAD, content_type="application/octet-stream")  # no extension
    server.add("/img/fake.jpg", PAGE, content_type="image/jpeg")  # HTML named .jpg
    server.add("/img/vector.svg", SVG, content_type="image/svg+xml")
    server.add("/img/huge.png", RED + b"\x00" * 5000, content_type="image/png")
    server.add("/img/gone.png", b"", status=404)
    server.add("/img/blue.png", BLUE, content_type="image/png")
    inner = server.url("/img/blue.png")
    return {
        "red": server.url("/img/red.png"),
        "red2": server.url("/img/red-again.png"),
        "green": server.url("/img/green.gif"),
        "jpeg": server.url("/img/photo"),
        "fake": server.url("/img/fake.jpg"),
        "svg": server.url("/img/vector.svg"),
        "huge": server.url("/img/huge.png"),
        "gone": server.url("/img/gone.png"),
        "proxied": "https://images.weserv.nl/?url=" + inner.replace(":", "%3A") + "&w=640",
    }


def make_article(server: LoopbackServer, urls: list[str], n: int = 1) -> Article:
    title = f"颱風過境第{n}報"
    body = "".join(
        f'<p>段落{i}：風雨持續。</p><img alt="圖{i}" src="{u}">' for i, u in enumerate(urls)
    )
    text = html_to_text(body)
    link = server.url(f"/news/{n}.html")
    return Article(key=link, guid="", source="t", source_name="測試源", title=title, link=link,
                   published=NOW, fetched=NOW, content=body, text=text,
                   content_hash=content_hash(title, text))  # fmt: skip


@pytest.fixture
def mirror(tmp_path: Path, server: LoopbackServer) -> Config:
    return make_mirror(tmp_path / "m", [("測試源", "t", server.url("/f.xml"))])


def in_thread(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on a fresh loop in a worker thread (Playwright's sync API holds
    this thread's loop in the browser tests)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def localize(cfg: Config, art: Article, run: ImageRun, settings: FetchSettings = FAST) -> Article:
    async def go() -> Article:
        async with Fetcher(settings) as f:
            with Store(cfg.index_path) as store:
                return await localize_images(
                    art, fetcher=f, files=MirrorFiles(cfg.root), store=store, caps=run,
                    via=art.link, now=NOW,
                )  # fmt: skip

    return in_thread(go())


def retry(cfg: Config, run: ImageRun) -> tuple[int, int, int]:
    async def go() -> tuple[int, int, int]:
        async with Fetcher(FAST) as f:
            with Store(cfg.index_path) as store:
                rep = await retry_images(
                    store=store, fetcher=f, files=MirrorFiles(cfg.root), caps=run, now=NOW,
                    via=lambda url: url,
                )  # fmt: skip
                return rep.fetched, rep.failed, rep.patched

    return in_thread(go())


def keep(cfg: Config, art: Article) -> Path:
    with Store(cfg.index_path) as store, store.batch():
        out = MirrorWriter(cfg, store, MirrorFiles(cfg.root)).keep(art, derive_keys(art))
    return cfg.root / out.path


def assets(cfg: Config) -> dict[str, bytes]:
    return {p.relative_to(cfg.root).as_posix(): p.read_bytes()
            for p in (cfg.root / "assets").rglob("*") if p.is_file()}  # fmt: skip


def test_localize_keeps_accepted_images_once_and_leaves_the_rest(
    server: LoopbackServer, mirror: Config
) -> None:
    u = serve_images(server)
    art = make_article(server, list(u.values()))
    settings = ImageSettings(max_bytes=4096)
    out = localize(mirror, art, ImageRun(settings))

    files = assets(mirror)
    assert sorted(files.values()) == sorted([RED, gif((0, 128, 0)), JPEG_HEAD, BLUE])  # red once
    for rel, data in files.items():
        digest = re.fullmatch(r"assets/([0-9a-f]{2})/(\1[0-9a-f]{62})\.(png|gif|jpg)", rel)
        assert digest and hashlib.sha256(data).hexdigest() == digest.group(2)
    srcs = dict(
        zip(
            find_image_urls(art.content),
            re.findall(r'(?<!-)src="([^"]*)"', out.content),
            strict=True,
        )
    )
    assert srcs[u["red"]] == srcs[u["red2"]] and srcs[u["red"]].startswith("/assets/")
    assert srcs[u["jpeg"]].endswith(".jpg") and srcs[u["green"]].endswith(".gif")
    assert srcs[u["proxied"]].endswith(".png") and files[srcs[u["proxied"]][1:]] == BLUE
    for name in ("fake", "svg", "huge", "gone"):  # failures keep their original URL
        assert srcs[u[name]] == u[name]
    assert f'data-orig-src="{u["red2"]}"' in out.content
    # Only src changed: same title, text and hash, so keeping it is never an "edit".
    assert (out.title, out.text, out.content_hash) == (art.title, art.text, art.content_hash)
    assert content_hash(out.title, html_to_text(out.content)) == art.content_hash

    with Store(mirror.index_path) as store:
        rows = {name: store.image(url) for name, url in u.items()}
    reasons = {n: r.last_reason for n, r in rows.items() if r and r.status == "failed"}
    assert reasons == {
        "fake": "not_an_image",
        "svg": "svg",
        "huge": "too_large",
        "gone": "http_404",
    }
    assert all(rows[n].tries == 1 for n in reasons)
    assert (
        rows["proxied"].fetch_url == server.url("/img/blue.png")
        and rows["proxied"].ctype == "image/png"
    )
    assert server.hits["/img/blue.png"] == 1 and server.hits["/img/red.png"] == 1

    # A second article with the same images: nothing is downloaded again.
    server.reset()
    again = localize(mirror, make_article(server, [u["red"], u["green"]], n=2), ImageRun(settings))
    assert sum(server.hits.values()) == 0 and again.content.count("/assets/") == 2


def test_run_cap_defers_images_without_counting_a_try(
    server: LoopbackServer, mirror: Config
) -> None:
    u = serve_images(server)
    run = ImageRun(ImageSettings(run_max_bytes=len(RED) + 10))  # room for one of the two
    out = localize(mirror, make_article(server, [u["red"], u["proxied"]]), run)
    assert out.content.count('src="/assets/') == 1 and run.used == len(RED) == len(BLUE)
    with Store(mirror.index_path) as store:
        rows = [store.image(u["red"]), store.image(u["proxied"])]
    (deferred,) = [r for r in rows if r is not None and r.status == "failed"]
    assert deferred.last_reason == "run_cap" and deferred.tries == 0
    assert len(assets(mirror)) == 1 and deferred.url in out.content


def test_capped_fetch_settings_and_a_missing_copy_is_fetched_again(
    server: LoopbackServer, mirror: Config
) -> None:
    u = serve_images(server)
    settings = ImageSettings(max_bytes=1000)
    capped = image_fetch_settings(FAST, settings)
    assert capped.max_bytes == 1000 and capped.retries == FAST.retries
    out = localize(mirror, make_article(server, [u["huge"], u["red"]]), ImageRun(settings), capped)
    with Store(mirror.index_path) as store:
        assert store.image(u["huge"]).last_reason == "too_large"  # type: ignore[union-attr]
    (rel,) = assets(mirror)
    (mirror.root / rel).unlink()  # someone removed the copy: the next article brings it back
    again = localize(mirror, make_article(server, [u["red"]], n=2), ImageRun(settings), capped)
    assert (mirror.root / rel).read_bytes() == RED and server.hits["/img/red.png"] == 2
    assert f'src="/{rel}"' in out.content and f'src="/{rel}"' in again.content


def test_failed_image_is_retried_later_and_its_post_patched(
    server: LoopbackServer, mirror: Config
) -> None:
    u = serve_images(server)
    art = localize(mirror, make_article(server, [u["red"], u["gone"]]), ImageRun())
    post = keep(mirror, art)
    assert u["gone"] in post.read_text(encoding="utf-8")

    assert retry(mirror, ImageRun()) == (0, 1, 0)  # still missing: nothing to patch
    server.add("/img/gone.png", GREEN, content_type="image/png")  # the image is back
    before = parse_post(post.read_text(encoding="utf-8"))
    assert retry(mirror, ImageRun()) == (1, 0, 1)
    after = parse_post(post.read_text(encoding="utf-8"))
    assert [s for s, _ in local_images(after.content)] and u["gone"] not in find_image_urls(
        after.content
    )
    assert (after.content_hash, after.revision, after.title) == (
        before.content_hash,
        1,
        before.title,
    )
    expected = replace_content(before, after.content)
    assert post.read_text(encoding="utf-8") == expected  # nothing else in the post moved
    assert not (mirror.root / "_revisions").exists()  # a downloaded image is not an edit

    server.reset()
    assert retry(mirror, ImageRun()) == (0, 0, 0) and sum(server.hits.values()) == 0

    # The index is lost: the posts alone give the kept images back.
    mirror.index_path.unlink()
    from newsmirror.reindex import reindex

    reindex(mirror)
    with Store(mirror.index_path) as store:
        rec = parse_post(
            post.read_text(encoding="utf-8"), path=post.relative_to(mirror.root).as_posix()
        )
        assert index_post_images(store, MirrorFiles(mirror.root), rec.key, rec.content, NOW) == 2
        row = store.image(u["gone"])
        assert row is not None and row.status == "ok" and row.size == len(GREEN)
        assert row.ctype == "image/png" and (mirror.root / row.path).read_bytes() == GREEN
        assert store.unapplied_image_posts() == []


def replace_content(rec: object, content: str) -> str:
    from dataclasses import replace

    return render_post(replace(rec.to_article(), content=content))  # type: ignore[attr-defined]


def test_an_image_that_keeps_failing_is_given_up_after_max_tries(
    server: LoopbackServer, mirror: Config
) -> None:
    u = serve_images(server)
    settings = ImageSettings(max_tries=2)
    keep(mirror, localize(mirror, make_article(server, [u["gone"]]), ImageRun(settings)))
    assert retry(mirror, ImageRun(settings)) == (0, 1, 0)
    assert retry(mirror, ImageRun(settings)) == (0, 0, 0)  # two failures: no more tries
    localize(mirror, make_article(server, [u["gone"]], n=2), ImageRun(settings))
    assert server.hits["/img/gone.png"] == 2


# ---------------------------------------------------- acceptance: a real browser

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


def encoded_by_chromium(browser: object, mime: str) -> bytes:
    page = browser.new_page()  # type: ignore[attr-defined]
    try:
        url = page.evaluate(
            """mime => { const c = document.createElement('canvas'); c.width = 4; c.height = 3;
            const g = c.getContext('2d'); g.fillStyle = '#c83'; g.fillRect(0, 0, 4, 3);
            return c.toDataURL(mime); }""",
            mime,
        )
    finally:
        page.close()
    assert url.startswith(f"data:{mime};base64,"), url[:40]
    return base64.b64decode(url.partition(",")[2])


def load_images(browser: object, url: str, origin: str) -> tuple[list[int], list[str]]:
    """Open ``url``; every request to another origin is aborted and listed."""
    page = browser.new_page()  # type: ignore[attr-defined]
    outside: list[str] = []

    def route(r: object) -> None:
        req_url = r.request.url  # type: ignore[attr-defined]
        if req_url.startswith(origin):
            r.continue_()  # type: ignore[attr-defined]
        else:
            outside.append(req_url)
            r.abort()  # type: ignore[attr-defined]

    try:
        page.route("**/*", route)
        page.goto(url, wait_until="networkidle")
        widths = page.eval_on_selector_all(
            "img", "imgs => imgs.map(i => i.complete ? i.naturalWidth : -1)"
        )
    finally:
        page.close()
    return widths, outside


def localized_post(server: LoopbackServer, cfg: Config, browser: object) -> tuple[Article, Path]:
    jpeg, webp = (
        encoded_by_chromium(browser, "image/jpeg"),
        encoded_by_chromium(browser, "image/webp"),
    )
    assert sniff_image(jpeg) == "jpg" and sniff_image(webp) == "webp"
    server.add("/img/c.jpg", jpeg, content_type="image/jpeg")
    server.add("/img/c.webp", webp, content_type="image/webp")
    u = serve_images(server)
    urls = [
        u["red"],
        u["green"],
        u["proxied"],
        u["red2"],
        server.url("/img/c.jpg"),
        server.url("/img/c.webp"),
    ]
    art = localize(cfg, make_article(server, urls), ImageRun())
    assert art.content.count('src="/assets/') == len(urls)
    return art, keep(cfg, art)


def test_images_load_from_the_mirror_folder_with_originals_unreachable(
    tmp_path: Path, browser: object
) -> None:
    with LoopbackServer() as origin:  # the publishers' hosts: gone once the post is written
        cfg = make_mirror(tmp_path / "m", [("測試源", "t", origin.url("/f.xml"))])
        art, post = localized_post(origin, cfg, browser)
    page = "<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>{}</body></html>"
    rel = "2026/11/28/" + post.stem + ".html"  # where Jekyll's permalink puts the post
    (cfg.root / rel).parent.mkdir(parents=True)
    (cfg.root / rel).write_text(page.format(parse_post(post.read_text("utf-8")).content), "utf-8")
    with LoopbackServer() as site:
        site.serve_dir("/", cfg.root, validators=False)
        widths, outside = load_images(browser, site.url("/" + rel), site.base_url + "/")
    assert len(widths) == 6 and all(w > 0 for w in widths), widths
    assert outside == []


@pytest.mark.jekyll
def test_jekyll_project_site_under_a_sub_path_shows_the_local_images(
    tmp_path: Path, browser: object
) -> None:
    from newsmirror.scaffold import init_mirror, jekyll_available, jekyll_env

    if not jekyll_available():
        pytest.skip("jekyll is not installed")
    root = tmp_path / "m"
    with LoopbackServer() as origin:
        init_mirror(
            root,
            config_text=f'[[sources]]\nname = "測試源"\nslug = "t"\nurl = "{origin.url("/f.xml")}"\n',
        )
        from newsmirror.config import load_config

        cfg = load_config(root / "newsmirror.toml")
        localized_post(origin, cfg, browser)
    layout = root / "_layouts" / "post.html"
    text = layout.read_text(encoding="utf-8")
    if 'src="/assets/' not in text:  # the scaffold's layout does not prefix images yet
        layout.write_text(text.replace("{{ content }}", JEKYLL_CONTENT), encoding="utf-8")
    dest = tmp_path / "site"
    proc = subprocess.run(
        ["jekyll", "build", "--safe", "--future", "--baseurl", "/repo", "--destination", str(dest)],
        cwd=root, env=jekyll_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (built,) = [p for p in dest.rglob("*.html") if p.parts[-4:-1] == ("2026", "11", "28")]
    assert 'src="/repo/assets/' in built.read_text(encoding="utf-8")
    with LoopbackServer() as site:  # a GitHub Pages project site: everything under /repo/
        site.serve_dir("/repo", dest, validators=False)
        rel = built.relative_to(dest).as_posix()
        widths, outside = load_images(browser, site.url("/repo/" + rel), site.base_url + "/repo/")
    assert len(widths) == 6 and all(w > 0 for w in widths), widths
    assert outside == []
