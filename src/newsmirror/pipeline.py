"""One ingest pass: sources → fetch → parse → article → mirror, with a report.

Fetches run concurrently (within the fetcher's global and per-host limits);
everything that writes runs on the event loop's thread, one source at a
time, so the index has one writer. Every item that enters leaves with exactly
one outcome; a source that fails as a whole is reported in one line and never
stops the others.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from .article import Filtered, build_article
from .config import Config
from .errors import ConfigError, NewsmirrorError
from .fetch import Fetcher
from .fsutil import MirrorFiles, MirrorLock
from .mirror import MirrorWriter
from .models import (
    FeedResponse,
    ItemOutcome,
    OutcomeKind,
    ParsedFeed,
    RunReport,
    Source,
    SourceReport,
)
from .parse import parse_response
from .store import Store

Progress = Callable[[str, str, int, int], None]  # (slug, phase, done, total)


def now_utc() -> datetime:
    """The run's clock. ``NEWSMIRROR_NOW`` (ISO 8601) fixes it, for tests and
    reproducible runs."""
    fixed = os.environ.get("NEWSMIRROR_NOW")
    if fixed:
        dt = datetime.fromisoformat(fixed.replace("Z", "+00:00"))
        return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Fetched:
    source: Source
    response: FeedResponse | None
    error: NewsmirrorError | None
    seconds: float


def select_sources(config: Config, only: Sequence[str] = ()) -> list[Source]:
    if only:
        known = {s.slug for s in config.sources}
        missing = [s for s in only if s not in known]
        if missing:
            raise ConfigError([f"--source {m}: no such source" for m in missing])
        return [s for s in config.sources if s.slug in only]
    return [s for s in config.sources if s.rules.enabled]


async def _fetch_one(fetcher: Fetcher, store: Store, source: Source) -> Fetched:
    start = time.monotonic()
    try:
        resp = await fetcher.fetch(
            source.url, state=store.feed_state(source.slug, source.url), source=source.slug
        )
        return Fetched(source, resp, None, time.monotonic() - start)
    except NewsmirrorError as e:
        return Fetched(source, None, e.with_context(source=source.slug, url=source.url),
                       time.monotonic() - start)  # fmt: skip


def _ingest(
    fetched: Fetched,
    writer: MirrorWriter,
    store: Store,
    config: Config,
    now: datetime,
    progress: Progress | None,
) -> SourceReport:
    """Parse one source's response and keep its items; one transaction."""
    src = fetched.source
    start = time.monotonic()

    def report(**kw: object) -> SourceReport:
        return SourceReport(
            slug=src.slug,
            name=src.name,
            url=src.url,
            seconds=round(fetched.seconds + time.monotonic() - start, 3),
            **kw,  # type: ignore[arg-type]
        )

    if fetched.error is not None or fetched.response is None:
        err = fetched.error or NewsmirrorError("no response", source=src.slug, url=src.url)
        with store.batch():
            store.record_failure(src.slug, src.url, now, str(err), err.reason)
        return report(error=str(err), error_reason=err.reason)

    resp = fetched.response
    if resp.not_modified:
        with store.batch():
            store.record_success(src.slug, src.url, resp.state, now, had_new=False)
        return report(not_modified=True)
    try:
        feed: ParsedFeed = parse_response(resp, source=src.slug)
    except NewsmirrorError as e:
        e.with_context(source=src.slug, url=src.url)
        with store.batch():
            store.record_failure(src.slug, src.url, now, str(e), e.reason)
        return report(error=str(e), error_reason=e.reason)

    entries = feed.entries
    limit = config.mirror.max_items_per_feed
    outcomes: list[ItemOutcome] = []
    if limit and len(entries) > limit:
        outcomes.extend(
            ItemOutcome(src.slug, e.link or e.guid, OutcomeKind.FILTERED, "max_items")
            for e in entries[limit:]
        )
        entries = entries[:limit]
    with store.batch():
        for i, entry in enumerate(entries):
            url = entry.link or entry.guid
            try:
                art, keys = build_article(entry, src, now)
                outcomes.append(writer.keep(art, keys))
            except Filtered as f:
                outcomes.append(
                    ItemOutcome(src.slug, url, OutcomeKind.FILTERED, f.reason, f.message)
                )
            except NewsmirrorError as e:
                outcomes.append(ItemOutcome(src.slug, url, OutcomeKind.FAILED, e.reason, e.message))
            except OSError as e:
                outcomes.append(
                    ItemOutcome(
                        src.slug, url, OutcomeKind.FAILED, "write", f"{e.strerror}: {e.filename}"
                    )
                )
            if progress:
                progress(src.slug, "items", i + 1, len(entries))
        had_new = any(o.kind in (OutcomeKind.NEW, OutcomeKind.UPDATED) for o in outcomes)
        writer.write_list(src)
        store.record_success(src.slug, src.url, resp.state, now, had_new=had_new)
    return report(outcomes=tuple(outcomes), warnings=feed.warnings)


async def run_async(
    config: Config,
    *,
    only: Sequence[str] = (),
    now: datetime | None = None,
    progress: Progress | None = None,
    fetcher: Fetcher | None = None,
) -> RunReport:
    """One ingest pass over the configured sources. Holds the mirror's lock."""
    sources = select_sources(config, only)
    now = now or now_utc()
    started = now
    files = MirrorFiles(config.root)
    with MirrorLock(config.root), Store(config.index_path) as store:
        files.sweep()
        writer = MirrorWriter(config, store, files)
        reports: dict[str, SourceReport] = {}
        own = fetcher is None
        fetcher = fetcher or Fetcher(config.fetch)
        try:
            if own:
                await fetcher.__aenter__()
            # Fetches run concurrently; results are kept in configuration order, so
            # which source keeps a shared article and which title gets a hash
            # suffix never depends on network timing.
            tasks = [asyncio.create_task(_fetch_one(fetcher, store, s)) for s in sources]
            for task in tasks:
                fetched = await task
                if progress:
                    progress(fetched.source.slug, "fetched", 0, 0)
                reports[fetched.source.slug] = _ingest(
                    fetched, writer, store, config, now, progress
                )
                if progress:
                    progress(fetched.source.slug, "done", 0, 0)
        finally:
            if own:
                await fetcher.__aexit__(None, None, None)
        writer.rotate(now)
    ordered = tuple(reports[s.slug] for s in sources if s.slug in reports)
    return RunReport(started=started, finished=max(now_utc(), started), sources=ordered)


def run(
    config: Config,
    *,
    only: Sequence[str] = (),
    now: datetime | None = None,
    progress: Progress | None = None,
) -> RunReport:
    """Synchronous entry point (the CLI's)."""
    return asyncio.run(run_async(config, only=only, now=now, progress=progress))
