"""The rules of re-checks (pure): when an article is due, and what counts as gone.

**Schedule.** An article is re-checked at fixed offsets after its publish time
(default 1 h, 3 h, 12 h, 1 d, 3 d, 7 d, 30 d; ``[recheck] schedule``, or a
source's own ``recheck_schedule``). Its next check is the first such point
after its last check (the first capture counts as a check); when a mirror did
not run for a while, one check covers every point that passed meanwhile, and an
article first seen after its last point is never re-checked.

**Gone.** A re-check finds an article gone (a *deletion signal*) when its page

* answers 404 or 410;
* redirects to the site's home page or to a section above the article: a
  path that is an ancestor of the article's own (``/news/`` for
  ``/news/2024/abc.html``), ``/`` or a home-page name (``/index.html``…), or
  the home page of the source's feed host;
* answers with a short page saying the content was removed ("該內容已刪除",
  "内容不存在", "页面不存在", "此文章已被删除", "content removed"…).

A deletion signal is not yet a deletion: it takes ``confirmations``
consecutive re-checks that all find the article gone (default 2), and the
mark carries the time of the first. A temporary failure (5xx, 429, timeout,
connection error, any other HTTP error) is never a signal and interrupts
nothing: the count of signals stays as it was.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from posixpath import normpath
from typing import Any
from urllib.parse import unquote, urlsplit

DEFAULT_SCHEDULE = ("1h", "3h", "12h", "1d", "3d", "7d", "30d")
_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([mhdw])\s*$", re.I)


@dataclass(frozen=True, slots=True)
class RecheckSettings:
    """``[recheck]`` in newsmirror.toml (see config_schema.RECHECK for the help texts)."""

    enabled: bool = True
    schedule: tuple[str, ...] = DEFAULT_SCHEDULE
    budget: int = 200
    confirmations: int = 2


def parse_duration(value: str) -> timedelta:
    """``90m``, ``3h``, ``1d``, ``2w`` → timedelta; ValueError otherwise."""
    m = _DURATION.match(value) if isinstance(value, str) else None
    if m is None:
        raise ValueError(f"{value!r} is not a duration like 30m, 3h, 1d or 2w")
    return timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2).lower()])


def parse_schedule(values: Sequence[str]) -> tuple[timedelta, ...]:
    """Offsets after publication, sorted, duplicates dropped; ValueError when one is bad."""
    offsets = {parse_duration(v) for v in values}
    if any(o <= timedelta(0) for o in offsets):
        raise ValueError("schedule offsets must be greater than 0")
    return tuple(sorted(offsets))


def schedule_problem(values: list[object]) -> str:
    """A config check: "" when ``values`` is a valid schedule."""
    if not all(isinstance(v, str) for v in values):
        return "must be a list of durations like \"1h\", \"3d\""
    try:
        parse_schedule(values)  # type: ignore[arg-type]
    except ValueError as e:
        return str(e)
    return ""


def next_due(
    published: datetime, schedule: Sequence[timedelta], after: datetime
) -> datetime | None:
    """The first schedule point (``published + offset``) later than ``after``; None
    when every point has passed."""
    return next((published + o for o in schedule if published + o > after), None)


# ------------------------------------------------------------ deletion signals

GONE_STATUSES = frozenset({404, 410})
HOME_NAMES = frozenset(
    {"index.html", "index.htm", "index.php", "index.shtml", "index.aspx", "default.aspx",
     "default.asp", "home", "home.html", "main", "index"}
)  # fmt: skip

_REMOVED = (
    "該內容已刪除", "该内容已删除", "內容已刪除", "内容已删除", "內容不存在", "内容不存在",
    "頁面不存在", "页面不存在", "網頁不存在", "网页不存在", "此文章已被刪除", "此文章已被删除",
    "文章已被刪除", "文章已被删除", "文章不存在", "新聞不存在", "新闻不存在", "已被刪除",
    "已被删除", "無法找到該頁面", "无法找到该页面",
    "找不到該頁面", "找不到该页面", "content removed", "content has been removed",
    "article has been removed", "article has been deleted", "page has been removed",
    "page not found", "no longer available", "this content is unavailable",
    "content not found", "article not found",
)  # fmt: skip


@functools.cache
def removed_phrases() -> tuple[str, ...]:
    """The removal phrases, normalized as page text is (textdiff is imported by the
    first re-check, not by every command that reads the configuration)."""
    from .textdiff import normalize_text

    return tuple(normalize_text(p).lower() for p in _REMOVED)


def __getattr__(name: str) -> Any:
    if name == "REMOVED_PHRASES":
        return removed_phrases()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


REMOVED_MAX_CHARS = 400  # a removal notice is short; an article about removals is not


def _path_parts(path: str) -> list[str]:
    clean = normpath(unquote(path or "/"))
    return [p for p in clean.split("/") if p and p != "."]


def redirect_gone(url: str, final_url: str, feed_url: str = "") -> bool:
    """True when fetching ``url`` ended at ``final_url`` (after redirects) and that
    is a home or section page rather than the article (see the module docstring)."""
    try:
        a, b = urlsplit(url), urlsplit(final_url)
        feed = urlsplit(feed_url) if feed_url else None
    except ValueError:
        return False
    if (a.netloc.lower(), a.path, a.query) == (b.netloc.lower(), b.path, b.query):
        return False  # no redirect (or only the scheme or fragment changed)
    hosts = {a.netloc.lower()} | ({feed.netloc.lower()} if feed and feed.netloc else set())
    if b.netloc.lower() not in hosts:
        return False  # moved to another site: not a home page of this one
    theirs, ours = _path_parts(b.path), _path_parts(a.path)
    if theirs and theirs[-1].lower() in HOME_NAMES:
        theirs = theirs[:-1]
    if not theirs:
        return True  # the site's home page
    return len(theirs) < len(ours) and ours[: len(theirs)] == theirs  # a section above


def removed_page(text: str, title: str = "") -> str:
    """The removal phrase a short page shows instead of the article, else ""."""
    from .textdiff import normalize_text

    body = normalize_text(f"{title} {text}").lower()
    if len(normalize_text(text)) > REMOVED_MAX_CHARS:
        return ""
    return next((p for p in removed_phrases() if p in body), "")


def gone_status(status: int) -> bool:
    return status in GONE_STATUSES


__all__ = [
    "DEFAULT_SCHEDULE",
    "RecheckSettings",
    "gone_status",
    "next_due",
    "parse_duration",
    "parse_schedule",
    "redirect_gone",
    "removed_page",
    "schedule_problem",
]
