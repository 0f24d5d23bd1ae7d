"""A full disk fails the run cleanly and loses nothing already written.

Two forms: a real, small tmpfs under the mirror (where the machine lets root mount
one), and a simulated ENOSPC from the atomic writer (everywhere). In both, the run
that hits the full disk ends without a traceback, says what failed, leaves no partial
file, keeps every post written before; a run after space is freed converges on the
tree of a run that never hit the wall.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from newsmirror.errors import NewsmirrorError
from newsmirror.loopback import LoopbackServer
from newsmirror.pipeline import run
from newsmirror.postfile_record import parse_post
from newsmirror.store import Store, parse_ts

from .faults import RSS_TYPE, good_feed, rss
from .helpers import FIXED_NOW, make_mirror, snapshot

NOW = parse_ts(FIXED_NOW)


def bulky_feed(base: str, n: int = 40) -> bytes:
    """Items of ~25 KB each (synthetic text): a few dozen fill a small disk."""
    para = "<p>" + "議會今日針對預算案進行第三輪審查，多位議員提出修正意見。" * 300 + "</p>"
    items = [(f"長文第{i}篇", f"{base}/long/{i}.html", para * 1) for i in range(n)]
    return rss(items).encode()


def posts_parse(root: Path) -> int:
    n = 0
    for p in (root / "_posts").rglob("*.md"):
        parse_post(p.read_text(encoding="utf-8"), path=p.name)
        n += 1
    return n


def cli_run(root: Path) -> subprocess.CompletedProcess[str]:
    """``newsmirror run`` in a child (a real process: a real ENOSPC, a real exit)."""
    env = {**os.environ, "NEWSMIRROR_NOW": FIXED_NOW}
    return subprocess.run(
        [sys.executable, "-m", "newsmirror", "run", "--quiet", "--config", str(root / "newsmirror.toml")],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@dataclass
class FullDisk:
    """The real full-disk scenario's observations."""

    before: dict[str, str]
    full_run: subprocess.CompletedProcess[str]
    after_full: dict[str, str]
    partial_tmp: list[str]
    unreadable: list[str]
    final: dict[str, str]
    clean: dict[str, str]
    index_equal: bool


@pytest.fixture(scope="module")
def full_disk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FullDisk]:
    """A mirror on a 512 KiB tmpfs: a small run fits, a bulky one does not; then the
    tmpfs grows to 64 MiB and the run is repeated."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    base = tmp_path_factory.mktemp("disk")
    mnt = base / "small"
    mnt.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mnt)],
                          capture_output=True, text=True)  # fmt: skip
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    try:
        with LoopbackServer() as server:
            server.add("/small.xml", good_feed(server.base_url, "s", 4), content_type=RSS_TYPE)
            server.add("/bulky.xml", bulky_feed(server.base_url), content_type=RSS_TYPE)
            small = [("小", "small", server.url("/small.xml"))]
            both = small + [("大", "bulky", server.url("/bulky.xml"))]
            root = mnt / "m"
            make_mirror(root, small)
            assert cli_run(root).returncode == 0
            before = snapshot(root)
            make_mirror(root, both)  # the bulky feed does not fit
            full_run = cli_run(root)
            after_full = snapshot(root)
            tmp = root / ".newsmirror" / "tmp"
            partial = [p.name for p in tmp.iterdir()] if tmp.is_dir() else []
            unreadable = []
            for post in (root / "_posts").rglob("*.md"):
                try:
                    parse_post(post.read_text(encoding="utf-8"), path=post.name)
                except Exception as e:  # noqa: BLE001 - any unreadable post is the finding
                    unreadable.append(f"{post.name}: {e}")
            subprocess.run(["mount", "-o", "remount,size=64m", str(mnt)], check=True)
            assert cli_run(root).returncode == 0
            clean = base / "clean"
            make_mirror(clean, both)
            assert cli_run(clean).returncode == 0
            with Store(root / ".newsmirror" / "index.sqlite") as a, \
                    Store(clean / ".newsmirror" / "index.sqlite") as b:  # fmt: skip
                equal = a.dump()["articles"] == b.dump()["articles"]
            yield FullDisk(before, full_run, after_full, partial, unreadable, snapshot(root),
                           snapshot(clean), equal)  # fmt: skip
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_real_full_disk_loses_nothing_and_the_next_run_converges(full_disk: FullDisk) -> None:
    d = full_disk
    assert d.full_run.returncode != 0  # it did hit the wall
    old_posts = {k: v for k, v in d.before.items() if k.startswith("_posts/")}
    assert len(old_posts) == 4
    assert {k: d.after_full.get(k) for k in old_posts} == old_posts  # byte for byte
    assert d.unreadable == []  # no partial post
    assert d.final == d.clean and d.index_equal


def test_real_full_disk_ends_with_one_clear_line(full_disk: FullDisk) -> None:
    out = full_disk.full_run.stdout + full_disk.full_run.stderr
    assert "Traceback" not in out, out[-2000:]
    assert full_disk.full_run.returncode == 1
    line = full_disk.full_run.stderr.strip()
    assert line.startswith("newsmirror: No space left on device: ") and "\n" not in line, line


def test_simulated_enospc_fails_the_run_cleanly_then_converges(
    tmp_path: Path, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC from the file system after five files (the writer's own error path)."""
    server.add("/bulky.xml", bulky_feed(server.base_url, 12), content_type=RSS_TYPE)
    triples = [("大", "bulky", server.url("/bulky.xml"))]
    cfg = make_mirror(tmp_path / "m", triples)
    real_write = os.write
    budget = {"files": 5}
    tmp = str(cfg.root / ".newsmirror" / "tmp")

    def write(fd: int, data: bytes) -> int:
        # (only the writer's temporary files: not pipes, sockets or the index)
        if os.readlink(f"/proc/self/fd/{fd}").startswith(tmp + "/"):
            if budget["files"] <= 0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            budget["files"] -= 1
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)
    with pytest.raises(NewsmirrorError) as info:
        run(cfg, now=NOW)
    assert info.value.reason == "write" and "\n" not in str(info.value)
    assert str(info.value).startswith("No space left on device: lists/")
    assert posts_parse(cfg.root) == 5  # the five written are whole, nothing partial
    assert not list((cfg.root / ".newsmirror" / "tmp").iterdir())

    monkeypatch.setattr(os, "write", real_write)
    run(cfg, now=NOW)  # space is back: the next run finishes the work
    clean = make_mirror(tmp_path / "clean", triples)
    run(clean, now=NOW)
    assert snapshot(cfg.root) == snapshot(clean.root)
    with Store(cfg.index_path) as a, Store(clean.index_path) as b:
        assert a.dump()["articles"] == b.dump()["articles"]
    assert len(list((cfg.root / "_posts").glob("*.md"))) == 12
