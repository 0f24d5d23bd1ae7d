"""Making an article tree conform to the policy of :mod:`newsmirror.sanitize`.

:func:`tidy_tree` takes out comments and the subtrees the policy drops, turns embeds into
links, renames or unwraps the tags it does not allow, checks URLs (nh3's own URL parser
included), rewrites nesting that either HTML parser would repair differently
(:func:`fix_structure`), unwraps empty elements (:func:`drop_empty`), and collapses
whitespace outside ``<pre>`` and makes newlines inside it ``<br>`` (:func:`tidy_whitespace`;
:func:`collapsed` for one string), so that :func:`~newsmirror.sanitize.sanitize` finds
nothing left to restructure and cleaning is idempotent.
"""

from __future__ import annotations

import re

import nh3
from lxml import etree
from lxml.html import HtmlElement

from .sanitize import (
    ALLOWED_TAGS,
    DROP_TAGS,
    DROPPABLE_EMPTY,
    EMBED_TAGS,
    IMG_ATTRIBUTES,
    RENAME_TAGS,
    UNWRAP_TAGS,
    URL_SCHEMES,
    is_invisible_box,
    is_tracker_url,
    resolve_url,
    tag_set,
    url_scheme,
)

__all__ = ["collapsed", "drop_empty", "fix_structure", "tidy_tree", "tidy_whitespace"]


_WS = re.compile(r"[ \t\n\r\f]+")


def _collapsible(s: str) -> bool:
    """Whether ``_WS.sub(" ", s)`` would change ``s`` (a run other than one space)."""
    return "  " in s or "\n" in s or "\t" in s or "\r" in s or "\f" in s


def _remove(el: HtmlElement) -> None:
    """Remove an element (or comment) with its content, keeping its tail text."""
    parent = el.getparent()
    if parent is None:
        return
    tail = el.tail
    if tail:
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(el)


def _embed_to_link(el: HtmlElement, base_url: str) -> None:
    """Replace an iframe/video/audio with a link to its source, or remove it."""
    src = el.get("src") or next((s.get("src") for s in el.iter("source") if s.get("src")), "")
    url = resolve_url(src or "", base_url)
    if not url or url_scheme(url) not in ("http", "https") or is_tracker_url(url):
        _remove(el)
        return
    if el.tag == "iframe" and is_invisible_box(el):
        _remove(el)
        return
    label = _WS.sub(" ", el.get("title") or "").strip() or url
    el.clear(keep_tail=True)  # drops attributes and children
    el.tag = "a"
    el.set("href", url)
    el.text = label


def _br_for_newlines(pre: HtmlElement) -> None:
    """Inside <pre>, turn every newline into <br> so the output has no raw newlines."""
    nodes: list[tuple[HtmlElement, bool]] = [(pre, True)]
    nodes += [(d, True) for d in pre.iterdescendants()]
    nodes += [(d, False) for d in pre.iterdescendants()]
    for el, is_text in nodes:
        value = el.text if is_text else el.tail
        if not value or ("\n" not in value and "\r" not in value):
            continue
        parts = value.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        if is_text:
            el.text = parts[0]
            parent, index = el, 0
        else:
            el.tail = parts[0]
            parent = el.getparent()
            index = parent.index(el) + 1
        for offset, part in enumerate(parts[1:]):
            br = parent.makeelement("br", {})
            br.tail = part
            parent.insert(index + offset, br)


_PROBE = nh3.Cleaner(
    tags={"a"}, attributes={"a": {"href"}}, link_rel=None, url_schemes=set(URL_SCHEMES | {"data"})
)
_PROBE_TAG = re.compile(r"<a\b[^>]*>")


def _drop_urls_nh3_refuses(linked: list[HtmlElement]) -> None:
    """Ask nh3, in one small batch, which href/src values it keeps (its URL parser is
    stricter than any check here: empty hosts, bad ports, bad IP addresses…), and
    drop the others now, so that a second cleaning finds nothing more to remove."""
    if not linked:
        return
    probe = etree.Element("div")
    for el in linked:
        etree.SubElement(probe, "a", href=el.get("href") if el.tag == "a" else el.get("src"))
    out = _PROBE.clean(etree.tostring(probe, method="html", encoding="unicode"))
    kept = [" href=" in tag for tag in _PROBE_TAG.findall(out)]
    if len(kept) != len(linked):  # cannot happen with well-formed probes; be safe anyway
        return
    for el, ok in zip(linked, kept, strict=True):
        if not ok:
            if el.tag == "a":
                el.drop_tag()
            else:
                _remove(el)


