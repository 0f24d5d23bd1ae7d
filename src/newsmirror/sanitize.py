"""The safety policy of article HTML: what may stay, and the final nh3 gate.

:func:`tidy_tree` makes an lxml tree conform to the policy (dangerous subtrees
gone, embeds turned into links, unknown tags renamed or unwrapped, URLs checked,
no raw newlines, no empty wrappers), so that :func:`sanitize` — nh3, the final
gate that every byte of output passes — finds nothing left to restructure.
Doing the work on the tree first is what makes cleaning idempotent.

Policy choices:

* No ``srcset``/``<picture>``/``<source>``: the clean stage has already picked one
  image URL for ``src``; a ``srcset`` would let browsers bypass it (feeds often
  proxy ``src`` through a host that is reachable where the originals are not).
* No ``id``/``class``/``style``: ids could clobber the host page's names; in-page
  ``#fragment`` links are kept as written but may have no target.
* ``<iframe>``/``<video>``/``<audio>`` become plain links to what they embedded.
* URL schemes http, https, mailto; ``data:`` only for small base64 raster
  images in ``<img src>``.
"""

from __future__ import annotations

import base64
import re
from urllib.parse import urljoin, urlsplit

import nh3
from lxml import etree
from lxml.html import HtmlElement


def tag_set(text: str) -> frozenset[str]:
    """The set of the space-separated names in ``text``."""
    return frozenset(text.split())


def text_content(el: HtmlElement) -> str:
    """``el.text_content()``, without its XPath call for an element with no child nodes
    (then its only text is its ``text``)."""
    return (el.text or "") if not len(el) else el.text_content()


