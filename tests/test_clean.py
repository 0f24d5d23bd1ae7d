"""Tests of the clean stage: sanitizing, lazy images, URLs, selectors, OpenCC, text."""

from __future__ import annotations

import os
import re
import time
from collections import Counter
from pathlib import Path

import lxml.html
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsmirror.clean import (
    CHROME_PASSES,
    CONVERSIONS,
    CleanOptions,
    clean_fragment_text,
    clean_html,
    clean_html_text,
    clean_title,
    convert_text,
    drop_tracking_pixels,
    parse_srcset,
    validate_selector,
)
from newsmirror.clean_text import has_text, html_to_text, parse_fragment
from newsmirror.errors import ConfigError, ItemError
from newsmirror.models import Rules
from newsmirror.sanitize import sanitize

BASE = "https://news.example.com/world/2024/story.html"
OPTS = CleanOptions(base_url=BASE)
GIF_1X1 = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"
PNG_2X2 = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAYAAABytg0kAAAAEklEQVR4nGP4z8DwHwyBNAMDAMTuEHHaRzWXAAAAAElFTkSuQmCC"


def tree(html: str) -> lxml.html.HtmlElement:
    return lxml.html.fragment_fromstring(html or "<i></i>", create_parent="div")


def assert_safe(out: str) -> None:
    """No script, no event handler, no dangerous URL, as a browser-like re-parse sees it."""
    assert "\n" not in out and "\r" not in out
    assert not re.search(
        r"<\s*/?\s*(script|style|iframe|object|embed|form|base|meta|svg|math)\b", out, re.I
    )
    root = tree(out)
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        assert el.tag not in {"script", "style", "iframe", "object", "embed", "form", "base"}
        for name, value in el.attrib.items():
            assert not name.lower().startswith("on"), (name, out)
            assert name.lower() not in {"style", "srcdoc", "formaction", "action"}, (name, out)
            if name in {"href", "src"}:
                squeezed = re.sub(r"[\x00-\x20]", "", value).lower()
                assert re.match(r"^(https?:|mailto:|#|data:image/(png|gif))", squeezed) or (
                    "://" not in squeezed and ":" not in squeezed.split("/")[0]
                ), (value, out)
                assert not squeezed.startswith(("javascript:", "vbscript:", "data:text"))


# ------------------------------------------------------------------ injection vectors

INJECTIONS = [
    "<script>alert(1)</script>",
    "<SCRIPT>alert(1)</SCRIPT>",
    "<ScRiPt src=//evil.example/x.js></ScRiPt>",
    "<script\n>alert(1)</script\n>",
    '<img src="x.jpg" onerror="alert(1)">',
    "<img src=x OnErRoR=alert(1)//>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="java&#115;cript:alert(1)">x</a>',
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>',
    '<a href="  javascript:alert(1)">x</a>',
    '<a href="java\tscript:alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href="javascript&colon;alert(1)">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    '<svg onload="alert(1)"><script>alert(1)</script></svg>',
    '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>",
    '<math href="javascript:alert(1)">x</math>',
    '<base href="https://evil.example/">',
    '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
    '<form action="https://evil.example/"><input name="q"><button formaction="javascript:alert(1)">go</button></form>',
    '<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>',
    '<iframe src="javascript:alert(1)"></iframe>',
    '<object data="javascript:alert(1)"></object><embed src="javascript:alert(1)">',
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<p style="width: expression(alert(1))">x</p>',
    "<style>@import 'https://evil.example/x.css';</style>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<<script>script>alert(1)<</script>/script>",
    '<img src="x" alt="a" / onerror=alert(1)>',
    "<!--<script>alert(1)</script>-->",
    "<!-- --!><script>alert(1)</script> -->",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    "<xmp><script>alert(1)</script></xmp>",
    "<plaintext><script>alert(1)</script>",
    "<textarea><script>alert(1)</script></textarea>",
    "<title><script>alert(1)</script></title>",
    "<template><script>alert(1)</script></template>",
    '<body onload="alert(1)">x</body>',
    '<video src="x.mp4" onerror="alert(1)"><source src="javascript:alert(1)"></video>',
    '<details open ontoggle="alert(1)"><summary>x</summary></details>',
    '<a href="x" target="_blank" rel="opener">x</a>',
    "<img src=`javascript:alert(1)`>",
    '<img src="x" srcset="javascript:alert(1) 2x">',
    '<link rel="stylesheet" href="https://evil.example/x.css">',
    '<p>ok</p><?xml-stylesheet href="javascript:alert(1)"?>',
]


