"""Generic removal of publisher chrome that feeds carry inside article content.

:func:`remove_chrome` is a clean-stage chrome pass (see ``clean.CHROME_PASSES``): it
works in place on the lxml tree, with no per-publisher selectors. One bottom-up pass
measures every element (text, link text, kinds of links, prose paragraphs inside: see
:mod:`newsmirror.dechrome_measure`); the rules here then name chrome blocks:

* ``related``/``tags``/``share``/``ad``/``newsletter``/``carousel`` hints in class,
  id, ``data-*`` and ARIA names, each confirmed by the block's content (link density,
  size);
* lists of links to other articles of the same site, and a lone headline link;
* tag groups (short links to tag/search/topic pages or ``#tag`` texts);
* share bars (links to share endpoints) and follow boxes (a social link plus a
  "follow us" call to action);
* labelled sections: a label such as 延伸閱讀 / 相关阅读 / 阅读更多 / Related and
  the link-dense blocks after it; "Skip … and continue reading" regions;
* ad images (``ad300x250``-style names, ad hosts).

Conservative by construction: a block that holds a prose paragraph, or more than half
of the item's non-link text, is never removed; inline links inside paragraphs,
datelines, editor lines, captions and bylines have no chrome features. Nested
candidates collapse to the outermost one, and a wrapper holding only a chrome block
goes with it. :func:`chrome_blocks` returns the decisions (with a reason) without
changing the tree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml.html import HtmlElement

from .dechrome_measure import (
    BLOCK_TAGS,
    FRAGN,
    HOME,
    MEDIA,
    PROSE,
    SENT,
    SHAREN,
    SOCIAL,
    SOCN,
    TAXN,
    L,
    N,
    T,
    chars,
    measure,
)
from .sanitize import tag_set, text_content

__all__ = ["ChromeBlock", "chrome_blocks", "remove_chrome"]

_HEADINGS = frozenset(("h1", "h2", "h3", "h4", "h5", "h6"))

# ------------------------------------------------------------------ hints and labels

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_HINT_ATTRS = tag_set("class id role data-e2e data-component data-testid aria-labelledby")
_TAG_HINTS = {"nav": "related", "form": "newsletter"}  # never article text
_HINTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("newsletter", re.compile(r"newsletter|subscri|signup|sign-up")),
    ("share", re.compile(r"share|sharing|social|(?:^| )(?:sns|follow\w*|addthis)(?: |$)")),
    ("ad", re.compile(r"advert|sponsor|adsbygoogle|(?:^| )(?:ads?|adv|adslot|adunit|dfp|gpt|mpu|promoted)(?: |$)")),
    ("tags", re.compile(r"keyword|hashtag|tagcloud|(?:^| )(?:tags?|labels?)(?: |$)")),
    ("carousel", re.compile(r"carousel|swiper|slider|(?:^| )(?:owl|slick|glide|splide)(?: |$)")),
    ("related", re.compile(r"related|recommend|readmore|promo|outbrain|taboola|trending|topnews|(?:^| )(?:more|popular|hot|hotnews)(?: |$)")),
)  # fmt: skip
_ANY_HINT = re.compile("|".join(p.pattern for _, p in _HINTS))


def _hint(el: HtmlElement) -> str | None:
    """The chrome kind an element's names suggest (class, id, data-*/ARIA names)."""
    if not el.keys():  # (most elements have no attributes)
        return None
    values = [
        v if k in _HINT_ATTRS else k[5:]
        for k, v in el.items()
        if k in _HINT_ATTRS or k.startswith("data-")
    ]
    if not values:
        return None
    raw = " ".join(values)
    joined = raw.lower()
    words = " " + " ".join(_NON_ALNUM.split(_CAMEL.sub(" ", raw).lower())) + " "
    if not (_ANY_HINT.search(joined) or _ANY_HINT.search(words)):
        return None
    for kind, pattern in _HINTS:
        if pattern.search(joined) or pattern.search(words):
            return kind
    return None


