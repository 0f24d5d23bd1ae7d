"""parse_feed: every feed format → ParsedFeed; ill-formed input recovered; hostile input harmless."""

from __future__ import annotations

import os
import re
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsmirror.errors import InvalidFeedError, NotAFeedError, ParseError
from newsmirror.models import Entry, FeedResponse, ParsedFeed
from newsmirror.parse import parse_feed, parse_response

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "feeds"
URL = "https://fixture.example/feeds/feed.xml"


def corpus_dir() -> Path:
    env = os.environ.get("NEWSMIRROR_CORPUS")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "corpus"


def fixture(name: str, url: str = URL) -> ParsedFeed:
    return parse_feed((FIXTURES / name).read_bytes(), source="demo", url=url)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def fields(feed: ParsedFeed) -> list[str]:
    """Every string the parser produced, for leak checks."""
    out = [feed.title, feed.link, *feed.warnings]
    for e in feed.entries:
        out += [e.guid, e.link, e.title, e.summary, e.content, *e.categories, *e.authors]
    return out


def test_rss091() -> None:
    feed = fixture("rss091.xml")
    assert (feed.format, feed.title, feed.link) == (
        "rss091",
        "示例晚报 & 新闻",
        "https://news.example.org/",
    )
    assert not feed.recovered  # the external DTD is neither loaded nor an error
    first, second = feed.entries
    assert first.title == "市政府宣布新公园开放 & 免费入场"  # tags stripped, entities decoded
    assert first.link == "https://fixture.example/2024/07/park.html"  # relative → absolute
    assert first.guid == first.link
    assert first.content == first.summary == "<p>城东的新公园今天正式开放，市民可以免费参观。</p>"
    assert first.published is None
    assert second.title == "图书馆延长 开放时间"  # whitespace collapsed


def test_rss10_rdf() -> None:
    feed = fixture("rss10.rdf")
    assert (feed.format, feed.title) == ("rss10", "合成 RDF 频道")
    a, b = feed.entries
    assert a.link == "https://rdf.example.org/河流治理/a-1001"
    assert a.published == utc(2024, 7, 21, 13, 13, 3)
    assert (a.categories, a.authors) == (("环境",), ("李明",))
    assert b.link == b.guid == "https://rdf.example.org/a-1002"  # rdf:about fallback
    assert b.published == utc(2024, 7, 20)
    assert b.categories == ("天气", "环境")


def test_rss20_content_encoded() -> None:
    feed = fixture("rss20.xml")
    assert (feed.format, feed.title, feed.link) == (
        "rss20",
        "测试博客",
        "https://blog.example.com/",
    )
    first, second, third = feed.entries
    assert first.content == "<p>春天来了，花开了。</p><p>这是<b>全文</b>的第二段。</p>"
    assert first.summary == "<p>春天来了，这是摘要。</p>"
    assert first.link == "https://blog.example.com/zh/posts/spring.html"  # channel xml:base
    assert first.guid == "post-0001"
    assert first.published == utc(2024, 7, 21, 5, 13, 3)
    assert first.categories == ("散文", "生活")  # duplicates dropped, order kept
    assert first.authors == ("王小红",)  # "email (Name)" → Name
    assert first.source == "demo" and first.updated is None
    # no <link>: the permalink guid is the link; misspelled day name still dated
    assert second.link == second.guid == "https://blog.example.com/zh/posts/guid-only.html"
    assert second.published == utc(2024, 7, 24, 9)
    assert second.authors == ("张伟",)
    assert second.content == second.summary
    # feedburner:origLink beats the redirecting <link>
    assert third.link == "https://blog.example.com/zh/posts/third.html"
    assert third.published == utc(2024, 7, 25, 8, 30)


def test_atom03() -> None:
    feed = fixture("atom03.xml")
    assert (feed.format, feed.title, feed.link) == (
        "atom03",
        "旧式 Atom 0.3 频道",
        "https://old.example.net/",
    )
    a, b = feed.entries
    assert a.content == "<p>这是<em>转义</em>的 HTML。</p>"
    assert a.summary == "纯文本摘要 &lt;不是标签&gt;"  # text/plain stays text: escaped
    assert a.published == utc(2024, 7, 21, 10)  # issued
    assert a.updated == utc(2024, 7, 21, 11, 30)  # modified
    assert a.authors == ("老编辑",)  # inherited from the feed
    assert b.content == "<p>内联的 <strong>XHTML</strong> 内容。</p>"
    assert b.link == "https://old.example.net/2024/xml"


