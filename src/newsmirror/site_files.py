"""The built site's files: atomic writes into any output folder, and the
manifest that makes builds incremental.

The manifest (in the mirror's ``.newsmirror/``; Python's ``marshal`` format, read
and written in a few milliseconds where JSON took tenths of a second for a large
site; a manifest that cannot be read only costs a full build) remembers, for every
file the build wrote, the hash of its bytes and the size and mtime it had on
disk; for every article and listing page, a signature of what it was made
from. A build compares signatures to skip rendering, and hashes plus ``stat``
to skip writing: a file whose bytes are unchanged is never rewritten, and a
file edited or deleted by hand is noticed and written again. Files the build
no longer makes are removed — only files the manifest says the build wrote,
never anything else in the output folder.

Article pages are thousands, and a ``stat`` of each per build was a good part
of an incremental build: the manifest also keeps the mtime of every folder the
build left settled (unchanged for a while), and a page whose folder still has
that mtime is claimed without its own ``stat`` (a file added, deleted or renamed
in a folder changes the folder's mtime; the build writes pages through a
temporary file renamed into place). Only an article page overwritten in place,
in a folder nothing else touched, goes unnoticed until its article changes.

A large build (a first one: thousands of new pages) hands its new files to a
writer process (``site_writer``) once it has created ``WRITER_AFTER`` itself, so
that creating them in the kernel is done beside the rendering; ``wait`` (and
``prune`` and ``settle``, which call it) has every answer in the manifest.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import itertools
import json
import marshal
import os
import struct
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import NewsmirrorError
from .fsutil import atomic_file, atomic_write, holds
from .site_writer import (
    FAILED,
    KEPT,
    Writer,
    create,
    digest16,
    needs_chmod,
    replace_atomic,
)

if TYPE_CHECKING:
    from .config import Config, SiteSettings

MANIFEST_VERSION = 3  # 3: one bytes object a file and one str an article (2: lists)
DEFAULT_OUT = "_site"
WRITER_AFTER = 300  # new files a build writes itself before it starts a writer process
SETTLED_NS = 2_000_000_000  # a folder changed less than this before a build ended is not
# trusted by the next (a change within the same clock tick would not move its mtime)


def digest(data: bytes | str) -> str:
    """A short, stable content hash (BLAKE2b, 128 bits, hex)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return hashlib.blake2b(raw, digest_size=16).hexdigest()


def file_hash(raw: bytes) -> bytes:
    """The hash of a written file's bytes kept in the manifest (128 bits of SHA-1:
    OpenSSL's is twice as fast as BLAKE2b on megabytes of pages and feeds)."""
    return digest16(raw)


# The manifest's records are held all build long, one or more for every article of
# the site: each is one object without references, not a list of four or six
# objects that the collector would also walk (a build of 100,000 articles: 217 ->
# 189 MB).
_STAT = struct.Struct("<qq")
SEP = "\x1f"  # between the fields of an article record (never in one of them)


def file_record(h: bytes, size: int, mtime_ns: int) -> bytes:
    """A written file's record: its hash (``file_hash``), size and mtime."""
    return h + _STAT.pack(size, mtime_ns)


def record_stat(rec: bytes) -> tuple[int, int]:
    """(size, mtime_ns) of a file record."""
    return _STAT.unpack_from(rec, 16)  # type: ignore[return-value]


def article_record(sig: str, lang: str, mark: str, href: str, published: str) -> str:
    """An article page's record: the signature it was made from, the language and
    mark it showed, its place and the publish time (ISO) it had."""
    return SEP.join((sig, lang, mark, href, published))


MAGIC = b"NMSM"  # the start of a manifest of version 3 (see Manifest.parts)
_LENGTH = struct.Struct("<Q")
_AT = len(MAGIC) + _LENGTH.size  # where the first part starts


