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

The parse and the plain text are :mod:`newsmirror.clean_text`'s.
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
from lxml.html import HtmlElement

from .clean_text import cleaned_text, collapse_marked, parse_html
from .dechrome import remove_chrome
from .dechrome_measure import site_of
from .errors import ConfigError, ItemError, NewsmirrorError
from .models import Rules
from .sanitize import (
    data_image_size,
    is_invisible_box,
    is_tracker_url,
    resolve_url,
    sanitize,
    url_scheme,
)
from .sanitize_tidy import tidy_tree, tidy_whitespace
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
    return cleaned_text(*_clean(html, None, opts))


def clean_fragment_text(root: HtmlElement | None, opts: CleanOptions) -> tuple[str, str]:
    """:func:`clean_html_text` of a fragment already parsed by
    :func:`~newsmirror.clean_text.parse_fragment`."""
    return cleaned_text(*_clean("", root, opts))


def _clean(
    html: str, parsed: HtmlElement | None, opts: CleanOptions
) -> tuple[str, HtmlElement | None, str | None]:
    """The clean HTML, the tree it was written from (None when there was none) and, when
    the last tidy step could make it in passing, the tree's marked text
    (:func:`~newsmirror.clean_text.collapse_marked`)."""
    if opts.convert != "none":
        _converter(opts.convert)  # unknown names fail before any work
    marked = None
    try:
        root = parse_html(html) if html else parsed
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
            marked = collapse_marked(root)  # (the tree changes no more after this)
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
