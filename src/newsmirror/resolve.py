"""Resolve: make every item a full article (feed entries → prepared articles).

Per source ``fulltext`` rule:

- ``feed`` — the feed's own content is the article;
- ``page`` — always fetch the article page and extract its main content;
- ``auto`` (default) — use the feed's content unless it looks like a summary
  (short, trailing ellipsis, a "閱讀全文 / Read more" link), then fetch the page.

Page fetches go through the run's fetcher (same limits and politeness as
feeds); extraction and cleaning of pages run in a process pool so both cores
work while the network waits. When the page cannot be had, the feed's content
is kept and the item's outcome carries ``fulltext_failed`` with the cause:
an article is never left empty for want of its page.

A known article whose text came from its page is not fetched again on every
run: later edits are the business of re-checks.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from .article import Filtered, Keys, build_article, content_hash, derive_keys
from .errors import ItemError, NewsmirrorError
from .models import Article, Entry, FeedResponse, ItemOutcome, OutcomeKind, ParsedFeed, Source
from .procpool import ExtractPool

# The pool's workers import this module to clean feed items: no network code here, and
# page extraction (``extract``) and asyncio are imported by the functions that use them.
# So is the cleaning code (``clean``, and with it lxml, nh3 and OpenCC): the workers
# import it as they start, and the main process, which only routes feeds and merges
# pages, never needs it when they do the cleaning (about 25 ms of its CPU).
if TYPE_CHECKING:
    from .fetch import Fetcher
    from .store import Store


@dataclass(frozen=True, slots=True)
class Prepared:
    """One feed item ready for the mirror: an article (with its keys), or the
    outcome that ends it here (filtered / failed)."""

    entry: Entry | None  # (None when a worker parsed the feed: the entry stayed there)
    article: Article | None = None
    keys: Keys | None = None
    outcome: ItemOutcome | None = None
    fulltext_error: str = ""  # why the page could not replace a summary
    # The article's post file as a new post (its first sight at its fetch time), made
    # by the worker that built it; it stands for ``article`` only while that is
    # ``post_of`` (a page or local images make another article).
    post: str = ""
    post_of: Article | None = None

    @property
    def new_post(self) -> str:
        """:attr:`post` when it is ``article``'s, else ""."""
        return self.post if self.post_of is self.article and self.article is not None else ""


@dataclass(frozen=True, slots=True)
class PageResult:
    content: str  # clean HTML
    text: str
    author: str
    published: datetime | None
    title: str = ""  # the page's own title (re-checks compare it)


def page_job(body: bytes, *, url: str, header_charset: str, source: Source) -> PageResult:
    """Extract and clean one article page (runs in a worker process)."""
    from .clean import CleanOptions, clean_fragment_text, clean_title
    from .extract import extract_parsed

    rules = source.rules
    found = extract_parsed(
        body,
        url=url,
        header_charset=header_charset,
        content_selector=rules.content_selector,
        remove_selectors=rules.remove_selectors,
    )
    opts = CleanOptions(
        base_url=url, remove_selectors=rules.remove_selectors, convert=rules.convert
    )
    # (= clean_html(extract_page(…).html, opts) and html_to_text of that, with no parse)
    content, text = clean_fragment_text(found.fragment, opts)
    if not text.strip():
        raise ItemError(
            "the page's extracted content is empty after cleaning", reason="fulltext_failed"
        )
    return PageResult(
        content=content, text=text, author=found.author, published=found.published,
        title=clean_title(found.title, rules.convert),
    )  # fmt: skip


def page_pool(workers: int | None = None) -> ExtractPool:
    """The run's process pool for article pages (started only when a page is needed)."""
    return ExtractPool(workers, func=page_job)  # type: ignore[arg-type]


def wants_page(art: Article, source: Source) -> bool:
    mode = source.rules.fulltext
    if not art.link:
        return False
    if mode == "page":
        return True
    if mode == "feed":
        return False
    from .extract import is_summary

    return is_summary(art.content, art.text)


def with_page(art: Article, page: PageResult) -> Article:
    authors = art.authors or ((page.author,) if page.author else ())
    published = art.published
    if not art.dated and page.published is not None:
        published = min(page.published.astimezone(UTC), art.fetched)
    new = replace(
        art,
        content=page.content,
        text=page.text,
        content_hash=content_hash(art.title, page.text),
        origin="page",
        authors=authors,
        published=published,
        dated=art.dated or page.published is not None,
    )
    return new


