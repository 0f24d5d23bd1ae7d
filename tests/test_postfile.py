"""Tests for the classic post format: rendering, reading back, file names, list pages."""

from __future__ import annotations

import dataclasses
import json
import os
import random
import re
import shutil
import subprocess
import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import lxml.html
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsmirror.errors import ItemError
from newsmirror.models import Article
from newsmirror.postfile import (  # fmt: skip
    epoch_ms,
    iso_ms,
    join_lines,
    list_filename,
    md_text,
    md_url,
    post_filename,
    render_list,
    render_post,
    yaml_quote,
    yaml_scalar,
)
from newsmirror.postfile_record import PostRecord, parse_post

GOLDEN = Path(__file__).parent / "golden"
REGEN = os.environ.get("NEWSMIRROR_REGEN_GOLDEN") == "1"
T0 = datetime(2023, 1, 11, 7, 4, 3, tzinfo=UTC)
CST = timezone(timedelta(hours=8))


def corpus_dir() -> Path:
    env = os.environ.get("NEWSMIRROR_CORPUS")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "corpus"


def art(**kw: object) -> Article:
    url = "https://news.example.tw/a/1.html"
    base: dict[str, object] = dict(
        key=url, guid="", source="demo", source_name="(臺)示範通訊社", link=url,
        title="示範標題：市府與企業簽署合作備忘錄", published=T0, fetched=T0 + timedelta(minutes=5),
        content="<p>第一段。</p>", text="第一段。", content_hash="sha256:" + "ab" * 32,
    )  # fmt: skip
    base.update(kw)
    return Article(**base)  # type: ignore[arg-type]


def fix_surrogates(s: str) -> str:
    return s.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def expected_roundtrip(a: Article, content: str) -> Article:
    """What reading back a rendered ``a`` gives: ms times, joined content, defaults filled."""

    def ms(d: datetime | None) -> datetime | None:
        return None if d is None else d - timedelta(microseconds=d.microsecond % 1000)

    fx = fix_surrogates
    strs = {f: fx(getattr(a, f)) for f in ("guid", "source", "source_name", "title", "link")}
    times = {f: ms(getattr(a, f)) for f in ("published", "fetched", "changed", "updated")}
    return dataclasses.replace(
        a, **strs, **times, key=fx(a.key) or fx(a.link), first_seen=ms(a.first_seen or a.fetched),
        categories=tuple(map(fx, a.categories)), authors=tuple(map(fx, a.authors)),
        content=content, text=PostRecord("", "", T0, "", "", content).text,
    )  # fmt: skip


LINES = "\n".join(
    [
        "  <p>（示範社台北11日電）市政府今天與本地科技公司簽署合作備忘錄，",
        "雙方將在智慧交通與數位服務兩個領域展開試點。</p>",
        "",
        "\t<p>市長在簽約儀式上表示，合作內容包括開放資料平台、",
        "    公車到站預報與停車資訊整合。</p>",
        "<p>公司代表說，第一階段預計半年內完成。（編輯：示範）</p>",
    ]
)

# fmt: off
GOLDEN_CASES: dict[str, Article] = {
    "classic-shape.md": art(
        source="cna", source_name="(臺)中央社CNA", title="市府與科技公司簽署合作備忘錄  推動智慧交通",
        link="https://www.cna.com.tw/news/acn/202301110999.aspx",
        key="https://www.cna.com.tw/news/acn/202301110999.aspx", content=LINES,
    ),
    "all-extras.md": art(
        source="bbc", source_name="BBC 中文", guid="urn:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427",
        title='分析："開放資料" 與城市治理 [專題]',
        link="https://www.example.com/zhongwen/trad/world-123?x=1&y=(2)",
        key="https://www.example.com/zhongwen/trad/world-123?x=1",
        content="<p>Open\n  data 專題\n報導</p>\n<p>第二段 2023\n年</p>",
        origin="page", revision=3, first_seen=T0 + timedelta(minutes=1),
        changed=T0 + timedelta(days=2, milliseconds=250), updated=T0 + timedelta(days=2),
        categories=("國際", "亞太: 政治", "[專題]"), authors=("王小明", "Jane Doe"),
    ),
    "liquid-hostile.md": art(
        source="voa", source_name="美國之音: 中文 #1",
        title='模板語法 {{ site.title }} 與 {% include x.html %}\n第二行 "引號" --- *星號*',
        content="<p>原文含有 {{ page.title }} 與 {% raw %} 標記</p>\n<p>以及 {#註解#} 和單獨的 } 括號</p>",
    ),
    "empty-content.md": art(source="rfi", source_name="法廣 RFI", content="  \n\n  "),
}
# fmt: on


