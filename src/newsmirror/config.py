"""``newsmirror.toml`` → typed, validated configuration, and the text written to it.

``load_config`` checks the whole file against the settings declared in
``config_schema`` and reports every problem at once, each with its key path
(``sources[2].convert: …``). Written: ``default_config_text``, the commented
file that ``init`` writes; ``sources_toml``, ``[[sources]]`` tables; and
``import_subscriptions``, the older JSON subscription list as (name, slug, url)
with slugs made by ``make_slug``.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .backoff import BackoffPolicy
from .config_schema import (
    CAPTURE,
    ENGINE,
    FETCH,
    HEALTH,
    IMAGES,
    MIRROR,
    PUBLISH,
    RECHECK,
    RULES,
    SITE,
    SOURCE,
    STORE,
    Setting,
    parse_tz,
    url_problem,
)
from .defaults import DEFAULT_SOURCES
from .engine import EngineSettings
from .errors import ConfigError
from .models import Rules, Source
from .recheck_rules import RecheckSettings
from .settings import (
    CaptureSettings,
    FetchSettings,
    ImageSettings,
    PublishSettings,
)

CONFIG_NAME = "newsmirror.toml"
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_RD = RecheckSettings()  # the [recheck] defaults


def _close(key: str, known: list[str]) -> list[str]:
    """The known key ``key`` was probably meant as (a "did you mean" hint)."""
    import difflib  # only for a config with a problem

    return difflib.get_close_matches(key, known, n=1)


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
        if p := url_problem(url):
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
