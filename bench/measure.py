"""Run one command as a whole process and measure its wall time and peak memory.

Peak RSS is the largest of three readings:

* ``ru_maxrss`` of the command as seen by GNU time (``/usr/bin/time -f %M``,
  Debian package ``time``) when it is installed: the kernel's exact high-water
  mark of the command's largest process. It is taken from a tiny wrapper on
  purpose: Linux carries the *pre-exec* high-water mark into ``ru_maxrss``, so
  a process forked straight from this (large) benchmark process would report at
  least the benchmark's own size. For the same reason neither ``os.wait4`` of
  our child nor ``getrusage(RUSAGE_CHILDREN)`` (a maximum over every child ever
  waited for) is used.
* ``VmHWM`` (the high-water mark of the process's own address space, which
  starts afresh at exec) of every process of the tree, sampled: exact except for
  growth in the last sampling interval before exit. This is the reading when GNU
  time is missing.
* the summed ``VmRSS`` of the command's whole process tree, sampled every
  ``sample_every`` seconds: what a worker pool costs together, which no
  per-process number shows. Being sampled, it can miss short spikes.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

GNU_TIME = "/usr/bin/time"


@dataclass(frozen=True, slots=True)
class Measurement:
    seconds: float
    peak_rss_mb: float  # the largest of the readings below
    maxrss_mb: float  # exact ru_maxrss via GNU time (0 when it is not installed)
    hwm_mb: float  # sampled VmHWM of the largest process
    tree_peak_mb: float  # sampled peak of the summed RSS of the process tree
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


@functools.lru_cache(maxsize=1)
def has_gnu_time() -> bool:
    try:
        r = subprocess.run([GNU_TIME, "-f", "%M", "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return r.returncode == 0 and r.stderr.strip().isdigit()


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out.extend(int(c) for c in f.read().split())
    except OSError:
        pass
    return out


def _status_kb(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of one process in KiB; zeros when it is gone."""
    rss = hwm = 0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return rss, hwm


def tree_pids(pid: int) -> list[int]:
    """``pid`` and all its descendants, now."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        if p not in out:
            out.append(p)
            todo.extend(_children(p))
    return out


class _Sampler(threading.Thread):
    def __init__(self, pid: int, every: float, skip_root: bool) -> None:
        super().__init__(daemon=True)
        self.pid, self.every, self.skip_root = pid, every, skip_root
        self.tree_kb = self.hwm_kb = 0
        self.done = threading.Event()

    def sample(self) -> None:
        pids = tree_pids(self.pid)
        if self.skip_root:  # the GNU time wrapper itself is not the command
            pids = pids[1:]
        total = 0
        for p in pids:
            rss, hwm = _status_kb(p)
            total += rss
            self.hwm_kb = max(self.hwm_kb, hwm)
        self.tree_kb = max(self.tree_kb, total)

    def run(self) -> None:
        while not self.done.is_set():
            self.sample()
            self.done.wait(self.every)


def run_measured(
    cmd: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    timeout: float = 1800.0,
    sample_every: float = 0.025,
    gnu_time: bool | None = None,
) -> Measurement:
    """Run ``cmd`` to completion; wall time is from just before the fork to the reap."""
    use_time = has_gnu_time() if gnu_time is None else gnu_time
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.NamedTemporaryFile(suffix=".maxrss") as rss_file,
    ):
        argv = [GNU_TIME, "-f", "%M", "-o", rss_file.name, *cmd] if use_time else list(cmd)
        start = time.perf_counter()
        proc = subprocess.Popen(
            argv,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,  # so a timeout can end the whole tree
        )
        sampler = _Sampler(proc.pid, sample_every, skip_root=use_time)
        sampler.start()
        killer = threading.Timer(timeout, _kill_group, (proc.pid,))
        killer.start()
        try:
            proc.wait()
        finally:
            elapsed = time.perf_counter() - start
            killer.cancel()
            sampler.done.set()
            sampler.join()
            if proc.returncode is None:  # interrupted: take the command down with us
                _kill_group(proc.pid)
        out.seek(0)
        err.seek(0)
        maxrss_kb = _last_int(Path(rss_file.name).read_text(errors="replace")) if use_time else 0
        readings = (maxrss_kb / 1024, sampler.hwm_kb / 1024, sampler.tree_kb / 1024)
        return Measurement(
            seconds=elapsed,
            peak_rss_mb=max(readings),
            maxrss_mb=readings[0],
            hwm_mb=readings[1],
            tree_peak_mb=readings[2],
            returncode=proc.returncode,
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
        )


def _last_int(text: str) -> int:
    """GNU time's %M is its last line (a failed command gets a status line before it)."""
    for line in reversed(text.strip().splitlines()):
        if line.strip().isdigit():
            return int(line.strip())
    return 0


def _kill_group(pid: int) -> None:
    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGKILL)


def byte_compile() -> None:
    """Byte-compile the newsmirror package being measured, as installing it does
    (``pip install .``): where PYTHONDONTWRITEBYTECODE is set (as on the machine
    these numbers come from) an editable install never gets its ``.pyc`` files,
    and every process would compile every module it imports."""
    import compileall
    import importlib.util

    spec = importlib.util.find_spec("newsmirror")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        compileall.compile_dir(folder, quiet=1)
