"""Text work for the built site: script variants (OpenCC), page languages,
article HTML made ready for a page (sanitized, images set to the site's
policy), and time formats. Pure functions, no I/O, except that the table of Han
script kinds is made once by a child process (``_han_table_apart``).
"""

from __future__ import annotations

import contextlib
import html
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import TYPE_CHECKING

import opencc

from .assets import local_asset, local_images
from .errors import ItemError
from .han import CHANGED, HAN_RANGES, from_kept, han_table, to_kept
from .sanitize import sanitize

if TYPE_CHECKING:
    import subprocess

#: The script variants a site can be built in: tree folder, ``lang``, OpenCC config.
VARIANTS: dict[str, tuple[str, str]] = {
    "zh-Hant": ("zh-hant", "s2t"),
    "zh-Hans": ("zh-hans", "t2s"),
}
VARIANT_LABELS = {"": "原文", "zh-Hant": "繁體", "zh-Hans": "简体"}

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_SEP = "\ue000"  # never in OpenCC's dictionaries: conversion never crosses it
_TAG_SPLIT = re.compile(r"(<[^>]*>)")


@lru_cache(maxsize=8)
def _cc(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


def convert(text: str, config: str) -> str:
    """``text`` converted by OpenCC ``config`` (empty config: unchanged). Only texts
    OpenCC is asked about are remembered (not every title of a site without
    variants)."""
    if not config or not text or not _CJK.search(text):
        return text
    return _converted(text, config)


@lru_cache(maxsize=65536)
def _converted(text: str, config: str) -> str:
    return _cc(config).convert(text)


def convert_html(fragment: str, config: str) -> str:
    """Convert the text of an HTML fragment, leaving tags (and so URLs) untouched."""
    if not config or not _CJK.search(fragment):
        return fragment
    parts = _TAG_SPLIT.split(fragment)
    texts = parts[0::2]
    if any(_SEP in t for t in texts):
        out = [_cc(config).convert(t) for t in texts]
    else:
        out = _cc(config).convert(_SEP.join(texts)).split(_SEP)
        if len(out) != len(texts):  # defensive: fall back to one call per text
            out = [_cc(config).convert(t) for t in texts]
    parts[0::2] = out
    return "".join(parts)


def _han_table_apart() -> dict[int, str]:
    """``han_table()`` made by a child process (``python -m newsmirror.han``):
    OpenCC's dictionaries take ~26 MB that a process never gives back, and a build
    that does not convert scripts has no other use for them. Made here when the
    child fails. The child may have been started already (``start_han_table``)."""
    import json
    import subprocess

    global _pending
    proc, _pending = _pending or _han_child(), None
    try:
        out, _err = proc.communicate(timeout=300)
        if proc.returncode:
            raise subprocess.CalledProcessError(proc.returncode, proc.args)
        return from_kept(json.loads(out))
    except (OSError, subprocess.SubprocessError, ValueError, KeyError, TypeError):
        with contextlib.suppress(OSError):
            proc.kill()
        return han_table()


def _han_child() -> subprocess.Popen[bytes]:
    from . import prestart

    return prestart.take_han() or prestart.start_han()


def start_han_table() -> None:
    """Start making the Han table now, in its own process, when it is not known
    (a first build): it is ready, or nearly, when a page's language is first told."""
    global _pending
    if _table is None and _pending is None:
        with contextlib.suppress(OSError):
            _pending = _han_child()


_pending: subprocess.Popen[bytes] | None = None  # making the Han table (start_han_table)
_table: dict[int, str] | None = None
_table_kept: dict[str, str] | None = None  # ``han_kinds()`` of ``_table``, once known
def _han_table() -> dict[int, str]:
    global _table, _table_kept
    if _table is None:
        _table, _table_kept = _han_table_apart(), None
    return _table


_KINDS_SIZE = 0x10000  # (every range of a kind is in the BMP)
_LETTERS = ((0x41, 0x5A, "L"), (0x61, 0x7A, "L"), (0x3040, 0x30FF, "K"),  # Latin, kana,
            (0xAC00, 0xD7AF, "G"), (0x1100, 0x11FF, "G"))  # hangul  # fmt: skip


def _kinds_list(table: dict[int, str] | None) -> list[str | None]:
    """``str.translate`` table: each character of the BMP to the one letter of its kind
    (T: Han of the traditional script only, S: simplified only, B: changed by both
    conversions, H: other Han, K: kana, G: hangul, L: Latin letter), others to None
    (deleted). A character beyond it is kept as it is, and is no kind's letter. A list,
    not a dict: ``translate`` looks each character up, and indexing is twice as fast.
    Without ``table``, every Han character is H (for texts that have none)."""
    kinds: list[str | None] = [None] * _KINDS_SIZE
    for lo, hi in HAN_RANGES:
        kinds[lo : hi + 1] = ["H"] * (hi + 1 - lo)
    for lo, hi, kind in _LETTERS:
        kinds[lo : hi + 1] = [kind] * (hi + 1 - lo)
    for code, kind in (table or {}).items():
        kinds[code] = kind
    return kinds


_kinds: list[str | None] | None = None  # of ``_table``, once a text had a Han character
_kinds_plain: list[str | None] | None = None  # for texts without Han characters


def _kinds_for(text: str) -> list[str | None]:
    global _kinds, _kinds_plain
    if _kinds is not None:
        return _kinds
    if _CJK.search(text):
        _kinds = _kinds_list(_han_table())
        return _kinds
    if _kinds_plain is None:
        _kinds_plain = _kinds_list(None)
    return _kinds_plain


def han_kinds() -> dict[str, str]:
    """The Han table (``han_table``) as kept in a manifest between builds: the
    characters of each changed kind, and the OpenCC version that said so."""
    global _table_kept
    if _table is None:
        return {}
    if _table_kept is None:
        _table_kept = {**to_kept(_table), "opencc": opencc.__version__}
    return dict(_table_kept)


def _kept_ok(kept: object) -> bool:
    return (
        isinstance(kept, dict)
        and kept.get("opencc") == opencc.__version__
        and all(isinstance(kept.get(k), str) for k in CHANGED)
    )


def learn_han_kinds(kept: dict[str, str]) -> None:
    """Take the Han table of ``han_kinds()`` of an earlier build, when the same OpenCC
    version made it (else the table is made again when a page needs it)."""
    global _table, _table_kept, _kinds
    if not _kept_ok(kept):
        return
    _table, _table_kept = from_kept(kept), {k: kept[k] for k in (*CHANGED, "opencc")}
    _kinds = None


def detect_lang(text: str, default: str = "zh") -> str:
    """The page language of ``text``: zh-Hant, zh-Hans, zh (script unclear), ja, ko,
    en (Latin script), or ``default`` when there is no telling."""
    head = text[:600]
    kinds = head.translate(_kinds_for(head))
    both = kinds.count("B")
    trad, simp = kinds.count("T") + both, kinds.count("S") + both
    cjk = trad + simp - both + kinds.count("H")
    kana, hangul = kinds.count("K"), kinds.count("G")
    if kana > 5 and kana * 5 > cjk:
        return "ja"
    if hangul > 5 and hangul > cjk:
        return "ko"
    if cjk == 0:
        return "en" if kinds.count("L") > 10 else default
    if trad > simp:
        return "zh-Hant"
    if simp > trad:
        return "zh-Hans"
    return "zh"


def majority_lang(langs: Iterable[str], default: str) -> str:
    """The most common language of a listing's items (ties and none: ``default``)."""
    counts = Counter(langs).most_common(2)
    if not counts or (len(counts) == 2 and counts[0][1] == counts[1][1]):
        return default
    return counts[0][0]


# ------------------------------------------------------------ article HTML

_IMG = re.compile(r"<img\b([^>]*)>", re.I)
_ATTR = re.compile(r'([a-zA-Z-]+)="([^"]*)"')

ImageMap = Callable[[str], str | None]  # original image URL -> the mirror's own copy, or None


_BLOCKS = frozenset({b"p", b"h1", b"h2", b"h3", b"h4", b"h5", b"h6"})
_INLINE = frozenset({b"b", b"em", b"i", b"strong"})
_BARE_TAG = re.compile(rb"<(/?)([a-z0-9]+)>")
_CHARS = rb'(?:[^"&<>]|&amp;)*'  # (an attribute value nh3 writes back as it was)
_PLAIN_IMG = re.compile(
    rb'<img(?: src="(?:https?://|/)%s")?(?: alt="%s")?(?: width="%s")?(?: height="%s")?>'
    % (_CHARS, _CHARS, _CHARS, _CHARS)
)
_FIGURE, _CAPTION, _IMG_TAG = b"figure", b"figcaption", b"img"


def plain_blocks(content: str) -> bool:
    """True when ``content`` is plain blocks only: paragraphs and headings one after
    another (nothing between them), holding text and bold or italic (``b``, ``i``,
    ``strong``, ``em``), and figures of one image (``src``, ``alt``, ``width``,
    ``height`` in that order, an http(s) or site-absolute ``src``) with an optional
    caption of the same text; every other tag bare (no attribute) and properly
    nested, and no character nh3 would change in the text or the attributes. That
    is what ``sanitize`` gives back exactly as it is (the tests hold this against
    nh3, for every code point and for random shapes), so a page need not pass it
    through nh3 again. Checked on the UTF-8 bytes: a lone surrogate (nh3 refuses
    those) fails to encode. The characters nh3 changes: it escapes & < > and NBSP
    (``&amp;`` stays), drops NUL, and CR and LF are line breaks that ``sanitize``
    turns into spaces."""
    try:
        raw = content.encode("utf-8")
    except UnicodeEncodeError:
        return False
    if b"\x00" in raw or b"\n" in raw or b"\r" in raw or b"\xc2\xa0" in raw:
        return False
    if b"<img" in raw:
        raw = _PLAIN_IMG.sub(b"<img>", raw)
    parts = _BARE_TAG.split(raw)  # text, "/" or "", name, text, …
    if len(parts) < 7 or parts[0] or parts[-1]:
        return False
    open_: list[bytes] = []
    last = b""  # the tag before this one
    for k in range(1, len(parts), 3):
        name = parts[k + 1]
        if parts[k]:  # an end tag: of the element open last
            if not open_ or open_.pop() != name:
                return False
        elif not open_:
            if name not in _BLOCKS and name != _FIGURE:
                return False
            open_.append(name)
        elif open_[-1] == _FIGURE:  # its image first, then its caption
            if name == _IMG_TAG and last == _FIGURE:
                pass  # (no end tag)
            elif name == _CAPTION and last == _IMG_TAG:
                open_.append(name)
            else:
                return False
        elif name in _INLINE:
            open_.append(name)
        else:  # (a block in another, bold outside a block, any other tag)
            return False
        last = b"/" if parts[k] else name
        if parts[k + 2] and (not open_ or open_[-1] == _FIGURE):  # text between blocks
            return False
    if open_:
        return False
    x = b"".join(parts[0::3])
    return not (b"<" in x or b">" in x or b"&" in x)


def page_content(
    content: str, *, link: str, legacy: bool, images: str, image_map: ImageMap | None = None
) -> str:
    """Article HTML for a page: legacy posts (not written by newsmirror) are cleaned in
    full; every post passes the sanitizer again (but for plain blocks of text,
    which it would give back unchanged: ``plain_blocks``). An image the mirror
    keeps (``src`` ``/assets/…``) is shown from the site's own copy (``image_map`` gives its src)
    or, when the mirror has no copy, from its original URL (``data-orig-src``).
    Other images follow ``images``: ``original`` keeps the original URL (lazy, no
    referrer), ``link`` turns each image into a link to it, so that a page makes
    no request to another host."""
    raw = content  # (the original URLs of the mirror's images are only in it)
    origs: dict[str, str] | None = None
    if legacy:
        from .clean import CleanOptions, clean_html  # (lxml and more: for legacy posts only)

        try:
            content = clean_html(content, CleanOptions(base_url=link))
        except ItemError:
            content = "<p>" + html.escape(content, quote=False) + "</p>"
    elif not plain_blocks(content):  # (plain: what sanitize gives back as it is)
        content = sanitize(content)
    if "<img" not in content:  # (sanitized: tag names in lower case)
        return content

    def fix(m: re.Match[str]) -> str:
        nonlocal origs
        attrs = {k.lower(): v for k, v in _ATTR.findall(m.group(1))}
        src = html.unescape(attrs.get("src", ""))
        alt = attrs.get("alt", "")
        own = image_map(src) if image_map and src else None
        sizes = "".join(f' {k}="{v}"' for k, v in sorted(attrs.items()) if k in ("width", "height"))
        if own:
            return f'<img src="{html.escape(own)}" alt="{alt}"{sizes} loading="lazy">'
        if local_asset(src) is not None:  # kept by the mirror, but its file is missing
            if origs is None:
                origs = {"/" + path: url for path, url in local_images(raw)}
            src = origs.get(src, "")
            if not src:
                return f'<span class="img-missing">{alt or "圖片"}</span>'
        if images == "link" and not src.startswith("data:"):
            label = ("圖片：" + alt) if alt else "圖片"
            return f'<a class="img-link" href="{html.escape(src)}">{label}</a>'
        return (
            f'<img src="{html.escape(src)}" alt="{alt}"{sizes}'
            ' loading="lazy" referrerpolicy="no-referrer">'
        )

    return _IMG.sub(fix, content)


# ------------------------------------------------------------------- times


@dataclass(frozen=True, slots=True)
class Clock:
    """Times shown to readers, in the mirror's time zone."""

    tz: tzinfo

    def local(self, dt: datetime) -> datetime:
        return _local(dt, dt.fold, self.tz)

    def day(self, dt: datetime) -> str:
        return self.local(dt).strftime("%Y-%m-%d")

    def hm(self, dt: datetime) -> str:
        return self.local(dt).strftime("%H:%M")

    def full(self, dt: datetime) -> str:
        d = self.local(dt)
        off = _offset(d.utcoffset())  # (the rest as strftime writes it, without its cost)
        day = f"{d.year}-{d.month:02d}-{d.day:02d}"
        return f"{day} {d.hour:02d}:{d.minute:02d} (UTC{off[:3]}:{off[3:]})"

    def iso(self, dt: datetime) -> str:
        return self.local(dt).isoformat(timespec="seconds")


@lru_cache(maxsize=4096)
def _local(dt: datetime, fold: int, tz: tzinfo) -> datetime:
    """``dt`` in ``tz`` (an article's times are shown some five times in a build: its
    path, its day, its page, its listings). ``fold`` in the key: datetimes equal but
    for it are not the same time."""
    return dt.astimezone(tz)


@lru_cache(maxsize=64)
def _offset(off: timedelta | None) -> str:
    """A UTC offset as ``%z`` writes it (one strftime per distinct offset)."""
    return datetime(2000, 1, 1, tzinfo=timezone(off) if off is not None else None).strftime("%z")


def iso_utc(dt: datetime) -> str:
    d = dt.astimezone(UTC)  # (as strftime("%Y-%m-%dT%H:%M:%SZ") writes it)
    return f"{d.year}-{d.month:02d}-{d.day:02d}T{d.hour:02d}:{d.minute:02d}:{d.second:02d}Z"


def rfc822(dt: datetime) -> str:
    d = dt.astimezone(UTC)
    days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    return (
        f"{days[d.weekday()]}, {d.day:02d} {months[d.month - 1]} {d.year:04d} "
        f"{d.hour:02d}:{d.minute:02d}:{d.second:02d} +0000"
    )
