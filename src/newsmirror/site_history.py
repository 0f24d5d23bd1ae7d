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
paragraph breaks), :func:`diff` (from textdiff) and
:func:`diff_inline` (a title's change as one line of HTML),
:func:`diff_html` (the operations as HTML paragraphs with ``<del>``/``<ins>``,
unchanged paragraphs far from any change folded away).
"""

from __future__ import annotations

import html
import re

from .textdiff import Op, diff

_BLOCK_END = re.compile(
    r"(?i)<br\s*/?>|</(?:p|div|h[1-6]|li|blockquote|figcaption|figure|tr|pre|section|article)>"
)
_TAG = re.compile(r"<[^>]*>")
_BLANKS = re.compile(r"[^\S\n]+")



def html_text(fragment: str) -> str:
    """The plain text of an HTML fragment: one line per paragraph (block), blanks
    collapsed, empty lines dropped."""
    text = html.unescape(_TAG.sub("", _BLOCK_END.sub("\n", fragment)))
    lines = (_BLANKS.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


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


__all__ = ["diff", "diff_counts", "diff_html", "diff_inline", "html_text"]
