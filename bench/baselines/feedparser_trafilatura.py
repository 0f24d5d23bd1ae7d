"""Baseline (b): sequential feedparser + article page fetch + trafilatura.extract.

    python feedparser_trafilatura.py FEEDS.tsv OUT_DIR

For every entry of every feed, in order: fetch the article page (urllib, one at
a time), extract its main content with trafilatura (HTML output, comments
left out) and write a classic post. Feeds use conditional GET across runs, as
in the feedparser baseline. Prints ``posts written: N, pages fetched: N``.
"""

from __future__ import annotations

import sys
import urllib.request
from pathlib import Path

import feedparser
import trafilatura
from classic import State, post_path, read_feeds, write_post
from feedparser_posts import entry_time


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return resp.read()


def main(feeds_file: str, out_dir: str) -> int:
    out = Path(out_dir)
    (out / "_posts").mkdir(parents=True, exist_ok=True)
    state = State(out)
    written = pages = 0
    for name, slug, url in read_feeds(feeds_file):
        old = state.feeds.get(slug, {})
        d = feedparser.parse(url, etag=old.get("etag"), modified=old.get("modified"))
        if d.get("status") == 304:
            continue
        state.feeds[slug] = {"etag": d.get("etag", ""), "modified": d.get("modified", "")}
        for entry in d.entries:
            link = entry.get("link", "")
            if link in state.seen:
                continue
            html = fetch(link)
            pages += 1
            body = trafilatura.extract(
                html, url=link, output_format="html", include_comments=False,
                include_images=True, include_links=True,
            )  # fmt: skip
            when = entry_time(entry)
            title = entry.get("title", "")
            write_post(post_path(out, when, title, link), title=title, link=link, published=when,
                       source=name, content=body or entry.get("summary", ""))  # fmt: skip
            state.seen.add(link)
            written += 1
    state.save()
    print(f"posts written: {written}, pages fetched: {pages}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
