"""The clean stage: raw feed/page HTML → safe, tidy article HTML and plain text.

:func:`clean_html` does one lxml parse and one nh3 pass per item (plus one tiny nh3
call that checks all of the item's URLs at once):

1. parse (fragment-safe); lazy images get a real ``src``; ``<noscript>`` copies
   of those images go; every ``href``/``src`` is made absolute;
2. ``remove_selectors`` (CSS) are applied to the tree as the feed wrote it;
3. :data:`CHROME_PASSES` run (the seam for page-chrome removal);
4. the tree is tidied to the policy of :mod:`newsmirror.sanitize`;
5. OpenCC converts text nodes and ``alt``/``title`` (never URLs);
6. nh3 is the final gate.

The result is deterministic, has no raw newlines and is idempotent:
``clean_html(clean_html(x, o), o) == clean_html(x, o)`` (with ``convert="none"``;
OpenCC itself is not always idempotent).

Selector errors: :func:`validate_selector` returns the problem (for config
validation); :func:`clean_html` raises ``ItemError(reason="bad_selector")``.
"""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import opencc
from cssselect import SelectorError
from lxml import etree
from lxml.cssselect import CSSSelector
from lxml.html import (
    HtmlComment,
    HtmlElement,
    HtmlEntity,
    HTMLParser,
    HtmlProcessingInstruction,
    document_fromstring,
)

from .dechrome import remove_chrome
from .dechrome_measure import site_of
from .errors import ConfigError, ItemError, NewsmirrorError
from .models import Rules
from .sanitize import (
    collapsed,
    data_image_size,
    is_invisible_box,
    is_tracker_url,
    resolve_url,
    sanitize,
    tag_set,
    tidy_tree,
    tidy_whitespace,
    url_scheme,
)
from .settings import CONVERSIONS

__all__ = [
    "CHROME_PASSES",
    "CONVERSIONS",
    "CleanOptions",
    "clean_fragment_text",
    "clean_html",
    "clean_html_text",
    "clean_title",
    "convert_text",
    "drop_tracking_pixels",
    "fragment_text",
    "html_to_text",
    "parse_fragment",
    "validate_selector",
]


@dataclass(frozen=True)
class CleanOptions:
    base_url: str = ""  # the article's URL: relative links resolve against it
    remove_selectors: tuple[str, ...] = ()
    convert: str = "none"  # an OpenCC config name from CONVERSIONS

    @classmethod
    def for_source(cls, rules: Rules, base_url: str) -> CleanOptions:
        return cls(base_url, tuple(rules.remove_selectors), rules.convert)


# ---------------------------------------------------------------- parsing


def html_parser(**options: bool) -> HTMLParser:
    """``HTMLParser(**options)`` whose element classes are chosen in C: lxml.html's own
    lookup is a Python call for every element object made, only to give form controls
    classes of their own, which cleaning and extraction never use."""
    parser = HTMLParser(**options)
    parser.set_element_class_lookup(
        etree.ElementDefaultClassLookup(
            element=HtmlElement, comment=HtmlComment, pi=HtmlProcessingInstruction,
            entity=HtmlEntity,
        )
    )  # fmt: skip
    return parser


_PARSER = html_parser(huge_tree=True, remove_comments=False)
# C0/C1 controls (not tab/newline/CR), lone surrogates and non-characters: lxml refuses them.
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")

# html/body/head tags inside a fragment: HTML5 ignores them; libxml2 may put text outside <body>.
_DOC_TAGS = re.compile(r"</?(?:html|body|head)\b[^>]*>", re.I)


def _parse(html: str) -> HtmlElement | None:
    """The fragment's content under a bare ``<body>`` element, or None when blank."""
    html = _BAD_CHARS.sub("", html)
    if not html.strip():
        return None
    html = _DOC_TAGS.sub("", html)
    doc = document_fromstring(f"<html><body>{html}", parser=_PARSER)
    body = next(doc.iterchildren("body"), None)  # (= doc.find("body"), without ElementPath)
    if body is None:
        body = doc.makeelement("body", {})
        doc.append(body)
    # libxml2 puts content after a stray </body> or <html/> beside the body: take it back.
    tail, body.tail = body.tail, None
    if tail:
        if len(body):
            body[-1].tail = (body[-1].tail or "") + tail
        else:
            body.text = (body.text or "") + tail
    for sibling in [*body.itersiblings(), *doc.itersiblings()]:
        body.append(sibling)
    return body


