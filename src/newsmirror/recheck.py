"""Re-checks: fetch kept articles' pages again to catch edits and deletions.

``newsmirror run`` calls :func:`run_rechecks` after the new articles are kept
(at most ``[recheck] budget`` due articles, longest overdue first, so re-checks
never starve new articles); ``newsmirror recheck`` calls :func:`recheck`, which
does only that (``--all``: every article now, no budget). When an article is
due and what counts as gone are the pure rules of :mod:`newsmirror.recheck_rules`.

Every re-check goes through the run's Fetcher (limits, politeness, SSRF
policy, WARC capture; conditional GET with the ETag/Last-Modified the page sent
last time) and the page extraction and cleaning of :mod:`newsmirror.resolve`.
Each re-checked article gets exactly one outcome in the run report:

* ``unchanged`` — same content (or 304, or a change that is no edit: whitespace,
  tracking parameters, image CDN queries); reasons: ``baseline`` (the first look
  at the page of an article whose text came from its feed: later checks compare
  with it; after an edit found that way the page is the article's text of
  record and the feed's copy no longer counts, see ``MirrorWriter.keep``),
  ``unconfirmed_<signal>`` (gone once, not yet confirmed),
  ``still_deleted``, ``insignificant``;
* ``updated`` — an edit: a new revision through :class:`MirrorWriter` (the
  previous post kept in ``_revisions/``); reason ``restored`` when a deleted
  article came back;
* ``deleted`` — confirmed gone: the post keeps its last good copy and gains
  ``deleted: <time first seen gone>`` in its front matter (and the index);
  the reason is the signal (``http_404``, ``http_410``, ``redirected_home``,
  ``removed_page``);
* ``failed`` — a temporary failure (5xx, timeout, connection error, any other
  answer): never a deletion, and the count of deletion signals stays as it was.

An article that answers again with its page after being marked is *restored*:
the ``deleted`` key leaves its front matter and the mark moves to
``deletions`` as an ISO 8601 interval ``<gone>/<back>``, so the files (and
``reindex``) keep the whole history of marks.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from .article import content_hash, derive_keys
from .assets import localize_images
from .charset import decode
from .clean_text import html_to_text
from .config import Config
from .errors import FetchError, HTTPStatusError, ItemError, NewsmirrorError
from .extract import ExtractPool
from .fetch import Fetcher
from .fsutil import MirrorFiles, MirrorLock
from .mirror import MirrorWriter, read_post
from .models import Article, FeedState, ItemOutcome, OutcomeKind, RunReport, Source
from .postfile import iso_ms, render_post
from .recheck_rules import (
    gone_status,
    next_due,
    parse_schedule,
    redirect_gone,
    removed_page,
)
from .resolve import page_job, page_pool
from .store import Known, RecheckState, Store
from .textdiff import content_signature, normalize_text

if TYPE_CHECKING:
    from .pipeline import Images

RETRY_AFTER_FAILURE = timedelta(hours=1)  # one more try when the last point's check failed


@dataclass(frozen=True, slots=True)
class PageCheck:
    """A re-fetched page after extraction and cleaning (made in a worker process)."""

    ok: bool
    content: str = ""
    text: str = ""
    title: str = ""
    raw_text: str = ""  # the whole page's text when no article could be extracted
    error: str = ""
    reason: str = ""


def recheck_job(body: bytes, url: str, header_charset: str, source: Source) -> PageCheck:
    """Extract and clean a page as the first fetch did; never raises."""
    try:
        page = page_job(body, url=url, header_charset=header_charset, source=source)
    except ItemError as e:
        try:
            raw = html_to_text(decode(body, header_charset=header_charset, kind="html")[0])
        except Exception:  # a page that cannot even be read is just a failure
            raw = ""
        return PageCheck(ok=False, raw_text=raw, error=e.message, reason=e.reason)
    except Exception as e:  # an extractor bug costs one re-check, not the run
        return PageCheck(ok=False, error=f"{type(e).__name__}: {e}", reason="fulltext_failed")
    return PageCheck(ok=True, content=page.content, text=page.text, title=page.title)


Kind = Literal["page", "not_modified", "gone", "failed"]


@dataclass(frozen=True, slots=True)
class Checked:
    """One article after the network and extraction work, before anything is written."""

    known: Known
    state: RecheckState
    source: Source
    kind: Kind
    page: PageCheck | None = None
    validators: FeedState = FeedState()
    signal: str = ""  # for kind "gone": http_404, http_410, redirected_home, removed_page
    reason: str = ""  # for kind "failed"
    detail: str = ""


async def check_article(
    known: Known, state: RecheckState, source: Source, *, fetcher: Fetcher, pool: ExtractPool
) -> Checked:
    """Fetch and read one article's page again; reads nothing and writes nothing."""
    art = known.article

    def result(kind: Kind, **kw: object) -> Checked:
        return Checked(known, state, source, kind, **kw)  # type: ignore[arg-type]

    if not art.link:
        return result("failed", reason="no_link", detail="the article has no link to re-check")
    try:
        # A feed's link may reach a private address only on the feed's own host.
        resp = await fetcher.fetch(art.link, state=state.state, source=source.slug, via=source.url)
    except HTTPStatusError as e:
        if gone_status(e.status):
            return result("gone", signal=e.reason, detail=e.message)
        return result("failed", reason=e.reason, detail=e.message)
    except FetchError as e:
        return result("failed", reason=e.reason, detail=e.message)
    if resp.not_modified:
        return result("not_modified", validators=resp.state)
    if redirect_gone(art.link, resp.final_url, source.url):
        return result("gone", signal="redirected_home", detail=f"redirected to {resp.final_url}")
    try:
        page: PageCheck = await pool.submit(
            recheck_job, resp.body, resp.final_url, resp.charset, source
        )
    except Exception as e:  # a crashed worker costs this re-check, never the run
        return result("failed", reason="worker_crashed", detail=f"{type(e).__name__}: {e}")
    if not page.ok:
        if removed_page(page.raw_text):
            return result("gone", signal="removed_page", detail=page.raw_text[:80])
        return result("failed", reason=page.reason or "fulltext_failed", detail=page.error)
    if removed_page(page.text, page.title):
        return result("gone", signal="removed_page", detail=page.text[:80])
    return result("page", page=page, validators=resp.state)


