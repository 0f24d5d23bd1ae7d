"""A process that creates the new files of a large build (``SiteFiles.write``), so
that the kernel's work of creating and filling thousands of files is done on
another core than the rendering's.

The build sends each new file (its path and bytes, one ``writev`` to a pipe);
the writer creates it in place as ``SiteFiles`` does itself (a file of that
name already there: kept when it holds the same bytes, else replaced through a
temporary file renamed into place) and answers with its size, mtime and hash for
the manifest, or the error it met. Answers are read without waiting as the build
goes, and all of them before the build prunes, settles or saves its manifest
(``SiteFiles.wait``). The writer ends when its pipe closes (the build ended, or
was killed); an error ends the build as it would have in the build's process.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import struct
import subprocess
import sys
from collections.abc import Iterator

from .fsutil import holds, write_all

_HEAD = struct.Struct("<BII")  # op, path bytes, data bytes
_ANSWER = struct.Struct("<IBqq16s")  # seq, status, size (errno for an error), mtime_ns,
# the first 16 bytes of the SHA-1 of the bytes (``site_files.file_hash``)
NEW, SYNC = 1, 2
WRITTEN, KEPT, FAILED, SYNCED = 1, 2, 3, 4
_PIPE_BYTES = 1 << 20  # (F_SETPIPE_SZ: the build seldom waits for the writer)
_F_SETPIPE_SZ = 1031


class Writer:
    """The build's side: ``send`` files, ``answers`` as they come."""

    command = (sys.executable, "-m", "newsmirror.site_writer")

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0
        )  # fmt: skip
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._out = self.proc.stdin.fileno()
        self._in = self.proc.stdout.fileno()
        with contextlib.suppress(OSError):
            import fcntl

            fcntl.fcntl(self._out, _F_SETPIPE_SZ, _PIPE_BYTES)
        os.set_blocking(self._in, False)
        self._buf = b""
        self.seq = 0

    def send(self, path: str, raw: bytes) -> int:
        """Ask for the new file ``path``; its number in the answers."""
        p = path.encode("utf-8", "surrogateescape")
        self._write([_HEAD.pack(NEW, len(p), len(raw)), p, raw])
        self.seq += 1
        return self.seq - 1

    def _write(self, parts: list[bytes]) -> None:
        total = sum(len(x) for x in parts)
        done = os.writev(self._out, parts)
        if done < total:  # (a pipe write is partial only when interrupted)
            rest = b"".join(parts)[done:]
            while rest:
                rest = rest[os.write(self._out, rest) :]

    def answers(self, *, block: bool) -> Iterator[tuple[int, int, int, int, bytes]]:
        """The answers come so far; with ``block``, all of them up to a sync."""
        if block:
            self._write([_HEAD.pack(SYNC, 0, 0)])
            os.set_blocking(self._in, True)
        try:
            while True:
                try:
                    got = os.read(self._in, 1 << 16)
                except BlockingIOError:
                    return
                if not got:
                    raise OSError("the site's writer process ended")
                self._buf += got
                n = len(self._buf) - len(self._buf) % _ANSWER.size
                for k in range(0, n, _ANSWER.size):
                    seq, status, size, mtime, h = _ANSWER.unpack_from(self._buf, k)
                    if status == SYNCED:
                        self._buf = self._buf[k + _ANSWER.size :]
                        return
                    yield seq, status, size, mtime, h
                self._buf = self._buf[n:]
        finally:
            if block:
                os.set_blocking(self._in, False)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.stdin.close()  # type: ignore[union-attr]
        with contextlib.suppress(OSError):
            self.proc.stdout.close()  # type: ignore[union-attr]
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(30)


def _read_exact(fh: object, n: int) -> bytes:
    data = fh.read(n)  # type: ignore[attr-defined]
    if len(data) != n:
        raise EOFError
    return bytes(data)


def umask() -> int:
    """The process's umask, read without setting it (``os.umask`` sets it, for a moment,
    for every thread); 0o777 (so every file is chmod-ed) when it cannot be read."""
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status", "rb") as fh:
        for line in fh:
            if line.startswith(b"Umask:"):
                return int(line.split()[1], 8)
    return 0o777


def needs_chmod() -> bool:
    """Whether a file created 0o644 must be chmod-ed to be 0o644 (the umask takes
    some of those bits away)."""
    return umask() & 0o644 != 0


def digest16(raw: bytes) -> bytes:
    """The first 16 bytes of the SHA-1 of ``raw`` (``site_files.file_hash`` in hex)."""
    return hashlib.sha1(raw, usedforsecurity=False).digest()[:16]


def create(path: str, raw: bytes, chmod: bool) -> os.stat_result:
    """Create the file ``path`` (FileExistsError when there is one) holding ``raw``,
    mode 0o644 (``chmod``: see ``needs_chmod``); plain os calls, no file object. A
    file that could not be filled is removed again."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        try:
            write_all(fd, raw)
            if chmod:
                os.fchmod(fd, 0o644)
            return os.fstat(fd)
        finally:
            os.close(fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise


def replace_atomic(tmp: str, path: str, raw: bytes, chmod: bool) -> os.stat_result:
    """Put ``raw`` at ``path`` atomically: ``create`` the temporary file ``tmp``
    (FileExistsError when there is one), renamed into place (removed again when the
    rename fails)."""
    st = create(tmp, raw, chmod)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return st


def put(path: str, raw: bytes, chmod: bool, tmp: str) -> tuple[int, int, int]:
    """Create ``path`` holding ``raw``: (status, size, mtime_ns). A file of that name
    already there is kept when it holds the same bytes, else replaced atomically
    (written to ``tmp``, renamed): what ``SiteFiles.write`` does for a new file."""
    try:
        st = create(path, raw, chmod)
        return WRITTEN, st.st_size, st.st_mtime_ns
    except FileExistsError:
        pass
    st = os.stat(path)
    if holds(path, st, raw):
        return KEPT, st.st_size, st.st_mtime_ns
    st = replace_atomic(tmp, path, raw, chmod)
    return WRITTEN, st.st_size, st.st_mtime_ns


def serve() -> None:
    """The writer process: files from stdin, answers to stdout (flushed at a sync,
    and every 32 files)."""
    chmod = needs_chmod()
    inp, out = os.fdopen(0, "rb", buffering=1 << 20), os.fdopen(1, "wb", buffering=1 << 16)
    seq, n_tmp, pid = 0, 0, os.getpid()
    failed = 0  # an errno: every later file is refused (the build stops at the first)
    try:
        while True:
            op, plen, dlen = _HEAD.unpack(_read_exact(inp, _HEAD.size))
            if op == SYNC:
                out.write(_ANSWER.pack(0, SYNCED, 0, 0, b""))
                out.flush()
                continue
            path = _read_exact(inp, plen).decode("utf-8", "surrogateescape")
            raw = _read_exact(inp, dlen)
            answer, h = (FAILED, failed, 0), b""
            if not failed:
                h = digest16(raw)
                n_tmp += 1
                tmp = f"{path.rpartition('/')[0]}/.nm-{pid}-{n_tmp}"
                try:
                    answer = put(path, raw, chmod, tmp)
                except OSError as e:
                    failed = e.errno or 5
                    answer = (FAILED, failed, 0)
            out.write(_ANSWER.pack(seq, *answer, h))
            seq += 1
            if seq % 32 == 0:
                out.flush()
    except (EOFError, BrokenPipeError):
        with contextlib.suppress(OSError):
            out.flush()


if __name__ == "__main__":
    serve()