def _collapse_whitespace(root: HtmlElement) -> list[HtmlElement]:
    """Collapse ASCII whitespace runs outside <pre>; return the outermost <pre>s."""
    if next(root.iter("pre"), None) is None:  # (most items: no depth to keep)
        for el in root.iter(etree.Element):  # (elements only, as iterwalk reports them)
            if (text := el.text) and _collapsible(text):
                el.text = _WS.sub(" ", text)
            if (tail := el.tail) and _collapsible(tail) and el is not root:
                el.tail = _WS.sub(" ", tail)
        return []
    pres: list[HtmlElement] = []
    depth = 0
    for event, el in etree.iterwalk(root, events=("start", "end")):
        if event == "start":
            if el.tag == "pre":
                if depth == 0:
                    pres.append(el)
                depth += 1
            if depth == 0 and (text := el.text) and _collapsible(text):
                el.text = _WS.sub(" ", text)
        else:
            if el.tag == "pre":
                depth -= 1
            tail = el.tail if depth == 0 and el is not root else None
            if tail and _collapsible(tail):
                el.tail = _WS.sub(" ", tail)
    return pres


def collapsed(text: str) -> str:
    """``text`` with its ASCII whitespace runs made one space (as outside <pre>)."""
    return _WS.sub(" ", text) if _collapsible(text) else text


def tidy_whitespace(root: HtmlElement) -> None:
    """The last step of :func:`tidy_tree`: whitespace collapsed outside <pre>, newlines
    inside <pre> made <br>."""
    for pre in _collapse_whitespace(root):
        _br_for_newlines(pre)


def tidy_tree(root: HtmlElement, base_url: str = "", *, whitespace: bool = True) -> None:
    """Make the tree under ``root`` (whose own tag is kept) conform to the policy
    (``whitespace=False``: all but :func:`tidy_whitespace`, which the caller does)."""
    for node in list(root.iter(etree.Comment, etree.ProcessingInstruction, etree.Entity)):
        _remove(node)
    for el in list(root.iter(*DROP_TAGS)):
        _remove(el)
    for el in list(root.iter(*EMBED_TAGS)):
        _embed_to_link(el, base_url)
    linked: list[HtmlElement] = []
    for el in list(root.iterdescendants()):
        tag = el.tag
        if not isinstance(tag, str):
            continue
        if tag not in ALLOWED_TAGS:
            if tag in RENAME_TAGS and tag not in UNWRAP_TAGS:
                el.tag = RENAME_TAGS[tag]
            else:
                el.drop_tag()
                continue
        if tag == "a":
            href = resolve_url(value := el.get("href") or "", base_url)
            if href is None:
                el.drop_tag()
                continue
            if href != value:
                el.set("href", href)
            linked.append(el)
        elif tag == "img":
            src = resolve_url(value := el.get("src") or "", base_url, allow_data_image=True)
            if src is None:
                _remove(el)
                continue
            if src != value:
                el.set("src", src)
            for name, value in IMG_ATTRIBUTES.items():
                el.set(name, value)
            linked.append(el)
        for name, value in el.items():
            if "\n" in value or "\r" in value or "\t" in value:
                el.set(name, _WS.sub(" ", value).strip())
    root.attrib.clear()
    _drop_urls_nh3_refuses(linked)
    fix_structure(root)
    drop_empty(root)
    if whitespace:
        tidy_whitespace(root)


# ---- structure: what both parsers (libxml2 here, html5ever in nh3) keep as it is

