"""Baseline (a): a sequential feedparser script writing classic Jekyll posts.

    python feedparser_posts.py FEEDS.tsv OUT_DIR

Each feed is fetched by feedparser itself (with the ETag / Last-Modified kept
from the previous run, so an unchanged feed answers 304); every entry not written
before (links are kept in the state file) becomes one post. Prints
``posts written: N``.
"""

from __future__ import annotations

import calendar
import sys
from datetime import UTC, datetime
from pathlib import Path

import feedparser
from classic import State, post_path, read_feeds, write_post


def entry_time(entry: feedparser.FeedParserDict) -> datetime:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if parsed is None:
        return datetime.now(UTC)
    return datetime.fromtimestamp(calendar.timegm(parsed), UTC)


def main(feeds_file: str, out_dir: str) -> int:
    out = Path(out_dir)
    (out / "_posts").mkdir(parents=True, exist_ok=True)
    state = State(out)
    written = 0
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
            content = (
                entry["content"][0]["value"] if entry.get("content") else entry.get("summary", "")
            )
            when = entry_time(entry)
            title = entry.get("title", "")
            write_post(post_path(out, when, title, link), title=title, link=link,
                       published=when, source=name, content=content)  # fmt: skip
            state.seen.add(link)
            written += 1
    state.save()
    print(f"posts written: {written}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
