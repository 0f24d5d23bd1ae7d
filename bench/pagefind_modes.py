"""How fast can Pagefind index newsmirror's article pages (and our own index, which
replaced it: ``search_index``)? Each way of feeding it,
on the same synthetic Chinese pages, measured in CPU seconds of the Pagefind
process (wall time on a shared machine says little) and wall seconds.

    python bench/pagefind_modes.py [--pages 1000] [--shards 1] [--modes cli,html,record,en]

* ``cli``: the Pagefind binary over a folder of article pages (what ``site_search`` does);
* ``html``: ``pagefind --service`` (the API the ``pagefind`` Python package drives),
  each page sent as HTML (requests pipelined: no round trip per page);
* ``record``: the service with custom records: the page's plain text, title as meta;
* ``en``: custom records indexed as English (no Chinese segmentation), to show what
  segmentation costs.

``--shards N`` splits the pages into N indexes (N runs of the binary for ``cli``,
N indexes of one service process otherwise), to show the cost of one more shard.
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from build_site import words  # noqa: E402

PAGE = """<!doctype html><html lang="zh-Hans"><head><meta charset="utf-8"><title>{t}</title></head>
<body><header><a href="../index.html">鏡像</a></header><main><article data-pagefind-body>
<h1 data-pagefind-meta="title">{t}</h1><p class="meta" data-pagefind-ignore>來源 · 2026-01-01</p>
<div class="content">{body}</div></article></main><footer>Atom · RSS</footer></body></html>
"""


def make_pages(n: int) -> list[tuple[str, str, str, str]]:
    """(relative path, page HTML, title, plain text) of ``n`` synthetic articles."""
    rng = random.Random(20261128)
    out = []
    for i in range(n):
        title = words(rng, 6) + f" {i}"
        paras = [words(rng, 60) for _ in range(6)]
        body = "".join(f"<p>{html.escape(p)}</p>" for p in paras)
        rel = f"{i // 100:02d}/{i % 100:02d}-{i}.html"
        out.append((rel, PAGE.format(t=html.escape(title), body=body), title, "\n".join(paras)))
    return out


def pagefind_binary() -> str | None:
    """The Pagefind executable (extended build preferred), or None when not installed."""
    for mod in ("pagefind_bin_extended", "pagefind_bin"):
        try:
            return str(__import__(mod).get_executable())
        except (ImportError, FileNotFoundError):
            continue
    return shutil.which("pagefind_extended") or shutil.which("pagefind")


def ours(made: list[tuple[str, str, str, str]]) -> None:
    """newsmirror's own index (``search_index``) on the same pages, for comparison."""
    from newsmirror.search_index import Collector

    start = time.process_time()
    col = Collector()
    col.add((i, title, text) for i, (_rel, _page, title, text) in enumerate(made))
    segments = [list(range(k, min(k + 6400, len(made)))) for k in range(0, len(made), 6400)]
    shards = list(col.build(segments))
    cpu = time.process_time() - start
    size = sum(len(raw) for seg, _leads in shards for _, raw in seg)
    print(f"ours (search_index): {cpu:.2f} s CPU, {cpu / len(made) * 1000:.3f} ms per page, "
          f"{size / 1e6:.1f} MB of shards")  # fmt: skip


def child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


class Service:
    """``pagefind --service``: requests written as they come, answers read by a thread."""

    def __init__(self, binary: str) -> None:
        self.proc = subprocess.Popen([binary, "--service"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)  # fmt: skip
        self.sent = 0
        self.answers: list[dict] = []
        self.cond = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        buf = b""
        while chunk := self.proc.stdout.read1(1 << 20):
            buf += chunk
            while b"," in buf:
                raw, _, buf = buf.partition(b",")
                with self.cond:
                    self.answers.append(json.loads(base64.b64decode(raw)))
                    self.cond.notify_all()

    def send(self, payload: dict) -> int:
        assert self.proc.stdin is not None
        self.sent += 1
        msg = {"message_id": self.sent, "payload": payload}
        self.proc.stdin.write(base64.b64encode(json.dumps(msg).encode()) + b",")
        return self.sent

    def wait(self, n: int) -> dict:
        assert self.proc.stdin is not None
        self.proc.stdin.flush()
        with self.cond:
            self.cond.wait_for(lambda: len(self.answers) >= n)
            got = next(a for a in self.answers if a.get("message_id") == n)
        if got["payload"]["type"] == "Error":
            raise RuntimeError(got["payload"])
        return got["payload"]

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait()


def run_cli(binary: str, site: Path, out: Path, shards: list[list[str]]) -> None:
    for k, members in enumerate(shards):
        glob = "{" + ",".join(members) + "}" if len(members) > 1 else members[0]
        subprocess.run([binary, "--site", str(site), "--glob", glob, "--output-path",
                        str(out / str(k)), "--force-language", "zh", "--silent"], check=True)  # fmt: skip


def run_service(binary: str, mode: str, pages: dict, out: Path, shards: list[list[str]]) -> None:
    lang = "en" if mode == "en" else "zh"
    sv = Service(binary)
    for k, members in enumerate(shards):
        idx = sv.wait(sv.send({"type": "NewIndex", "config": {"force_language": lang}}))["index_id"]
        for rel in members:
            page, title, text = pages[rel]
            if mode == "html":
                sv.send({"type": "AddFile", "index_id": idx, "url": "/" + rel, "file_path": None,
                         "file_contents": page})  # fmt: skip
            else:
                sv.send({"type": "AddRecord", "index_id": idx, "url": "/" + rel, "language": lang,
                         "content": title + "\n" + text, "meta": {"title": title},
                         "filters": None, "sort": None})  # fmt: skip
        sv.wait(sv.send({"type": "WriteFiles", "index_id": idx, "output_path": str(out / str(k))}))
    sv.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    ap.add_argument("--pages", type=int, default=1000)
    ap.add_argument("--shards", type=int, default=1)
    ap.add_argument("--modes", default="cli,html,record,en")
    a = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).parents[1] / "src"))
    ours(make_pages(a.pages))
    binary = pagefind_binary()
    if binary is None:
        sys.exit("Pagefind is not installed (pip install -e '.[bench]')")
    work = Path(tempfile.mkdtemp(prefix="nm-pagefind-"))
    try:
        made = make_pages(a.pages)
        site = work / "site"
        for rel, page, _, _ in made:
            (site / rel).parent.mkdir(parents=True, exist_ok=True)
            (site / rel).write_text(page, encoding="utf-8")
        pages = {rel: (page, title, text) for rel, page, title, text in made}
        rels = [rel for rel, *_ in made]
        size = -(-len(rels) // a.shards)
        shards = [rels[i : i + size] for i in range(0, len(rels), size)]
        print(f"{a.pages} pages in {len(shards)} shard(s); load {os.getloadavg()[0]:.2f}")
        for mode in a.modes.split(","):
            out = work / f"out-{mode}"
            cpu0, t = child_cpu(), time.perf_counter()
            if mode == "cli":
                run_cli(binary, site, out, shards)
            else:
                run_service(binary, mode, pages, out, shards)
            cpu, wall = child_cpu() - cpu0, time.perf_counter() - t
            frags = sum(len(os.listdir(out / str(k) / "fragment")) for k in range(len(shards)))
            print(f"{mode:7} cpu {cpu:6.2f} s ({1000 * cpu / a.pages:5.2f} ms/page)  "
                  f"wall {wall:6.2f} s  pages indexed {frags}", flush=True)  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