@pytest.mark.parametrize("vector", INJECTIONS)
def test_injection_vectors_are_neutralized(vector: str) -> None:
    out = clean_html(f"<p>before</p>{vector}<p>after</p>", OPTS)
    assert_safe(out)
    text = html_to_text(out)
    assert text.startswith("before") and "after" in text
    assert clean_html(out, OPTS) == out


def test_dangerous_content_goes_with_its_tags() -> None:
    out = clean_html("<p>a<script>var secret=1;</script>b<style>p{}</style>c</p>", OPTS)
    assert out == "<p>abc</p>"


def test_links_get_rel_and_images_get_referrer_policy() -> None:
    out = clean_html('<p><a href="/x">x</a><img src="y.png" alt="y" loading="eager"></p>', OPTS)
    assert out == (
        '<p><a href="https://news.example.com/x" rel="noopener noreferrer">x</a>'
        '<img src="https://news.example.com/world/2024/y.png" alt="y" loading="lazy" '
        'referrerpolicy="no-referrer"></p>'
    )


def test_attributes_outside_the_policy_are_dropped() -> None:
    out = clean_html(
        '<p class="c" id="i" style="color:red" data-x="1" lang="zh-TW" title="t">x</p>'
        '<table><tr><td colspan="2" width="9" onclick="x()">c</td></tr></table>',
        OPTS,
    )
    assert out == (
        '<p lang="zh-TW" title="t">x</p><table><tbody><tr><td colspan="2">c</td></tr></tbody></table>'
    )


def test_small_data_images_stay_and_others_go() -> None:
    out = clean_html(f'<img src="{PNG_2X2}" alt="dot"><a href="{PNG_2X2}">link</a>', OPTS)
    assert f'src="{PNG_2X2}"' in out
    assert "<a" not in out and "link" in out
    big = "data:image/png;base64," + "A" * 9000
    assert "<img" not in clean_html(f'<img src="{big}">', OPTS)


# ------------------------------------------------------------------ lazy images, noscript


@pytest.mark.parametrize(
    "html, expected",
    [
        ('<img data-src="/a.jpg">', "https://news.example.com/a.jpg"),
        (f'<img src="{GIF_1X1}" data-original="a.jpg">', "https://news.example.com/world/2024/a.jpg"),
        ('<img src="/img/blank.gif" data-lazy-src="//cdn.example.net/a.jpg">', "https://cdn.example.net/a.jpg"),
        ('<img class="lazyload" src="/thumb.jpg" data-src="/full.jpg">', "https://news.example.com/full.jpg"),
        ('<img data-srcset="/s.jpg 320w, /l.jpg 1024w, /m.jpg 640w">', "https://news.example.com/l.jpg"),
        ('<img srcset="/a.jpg, /b.jpg 2x">', "https://news.example.com/b.jpg"),
        ('<picture><source srcset="/p-small.webp 1x, /p-big.webp 2x"><img alt="p"></picture>', "https://news.example.com/p-big.webp"),
        ('<img src="/real.jpg" data-srcset="/other.jpg 2000w">', "https://news.example.com/real.jpg"),
    ],
)  # fmt: skip
def test_lazy_images_get_a_real_src(html: str, expected: str) -> None:
    root = tree(clean_html(html, OPTS))
    assert [img.get("src") for img in root.iter("img")] == [expected]


def test_srcset_urls_may_contain_commas() -> None:
    assert parse_srcset("https://p.example/?url=a,b 300w, /c.jpg 600w,/d.jpg") == [
        ("https://p.example/?url=a,b", 300.0),
        ("/c.jpg", 600.0),
        ("/d.jpg", 1.0),
    ]


def test_noscript_copies_of_lazy_images_are_dropped() -> None:
    html = '<p><img data-src="/a.jpg" src="/spacer.gif"><noscript><img src="/a.jpg"></noscript></p>'
    out = clean_html(html, OPTS)
    assert out.count("<img") == 1
    other = '<img data-src="/a.jpg"><noscript><img src="/a-1024.jpg"></noscript>'
    assert clean_html(other, OPTS).count("<img") == 1


def test_noscript_content_that_is_not_a_copy_stays() -> None:
    out = clean_html("<noscript><p>Your browser cannot play this video</p></noscript>", OPTS)
    assert out == "<div><p>Your browser cannot play this video</p></div>"
    out = clean_html('<noscript><img src="/only.jpg"></noscript>', OPTS)
    assert 'src="https://news.example.com/only.jpg"' in out


