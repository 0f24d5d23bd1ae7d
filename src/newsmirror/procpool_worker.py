"""A pool worker's side: its process, and the frames jobs and answers travel in.

A worker (:func:`serve`) is a spawned process with two pipes: jobs come in on one,
answers go out on the other. Each message is a frame: its length (8 bytes, big
endian) and a pickle. A job is ``(func, args)``; the answer is ``("ok", value)`` or
``("raise", exception)``. The worker imports the cleaning code when it starts (so the
first job does not wait for it), exits at the end of its job pipe, and exits when the
run that started it is gone (see :func:`watch_parent`).
"""

from __future__ import annotations

import os
import pickle
import struct
import threading
import time
from collections.abc import Callable
from typing import Any

from .errors import ItemError

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
        got = os.read(fd, min(n, 1 << 20))
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
    from . import resolve  # noqa: F401  # (the cleaning code, while the run fetches)

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