class Rechecker:
    """Applies checked articles to the mirror: one transaction and one outcome each."""

    def __init__(
        self, config: Config, store: Store, writer: MirrorWriter, now: datetime,
        images: Images | None = None,
    ) -> None:  # fmt: skip
        self.config = config
        self.store = store
        self.writer = writer
        self.files: MirrorFiles = writer.files
        self.now = now
        self.images = images
        self.updated_sources: set[str] = set()

    # -- scheduling -----------------------------------------------------------

    def schedule_of(self, source: Source) -> tuple[timedelta, ...]:
        return parse_schedule(source.rules.recheck_schedule or self.config.recheck.schedule)

    def enroll(self, sources: dict[str, Source]) -> None:
        """Give every article without re-check state its first due time."""
        rows = self.store.unscheduled()
        if not rows:
            return
        default = parse_schedule(self.config.recheck.schedule)
        due = []
        for key, slug, published, first_seen in rows:
            src = sources.get(slug)
            schedule = self.schedule_of(src) if src is not None else default
            due.append((key, next_due(published, schedule, first_seen or published)))
        with self.store.batch():
            self.store.schedule(due)

    def _next(self, c: Checked, *, pending: bool, failed: bool = False) -> datetime | None:
        if pending:
            return self.now  # a deletion signal is confirmed (or not) on the next run
        due = next_due(c.known.article.published, self.schedule_of(c.source), self.now)
        if due is None and failed and c.state.outcome != OutcomeKind.FAILED.value:
            return self.now + RETRY_AFTER_FAILURE
        return due

    # -- applying -------------------------------------------------------------

    async def apply(self, c: Checked) -> ItemOutcome:
        art = c.known.article
        page = c.page
        new_art: Article | None = None
        if page is not None and self.images is not None and self._may_change(c):
            candidate = self._candidate(c)
            with contextlib.suppress(NewsmirrorError, OSError):
                candidate = await localize_images(
                    candidate, fetcher=self.images.fetcher, files=self.images.files,
                    store=self.store, caps=self.images.run, via=c.source.url, now=self.now,
                )  # fmt: skip
            new_art = candidate
        try:
            with self.store.batch():
                out = self._apply(c, new_art)
        except (NewsmirrorError, OSError) as e:
            reason = getattr(e, "reason", "write")
            out = self._outcome(c, OutcomeKind.FAILED, reason, str(e))
        if out.kind is OutcomeKind.UPDATED:
            self.updated_sources.add(art.source)
        return out

    def _outcome(self, c: Checked, kind: OutcomeKind, reason: str = "", detail: str = "") -> ItemOutcome:
        art = c.known.article
        return ItemOutcome(art.source, art.link or art.key, kind, reason, detail, art.path)

    def _save(self, c: Checked, out: ItemOutcome, **changes: object) -> ItemOutcome:
        state = replace(c.state, outcome=out.kind.value, reason=out.reason, **changes)  # type: ignore[arg-type]
        self.store.save_recheck(state)
        return out

    def _apply(self, c: Checked, new_art: Article | None) -> ItemOutcome:
        art, st = c.known.article, c.state
        if c.kind == "failed":
            out = self._outcome(c, OutcomeKind.FAILED, c.reason, c.detail)
            pending = st.misses > 0 and art.deleted is None
            return self._save(c, out, due=self._next(c, pending=pending, failed=True))
        if c.kind == "gone":
            return self._gone(c)
        # The page answered with the article: any run of deletion signals ends here.
        seen = {"checked": self.now, "state": c.validators, "misses": 0, "miss_since": None,
                "miss_reason": ""}  # fmt: skip
        seen["due"] = self._next(c, pending=False)
        restored = art.deleted is not None
        if c.kind == "not_modified" or c.page is None:
            if restored:
                self._restore(art.key)
                out = self._outcome(c, OutcomeKind.UPDATED, "restored")
                return self._save(c, out, **seen)
            return self._save(c, self._outcome(c, OutcomeKind.UNCHANGED), **seen)
        page = c.page
        sig = content_signature(page.content)
        seen |= {"page_sig": sig, "page_title": page.title}
        baseline = st.page_sig or (self._post_signature(art) if art.origin == "page" else "")
        if not baseline:
            out = self._outcome(c, OutcomeKind.UNCHANGED, "baseline")
        elif sig == baseline and not self._title_changed(c):
            out = self._outcome(c, OutcomeKind.UNCHANGED)
        else:
            candidate = new_art or self._candidate(c)
            kept = self.writer.keep(candidate, derive_keys(art))
            out = replace(kept, url=art.link or art.key)
        if restored:
            self._restore(art.key)
            if out.kind is OutcomeKind.UNCHANGED:
                out = self._outcome(c, OutcomeKind.UPDATED, "restored")
            else:
                out = replace(out, reason="restored")
        return self._save(c, out, **seen)

    def _gone(self, c: Checked) -> ItemOutcome:
        art, st = c.known.article, c.state
        misses = st.misses + 1
        since = st.miss_since or self.now
        changes = {"checked": self.now, "misses": misses, "miss_since": since,
                   "miss_reason": st.miss_reason or c.signal}  # fmt: skip
        if art.deleted is not None:
            out = self._outcome(c, OutcomeKind.UNCHANGED, "still_deleted", c.detail)
            return self._save(c, out, due=self._next(c, pending=False), **changes)
        if misses < self.config.recheck.confirmations:
            out = self._outcome(c, OutcomeKind.UNCHANGED, f"unconfirmed_{c.signal}", c.detail)
            return self._save(c, out, due=self._next(c, pending=True), **changes)
        self._mark(art.key, deleted=since)
        out = self._outcome(c, OutcomeKind.DELETED, c.signal, c.detail)
        return self._save(c, out, due=self._next(c, pending=False), **changes)

    # -- helpers --------------------------------------------------------------

    def _may_change(self, c: Checked) -> bool:
        st, page = c.state, c.page
        assert page is not None
        if not st.page_sig and c.known.article.origin != "page":
            return False  # the first look sets a baseline
        return content_signature(page.content) != st.page_sig or self._title_changed(c)

    def _candidate(self, c: Checked) -> Article:
        """This re-check's version of the article (the writer merges it with the index)."""
        art, page = c.known.article, c.page
        assert page is not None
        title = page.title if self._title_changed(c) else art.title
        return replace(
            art, title=title, content=page.content, text=page.text,
            content_hash=content_hash(title, page.text), fetched=self.now, origin="page",
        )  # fmt: skip

    def _title_changed(self, c: Checked) -> bool:
        """The page's own title moved: from what the page showed last time, or (on the
        first look) from the article's title, when neither contains the other (a
        page title often adds the site's name)."""
        page = c.page
        if page is None or not (new := normalize_text(page.title)):
            return False
        if c.state.page_title:
            return new != normalize_text(c.state.page_title)
        old = normalize_text(c.known.article.title)
        return not (old in new or new in old)

    def _read(self, art: Article) -> Article | None:
        """The index's article with its content from the post file; None when unreadable."""
        post = read_post(self.files, art.path)
        return None if post is None else replace(art, content=post.content, text=post.text)

    def _post_signature(self, art: Article) -> str:
        full = self._read(art)
        return content_signature(full.content) if full is not None else ""

    def _rewrite(self, key: str, **marks: object) -> None:
        known = self.store.find(key)
        if known is None:
            return
        art = replace(known.article, **marks)  # type: ignore[arg-type]
        full = self._read(art)
        if full is not None:  # a vanished post keeps the mark in the index until rewritten
            self.files.write(art.path, render_post(full))
        self.store.put(art, guid_key=known.guid_key, fp=known.fp)

    def _mark(self, key: str, *, deleted: datetime) -> None:
        self._rewrite(key, deleted=deleted)

    def _restore(self, key: str) -> None:
        known = self.store.find(key)
        if known is None or known.article.deleted is None:
            return
        interval = f"{iso_ms(known.article.deleted)}/{iso_ms(self.now)}"
        self._rewrite(key, deleted=None, deletions=(*known.article.deletions, interval))


