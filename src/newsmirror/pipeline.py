"""One ingest pass: sources → fetch → parse → article → mirror, with a report.

Fetches run concurrently (within the fetcher's global and per-host limits);
everything that writes runs on the event loop's thread, one source at a
time, so the index has one writer. Every item that enters leaves with exactly
one outcome; a source that fails as a whole is reported in one line and never
stops the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .backoff import due
from .config import Config
from .errors import ConfigError, NewsmirrorError
from .fetch import Fetcher
from .fsutil import MirrorFiles, MirrorLock
from .mirror import MirrorWriter
from .models import (
    Entry,
    FeedResponse,
    ItemOutcome,
    OutcomeKind,
    ParsedFeed,
    RunReport,
    Source,
    SourceReport,
)
from .procpool import PAGE_JOB, ExtractPool, take_prestarted
from .store import Store

if TYPE_CHECKING:  # parsing, cleaning, images, WARC capture and re-checks are imported
    # when a run uses them: a run whose feeds all answer 304 needs none of them
    from .assets import ImageRun
    from .resolve import Prepared


Progress = Callable[[str, str, int, int], None]  # (slug, phase, done, total)


def now_utc() -> datetime:
    """The run's clock. ``NEWSMIRROR_NOW`` (ISO 8601) fixes it, for tests and
    reproducible runs."""
    fixed = os.environ.get("NEWSMIRROR_NOW")
    if fixed:
        dt = datetime.fromisoformat(fixed.replace("Z", "+00:00"))
        return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    return datetime.now(UTC)


def release_free_memory() -> None:
    """Hand the C heap's free pages back to the system (glibc's ``malloc_trim``). After
    a big feed's parse tree is freed, the process would otherwise keep its whole size
    for the rest of the run, on top of the worker processes started next."""
    global _malloc_trim
    if _malloc_trim is None:
        try:
            import ctypes

            _malloc_trim = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _malloc_trim = False
    if _malloc_trim:
        _malloc_trim(0)


_malloc_trim: Any = None


@dataclass(frozen=True, slots=True)
class Gathered:
    """One source after the network work, before anything is written: the
    items ready to keep, or why the source failed as a whole."""

    source: Source
    response: FeedResponse | None = None
    feed: ParsedFeed | None = None
    items: tuple[Prepared, ...] = ()
    extra: tuple[ItemOutcome, ...] = ()  # items cut by max_items_per_feed
    error: NewsmirrorError | None = None
    seconds: float = 0.0


def select_sources(config: Config, only: Sequence[str] = ()) -> list[Source]:
    if only:
        known = {s.slug for s in config.sources}
        missing = [s for s in only if s not in known]
        if missing:
            raise ConfigError([f"--source {m}: no such source" for m in missing])
        return [s for s in config.sources if s.slug in only]
    return [s for s in config.sources if s.rules.enabled]


def cut_entries(
    entries: tuple[Entry, ...], limit: int, slug: str
) -> tuple[tuple[Entry, ...], tuple[ItemOutcome, ...]]:
    """The first ``limit`` entries (all with 0), and a ``filtered`` outcome for each
    of the rest (``mirror.max_items_per_feed``)."""
    if not limit or len(entries) <= limit:
        return entries, ()
    extra = tuple(
        ItemOutcome(slug, e.link or e.guid, OutcomeKind.FILTERED, "max_items")
        for e in entries[limit:]
    )
    return entries[:limit], extra


async def gather_source(
    source: Source,
    *,
    config: Config,
    store: Store,
    fetcher: Fetcher,
    pool: ExtractPool,
    now: datetime,
    images: Images | None = None,
) -> Gathered:
    """Fetch, parse and resolve one source. Reads the index, writes nothing."""
    start = time.monotonic()

    def done(**kw: object) -> Gathered:
        return Gathered(source=source, seconds=time.monotonic() - start, **kw)  # type: ignore[arg-type]

    try:
        resp = await fetcher.fetch(
            source.url, state=store.feed_state(source.slug, source.url), source=source.slug
        )
        if resp.not_modified:
            return done(response=resp)
        from .resolve import BIG_FEED_BYTES, parse_job, route_feed

        parts = None
        if route_feed(pool, len(resp.body)):
            # Once the workers run, a feed goes to one whole: parsed and its items built
            # there, while this process fetches and writes.
            limit = config.mirror.max_items_per_feed
            got = await pool.submit(parse_job, resp, source, now, limit)
            feed, parts = got.feed, got.parts
        else:
            from .parse import parse_response

            # Parsing a big feed takes a while: off the event loop, so other sources'
            # fetches keep moving (lxml releases the GIL while it parses).
            feed = await asyncio.to_thread(parse_response, resp, source=source.slug)
            if len(resp.body) >= BIG_FEED_BYTES:
                release_free_memory()  # the parse tree of a big feed is gone: give its pages back
    except NewsmirrorError as e:
        return done(error=e.with_context(source=source.slug, url=source.url))
    resp = replace(resp, body=b"")  # parsed: the bytes can go
    from .resolve import prepare, prepared_from_pool, with_pages

    extra: tuple[ItemOutcome, ...] = ()
    if parts is not None:
        pool.items_seen += len(parts)
        wanted = prepared_from_pool(parts)
        del parts
        items = await with_pages(wanted, source, store, fetcher, pool)
    else:
        entries, extra = cut_entries(feed.entries, config.mirror.max_items_per_feed, source.slug)
        # Only the kept entries live on (in ``items``): a 100,000-item feed cut to its
        # first few hundred lets the rest go now, not when the run ends.
        feed = replace(feed, entries=())
        items = await prepare(
            source, feed, entries, now=now, store=store, fetcher=fetcher, pool=pool
        )
    if images is not None:
        items = await asyncio.gather(
            *(_with_images(p, images, store, now, source.url) for p in items)
        )
    return done(response=resp, feed=feed, items=tuple(items), extra=extra)


@dataclass(frozen=True, slots=True)
class Images:
    """A run's image work: its own fetcher (per-image size cap) and budget."""

    fetcher: Fetcher
    files: MirrorFiles
    run: ImageRun

    @classmethod
    async def open(
        cls, config: Config, files: MirrorFiles, stack: contextlib.AsyncExitStack
    ) -> Images | None:
        """The run's image work, closed with ``stack``; None when images are off."""
        if not config.images.enabled:
            return None
        from .assets import ImageRun, image_fetch_settings

        settings = image_fetch_settings(config.fetch, config.images)
        fetcher = await stack.enter_async_context(Fetcher(settings))
        return cls(fetcher, files, ImageRun(config.images))

    async def retry(self, config: Config, store: Store, now: datetime) -> None:
        """Images that failed before, and posts still showing originals."""
        from .assets import retry_images

        feed_urls = {s.slug: s.url for s in config.sources}
        await retry_images(
            store=store, fetcher=self.fetcher, files=self.files, caps=self.run, now=now,
            via=lambda url: feed_urls.get(store.image_source(url), "https://unknown.invalid/"),
        )  # fmt: skip