# ------------------------------------------------------------------ URLs


@pytest.mark.parametrize(
    "href, expected",
    [
        ("/a/b?x=1#frag", "https://news.example.com/a/b?x=1#frag"),
        ("../up.html", "https://news.example.com/world/up.html"),
        ("rel.html", "https://news.example.com/world/2024/rel.html"),
        ("//other.example/p", "https://other.example/p"),
        ("#section-2", "#section-2"),
        ("  https://ok.example/x  ", "https://ok.example/x"),
        ("mailto:desk@example.com", "mailto:desk@example.com"),
        ("HTTP://UPPER.example/", "HTTP://UPPER.example/"),
    ],
)
def test_relative_urls_are_made_absolute(href: str, expected: str) -> None:
    root = tree(clean_html(f'<p><a href="{href}">x</a></p>', OPTS))
    assert root.find(".//a").get("href") == expected


def test_without_base_relative_urls_stay() -> None:
    out = clean_html('<a href="/a">a</a><a href="//h.example/b">b</a>', CleanOptions())
    assert [a.get("href") for a in tree(out).iter("a")] == ["/a", "https://h.example/b"]


def test_embeds_become_links() -> None:
    out = clean_html(
        '<iframe src="https://www.youtube.com/embed/abc" title="影片"></iframe>'
        '<video><source src="/v.mp4"></video>'
        '<iframe src="https://www.googletagmanager.com/ns.html" width="0" height="0"></iframe>',
        OPTS,
    )
    assert out == (
        '<a href="https://www.youtube.com/embed/abc" rel="noopener noreferrer">影片</a>'
        '<a href="https://news.example.com/v.mp4" rel="noopener noreferrer">'
        "https://news.example.com/v.mp4</a>"
    )


# ------------------------------------------------------------------ selectors, chrome


def test_remove_selectors() -> None:
    html = (
        '<div class="lineAd"><img src="/ad.jpg"></div><p>正文一</p>'
        '<section data-e2e="advertisement"><p>廣告</p></section><p class="x">正文二</p>'
        "<aside><p>相關新聞</p></aside>"
    )
    opts = CleanOptions(BASE, ("div.lineAd", '[data-e2e="advertisement"]', "aside"))
    assert clean_html(html, opts) == '<p>正文一</p><p class="x">正文二</p>'.replace(
        ' class="x"', ""
    )


def test_selector_matching_everything_keeps_the_root() -> None:
    assert clean_html("<div><p>x</p></div>tail", CleanOptions(BASE, ("body", "div"))) == "tail"


def test_invalid_selectors() -> None:
    assert validate_selector("div.ok > p") is None
    problem = validate_selector("div[")
    assert problem and "div[" in problem
    assert validate_selector("p::before") is not None
    assert validate_selector("  ") == "empty CSS selector"
    with pytest.raises(ItemError) as err:
        clean_html("<p>x</p>", CleanOptions(BASE, ("p", "a[href")))
    assert err.value.reason == "bad_selector" and "a[href" in str(err.value)


def test_tracking_pixels_are_dropped() -> None:
    html = (
        '<p>t<img src="https://feeds.feedburner.com/~r/x/~4/abc" height="1" width="1">'
        '<img src="https://www.google-analytics.com/collect?v=1">'
        '<img src="https://pixel.wp.com/b.gif?x=1">'
        '<img src="/stat.gif" width="1" height="1"><img src="/h.gif" width="300" height="0">'
        f'<img src="{GIF_1X1}"><img src="/photo.jpg" width="640" height="1">'
        f'<img src="{PNG_2X2}"></p>'
    )
    srcs = [img.get("src") for img in tree(clean_html(html, OPTS)).iter("img")]
    assert srcs == ["https://news.example.com/photo.jpg", PNG_2X2]
    assert drop_tracking_pixels in CHROME_PASSES


def test_empty_wrappers_are_removed() -> None:
    html = "<div><div><span> </span></div></div><p></p><p>x<b></b> <a href='/a'></a>y</p>"
    assert clean_html(html, OPTS) == "<p>x y</p>"


# ------------------------------------------------------------------ layout of the output


def test_output_has_no_raw_newlines() -> None:
    out = clean_html("<p>one\ntwo\r\n  three</p><pre>code\n  indented\nend</pre>", OPTS)
    assert out == "<p>one two three</p><pre>code<br>  indented<br>end</pre>"
    assert html_to_text(out) == "one two three\ncode\nindented\nend"