TABLE_PARENTS: dict[str, frozenset[str]] = {
    "td": frozenset({"tr"}), "th": frozenset({"tr"}),
    "tr": frozenset({"table", "thead", "tbody", "tfoot"}),
    "thead": frozenset({"table"}), "tbody": frozenset({"table"}), "tfoot": frozenset({"table"}),
    "caption": frozenset({"table"}), "colgroup": frozenset({"table"}),
    "col": frozenset({"table", "colgroup"}),
}  # fmt: skip
TABLE_CHILDREN: dict[str, frozenset[str]] = {
    "table": frozenset({"caption", "colgroup", "col", "thead", "tbody", "tfoot", "tr"}),
    "thead": frozenset({"tr"}), "tbody": frozenset({"tr"}), "tfoot": frozenset({"tr"}),
    "tr": frozenset({"td", "th"}), "colgroup": frozenset({"col"}),
}  # fmt: skip
# parent → children that make libxml2 close the parent (measured on libxml2 2.14)
SPLIT_CHILDREN: dict[str, frozenset[str]] = {
    **dict.fromkeys(("b", "i", "s", "small", "u"), frozenset({"p"})),
    **dict.fromkeys(("h1", "h2", "h3", "h4", "h5", "h6"), frozenset({"li", "p", "table"})),
    "a": frozenset({"table"}), "pre": frozenset({"dd", "dl", "dt", "li", "table", "ul"}),
    "ul": frozenset({"pre"}), "dl": frozenset({"li"}), "li": frozenset({"li"}),
    "dd": frozenset({"dt"}), "dt": frozenset({"dd", "dl"}),
}  # fmt: skip
_SPLIT_CHILD_TAGS = frozenset().union(*SPLIT_CHILDREN.values())
HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
# start tags that make html5ever close an open <p>
P_CLOSERS = HEADINGS | tag_set("blockquote dd div dl dt figcaption figure hr li ol p pre table ul")
# html5ever's "special" elements that stop its search for an open <li>/<dd>/<dt>
SPECIAL = (HEADINGS | P_CLOSERS | tag_set("br caption col colgroup img tbody td tfoot th thead tr")) - {"div", "p"}  # fmt: skip


def _foster(table: HtmlElement, text: str) -> None:
    """Put text just before a table, as browsers do with text misplaced inside it."""
    prev = table.getprevious()
    if prev is not None:
        prev.tail = (prev.tail or "") + text
    else:
        parent = table.getparent()
        parent.text = (parent.text or "") + text


def _fix_tables(root: HtmlElement) -> None:
    for el in list(root.iter(*TABLE_PARENTS)):
        if el.getparent().tag not in TABLE_PARENTS[el.tag]:
            el.drop_tag()
    for box in list(root.iter(*TABLE_CHILDREN)):
        table = box if box.tag == "table" else next(box.iterancestors("table"))
        if box.text and box.text.strip():
            _foster(table, box.text)
        box.text = None
        for child in list(box):
            tail, child.tail = child.tail, None
            if child.tag not in TABLE_CHILDREN[box.tag]:
                table.addprevious(child)
            if tail and tail.strip():
                _foster(table, tail)


def _fix_split_pairs(root: HtmlElement) -> bool:
    changed = False
    # (only these tags can be split children; a tag changed here becomes "div", never one)
    for el in reversed(list(root.iterdescendants(*_SPLIT_CHILD_TAGS))):
        parent = el.getparent()
        while parent is not None and el.tag in SPLIT_CHILDREN.get(parent.tag, ()):
            changed = True
            if el.tag != "table":
                el.tag = "div"
                break
            if parent.tag == "a":
                parent.drop_tag()
            else:
                parent.tag = "div"
            parent = el.getparent()
    return changed


def _open_list_item(el: HtmlElement, names: frozenset[str]) -> bool:
    """True when html5ever would find an open item of ``names`` above ``el``."""
    for anc in el.iterancestors():
        if anc.tag in names:
            return True
        if anc.tag in SPECIAL:
            return False
    return False


def fix_structure(root: HtmlElement) -> None:
    """Rewrite nesting that either HTML parser would repair differently, so that a
    re-parse of the output gives the same tree (and cleaning is idempotent)."""
    for a in list(root.iter("a")):
        if next(a.iterancestors("a"), None) is not None:
            a.drop_tag()
    _fix_tables(root)
    for _ in range(8):
        if not _fix_split_pairs(root):
            break
    for el in list(root.iter("rt", "rp")):
        if el.getparent().tag != "ruby":
            el.tag = "span"
    for el in list(root.iter(*HEADINGS)):
        if el.getparent().tag in HEADINGS:
            el.tag = "span"
    for el in list(root.iter("li", "dd", "dt")):
        names = frozenset({"li"}) if el.tag == "li" else frozenset({"dd", "dt"})
        if _open_list_item(el, names):
            el.tag = "div"
    for p in list(root.iter("p")):
        if any(d.tag in P_CLOSERS for d in p.iterdescendants()):  # (faster than a tag filter)
            p.tag = "div"


def drop_empty(root: HtmlElement) -> None:
    """Unwrap elements left with neither content nor children (innermost first)."""
    for el in reversed(list(root.iterdescendants(*DROPPABLE_EMPTY))):
        if len(el) == 0 and not (el.text or "").strip():
            el.drop_tag()
