"""Comparing two versions of an article (pure functions).

Two questions, two answers:

* **Is it an edit?** :func:`content_signature` reduces a version to what a reader
  would call its content: the title and the plain text with every whitespace
  difference removed (Unicode NFKC, runs collapsed, spaces between CJK
  characters dropped), plus the targets of its links (tracking parameters and
  fragments removed) and its images (the original URL of a mirrored copy, any
  resizing proxy unwrapped, the query string dropped: image CDNs vary it for
  size and cache busting). :func:`is_meaningful_change` compares two signatures;
  a changed title always counts.
* **What changed?** :func:`diff_text` returns the edit as a list of
  :class:`DiffOp` segments (``equal`` / ``insert`` / ``delete``) over tokens that
  make sense for Chinese: every CJK character (Han, kana, hangul, CJK
  punctuation and full-width forms) is a token of its own, a run of Latin
  letters or digits is one word, and whitespace and other symbols are tokens
  too. Adjacent segments of one kind are merged, so a renderer shows
  ``<del>`` / ``<ins>`` spans directly; joining the ``equal`` and ``delete``
  segments gives the old text back, ``equal`` and ``insert`` the new one.
"""

from __future__ import annotations

import difflib
import html
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit, urlunsplit

from .lazyre import lazy_re
from .urls import strip_tracking

if TYPE_CHECKING:  # lxml is imported on first use: the config (re-check rules) needs none
    import lxml.html

OpKind = Literal["equal", "insert", "delete"]

