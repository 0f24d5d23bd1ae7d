"""A second floor for scenario (a), for information: the least work a mirror with
newsmirror's obligations does, but without its cleaning.

    python nh3_floor.py FEEDS.tsv OUT_DIR

On every core (forked processes, each with every n-th feed: no start-up or imports
of their own): fetch the feed, parse it with ``lxml.etree``, sanitize each item's
HTML once with nh3, write it through a temporary file renamed into place; the
parent indexes every post in one SQLite transaction. No chrome removal, tidying,
plain text, dates, titles, dedup or summary detection: what is left between this
and newsmirror is that work (and newsmirror's own start-up). Prints ``files
written: N``.
"""

from __future__ import annotations

import marshal
import os
import sqlite3
import sys
import urllib.request
from pathlib import Path

import nh3
from classic import read_feeds
from lxml import etree
from lxml_floor import items


def work(urls: list[tuple[str, str]], out: Path, fd: int) -> None:
    """A child: its feeds' posts written, their index rows sent on ``fd``."""
    rows = []
    for slug, url in urls:
        with urllib.request.urlopen(url, timeout=30) as resp:
            root = etree.fromstring(resp.read())
        for j, (title, link, body) in enumerate(items(root)):
            path = out / f"{slug}-{j:05d}.html"
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text(f'<h1>{title}</h1>\n<a href="{link}">{link}</a>\n{nh3.clean(body)}',
                           encoding="utf-8")  # fmt: skip
            os.replace(tmp, path)
            rows.append((link, str(path), title))
    with os.fdopen(fd, "wb") as fh:
        fh.write(marshal.dumps(rows))


def main(feeds_file: str, out_dir: str) -> int:
    out = Path(out_dir) / "_posts"
    out.mkdir(parents=True, exist_ok=True)
    feeds = [(slug, url) for _name, slug, url in read_feeds(feeds_file)]
    n = max(1, min(os.cpu_count() or 1, len(feeds)))
    children = []
    for k in range(n):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            code = 1
            try:
                work(feeds[k::n], out, w)
                code = 0
            finally:
                os._exit(code)
        os.close(w)
        children.append((pid, r))
    db = sqlite3.connect(Path(out_dir) / "index.sqlite")
    db.execute("CREATE TABLE IF NOT EXISTS posts (link TEXT PRIMARY KEY, path TEXT, title TEXT)")
    written = 0
    with db:
        for pid, r in children:
            with os.fdopen(r, "rb") as fh:
                rows = marshal.loads(fh.read() or marshal.dumps([]))
            _, status = os.waitpid(pid, 0)
            if status != 0:
                print(f"a child failed (status {status})", file=sys.stderr)
                return 1
            db.executemany("INSERT OR REPLACE INTO posts VALUES (?, ?, ?)", rows)
            written += len(rows)
    db.close()
    print(f"files written: {written}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
