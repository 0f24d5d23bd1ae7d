"""The table of Han script kinds that tells a page's language (``site_text.detect_lang``):
which Han characters the installed OpenCC changes, by which conversion.

A module of its own, importing nothing of newsmirror's: a first build makes the
table in a child process (``python -m newsmirror.han``, started at once, see
``site_text.start_han_table``) while its other work waits for it, so the child
has to be small. OpenCC's dictionaries (~26 MB that a process never gives back)
are loaded there only.
"""

from __future__ import annotations

import opencc

# Han characters: CJK extension A, unified ideographs, compatibility ideographs
# (as ``site_text._CJK``).
HAN_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))
CHANGED = "TSB"
_SEP = "\ue000"  # never in OpenCC's dictionaries: a conversion never crosses it


def _each(cc: opencc.OpenCC, chars: list[str]) -> list[str]:
    """Each of ``chars`` converted alone: all in one call, the characters kept apart
    by a separator (a phrase never spans it); one call each if the split disagrees."""
    out = cc.convert(_SEP.join(chars)).split(_SEP)
    if len(out) != len(chars):  # defensive
        out = [cc.convert(c) for c in chars]
    return out


def han_table() -> dict[int, str]:
    """Code point -> "T" (changed by t2s only: traditional script), "S" (by s2t only)
    or "B" (by both) for every Han character that a conversion of the installed
    OpenCC changes, one character at a time; the others are not in it. It loads
    both dictionaries (~0.1 s), so a build keeps the table in its manifest."""
    chars = [chr(code) for lo, hi in HAN_RANGES for code in range(lo, hi + 1)]
    t2s = _each(opencc.OpenCC("t2s"), chars)
    s2t = _each(opencc.OpenCC("s2t"), chars)
    out: dict[int, str] = {}
    for c, to_s, to_t in zip(chars, t2s, s2t, strict=True):
        t, s = to_s != c, to_t != c
        if t or s:
            out[ord(c)] = "B" if t and s else "T" if t else "S"
    return out


def to_kept(table: dict[int, str]) -> dict[str, str]:
    """``table`` as a manifest keeps it: the characters of each changed kind."""
    out: dict[str, list[str]] = {k: [] for k in CHANGED}
    for code, kind in table.items():
        out[kind].append(chr(code))
    return {k: "".join(sorted(v)) for k, v in out.items()}


def from_kept(kept: dict[str, str]) -> dict[int, str]:
    """The table back from ``kept`` (characters out of ``HAN_RANGES`` left out)."""
    table: dict[int, str] = {}
    for kind in CHANGED:
        for c in kept[kind]:
            code = ord(c)
            if any(lo <= code <= hi for lo, hi in HAN_RANGES):
                table[code] = kind
    return table


if __name__ == "__main__":  # the child of ``site_text._han_table_apart``
    import json
    import sys

    sys.stdout.write(json.dumps(to_kept(han_table())))
