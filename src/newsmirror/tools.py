"""The operator's tools: extract one page or item, and test one source.

``extract_target`` runs resolve + extract + clean on one URL or file exactly
as a run would, so a per-source rule can be written and checked before it
goes into ``newsmirror.toml``. ``test_source`` fetches a source and explains,
for its first items, where the full text came from, how long it is, what
chrome was removed and whether anything looks truncated or empty.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from lxml.html import fragment_fromstring

from .article import build_article
from .dechrome import chrome_blocks
from .dechrome_measure import site_of
from .errors import NewsmirrorError, ParseError
from .fetch import Fetcher, FetchSettings
from .models import Source
from .parse import parse_feed, parse_response
from .resolve import page_job, wants_page, with_page


@dataclass(frozen=True, slots=True)
class Extraction:
    url: str
    title: str
    html: str
    text: str
    origin: str  # "page" or "feed"
    author: str = ""
    published: datetime | None = None


async def _fetch(url: str, settings: FetchSettings) -> tuple[bytes, str, str]:
    async with Fetcher(settings) as f:
        resp = await f.fetch(url)
    return resp.body, resp.final_url, resp.charset


def extract_target(
    target: str,
    source: Source,
    settings: FetchSettings | None = None,
    *,
    now: datetime | None = None,
) -> Extraction:
    """Resolve + extract + clean one page (URL or file) or, when it is a feed,
    its first item. Raises NewsmirrorError with the cause."""
    settings = settings or FetchSettings()
    if target.startswith(("http://", "https://")):
        body, url, charset = asyncio.run(_fetch(target, settings))
    else:
        path = Path(target)
        try:
            body = path.read_bytes()
        except OSError as e:
            raise NewsmirrorError(f"cannot read: {e.strerror}", url=target, reason="io") from None
        url, charset = path.resolve().as_uri(), ""
    try:
        feed = parse_feed(body, source=source.slug, url=url, header_charset=charset)
    except ParseError:
        feed = None
    if feed is None or not feed.entries:
        page = page_job(body, url=url, header_charset=charset, source=source)
        return Extraction(url, "", page.content, page.text, "page", page.author, page.published)
    art, _ = build_article(feed.entries[0], source, now or datetime.now(UTC))
    if wants_page(art, source) and art.link.startswith(("http://", "https://")):
        pbody, purl, pcharset = asyncio.run(_fetch(art.link, settings))
        art = with_page(art, page_job(pbody, url=purl, header_charset=pcharset, source=source))
    return Extraction(art.link, art.title, art.content, art.text, art.origin,
                      ", ".join(art.authors), art.published)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ItemReport:
    title: str
    url: str
    origin: str  # where the kept text comes from: feed | page
    chars: int
    chrome: tuple[str, ...] = ()  # reasons of the blocks removed from the feed content
    warnings: tuple[str, ...] = field(default_factory=tuple)


def _chrome_reasons(html: str, url: str) -> tuple[str, ...]:
    if not html.strip():
        return ()
    try:
        root = fragment_fromstring(html, create_parent="div")
    except Exception:  # unparseable content: nothing to report
        return ()
    return tuple(
        f"{b.reason}: {b.preview}" for b in chrome_blocks(root, site=site_of(url) if url else None)
    )


async def _test(source: Source, settings: FetchSettings, items: int) -> list[ItemReport]:
    now = datetime.now(UTC)
    out: list[ItemReport] = []
    async with Fetcher(settings) as f:
        feed = parse_response(await f.fetch(source.url, source=source.slug), source=source.slug)
        for entry in feed.entries[:items]:
            warnings: list[str] = []
            try:
                art, _ = build_article(entry, source, now)
            except NewsmirrorError as e:
                out.append(
                    ItemReport(entry.title, entry.link, "-", 0, (), (f"{e.reason}: {e.message}",))
                )
                continue
            chrome = _chrome_reasons(entry.content or entry.summary, art.link)
            if wants_page(art, source):
                try:
                    resp = await f.fetch(art.link, source=source.slug, via=source.url)
                    art = with_page(art, page_job(resp.body, url=resp.final_url,
                                                  header_charset=resp.charset, source=source))  # fmt: skip
                except NewsmirrorError as e:
                    warnings.append(f"full text failed, feed text kept: {e.reason}: {e.message}")
            chars = len("".join(art.text.split()))
            if chars == 0:
                warnings.append("empty: no text at all")
            elif wants_page(art, source) and art.origin == "feed":
                warnings.append("looks truncated: the feed has only a summary")
            out.append(ItemReport(art.title, art.link, art.origin, chars, chrome, tuple(warnings)))
    return out


def test_source(
    source: Source, settings: FetchSettings | None = None, *, items: int = 5
) -> list[ItemReport]:
    """Fetch ``source`` and diagnose its first ``items`` items."""
    return asyncio.run(_test(source, settings or FetchSettings(), items))


__all__ = ["Extraction", "ItemReport", "extract_target", "test_source"]
