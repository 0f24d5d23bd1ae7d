"""Entry → Article: identity, filters, clean content and dates (pure).

``build_article`` is the per-item work between parse and store. It raises
``Filtered`` for items a rule keeps out and ``ItemError`` for items that
cannot be kept; otherwise it returns a complete ``Article`` whose hash says
whether its content changed.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from .errors import ItemError, NewsmirrorError
from .models import Article, Entry, Source
from .store_schema import ts
from .urls import canonical_url, fingerprint, guid_key, strip_tracking


class Filtered(NewsmirrorError):
    """An item a source rule keeps out (outcome ``filtered``, not a failure)."""

    reason = "filtered"


@dataclass(frozen=True, slots=True)
class Keys:
    key: str
    guid_key: str
    fp: str


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _looks_like_url(s: str) -> bool:
    return s.startswith(("http://", "https://"))


def article_link(entry: Entry, source: Source) -> str:
    """The article's URL by the source's ``link_field`` rule, tracking removed."""
    first, second = (
        (entry.guid, entry.link) if source.rules.link_field == "guid" else (entry.link, entry.guid)
    )
    for cand in (first, second):
        cand = (cand or "").strip()
        if _looks_like_url(cand):
            return strip_tracking(cand)
    return ""


def check_filters(entry: Entry, source: Source) -> None:
    """Raise Filtered when the source's category rules keep this entry out."""
    rules = source.rules
    cats = entry.categories
    if rules.include_categories and not any(
        _regex(rules.include_categories).search(c) for c in cats
    ):
        raise Filtered("no category matches include_categories", reason="category")
    if rules.exclude_categories and any(_regex(rules.exclude_categories).search(c) for c in cats):
        raise Filtered("a category matches exclude_categories", reason="category")


def content_hash(title: str, text: str) -> str:
    digest = hashlib.sha256(f"{title}\n{text}".encode("utf-8", "surrogatepass")).hexdigest()
    return f"sha256:{digest}"


def clamp_published(entry: Entry, now: datetime) -> datetime:
    """The feed's publish time; its updated time when it has none; the fetch time
    when it has neither; never later than the fetch time."""
    when = entry.published or entry.updated or now
    when = when.astimezone(UTC)
    return min(when, now)


def item_key(entry: Entry, source: Source, link: str, title: str) -> str:
    """The primary key: the canonical link; else the GUID key; else a hash."""
    if link:
        return canonical_url(link)
    if gk := guid_key(entry.guid, source.slug):
        return gk
    seed = f"{source.slug}\x1f{title}\x1f{entry.published}\x1f{entry.content or entry.summary}"
    return (
        "urn:newsmirror:" + hashlib.sha256(seed.encode("utf-8", "surrogatepass")).hexdigest()[:24]
    )


def derive_keys(art: Article) -> Keys:
    """All keys of a kept article, from its own fields only (so ``reindex``
    derives the same from the post files). The fingerprint needs a publish
    time the feed gave: undated items never match by title alone."""
    fp = fingerprint(art.title, ts(art.published) or "") if art.dated else ""
    return Keys(key=art.key, guid_key=guid_key(art.guid, art.source), fp=fp)


def build_article(entry: Entry, source: Source, now: datetime) -> tuple[Article, Keys]:
    """The clean, identified article for one entry."""
    # (imported here: the writer needs this module's keys, not the cleaning code)
    from .clean import CleanOptions, clean_html_text, clean_title

    check_filters(entry, source)
    link = article_link(entry, source)
    rules = source.rules
    raw = entry.content or entry.summary
    try:
        content, text = clean_html_text(  # (text = html_to_text(content))
            raw,
            CleanOptions(
                base_url=link, remove_selectors=rules.remove_selectors, convert=rules.convert
            ),
        )
        title = clean_title(entry.title, rules.convert)
    except NewsmirrorError:
        raise
    except Exception as e:  # a cleaning bug must cost one item, not the run
        raise ItemError(
            f"content could not be cleaned: {type(e).__name__}: {e}", reason="clean"
        ) from None
    if not title:
        title = (" ".join(text.split())[:40]).strip() or "untitled"
    if not link and not entry.guid and not text:
        raise ItemError("item has no link, no GUID and no content", reason="no_link")
    published = clamp_published(entry, now)
    art = Article(
        key=item_key(entry, source, link, title),
        guid=entry.guid,
        source=source.slug,
        source_name=source.name,
        title=title,
        link=link,
        published=published,
        dated=entry.published is not None or entry.updated is not None,
        fetched=now,
        content=content,
        text=text,
        content_hash=content_hash(title, text),
        updated=entry.updated.astimezone(UTC) if entry.updated else None,
        categories=entry.categories,
        authors=entry.authors,
        origin="feed",
    )
    return art, derive_keys(art)
