"""``newsmirror.toml`` → typed, validated configuration.

Every setting is declared once, as data, with its default and help text
(``MIRROR``, ``FETCH``, ``RULES``, ``SOURCE``); ``load_config`` checks the
whole file against them and reports every problem at once, each with its key
path (``sources[2].convert: …``).
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .backoff import BackoffPolicy
from .defaults import DEFAULT_SOURCES
from .engine import ENGINE_KINDS, EngineSettings
from .errors import ConfigError
from .models import Rules, Source
from .recheck_rules import RecheckSettings, schedule_problem
from .settings import (
    CONVERSIONS,
    CaptureSettings,
    FetchSettings,
    ImageSettings,
    PublishSettings,
)

CONFIG_NAME = "newsmirror.toml"
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


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


def _url_problem(v: str) -> str:
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
    Setting("url", str, None, "Feed URL.", _url_problem),
)


def _close(key: str, known: list[str]) -> list[str]:
    """The known key ``key`` was probably meant as (a "did you mean" hint)."""
    import difflib  # only for a config with a problem

    return difflib.get_close_matches(key, known, n=1)


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


@dataclass(frozen=True, slots=True)
class MirrorSettings:
    """``[mirror]`` in newsmirror.toml (see MIRROR for the help texts)."""

    timezone: str = "+08:00"
    posts_dir: str = "_posts"
    lists_dir: str = "lists"
    list_limit: int = 100
    archive_after_days: int = 0
    max_items_per_feed: int = 0

    @property
    def tz(self) -> tzinfo:
        return parse_tz(self.timezone)


@dataclass(frozen=True, slots=True)
class SiteSettings:
    """``[site]``: the built-in static site (see SITE for the help texts)."""

    title: str = "newsmirror"
    base_url: str = ""
    out: str = "_site"
    page_size: int = 50
    home_size: int = 50
    feed_size: int = 50
    variants: tuple[str, ...] = ()
    lang: str = "zh-Hant"
    images: str = "original"
    search: bool = True
    search_shard_size: int = 100

    @classmethod
    def from_config(cls, config: Config, **overrides: Any) -> SiteSettings:
        s = replace(config.site, **{k: v for k, v in overrides.items() if v is not None})
        base = s.base_url
        return replace(
            s,
            variants=tuple(s.variants),
            base_url=base + ("/" if base and not base.endswith("/") else ""),
        )


@dataclass(frozen=True, slots=True)
class Config:
    """A validated newsmirror.toml: the mirror's root, its sources and every section."""

    root: Path
    sources: tuple[Source, ...]
    mirror: MirrorSettings = field(default_factory=MirrorSettings)
    fetch: FetchSettings = field(default_factory=FetchSettings)
    publish: PublishSettings = field(default_factory=PublishSettings)
    health: BackoffPolicy = field(default_factory=BackoffPolicy)
    site: SiteSettings = field(default_factory=SiteSettings)
    images: ImageSettings = field(default_factory=ImageSettings)
    capture: CaptureSettings = field(default_factory=CaptureSettings)
    recheck: RecheckSettings = field(default_factory=RecheckSettings)
    store_url: str = ""  # [store] url; "" = the SQLite file
    engine: EngineSettings = field(default_factory=EngineSettings)
    path: Path | None = None

    @property
    def state_dir(self) -> Path:
        return self.root / ".newsmirror"

    @property
    def index_path(self) -> Path:
        return self.state_dir / "index.sqlite"

    @property
    def store_target(self) -> Path | str:
        """What ``Store()`` opens: the PostgreSQL URL of ``[store]``, else the SQLite file."""
        return self.store_url or self.index_path

    def source(self, slug: str) -> Source:
        for s in self.sources:
            if s.slug == slug:
                return s
        raise ConfigError([f"no source with slug {slug!r}"], path=str(self.path or ""))


