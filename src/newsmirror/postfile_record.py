"""A post file read back: ``parse_post`` reads one (ours or a legacy Jekyll post)
into a ``PostRecord``, which rebuilds its ``Article``.

newsmirror's own layout (``postfile.render_post``) is read by ``frontmatter``
without PyYAML; anything else goes through PyYAML. Times come back in UTC; an absent
``first_seen`` reads back as ``fetched``, an absent ``key`` as the link; a body whose
braces were written as entities (``liquid_escaped: true``) gets them back.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .errors import ItemError
from .lazyre import lazy_re
from .models import Article
from .postfile import EPOCH, as_utc, pyyaml

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
        return as_utc(v)
    if isinstance(v, date):
        return datetime(v.year, v.month, v.day, tzinfo=UTC)
    if isinstance(v, str) and v.strip():
        s = re.sub(r"(\.\d{6})\d+", r"\1", v.strip())  # nanoseconds → microseconds
        s = re.sub(r"\s*([+-]\d\d):?(\d\d)$", r"\1:\2", s)
        try:
            return as_utc(datetime.fromisoformat(s))
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
        yaml, loader, _ = pyyaml()
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
        published = EPOCH + timedelta(milliseconds=int(ours.group(1)))
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
