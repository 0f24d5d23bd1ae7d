"""Re-checks end to end: a loopback site whose articles change, vanish, redirect,
show a removal notice, fail for a while and come back, over a simulated clock
across many runs (``NEWSMIRROR_NOW``)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from newsmirror.cli import app
from newsmirror.config import Config
from newsmirror.loopback import LoopbackServer
from newsmirror.models import OutcomeKind, RunReport
from newsmirror.pipeline import run
from newsmirror.postfile import iso_ms
from newsmirror.postfile_record import parse_post
from newsmirror.recheck import recheck
from newsmirror.reindex import reindex
from newsmirror.store import Store, ts
from newsmirror.textdiff import diff_text
from newsmirror.urls import canonical_url

from .helpers import make_mirror

PUBLISHED = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
T0 = PUBLISHED + timedelta(minutes=30)
HOURLY = "[recheck]\nschedule = [" + ", ".join(f'"{h}h"' for h in range(1, 61)) + "]\n\n"
PAGE_RULES = '[images]\nenabled = false\n\n[defaults]\nfulltext = "page"\n\n'

P1 = "市政府今天宣布一項新的交通政策，預計將有三百人受惠，官員表示這項政策經過長時間的研究與討論。"
P2 = "這項政策將從下個月開始實施，市民可以透過網站或者服務中心申請相關的補助，申請期限為三個月。"
P3 = "交通局長在記者會上說明，未來還會持續檢討政策的效果，並且根據市民的意見做出必要的調整。"
REMOVED = (
    "<html><head><title>页面不存在</title></head><body><h1>此文章已被删除</h1>"
    '<p><a href="/">返回首页</a></p></body></html>'
)
HOME = (
    "<html><head><title>測試新聞網</title></head><body><h1>測試新聞網</h1><ul>"
    + "".join(f'<li><a href="/a/{n}.html">新聞{n}</a></li>' for n in range(8))
    + "</ul></body></html>"
)


def page(title: str, paras: list[str], *, img: str = "w=600", ref: str = "a") -> bytes:
    body = "".join(f"<p>{p}</p>" for p in paras)
    body += (
        f'<p>記者現場報導，照片如下。<img src="/img/photo.jpg?{img}" alt="現場">'
        f'更多內容請見<a href="http://example.org/more?utm_source={ref}">相關報導</a>。</p>'
    )
    return (
        f"<html><head><title>{title} - 測試新聞網</title>"
        f'<meta property="og:title" content="{title}"></head><body>'
        f'<nav><a href="/">首頁</a> <a href="/news/">新聞</a></nav><h1>{title}</h1>'
        f"<article>{body}</article><footer>版權所有</footer></body></html>"
    ).encode()


def rss(server: LoopbackServer, items: dict[str, str]) -> bytes:
    pub = "Sun, 01 Nov 2026 00:00:00 +0000"
    entries = "".join(
        f"<item><title>{t}</title><link>{server.url(f'/a/{n}.html')}</link>"
        f"<guid>{server.url(f'/a/{n}.html')}</guid><pubDate>{pub}</pubDate>"
        f"<description>{t}（摘要）</description></item>"
        for n, t in items.items()
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>測試</title><link>{server.url('/')}</link>{entries}</channel></rss>"
    ).encode()


@dataclass
class Site:
    """The loopback site, reconfigured before each run."""

    server: LoopbackServer
    items: dict[str, str] = field(default_factory=dict)

    def feed(self) -> None:
        body = rss(self.server, self.items)
        tag = '"' + hashlib.sha256(body).hexdigest()[:12] + '"'
        self.server.add("/f.xml", body, content_type="application/rss+xml", etag=tag)

    def ok(self, n: str, body: bytes) -> None:
        tag = '"' + hashlib.sha256(body).hexdigest()[:12] + '"'
        self.server.add(f"/a/{n}.html", body, content_type="text/html; charset=utf-8", etag=tag)

    def status(self, n: str, code: int) -> None:
        self.server.add(f"/a/{n}.html", b"<html><body>error</body></html>", status=code,
                        content_type="text/html; charset=utf-8")  # fmt: skip

    def redirect(self, n: str, to: str) -> None:
        self.server.redirect(f"/a/{n}.html", to, status=301)

    def removed(self, n: str) -> None:
        self.server.add(f"/a/{n}.html", REMOVED.encode(), content_type="text/html; charset=utf-8")

    def slow(self, n: str) -> None:
        self.server.add(f"/a/{n}.html", b"late", delay=1.5)


TITLES = {
    "edit": "市府宣布新政策",
    "gone404": "颱風來襲停班停課",
    "back410": "股市今日大漲",
    "home": "新任部長就職",
    "removed": "社區活動報導",
    "flaky": "天氣預報更新",
    "dropped": "體育賽事結果",
}


def text_of(cfg: Config, rel: str) -> str:
    return parse_post((cfg.root / rel).read_text(encoding="utf-8"), path=rel).text


def front(cfg: Config, rel: str) -> dict:
    return dict(parse_post((cfg.root / rel).read_text(encoding="utf-8"), path=rel).front_matter)


def test_edits_deletions_and_failures_over_many_runs(
    tmp_path: Path, server: LoopbackServer
) -> None:
    site = Site(server, dict(TITLES))
    server.add("/", HOME.encode(), content_type="text/html; charset=utf-8")
    server.add("/news/", HOME.encode(), content_type="text/html; charset=utf-8")
    for n, t in TITLES.items():
        site.ok(n, page(t, [P1, P2, P3]))
    site.feed()
    cfg = make_mirror(tmp_path / "m", [("測試源", "t", server.url("/f.xml"))],
                      extra=HOURLY, defaults=PAGE_RULES)  # fmt: skip
    # A slow page is a timeout after half a second (the server waits 1.5 s).
    cfg = replace(cfg, fetch=replace(cfg.fetch, read_timeout=0.5, total_timeout=3.0))
    first = run(cfg, now=T0)
    assert first.total(OutcomeKind.NEW) == len(TITLES) and not first.rechecks

    edited_title = "市府宣布新政策細節"
    p2_edit = P2.replace("三個月", "六個月")
    p3_edit = P3 + "市民表示歡迎。"
    # run k happens at T0 + k hours; each entry reconfigures the site before it.
    plan: dict[int, list] = {
        2: [lambda: site.ok("edit", page(TITLES["edit"], [P1, p2_edit, P3]))],
        3: [lambda: site.status("flaky", 500), lambda: site.removed("removed")],
        4: [lambda: site.status("gone404", 404), lambda: site.status("back410", 410),
            lambda: site.items.pop("dropped"), site.feed],
        5: [lambda: site.redirect("home", "/"), lambda: site.slow("flaky"),
            lambda: site.ok("edit", page(edited_title, [P1, p2_edit, P3]))],
        6: [lambda: site.ok("flaky", page(TITLES["flaky"], [P1, P2, P3]))],
        # whitespace, a tracking parameter and an image CDN query: no edit
        7: [lambda: site.ok("edit", page(edited_title, ["  " + P1 + "\n ", p2_edit, P3],
                                           img="w=800", ref="b"))],
        8: [lambda: site.status("flaky", 404)],  # gone once …
        9: [lambda: site.ok("flaky", page(TITLES["flaky"], [P1, P2, P3])),  # … and back
            lambda: site.ok("back410", page(TITLES["back410"], [P1, P2, P3]))],
        10: [lambda: site.status("flaky", 404)],  # gone once …
        11: [lambda: site.status("flaky", 503)],  # … a failure in between …
        12: [lambda: site.ok("flaky", page(TITLES["flaky"], [P1, P2, P3])),
             lambda: site.ok("edit", page(edited_title, [P1, p2_edit, p3_edit]))],
        13: [lambda: site.status("back410", 404)],  # gone a second time
    }  # fmt: skip
    reports: list[tuple[datetime, RunReport]] = []
    for k in range(1, 17):
        for change in plan.get(k, []):
            change()
        now = T0 + timedelta(hours=k)
        # most passes are whole runs; some only re-check (newsmirror recheck)
        rep = recheck(cfg, now=now) if k % 4 == 0 else run(cfg, now=now)
        reports.append((now, rep))
        assert not any(s.failed for s in rep.sources)

    def at(k: int) -> datetime:
        return T0 + timedelta(hours=k)

    # Exactly one re-check outcome per article per pass (all are due every hour).
    with Store(cfg.index_path) as store:
        keys = {n: canonical_url(server.url(f"/a/{n}.html")) for n in TITLES}
        paths = {n: store.find(k).article.path for n, k in keys.items()}  # type: ignore[union-attr]
        for _, rep in reports:
            assert sorted(o.url for o in rep.rechecks) == sorted(
                server.url(f"/a/{n}.html") for n in TITLES
            )

        def outcomes(n: str) -> list[tuple[int, str, str]]:
            url = server.url(f"/a/{n}.html")
            return [(k + 1, o.kind.value, o.reason) for k, (_, rep) in enumerate(reports)
                    for o in rep.rechecks if o.url == url]  # fmt: skip

        # --- edits: three revisions (text, title, text), none for the cosmetic change
        revs = store.revisions_of(keys["edit"])
        assert [r[0] for r in revs] == [1, 2, 3]
        assert [k for k, kind, _ in outcomes("edit") if kind == "updated"] == [2, 5, 12]
        assert (7, "unchanged", "") in outcomes("edit")
        versions = [text_of(cfg, r[4]) for r in revs] + [text_of(cfg, paths["edit"])]
        changes = [
            [(op.kind, op.text) for op in diff_text(a, b) if op.kind != "equal"]
            for a, b in zip(versions, versions[1:], strict=False)
        ]
        assert changes[0] == [("delete", "三"), ("insert", "六")]
        assert changes[1] == []  # the title changed, not the text
        assert changes[2] == [("insert", "市民表示歡迎。")]
        titles = [r[2] for r in revs] + [front(cfg, paths["edit"])["title"]]
        assert titles == [TITLES["edit"], TITLES["edit"], edited_title, edited_title]
        assert front(cfg, paths["edit"])["revision"] == 4

        # --- true deletions: marked exactly once, with the time first seen gone
        def deleted_once(n: str, first_seen: int, signal: str) -> None:
            marks = [(k, r) for k, kind, r in outcomes(n) if kind == "deleted"]
            assert marks == [(first_seen + 1, signal)], outcomes(n)
            assert (first_seen, "unchanged", f"unconfirmed_{signal}") in outcomes(n)

        deleted_once("gone404", 4, "http_404")
        deleted_once("home", 5, "redirected_home")
        deleted_once("removed", 3, "removed_page")
        marks410 = [(k, r) for k, kind, r in outcomes("back410") if kind == "deleted"]
        assert marks410 == [(5, "http_410"), (14, "http_404")]  # two deletions, once each
        for n, since in (("gone404", 4), ("home", 5), ("removed", 3)):
            fm = front(cfg, paths[n])
            assert fm["deleted"] == at(since).replace(tzinfo=None) or fm["deleted"] == at(since)
            assert text_of(cfg, paths[n]).startswith(P1)  # the last good copy is kept
            assert store.find(keys[n]).article.deleted == at(since)  # type: ignore[union-attr]
            assert not store.revisions_of(keys[n])

        # --- an article that comes back is restored, the mark kept as history
        assert (9, "updated", "restored") in outcomes("back410")
        fm = front(cfg, paths["back410"])
        assert fm["deleted"] in (at(13), at(13).replace(tzinfo=None))
        assert fm["deletions"] == [f"{iso_ms(at(4))}/{iso_ms(at(9))}"]
        marks = store.deletion_marks()
        assert [m for m in marks if m[0] == keys["back410"]] == [
            (keys["back410"], at(13), None), (keys["back410"], at(4), at(9))
        ]
        assert {m[0] for m in marks} == {keys[n] for n in ("gone404", "home", "removed",
                                                            "back410")}  # fmt: skip

        # --- temporary failures and a feed that drops an item: never marked
        flaky = outcomes("flaky")
        assert [k for k, kind, _ in flaky if kind == "failed"] == [3, 4, 5, 11]
        reasons = {r for _, kind, r in flaky if kind == "failed"}
        assert reasons == {"http_500", "timeout", "http_503"}
        assert not [o for o in flaky if o[1] == "deleted"]
        assert not [o for o in outcomes("dropped") if o[1] != "unchanged"]
        for n in ("flaky", "dropped"):
            fm = front(cfg, paths[n])
            assert "deleted" not in fm and "deletions" not in fm

        # Unchanged pages were asked conditionally (ETag) and answered 304.
        assert server.conditional_hits["/a/dropped.html"] >= 10
        before = store.dump()

    # The files alone give the same index, deletion marks included.
    cfg.index_path.unlink()
    assert reindex(cfg).skipped == ()
    with Store(cfg.index_path) as store:
        assert store.dump() == before


def test_schedule_budget_and_source_override(tmp_path: Path, server: LoopbackServer) -> None:
    site = Site(server, {"a": "第一則", "b": "第二則", "c": "第三則"})
    for n, t in site.items.items():
        site.ok(n, page(t, [P1, P2, P3]))
    site.feed()
    extra = '[recheck]\nbudget = 2\n\n'
    cfg = make_mirror(tmp_path / "m", [("測試源", "t", server.url("/f.xml"))],
                      extra=extra, defaults=PAGE_RULES)  # fmt: skip
    run(cfg, now=T0)
    # The default schedule: nothing is due before an hour after publication.
    assert recheck(cfg, now=PUBLISHED + timedelta(minutes=59)).rechecks == ()
    # Then the budget caps a run; the rest wait for the next one.
    one = run(cfg, now=PUBLISHED + timedelta(hours=1, minutes=1))
    assert len(one.rechecks) == 2
    two = recheck(cfg, now=PUBLISHED + timedelta(hours=1, minutes=2))
    assert len(two.rechecks) == 1
    assert {o.url for o in one.rechecks + two.rechecks} == {
        server.url(f"/a/{n}.html") for n in "abc"
    }
    # Next point is 3 h: nothing due at 2 h 59 min.
    assert recheck(cfg, now=PUBLISHED + timedelta(hours=2, minutes=59)).rechecks == ()
    # A source's own schedule (and recheck = false) overrides the global one.
    text = (cfg.root / "newsmirror.toml").read_text(encoding="utf-8")
    (cfg.root / "newsmirror.toml").write_text(
        text + 'recheck_schedule = ["1h", "90d"]\n', encoding="utf-8"
    )
    from newsmirror.config import load_config

    cfg2 = load_config(cfg.root / "newsmirror.toml")
    assert cfg2.sources[0].rules.recheck_schedule == ("1h", "90d")
    # A changed schedule applies from each article's next check (3 h, planned before).
    assert len(recheck(cfg2, now=PUBLISHED + timedelta(hours=3, minutes=1)).rechecks) == 2
    assert len(recheck(cfg2, now=PUBLISHED + timedelta(hours=3, minutes=2)).rechecks) == 1
    assert recheck(cfg2, now=PUBLISHED + timedelta(days=89)).rechecks == ()
    assert len(recheck(cfg2, now=PUBLISHED + timedelta(days=90, minutes=1)).rechecks) == 2
    off = replace(cfg2, sources=(replace(cfg2.sources[0], rules=replace(
        cfg2.sources[0].rules, recheck=False)),))  # fmt: skip
    assert recheck(off, every=True, now=PUBLISHED + timedelta(days=91)).rechecks == ()


def test_disabled_rechecks_do_not_run(tmp_path: Path, server: LoopbackServer) -> None:
    site = Site(server, {"a": "第一則"})
    site.ok("a", page("第一則", [P1, P2, P3]))
    site.feed()
    cfg = make_mirror(tmp_path / "m", [("測試源", "t", server.url("/f.xml"))],
                      extra="[recheck]\nenabled = false\n\n", defaults=PAGE_RULES)  # fmt: skip
    run(cfg, now=T0)
    assert run(cfg, now=T0 + timedelta(days=2)).rechecks == ()
    # `newsmirror recheck` is asked for explicitly: it runs anyway.
    assert len(recheck(cfg, now=T0 + timedelta(days=2)).rechecks) == 1


runner = CliRunner()


def cli(now: datetime, *args: str) -> tuple[int, str, str]:
    res = runner.invoke(app, list(args), env={"NEWSMIRROR_NOW": ts(now)})  # type: ignore[dict-item]
    return res.exit_code, res.stdout, res.stderr


def test_cli_recheck_and_recheck_all(tmp_path: Path, server: LoopbackServer) -> None:
    site = Site(server, {"a": "第一則", "b": "第二則"})
    for n, t in site.items.items():
        site.ok(n, page(t, [P1, P2, P3]))
    site.feed()
    cfg = make_mirror(tmp_path / "m", [("測試源", "t", server.url("/f.xml"))],
                      defaults=PAGE_RULES)  # fmt: skip
    path = str(cfg.root / "newsmirror.toml")
    assert cli(T0, "run", "--json", "--config", path)[0] == 0
    # Not due yet: nothing re-checked.
    code, out, _ = cli(T0, "recheck", "--json", "--config", path)
    assert code == 0 and json.loads(out)["rechecks"]["items"] == []
    # --all re-checks every article now; 404 twice in a row is a deletion.
    site.status("b", 404)
    code, out, _ = cli(T0, "recheck", "--all", "--json", "--config", path)
    data = json.loads(out)["rechecks"]
    assert code == 0 and data["totals"] == {"unchanged": 2, "updated": 0, "deleted": 0, "failed": 0}
    code, out, _ = cli(T0 + timedelta(minutes=5), "recheck", "--all", "--config", path)
    assert code == 0
    assert "re-checked 2 articles: 1 unchanged, 0 updated, 1 deleted, 0 failed" in out
    assert "deleted" in out and "/a/b.html" in out
    # A failing page: exit 0, or 1 with --strict.
    site.status("a", 500)
    code, _, _ = cli(T0 + timedelta(minutes=6), "recheck", "--all", "--strict", "--config", path)
    assert code == 1
    code, out, _ = cli(T0 + timedelta(minutes=7), "recheck", "--all", "--json", "--config", path)
    assert code == 0 and json.loads(out)["rechecks"]["totals"]["failed"] == 1
    # An unknown source is a usage error.
    code, _, err = cli(T0, "recheck", "--source", "nope", "--config", path)
    assert code == 2 and "nope" in err


@pytest.mark.parametrize("warc", [True, False])
def test_capture_records_feeds_pages_and_rechecks(
    tmp_path: Path, server: LoopbackServer, warc: bool
) -> None:
    from warcio.archiveiterator import ArchiveIterator

    from newsmirror.export import capture_files

    site = Site(server, {"a": "第一則"})
    site.ok("a", page("第一則", [P1, P2, P3]))
    site.feed()
    extra = f"[capture]\nwarc = {'true' if warc else 'false'}\n\n"
    cfg = make_mirror(tmp_path / "m", [("測試源", "t", server.url("/f.xml"))],
                      extra=extra, defaults=PAGE_RULES)  # fmt: skip
    run(cfg, now=T0)
    site.ok("a", page("第一則", [P1, P2 + "補充。", P3]))
    rep = recheck(cfg, every=True, now=T0 + timedelta(hours=2))
    assert [o.kind for o in rep.rechecks] == [OutcomeKind.UPDATED]
    files = capture_files(cfg)
    if not warc:
        assert files == []
        return
    urls = []
    for f in files:
        with f.open("rb") as fh:
            urls += [r.rec_headers.get_header("WARC-Target-URI") for r in ArchiveIterator(fh)
                     if r.rec_type == "response"]  # fmt: skip
    assert sorted(urls) == sorted(
        [server.url("/f.xml"), server.url("/a/a.html"), server.url("/a/a.html")]
    )
    from .test_export import warc_ok

    for f in files:  # warcio's own checker passes the records the fetcher made
        warc_ok(f)


def test_an_older_index_gains_the_new_columns(tmp_path: Path) -> None:
    import sqlite3

    from newsmirror.store import SCHEMA

    old = SCHEMA.replace(",\n    deleted TEXT,\n    deletions TEXT NOT NULL DEFAULT '[]'", "")
    old = old.split("CREATE TABLE IF NOT EXISTS rechecks")[0]
    assert "deleted" not in old
    path = tmp_path / "index.sqlite"
    db = sqlite3.connect(path)
    db.executescript(old)
    db.execute("INSERT INTO meta VALUES ('schema', '1')")
    db.execute(
        "INSERT INTO articles VALUES ('k', '', '', '', 's', 'S', 't', 'http://ex.org/a',"
        " '2026-11-01T00:00:00.000Z', NULL, '2026-11-01T00:00:00.000Z',"
        " '2026-11-01T00:00:00.000Z', NULL, 'sha256:x', 'feed', 1, '_posts/a.md', '[]', '[]')"
    )
    db.commit()
    db.close()
    with Store(path) as store:
        art = store.find("k").article  # type: ignore[union-attr]
        assert art.deleted is None and art.deletions == ()
        store.put(replace(art, deleted=PUBLISHED, deletions=("a/b",)), guid_key="", fp="")
        assert store.find("k").article.deleted == PUBLISHED  # type: ignore[union-attr]
        assert store.db.execute("SELECT v FROM meta WHERE k = 'schema'").fetchone() == ("2",)


def test_marks_round_trip_through_the_post_and_the_export(tmp_path: Path) -> None:
    from newsmirror.export import article_from_json, article_json
    from newsmirror.models import Article
    from newsmirror.postfile import render_post

    art = Article(
        key="http://ex.org/a", guid="g", source="s", source_name="測試", title="標題",
        link="http://ex.org/a", published=PUBLISHED, fetched=T0, content="<p>內容</p>",
        text="內容", content_hash="sha256:x", deleted=T0 + timedelta(days=2),
        deletions=(f"{iso_ms(T0)}/{iso_ms(T0 + timedelta(hours=5))}",),
    )  # fmt: skip
    text = render_post(art)
    assert f"\ndeleted: {iso_ms(T0 + timedelta(days=2))}\n" in text  # unquoted: a YAML time
    back = parse_post(text, path="_posts/x.md")
    assert back.deleted == art.deleted and back.deletions == art.deletions
    assert isinstance(back.front_matter["deleted"], datetime)  # what the site reads
    assert article_from_json(json.loads(json.dumps(article_json(art)))) == art
    plain = replace(art, deleted=None, deletions=())
    assert "deleted" not in render_post(plain) and "deletions" not in render_post(plain)


def test_feed_updates_that_are_no_edit_and_feed_text_baselines(
    tmp_path: Path, server: LoopbackServer
) -> None:
    """A feed update that only moves whitespace is no revision; an article whose
    text came from its feed is compared with its page from the first re-check on."""
    link = server.url("/a/x.html")

    def full_feed(body: str) -> bytes:
        return (
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>'
            f"<item><title>全文新聞</title><link>{link}</link><guid>{link}</guid>"
            "<pubDate>Sun, 01 Nov 2026 00:00:00 +0000</pubDate>"
            f"<description><![CDATA[{body}]]></description></item></channel></rss>"
        ).encode()

    body = f"<p>{P1}</p><p>{P2}</p><p>{P3}</p>"
    server.add("/f.xml", full_feed(body), content_type="application/rss+xml")
    site = Site(server)
    site.ok("x", page("全文新聞", [P1, P2, P3]))
    cfg = make_mirror(tmp_path / "m", [("測試源", "t", server.url("/f.xml"))], extra=HOURLY)
    run(cfg, now=T0)
    spaced = f"<div><p>{P1}\n {P2} </p><p>{P3}</p></div>"  # two paragraphs made one
    server.add("/f.xml", full_feed(spaced), content_type="application/rss+xml")
    rep = run(cfg, now=T0 + timedelta(hours=1))
    items = rep.sources[0].outcomes
    assert [(o.kind, o.reason) for o in items] == [(OutcomeKind.UNCHANGED, "insignificant")]
    assert [(o.kind, o.reason) for o in rep.rechecks] == [(OutcomeKind.UNCHANGED, "baseline")]
    site.ok("x", page("全文新聞", [P1, P2.replace("三個月", "一年"), P3]))
    rep = recheck(cfg, now=T0 + timedelta(hours=2))
    assert [o.kind for o in rep.rechecks] == [OutcomeKind.UPDATED]
    with Store(cfg.index_path) as store:
        known = store.find(canonical_url(link))
        assert known is not None and known.article.revision == 2
        assert known.article.origin == "page"
        assert len(store.revisions_of(known.article.key)) == 1
    assert "一年" in text_of(cfg, known.article.path)
    # From now on the page is the text of record: the feed's copy is no edit.
    again = run(cfg, now=T0 + timedelta(hours=2, minutes=30))
    assert [(o.kind, o.reason) for o in again.sources[0].outcomes] == [
        (OutcomeKind.UNCHANGED, "page_kept")
    ]


def test_a_crashed_worker_fails_one_recheck_only(server: LoopbackServer) -> None:
    import asyncio

    from newsmirror.fetch import Fetcher, FetchSettings
    from newsmirror.models import Article, Source
    from newsmirror.recheck import check_article
    from newsmirror.store import Known, RecheckState

    class Broken:
        async def submit(self, *args: object) -> object:
            raise RuntimeError("worker died")

    site = Site(server)
    site.ok("x", page("標題", [P1]))
    src = Source("測試", "t", server.url("/f.xml"))
    art = Article(key="k", guid="", source="t", source_name="測試", title="標題",
                  link=server.url("/a/x.html"), published=PUBLISHED, fetched=T0, content="",
                  text="", content_hash="")  # fmt: skip

    async def go() -> object:
        async with Fetcher(FetchSettings(retries=0)) as f:
            return await check_article(Known(art, "", ""), RecheckState("k"), src, fetcher=f,
                                       pool=Broken())  # type: ignore[arg-type]  # fmt: skip

    c = asyncio.run(go())
    assert (c.kind, c.reason) == ("failed", "worker_crashed")  # type: ignore[attr-defined]