async def open_fetcher(config: Config, stack: contextlib.AsyncExitStack, now: datetime) -> Fetcher:
    """The run's fetcher, closed with ``stack``; with ``[capture] warc`` every 2xx
    response is recorded as a WARC record."""
    capture = None
    if config.capture.warc:
        from .export import Capture

        capture = stack.enter_context(Capture(config.root, now=now))
    return await stack.enter_async_context(Fetcher(config.fetch, capture=capture))


async def _with_images(
    prep: Prepared, images: Images, store: Store, now: datetime, via: str
) -> Prepared:
    """The article with its images kept in the mirror (the hash is unchanged:
    a downloaded image is not an edit)."""
    if prep.article is None:
        return prep
    from .assets import localize_images

    art = await localize_images(
        prep.article, fetcher=images.fetcher, files=images.files, store=store, caps=images.run,
        via=via, now=now,
    )  # fmt: skip
    return replace(prep, article=art)


def write_source(
    g: Gathered, writer: MirrorWriter, store: Store, now: datetime, progress: Progress | None
) -> SourceReport:
    """Keep one source's items: one transaction, exactly one outcome per item."""
    src = g.source
    start = time.monotonic()

    def report(**kw: object) -> SourceReport:
        return SourceReport(
            slug=src.slug,
            name=src.name,
            url=src.url,
            seconds=round(g.seconds + time.monotonic() - start, 3),
            **kw,  # type: ignore[arg-type]
        )

    if g.error is not None or g.response is None:
        err = g.error or NewsmirrorError("no response", source=src.slug, url=src.url)
        with store.batch():
            store.record_failure(src.slug, src.url, now, str(err), err.reason)
        return report(error=str(err), error_reason=err.reason)
    if g.response.not_modified or g.feed is None:
        with store.batch():
            store.record_success(src.slug, src.url, g.response.state, now, had_new=False)
        return report(not_modified=True)

    outcomes: list[ItemOutcome] = []
    with store.batch():
        for i, prep in enumerate(g.items):
            outcomes.append(_keep(prep, writer, src))
            if progress:
                progress(src.slug, "items", i + 1, len(g.items))
        outcomes.extend(g.extra)
        had_new = any(o.kind in (OutcomeKind.NEW, OutcomeKind.UPDATED) for o in outcomes)
        writer.write_list(src)
        store.record_success(src.slug, src.url, g.response.state, now, had_new=had_new)
    return report(outcomes=tuple(outcomes), warnings=g.feed.warnings)