def _digest_of(parts: list[bytes]) -> bytes:
    """A hash of the bytes ``parts`` make together."""
    h = hashlib.sha1(usedforsecurity=False)
    for part in parts:
        h.update(part)
    return h.digest()


def _head_end(start: bytes) -> int:
    """Where the first part of a manifest ends, from its first ``_AT`` bytes; 0 for
    a manifest of version 1 or 2 (one marshal object)."""
    return _AT + _LENGTH.unpack_from(start, len(MAGIC))[0] if start.startswith(MAGIC) else 0


def read_head(raw: bytes) -> tuple[Any, int]:
    """The first part of manifest bytes ``raw`` (everything but the file records)
    and where the file records start; a manifest of version 1 or 2 whole, and 0."""
    end = _head_end(raw[:_AT])
    return (marshal.loads(memoryview(raw)[_AT:end]), end) if end else (marshal.loads(raw), 0)


def load_head(path: Path) -> Any:
    """The first part of the manifest at ``path``, read alone (not the file records)."""
    with open(path, "rb") as fh:
        start = fh.read(_AT)
        end = _head_end(start)
        return marshal.loads(fh.read(end - _AT)) if end else marshal.loads(start + fh.read())


def _upgraded(data: dict[str, Any]) -> None:
    """The records of a version 1 or 2 manifest (lists) as this version keeps them;
    one of another shape is left out (its article is made again; its file, not
    pruned)."""
    files = {}
    for rel, rec in dict(data.get("files", {})).items():
        with contextlib.suppress(ValueError, TypeError, IndexError, struct.error):
            files[rel] = file_record(bytes.fromhex(rec[0]), rec[1], rec[2])
    data["files"] = files
    data["articles"] = {
        key: article_record(*rec)
        for key, rec in dict(data.get("articles", {})).items()
        if isinstance(rec, list) and len(rec) == 5 and all(isinstance(x, str) for x in rec)
    }
    data["version"] = MANIFEST_VERSION


def signature(*parts: object) -> str:
    """A hash of a tuple of simple values (str, int, None, nested tuples/lists)."""
    return digest(json.dumps(parts, ensure_ascii=False, separators=(",", ":"), default=str))


def site_dir(config: Config, out: Path | str | None, settings: SiteSettings) -> Path:
    """The folder a build of ``config``'s site goes into (resolved): ``out``, or the
    configured one (``settings.out``, under the mirror's root) when None."""
    return (Path(out) if out is not None else config.root / settings.out).resolve()


def manifest_path(config: Config, out: Path) -> Path:
    """The manifest of the site built into ``out`` (resolved) from the mirror of ``config``."""
    default = (config.root / DEFAULT_OUT).resolve()
    name = "site-manifest" if out == default else f"site-manifest-{digest(str(out))[:8]}"
    return config.state_dir / (name + ".bin")


