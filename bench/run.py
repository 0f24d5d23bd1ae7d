"""The speed benchmarks in one command: ``python bench/run.py [--quick] [--large]``.

It starts its own loopback corpus server (``corpus.py``), runs newsmirror and
the baselines on the same workload in the same run, each as a whole process
(``measure.py``), several times, and prints medians, items/s, peak RSS and
newsmirror's speed relative to each baseline, with the goals of the "Speed"
issue; the same goes to ``bench/results/latest.json``. See bench/README.md.

Scenarios: (a) full-text feeds, first run; (b) summary feeds with page fetch
and extraction, first run; (c) both again with nothing changed (conditional
GET); (d) reindex of a big mirror; (e) site build, full and after new posts.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import posts
from corpus import NOW_ENV, CorpusServer, Mounted, Workload
from measure import Measurement, byte_compile, has_gnu_time, run_measured
from table import Row, compare, render, set_goal, write_json

from newsmirror.config import sources_toml

HERE = Path(__file__).resolve().parent
BASELINES = HERE / "baselines"
NM = [sys.executable, "-m", "newsmirror"]
PY = sys.executable
BENCH_CONFIG = """# newsmirror benchmark mirror
[fetch]
# Every bench feed is on one loopback host; real sources are on many hosts, so
# the per-host limit is raised to the global one.
per_host = 8
retries = 0

# Like for like with the baselines, which neither download images nor re-check
# pages (the corpus's images are not served; re-checks have their own bench).
[images]
enabled = false

[recheck]
enabled = false

[defaults]
fulltext = "auto"