def _type_name(kind: type | tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false",
             list: "a list", dict: "a table"}  # fmt: skip
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _check_table(
    table: Mapping[str, Any], settings: tuple[Setting, ...], where: str, problems: list[str]
) -> dict[str, Any]:
    """Validate one TOML table against declared settings; return the good values."""
    known = {s.name: s for s in settings}
    out: dict[str, Any] = {}
    for key, value in table.items():
        path = f"{where}.{key}" if where else key
        spec = known.get(key)
        if spec is None:
            hint = _close(key, list(known))
            problems.append(
                f"{path}: unknown key" + (f" (did you mean {hint[0]!r}?)" if hint else "")
            )
            continue
        kinds = spec.kind if isinstance(spec.kind, tuple) else (spec.kind,)
        bad_bool = isinstance(value, bool) and bool not in kinds
        if bad_bool or not isinstance(value, kinds):
            problems.append(
                f"{path}: expected {_type_name(spec.kind)}, got {type(value).__name__} {value!r}"
            )
            continue
        problem = spec.check(value) if spec.check else ""
        if problem:
            problems.append(f"{path}: {problem}")
            continue
        out[key] = value
    return out


def _build_source(
    raw: Any, index: int, defaults: dict[str, Any], problems: list[str]
) -> Source | None:
    where = f"sources[{index}]"
    if not isinstance(raw, dict):
        problems.append(f"{where}: expected a table with name, slug and url")
        return None
    before = len(problems)
    values = _check_table(raw, SOURCE + RULES, where, problems)
    for s in SOURCE:
        if s.name not in raw:
            problems.append(f"{where}.{s.name}: missing (required)")
    slug = values.get("slug", "")
    if slug and not SLUG_RE.match(slug):
        problems.append(
            f"{where}.slug: must be lower-case ASCII letters, digits, - or _; got {slug!r}"
        )
    name = values.get("name", "")
    if "name" in values and not name.strip():
        problems.append(f"{where}.name: must not be empty")
    if len(problems) > before:
        return None
    rules = {**defaults, **{k: v for k, v in values.items() if k in {r.name for r in RULES}}}
    rules["remove_selectors"] = tuple(rules.get("remove_selectors", ()))
    rules["recheck_schedule"] = tuple(rules.get("recheck_schedule", ()))
    return Source(name=name.strip(), slug=slug, url=values["url"], rules=Rules(**rules))


def parse_config(data: Mapping[str, Any], *, root: Path, path: Path | None = None) -> Config:
    """Validate a decoded TOML document. Raises ConfigError listing every problem."""
    problems: list[str] = []
    top = {"mirror", "fetch", "defaults", "publish", "health", "site", "images", "capture",
           "recheck", "store", "engine", "sources"}  # fmt: skip
    for key in data:
        if key not in top:
            hint = _close(key, sorted(top))
            problems.append(
                f"{key}: unknown key" + (f" (did you mean {hint[0]!r}?)" if hint else "")
            )

    def table(name: str) -> Mapping[str, Any]:
        value = data.get(name, {})
        if not isinstance(value, dict):
            problems.append(f"{name}: expected a table")
            return {}
        return value

    mirror = _check_table(table("mirror"), MIRROR, "mirror", problems)
    fetch = _check_table(table("fetch"), FETCH, "fetch", problems)
    defaults = _check_table(table("defaults"), RULES, "defaults", problems)
    publish = _check_table(table("publish"), PUBLISH, "publish", problems)
    health = _check_table(table("health"), HEALTH, "health", problems)
    site = _check_table(table("site"), SITE, "site", problems)
    images = _check_table(table("images"), IMAGES, "images", problems)
    capture = _check_table(table("capture"), CAPTURE, "capture", problems)
    recheck = _check_table(table("recheck"), RECHECK, "recheck", problems)
    store = _check_table(table("store"), STORE, "store", problems)
    engine = _check_table(table("engine"), ENGINE, "engine", problems)
    if engine.get("kind") == "celery" and not engine.get("broker"):
        problems.append('engine.broker: required when engine.kind = "celery" (a redis:// URL)')
    raw_sources = data.get("sources", [])
    sources: list[Source] = []
    if not isinstance(raw_sources, list):
        problems.append("sources: expected an array of tables ([[sources]])")
        raw_sources = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(raw_sources):
        src = _build_source(raw, i, defaults, problems)
        if src is None:
            continue
        if src.slug in seen:
            problems.append(
                f"sources[{i}].slug: {src.slug!r} already used by sources[{seen[src.slug]}]"
            )
            continue
        seen[src.slug] = i
        sources.append(src)
    if problems:
        raise ConfigError(problems, path=str(path or ""))
    for k in ("connect_timeout", "read_timeout", "total_timeout", "backoff_base", "backoff_max"):
        if k in fetch:
            fetch[k] = float(fetch[k])
    return Config(
        root=root,
        path=path,
        sources=tuple(sources),
        mirror=MirrorSettings(**mirror),
        fetch=FetchSettings(**fetch),
        publish=PublishSettings(**{**publish, "remotes": tuple(publish.get("remotes", ()))}),
        health=BackoffPolicy(**{k: float(v) for k, v in health.items()}),
        site=SiteSettings(**{**site, "variants": tuple(site.get("variants", ()))}),
        images=ImageSettings(**images),
        capture=CaptureSettings(**capture),
        recheck=RecheckSettings(
            **{**recheck, "schedule": tuple(recheck.get("schedule", _RD.schedule))}
        ),
        store_url=store.get("url", ""),
        engine=EngineSettings(**engine),
    )


