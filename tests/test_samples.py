"""Tests for the synthetic demo site (newsmirror.samples)."""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import feedparser
import lxml.html
import pytest
from lxml import etree

from newsmirror.samples import DEFAULT_NOW, SampleFile, sample_site, sample_sources
from newsmirror.samples_news import DEMO_FILTER_CATEGORY

BASE = "http://127.0.0.1:8765"
SUMMARY_ONLY = {"demo-morning", "demo-hill", "demo-brief", "demo-en"}


def _corpus() -> Path:
    env = os.environ.get("NEWSMIRROR_CORPUS")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "corpus"


@pytest.fixture(scope="module")
def site() -> dict[str, SampleFile]:
    return {f.path: f for f in sample_site(BASE)}


@pytest.fixture(scope="module")
def feeds(site: dict[str, SampleFile]) -> dict[str, tuple[dict[str, str], SampleFile]]:
    return {s["slug"]: (s, site[urlsplit(s["url"]).path]) for s in sample_sources(BASE)}


@pytest.fixture(scope="module")
def parsed(feeds: dict[str, tuple[dict[str, str], SampleFile]]) -> dict[str, list[dict]]:
    """Every feed's items as dicts (link, title, published, tags, html, summary)."""
    out: dict[str, list[dict]] = {}
    for slug, (_, f) in feeds.items():
        if f.path.endswith(".json"):
            items = json.loads(f.body)["items"]
            out[slug] = [
                {
                    "link": i["url"],
                    "title": i["title"],
                    "published": i.get("date_published"),
                    "tags": i.get("tags", []),
                    "html": i["content_html"],
                    "summary": i["summary"],
                }
                for i in items
            ]
            continue
        d = feedparser.parse(f.body, response_headers={"content-type": f.content_type})
        out[slug] = [
            {
                "link": e.get("link", ""),
                "title": e.get("title", ""),
                "published": e.get("published_parsed"),
                "tags": [t.term for t in e.get("tags", [])],
                "html": e.content[0].value if e.get("content") else "",
                "summary": e.get("summary", ""),
            }
            for e in d.entries
        ]
    return out


def _text(fragment: str) -> str:
    if not fragment.strip():
        return ""
    return lxml.html.fragment_fromstring(fragment, create_parent="div").text_content()


def test_deterministic_and_seeded() -> None:
    a, b = sample_site(BASE), sample_site(BASE)
    assert [(f.path, f.body, f.content_type) for f in a] == [
        (f.path, f.body, f.content_type) for f in b
    ]
    other = {f.path: f.body for f in sample_site(BASE, seed=3)}
    feed = "/feeds/cna.xml"
    assert other[feed] != {f.path: f.body for f in a}[feed]
    assert all(f.path.startswith("/") and "?" not in f.path for f in a)


def test_sources_match_feeds(site: dict[str, SampleFile]) -> None:
    sources = sample_sources(BASE + "/")
    assert len(sources) == 10
    assert len({s["slug"] for s in sources}) == 10
    for s in sources:
        assert set(s) == {"name", "slug", "url"}
        assert re.fullmatch(r"[a-z0-9-]+", s["slug"])
        assert s["url"].startswith(BASE + "/feeds/")
        assert urlsplit(s["url"]).path in site
        assert any(mark in s["name"] for mark in ("示範", "示范", "Demo"))
    assert sources[0] == {
        "name": "(示範)中央通訊",
        "slug": "demo-cna",
        "url": BASE + "/feeds/cna.xml",
    }


def test_every_feed_is_well_formed(feeds: dict) -> None:
    roots = {}
    for slug, (_, f) in feeds.items():
        if f.path.endswith(".json"):
            doc = json.loads(f.body.decode("utf-8"))
            assert doc["version"] == "https://jsonfeed.org/version/1.1"
            assert all(item["content_html"].startswith("<p>") for item in doc["items"])
            continue
        roots[slug] = etree.fromstring(f.body).tag
    assert roots["demo-cna"] == "rss"
    assert roots["demo-harbour"] == "{http://www.w3.org/2005/Atom}feed"
    assert roots["demo-hill"] == "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}RDF"
    assert roots["demo-legacy"] == "{http://purl.org/atom/ns#}feed"


