"""Source health: back-off, status (text and JSON), staleness alerts, repository size."""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from newsmirror.cli_ops import register
from newsmirror.health import (
    BackoffPolicy,
    HostLimits,
    due,
    gather_health,
    repo_usage,
    sparkline,
    stale,
)
from newsmirror.loopback import LoopbackServer
from newsmirror.models import Article, FeedState, Rules, Source
from newsmirror.store import Store, parse_ts, ts

from .helpers import make_mirror
from .test_publish import git, rss

T0 = parse_ts("2026-11-28T08:00:00.000Z")
assert T0 is not None
H = timedelta(hours=1)
M = timedelta(minutes=1)


def app() -> typer.Typer:
    a = typer.Typer()

    @a.callback()
    def main() -> None:
        """newsmirror (test app)."""

    register(a)
    return a


def article(source: str, n: int, first_seen: object) -> Article:
    return Article(
        key=f"https://news.example.org/{source}/{n}",
        guid="",
        source=source,
        source_name=f"{source}報",
        title=f"測試新聞第{n}則",
        link=f"https://news.example.org/{source}/{n}",
        published=first_seen,  # type: ignore[arg-type]
        fetched=first_seen,  # type: ignore[arg-type]
        content="<p>內文</p>",
        text="內文",
        content_hash=f"sha256:{n}",
        first_seen=first_seen,  # type: ignore[arg-type]
        path=f"_posts/{source}-{n}.md",
    )


def test_backoff_doubles_and_is_capped() -> None:
    p = BackoffPolicy()
    assert p.delay(0) == timedelta(0)
    assert [p.delay(n) / M for n in (1, 2, 3, 4, 5, 6)] == [30, 60, 120, 240, 480, 960]
    assert p.delay(7) == p.delay(8) == p.delay(10_000) == 24 * H
    short = BackoffPolicy(backoff_base_minutes=5, backoff_cap_hours=1)
    assert [short.delay(n) / M for n in (1, 2, 4, 5, 9)] == [5, 10, 40, 60, 60]


def test_due_backs_off_and_never_gives_up(tmp_path: Path) -> None:
    url = "https://feeds.example.org/a.xml"
    with Store(tmp_path / "index.sqlite") as store:
        assert due(store, "a", T0)  # never seen
        store.record_failure("a", url, T0, "a: timeout", "timeout")
        store.record_failure("a", url, T0, "a: timeout", "timeout")  # 2 in a row: rest 1 h
        assert not due(store, "a", T0 + 30 * M)
        assert not due(store, "a", T0 + 53 * M)
        assert due(store, "a", T0 + 54 * M)  # 10 % early: an hourly job a bit ahead of time
        assert due(store, "a", T0 + 2 * H)
        assert due(store, "a", T0 + 5 * M, url="https://feeds.example.org/new.xml")
        assert due(store, "a", T0 - 3 * H)  # the last attempt lies in the future
        for _ in range(60):
            store.record_failure("a", url, T0, "a: timeout", "timeout")
        assert not due(store, "a", T0 + 23 * H)
        assert due(store, "a", T0 + 24 * H)  # dead for days, still tried once a day
        store.record_success("a", url, FeedState(), T0 + 24 * H, had_new=False)
        assert due(store, "a", T0 + 24 * H + M)


def test_gather_health_counts_the_week_and_shows_the_next_attempt(tmp_path: Path) -> None:
    now = T0
    sources = [
        Source("甲報", "a", "https://feeds.example.org/a.xml"),
        Source("乙報", "b", "https://feeds.example.org/b.xml"),
        Source("丙報", "c", "https://feeds.example.org/c.xml", Rules(enabled=False)),
    ]
    with Store(tmp_path / "index.sqlite") as store:
        for i, age in enumerate((0.5, 0.6, 2.5, 8.0)):
            store.put(article("a", i, now - timedelta(days=age)), guid_key="", fp="")
        store.record_success("a", sources[0].url, FeedState(), now - 2 * H, had_new=True)
        store.record_failure("b", sources[1].url, now - 10 * M, "b: http 503", "http_503")
        rows = gather_health(store, sources, now)
    a, b, c = rows
    assert a.per_day == (0, 0, 0, 0, 1, 0, 2) and a.articles == 4
    assert a.per_day_avg == pytest.approx(3 / 7)
    assert a.last_success == now - 2 * H and a.last_new == now - 2 * H
    assert a.failures == 0 and a.next_attempt is None
    assert b.failures == 1 and b.next_attempt == now + 20 * M
    assert b.last_error == "b: http 503" and b.per_day == (0,) * 7
    assert not c.enabled
    found = dict(stale(rows, now, 1))
    assert set(found) == {"a", "b"}  # c is disabled
    assert found["b"] == "no article ever" and found["a"].startswith("no new article for 2 h")
    assert stale(rows, now, 3) == [("b", "no article ever")]
    assert sparkline([0, 1, 2, 4]) == "▁▃▅█" and sparkline([0, 0]) == "▁▁"


