"""The extract stage: an article page's bytes → its main content (HTML fragment) and metadata.

:func:`extract_page` is pure (it never fetches: trafilatura is handed our parsed tree) and
takes the first of, in order:

1. ``content_selector`` — the source's own CSS rule, when it selects something;
2. ``density`` — the element holding most of the page's prose by text and punctuation
   density (navigation, forms, hidden and comment boxes ignored; link lists pruned);
3. ``trafilatura`` (``include_comments=False``, images, links, tables) — when the density
   pass finds under 30 characters of prose (pages of short lines, image pages);
4. otherwise ``ItemError(reason="fulltext_failed")``.

Density comes first because it measured best (``bench/extract_quality.py``: word F1 on the
corpus pages 0.998 against trafilatura's 0.885, which keeps comment threads and misses
``<span>``-only bodies). A leading line repeating the title and trailing editor lines go.

The returned HTML is one well-formed element but NOT sanitized: the pipeline passes it
through :func:`newsmirror.clean.clean_html` with ``base_url=url``.

:func:`is_summary` decides, for ``fulltext = "auto"``, whether a feed item carries only a
summary. :class:`ExtractPool` (from :mod:`newsmirror.procpool`) runs :func:`extract_page`
(or another function) in worker processes.

The density extractor is :mod:`newsmirror.extract_density`'s.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from lxml import etree
from lxml.cssselect import CSSSelector
from lxml.html import HtmlElement, document_fromstring

from .charset import decode
from .clean import clean_title, validate_selector
from .clean_text import fragment_text, has_text, html_parser, html_to_text, parse_fragment
from .dates import parse_date
from .errors import ItemError
from .extract_density import (
    BLOCK,
    MIN_TEXT,
    density_extract,
    drop,
    link_density,
    norm,
    prune,
    without_junk,
)
from .procpool import ExtractPool

__all__ = ["ExtractPool", "Extracted", "Found", "extract_page", "extract_parsed", "is_summary"]


@dataclass(frozen=True, slots=True)
class Extracted:
    html: str  # the main content, a well-formed fragment (not yet sanitized)
    text: str  # its plain text
    title: str = ""
    author: str = ""
    published: datetime | None = None
    image: str = ""  # lead image (og:image), as the page wrote it
    method: str = ""  # "selector" | "density" | "trafilatura"


# ---------------------------------------------------------------- parsing

_PARSER = html_parser(remove_comments=True, remove_pis=True, huge_tree=True)
# A stray </body> or </html> mid-page makes libxml2 put the rest of the page outside <body>.
_STRAY_END = re.compile(r"</(?:body|html)\s*>", re.I)
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


# The bytes that UTF-8 decodes to _BAD_CHARS: ASCII controls, and U+FFFE / U+FFFF (a UTF-8
# decoder, strict or replacing, never makes a surrogate, nor takes an ASCII byte into a
# replaced sequence).
_BAD_ASCII = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_BAD_UTF8 = (b"\xef\xbf\xbe", b"\xef\xbf\xbf")


def _utf8_has_bad_chars(body: bytes) -> bool:
    """False when ``body`` decoded as UTF-8 (with or without replacement) has no character
    of ``_BAD_CHARS``: a scan of the bytes, three times faster than the regex on the text."""
    return len(body.translate(None, _BAD_ASCII)) != len(body) or any(
        seq in body for seq in _BAD_UTF8
    )


# Numeric character references to the characters lxml keeps in a tree but refuses in a
# parse of it (C0/C1 controls, surrogates, U+FFFE/U+FFFF: ``clean_text._BAD_CHARS``; and
# CR, which the tree keeps and serializes as ``&#13;``, and which that parse drops), and
# some others near them (a match only costs a parse).
_BAD_REF = re.compile(
    r"&#(?:0*(?:[0-8]|1[1-9]|2\d|3[01]|12[7-9]|1[3-5]\d|5[5-7]\d{3}|6553[45])(?!\d)"
    r"|[xX]0*(?:[0-8bBcCdDeEfF]|1[0-9a-fA-F]|7[fF]|[89][0-9a-fA-F]|[dD][89a-fA-F][0-9a-fA-F]{2}"
    r"|[fF]{3}[eEfF])(?![0-9a-fA-F]))"
)


def _parse_page(text: str, *, clean: bool = False) -> HtmlElement:
    """The page parsed (``clean``: ``text`` is known to hold no ``_BAD_CHARS``)."""
    text = _STRAY_END.sub("", text if clean else _BAD_CHARS.sub("", text))
    if not text.strip():
        raise ItemError("page is empty", reason="fulltext_failed")
    try:
        return document_fromstring(text, parser=_PARSER)
    except (etree.ParserError, ValueError) as e:
        raise ItemError(f"page is not parseable HTML: {e}", reason="fulltext_failed") from e


def _select(root: HtmlElement, selector: str) -> list[HtmlElement]:
    problem = validate_selector(selector)
    if problem:
        raise ItemError(problem, reason="bad_selector")
    return list(CSSSelector(selector, translator="html")(root))


# ---------------------------------------------------------------- trafilatura


def _trafilatura(root: HtmlElement, url: str) -> HtmlElement | None:
    """trafilatura's main content as a <div>, or None. Never fetches: it gets the tree."""
    import trafilatura  # imported lazily: heavy, and workers may never need it

    out = trafilatura.extract(
        copy.deepcopy(root),  # trafilatura edits the tree it is given
        url=url or None, output_format="html", include_comments=False, include_images=True,
        include_links=True, include_tables=True, include_formatting=True, deduplicate=False,
    )  # fmt: skip
    if not out or not out.strip():
        return None
    doc = document_fromstring(out, parser=_PARSER)
    body = doc.find("body")
    if body is None:
        return None
    body.tag = "div"
    body.attrib.clear()
    return body