def _keep(prep: Prepared, writer: MirrorWriter, src: Source) -> ItemOutcome:
    if prep.outcome is not None:
        return prep.outcome
    assert prep.article is not None and prep.keys is not None
    url = prep.article.link or prep.article.key
    try:
        out = writer.keep(prep.article, prep.keys, post=prep.new_post)
    except NewsmirrorError as e:
        return ItemOutcome(src.slug, url, OutcomeKind.FAILED, e.reason, e.message)
    except OSError as e:
        return ItemOutcome(
            src.slug, url, OutcomeKind.FAILED, "write", f"{e.strerror}: {e.filename}"
        )
    if prep.fulltext_error and out.kind is not OutcomeKind.UNCHANGED:
        return replace(out, reason="fulltext_failed", detail=prep.fulltext_error)
    return out


async def run_async(
    config: Config,
    *,
    only: Sequence[str] = (),
    now: datetime | None = None,
    progress: Progress | None = None,
    fetcher: Fetcher | None = None,
    on_source: Callable[[SourceReport], None] | None = None,
    keep_items: bool = True,
) -> RunReport:
    """One ingest pass over the configured sources. Holds the mirror's lock.

    ``on_source`` gets each source's whole report as soon as the source is written
    (in configuration order); with ``keep_items=False`` the returned report keeps
    only counts and failed items (``SourceReport.slim``), so memory does not grow
    with the number of items."""
    if config.engine.distributed and fetcher is None:  # the work goes to Celery workers
        from .dist_run import run_distributed

        done = await run_distributed(config, only=only, now=now, progress=progress)
        for rep in done.sources if on_source is not None else ():
            on_source(rep)
        return done
    sources = select_sources(config, only)
    now = now or now_utc()
    started = now
    files = MirrorFiles(config.root)
    with MirrorLock(config.root), Store(config.store_target) as store:
        files.sweep()
        writer = MirrorWriter(config, store, files)
        reports: dict[str, SourceReport] = {}
        rechecks: list[ItemOutcome] = []
        async with contextlib.AsyncExitStack() as stack:
            if fetcher is None:
                fetcher = await open_fetcher(config, stack, now)
            pool = stack.enter_context(take_prestarted() or ExtractPool(func=PAGE_JOB))
            images = await Images.open(config, files, stack)
            # Sources are fetched and resolved concurrently; they are written in
            # configuration order, so which source keeps a shared article and
            # which title gets a hash suffix never depends on network timing.
            # A failing source rests (exponential backoff) unless named with --source.
            resting = set()
            if not only:
                policy = config.health
                resting = {
                    s.slug for s in sources if not due(store, s.slug, now, url=s.url, policy=policy)
                }
            tasks = {
                s.slug: asyncio.create_task(
                    gather_source(
                        s,
                        config=config,
                        store=store,
                        fetcher=fetcher,
                        pool=pool,
                        now=now,
                        images=images,
                    )  # fmt: skip
                )
                for s in sources
                if s.slug not in resting
            }
            try:
                for s in sources:
                    if s.slug in resting:
                        rep = SourceReport(s.slug, s.name, s.url, skipped="backoff")
                    else:
                        # Each source's gathered items are released once written (the
                        # task, which holds them, is dropped too).
                        rep = write_source(await tasks.pop(s.slug), writer, store, now, progress)
                        if progress:
                            progress(s.slug, "done", 0, 0)
                    if on_source is not None:
                        on_source(rep)
                    reports[s.slug] = rep if keep_items else rep.slim()
                    del rep
            finally:
                # A cancelled run (watch, Ctrl-C) leaves no stray fetches.
                for task in tasks.values():
                    task.cancel()
            if config.recheck.enabled:  # after the new articles, within the run's budget
                from .recheck import run_rechecks

                rechecks = await run_rechecks(
                    config, store=store, writer=writer, fetcher=fetcher, pool=pool, now=now,
                    sources=[s for s in sources if s.slug not in resting], images=images,
                )  # fmt: skip
            if images is not None:
                await images.retry(config, store, now)
        writer.rotate(now)
    ordered = tuple(reports[s.slug] for s in sources if s.slug in reports)
    return RunReport(
        started=started, finished=max(now_utc(), started), sources=ordered,
        rechecks=tuple(rechecks),
    )  # fmt: skip


def run(
    config: Config,
    *,
    only: Sequence[str] = (),
    now: datetime | None = None,
    progress: Progress | None = None,
    on_source: Callable[[SourceReport], None] | None = None,
    keep_items: bool = True,
) -> RunReport:
    """Synchronous entry point (the CLI's)."""
    return asyncio.run(
        run_async(
            config,
            only=only,
            now=now,
            progress=progress,
            on_source=on_source,
            keep_items=keep_items,
        )
    )