def _first_pass(entry: Entry, source: Source, now: datetime) -> Prepared:
    url = entry.link or entry.guid
    try:
        art, keys = build_article(entry, source, now)
    except Filtered as f:
        return Prepared(
            entry, outcome=ItemOutcome(source.slug, url, OutcomeKind.FILTERED, f.reason, f.message)
        )
    except NewsmirrorError as e:
        return Prepared(
            entry, outcome=ItemOutcome(source.slug, url, OutcomeKind.FAILED, e.reason, e.message)
        )
    return Prepared(entry, article=art, keys=keys)


POOL_MIN_ITEMS = 60  # a run's first items are cleaned in-process (a worker's start costs more)
POOL_WARM_BYTES = 256 * 1024  # new feeds this big (two at least) start the workers at once
# (about as many full-text items): they start on the other core while this process fetches
BIG_FEED_BYTES = 4 << 20  # a feed this big is parsed in the run's process, which then gives
# the parse tree's pages back (whole in a worker, its body and then its entries would cross
# to and fro); its items are cleaned in the workers in batches
POOL_MIN_CHARS = 1000  # items this long on average are full text: worth a worker's time
POOL_BATCH = 20


def first_pass_batch(entries: tuple[Entry, ...], source: Source, now: datetime) -> list[Prepared]:
    """Build (filter, clean, identify) a batch of entries; runs in a worker for big feeds."""
    return [_first_pass(e, source, now) for e in entries]


# A Prepared without its entry; whether the article's page is wanted (wants_page); its
# post file as a new post ("" when its page is wanted: the page makes another article).
Parts = tuple[Article | None, Keys | None, ItemOutcome | None, bool, str]


def first_pass_parts(entries: tuple[Entry, ...], source: Source, now: datetime) -> list[Parts]:
    """:func:`first_pass_batch` as a worker runs it: the results without their entries,
    which the caller holds (a third of the bytes a batch would send back), each with
    :func:`wants_page` asked and its post rendered here (the worker's time, not the
    main process's, which writes the posts)."""
    from .postfile import render_post

    out: list[Parts] = []
    for p in first_pass_batch(entries, source, now):
        art = p.article
        page = art is not None and wants_page(art, source)
        post = "" if art is None or page else render_post(replace(art, first_seen=art.fetched))
        out.append((art, p.keys, p.outcome, page, post))
    return out


def _from_parts(entry: Entry | None, parts: Parts) -> tuple[Prepared, bool]:
    art, keys, out, page, post = parts
    prep = Prepared(entry, article=art, keys=keys, outcome=out, post=post, post_of=art)
    return prep, page


@dataclass(frozen=True, slots=True)
class ParsedInPool:
    """A feed parsed in a worker (:func:`parse_job`): the first pass of its entries
    done there too, unless the feed is big or cut (``parts`` None: then ``feed`` keeps
    its entries, for the caller to cut and clean in batches as it would have)."""

    feed: ParsedFeed
    parts: tuple[Parts, ...] | None


def parse_job(resp: FeedResponse, source: Source, now: datetime, limit: int) -> ParsedInPool:
    """Parse one feed's response and build its items (runs in a worker process; the
    main process, which fetches and writes, is the run's busiest)."""
    from .parse import parse_response

    feed = parse_response(resp, source=source.slug)
    if len(feed.entries) >= POOL_MIN_ITEMS or 0 < limit < len(feed.entries):
        return ParsedInPool(feed, None)
    parts = tuple(first_pass_parts(feed.entries, source, now))
    return ParsedInPool(replace(feed, entries=()), parts)


def route_feed(pool: ExtractPool, size: int) -> bool:
    """Count a new feed's response (of ``size`` bytes) towards the pool, starting its
    workers when it is their time, and say whether the feed goes to a worker whole
    (parsed and built there).

    It does once the run has seen :data:`POOL_MIN_ITEMS` items, or once the workers
    run (two new feeds or more, of :data:`POOL_WARM_BYTES` in all, start them at once;
    before, they are not worth starting), with at least two workers (one would leave a
    core to the main process alone); never a feed of :data:`BIG_FEED_BYTES` (nor
    does one count towards starting them: its parse here would share the cores with
    their start, and its items reach them in batches)."""
    if pool.workers < 2 or size >= BIG_FEED_BYTES:
        return False
    pool.feed_bytes += size
    if pool.feed_bytes >= POOL_WARM_BYTES and pool.feed_bytes > size:
        pool.warm()
    return pool.items_seen >= POOL_MIN_ITEMS or pool.started