# ---------------------------------------------------------------- tidy the result

_TRAILER = re.compile(
    r"^[(（]?(?:责任编辑|責任編輯|责编|編輯|本文来源|轉載請註明|转载请注明|-\s*THE END\s*-)", re.I
)


def _trim(el: HtmlElement, titles: set[str]) -> None:
    """Drop a leading block that repeats the title and trailing editor/source lines."""
    inner = [b for b in el.iter() if b.tag in BLOCK and b is not el]
    blocks = [b for b in inner if not any(d.tag in BLOCK for d in b.iterdescendants())]
    if blocks and norm(blocks[0].text_content()) in titles:
        drop(blocks[0])
    for block in reversed(blocks[1:]):
        text = block.text_content().strip()
        if not text or len(text) > 60 or not _TRAILER.match(text):
            break
        drop(block)


# ---------------------------------------------------------------- metadata

_META_KEYS = {
    "title": ("og:title", "twitter:title", "title"),
    "author": ("author", "article:author", "og:article:author", "dc.creator", "byl"),
    "date": (
        "article:published_time", "og:published_time", "datepublished", "pubdate",
        "publishdate", "publish-date", "publish_date", "dc.date", "dc.date.issued", "date",
        "sailthru.date", "parsely-pub-date", "firstpublishedtime",
    ),
    "image": ("og:image", "og:image:url", "og:image:secure_url", "twitter:image", "image"),
}  # fmt: skip


def _meta(root: HtmlElement) -> dict[str, str]:
    found: dict[str, str] = {}
    for m in root.iter("meta"):
        key = (m.get("property") or m.get("name") or m.get("itemprop") or "").strip().lower()
        value = (m.get("content") or "").strip()
        if key and value and key not in found:
            found[key] = value
    return found


def _first(meta: dict[str, str], field: str) -> str:
    return next((meta[k] for k in _META_KEYS[field] if meta.get(k)), "")


def _published(root: HtmlElement, meta: dict[str, str]) -> datetime | None:
    values = [meta.get(k, "") for k in _META_KEYS["date"]]
    values += [t.get("datetime") or "" for t in root.iter("time")]
    return next((when for v in values if v and (when := parse_date(v))), None)


def _metadata(root: HtmlElement) -> tuple[str, str, datetime | None, str, set[str]]:
    """(title, author, published, lead image, title variants) from meta tags and headings."""
    meta = _meta(root)
    h1, head = root.find(".//h1"), root.find(".//title")
    head_title = clean_title(head.text_content()) if head is not None else ""
    h1_title = clean_title(h1.text_content()) if h1 is not None else ""
    og_title = clean_title(_first(meta, "title"))
    # The <h1> or og:title when a longer title agrees with it (<title> often adds the site)
    longer = " ".join(norm(t) for t in (head_title, og_title))
    title = next((t for t in (h1_title, og_title) if t and norm(t) in longer), "")
    title = title or og_title or head_title or h1_title
    variants = (h1_title, og_title, head_title)
    author = clean_title(_first(meta, "author"))
    if author.startswith(("http://", "https://")) or "@" in author:
        author = ""
    titles = {norm(v) for v in variants} - {""}
    return title, author, _published(root, meta), _first(meta, "image"), titles


