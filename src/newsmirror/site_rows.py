"""The index rows of a build, each with its article signature, read by a
process of its own while the build goes on.

An article's signature is a hash of its index row and of its post file's size
and mtime (a post edited by hand is rendered again). Reading the rows, a
``stat`` of every post and the hash are about half of what a build does for an
unchanged article; on a large mirror that was most of an incremental build. A
forked child does them (on the other core) and hands the rows over a pipe in
batches (``marshal``) while the build works on the rows before them; the build
sees the same rows, in the same order, with the same signatures, as when it
reads them itself (which it does where there is no ``fork``, or when the child
fails: it goes on from the row the child stopped at).
"""

from __future__ import annotations

import contextlib
import marshal
import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .site_files import digest
from .store import Store

BATCH = 256  # rows per message
_HEAD = struct.Struct("<I")
_END = b"\x00"  # the last message: every row was sent
Row = tuple[Any, ...]  # Store.SITE_COLUMNS, then the article's signature


def sign(row: tuple[Any, ...], root: str) -> Row:
    """``row`` (``Store.SITE_COLUMNS``) with its article signature appended (the
    row's values and the size and mtime of its post file under ``root``)."""
    try:
        st = os.stat(root + row[10])
        stat = f"\x1f{st.st_size}:{st.st_mtime_ns}"
    except OSError:
        stat = "\x1f0:0"
    return (*row, digest("\x1f".join(map(str, row)) + stat))


def signed_rows_here(target: Path | str, root: str, skip: int = 0) -> Iterator[Row]:
    """The rows with their signatures, read in this process (after ``skip`` rows)."""
    with Store(target) as store:
        for n, row in enumerate(store.site_rows()):
            if n >= skip:
                yield sign(row, root)


class RowReader:
    """Iterate the signed rows, read by a forked child (see the module's docstring)."""

    def __init__(self, target: Path | str, root: str) -> None:
        self.target, self.root = target, root
        self.pid = 0
        self.fd = -1
        if hasattr(os, "fork"):
            self._start()

    def _start(self) -> None:
        r, w = os.pipe()
        with contextlib.suppress(OSError, AttributeError):  # a larger pipe: fewer waits
            import fcntl

            fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, 1 << 20)
        try:
            pid = os.fork()
        except OSError:
            os.close(r)
            os.close(w)
            return
        if pid == 0:  # the child: never returns
            os.close(r)
            code = 1
            try:
                self._send(w)
                code = 0
            except BaseException:  # noqa: BLE001 (the parent reads the rest itself)
                pass
            finally:
                os._exit(code)
        os.close(w)
        self.pid, self.fd = pid, r

    def _send(self, fd: int) -> None:
        batch: list[Row] = []
        for row in signed_rows_here(self.target, self.root):
            batch.append(row)
            if len(batch) == BATCH:
                _write_all(fd, marshal.dumps(batch, 2))
                batch = []
        if batch:
            _write_all(fd, marshal.dumps(batch, 2))
        _write_all(fd, _END)

    def __iter__(self) -> Iterator[Row]:
        if self.fd < 0:
            yield from signed_rows_here(self.target, self.root)
            return
        seen = 0
        try:
            while True:
                raw = _read_message(self.fd)
                if raw is None:  # the child failed: read the rest here
                    break
                if raw == _END:
                    return
                batch = marshal.loads(raw)
                seen += len(batch)
                yield from batch
        finally:
            self.close()
        yield from signed_rows_here(self.target, self.root, skip=seen)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        if self.pid:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
            self.pid = 0


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(_HEAD.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]


def _read_exact(fd: int, n: int) -> bytes | None:
    parts: list[bytes] = []
    while n:
        got = os.read(fd, n)
        if not got:
            return None
        parts.append(got)
        n -= len(got)
    return b"".join(parts)


def _read_message(fd: int) -> bytes | None:
    head = _read_exact(fd, _HEAD.size)
    if head is None:
        return None
    return _read_exact(fd, _HEAD.unpack(head)[0])
