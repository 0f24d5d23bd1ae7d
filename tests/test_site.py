"""``newsmirror build``: pages, feeds, variants, incremental and deterministic
output, and the preview server, on synthetic mirrors written through the real
MirrorWriter (post files + index)."""

from __future__ import annotations

import json
import random
import re
import threading
import urllib.error
import urllib.request
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from newsmirror.article import derive_keys
from newsmirror.config import Config, load_config, sources_toml
from newsmirror.fsutil import MirrorFiles
from newsmirror.mirror import MirrorWriter
from newsmirror.models import Article
from newsmirror.store import Store

SOURCES = [
    ("(測試)北港日報", "tw", "https://tw.example/feed.xml"),
    ("(测试)南湾晚报", "cn", "https://cn.example/feed.xml"),
    ("Test Harbour Weekly", "en", "https://en.example/feed.xml"),
]
TW_WORDS = ["港灣", "渡輪", "颱風", "圖書館", "捷運", "議會", "選舉", "經濟", "農會", "醫院", "學校", "體育館", "氣象", "報導", "廣場"]  # fmt: skip
CN_WORDS = ["港湾", "渡轮", "台风", "图书馆", "地铁", "议会", "选举", "经济", "农会", "医院", "学校", "体育馆", "气象", "报道", "广场"]  # fmt: skip
EN_WORDS = ["harbour", "ferry", "storm", "library", "metro", "council", "election", "market", "farm", "clinic"]  # fmt: skip
START = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)


def make_config(root: Path, extra: str = "") -> Config:
    root.mkdir(parents=True, exist_ok=True)
    (root / "newsmirror.toml").write_text(extra + "\n" + sources_toml(SOURCES), encoding="utf-8")
    return load_config(root / "newsmirror.toml")


def _text(rng: random.Random, words: list[str], n: int, sep: str) -> str:
    punct = "，。" if sep == "" else ", "
    return sep.join(rng.choice(words) + (rng.choice(punct) if rng.random() < 0.2 else "")
                    for _ in range(n))  # fmt: skip


def article(
    i: int, slug: str, *, when: datetime, rng: random.Random, images: bool = False
) -> Article:
    """Synthetic article number ``i`` of source ``slug``."""
    name = next(n for n, s, _ in SOURCES if s == slug)
    words, sep = {"tw": (TW_WORDS, ""), "cn": (CN_WORDS, ""), "en": (EN_WORDS, " ")}[slug]
    title = f"{_text(rng, words, 4, sep)} {i}"
    paras = [_text(rng, words, 40, sep) for _ in range(3)]
    body = "".join(f"<p>{p}</p>" for p in paras)
    if images:
        body += (
            f'<figure><img src="https://img.example/p/{i}.jpg" alt="{title}" loading="lazy"'
            ' referrerpolicy="no-referrer"></figure>'
        )
    link = f"https://{slug}.example/news/{i}.html"
    return Article(
        key=link, guid=link, source=slug, source_name=name, title=title, link=link,
        published=when, fetched=when + timedelta(minutes=5), content=body,
        text=" ".join(paras), content_hash=f"sha256:{i:064x}",
    )  # fmt: skip


def fill(config: Config, n: int, *, start: datetime = START, step_minutes: int = 20,
         seed: int = 7, first: int = 0, images_every: int = 0) -> list[Article]:  # fmt: skip
    """Keep ``n`` synthetic articles (round-robin over the sources) in the mirror."""
    rng = random.Random(seed + first)
    kept = []
    with Store(config.index_path) as store, store.batch():
        writer = MirrorWriter(config, store, MirrorFiles(config.root))
        for j in range(first, first + n):
            slug = SOURCES[j % len(SOURCES)][1]
            when = start + timedelta(minutes=step_minutes * j)
            art = article(j, slug, when=when, rng=rng,
                          images=bool(images_every) and j % images_every == 0)  # fmt: skip
            writer.keep(art, derive_keys(art))
            kept.append(art)
    return kept


def revise(config: Config, art: Article, when: datetime) -> None:
    """Store a new revision of ``art`` (changed content)."""
    new = replace(art, content=art.content + "<p>更正：補充說明。</p>", text=art.text + " 更正",
                  content_hash="sha256:" + "f" * 64, fetched=when)  # fmt: skip
    with Store(config.index_path) as store, store.batch():
        MirrorWriter(config, store, MirrorFiles(config.root)).keep(new, derive_keys(new))


