"""Rebuild the index from the mirror's files alone: the repository is the backup.

Posts (``_posts/``, ``_archive`` included) give the articles table; kept
versions under ``_revisions/`` give the revisions table. Files are streamed in
chunks and rows written in batches, so memory stays flat however large the
archive. Reading a file into its row (``reindex_rows``) is the costly part: for a
big mirror two spawned worker processes do it, chunk by chunk, while this
process writes the rows of the chunks before (results are taken in file order,
so which of two posts with one key is kept never depends on timing). When the
index is built aside (a new file), a worker writes its rows to a shard file
(``store_shard``) that this process copies in SQLite, rather than sending them
back to be bound here one value at a time, which cost more than reading them.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import os
import tempfile
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any

from .config import Config
from .fsutil import MirrorFiles, MirrorLock
from .mirror import REVISIONS_DIR
from .reindex_rows import Shard, gc_paused, read_rows, shard_rows
from .store import Store, parse_ts
from .store_shard import Attached

CHUNK = 500  # files per unit of work
POOL_MIN = 10_000  # files from which worker processes read them
SHARD_CHUNKS = 4  # chunks a worker writes to one shard (a transaction of the index each)
_POST_SUFFIXES = (".md", ".markdown", ".html")


@dataclass(frozen=True, slots=True)
class ReindexReport:
    posts: int
    revisions: int
    skipped: tuple[str, ...]  # "path: cause" for files that could not be read


def walk_posts(
    posts_dir: Path, root: Path, listed: Callable[[int], object] | None = None
) -> Iterator[tuple[str, str]]:
    """(absolute path, path relative to ``root``) of every post under ``posts_dir``
    (``_archive`` included) in ``fsutil.iter_posts``'s order, streamed. Only names
    are held (sorted), not a ``DirEntry`` per file: a folder can hold 100,000 posts.
    ``listed(n)`` is told of each folder's ``n`` posts as soon as it is read."""
    start = len(str(root).rstrip(os.sep)) + 1
    stack = [str(posts_dir)]
    while stack:
        d = stack.pop()
        names, subdirs = [], []
        try:
            with os.scandir(d) as it:
                for e in it:
                    if e.is_dir(follow_symlinks=False):
                        subdirs.append(e.name)
                    elif e.name.endswith(_POST_SUFFIXES) and not e.name.startswith("."):
                        names.append(e.name)
        except (FileNotFoundError, NotADirectoryError):
            continue
        if listed is not None:
            listed(len(names))
        names.sort()
        prefix = os.path.join(d, "")
        for name in names:
            path = prefix + name
            yield path, path[start:]
        stack.extend(prefix + n for n in sorted(subdirs, reverse=True))


