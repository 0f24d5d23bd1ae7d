"""The safety policy of article HTML: what may stay, and the final nh3 gate.

:func:`~newsmirror.sanitize_tidy.tidy_tree` makes an lxml tree conform to the policy
(dangerous subtrees gone, embeds turned into links, unknown tags renamed or unwrapped,
URLs checked, no raw newlines, no empty wrappers), so that :func:`sanitize` — nh3, the
final gate that every byte of output passes — finds nothing left to restructure.
Doing the work on the tree first is what makes cleaning idempotent.

This module holds the policy (the tags and attributes that stay, those dropped, renamed
or unwrapped; the URLs that stay: :func:`resolve_url`, :func:`is_small_data_image`,
:func:`is_tracker_url`) and the gate; the tree work is :mod:`newsmirror.sanitize_tidy`'s.

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
_C0_SPACE = "".join(map(chr, range(0x21)))


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