def golden_text(name: str) -> str:
    if name in GOLDEN_CASES:
        return render_post(GOLDEN_CASES[name])
    items = [
        (datetime(2023, 1, 10, 16, 30, tzinfo=UTC), "跨日的新聞 [快訊]", "https://e.example/1"),
        (datetime(2023, 1, 11, 7, 4, 3, tzinfo=UTC), "最新一則", "https://e.example/2 x"),
        (datetime(2022, 12, 31, 15, 59, tzinfo=UTC), "去年最後一則", "https://e.example/3"),
    ]
    return render_list("(臺)中央社CNA", items, tz=CST, full_list_link="../all/cna.md")


@pytest.mark.parametrize("name", [*sorted(GOLDEN_CASES), "list-cna.md"])
def test_golden_files(name: str) -> None:
    text, path = golden_text(name), GOLDEN / name
    if REGEN:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
    assert text == path.read_text(encoding="utf-8")


def test_golden_shapes() -> None:
    """Spot checks of the golden files so a careless regeneration cannot hide a regression."""
    classic = render_post(GOLDEN_CASES["classic-shape.md"]).split("\n")
    assert classic[:9] == [
        "---", "layout: post", 'title: "市府與科技公司簽署合作備忘錄  推動智慧交通"',
        "date: 2023-01-11T07:04:03.000Z", "author: (臺)中央社CNA",
        "from: https://www.cna.com.tw/news/acn/202301110999.aspx",
        "tags: [ (臺)中央社CNA ]", "comments: True", "categories: [ (臺)中央社CNA ]",
    ]  # fmt: skip
    assert classic[-6:] == [
        "------", "", "<div>",
        "<p>（示範社台北11日電）市政府今天與本地科技公司簽署合作備忘錄，雙方將在智慧交通與數位服務兩個領域展開試點。</p>"
        "<p>市長在簽約儀式上表示，合作內容包括開放資料平台、公車到站預報與停車資訊整合。</p>"
        "<p>公司代表說，第一階段預計半年內完成。（編輯：示範）</p>",
        "</div>", "",
    ]  # fmt: skip
    extras = render_post(GOLDEN_CASES["all-extras.md"])
    keys = [ln.split(":")[0] for ln in extras.split("---\n")[1].splitlines()]
    assert keys[8:] == [
        "source", "guid", "key", "hash", "fetched", "origin", "revision", "first_seen",
        "changed", "updated", "feed_categories", "authors",
    ]  # fmt: skip
    assert "<div>\n<p>Open data 專題報導</p><p>第二段 2023年</p>\n</div>\n" in extras
    assert 'feed_categories: [ 國際, "亞太: 政治", "[專題]" ]' in extras
    assert render_post(GOLDEN_CASES["empty-content.md"]).endswith("------\n\n<div>\n</div>\n")


def test_classic_post_lines_match_corpus() -> None:
    path = corpus_dir() / "classic-post.md"
    if not path.is_file():
        pytest.skip("corpus absent")
    classic = path.read_text(encoding="utf-8")
    content = classic.split("<div>\n", 1)[1].rsplit("\n</div>", 1)[0]
    a = art(
        title="杭州市與阿里巴巴簽訂深化戰略協議  赴螞蟻研調", source_name="(臺)中央社CNA",
        published=datetime(2023, 1, 11, 15, 4, 3, tzinfo=CST), content=content,
        link="https://www.cna.com.tw/news/acn/202301110157.aspx",
    )  # fmt: skip
    ours = render_post(a).split("\n")
    end = ours.index("---", 1)
    extra = [ln.split(":")[0] for ln in ours[9:end]]
    assert extra == ["source", "key", "hash", "fetched"]
    assert ours[:9] + ours[end:] == classic.split("\n")  # byte for byte apart from extras