_LABEL = (
    r"(?:延伸|延展|推荐|推薦|相关|相關|更多|热门|熱門|最新|其他|其它|精选|精選|热点|熱點|焦点|焦點|今日|编辑|編輯)"
    r"(?:阅读|閱讀|新闻|新聞|报道|報導|報道|文章|内容|內容|链接|連結|资讯|資訊|话题|話題|专题|專題|影音|视频|影片|推荐|推薦|消息|头条|頭條)"
    r"|阅读更多|閱讀更多|看更多|更多|热读|熱讀|热门|熱門|聚焦|聚焦新[闻聞]|推荐|推薦|相关|相關"
    r"|你可能(?:也)?(?:会|會)?(?:喜欢|喜歡|感兴趣|感興趣|想看)|猜你喜[欢歡]|大家都在看|往期回[顾顧]"
    r"|related(?:stories|articles|news|content|links|coverage|reading|posts)?"
    r"|more(?:stories|news|articles|onthis(?:story|topic)?)?|readmore|readalso|alsoread|seealso"
    r"|top(?:news|stories)|most(?:read|popular|viewed)|recommended(?:foryou)?|youmayalsolike"
    r"|trending(?:now)?|whattoreadnext"
)
_LABEL_ONLY = re.compile(rf"[▶►■●•·|>»]*(?:{_LABEL})[:：>›»|]*")
_SKIP_LINK = re.compile(r"skip|跳[过過]|略[过過]", re.I)
_FOLLOW_LINK = re.compile(r"(?:关注|關注|追蹤|追踪|订阅|訂閱|follow|subscribe)\w{0,12}", re.I)
_FOLLOW = re.compile(
    r"(?:欢迎|歡迎)[^。！!？]{0,24}(?:关注|關注|追蹤|追踪|订阅|訂閱|搜寻|搜尋|加入|按讚|点赞)"
    r"|follow us|subscribe to|like us on",
    re.I,
)
# Bylines and credits link people to their pages: never chrome.
_BYLINE = re.compile(
    r"(?:记者|記者|作者|撰稿|编辑|編輯|编译|編譯|报道|報道|報導|摄影|攝影|制片|製片|制作|製作"
    r"|翻译|翻譯|主持|撰文|文|图|圖)\s*[:：]|\bby\b|photo(?:graph)?s?\s*:|reporter|author",
    re.I,
)
_AD_IMAGE = re.compile(
    r"(?:^|[/_.=-])(?:ad|ads|banner)[_-]?\d{2,4}x\d{2,4}|/ads?/|doubleclick\.net|googlesyndication"
    r"|adservice\.|/adserver/",
    re.I,
)

# ------------------------------------------------------------------ decisions


@dataclass(frozen=True, eq=False)
class ChromeBlock:
    """One block :func:`remove_chrome` removes, and why (e.g. ``"hint:tags"``)."""

    element: HtmlElement
    reason: str

    @property
    def preview(self) -> str:
        return " ".join(self.element.text_content().split())[:80]


