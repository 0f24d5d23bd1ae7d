"""The extract stage: extract_page, is_summary, ExtractPool, and extraction quality."""

from __future__ import annotations

import asyncio
import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml.etree import tostring
from lxml.html import fragment_fromstring

from newsmirror import extract
from newsmirror.clean_text import html_to_text, parse_fragment
from newsmirror.errors import ItemError
from newsmirror.extract import Extracted, ExtractPool, extract_page, is_summary
from newsmirror.parse import parse_feed

from .extract_refs import (
    FIXTURE_PAGES,
    REFS,
    corpus_dir,
    reference_text,
    synthetic_pages,
    tokenize,
    word_f1,
)

URL = "https://news.example.com/2024/06/story.html"


def page(name: str) -> bytes:
    return (FIXTURE_PAGES / f"{name}.html").read_bytes()


def ref(name: str) -> str:
    return (FIXTURE_PAGES / f"{name}.ref.txt").read_text(encoding="utf-8")


def corpus_or_skip() -> Path:
    corpus = corpus_dir()
    if corpus is None:
        pytest.skip("real-world corpus (shared/corpus) not found")
    return corpus


# ---------------------------------------------------------------- F1 and references


def test_tokenize_counts_cjk_characters_and_splits_other_text() -> None:
    assert tokenize("河川市, Bike-lanes 2024！") == ["河", "川", "市", "bike", "lanes", "2024"]
    assert word_f1("a b c", "a b c") == 1.0
    assert word_f1("a b", "c d") == 0.0
    assert word_f1("中文 x", "中文") == pytest.approx(0.8)


def test_every_reference_selector_selects_the_article() -> None:
    corpus = corpus_or_skip()
    assert len(REFS) == 45
    for r in REFS:
        text = reference_text((corpus / "pages" / r.path).read_text(encoding="utf-8"), r)
        assert len(text) >= 100, r.path


# ---------------------------------------------------------------- extract_page


@pytest.mark.parametrize("path,reference", synthetic_pages(), ids=lambda v: getattr(v, "stem", ""))
def test_synthetic_pages_extract_close_to_reference(path: Path, reference: str) -> None:
    got = extract_page(path.read_bytes(), url=URL)
    assert word_f1(got.text, reference) >= 0.97, got.text[:300]
    assert got.method == "density"
    root = fragment_fromstring(got.html)  # one well-formed element
    assert html_to_text(got.html) == got.text
    assert root.tag in ("div", "article", "section", "main", "blockquote")


def test_chrome_stays_out_and_structure_stays_in() -> None:
    got = extract_page(page("en_news_harbor"), url=URL)
    for chrome in (
        "cookies",
        "Share on Facebook",
        "Most read",
        "morning briefing",
        "harborwatcher",
    ):
        assert chrome not in got.text
    assert "<blockquote>" in got.html and "<li>" in got.html and "<figcaption>" in got.html
    assert got.text.startswith("PORT MERIDIAN")  # the headline above the body is not text
    zh = extract_page(page("zh_portal_bikes"), url=URL)
    for chrome in ("网友评论", "热点排行", "延伸阅读", "分享到", "责任编辑", "版权所有"):
        assert chrome not in zh.text
    assert zh.text.endswith("（编辑：张晓华）")


def _harbor_variant(kind: str) -> bytes:
    html = page("en_news_harbor").decode("utf-8")
    start = html.index('<div class="story-body">') + len('<div class="story-body">')
    body = html[start : html.index('</div>\n<div class="newsletter')]
    if kind == "comments":  # 60 comments whose boxes are not named "comment"
        one = re.search(r'<li class="comment-item">.*?</li>', html, re.S)
        assert one is not None
        return html.replace(one.group(0), one.group(0) * 60).replace("comment", "cmt").encode()
    if kind == "nested":  # every paragraph two boxes deep
        new = re.sub(
            r"<p>(.*?)</p>", r'<div class="para"><div class="in"><p>\1</p></div></div>', body
        )
    else:  # the body split into boxes of the same kind
        parts = body.split("<h2>")
        new = "".join(
            f'<div class="col"><div>{"<h2>" if i else ""}{part}</div></div>'
            for i, part in enumerate(parts)
        )
    return html.replace(body, new).encode()


@pytest.mark.parametrize("kind", ["comments", "nested", "columns"])
def test_density_survives_layout_variants(kind: str) -> None:
    got = extract_page(_harbor_variant(kind), url=URL)
    assert word_f1(got.text, ref("en_news_harbor")) >= 0.97


