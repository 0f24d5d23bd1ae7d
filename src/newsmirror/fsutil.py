"""Files written so that nothing is ever half-written, and one run at a time.

- ``MirrorFiles.write`` writes a temporary file under ``.newsmirror/tmp/`` and
  renames it into place: a run killed at any instant leaves either the old
  file or the new one, never a part. Temporary files left by a killed run are
  swept at the start of the next.
- Every target path is checked to stay inside the mirror's root.
- ``MirrorLock`` is an exclusive ``flock`` on ``.newsmirror/lock``.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from .errors import LockedError, NewsmirrorError


class PathEscapeError(NewsmirrorError):
    reason = "path_escape"


@contextlib.contextmanager
def atomic_file(target: Path, *, text: bool = False, prefix: str = ".nm-") -> Iterator[IO[Any]]:
    """A new file (mode 0644) that replaces ``target`` only when the block succeeds:
    written under a temporary name in the same folder, then renamed over it. For
    files outside the mirror's tree (the site, exports); posts go through
    :meth:`MirrorFiles.write`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=prefix)
    try:
        with os.fdopen(fd, "w" if text else "wb", **({"encoding": "utf-8"} if text else {})) as fh:
            os.fchmod(fh.fileno(), 0o644)
            yield fh
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_all(fd: int, raw: bytes) -> None:
    """Write all of ``raw`` to the open file ``fd`` (plain os calls, no file object:
    for the thousands of files of a run or a build)."""
    view = memoryview(raw)
    while view:
        view = view[os.write(fd, view) :]


def holds(path: str, st: os.stat_result, raw: bytes) -> bool:
    """The file ``path`` (of ``stat`` ``st``) holds exactly ``raw``."""
    if st.st_size != len(raw):
        return False
    with open(path, "rb") as fh:
        return fh.read() == raw


def atomic_write(target: Path, raw: bytes) -> None:
    """Write ``raw`` at ``target`` atomically (see :func:`atomic_file`)."""
    with atomic_file(target) as fh:
        fh.write(raw)


class WriteError(NewsmirrorError, OSError):
    """A mirror file could not be written (disk full, read-only, …): a one-line
    NewsmirrorError for the run, still an OSError for callers that handle those."""

    reason = "write"

    @classmethod
    def of(cls, exc: OSError, rel: object) -> WriteError:
        err = cls(f"{exc.strerror or exc}: {rel}")
        err.errno, err.strerror, err.filename = exc.errno, exc.strerror, str(rel)
        return err


class _Folder:
    """A folder of the mirror, resolved and checked once. Until it has been looked in
    :data:`LIST_AFTER` times, each name is checked with ``lstat``; then its entries are
    listed once (``scandir``: names and which are symlinks) and kept up to date by the
    writes, moves and copies of its :class:`MirrorFiles`, so that the checks of a run
    that writes hundreds of posts into one folder cost no system call."""

    __slots__ = ("path", "lookups", "names", "links")

    LIST_AFTER = 32

    def __init__(self, path: Path) -> None:
        self.path = str(path)
        self.lookups = 0
        self.names: set[str] | None = None  # every entry, once listed
        self.links: set[str] = set()  # the entries that are symlinks

    def _listed(self) -> bool:
        if self.names is None:
            self.lookups += 1
            if self.lookups < self.LIST_AFTER:
                return False
            names: set[str] = set()
            links: set[str] = set()
            try:
                with os.scandir(self.path) as it:
                    for e in it:
                        names.add(e.name)
                        if e.is_symlink():
                            links.add(e.name)
            except FileNotFoundError:
                pass  # (made by the first write into it)
            except OSError:  # unreadable, not a folder: keep asking the file system
                self.lookups = -(1 << 62)
                return False
            self.names, self.links = names, links
        return True

    def is_link(self, name: str) -> bool:
        if self._listed():
            return name in self.links
        return os.path.islink(f"{self.path}/{name}")

    def absent(self, name: str) -> bool:
        """True when the folder's listing shows nothing at ``name`` (False: there may be)."""
        return self.names is not None and name not in self.names

    def added(self, name: str) -> None:
        """A regular file was put at ``name`` (renamed over whatever was there)."""
        if self.names is not None:
            self.names.add(name)
            self.links.discard(name)

    def removed(self, name: str) -> None:
        if self.names is not None:
            self.names.discard(name)
            self.links.discard(name)


