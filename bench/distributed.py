"""The distributed run against the embedded one: ``python bench/distributed.py [--quick]``.

One workload (summary feeds whose article pages are fetched and extracted,
served by ``corpus.py``'s loopback server with a little latency per page) is
mirrored by ``newsmirror run`` (a whole process) in the embedded mode and with
``[engine] kind = "celery"`` on 1, 2 and 4 ``newsmirror worker`` processes.
It prints seconds, pages per second, each run's speed relative to the
embedded run, and the most requests the server saw in flight at once against
``[fetch] per_host`` — the limit the workers share through Redis. Each worker
runs ``--concurrency`` pool processes, so without the shared limit 4 workers
could send ``4 × concurrency`` requests at once.

Needs ``redis-server`` (started here on a free loopback port, then stopped)
and the ``dist`` extra. Every run is checked: every item new, none failed,
and the same posts as the embedded run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from corpus import NOW_ENV, CorpusServer, Workload

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # tests.servers: the throwaway Redis

from tests.servers import Workers, redis_server  # noqa: E402

from newsmirror.config import sources_toml  # noqa: E402

NM = [sys.executable, "-m", "newsmirror"]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def config_text(per_host: int, broker: str | None) -> str:
    text = f"[fetch]\nper_host = {per_host}\nconcurrency = 16\nretries = 0\n\n"
    text += '[images]\nenabled = false\n\n[defaults]\nfulltext = "auto"\n\n'
    if broker:
        text += f'[engine]\nkind = "celery"\nbroker = "{broker}"\n\n'
    return text


def posts_digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted((root / "_posts").rglob("*.md")):
        h.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:16]


def one_run(
    label: str, folder: Path, server: CorpusServer, sources: list, env: dict[str, str],
    per_host: int, broker: str | None, total: int,
) -> dict:  # fmt: skip
    folder.mkdir(parents=True)
    cfg = folder / "newsmirror.toml"
    cfg.write_text(config_text(per_host, broker) + sources_toml(sources), encoding="utf-8")
    server.reset()
    start = time.perf_counter()
    proc = subprocess.run([*NM, "run", "--json", "--config", str(cfg)], env=env,
                          capture_output=True, text=True, timeout=1800)  # fmt: skip
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{label}: exit {proc.returncode}: {proc.stderr[-800:]}")
    totals = json.loads(proc.stdout)["totals"]
    problems = []
    if totals["new"] != total or totals["failed"] or totals["sources_failed"]:
        problems.append(f"new {totals['new']} of {total}, failed {totals['failed']}")
    row = {
        "label": label,
        "seconds": seconds,
        "items": totals["new"],
        "pages": server.hits_under("/summary", not_modified=False) - len(sources),
        "max_in_flight": server.max_concurrent("/"),
        "digest": posts_digest(folder),
        "problems": problems,
    }
    log(f"  {label}: {seconds:.2f} s, peak {row['max_in_flight']} in flight")
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny workload (CI smoke)")
    ap.add_argument("--feeds", type=int, default=None)
    ap.add_argument("--items", type=int, default=None)
    ap.add_argument("--per-host", type=int, default=2, help="[fetch] per_host (shared limit)")
    ap.add_argument("--concurrency", type=int, default=2, help="pool processes per worker")
    ap.add_argument("--latency", type=float, default=0.02, help="seconds per page answer")
    ap.add_argument("--workers", default="1,2,4", help="worker counts to measure")
    args = ap.parse_args()
    feeds = args.feeds or (3 if args.quick else 12)
    items = args.items or (6 if args.quick else 25)
    counts = [int(n) for n in args.workers.split(",")]

    redis_gen = redis_server()
    redis = next(redis_gen)
    if isinstance(redis, str):
        log(f"cannot run: {redis}")
        return 2
    work_dir = Path(tempfile.mkdtemp(prefix="nm-bench-dist-"))
    src_path = str(ROOT / "src")
    env = {**os.environ, "NEWSMIRROR_NOW": NOW_ENV, "PYTHONUNBUFFERED": "1",
           "PYTHONPATH": src_path + os.pathsep + os.environ.get("PYTHONPATH", "")}  # fmt: skip
    server = CorpusServer().start()
    rows = []
    try:
        work = Workload("summary", feeds, items)
        mounted = server.mount(work)
        for path in mounted.page_paths:  # a page answers after a little network latency
            server.routes[path].delay = args.latency
        sources = list(mounted.sources)
        log(f"workload: {feeds} summary feeds × {items} items (pages {args.latency * 1000:.0f} ms)")
        rows.append(one_run("embedded", work_dir / "embedded", server, sources, env,
                            args.per_host, None, work.total))  # fmt: skip
        for n in counts:
            wcfg = work_dir / f"workers-{n}" / "newsmirror.toml"
            wcfg.parent.mkdir(parents=True)
            wcfg.write_text(config_text(args.per_host, redis.url), encoding="utf-8")
            workers = Workers(wcfg, env)
            try:
                workers.start(n, concurrency=args.concurrency, ready_within=90)
                rows.append(one_run(f"celery, {n} worker{'s' if n > 1 else ''}",
                                    work_dir / f"celery-{n}", server, sources, env,
                                    args.per_host, redis.url, work.total))  # fmt: skip
            finally:
                workers.stop()
    finally:
        server.stop()
        next(redis_gen, None)
        shutil.rmtree(work_dir, ignore_errors=True)

    base = rows[0]["seconds"]
    print(f"{'run':<20} {'seconds':>8} {'items/s':>8} {'vs embedded':>12} {'in flight/limit':>16}  check")
    ok = True
    for r in rows:
        check = "ok"
        if r["digest"] != rows[0]["digest"]:
            check = "posts differ from the embedded run"
        if r["problems"]:
            check = "; ".join(r["problems"])
        held = r["max_in_flight"] <= args.per_host
        if not held:
            check += f"; per-host limit exceeded ({r['max_in_flight']} > {args.per_host})"
        ok = ok and check == "ok"
        print(f"{r['label']:<20} {r['seconds']:>8.2f} {r['items'] / r['seconds']:>8.1f} "
              f"{base / r['seconds']:>11.2f}× {r['max_in_flight']:>9}/{args.per_host:<6}  {check}")  # fmt: skip
    print(f"\n{feeds} feeds × {items} items, pages answered in {args.latency * 1000:.0f} ms; "
          f"each worker runs {args.concurrency} pool processes, so {max(counts)} workers could "
          f"send {max(counts) * args.concurrency} requests at once without the shared limit; "
          f"{os.cpu_count()} CPUs.")  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