class Manifest:
    """What the previous build made; loaded at the start, saved at the end."""

    def __init__(self, path: Path, out: Path) -> None:
        self.path = path
        self.out = str(out)
        self.build = ""
        self.files: dict[str, bytes] = {}  # rel -> file_record
        self.articles: dict[str, str] = {}  # key -> article_record
        self.pages: dict[str, str] = {}  # rel (or name) -> input signature
        self.extra: dict[str, Any] = {}  # e.g. the search shard layout
        self._loaded = b""

    @classmethod
    def load(cls, path: Path, out: Path) -> Manifest:
        m = cls(path, out)
        collecting = gc.isenabled()
        gc.disable()  # a large manifest is 100,000s of objects: no collection while they come
        try:
            raw = path.read_bytes()
            data, files_at = read_head(raw)
            if files_at:
                data["files"] = marshal.loads(memoryview(raw)[files_at:])
        except (OSError, ValueError, EOFError, TypeError, struct.error):
            raw, data = b"", None
        finally:
            if collecting:
                gc.enable()
        if data is None:  # the JSON manifest of earlier versions: its files are ours
            with contextlib.suppress(OSError, ValueError):
                data = json.loads(path.with_suffix(".json").read_bytes())
                data["version"] = 2
        if isinstance(data, dict) and data.get("version") in (1, 2):
            _upgraded(data)
        if (
            not isinstance(data, dict)
            or data.get("version") != MANIFEST_VERSION
            or data.get("out") != m.out
        ):
            return m
        m.build = str(data.get("build", ""))
        m.files = dict(data.get("files", {}))
        m.articles = dict(data.get("articles", {}))
        m.pages = dict(data.get("pages", {}))
        m.extra = dict(data.get("extra", {}))
        m._loaded = _digest_of([raw])  # (what it was made of need not be kept)
        return m

    def parts(self) -> list[bytes]:
        """The manifest's bytes: ``MAGIC`` and the length of the first part, the first
        part (everything but the file records), then the file records (two marshal
        objects; the rows child, ``site_rows``, reads the first one only:
        ``load_head``). In parts: a big site's manifest is tens of megabytes."""
        data = {
            "version": MANIFEST_VERSION,
            "out": self.out,
            "build": self.build,
            # In the order the records came (tens of thousands: sorting them costs more
            # than all the rest); equal records in the same order give equal bytes.
            "articles": self.articles,
            "pages": dict(sorted(self.pages.items())),
            "extra": self.extra,
        }
        # (marshal version 2: no object references, so equal data always gives equal bytes)
        head = marshal.dumps(data, 2)
        return [MAGIC + _LENGTH.pack(len(head)), head, marshal.dumps(self.files, 2)]

    def save(self) -> bool:
        """Write the manifest atomically when it changed; True when written."""
        parts = self.parts()
        made = _digest_of(parts)
        if made == self._loaded:
            return False
        with atomic_file(self.path) as fh:
            for part in parts:
                fh.write(part)
        self._loaded = made
        with contextlib.suppress(OSError):
            self.path.with_suffix(".json").unlink()
        return True