def test_yaml_quote_escapes() -> None:
    s = 'a"b\\c\n\r\t\x00\x07\x1b\x7f\x85\x9f\u2028\u2029\ufeff\ufffe\uffff臺😀'
    q = yaml_quote(s)
    assert q == ('"a\\"b\\\\c\\n\\r\\t\\0\\x07\\x1B\\x7F\\N\\x9F\\L\\P\\uFEFF\\uFFFE\\uFFFF臺😀"')
    for loader in (yaml.SafeLoader, yaml.CSafeLoader):
        assert yaml.load(f"k: {q}", Loader=loader) == {"k": s}
    assert yaml_quote("\ud800x\ud83d\ude00") == '"\ufffdx😀"'  # lone surrogate → U+FFFD


PLAIN = ["(臺)中央社CNA", "BBC 中文", "https://www.cna.com.tw/news/acn/1.aspx", "a:b", "x#y"]
QUOTED = ["", "yes", "yEs", "OFF", "n", "~", "null", "1", "0x1F", "1:20", "2023-01-11", ".inf",
          ":sym", "a: b", "a #b", " x", "x ", "- x", "[x]", "{x}", "'q'", '"q"', "@x", "`x`",
          "!tag", "&a", "*a", "|", ">", "%x", "=", "<<", "?x", "a\nb", "a\u2028b", "\ufeffx"]  # fmt: skip


def test_plain_only_when_safe() -> None:
    assert [yaml_scalar(s) for s in PLAIN] == PLAIN
    for s in QUOTED:
        assert yaml_scalar(s).startswith('"')
        assert yaml.safe_load(f"k: {yaml_scalar(s)}") == {"k": s}
    for s in ["a,b", "a]b", "a:b", "a{b", "a?"]:  # flow sequences are stricter
        assert yaml_scalar(s, flow=True).startswith('"')
    assert yaml_scalar("國際", flow=True) == "國際"


def test_times_and_markdown_helpers() -> None:
    d = datetime(2023, 1, 11, 15, 4, 3, 987654, tzinfo=CST)
    assert iso_ms(d) == "2023-01-11T07:04:03.987Z"
    assert epoch_ms(d) == 1673420643987
    assert iso_ms(datetime(1969, 12, 31, 23, 59, 59, 999999)) == "1969-12-31T23:59:59.999Z"
    assert epoch_ms(datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)) == -1
    assert iso_ms(datetime(999, 1, 2, tzinfo=UTC)) == "0999-01-02T00:00:00.000Z"
    assert md_text("a[b]c\\*_`<|^$$~~{:x} AT&amp;T & 1~2月 US$5") == (
        "a&#91;b&#93;c&#92;&#42;&#95;&#96;&lt;&#124;&#94;&#36;&#36;&#126;&#126;&#123;:x} "
        "AT&amp;amp;T & 1~2月 US$5"
    )
    assert md_text("一\n二\r\n三\u2028四\x00") == "一 二 三 四 "
    assert md_url('https://e.x/a b(1)<2>{3}|\\`"\n') == (
        "https://e.x/a%20b%281%29%3C2%3E%7B3%7D%7C%5C%60%22%0A"
    )
    assert md_url("https://e.x/中文?q=1#f") == "https://e.x/中文?q=1#f"
    assert join_lines("Hello\n   world\n\n") == "Hello world"
    assert join_lines("中文\n  字\r\n<p>x</p>\r<p>y</p>") == "中文字<p>x</p><p>y</p>"
    assert join_lines("a,\nb") == "a,b"
    assert join_lines("x\u2028y") == "x\u2028y"  # only \n, \r\n, \r split lines


