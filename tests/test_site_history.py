"""Revision history pages (with a diff that works for Chinese) and the deletions
page of the built site; and the diff itself (``site_history``)."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from lxml import html

from newsmirror.article import derive_keys
from newsmirror.config import Config
from newsmirror.fsutil import MirrorFiles
from newsmirror.mirror import MirrorWriter
from newsmirror.models import Article
from newsmirror.site import build_site
from newsmirror.site_history import diff, diff_counts, diff_html, diff_inline, html_text
from newsmirror.site_pages import article_href
from newsmirror.site_text import Clock
from newsmirror.store import Store
from newsmirror.textdiff import tokenize as tokens

from .test_site import fill, make_config, settings

# ------------------------------------------------------------------ the diff


def _sides(ops: list[tuple[str, str]]) -> tuple[str, str]:
    old = "".join(t for o, t in ops if o != "+")
    new = "".join(t for o, t in ops if o != "-")
    return old, new


def test_tokens_cut_chinese_by_character_and_latin_by_word() -> None:
    text = "市府說COVID-19防疫 3.5 版，don't panic！\n第二段"
    got = tokens(text)
    assert "".join(got) == text
    assert got[:3] == ["市", "府", "說"] and "COVID-19" in got and "3.5" in got
    assert "don't" in got and "\n" in got and "！" in got
    assert tokens("한국어 日本語かな") == ["한", "국", "어", " ", "日", "本", "語", "か", "な"]


def test_diff_marks_only_the_changed_characters() -> None:
    ops = diff("港灣渡輪今日恢復航行，乘客約三百人。", "港灣渡輪明日恢復航行，乘客約五百人。")
    assert [t for o, t in ops if o == "-"] == ["今", "三"]
    assert [t for o, t in ops if o == "+"] == ["明", "五"]
    words = diff("the quick brown fox", "the slow brown fox")
    assert ("-", "quick") in words and ("+", "slow") in words
    assert diff_counts(ops) == (2, 2)


def test_short_unchanged_runs_between_changes_are_folded_in() -> None:
    ops = diff("甲的乙", "丙的丁")
    assert ops == [("-", "甲的乙"), ("+", "丙的丁")]


@pytest.mark.parametrize("seed", range(30))
def test_diff_gives_both_texts_back(seed: int) -> None:
    rng = random.Random(seed)
    alphabet = ["港", "灣", "的", "，", "。", " ", "\n", "ab", "12", "x"]
    old = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
    new = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
    assert _sides(diff(old, new)) == (old, new)


def test_diff_html_escapes_and_folds_far_paragraphs() -> None:
    old = "\n".join(f"第{n}段<b>不變</b>。" for n in range(8))
    new = old.replace("第7段", "第七段")
    out = diff_html(old, new, folded="略")
    assert "<b>" not in out and "&lt;b&gt;" in out
    assert out.count("<p") == 3  # a fold, the unchanged neighbour, the changed paragraph
    assert '<p class="fold">略 6</p>' in out and "<del>7</del><ins>七</ins>" in out
    assert diff_inline("標題<一>", "標題<二>") == "標題&lt;<del>一</del><ins>二</ins>&gt;"


def test_html_text_keeps_paragraphs() -> None:
    frag = "<p>第一段&amp;  文字</p><figure><img src=x><figcaption>說明</figcaption></figure><p>二<br>三</p>"
    assert html_text(frag) == "第一段& 文字\n說明\n二\n三"


# --------------------------------------------------------- the site's pages


def _revise(config: Config, art: Article, n: int, *, title: str = "", extra: str = "") -> Article:
    new = replace(art, title=title or art.title, content=art.content + extra,
                  text=art.text + extra, content_hash=f"sha256:{n:064x}f",
                  fetched=art.fetched + timedelta(hours=n))  # fmt: skip
    with Store(config.index_path) as store, store.batch():
        MirrorWriter(config, store, MirrorFiles(config.root)).keep(new, derive_keys(new))
    return new


@pytest.fixture
def revised(tmp_path: Path) -> tuple[Config, Article]:
    cfg = make_config(tmp_path / "m")
    arts = fill(cfg, 6)
    art = arts[1]  # a Simplified Chinese one
    v2 = _revise(cfg, art, 2, extra="<p>更正：渡轮今日停航。</p>")
    _revise(cfg, v2, 3, title="更正后的标题", extra="<p>补充说明。</p>")
    return cfg, art


def _href(cfg: Config, art: Article) -> str:
    return article_href(art.key, art.published, Clock(cfg.mirror.tz))


def test_an_edited_article_links_to_its_history(revised, tmp_path: Path) -> None:
    cfg, art = revised
    out = tmp_path / "site"
    build_site(cfg, out, settings=settings(variants=("zh-Hant",)))
    href = _href(cfg, art)
    hist = "h/" + href[2:]
    for prefix in ("", "zh-hant/"):
        page = html.fromstring((out / prefix / href).read_bytes())
        link = page.cssselect("a.history")[0].get("href")
        assert (out / prefix / href).parent.joinpath(link).resolve() == (out / prefix / hist).resolve()
        doc = html.fromstring((out / prefix / hist).read_bytes())
        versions = doc.cssselect("ol.versions > li")
        assert [v.get("id") for v in versions] == ["v1", "v2", "v3"]
        assert all(v.cssselect("h2 time") for v in versions)
        assert not doc.cssselect("script")
        assert versions[0].cssselect("p.vtitle")[0].text_content() == (
            art.title if not prefix else versions[0].cssselect("p.vtitle")[0].text_content()
        )
        ins2 = "".join(i.text_content() for i in versions[1].cssselect(".diff ins"))
        ins3 = "".join(i.text_content() for i in versions[2].cssselect(".diff ins"))
        assert ("渡轮今日停航" if not prefix else "渡輪今日停航") in ins2
        assert ("补充说明" if not prefix else "補充說明") in ins3
        assert versions[2].cssselect("p.vtitle ins")  # the title changed in version 3
        assert not versions[1].cssselect("p.vtitle ins")
        article_link = doc.cssselect("p.meta a")[0].get("href")
        assert (out / prefix / hist).parent.joinpath(article_link).resolve() == (out / prefix / href).resolve()
    assert hist in (out / "sitemap.xml").read_text(encoding="utf-8")
    unrevised = [p for p in (out / "a").rglob("*.html") if p.relative_to(out).as_posix() != href]
    assert not any(html.fromstring(p.read_bytes()).cssselect("a.history") for p in unrevised)
    assert sorted(p.relative_to(out).as_posix() for p in (out / "h").rglob("*.html")) == [hist]


def test_history_pages_are_incremental_and_deterministic(revised, tmp_path: Path) -> None:
    cfg, art = revised
    out, fresh = tmp_path / "site", tmp_path / "fresh"
    s = settings()
    build_site(cfg, out, settings=s)
    again = build_site(cfg, out, settings=s)
    assert again.written == 0 and again.rendered == 0
    hist = out / ("h/" + _href(cfg, art)[2:])
    with Store(cfg.index_path) as store:
        cur = next(a for a in store.iter_articles() if a.key == art.key)
    _revise(cfg, cur, 4, extra="<p>再次更正。</p>")
    before = hist.read_bytes()
    build_site(cfg, out, settings=s)
    assert hist.read_bytes() != before and b'id="v4"' in hist.read_bytes()
    build_site(cfg, fresh, settings=s)
    assert hist.read_bytes() == (fresh / hist.relative_to(out)).read_bytes()


def _mark_deleted(post: Path, when: str | None) -> None:
    text = post.read_text(encoding="utf-8")
    text = "\n".join(line for line in text.split("\n") if not line.startswith("deleted:"))
    if when:
        text = text.replace("\n---\n", f"\ndeleted: {when}\n---\n", 1)
    post.write_text(text, encoding="utf-8")


def test_deletions_page_lists_deleted_articles_newest_first(tmp_path: Path) -> None:
    cfg = make_config(tmp_path / "m")
    arts = fill(cfg, 6)
    with Store(cfg.index_path) as store:
        paths = {a.key: cfg.root / a.path for a in store.iter_articles()}
    _mark_deleted(paths[arts[0].key], "2026-04-01T00:00:00.000Z")
    _mark_deleted(paths[arts[4].key], "2026-04-03T00:00:00.000Z")
    out = tmp_path / "site"
    s = settings(variants=("zh-Hans",))
    build_site(cfg, out, settings=s)
    for prefix in ("", "zh-hans/"):
        doc = html.fromstring((out / prefix / "deleted.html").read_bytes())
        links = [
            (out / prefix).joinpath(a.get("href")).resolve()
            for a in doc.cssselect("ol.items li > a:not(.src)")
        ]
        assert links == [(out / prefix / _href(cfg, a)).resolve() for a in (arts[4], arts[0])]
        times = [t.text_content() for t in doc.cssselect("ol.items time")]
        assert times[0].startswith("2026-04-03 08:00") and times[1].startswith("2026-04-01 08:00")
        home = html.fromstring((out / prefix / "index.html").read_bytes())
        to = [a for a in home.cssselect("a") if a.get("href").endswith("deleted.html")]
        assert (out / prefix).joinpath(to[0].get("href")).resolve() == (
            out / prefix / "deleted.html"
        ).resolve()
        assert "（2 " in to[0].text_content()
    assert "deleted.html" in (out / "sitemap.xml").read_text(encoding="utf-8")
    rep = build_site(cfg, out, settings=s)
    assert rep.written == 0
    _mark_deleted(paths[arts[4].key], None)  # the mark taken away (e.g. by hand)
    build_site(cfg, out, settings=s)
    doc = html.fromstring((out / "deleted.html").read_bytes())
    assert [a.get("href") for a in doc.cssselect("ol.items li > a:not(.src)")] == [
        _href(cfg, arts[0])
    ]
    _mark_deleted(paths[arts[0].key], None)
    build_site(cfg, out, settings=s)
    doc = html.fromstring((out / "deleted.html").read_bytes())
    assert not doc.cssselect("ol.items li")
