"""Reference data for measuring article extraction, and the F1 measure itself.

Article text must not be copied into this repository, so the references for the real pages
in ``shared/corpus/pages/`` are hand-checked selectors: for each page, the element(s) that
hold the true article body (``select``) and, inside them, what is not article text
(``exclude``: share bars, "related" boxes, editor tags, inline ads …). The reference text is
computed at test time from the corpus page. Each selector was checked by reading the first
and last sentences it selects. A selector is CSS, or XPath when it starts with ``/``, ``(``
or ``.``.

Decisions applied to every page: the headline, byline/date line above the body and the
publisher's "source / editor" footer outside the body container are not article text;
captions and in-body notes ("原标题", "（完）") that sit inside the body are.

Synthetic pages (``tests/fixtures/pages/*.html``, written for this project) carry their
reference text beside them in ``*.ref.txt``.

Tokens for F1: every CJK character (and CJK punctuation is dropped) is one token; other text
is split on whitespace and punctuation and lower-cased. F1 is over token multisets.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from lxml import etree
from lxml.cssselect import CSSSelector
from lxml.html import HtmlElement, HTMLParser, document_fromstring

FIXTURE_PAGES = Path(__file__).resolve().parent / "fixtures" / "pages"


def corpus_dir() -> Path | None:
    """shared/corpus beside the checkout (or $NEWSMIRROR_CORPUS); None when absent."""
    env = os.environ.get("NEWSMIRROR_CORPUS")
    path = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "corpus"
    return path if (path / "pages").is_dir() else None


@dataclass(frozen=True, slots=True)
class PageRef:
    path: str  # relative to corpus/pages
    select: str  # the article body: CSS, or XPath
    exclude: tuple[str, ...] = ()  # inside the selection, not article text
    note: str = ""


_163 = (".ep-source", ".gg200x300", ".related_article", ".special_tag_wrap", ".video-wrapper")
_PAPER = ("div.news_editor", ".news_tag", ".news_love", ".go_CommentGuide")

REFS: tuple[PageRef, ...] = (
    PageRef("gne/tests/163/1.html", "#endText", _163),
    PageRef("gne/tests/163/2.html", "#endText", _163),
    PageRef("gne/tests/163/3.html", "#endText", _163),
    PageRef("gne/tests/163/4.html", "#endText", _163),
    PageRef(
        "gne/tests/163/5.html", "#endText", (*_163, "pre"), "the <pre> is a related-story teaser"
    ),
    PageRef("gne/tests/163/6.html", "#endText", _163),
    PageRef("gne/tests/163/7.html", "#endText", _163),
    PageRef("gne/tests/163/8.html", "#endText", _163),
    PageRef("gne/tests/163/9.html", "#content", _163),
    PageRef("gne/tests/baijiahao/1.html", ".article-content"),
    PageRef("gne/tests/baijiahao/2.html", ".article-content"),
    PageRef("gne/tests/baijiahao/3.html", ".article-content"),
    PageRef("gne/tests/baijiahao/4.html", ".article-content"),
    PageRef("gne/tests/cjddsb/1.html", ".single-content"),
    PageRef("gne/tests/cjn/1.html", ".art-main .TRS_Editor"),
    PageRef("gne/tests/cmse/1.html", "#content"),
    PageRef("gne/tests/csdn/1.html", ".news_content"),
    PageRef("gne/tests/ednchina/1.html", ".article_text"),
    PageRef("gne/tests/gamersky/gamersky.html", ".gsAreaContextArt"),
    PageRef("gne/tests/gsc/1.html", ".detailCon"),
    PageRef("gne/tests/guancha/2.html", ".all-txt"),
    PageRef("gne/tests/guancha/3.html", ".all-txt"),
    PageRef("gne/tests/guancha/guancha.html", ".all-txt"),
    PageRef("gne/tests/gzggw/1.html", "#zoom"),
    PageRef("gne/tests/mingridapan/1.html", ".page_art_content"),
    PageRef(
        "gne/tests/njxfhn/1.html",
        "//div[contains(@class, 'post-body')]/p",
        ("a[href*='sohu.com']",),
        "the trailing blockquote is an unrelated teaser",
    ),
    PageRef("gne/tests/other/1.html", "#UCAP-CONTENT"),
    PageRef("gne/tests/readhub/readhub.html", "div[class^=summary]"),
    PageRef("gne/tests/shanxi/1.html", ".article-body"),
    PageRef("gne/tests/sxmu/1.html", "#vsb_content"),
    PageRef("gne/tests/thepaper/1.html", ".news_txt", _PAPER),
    PageRef("gne/tests/thepaper/2.html", ".news_txt", _PAPER),
    PageRef("gne/tests/thepaper/3.html", ".news_txt", _PAPER),
    PageRef("gne/tests/thepaper/4.html", ".news_txt", _PAPER),
    PageRef("gne/tests/thepaper/5.html", ".news_txt", _PAPER),
    PageRef("gne/tests/wechat/1.html", "#js_content"),
    PageRef("gne/tests/wechat/2.html", "#js_content"),
    PageRef("gne/tests/xds/1.html", ".statuses-text"),
    PageRef("gne/tests/zsnews/1.html", "//td[p]"),
    PageRef("gne/tests/zyyfy/1.html", "#z"),
    PageRef("gne/visiable_test/021news/1.html", ".article-style"),
    PageRef("gne/visiable_test/163/1.html", ".post_body"),
    PageRef("gne/visiable_test/cmse/1.html", ".TRS_Editor"),
    PageRef(
        "gne/visiable_test/mydrivers/1.html",
        ".news_info",
        ("p.end", "p.zhuanzai", "p.bqian", ".//span[contains(., '责任编辑')]"),
    ),
    PageRef("gne/visiable_test/thepaper/1.html", ".news_txt", _PAPER),
)


# ---------------------------------------------------------------- reference text

_PARSER = HTMLParser(remove_comments=True, remove_pis=True, huge_tree=True)
_STRAY_END = re.compile(r"</(?:body|html)\s*>", re.I)
_BLOCKS = frozenset(
    [
        "p",
        "div",
        "br",
        "li",
        "tr",
        "td",
        "th",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "section",
        "article",
        "blockquote",
        "pre",
        "figure",
        "figcaption",
        "table",
        "ul",
        "ol",
        "dl",
        "dt",
        "dd",
        "header",
        "footer",
    ]
)


def _select(root: HtmlElement, selector: str) -> list[HtmlElement]:
    if selector.startswith(("/", "(", ".//")):
        return list(root.xpath(selector))
    return list(CSSSelector(selector, translator="html")(root))


def element_text(el: HtmlElement) -> str:
    """Text of an element with block boundaries as newlines, whitespace collapsed."""
    parts: list[str] = []
    for event, node in etree.iterwalk(el, events=("start", "end")):
        tag = node.tag if isinstance(node.tag, str) else ""
        if event == "start":
            if tag in _BLOCKS:
                parts.append("\n")
            if node.text and tag not in ("script", "style"):
                parts.append(node.text)
        else:
            if tag in _BLOCKS:
                parts.append("\n")
            if node.tail and node is not el:
                parts.append(node.tail)
    lines = (" ".join(line.split()) for line in "".join(parts).split("\n"))
    return "\n".join(line for line in lines if line)


def reference_text(html: str, ref: PageRef) -> str:
    """The hand-checked article text of a corpus page."""
    root = document_fromstring(_STRAY_END.sub("", html), parser=_PARSER)
    for bad in root.xpath("//script|//style|//noscript|//template"):
        bad.drop_tree()
    chosen = _select(root, ref.select)
    if not chosen:
        raise LookupError(f"{ref.path}: selector {ref.select!r} selects nothing")
    for selector in ref.exclude:
        for el in chosen:
            for bad in _select(el, selector):
                if bad is not el and bad.getparent() is not None:
                    bad.drop_tree()
    return "\n".join(element_text(el) for el in chosen)


def synthetic_pages() -> list[tuple[Path, str]]:
    """(page, reference text) for every synthetic page."""
    out = []
    for page in sorted(FIXTURE_PAGES.glob("*.html")):
        ref = page.with_suffix(".ref.txt")
        out.append((page, ref.read_text(encoding="utf-8")))
    return out


# ---------------------------------------------------------------- F1

_WORD = re.compile(r"\w+", re.U)


def _is_cjk(ch: str) -> bool:
    o = ord(ch)
    return (
        0x4E00 <= o <= 0x9FFF
        or 0x3400 <= o <= 0x4DBF
        or 0x20000 <= o <= 0x2FA1F
        or 0xF900 <= o <= 0xFAFF
        or 0x3040 <= o <= 0x30FF  # kana
        or 0xAC00 <= o <= 0xD7AF  # hangul
    )


def tokenize(text: str) -> list[str]:
    """CJK characters one token each; other text split on whitespace/punctuation."""
    text = unicodedata.normalize("NFKC", text).lower()
    out: list[str] = []
    for m in _WORD.finditer(text):
        word = m.group(0)
        buf = ""
        for ch in word:
            if _is_cjk(ch):
                if buf:
                    out.append(buf)
                    buf = ""
                out.append(ch)
            else:
                buf += ch
        if buf:
            out.append(buf)
    return out


def word_f1(candidate: str, reference: str) -> float:
    """F1 of the candidate's token multiset against the reference's."""
    cand, ref = Counter(tokenize(candidate)), Counter(tokenize(reference))
    if not cand and not ref:
        return 1.0
    common = sum((cand & ref).values())
    if not common:
        return 0.0
    precision = common / sum(cand.values())
    recall = common / sum(ref.values())
    return 2 * precision * recall / (precision + recall)
