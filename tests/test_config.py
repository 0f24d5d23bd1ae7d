from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from newsmirror.config import (
    default_config_text,
    import_subscriptions,
    load_config,
    parse_config,
)
from newsmirror.config_schema import parse_tz
from newsmirror.defaults import DEFAULT_SOURCES
from newsmirror.errors import ConfigError

SMALLEST = """
[[sources]]
name = "(臺)中央社CNA"
slug = "cna"
url = "https://feedx.net/rss/cna.xml"
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "newsmirror.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_smallest_config_gets_defaults(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, SMALLEST))
    assert cfg.root == tmp_path.resolve()
    (src,) = cfg.sources
    assert (src.name, src.slug, src.url) == (
        "(臺)中央社CNA",
        "cna",
        "https://feedx.net/rss/cna.xml",
    )
    assert src.rules.enabled and src.rules.link_field == "link" and src.rules.convert == "none"
    assert cfg.mirror.posts_dir == "_posts" and cfg.mirror.timezone == "+08:00"
    assert cfg.fetch.retries == 3
    assert cfg.index_path == tmp_path.resolve() / ".newsmirror" / "index.sqlite"


def test_fetch_policy_settings_reach_the_fetcher(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, SMALLEST))
    assert (cfg.fetch.allow_private, cfg.fetch.http2, cfg.fetch.max_redirects) == (False, False, 10)
    text = "[fetch]\nallow_private = true\nhttp2 = true\nmax_redirects = 0\n" + SMALLEST
    cfg = load_config(write(tmp_path, text))
    assert (cfg.fetch.allow_private, cfg.fetch.http2, cfg.fetch.max_redirects) == (True, True, 0)
    with pytest.raises(ConfigError, match="fetch.max_redirects"):
        load_config(write(tmp_path, "[fetch]\nmax_redirects = -1\n" + SMALLEST))


def test_every_problem_reported_at_once_with_its_path(tmp_path: Path) -> None:
    text = """
[mirror]
timezon = "+08:00"
list_limit = 0

[fetch]
retries = "three"
per_host = 2

[[sources]]
name = "A"
slug = "Bad Slug"
url = "ftp://example.org/feed"
convert = "t2x"
remove_selectors = ["div[", ".ok"]

[[sources]]
name = "B"
url = "https://example.org/b.xml"
fulltext = "sometimes"

[[sources]]
name = "C"
slug = "c"
url = "https://example.org/c.xml"
nmae = "typo"
"""
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    problems = info.value.problems
    joined = "\n".join(problems)
    for expected in (
        "mirror.timezon: unknown key (did you mean 'timezone'?)",
        "mirror.list_limit: must be greater than 0",
        "fetch.retries: expected an integer, got str 'three'",
        "sources[0].slug: must be lower-case ASCII",
        "sources[0].url: must be an http(s) URL",
        "sources[0].convert: must be one of",
        "sources[0].remove_selectors: invalid CSS selector 'div['",
        "sources[1].slug: missing (required)",
        "sources[1].fulltext: must be one of auto, feed, page",
        "sources[2].nmae: unknown key (did you mean 'name'?)",
    ):
        assert expected in joined, f"missing {expected!r} in:\n{joined}"
    assert len(problems) == 10


def test_invalid_toml_names_line_and_column(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, "[[sources]]\nname = \"x\nslug = 'y'\n"))
    msg = str(info.value)
    assert "invalid TOML" in msg and "line 2" in msg and "column" in msg
    assert "\n" not in msg


def test_missing_file_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.toml")
    assert "no configuration file" in str(info.value) and "newsmirror init" in str(info.value)


def test_duplicate_slugs_and_defaults_table(tmp_path: Path) -> None:
    text = SMALLEST + SMALLEST.replace("cna.xml", "cna2.xml")
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    assert "sources[1].slug: 'cna' already used by sources[0]" in info.value.problems
    cfg = load_config(
        write(
            tmp_path,
            '[defaults]\nconvert = "t2s"\n'
            + SMALLEST
            + """
[[sources]]
name = "B"
slug = "b"
url = "https://example.org/b.xml"
convert = "none"
""",
        )
    )
    assert [s.rules.convert for s in cfg.sources] == ["t2s", "none"]


def test_default_config_is_valid_and_lists_default_sources(tmp_path: Path) -> None:
    text = default_config_text()
    tomllib.loads(text)
    cfg = load_config(write(tmp_path, text))
    assert [s.slug for s in cfg.sources] == [slug for _, slug, _ in DEFAULT_SOURCES]
    slugs = {s.slug for s in cfg.sources}
    for family in ("cna", "reuters", "nytimes", "voa", "bbc", "rfa", "rfi", "dw", "zaobao", "cdt"):
        assert family in slugs


def test_import_subscriptions() -> None:
    data = [
        {"site": "(臺)中央社CNA", "url": "https://feedx.net/rss/cna.xml"},
        {"site": "BBC", "url": "https://feedx.net/rss/bbc.xml"},
        {"site": "Other", "url": "https://example.org/rss"},
        {"site": "Other 2", "url": "https://example.org/feed/"},
    ]
    triples = import_subscriptions(json.dumps(data, ensure_ascii=False))
    assert [t[1] for t in triples] == ["cna", "bbc", "example", "example-2"]
    with pytest.raises(ConfigError) as info:
        import_subscriptions('[{"site": "x"}, {"site": "y", "url": "file:///etc/passwd"}]')
    assert len(info.value.problems) == 2


def test_parse_config_rejects_non_tables() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"sources": "x", "fetch": 3}, root=Path("."))
    assert "fetch: expected a table" in info.value.problems
    assert any(p.startswith("sources: expected an array") for p in info.value.problems)


@pytest.mark.parametrize(
    ("value", "hours"), [("+08:00", 8), ("UTC", 0), ("-0530", -5.5), ("+8", 8), ("Z", 0)]
)
def test_parse_tz(value: str, hours: float) -> None:
    off = parse_tz(value).utcoffset(None)
    assert off is not None and off.total_seconds() == hours * 3600


def test_parse_tz_rejects_names() -> None:
    with pytest.raises(ValueError):
        parse_tz("Asia/Taipei")
