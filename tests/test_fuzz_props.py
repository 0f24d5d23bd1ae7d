"""Property tests (Hypothesis) for parse, clean and render: any bytes in, no crash; the
clean stage's output is inert and a fixed point; rendered front matter always parses
back to the same values. The long, coverage-guided form is ``chaos/fuzz_atheris.py``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from lxml import html as lxml_html

from newsmirror.clean import CleanOptions, clean_html, clean_title
from newsmirror.clean_text import html_to_text
from newsmirror.errors import ItemError, ParseError
from newsmirror.models import Article
from newsmirror.parse import parse_feed
from newsmirror.postfile import render_post
from newsmirror.postfile_record import parse_post

FAST = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ---- parse --------------------------------------------------------------------------------

XML_BITS = st.sampled_from([
    b'<?xml version="1.0" encoding="utf-8"?>', b'<?xml version="1.0" encoding="gb2312"?>',
    b'<rss version="2.0">', b"<channel>", b"<item>", b"</item>", b"<title>", b"</title>",
    b"<link>http://127.0.0.1/a</link>", b"<description>&lt;p&gt;x&lt;/p&gt;</description>",
    b'<feed xmlns="http://www.w3.org/2005/Atom">', b"<entry>", b"</entry>", b"<![CDATA[",
    b"]]>", b"&amp;", b"&nbsp;", b"&#0;", b"&#xD800;", b"<!DOCTYPE x [<!ENTITY e 'x'>]>", b"&e;",
    b"\xe4\xb8\xad\xe6\x96\x87", b"\xd6\xd0\xce\xc4", b"\x00", b"\xff\xfe", b"{", b'"items":[',
    b'{"version":"https://jsonfeed.org/version/1.1","items":[{"id":1,"title":"t"}]}', b"<html>",
])  # fmt: skip
FEEDISH = st.lists(st.one_of(XML_BITS, st.binary(max_size=12)), max_size=30).map(b"".join)


@FAST
@given(st.one_of(st.binary(max_size=2000), FEEDISH), st.sampled_from(["", "utf-8", "big5", "x"]))
@example(b"", "")
@example(b"\xef\xbb\xbf<rss><channel><item><title>a", "utf-8")
def test_parse_any_bytes_gives_a_feed_or_a_parse_error(body: bytes, charset: str) -> None:
    try:
        feed = parse_feed(body, source="fz", url="http://127.0.0.1/feed", header_charset=charset)
    except ParseError as e:
        assert e.reason in ("not_a_feed", "invalid_xml", "invalid_json") and "\n" not in str(e)
        return
    for entry in feed.entries:
        assert entry.source == "fz" and "\n" not in entry.title


@FAST
@given(st.lists(st.tuples(st.text(max_size=60), st.text(max_size=200)), min_size=1, max_size=5))
def test_generated_rss_keeps_every_item_and_title(items: list[tuple[str, str]]) -> None:
    def x(s: str) -> str:
        s = re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", "", s)
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    body = "".join(
        f"<item><title>{x(t)}</title><link>http://127.0.0.1/{i}</link>"
        f"<description>{x(d)}</description></item>"
        for i, (t, d) in enumerate(items)
    )
    doc = (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>{body}</channel></rss>'
    )
    feed = parse_feed(doc.encode(), source="fz", url="http://127.0.0.1/feed")
    assert [e.link for e in feed.entries] == [f"http://127.0.0.1/{i}" for i in range(len(items))]


# ---- clean --------------------------------------------------------------------------------

TAGS = st.sampled_from([
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", '<a href="javascript:alert(1)">',
    "<svg onload=alert(1)>", "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<iframe srcdoc='<script>alert(1)</script>'>", "<p>", "</p>", "<div>", "</div>", "<table>",
    "<tr><td>", "</table>", "<pre>\n x \n</pre>", "<li>", "<ul>", "<h1>", "<b>", "</b>", "<a href=/x>",
    "</a>", "<!--", "-->", "<![CDATA[", "]]>", "<noscript>", "<xmp>", "<style>", "</style>",
    "<base href=//evil.example/>", "&lt;script&gt;", "&#x3C;", "\x00", "\r\n", "中文", "<ruby>",
    "<rt>", "<form>", "<select><option>", "<textarea>", "<plaintext>", "<template>", "<p/>",
])  # fmt: skip
HTMLISH = st.lists(st.one_of(TAGS, st.text(max_size=8)), max_size=25).map("".join)
_ACTIVE = re.compile(r"(?i)<(?:script|style|iframe|object|embed|svg|math|base|meta|form|link)\b")


def inert(out: str) -> None:
    assert not _ACTIVE.search(out) and "\n" not in out
    if not out:
        return
    for el in lxml_html.fragment_fromstring(out, create_parent="div").iter():
        for name, value in el.attrib.items():
            assert not name.lower().startswith("on") and name not in ("style", "srcdoc")
            v = re.sub(r"[\x00-\x20]", "", value).lower()
            assert not v.startswith(("javascript:", "vbscript:", "data:text")), (name, value)


@FAST
@given(st.one_of(HTMLISH, st.text(max_size=300)))
def test_clean_is_inert_and_a_fixed_point(raw: str) -> None:
    opts = CleanOptions(base_url="http://127.0.0.1/a/1")
    try:
        once = clean_html(raw, opts)
    except ItemError as e:
        assert e.reason == "clean"
        return
    inert(once)
    assert clean_html(once, opts) == once
    html_to_text(once)


@FAST
@given(st.one_of(HTMLISH, st.text(max_size=200)))
def test_titles_are_one_plain_line(raw: str) -> None:
    title = clean_title(raw)
    assert "\n" not in title and "\r" not in title and title == title.strip(" ")
    assert not re.search("[\x00-\x08\x0e-\x1f\x7f-\x9f]", title)


# ---- render ---------------------------------------------------------------------------------

TEXT = st.text(max_size=80)
INSTANT = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


@st.composite
def articles(draw: st.DrawFn) -> Article:
    fetched = draw(INSTANT)
    published = min(draw(INSTANT), fetched)
    return Article(
        key=draw(TEXT), guid=draw(TEXT), source=draw(st.from_regex(r"[a-z0-9][a-z0-9_-]{0,20}", fullmatch=True)),
        source_name=draw(TEXT), title=draw(TEXT), link=draw(TEXT), published=published,
        fetched=fetched, content=draw(HTMLISH), text="", content_hash=draw(TEXT),
        updated=draw(st.none() | INSTANT), categories=tuple(draw(st.lists(TEXT, max_size=3))),
        authors=tuple(draw(st.lists(TEXT, max_size=3))), revision=draw(st.integers(1, 99)),
    )  # fmt: skip


def ms(dt: datetime | None) -> datetime | None:
    return None if dt is None else dt.replace(microsecond=dt.microsecond // 1000 * 1000)


@FAST
@given(articles())
@example(Article(key="k", guid="---", source="s", source_name="a: b #c", title='"\n---\n{{x}}',
                 link="http://x/(a)", published=datetime(2020, 1, 1, tzinfo=UTC),
                 fetched=datetime(2020, 1, 1, tzinfo=UTC) + timedelta(days=1), content="{% raw %}",
                 text="", content_hash="", categories=("[", "]"), authors=("null",)))  # fmt: skip
def test_front_matter_parses_back_to_the_same_values(art: Article) -> None:
    rec = parse_post(render_post(art), path="_posts/x.md")
    assert rec.title == art.title
    assert rec.source_name == art.source_name
    assert rec.link == art.link
    assert rec.guid == art.guid
    assert rec.key == (art.key or art.link)
    assert rec.content_hash == art.content_hash
    assert rec.source == art.source
    assert rec.categories == art.categories and rec.authors == art.authors
    assert rec.published == ms(art.published) and rec.fetched == ms(art.fetched)
    assert rec.updated == ms(art.updated) and rec.revision == art.revision
    assert rec.front_matter["tags"] == rec.front_matter["categories"] == [art.source_name]