def test_atom10_xhtml() -> None:
    feed = fixture("atom10.xml")
    assert (feed.format, feed.title, feed.link) == (
        "atom10",
        "原子频道",
        "https://atom.example.com/",
    )
    a, b = feed.entries
    assert a.title == "标题里的 & 符号 <原样>"  # type=text: literal, not markup
    assert (
        a.link == "https://atom.example.com/base/articles/xhtml-entry"
    )  # rel=alternate + xml:base
    assert a.guid == "tag:atom.example.com,2024:entry-1"
    assert a.content == '<p>第一段，含有<a href="/x">链接</a>。</p><p>第二段 &amp; 结尾</p>'
    assert "xmlns" not in a.content and "<div" not in a.content
    assert a.summary == "<p>一段 HTML 摘要</p>"
    assert a.published == datetime(2024, 7, 21, 5, 13, 3, 500000, tzinfo=UTC)
    assert a.updated == utc(2024, 7, 22)
    assert a.categories == ("科技", "science")  # label, else term
    assert a.authors == ("赵六", "钱七")
    assert b.title == "只有更新时间"  # xhtml title → plain text
    assert b.link == "https://other.example.org/section/item-two.html"  # entry xml:base
    assert b.published == b.updated == utc(2024, 7, 20, 12)  # published falls back to updated
    assert b.content == "纯文本内容 &lt;script&gt; 不应被当作标签"
    assert b.authors == ("频道作者",)


def test_json_feed() -> None:
    feed = fixture("jsonfeed11.json", url="https://json.example.com/feed.json")
    assert (feed.format, feed.title, feed.link) == (
        "json11",
        "示例 JSON 订阅",
        "https://json.example.com/",
    )
    assert len(feed.entries) == 2 and feed.warnings  # the non-object item is skipped, reported
    a, b = feed.entries
    assert (a.guid, a.link, a.title) == (
        "1001",
        "https://json.example.com/posts/1001",
        "JSON 条目一",
    )
    assert a.content == "<p>第一条的 <em>HTML</em> 正文</p>"
    assert a.summary == "第一条摘要"
    assert (a.published, a.updated) == (utc(2024, 7, 21, 5, 13, 3), utc(2024, 7, 21, 6))
    assert (a.categories, a.authors) == (("要闻", "国际"), ("孙八",))
    assert (b.guid, b.link) == ("1002", "https://json.example.com/posts/1002")
    assert b.content == "纯文本 &lt;正文&gt; 第二条"
    assert b.published == utc(2024, 7, 20, 8)
    assert b.authors == ("频道主编",)


def test_json_feed_10() -> None:
    body = (
        '{"version": "https://jsonfeed.org/version/1", "title": "T", "author": {"name": "甲"},'
        ' "items": [{"id": "x", "url": "https://j.example/x", "title": "一",'
        ' "content_text": "文", "author": {"name": "乙"}}]}'
    ).encode()
    feed = parse_feed(body, source="j", url="https://j.example/feed.json")
    assert feed.format == "json10"
    assert feed.entries[0].authors == ("乙",)


@pytest.mark.parametrize(
    ("body", "fmt"),
    [
        (
            b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
            b' xmlns="http://my.netscape.com/rdf/simple/0.9/"><channel><title>C</title>'
            b"<link>http://o.example/</link></channel>"
            b"<item><title>\xe6\x97\xa7</title><link>http://o.example/1</link></item></rdf:RDF>",
            "rss090",
        ),
        (
            b'<rss version="0.92"><channel><title>C</title><item><title>\xe6\x97\xa7</title>'
            b"<link>http://o.example/1</link></item></channel></rss>",
            "rss092",
        ),
        (
            b"<feed><title>C</title><entry><title>\xe6\x97\xa7</title>"
            b'<link href="http://o.example/1"/><updated>2024-07-21T00:00:00Z</updated></entry></feed>',
            "atom10",
        ),
    ],
)
def test_other_versions(body: bytes, fmt: str) -> None:
    feed = parse_feed(body, source="o", url="u")
    assert (feed.format, feed.title) == (fmt, "C")
    assert [(e.title, e.link) for e in feed.entries] == [("旧", "http://o.example/1")]