def test_metadata_from_meta_tags() -> None:
    got = extract_page(page("en_news_harbor"), url=URL)
    assert got.title == "Council approves plan to reopen north harbor to the public"
    assert got.author == "Nora Castillo"
    assert got.published == datetime(2024, 5, 21, 22, 15, tzinfo=UTC)
    assert got.image == "https://cdn.example.com/harbor/lead.jpg"
    zh = extract_page(page("zh_tw_wire_weather"), url=URL)
    assert zh.published == datetime(2024, 11, 15, 6, 20, tzinfo=UTC)
    assert zh.title == "東北季風增強 北部明起轉涼早晚溫差大"  # <h1>, not "… | 示例通訊社"


def test_legacy_charset_is_decoded() -> None:
    html = page("zh_gov_flood").decode("utf-8").replace('charset="utf-8"', 'charset="gbk"')
    got = extract_page(html.encode("gb18030"), url=URL)
    assert word_f1(got.text, ref("zh_gov_flood")) >= 0.97
    paragraphs = "".join(f"<p>{line}</p>" for line in ref("zh_tw_wire_weather").splitlines())
    big5 = f"<html><head><title>天氣</title></head><body><div>{paragraphs}</div></body></html>"
    got = extract_page(big5.encode("big5hkscs"), url=URL, header_charset="big5")
    assert got.text == ref("zh_tw_wire_weather").strip()


def test_content_selector_wins_and_remove_selectors_apply() -> None:
    body = page("zh_portal_bikes")
    got = extract_page(body, url=URL, content_selector="div.post-info")
    assert got.method == "selector"
    assert got.text == "2024-06-12 09:30:00 来源：示例社 作者：王小明"
    missing = extract_page(body, url=URL, content_selector="div.no-such-box")
    assert missing.method == "density" and "隔离墩" in missing.text
    trimmed = extract_page(body, url=URL, remove_selectors=("blockquote", ".pic-note"))
    assert "我们不是要把汽车赶走" not in trimmed.text
    assert "浅绿色" not in trimmed.text and "隔离墩" in trimmed.text
    with pytest.raises(ItemError) as err:
        extract_page(body, url=URL, content_selector="div[")
    assert err.value.reason == "bad_selector" and err.value.url == URL


def test_stray_closing_html_tag_does_not_hide_the_article() -> None:
    body = page("zh_gov_flood").replace(b'<tr><td colspan="2" class="banner">', b"</html>", 1)
    got = extract_page(body, url=URL)
    assert word_f1(got.text, ref("zh_gov_flood")) >= 0.97


def test_pages_without_article_text_fail_with_reason() -> None:
    for body in (b"", b"   ", b"<html><body><nav><a href='/'>Home</a></nav></body></html>"):
        with pytest.raises(ItemError) as err:
            extract_page(body, url=URL)
        assert err.value.reason == "fulltext_failed"
        assert err.value.url == URL
        assert "\n" not in str(err.value)


def test_page_of_short_lines_falls_back_to_trafilatura() -> None:
    lines = ["Rain on roof,", "tea in cup,", "letter unread,", "lamp still up."]
    body = "<html><body><div class='poem'>" + "".join(f"<p>{x}</p>" for x in lines)
    got = extract_page((body + "</div></body></html>").encode(), url=URL)
    assert got.method == "trafilatura"  # no line is long enough to count as prose
    assert got.text == "\n".join(lines)


# ---------------------------------------------------------------- is_summary


@pytest.mark.parametrize(
    "html",
    [
        "<p>河川市交通局今天宣布，全市第二期自行车专用道工程将于下月动工。</p>",
        "<p>" + "很长的句子，" * 60 + "……</p>",
        "<p>" + "很长的句子，" * 60 + '</p><p><a href="/a">閱讀全文</a></p>',
        "<p>" + "A long sentence, " * 30 + "and more...</p>",
        "<p>" + "A long sentence, " * 30 + '<a href="/a">Continue reading</a></p>',
        "<p>The council voted on Tuesday to approve the harbor plan.</p>",
        "",
    ],
)
def test_summaries_are_recognised(html: str) -> None:
    assert is_summary(html, html_to_text(html)) is True


def test_full_articles_are_not_summaries() -> None:
    for name in ("zh_portal_bikes", "en_news_harbor", "zh_tw_wire_weather", "en_science_stars"):
        text = ref(name)
        assert is_summary("<p>" + text.replace("\n", "</p><p>") + "</p>", text) is False, name


