"""The classic Jekyll post format: write a post and name it; per-source list pages.

The normative reference is DESIGN.md ("The classic Jekyll post format") and the real
post ``corpus/classic-post.md``; ordinary posts come out byte for byte in that shape.
A post is read back by ``postfile_record``.

Decisions worth knowing (they are what the tests pin down):

* Front matter: ``title`` is always double-quoted; ``author``/``from``/list items are
  plain when PyYAML (both readers) and Ruby's Psych read them back unchanged (the
  rules are conservative for Jekyll 3's SafeYAML too), quoted otherwise. Lone surrogates cannot be written as UTF-8 nor escaped for libyaml, so
  they become U+FFFD (valid surrogate pairs are joined first) — everywhere in a post.
* Times are written in UTC truncated to milliseconds (``date``, the HTML comment and
  the extra time keys), so a round trip keeps instants to the millisecond.
* Extra keys make the file the backup of the index: source, guid, key, hash,
  fetched, origin, revision, first_seen, changed, updated, feed_categories, authors,
  ``deleted`` (when the source took the article down: the time that was first
  seen) and ``deletions`` (earlier marks that were undone, as ISO 8601 intervals
  ``gone/back``), then ``liquid_escaped: true`` when the body's braces were written as entities.
  An absent ``first_seen`` reads back as ``fetched``; an absent ``key`` as the link.
* Empty content is written as ``<div>\\n</div>``.
* Lists (``lists/<name>.md``) start with a front matter of their own (``layout:
  default`` and the title): plain Jekyll renders them then, as GitHub Pages
  (jekyll-optional-front-matter) does the classic ones without it; Liquid-like
  titles are escaped there too.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from typing import Any

from .lazyre import lazy_re
from .models import Article


@lru_cache(maxsize=1)
def pyyaml() -> tuple[Any, Any, tuple[Any, ...]]:
    """PyYAML, its fastest safe loader, and every safe loader it has. Imported on first
    use: the posts newsmirror writes are written and read back without it."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml, loader, tuple(dict.fromkeys([loader, yaml.SafeLoader]))


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_NAME_BYTES = 200
FULL_LIST_LABEL = "完整列表"

# ---------------------------------------------------------------- YAML scalars

_SURROGATE = lazy_re(r"[\ud800-\udfff]")
_DQ_SPECIAL = lazy_re(r'[\\"\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]')
_DQ_NAMED = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\x00": "\\0"}
_DQ_NAMED |= {"\x85": "\\N", "\u2028": "\\L", "\u2029": "\\P"}
_PLAIN_BAD_START = frozenset("-?:,[]{}#&*!|>'\"%@`=<~+.0123456789")
_PLAIN_BAD = lazy_re(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]|: |:$| #|\s$")
_FLOW_BAD = lazy_re(r"[,\[\]{}:?]")
_YAML_WORDS = frozenset({"null", "true", "false", "yes", "no", "on", "off", "y", "n"})
# Once the checks above pass, a string made only of these characters is read back
# as itself by every YAML reader (no indicator, no comment, no break, no implicit
# type can start it): no round trip through the parser is needed to know it.
_PLAIN_SURE = lazy_re(
    r"[A-Za-z0-9/._~%+&=?!@$()*;,:' \u00a0-\u2027\u202a-\ud7ff"
    r"\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff-]*"
)


def _fix_surrogates(s: str) -> str:
    """Join surrogate pairs, replace lone surrogates with U+FFFD (not encodable)."""
    try:
        s.encode()  # (UTF-8 refuses exactly the surrogates: a third of a regex search's time)
    except UnicodeEncodeError:
        return s.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return s


def _dq_escape(m: re.Match[str]) -> str:
    c = m.group()
    named = _DQ_NAMED.get(c)
    if named is not None:
        return named
    return f"\\x{ord(c):02X}" if ord(c) < 0x100 else f"\\u{ord(c):04X}"


def yaml_quote(s: str) -> str:
    """A YAML double-quoted scalar for any string, on one line, valid for PyYAML and Psych."""
    return '"' + _DQ_SPECIAL.sub(_dq_escape, _fix_surrogates(s)) + '"'