@pytest.mark.parametrize(
    ("name", "title", "item_title", "text"),
    [
        ("gbk.xml", "简体中文频道（国标编码）", "朱镕基式的改革话题讨论会", "包含“镕”这个"),
        ("big5.xml", "繁體中文頻道（大五碼）", "香港街坊講嘅故事", "香港增補字符集嘅字"),
        ("lying.xml", "声明说国标，其实是统一码", "编码声明不可信的条目", "实际字节是 UTF-8"),
    ],
)
def test_legacy_and_lying_charsets(name: str, title: str, item_title: str, text: str) -> None:
    feed = fixture(name)
    assert feed.title == title
    (entry,) = feed.entries
    assert entry.title == item_title
    assert text in entry.content
    assert not any("\ufffd" in s for s in fields(feed))


def test_gbk_chinese_date_and_lie_warning() -> None:
    assert fixture("gbk.xml").entries[0].published == utc(2024, 7, 21, 13, 13)
    assert fixture("big5.xml").entries[0].published == utc(2024, 7, 21, 5, 13, 3)  # HKT
    assert any("gb18030" in w and "utf-8" in w for w in fixture("lying.xml").warnings)


def test_header_charset_and_parse_response() -> None:
    body = '<rss version="2.0"><channel><title>頻道</title><item><title>標題</title><link>/a</link></item></channel></rss>'
    resp = FeedResponse(
        url="http://old.example/feed", final_url="https://new.example/x/feed", status=200,
        body=body.encode("big5"), charset="big5",
    )  # fmt: skip
    feed = parse_response(resp, source="r")
    assert feed.title == "頻道"
    assert feed.entries[0].title == "標題"
    assert feed.entries[0].link == "https://new.example/a"  # resolved against the final URL


@pytest.mark.parametrize(
    "body",
    [
        b"<!DOCTYPE html><html><head><title>x</title></head><body><p>hi</body></html>",
        b"\n\n<html lang='zh'><body>page</body></html>",
        b'<?xml version="1.0"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "x">'
        b'<html xmlns="http://www.w3.org/1999/xhtml"><body/></html>',
        b"<!-- a comment --><HTML><BODY>x</BODY></HTML>",
    ],
)
def test_html_page_is_not_a_feed(body: bytes) -> None:
    with pytest.raises(NotAFeedError, match="got an HTML page, not a feed") as info:
        parse_feed(body, source="s", url="https://s.example/feed")
    assert (info.value.reason, info.value.source, info.value.url) == (
        "not_a_feed", "s", "https://s.example/feed",
    )  # fmt: skip


def test_corpus_html_page_is_not_a_feed() -> None:
    page = corpus_dir() / "pages" / "gne" / "tests" / "163" / "9.html"
    if not page.is_file():
        pytest.skip("corpus not available")
    with pytest.raises(NotAFeedError):
        parse_feed(page.read_bytes(), source="s", url="https://s.example/")


@pytest.mark.parametrize(
    "body", [b"", b"   \n\t ", b"\xef\xbb\xbf", b"hello world", b"/etc/passwd"]
)
def test_empty_or_garbage_is_invalid_xml(body: bytes) -> None:
    with pytest.raises(InvalidFeedError) as info:
        parse_feed(body, source="s", url="u")
    assert info.value.reason == "invalid_xml"


def test_other_xml_and_json() -> None:
    with pytest.raises(NotAFeedError, match="<note>"):
        parse_feed(b"<note><to>x</to></note>", source="s", url="u")
    with pytest.raises(InvalidFeedError) as info:
        parse_feed(b'{"items": [', source="s", url="u")
    assert info.value.reason == "invalid_json"
    with pytest.raises(NotAFeedError):
        parse_feed(b'{"a": 1}', source="s", url="u")
    with pytest.raises(NotAFeedError):
        parse_feed(b"[1, 2]", source="s", url="u")


def test_html_entities_and_bare_ampersands_are_repaired() -> None:
    body = (
        b'<rss version="2.0"><channel><title>AT&T &amp; Co</title>'
        b"<item><title>A&nbsp;B &mdash; C</title><link>http://a.example/1?x=1&y=2</link>"
        b"<description>&lt;p&gt;a&nbsp;b &amp;amp; c&lt;/p&gt;</description></item>"
        b"<item><title><![CDATA[D&E&nbsp;F]]></title><link>http://a.example/2</link></item>"
        b"</channel></rss>"
    )
    feed = parse_feed(body, source="s", url="u")
    assert feed.recovered
    assert any("repaired (rewrote 7 HTML entities or bare ampersands)" in w for w in feed.warnings)
    assert feed.title == "AT&T & Co"
    first, second = feed.entries
    assert (first.title, first.link) == ("A B \u2014 C", "http://a.example/1?x=1&y=2")
    assert first.summary == "<p>a\u00a0b &amp; c</p>"  # still the same HTML
    assert second.title == "D&E F"  # CDATA is rewritten too, with the same meaning as HTML