# ---------------------------------------------------------------- lazy images

LAZY_SRC_ATTRS = (
    "data-src", "data-original", "data-lazy-src", "data-lazy", "data-actualsrc",
    "data-original-src", "data-echo",
)  # fmt: skip
SRCSET_ATTRS = ("data-srcset", "data-lazy-srcset", "srcset")
_PLACEHOLDER = re.compile(
    r"(?i)(?:^|/)[\w.-]*(?:blank|spacer|placeholder|pixel|transparent|lazy|loading|1x1)"
    r"[\w.-]*\.(?:gif|png|svg)(?:[?#].*)?$"
)
_SRCSET_URL = re.compile(r"[\s,]*(\S+)")
_SRCSET_DESC = re.compile(r"([^,]*),?")
_DESCRIPTOR = re.compile(r"^(\d+(?:\.\d+)?)\s*([wx])$")


def parse_srcset(value: str) -> list[tuple[str, float]]:
    """(url, weight) candidates of a srcset, split as the HTML standard does (URLs may
    contain commas); weight is the w or x descriptor, 1 when there is none."""
    out: list[tuple[str, float]] = []
    pos = 0
    while m := _SRCSET_URL.match(value, pos):
        url, pos = m.group(1), m.end()
        desc = ""
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            d = _SRCSET_DESC.match(value, pos)
            if d:
                desc, pos = d.group(1).strip(), d.end()
        if url:
            w = _DESCRIPTOR.match(desc.lower())
            out.append((url, float(w.group(1)) if w else 1.0))
    return out


def _largest(srcset: str) -> str:
    best = ""
    best_weight = -1.0
    for url, weight in parse_srcset(srcset):
        if weight > best_weight and url_scheme(url) != "data":
            best, best_weight = url, weight
    return best


def _is_placeholder(src: str) -> bool:
    return not src or url_scheme(src) == "data" or bool(_PLACEHOLDER.search(src))


def _fix_image(img: HtmlElement, base_url: str) -> None:
    src = (img.get("src") or "").strip()
    lazy = next(
        (
            v
            for a in LAZY_SRC_ATTRS
            if (v := (img.get(a) or "").strip()) and url_scheme(v) != "data"
        ),
        "",
    )
    if lazy and (_is_placeholder(src) or "lazy" in (img.get("class") or "").lower()):
        src = lazy
    if _is_placeholder(src):
        sets = [img.get(a) or "" for a in SRCSET_ATTRS]
        picture = next(img.iterancestors("picture"), None)  # libxml2 nests img in <source>
        if picture is not None:
            sets += [s.get(a) or "" for s in picture.iter("source") for a in SRCSET_ATTRS]
        best = next((b for s in sets if s and (b := _largest(s))), "")
        if best:
            src = best
    resolved = resolve_url(src, base_url, allow_data_image=True) if src else None
    if resolved:
        img.set("src", resolved)
    elif "src" in img.attrib:
        del img.attrib["src"]


def _fix_images(root: HtmlElement, base_url: str) -> None:
    """Give lazy images their real src; drop <noscript> copies of images shown anyway."""
    for img in root.iter("img"):
        _fix_image(img, base_url)
    noscripts = list(root.iter("noscript"))
    if not noscripts:
        return
    shown = {
        img.get("src")
        for img in root.iter("img")
        if img.get("src") and not any(a.tag == "noscript" for a in img.iterancestors())
    }
    for ns in noscripts:
        imgs = list(ns.iter("img"))
        if not imgs:
            continue
        prev = ns.getprevious()
        beside_image = prev is not None and (prev.tag == "img" or prev.find(".//img") is not None)
        only_images = not ns.text_content().strip()
        for img in imgs:
            if img.get("src") in shown or (only_images and beside_image):
                img.drop_tree()
        if len(ns) == 0 and not ns.text_content().strip():
            ns.drop_tree()