ALLOWED_TAGS = tag_set(
    "a abbr b bdi bdo blockquote br caption cite code col colgroup dd del div dl dt em "
    "figcaption figure h1 h2 h3 h4 h5 h6 hr i img ins kbd li mark ol p pre q rp rt ruby s "
    "samp small span strong sub sup table tbody td tfoot th thead time tr u ul var"
)
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "*": {"lang", "dir", "title"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "col": {"span"},
    "colgroup": {"span"},
    "ol": {"start"},
    "time": {"datetime"},
    "del": {"datetime"},
    "ins": {"datetime"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
IMG_ATTRIBUTES = {"loading": "lazy", "referrerpolicy": "no-referrer"}
LINK_REL = "noopener noreferrer"
MAX_DATA_URI = 8192  # characters of a data: image URI that may stay inline

# Removed with everything inside them (their tail text stays).
DROP_TAGS = tag_set(
    "script style template noembed noframes title textarea select button input option "
    "optgroup datalist object applet frame frameset svg math head meta link base param "
    "canvas map area dialog portal output progress meter slot"
)
# Void in HTML5 but containers for libxml2, which nests the following content in them:
# unwrapped, so that content stays where browsers put it.
UNWRAP_TAGS = frozenset({"embed", "source", "track", "wbr", "keygen"})
# Block-level containers outside the allowed set become <div> (keeps line breaks in the text);
# everything else unknown is unwrapped (its content stays in place).
RENAME_TAGS: dict[str, str] = {
    **dict.fromkeys(
        tag_set(
            "section article header footer aside nav main address center details summary hgroup "
            "fieldset legend form noscript search marquee"
        ),
        "div",
    ),
    **dict.fromkeys(tag_set("xmp listing plaintext"), "pre"),
    **dict.fromkeys(tag_set("menu dir"), "ul"),
}
EMBED_TAGS = frozenset({"iframe", "video", "audio"})
# Elements that are pointless without content; void and table-cell elements are not.
DROPPABLE_EMPTY = ALLOWED_TAGS - {"br", "hr", "img", "td", "th", "col", "colgroup"}

TRACKER_HOSTS = (
    "google-analytics.com", "doubleclick.net", "googlesyndication.com", "googleadservices.com",
    "googletagmanager.com", "pixel.wp.com", "stats.wp.com", "quantserve.com",
    "scorecardresearch.com", "pixel.facebook.com", "bat.bing.com", "hm.baidu.com", "cnzz.com",
    "feedsportal.com", "mathtag.com", "rfihub.com", "analytics.twitter.com", "mmstat.com",
    "ati-host.net", "chartbeat.net", "krxd.net", "adnxs.com", "outbrain.com", "taboola.com",
)  # fmt: skip
TRACKER_PATHS = (  # (host, path prefix) pairs of feed-reader tracking pixels
    ("feeds.feedburner.com", "/~r/"), ("feedproxy.google.com", "/~r/"),
    ("www.facebook.com", "/tr"), ("t.co", "/i/adsct"),
)  # fmt: skip

_URL_STRIP = re.compile(r"[\t\n\r]")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
_DATA_IMAGE = re.compile(
    r"^data:image/(?:png|gif|jpeg|jpg|webp|avif|bmp);base64,[A-Za-z0-9+/]+={0,2}$", re.I
)
_WS = re.compile(r"[ \t\n\r\f]+")
_C0_SPACE = "".join(map(chr, range(0x21)))


def _collapsible(s: str) -> bool:
    """Whether ``_WS.sub(" ", s)`` would change ``s`` (a run other than one space)."""
    return "  " in s or "\n" in s or "\t" in s or "\r" in s or "\f" in s


def _stripped(value: str) -> str:
    """A URL as browsers read it: tabs and newlines removed, C0 controls and spaces trimmed
    (the regex only when there is one to remove)."""
    if "\t" in value or "\n" in value or "\r" in value:
        value = _URL_STRIP.sub("", value)
    return value.strip(_C0_SPACE)


def url_scheme(value: str) -> str:
    """The lower-cased scheme of a URL as a browser reads it ("" when relative)."""
    m = _SCHEME.match(_stripped(value))
    return m.group(1).lower() if m else ""


def resolve_url(value: str, base_url: str = "", *, allow_data_image: bool = False) -> str | None:
    """An attribute URL made absolute and checked, or None when it must go.

    ``#fragment`` stays as written. Without a usable base, relative URLs stay
    relative and ``//host/x`` becomes ``https://host/x``.
    """
    url = _stripped(value)
    if not url:
        return None
    if url.startswith("#"):
        return url
    m = _SCHEME.match(url)  # (= url_scheme(url): url is stripped already)
    scheme = m.group(1).lower() if m else ""
    if scheme:
        if scheme in URL_SCHEMES:
            return url
        if scheme == "data" and allow_data_image and is_small_data_image(url):
            return url
        return None
    if not base_url or url_scheme(base_url) not in ("http", "https"):
        base_url = "https:" if url.startswith("//") else ""
    if not base_url:
        return url
    try:
        joined = urljoin(base_url, url)
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return None
    return joined if url_scheme(joined) in URL_SCHEMES else None


def is_small_data_image(value: str) -> bool:
    """A base64 raster image small enough to keep inline (never SVG)."""
    return len(value) <= MAX_DATA_URI and bool(_DATA_IMAGE.match(value))


def data_image_size(value: str) -> tuple[int, int] | None:
    """Pixel size of a base64 GIF or PNG data URI, read from its header."""
    head = value.partition(",")[2][:44]
    try:
        raw = base64.b64decode(head[: len(head) // 4 * 4])
    except ValueError:
        return None
    if raw[:4] == b"GIF8" and len(raw) >= 10:
        return int.from_bytes(raw[6:8], "little"), int.from_bytes(raw[8:10], "little")
    if raw[:8] == b"\x89PNG\r\n\x1a\n" and len(raw) >= 24:
        return int.from_bytes(raw[16:20], "big"), int.from_bytes(raw[20:24], "big")
    return None


def is_tracker_url(url: str) -> bool:
    """True for URLs of known analytics/ad hosts and feed tracking pixels."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return False
    if any(host == h or host.endswith("." + h) for h in TRACKER_HOSTS):
        return True
    return any(host == h and parts.path.startswith(p) for h, p in TRACKER_PATHS)


def _size(value: str | None) -> int | None:
    m = re.match(r"\s*(\d+)\s*(?:px)?\s*$", value or "")
    return int(m.group(1)) if m else None


def is_invisible_box(el: HtmlElement) -> bool:
    """True when width/height attributes make the element a dot (≤ 1×1) or zero-sized."""
    w, h = _size(el.get("width")), _size(el.get("height"))
    return w == 0 or h == 0 or (w is not None and h is not None and w <= 1 and h <= 1)


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


def _attribute_filter(tag: str, attr: str, value: str) -> str | None:
    if attr in ("href", "src") and url_scheme(value) == "data":
        return value if tag == "img" and attr == "src" and is_small_data_image(value) else None
    return value


_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags={"script", "style"},
    attributes=ALLOWED_ATTRIBUTES,
    attribute_filter=_attribute_filter,
    strip_comments=True,
    link_rel=LINK_REL,
    url_schemes=set(URL_SCHEMES | {"data"}),
    # Set on the tree by tidy_tree (nh3's set_tag_attribute_values orders them randomly).
    tag_attribute_values={"img": {k: {v} for k, v in IMG_ATTRIBUTES.items()}},
)


def sanitize(fragment: str) -> str:
    """The final gate: nh3 with the article policy; no raw newlines in the result."""
    out = _CLEANER.clean(fragment)
    if "\n" in out or "\r" in out:
        out = out.replace("\r", " ").replace("\n", " ")
    return out.strip()
