"""Core types shared by every pipeline stage.

Each stage takes one of these and returns another:

    Source ─fetch▶ FeedResponse ─parse▶ ParsedFeed(Entry…) ─clean▶ Article ─store/render▶ ItemOutcome

All of them are frozen dataclasses: a stage never mutates what it was given.
Times are timezone-aware UTC ``datetime`` objects everywhere.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

LinkField = Literal["link", "guid"]
Fulltext = Literal["auto", "feed", "page"]


@dataclass(frozen=True, slots=True)
class Rules:
    """Per-source rules. Defaults are the behaviour for a well-behaved full-text feed."""

    enabled: bool = True
    link_field: LinkField = "link"
    include_categories: str = ""  # regex; empty = everything
    exclude_categories: str = ""  # regex; empty = nothing
    remove_selectors: tuple[str, ...] = ()
    convert: str = "none"  # OpenCC config name without .json: t2s, s2t, s2tw, tw2s, s2hk, …
    fulltext: Fulltext = "auto"
    content_selector: str = ""
    recheck: bool = True  # re-check this source's articles for edits and deletions
    recheck_schedule: tuple[str, ...] = ()  # e.g. ("1h", "1d"); empty = [recheck] schedule


@dataclass(frozen=True, slots=True)
class Source:
    """One configured source."""

    name: str  # display name, e.g. "(臺)中央社CNA"
    slug: str  # ASCII, e.g. "cna"
    url: str  # feed URL
    rules: Rules = field(default_factory=Rules)


@dataclass(frozen=True, slots=True)
class FeedState:
    """What the fetcher remembers about one feed between runs (conditional GET)."""

    etag: str = ""
    last_modified: str = ""


@dataclass(frozen=True, slots=True)
class FeedResponse:
    """The fetch stage's output for one URL."""

    url: str  # requested URL
    final_url: str  # after redirects
    status: int  # 200, or 304 when not modified
    body: bytes = b""
    content_type: str = ""
    charset: str = ""  # charset parameter from the Content-Type header, if any
    state: FeedState = field(default_factory=FeedState)  # validators for the next request
    attempts: int = 1

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass(frozen=True, slots=True)
class Entry:
    """One feed item as parsed, before any cleaning. HTML fields are raw."""

    source: str  # source slug
    guid: str
    link: str
    title: str
    published: datetime | None = None
    updated: datetime | None = None
    summary: str = ""
    content: str = ""
    categories: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """The parse stage's output: the feed's own metadata and its entries in feed order."""

    format: str  # rss090, rss091, rss092, rss10, rss20, atom03, atom10, json10, json11
    title: str = ""
    link: str = ""
    entries: tuple[Entry, ...] = ()
    recovered: bool = False  # True when the document was ill-formed and repaired
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Article:
    """What is kept: an entry made clean, with its identity and provenance."""

    key: str  # canonical URL (identity)
    guid: str
    source: str  # slug
    source_name: str
    title: str
    link: str
    published: datetime  # clamped: never after `fetched`
    fetched: datetime
    content: str  # clean HTML
    text: str  # plain text of `content`
    content_hash: str  # "sha256:<hex>" of title + text
    updated: datetime | None = None  # the feed's own updated time
    categories: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    origin: Literal["feed", "page"] = "feed"
    revision: int = 1  # 1 = as first seen
    first_seen: datetime | None = None  # when this mirror first stored it
    changed: datetime | None = None  # when the latest revision was stored
    path: str = ""  # post file, relative to the mirror root
    dated: bool = True  # False when the feed gave no publish time (published = fetch time)
    deleted: datetime | None = None  # marked deleted at source: when first seen gone
    deletions: tuple[str, ...] = ()  # earlier marks, undone: ISO 8601 intervals "gone/back"


class OutcomeKind(enum.StrEnum):
    NEW = "new"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    FILTERED = "filtered"
    FAILED = "failed"
    DELETED = "deleted"  # a re-check confirmed the article is gone at its source


_KIND_AT = {k: i for i, k in enumerate(OutcomeKind)}


@dataclass(frozen=True, slots=True)
class ItemOutcome:
    """Exactly one per item that entered a run."""

    source: str
    url: str
    kind: OutcomeKind
    reason: str = ""  # code for filtered/failed (e.g. "category", "duplicate", "no_link")
    detail: str = ""
    path: str = ""


@dataclass(frozen=True, slots=True)
class SourceReport:
    """One source's line in the run report."""

    slug: str
    name: str
    url: str
    outcomes: tuple[ItemOutcome, ...] = ()
    not_modified: bool = False
    seconds: float = 0.0
    error: str = ""  # one-line cause when the source failed as a whole
    error_reason: str = ""
    warnings: tuple[str, ...] = ()  # e.g. the feed was ill-formed and recovered
    skipped: str = ""  # why the source was not tried this run (e.g. "backoff")
    tally: tuple[int, ...] = ()  # outcomes per OutcomeKind (enum order), once slimmed

    def count(self, kind: OutcomeKind) -> int:
        if self.tally:
            return self.tally[_KIND_AT[kind]]
        return sum(1 for o in self.outcomes if o.kind is kind)

    def slim(self) -> SourceReport:
        """The counts, and only the failed items (what a person is shown): a source
        of 100,000 items need not keep 100,000 outcomes once they are reported."""
        if self.tally:
            return self
        tally = [0] * len(_KIND_AT)
        for o in self.outcomes:
            tally[_KIND_AT[o.kind]] += 1
        failed = tuple(o for o in self.outcomes if o.kind is OutcomeKind.FAILED)
        return replace(self, outcomes=failed, tally=tuple(tally))

    @property
    def failed(self) -> bool:
        return bool(self.error)


@dataclass(frozen=True, slots=True)
class RunReport:
    """One run: when it started and finished, each source's report, the re-checks."""

    started: datetime
    finished: datetime
    sources: tuple[SourceReport, ...] = ()
    rechecks: tuple[ItemOutcome, ...] = ()  # one per article re-checked (newsmirror.recheck)

    def total(self, kind: OutcomeKind) -> int:
        return sum(s.count(kind) for s in self.sources)

    @property
    def all_failed(self) -> bool:
        return bool(self.sources) and all(s.failed for s in self.sources)

    @property
    def any_failed(self) -> bool:
        return any(s.failed or s.count(OutcomeKind.FAILED) for s in self.sources)
