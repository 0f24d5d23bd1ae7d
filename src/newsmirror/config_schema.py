"""Every setting of ``newsmirror.toml``, declared once as data: its name, type,
default, help text and check (``Setting``), gathered per section (``MIRROR``,
``FETCH``, ``RULES``, ``PUBLISH``, ``HEALTH``, ``SITE``, ``IMAGES``, ``CAPTURE``,
``RECHECK``, ``STORE``, ``ENGINE``, ``SOURCE``), with the checks they use and
``parse_tz``, the time zone value's reader.

``config`` validates a file against these tables and writes the commented
default from them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, timedelta, timezone, tzinfo
from typing import Any
from urllib.parse import urlsplit

from .engine import ENGINE_KINDS, EngineSettings
from .recheck_rules import RecheckSettings, schedule_problem
from .settings import CONVERSIONS, FetchSettings


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting of newsmirror.toml: its name, type, default, help text and check."""

    name: str
    kind: type | tuple[type, ...]
    default: Any
    help: str
    check: Callable[[Any], str] | None = None  # returns a problem, or "" when fine


def _positive(v: Any) -> str:
    return "" if v > 0 else "must be greater than 0"


def _not_negative(v: Any) -> str:
    return "" if v >= 0 else "must not be negative"


def _tz_problem(v: str) -> str:
    try:
        parse_tz(v)
    except ValueError as e:
        return str(e)
    return ""


def _regex_problem(v: str) -> str:
    try:
        re.compile(v)
    except re.error as e:
        return f"invalid regular expression: {e}"
    return ""


def _selector_problem(v: str) -> str:
    if not v:
        return ""
    from .clean import validate_selector  # lxml and cssselect: only for configs with selectors

    return validate_selector(v) or ""


def _selectors_problem(v: list[Any]) -> str:
    if not all(isinstance(s, str) for s in v):
        return "must be a list of strings"
    return "; ".join(p for p in map(_selector_problem, v) if p)


def url_problem(v: str) -> str:
    parts = urlsplit(v)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"must be an http(s) URL, got {v!r}"
    return ""


def _choice(*allowed: str) -> Callable[[Any], str]:
    return lambda v: "" if v in allowed else f"must be one of {', '.join(allowed)}; got {v!r}"


_FD = FetchSettings()  # the fetcher's own defaults

MIRROR = (
    Setting("timezone", str, "+08:00", "Time zone for dates shown to readers (list pages): "
            "an offset like +08:00, or UTC.", _tz_problem),
    Setting("posts_dir", str, "_posts", "Folder of the Jekyll posts, relative to the mirror."),
    Setting("lists_dir", str, "lists", "Folder of the per-source list pages."),
    Setting("list_limit", int, 100, "How many newest items a list page shows.", _positive),
    Setting("archive_after_days", int, 0, "Move posts older than this many days to "
            "_posts/_archive/ (Jekyll skips it, keeping builds short); 0 = never.", _not_negative),
    Setting("max_items_per_feed", int, 0, "Take at most this many items of each feed per run "
            "(newest first in feed order); 0 = all.", _not_negative),
)  # fmt: skip

FETCH = (
    Setting("user_agent", str, _FD.user_agent, "User-Agent header sent with every request."),
    Setting("connect_timeout", (int, float), _FD.connect_timeout, "Seconds to connect.", _positive),
    Setting("read_timeout", (int, float), _FD.read_timeout, "Seconds between bytes.", _positive),
    Setting("total_timeout", (int, float), _FD.total_timeout, "Seconds for one whole request.", _positive),
    Setting("retries", int, _FD.retries, "Retries on 5xx, 429 and connection errors.", _not_negative),
    Setting("backoff_base", (int, float), _FD.backoff_base, "First retry delay, doubled each time (with jitter).", _not_negative),
    Setting("backoff_max", (int, float), _FD.backoff_max, "Longest wait between retries, Retry-After included.", _not_negative),
    Setting("max_bytes", int, _FD.max_bytes, "Largest response body accepted (after decompression).", _positive),
    Setting("concurrency", int, _FD.concurrency, "Requests in flight at once, in all.", _positive),
    Setting("per_host", int, _FD.per_host, "Requests in flight at once to one host.", _positive),
    Setting("proxy", str, _FD.proxy, "Proxy URL (http://, socks5://); empty = HTTP(S)_PROXY from the environment."),
    Setting("http2", bool, _FD.http2, "Offer HTTP/2 to servers that support it."),
    Setting("max_redirects", int, _FD.max_redirects, "Redirects followed per request.", _not_negative),
    Setting("allow_private", bool, _FD.allow_private, "Let redirects, links found in feeds and images "
            "reach private or loopback addresses (the configured feed URLs are always trusted)."),
)  # fmt: skip