"""


@dataclass(frozen=True)
class Sizes:
    feeds: int
    items: int
    reindex_posts: int
    build_posts: int
    new_posts: int
    repeat: int
    timeout: float
    long_run: float  # a run longer than this is not repeated (keeps the full bench ~15 min)


QUICK = Sizes(feeds=5, items=10, reindex_posts=2000, build_posts=500, new_posts=10, repeat=1,
              timeout=120, long_run=60)  # fmt: skip
FULL = Sizes(feeds=50, items=40, reindex_posts=100_000, build_posts=10_000, new_posts=50,
             repeat=3, timeout=1800, long_run=90)  # fmt: skip
LARGE = (200, 50)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class Bench:
    def __init__(self, sizes: Sizes, seed: int, work: Path) -> None:
        self.sizes, self.seed, self.work = sizes, seed, work
        self.rows: list[Row] = []
        self.server = CorpusServer().start()
        self.env = {**os.environ, "NEWSMIRROR_NOW": NOW_ENV, "PYTHONUNBUFFERED": "1"}
        self.has_build = self._has_command("build")
        self.hugo = shutil.which("hugo")

    def startup(self) -> float:
        """Seconds for a process that only imports what ``newsmirror run`` imports before
        it reads its config (its entry point and the pipeline): no run can cost less
        than this (median of three)."""
        code = "import newsmirror.cli_run, newsmirror.pipeline"
        times = sorted(self.measure([PY, "-c", code]).seconds for _ in range(3))
        return times[1]

    def close(self) -> None:
        self.server.stop()

    def _has_command(self, name: str) -> bool:
        r = subprocess.run([*NM, name, "--help"], env=self.env, capture_output=True, timeout=120)
        return r.returncode == 0

    def row(self, scenario: str, label: str, tool: str, items: int) -> Row:
        r = Row(scenario, label, tool, items)
        self.rows.append(r)
        return r

    def measure(self, cmd: list[str], row: Row | None = None) -> Measurement:
        """Run and time one process (after flushing earlier writes to disk)."""
        os.sync()
        m = run_measured(cmd, env=self.env, timeout=self.sizes.timeout)
        if row is not None:
            if m.ok:
                row.add(m.seconds, m.peak_rss_mb, (m.maxrss_mb, m.hwm_mb, m.tree_peak_mb))
                log(f"  {row.scenario} {row.tool}: {m.seconds:.3f} s, {m.peak_rss_mb:.0f} MB")
                if m.seconds > self.sizes.long_run and not row.capped:
                    row.capped = True
                    row.note = (row.note + "; " if row.note else "") + (
                        f"not repeated: a run took {m.seconds:.0f} s (> {self.sizes.long_run:.0f} s)"
                    )
            else:
                tail = (m.stderr.strip().splitlines() or ["(no output)"])[-1][:160]
                row.fail(f"failed (exit {m.returncode})")
                row.note = row.note or tail
                log(f"  {row.scenario} {row.tool}: FAILED exit {m.returncode}: {tail}")
        return m

    def mirror_config(self, root: Path, sources: list[tuple[str, str, str]]) -> Path:
        root.mkdir(parents=True, exist_ok=True)
        cfg = root / "newsmirror.toml"
        cfg.write_text(BENCH_CONFIG + sources_toml(sources), encoding="utf-8")
        return cfg

    # ---------------------------------------------------------------- (a) (b) (c)
    def feeds(self, kind: str, feeds: int, items: int) -> None:
        work = Workload(kind, feeds, items, self.seed)  # type: ignore[arg-type]
        shape = f"{feeds}×{items}"
        first_label = ("full-text " if kind == "full" else "summary+pages ") + shape + ", first run"
        again_label = ("full-text " if kind == "full" else "summary+pages ") + shape + ", unchanged"
        scen = "a" if kind == "full" else "b"
        log(f"[{scen}/c] {kind} feeds {shape}: serving")
        mounted = self.server.mount(work)
        feeds_tsv = self.work / f"{kind}-{shape}-feeds.tsv"
        feeds_tsv.write_text("".join("\t".join(s) + "\n" for s in mounted.sources), "utf-8")
        nm1 = self.row(scen, first_label, "newsmirror", work.total)
        base_name = "feedparser" if kind == "full" else "feedparser+trafilatura"
        base_script = "feedparser_posts.py" if kind == "full" else "feedparser_trafilatura.py"
        bl1 = self.row(scen, first_label, base_name, work.total)
        floor = self.row(scen, first_label, "lxml floor", work.total) if kind == "full" else None
        nh3_floor = self.row(scen, first_label, "nh3 floor", work.total) if floor is not None else None
        nm2 = self.row("c", again_label, "newsmirror", work.total)
        bl2 = self.row("c", again_label, base_name, work.total)
        for rep in range(self.sizes.repeat):
            log(f"[{scen}/c] {kind} {shape}: repetition {rep + 1}/{self.sizes.repeat}")
            if nm1.status == "ok" and not nm1.capped:
                self._newsmirror_feeds(mounted, rep, nm1, nm2)
            out = self.work / f"{kind}-{shape}-r{rep}-{base_script[:-3]}"
            for row in (bl1, bl2) if not bl1.capped else ():
                m = self.measure([PY, str(BASELINES / base_script), str(feeds_tsv), str(out)], row)
                want = work.total if row is bl1 else 0
                if m.ok and f"posts written: {want}" not in m.stdout:
                    row.note = f"expected {want} posts, said: {m.stdout.strip()[:80]}"
            for frow, script in ((floor, "lxml_floor.py"), (nh3_floor, "nh3_floor.py")):
                if frow is not None and not frow.capped:
                    out = self.work / f"{kind}-{shape}-r{rep}-{script[:-3]}"
                    m = self.measure([PY, str(BASELINES / script), str(feeds_tsv), str(out)], frow)
                    if m.ok and f"files written: {work.total}" not in m.stdout:
                        frow.note = f"expected {work.total} files, said: {m.stdout.strip()[:80]}"
        self.server.unmount(mounted)
        if kind == "full" and floor is not None:
            compare(bl1, nm1, goal="≥5×", at_least=5.0)
            compare(floor, nm1, goal="≥0.67× (≤1.5× floor time)", at_least=1 / 1.5)
            if nh3_floor is not None:
                compare(nh3_floor, nm1)  # (for information: see baselines/nh3_floor.py)
        else:
            compare(bl1, nm1, goal=f"≥3× on {os.cpu_count()} cores", at_least=3.0)
        for again, first in ((nm2, nm1), (bl2, bl1)):
            share = again.median / first.median if again.median and first.median else None
            again.ratio = share
            again.ratio_text = f"{share:.1%} of first" if share is not None else "n/a"
        if nm2.ok or nm1.ok:
            ok = nm2.ratio is not None and nm2.ratio < 0.05
            set_goal(nm2, "<5% of first run", ok if nm2.ratio is not None else None)

    def _newsmirror_feeds(self, mounted: Mounted, rep: int, first: Row, again: Row) -> None:
        work = mounted.work
        root = self.work / f"{work.kind}-{work.feeds}x{work.items}-r{rep}-newsmirror"
        cfg = self.mirror_config(root, list(mounted.sources))
        cmd = [*NM, "run", "--config", str(cfg), "--json"]
        pages = f"{work.prefix}/news/"
        self.server.reset()
        m = self.measure(cmd, first)
        if not m.ok:
            again.fail("n/a (first run failed)")
            return
        fetched = self.server.hits_under(pages)
        if work.kind == "summary" and fetched == 0:
            first.seconds.clear()
            first.rss_mb.clear()
            first.rss_readings.clear()
            first.fail("n/a (feature missing)")
            again.fail("n/a (feature missing)")
            first.note = (
                "newsmirror fetched no article page (fulltext = auto): extraction not built"
            )
            log("  newsmirror fetched no page: (b) is n/a (feature missing)")
            return
        if work.kind == "summary" and fetched < work.total:
            first.note = f"fetched {fetched} of {work.total} article pages"
        if work.kind == "full" and fetched:
            first.note = f"fetched {fetched} article pages for full-text items"
        _check_report(m, first, new=work.total)
        self.server.reset()
        m = self.measure(cmd, again)
        _check_report(m, again, new=0)
        nm304 = self.server.hits_under(work.prefix + "/feeds/", not_modified=True)
        refetched = self.server.hits_under(pages)
        if m.ok and (nm304 < work.feeds or refetched):
            again.note = f"{nm304} of {work.feeds} feeds answered 304; {refetched} pages fetched"

    # ---------------------------------------------------------------- (d)
    def reindex(self) -> None:
        n = self.sizes.reindex_posts
        log(f"[d] reindex: preparing {n:,} posts (cached under {posts.cache_root()})")
        t = time.perf_counter()
        root = posts.cached_mirror(self.seed, n, archive_after_days=90)
        log(f"[d] posts ready in {time.perf_counter() - t:.1f} s; warming the page cache")
        _warm(root / "_posts")
        cfg = self.mirror_config(root, _dummy_sources(self.seed))
        row = self.row("d", f"reindex {n:,} posts", "newsmirror", n)
        for _ in range(self.sizes.repeat):
            if row.capped:
                break
            for f in (root / ".newsmirror").glob("index.sqlite*"):
                f.unlink()
            m = self.measure([*NM, "reindex", "--config", str(cfg)], row)
            if m.ok and f"indexed {n} posts" not in m.stdout:
                row.note = f"expected {n} posts, said: {m.stdout.strip()[:80]}"
        ok = None
        if row.ok:
            ok = (row.items_per_s or 0) >= 20_000 and (row.peak_rss_mb or 0) < 200
        set_goal(row, "≥20,000/s and <200 MB", ok)

    # ---------------------------------------------------------------- (e)
    def build(self) -> None:
        s = self.sizes
        n, new = s.build_posts, s.new_posts
        full = self.row("e", f"build {n:,} posts, full", "newsmirror", n)
        incr = self.row("e", f"build after {new} new posts", "newsmirror", new)
        if not self.has_build:
            full.fail("n/a (no `newsmirror build`)")
            incr.fail("n/a (no `newsmirror build`)")
        hugo_full = self.row("e", f"build {n:,} posts, full", "hugo", n) if self.hugo else None
        hugo_again = (
            self.row("e", f"build after {new} new posts", "hugo", new) if self.hugo else None
        )
        if not self.has_build and not self.hugo:
            return
        log(f"[e] build: preparing {n:,} posts")
        template = posts.cached_mirror(self.seed, n)
        if template.stat().st_dev != self.work.stat().st_dev:  # (--shm): Hugo links posts
            template = Path(shutil.copytree(template, self.work / "mirror-template"))
        _warm(template / "_posts")
        extra = self.work / "hugo-new-posts"
        posts.write_posts(extra, seed=self.seed + 1, count=new)
        for rep in range(s.repeat):
            log(f"[e] build: repetition {rep + 1}/{s.repeat}")
            if self.has_build and full.status == "ok" and not full.capped:
                self._newsmirror_build(template, rep, full, incr)
                if full.capped:
                    incr.note = incr.note or "not repeated: the full build before it was not"
            if hugo_full is not None and hugo_again is not None and self.hugo:
                site = posts.hugo_site(template, self.work / f"hugo-r{rep}")
                out = site / "public"
                cmd = [self.hugo, "--source", str(site), "--destination", str(out), "--quiet"]
                self.measure(cmd, hugo_full)
                posts.hugo_sync(extra, site)
                self.measure(cmd, hugo_again)
                shutil.rmtree(site, ignore_errors=True)
        if hugo_full is not None and hugo_again is not None:
            compare(hugo_full, full)
            compare(hugo_again, incr)
            if full.ok and hugo_full.ok:
                third = (full.peak_rss_mb or 0) < (hugo_full.peak_rss_mb or 0) / 3
                set_goal(hugo_full, "≥1× and RSS <⅓ of hugo", (hugo_full.ratio or 0) >= 1 and third)
            else:
                set_goal(hugo_full, "≥1× and RSS <⅓ of hugo", None)
        set_goal(incr, "<1 s", incr.median < 1.0 if incr.median else None)

    def _newsmirror_build(self, template: Path, rep: int, full: Row, incr: Row) -> None:
        root = self.work / f"build-r{rep}"
        shutil.copytree(template, root, ignore=shutil.ignore_patterns(".newsmirror"))
        work = Workload("full", 1, self.sizes.new_posts, self.seed, tag=f"new{rep}")
        mounted = self.server.mount(work)
        cfg = self.mirror_config(root, [*_dummy_sources(self.seed), *mounted.sources])
        prep = subprocess.run([*NM, "reindex", "--config", str(cfg)], env=self.env,
                              capture_output=True, text=True)  # fmt: skip
        if prep.returncode != 0:
            full.fail("failed (reindex before build)")
        m = self.measure([*NM, "build", "--config", str(cfg)], full)
        if m.ok and not any((root / "_site").glob("*")):
            full.note = full.note or "the build wrote nothing into _site/"
        slug = mounted.sources[0][1]
        ingest = subprocess.run([*NM, "run", "--config", str(cfg), "--source", slug, "--json"],
                                env=self.env, capture_output=True, text=True)  # fmt: skip
        self.server.unmount(mounted)
        if ingest.returncode != 0:
            incr.fail("failed (run before incremental build)")
            return
        self.measure([*NM, "build", "--config", str(cfg)], incr)
        shutil.rmtree(root, ignore_errors=True)


def _check_report(m: Measurement, row: Row, *, new: int) -> None:
    if not m.ok:
        return
    try:
        totals = json.loads(m.stdout)["totals"]
    except (ValueError, KeyError):
        row.note = row.note or "no JSON report on stdout"
        return
    bad = {k: totals.get(k) for k in ("failed", "sources_failed") if totals.get(k)}
    if totals.get("new") != new or bad:
        row.note = (row.note + "; " if row.note else "") + f"expected {new} new, got {totals}"


def _dummy_sources(seed: int) -> list[tuple[str, str, str]]:
    """The generated posts' sources (never fetched: runs name their --source)."""
    return [
        (name, slug, f"http://127.0.0.1:9/{slug}.xml") for name, slug in posts.mirror_sources(seed)
    ]