# ---------------------------------------------------------------- the tests

import hashlib  # noqa: E402

import feedparser  # noqa: E402
import pytest  # noqa: E402
from lxml import etree, html  # noqa: E402

from newsmirror.site import SiteSettings, build_site  # noqa: E402
from newsmirror.site_search_plan import MAX_SHARD, Shard, plan  # noqa: E402

ATOM = "{http://www.w3.org/2005/Atom}"


def settings(**kw: object) -> SiteSettings:
    base = {"title": "測試鏡像", "base_url": "https://mirror.example/news/", "search": False}
    return SiteSettings(**{**base, **kw})  # type: ignore[arg-type]


def tree_hashes(out: Path) -> dict[str, str]:
    return {
        p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file()
    }


def article_pages(out: Path, prefix: str = "") -> list[Path]:
    return sorted((out / prefix / "a").rglob("*.html"))


@pytest.fixture
def mirror(tmp_path: Path) -> Config:
    cfg = make_config(tmp_path / "m")
    fill(cfg, 30, images_every=5)
    return cfg


def test_every_page_type_is_built(mirror: Config, tmp_path: Path) -> None:
    out = tmp_path / "site"
    rep = build_site(mirror, out, settings=settings(page_size=4))
    assert rep.articles == 30 and rep.rendered == 30
    for rel in ("index.html", "404.html", "sitemap.xml", "search.html", "d/index.html",
                "atom.xml", "rss.xml", "s/tw/index.html", "s/tw/p1.html", "s/tw/atom.xml",
                "s/cn/rss.xml", "assets/site.css", "assets/search.js"):  # fmt: skip
        assert (out / rel).is_file(), rel
    assert len(article_pages(out)) == 30
    days = sorted(p.name for p in (out / "d").glob("20*.html"))
    assert days == ["2026-03-01.html"]  # 30 × 20 min from 08:00 local: one day
    home = html.fromstring((out / "index.html").read_bytes())
    rows = home.cssselect("table.sources tbody tr")
    assert [r.cssselect("td")[1].text for r in rows] == ["10", "10", "10"]
    assert len(home.cssselect("ol.items li")) == 30
    assert "no JavaScript" and not home.cssselect("script")


def test_lang_per_page_and_per_item(mirror: Config, tmp_path: Path) -> None:
    out = tmp_path / "site"
    build_site(mirror, out, settings=settings())
    langs: dict[str, set[str]] = {}
    for p in article_pages(out):
        doc = html.fromstring(p.read_bytes())
        src = doc.cssselect("a.src")[0].get("href").split("/")[-2]
        langs.setdefault(src, set()).add(doc.get("lang"))
    assert langs == {"tw": {"zh-Hant"}, "cn": {"zh-Hans"}, "en": {"en"}}
    page = html.fromstring((out / "s/cn/index.html").read_bytes())
    assert page.get("lang") == "zh-Hans"
    home = html.fromstring((out / "index.html").read_bytes())
    item_langs = {li.get("lang") for li in home.cssselect("ol.items li")}
    assert {"zh-Hans", "en"} <= item_langs or {"zh-Hant", "en"} <= item_langs


def test_article_page_shows_times_marks_and_original(mirror: Config, tmp_path: Path) -> None:
    arts = fill(mirror, 1, first=30)
    revise(mirror, arts[0], arts[0].fetched + timedelta(hours=3))
    out = tmp_path / "site"
    build_site(mirror, out, settings=settings())
    page = next(p for p in article_pages(out) if "/30.html" in p.read_text(encoding="utf-8"))
    doc = html.fromstring(page.read_bytes())
    assert doc.cssselect("h1")[0].text == arts[0].title
    times = [t.get("datetime") for t in doc.cssselect("p.meta time")]
    local = arts[0].published.astimezone(mirror.mirror.tz).isoformat(timespec="seconds")
    assert times[0] == local and local.endswith("+08:00")
    assert len(times) == 2  # published and updated (the new revision)
    orig = doc.cssselect("a.orig")[0]
    assert orig.get("href") == arts[0].link and "noreferrer" in orig.get("rel")
    assert "第 2 版" in doc.cssselect("span.rev")[0].text_content()
    assert "補充說明" in doc.cssselect("div.content")[0].text_content()


