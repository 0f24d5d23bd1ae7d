"""The index rows of a build, each with its article signature, read by a
process of its own while the build goes on.

An article's signature is a hash of its index row and of its post file's size
and mtime (a post edited by hand is rendered again). Reading the rows, a
``stat`` of every post and the hash are about half of what a build does for an
unchanged article; on a large mirror that was most of an incremental build. A
forked child does them (on the other core), from the very start of the
command (while the build imports its modules and loads its manifest), and
sends the rows in batches (``marshal``) through a pipe, holding those the pipe
cannot take yet (so that it works ahead). When many articles are to be rendered (a first build), the
child also prepares their page content (``site_content``), the larger part of
rendering one. The build sees the same rows, in the same order, with the same
signatures, as when it reads them itself (which it does where there is no
``fork``, in a process with other threads, or when the child fails: it goes on
from the row the child stopped at).
"""

from __future__ import annotations

import contextlib
import marshal
import os
import struct
import threading
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from . import prestart
from .config import Config, SiteSettings
from .site_files import MANIFEST_VERSION, SEP, digest, load_head, manifest_path, site_dir
from .store import Store

BATCH = 256  # rows per message
PIPE_SIZE = 1 << 20  # bytes the pipe holds (where the system lets it be set)
# Bytes of messages the child holds at most while the pipe is full: enough to work
# ahead while the build imports its modules; more only raises the child's peak (what
# it held stays in its heap), which coincides with the search indexer's (16 MB: tree
# peak of the 10k bench 226-232 MB; 2 MB: 216-219 MB, build time the same).
HOLD = 1 << 21
# The child prepares rows only past this many to prepare: fewer are the build's own
# work (the modules preparing needs would take the child longer to import).
PREPARE_AFTER = 256
_HEAD = struct.Struct("<I")
_BATCH = b"b"  # a message of rows
_END = b"e"  # the last message (the Han table): every row was sent
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
    """Iterate the signed rows, read by a forked child (see the module's docstring).

    With ``manifest`` (the site's), the child also prepares the page content of
    the rows whose signature the manifest does not know (past the first
    ``PREPARE_AFTER`` of them; all of them when there is no manifest), for a
    site of these ``images`` and ``lang`` settings (``prepares``): the row
    carries it last (``site_content.Prepared``). ``han``: the Han table the child used, if any
    (``site_text.han_kinds``), once every row was read."""

    def __init__(
        self, target: Path | str, root: str, *, manifest: Path | None = None,
        images: str = "", lang: str = "",
    ) -> None:  # fmt: skip
        self.target, self.root, self.manifest = target, root, manifest
        self.prepares = (images, lang) if manifest is not None else None
        self.han: dict[str, str] = {}
        self.pid = 0
        self.fd = -1  # the pipe from the child
        # (never a fork of a process with other threads: one of them may hold a lock
        # the child would wait for forever)
        if hasattr(os, "fork") and threading.active_count() == 1:
            self._start()

    @classmethod
    def for_site(
        cls, config: Config, out: Path | None, settings: SiteSettings | None = None
    ) -> RowReader:
        """The reader of a build of ``config``'s site into ``out`` (None: the
        configured folder) with ``settings`` (None: the configured ones)."""
        s = settings or SiteSettings.from_config(config)
        return cls(config.store_target, str(config.root) + "/",
                   manifest=manifest_path(config, site_dir(config, out, s)), images=s.images,
                   lang=s.lang)  # fmt: skip

    def _start(self) -> None:
        r, w = os.pipe()
        with contextlib.suppress(OSError, AttributeError, ImportError):  # fewer, larger writes
            import fcntl

            fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
        try:
            pid = os.fork()
        except OSError:
            os.close(r)
            os.close(w)
            return
        if pid == 0:  # the child: never returns
            os.close(r)
            prestart.forget()
            code = 1
            try:
                out = _Outbox(w)
                self._send(out)
                out.close()
                code = 0
            except BaseException:  # noqa: BLE001 (the parent reads the rest itself)
                pass
            finally:
                os._exit(code)
        os.close(w)
        self.pid, self.fd = pid, r

    def _send(self, out: _Outbox) -> None:
        """Send the rows in batches, then the Han table used (if any)."""
        known, han = _known(self.manifest)
        prep: Callable[[Row], Any] | None = None
        unknown = 0
        after = PREPARE_AFTER if known else 0  # (a first build: the child prepares all)
        if self.prepares is not None and not known and not han:
            from .site_text import start_han_table

            start_han_table()  # (ready, or nearly, when the first row is prepared)
        batch: list[Row] = []
        for row in signed_rows_here(self.target, self.root):
            if self.prepares is not None:
                rec = known.get(row[0])
                if not rec or rec.partition(SEP)[0] != row[11]:
                    unknown += 1
                    if unknown > after:
                        if prep is None:
                            prep = self._preparer(han)
                        row = (*row, prep(row))
            batch.append(row)
            if len(batch) == BATCH:
                out.put(_BATCH, marshal.dumps(batch, 2))
                batch = []
        if batch:
            out.put(_BATCH, marshal.dumps(batch, 2))
        table: dict[str, str] = {}
        if prep is not None:  # (site_text is imported only when rows were prepared)
            from .site_text import han_kinds

            table = han_kinds()
        out.put(_END, marshal.dumps(table, 2))

    def _preparer(self, han: dict[str, str]) -> Callable[[Row], Any]:
        from .site_content import image_mapper, prepare
        from .site_text import learn_han_kinds

        learn_han_kinds(han)
        assert self.prepares is not None
        images, lang = self.prepares
        mapper = image_mapper(self.root, {})
        return lambda row: prepare(row, self.root, images, lang, mapper)

    def __iter__(self) -> Iterator[Row]:
        if self.fd < 0:
            yield from signed_rows_here(self.target, self.root)
            return
        seen = 0
        try:
            with open(self.fd, "rb", buffering=PIPE_SIZE, closefd=False) as fh:
                while True:
                    head = fh.read(1 + _HEAD.size)
                    if len(head) < 1 + _HEAD.size:
                        break  # the child failed: the rest is read here
                    size = _HEAD.unpack_from(head, 1)[0]
                    payload = fh.read(size)
                    if len(payload) < size:
                        break
                    message = marshal.loads(payload)
                    if head[:1] == _END:
                        self.han = message
                        return
                    seen += len(message)
                    yield from message
        finally:
            self.close()
        yield from signed_rows_here(self.target, self.root, skip=seen)

    def close(self) -> None:
        """Close the pipe and reap the child (a child not done yet ends at its next
        write: the pipe is broken)."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        if self.pid:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
            self.pid = 0


class _Outbox:
    """The child's end of the pipe. Messages (kind, length, payload) go out as the
    pipe takes them and wait here meanwhile, up to ``HOLD`` bytes (then the child
    waits): the child works ahead while the build is busy (importing its modules,
    say), and what it holds counts in its own memory."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.queue: deque[bytes] = deque()
        self.held = self.sent = 0  # bytes queued; bytes of the first one written
        os.set_blocking(fd, False)

    def put(self, kind: bytes, payload: bytes) -> None:
        self.queue.append(kind + _HEAD.pack(len(payload)) + payload)
        self.held += len(self.queue[-1])
        self._flush(block=self.held > HOLD)

    def close(self) -> None:
        self._flush(block=True)
        os.close(self.fd)

    def _flush(self, *, block: bool) -> None:
        """Write what the pipe takes now (``block``: write all, waiting as needed)."""
        os.set_blocking(self.fd, block)
        try:
            while self.queue:
                first = self.queue[0]
                try:
                    self.sent += os.write(self.fd, memoryview(first)[self.sent :])
                except BlockingIOError:
                    return
                if self.sent == len(first):
                    self.queue.popleft()
                    self.held -= len(first)
                    self.sent = 0
        finally:
            os.set_blocking(self.fd, False)


def _known(manifest: Path | None) -> tuple[dict[str, Any], dict[str, str]]:
    """The article records and the Han table of the site's manifest (none when it
    cannot be read: every row is prepared)."""
    if manifest is None:
        return {}, {}
    try:
        data = load_head(manifest)  # (not the file records)
        articles, extra = data["articles"], data["extra"]
        if data["version"] != MANIFEST_VERSION or not isinstance(articles, dict):
            articles = {}  # (records of another shape: every row is prepared)
        return articles, dict(extra.get("han", {}))
    except (OSError, ValueError, EOFError, TypeError, KeyError, AttributeError, struct.error):
        return {}, {}