async def _page(prep: Prepared, source: Source, fetcher: Fetcher, pool: ExtractPool) -> Prepared:
    art = prep.article
    assert art is not None
    try:
        # A link a feed supplied may reach a private address only on the feed's own host.
        resp = await fetcher.fetch(art.link, source=source.slug, via=source.url)
        page = await pool.extract(
            resp.body, url=resp.final_url, header_charset=resp.charset, source=source
        )
    except NewsmirrorError as e:
        return replace(prep, fulltext_error=f"{e.reason}: {e.message}")
    full = with_page(art, page)
    return replace(prep, article=full, keys=derive_keys(full))


def settled_by_index(prep: Prepared, source: Source, store: Store) -> Prepared | None:
    """The item as unchanged when the index already has its page in full (its
    summary in the feed is no edit; re-checks of the page handle later edits);
    None when its page is still to fetch."""
    assert prep.article is not None and prep.keys is not None
    known = store.find(prep.keys.key, prep.keys.guid_key)
    if known is None or known.article.origin != "page":
        return None
    out = ItemOutcome(
        source.slug, prep.article.link, OutcomeKind.UNCHANGED, "", "", known.article.path
    )
    return replace(prep, outcome=out)


async def page_item(prep: Prepared, source: Source, fetcher: Fetcher, pool: ExtractPool) -> Prepared:
    """Fetch and extract one item's page (the per-item step of a distributed run)."""
    return await _page(prep, source, fetcher, pool)


async def prepare(
    source: Source,
    feed: ParsedFeed,
    entries: tuple[Entry, ...],
    *,
    now: datetime,
    store: Store,
    fetcher: Fetcher,
    pool: ExtractPool,
) -> list[Prepared]:
    """Every entry → Prepared, in feed order; pages fetched concurrently.

    Cleaning is the costliest step of a full-text feed: a big feed, or full-text
    items once the run has seen :data:`POOL_MIN_ITEMS` items, are cleaned in the
    worker processes, in batches, while this process fetches and writes."""
    import asyncio

    pool.items_seen += len(entries)
    full_text = sum(len(e.content or e.summary) for e in entries) >= POOL_MIN_CHARS * len(entries)
    # Summaries are cheap to clean, and their pages queue in the same pool: those stay here.
    big = len(entries) >= POOL_MIN_ITEMS or (pool.items_seen >= POOL_MIN_ITEMS and full_text)
    if pool.workers > 1 and big:
        chunks = [entries[i : i + POOL_BATCH] for i in range(0, len(entries), POOL_BATCH)]
        # At most two batches per worker in flight: a huge feed is not queued (and
        # pickled) all at once.
        gate = asyncio.Semaphore(2 * pool.workers)

        async def one(chunk: tuple[Entry, ...]) -> list[tuple[Prepared, bool]]:
            async with gate:
                parts: list[Parts] = await pool.submit(first_pass_parts, chunk, source, now)
            return [_from_parts(e, p) for e, p in zip(chunk, parts, strict=True)]

        parts = await asyncio.gather(*(one(c) for c in chunks))
        return await with_pages([p for part in parts for p in part], source, store, fetcher, pool)
    prepared = first_pass_batch(entries, source, now)
    wanted = [
        (p, p.article is not None and p.keys is not None and wants_page(p.article, source))
        for p in prepared
    ]
    return await with_pages(wanted, source, store, fetcher, pool)


def prepared_from_pool(parts: tuple[Parts, ...]) -> list[tuple[Prepared, bool]]:
    """A :func:`parse_job`'s items, as :func:`with_pages` takes them."""
    return [_from_parts(None, p) for p in parts]


async def with_pages(
    wanted: list[tuple[Prepared, bool]],
    source: Source,
    store: Store,
    fetcher: Fetcher,
    pool: ExtractPool,
) -> list[Prepared]:
    """The items, in order, with the page fetched and extracted (concurrently) for each
    one flagged (by :func:`wants_page`) whose page the index does not have yet."""
    import asyncio

    prepared = [prep for prep, _ in wanted]
    jobs: dict[int, asyncio.Task[Prepared]] = {}
    for i, (prep, page) in enumerate(wanted):
        if not page or prep.article is None or prep.keys is None:
            continue
        settled = settled_by_index(prep, source, store)
        if settled is not None:
            prepared[i] = settled
            continue
        jobs[i] = asyncio.create_task(_page(prep, source, fetcher, pool))
    for i, task in jobs.items():
        prepared[i] = await task
    return prepared