def test_corpus_full_text_posts_and_summary_feeds() -> None:
    corpus = corpus_or_skip()
    total = flagged = 0
    for post in sorted((corpus / "posts").iterdir()):
        body = post.read_text(encoding="utf-8", errors="replace").split("\n---", 1)[-1]
        text = html_to_text(body)
        if len(text) > 300:
            total += 1
            flagged += is_summary(body, text)
    assert total > 300
    assert flagged / total <= 0.05
    for name, expected in (("bbc.xml", 66), ("dw.xml", 85)):
        raw = (corpus / "feeds" / "greatfire" / name).read_bytes()
        feed = parse_feed(raw, source="t", url="https://example.com/feed")
        flags = [is_summary(e.content or e.summary, "") for e in feed.entries]
        assert len(flags) == expected and all(flags), name


_TAIL_CHARS = "…。.⋯])）」』】>»›「 \n\u3000\xa0a字"


@given(st.text(alphabet=_TAIL_CHARS, max_size=14), st.text(alphabet=_TAIL_CHARS, max_size=14))
@settings(max_examples=500, deadline=None)
def test_the_ellipsis_is_looked_for_only_at_the_end(head: str, tail: str) -> None:
    """is_summary searches for a closing ellipsis from near the end only: it finds one
    exactly when a search of the whole text does (ellipses, closers and whitespace of
    every kind, in any order, after a long text)."""
    text = "很長的句子，" * 50 + head + tail
    whole = extract._ELLIPSIS_END.search(text)
    assert bool(extract._ELLIPSIS_END.search(text, extract._ellipsis_from(text))) == bool(whole)
    if whole:
        assert is_summary("", text) is True


# ---------------------------------------------------------------- quality (acceptance)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def test_quality_on_synthetic_pages_beats_plain_trafilatura() -> None:
    import trafilatura

    pages = synthetic_pages()
    ours = [word_f1(extract_page(p.read_bytes(), url=URL).text, r) for p, r in pages]
    plain = [word_f1(trafilatura.extract(p.read_bytes()) or "", r) for p, r in pages]
    assert _mean(ours) >= _mean(plain)
    assert _mean(ours) >= 0.97


def test_quality_on_corpus_pages_beats_plain_trafilatura() -> None:
    import trafilatura

    corpus = corpus_or_skip()
    ours, plain = [], []
    for r in REFS:
        body = (corpus / "pages" / r.path).read_bytes()
        reference = reference_text(body.decode("utf-8"), r)
        ours.append(word_f1(extract_page(body, url=URL).text, reference))
        plain.append(word_f1(trafilatura.extract(body) or "", reference))
    assert _mean(ours) >= _mean(plain)
    assert _mean(ours) >= 0.95


# ---------------------------------------------------------------- ExtractPool


def crash_on_boom(body: bytes, **kw: object) -> Extracted:
    """Pool function for the tests: kills its worker process on b"boom"."""
    if body == b"boom":
        os._exit(3)
    return extract_page(body, **kw)  # type: ignore[arg-type]


def test_in_process_pool_matches_extract_page() -> None:
    body = page("zh_blog_egrets")
    with ExtractPool(0) as pool:
        got = asyncio.run(pool.extract(body, url=URL))
        assert got == extract_page(body, url=URL)
        with pytest.raises(ItemError) as err:
            asyncio.run(pool.extract(b"", url=URL))
    assert err.value.reason == "fulltext_failed" and err.value.url == URL


def test_worker_pool_results_errors_and_crashes() -> None:
    body = page("en_opinion_maps")

    async def scenario() -> None:
        with ExtractPool(2, func=crash_on_boom) as pool:
            results = await asyncio.gather(
                pool.extract(body, url=URL),
                pool.extract(b"", url=URL),
                return_exceptions=True,
            )
            assert results[0] == extract_page(body, url=URL)
            assert isinstance(results[1], ItemError)
            assert results[1].reason == "fulltext_failed" and results[1].url == URL
            with pytest.raises(ItemError) as err:
                await pool.extract(b"boom", url=URL)
            assert err.value.reason == "worker_crashed"
            again = await pool.extract(body, url=URL)  # the pool was recreated
            assert again.text == results[0].text

    asyncio.run(scenario())


def test_pool_defaults_to_one_worker_per_cpu() -> None:
    assert ExtractPool().workers == (os.cpu_count() or 1)
    assert ExtractPool(0).workers == 0


def test_pool_function_named_as_module_and_name_is_imported_when_used() -> None:
    page = b"<html><body><article><p>" + "長文。".encode() * 40 + b"</p></article></body></html>"
    named = ExtractPool(0, func="newsmirror.extract:extract_page")
    assert named._func_ref == "newsmirror.extract:extract_page"  # not imported yet
    got = asyncio.run(named.extract(page, url="http://a.test/1"))
    assert named._func_ref is extract_page
    assert got == asyncio.run(ExtractPool(0).extract(page, url="http://a.test/1"))