def test_control_characters_are_removed() -> None:
    body = b'<rss version="2.0"><channel><item><title>a\x0bb\x1f</title><link>http://a.example/1</link></item></channel></rss>'
    feed = parse_feed(body, source="s", url="u")
    assert feed.recovered and feed.entries[0].title == "ab"
    assert any("control characters" in w for w in feed.warnings)


def test_broken_structure_is_recovered_by_lxml() -> None:
    body = (
        b'<rss version="2.0"><channel><title>T</title>'
        b"<item><title>A</title><link>http://a.example/1</link><b></item>"
        b"<item><title>C</title><link>http://a.example/2</link></item></channel>"
    )  # an unclosed <b>, no </rss>
    feed = parse_feed(body, source="s", url="u")
    assert feed.recovered
    assert any("recovered by lxml" in w for w in feed.warnings)
    assert [(e.title, e.link) for e in feed.entries] == [
        ("A", "http://a.example/1"), ("C", "http://a.example/2"),
    ]  # fmt: skip


def test_feedparser_is_the_last_resort() -> None:
    # lxml's recover mode finds no <item> in this soup; feedparser's loose parser does
    body = (
        b'<rss version="2.0"><channel><title>Soup</title>'
        b"<ITEM><title>One</title><link>http://a.example/1</link></ITEM>"
        b"<ITEM><title>Two</title><link>http://a.example/2</link></ITEM></channel></rss>"
        b"</channel>"
    )
    feed = parse_feed(body, source="s", url="u")
    assert feed.recovered
    assert any("feedparser" in w for w in feed.warnings)
    assert [(e.title, e.link) for e in feed.entries] == [
        ("One", "http://a.example/1"), ("Two", "http://a.example/2"),
    ]  # fmt: skip


def test_xxe_does_not_leak_local_files(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET-7f3a9c")
    uri = secret.as_uri().encode()
    dtd = b'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "' + uri + b'">]>'
    well_formed = (
        b'<?xml version="1.0"?>' + dtd + b'<rss version="2.0"><channel><title>&xxe;</title>'
        b"<item><title>t &xxe;</title><description>&xxe;</description>"
        b"<link>http://a.example/&xxe;</link></item></channel></rss>"
    )
    ill_formed = well_formed.replace(b"</title><description>", b"<description>")
    param = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY % p SYSTEM "' + uri + b'"> %p;]>'
        b'<rss version="2.0"><channel><item><title>x</title></item></channel></rss>'
    )
    for body in (well_formed, ill_formed, param):
        try:
            feed = parse_feed(body, source="s", url="u")
        except ParseError:
            continue
        assert not any("TOPSECRET" in s for s in fields(feed))
    assert parse_feed(well_formed, source="s", url="u").entries  # it was still read


def _bomb(ill_formed: bool) -> bytes:
    ents = b'<!ENTITY lol "lollollollollollollollollollol">'
    for i in range(1, 10):
        ref = b"&lol;" if i == 1 else b"&lol%d;" % (i - 1)
        ents += b'<!ENTITY lol%d "%s">' % (i, ref * 10)
    close = b"" if ill_formed else b"</title>"
    return (
        b'<?xml version="1.0"?><!DOCTYPE rss [' + ents + b']><rss version="2.0"><channel>'
        b"<item><title>&lol9;" + close + b"<link>http://a.example/1</link></item>"
        b"</channel></rss>"
    )


@pytest.mark.parametrize("ill_formed", [False, True])
def test_entity_bomb_does_not_expand(ill_formed: bool) -> None:
    start = time.perf_counter()
    try:
        feed = parse_feed(_bomb(ill_formed), source="s", url="u")
    except ParseError:
        feed = None
    assert time.perf_counter() - start < 2
    if feed is not None:
        assert all(len(s) < 10_000 for s in fields(feed))


def test_feedparser_never_reads_a_path_or_url(tmp_path: Path) -> None:
    secret = tmp_path / "feed.xml"
    secret.write_text(
        '<rss version="2.0"><channel><item><title>LEAKED</title></item></channel></rss>'
    )
    for body in (str(secret).encode(), secret.as_uri().encode(), b"<" + str(secret).encode()):
        try:
            feed = parse_feed(body, source="s", url="u")
        except ParseError:
            continue
        assert not any("LEAKED" in s for s in fields(feed))