_LINKED = etree.XPath("descendant-or-self::*[@href or @src]")


def _absolutize(root: HtmlElement, base_url: str) -> None:
    for el in _LINKED(root):  # (document order; elements without either have nothing to do)
        for attr in ("href", "src"):
            value = el.get(attr)
            if value is None or (el.tag == "img" and attr == "src"):
                continue
            url = resolve_url(value, base_url)
            if url is None:
                del el.attrib[attr]
            elif url != value:  # (lxml.html's set is a Python call: only when it changes)
                el.set(attr, url)


# ---------------------------------------------------------------- selectors


@lru_cache(maxsize=512)
def _compiled(selector: str) -> CSSSelector:
    return CSSSelector(selector, translator="html")


def validate_selector(selector: str) -> str | None:
    """The problem with a CSS selector as one line, or None when it is usable."""
    if not selector.strip():
        return "empty CSS selector"
    try:
        _compiled(selector)
    except (SelectorError, etree.XPathError) as e:
        return f"invalid CSS selector {selector!r}: {e}"
    return None


def _remove_selected(root: HtmlElement, selectors: tuple[str, ...]) -> None:
    for selector in selectors:
        problem = validate_selector(selector)
        if problem:
            raise ItemError(problem, reason="bad_selector")
        for el in _compiled(selector)(root):
            if el is not root and el.getparent() is not None:
                el.drop_tree()


# ---------------------------------------------------------------- chrome passes


def drop_tracking_pixels(root: HtmlElement, *, site: str | None = None) -> None:
    """Remove images that are ≤ 1×1 (by attributes or data: header) or from tracker hosts."""
    for img in list(root.iter("img")):
        src = img.get("src") or ""
        size = data_image_size(src) if url_scheme(src) == "data" else None
        tiny = size is not None and size[0] <= 1 and size[1] <= 1
        if tiny or is_invisible_box(img) or is_tracker_url(src):
            img.drop_tree()


#: Tree passes that remove page chrome, run after ``remove_selectors`` on the tree with the
#: feed's own markup (classes, ids) and absolute URLs. Empty wrappers are removed later anyway.
#: Each takes ``site=`` (the article's registrable domain) to tell its own links from others.
CHROME_PASSES: tuple[Callable[..., None], ...] = (drop_tracking_pixels, remove_chrome)


# ---------------------------------------------------------------- OpenCC

_SEP = "\ue000"  # private-use: never in a dictionary, so conversion never crosses it


@lru_cache(maxsize=32)
def _converter(name: str) -> opencc.OpenCC:
    if name not in CONVERSIONS or name == "none":
        raise ConfigError(
            f"convert: unknown OpenCC conversion {name!r} (one of {', '.join(CONVERSIONS)})"
        )
    return opencc.OpenCC(name)


def convert_text(text: str, convert: str) -> str:
    """Text converted by OpenCC config ``convert`` ("none": unchanged)."""
    if convert == "none" or not text:
        return text
    return _converter(convert).convert(text)


def _convert_tree(root: HtmlElement, convert: str) -> None:
    """Convert text nodes and alt/title attributes in one OpenCC call."""
    slots: list[tuple[HtmlElement, str]] = []
    for el in root.iter():
        if el.text:
            slots.append((el, "text"))
        if el.tail and el is not root:
            slots.append((el, "tail"))
        for attr in ("alt", "title"):
            if el.get(attr):
                slots.append((el, attr))
    if not slots:
        return

    def get(el: HtmlElement, slot: str) -> str:
        return getattr(el, slot) if slot in ("text", "tail") else el.get(slot)

    def put(el: HtmlElement, slot: str, value: str) -> None:
        if slot in ("text", "tail"):
            setattr(el, slot, value)
        else:
            el.set(slot, value)

    values = [get(el, slot) for el, slot in slots]
    joined = _SEP.join(values)
    out = convert_text(joined, convert).split(_SEP)
    if _SEP in "".join(values) or len(out) != len(values):
        out = [convert_text(v, convert) for v in values]
    for (el, slot), value in zip(slots, out, strict=True):
        put(el, slot, value)