def test_feedparser_sees_every_kind(feeds: dict) -> None:
    expected = {
        "demo-cna": "rss20",
        "demo-morning": "rss20",
        "demo-harbour": "atom10",
        "demo-hill": "rss10",
        "demo-south-gbk": "rss20",
        "demo-north-big5": "rss20",
        "demo-brief": "rss091",
        "demo-legacy": "atom03",
        "demo-en": "rss20",
    }
    for slug, version in expected.items():
        f = feeds[slug][1]
        d = feedparser.parse(f.body, response_headers={"content-type": f.content_type})
        assert d.version.startswith(version), (slug, d.version)
        assert len(d.entries) == 8, slug


@pytest.mark.parametrize("count", [6, 10])
def test_item_count_follows_items_per_feed(count: int) -> None:
    files = {f.path: f for f in sample_site(BASE, items_per_feed=count)}
    for s in sample_sources(BASE):
        f = files[urlsplit(s["url"]).path]
        if f.path.endswith(".json"):
            assert len(json.loads(f.body)["items"]) == count
        else:
            d = feedparser.parse(f.body, response_headers={"content-type": f.content_type})
            assert len(d.entries) == count, s["slug"]


def test_items_per_feed_bounds() -> None:
    with pytest.raises(ValueError):
        sample_site(BASE, items_per_feed=0)


def test_legacy_charsets(feeds: dict) -> None:
    for slug, codec, declared in (
        ("demo-south-gbk", "gbk", "gb2312"),
        ("demo-north-big5", "big5", "big5"),
    ):
        f = feeds[slug][1]
        assert f.content_type.endswith(f"charset={codec}")
        assert f.body.startswith(f'<?xml version="1.0" encoding="{declared}"?>'.encode("ascii"))
        with pytest.raises(UnicodeDecodeError):
            f.body.decode("utf-8")
        text = f.body.decode(declared)
        assert text == f.body.decode(codec)
        title = etree.fromstring(f.body).findtext("channel/title")
        assert (
            title == {"demo-south-gbk": "(示范)南方时报", "demo-north-big5": "(示範)北岸週報"}[slug]
        )
        assert title in text
    assert "市" in feeds["demo-south-gbk"][1].body.decode("gbk")


def test_linked_pages_exist(site: dict[str, SampleFile], parsed: dict) -> None:
    for slug, items in parsed.items():
        feed_url = next(s["url"] for s in sample_sources(BASE) if s["slug"] == slug)
        for item in items:
            url = urljoin(feed_url, item["link"])
            assert url.startswith(BASE + "/news/"), url
            page = site[urlsplit(url).path]
            assert page.content_type.startswith("text/html")


def test_summary_pages_are_realistic(feeds: dict, site: dict, parsed: dict) -> None:
    checked = 0
    for slug in SUMMARY_ONLY:
        feed_url = feeds[slug][0]["url"]
        for item in parsed[slug]:
            assert item["html"] == ""  # no full text in the feed
            page = site[urlsplit(urljoin(feed_url, item["link"])).path]
            charset = page.content_type.split("charset=")[1]
            doc = lxml.html.document_fromstring(page.body.decode(charset))
            body = doc.cssselect("article .article-body")[0]
            first = body.cssselect("p")[0].text_content()
            assert first == _text(item["summary"]).strip()
            for css in ("nav", ".share-bar", ".related-news a", "footer", ".cookie-banner", ".ad"):
                assert doc.cssselect(css), (slug, css)
            for css in ("h2", "figure img", "figcaption", "ul li", "blockquote"):
                assert body.cssselect(css), (slug, css)
            checked += 1
    assert checked == 4 * 8
    zh = lxml.html.document_fromstring(site[urlsplit(parsed["demo-morning"][0]["link"]).path].body)
    assert "相关新闻" in zh.cssselect(".related-news h3")[0].text_content()