class _Readers:
    """Turns chunks of files into rows, in order: here for a small mirror, in
    ``workers`` spawned processes (at most ``2 × workers`` chunks in flight) when
    there are at least ``pool_min`` files (starting the workers costs more than
    reading a few thousand posts)."""

    def __init__(self, workers: int, chunk: int, pool_min: int) -> None:
        self.workers, self.chunk = workers, chunk
        self.head = max(2, -(-pool_min // chunk))  # chunks read before deciding
        self.pool: ProcessPoolExecutor | None = None
        self.listed = 0  # posts listed by the current walk
        self.answered = False  # a worker has answered (the pool is up)
        self.closing: list[ProcessPoolExecutor] = []  # pools let go, to be joined

    def __enter__(self) -> _Readers:
        return self

    def __exit__(self, *exc: object) -> None:
        for pool in (self.pool, *self.closing):
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)

    def done(self) -> None:
        """No more files to read for now: let the workers go while the index is
        finished (a later read starts new ones)."""
        if self.pool is not None:
            self.pool.shutdown(wait=False)
            self.closing.append(self.pool)
            self.pool, self.answered = None, False

    def chunks(
        self, kind: str, folder: Path, root: Path, shards: str | None = None
    ) -> Iterator[list[Any] | Shard]:
        """The rows of the posts under ``folder`` (``walk_posts``, ``read_rows``), a
        chunk's list at a time, in order. Until the first worker answers (a spawned
        process takes a while to start), this process reads the chunks after those
        it handed out (a few: their rows wait in memory). With a folder ``shards``,
        a worker writes the rows of a chunk of posts to a shard file there and its
        ``Shard`` comes instead (``shard_rows``)."""
        self.listed = 0
        files = walk_posts(folder, root, self._listed)
        top: str | None = os.path.join(str(root), "")
        if os.path.join(str(folder), "").startswith(top):  # every path is top + relative path
            chunks = iter(lambda: [rel for _, rel in islice(files, self.chunk)], [])
        else:
            top = None
            chunks = iter(lambda: list(islice(files, self.chunk)), [])
        head = list(islice(chunks, self.head))
        todo = _chain(head, chunks)
        pool = None
        if self.workers >= 2 and len(head) == self.head and len(head[-1]) == self.chunk:
            pool = self._pool()
        if pool is None:
            for c in todo:
                yield read_rows(kind, c, top)
            return
        numbers = itertools.count()

        def submit(c: list[Any]) -> None:
            """Hand a worker the chunk ``c`` (for a shard: with the chunks after it)."""
            if shards is None or kind != "post":
                pending.append((pool.submit(read_rows, kind, c, top), [], c))
                return
            for more in islice(todo, SHARD_CHUNKS - 1):
                c.extend(more)
            path = os.path.join(shards, f"{next(numbers)}.db")
            pending.append((pool.submit(shard_rows, c, top, path), [], c))

        # (a worker's future, or None with the rows read here; the chunk's files)
        pending: deque[tuple[Future[Any] | None, list[Any], list[Any]]] = deque()
        for c in islice(todo, 2 * self.workers):
            submit(c)
        while pending:
            future, done, chunk = pending.popleft()
            if future is not None:
                while not self.answered and not future.done() and len(pending) < 8 * self.workers:
                    c = next(todo, None)
                    if c is None:
                        break
                    pending.append((None, read_rows(kind, c, top), c))
                try:
                    done = future.result()
                except BrokenProcessPool:  # a worker died (killed, out of memory): go on here
                    self.workers = 1
                    for f, rows, c in ((future, [], chunk), *pending):
                        yield read_rows(kind, c, top) if f is not None else rows
                    for c in todo:
                        yield read_rows(kind, c, top)
                    return
                self.answered = True
                nxt = next(todo, None)
                if nxt is not None:
                    submit(nxt)
            yield done

    def _listed(self, n: int) -> None:
        """A folder's ``n`` posts were listed: once there are enough for the workers,
        start them now (they take a while), before the walk gets that far."""
        self.listed += n
        if self.pool is None and self.workers >= 2 and self.listed >= self.head * self.chunk:
            pool = self._pool()
            if pool is not None:
                for _ in range(self.workers):  # one process is spawned per task
                    pool.submit(read_rows, "post", [], None)

    def _pool(self) -> ProcessPoolExecutor | None:
        """The worker pool, started on first use; None where processes cannot be had."""
        if self.pool is None:
            try:
                ctx = multiprocessing.get_context("spawn")  # lean workers: no copy of this one
                self.pool = ProcessPoolExecutor(self.workers, mp_context=ctx)
            except (OSError, ImportError, NotImplementedError):
                return None
        return self.pool


def _chain(head: list[list[Any]], rest: Iterator[list[Any]]) -> Iterator[list[Any]]:
    yield from head
    yield from rest


def reindex(
    config: Config, *, workers: int | None = None, chunk: int = CHUNK, pool_min: int = POOL_MIN
) -> ReindexReport:
    """Replace the index's articles and revisions with what the files say
    (``workers``, ``chunk`` and ``pool_min`` tune the worker processes).

    When there is no index file yet (a mirror restored from its repository), the
    index is built in a scratch file (no journal, no syncs: nobody can see it) that
    is synced and then linked into place, which only succeeds while the name is
    still free; otherwise (an index to update, PostgreSQL) the rows are replaced
    in one transaction of the index itself."""
    workers = min(2, os.cpu_count() or 1) if workers is None else workers
    with MirrorLock(config.root), _Readers(workers, chunk, pool_min) as readers, gc_paused():
        target = config.store_target
        scratch = _scratch_path(target)
        if scratch is not None:
            try:
                with Store(scratch, scratch=True) as store, _shard_folder() as shards:
                    report = _load(config, store, readers, shards)
                    store.seal()
                if _move_into_place(scratch, Path(target)):
                    return report
            finally:
                with contextlib.suppress(FileNotFoundError):
                    scratch.unlink()
        with Store(target) as store:
            return _load(config, store, readers)


@contextlib.contextmanager
def _shard_folder() -> Iterator[str | None]:
    """A temporary folder for the workers' shard files (removed after, whatever
    is left in it); None when none can be made (the rows then come back pickled)."""
    try:
        folder = tempfile.TemporaryDirectory(prefix="newsmirror-reindex-")
    except OSError:
        yield None
        return
    with folder as path:
        yield path


def _scratch_path(target: Path | str) -> Path | None:
    """Where to build a new SQLite index file, or None when the index must be
    updated in place (it exists, or is not a file)."""
    if not isinstance(target, Path) or str(target) == ":memory:":
        return None
    scratch = target.with_name(target.name + ".reindex")
    with contextlib.suppress(FileNotFoundError):
        scratch.unlink()  # a killed reindex's (we hold the mirror's lock)
    if any(Path(f"{target}{end}").exists() for end in ("", "-wal", "-shm", "-journal")):
        return None
    return scratch


def _move_into_place(scratch: Path, target: Path) -> bool:
    """Sync the built file and give it the index's name, only if that is still
    free (a link, not a rename: never over an index someone made meanwhile)."""
    _fsync(scratch)
    if any(Path(f"{target}{end}").exists() for end in ("-wal", "-shm", "-journal")):
        return False
    try:
        os.link(scratch, target)
    except OSError:  # the name was taken meanwhile, or no hard links here
        return False
    _fsync(target.parent)
    return True


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _load(
    config: Config, store: Store, readers: _Readers, shards: str | None = None
) -> ReindexReport:
    """Fill the store's articles and revisions from the files, in one transaction;
    or, with a folder for ``shards`` (a scratch index, which nobody sees until it
    is finished), in one transaction per chunk or shard, the workers' rows copied
    from their shard files (a shard is attached to the index's connection, and
    can only be detached again after a commit)."""
    root = config.root
    load = _Loader(store, MirrorFiles(root))
    with store.batch() if shards is None else contextlib.nullcontext(), store.bulk_articles():
        with store.batch():
            store.clear_articles()
        for got in readers.chunks("post", root / config.mirror.posts_dir, root, shards):
            if isinstance(got, Shard):
                load.shard(got)
            else:
                with store.batch():
                    load.rows(got)
        load.seen.clear()
        for rows in readers.chunks("revision", root / REVISIONS_DIR, root):
            revs = []
            for got in rows:
                if isinstance(got, str):
                    load.skipped.append(got)
                else:
                    revs.append(got)
            with store.batch():
                store.add_revision_rows(revs)
            load.revisions += len(revs)
        readers.done()
    return ReindexReport(posts=load.posts, revisions=load.revisions, skipped=tuple(load.skipped))


class _Loader:
    """Puts the posts' rows into the store in file order: the first post with a key
    is kept, a later one is skipped (and said so)."""

    def __init__(self, store: Store, files: MirrorFiles) -> None:
        self.store, self.files = store, files
        self.seen: set[str] = set()
        self.skipped: list[str] = []
        self.posts = self.revisions = 0

    def rows(self, rows: list[Any]) -> None:
        """A chunk's ``read_rows``."""
        seen, skipped = self.seen, self.skipped
        batch: list[tuple[Any, ...]] = []
        for got in rows:
            if isinstance(got, str):
                skipped.append(got)
                continue
            row, content, when = got
            key = row[0]
            if not key:
                continue
            if key in seen:
                skipped.append(f"{row[16]}: same key as another post ({key})")
                continue
            seen.add(key)
            batch.append(row)
            if content:
                self._images(key, content, when)
        self.store.put_rows(batch)
        self.posts += len(batch)

    def shard(self, shard: Shard) -> None:
        """A chunk's ``shard_rows``: its rows copied from the shard file, in a
        transaction of their own (the shard is detached after it)."""
        if not shard.keys:
            self.skipped.extend(note for _, note in shard.notes)
            return
        with Attached(self.store.db, shard.path) as attached, self.store.batch():
            taken = self._place(shard)
            attached.put_articles(_runs(len(shard.keys), [i for i, _ in taken]))
            paths = attached.column(16, [i + 1 for i, _ in taken])
        for (i, n), path in zip(taken, paths, strict=True):
            self.skipped[n] = f"{path}: same key as another post ({shard.keys[i]})"
        self.posts += len(shard.keys) - len(taken)
        with contextlib.suppress(OSError):
            os.unlink(shard.path)

    def _place(self, shard: Shard) -> list[tuple[int, int]]:
        """Go through a shard's posts as ``rows`` goes through a chunk's: (row index,
        where in ``skipped`` it is said) of each row whose key an earlier post has
        (said there once its path is known)."""
        seen, skipped, notes = self.seen, self.skipped, shard.notes
        images = {i: (content, when) for i, content, when in shard.images}
        taken: list[tuple[int, int]] = []
        at = 0  # the next note
        for i, key in enumerate(shard.keys):
            while at < len(notes) and notes[at][0] <= i:
                skipped.append(notes[at][1])
                at += 1
            if key in seen:
                taken.append((i, len(skipped)))
                skipped.append("")
                continue
            seen.add(key)
            if i in images:
                self._images(key, *images[i])
        skipped.extend(note for _, note in notes[at:])
        return taken

    def _images(self, key: str, content: str, when: str) -> None:
        from .assets import index_post_images

        stamp: datetime = parse_ts(when)  # type: ignore[assignment]
        index_post_images(self.store, self.files, key, content, stamp)


def _runs(n: int, taken: list[int]) -> list[tuple[int, int]]:
    """The runs (first, last) of rowids 1..n not in ``taken`` (indexes 0..n-1, rising)."""
    runs: list[tuple[int, int]] = []
    first = 1
    for i in taken:
        if i + 1 > first:
            runs.append((first, i))
        first = i + 2
    if first <= n:
        runs.append((first, n))
    return runs