def test_deleted_mark_from_the_post(mirror: Config, tmp_path: Path) -> None:
    post = next((mirror.root / "_posts").glob("*.md"))
    text = post.read_text(encoding="utf-8")
    post.write_text(text.replace("\n---\n", "\ndeleted: 2026-04-01T00:00:00.000Z\n---\n", 1),
                    encoding="utf-8")  # fmt: skip
    out = tmp_path / "site"
    build_site(mirror, out, settings=settings())
    marked = [p for p in article_pages(out) if "原文已刪除" in p.read_text(encoding="utf-8")]
    assert len(marked) == 1
    assert "2026-04-01 08:00" in marked[0].read_text(encoding="utf-8")


def test_pagination_lists_each_article_once(mirror: Config, tmp_path: Path) -> None:
    out = tmp_path / "site"
    build_site(mirror, out, settings=settings(page_size=4))
    numbered = sorted((out / "s/tw").glob("p*.html"))
    assert [p.name for p in numbered] == ["p1.html", "p2.html", "p3.html"]
    seen = [a.get("href") for p in numbered
            for a in html.fromstring(p.read_bytes()).cssselect("ol.items li > a:not(.src)")]  # fmt: skip
    assert len(seen) == 10 and len(set(seen)) == 10
    front = html.fromstring((out / "s/tw/index.html").read_bytes())
    assert len(front.cssselect("ol.items li")) == 4
    assert front.cssselect("a[rel=next]")[0].get("href") == "p2.html"
    # Pages are numbered from the oldest: a new article leaves full pages alone.
    before = (out / "s/tw/p1.html").stat().st_mtime_ns
    fill(mirror, 3, first=30)
    build_site(mirror, out, settings=settings(page_size=4))
    assert (out / "s/tw/p1.html").stat().st_mtime_ns == before


def test_output_is_deterministic(mirror: Config, tmp_path: Path) -> None:
    s = settings(search=True, variants=("zh-Hans",))
    a, b = tmp_path / "a", tmp_path / "b"
    build_site(mirror, a, settings=s)
    build_site(mirror, b, settings=s)
    ha, hb = tree_hashes(a), tree_hashes(b)
    assert ha == hb and len(ha) > 70


def test_an_incremental_build_equals_a_fresh_one(mirror: Config, tmp_path: Path) -> None:
    # Feeds re-use the unchanged entries of their own files; listings, the sitemap
    # and the article pages are made from cached signatures: none may drift.
    s = settings(variants=("zh-Hans",), feed_size=6, page_size=4)
    inc, fresh = tmp_path / "inc", tmp_path / "fresh"
    build_site(mirror, inc, settings=s)
    arts = fill(mirror, 5, first=30, images_every=2)
    revise(mirror, arts[0], arts[0].fetched + timedelta(hours=1))
    with Store(mirror.index_path) as store:  # one article gone, one moved to another hour
        gone, moved = list(store.iter_articles())[2:4]
        store.db.execute("DELETE FROM articles WHERE key = ?", (gone.key,))
        store.db.execute("UPDATE articles SET published = ? WHERE key = ?",
                         ("2026-03-02T01:00:00.000Z", moved.key))  # fmt: skip
    with (inc / "s/cn/rss.xml").open("a", encoding="utf-8") as fh:  # edited by hand
        fh.write("<!-- x -->")
    rep = build_site(mirror, inc, settings=s)
    assert rep.rendered == 6 and rep.removed == 2 * 2  # both trees
    build_site(mirror, fresh, settings=s)
    assert tree_hashes(inc) == tree_hashes(fresh)
    feed = feedparser.parse((inc / "s/tw/atom.xml").read_bytes())
    assert feed.bozo == 0 and len(feed.entries) == 6


