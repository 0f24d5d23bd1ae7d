"""Source health and mirror growth.

- The back-off for failing sources: after ``n`` failures in a row a source is
  tried again ``base * 2**(n-1)`` later, capped, and never given up for good
  (:func:`due`, called by the pipeline when it picks sources; it lives in
  ``backoff``, which a run imports without the report code here).
- ``newsmirror status``: per source the last success, the last new article,
  failures in a row, the next attempt and items per day over the last week
  (:func:`gather_health`), plus staleness for alerting (:func:`stale`).
- The size and file count of the mirror's repository against the host's
  limits (:func:`repo_usage`; GitHub: 1 GB recommended, 100 MB per file).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .backoff import EARLY_MAX as EARLY_MAX
from .backoff import BackoffPolicy as BackoffPolicy
from .backoff import due as due
from .backoff import is_due as is_due
from .backoff import next_attempt as next_attempt
from .models import Source
from .store import Store, ts

if TYPE_CHECKING:  # rich is imported by the printing only: a run needs due() alone
    import subprocess

    from rich.console import Console

DAYS = 7
MB = 1_000_000
MIB = 1 << 20
_SKIP_DIRS = {".git", ".newsmirror", "_site", ".jekyll-cache", ".sass-cache", "vendor", ".bundle"}
_SPARK = "▁▂▃▄▅▆▇█"


@dataclass(frozen=True, slots=True)
class SourceHealth:
    """One row of ``newsmirror status``."""

    slug: str
    name: str
    url: str
    enabled: bool
    last_attempt: datetime | None
    last_success: datetime | None
    last_new: datetime | None  # newest of the feed's last new item and its newest article
    last_error: str
    last_error_reason: str
    failures: int
    next_attempt: datetime | None  # None: tried at the next run
    per_day: tuple[int, ...]  # articles first seen in each of the last 7 days, oldest first
    articles: int

    @property
    def per_day_avg(self) -> float:
        return sum(self.per_day) / len(self.per_day) if self.per_day else 0.0


def gather_health(
    store: Store,
    sources: Sequence[Source],
    now: datetime,
    policy: BackoffPolicy = BackoffPolicy(),  # noqa: B008  (frozen)
) -> list[SourceHealth]:
    """The health of every configured source, read from the index."""
    daily = store.daily_counts(now, DAYS)
    newest = store.newest_first_seen()
    rows = []
    for s in sources:
        h = store.feed(s.slug)
        candidates = [t for t in (h.last_new if h else None, newest.get(s.slug)) if t]
        nxt = next_attempt(h, policy)
        rows.append(
            SourceHealth(
                slug=s.slug,
                name=s.name,
                url=s.url,
                enabled=s.rules.enabled,
                last_attempt=h.last_attempt if h else None,
                last_success=h.last_success if h else None,
                last_new=max(candidates) if candidates else None,
                last_error=h.last_error if h and h.failures else "",
                last_error_reason=h.last_error_reason if h and h.failures else "",
                failures=h.failures if h else 0,
                next_attempt=None if is_due(h, now, policy, url=s.url) else nxt,
                per_day=tuple(daily.get(s.slug, [0] * DAYS)),
                articles=store.count(source=s.slug),
            )
        )
    return rows


def stale(rows: Sequence[SourceHealth], now: datetime, hours: float) -> list[tuple[str, str]]:
    """(slug, why) for each enabled source with no new article for ``hours``."""
    cutoff = now - timedelta(hours=hours)
    out = []
    for r in rows:
        if not r.enabled:
            continue
        if r.last_new is None:
            out.append((r.slug, "no article ever"))
        elif r.last_new < cutoff:
            age = (now - r.last_new).total_seconds() / 3600
            out.append((r.slug, f"no new article for {age:.0f} h (last {ts(r.last_new)})"))
    return out


# -- repository size ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HostLimits:
    """The host's limits (GitHub's by default) and when to warn before them."""

    name: str = "GitHub"
    repo_bytes: int = 1_000_000_000  # recommended size of a whole repository
    file_bytes: int = 100 * MIB  # pushes with a larger file are refused
    file_warn_bytes: int = 50 * MIB  # the host warns from here
    warn_ratio: float = 0.8  # warn at this share of repo_bytes


@dataclass(frozen=True, slots=True)
class RepoUsage:
    """What the mirror's repository holds: files, bytes, archive, the largest files."""

    files: int  # files that would be committed (ignored files left out)
    tree_bytes: int
    git_bytes: int | None  # the object store (history); None when not a git repository
    posts: int  # post files, archive included
    archived: int  # post files under <posts_dir>/_archive
    largest: tuple[tuple[str, int], ...]  # the biggest files, biggest first
    warnings: tuple[str, ...]


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[bytes] | None:
    import subprocess  # the report's git sizes only: a run needs due() alone

    try:
        return subprocess.run(
            ["git", *args], cwd=root, capture_output=True, timeout=120, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None


def _listed_files(root: Path) -> list[str]:
    """Files of the mirror that git would commit (all files when not a git repository)."""
    r = _git(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", ".")
    if r is not None and r.returncode == 0:
        names = [n.decode("utf-8", "surrogateescape") for n in r.stdout.split(b"\0") if n]
        return [n for n in dict.fromkeys(names) if not n.startswith(".newsmirror/")]
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in _SKIP_DIRS]
        rel = Path(dirpath).relative_to(root)
        out.extend((rel / f).as_posix() for f in filenames)
    return out


def _git_bytes(root: Path) -> int | None:
    r = _git(root, "count-objects", "-v")
    if r is None or r.returncode != 0:
        return None
    kib = 0
    for line in r.stdout.decode("ascii", "replace").splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("size", "size-pack") and value.strip().isdigit():
            kib += int(value)
    return kib * 1024


def human(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def repo_usage(
    root: Path, posts_dir: str = "_posts", limits: HostLimits = HostLimits()
) -> RepoUsage:
    """Size and file count of the mirror (what a commit holds, plus git's history)."""
    root = Path(root)
    sizes: list[tuple[str, int]] = []
    for rel in _listed_files(root):
        try:
            sizes.append((rel, (root / rel).stat().st_size))
        except OSError:
            continue  # deleted since it was listed
    tree = sum(n for _, n in sizes)
    git_bytes = _git_bytes(root)
    prefix = posts_dir.strip("/") + "/"
    posts = [p for p, _ in sizes if p.startswith(prefix) and p.endswith((".md", ".html"))]
    archived = sum(1 for p in posts if p.startswith(prefix + "_archive/"))
    largest = tuple(sorted(sizes, key=lambda x: (-x[1], x[0]))[:5])
    warnings = []
    threshold = limits.repo_bytes * limits.warn_ratio
    for what, n in (("the mirror's files", tree), ("git's history", git_bytes or 0)):
        if n >= threshold:
            warnings.append(
                f"{what} take {human(n)}; {limits.name} recommends a repository under "
                f"{human(limits.repo_bytes)}: start a new repository for old posts"
            )
    for rel, n in sizes:
        if n >= limits.file_warn_bytes:
            warnings.append(
                f"{rel} is {human(n)}; {limits.name} refuses files over {human(limits.file_bytes)}"
            )
    return RepoUsage(
        files=len(sizes),
        tree_bytes=tree,
        git_bytes=git_bytes,
        posts=len(posts),
        archived=archived,
        largest=largest,
        warnings=tuple(warnings),
    )


# -- output ---------------------------------------------------------------------


def health_dict(
    rows: Sequence[SourceHealth],
    usage: RepoUsage | None,
    now: datetime,
    stale_rows: Sequence[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    return {
        "generated": ts(now),
        "sources": [
            {
                "slug": r.slug,
                "name": r.name,
                "url": r.url,
                "enabled": r.enabled,
                "last_attempt": ts(r.last_attempt),
                "last_success": ts(r.last_success),
                "last_new": ts(r.last_new),
                "failures_in_row": r.failures,
                "next_attempt": ts(r.next_attempt),
                "last_error": r.last_error,
                "last_error_reason": r.last_error_reason,
                "items_per_day": list(r.per_day),
                "items_per_day_avg": round(r.per_day_avg, 2),
                "articles": r.articles,
            }
            for r in rows
        ],
        "repository": None
        if usage is None
        else {
            "files": usage.files,
            "bytes": usage.tree_bytes,
            "git_bytes": usage.git_bytes,
            "posts": usage.posts,
            "archived_posts": usage.archived,
            "largest": [{"path": p, "bytes": n} for p, n in usage.largest],
            "warnings": list(usage.warnings),
        },
        "stale": None if stale_rows is None else [{"slug": s, "why": why} for s, why in stale_rows],
    }


def health_json(
    rows: Sequence[SourceHealth],
    usage: RepoUsage | None,
    now: datetime,
    stale_rows: Sequence[tuple[str, str]] | None = None,
) -> str:
    return json.dumps(health_dict(rows, usage, now, stale_rows), ensure_ascii=False, indent=2)


def ago(dt: datetime | None, now: datetime) -> str:
    """``3h ago``, ``in 2h``, ``never``: times for people."""
    if dt is None:
        return "never"
    secs = (now - dt).total_seconds()
    n, unit = abs(secs), "s"
    for size, name in ((86400, "d"), (3600, "h"), (60, "m")):
        if n >= size * (2 if name == "d" else 1):
            n, unit = n / size, name
            break
    text = f"{n:.0f}{unit}"
    return f"{text} ago" if secs >= 0 else f"in {text}"


def sparkline(values: Sequence[int]) -> str:
    top = max(values, default=0)
    if top <= 0:
        return _SPARK[0] * len(values)
    return "".join(_SPARK[round(v / top * (len(_SPARK) - 1))] for v in values)


def print_health(
    rows: Sequence[SourceHealth], usage: RepoUsage | None, now: datetime, console: Console
) -> None:
    from rich.table import Table

    table = Table(title="newsmirror status")
    for col in ("source", "last success", "last new", "failures", "next attempt",
                "per day (7 d)", "articles", "last error"):  # fmt: skip
        table.add_column(col, justify="right" if col in ("failures", "articles") else "left")
    for r in rows:
        nxt = (
            "disabled"
            if not r.enabled
            else ago(r.next_attempt, now)
            if r.next_attempt
            else "next run"
        )
        table.add_row(
            r.slug,
            ago(r.last_success, now),
            ago(r.last_new, now),
            str(r.failures),
            nxt,
            f"{sparkline(r.per_day)} {r.per_day_avg:.1f}",
            str(r.articles),
            r.last_error,
            style="red" if r.failures else "dim" if not r.enabled else None,
        )
    console.print(table)
    if usage is None:
        return
    history = f", git history {human(usage.git_bytes)}" if usage.git_bytes is not None else ""
    console.print(
        f"repository: {usage.files} files, {human(usage.tree_bytes)}{history}; "
        f"{usage.posts} posts ({usage.archived} archived)",
        markup=False,
    )
    for w in usage.warnings:
        console.print(f"warning: {w}", style="yellow", markup=False)