@lru_cache(maxsize=4096)
def _plain_ok(s: str, flow: bool) -> bool:
    """True when ``s`` can be written unquoted and reads back as the same string.

    Conservative on purpose: anything Psych could resolve differently from PyYAML
    (numbers, dates, symbols, case-insensitive booleans) is quoted.
    """
    if not s or s[0] in _PLAIN_BAD_START or s[0].isspace() or s.lower() in _YAML_WORDS:
        return False
    if _SURROGATE.search(s) or _PLAIN_BAD.search(s) or (flow and _FLOW_BAD.search(s)):
        return False
    if _PLAIN_SURE.fullmatch(s):
        return True
    doc, want = (f"k: [ {s}, {s} ]", [s, s]) if flow else (f"k: {s}", s)
    yaml, _, loaders = pyyaml()
    try:  # both PyYAML readers must agree (the pure one is stricter in places)
        return all(yaml.load(doc, Loader=ld) == {"k": want} for ld in loaders)
    except yaml.YAMLError:
        return False


def yaml_scalar(s: str, *, flow: bool = False) -> str:
    """``s`` plain when safe (as the classic post writes names and links), else quoted."""
    return s if _plain_ok(s, flow) else yaml_quote(s)


def _yaml_list(items: Sequence[str]) -> str:
    return "[ " + ", ".join(yaml_scalar(i, flow=True) for i in items) + " ]"


# ------------------------------------------------------------------ times


def as_utc(dt: datetime) -> datetime:
    """Aware UTC; a naive time is taken as UTC."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def iso_ms(dt: datetime) -> str:
    """``2023-01-11T07:04:03.000Z``: UTC, exactly three fractional digits."""
    # (isoformat pads the year to 4 digits and cuts to milliseconds, as wanted)
    return as_utc(dt).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def epoch_ms(dt: datetime) -> int:
    d = as_utc(dt) - EPOCH  # (= d // timedelta(milliseconds=1), in integers)
    return d.days * 86_400_000 + d.seconds * 1000 + d.microseconds // 1000


def _to_ms(dt: datetime) -> datetime:
    d = as_utc(dt)
    return d.replace(microsecond=d.microsecond // 1000 * 1000)


# ------------------------------------------------------------- markdown bits

_LIQUID = lazy_re(r"\{[{%#]|[%}]\}")
_ONE_LINE = lazy_re(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_ENTITY_LIKE = lazy_re(r"&(?=#[0-9]+;|#[xX][0-9a-fA-F]+;|[A-Za-z][A-Za-z0-9]*;)")
_MD_SPECIAL = lazy_re(r"[\\\[\]*_`<|^]|\$\$|~~|\{:")
_MD_ENTITY = {"\\": "&#92;", "[": "&#91;", "]": "&#93;", "*": "&#42;", "_": "&#95;"}
_MD_ENTITY |= {"`": "&#96;", "<": "&lt;", "|": "&#124;", "^": "&#94;"}
_MD_ENTITY |= {"$$": "&#36;&#36;", "~~": "&#126;&#126;", "{:": "&#123;:"}
_URL_SPECIAL = lazy_re(r"[\s()<>{}|\\`\"\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]")
_BLOCK_START = lazy_re(r"^(?:[#>+=:-]|\d+[.)])")


def md_text(s: str) -> str:
    """Plain text made safe as one line of kramdown/GFM inline text (link text, headings)."""
    s = _ONE_LINE.sub(" ", _fix_surrogates(s))
    s = _ENTITY_LIKE.sub("&amp;", s)
    return _MD_SPECIAL.sub(lambda m: _MD_ENTITY[m.group()], s)


def md_url(url: str) -> str:
    """A URL for a ``(…)`` link target: spaces, parentheses, braces and the like percent-encoded."""
    return _URL_SPECIAL.sub(
        lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), _fix_surrogates(url)
    )


def _has_liquid(s: str) -> bool:
    """Whether ``s`` holds a Liquid tag's delimiter (every one has a brace: most texts,
    which have none, are let go without the pattern's slower scan)."""
    return ("{" in s or "}" in s) and _LIQUID.search(s) is not None


