"""The density extractor: the element of an article page that holds most of its prose.

:func:`density_extract` reads a copy of the page body (with ``consume``, the body itself)
without scripts, navigation, forms, hidden and comment boxes; each block's own text scores
by its punctuation and length, the scores flow to the enclosing container and its parent
(:data:`SHARES`), and the best total, discounted by link density, wins; it widens to its
parent while sibling boxes of its kind hold prose too, and :func:`prune` takes its link
lists and empty boxes out.

:mod:`newsmirror.extract` runs it (trafilatura is its fallback under :data:`MIN_TEXT`
characters of prose) and shares the tree helpers defined here: :func:`drop`,
:func:`without_junk`, :func:`norm`, :func:`link_density` and the block tags :data:`BLOCK`.
"""

from __future__ import annotations

import copy
import re
from collections import Counter

from lxml import etree
from lxml.html import HtmlElement

from .sanitize import tag_set, text_content

__all__ = [
    "BLOCK",
    "MIN_TEXT",
    "SHARES",
    "density_extract",
    "drop",
    "link_density",
    "norm",
    "prune",
    "without_junk",
]


# ---------------------------------------------------------------- tree helpers

_JUNK_TAGS = ("script", "style", "noscript", "template", "iframe", "object", "embed", "svg")


def drop(el: HtmlElement) -> None:
    if el.getparent() is not None:
        el.drop_tree()


def without_junk(el: HtmlElement, tags: tuple[str, ...] = ()) -> HtmlElement:
    for bad in list(el.iterdescendants(*_JUNK_TAGS, *tags)):  # (document order)
        drop(bad)
    return el


def norm(text: str) -> str:
    return "".join(text.split())


# ---------------------------------------------------------------- density extractor

BLOCK = tag_set(
    "address article aside blockquote body center dd div dl dt fieldset figcaption figure "
    "footer form h1 h2 h3 h4 h5 h6 header li main nav ol p pre section table tbody td th tr ul"
)
_CONTAINER = tag_set("article body div main section td blockquote center form")
_BOILERPLATE_TAGS = ("nav", "aside", "footer", "select", "button", "textarea", "input")
_COMMENT_NAMES = frozenset({"comment", "comments", "commentlist", "disqus", "replies"})
_NAME_SPLIT = re.compile(r"[\s_-]+")
_PUNCT = frozenset('，。！？；、,.!?;“”"')  # colons: they fill date and label lines too
_PUNCT_CHAR = re.compile("[" + re.escape("".join(sorted(_PUNCT))) + "]")
SHARES = (1.0, 0.5)
_MIN_PARA = 15  # characters: shorter text blocks are menu items, labels, counters
MIN_TEXT = 30  # characters of prose below which the density result is not trusted


def _is_comment_box(el: HtmlElement) -> bool:
    joined = f"{el.get('id') or ''} {el.get('class') or ''}".lower()
    if "comment" not in joined and "disqus" not in joined and "replies" not in joined:
        return False  # (every name of _COMMENT_NAMES holds one of these)
    names = _NAME_SPLIT.split(joined)
    return bool(_COMMENT_NAMES.intersection(names)) and el.find(".//h1") is None


def _visible_tree(root: HtmlElement, *, consume: bool = False) -> HtmlElement:
    """A copy of the page body without scripts, navigation, forms, comments, hidden boxes
    (``consume``: the body itself, taken out of the page, which is left without it)."""
    body = root.find("body")
    if consume and body is not None and (html := body.getparent()) is not None:
        html.remove(body)  # (its tail goes with it, as with a copy)
        work = body
    else:
        work = copy.deepcopy(body if body is not None else root)
    work = without_junk(work, _BOILERPLATE_TAGS)
    for el in work.xpath("descendant::*[@style or @hidden or @id or @class]"):
        style = (el.get("style") or "").replace(" ", "").lower()
        if "display:none" in style or el.get("hidden") is not None or _is_comment_box(el):
            drop(el)
    return work


def link_density(el: HtmlElement, chars: int | None = None) -> float:
    """Link text / all text (non-space characters; ``chars``: the latter, when known)."""
    linked = sum(len(norm(text_content(a))) for a in el.iter("a"))
    if chars is None:
        chars = len(norm(el.text_content()))
    return min(linked / (chars or 1), 1.0)


