"""Two runs on one mirror at once: the second exits at once with one clear line (or,
asked to, waits), and never writes while the first holds the mirror."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from newsmirror.errors import LockedError
from newsmirror.fsutil import MirrorLock
from newsmirror.loopback import LoopbackServer

from .faults import RSS_TYPE, good_feed
from .helpers import FIXED_NOW, make_mirror

# The CLI under an audit hook that reports every write-like file operation under the
# mirror (other than taking the lock) on stdout as "WROTE <event> <path>".
AUDITED = """
import os, sys
root = os.path.realpath(sys.argv[1])
WRITE_EVENTS = {"os.rename", "os.replace", "os.remove", "os.mkdir", "os.rmdir", "os.truncate",
                "shutil.copyfile", "shutil.move", "os.chmod", "os.symlink", "os.link"}
def hook(event, args):
    if event == "open":
        path, mode, flags = args
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
        if writing and isinstance(path, (str, bytes, os.PathLike)):
            p = os.path.realpath(os.fsdecode(path))
            if p.startswith(root) and not p.endswith(os.sep + "lock"):
                print("WROTE", event, p, flush=True)
    elif event in WRITE_EVENTS:
        p = os.path.realpath(os.fsdecode(args[0])) if args and isinstance(args[0], (str, bytes, os.PathLike)) else ""
        if p.startswith(root) and not (event == "os.mkdir" and os.path.isdir(p)):
            print("WROTE", event, p, flush=True)
sys.addaudithook(hook)
sys.argv = ["newsmirror", *sys.argv[2:]]
from newsmirror.cli import main
main()
"""


def start(root: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "NEWSMIRROR_NOW": FIXED_NOW}
    cmd = [
        sys.executable,
        "-c",
        AUDITED,
        str(root),
        *args,
        "--config",
        str(root / "newsmirror.toml"),
    ]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_second_run_exits_clearly_and_writes_nothing(
    tmp_path: Path, server: LoopbackServer
) -> None:
    server.add("/a.xml", good_feed(server.base_url, "a"), content_type=RSS_TYPE)
    server.add("/slow.xml", good_feed(server.base_url, "s"), content_type=RSS_TYPE, delay=4.5)
    root = tmp_path / "m"  # sources are written in order: nothing is written while slow waits
    make_mirror(root, [("慢", "slow", server.url("/slow.xml")), ("甲", "a", server.url("/a.xml"))])
    first = start(root, "run", "--quiet")
    lock = root / ".newsmirror" / "lock"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not (lock.exists() and lock.read_text().strip()):
        time.sleep(0.02)
    holder = lock.read_text().strip()
    assert holder == str(first.pid)
    while time.monotonic() < deadline and server.hits["/slow.xml"] == 0:
        time.sleep(0.02)  # the first run is now mid-fetch, holding the mirror
    seconds = [start(root, "run", "--quiet"), start(root, "reindex")]  # both at once
    for second in seconds:
        out, err = second.communicate(timeout=60)
        assert second.returncode == 1, (out, err)
        line = err.strip()
        assert (
            "\n" not in line and f"another newsmirror run holds this mirror (pid {holder})" in line
        )
        assert first.poll() is None  # the refusal came while the first was still running
        assert "WROTE" not in out, out  # not one file of the mirror touched by the second

    first_out, _ = first.communicate(timeout=60)
    assert first.returncode == 0
    assert "WROTE" in first_out  # the audit does see a run's writes
    assert len(list((root / "_posts").glob("*.md"))) == 8
    assert lock.read_text().strip() == ""  # released, and no stale pid left behind
    again = start(root, "run", "--quiet")
    assert again.wait(timeout=60) == 0


def test_a_waiting_run_starts_only_after_the_first_ends(tmp_path: Path) -> None:
    order: list[str] = []
    held = threading.Event()

    def first() -> None:
        with MirrorLock(tmp_path):
            order.append("first in")
            held.set()
            time.sleep(0.4)
            order.append("first out")

    t = threading.Thread(target=first)
    t.start()
    held.wait(5)
    with pytest.raises(LockedError), MirrorLock(tmp_path):
        order.append("never")
    with MirrorLock(tmp_path, wait=True):
        order.append("second in")
    t.join()
    assert order == ["first in", "first out", "second in"]


def test_lock_dies_with_its_process(tmp_path: Path) -> None:
    """A run killed while holding the mirror leaves no lock behind (flock, not a pid file)."""
    code = f"from newsmirror.fsutil import MirrorLock; import time\nwith MirrorLock({str(tmp_path)!r}):\n print('in', flush=True); time.sleep(60)"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "in"
    with pytest.raises(LockedError), MirrorLock(tmp_path):
        pass
    proc.kill()
    proc.wait(10)
    with MirrorLock(tmp_path):  # free at once
        pass