RULES = (
    Setting("enabled", bool, True, "Fetch this source."),
    Setting("link_field", str, "link", "Which field is the article's URL: link or guid.", _choice("link", "guid")),
    Setting("include_categories", str, "", "Keep only items with a category matching this regex.", _regex_problem),
    Setting("exclude_categories", str, "", "Drop items with a category matching this regex.", _regex_problem),
    Setting("remove_selectors", list, [], "CSS selectors of elements to remove from content.", _selectors_problem),
    Setting("convert", str, "none", "OpenCC conversion of the text: " + ", ".join(CONVERSIONS) + ".", _choice(*CONVERSIONS)),
    Setting("fulltext", str, "auto", "Where the full text comes from: feed, page or auto.", _choice("auto", "feed", "page")),
    Setting("content_selector", str, "", "CSS selector of the article body on its page.", _selector_problem),
    Setting("recheck", bool, True, "Re-check this source's articles for edits and deletions."),
    Setting("recheck_schedule", list, [], "This source's own re-check times after publication "
            "(like [recheck] schedule); empty = [recheck] schedule.", schedule_problem),
)  # fmt: skip


def _strings(v: list[Any]) -> str:
    return "" if all(isinstance(x, str) and x for x in v) else "must be a list of non-empty strings"


PUBLISH = (
    Setting("remotes", list, [], "Git remotes to push to (names or URLs); empty = origin.", _strings),
    Setting("branch", str, "", "Branch to push; empty = the current branch."),
    Setting("attempts", int, 5, "Pushes per remote; a rejected one fetches, rebases and retries.", _positive),
)  # fmt: skip

HEALTH = (
    Setting("backoff_base_minutes", (int, float), 30.0, "Rest after a source's first failure; "
            "doubled after each next one.", _positive),
    Setting("backoff_cap_hours", (int, float), 24.0, "Longest rest: a dead source is still "
            "tried this often, never given up.", _positive),
)  # fmt: skip


def _variants_problem(v: list[Any]) -> str:
    bad = [x for x in v if x not in ("zh-Hant", "zh-Hans")]
    return f"unknown variant(s) {bad!r}: use zh-Hant, zh-Hans" if bad else ""


SITE = (
    Setting("title", str, "newsmirror", "Name of the site, in page headers and feeds."),
    Setting("base_url", str, "", "Public URL of the site, for feeds and sitemap.xml; "
            "empty = relative URLs (the build warns)."),
    Setting("out", str, "_site", "Output folder of `newsmirror build`, relative to the mirror."),
    Setting("page_size", int, 50, "Items per source page.", _positive),
    Setting("home_size", int, 50, "Newest items on the home page.", _positive),
    Setting("feed_size", int, 50, "Entries per feed (Atom and RSS).", _positive),
    Setting("variants", list, [], "Script variants of the whole site: zh-Hant, zh-Hans.", _variants_problem),
    Setting("lang", str, "zh-Hant", "Language of pages whose content does not tell."),
    Setting("images", str, "original", "Article images: original (lazy, no referrer) or link "
            "(a link instead: pages make no request to other hosts).", _choice("original", "link")),
    Setting("search", bool, True, "Build the full-text search index (Chinese and other languages)."),
    Setting("search_shard_size", int, 100, "Articles per newest search segment.", _positive),
)  # fmt: skip