@pytest.mark.parametrize("version", [1, 2])
def test_the_manifest_of_earlier_versions_is_read(
    mirror: Config, tmp_path: Path, version: int
) -> None:
    """Version 1 (JSON) and 2 (marshal, records as lists): the next build renders
    nothing again, and removes a file only the old manifest knew it wrote."""
    import json
    import marshal

    from newsmirror.site import manifest_path
    from newsmirror.site_files import SEP, read_head, record_stat

    out = (tmp_path / "site").resolve()
    build_site(mirror, out, settings=settings())
    path = manifest_path(mirror, out)
    raw = path.read_bytes()
    data, files_at = read_head(raw)
    data["files"] = marshal.loads(raw[files_at:])  # (version 3: after the rest)
    # (records as versions 1 and 2 kept them: lists, all in one object)
    data["files"] = {
        rel: [rec[:16].hex(), *record_stat(rec)] for rel, rec in data["files"].items()
    }
    data["articles"] = {key: rec.split(SEP) for key, rec in data["articles"].items()}
    (out / "old.html").write_text("made by an earlier build", encoding="utf-8")
    data["files"]["old.html"] = ["0" * 32, 24, 0]
    data["version"] = version
    if version == 1:
        path.with_suffix(".json").write_text(json.dumps(data), encoding="utf-8")
        path.unlink()
    else:
        path.write_bytes(marshal.dumps(data, 2))
    rep = build_site(mirror, out, settings=settings())
    assert (rep.rendered, rep.written, rep.removed) == (0, 0, 1)
    assert not (out / "old.html").exists() and not path.with_suffix(".json").exists()
    assert read_head(path.read_bytes())[0]["version"] == 3
    rep = build_site(mirror, out, settings=settings())
    assert (rep.rendered, rep.written, rep.removed) == (0, 0, 0)


def test_nothing_changed_writes_nothing(mirror: Config, tmp_path: Path) -> None:
    out = tmp_path / "site"
    s = settings(search=True)
    build_site(mirror, out, settings=s)
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    rep = build_site(mirror, out, settings=s)
    assert (rep.rendered, rep.written, rep.removed, rep.search_runs) == (0, 0, 0, 0)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == before


def test_new_articles_rewrite_only_their_pages(mirror: Config, tmp_path: Path) -> None:
    out = tmp_path / "site"
    s = settings(page_size=4, search=True)
    build_site(mirror, out, settings=s)
    before = tree_hashes(out)
    fill(mirror, 2, first=30)  # one for tw, one for cn, on the same day
    rep = build_site(mirror, out, settings=s)
    after = tree_hashes(out)
    changed = {k for k in after if before.get(k) != after[k]}
    assert rep.rendered == 2
    new_articles = {k for k in changed if k.startswith("a/")}
    assert len(new_articles) == 2 and all(k not in before for k in new_articles)
    listings = {k for k in changed if not k.startswith(("a/", "search/"))}
    assert listings <= {
        "index.html", "atom.xml", "rss.xml", "sitemap.xml", "d/2026-03-01.html", "search.html",
        "s/tw/index.html", "s/tw/p3.html", "s/tw/atom.xml", "s/tw/rss.xml",
        "s/cn/index.html", "s/cn/p3.html", "s/cn/atom.xml", "s/cn/rss.xml", "d/index.html",
    }  # fmt: skip
    assert {"s/tw/p1.html", "s/tw/p2.html", "s/en/index.html", "s/en/atom.xml"}.isdisjoint(changed)


def test_a_changed_template_setting_rerenders_but_rewrites_only_changes(
    mirror: Config, tmp_path: Path
) -> None:
    out = tmp_path / "site"
    build_site(mirror, out, settings=settings())
    rep = build_site(mirror, out, settings=settings(title="另一個名字"))
    assert rep.rendered == 30  # the title is in every page
    assert "另一個名字" in (out / "index.html").read_text(encoding="utf-8")


def test_removed_articles_lose_their_pages(mirror: Config, tmp_path: Path) -> None:
    out = tmp_path / "site"
    build_site(mirror, out, settings=settings())
    (out / "keep-me.txt").write_text("not ours", encoding="utf-8")
    with Store(mirror.index_path) as store:
        victim = next(store.iter_articles())
        store.db.execute("DELETE FROM articles WHERE key = ?", (victim.key,))
    rep = build_site(mirror, out, settings=settings())
    assert rep.removed == 1 and len(article_pages(out)) == 29
    assert (out / "keep-me.txt").is_file()  # files the build did not make are never touched


def test_a_page_deleted_by_hand_comes_back(mirror: Config, tmp_path: Path) -> None:
    out = tmp_path / "site"
    build_site(mirror, out, settings=settings())
    victim = article_pages(out)[3]
    good = victim.read_bytes()
    victim.unlink()
    (out / "index.html").write_text("edited", encoding="utf-8")
    build_site(mirror, out, settings=settings())
    assert victim.read_bytes() == good
    assert "測試鏡像" in (out / "index.html").read_text(encoding="utf-8")