def test_block_content_in_paragraphs_is_kept_stable() -> None:
    html = "<p>intro<figure><img src='/a.jpg'><figcaption>說明</figcaption></figure></p>"
    out = clean_html(html, OPTS)
    assert out.startswith("<div>intro<figure>")
    assert clean_html(out, OPTS) == out


@pytest.mark.parametrize(
    "blank", ["", "   ", "\n\t", "<!-- x -->", "<script>x</script>", "<p> </p>"]
)
def test_blank_input(blank: str) -> None:
    assert clean_html(blank, OPTS) == ""
    assert html_to_text(blank) == ""


def test_control_characters_and_deep_nesting() -> None:
    assert clean_html("<p>a\x00b\x0bc\ud800d</p>", OPTS) == "<p>abcd</p>"
    deep = "<div>" * 400 + "深" + "</div>" * 400
    assert clean_html(deep, OPTS) == "<div>" * 400 + "深" + "</div>" * 400


def test_content_outside_the_body_is_kept() -> None:
    assert clean_html("a</body>b</html>c<p>d</p>", OPTS) == "abc<p>d</p>"
    assert clean_html("<html/>文字  文字<head><title>t</title></head>x", OPTS) == "文字 文字x"


@pytest.mark.parametrize("url", ["http://#", "http://x:99999/", "http://[::1", "https://a b/"])
def test_urls_the_final_gate_refuses_are_dropped_up_front(url: str) -> None:
    out = clean_html(f'<p>t <a href="{url}">link</a><img src="{url}"></p>', OPTS)
    assert out == "<p>t link</p>"
    assert clean_html(out, OPTS) == out


def test_determinism() -> None:
    html = '<p><img data-src="/a.jpg" alt="x" title="t"><a href="/b" title="t">b</a></p>'
    assert len({clean_html(html, OPTS) for _ in range(3)}) == 1


# ------------------------------------------------------------------ OpenCC


def test_t2s_converts_text_but_not_urls() -> None:
    html = (
        '<p>臺灣軟體發展<a href="https://example.tw/臺灣/軟體" title="臺灣">連結</a>'
        '<img src="/圖片.jpg" alt="颱風過後"></p>'
    )
    out = clean_html(html, CleanOptions(BASE, convert="t2s"))
    root = tree(out)
    assert html_to_text(out) == "台湾软体发展连结"
    a = root.find(".//a")
    assert a.get("title") == "台湾"
    assert a.get("href") == "https://example.tw/%E8%87%BA%E7%81%A3/%E8%BB%9F%E9%AB%94"
    img = root.find(".//img")
    assert img.get("alt") == "台风过后"
    assert img.get("src") == "https://news.example.com/%E5%9C%96%E7%89%87.jpg"


def test_s2t_and_convert_text() -> None:
    out = clean_html("<p>这个软件的发展</p>", CleanOptions(convert="s2t"))
    assert out == "<p>這個軟件的發展</p>"
    assert convert_text("这个软件", "s2twp") == "這個軟體"
    assert convert_text("台灣", "none") == "台灣"
    assert {"none", "t2s", "s2t", "s2tw", "tw2s", "s2hk", "hk2s", "t2tw", "tw2sp"} <= set(
        CONVERSIONS
    )
    with pytest.raises(ConfigError):
        convert_text("x", "zh2klingon")
    with pytest.raises(ConfigError):
        clean_html("<p>x</p>", CleanOptions(convert="nope"))


def test_options_from_rules() -> None:
    rules = Rules(remove_selectors=(".ad",), convert="t2s")
    assert CleanOptions.for_source(rules, BASE) == CleanOptions(BASE, (".ad",), "t2s")


# ------------------------------------------------------------------ text and titles


def test_html_to_text() -> None:
    html = (
        "<h2>標題</h2><p>第一段 &amp; 更多&nbsp;文字</p><ul><li>甲</li><li>乙</li></ul>"
        "一<br>二<table><tr><td>c1</td><td>c2</td></tr></table><script>x()</script>"
        "<p>  多   空白\n換行 </p>"
    )
    assert html_to_text(html) == "標題\n第一段 & 更多 文字\n甲\n乙\n一\n二\nc1 c2\n多 空白 換行"


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("杭州市與阿里巴巴簽訂深化戰略協議  赴螞蟻研調", "杭州市與阿里巴巴簽訂深化戰略協議  赴螞蟻研調"),
        ("  <b>粗體</b> 標題 &amp; 更多&#x21; ", "粗體 標題 & 更多!"),
        ("第一行\n\t第二行", "第一行 第二行"),
        ("多   空格\x07控制\u200b字元", "多 空格控制字元"),
        ("\u3000全形　空格\u3000", "全形　空格"),
        ("A&nbsp;B &lt;tag&gt;", "A B <tag>"),
        ("<![CDATA[包起來]]>", "包起來"),
    ],
)  # fmt: skip
def test_clean_title(raw: str, expected: str) -> None:
    assert clean_title(raw) == expected