# CJK ideographs (with extensions and compatibility forms), kana, hangul, bopomofo,
# CJK symbols and punctuation, full-width forms: one token per character.
_CJK = (
    "\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u3100-\u312f\u3130-\u318f\u31a0-\u31ff"
    "\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef"
    "\U00020000-\U0003134f"
)
# A Latin/digit word keeps inner joiners: COVID-19, 3.5, don't, U.S. are one token each.
_WORD = rf"[^\W{_CJK}]+(?:['’.,\-][^\W{_CJK}]+)*"
_TOKEN = lazy_re(rf"[{_CJK}]|{_WORD}|\n|[^\S\n]+|.", re.S)
FOLD = 2  # unchanged runs of at most this many tokens between two changes are folded in
Op = tuple[str, str]  # ("=" | "-" | "+", text)
_WS = lazy_re(r"\s+")
_CJK_GAP = lazy_re(rf"(?<=[{_CJK}]) (?=[{_CJK}])")
_XML_BAD = lazy_re(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
ORIG_ATTR = "data-orig-src"  # where a mirrored image keeps its original URL (assets.py)


@dataclass(frozen=True, slots=True)
class DiffOp:
    """One segment of a diff: ``text`` kept (equal), added (insert) or removed (delete)."""

    kind: OpKind
    text: str


def tokenize(text: str) -> list[str]:
    """Diff tokens: one per CJK character, one per Latin/digit word, whitespace runs,
    and every other character alone. ``"".join(tokenize(t)) == t``."""
    return _TOKEN.findall(text)


def diff(old: str, new: str) -> list[Op]:
    """The operations that turn ``old`` into ``new``: ("=", text), ("-", removed),
    ("+", added), in text order; a replacement is a "-" followed by a "+". Short
    unchanged runs caught between two changes (a shared 的 or a space) are folded
    into the change, so a rewritten phrase reads as one deletion and one insertion."""
    a, b = tokenize(old), tokenize(new)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    raw = [
        ("=" if tag == "equal" else "~", a[i1:i2], b[j1:j2])
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
    ]
    merged: list[tuple[str, list[str], list[str]]] = []
    for n, (tag, x, y) in enumerate(raw):
        between = 0 < n < len(raw) - 1 and raw[n - 1][0] == "~" and raw[n + 1][0] == "~"
        if tag == "=" and between and len(x) <= FOLD and "\n" not in x:
            tag = "~"
        if merged and merged[-1][0] == tag == "~":
            merged[-1][1].extend(x)
            merged[-1][2].extend(y)
        else:
            merged.append((tag, list(x), list(y)))
    ops: list[Op] = []
    for tag, x, y in merged:
        if tag == "=":
            ops.append(("=", "".join(x)))
            continue
        if x:
            ops.append(("-", "".join(x)))
        if y:
            ops.append(("+", "".join(y)))
    return ops


_KIND: dict[str, OpKind] = {"=": "equal", "-": "delete", "+": "insert"}


def diff_text(old: str, new: str) -> list[DiffOp]:
    """:func:`diff` as DiffOp segments (equal / delete / insert)."""
    return [DiffOp(_KIND[op], text) for op, text in diff(old, new)]


def old_text(ops: list[DiffOp]) -> str:
    return "".join(op.text for op in ops if op.kind != "insert")


def new_text(ops: list[DiffOp]) -> str:
    return "".join(op.text for op in ops if op.kind != "delete")


def changed(ops: list[DiffOp]) -> bool:
    return any(op.kind != "equal" for op in ops)


# ------------------------------------------------------------------ signatures


def normalize_text(text: str) -> str:
    """Text with presentation differences removed: NFKC, whitespace runs → one
    space, no space between two CJK characters, trimmed."""
    t = _WS.sub(" ", unicodedata.normalize("NFKC", text)).strip()
    return _CJK_GAP.sub("", t)


def _url_without(url: str, **parts: str) -> str:
    """``url`` with the given parts (``query``, ``fragment``) replaced; as it is when
    it cannot be split."""
    try:
        split = urlsplit(url)
    except ValueError:
        return url
    return urlunsplit(split._replace(**parts))


def normalize_link(url: str) -> str:
    """A link target as compared: tracking parameters and fragment removed."""
    return _url_without(strip_tracking(url.strip()), fragment="")


def normalize_image(url: str) -> str:
    """An image URL as compared: a resizing proxy unwrapped, query and fragment dropped."""
    from .assets import unwrap_proxy  # assets imports the store and the post files' code

    return _url_without(unwrap_proxy(url.strip()), query="", fragment="")


def _tree(content: str) -> lxml.html.HtmlElement | None:
    if not content.strip():
        return None
    import lxml.etree
    import lxml.html

    try:
        return lxml.html.fragment_fromstring(_XML_BAD.sub("", content), create_parent="div")
    except (lxml.etree.ParserError, ValueError):
        return None


def content_text(content: str) -> str:
    """The plain text of clean HTML (block boundaries as spaces), normalized."""
    from .clean_text import html_to_text

    return normalize_text(html_to_text(content))


def content_signature(content: str) -> str:
    """The body's signature: normalized text, link targets and image URLs."""
    root = _tree(content)
    if root is None:
        return normalize_text(html.unescape(re.sub(r"<[^>]*>", " ", content)))
    links = [normalize_link(a.get("href", "")) for a in root.iter("a") if a.get("href")]
    images = []
    for img in root.iter("img"):
        src = img.get(ORIG_ATTR) or img.get("src") or ""
        if src:
            images.append(normalize_image(src))
    return "\x1f".join([content_text(content), " ".join(links), " ".join(images)])


def is_meaningful_change(old_title: str, old_content: str, new_title: str, new_content: str) -> bool:
    """True when the new version is an edit a reader would see: another title,
    other words, other links or other images (see the module docstring)."""
    if normalize_text(old_title) != normalize_text(new_title):
        return True
    return content_signature(old_content) != content_signature(new_content)


__all__ = [
    "DiffOp",
    "changed",
    "content_signature",
    "content_text",
    "diff",
    "diff_text",
    "is_meaningful_change",
    "new_text",
    "normalize_image",
    "normalize_link",
    "normalize_text",
    "old_text",
    "tokenize",
]
