"""Text work for the built site: script variants (OpenCC), page languages,
article HTML made ready for a page (sanitized, images set to the site's
policy), and time formats. Pure functions, no I/O.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from functools import lru_cache

import opencc

from .clean import CleanOptions, clean_html
from .errors import ItemError
from .sanitize import sanitize

#: The script variants a site can be built in: tree folder, ``lang``, OpenCC config.
VARIANTS: dict[str, tuple[str, str]] = {
    "zh-Hant": ("zh-hant", "s2t"),
    "zh-Hans": ("zh-hans", "t2s"),
}
VARIANT_LABELS = {"": "原文", "zh-Hant": "繁體", "zh-Hans": "简体"}

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff]")
_LATIN = re.compile(r"[A-Za-z]")
_SEP = "\ue000"  # never in OpenCC's dictionaries: conversion never crosses it
_TAG_SPLIT = re.compile(r"(<[^>]*>)")


@lru_cache(maxsize=8)
def _cc(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


@lru_cache(maxsize=65536)
def convert(text: str, config: str) -> str:
    """``text`` converted by OpenCC ``config`` (empty config: unchanged)."""
    if not config or not text or not _CJK.search(text):
        return text
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


def detect_lang(text: str, default: str = "zh") -> str:
    """The page language of ``text``: zh-Hant, zh-Hans, zh (script unclear), ja, ko,
    en (Latin script), or ``default`` when there is no telling."""
    sample = text[:600]
    cjk = len(_CJK.findall(sample))
    kana, hangul = len(_KANA.findall(sample)), len(_HANGUL.findall(sample))
    if kana > 5 and kana * 5 > cjk:
        return "ja"
    if hangul > 5 and hangul > cjk:
        return "ko"
    if cjk == 0:
        return "en" if len(_LATIN.findall(sample)) > 10 else default
    han = "".join(_CJK.findall(sample))
    trad = sum(a != b for a, b in zip(han, convert(han, "t2s"), strict=False))
    simp = sum(a != b for a, b in zip(han, convert(han, "s2t"), strict=False))
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


def page_content(
    content: str, *, link: str, legacy: bool, images: str, image_map: ImageMap | None = None
) -> str:
    """Article HTML for a page: legacy posts (not written by newsmirror) are cleaned in
    full; every post passes the sanitizer again; images follow ``images``:
    ``original`` keeps the original URL (lazy, no referrer), ``link`` turns each
    image into a link to it, so that a page makes no request to another host."""
    if legacy:
        try:
            content = clean_html(content, CleanOptions(base_url=link))
        except ItemError:
            content = "<p>" + html.escape(content, quote=False) + "</p>"
    else:
        content = sanitize(content)

    def fix(m: re.Match[str]) -> str:
        attrs = {k.lower(): v for k, v in _ATTR.findall(m.group(1))}
        src = html.unescape(attrs.get("src", ""))
        own = image_map(src) if image_map and src else None
        if own:
            return f'<img src="{html.escape(own)}" alt="{attrs.get("alt", "")}" loading="lazy">'
        if images == "link" and not src.startswith("data:"):
            alt = attrs.get("alt", "")
            label = ("圖片：" + alt) if alt else "圖片"
            return f'<a class="img-link" href="{html.escape(src)}">{label}</a>'
        extra = "".join(f' {k}="{v}"' for k, v in sorted(attrs.items()) if k in ("width", "height"))
        return (
            f'<img src="{html.escape(src)}" alt="{attrs.get("alt", "")}"{extra}'
            ' loading="lazy" referrerpolicy="no-referrer">'
        )

    return _IMG.sub(fix, content)


# ------------------------------------------------------------------- times


@dataclass(frozen=True, slots=True)
class Clock:
    """Times shown to readers, in the mirror's time zone."""

    tz: tzinfo

    def local(self, dt: datetime) -> datetime:
        return dt.astimezone(self.tz)

    def day(self, dt: datetime) -> str:
        return self.local(dt).strftime("%Y-%m-%d")

    def hm(self, dt: datetime) -> str:
        return self.local(dt).strftime("%H:%M")

    def full(self, dt: datetime) -> str:
        d = self.local(dt)
        off = d.strftime("%z")
        return d.strftime("%Y-%m-%d %H:%M") + f" (UTC{off[:3]}:{off[3:]})"

    def iso(self, dt: datetime) -> str:
        return self.local(dt).isoformat(timespec="seconds")


def iso_utc(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc822(dt: datetime) -> str:
    d = dt.astimezone(UTC)
    days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    return (
        f"{days[d.weekday()]}, {d.day:02d} {months[d.month - 1]} {d.year:04d} "
        f"{d.hour:02d}:{d.minute:02d}:{d.second:02d} +0000"
    )
