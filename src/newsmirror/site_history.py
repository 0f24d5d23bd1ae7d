"""Readable differences between two versions of an article, for Chinese too.

Chinese has no spaces between words, so a word diff over whitespace-separated
words sees a whole paragraph as one "word". Here the text is cut into tokens:
each CJK character (Han, kana, hangul) is one token, each run of Latin letters
and digits (``COVID-19``, ``3.5``, ``don't``) is one token, each run of white
space is one token and every other character (punctuation) is one token; a
paragraph break is a token of its own. ``difflib.SequenceMatcher`` aligns the
two token lists; short unchanged runs caught between two changes (a shared
``的`` or a space) are folded into the change, so that a rewritten phrase
reads as one deletion and one insertion rather than confetti.

Pure functions, no I/O: :func:`html_text` (an article's HTML to plain text with
paragraph breaks), :func:`tokens`, :func:`diff` (operations) and
:func:`diff_inline` (a title's change as one line of HTML),
:func:`diff_html` (the operations as HTML paragraphs with ``<del>``/``<ins>``,
unchanged paragraphs far from any change folded away).
"""

from __future__ import annotations

import html
import re
from difflib import SequenceMatcher

_TOKEN = re.compile(
    r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\U00020000-\U0003134f]"
    r"|[A-Za-z0-9\u00c0-\u024f]+(?:['’.,\-][A-Za-z0-9\u00c0-\u024f]+)*"
    r"|\n"
    r"|[^\S\n]+"
    r"|.",
    re.S,
)
_BLOCK_END = re.compile(
    r"(?i)<br\s*/?>|</(?:p|div|h[1-6]|li|blockquote|figcaption|figure|tr|pre|section|article)>"
)
_TAG = re.compile(r"<[^>]*>")
_BLANKS = re.compile(r"[^\S\n]+")
FOLD = 2  # unchanged runs of at most this many tokens between two changes are folded in

Op = tuple[str, str]  # ("=" | "-" | "+", text)


def html_text(fragment: str) -> str:
    """The plain text of an HTML fragment: one line per paragraph (block), blanks
    collapsed, empty lines dropped."""
    text = html.unescape(_TAG.sub("", _BLOCK_END.sub("\n", fragment)))
    lines = (_BLANKS.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def tokens(text: str) -> list[str]:
    """``text`` cut into diff tokens (see the module's docstring); joined, they give
    ``text`` back."""
    return _TOKEN.findall(text)


def diff(old: str, new: str) -> list[Op]:
    """The operations that turn ``old`` into ``new``: ("=", text), ("-", removed),
    ("+", added), in text order; a replacement is a "-" followed by a "+"."""
    a, b = tokens(old), tokens(new)
    sm = SequenceMatcher(None, a, b, autojunk=False)
    raw: list[tuple[str, list[str], list[str]]] = []  # (tag, old tokens, new tokens)
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        raw.append(("=" if tag == "equal" else "~", a[i1:i2], b[j1:j2]))
    # Fold short equal runs between two changes into them (no paragraph break).
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


def diff_counts(ops: list[Op]) -> tuple[int, int]:
    """(characters removed, characters added), blanks not counted."""
    count = lambda s: len("".join(s.split()))  # noqa: E731
    return (sum(count(t) for o, t in ops if o == "-"), sum(count(t) for o, t in ops if o == "+"))


def diff_inline(old: str, new: str) -> str:
    """The difference of two short texts (titles) as one line of HTML."""
    cells = []
    for op, text in diff(old, new):
        t = html.escape(text, quote=False)
        cells.append(t if op == "=" else f"<del>{t}</del>" if op == "-" else f"<ins>{t}</ins>")
    return "".join(cells)


def _paragraphs(ops: list[Op]) -> list[list[Op]]:
    """The operations cut at paragraph breaks of the unchanged text; a break inside
    a change stays in it (shown as a line break)."""
    paras: list[list[Op]] = [[]]
    for op, text in ops:
        if op != "=":
            paras[-1].append((op, text))
            continue
        parts = text.split("\n")
        for k, part in enumerate(parts):
            if k:
                paras.append([])
            if part:
                paras[-1].append(("=", part))
    return [p for p in paras if p]


def diff_html(old: str, new: str, *, context: int = 1, folded: str = "⋯") -> str:
    """``<p>`` per paragraph of the changed text, removals in ``<del>``, additions in
    ``<ins>``; runs of unchanged paragraphs more than ``context`` paragraphs away from
    a change become one ``<p class="fold">`` with ``folded`` (its text) and their count."""
    paras = _paragraphs(diff(old, new))
    changed = [any(op != "=" for op, _ in p) for p in paras]
    near = [
        any(changed[max(0, i - context) : i + context + 1]) for i in range(len(paras))
    ]
    out: list[str] = []
    skipped = 0
    for para, show in zip(paras, near, strict=True):
        if not show:
            skipped += 1
            continue
        if skipped:
            out.append(f'<p class="fold">{html.escape(folded)} {skipped}</p>')
            skipped = 0
        cells = []
        for op, text in para:
            t = html.escape(text, quote=False).replace("\n", "<br>")
            cells.append(t if op == "=" else f"<del>{t}</del>" if op == "-" else f"<ins>{t}</ins>")
        cls = ' class="changed"' if any(op != "=" for op, _ in para) else ""
        out.append(f"<p{cls}>{''.join(cells)}</p>")
    if skipped:
        out.append(f'<p class="fold">{html.escape(folded)} {skipped}</p>')
    return "\n".join(out)


__all__ = ["diff", "diff_counts", "diff_html", "diff_inline", "html_text", "tokens"]