async def run_rechecks(
    config: Config,
    *,
    store: Store,
    writer: MirrorWriter,
    fetcher: Fetcher,
    pool: ExtractPool,
    now: datetime,
    sources: Sequence[Source],
    every: bool = False,
    images: Images | None = None,
) -> list[ItemOutcome]:
    """Re-check the due articles of ``sources`` (``every``: all of them, no budget)."""
    by_slug = {s.slug: s for s in config.sources}
    wanted = {s.slug: s for s in sources if s.rules.recheck}
    rechecker = Rechecker(config, store, writer, now, images)
    rechecker.enroll(by_slug)
    if every:
        todo = store.every_recheck(list(wanted))
    else:
        todo = store.due_rechecks(now, config.recheck.budget, list(wanted))
    outcomes: list[ItemOutcome] = []
    step = max(16, 4 * fetcher.settings.concurrency)  # bounded memory: pages in flight
    for i in range(0, len(todo), step):
        chunk = todo[i : i + step]
        checked = await asyncio.gather(
            *(check_article(k, st, wanted[k.article.source], fetcher=fetcher, pool=pool)
              for k, st in chunk)
        )  # fmt: skip
        for c in checked:
            outcomes.append(await rechecker.apply(c))
    for slug in sorted(rechecker.updated_sources):
        with store.batch():
            writer.write_list(wanted[slug])
    return outcomes


