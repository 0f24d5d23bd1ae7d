"""The pure rules of re-checks: schedules, home redirects and removal notices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from newsmirror.config import parse_config
from newsmirror.errors import ConfigError
from newsmirror.recheck_rules import (
    DEFAULT_SCHEDULE,
    next_due,
    parse_duration,
    parse_schedule,
    redirect_gone,
    removed_page,
)

P = datetime(2026, 11, 1, tzinfo=UTC)
H = timedelta(hours=1)


def test_durations_and_schedule() -> None:
    assert parse_duration("90m") == timedelta(minutes=90)
    assert parse_duration("1.5h") == timedelta(minutes=90)
    assert parse_duration("2w") == timedelta(days=14)
    for bad in ("", "3", "h", "1y", "-1h"):
        with pytest.raises(ValueError):
            parse_duration(bad)
    assert parse_schedule(["1d", "1h", "1h"]) == (H, 24 * H)
    with pytest.raises(ValueError):
        parse_schedule(["0h"])
    assert parse_schedule(DEFAULT_SCHEDULE)[-1] == timedelta(days=30)


def test_next_due_is_the_first_point_after_the_last_check() -> None:
    sched = parse_schedule(DEFAULT_SCHEDULE)
    assert next_due(P, sched, P + timedelta(minutes=10)) == P + H
    assert next_due(P, sched, P + H) == P + 3 * H  # a point is due once
    assert next_due(P, sched, P + 50 * H) == P + timedelta(days=3)  # missed points: one check
    assert next_due(P, sched, P + timedelta(days=31)) is None
    # first seen after the last point: never re-checked
    assert next_due(P, sched, P + timedelta(days=400)) is None


@pytest.mark.parametrize(
    ("final", "gone"),
    [
        ("https://ex.org/", True),
        ("https://ex.org", True),
        ("https://ex.org/index.html", True),
        ("https://ex.org/news/", True),  # a section above the article
        ("https://ex.org/news/world", True),
        ("https://EX.org/news/index.php", True),
        ("https://feeds.ex.org/", True),  # the feed host's home page
        ("https://ex.org/news/world/2024/abc.html", False),  # no redirect
        ("http://ex.org/news/world/2024/abc.html", False),  # only the scheme
        ("https://ex.org/news/world/2024/abc-slug.html", False),  # moved, same depth
        ("https://ex.org/story/123", False),  # shallower but not above it
        ("https://other.org/", False),  # another site
        ("https://ex.org/news/world/2024/abc.html/amp", False),  # deeper
    ],
)
def test_redirect_to_home_or_section(final: str, gone: bool) -> None:
    url = "https://ex.org/news/world/2024/abc.html"
    assert redirect_gone(url, final, "https://feeds.ex.org/rss.xml") is gone


@pytest.mark.parametrize(
    "text",
    ["該內容已刪除", "抱歉，该内容已删除。返回首页", "内容不存在", "页面不存在 返回首页",
     "此文章已被删除", "Sorry, this content has been removed.", "404 Page Not Found"],
)  # fmt: skip
def test_removal_notices(text: str) -> None:
    assert removed_page(text)


def test_an_article_is_no_removal_notice() -> None:
    assert not removed_page("市政府今天宣布新政策。")
    long_story = "網友發現多則貼文已被刪除，" + "記者追蹤報導此事的來龍去脈。" * 40
    assert not removed_page(long_story)  # long: an article about removals
    assert removed_page("返回首页", title="页面不存在")


def test_config_recheck_table_and_source_override(tmp_path) -> None:  # type: ignore[no-untyped-def]
    cfg = parse_config(
        {"recheck": {"schedule": ["2h", "1d"], "budget": 5, "confirmations": 3},
         "sources": [{"name": "a", "slug": "a", "url": "https://ex.org/f.xml",
                      "recheck_schedule": ["6h"], "recheck": False}]},
        root=tmp_path,
    )  # fmt: skip
    assert cfg.recheck.schedule == ("2h", "1d") and cfg.recheck.budget == 5
    assert cfg.recheck.confirmations == 3 and cfg.recheck.enabled
    assert cfg.sources[0].rules.recheck_schedule == ("6h",)
    assert cfg.sources[0].rules.recheck is False
    with pytest.raises(ConfigError) as e:
        parse_config(
            {"recheck": {"schedule": ["soon"], "budget": 0},
             "sources": [{"name": "a", "slug": "a", "url": "https://ex.org/f.xml",
                          "recheck_schedule": [3]}]},
            root=tmp_path,
        )  # fmt: skip
    msg = str(e.value)
    assert "recheck.schedule" in msg and "recheck.budget" in msg
    assert "sources[0].recheck_schedule" in msg