def _escape_liquid(s: str) -> str:
    return s.replace("{", "&#123;").replace("}", "&#125;")


def join_lines(content: str) -> str:
    """Each line stripped, empty ones dropped, joined with "" (a space between ASCII words)."""
    if "\r" in content:
        content = content.replace("\r\n", "\n").replace("\r", "\n")
    out: list[str] = []
    last = ""  # the last character written
    for line in content.split("\n"):
        line = line.strip()
        if not line:
            continue
        if last.isalnum() and last.isascii():
            first = line[0]
            if first.isalnum() and first.isascii():
                out.append(" ")
        out.append(line)
        last = line[-1]
    return "".join(out)


# ---------------------------------------------------------------- rendering


def _front_matter(a: Article, *, liquid: bool) -> list[str]:
    name = a.source_name
    lines = [
        "---",
        "layout: post",
        f"title: {yaml_quote(a.title)}",
        f"date: {iso_ms(a.published)}",
        f"author: {yaml_scalar(name)}",
        f"from: {yaml_scalar(a.link)}",
        f"tags: {_yaml_list([name])}",
        "comments: True",
        f"categories: {_yaml_list([name])}",
    ]
    fetched = iso_ms(a.fetched)
    first_seen = iso_ms(a.first_seen) if a.first_seen is not None else fetched
    extras: list[tuple[str, str]] = [
        ("source", yaml_scalar(a.source) if a.source else ""),
        ("guid", yaml_quote(a.guid) if a.guid else ""),
        ("key", yaml_quote(a.key) if a.key else ""),
        ("hash", yaml_quote(a.content_hash) if a.content_hash else ""),
        ("fetched", fetched),
        ("origin", "" if a.origin == "feed" else yaml_scalar(a.origin)),
        ("revision", "" if a.revision == 1 else str(int(a.revision))),
        ("first_seen", "" if first_seen == fetched else first_seen),
        ("changed", iso_ms(a.changed) if a.changed is not None else ""),
        ("updated", iso_ms(a.updated) if a.updated is not None else ""),
        ("feed_categories", _yaml_list(a.categories) if a.categories else ""),
        ("authors", _yaml_list(a.authors) if a.authors else ""),
        ("deleted", iso_ms(a.deleted) if a.deleted is not None else ""),
        ("deletions", _yaml_list(a.deletions) if a.deletions else ""),
        ("liquid_escaped", "true" if liquid else ""),
    ]
    lines += [f"{k}: {v}" for k, v in extras if v]
    lines.append("---")
    return lines


def render_post(a: Article) -> str:
    """The whole post file for ``a``, in the classic format (see the module docstring)."""
    link_line = f"[{md_text(a.title)}]({md_url(a.link)})"
    content = join_lines(_fix_surrogates(a.content))
    liquid = _has_liquid(link_line) or _has_liquid(content)
    if liquid:
        link_line, content = _escape_liquid(link_line), _escape_liquid(content)
    div = f"<div>\n{content}\n</div>" if content else "<div>\n</div>"
    body = [f"<!--{epoch_ms(a.published)}-->", link_line, "------", "", div, ""]
    return "\n".join(_front_matter(a, liquid=liquid) + body)


# -------------------------------------------------------------- file names

_RESERVED = lazy_re(r"(?i)(CON|PRN|AUX|NUL|COM[0-9¹²³]|LPT[0-9¹²³]|CONIN\$|CONOUT\$)(\..*)?")
_FN_UNSAFE = frozenset('\\/:*?"<>|#%')
_FN_BAD_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Cn", "Zl", "Zp", "Zs"})
_DASHES = lazy_re(r"-{2,}")


@lru_cache(maxsize=8192)
def _fn_char(c: str) -> str:
    if c in _FN_UNSAFE or c.isspace() or unicodedata.category(c) in _FN_BAD_CATEGORIES:
        return "-"
    return c


def _cut(s: str, limit: int) -> str:
    """``s`` cut to ``limit`` UTF-8 bytes on a character boundary."""
    return s.encode("utf-8")[: max(limit, 0)].decode("utf-8", "ignore")


def _trim(s: str, lead: str) -> str:
    return s.lstrip(lead).rstrip(". -")


