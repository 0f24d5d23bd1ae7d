"""Turn fetched bytes into text, trusting declarations only as far as the bytes agree.

Order of trust: a byte-order mark; the HTTP ``Content-Type`` charset; the document's own
declaration (``<?xml encoding=…?>``, or ``<meta charset>`` / ``http-equiv`` for HTML);
UTF-8 when it decodes cleanly; then statistical detection (charset-normalizer) among the
encodings Chinese sites use. A declaration is a claim, not a fact:

* a declared charset that fails to decode strictly is skipped;
* a declared legacy charset (GBK, Big5, Latin-1 …) is overruled by UTF-8 when the body
  holds non-ASCII bytes that form valid UTF-8 — real legacy text almost never does,
  while "declares gb2312, is really UTF-8" pages are common.

GB2312/GBK are decoded as GB18030 (their superset) and Big5 as Big5-HKSCS, so text in the
extended ranges survives. :func:`decode` never raises: the last resort is UTF-8 with
replacement characters.
"""

from __future__ import annotations

import codecs
import re
from typing import Literal

Kind = Literal["xml", "html", "json", "text"]

# Labels that name a narrower charset than what servers actually send.
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "cp936": "gb18030",
    "x-gbk": "gb18030",
    "euc-cn": "gb18030",
    "gb_2312-80": "gb18030",
    "csgb2312": "gb18030",
    "big5": "big5hkscs",
    "x-x-big5": "big5hkscs",
    "csbig5": "big5hkscs",
    "big5-hkscs": "big5hkscs",
    # WHATWG: these labels mean windows-1252 on the web.
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "iso8859-1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "utf8": "utf-8",
    "unicode-1-1-utf-8": "utf-8",
}

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: it starts with the same bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

_XML_DECL = re.compile(
    rb"^\s*<\?xml[^>]{0,200}?encoding\s*=\s*[\"']\s*([A-Za-z0-9._:-]{1,40})", re.I
)
_META_CHARSET = re.compile(
    rb"<meta[^>]{0,200}?charset\s*=\s*[\"']?\s*([A-Za-z0-9._:-]{1,40})", re.I
)
_HTML_SNIFF_BYTES = 4096

# Candidates for statistical detection: what Chinese-language (and other) news sites send.
_DETECT_CANDIDATES = ["utf_8", "gb18030", "big5hkscs", "shift_jis", "euc_kr", "cp1252"]


def normalize_charset(label: str) -> str:
    """Python codec name for a charset label, widened to its superset; ``""`` if unknown."""
    name = label.strip().strip("\"'").lower()
    if not name:
        return ""
    name = _SUPERSETS.get(name, name)
    try:
        canonical = codecs.lookup(name).name
    except LookupError:
        return ""
    # codecs.lookup canonicalizes aliases ("GB_2312-80" -> "gb2312"); widen its answer too.
    return _SUPERSETS.get(canonical, canonical)


def declared_charset(body: bytes, kind: Kind = "xml") -> str:
    """The charset the document declares about itself (raw label), or ``""``."""
    head = body[:_HTML_SNIFF_BYTES]
    if kind == "xml":
        m = _XML_DECL.match(head)
        return m.group(1).decode("ascii") if m else ""
    if kind == "html":
        m = _META_CHARSET.search(head)
        if m:
            return m.group(1).decode("ascii")
        m = _XML_DECL.match(head)  # XHTML
        if m:
            return m.group(1).decode("ascii")
    return ""


def _strict(body: bytes, encoding: str) -> str | None:
    try:
        return body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _sniff_utf16(body: bytes) -> str:
    """UTF-16 without a BOM, recognised by a NUL beside the first ``<`` or ``{``."""
    if len(body) >= 4:
        if body[1] == 0 and body[0] in b"<{" and body[3] == 0:
            return "utf-16-le"
        if body[0] == 0 and body[1] in b"<{" and body[2] == 0:
            return "utf-16-be"
    return ""


def _detect(body: bytes) -> str:
    """Best guess among the usual candidates with charset-normalizer; ``""`` if none fits."""
    from charset_normalizer import from_bytes  # imported lazily: rarely needed

    try:
        best = from_bytes(body, cp_isolation=_DETECT_CANDIDATES).best()
    except Exception:  # detection is a heuristic; its failure must not be ours
        return ""
    if best is None:
        return ""
    return normalize_charset(best.encoding)


def decode(body: bytes, *, header_charset: str = "", kind: Kind = "xml") -> tuple[str, str]:
    """Decode ``body`` to text; return ``(text, encoding_used)`` with a Python codec name.

    ``header_charset`` is the charset parameter of the HTTP Content-Type header, if any.
    ``kind`` selects which in-document declaration is read (none for json/text).
    Never raises.
    """
    for bom, enc in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(enc, errors="replace"), enc
    wide = _sniff_utf16(body)  # a NUL beside the first "<" outweighs any label
    if wide:
        return body.decode(wide, errors="replace"), wide

    ascii_only = body.isascii()
    for label in (header_charset, declared_charset(body, kind)):
        enc = normalize_charset(label) if label else ""
        if not enc or enc.startswith(("utf-16", "utf-32")):
            continue  # unknown, or a wide label on bytes that are plainly not wide: a lie
        text = _strict(body, enc)
        if text is None:
            continue  # the declaration is wrong for these bytes: try the next clue
        if enc != "utf-8" and not ascii_only:
            as_utf8 = _strict(body, "utf-8")
            if as_utf8 is not None:
                return as_utf8, "utf-8"  # valid UTF-8 with non-ASCII bytes: the label lies
        return text, enc

    as_utf8 = _strict(body, "utf-8")
    if as_utf8 is not None:
        return as_utf8, "utf-8"
    guess = _detect(body)
    for enc in (guess, "gb18030", "big5hkscs") if guess else ("gb18030", "big5hkscs"):
        text = _strict(body, enc)
        if text is not None:
            return text, enc
    return body.decode("utf-8", errors="replace"), "utf-8"
