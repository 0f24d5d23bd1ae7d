"""Benchmark of ``newsmirror build`` against Hugo (Debian's ``hugo``, when installed).

    python bench/build_site.py [--posts 10000] [--new 50] [--repeat 3] [--keep DIR]
                               [--mirror DIR] [--json PATH]

Makes a mirror of N synthetic posts (classic post files and index, written by
the real MirrorWriter; made-up Chinese text with a realistic vocabulary over
30 sources), then measures, each run in a fresh process, wall time and peak
RSS of the build process plus that of its largest child (the search indexer):

* Hugo building the same post files (minimal theme, pagination), fresh output;
* the full build without and with the search index, fresh output and state;
* a build with nothing changed (search on);
* the build after ``--new`` new posts (search on; and without search).

Each row is run ``--repeat`` times: the table shows the median seconds, the
highest peak RSS, the ratios to Hugo, the goal and whether it is met. The
machine may be shared: the load average (1 min) is printed before and after
each row. ``--mirror DIR`` reuses a mirror made by an earlier run (``--keep``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

CHARS = (
    "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学"
    "对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面"
    "公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部"
    "正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关"
    "并内加化由却代军产入先山五太水万市眼体别处总才场师书比住员九笑性通目华报立马命张活难神数件安"
    "表原车白应路期叫死常提感金何更反合放做系计或司利受光王果亲界及今京务制解各任至清物台象记边共"
    "风战干接它许八特觉望直服毛林题建南度统色字请交爱让认算论百吃义科怎元社术结六功指思非流每青管"
    "夫连远资队跟带花快条院变联言权往展该领传近留红治决周保达办运武半候七必城父强步完革深区即求品"
    "士转量空甚众技轻程告江语英基派满式李息写呢识极令黄德收脸钱党倒未持取设始版双历越史商千片容研"
)
PUNCT = "，。、；"


def words(rng: random.Random, n: int) -> str:
    out = []
    for _ in range(n):
        out.append(
            rng.choice(CHARS)
            + rng.choice(CHARS)
            + (rng.choice(CHARS) if rng.random() < 0.3 else "")
        )
        if rng.random() < 0.12:
            out.append(rng.choice(PUNCT))
    return "".join(out)


def make_mirror(root: Path, n: int, first: int = 0, start: datetime | None = None) -> None:
    """Keep ``n`` posts in the mirror at ``root`` (over 30 sources, ~7 minutes apart)."""
    from newsmirror.article import derive_keys
    from newsmirror.config import load_config, sources_toml
    from newsmirror.fsutil import MirrorFiles
    from newsmirror.mirror import MirrorWriter
    from newsmirror.models import Article
    from newsmirror.store import Store

    sources = [(f"來源{i:02d}", f"src{i:02d}", f"https://s{i}.example/feed.xml") for i in range(30)]
    cfg_path = root / "newsmirror.toml"
    if not cfg_path.exists():
        root.mkdir(parents=True, exist_ok=True)
        cfg_path.write_text(sources_toml(sources), encoding="utf-8")
    cfg = load_config(cfg_path)
    rng = random.Random(20261128 + first)
    start = start or datetime(2026, 1, 1, tzinfo=UTC)
    with Store(cfg.index_path) as store, store.batch():
        writer = MirrorWriter(cfg, store, MirrorFiles(root))
        for i in range(first, first + n):
            name, slug, _ = sources[i % 30]
            when = start + timedelta(minutes=7 * i)
            body = "".join(f"<p>{words(rng, 60)}</p>" for _ in range(6))
            link = f"https://{slug}.example/n/{i}.html"
            art = Article(key=link, guid=link, source=slug, source_name=name,
                          title=words(rng, 6) + f" {i}", link=link, published=when,
                          fetched=when + timedelta(minutes=3), content=body, text=body,
                          content_hash=f"sha256:{i:064x}")  # fmt: skip
            writer.keep(art, derive_keys(art))


# A build in its own process: seconds of build_site itself, the peak RSS of the
# process and of its largest child (the search indexer).
CHILD = """
import json, os, resource, sys, time
from pathlib import Path
from newsmirror.config import load_config
from newsmirror.site import SiteSettings, build_site
cfg = load_config(Path(sys.argv[1]))
t = time.perf_counter()
rep = build_site(cfg, Path(sys.argv[2]), settings=SiteSettings(search=sys.argv[3] == "1"))
seconds = time.perf_counter() - t
try:  # the search indexer ends on its own after the build: wait for it to count its peak
    while True:
        os.wait()