class MirrorFiles:
    """All writes into one mirror folder go through here.

    A name is looked up once its folder is resolved and checked: the name itself only
    needs to be no symlink to stay inside it. Which names of a folder are symlinks (and
    which exist) is learned from one listing of the folder after a few lookups (see
    :class:`_Folder`): entries made in the mirror during a run by anything but this
    object are not seen by it (the mirror's lock keeps other runs out)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.tmp = self.root / ".newsmirror" / "tmp"
        self.written = 0
        self._dirs: dict[str, _Folder] = {}  # folder (relative) -> resolved, checked
        self._by_path: dict[str, _Folder] = {}  # the same, by absolute path
        self._made: set[str] = set()  # folders known to exist
        self._tmp_count = itertools.count()  # (next() on it is atomic: thread-safe)

    def sweep(self) -> int:
        """Remove temporary files a killed run left behind; return how many."""
        if not self.tmp.is_dir():
            self.tmp.mkdir(parents=True, exist_ok=True)
            return 0
        n = 0
        for p in self.tmp.iterdir():
            with contextlib.suppress(OSError):
                p.unlink()
                n += 1
        return n

    def _folder(self, head: str) -> _Folder:
        folder = self._dirs.get(head)
        if folder is None:
            folder = _Folder(self._resolve(head) if head else self.root)
            folder = self._dirs[head] = self._by_path.setdefault(folder.path, folder)
        return folder

    def _locate(self, rel: str | Path) -> tuple[_Folder | None, str, str]:
        """(folder, name, absolute path) of ``rel``, refusing anything outside the root;
        the folder is None when the path had to be resolved (a symlink, ``..``)."""
        rel_s = rel if isinstance(rel, str) else str(rel)
        if "\x00" in rel_s:
            raise PathEscapeError(f"NUL byte in path {rel_s!r}", reason="path_escape")
        head, _, name = rel_s.rpartition("/")
        if name and name not in (".", "..") and not rel_s.startswith("/"):
            folder = self._folder(head)
            if not folder.is_link(name):
                return folder, name, f"{folder.path}/{name}"
        target = str(self._resolve(rel_s))
        return None, "", target

    def resolve(self, rel: str | Path) -> Path:
        """The absolute path of ``rel``, refusing anything outside the root."""
        return Path(self._locate(rel)[2])

    def _resolve(self, rel_s: str) -> Path:
        target = (self.root / rel_s).resolve()
        if target != self.root and self.root not in target.parents:
            raise PathEscapeError(f"path {rel_s!r} leaves the mirror folder", reason="path_escape")
        return target

    def read_text(self, rel: str | Path) -> str | None:
        """The file's text, or None when there is no such file (not a failure)."""
        folder, name, target = self._locate(rel)
        if folder is not None and folder.absent(name):
            return None
        try:
            with open(target, encoding="utf-8") as fh:
                return fh.read()
        except FileNotFoundError:
            return None

    def exists(self, rel: str | Path) -> bool:
        folder, name, target = self._locate(rel)
        if folder is not None and folder.absent(name):
            return False
        return os.path.exists(target)

    def write(self, rel: str | Path, data: str | bytes, *, if_changed: bool = False) -> bool:
        """Atomically write ``data`` at ``rel``. With ``if_changed``, skip when the
        file already holds exactly these bytes. Returns True when written."""
        folder, name, target = self._locate(rel)
        raw = data.encode("utf-8") if isinstance(data, str) else data
        if if_changed and not (folder is not None and folder.absent(name)):
            try:
                if holds(target, os.stat(target), raw):
                    return False
            except FileNotFoundError:
                pass
        parent = os.path.dirname(target)
        try:
            self._mkdir(parent)
            self._mkdir(str(self.tmp))
            fd, tmp_name = self._temp()
        except OSError as e:
            raise WriteError.of(e, rel) from None
        try:
            try:
                os.fchmod(fd, 0o644)
                write_all(fd, raw)
            finally:
                os.close(fd)
            try:
                os.replace(tmp_name, target)
            except FileNotFoundError:  # the folder went away since it was made
                self._made.discard(parent)
                self._mkdir(parent)
                os.replace(tmp_name, target)
        except BaseException as e:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
            if isinstance(e, OSError):
                raise WriteError.of(e, rel) from None
            raise
        self._added(folder, name, target)
        self.written += 1
        return True

    def _owner(self, folder: _Folder | None, name: str, target: str) -> tuple[_Folder | None, str]:
        """The listed folder and name of ``target`` (from ``_locate``; a path it had to
        resolve is looked up by its folder's absolute path)."""
        if folder is None:
            parent, _, name = target.rpartition("/")
            folder = self._by_path.get(parent)
        return folder, name

    def _added(self, folder: _Folder | None, name: str, target: str) -> None:
        folder, name = self._owner(folder, name, target)
        if folder is not None:
            folder.added(name)

    def _mkdir(self, folder: str) -> None:
        if folder not in self._made:
            os.makedirs(folder, exist_ok=True)
            self._made.add(folder)

    def _temp(self) -> tuple[int, str]:
        """A new temporary file (name unique to this process; never reused)."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        while True:
            name = f"{self.tmp}/.w-{os.getpid()}-{next(self._tmp_count)}"
            try:
                return os.open(name, flags, 0o600), name
            except FileExistsError:  # left by an earlier process with the same id
                continue
            except FileNotFoundError:  # the temporary folder went away: make it again
                self._made.discard(str(self.tmp))
                self._mkdir(str(self.tmp))
                return os.open(name, flags, 0o600), name

    def copy_once(self, src_rel: str | Path, dst_rel: str | Path) -> bool:
        """Copy ``src`` to ``dst`` unless ``dst`` exists (first copy wins: a rerun
        after a crash never overwrites a kept old version with a newer one)."""
        if self.exists(dst_rel):
            return False
        src = self.resolve(src_rel)
        try:
            data = src.read_bytes()
        except FileNotFoundError:
            return False
        return self.write(dst_rel, data)

    def move(self, src_rel: str | Path, dst_rel: str | Path) -> None:
        """Rename within the mirror (atomic on one file system)."""
        s_folder, s_name, src = self._locate(src_rel)
        d_folder, d_name, dst = self._locate(dst_rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        os.replace(src, dst)
        s_folder, s_name = self._owner(s_folder, s_name, src)
        if s_folder is not None:
            s_folder.removed(s_name)
        self._added(d_folder, d_name, dst)


class MirrorLock:
    """``with MirrorLock(root):`` holds the mirror for one run; a second run
    raises LockedError at once (or waits with ``wait=True``)."""

    def __init__(self, root: Path, *, wait: bool = False) -> None:
        self.path = Path(root) / ".newsmirror" / "lock"
        self.wait = wait
        self._fd: int | None = None

    def __enter__(self) -> MirrorLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if self.wait else fcntl.LOCK_NB))
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            os.close(fd)
            raise LockedError(
                f"another newsmirror run holds this mirror (pid {holder or '?'}); "
                "try again when it finishes",
                url=str(self.path.parent.parent),
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def iter_posts(posts_dir: Path) -> Iterator[Path]:
    """Every post file under ``posts_dir`` (``_archive`` included), in a stable order,
    streamed folder by folder."""
    if not posts_dir.is_dir():
        return
    stack = [posts_dir]
    while stack:
        d = stack.pop()
        entries = sorted(os.scandir(d), key=lambda e: e.name)
        subdirs = []
        for e in entries:
            if e.is_dir(follow_symlinks=False):
                subdirs.append(Path(e.path))
            elif e.name.endswith((".md", ".markdown", ".html")) and not e.name.startswith("."):
                yield Path(e.path)
        stack.extend(reversed(subdirs))


def disk_free(path: Path) -> int:
    return shutil.disk_usage(path).free