def test_quirks(parsed: dict, feeds: dict) -> None:
    cna = parsed["demo-cna"]
    # a lazy image and CNA-like chrome inside the full text
    ns = {"content": "http://purl.org/rss/1.0/modules/content/"}
    raw = etree.fromstring(feeds["demo-cna"][1].body).findall("channel/item/content:encoded", ns)
    assert 'data-src="/images/' in raw[0].text and 'src="data:image/gif' in raw[0].text
    assert "class='articlekeywordGroup'" in raw[0].text and "更多文章" in raw[0].text
    # an undated item and one dated in the future
    assert sum(1 for i in cna if i["published"] is None) == 1
    future = [
        i for i in cna if i["published"] and datetime(*i["published"][:6], tzinfo=UTC) > DEFAULT_NOW
    ]
    assert len(future) == 1
    assert sum(1 for i in parsed["demo-cloud"] if i["published"] is None) == 1
    # titles: 「」：[] punctuation; an HTML entity left escaped
    assert any(re.search(r"「.+」：.+\[.+\]", i["title"]) for i in cna)
    assert any("&amp;" in i["title"] for i in cna)
    assert any('"Star Minerals"' in i["title"] for i in parsed["demo-en"])
    # a tracking query, a relative link, a category to filter on
    assert any("utm_source=rss" in i["link"] for i in cna)
    assert feeds["demo-morning"][1].body.count(b"<link>/news/") == 1
    assert sum(DEMO_FILTER_CATEGORY in i["tags"] for i in cna) == 1
    # the same article in two feeds
    shared = {i["link"] for i in cna} & {i["link"] for i in parsed["demo-north-big5"]}
    assert len(shared) == 1
    # Atom 1.0: one xhtml entry among html ones
    atom = feeds["demo-harbour"][1].body
    assert atom.count(b'<content type="xhtml">') == 1 and atom.count(b'<content type="html">') == 7
    # RSS 1.0 categories via dc:subject
    assert all(i["tags"] for i in parsed["demo-hill"])


def test_dates_follow_now() -> None:
    later = DEFAULT_NOW + timedelta(days=30)
    files = {f.path: f for f in sample_site(BASE, now=later)}
    d = feedparser.parse(files["/feeds/english.xml"].body)
    dates = [datetime(*e.published_parsed[:6], tzinfo=UTC) for e in d.entries]
    assert all(later - timedelta(days=4) < t < later for t in dates)
    assert max(dates) - min(dates) > timedelta(days=1)  # spread over the last days


def test_no_text_copied_from_corpus(parsed: dict) -> None:
    posts = _corpus() / "posts"
    if not posts.is_dir():
        pytest.skip("corpus not available")
    windows: set[str] = set()
    for items in parsed.values():
        for item in items:
            for text in (item["title"], _text(item["html"]), _text(item["summary"])):
                windows.update(text[i : i + 20] for i in range(len(text) - 19))
    assert len(windows) > 5000
    for path in sorted(posts.iterdir()):
        text = path.read_text("utf-8", errors="replace")
        hits = {text[i : i + 20] for i in range(len(text) - 19)} & windows
        assert not hits, (path.name, sorted(hits)[:3])


def test_topic_images_are_png_a_mirror_keeps(site: dict[str, SampleFile]) -> None:
    from newsmirror.assets import ImageRefused, sniff_image
    from newsmirror.samples import sample_png

    pngs = [f for p, f in site.items() if p.startswith("/images/") and p.endswith(".png")]
    assert len(pngs) >= 8
    for f in pngs:
        assert f.content_type == "image/png" and sniff_image(f.body) == "png"
        assert len(f.body) < 2000
        # IHDR: the declared size; the pixels inflate to exactly that many rows
        import struct
        import zlib

        w, h = struct.unpack(">II", f.body[16:24])
        idat_len = struct.unpack(">I", f.body[33:37])[0]
        rows = zlib.decompress(f.body[41 : 41 + idat_len])
        assert len(rows) == h * (1 + 3 * w)
    with pytest.raises(ImageRefused):
        sniff_image(site["/images/ad.svg"].body)
    assert sample_png("#102030", 4, 2) != sample_png("#102031", 4, 2)
    with pytest.raises(ValueError):
        sample_png("#102030", 0, 2)
    bodies = [f.body.decode("utf-8", "replace") for p, f in site.items() if p.startswith("/news/")]
    assert any('src="/images/' in b and '.png"' in b for b in bodies)
