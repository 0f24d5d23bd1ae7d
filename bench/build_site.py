"""Benchmark of ``newsmirror build`` against Hugo (Debian's ``hugo``, when installed).

    python bench/build_site.py [--posts 10000] [--new 50] [--keep DIR]

Makes a mirror of N synthetic posts (classic post files and index, written by
the real MirrorWriter; made-up Chinese text with a realistic vocabulary),
then measures, each in a fresh process (wall time, peak RSS of the process
and of its children, i.e. Pagefind):

1. the full build, with and without the search index;
2. a build with nothing changed;
3. the incremental build after ``--new`` new posts;
4. Hugo building the same post files (minimal theme, pagination, taxonomies).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
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


CHILD = """
import json, resource, sys, time
from pathlib import Path
from newsmirror.config import load_config
from newsmirror.site import SiteSettings, build_site
cfg = load_config(Path(sys.argv[1]))
t = time.perf_counter()
rep = build_site(cfg, Path(sys.argv[2]), settings=SiteSettings(search=sys.argv[3] == "1"))
print(json.dumps({"seconds": time.perf_counter() - t, "rendered": rep.rendered,
    "written": rep.written, "search_runs": rep.search_runs,
    "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
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


def hugo(root: Path, work: Path) -> dict[str, float] | None:
    exe = shutil.which("hugo")
    if exe is None:
        return None
    site = work / "hugo"
    (site / "content" / "posts").mkdir(parents=True)
    for p in (root / "_posts").glob("*.md"):
        shutil.copy(p, site / "content" / "posts" / p.name)
    for rel, text in HUGO_LAYOUT.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_text(text, encoding="utf-8")
    (site / "config.toml").write_text(
        'baseURL = "https://example.org/"\ntitle = "bench"\npaginate = 50\n'
        "[markup.goldmark.renderer]\nunsafe = true\n",
        encoding="utf-8",
    )
    cmd = [exe, "--quiet", "--source", str(site), "--destination", str(site / "public")]
    t = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run(cmd, check=True, capture_output=True)
    seconds = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"seconds": seconds, "rss_mb": max(rss, before) / 1024}


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--posts", type=int, default=10_000)
    ap.add_argument("--new", type=int, default=50)
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it")
    a = ap.parse_args()
    work = a.keep or Path(tempfile.mkdtemp(prefix="nm-bench-"))
    root = work / "mirror"
    t = time.perf_counter()
    make_mirror(root, a.posts)
    print(f"made {a.posts} posts in {time.perf_counter() - t:.1f} s", flush=True)
    res: dict[str, object] = {"posts": a.posts}
    # Hugo first: its memory figure is then the first child measured in this process.
    res["hugo"] = hugo(root, work)
    print("hugo:", res["hugo"], flush=True)
    res["full_no_search"] = build(root, work / "site-nosearch", search=False)
    print("full, no search:", res["full_no_search"], flush=True)
    res["full"] = build(root, work / "site", search=True)
    print("full:", res["full"], flush=True)
    res["noop"] = build(root, work / "site", search=True)
    print("nothing changed:", res["noop"], flush=True)
    make_mirror(root, a.new, first=a.posts)
    res["incremental"] = build(root, work / "site", search=True)
    print(f"after {a.new} new posts:", res["incremental"], flush=True)
    res["incremental_no_search"] = build(root, work / "site-nosearch", search=False)
    print(f"after {a.new} new posts, no search:", res["incremental_no_search"], flush=True)
    print(json.dumps(res, indent=2))
    if a.keep is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