def _paragraph_scores(work: HtmlElement) -> Counter[HtmlElement]:
    """Score of each block's own text (text nodes belong to their nearest block element)."""
    chars: Counter[HtmlElement] = Counter()
    punct: Counter[HtmlElement] = Counter()
    # One walk, in document order (an element's text, then its tail, then its children's),
    # keeping for each open element its block and whether it is inside a link.
    stack: list[tuple[HtmlElement, bool]] = []  # (block, in a link) of the open elements
    push, pop, count = stack.append, stack.pop, _PUNCT_CHAR.findall
    for event, el in etree.iterwalk(work, events=("start", "end")):  # (comments: none)
        if event == "end":
            pop()
            continue
        tag = el.tag
        if stack:  # the tail belongs to the parent (the root's tail to no one)
            parent = stack[-1]
            mine = (el if tag in BLOCK else parent[0], parent[1] or tag == "a")
            tail = el.tail
        else:
            parent, mine, tail = None, (el, tag == "a"), None
        push(mine)
        if not isinstance(tag, str):
            continue
        text = el.text
        if text and not mine[1] and text.strip():  # (link text is not prose)
            chars[mine[0]] += len(norm(text))
            punct[mine[0]] += len(count(text))
        if tail and not parent[1] and tail.strip():  # type: ignore[index]
            chars[parent[0]] += len(norm(tail))  # type: ignore[index]
            punct[parent[0]] += len(count(tail))  # type: ignore[index]
    return Counter({b: 1 + punct[b] + min(n / 100, 3) for b, n in chars.items() if n >= _MIN_PARA})


def _density_candidate(work: HtmlElement) -> HtmlElement | None:
    """The element that holds most of the page's prose: paragraph scores flow to the
    enclosing container (full) and its parent (half); the best total, discounted by link
    density, wins; then it widens to its parent while its siblings that are boxes of the
    same kind or single paragraphs (the article's other parts) hold prose too."""
    paragraphs = _paragraph_scores(work)
    scores: Counter[HtmlElement] = Counter()
    mass: Counter[HtmlElement] = Counter()  # paragraph score of each subtree
    count: Counter[HtmlElement] = Counter()  # paragraphs in each subtree
    for block, score in paragraphs.items():
        node: HtmlElement | None = block if block.tag in _CONTAINER else block.getparent()
        for share in SHARES:
            if node is None:
                break
            scores[node] += score * share
            node = node.getparent()
        for el in (block, *block.iterancestors()):
            mass[el] += score
            count[el] += 1
    if not scores:
        return None

    def alike(a: HtmlElement, b: HtmlElement) -> bool:  # same kind of box, or a paragraph
        return (a.tag, a.get("class")) == (b.tag, b.get("class")) or count[b] == 1

    link_chars: dict[HtmlElement, int] = {}  # (the candidates share links: each measured once)

    def link_share(el: HtmlElement) -> float:  # = link_density(el)
        linked = 0
        for a in el.iter("a"):
            n = link_chars.get(a)
            if n is None:
                n = link_chars[a] = len(norm(text_content(a)))
            linked += n
        return min(linked / (len(norm(el.text_content())) or 1), 1.0)

    best = node = max(scores.most_common(8), key=lambda kv: kv[1] * (1 - link_share(kv[0])))[0]
    while (parent := node.getparent()) is not None and parent.tag != "body":
        least = 0.3 * mass[node]
        siblings = [s for s in parent if s is not node and mass[s] >= least and alike(node, s)]
        if siblings:
            best = node = parent  # the article continues in boxes like this one
        elif mass[parent] <= 1.1 * mass[node]:
            node = parent  # a wrapper: look one level up
        else:
            break
    return best


def prune(el: HtmlElement) -> None:
    """Remove link lists and empty boxes from the chosen container."""
    gone: set[HtmlElement] = set()  # dropped here, and what they hold (nothing to decide)
    for child in list(el.iter()):
        if child is el or (parent := child.getparent()) is None:
            continue
        if parent in gone:
            gone.add(child)
            continue
        if child.tag not in BLOCK:
            continue
        text = norm(text_content(child))
        if not text:
            if child.find(".//img") is None:
                drop(child)
                gone.add(child)
        elif len(text) < 400 and link_density(child, len(text)) > 0.6:
            drop(child)
            gone.add(child)


def density_extract(root: HtmlElement, *, consume: bool = False) -> HtmlElement | None:
    """The main-content element of a page by text density (a pruned copy), or None.
    ``consume``: work on the page's own body (no copy); the page loses its body."""
    best = _density_candidate(_visible_tree(root, consume=consume))
    if best is None:
        return None
    prune(best)
    if best.tag not in ("div", "article", "section", "main", "blockquote"):
        best.tag = "div"
    best.attrib.clear()
    return best
