"""The work of a distributed run as Celery tasks (``[engine] kind = "celery"``).

Two tasks, both pure: they fetch, parse, clean and extract, and return what
they made; they never touch the index or the mirror's files (the run that
enqueued them is the one writer, see ``dist_run``). So a task that runs twice
— a worker killed mid-task, its message redelivered — costs a second fetch
and changes nothing.

* ``newsmirror.feed`` (queue ``newsmirror.fetch``): one source's feed →
  ``pipeline.Gathered`` with every item's first pass (filtered, cleaned,
  identified);
* ``newsmirror.page`` (queue ``newsmirror.extract``): one item whose full
  text lives on its page → the item with the page's text.

Messages are JSON (``wire``). Tasks are acknowledged late and rejected when
their worker dies, prefetch is one, and a hard time limit stops a stuck task:
the settings that make a killed worker lose nothing (docs/distributed.md).
Every fetch goes through the Redis host gate, so ``[fetch] per_host`` and a
host's backoff hold across all workers.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

from celery import Celery

from . import wire
from .engine import EXTRACT_QUEUE, FETCH_QUEUE, EngineSettings
from .errors import NewsmirrorError
from .extract import ExtractPool
from .fetch import Fetcher, FetchSettings
from .hostgate import RedisHostGate
from .models import FeedState, Source
from .parse import parse_response
from .pipeline import Gathered, cut_entries
from .resolve import Prepared, first_pass_batch, page_item, page_job

T = TypeVar("T")

app = Celery("newsmirror", set_as_current=False)
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    result_accept_content=["json"],
    task_acks_late=True,  # acknowledged when done, not when taken
    task_reject_on_worker_lost=True,  # a worker process that dies hands its task back
    worker_prefetch_multiplier=1,  # a worker holds no more tasks than it runs
    task_routes={
        "newsmirror.feed": {"queue": FETCH_QUEUE},
        "newsmirror.page": {"queue": EXTRACT_QUEUE},
    },
    task_default_queue=FETCH_QUEUE,
    result_expires=2 * 86400,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    worker_send_task_events=False,
)


def configure(settings: EngineSettings) -> Celery:
    """The app, pointed at ``[engine]``'s broker (Redis holds results too)."""
    vt = settings.visibility_timeout
    # A vanished worker's unacknowledged task goes back to the queue after ``vt``;
    # the live workers look for such tasks every few seconds (not every 100 s).
    transport = {
        "visibility_timeout": vt,
        "unacked_restore_interval": max(1, min(10, vt // 4)),
        "unacked_restore_throttle": 1,
    }
    app.conf.update(
        broker_url=settings.broker,
        result_backend=settings.broker,
        broker_transport_options=transport,
        result_backend_transport_options=transport,
        task_time_limit=settings.task_time_limit,
        task_soft_time_limit=max(1, settings.task_time_limit - 30),
    )
    return app


@dataclass(frozen=True, slots=True)
class FeedJob:
    source: Source
    state: FeedState
    fetch: FetchSettings
    max_items: int
    now: datetime


@dataclass(frozen=True, slots=True)
class PageJob:
    item: Prepared
    source: Source
    fetch: FetchSettings


class _Runtime:
    """What a worker process keeps between tasks: one event loop, and an open
    fetcher (its connection pool, TLS context and host gate) per fetch
    settings. Opening a fetcher costs ~100 ms: far more than a page task's
    own work on a fast host."""

    def __init__(self) -> None:
        self.pid = -1
        self.loop: asyncio.AbstractEventLoop | None = None
        self.fetchers: dict[FetchSettings, Fetcher] = {}

    def run(self, work: Callable[[], Awaitable[T]]) -> T:
        if self.loop is None or self.pid != os.getpid():  # first task, or a forked child
            self.pid, self.loop, self.fetchers = os.getpid(), asyncio.new_event_loop(), {}
        try:
            return self.loop.run_until_complete(work())
        except BaseException:
            # A time limit can interrupt the loop anywhere: start afresh next time.
            self.loop, self.fetchers = None, {}
            raise

    async def fetcher(self, settings: FetchSettings) -> Fetcher:
        f = self.fetchers.get(settings)
        if f is None:
            gate = RedisHostGate(
                str(app.conf.broker_url), limit=settings.per_host, lease=settings.total_timeout + 5
            )
            f = await Fetcher(settings, gate=gate).__aenter__()
            self.fetchers[settings] = f
        return f


_runtime = _Runtime()


async def gather_feed(job: FeedJob, fetcher: Fetcher) -> Gathered:
    """What ``pipeline.gather_source`` does before it needs the index."""
    start = time.monotonic()
    src = job.source
    try:
        resp = await fetcher.fetch(src.url, state=job.state, source=src.slug)
        if resp.not_modified:
            return Gathered(source=src, response=resp, seconds=time.monotonic() - start)
        feed = parse_response(resp, source=src.slug)
    except NewsmirrorError as e:
        err = e.with_context(source=src.slug, url=src.url)
        return Gathered(source=src, error=err, seconds=time.monotonic() - start)
    entries, extra = cut_entries(feed.entries, job.max_items, src.slug)
    items = first_pass_batch(entries, src, job.now)
    return Gathered(
        source=src,
        response=replace(resp, body=b""),  # the run needs the validators, not the bytes
        feed=replace(feed, entries=()),
        items=tuple(items),
        extra=extra,
        seconds=time.monotonic() - start,
    )


_INLINE = ExtractPool(0, func=page_job)  # type: ignore[arg-type]  # the task runs in a pool process


async def resolve_page(job: PageJob, fetcher: Fetcher) -> Prepared:
    return await page_item(job.item, job.source, fetcher, _INLINE)


@app.task(name="newsmirror.feed")
def feed_task(job: Any) -> Any:
    j: FeedJob = wire.decode(job)

    async def work() -> Gathered:
        return await gather_feed(j, await _runtime.fetcher(j.fetch))

    return wire.encode(_runtime.run(work))


@app.task(name="newsmirror.page")
def page_task(job: Any) -> Any:
    j: PageJob = wire.decode(job)

    async def work() -> Prepared:
        return await resolve_page(j, await _runtime.fetcher(j.fetch))

    return wire.encode(_runtime.run(work))


def worker_argv(concurrency: int, queues: Sequence[str] = ("fetch", "extract")) -> list[str]:
    names = ",".join({"fetch": FETCH_QUEUE, "extract": EXTRACT_QUEUE}.get(q, q) for q in queues)
    return [
        "worker",
        f"--concurrency={concurrency}",
        f"--queues={names}",
        f"--hostname=newsmirror-{os.getpid()}@{socket.gethostname()}",
        "--loglevel=WARNING",
        "--without-gossip",
        "--without-mingle",
    ]


def start_worker(
    settings: EngineSettings, *, concurrency: int, queues: Sequence[str] = ("fetch", "extract")
) -> None:
    """Run a worker in this process until it is stopped (SIGTERM: finish the
    current tasks, then exit)."""
    configure(settings).worker_main(worker_argv(concurrency, queues))


__all__ = ["app", "configure", "FeedJob", "PageJob", "start_worker", "worker_argv"]