def test_liquid_escaped_only_when_needed() -> None:
    plain = render_post(art(content="<p>集合 {a, b} 與 }</p>", title="標題 {x}"))
    assert "liquid_escaped" not in plain and "<p>集合 {a, b} 與 }</p>" in plain
    assert "[標題 {x}]" in plain
    for bad in ["{{ x }}", "{% if %}", "{# c #}", "a %} b", "a }} b"]:
        text = render_post(art(content=f"<p>{bad}</p>"))
        body = text.split("\n---\n", 1)[1]
        assert "liquid_escaped: true\n---\n" in text
        assert "{" not in body and "}" not in body
        assert parse_post(text).content == f"<p>{bad}</p>"
    titled = render_post(art(title="{{ site.title }}", content="<p>x</p>"))
    assert 'title: "{{ site.title }}"' in titled
    assert "[&#123;&#123; site.title &#125;&#125;](" in titled


def test_parse_errors_carry_path() -> None:
    cases = {
        "no front matter": "just text\n", "broken": "---\ntitle: [unclosed\n---\nbody\n",
        "not a mapping": "---\n- a\n- b\n---\nbody\n", "no date": "---\ntitle: x\n---\nbody\n",
    }  # fmt: skip
    for why, text in cases.items():
        with pytest.raises(ItemError) as ei:
            parse_post(text, path=f"_posts/{why}.md")
        assert ei.value.reason == "bad_post"
        assert f"_posts/{why}.md" in str(ei.value)


def test_parse_legacy_post() -> None:
    text = (
        "---\nlayout: post\ntitle: 示範舊文：港府公布新措施\n"
        "date: 2024-07-21 13:13:03.123456789 +08:00\n"
        "link: https://news.example.hk/a/77\ncategories: rthk\n---\n\n"
        "<div>\n    <p>第一段。</p>\n\t<p>第二段。</p>\n</div>\n"
    )
    rec = parse_post(text, path="_posts/2024-07-21-RTHK-x.html")
    assert rec.legacy
    assert rec.published == datetime(2024, 7, 21, 5, 13, 3, 123456, tzinfo=UTC)
    a = rec.to_article()
    assert (a.title, a.source, a.source_name, a.link, a.key) == (
        "示範舊文：港府公布新措施", "rthk", "rthk", "https://news.example.hk/a/77",
        "https://news.example.hk/a/77",
    )  # fmt: skip
    assert a.text.split() == ["第一段。", "第二段。"]
    assert a.fetched == a.published and a.first_seen == a.published
    plain = parse_post(
        "---\ntitle: t\ncategories: rss\n---\n\n第一段\n\n第二段 <3\n",
        path="_posts/2020-02-01-x.md",
    )
    assert plain.content == "<p>第一段</p><p>第二段 &lt;3</p>"
    assert plain.published == datetime(2020, 2, 1, tzinfo=UTC)  # from the file name


def test_roundtrip_golden_articles() -> None:
    for a in GOLDEN_CASES.values():
        want = expected_roundtrip(a, join_lines(a.content))
        assert parse_post(render_post(a), path=a.path).to_article() == want
        crlf = render_post(a).replace("\n", "\r\n")  # a Windows checkout still reads
        assert parse_post(crlf, path=a.path).to_article() == want


def test_corpus_posts_parse() -> None:
    folder = corpus_dir() / "posts"
    if not folder.is_dir():
        pytest.skip("corpus absent")
    broken, with_link = [], 0
    for path in sorted(folder.iterdir()):
        try:
            rec = parse_post(path.read_text(encoding="utf-8"), path=path.name)
        except ItemError as e:
            broken.append(str(e))
            continue
        assert rec.title and rec.content, path.name
        assert 2019 <= rec.published.year <= 2026
        with_link += rec.link.startswith("http")
        a = rec.to_article()
        again = parse_post(render_post(a), path=a.path).to_article()
        assert again == expected_roundtrip(a, join_lines(a.content)), path.name
    assert broken == []  # all 400 real posts are readable
    assert with_link == 383  # the 17 RTHK-2020 importer posts have no link


