"""What the chrome rules of :mod:`newsmirror.dechrome` read: the kind of each link and
the totals of each element.

:func:`_link_kind` sorts a link by its URL alone (a fragment, a share endpoint, a social
site, a tag/search/topic page, an article or none of these) and names its registrable
site (:func:`site_of`); :func:`measure` walks the tree once, bottom-up, and gives every
element its totals by the indexes ``T``, ``L``, ``N`` …: text and link-text chars, links
of each kind, links to the article's own site, prose paragraphs, sentence blocks and
media elements.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from operator import add
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from lxml import etree
from lxml.html import HtmlElement

from .sanitize import tag_set, text_content

__all__ = [
    "ARTICLE", "BLOCK_TAGS", "FRAG", "FRAGN", "HOME", "L", "MEDIA", "N", "PROSE", "SENT",
    "SHARE", "SHAREN", "SOCIAL", "SOCN", "T", "TAX", "TAXN", "chars", "measure", "site_of",
]  # fmt: skip

BLOCK_TAGS = tag_set(
    "address article aside blockquote center dd details dialog div dl dt fieldset figcaption "
    "figure footer form h1 h2 h3 h4 h5 h6 header hgroup li main nav noscript ol p pre section "
    "summary table tbody td tfoot th thead tr ul"
)
_SKIP_TEXT = frozenset(("script", "style", "template"))
_MEDIA = frozenset(("img", "iframe", "video", "audio", "picture"))

# ------------------------------------------------------------------ links

_SHARE_URL = re.compile(
    r"facebook\.com/(?:sharer|share\.php|dialog/(?:share|feed))|(?:twitter|x)\.com/(?:intent|share)"
    r"|social-plugins\.line\.me|line\.me/R/msg|lineit\.line\.me|service\.weibo\.com/share"
    r"|plurk\.com/\?qualifier|(?:t|telegram)\.me/share|wa\.me/\?|api\.whatsapp\.com/send"
    r"|linkedin\.com/(?:shareArticle|sharing)|reddit\.com/submit|pinterest\.com/pin/create"
    r"|connect\.qq\.com|sns\.qzone\.qq\.com|^mailto:\?",
    re.I,
)
_SOCIAL_HOSTS = tag_set(
    "facebook.com fb.com twitter.com x.com instagram.com youtube.com line.me lin.ee t.me "
    "telegram.me weibo.com news.google.com threads.net tiktok.com linkedin.com whatsapp.com "
    "plurk.com"
)
_TAXONOMY = re.compile(
    r"/(?:tags?|topics?|keywords?|search|labels?|categor(?:y|ies)|hashtags?)(?:/|\.|$)"
    r"|[?&](?:q|query|keyword|kw|tag)=",
    re.I,
)
_PERSON = re.compile(
    r"/(?:authors?|people|person|reporters?|journalists?|columnists?)(?:/|$)", re.I
)
_NOT_ARTICLE = re.compile(r"\.(?:jpe?g|png|gif|webp|svg|pdf|mp3|mp4|zip)$|embed", re.I)
_URL_TEXT = re.compile(r"(?:https?:|www\.)", re.I)
_TWO_LEVEL = frozenset(("com", "co", "net", "org", "gov", "edu", "ac"))

# link kinds (bits)
FRAG, SHARE, SOCIAL, TAX, ARTICLE = 1, 2, 4, 8, 16


def site_of(url_or_host: str) -> str:
    """The registrable part of a URL's host ("cn.wsj.com" → "wsj.com"; keeps "cna.com.tw")."""
    host = urlsplit(url_or_host).hostname if "/" in url_or_host else url_or_host
    return _site_of_host(host or "")


@lru_cache(maxsize=1024)
def _site_of_host(host: str) -> str:
    labels = host.lower().rstrip(".").split(".")
    if len(labels) >= 3 and labels[-2] in _TWO_LEVEL and len(labels[-1]) == 2:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


# Case-insensitive matching, done faster: ``_fold`` maps every character to the one
# that stands for its case class in ``re.IGNORECASE`` matching of ASCII patterns (the
# simple lower case, and ı → i, ſ → s, which the re module also equates with i and s;
# str.lower alone would turn İ into two characters), so that ``P.search(s)`` with
# re.I and ``folded(P).search(_fold(s))`` agree for the ASCII patterns below.
_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})


