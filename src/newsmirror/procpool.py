"""The process pool that extracts and cleans off the run's main process.

Cleaning is the costliest step of a run: page extraction (``resolve.page_job``), whole
feeds (parsed and their items built: ``resolve.parse_job``) and batches of a big feed's
items (``resolve.first_pass_parts``) run in spawned worker processes while the main
process fetches and writes. This module imports nothing heavy itself:
the workers import the cleaning code, and the main process only when it extracts.

A worker (:func:`serve`) is a spawned process with two pipes: jobs come in on one,
answers go out on the other. Each message is a frame: its length (8 bytes, big
endian) and a pickle. A job is ``(func, args)``; the answer is ``("ok", value)`` or
``("raise", exception)``. The worker imports the cleaning code when it starts (so the
first job does not wait for it), exits at the end of its job pipe, and exits when the
run that started it is gone (see :func:`watch_parent`).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import pickle
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .errors import ItemError

if TYPE_CHECKING:  # (asyncio and multiprocessing: imported when the workers start)
    import asyncio
    from multiprocessing.process import BaseProcess

__all__ = ["DEFAULT_FUNC", "PAGE_JOB", "ExtractPool", "prestart", "take_prestarted"]

DEFAULT_FUNC = "newsmirror.extract:extract_page"
#: The run's worker function for article pages (imported when the first page is extracted).
PAGE_JOB = "newsmirror.resolve:page_job"
_READ = 1 << 20

# ------------------------------------------------------------------ the worker's side

HEAD = struct.Struct("!Q")


def frame(message: Any) -> bytes:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return HEAD.pack(len(data)) + data


def run_item(func: Callable[..., Any], body: bytes, kw: dict[str, Any]) -> tuple[str, Any]:
    """Worker side of ``ExtractPool.extract``: never lets an exception (or its
    traceback) cross the process boundary."""
    try:
        return "ok", func(body, **kw)
    except ItemError as e:
        return "error", (e.message, e.reason, e.url)
    except Exception as e:
        return "error", (f"extraction failed: {type(e).__name__}: {e}", "fulltext_failed", "")


def watch_parent(parent: int, every: float = 1.0) -> None:
    """Exit when the run that started this worker is gone (a SIGKILLed run cannot
    stop its workers, and orphans would keep the CPU busy)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every)
        os._exit(0)

    threading.Thread(target=watch, name="newsmirror-parent-watch", daemon=True).start()


def _read_exact(fd: int, n: int) -> bytes | None:
    """``n`` bytes from ``fd``; None at its end."""
    parts = []
    while n:
        got = os.read(fd, min(n, _READ))
        if not got:
            return None
        parts.append(got)
        n -= len(got)
    return b"".join(parts)


def _answer(func: Callable[..., Any], args: tuple[Any, ...]) -> bytes:
    try:
        message: tuple[str, Any] = ("ok", func(*args))
    except Exception as e:  # (comes back raised, as from a ProcessPoolExecutor)
        message = ("raise", e)
    try:
        return frame(message)
    except Exception as e:  # an answer or exception that does not pickle
        return frame(("raise", RuntimeError(f"{type(e).__name__}: {e}")))


def serve(jobs: Any, answers: Any, parent: int) -> None:
    """A worker process: answer the jobs of ``jobs`` on ``answers`` (both
    ``multiprocessing`` connections, used as plain pipes) until ``jobs`` ends."""
    watch_parent(parent)
    from . import clean, resolve  # noqa: F401  # (the cleaning code, while the run fetches)

    try:
        _loop(jobs.fileno(), answers.fileno())
    except KeyboardInterrupt:  # (Ctrl-C reaches the whole process group: the run says it)
        return


def _loop(rfd: int, wfd: int) -> None:
    while (head := _read_exact(rfd, HEAD.size)) is not None:
        data = _read_exact(rfd, HEAD.unpack(head)[0])
        if data is None:
            return
        func, args = pickle.loads(data)
        out = memoryview(_answer(func, args))
        try:
            while out:
                out = out[os.write(wfd, out) :]
        except OSError:  # (the run closed its end: it is shutting down)
            return


# ------------------------------------------------------------------ the run's side


class _Job:
    __slots__ = ("call", "future", "crashes", "size")

    def __init__(self, call: tuple[Any, ...], future: asyncio.Future[Any]) -> None:
        self.call = call  # (func, args): pickled as it is sent, not while it waits
        self.future = future
        self.crashes = 0
        self.size = 0  # bytes, once sent