def _validate_atom(raw: bytes) -> etree._Element:
    root = etree.fromstring(raw)
    assert root.tag == ATOM + "feed"
    for tag in ("id", "title", "updated"):
        assert root.find(ATOM + tag) is not None and root.find(ATOM + tag).text
    assert root.find(ATOM + "link[@rel='self']") is not None
    for e in root.findall(ATOM + "entry"):
        for tag in ("id", "title", "updated", "published"):
            assert e.find(ATOM + tag).text, tag
        assert e.find(ATOM + "link[@rel='alternate']").get("href").startswith("https://")
        assert e.find(ATOM + "content").get("type") == "html"
        assert e.find(ATOM + "author/" + ATOM + "name").text
    return root


def _validate_rss(raw: bytes) -> etree._Element:
    root = etree.fromstring(raw)
    assert root.tag == "rss" and root.get("version") == "2.0"
    ch = root.find("channel")
    for tag in ("title", "link", "description"):
        assert ch.find(tag) is not None and ch.find(tag).text
    for it in ch.findall("item"):
        assert it.find("title").text and it.find("description").text
        assert it.find("guid").get("isPermaLink") == "false"
        assert re.fullmatch(
            r"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d \+0000", it.find("pubDate").text
        )
    return root


def test_feeds_are_valid_and_carry_full_content(mirror: Config, tmp_path: Path) -> None:
    out = tmp_path / "site"
    build_site(mirror, out, settings=settings(feed_size=5, variants=("zh-Hans",)))
    for rel in ("atom.xml", "s/tw/atom.xml", "zh-hans/atom.xml", "zh-hans/s/en/atom.xml"):
        raw = (out / rel).read_bytes()
        root = _validate_atom(raw)
        parsed = feedparser.parse(raw)
        assert parsed.bozo == 0, (rel, parsed.get("bozo_exception"))
        assert parsed.version == "atom10" and len(parsed.entries) == len(
            root.findall(ATOM + "entry")
        )
    for rel in ("rss.xml", "s/cn/rss.xml", "zh-hans/rss.xml"):
        raw = (out / rel).read_bytes()
        _validate_rss(raw)
        parsed = feedparser.parse(raw)
        assert parsed.bozo == 0, (rel, parsed.get("bozo_exception"))
        assert parsed.version == "rss20"
    tw = feedparser.parse((out / "s/tw/atom.xml").read_bytes())
    assert len(tw.entries) == 5
    newest = tw.entries[0]
    page = html.fromstring(
        (out / newest.link.removeprefix("https://mirror.example/news/")).read_bytes()
    )
    body = page.cssselect("div.content")[0].text_content().strip()
    assert html.fromstring(newest.content[0].value).text_content().strip() == body
    simp = feedparser.parse((out / "zh-hans/s/tw/atom.xml").read_bytes())
    assert simp.entries[0].id != newest.id
    assert "港湾" in simp.entries[0].content[0].value or "渡轮" in simp.entries[0].content[0].value


def test_variants_have_every_article_once_and_link_counterparts(
    mirror: Config, tmp_path: Path
) -> None:
    out = tmp_path / "site"
    build_site(mirror, out, settings=settings(variants=("zh-Hans", "zh-Hant")))
    with Store(mirror.index_path) as store:
        n = store.count()
    names = None
    for prefix in ("", "zh-hans", "zh-hant"):
        pages = [p.relative_to(out / prefix).as_posix() for p in article_pages(out, prefix)]
        assert len(pages) == n == len(set(pages))
        names = names or pages
        assert pages == names
    tw = next(p for p in article_pages(out, "zh-hans") if "北港" in p.read_text(encoding="utf-8"))
    doc = html.fromstring(tw.read_bytes())
    assert doc.get("lang") == "zh-Hans"
    assert (
        not re.search("[港灣渡輪]{2}", doc.cssselect("h1")[0].text or "")
        or "灣" not in doc.text_content()
    )
    links = {a.text: a.get("href") for a in doc.cssselect(".variants a")}
    rel = tw.relative_to(out / "zh-hans").as_posix()
    assert links["原文"] == "../" * rel.count("/") + "../" + rel
    assert links["繁體"].endswith("zh-hant/" + rel)
    hant = html.fromstring((out / "zh-hant" / rel).read_bytes())
    assert hant.get("lang") == "zh-Hant" and "南湾" not in hant.text_content()