IMAGES = (
    Setting("enabled", bool, True, "Download article images into assets/ and show them from there."),
    Setting("max_bytes", int, 5 * 1024 * 1024, "Largest image kept; a larger one keeps its "
            "original URL.", _positive),
    Setting("run_max_bytes", int, 200 * 1024 * 1024, "Image bytes accepted per run; the rest "
            "wait for the next run.", _positive),
    Setting("max_tries", int, 5, "Failed downloads before an image keeps its original URL "
            "for good.", _positive),
)  # fmt: skip

CAPTURE = (
    Setting("warc", bool, False, "Keep fetched responses as WARC records in "
            ".newsmirror/capture/ (newsmirror export --format warc)."),
)  # fmt: skip

_RD = RecheckSettings()

RECHECK = (
    Setting("enabled", bool, _RD.enabled, "Re-check kept articles' pages for edits and "
            "deletions (newsmirror run does the due ones after new articles)."),
    Setting("schedule", list, list(_RD.schedule), "When to re-check, after publication: "
            "durations like 30m, 3h, 1d, 2w.", schedule_problem),
    Setting("budget", int, _RD.budget, "Most re-checks in one run; the longest overdue "
            "go first, the rest wait for the next run.", _positive),
    Setting("confirmations", int, _RD.confirmations, "Consecutive re-checks that must find "
            "an article gone (404/410, moved to a home page, a removal notice) before it "
            "is marked deleted.", _positive),
)  # fmt: skip


def _store_url_problem(v: str) -> str:
    scheme = urlsplit(v).scheme
    ok = not v or (scheme in ("postgresql", "postgres") and urlsplit(v).path.strip("/"))
    return (
        "" if ok else f"must be empty (SQLite) or postgresql://user@host:port/database; got {v!r}"
    )


def _broker_problem(v: str) -> str:
    ok = not v or urlsplit(v).scheme in ("redis", "rediss")
    return "" if ok else f"must be a redis:// or rediss:// URL; got {v!r}"


_ED = EngineSettings()

STORE = (
    Setting("url", str, "", "Where the index lives: empty = the SQLite file "
            ".newsmirror/index.sqlite; or postgresql://user@host:port/database.", _store_url_problem),
)  # fmt: skip

ENGINE = (
    Setting("kind", str, _ED.kind, "Who does the fetch/extract work: embedded (this process) "
            "or celery (workers started with `newsmirror worker`).", _choice(*ENGINE_KINDS)),
    Setting("broker", str, _ED.broker, "Redis URL of the Celery broker (also holds results "
            "and the per-host limits shared by all workers).", _broker_problem),
    Setting("task_time_limit", int, _ED.task_time_limit, "Seconds a task may run before its "
            "worker process is killed and the task handed on.", _positive),
    Setting("visibility_timeout", int, _ED.visibility_timeout, "Seconds before a task taken by "
            "a worker that vanished is given to another.", _positive),
)  # fmt: skip

SOURCE = (
    Setting("name", str, None, "Display name, e.g. (臺)中央社CNA."),
    Setting("slug", str, None, "ASCII identifier: lower-case letters, digits, - and _."),
    Setting("url", str, None, "Feed URL.", url_problem),
)


def parse_tz(value: str) -> tzinfo:
    """``+08:00``, ``-0530``, ``UTC`` or ``Z`` → a fixed-offset tzinfo."""
    v = value.strip()
    if v.upper() in ("UTC", "Z", "GMT"):
        return UTC
    m = re.fullmatch(r"([+-])(\d{1,2}):?(\d{2})?", v)
    if not m:
        raise ValueError(f"time zone must be an offset like +08:00 or UTC, got {value!r}")
    sign = -1 if m.group(1) == "-" else 1
    delta = timedelta(hours=int(m.group(2)), minutes=int(m.group(3) or 0))
    if delta > timedelta(hours=14):
        raise ValueError(f"time zone offset out of range: {value!r}")
    return timezone(sign * delta)