def load_config(path: Path) -> Config:
    """Read and validate ``newsmirror.toml``; the mirror's root is its folder."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            ["no configuration file here (run `newsmirror init` to make a mirror)"], path=str(path)
        ) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError([f"cannot read: {e}"], path=str(path)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError([f"invalid TOML: {e}"], path=str(path)) from None
    return parse_config(data, root=path.resolve().parent, path=path)


def _toml_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def sources_toml(sources: list[tuple[str, str, str]] | tuple[tuple[str, str, str], ...]) -> str:
    """``[[sources]]`` tables for (name, slug, url) triples."""
    blocks = [
        f"[[sources]]\nname = {_toml_str(n)}\nslug = {_toml_str(s)}\nurl = {_toml_str(u)}\n"
        for n, s, u in sources
    ]
    return "\n".join(blocks)


def default_config_text(sources: tuple[tuple[str, str, str], ...] = DEFAULT_SOURCES) -> str:
    """The commented newsmirror.toml that ``init`` writes: every setting with its default."""
    lines = ["# newsmirror configuration. Every setting below shows its default.", ""]
    sections = (("mirror", MIRROR), ("fetch", FETCH), ("publish", PUBLISH), ("health", HEALTH),
                ("site", SITE), ("images", IMAGES), ("capture", CAPTURE),
                ("recheck", RECHECK), ("store", STORE), ("engine", ENGINE),
                ("defaults", RULES))  # fmt: skip
    for title, settings in sections:
        lines.append(f"[{title}]")
        if title == "defaults":
            lines.insert(len(lines) - 1, "# Rules for every source; a source may set its own.")
        for s in settings:
            lines.append(f"# {s.help}")
            lines.append(f"# {s.name} = {_toml_value(s.default)}")
        lines.append("")
    lines.append(sources_toml(sources))
    return "\n".join(lines)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return _toml_str(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return str(v)


def import_subscriptions(text: str) -> list[tuple[str, str, str]]:
    """The older JSON subscription list ``[{"site": NAME, "url": URL}, …]`` → (name, slug, url).

    Slugs are made from the feed URL's host and path; duplicates get a number.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError([f"invalid JSON: {e}"]) from None
    if not isinstance(data, list):
        raise ConfigError(['expected a JSON list of {"site": …, "url": …} objects'])
    problems: list[str] = []
    out: list[tuple[str, str, str]] = []
    used: set[str] = set()
    for i, item in enumerate(data):
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("site"), str)
            or not isinstance(item.get("url"), str)
        ):
            problems.append(f"[{i}]: expected an object with string fields site and url")
            continue
        url = item["url"].strip()
        if p := _url_problem(url):
            problems.append(f"[{i}].url: {p}")
            continue
        slug = make_slug(url, used)
        used.add(slug)
        out.append((item["site"].strip(), slug, url))
    if problems:
        raise ConfigError(problems)
    return out


def make_slug(url: str, used: set[str] = frozenset()) -> str:  # type: ignore[assignment]
    parts = urlsplit(url)
    stem = parts.path.rstrip("/").rsplit("/", 1)[-1].split(".", 1)[0]
    host = (parts.hostname or "feed").removeprefix("www.").split(".")[0]
    base = stem if stem and stem not in ("rss", "feed", "index", "atom", "xml") else host
    base = re.sub(r"[^a-z0-9_-]+", "-", base.lower()).strip("-_")[:40] or "feed"
    slug, n = base, 2
    while slug in used:
        slug, n = f"{base}-{n}", n + 1
    return slug