async def recheck_async(
    config: Config,
    *,
    every: bool = False,
    only: Sequence[str] = (),
    now: datetime | None = None,
    fetcher: Fetcher | None = None,
) -> RunReport:
    """Only the re-checks (``newsmirror recheck``). Holds the mirror's lock."""
    from .pipeline import Images, now_utc, open_fetcher, select_sources

    sources = select_sources(config, only)
    now = now or now_utc()
    files = MirrorFiles(config.root)
    with MirrorLock(config.root), Store(config.store_target) as store:
        files.sweep()
        writer = MirrorWriter(config, store, files)
        async with contextlib.AsyncExitStack() as stack:
            if fetcher is None:
                fetcher = await open_fetcher(config, stack, now)
            pool = stack.enter_context(page_pool())
            images = await Images.open(config, files, stack)
            outcomes = await run_rechecks(
                config, store=store, writer=writer, fetcher=fetcher, pool=pool, now=now,
                sources=sources, every=every, images=images,
            )  # fmt: skip
    return RunReport(started=now, finished=max(now_utc(), now), rechecks=tuple(outcomes))


def recheck(
    config: Config, *, every: bool = False, only: Sequence[str] = (), now: datetime | None = None
) -> RunReport:
    """Synchronous entry point (the CLI's)."""
    return asyncio.run(recheck_async(config, every=every, only=only, now=now))


__all__ = ["PageCheck", "Rechecker", "check_article", "recheck", "recheck_async", "run_rechecks"]
