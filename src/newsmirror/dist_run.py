"""A run whose fetch and extract work is done by Celery workers (``[engine]
kind = "celery"``); everything that writes stays here, one writer, exactly
as in the embedded run.

The run sends one ``newsmirror.feed`` task per source (with the source's
conditional-GET validators from the index). When a feed comes back, each of
its items that needs its page — and whose page the index does not have yet —
becomes a ``newsmirror.page`` task. When every item of a source is back, its
images are fetched (here, as the embedded run does) and the source is
written with ``pipeline.write_source``, in configuration order, so the mirror
is byte for byte what the embedded run makes.

Task ids are fixed by the run and the item (``<run>.page.<source>.<n>.<key
hash>``): a redelivered task overwrites its own result, and each result is
taken once, so no article is lost or kept twice when a worker dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from celery import states

from . import wire
from .config import Config
from .dist_tasks import FeedJob, PageJob, configure, feed_task, page_task
from .errors import NewsmirrorError
from .fsutil import MirrorFiles, MirrorLock
from .health import due
from .mirror import MirrorWriter
from .models import RunReport, SourceReport
from .pipeline import (
    Gathered,
    Images,
    Progress,
    _with_images,
    now_utc,
    select_sources,
    write_source,
)
from .resolve import settled_by_index, wants_page
from .store import Store

POLL = 0.05  # seconds between looks at the result store when nothing arrived


@dataclass(slots=True)
class _Source:
    """One source in flight: its feed's answer and how many pages are still out."""

    gathered: Gathered | None = None
    items: list[Any] = field(default_factory=list)
    pages_out: int = 0

    @property
    def complete(self) -> bool:
        return self.gathered is not None and self.pages_out == 0


class _Results:
    """The run's tasks: sent once, re-sent (same id) if their result is overdue,
    and their results as they arrive (one MGET per look)."""

    def __init__(self, app: Any, overdue: float) -> None:
        self.backend = app.backend
        self.overdue = overdue
        self.pending: dict[str, Any] = {}  # task id -> what it is for
        self.sent: dict[str, tuple[Any, Any, float]] = {}  # task id -> (task, payload, when)
        self.resent = 0

    def send(self, task: Any, payload: Any, task_id: str, what: Any) -> None:
        try:
            task.apply_async((payload,), task_id=task_id)
        except Exception as e:  # kombu's connection errors, whatever the transport
            raise NewsmirrorError(
                f"cannot reach the broker: {' '.join(str(e).split())}", reason="broker"
            ) from None
        self.pending[task_id] = what
        self.sent[task_id] = (task, payload, time.monotonic())

    def resend_overdue(self) -> None:
        """A task whose result is overdue (its message lost with a Redis restart,
        say) is sent again under the same id: running it twice is harmless."""
        now = time.monotonic()
        for task_id in list(self.pending):
            task, payload, when = self.sent[task_id]
            if now - when > self.overdue:
                self.send(task, payload, task_id, self.pending[task_id])
                self.resent += 1

    def arrived(self) -> list[tuple[Any, str, Any]]:
        """(what, state, result) of every task that finished since the last look."""
        ids = list(self.pending)
        if not ids:
            return []
        out = []
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            values = self.backend.mget([self.backend.get_key_for_task(t) for t in chunk])
            for task_id, raw in zip(chunk, values, strict=True):
                if raw is None:
                    continue
                meta = self.backend.decode_result(raw)
                if meta["status"] not in states.READY_STATES:
                    continue
                out.append((self.pending.pop(task_id), meta["status"], meta["result"]))
                self.sent.pop(task_id, None)
        return out

    def forget(self, task_ids: Sequence[str]) -> None:
        for t in task_ids:
            with contextlib.suppress(Exception):
                self.backend.forget(t)


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:16]


