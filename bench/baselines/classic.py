"""What the baseline scripts share: the feed list, their state file, classic post files.

Kept small and plain on purpose: this is how a straightforward script would
write classic Jekyll posts, not newsmirror's own writer.
"""

from __future__ import annotations

import json
import re
import zlib
from datetime import UTC, datetime
from pathlib import Path

_UNSAFE = re.compile(r'[\\/:*?"<>|\s#%{}\[\]^`~]+')


def read_feeds(path: str) -> list[tuple[str, str, str]]:
    """(name, slug, url) per line of a tab-separated file."""
    rows = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            name, slug, url = line.split("\t")
            rows.append((name, slug, url))
    return rows


class State:
    """Per-feed validators and the links already written, kept in ``OUT/.state.json``."""

    def __init__(self, out: Path) -> None:
        self.file = out / ".state.json"
        data = json.loads(self.file.read_text(encoding="utf-8")) if self.file.exists() else {}
        self.feeds: dict[str, dict[str, str]] = data.get("feeds", {})
        self.seen: set[str] = set(data.get("seen", []))

    def save(self) -> None:
        data = {"feeds": self.feeds, "seen": sorted(self.seen)}
        self.file.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def post_path(out: Path, published: datetime, title: str, link: str) -> Path:
    """``_posts/YYYY-MM-DD-<title>.md``; a short hash of the link when the name is taken."""
    stem = _UNSAFE.sub("-", title).strip("-.")[:60] or "untitled"
    path = out / "_posts" / f"{published:%Y-%m-%d}-{stem}.md"
    if path.exists():
        path = path.with_name(f"{path.stem}-{zlib.crc32(link.encode()):08x}.md")
    return path


def write_post(
    path: Path, *, title: str, link: str, published: datetime, source: str, content: str
) -> None:
    """One classic post (front matter, epoch comment, link line, the HTML in a <div>)."""
    when = published.astimezone(UTC)
    ms = int(when.timestamp() * 1000)
    lines = "".join(line.strip() for line in content.splitlines())
    text = (
        "---\nlayout: post\n"
        f"title: {json.dumps(title, ensure_ascii=False)}\n"
        f"date: {when:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z\n"
        f"author: {json.dumps(source, ensure_ascii=False)}\n"
        f"from: {link}\n"
        f"tags: [ {json.dumps(source, ensure_ascii=False)} ]\n"
        "comments: True\n"
        f"categories: [ {json.dumps(source, ensure_ascii=False)} ]\n"
        "---\n"
        f"<!--{ms}-->\n[{title}]({link})\n------\n\n<div>\n{lines}\n</div>\n"
    )
    path.write_text(text, encoding="utf-8")
