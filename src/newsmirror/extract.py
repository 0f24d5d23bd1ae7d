"""The extract stage: an article page's bytes → its main content (HTML fragment) and metadata.

:func:`extract_page` is pure (it never fetches) and tries, in order:

1. ``content_selector`` — the source's own CSS rule, when given and it selects text;
2. trafilatura — two passes over the same tree (default and ``favor_precision``), each checked
   against the density extractor below; the pass that agrees best with it wins;
3. a small text-density extractor (``method="fallback"``) — used alone when trafilatura
   finds nothing usable (e.g. WeChat-style pages whose text sits in ``<span>``s, not ``<p>``s);
4. otherwise ``ItemError(reason="fulltext_failed")``.

The returned HTML is a well-formed fragment but NOT sanitized: the pipeline passes it
through :func:`newsmirror.clean.clean_html` with ``base_url=url``.

:func:`is_summary` decides, for ``fulltext = "auto"``, whether a feed item carries only a
summary. :class:`ExtractPool` runs :func:`extract_page` in worker processes.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import multiprocessing
import os
import re
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lxml import etree
from lxml.cssselect import CSSSelector
from lxml.html import HtmlElement, HTMLParser, document_fromstring, fragment_fromstring

from .charset import decode
from .clean import clean_title, html_to_text, validate_selector
from .dates import parse_date
from .errors import ItemError
from .sanitize import tag_set

__all__ = ["ExtractPool", "Extracted", "extract_page", "is_summary"]


@dataclass(frozen=True, slots=True)
class Extracted:
    html: str  # the main content, a well-formed fragment (not yet sanitized)
    text: str  # its plain text
    title: str = ""
    author: str = ""
    published: datetime | None = None
    image: str = ""  # lead image (og:image), as the page wrote it
    method: str = ""  # "selector" | "trafilatura" | "fallback"


# ---------------------------------------------------------------- parsing

_PARSER = HTMLParser(remove_comments=True, remove_pis=True, huge_tree=True)
# A stray </body> or </html> mid-page makes libxml2 put the rest of the page outside <body>.
_STRAY_END = re.compile(r"</(?:body|html)\s*>", re.I)
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_JUNK_TAGS = ("script", "style", "noscript", "template", "iframe", "object", "embed", "svg")


def _parse_page(text: str) -> HtmlElement:
    text = _STRAY_END.sub("", _BAD_CHARS.sub("", text))
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


def _drop(el: HtmlElement) -> None:
    if el.getparent() is not None:
        el.drop_tree()


def _fragment(elements: list[HtmlElement]) -> str:
    parts = []
    for el in elements:
        el = copy.deepcopy(el)
        el.tail = None
        for bad in el.xpath(" | ".join(f"descendant::{t}" for t in _JUNK_TAGS)):
            _drop(bad)
        parts.append(etree.tostring(el, encoding="unicode", method="html"))
    return "".join(parts)


def _norm(text: str) -> str:
    return "".join(text.split())


# ---------------------------------------------------------------- density extractor

_BLOCK = tag_set(
    "address article aside blockquote body center dd div dl dt fieldset figcaption figure "
    "footer form h1 h2 h3 h4 h5 h6 header li main nav ol p pre section table tbody td th tr ul"
)
_CONTAINER = tag_set("article body div main section td blockquote center form")
_BOILERPLATE_TAGS = ("nav", "aside", "footer", "select", "button", "textarea", "input")
_COMMENT_NAMES = frozenset({"comment", "comments", "commentlist", "disqus", "replies"})
_NAME_SPLIT = re.compile(r"[\s_-]+")
_PUNCT = frozenset('，。！？；：、,.!?;:“”"')
_MIN_PARA = 15  # characters: shorter text blocks are menu items, labels, counters
_MIN_TEXT = 30  # characters of prose below which the density result is not trusted


def _is_comment_box(el: HtmlElement) -> bool:
    names = f"{el.get('id') or ''} {el.get('class') or ''}".lower()
    if not names.strip() or not _COMMENT_NAMES.intersection(_NAME_SPLIT.split(names)):
        return False
    return el.find(".//h1") is None and el.find(".//article") is None


def _visible_tree(root: HtmlElement) -> HtmlElement:
    """A copy of the page body without scripts, navigation, forms, comments, hidden boxes."""
    body = root.find("body")
    work = copy.deepcopy(body if body is not None else root)
    junk = (*_JUNK_TAGS, *_BOILERPLATE_TAGS)
    for el in work.xpath(" | ".join(f"descendant::{t}" for t in junk)):
        _drop(el)
    for el in work.xpath("descendant::*[@style or @hidden or @id or @class]"):
        style = (el.get("style") or "").replace(" ", "").lower()
        if "display:none" in style or el.get("hidden") is not None or _is_comment_box(el):
            _drop(el)
    return work


def _block_of(el: HtmlElement) -> HtmlElement:
    while el.tag not in _BLOCK and el.getparent() is not None:
        el = el.getparent()
    return el


def _link_chars(el: HtmlElement) -> int:
    return sum(len(_norm(a.text_content())) for a in el.iter("a"))


def _paragraph_scores(work: HtmlElement) -> Counter[HtmlElement]:
    """Score of each block's own text (text nodes belong to their nearest block element)."""
    chars: Counter[HtmlElement] = Counter()
    punct: Counter[HtmlElement] = Counter()
    for el in work.iter():
        if not isinstance(el.tag, str):
            continue
        for owner, text in ((el, el.text), (el.getparent(), el.tail)):
            if owner is None or not text or not text.strip():
                continue
            if owner.tag == "a" or any(a.tag == "a" for a in owner.iterancestors("a")):
                continue  # link text is not prose
            block = _block_of(owner)
            chars[block] += len(_norm(text))
            punct[block] += sum(1 for ch in text if ch in _PUNCT)
    return Counter({b: 1 + punct[b] + min(n / 100, 3) for b, n in chars.items() if n >= _MIN_PARA})


def _density_candidate(work: HtmlElement) -> HtmlElement | None:
    """The element that holds most of the page's prose: paragraph scores flow to the
    enclosing container (full), its parent (half) and grandparent (quarter); the best
    total, discounted by link density, wins."""
    scores: Counter[HtmlElement] = Counter()
    for block, score in _paragraph_scores(work).items():
        node: HtmlElement | None = block if block.tag in _CONTAINER else block.getparent()
        for share in (1.0, 0.5, 0.25):
            if node is None:
                break
            scores[node] += score * share
            node = node.getparent()
    if not scores:
        return None

    def adjusted(item: tuple[HtmlElement, float]) -> float:
        el, score = item
        total = len(_norm(el.text_content())) or 1
        return score * (1 - min(_link_chars(el) / total, 1.0))

    return max(scores.most_common(8), key=adjusted)[0]


def _prune(el: HtmlElement) -> None:
    """Remove link lists and empty boxes from the chosen container."""
    for child in list(el.iter()):
        if child is el or child.getparent() is None or child.tag not in _BLOCK:
            continue
        text = _norm(child.text_content())
        if not text:
            if child.find(".//img") is None:
                _drop(child)
        elif len(text) < 400 and _link_chars(child) / len(text) > 0.6:
            _drop(child)


def density_extract(root: HtmlElement) -> HtmlElement | None:
    """The main-content element of a page by text density (a pruned copy), or None."""
    best = _density_candidate(_visible_tree(root))
    if best is None:
        return None
    _prune(best)
    if best.tag not in ("div", "article", "section", "main", "blockquote"):
        best.tag = "div"
    best.attrib.clear()
    return best


# ---------------------------------------------------------------- trafilatura


def _trafilatura(root: HtmlElement, url: str) -> HtmlElement | None:
    """trafilatura's main content as a <div>, or None. Never fetches: it gets the tree."""
    import trafilatura  # imported lazily: heavy, and workers may never need it

    out = trafilatura.extract(
        copy.deepcopy(root),  # trafilatura edits the tree it is given
        url=url or None,
        output_format="html",
        include_comments=False,
        include_images=True,
        include_links=True,
        include_tables=True,
        include_formatting=True,
        deduplicate=False,
    )
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
    blocks = [b for b in el.iter() if b is not el and b.tag in _BLOCK and not _has_block(b)]
    if blocks and _norm(blocks[0].text_content()) in titles:
        _drop(blocks[0])
    for block in reversed(blocks[1:]):
        text = block.text_content().strip()
        if not text or len(text) > 60 or not _TRAILER.match(text):
            break
        _drop(block)


def _has_block(el: HtmlElement) -> bool:
    return any(d.tag in _BLOCK for d in el.iterdescendants())


def _serialize(el: HtmlElement) -> str:
    el.tail = None
    return etree.tostring(el, encoding="unicode", method="html")


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
    for key in _META_KEYS["date"]:
        if meta.get(key) and (when := parse_date(meta[key])):
            return when
    for t in root.iter("time"):
        if (value := t.get("datetime") or "") and (when := parse_date(value)):
            return when
    return None


def _metadata(root: HtmlElement) -> tuple[str, str, datetime | None, str, set[str]]:
    """(title, author, published, lead image, title variants) from meta tags and headings."""
    meta = _meta(root)
    h1, head = root.find(".//h1"), root.find(".//title")
    head_title = clean_title(head.text_content()) if head is not None else ""
    h1_title = clean_title(h1.text_content()) if h1 is not None else ""
    og_title = clean_title(_first(meta, "title"))
    # The <h1> or og:title when a longer title agrees with it (<title> often adds the site)
    longer = " ".join(_norm(t) for t in (head_title, og_title))
    title = next((t for t in (h1_title, og_title) if t and _norm(t) in longer), "")
    title = title or og_title or head_title or h1_title
    variants = (h1_title, og_title, head_title)
    author = clean_title(_first(meta, "author"))
    if author.startswith(("http://", "https://")) or "@" in author:
        author = ""
    titles = {_norm(v) for v in variants} - {""}
    return title, author, _published(root, meta), _first(meta, "image"), titles


# ---------------------------------------------------------------- extract_page


def extract_page(
    body: bytes,
    *,
    url: str,
    header_charset: str = "",
    content_selector: str = "",
    remove_selectors: tuple[str, ...] = (),
) -> Extracted:
    """The main content and metadata of an article page (see the module docstring)."""
    try:
        text, _ = decode(body, header_charset=header_charset, kind="html")
        root = _parse_page(text)
        for selector in remove_selectors:
            for el in _select(root, selector):
                if el is not root:
                    _drop(el)
        title, author, published, image, titles = _metadata(root)
        content: HtmlElement | None = None
        method = ""
        if content_selector:
            chosen = [el for el in _select(root, content_selector) if _has_content(el)]
            if chosen:
                content = fragment_fromstring(_fragment(chosen), create_parent="div")
                method = "selector"
        if content is None:
            content, method = _generic(root, url)
        if content is not None and method != "selector":
            _trim(content, titles)
        html = _serialize(content) if content is not None else ""
        plain = html_to_text(html)
    except ItemError as e:
        raise e.with_context(url=url) from None
    except Exception as e:  # a parser or extractor bug must cost one item, not the run
        raise ItemError(
            f"full text could not be extracted: {type(e).__name__}: {e}",
            url=url,
            reason="fulltext_failed",
        ) from None
    if not plain and "<img" not in html:
        tried = "content_selector, " if content_selector else ""
        raise ItemError(
            f"no article text found ({tried}density and trafilatura found nothing)",
            url=url,
            reason="fulltext_failed",
        )
    return Extracted(html, plain, title, author, published, image, method)


def _generic(root: HtmlElement, url: str) -> tuple[HtmlElement | None, str]:
    """Density first; trafilatura when density finds too little prose."""
    dense = density_extract(root)
    dense_len = len(_norm(dense.text_content())) if dense is not None else 0
    if dense is not None and dense_len >= _MIN_TEXT:
        return dense, "density"
    traf = _trafilatura(root, url)
    if traf is not None:
        _prune(traf)
        traf_len = len(_norm(traf.text_content()))
        if traf_len > dense_len and _link_chars(traf) <= traf_len / 2:
            return traf, "trafilatura"
    return dense, "density"


def _has_content(el: HtmlElement) -> bool:
    return bool(_norm(el.text_content())) or el.find(".//img") is not None


# ---------------------------------------------------------------- is_summary

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]")
_LATIN_WORD = re.compile(r"[^\W_]+")
_ELLIPSIS_END = re.compile(r"(?:…|\.\.\.|。。。|⋯)\s*[\]\)）」』】>»›]*\s*$")
_MORE = re.compile(
    r"(?:閱讀全文|阅读全文|查看全文|全文|繼續閱讀|继续阅读|閱讀更多|阅读更多|更多|詳細|详细|"
    r"read\s+(?:the\s+)?(?:more|full\s+(?:story|article))|continue\s+reading|more\s*»|full\s+story)"
    r"\s*[»›>…。.!！]*\s*[\]\)）」』】]*\s*$",
    re.I,
)
SUMMARY_CJK_CHARS = 200  # fewer CJK characters than this (in CJK text) is a summary
SUMMARY_WORDS = 60  # fewer words than this (in other text) is a summary


def is_summary(content_html: str, text: str) -> bool:
    """Whether a feed item's content is only a summary of the article (``fulltext="auto"``).

    True when the text is empty; when it ends in an ellipsis (``…``, ``...``, ``……``); when
    it ends with a "read more" link or phrase (閱讀全文 / 阅读全文 / 全文 / 更多 / Read more /
    Continue reading …); or when it is short: under :data:`SUMMARY_CJK_CHARS` CJK characters
    for Chinese (or Japanese/Korean) text, under :data:`SUMMARY_WORDS` words otherwise.
    ``text`` is the plain text of ``content_html`` (computed when empty).
    """
    if not text.strip() and content_html.strip():
        text = html_to_text(content_html)
    text = text.strip()
    if not text:
        return True
    if _ELLIPSIS_END.search(text) or _MORE.search(text[-40:]):
        return True
    cjk = len(_CJK.findall(text))
    words = len(_LATIN_WORD.findall(_CJK.sub(" ", text)))
    if cjk >= words:  # mostly CJK text
        return cjk < SUMMARY_CJK_CHARS
    return words < SUMMARY_WORDS


# ---------------------------------------------------------------- process pool

_Outcome = tuple[str, Any]


def _run(func: Callable[..., Extracted], body: bytes, kw: dict[str, Any]) -> _Outcome:
    """Worker side: never lets an exception (or its traceback) cross the process boundary."""
    try:
        return "ok", func(body, **kw)
    except ItemError as e:
        return "error", (e.message, e.reason, e.url)
    except Exception as e:
        return "error", (f"extraction failed: {type(e).__name__}: {e}", "fulltext_failed", "")


class ExtractPool:
    """Runs :func:`extract_page` in worker processes (``workers`` = CPU count by default;
    ``workers=0`` runs in-process). Started lazily on first use with the ``spawn`` method;
    use as a (async) context manager or call :meth:`close`.

    Failures come back as ``ItemError``. A crashed worker (``BrokenProcessPool``) gets the
    pool recreated and the item retried (items in flight with it were lost through no fault
    of their own); an item that crashes a worker every time fails alone with
    ``reason="worker_crashed"``.
    """

    RETRIES = 2

    def __init__(
        self, workers: int | None = None, *, func: Callable[..., Extracted] = extract_page
    ) -> None:
        self.workers = (os.cpu_count() or 1) if workers is None else max(0, workers)
        self._func = func
        self._executor: ProcessPoolExecutor | None = None
        self._generation = 0  # bumped whenever a broken pool is replaced

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=multiprocessing.get_context("spawn")
            )
        return self._executor

    def _replace(self, generation: int) -> None:
        if generation == self._generation and self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
            self._generation += 1

    @staticmethod
    def _unwrap(outcome: _Outcome, url: str) -> Extracted:
        status, value = outcome
        if status == "ok":
            return value  # type: ignore[no-any-return]
        message, reason, where = value
        raise ItemError(message, url=where or url, reason=reason)

    def extract_sync(self, body: bytes, **kw: Any) -> Extracted:
        """In-process extraction with the pool's error handling."""
        return self._unwrap(_run(self._func, body, kw), kw.get("url", ""))

    async def extract(self, body: bytes, **kw: Any) -> Extracted:
        """Extract one page (keyword arguments as for :func:`extract_page`)."""
        if self.workers == 0:
            return self.extract_sync(body, **kw)
        loop = asyncio.get_running_loop()
        call = functools.partial(_run, self._func, body, kw)
        for _attempt in range(self.RETRIES + 1):
            generation = self._generation
            try:
                outcome = await loop.run_in_executor(self._pool(), call)
            except BrokenProcessPool:
                self._replace(generation)
                continue
            return self._unwrap(outcome, kw.get("url", ""))
        raise ItemError(
            "the extraction worker crashed on this page", url=kw.get("url", ""),
            reason="worker_crashed",
        )  # fmt: skip

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def __enter__(self) -> ExtractPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> ExtractPool:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.close)