def _foreign_refs(doc: html.HtmlElement) -> list[str]:
    bad = []
    for el in doc.iter("link", "script", "img", "iframe", "source", "video", "audio", "object"):
        for attr in ("href", "src", "srcset"):
            v = el.get(attr)
            if not v or el.tag == "link" and el.get("rel") in ("canonical", "alternate"):
                continue
            if el.tag == "img" and el.getparent() is not None and doc.cssselect("div.content"):
                continue  # content images are checked on their own
            if re.match(r"^(https?:)?//", v):
                bad.append(f"<{el.tag} {attr}={v}>")
    return bad


@pytest.mark.parametrize("images", ["original", "link"])
def test_pages_reference_only_their_own_files(mirror: Config, tmp_path: Path, images: str) -> None:
    out = tmp_path / "site"
    build_site(mirror, out, settings=settings(images=images, search=True))
    imgs = []
    for p in out.rglob("*.html"):
        doc = html.fromstring(p.read_bytes())
        assert _foreign_refs(doc) == [], p
        assert not doc.cssselect("style, [style], [onload], [onclick]")
        scripts = doc.cssselect("script")
        assert p.name == "search.html" or not scripts
        imgs += doc.cssselect("div.content img")
    if images == "original":
        assert imgs and all(i.get("loading") == "lazy" and i.get("referrerpolicy") == "no-referrer"
                            for i in imgs)  # fmt: skip
    else:
        assert imgs == []
        assert any("img.example" in p.read_text(encoding="utf-8") for p in article_pages(out))


def test_legacy_posts_are_cleaned(mirror: Config, tmp_path: Path) -> None:
    post = next((mirror.root / "_posts").glob("*.md"))
    text = post.read_text(encoding="utf-8")
    head, _, _ = text.partition("<!--")
    legacy_fm = re.sub(r"\nkey: .*|\nfrom: .*", "", head)
    body = '<div onclick="x()"><script>alert(1)</script><p>舊文章內文</p><iframe src="https://v.example/e"></iframe></div>'
    post.write_text(legacy_fm + body + "\n", encoding="utf-8")
    out = tmp_path / "site"
    build_site(mirror, out, settings=settings())
    page = next(p for p in article_pages(out) if "舊文章內文" in p.read_text(encoding="utf-8"))
    text = page.read_text(encoding="utf-8")
    assert "<script" not in text and "onclick" not in text and "<iframe" not in text


def test_shard_plan_seals_merges_and_keeps_boundaries() -> None:
    units = [(f"2026/03/{d:02d}/{h:02d}", 10) for d in range(1, 9) for h in (0, 12)]
    sealed, open_ = plan(units, [], 20)
    # 16 units × 10 = 160 articles: 8 sealed level-0 shards of 20 merge into 2 of level 1.
    assert [s.level for s in sealed] == [1, 1] and open_ is None
    assert sealed[0].first == "2026/03/01/00" and sealed[-1].last == "2026/03/08/12"
    more = units + [("2026/03/09/00", 5), ("2026/03/09/01", 5)]
    sealed2, open2 = plan(more, sealed, 20)
    assert sealed2 == sealed and open2 == Shard("2026/03/09/00", "2026/03/09/01", -1)
    late = [(u, n + 1) for u, n in units[:2]] + units[2:]  # a late article in an old hour
    assert plan(late, sealed, 20)[0] == sealed


def test_sitemap_is_split_past_the_protocol_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    from newsmirror import site_feeds

    monkeypatch.setattr(site_feeds, "SITEMAP_MAX", 3)
    urls = [("a/1.html", "2026-03-01"), ("d/2026-03-01.html", "")]
    made = list(site_feeds.sitemaps("https://m.example/n&s/", ["", "zh-hans/"], urls))
    files = dict(made)
    assert [name for name, _ in made] == ["sitemap-1.xml", "sitemap-2.xml", "sitemap.xml"]
    locs = [loc.text for n in ("sitemap-1.xml", "sitemap-2.xml")
            for loc in etree.fromstring(files[n].encode()).iter("{*}loc")]  # fmt: skip
    assert locs[0] == "https://m.example/n&s/a/1.html" and locs[-1].endswith(
        "zh-hans/d/2026-03-01.html"
    )
    index = etree.fromstring(files["sitemap.xml"].encode())
    assert [e.text for e in index.iter("{*}loc")][-1] == "https://m.example/n&s/sitemap-2.xml"


