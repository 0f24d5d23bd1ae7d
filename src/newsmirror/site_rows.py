"""The index rows of a build, each with its article signature, read by a
process of its own while the build goes on.

An article's signature is a hash of its index row and of its post file's size
and mtime (a post edited by hand is rendered again). Reading the rows, a
``stat`` of every post and the hash are about half of what a build does for an
unchanged article; on a large mirror that was most of an incremental build. A
forked child does them (on the other core), from the very start of the
command (while the build imports its modules and loads its manifest), and
appends the rows in batches (``marshal``) to a file in memory, saying on a pipe
when each is there; the build
sees the same rows, in the same order, with the same signatures, as when it
reads them itself (which it does where there is no ``fork``, or when the child
fails: it goes on from the row the child stopped at).
"""

from __future__ import annotations

import contextlib
import marshal
import os
import struct
import tempfile
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
        self.fd = self.data = -1  # the pipe the child says "ready" on; the rows' file
        if hasattr(os, "fork"):
            self._start()

    def _start(self) -> None:
        try:
            data = _scratch_fd()
        except OSError:
            return
        r, w = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            for fd in (r, w, data):
                os.close(fd)
            return
        if pid == 0:  # the child: never returns
            os.close(r)
            code = 1
            try:
                self._send(data, w)
                code = 0
            except BaseException:  # noqa: BLE001 (the parent reads the rest itself)
                pass
            finally:
                os._exit(code)
        os.close(w)
        self.pid, self.fd, self.data = pid, r, data

    def _send(self, data: int, ready: int) -> None:
        """Append each batch to ``data`` (length first), then say so on ``ready``
        (one byte a batch: the pipe never fills, however far ahead the child is)."""
        batch: list[Row] = []
        for row in signed_rows_here(self.target, self.root):
            batch.append(row)
            if len(batch) == BATCH:
                _put(data, marshal.dumps(batch, 2))
                _write_all(ready, b"b")
                batch = []
        if batch:
            _put(data, marshal.dumps(batch, 2))
            _write_all(ready, b"b")
        _write_all(ready, _END)

    def __iter__(self) -> Iterator[Row]:
        if self.fd < 0:
            yield from signed_rows_here(self.target, self.root)
            return
        seen = pos = 0
        try:
            while True:
                got = os.read(self.fd, 1)
                if got != b"b":
                    if got == _END:
                        return
                    break  # the child failed: read the rest here
                head = os.pread(self.data, _HEAD.size, pos)
                size = _HEAD.unpack(head)[0]
                batch = marshal.loads(os.pread(self.data, size, pos + _HEAD.size))
                pos += _HEAD.size + size
                seen += len(batch)
                yield from batch
        finally:
            self.close()
        yield from signed_rows_here(self.target, self.root, skip=seen)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            os.close(self.data)
            self.fd = self.data = -1
        if self.pid:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
            self.pid = 0


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _put(fd: int, payload: bytes) -> None:
    _write_all(fd, _HEAD.pack(len(payload)) + payload)


def _scratch_fd() -> int:
    """A file for the rows, in memory where possible, gone when closed."""
    if hasattr(os, "memfd_create"):
        with contextlib.suppress(OSError):
            return os.memfd_create("newsmirror-site-rows", os.MFD_CLOEXEC)
    with tempfile.TemporaryFile() as fh:  # (already unlinked: the duplicate keeps it)
        return os.dup(fh.fileno())