# ---------------------------------------------------------------- clean_html


def clean_html(html: str, opts: CleanOptions) -> str:
    """The article HTML made safe and tidy (see the module docstring); "" when empty."""
    return _clean(html, None, opts)[0]


def clean_html_text(html: str, opts: CleanOptions) -> tuple[str, str]:
    """``(content, html_to_text(content))`` for ``content = clean_html(html, opts)``, the
    text taken from the cleaned tree instead of a second parse of ``content``."""
    return _cleaned_text(*_clean(html, None, opts))


def clean_fragment_text(root: HtmlElement | None, opts: CleanOptions) -> tuple[str, str]:
    """:func:`clean_html_text` of a fragment already parsed by :func:`parse_fragment`."""
    return _cleaned_text(*_clean("", root, opts))


def _clean(
    html: str, parsed: HtmlElement | None, opts: CleanOptions
) -> tuple[str, HtmlElement | None, str | None]:
    """The clean HTML, the tree it was written from (None when there was none) and, when
    the last tidy step could make it in passing, the tree's :func:`_marked_text`."""
    if opts.convert != "none":
        _converter(opts.convert)  # unknown names fail before any work
    marked = None
    try:
        root = _parse(html) if html else parsed
        if root is None:
            return "", None, None
        _fix_images(root, opts.base_url)
        _absolutize(root, opts.base_url)
        _remove_selected(root, opts.remove_selectors)
        site = site_of(opts.base_url) if opts.base_url else None
        for chrome_pass in CHROME_PASSES:
            chrome_pass(root, site=site)
        tidy_tree(root, opts.base_url, whitespace=False)
        if opts.convert == "none" and next(root.iter("pre"), None) is None:
            marked = _collapse_marked(root)  # (the tree changes no more after this)
        else:
            tidy_whitespace(root)
        if opts.convert != "none":
            _convert_tree(root, opts.convert)
        body = etree.tostring(root, encoding="unicode", method="html", with_tail=False)
    except NewsmirrorError as e:
        e.with_context(url=opts.base_url)
        raise
    except (ValueError, etree.LxmlError) as e:
        raise ItemError(f"HTML could not be cleaned: {e}", url=opts.base_url, reason="clean") from e
    return sanitize(body.removeprefix("<body>").removesuffix("</body>")), root, marked


# ---------------------------------------------------------------- plain text

BLOCK_TAGS = tag_set(
    "address article aside blockquote body caption center dd details dialog div dl dt "
    "fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr li main "
    "nav ol p pre section summary table tbody tfoot thead tr ul"
)
SKIP_TEXT_TAGS = tag_set("script style template head title noembed noframes")
_START_MARKS = {**dict.fromkeys((*BLOCK_TAGS, "br"), "\n"), "td": " ", "th": " "}


def _cleaned_text(content: str, root: HtmlElement | None, marked: str | None) -> tuple[str, str]:
    """``(content, html_to_text(content))`` for the ``content`` that :func:`_clean` wrote
    from ``root``, the text read from ``root`` (``marked``: its marked text, when known)
    instead of a parse of ``content``.

    The same text: the tidied tree is what nh3 gets, and nh3 keeps its elements and text
    as they are (:func:`~newsmirror.sanitize.tidy_tree` leaves it nothing to restructure;
    its attributes do not count here). What :func:`_parse` would change in ``content``
    goes the old way: text with characters it removes (numeric character references can
    make them in the tree), or html/body/head tags in attribute values."""
    if root is None or not content or _DOC_TAGS.search(content):
        return content, html_to_text(content)
    if marked is None:
        marked = _marked_text(root)
    if _BAD_CHARS.search(marked):
        return content, html_to_text(content)
    return content, _lines(marked)