def safe_stem(title: str, limit: int, *, lead: str = ".-") -> str:
    """A portable (Linux, macOS, Windows) file-name stem for ``title``: NFC, readable
    Chinese kept, unsafe characters as ``-``, at most ``limit`` bytes, never a reserved
    Windows device name; ``untitled`` when nothing is left."""
    s = unicodedata.normalize("NFC", _fix_surrogates(title))
    s = _DASHES.sub("-", "".join(_fn_char(c) for c in s))
    s = _trim(_cut(_trim(s, lead), limit), lead)
    m = _RESERVED.fullmatch(s)
    if m is not None:
        s = _trim(_cut(m.group(1) + "_" + (m.group(2) or ""), limit), lead)
    return s or "untitled"


def post_filename(published: datetime, title: str, *, suffix: str = "") -> str:
    """``YYYY-MM-DD-<title>[-<suffix>].md`` (UTC date), at most 200 UTF-8 bytes."""
    d = as_utc(published)
    head = f"{d.year:04d}-{d.month:02d}-{d.day:02d}-"
    tail = re.sub(r"[^A-Za-z0-9_-]", "", suffix)[:32]
    tail = f"-{tail}.md" if tail else ".md"
    stem = safe_stem(title, MAX_NAME_BYTES - len(head) - len(tail))
    return head + stem + tail


def list_filename(name: str) -> str:
    """``<name>.md`` for a source's list page: the same rules, and no leading ``_`` or
    ``.`` (Jekyll would skip the file)."""
    return safe_stem(name, MAX_NAME_BYTES - 3, lead="._-~") + ".md"


# -------------------------------------------------------------- list pages


def _heading(name: str) -> str:
    s = md_text(name).strip() or "untitled"
    m = _BLOCK_START.match(s)
    if m is not None:  # would start a block (header, quote, list, rule…): entity-escape it
        s = s[: m.end() - 1] + f"&#{ord(s[m.end() - 1])};" + s[m.end() :]
    return s


def render_list(
    name: str,
    items: Sequence[tuple[datetime, str, str]],
    *,
    tz: tzinfo,
    full_list_link: str = "",
    limit: int = 100,
) -> str:
    """``lists/<name>.md``: the name underlined with ``------``, then the newest ``limit``
    items as ``M-D [title](link)`` lines (dates in ``tz``), then the full-list link.

    Items are separated by blank lines so every one stays its own paragraph.
    """
    rows = sorted(items, key=lambda it: as_utc(it[0]), reverse=True)[: max(limit, 0)]
    lines = [_heading(name), "------", ""]
    # Front matter makes plain Jekyll render the page (GitHub Pages would anyway).
    head = f"---\nlayout: default\ntitle: {yaml_quote(name)}\n---\n"
    for when, title, link in rows:
        d = as_utc(when).astimezone(tz)
        lines += [f"{d.month}-{d.day} [{md_text(title)}]({md_url(link)})", ""]
    if full_list_link:
        lines += [f"[{FULL_LIST_LABEL}]({md_url(full_list_link)})", ""]
    text = "\n".join(lines)
    return head + (_escape_liquid(text) if _LIQUID.search(text) else text)


def full_list_filename(name: str) -> str:
    """``all/<name>.html``, under the lists folder: the full list of a source."""
    return "all/" + safe_stem(name, MAX_NAME_BYTES - 5, lead="._-~") + ".html"


def render_full_list(name: str) -> str:
    """A Jekyll page that lists every post of a source, newest first. The name sits
    in front matter only (never inside Liquid), so any name is safe."""
    return (
        f"---\nlayout: default\ntitle: {yaml_quote(name + ' ' + FULL_LIST_LABEL)}\n"
        f"source_name: {yaml_quote(name)}\n---\n"
        '<h1>{{ page.source_name | escape }}</h1>\n<ul class="full-list">\n'
        "{% for post in site.categories[page.source_name] %}"
        '<li>{{ post.date | date: "%Y-%m-%d" }} '
        '<a href="{{ post.url | relative_url }}">{{ post.title | escape }}</a></li>\n'
        "{% endfor %}</ul>\n"
    )