# ---------------------------------------------------------------- extract_page


class Found(NamedTuple):
    """What :func:`extract_parsed` found on a page: the main content (one element), the
    same under a bare ``<body>`` as :func:`~newsmirror.clean_text.parse_fragment` gives
    its HTML, and the page's metadata."""

    content: HtmlElement
    fragment: HtmlElement
    title: str
    author: str
    published: datetime | None
    image: str
    method: str


def extract_page(
    body: bytes,
    *,
    url: str,
    header_charset: str = "",
    content_selector: str = "",
    remove_selectors: tuple[str, ...] = (),
) -> Extracted:
    """The main content and metadata of an article page (see the module docstring)."""
    found = extract_parsed(
        body, url=url, header_charset=header_charset, content_selector=content_selector,
        remove_selectors=remove_selectors,
    )  # fmt: skip
    try:
        html = etree.tostring(found.content, encoding="unicode", method="html")
    except Exception as e:  # (as in extract_parsed)
        raise _failed(e, url) from None
    # (``found.fragment`` is the tree a parse of ``html`` gives: its text is that parse's)
    return Extracted(html, fragment_text(found.fragment), *found[2:])


def extract_parsed(
    body: bytes,
    *,
    url: str,
    header_charset: str = "",
    content_selector: str = "",
    remove_selectors: tuple[str, ...] = (),
) -> Found:
    """:func:`extract_page`, with the content left as a tree, for
    :func:`~newsmirror.clean.clean_fragment_text` to clean without a serialization and a
    parse: the same tree as a parse of :func:`extract_page`'s HTML would give, except in
    the rare page whose numeric character references make characters that parse would
    drop (then that parse is done)."""
    try:
        text, used = decode(body, header_charset=header_charset, kind="html")
        clean = used == "utf-8" and not _utf8_has_bad_chars(body)
        root = _parse_page(text, clean=clean)
        for selector in remove_selectors:
            for el in _select(root, selector):
                if el is not root:
                    drop(el)
        title, author, published, image, titles = _metadata(root)
        content = _selected(root, content_selector) if content_selector else None
        method = "selector"
        if content is None:

            def pristine() -> HtmlElement:  # the page as it was before density took its body
                again = _parse_page(text, clean=clean)
                for selector in remove_selectors:
                    for el in _select(again, selector):
                        if el is not again:
                            drop(el)
                return again

            content, method = _generic(root, url, pristine)
        if content is not None and method != "selector":
            _trim(content, titles)
        fragment = None
        if content is not None:
            content.tail = None
            fragment = _wrapped(content, text)
    except ItemError as e:
        raise e.with_context(url=url) from None
    except Exception as e:  # a parser or extractor bug must cost one item, not the run
        raise _failed(e, url) from None
    if content is None or fragment is None or not (
        has_text(fragment) or next(fragment.iter("img"), None) is not None
    ):
        tried = "content_selector, " if content_selector else ""
        msg = f"no article text found ({tried}density and trafilatura found nothing)"
        raise ItemError(msg, url=url, reason="fulltext_failed")
    return Found(content, fragment, title, author, published, image, method)


def _wrapped(content: HtmlElement, page: str) -> HtmlElement | None:
    """``content`` moved under a bare ``<body>`` made in its own tree, or a parse of its
    HTML when ``page`` has character references that parse would change (or when
    ``content`` is the top of its tree).

    What stays of the page (density detaches the page's body from its document) is freed
    when the last Python proxy of an element in it goes: ``top`` is one. Moved out by
    itself, into a ``<body>`` made elsewhere, ``content`` left no proxy there, and every
    page's tree stayed in memory."""
    top = content.getparent()
    if top is None or _BAD_REF.search(page):
        return parse_fragment(etree.tostring(content, encoding="unicode", method="html"))
    while (up := top.getparent()) is not None:
        top = up
    body = etree.SubElement(top, "body")
    body.append(content)
    top.remove(body)
    return body