HOSTILE = [
    '"', "'", ":", ": ", " #", "#", "[", "]", "{", "}", "{{ x }}", "{% if %}", "{#", "%}",
    "---", "...", "\n", "\r\n", "\r", "&", "*", "!", "|", ">", "%", "@", "`", "\\", "/",
    "CON", "NUL", "COM1", "lpt9.txt", "\x00", "\x07", "\x1b", "\x7f", "\x85", "\x9f",
    "\u2028", "\u2029", "\ufeff", "\ufffe", "\uffff", "😀", "👨‍👩‍👧", "\u200f", "\u202e",
    "yes", "No", "~", "null", "1", "0o7", ".inf", ":sym", "2023-01-01", "1:20", " ", "\t",
    "中文", "臺灣", "y", "=", "<<", ",", "-", "?", "- ", "\ud800", "\udfff", "\ud83d\ude00",
    "\u3000", "e\u0301", "$$", "~~", "^", "_", "<script>", "&amp;", "{:", "a" * 40,
]  # fmt: skip
fragment = st.sampled_from(HOSTILE) | st.text(max_size=6)
long_text = st.lists(fragment, min_size=1, max_size=4).map(lambda f: ("".join(f) or "長") * 320)
hostile_text = st.lists(fragment, max_size=8).map("".join) | long_text.map(lambda s: s[:310])


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=hostile_text, name=hostile_text)
def test_hostile_roundtrip(title: str, name: str) -> None:
    link, extra = title[::-1], name[-7:] + title[:9]  # hostile too, without more drawing
    a = art(
        title=title, source_name=name, link=link, guid=extra, source=extra[:20],
        categories=(extra, name), authors=(title,) if title else (),
        content=f"<p>{title}</p>", published=T0 + timedelta(microseconds=len(title)),
    )  # fmt: skip
    text = render_post(a)
    text.encode("utf-8")  # always writable
    got = parse_post(text, path="_posts/x.md").to_article()
    assert (got.title, got.source_name, got.link) == tuple(map(fix_surrogates, (title, name, link)))
    assert dataclasses.replace(got, content="", text="") == dataclasses.replace(
        expected_roundtrip(a, ""), path="_posts/x.md", text=""
    )
    front, body = text.split("\n---\n", 1)
    assert "{{" not in body and "{%" not in body
    lines = body.split("\n")
    assert lines[0] == f"<!--{epoch_ms(a.published)}-->" and lines[2] == "------"
    assert lines[1].startswith("[") and "\r" not in lines[1]
    assert not any(ln in ("---", "...") for ln in front.split("\n")[1:])
    # the same hostile strings as file names
    suffix = ["", "a1b2c3", "0123456789ab"][len(title) % 3]
    when = datetime(2023, 1, 11, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    fname = post_filename(when, title, suffix=suffix)
    check_filename(fname)
    assert fname.startswith("2023-01-12-") and fname.endswith(f"-{suffix}.md" if suffix else ".md")
    check_filename(list_filename(name))


def check_filename(name: str) -> None:
    assert 0 < len(name.encode("utf-8")) <= 200
    assert not re.search(r'[\\/:*?"<>|#%\x00-\x1f\x7f-\x9f\u2028\u2029\s]', name)
    assert not re.search(r"[\ud800-\udfff\ufeff\u200e\u200f\u202a-\u202e]", name)
    assert unicodedata.is_normalized("NFC", name)
    assert not name.endswith((".", " ")) and not name.startswith((".", "-", "_"))
    stem = name[11:-3] if re.match(r"\d{4}-\d\d-\d\d-", name) else name[:-3]
    assert not re.fullmatch(r"(?i)(CON|PRN|AUX|NUL|COM\d|LPT\d)(\..*)?", stem)
    assert "--" not in stem


FILE_NAMES = {
    "杭州市與阿里巴巴簽訂深化戰略協議  赴螞蟻研調": "2023-01-11-杭州市與阿里巴巴簽訂深化戰略協議-赴螞蟻研調.md",
    'a/b\\c:d*e?f"g<h>i|j#k%l': "2023-01-11-a-b-c-d-e-f-g-h-i-j-k-l.md",
    "..hidden -- name. ": "2023-01-11-hidden-name.md", "CON": "2023-01-11-CON_.md",
    "con.txt": "2023-01-11-con_.txt.md", "COM1 ": "2023-01-11-COM1_.md",
    "": "2023-01-11-untitled.md", " ./\\ ": "2023-01-11-untitled.md",
    "e\u0301té\u200f！？": "2023-01-11-été-！？.md",
    "第一行\n第二行\t第三\u3000行": "2023-01-11-第一行-第二行-第三-行.md",
}  # fmt: skip
LIST_NAMES = {"(臺)中央社CNA": "(臺)中央社CNA.md", "_drafts": "drafts.md", "a/b": "a-b.md",
              "": "untitled.md", "NUL": "NUL_.md", "BBC 中文": "BBC-中文.md"}  # fmt: skip


def test_file_names() -> None:
    assert {t: post_filename(T0, t) for t in FILE_NAMES} == FILE_NAMES
    assert {n: list_filename(n) for n in LIST_NAMES} == LIST_NAMES
    long = "長" * 300
    name = post_filename(T0, long, suffix="9f8e7d")
    assert len(name.encode()) <= 200 and name.endswith("長-9f8e7d.md")
    assert len(post_filename(T0, long).encode()) == 11 + 62 * 3 + 3  # whole characters only
    assert post_filename(datetime(2023, 1, 11, 1, 0, tzinfo=CST), "x") == "2023-01-10-x.md"


def test_render_list_shape() -> None:
    items = [(T0 + timedelta(hours=h), f"第{h}則", f"https://e.example/{h}") for h in range(5)]
    text = render_list("# 標題", items, tz=UTC, limit=2)
    head = '---\nlayout: default\ntitle: "# 標題"\n---\n'
    assert text.startswith(head)
    text = text[len(head) :]
    assert text == (
        "&#35; 標題\n------\n\n"
        "1-11 [第4則](https://e.example/4)\n\n"
        "1-11 [第3則](https://e.example/3)\n"
    )
    assert render_list("---", [], tz=UTC).split("\n---\n", 1)[1].startswith("&#45;--\n------\n")
    assert "\n---\n1&#46; 一\n" in render_list("1. 一", [], tz=UTC)
    liquid = render_list("名", [(T0, "{{ x }}", "https://e/{y}")], tz=UTC, full_list_link="a b.md")
    assert "{" not in liquid.split("---\n", 2)[2] and "&#123;&#123; x &#125;&#125;" in liquid
    assert liquid.endswith("(https://e/%7By%7D)\n\n[完整列表](a%20b.md)\n")


def _hostile_articles(n: int) -> list[Article]:
    rnd = random.Random(20240101)
    out = []
    for i in range(n):
        pick = ["".join(rnd.choice(HOSTILE) for _ in range(rnd.randint(0, 5))) for _ in range(4)]
        a = art(
            title=pick[0], source_name=pick[1], link=pick[2] or "https://e.example/x",
            guid=pick[3], categories=(pick[3], pick[0]), authors=(pick[1],),
            published=T0 + timedelta(minutes=i), content=f"<p>{pick[0]}</p>\n<p>{pick[1]}</p>",
        )  # fmt: skip
        out.append(a)
    return out


def test_front_matter_same_for_both_pyyaml_readers() -> None:
    for a in _hostile_articles(600):
        text = render_post(a)
        front = text.split("\n---\n", 1)[0][4:] + "\n"
        pure = yaml.load(front, Loader=yaml.SafeLoader)
        assert pure == dict(parse_post(text).front_matter)  # C reader
        assert pure["title"] == fix_surrogates(a.title)


@pytest.mark.skipif(shutil.which("ruby") is None, reason="ruby not installed")
def test_front_matter_is_valid_for_psych(tmp_path: Path) -> None:
    """Ruby's Psych (what Jekyll 4 uses) reads every hostile front matter as PyYAML does."""
    arts = _hostile_articles(600)
    docs = [render_post(a).split("\n---\n", 1)[0][4:] for a in arts]
    (tmp_path / "docs.json").write_text(json.dumps(docs), encoding="utf-8")
    script = (
        "require 'yaml'; require 'json'; require 'date'; require 'time'; out = JSON.parse(File.read("
        "ARGV[0])).map { |d| begin; Psych.safe_load(d, permitted_classes: [Date, Time]).transform_"
        "values { |v| v.is_a?(Time) ? v.utc.iso8601(3) : v }; rescue => e; {'error' => e.message};"
        " end }; puts JSON.generate(out)"
    )  # the loader call is Jekyll 4's Utils.safe_load_yaml
    res = subprocess.run(["ruby", "-e", script, str(tmp_path / "docs.json")], capture_output=True)
    assert res.returncode == 0, res.stderr.decode()
    fx = fix_surrogates
    for a, got in zip(arts, json.loads(res.stdout), strict=True):
        assert "error" not in got, (a.title, got)
        assert (got["title"], got["author"], got["from"]) == (
            fx(a.title),
            fx(a.source_name),
            fx(a.link),
        )
        assert got["tags"] == got["categories"] == [fx(a.source_name)]
        assert got["feed_categories"] == [fx(c) for c in a.categories]
        assert got["date"] == iso_ms(a.published) and got.get("guid", "") == fx(a.guid)


@pytest.mark.jekyll
@pytest.mark.skipif(shutil.which("jekyll") is None, reason="jekyll not installed")
def test_jekyll_builds_posts(tmp_path: Path) -> None:
    """A real Jekyll build: hostile titles, names and Liquid-looking content show literally."""
    site = tmp_path / "site"
    titles = [
        "普通標題 {{ site.title }} 與 {% raw %}", "第一行\n第二行\u2028第三", "{% if x %}未閉合 {{",
        "冒號: [括號] #井號 & * ! | > % @ `反引號` \\ ^ $$x$$ ~~s~~ {:.c} {::comment}",
        "CON", "控制\x00\x07字元\x7f 😀 \u200f עברית",
    ]  # fmt: skip
    content = "<p>內容 {{ page.title }} {% include nope.html %} {{ 未閉合</p>\n  <p>第二段</p>"
    arts = [
        art(title=t, published=T0 + timedelta(minutes=i), source_name=["示範社", "BBC: 中文 [x] #1"][i % 2],
            link=f"https://e.example/a b({i})<{i}>", content=content)
        for i, t in enumerate(titles)
    ]  # fmt: skip
    files = {
        "_config.yml": "title: 示範鏡像\ntimezone: UTC\n",
        "_layouts/post.html": '<html><body><h1 id="t">{{ page.title | xml_escape }}</h1>'
        "{{ content }}</body></html>\n",
    } | {f"_posts/{post_filename(a.published, a.title)}": render_post(a) for a in arts}
    for rel, text in files.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_text(text, encoding="utf-8")
    res = subprocess.run(
        ["jekyll", "build", "--safe", "-s", str(site), "-d", str(site / "_site")],
        capture_output=True, timeout=120,
    )  # fmt: skip
    assert res.returncode == 0, res.stdout.decode() + res.stderr.decode()
    pages = sorted((site / "_site").rglob("*.html"))
    assert len(pages) == len(arts)
    ctrl = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # not parseable by lxml
    seen = set()
    for page in pages:
        doc = lxml.html.fromstring(ctrl.sub("?", page.read_text(encoding="utf-8")))
        h1 = doc.get_element_by_id("t").text_content()
        a = next(a for a in arts if h1 == ctrl.sub("?", a.title))
        seen.add(a.title)
        links = doc.xpath("//p/a")
        assert len(links) == 1 and links[0].get("href") == md_url(a.link)
        assert links[0].text_content() == re.sub(r"[\x00-\x1f\x7f\u2028]+", " ", a.title)
        div = doc.xpath("//div")[0].text_content().strip()
        assert div == "內容 {{ page.title }} {% include nope.html %} {{ 未閉合第二段"
    assert len(seen) == len(arts)