def _fold(s: str) -> str:
    return s.translate(_FOLD).lower() if not s.isascii() else s.lower()


def _folded(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """``pattern`` (re.I, ASCII letters only outside escapes) for folded text, without re.I."""
    assert not re.search(r"\\[A-Z]", pattern.pattern)  # \S, \W, \D would change meaning
    return re.compile(pattern.pattern.lower(), pattern.flags & ~re.I)


_SHARE_FOLDED = _folded(_SHARE_URL)
# Every match of _SHARE_URL holds one of these (folded): most links need no regex search.
_SHARE_WORDS = (
    "facebook.com/", "twitter.com/", "x.com/", "line.me", "weibo.com/share", "plurk.com/",
    "t.me/share", "telegram.me/share", "wa.me/", "whatsapp.com/send", "linkedin.com/",
    "reddit.com/submit", "pinterest.com/pin/create", "qq.com", "mailto:",
)  # fmt: skip


def _has_share_word(folded: str) -> bool:
    """``any(w in folded for w in _SHARE_WORDS)``, written out (a fifth of the time)."""
    return (
        "facebook.com/" in folded or "twitter.com/" in folded or "x.com/" in folded
        or "line.me" in folded or "weibo.com/share" in folded or "plurk.com/" in folded
        or "t.me/share" in folded or "telegram.me/share" in folded or "wa.me/" in folded
        or "whatsapp.com/send" in folded or "linkedin.com/" in folded
        or "reddit.com/submit" in folded or "pinterest.com/pin/create" in folded
        or "qq.com" in folded or "mailto:" in folded
    )  # fmt: skip


_PERSON_FOLDED = _folded(_PERSON)
_TAXONOMY_FOLDED = _folded(_TAXONOMY)
_NOT_ARTICLE_FOLDED = _folded(_NOT_ARTICLE)
_DIGITS = re.compile(r"\d{4,}")
_ARTICLE_ENDS = (".html", ".htm", ".shtml", ".aspx", ".php")


# An absolute http(s) URL whose host is plain (no user, no IPv6 brackets, an optional
# numeric port) and that holds no tab or newline: urlsplit's parts are these groups.
_PLAIN_URL = re.compile(
    r"(https?)://([A-Za-z0-9.-]*)(?::[0-9]*)?(/[^?#\t\r\n]*)?(?:\?([^#\t\r\n]*))?(?:#[^\t\r\n]*)?"
)


def _split(href: str) -> tuple[str, str, str, str]:
    """(scheme, lower-cased host or "", path, query) of ``urlsplit(href)`` (ValueError as
    it raises), read by one regex match for the common plain URL."""
    if m := _PLAIN_URL.fullmatch(href):
        return m.group(1), m.group(2).lower(), m.group(3) or "", m.group(4) or ""
    parts = urlsplit(href)
    return parts.scheme, parts.hostname or "", parts.path, parts.query


@lru_cache(maxsize=4096)
def _link_kind(href: str) -> tuple[int, str]:
    """(kind bits, site) of a link; site "" for relative links (the article's own site)."""
    href = href.strip()
    if href.startswith("#"):
        return FRAG, ""
    folded = _fold(href)
    if _has_share_word(folded) and _SHARE_FOLDED.search(folded):
        return SHARE, ""
    try:
        scheme, host, path, query = _split(href)
    except ValueError:
        return 0, "?"
    if scheme not in ("http", "https", ""):
        return 0, "?"
    host = host.removeprefix("www.")
    site = _site_of_host(host) if host else ""
    if host in _SOCIAL_HOSTS or site in _SOCIAL_HOSTS:
        return SOCIAL, site
    path = path or "/"
    fpath = _fold(path)
    if _PERSON_FOLDED.search(fpath):
        return 0, site
    if _TAXONOMY_FOLDED.search(fpath + ("?" + _fold(query) if query else "")):
        return TAX, site
    article = not _NOT_ARTICLE_FOLDED.search(fpath) and (
        bool(_DIGITS.search(path))
        or path.endswith(_ARTICLE_ENDS)
        or (
            len(segments := [s for s in path.split("/") if s]) >= 2
            and max(map(len, segments)) >= 12
        )
    )
    return (ARTICLE if article else 0), site


# ------------------------------------------------------------------ measuring

# Per-element totals: text chars, link-text chars, links, links to own-site articles,
# taxonomy, social, share and fragment links, prose paragraphs (≥ 100 own chars),
# sentence blocks (≥ 30 own chars), media elements.
T, L, N, HOME, TAXN, SOCN, SHAREN, FRAGN, PROSE, SENT, MEDIA = range(11)
_WIDTH = 11


def chars(s: str | None) -> int:
    return len("".join(s.split())) if s else 0


class _Measured(NamedTuple):
    stats: dict[HtmlElement, list[int]]  # every node's totals (by the indexes above)
    kinds: dict[HtmlElement, tuple[int, str]]  # (kind, site) of every <a href>
    site: str  # the site taken as the article's own ("?": unknown)
    order: dict[HtmlElement, int]  # every node's place in document order (root.iter())
    hashed: list[tuple[HtmlElement, str]]  # (<a>, href) of the links to "#…", in order


def measure(root: HtmlElement, site: str | None) -> _Measured:
    """Bottom-up statistics of every element, the kind of every link, and the site
    taken as the article's own."""
    kinds: dict[HtmlElement, tuple[int, str]] = {}
    hashed: list[tuple[HtmlElement, str]] = []
    for a in root.iter("a"):
        if (href := a.get("href")) is not None:
            if href.startswith("#"):
                hashed.append((a, href))
            kind, lsite = _link_kind(href)
            if kind & ARTICLE and _URL_TEXT.match(text_content(a).strip()):
                kind = 0  # a bare URL shown as the text is a reference, not a teaser
            kinds[a] = kind, lsite
    if site is None:  # the site most article links point to; relative links are its own
        votes = Counter(s for k, s in kinds.values() if k & ARTICLE and s not in ("", "?"))
        relative = sum(1 for k, s in kinds.values() if k & ARTICLE and s == "")
        best, n = votes.most_common(1)[0] if votes else ("", 0)
        site = best if n + relative >= 2 else "?"
    else:
        site = site_of(site) if site else ""
    stats: dict[HtmlElement, list[int]] = {}
    order: dict[HtmlElement, int] = {}
    zero = (0,) * _WIDTH
    # One walk: an element's frame collects its children's totals (``acc``; None while
    # all zero), their tails as its own text (``own``), and the text/link chars that are
    # not inside nested blocks (``it``, ``il``); at its end it adds its own into its
    # parent's frame. Comments and processing instructions count only by their tails.
    stack: list[list[Any]] = []  # [acc, own, it, il] of the open elements
    push, pop = stack.append, stack.pop
    for event, el in etree.iterwalk(root, events=("start", "end", "comment", "pi")):
        if event == "start":
            order[el] = len(order)
            push([None, 0, 0, 0])
            continue
        if event != "end":  # a comment or processing instruction (never the root)
            order[el] = len(order)
            stats[el] = [*zero]
            if tail := el.tail:
                stack[-1][1] += len("".join(tail.split()))  # (chars)
            continue
        acc, own, it, il = pop()
        tag = el.tag
        if tag in _SKIP_TEXT:
            acc = [*zero]
            it = il = 0
        else:
            own_text = el.text
            text = own + (len("".join(own_text.split())) if own_text else 0)
            it += text
            if acc is None:
                acc = [*zero]
            acc[T] += text
            if tag == "a" and el in kinds:
                kind, lsite = kinds[el]
                acc[L] = acc[T]
                il = it
                acc[N] += 1
                acc[FRAGN] += bool(kind & FRAG)
                acc[SHAREN] += bool(kind & SHARE)
                acc[SOCN] += bool(kind & SOCIAL)
                acc[TAXN] += bool(kind & TAX)
                acc[HOME] += bool(kind & ARTICLE) and (lsite == "" or lsite == site)
            elif tag in _MEDIA:
                acc[MEDIA] += 1
            if tag in BLOCK_TAGS and it - il >= 30 and il < 0.3 * it:
                acc[SENT] += 1  # a sentence or more of the block's own text
                acc[PROSE] += it - il >= 100
        stats[el] = acc
        if not stack:  # (the root)
            break
        parent = stack[-1]
        if tail := el.tail:
            parent[1] += len("".join(tail.split()))  # (chars)
        total = parent[0]
        parent[0] = [*acc] if total is None else [*map(add, total, acc)]
        if (it or il) and tag not in BLOCK_TAGS:
            parent[2] += it
            parent[3] += il
    return _Measured(stats, kinds, site, order, hashed)
