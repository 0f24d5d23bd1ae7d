"""A run killed with SIGKILL at a random moment, then run again, leaves the same
tree as a run that was never interrupted; and the index still agrees with the files."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from newsmirror.loopback import LoopbackServer
from newsmirror.store import Store

from .helpers import FIXED_NOW, make_mirror, snapshot
from .test_pipeline import corpus_sources


def run_cli(root: Path, *, kill_after: float | None = None, kill_at_posts: int = 0) -> int | None:
    """Run ``newsmirror run``; kill it after ``kill_after`` seconds, or as soon as
    ``kill_at_posts`` posts exist (a kill that surely lands mid-run)."""
    env = {**os.environ, "NEWSMIRROR_NOW": FIXED_NOW}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "newsmirror",
            "run",
            "--quiet",
            "--config",
            str(root / "newsmirror.toml"),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # the kill takes the run's worker processes too
    )
    if kill_after is None:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()
        return proc.returncode
    deadline = time.monotonic() + kill_after
    posts = root / "_posts"
    while time.monotonic() < deadline and proc.poll() is None:
        if kill_at_posts and posts.is_dir() and len(os.listdir(posts)) >= kill_at_posts:
            break
        time.sleep(0.002)
    with contextlib.suppress(ProcessLookupError):  # it may have finished already
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    return None


def dump(root: Path) -> dict:
    with Store(root / ".newsmirror" / "index.sqlite") as store:
        return store.dump()


def test_sigkill_then_rerun_equals_uninterrupted(
    tmp_path: Path, server: LoopbackServer, corpus: Path
) -> None:
    sources = corpus_sources(server, corpus)
    clean = tmp_path / "clean"
    make_mirror(clean, sources)
    start = time.monotonic()
    run_cli(clean)
    full_time = time.monotonic() - start
    expected = snapshot(clean)
    total_posts = len([k for k in expected if k.startswith("_posts/")])
    assert total_posts > 100

    rnd = random.Random(20261128)
    trials = int(os.environ.get("NEWSMIRROR_KILL_TRIALS", "4"))
    for trial in range(trials):
        victim = tmp_path / f"killed-{trial}"
        make_mirror(victim, sources)
        # Kill it at random moments: once when a random number of posts exist (so
        # surely mid-write), then at a random time; then let it finish.
        partial = 0
        for kill in range(rnd.randint(2, 3)):
            have = len(os.listdir(victim / "_posts")) if (victim / "_posts").is_dir() else 0
            target = rnd.randint(have + 1, total_posts - 1) if kill == 0 else 0
            run_cli(victim, kill_after=rnd.uniform(0.2, full_time) + (30 if target else 0),
                    kill_at_posts=target)  # fmt: skip
            n = len(os.listdir(victim / "_posts")) if (victim / "_posts").is_dir() else 0
            partial += 0 < n < total_posts
        assert partial >= 1, f"trial {trial}: no kill landed mid-run"
        run_cli(victim)
        assert snapshot(victim) == expected, f"trial {trial}: tree differs"
        assert not list((victim / ".newsmirror" / "tmp").iterdir())
        # The index agrees with the files: it equals the uninterrupted run's.
        assert dump(victim) == dump(clean), f"trial {trial}: index differs"