ORPHAN_SCRIPT = """
import asyncio, os, sys, time
from newsmirror.extract import ExtractPool

async def main():
    pool = ExtractPool(2)
    await asyncio.gather(*(pool.extract(b"<p>x</p>", url="http://a.test/") for _ in range(4)))
    print(" ".join(map(str, pool.pids())), flush=True)
    time.sleep(60)

asyncio.run(main())
"""


def test_pool_workers_exit_when_their_run_is_killed() -> None:
    import signal
    import subprocess
    import sys
    import time

    proc = subprocess.Popen([sys.executable, "-c", ORPHAN_SCRIPT], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    pids = [int(p) for p in proc.stdout.readline().split()]
    assert len(pids) == 2 and all(_alive(p) for p in pids)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 30  # a bound, not a speed claim: the watch polls every second
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(p) for p in pids), "pool workers outlived the killed run"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


# ---------------------------------------------------------------- the page's characters


@given(st.binary(max_size=40), st.sampled_from([b"", b"\xef\xbf\xbe", b"\xef\xbf\xbf", b"\x07", b"\xed\xa0\x80", b"\xef\xbb\xbf"]))
@settings(max_examples=300, deadline=None)
def test_utf8_byte_check_agrees_with_the_character_regex(noise: bytes, seq: bytes) -> None:
    """The byte scan that lets a UTF-8 page skip the regex finds what the regex would."""
    for body in (noise + seq, seq + noise, noise[:5] + seq + noise[5:]):
        text = body.decode("utf-8", errors="replace")
        assert extract._utf8_has_bad_chars(body) == bool(extract._BAD_CHARS.search(text)), body


def test_page_with_control_characters_extracts_as_before() -> None:
    prose = "雨落在屋頂上，茶在杯中慢慢變涼，信還沒有拆開，燈一直亮到天明。" * 3
    body = f"<html><body><article><p>{prose}\x07\ufffe</p></article></body></html>".encode()
    got = extract_page(body, url=URL)
    assert "\x07" not in got.text and "\ufffe" not in got.text
    assert prose[:20] in got.text


def _same_as_a_parse_of_the_html(body: bytes) -> None:
    found = extract.extract_parsed(body, url=URL)
    html = extract_page(body, url=URL).html
    as_parsed = parse_fragment(html)
    assert as_parsed is not None
    assert tostring(found.fragment, encoding="unicode") == tostring(as_parsed, encoding="unicode")


@pytest.mark.parametrize("name", sorted(p.stem for p in FIXTURE_PAGES.glob("*.html")))
def test_the_tree_handed_to_cleaning_is_a_parse_of_the_extracted_html(name: str) -> None:
    """page_job cleans extract_parsed's tree, with no serialization and parse between:
    it is the tree that parsing extract_page's HTML gives."""
    _same_as_a_parse_of_the_html(page(name))


@given(st.integers(0, 0x11_0000), st.sampled_from(["&#{};", "&#x{:x};", "&#X{:04X}", "&#{:06d};"]))
@settings(max_examples=400, deadline=None)
def test_character_references_the_parse_would_change_are_found(point: int, form: str) -> None:
    """A reference that makes a character the fragment parse refuses or drops (C0/C1
    controls, CR, surrogates, U+FFFE/U+FFFF) sends the content through that parse, so
    the tree is the same either way."""
    prose = "雨落在屋頂上，茶在杯中慢慢變涼，信還沒有拆開，燈一直亮到天明。" * 2
    ref = form.format(point)
    body = f"<html><body><article><p>{prose}{ref}。</p><p>{prose}</p></article></body></html>"
    _same_as_a_parse_of_the_html(body.encode())


def _rss_kb() -> int:
    status = Path("/proc/self/status")
    if not status.exists():
        pytest.skip("no /proc/self/status here")
    line = next(x for x in status.read_text().splitlines() if x.startswith("VmRSS:"))
    return int(line.split()[1])


def test_extracted_content_does_not_keep_its_page_alive() -> None:
    """What is left of a page once its content is taken out is freed: with the content
    moved alone into a <body> made elsewhere it was not, and a worker grew by a page's
    tree at every page (24 MB over these 800 pages; now nothing)."""
    bodies = [page("zh_portal_bikes"), page("en_news_harbor")]
    for body in bodies * 25:
        extract.extract_parsed(body, url=URL)
    before = _rss_kb()
    for body in bodies * 400:
        extract.extract_parsed(body, url=URL)
    assert _rss_kb() - before < 5_000
