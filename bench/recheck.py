"""Re-check throughput on loopback (standalone: ``python bench/recheck.py [N]``).

N article pages (default 400) on a loopback server, one source with
``fulltext = "page"``; then ``recheck --all`` three times, in-process:

1. every page fetched whole and extracted (the first look at each page);
2. nothing changed: every page answers 304 to the conditional GET;
3. 10 % of the pages edited, 5 % answering 404 (a deletion signal each).

Prints seconds and articles per second for each pass.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from newsmirror.config import load_config, sources_toml  # noqa: E402
from newsmirror.loopback import LoopbackServer  # noqa: E402
from newsmirror.pipeline import run  # noqa: E402
from newsmirror.recheck import recheck  # noqa: E402

PARA = "市政府今天宣布一項新的交通政策，預計將有三百人受惠，官員表示這項政策經過長時間的研究。"


def page(n: int, extra: str = "") -> bytes:
    body = "".join(f"<p>{PARA}第{n}則第{i}段。{extra}</p>" for i in range(6))
    return (f"<html><head><title>新聞{n}</title></head><body><h1>新聞{n}</h1>"
            f"<article>{body}</article></body></html>").encode()  # fmt: skip


def main(n: int) -> None:
    published = datetime(2026, 11, 1, tzinfo=UTC)
    with LoopbackServer() as server, tempfile.TemporaryDirectory() as tmp:
        for i in range(n):
            server.add(f"/a/{i}.html", page(i), content_type="text/html; charset=utf-8",
                       etag=f'"{i}-1"')  # fmt: skip
        items = "".join(
            f"<item><title>新聞{i}</title><link>{server.url(f'/a/{i}.html')}</link>"
            "<pubDate>Sun, 01 Nov 2026 00:00:00 +0000</pubDate><description>摘要</description></item>"
            for i in range(n)
        )
        server.add("/f.xml", f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
                   f"{items}</channel></rss>".encode(), content_type="application/rss+xml")  # fmt: skip
        root = Path(tmp)
        (root / "newsmirror.toml").write_text(
            '[images]\nenabled = false\n[defaults]\nfulltext = "page"\n\n'
            + sources_toml([("測試", "t", server.url("/f.xml"))]), encoding="utf-8",
        )  # fmt: skip
        cfg = load_config(root / "newsmirror.toml")
        now = published + timedelta(minutes=30)
        t = time.perf_counter()
        run(cfg, now=now)
        print(f"first run (pages fetched): {time.perf_counter() - t:.2f} s for {n} articles")
        for label, change in (
            ("first look at every page", None),
            ("nothing changed (304)", None),
            ("10% edited, 5% 404", "edit"),
        ):
            if change:
                for i in range(0, n, 10):
                    server.add(f"/a/{i}.html", page(i, "更新。"), etag=f'"{i}-2"',
                               content_type="text/html; charset=utf-8")  # fmt: skip
                for i in range(5, n, 20):
                    server.add(f"/a/{i}.html", b"gone", status=404)
            now += timedelta(hours=1)
            t = time.perf_counter()
            rep = recheck(cfg, every=True, now=now)
            secs = time.perf_counter() - t
            kinds = Counter(f"{o.kind.value}{'/' + o.reason if o.reason else ''}"
                            for o in rep.rechecks)  # fmt: skip
            print(f"{label}: {secs:.2f} s, {n / secs:.0f} articles/s; {dict(kinds)}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 400)
