"""Article identity: canonical URLs and secondary keys (pure functions)."""

from __future__ import annotations

import contextlib
import hashlib
import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

# Query parameters that only track the reader, never select content.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "yclid",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "spm",
        "maca",  # Deutsche Welle feed marker
        "ocid",
        "cmpid",
        "ref_src",
        "feedtype",
        "at_medium",
        "at_campaign",
        "at_custom1",
        "at_custom2",
        "at_custom3",
        "at_custom4",
    }
)
TRACKING_PREFIXES = ("utm_", "at_", "pk_", "mtm_", "hmsr", "hmpl")

_DEFAULT_PORTS = {"http": 80, "https": 443}
_SAFE_PATH = "/%:@!$&'()*+,;=-._~"
_SAFE_QUERY = "/?:@!$'()*+,;-._~"


def _is_tracking(name: str) -> bool:
    low = name.lower()
    return low in TRACKING_PARAMS or low.startswith(TRACKING_PREFIXES)


def strip_tracking(url: str) -> str:
    """The URL as given, minus tracking parameters (for links shown to readers)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if not parts.query:
        return url
    kept = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)
    ]
    return urlunsplit(parts._replace(query=urlencode(kept, quote_via=quote, safe=_SAFE_QUERY)))


def canonical_url(url: str) -> str:
    """The identity of an article: scheme and host lower-cased, default port,
    fragment and tracking parameters removed, percent-encoding normalized so
    that ``/新聞`` and ``/%E6%96%B0%E8%81%9E`` are the same key.

    Not a URL to fetch: the remaining query keeps its order (order can matter
    to servers) but is re-encoded uniformly.
    """
    raw = url.strip()
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        return raw
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if host and not host.isascii():
        with contextlib.suppress(UnicodeError):
            host = host.encode("idna").decode("ascii")
    netloc = host
    if port is not None and _DEFAULT_PORTS.get(scheme) != port:
        netloc = f"{host}:{port}"
    path = quote(unquote(parts.path), safe=_SAFE_PATH) or "/"
    query = ""
    if parts.query:
        kept = [
            (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)
        ]
        query = urlencode(kept, quote_via=quote, safe=_SAFE_QUERY)
    return urlunsplit((scheme, netloc, path, query, ""))


_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")  # compiled once: reindex asks per post


def guid_key(guid: str, source: str) -> str:
    """The second key. A GUID that looks globally unique (URL, URN, tag:) is
    used as is; a bare one (``12345``) is only unique within its feed."""
    g = guid.strip()
    if not g:
        return ""
    if _SCHEME.match(g):
        return g
    return f"{source}:{g}"


def short_hash(text: str, length: int = 6) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:length]


def fingerprint(title: str, published: str) -> str:
    """A third key for the same article reached through differently rewritten
    links and GUIDs (mirrors and CDNs rewrite hosts): its title and the exact
    publish instant the feed gave. Empty when the feed gave no time."""
    t = " ".join(title.split()).casefold()
    if not t or not published:
        return ""
    return (
        "fp:"
        + hashlib.sha256(f"{t}\x1f{published}".encode("utf-8", "surrogatepass")).hexdigest()[:32]
    )
