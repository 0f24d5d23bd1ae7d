"""Extraction throughput: ExtractPool (one worker per CPU) against one process.

    python bench/extract_pool.py [--seconds 3] [--workers N]

Pages: shared/corpus/pages (when present) and tests/fixtures/pages, repeated until one
pass of single-process work takes about ``--seconds``. The pool is warmed up (workers
spawned and imports done) before it is timed. Prints pages/s for both and the ratio, and
first a calibration: how much faster the same number of processes run a pure CPU loop than
one process does (on a machine shared with other work this is the ceiling for the ratio).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import contextlib

from extract_refs import FIXTURE_PAGES, corpus_dir  # noqa: E402
from newsmirror.errors import ItemError  # noqa: E402
from newsmirror.extract import ExtractPool, extract_page  # noqa: E402


def _burn(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i
    return total


def calibrate(workers: int, n: int = 3_000_000) -> float:
    """Speed-up of `workers` processes over one on a pure CPU loop."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    start = time.perf_counter()
    for _ in range(workers):
        _burn(n)
    alone = time.perf_counter() - start
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as ex:
        list(ex.map(_burn, [10] * workers))
        start = time.perf_counter()
        list(ex.map(_burn, [n] * workers))
        together = time.perf_counter() - start
    return alone / together


def load_pages() -> list[bytes]:
    paths = sorted(FIXTURE_PAGES.glob("*.html"))
    corpus = corpus_dir()
    if corpus is not None:
        paths += sorted((corpus / "pages").rglob("*.html"))
    return [p.read_bytes() for p in paths]


def single(bodies: list[bytes]) -> float:
    start = time.perf_counter()
    for i, body in enumerate(bodies):
        with contextlib.suppress(ItemError):
            extract_page(body, url=f"https://example.com/{i}")
    return time.perf_counter() - start


async def pooled(bodies: list[bytes], workers: int) -> float:
    with ExtractPool(workers) as pool:
        await asyncio.gather(*(pool.extract(b, url="https://example.com/w") for b in bodies[:8]))
        start = time.perf_counter()
        results = await asyncio.gather(
            *(pool.extract(b, url=f"https://example.com/{i}") for i, b in enumerate(bodies)),
            return_exceptions=True,
        )
        elapsed = time.perf_counter() - start
    bad = [r for r in results if isinstance(r, BaseException) and not isinstance(r, ItemError)]
    if bad:
        raise bad[0]
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="target single-process time")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    print(f"calibration    : {calibrate(args.workers):.2f}x for {args.workers} CPU-bound processes")
    pages = load_pages()
    one_pass = single(pages)  # also warms up this process
    repeat = max(1, round(args.seconds / one_pass))
    bodies = pages * repeat
    t_single = single(bodies)
    t_pool = asyncio.run(pooled(bodies, args.workers))
    n = len(bodies)
    print(f"pages: {len(pages)} distinct x {repeat} = {n}, CPUs: {os.cpu_count()}")
    print(f"single process : {n / t_single:7.1f} pages/s  ({t_single:.2f} s)")
    print(f"pool ({args.workers} workers): {n / t_pool:7.1f} pages/s  ({t_pool:.2f} s)")
    print(f"ratio          : {t_single / t_pool:.2f}x")


if __name__ == "__main__":
    main()