def _warm(folder: Path) -> None:
    """Read every file once, so every repetition starts with the page cache warm."""
    for p in folder.rglob("*"):
        if p.is_file():
            p.read_bytes()


def _meta(
    args: argparse.Namespace, sizes: Sizes, bench: Bench, load0: tuple[float, ...]
) -> dict[str, Any]:
    def cmd_out(cmd: list[str]) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    import newsmirror

    pkg = Path(newsmirror.__file__).resolve().parent  # the code measured (PYTHONPATH counts)
    commit = cmd_out(["git", "-C", str(pkg), "rev-parse", "--short", "HEAD"]) or "no git"
    dirty = cmd_out(["git", "-C", str(pkg), "status", "--porcelain", "--", "."])
    return {
        "rss_method": "GNU time %M + sampled VmHWM/tree RSS"
        if has_gnu_time()
        else "sampled VmHWM/tree RSS (no /usr/bin/time)",
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "mode": "quick" if args.quick else "full",
        "large": args.large,
        "work_on_tmpfs": args.shm,
        "seed": args.seed,
        "sizes": sizes.__dict__,
        "cpus": os.cpu_count(),
        "loadavg_start": load0,
        "loadavg_end": os.getloadavg(),
        "python": platform.python_version(),
        "newsmirror": f"{newsmirror.__version__} ({commit}{'+dirty' if dirty else ''})",
        "newsmirror_path": str(pkg),
        "newsmirror_build": bench.has_build,
        "hugo": cmd_out([bench.hugo, "version"]) if bench.hugo else None,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes, one repetition (CI smoke)")
    ap.add_argument("--large", action="store_true", help="also the 200×50 feed variants")
    ap.add_argument("--repeat", type=int, help="repetitions per measurement")
    ap.add_argument("--seed", type=int, default=1, help="workload seed")
    ap.add_argument("--only", default="abcde", help="scenarios to run, e.g. 'ac' (c runs with a/b)")
    ap.add_argument("--json", type=Path, default=HERE / "results" / "latest.json")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument("--shm", action="store_true",
                    help="work folder on /dev/shm (tmpfs): timings of every tool without "
                         "the machine's disk, whose write-back can swing a run 2×")  # fmt: skip
    args = ap.parse_args(argv)
    byte_compile()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up (finally) when stopped
    sizes = QUICK if args.quick else FULL
    if args.repeat:
        sizes = Sizes(**{**sizes.__dict__, "repeat": args.repeat})
    load0 = os.getloadavg()
    if load0[0] > (os.cpu_count() or 1) * 0.5:
        log(f"warning: load average {load0[0]:.1f} at start; timings will be noisy")
    work = Path(tempfile.mkdtemp(prefix="newsmirror-bench-", dir="/dev/shm" if args.shm else None))
    if args.shm:
        log(f"work folder on tmpfs: {work}")
    bench = Bench(sizes, args.seed, work)
    started = time.perf_counter()
    try:
        startup = bench.startup()
        log(f"newsmirror import floor: {startup:.3f} s")
        shapes = [(sizes.feeds, sizes.items)] + ([LARGE] if args.large else [])
        for feeds, items in shapes:
            if "a" in args.only or "c" in args.only:
                bench.feeds("full", feeds, items)
            if "b" in args.only or "c" in args.only:
                bench.feeds("summary", feeds, items)
        if "d" in args.only:
            bench.reindex()
        if "e" in args.only:
            bench.build()
    finally:
        bench.close()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    rows = sorted(bench.rows, key=lambda r: r.scenario)
    print(render(rows))
    meta = _meta(args, sizes, bench, load0)
    meta["seconds_total"] = round(time.perf_counter() - started, 1)
    meta["newsmirror_import_s"] = round(startup, 3)
    write_json(args.json, rows, meta)
    print(f"\nnewsmirror import alone (a process that only imports it): {startup:.3f} s")
    print(f"{meta['newsmirror']}, {meta['cpus']} cores{', work on tmpfs' if args.shm else ''}, "
          f"load {load0[0]:.1f}→"
          f"{meta['loadavg_end'][0]:.1f}, {meta['seconds_total']} s; JSON: {args.json}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
