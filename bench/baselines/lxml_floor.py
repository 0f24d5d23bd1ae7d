"""The floor for scenario (a): fetch each feed, parse it with lxml, write one file per item.

    python lxml_floor.py FEEDS.tsv OUT_DIR

No cleaning, no index, no dedup: the least work any tool must do for the same
workload (bytes in, XML parsed, the same number of files out). newsmirror's
goal is to stay within 1.5× of this. Prints ``files written: N``.
"""

from __future__ import annotations

import sys
import urllib.request
from pathlib import Path

from classic import read_feeds
from lxml import etree

ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"


def items(root: etree._Element) -> list[tuple[str, str, str]]:
    """(title, link, html) of every RSS item or Atom entry."""
    out = []
    for it in root.iter("item"):
        body = it.findtext(CONTENT) or it.findtext("description") or ""
        out.append((it.findtext("title") or "", it.findtext("link") or "", body))
    for e in root.iter(f"{ATOM}entry"):
        link = e.find(f"{ATOM}link")
        body = e.findtext(f"{ATOM}content") or e.findtext(f"{ATOM}summary") or ""
        href = link.get("href", "") if link is not None else ""
        out.append((e.findtext(f"{ATOM}title") or "", href, body))
    return out


def main(feeds_file: str, out_dir: str) -> int:
    out = Path(out_dir) / "_posts"
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    for _name, slug, url in read_feeds(feeds_file):
        with urllib.request.urlopen(url, timeout=30) as resp:
            root = etree.fromstring(resp.read())
        for j, (title, link, body) in enumerate(items(root)):
            (out / f"{slug}-{j:05d}.html").write_text(
                f'<h1>{title}</h1>\n<a href="{link}">{link}</a>\n{body}', encoding="utf-8"
            )
            written += 1
    print(f"files written: {written}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