FEEDISH = st.sampled_from(
    [b"", b"<rss>", b"<rss version='2.0'><channel><item><title>", b"<feed xmlns='http://www.w3.org/2005/Atom'><entry>",
     b"<?xml version='1.0' encoding='gbk'?>", b"{", b'{"items": [', b"<html>", b"</item>", b"&", b"<![CDATA["]
)  # fmt: skip


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.one_of(FEEDISH, st.binary(max_size=40)), max_size=8),
    st.sampled_from(["", "gbk", "utf-8", "x"]),
)
def test_any_bytes_give_a_feed_or_a_parse_error(parts: list[bytes], charset: str) -> None:
    body = b"".join(parts)
    try:
        feed = parse_feed(body, source="s", url="https://h.example/f", header_charset=charset)
    except ParseError as exc:
        assert exc.reason in {"not_a_feed", "invalid_xml", "invalid_json"}
        return
    assert isinstance(feed, ParsedFeed)
    assert all(isinstance(e, Entry) for e in feed.entries)


def corpus_feeds() -> list[Path]:
    return sorted((corpus_dir() / "feeds").glob("*/*.*"))


@pytest.fixture(params=corpus_feeds() or [None], ids=lambda p: p.name if p else "absent")
def corpus_feed(request: pytest.FixtureRequest) -> Path:
    if request.param is None:
        pytest.skip("corpus not available")
    return request.param


def test_corpus_feed_parses_like_feedparser(corpus_feed: Path) -> None:
    body = corpus_feed.read_bytes()
    feed = parse_feed(body, source="corpus", url="https://feeds.example/feed.xml")
    assert not feed.recovered and feed.warnings == ()
    independent = feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False)
    assert len(feed.entries) == len(independent.entries) > 0
    for e in feed.entries:
        assert e.title.strip(), e
        parts = urlsplit(e.link)
        assert parts.scheme in {"http", "https"} and parts.netloc, e.link
        assert e.guid and e.published is not None and e.published.tzinfo is UTC
    with_body = sum(1 for e in feed.entries if e.content)
    assert with_body >= 0.7 * len(feed.entries)  # DW leaves some descriptions out


def test_corpus_feeds_never_need_feedparser(monkeypatch: pytest.MonkeyPatch) -> None:
    paths = corpus_feeds()
    if not paths:
        pytest.skip("corpus not available")

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("feedparser used on a well-formed feed")

    monkeypatch.setattr(feedparser, "parse", boom)
    for path in paths:
        assert parse_feed(path.read_bytes(), source="c", url="https://f.example/").entries


def test_dapenti_invalid_day_names_still_give_dates() -> None:
    paths = sorted((corpus_dir() / "feeds" / "dapenti").glob("*.xml"))
    if not paths:
        pytest.skip("corpus not available")
    checked = 0
    for path in paths:
        raw = path.read_text(encoding="utf-8")
        bad = re.findall(r"<pubDate>(Wes, [^<]+)</pubDate>", raw)
        published = {e.published for e in parse_feed(raw.encode(), source="d", url="u").entries}
        for value in bad:
            expected = parsedate_to_datetime(value.replace("Wes,", "Wed,")).astimezone(UTC)
            assert expected in published, value
            checked += 1
    assert checked >= 15  # 4–5 per file


def test_corpus_dw_rdf_and_bbc_atom_details() -> None:
    dw, bbc = (
        corpus_dir() / "feeds" / "greatfire" / "dw.xml",
        corpus_dir() / "feeds" / "greatfire" / "bbc.xml",
    )
    if not (dw.is_file() and bbc.is_file()):
        pytest.skip("corpus not available")
    feed = parse_feed(dw.read_bytes(), source="dw", url="https://f.example/")
    assert feed.format == "rss10" and len(feed.entries) == 85
    assert any("/a-" in e.link and not e.link.isascii() for e in feed.entries)  # raw Chinese URLs
    feed = parse_feed(bbc.read_bytes(), source="bbc", url="https://f.example/")
    assert feed.format == "atom10" and len(feed.entries) == 66
    assert all(e.authors == ("BBC Chinese",) for e in feed.entries)  # inherited from the feed
    assert all(e.updated is not None for e in feed.entries)
