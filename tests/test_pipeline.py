"""End to end: real feeds served on 127.0.0.1 → a classic mirror, and its invariants."""

from __future__ import annotations

from pathlib import Path

import feedparser
import pytest

from newsmirror.errors import LockedError
from newsmirror.fsutil import MirrorLock
from newsmirror.loopback import LoopbackServer
from newsmirror.models import OutcomeKind
from newsmirror.pipeline import run
from newsmirror.postfile_record import parse_post
from newsmirror.reindex import reindex
from newsmirror.store import Store, parse_ts

from .helpers import make_mirror, mtimes, snapshot

NOW = parse_ts("2026-11-28T08:00:00.000Z")


def corpus_sources(server: LoopbackServer, corpus: Path) -> list[tuple[str, str, str]]:
    feeds = corpus / "feeds"
    server.serve_dir("/feeds", feeds)
    out = []
    for p in sorted(feeds.rglob("*")):
        if p.is_file():
            rel = p.relative_to(feeds).as_posix()
            slug = rel.replace("/", "-").replace(".", "-").lower()
            out.append((f"語料 {rel}", slug, server.url(f"/feeds/{rel}")))
    return out


def norm(s: str) -> str:
    return " ".join(s.split())


def test_corpus_feeds_every_item_one_post_and_second_run_is_conditional(
    tmp_path: Path, server: LoopbackServer, corpus: Path
) -> None:
    sources = corpus_sources(server, corpus)
    cfg = make_mirror(tmp_path / "m", sources)
    report = run(cfg, now=NOW)

    # Every item that entered leaves with exactly one outcome, and no source failed.
    independent_total = 0
    expected: set[tuple[str, str]] = set()
    for (_, slug, url), rep in zip(sources, report.sources, strict=True):
        assert rep.slug == slug and not rep.error, rep.error
        parsed = feedparser.parse(server.routes[url.split(server.base_url, 1)[1]].body)
        assert len(rep.outcomes) == len(parsed.entries), slug
        independent_total += len(parsed.entries)
        for e in parsed.entries:
            expected.add((norm(e.get("title", "")), e.get("published", e.get("updated", ""))))
    assert sum(len(r.outcomes) for r in report.sources) == independent_total
    assert report.total(OutcomeKind.FAILED) == 0

    # Every item became exactly one post: the .xml/.rss twins of a feed are one article.
    posts = sorted((cfg.root / "_posts").rglob("*.md"))
    assert len(posts) == report.total(OutcomeKind.NEW) == len(expected)
    titles = [norm(parse_post(p.read_text(encoding="utf-8")).title) for p in posts]
    assert sorted(titles) == sorted(t for t, _ in expected)

    # A second run asks conditionally, gets 304s, and writes nothing.
    before, stamps = snapshot(cfg.root), mtimes(cfg.root)
    server.conditional_hits.clear()
    again = run(cfg, now=NOW)
    assert all(s.not_modified for s in again.sources)
    assert sum(server.conditional_hits.values()) == len(sources)
    assert snapshot(cfg.root) == before and mtimes(cfg.root) == stamps


def test_reindex_gives_the_same_index(tmp_path: Path, server: LoopbackServer, corpus: Path) -> None:
    cfg = make_mirror(tmp_path / "m", corpus_sources(server, corpus))
    run(cfg, now=NOW)
    with Store(cfg.index_path) as store:
        before = store.dump()
    assert len(before["articles"]) > 100
    cfg.index_path.unlink()
    rep = reindex(cfg)
    assert rep.skipped == ()
    with Store(cfg.index_path) as store:
        assert store.dump() == before


RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>測試</title><link>http://example.org/</link>
{items}
</channel></rss>"""
ITEM = """<item><title>{title}</title><link>{link}</link><guid>{link}</guid>
<pubDate>Fri, 27 Nov 2026 10:00:00 +0800</pubDate><description><![CDATA[{body}]]></description></item>"""


def feed(*items: tuple[str, str, str]) -> bytes:
    return RSS.format(
        items="\n".join(ITEM.format(title=t, link=u, body=b) for t, u, b in items)
    ).encode()


def test_edit_is_a_revision_kept_in_the_mirror(tmp_path: Path, server: LoopbackServer) -> None:
    link = "http://example.org/news/1?utm_source=rss"
    server.add(
        "/f.xml",
        feed(("市政府宣布新政策", link, "<p>第一版內容。</p>")),
        content_type="application/rss+xml",
    )
    cfg = make_mirror(tmp_path / "m", [("測試源", "t", server.url("/f.xml"))])
    first = run(cfg, now=NOW)
    assert first.total(OutcomeKind.NEW) == 1
    (post,) = (cfg.root / "_posts").glob("*.md")
    original = post.read_bytes()

    server.add("/f.xml", feed(("市政府宣布新政策", link.replace("rss", "x"), "<p>第二版內容，有修改。</p>")),
               content_type="application/rss+xml")  # fmt: skip
    second = run(cfg, now=parse_ts("2026-11-28T09:00:00.000Z"))
    assert [o.kind for o in second.sources[0].outcomes] == [OutcomeKind.UPDATED]
    assert list((cfg.root / "_posts").glob("*.md")) == [post]  # updated in place, not a new post
    rec = parse_post(post.read_text(encoding="utf-8"))
    assert rec.to_article().revision == 2 and "第二版" in post.read_text(encoding="utf-8")
    kept = cfg.root / "_revisions" / post.stem / "1.md"
    assert kept.read_bytes() == original

    third = run(cfg, now=parse_ts("2026-11-28T10:00:00.000Z"))
    assert [o.kind for o in third.sources[0].outcomes] == [OutcomeKind.UNCHANGED]
    with Store(cfg.index_path) as store:
        before = store.dump()
    assert len(before["revisions"]) == 1
    cfg.index_path.unlink()
    reindex(cfg)
    with Store(cfg.index_path) as store:
        assert store.dump() == before


def test_failed_sources_reported_in_one_line_and_others_unaffected(
    tmp_path: Path, server: LoopbackServer
) -> None:
    server.add("/good.xml", feed(("好消息", "http://example.org/good", "<p>內容</p>")),
               content_type="application/rss+xml")  # fmt: skip
    server.add("/missing.xml", b"not here", status=404)
    server.add("/broken.xml", b"oops", status=500)
    server.add("/page.xml", b"<!DOCTYPE html><html><body><p>hello</p></body></html>",
               content_type="text/html")  # fmt: skip
    server.add("/bad.xml", b"<rss><channel><item><title>x</ti", content_type="application/xml")
    with LoopbackServer() as dead:
        dead_url = dead.url("/feed.xml")
    sources = [
        ("好", "good", server.url("/good.xml")),
        ("缺", "missing", server.url("/missing.xml")),
        ("壞", "broken", server.url("/broken.xml")),
        ("頁", "page", server.url("/page.xml")),
        ("錯", "bad", server.url("/bad.xml")),
        ("死", "dead", dead_url),
    ]
    cfg = make_mirror(tmp_path / "m", sources)
    report = run(cfg, now=NOW)
    by = {s.slug: s for s in report.sources}
    assert by["good"].count(OutcomeKind.NEW) == 1 and not by["good"].error
    assert by["missing"].error_reason == "http_404"
    assert by["broken"].error_reason == "http_500"
    assert by["page"].error_reason == "not_a_feed"
    assert by["dead"].error_reason == "connect"
    for slug in ("missing", "broken", "page", "dead"):
        err = by[slug].error
        assert (
            "\n" not in err
            and slug in err
            and sources[[s[1] for s in sources].index(slug)][2] in err
        )
    assert not report.all_failed
    with Store(cfg.index_path) as store:
        assert store.feed("missing").failures == 1
        assert store.feed("good").failures == 0


def test_second_run_at_once_is_refused(tmp_path: Path) -> None:
    cfg = make_mirror(tmp_path / "m", [("x", "x", "http://127.0.0.1:9/")])
    with MirrorLock(cfg.root), pytest.raises(LockedError):
        run(cfg, now=NOW)


def test_duplicate_article_in_two_feeds_is_one_post(tmp_path: Path, server: LoopbackServer) -> None:
    item = ("同一篇文章", "http://example.org/a/1", "<p>同一篇文章的內容。</p>")
    server.add("/a.xml", feed(item), content_type="application/rss+xml")
    server.add("/b.xml", feed((item[0], item[1] + "?utm_medium=feed", "<p>別的版本。</p>")),
               content_type="application/rss+xml")  # fmt: skip
    cfg = make_mirror(
        tmp_path / "m", [("甲", "a", server.url("/a.xml")), ("乙", "b", server.url("/b.xml"))]
    )
    report = run(cfg, now=NOW)
    assert [o.kind for o in report.sources[0].outcomes] == [OutcomeKind.NEW]
    assert [(o.kind, o.reason) for o in report.sources[1].outcomes] == [
        (OutcomeKind.UNCHANGED, "duplicate")
    ]
    assert len(list((cfg.root / "_posts").glob("*.md"))) == 1
    # and again: still no revision from the other feed's copy
    again = run(cfg, now=NOW)
    assert again.total(OutcomeKind.UPDATED) == 0


def test_vanished_post_file_is_put_back(tmp_path: Path, server: LoopbackServer) -> None:
    server.add(
        "/f.xml",
        feed(("標題", "http://example.org/x", "<p>內文</p>")),
        content_type="application/rss+xml",
    )
    cfg = make_mirror(tmp_path / "m", [("源", "s", server.url("/f.xml"))])
    run(cfg, now=NOW)
    (post,) = (cfg.root / "_posts").glob("*.md")
    text = post.read_bytes()
    post.unlink()
    server.add("/f.xml", feed(("標題", "http://example.org/x", "<p>內文</p>")) + b" ",
               content_type="application/rss+xml")  # fmt: skip
    run(cfg, now=NOW)
    assert post.read_bytes() == text


def test_archive_rotation_moves_old_posts(tmp_path: Path, server: LoopbackServer) -> None:
    server.add(
        "/f.xml",
        feed(("舊聞", "http://example.org/old", "<p>舊</p>")),
        content_type="application/rss+xml",
    )
    cfg = make_mirror(tmp_path / "m", [("源", "s", server.url("/f.xml"))],
                      extra="[mirror]\narchive_after_days = 30\n")  # fmt: skip
    run(cfg, now=NOW)
    assert len(list((cfg.root / "_posts").glob("*.md"))) == 1
    later = parse_ts("2027-02-01T00:00:00.000Z")
    run(cfg, now=later)
    assert list((cfg.root / "_posts").glob("*.md")) == []
    (moved,) = (cfg.root / "_posts" / "_archive").glob("*.md")
    with Store(cfg.index_path) as store:
        (art,) = list(store.iter_articles())
        assert art.path == "_posts/_archive/" + moved.name
        before = store.dump()
    cfg.index_path.unlink()
    reindex(cfg)
    with Store(cfg.index_path) as store:
        assert store.dump() == before


def test_failing_source_rests_then_is_retried(tmp_path: Path, server: LoopbackServer) -> None:
    server.add("/down.xml", b"", status=503)
    cfg = make_mirror(tmp_path / "m", [("壞", "down", server.url("/down.xml"))])
    first = run(cfg, now=NOW)
    assert first.sources[0].error_reason == "http_503"
    hits = server.hits["/down.xml"]
    soon = run(cfg, now=parse_ts("2026-11-28T08:10:00.000Z"))
    assert soon.sources[0].skipped == "backoff" and server.hits["/down.xml"] == hits
    assert not soon.all_failed  # resting is not failing
    forced = run(cfg, only=["down"], now=parse_ts("2026-11-28T08:10:00.000Z"))
    assert forced.sources[0].error_reason == "http_503"  # --source always tries
    later = run(cfg, now=parse_ts("2026-11-28T12:00:00.000Z"))
    assert later.sources[0].skipped == "" and server.hits["/down.xml"] > hits + 1


RUN_IMPORTS = """
import sys
import newsmirror.cli, newsmirror.pipeline
heavy = ("lxml", "yaml", "nh3", "cssselect", "warcio", "newsmirror.clean", "newsmirror.parse",
         "newsmirror.resolve", "newsmirror.extract", "newsmirror.assets", "newsmirror.export")
print(" ".join(m for m in heavy if m in sys.modules))
"""


def test_the_run_command_starts_without_parsing_or_cleaning_code() -> None:
    """A run whose feeds all answer 304 never needs them: they are imported per use."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", RUN_IMPORTS], capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == []
