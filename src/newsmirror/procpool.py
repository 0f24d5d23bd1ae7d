"""The process pool that extracts and cleans off the run's main process.

Cleaning is the costliest step of a run: page extraction (``resolve.page_job``), whole
feeds (parsed and their items built: ``resolve.parse_job``) and batches of a big feed's
items (``resolve.first_pass_parts``) run in spawned worker processes while the main
process fetches and writes. This module imports nothing heavy itself:
the workers import the cleaning code, and the main process only when it extracts.
"""

from __future__ import annotations

import importlib
import os
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .errors import ItemError

if TYPE_CHECKING:  # multiprocessing is imported when the first page is extracted
    from concurrent.futures import ProcessPoolExecutor

__all__ = ["DEFAULT_FUNC", "ExtractPool"]

DEFAULT_FUNC = "newsmirror.extract:extract_page"


def _warm_up() -> None:
    """Worker side: import what cleaning and extraction need."""
    from . import resolve  # noqa: F401


def _run(func: Callable[..., Any], body: bytes, kw: dict[str, Any]) -> tuple[str, Any]:
    """Worker side: never lets an exception (or its traceback) cross the process boundary."""
    try:
        return "ok", func(body, **kw)
    except ItemError as e:
        return "error", (e.message, e.reason, e.url)
    except Exception as e:
        return "error", (f"extraction failed: {type(e).__name__}: {e}", "fulltext_failed", "")


def _watch_parent(parent: int, every: float = 1.0) -> None:
    """Worker initializer: exit when the run that started this worker is gone (a
    SIGKILLed run cannot shut its pool down, and orphans would keep the CPU busy)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every)
        os._exit(0)

    threading.Thread(target=watch, name="newsmirror-parent-watch", daemon=True).start()


class ExtractPool:
    """Runs ``func`` (default :func:`newsmirror.extract.extract_page`) in ``workers`` spawned
    processes (CPU count by default; 0 = in-process), started lazily; a context manager.
    Failures come back as ``ItemError``. A crashed worker gets the pool recreated and its
    items retried; an item that crashes a worker every time fails alone
    (``reason="worker_crashed"``).

    ``func`` may be named as ``"module:function"``: it is imported when the first page is
    extracted, so a run whose feeds are all unchanged never imports the extraction code."""

    RETRIES = 2

    def __init__(
        self, workers: int | None = None, *, func: Callable[..., Any] | str = DEFAULT_FUNC
    ) -> None:
        self.workers = (os.cpu_count() or 1) if workers is None else max(0, workers)
        self._func_ref = func
        self._executor: ProcessPoolExecutor | None = None
        self._generation = 0  # bumped whenever a broken pool is replaced
        self.items_seen = 0  # feed items prepared in this run (see resolve.prepare)
        self.feed_bytes = 0  # bytes of the new feeds of this run (see resolve.parse_in_pool)

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self._executor = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_watch_parent,
                initargs=(os.getpid(),),
            )
        return self._executor

    def _replace(self, generation: int) -> None:
        if generation == self._generation and self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
            self._generation += 1

    @property
    def _func(self) -> Callable[..., Any]:
        ref = self._func_ref
        if isinstance(ref, str):
            module, _, name = ref.partition(":")
            ref = self._func_ref = getattr(importlib.import_module(module), name)
        return ref

    @staticmethod
    def _unwrap(outcome: tuple[str, Any], url: str) -> Any:
        status, value = outcome
        if status == "ok":
            return value  # type: ignore[no-any-return]
        message, reason, where = value
        raise ItemError(message, url=where or url, reason=reason)

    async def extract(self, body: bytes, **kw: Any) -> Any:
        """Extract one page (keyword arguments as for :func:`extract_page`)."""
        url = kw.get("url", "")
        if self.workers == 0:
            return self._unwrap(_run(self._func, body, kw), url)
        outcome = await self._retried(
            "the extraction worker crashed on this page", url, _run, self._func, body, kw
        )
        return self._unwrap(outcome, url)

    @property
    def started(self) -> bool:
        return self._executor is not None

    def warm(self) -> None:
        """Start the workers now (they import the cleaning code while the network
        works), without waiting for them."""
        if self.workers and self._executor is None:
            pool = self._pool()
            for _ in range(self.workers):
                pool.submit(_warm_up)

    async def submit(self, func: Callable[..., Any], *args: Any) -> Any:
        """Run any picklable ``func(*args)`` in a worker (in-process with
        ``workers=0``); its NewsmirrorError comes back as raised there. A crashed
        worker gets the pool recreated and the job run again; a job that crashes a
        worker every time raises ItemError (``reason="worker_crashed"``)."""
        if self.workers == 0:
            return func(*args)
        return await self._retried("a worker crashed on this job", "", func, *args)

    async def _retried(self, crashed: str, url: str, func: Callable[..., Any], *args: Any) -> Any:
        """``func(*args)`` in a worker; a crashed worker gets the pool recreated and the
        job run again, and a job that crashes a worker every time raises ItemError
        (``crashed``, ``reason="worker_crashed"``)."""
        import asyncio  # (here: the workers, which import this module, need no event loop)
        from concurrent.futures.process import BrokenProcessPool

        loop = asyncio.get_running_loop()
        for _attempt in range(self.RETRIES + 1):
            generation = self._generation
            try:
                return await loop.run_in_executor(self._pool(), func, *args)
            except BrokenProcessPool:  # (a crash elsewhere may have broken it: again)
                self._replace(generation)
        raise ItemError(crashed, url=url, reason="worker_crashed")

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def __enter__(self) -> ExtractPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