class _Worker:
    """One worker process, seen from the run: its pipes, its jobs (the one it works on
    and those given ahead, waiting in its pipe; answered in that order), what is half
    sent or half read. The pipes do not block: the event loop writes a job as it is
    given and reads the answer as it comes."""

    def __init__(self, pool: ExtractPool) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        jobs_in, jobs_out = ctx.Pipe(duplex=False)
        answers_in, answers_out = ctx.Pipe(duplex=False)
        self.process: BaseProcess = ctx.Process(
            target=serve, args=(jobs_in, answers_out, os.getpid()),
            name="newsmirror-worker", daemon=True,
        )  # fmt: skip
        self.process.start()
        jobs_in.close()
        answers_out.close()
        self._conns = (jobs_out, answers_in)  # (they own the file descriptors)
        self.wfd, self.rfd = jobs_out.fileno(), answers_in.fileno()
        os.set_blocking(self.wfd, False)
        os.set_blocking(self.rfd, False)
        _widen(self.wfd)
        _widen(self.rfd)
        self.pool = pool
        self.loop: asyncio.AbstractEventLoop | None = None
        self.jobs: deque[_Job] = deque()
        self.used = False  # (given a job, ever)
        self._out = memoryview(b"")
        self._in = bytearray()

    @property
    def ahead(self) -> int:
        """Bytes of its jobs not answered yet."""
        return sum(job.size for job in self.jobs)

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Watch this worker's pipes from ``loop`` (a run's next event loop takes over)."""
        self._unwatch()
        self.loop = loop
        loop.add_reader(self.rfd, self._readable)
        if self._out:
            loop.add_writer(self.wfd, self._writable)

    def start(self, job: _Job) -> bool:
        """Send ``job`` to the worker; False (the job failed, the worker still free)
        when it does not pickle."""
        try:
            data = frame(job.call)
        except Exception as e:
            job.future.set_exception(e)
            return False
        self._out = memoryview(bytes(self._out) + data if self._out else data)
        job.size = len(data)
        self.jobs.append(job)
        self.used = True
        self._writable()
        return True

    def _writable(self) -> None:
        try:
            while self._out:
                self._out = self._out[os.write(self.wfd, self._out) :]
        except BlockingIOError:
            pass
        except OSError:  # (the worker is gone: its answers pipe says so)
            self._out = memoryview(b"")
        assert self.loop is not None
        if self._out:
            self.loop.add_writer(self.wfd, self._writable)
        else:
            self.loop.remove_writer(self.wfd)

    def _readable(self) -> None:
        try:
            got = os.read(self.rfd, _READ)
        except BlockingIOError:
            return
        except OSError:
            got = b""
        if not got:
            self.pool._crashed(self)
            return
        self._in += got
        while len(self._in) >= HEAD.size:
            end = HEAD.size + HEAD.unpack_from(self._in)[0]
            if len(self._in) < end:
                break  # (the rest of this answer comes later; those before it are in)
            try:
                message = pickle.loads(self._in[HEAD.size : end])
            except Exception as e:  # (an exception class this process cannot make, say)
                message = ("raise", RuntimeError(f"unreadable answer: {type(e).__name__}: {e}"))
            del self._in[:end]
            if self.jobs:
                _settle(self.jobs.popleft().future, message)
        self.pool._dispatch()

    def _unwatch(self) -> None:
        if self.loop is not None and not self.loop.is_closed():
            self.loop.remove_reader(self.rfd)
            self.loop.remove_writer(self.wfd)

    def close(self) -> None:
        self._unwatch()
        for conn in self._conns:
            conn.close()  # (the worker sees its jobs end, and exits)


def _settle(future: asyncio.Future[Any], message: tuple[str, Any]) -> None:
    if future.done():
        return
    status, value = message
    try:
        if status == "ok":
            future.set_result(value)
        else:
            future.set_exception(value)
    except RuntimeError:  # (a future of an event loop that has closed)
        pass


class ExtractPool:
    """Runs ``func`` (default :func:`newsmirror.extract.extract_page`) in ``workers`` spawned
    processes (CPU count by default; 0 = in-process), started lazily; a context manager.
    Failures come back as ``ItemError``. A crashed worker is replaced and its job run
    again; a job that crashes a worker every time fails alone
    (``reason="worker_crashed"``).

    ``func`` may be named as ``"module:function"``: it is imported when the first page is
    extracted, so a run whose feeds are all unchanged never imports the extraction code.

    The workers are driven from the run's event loop: a worker is given jobs ahead
    while it works (see ``_dispatch``), and its answers are read as they come, with no
    threads between.
    (A ``ProcessPoolExecutor`` costs the run's process about 0.45 ms of CPU a job in
    its feeder and manager threads, this pool about 0.14 ms: 2,000 article pages of
    26 KB, 8 at a time.)"""

    RETRIES = 2
    AHEAD = 512 << 10  # bytes of jobs a worker is given at once (see _dispatch) …
    DEPTH = 8  # … in this many jobs at most

    def __init__(
        self, workers: int | None = None, *, func: Callable[..., Any] | str = DEFAULT_FUNC
    ) -> None:
        self.workers = (os.cpu_count() or 1) if workers is None else max(0, workers)
        self._func_ref = func
        self._procs: list[_Worker] = []
        self._queue: deque[_Job] = deque()
        self.items_seen = 0  # feed items prepared in this run (see resolve.prepare)
        self.feed_bytes = 0  # bytes of the new feeds of this run (see resolve.route_feed)

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
            return self._unwrap(run_item(self._func, body, kw), url)
        outcome = await self._run(
            "the extraction worker crashed on this page", url, run_item, self._func, body, kw
        )
        return self._unwrap(outcome, url)

    @property
    def started(self) -> bool:
        return bool(self._procs)

    def warm(self) -> None:
        """Start the workers now (they import the cleaning code while the network
        works), without waiting for them."""
        if self.workers and not self._procs:
            self._procs = [_Worker(self) for _ in range(self.workers)]

    def pids(self) -> list[int]:
        return [w.process.pid for w in self._procs if w.process.pid is not None]

    async def submit(self, func: Callable[..., Any], *args: Any) -> Any:
        """Run any picklable ``func(*args)`` in a worker (in-process with
        ``workers=0``); its exception comes back as raised there. A crashed worker
        is replaced and the job run again; a job that crashes a worker every time
        raises ItemError (``reason="worker_crashed"``)."""
        if self.workers == 0:
            return func(*args)
        return await self._run("a worker crashed on this job", "", func, *args)

    async def _run(self, crashed: str, url: str, func: Callable[..., Any], *args: Any) -> Any:
        import asyncio

        loop = asyncio.get_running_loop()
        self.warm()
        for w in self._procs:
            if w.loop is not loop:  # (started outside it, or under an earlier event loop)
                w.bind(loop)
        job = _Job((func, args), loop.create_future())
        self._queue.append(job)
        self._dispatch()
        try:
            return await job.future
        except _Crashed:
            raise ItemError(crashed, url=url, reason="worker_crashed") from None

    def _dispatch(self) -> None:
        """Give waiting jobs to the workers with the fewest bytes of jobs: two jobs
        each at least, more while they come to less than :attr:`AHEAD` bytes, up to
        :attr:`DEPTH` jobs. A worker's next jobs wait in its pipe, so it goes on as
        soon as it has answered, not when this process's event loop has read the
        answer: writing a source's posts keeps that loop busy for 20-50 ms. (In the
        (b) bench, with one job at a time each worker waited 1.35 s for its next; with
        two, the machine's two cores were idle 0.85-0.94 s of a run, with these limits
        0.41-0.54 s.) Counted in bytes, what waits behind a slow job is bounded in time
        too: a big feed's job stops it at two."""
        while self._queue and self._procs:
            worker = min(self._procs, key=lambda w: w.ahead)
            if len(worker.jobs) >= self.DEPTH or (
                len(worker.jobs) >= 2 and worker.ahead >= self.AHEAD
            ):
                return
            job = self._queue.popleft()
            if not job.future.done():  # (else cancelled while it waited)
                worker.start(job)

    def _crashed(self, worker: _Worker) -> None:
        """A worker's answers pipe ended: it died (in a job, or idle). Its job runs
        again on a new one, unless it has crashed workers too often; the jobs it was
        given ahead run as if they had waited in the queue."""
        loop = worker.loop
        worker.close()
        worker.process.join(timeout=1)
        jobs, worker.jobs = worker.jobs, deque()
        i = self._procs.index(worker)
        self._procs[i] = fresh = _Worker(self)
        if loop is not None:
            fresh.bind(loop)
        # The first job was the one it worked on (none: it died between jobs); the
        # others waited in its pipe, and go back to the queue's front as they were.
        self._queue.extendleft(reversed([j for j in list(jobs)[1:] if not j.future.done()]))
        if jobs and not (job := jobs[0]).future.done():
            job.crashes += 1
            if job.crashes > self.RETRIES:
                job.future.set_exception(_Crashed())
            else:
                self._queue.appendleft(job)
        self._dispatch()

    def close(self) -> None:
        procs, self._procs = self._procs, []
        for w in procs:
            w.close()
            while w.jobs:
                _cancel(w.jobs.popleft().future)
            if not w.used:  # (it holds nothing, and may still be importing: not waited for)
                w.process.kill()
        for w in procs:
            w.process.join(timeout=10)
            if w.process.is_alive():
                w.process.kill()
                w.process.join()
        while self._queue:
            _cancel(self._queue.popleft().future)

    def __enter__(self) -> ExtractPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _widen(fd: int) -> None:
    """Make a pipe hold 1 MiB (Linux; 64 KiB by default), so that the jobs given ahead
    and the answers that come while the run's loop is busy fit in it (elsewhere, or
    above the system's limit, the pipe stays as it is)."""
    with contextlib.suppress(ImportError, AttributeError, OSError):
        import fcntl

        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, 1 << 20)


def _cancel(future: asyncio.Future[Any]) -> None:
    with contextlib.suppress(RuntimeError):  # (a future of an event loop that has closed)
        future.cancel()


_prestarted: ExtractPool | None = None


def prestart(func: Callable[..., Any] | str = DEFAULT_FUNC) -> None:
    """Start a pool's workers now, for the run that :func:`take_prestarted` (when
    this machine has two cores or more: see ``resolve.route_feed``)."""
    global _prestarted
    if _prestarted is None:
        pool = ExtractPool(func=func)
        if pool.workers >= 2:
            pool.warm()
            _prestarted = pool


def take_prestarted() -> ExtractPool | None:
    """The pool :func:`prestart` started, once (None when there is none); the taker
    closes it."""
    global _prestarted
    pool, _prestarted = _prestarted, None
    return pool


class _Crashed(Exception):
    """A job crashed its worker every time it ran."""