class SiteFiles:
    """Writes into the output folder; only bytes that changed reach the disk.

    Paths are plain strings and ``os`` calls (no pathlib): a build stats tens
    of thousands of files."""

    def __init__(self, out: Path, manifest: Manifest) -> None:
        self.out = Path(out).resolve()
        self._root = str(self.out) + "/"
        self.manifest = manifest
        self.made: set[str] = set()  # every file this build produced (written or kept)
        self.written = 0
        self.kept = 0
        self._dirs: set[str] = set()  # folders known to exist
        self._tmp = itertools.count()
        self._chmod = needs_chmod()
        self._settled = self._settled_folders()
        # New files go to a writer process once a build has made this many itself.
        self.writer_after = WRITER_AFTER
        self._writer: Writer | None = None
        self._created = 0
        self._no_writer = False
        self._pending: dict[int, tuple[str, bytes]] = {}  # writer's number -> (rel, bytes):
        # the bytes are kept until it answered, in case it ends too soon
        self._pending_rels: set[str] = set()

    def _settled_folders(self) -> frozenset[str]:
        """The folders nothing was added to, deleted from or renamed in since the
        previous build recorded them (see the module's docstring)."""
        found = []
        for folder, mtime in self.manifest.extra.get("folders", {}).items():
            try:
                if os.stat(self._root + folder).st_mtime_ns == mtime:
                    found.append(folder)
            except OSError:
                pass
        return frozenset(found)

    def settle(self) -> None:
        """Record the mtimes of the folders of the files this build made, when
        unchanged for ``SETTLED_NS`` (after ``prune``, before the manifest is saved)."""
        self.close()
        folders = {rel.rpartition("/")[0] for rel in self.made}
        before = time.time_ns() - SETTLED_NS
        settled: dict[str, int] = {}
        for folder in sorted(folders):
            try:
                mtime = os.stat(self._root + folder).st_mtime_ns
            except OSError:
                continue
            if mtime < before:
                settled[folder] = mtime
        self.manifest.extra["folders"] = settled

    def path(self, rel: str) -> str:
        """The file ``rel`` of the output folder (checked: never outside it)."""
        if "\x00" in rel or rel.startswith("/") or ".." in rel.split("/"):
            raise NewsmirrorError(f"bad output path {rel!r}", reason="site_path")
        return self._root + rel

    def _on_disk(self, rel: str, path: str, h: bytes, raw: bytes) -> int:
        """1 when the file already holds ``raw``, 0 when it holds something else,
        -1 when there is no file."""
        rec = self.manifest.files.get(rel)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return -1
        if rec is not None and rec == file_record(h, st.st_size, st.st_mtime_ns):
            return 1
        if holds(path, st, raw):  # no record: compare bytes
            self.manifest.files[rel] = file_record(h, st.st_size, st.st_mtime_ns)
            return 1
        return 0

    def _put(self, path: str, raw: bytes, *, new: bool) -> os.stat_result:
        """Write ``path``: a new file in place (no page links to it before the build
        ends; an interrupted build leaves no manifest record, so the next one rewrites
        it), an existing one atomically (temporary file in the same folder, renamed)."""
        st = self._create(path, raw, new=new)
        if st is None:  # there is a file of that name after all
            atomic_write(Path(path), raw)
            return os.stat(path)
        return st

    def _create(self, path: str, raw: bytes, *, new: bool) -> os.stat_result | None:
        """``_put`` when the file it creates (``path`` itself when ``new``, else a
        temporary one) does not exist yet; None when it does."""
        folder = self._folder(path)
        try:
            if new:
                return create(path, raw, self._chmod)
            tmp = f"{folder}/.nm-{os.getpid()}-{next(self._tmp)}"
            return replace_atomic(tmp, path, raw, self._chmod)
        except FileExistsError:
            return None

    def _folder(self, path: str) -> str:
        """The folder of ``path``, made when the build did not know it to exist."""
        folder = path.rpartition("/")[0]
        if folder not in self._dirs:
            os.makedirs(folder, exist_ok=True)
            self._dirs.add(folder)
        return folder

    def write(self, rel: str, data: str | bytes) -> bool:
        """Put ``data`` at ``rel`` unless the file already holds it; True when written
        (a new file given to the writer process counts as written)."""
        raw = data.encode("utf-8") if isinstance(data, str) else data
        path = self.path(rel)
        if rel in self._pending_rels:
            self.wait()
        self.made.add(rel)
        if rel not in self.manifest.files:  # no build wrote it: most likely a new file
            if self._created >= self.writer_after and self._to_writer(rel, path, raw):
                return True  # (the writer hashes the bytes)
            self._created += 1
        return self._write_now(rel, path, raw, file_hash(raw))

    def _write_now(self, rel: str, path: str, raw: bytes, h: bytes) -> bool:
        if rel not in self.manifest.files:
            created = self._create(path, raw, new=True)
            if created is not None:
                self.manifest.files[rel] = file_record(h, created.st_size, created.st_mtime_ns)
                self.written += 1
                return True
        state = self._on_disk(rel, path, h, raw)
        if state == 1:
            self.kept += 1
            return False
        st = self._put(path, raw, new=state < 0)
        self.manifest.files[rel] = file_record(h, st.st_size, st.st_mtime_ns)
        self.written += 1
        return True

    # ------------------------------------------------------------ the writer process

    def _to_writer(self, rel: str, path: str, raw: bytes) -> bool:
        """Have the writer process create ``path`` (see ``site_writer``); False when
        there is none (it could not start, or ended: the build writes its files
        itself, those it had not answered for too)."""
        if self._writer is None:
            if self._no_writer:
                return False
            try:
                self._writer = Writer()
            except OSError:
                self._no_writer = True
                return False
        self._folder(path)
        try:
            seq = self._writer.send(path, raw)
        except OSError:
            self._writer_gone()
            return False
        self._pending[seq] = (rel, raw)
        self._pending_rels.add(rel)
        if seq % 32 == 31:
            self._answers(block=False)
        return True

    def _answers(self, *, block: bool) -> None:
        assert self._writer is not None
        try:
            for seq, status, size, mtime, h in self._writer.answers(block=block):
                rel, _raw = self._pending.pop(seq)
                self._pending_rels.discard(rel)
                if status == FAILED:
                    raise NewsmirrorError(f"cannot write {rel}: {os.strerror(size)}",
                                          reason="site_write")  # fmt: skip
                self.manifest.files[rel] = file_record(h, size, mtime)
                if status == KEPT:
                    self.kept += 1
                else:
                    self.written += 1
        except OSError:
            self._writer_gone()

    def _writer_gone(self) -> None:
        """The writer process ended before its time: the files it did not answer
        for are written here."""
        assert self._writer is not None
        self._writer.close()
        self._writer, self._no_writer = None, True
        pending, self._pending = self._pending, {}
        self._pending_rels.clear()
        for rel, raw in pending.values():
            self._write_now(rel, self.path(rel), raw, file_hash(raw))

    def wait(self) -> None:
        """Every file sent to the writer process is on disk and in the manifest."""
        if self._writer is not None and self._pending:
            self._answers(block=True)

    def close(self) -> None:
        """``wait``, then end the writer process (prune and settle do it first)."""
        if self._writer is not None:
            try:
                self.wait()
            finally:
                if self._writer is not None:
                    self._writer.close()
                    self._writer = None

    def intact(self, rel: str) -> bool:
        """The file ``rel`` is on disk as the manifest records it (size and mtime);
        not claimed (see ``keep``)."""
        if rel in self._pending_rels:
            self.wait()
        rec = self.manifest.files.get(rel)
        if rec is None:
            return False
        try:
            st = os.stat(self._root + rel)
        except FileNotFoundError:
            return False
        return record_stat(rec) == (st.st_size, st.st_mtime_ns)

    def keep(self, rel: str) -> bool:
        """Claim a file this build did not re-render (its inputs are unchanged).
        False when it is missing or was changed on disk: the caller renders it."""
        if not self.intact(rel):
            return False
        self.made.add(rel)
        self.kept += 1
        return True

    def keep_in(self, prefixes: Iterable[str], rel: str) -> bool:
        """``keep`` the file ``rel`` of each tree (``prefixes``); False when one is
        missing or was changed on disk (a loop of the pass over every article)."""
        return self.keeper(tuple(prefixes))(rel)

    def keeper(self, prefixes: tuple[str, ...]) -> Callable[[str], bool]:
        """``keep_in`` for these ``prefixes`` as one function (called for every article
        of a build: the names it needs are bound once). A file in a settled folder is
        claimed on its manifest record alone (see the module's docstring)."""
        files, made, settled, intact = self.manifest.files, self.made, self._settled, self.intact

        def keep_one(rel: str) -> bool:
            if rel not in files or (rel.rpartition("/")[0] not in settled and not intact(rel)):
                return False
            made.add(rel)
            self.kept += 1
            return True

        if prefixes == ("",):
            return keep_one
        return lambda rel: all(keep_one(prefix + rel) for prefix in prefixes)

    def prune(self) -> list[str]:
        """Remove files an earlier build wrote that this build did not make."""
        self.close()
        gone = sorted(set(self.manifest.files) - self.made)
        for rel in gone:
            path = self.path(rel)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            del self.manifest.files[rel]
            parent = os.path.dirname(path)
            while parent + "/" != self._root and parent.startswith(self._root):
                try:
                    os.rmdir(parent)
                except OSError:
                    break
                self._dirs.discard(parent)
                parent = os.path.dirname(parent)
        return gone
