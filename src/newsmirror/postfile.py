"""The classic Jekyll post format: write a post, read it back, name it; per-source list pages.

The normative reference is DESIGN.md ("The classic Jekyll post format") and the real
post ``corpus/classic-post.md``; ordinary posts come out byte for byte in that shape.

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
* Lists (``lists/<name>.md``) carry no front matter, like the classic ones: plain
  Jekyll copies them as static files, GitHub Pages (jekyll-optional-front-matter)
  renders them, so Liquid-like titles are escaped there too.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .errors import ItemError
from .lazyre import lazy_re
from .models import Article

if TYPE_CHECKING:
    from types import ModuleType

    from .frontmatter import Raw


@lru_cache(maxsize=1)
def _frontmatter() -> ModuleType:
    """The front matter reader (imported when the first post is read back)."""
    from . import frontmatter

    return frontmatter


def read_block(block: str) -> Raw | None:
    """``frontmatter.read_block``."""
    return _frontmatter().read_block(block)  # type: ignore[no-any-return]


def as_yaml(raw: Raw) -> dict[str, Any]:
    """``frontmatter.as_yaml``."""
    return _frontmatter().as_yaml(raw)  # type: ignore[no-any-return]


@lru_cache(maxsize=1)
def _yaml() -> tuple[Any, Any, tuple[Any, ...]]:
    """PyYAML, its fastest safe loader, and every safe loader it has. Imported on first
    use: the posts newsmirror writes are written and read back without it."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml, loader, tuple(dict.fromkeys([loader, yaml.SafeLoader]))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
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
    if not _SURROGATE.search(s):
        return s
    return s.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


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
    yaml, _, loaders = _yaml()
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


def _utc(dt: datetime) -> datetime:
    """Aware UTC; a naive time is taken as UTC."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def iso_ms(dt: datetime) -> str:
    """``2023-01-11T07:04:03.000Z``: UTC, exactly three fractional digits."""
    # (isoformat pads the year to 4 digits and cuts to milliseconds, as wanted)
    return _utc(dt).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def epoch_ms(dt: datetime) -> int:
    d = _utc(dt) - _EPOCH  # (= d // timedelta(milliseconds=1), in integers)
    return d.days * 86_400_000 + d.seconds * 1000 + d.microseconds // 1000


def _to_ms(dt: datetime) -> datetime:
    d = _utc(dt)
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


# ------------------------------------------------------------------ reading

_FRONT = lazy_re(r"\A\ufeff?---[ \t]*\n(.*?\n?)^(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S | re.M)
_OURS = lazy_re(r"\A<!--(-?\d+)-->\n[^\n]*\n------\n\n<div>\n(?:([^\n]*)\n)?</div>\s*\Z")
_FILE_DATE = lazy_re(r"(?:^|/)(\d{4})-(\d{1,2})-(\d{1,2})-[^/]*$")
_LOOKS_HTML = lazy_re(r"<[A-Za-z!/]")
_XML_BAD = lazy_re(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True, slots=True)
class PostRecord:
    """A post file read back: what is needed to rebuild its ``Article``."""

    path: str
    title: str
    published: datetime
    source_name: str
    link: str
    content: str  # the body HTML, Liquid escapes undone
    source: str = ""
    guid: str = ""
    key: str = ""
    content_hash: str = ""
    fetched: datetime | None = None
    origin: str = "feed"
    revision: int = 1
    first_seen: datetime | None = None
    changed: datetime | None = None
    updated: datetime | None = None
    categories: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    deleted: datetime | None = None
    deletions: tuple[str, ...] = ()
    liquid_escaped: bool = False
    legacy: bool = False  # not written by newsmirror (no ``from:``/``key:``)
    front_matter: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def text(self) -> str:
        """Plain text of the content (lxml ``text_content``)."""
        return html_text(self.content)

    def to_article(self, *, with_text: bool = True) -> Article:
        """The article; ``with_text=False`` leaves its plain text empty (the index
        does not keep it, and computing it parses the HTML)."""
        fetched = self.fetched or self.published
        return Article(
            key=self.key or self.link,
            guid=self.guid,
            source=self.source,
            source_name=self.source_name,
            title=self.title,
            link=self.link,
            published=self.published,
            fetched=fetched,
            content=self.content,
            text=self.text if with_text else "",
            content_hash=self.content_hash,
            updated=self.updated,
            categories=self.categories,
            authors=self.authors,
            origin="page" if self.origin == "page" else "feed",
            revision=self.revision,
            first_seen=self.first_seen or fetched,
            changed=self.changed,
            path=self.path,
            deleted=self.deleted,
            deletions=self.deletions,
        )


def html_text(content: str) -> str:
    if not content.strip():
        return ""
    import lxml.etree
    import lxml.html

    try:
        root = lxml.html.fragment_fromstring(_XML_BAD.sub("", content), create_parent="div")
    except (lxml.etree.ParserError, ValueError):
        return ""
    return str(root.text_content())


def _str(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, datetime | date):
        return v.isoformat()
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _strs(v: Any) -> tuple[str, ...]:
    if v is None or v == "":
        return ()
    if isinstance(v, list | tuple):
        return tuple(_str(x) for x in v)
    return tuple(_str(v).split())  # Jekyll splits a plain-string category list


def _time(v: Any) -> datetime | None:
    if isinstance(v, datetime):
        return _utc(v)
    if isinstance(v, date):
        return datetime(v.year, v.month, v.day, tzinfo=UTC)
    if isinstance(v, str) and v.strip():
        s = re.sub(r"(\.\d{6})\d+", r"\1", v.strip())  # nanoseconds → microseconds
        s = re.sub(r"\s*([+-]\d\d):?(\d\d)$", r"\1:\2", s)
        try:
            return _utc(datetime.fromisoformat(s))
        except ValueError:
            return None
    return None


def _bad(path: str, why: str) -> ItemError:
    return ItemError(f"{path or '<text>'}: {why}", reason="bad_post")


def body_content(body: str, *, liquid: bool) -> tuple[str, re.Match[str] | None]:
    """The content HTML of a post's body (what follows the front matter), and the
    match of newsmirror's own body layout (None for a legacy body)."""
    ours = _OURS.match(body)
    if ours is not None:
        content = ours.group(2) or ""
        if liquid:
            content = content.replace("&#123;", "{").replace("&#125;", "}")
        return content, ours
    content = body.strip()
    if content and not _LOOKS_HTML.search(content):  # plain-text legacy body
        lines = (ln.strip() for ln in content.split("\n"))
        content = "".join(f"<p>{html.escape(ln, quote=False)}</p>" for ln in lines if ln)
    return content, None