def test_status_fail_if_stale_end_to_end(
    tmp_path: Path, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two sources; the frozen one's feed stops changing after the first run."""
    from newsmirror.pipeline import run

    server.add("/live.xml", rss(["a1"]), content_type="application/rss+xml", etag='"l1"')
    server.add("/frozen.xml", rss(["b1"]), content_type="application/rss+xml", etag='"f1"')
    cfg = make_mirror(
        tmp_path / "m",
        [("活報", "live", server.url("/live.xml")), ("凍報", "frozen", server.url("/frozen.xml"))],
    )
    run(cfg, now=T0)
    server.add("/live.xml", rss(["a2", "a1"]), content_type="application/rss+xml", etag='"l2"')
    later = T0 + 30 * H
    report = run(cfg, now=later)
    frozen = next(s for s in report.sources if s.slug == "frozen")
    assert frozen.not_modified and not frozen.error

    monkeypatch.setenv("NEWSMIRROR_NOW", ts(later))  # type: ignore[arg-type]
    conf = str(cfg.root / "newsmirror.toml")
    runner = CliRunner()
    r = runner.invoke(app(), ["status", "-c", conf, "--fail-if-stale", "24"])
    assert r.exit_code == 1, r.output
    assert "stale sources (1): frozen: no new article for 30 h" in r.stderr
    assert "live" not in r.stderr
    ok = runner.invoke(app(), ["status", "-c", conf, "--fail-if-stale", "48"])
    assert ok.exit_code == 0, ok.output
    assert "repository:" in ok.stdout and "frozen" in ok.stdout
    plain = runner.invoke(app(), ["status", "-c", conf])
    assert plain.exit_code == 0  # without the flag staleness is only shown

    j = runner.invoke(app(), ["status", "-c", conf, "--json", "--fail-if-stale", "24"])
    assert j.exit_code == 1
    data = json.loads(j.stdout)
    assert data["generated"] == ts(later)
    by = {s["slug"]: s for s in data["sources"]}
    assert by["live"]["last_new"] == ts(later) and by["frozen"]["last_new"] == ts(T0)
    assert by["live"]["items_per_day"][-1] == 1 and by["live"]["items_per_day"][-2] == 1
    assert by["frozen"]["failures_in_row"] == 0 and by["frozen"]["next_attempt"] is None
    assert data["stale"] == [{"slug": "frozen", "why": "no new article for 30 h (last "
                              f"{ts(T0)})"}]  # fmt: skip
    assert data["repository"]["posts"] == 3 and data["repository"]["git_bytes"] is None


def test_repo_usage_counts_what_a_commit_holds_and_warns(tmp_path: Path) -> None:
    root = tmp_path / "m"
    (root / "_posts" / "_archive").mkdir(parents=True)
    (root / "_posts" / "2026-11-28-新聞.md").write_text("x" * 300, encoding="utf-8")
    (root / "_posts" / "_archive" / "2025-01-01-舊聞.md").write_text("y" * 100)
    (root / "lists").mkdir()
    (root / "lists" / "a.md").write_text("z" * 50)
    (root / ".newsmirror").mkdir()
    (root / ".newsmirror" / "index.sqlite").write_bytes(b"\0" * 5000)
    (root / "_site").mkdir()
    (root / "_site" / "index.html").write_text("s" * 5000)

    u = repo_usage(root)
    assert (u.files, u.tree_bytes, u.posts, u.archived) == (3, 450, 2, 1)
    assert u.git_bytes is None and u.warnings == ()
    assert u.largest[0] == ("_posts/2026-11-28-新聞.md", 300)

    tiny = HostLimits(repo_bytes=500, file_bytes=400, file_warn_bytes=200, warn_ratio=0.8)
    w = repo_usage(root, limits=tiny).warnings
    assert len(w) == 2
    assert "recommends a repository under 500 B" in w[0]
    assert w[1].startswith("_posts/2026-11-28-新聞.md is 300 B; GitHub refuses files over 400 B")

    git(root, "init", "-q")
    (root / ".gitignore").write_text("_site/\n")
    git(root, "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "x")
    u = repo_usage(root)
    assert u.files == 4 and u.git_bytes is not None and u.git_bytes > 0  # .gitignore counted
    subprocess.run(["git", "gc", "-q"], cwd=root, check=True)
    assert repo_usage(root).git_bytes
