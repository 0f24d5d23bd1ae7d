"""Many SIGKILL trials over the real-world corpus (the long form of tests/test_crash.py).

    python chaos/kill_loop.py --trials 50 [--seed 1] [--corpus PATH]

Each trial starts a fresh mirror and kills ``newsmirror run`` 1–4 times at random
moments (half of the kills when a random number of posts exist, so they surely land
mid-write; the others at a random time). After every kill: every post file parses,
nothing is left half-written outside ``.newsmirror/tmp``, and every article the index
knows is on disk (nothing already kept is lost). After the last kill a normal run
finishes the work, and then the tree equals an uninterrupted run's, the index equals
its index, and ``reindex`` gives the same index again. Prints one line per trial and
a summary with the number of kills; exits 1 on the first broken invariant.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers import FIXED_NOW, make_mirror, snapshot  # noqa: E402
from tests.test_pipeline import corpus_sources  # noqa: E402

from newsmirror.config import load_config  # noqa: E402
from newsmirror.loopback import LoopbackServer  # noqa: E402
from newsmirror.postfile_record import parse_post  # noqa: E402
from newsmirror.reindex import reindex  # noqa: E402
from newsmirror.store import Store  # noqa: E402

ORPHANS: list[int] = []  # kills after which the run's worker processes outlived it


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def newsmirror_run(root: Path, *, kill_after: float | None = None, kill_at_posts: int = 0) -> None:
    """One ``newsmirror run`` in its own session; SIGKILL to the main process only (as
    the OOM killer would), then the run's leftover workers are noted and reaped."""
    env = {**os.environ, "NEWSMIRROR_NOW": FIXED_NOW}
    cmd = [
        sys.executable,
        "-m",
        "newsmirror",
        "run",
        "--quiet",
        "--config",
        str(root / "newsmirror.toml"),
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # fmt: skip
    if kill_after is None:
        if proc.wait(timeout=600) != 0:
            raise SystemExit(f"an uninterrupted run of {root} failed (exit {proc.returncode})")
        return
    deadline = time.monotonic() + kill_after
    posts = root / "_posts"
    while time.monotonic() < deadline and proc.poll() is None:
        if kill_at_posts and posts.is_dir() and len(os.listdir(posts)) >= kill_at_posts:
            break
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    end = time.monotonic() + 5
    while _group_alive(proc.pid) and time.monotonic() < end:
        time.sleep(0.1)
    if _group_alive(proc.pid):  # workers outlived their parent by 5 s: note, then reap
        ORPHANS.append(proc.pid)
        os.killpg(proc.pid, signal.SIGKILL)


def dump(root: Path) -> dict:
    with Store(root / ".newsmirror" / "index.sqlite") as store:
        return store.dump()


def check_after_kill(root: Path) -> list[str]:
    """Invariants that hold at any instant: whole files, nothing kept is lost."""
    problems = []
    for p in sorted((root / "_posts").rglob("*.md")) if (root / "_posts").is_dir() else []:
        try:
            parse_post(p.read_text(encoding="utf-8"), path=p.name)
        except Exception as e:  # noqa: BLE001 - any unreadable post is a finding
            problems.append(f"unreadable {p.name}: {e}")
    stray = [
        p for p in root.rglob("*") if p.name.startswith(".w-") and ".newsmirror" not in p.parts
    ]
    problems += [f"temporary file outside .newsmirror/tmp: {p}" for p in stray]
    index = root / ".newsmirror" / "index.sqlite"
    if index.exists():
        try:
            with Store(index) as store:
                for art in store.iter_articles():
                    if not (root / art.path).is_file():
                        problems.append(f"index knows {art.path} but the file is gone")
        except Exception as e:  # noqa: BLE001
            problems.append(f"index unreadable after a kill: {e}")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    args = ap.parse_args()
    if not (args.corpus / "feeds").is_dir():
        print(f"corpus not found at {args.corpus}", file=sys.stderr)
        return 2
    rnd = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="nm-kill-"))
    kills = mid_run = 0
    started = time.monotonic()
    try:
        with LoopbackServer() as server:
            sources = corpus_sources(server, args.corpus)
            clean = work / "clean"
            make_mirror(clean, sources)
            t0 = time.monotonic()
            newsmirror_run(clean)
            full_time = time.monotonic() - t0
            expected, expected_index = snapshot(clean), dump(clean)
            total = len([k for k in expected if k.startswith("_posts/")])
            print(f"seed {args.seed}: {total} posts, an uninterrupted run takes {full_time:.1f}s")
            for trial in range(args.trials):
                victim = work / f"t{trial}"
                make_mirror(victim, sources)
                n_kills = rnd.randint(1, 4)
                for _ in range(n_kills):
                    have = len(os.listdir(victim / "_posts")) if (victim / "_posts").is_dir() else 0
                    target = (
                        rnd.randint(have + 1, total) if rnd.random() < 0.5 and have < total else 0
                    )
                    newsmirror_run(victim, kill_after=rnd.uniform(0.05, full_time * 1.2) + (60 if target else 0),
                                   kill_at_posts=target)  # fmt: skip
                    kills += 1
                    n = len(os.listdir(victim / "_posts")) if (victim / "_posts").is_dir() else 0
                    mid_run += 0 < n < total
                    problems = check_after_kill(victim)
                    if problems:
                        print(f"trial {trial}: after a kill: {problems[:5]}")
                        return 1
                newsmirror_run(victim)
                if snapshot(victim) != expected:
                    print(f"trial {trial}: the tree differs from an uninterrupted run")
                    return 1
                if dump(victim) != expected_index:
                    print(f"trial {trial}: the index differs from an uninterrupted run's")
                    return 1
                reindex(load_config(victim / "newsmirror.toml"))
                if dump(victim) != expected_index:
                    print(f"trial {trial}: reindex gives another index")
                    return 1
                print(f"trial {trial}: {n_kills} kills, converged", flush=True)
                shutil.rmtree(victim)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"{args.trials} trials, {kills} kills ({mid_run} mid-run), 0 broken invariants, "
          f"{time.monotonic() - started:.0f}s; worker processes outlived a killed run "
          f"{len(ORPHANS)} times")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