class _Judge:
    def __init__(self, root: HtmlElement, site: str | None) -> None:
        self.root = root
        self.stats, self.kinds, self.site, self.order, self.hashed = measure(root, site)
        r = self.stats[root]
        self.limit = min(600, max(120, (r[T] - r[L]) // 2))
        self._texts: dict[HtmlElement, str] = {}

    def text(self, el: HtmlElement) -> str:
        """The element's text without whitespace (asked for more than once per element:
        kept; the tree does not change while the judge works)."""
        got = self._texts.get(el)
        if got is None:
            got = self._texts[el] = "".join(text_content(el).split())
        return got

    def safe(self, el: HtmlElement) -> bool:
        """Never the root, a block with prose (a paragraph, or two sentence blocks), or
        most of the item's non-link text."""
        s = self.stats[el]
        return el is not self.root and s[PROSE] == 0 and s[SENT] <= 1 and s[T] - s[L] <= self.limit

    def density(self, el: HtmlElement) -> float:
        s = self.stats[el]
        return s[L] / s[T] if s[T] else 0.0

    def by_hint(self, el: HtmlElement, kind: str) -> bool:
        s, d = self.stats[el], self.density(el)
        if kind == "ad":
            return s[T] <= 30 and el.find(".//figcaption") is None
        if kind == "tags":
            return s[N] >= 1 and d >= 0.5 and s[T] <= 300
        if kind == "share":
            return s[T] <= 200 and (d >= 0.5 or s[T] <= 40)
        if kind == "newsletter":
            return s[T] <= 400
        if kind == "carousel":
            return s[N] >= 2 and d >= 0.5
        return (s[N] >= 1 and d >= 0.3) or (s[T] == 0 and s[MEDIA] == 0)  # related

    def follow_box(self, el: HtmlElement) -> bool:
        """A social link with a call to follow: "歡迎…追蹤", or a link "追蹤中央社"."""
        links = [a for a in el.iter("a") if self.kinds.get(a, (0,))[0] & SOCIAL]
        short = self.stats[el][T] <= 80
        if short and any(_FOLLOW_LINK.fullmatch(self.text(a)) for a in links):
            return True
        return bool(_FOLLOW.search(el.text_content()))

    def by_content(self, el: HtmlElement) -> str | None:
        s, tag = self.stats[el], el.tag
        if s[N] == 0 or s[T] == 0 or s[T] - s[L] > self.limit:
            return None
        if s[SOCN] and s[T] <= 200 and self.follow_box(el):
            return "follow-box"
        d, real = s[L] / s[T], s[N] - s[FRAGN]
        if s[SHAREN] >= 2 and s[T] - s[L] <= 40:
            return "share-bar"
        why = None
        if (
            real >= 2
            and d >= 0.6
            and s[L] / real <= 12
            and (2 * s[TAXN] >= real or self.text(el).count("#") >= real)
        ):
            why = "tag-group"
        elif self.site != "?" and s[HOME] == real and real >= 1 and d >= 0.75:
            if tag in ("ul", "ol") or (real >= 2 and tag not in _HEADINGS):
                why = "related-links"
            elif (
                real == 1
                and tag in ("p", "div")
                and d >= 0.97
                and 8 <= s[L] <= 80
                and not self.text(el).endswith(("。", "."))  # "点击查看本文英文版。"
            ):
                why = "related-link"
        if why and s[T] > s[L] and _BYLINE.search("".join(el.xpath(".//text()[not(ancestor::a)]"))):
            return None  # a byline or credit line linking to people's pages
        return why

    def labelled(self, el: HtmlElement) -> tuple[list[HtmlElement], str] | None:
        """A label (延伸閱讀, Related …) and the link-dense blocks after it."""
        s = self.stats[el]
        if s[T] == 0 or s[T] > 120 or s[N] > 3 or (s[N] == 0 and s[T] > 24):
            return None
        text = self.text(el).lower()
        colon = max(text.find(":"), text.find("："))
        if 0 < colon < len(text) - 1 and colon <= 12:  # "延展阅读：<a>headline</a>"
            rest = len(text) - colon - 1
            if s[N] and s[L] >= 0.8 * rest and _LABEL_ONLY.fullmatch(text[: colon + 1]):
                return [el], "label-inline"
            return None
        if s[T] > 24 or s[N] > 1 or not _LABEL_ONLY.fullmatch(text):
            return None
        unit = el
        while (
            (p := unit.getparent()) is not None and p is not self.root and self.stats[p][T] == s[T]
        ):
            unit = p
        if chars(unit.tail):
            return None
        run: list[HtmlElement] = []
        for sib in unit.itersiblings():
            if not isinstance(sib.tag, str):
                continue
            ss = self.stats[sib]
            if sib.tag in _HEADINGS and ss[T]:
                break
            floor = 0.3 if sib.tag in ("ul", "ol") else 0.5
            if (ss[N] == 0 and ss[T] > 20) or (ss[N] and self.density(sib) < floor):
                break
            run.append(sib)
            if chars(sib.tail):
                break
        if not any(self.stats[x][N] for x in run):
            return None
        parent = unit.getparent()
        if parent is not None and parent is not self.root:
            inside = self.stats[unit][T] + sum(self.stats[x][T] for x in run)
            if inside == self.stats[parent][T]:
                return [parent], "label:" + text[:12]
        while not self.stats[run[-1]][N]:  # short texts after the links may be article text
            run.pop()
        return [unit, *run], "label:" + text[:12]

    def skipped(self, link: HtmlElement, target: HtmlElement) -> list[HtmlElement]:
        """What a "Skip … and continue reading" link jumps over, up to its target."""
        mine = {link, *link.iterancestors()}
        region = next((x for x in target.iterancestors() if x in mine), None)
        if region is None:
            return []
        first = next(x for x in (link, *link.iterancestors()) if x.getparent() is region)
        last = next(x for x in (target, *target.iterancestors()) if x.getparent() is region)
        span = [first]
        for sib in first.itersiblings():
            if span[-1] is last:
                break
            span.append(sib)
        if span[-1] is not last or not all(self.safe(x) for x in span if isinstance(x.tag, str)):
            return []
        if sum(self.stats[x][T] for x in span) == self.stats[region][T] and self.safe(region):
            return [region]
        return span


def _expand(el: HtmlElement, root: HtmlElement) -> HtmlElement:
    """The outermost wrapper that holds nothing but ``el``."""
    while (
        (p := el.getparent()) is not None
        and p is not root
        and len(p) == 1
        and not chars(p.text)
        and not chars(el.tail)
    ):
        el = p
    return el


def chrome_blocks(root: HtmlElement, *, site: str | None = None) -> list[ChromeBlock]:
    """The chrome blocks of ``root`` in document order (outermost only), with reasons.

    ``site`` is the article's URL or host; by default it is the site that most
    article-like links in the item point to (relative links count as the own site),
    and "unknown" with fewer than two such links (then no link list counts as related).
    """
    judge = _Judge(root, site)
    stats = judge.stats
    found: dict[HtmlElement, str] = {}
    order = judge.order  # (= {el: i for i, el in enumerate(root.iter())})
    for el in order:
        tag = el.tag
        if not isinstance(tag, str) or el is root:
            continue
        if tag == "img" and _AD_IMAGE.search(el.get("src", "")):
            found.setdefault(el, "ad-image")
        if tag not in BLOCK_TAGS:
            continue
        kind = _hint(el) or _TAG_HINTS.get(tag)
        if kind is None and not (s := stats[el])[N] and (not s[T] or s[T] > 24):
            continue  # (by_content and labelled: nothing to find without links in prose)
        if kind and judge.by_hint(el, kind) and judge.safe(el):
            found.setdefault(el, "hint:" + kind)
        elif (why := judge.by_content(el)) and judge.safe(el):
            found.setdefault(el, why)
        if hit := judge.labelled(el):
            els, why = hit
            if all(judge.safe(x) for x in els):
                for x in els:
                    found.setdefault(x, why)
    ids: dict[str, HtmlElement] = {}  # (the first element of each id)
    for el in order if judge.hashed else ():
        if isinstance(el.tag, str) and el is not root and (ident := el.get("id")):
            ids.setdefault(ident, el)
    for a, href in judge.hashed:  # "Skip … and continue reading" up to its target
        target = ids.get(href[1:])
        if target is None or order[target] < order[a] or not _SKIP_LINK.search(a.text_content()):
            continue
        for x in judge.skipped(a, target):
            found.setdefault(x, "skip-region")
    blocks: dict[HtmlElement, str] = {}
    for el, why in sorted(found.items(), key=lambda kv: order[kv[0]]):
        blocks.setdefault(_expand(el, root), why)
    chosen = [
        ChromeBlock(el, why)
        for el, why in blocks.items()
        if not any(x in blocks for x in el.iterancestors())
    ]
    total = judge.stats[root][T]
    if total and total - sum(judge.stats[b.element][T] for b in chosen) < min(10, total):
        return []  # everything would go: an item made only of links is kept as it is
    return chosen


def remove_chrome(root: HtmlElement, *, site: str | None = None) -> None:
    """Remove the :func:`chrome_blocks` of ``root`` in place (their tail text stays)."""
    for block in chrome_blocks(root, site=site):
        block.element.drop_tree()