async def run_distributed(
    config: Config,
    *,
    only: Sequence[str] = (),
    now: datetime | None = None,
    progress: Progress | None = None,
) -> RunReport:
    """One ingest pass with the work done by workers. Holds the mirror's lock."""
    app = configure(config.engine)
    sources = select_sources(config, only)
    _check_workers(app, config)
    now = now or now_utc()
    started = now
    run_id = uuid.uuid4().hex[:12]
    files = MirrorFiles(config.root)
    # Past this a missing result means a lost message, not a slow or killed
    # worker (Redis redelivers a killed worker's tasks after visibility_timeout).
    eng = config.engine
    results = _Results(app, overdue=eng.visibility_timeout + eng.task_time_limit + 60)
    sent: list[str] = []
    with MirrorLock(config.root), Store(config.store_target) as store:
        files.sweep()
        writer = MirrorWriter(config, store, files)
        reports: dict[str, SourceReport] = {}
        resting = set()
        if not only:
            resting = {
                s.slug
                for s in sources
                if not due(store, s.slug, now, url=s.url, policy=config.health)
            }
        active = [s for s in sources if s.slug not in resting]
        for s in sources:
            if s.slug in resting:
                reports[s.slug] = SourceReport(s.slug, s.name, s.url, skipped="backoff")
        flight = {s.slug: _Source() for s in active}
        for s in active:
            job = FeedJob(
                source=s,
                state=store.feed_state(s.slug, s.url),
                fetch=config.fetch,
                max_items=config.mirror.max_items_per_feed,
                now=now,
            )
            task_id = f"{run_id}.feed.{s.slug}"
            results.send(feed_task, wire.encode(job), task_id, ("feed", s.slug))
            sent.append(task_id)
        async with contextlib.AsyncExitStack() as stack:
            images = await Images.open(config, files, stack)
            by_slug = {s.slug: s for s in active}
            written = 0
            while written < len(active):
                arrived = results.arrived()
                for what, state, result in arrived:
                    if what[0] == "feed":
                        slug = what[1]
                        g = _feed_result(by_slug[slug], state, result)
                        flight[slug].gathered = g
                        flight[slug].items = list(g.items)
                        for i, prep in enumerate(g.items):
                            if prep.outcome is not None or prep.article is None:
                                continue
                            if prep.keys is None or not wants_page(prep.article, g.source):
                                continue
                            settled = settled_by_index(prep, g.source, store)
                            if settled is not None:
                                flight[slug].items[i] = settled
                                continue
                            page = PageJob(item=prep, source=g.source, fetch=config.fetch)
                            task_id = f"{run_id}.page.{slug}.{i}.{_key_hash(prep.keys.key)}"
                            results.send(page_task, wire.encode(page), task_id, ("page", slug, i))
                            sent.append(task_id)
                            flight[slug].pages_out += 1
                    else:
                        _, slug, i = what
                        item = flight[slug].items[i]
                        flight[slug].items[i] = _page_result(item, state, result)
                        flight[slug].pages_out -= 1
                    if progress:  # items back from the workers (writing counts them again)
                        n = len(flight[slug].items)
                        progress(slug, "items", n - flight[slug].pages_out, n)
                # Write in configuration order, as soon as the next source is complete.
                while written < len(active) and flight[active[written].slug].complete:
                    src = active[written]
                    f = flight[src.slug]
                    assert f.gathered is not None
                    items = f.items
                    if images is not None:
                        items = list(
                            await asyncio.gather(
                                *(_with_images(p, images, store, now, src.url) for p in items)
                            )
                        )
                    g = replace(f.gathered, items=tuple(items))
                    reports[src.slug] = write_source(g, writer, store, now, progress)
                    flight[src.slug] = _Source(gathered=g)  # let the items go
                    if progress:
                        progress(src.slug, "done", 0, 0)
                    written += 1
                if not arrived:
                    results.resend_overdue()
                    await asyncio.sleep(POLL)
            if images is not None:
                await images.retry(config, store, now)
        writer.rotate(now)
    results.forget(sent)
    ordered = tuple(reports[s.slug] for s in sources if s.slug in reports)
    return RunReport(started=started, finished=max(now_utc(), started), sources=ordered)


def _check_workers(app: Any, config: Config) -> None:
    """Fail at once, in one line, when the broker is unreachable or no worker
    listens: a run would otherwise wait for ever."""
    try:
        answers = app.control.ping(timeout=1.0)
    except Exception as e:  # kombu's connection errors, whatever the transport
        raise NewsmirrorError(
            f"cannot reach the broker: {' '.join(str(e).split())}",
            url=_redacted(config.engine.broker), reason="broker",
        ) from None  # fmt: skip
    if not answers:
        raise NewsmirrorError(
            "no newsmirror worker answers (start one with `newsmirror worker`)",
            url=_redacted(config.engine.broker), reason="no_workers",
        )  # fmt: skip


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[-1]))


def _worker_failure(result: Any) -> str:
    if isinstance(result, BaseException):
        return " ".join(f"{type(result).__name__}: {result}".split())
    if isinstance(result, dict):
        return " ".join(
            f"{result.get('exc_type', 'error')}: {result.get('exc_message', '')}".split()
        )
    return " ".join(str(result).split())


def _feed_result(source: Any, state: str, result: Any) -> Gathered:
    if state == states.SUCCESS:
        return wire.decode(result)  # type: ignore[no-any-return]
    err = NewsmirrorError(
        f"worker failed: {_worker_failure(result)}", source=source.slug, url=source.url,
        reason="worker",
    )  # fmt: skip
    return Gathered(source=source, error=err)


def _page_result(item: Any, state: str, result: Any) -> Any:
    if state == states.SUCCESS:
        return wire.decode(result)
    return replace(item, fulltext_error=f"worker: {_worker_failure(result)}")


__all__ = ["run_distributed"]