except ChildProcessError:
    pass
print(json.dumps({"seconds": seconds, "rendered": rep.rendered,
    "written": rep.written, "search_runs": rep.search_runs,
    "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "child_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""

# Hugo under a wrapper process, so that each run's own peak RSS is measured.
HUGO_CHILD = """
import json, resource, subprocess, sys, time
t = time.perf_counter()
subprocess.run(sys.argv[1:], check=True, capture_output=True)
print(json.dumps({"seconds": time.perf_counter() - t, "rss_mb": 0.0,
    "child_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def build(root: Path, out: Path, search: bool) -> dict[str, float]:
    proc = subprocess.run([sys.executable, "-c", CHILD, str(root / "newsmirror.toml"), str(out),
                           "1" if search else "0"], capture_output=True, text=True, check=True)  # fmt: skip
    return json.loads(proc.stdout.strip().splitlines()[-1])


HUGO_LAYOUT = {
    "layouts/_default/baseof.html": '<!doctype html><html lang="zh"><head><meta charset="utf-8">'
    '<title>{{ .Title }}</title></head><body>{{ block "main" . }}{{ end }}</body></html>',
    "layouts/_default/single.html": '{{ define "main" }}<h1>{{ .Title }}</h1>'
    '<p>{{ .Date.Format "2006-01-02 15:04" }}</p>{{ .Content }}{{ end }}',
    "layouts/_default/list.html": '{{ define "main" }}<h1>{{ .Title }}</h1><ul>'
    '{{ range .Paginator.Pages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a></li>{{ end }}'
    "</ul>{{ end }}",
    "layouts/index.html": '{{ define "main" }}<ul>{{ range first 50 .Site.RegularPages }}'
    '<li><a href="{{ .RelPermalink }}">{{ .Title }}</a></li>{{ end }}</ul>{{ end }}',
}


def hugo_site(root: Path, work: Path) -> Path | None:
    if shutil.which("hugo") is None:
        return None
    site = work / "hugo"
    shutil.rmtree(site, ignore_errors=True)
    (site / "content" / "posts").mkdir(parents=True)
    from posts import iter_post_files  # (bench/ is on sys.path: see main)

    for p in iter_post_files(root):  # (archived posts too, in _posts/_archive/)
        shutil.copy(p, site / "content" / "posts" / p.name)
    for rel, text in HUGO_LAYOUT.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_text(text, encoding="utf-8")
    (site / "config.toml").write_text(
        'baseURL = "https://example.org/"\ntitle = "bench"\npaginate = 50\n'
        "[markup.goldmark.renderer]\nunsafe = true\n",
        encoding="utf-8",
    )
    return site


def hugo(site: Path, n: int) -> dict[str, float]:
    out = site / f"public-{n}"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [shutil.which("hugo") or "hugo", "--quiet", "--source", str(site), "--destination",
           str(out), "--cacheDir", str(site / f"cache-{n}")]  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", HUGO_CHILD, *cmd], capture_output=True,
                          text=True, check=True)  # fmt: skip
    return json.loads(proc.stdout.strip().splitlines()[-1])


def load() -> float:
    return round(os.getloadavg()[0], 2)


def summarize(name: str, got: list[dict[str, float]], before: float) -> dict[str, object]:
    """The median seconds, the highest peak RSS (the process plus its largest child),
    each run and the load average (1 min) before and after the runs."""
    for g in got:
        g["peak_mb"] = g["rss_mb"] + g["child_rss_mb"]
    row = {
        "seconds": statistics.median(g["seconds"] for g in got),
        "peak_mb": max(g["peak_mb"] for g in got),
        "runs": got,
        "load": [before, load()],
    }
    secs = ", ".join(f"{g['seconds']:.2f}" for g in got)
    print(f"{name}: median {row['seconds']:.2f} s ({secs}), peak {row['peak_mb']:.0f} MB,"
          f" load {row['load'][0]} → {row['load'][1]}", file=sys.stderr, flush=True)  # fmt: skip
    return row


def repeat(name: str, runs: int, fn: Callable[[int], dict[str, float]]) -> dict[str, object]:
    before = load()
    return summarize(name, [fn(i) for i in range(runs)], before)


def table(res: dict[str, dict[str, object]], new: int) -> str:
    """The rows with their ratios to Hugo, goals and verdicts."""
    hugo_row = res.get("hugo")
    hs = float(hugo_row["seconds"]) if hugo_row else 0.0  # type: ignore[arg-type]
    hm = float(hugo_row["peak_mb"]) if hugo_row else 0.0  # type: ignore[arg-type]
    rows = [
        ("hugo", "Hugo, full build", None),
        ("full_no_search", "full build, no search", "full"),
        ("full", "full build, with search", "full"),
        ("noop", "nothing changed (search)", "fast"),
        ("incremental", f"after {new} new posts (search)", "fast"),
        ("incremental_no_search", f"after {new} new posts, no search", "fast"),
    ]
    head = f"{'row':34} {'seconds':>8} {'peak MB':>8} {'× Hugo s':>9} {'× Hugo MB':>10}  goal"
    lines = [head, "-" * len(head)]
    for key, label, kind in rows:
        r = res.get(key)
        if not r:
            continue
        s, mb = float(r["seconds"]), float(r["peak_mb"])  # type: ignore[arg-type]
        rs = f"{s / hs:.2f}" if hs else "-"
        rm = f"{mb / hm:.2f}" if hm else "-"
        if kind == "full":
            goal = "≤ Hugo's s, < ⅓ Hugo's MB"
            ok = bool(hs) and s <= hs and mb < hm / 3
        elif kind == "fast":
            goal, ok = "< 1 s", s < 1.0
        else:
            goal, ok = "", None
        verdict = "" if ok is None else ("met" if ok else "NOT met")
        lines.append(f"{label:34} {s:8.2f} {mb:8.0f} {rs:>9} {rm:>10}  {goal} {verdict}".rstrip())
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--posts", type=int, default=10_000)
    ap.add_argument("--new", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it")
    ap.add_argument(
        "--mirror", type=Path, help="copy this mirror (from --keep) instead of making one"
    )
    ap.add_argument("--json", type=Path, help="write the results here too")
    a = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    from measure import byte_compile

    byte_compile()
    work = a.keep or Path(tempfile.mkdtemp(prefix="nm-bench-"))
    root = work / "mirror"
    t = time.perf_counter()
    if a.mirror:
        shutil.rmtree(root, ignore_errors=True)
        shutil.copytree(a.mirror, root, ignore=shutil.ignore_patterns("site-manifest*", "cache"))
        from posts import iter_post_files

        n = len(iter_post_files(root))
        print(f"copied a mirror of {n} posts", file=sys.stderr, flush=True)
    else:
        make_mirror(root, a.posts)
        n = a.posts
        print(f"made {n} posts in {time.perf_counter() - t:.1f} s", file=sys.stderr, flush=True)
    state = root / ".newsmirror"
    fresh = lambda: shutil.rmtree(state / "cache", ignore_errors=True)  # noqa: E731
    res: dict[str, dict[str, object]] = {}
    site = hugo_site(root, work)
    if site is not None:
        res["hugo"] = repeat("hugo", a.repeat, lambda i: hugo(site, i))

    def full(search: bool, tag: str) -> Callable[[int], dict[str, float]]:
        def run(i: int) -> dict[str, float]:
            fresh()  # a first build: no compiled templates either
            out = work / f"{tag}-{i}"
            shutil.rmtree(out, ignore_errors=True)
            return build(root, out, search)

        return run

    res["full_no_search"] = repeat("full, no search", a.repeat, full(False, "nosearch"))
    res["full"] = repeat("full, search", a.repeat, full(True, "search"))
    res["noop"] = repeat(
        "nothing changed", a.repeat, lambda i: build(root, work / "search-0", True)
    )
    # Each repetition adds new posts, then brings both sites up to date.
    before, with_search, without = load(), [], []
    for i in range(a.repeat):
        make_mirror(root, a.new, first=n + i * a.new)
        with_search.append(build(root, work / "search-0", True))
        without.append(build(root, work / "nosearch-0", False))
    res["incremental"] = summarize(f"after {a.new} new", with_search, before)
    res["incremental_no_search"] = summarize(f"after {a.new} new, no search", without, before)
    out = {"posts": n, "new": a.new, "repeat": a.repeat, "cpus": os.cpu_count(), "rows": res}
    print(table(res, a.new))
    if a.json:
        a.json.write_text(json.dumps(out, indent=2), encoding="utf-8")
    if a.keep is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