def _failed(e: Exception, url: str) -> ItemError:
    msg = f"full text could not be extracted: {type(e).__name__}: {e}"
    return ItemError(msg, url=url, reason="fulltext_failed")


def _generic(
    root: HtmlElement, url: str, pristine: Callable[[], HtmlElement]
) -> tuple[HtmlElement | None, str]:
    """Density first (it takes the body out of ``root``); trafilatura, on the page as
    ``pristine`` makes it again (a parse is cheaper than copying every page for the rare
    fallback), when density finds too little prose."""
    dense = density_extract(root, consume=True)
    dense_len = len(norm(dense.text_content())) if dense is not None else 0
    if dense is not None and dense_len >= MIN_TEXT:
        return dense, "density"
    traf = _trafilatura(pristine(), url)
    if traf is not None:
        prune(traf)
        traf_len = len(norm(traf.text_content()))
        if traf_len > dense_len and link_density(traf) <= 0.5:
            return traf, "trafilatura"
    return dense, "density"


def _selected(root: HtmlElement, selector: str) -> HtmlElement | None:
    """Copies of the elements the source's content_selector picks, in one <div>."""
    box = root.makeelement("div", {})
    for el in _select(root, selector):
        if norm(el.text_content()) or el.find(".//img") is not None:
            el = copy.deepcopy(el)
            el.tail = None
            box.append(without_junk(el))
    return box if len(box) else None


# ---------------------------------------------------------------- is_summary

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]")
_CJK_RUN = re.compile(_CJK.pattern + "+")  # counts the same, with far fewer replacements
_LATIN_WORD = re.compile(r"[^\W_]+")
_CLOSERS = "])）」』】>»›"  # what may follow a closing ellipsis (and whitespace)
_ELLIPSIS_END = re.compile(r"(?:…|\.\.\.|。。。|⋯)\s*[" + re.escape(_CLOSERS) + r"]*\s*$")
_MORE = re.compile(
    r"(?:閱讀全文|阅读全文|查看全文|全文|繼續閱讀|继续阅读|閱讀更多|阅读更多|更多|詳細|详细|"
    r"read\s+(?:the\s+)?(?:more|full\s+(?:story|article))|continue\s+reading|more\s*»|full\s+story)"
    r"\s*[»›>…。.!！]*\s*[\]\)）」』】]*\s*$",
    re.I,
)


def _ellipsis_from(text: str) -> int:
    """Where :data:`_ELLIPSIS_END` can start matching in ``text``: what follows its
    ellipsis is only whitespace and closers, and an ellipsis is 1–3 characters, none of
    them whitespace or a closer; so a match starts at most 3 before the trailing run of
    those. Searching from there, not over the whole text, finds the same matches."""
    k = len(text)
    while k and (text[k - 1] in _CLOSERS or text[k - 1].isspace()):
        k -= 1
    return max(0, k - 3)


SUMMARY_CJK_CHARS = 200  # fewer CJK characters than this (in CJK text) is a summary
SUMMARY_WORDS = 60  # fewer words than this (in other text) is a summary


def is_summary(content_html: str, text: str) -> bool:
    """Whether a feed item's content is only a summary (for ``fulltext="auto"``): True when
    the text is empty, ends in an ellipsis (…, ..., ……) or a "read more" link or phrase
    (閱讀全文 / 阅读全文 / 全文 / 更多 / Read more / Continue reading …), or is short: under
    :data:`SUMMARY_CJK_CHARS` CJK characters in Chinese (Japanese, Korean) text, under
    :data:`SUMMARY_WORDS` words otherwise. ``text`` is computed from the HTML when empty."""
    if not text.strip() and content_html.strip():
        text = html_to_text(content_html)
    text = text.strip()
    if not text:
        return True
    if _ELLIPSIS_END.search(text, _ellipsis_from(text)) or _MORE.search(text[-40:]):
        return True
    cjk = len(text) - len(_CJK_RUN.sub("", text))
    if cjk >= SUMMARY_CJK_CHARS and 2 * cjk >= len(text):
        return False  # every word needs a non-CJK character: words <= len - cjk <= cjk
    words = len(_LATIN_WORD.findall(_CJK.sub(" ", text)))
    if cjk >= words:  # mostly CJK text
        return cjk < SUMMARY_CJK_CHARS
    return words < SUMMARY_WORDS