def test_clean_title_converts() -> None:
    assert clean_title("臺灣 颱風", "t2s") == "台湾 台风"


# ------------------------------------------------------------------ idempotence (property)

TAGS = [
    "p", "div", "span", "a", "b", "i", "em", "strong", "u", "s", "small", "img", "br", "hr",
    "h1", "h2", "h3", "ul", "ol", "li", "dl", "dt", "dd", "table", "tbody", "thead", "tr", "td",
    "th", "caption", "colgroup", "col", "pre", "code", "blockquote", "figure", "figcaption",
    "section", "article", "header", "aside", "noscript", "script", "style", "iframe", "form",
    "input", "button", "select", "option", "textarea", "svg", "math", "font", "center", "x-card",
    "picture", "source", "video", "wbr", "ruby", "rt", "rp", "sup", "sub", "q", "time", "xmp",
]  # fmt: skip
ATTRS = st.sampled_from(
    [
        ' href="/a b"', ' href="javascript:x()"', ' href="#f"', ' href="https://h.example/x?q=1&amp;r=2"',
        ' src="/i.jpg"', f' src="{GIF_1X1}"', ' data-src="/lazy.jpg"', ' srcset="/s.jpg 1x, /l.jpg 2x"',
        ' onclick="x()"', ' style="color:red"', ' class="ad"', ' width="1" height="1"',
        ' title="臺\n灣"', ' alt="a  b"', ' colspan="2"', "", ' href="http://#"', ' src="http://x:99999/"',
        ' href="//例子.测试/路 径"', ' href="http://[::1"', ' href="mailto:a b"', ' src="https://a b/"',
    ]
)  # fmt: skip
TEXT = st.sampled_from(
    [
        "文字",
        " ",
        "  ",
        "\n",
        " x ",
        "&amp;",
        "&nbsp;",
        "<",
        "a&b",
        "\t中\n文 ",
        "\u3000",
        "{{ x }}",
    ]
)
TOKEN = st.one_of(
    TEXT,
    st.builds(lambda t, a: f"<{t}{a}>", st.sampled_from(TAGS), ATTRS),
    st.builds(lambda t: f"</{t}>", st.sampled_from(TAGS)),
    st.just("<!-- c -->"),
)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(TOKEN, max_size=40).map("".join))
def test_clean_html_is_idempotent_and_safe(html: str) -> None:
    once = clean_html(html, OPTS)
    assert clean_html(once, OPTS) == once
    assert sanitize(once) == once  # the final gate, run again (as the site build does), is a no-op
    assert_safe(once)


@settings(max_examples=100, deadline=None)
@given(st.lists(TOKEN, max_size=30).map("".join))
def test_html_to_text_is_stable_under_cleaning(html: str) -> None:
    once = clean_html(html, OPTS)
    assert "\n\n" not in html_to_text(once)
    assert html_to_text(clean_html(once, OPTS)) == html_to_text(once)


# ------------------------------------------------------------------ real corpus


def corpus_posts() -> list[Path]:
    env = os.environ.get("NEWSMIRROR_CORPUS")
    root = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "corpus"
    posts = root / "posts"
    return (
        sorted(p for p in posts.iterdir() if p.suffix in (".md", ".html")) if posts.is_dir() else []
    )


def split_post(text: str) -> tuple[str, str]:
    """(link, body) of a Jekyll post."""
    m = re.match(r"---\n(.*?)\n---\n", text, re.S)
    if not m:
        return "", text
    link = re.search(r"^link:\s*(\S+)", m.group(1), re.M)
    return (link.group(1) if link else ""), text[m.end() :]


def body_text(body: str) -> str:
    root = lxml.html.document_fromstring(f"<html><body>{body}</body></html>").find("body")
    for el in root.iter("script", "style"):
        el.text = ""
    return root.text_content()