def test_sitemap_urls_are_kept_in_a_file_and_read_back_as_often_as_needed(
    tmp_path: Path,
) -> None:
    from newsmirror.site_feeds import SitemapUrls, sitemaps

    urls = SitemapUrls(tmp_path, [("index.html", "")])
    urls.append(("a/2026/03/01/0800-1.html", "2026-03-01"))
    assert list(urls) == [("index.html", ""), ("a/2026/03/01/0800-1.html", "2026-03-01")]
    urls.append(("s/tw/index.html", "2026-03-02"))  # (after a reading: at the end)
    assert len(urls) == 3 and list(urls)[-1] == ("s/tw/index.html", "2026-03-02")
    assert list(urls) == list(urls)
    [(name, text)] = sitemaps("https://m.example/", ["", "zh-hant/"], urls)
    locs = [e.text for e in etree.fromstring(text.encode()).iter("{*}loc")]
    assert name == "sitemap.xml" and len(locs) == 6 and locs[-1].endswith("zh-hant/s/tw/index.html")
    urls.close()
    assert not list(tmp_path.iterdir())  # (a file without a name: nothing left behind)


def test_shard_plan_caps_the_largest_shard() -> None:
    # 60 days × 24 hours × 9 articles: without a cap the merges would make shards of
    # thousands of articles, and a late article re-indexes its whole segment.
    units = [(f"2026/{m:02d}/{d:02d}/{h:02d}", 9)
             for m in (1, 2) for d in range(1, 31) for h in range(24)]  # fmt: skip
    sealed, open_ = plan(units, [], 100, cap=500)
    sizes = [sum(n for u, n in units if s.first <= u <= s.last) for s in sealed]
    assert max(sizes) <= 500 < MAX_SHARD and max(s.level for s in sealed) == 1
    assert sum(sizes) + sum(n for u, n in units if open_ and u >= open_.first) == 9 * len(units)
    big = [Shard("2026/01/01/00", "2026/01/20/23", 3)]  # an earlier layout, no cap
    assert plan(units, big, 100, cap=500) == (sealed, open_)


def test_a_search_shard_damaged_by_hand_is_made_again(mirror: Config, tmp_path: Path) -> None:
    out = tmp_path / "site"
    s = settings(search=True, search_shard_size=8)
    build_site(mirror, out, settings=s)
    shard = sorted(out.glob("search/*/i0.bin"))[0]
    good = shard.read_bytes()
    shard.unlink()
    rep = build_site(mirror, out, settings=s)
    assert rep.search_runs == 1 and shard.read_bytes() == good
    assert build_site(mirror, out, settings=s).search_runs == 0
    rep = build_site(mirror, out, settings=settings(search=False))
    assert not (out / "search").exists() and rep.removed >= 4  # every segment's files


def test_search_segments_reindex_only_what_changed(mirror: Config, tmp_path: Path) -> None:
    out = tmp_path / "site"
    s = settings(search=True, search_shard_size=8)
    rep = build_site(mirror, out, settings=s)
    assert rep.search_runs >= 2
    folders = sorted(p.name for p in (out / "search").iterdir())
    search = html.fromstring((out / "search.html").read_bytes())
    listed = json.loads(search.cssselect("#search")[0].get("data-index"))
    assert sorted(seg["p"] for seg in listed) == [f"search/{f}/" for f in folders]
    assert sum(seg["n"] for seg in listed) == 30
    fill(mirror, 2, first=30)
    rep2 = build_site(mirror, out, settings=s)
    assert rep2.search_runs == 1  # only the newest segment


def test_serve_previews_the_site_with_its_404(mirror: Config, tmp_path: Path) -> None:
    from newsmirror.cli_site import make_server

    out = tmp_path / "site"
    build_site(mirror, out, settings=settings())
    server = make_server(out, 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        with urllib.request.urlopen(base + "index.html") as r:
            assert r.status == 200 and "測試鏡像" in r.read().decode("utf-8")
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(base + "no/such/page.html")
        assert e.value.code == 404 and "找不到這一頁" in e.value.read().decode("utf-8")
    finally:
        server.shutdown()
        server.server_close()


def test_cli_build_command(mirror: Config) -> None:
    import typer
    from typer.testing import CliRunner

    from newsmirror.cli_site import register

    app = typer.Typer()
    register(app)
    res = CliRunner().invoke(app, ["build", "--config", str(mirror.path), "-q"])
    assert res.exit_code == 0, res.output
    assert len(article_pages(mirror.root / "_site")) == 30