def parse_post(text: str, *, path: str = "") -> PostRecord:
    """Read a post file back (ours or a legacy Jekyll post); ItemError(bad_post) if unreadable."""
    text = text.replace("\r\n", "\n")
    m = _FRONT.match(text)
    if m is None:
        raise _bad(path, "no YAML front matter")
    fast = read_block(m.group(1))  # newsmirror's own layout, read without PyYAML
    if fast is not None:
        fm: Any = as_yaml(fast)
    else:
        yaml, loader, _ = _yaml()
        try:
            fm = yaml.load(m.group(1), Loader=loader)
        except yaml.YAMLError as e:
            raise _bad(path, f"broken YAML front matter ({' '.join(str(e).split())})") from e
    if fm is None:
        fm = {}
    if not isinstance(fm, dict):
        raise _bad(path, "front matter is not a mapping")
    liquid = fm.get("liquid_escaped") is True
    content, ours = body_content(text[m.end() :], liquid=liquid)
    published = _time(fm.get("date"))
    if published is None and ours is not None:
        published = _EPOCH + timedelta(milliseconds=int(ours.group(1)))
    if published is None and (fd := _FILE_DATE.search(path)):
        y, mo, d = (int(x) for x in fd.groups())
        published = datetime(y, mo, d, tzinfo=UTC)
    if published is None:
        raise _bad(path, "no date")
    cats = _strs(fm.get("categories")) or _strs(fm.get("tags"))
    source_name = _str(fm.get("author")) or (cats[0] if cats else "")
    link = _str(fm.get("from") or fm.get("link") or "")
    legacy = "from" not in fm and "key" not in fm
    source = _str(fm.get("source"))
    if not source and legacy and re.fullmatch(r"[a-z0-9_-]+", source_name):
        source = source_name
    fetched = _time(fm.get("fetched"))
    revision = fm.get("revision", 1)
    return PostRecord(
        path=path,
        title=_str(fm.get("title")),
        published=published,
        source_name=source_name,
        link=link,
        content=content,
        source=source,
        guid=_str(fm.get("guid")),
        key=_str(fm.get("key")) or link,
        content_hash=_str(fm.get("hash")),
        fetched=fetched,
        origin="page" if fm.get("origin") == "page" else "feed",
        revision=revision if isinstance(revision, int) and revision >= 1 else 1,
        first_seen=_time(fm.get("first_seen")) or fetched,
        changed=_time(fm.get("changed")),
        updated=_time(fm.get("updated")),
        categories=_strs(fm.get("feed_categories")),
        authors=_strs(fm.get("authors")),
        deleted=_time(fm.get("deleted")),
        deletions=_strs(fm.get("deletions")),
        liquid_escaped=liquid,
        legacy=legacy,
        front_matter=MappingProxyType(fm),
    )


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
    d = _utc(published)
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
    rows = sorted(items, key=lambda it: _utc(it[0]), reverse=True)[: max(limit, 0)]
    lines = [_heading(name), "------", ""]
    # Front matter makes plain Jekyll render the page (GitHub Pages would anyway).
    head = f"---\nlayout: default\ntitle: {yaml_quote(name)}\n---\n"
    for when, title, link in rows:
        d = _utc(when).astimezone(tz)
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