def test_corpus_posts_keep_their_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sanitizer alone keeps the text (chrome removal is measured in test_dechrome)."""
    import newsmirror.clean as clean_module

    monkeypatch.setattr(clean_module, "CHROME_PASSES", (drop_tracking_pixels,))
    posts = corpus_posts()
    if not posts:
        pytest.skip("corpus not available")
    kept_total = chars_total = 0
    seconds = 0.0
    worst: list[tuple[float, str]] = []
    for post in posts:
        link, body = split_post(post.read_text(encoding="utf-8"))
        opts = CleanOptions(base_url=link)
        start = time.perf_counter()
        out = clean_html(body, opts)
        seconds += time.perf_counter() - start
        assert "\n" not in out
        before = Counter(c for c in body_text(body) if not c.isspace())
        after = Counter(c for c in html_to_text(out) if not c.isspace())
        kept = sum(min(n, after[c]) for c, n in before.items())
        total = sum(before.values())
        kept_total, chars_total = kept_total + kept, chars_total + total
        worst.append((kept / total if total else 1.0, post.name))
        assert clean_html(out, opts) == out, post.name
    worst.sort()
    print(
        f"\ncorpus: {len(posts)} posts, text kept {kept_total / chars_total:.4%} "
        f"(worst {worst[0][0]:.2%} {worst[0][1]}), {1000 * seconds / len(posts):.2f} ms/post"
    )
    bad = [(round(r, 3), name) for r, name in worst if r < 0.95]
    assert not bad


# ---- the text read from the cleaned tree

_TEXT_BITS = st.sampled_from([
    "<p>", "</p>", "<div>", "</div>", "<table>", "<tr><td>", "<td>", "<th>", "</table>", "<tbody>",
    "<caption>", "<pre>\n x \n</pre>", "<pre>", "</pre>", "<li>", "<ul>", "<dl><dt>", "<dd>", "<h1>",
    "</h1>", "<b>", "</b>", "<a href=/x>", "</a>", "<!--", "-->", "<![CDATA[", "]]>", "<noscript>",
    "<xmp>", "<style>", "</style>", "<script>x</script>", "&lt;b&gt;", "&#x3C;", "\x00", "\r\n", "\n",
    "\t", "  ", "\u3000", "\xa0", "&nbsp;", "&#12;", "&#x85;", "&#1;", "&#11;", "&#x1c;", "&#0;",
    "&#x2028;", "中文", "<ruby>", "<rt>", "<textarea>", "<plaintext>", "<template>", "<br>", "<hr>",
    "<img src=x alt='<body>'>", "<iframe src=http://v.example/1 title='a\nb'></iframe>", "<figure>",
    "<figcaption>", "<blockquote>", "<span>", "<html>", "</body>", "<head>", "<title>t</title>",
    "<wbr>", "<p title='x\ty'>", "<div class=related><h3>延伸閱讀</h3><ul><li>"
    "<a href=/news/12345.html>標題一二三四五六七八九十</a></li></ul></div>",
    "<p class=share>分享：<a href='https://www.facebook.com/sharer.php?u=1'>FB</a></p>",
])  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.one_of(_TEXT_BITS, st.text(max_size=6)), max_size=30).map("".join),
    st.sampled_from(["none", "s2t"]),
)
def test_text_from_the_cleaned_tree_is_the_text_of_the_clean_html(raw: str, convert: str) -> None:
    """clean_html_text / clean_fragment_text give html_to_text of clean_html's result
    (read from the tree they cleaned instead of a second parse), with character
    references, <pre>, tables, entities and chrome in the mix."""
    opts = CleanOptions(base_url="https://news.example.com/a/1.html", convert=convert)
    try:
        content = clean_html(raw, opts)
    except ItemError:
        return
    want = (content, html_to_text(content))
    assert clean_html_text(raw, opts) == want
    assert clean_fragment_text(parse_fragment(raw), opts) == want


@pytest.mark.parametrize(
    "html",
    ["<p> \xa0\u3000</p>", "<script>x</script><style>y</style>", "<p><!-- c --> </p>",
     "<pre>\n\n</pre>", "<p>x</p>", "<template>t</template>\xa0b", "<p><br> </p>\t<i>。</i>",
     "<table><tr><td> </td><td>1</td></tr></table>", "<p><img src='a.jpg'></p>"],
)  # fmt: skip
def test_has_text_is_whether_the_text_is_blank(html: str) -> None:
    root = parse_fragment(html)
    assert root is not None
    assert has_text(root) == bool(html_to_text(html))