def _collapse_marked(root: HtmlElement) -> str | None:
    """:func:`~newsmirror.sanitize.tidy_whitespace` of a tree without <pre>, and the
    :func:`_marked_text` of the result, in one walk (None when a tag's text would be
    skipped: then the tree is only tidied)."""
    parts: list[str] = []
    append = parts.append
    for event, el in etree.iterwalk(root, events=("start", "end")):
        tag = el.tag
        if event == "start":
            if tag in SKIP_TEXT_TAGS:  # (tidy_tree drops them all: never)
                tidy_whitespace(root)
                return None
            if tag in _START_MARKS:
                append(_START_MARKS[tag])
            if (text := el.text) and (done := collapsed(text)) is not text:
                el.text = text = done
        else:
            if tag in BLOCK_TAGS:
                append("\n")
            if el is root:
                break
            if (text := el.tail) and (done := collapsed(text)) is not text:
                el.tail = text = done
        if text:  # (collapsed: no \r or \n left, which _marked_text makes spaces)
            append(text)
    return "".join(parts)


def parse_fragment(html: str) -> HtmlElement | None:
    """The fragment as :func:`clean_html` and :func:`html_to_text` parse it (None: blank)."""
    return _parse(html)


def html_to_text(html: str) -> str:
    """Plain text: blocks and <br> on their own lines, whitespace collapsed, entities decoded."""
    return fragment_text(_parse(html))


def fragment_text(root: HtmlElement | None) -> str:
    """:func:`html_to_text` of a fragment parsed by :func:`parse_fragment` (left as it is)."""
    return _lines(_marked_text(root)) if root is not None else ""


def _marked_text(root: HtmlElement) -> str:
    """The text under ``root``, with a newline at the start and end of each block and at
    each <br> (a space before a cell), newlines of the source as spaces outside <pre>."""
    parts: list[str] = []
    append = parts.append
    in_pre = 0  # newlines of the source are line breaks only inside <pre>
    walker = etree.iterwalk(root, events=("start", "end"))
    for event, el in walker:
        tag = el.tag  # (iterwalk reports no comments or processing instructions)
        if event == "start":
            if tag in SKIP_TEXT_TAGS:
                walker.skip_subtree()
                continue
            if tag in _START_MARKS:
                append(_START_MARKS[tag])
            if tag == "pre":
                in_pre += 1
            text = el.text if isinstance(tag, str) else None
        else:
            if tag in BLOCK_TAGS:
                append("\n")
            if tag == "pre":
                in_pre -= 1
            text = el.tail if el is not root else None
        if text:
            if "\r" in text or "\n" in text:
                if in_pre:
                    text = text.replace("\r\n", "\n").replace("\r", "\n")
                else:
                    text = text.replace("\r", " ").replace("\n", " ")
            append(text)
    return "".join(parts)


def _lines(marked: str) -> str:
    """The non-blank lines of ``marked``, each with its whitespace runs made one space and
    its ends trimmed (``" ".join(line.split())``: the same whitespace as the regex
    ``[^\\S\\n]+`` then ``strip()``, without a regex pass over the whole text)."""
    lines = (" ".join(line.split()) for line in marked.split("\n"))
    return "\n".join(line for line in lines if line)


# ---------------------------------------------------------------- titles

_TAG = re.compile(r"<!--.*?-->|<!\[CDATA\[|\]\]>|</?[A-Za-z][^<>]*>", re.S)
_TITLE_CONTROLS = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\u200b\u2060\ufeff]")
_UNICODE_SPACES = re.compile("[\u00a0\u1680\u2000-\u200a\u202f\u205f]")
_ASCII_WS_RUN = re.compile(r"[ \t\n\r\f\v]+")


def _title_space(m: re.Match[str]) -> str:
    run = m.group(0)
    return "  " if run == "  " else " "  # keep the double-space separator CNA titles use


def clean_title(title: str, convert: str = "none") -> str:
    """Plain one-line title: tags stripped, entities decoded, controls removed.

    ASCII whitespace runs become one space, except a run of exactly two spaces
    (a visible separator in real titles, "…協議  赴螞蟻研調"); fullwidth spaces
    inside the title stay; the ends are trimmed.
    """
    text = htmllib.unescape(_TAG.sub("", title))
    text = _TITLE_CONTROLS.sub("", text)
    text = _UNICODE_SPACES.sub(" ", text)
    text = _ASCII_WS_RUN.sub(_title_space, text).strip(" \u3000")
    return convert_text(text, convert)
