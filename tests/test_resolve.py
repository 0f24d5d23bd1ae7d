"""Full text: summary feeds get their article pages; failing pages keep the feed's text."""

from __future__ import annotations

from pathlib import Path

from newsmirror.loopback import LoopbackServer
from newsmirror.models import OutcomeKind
from newsmirror.pipeline import run
from newsmirror.postfile_record import parse_post
from newsmirror.samples import sample_site
from newsmirror.store import parse_ts

from .helpers import make_mirror

NOW = parse_ts("2026-11-28T08:00:00.000Z")
AUTO = '[defaults]\nfulltext = "auto"\n\n'


def serve_samples(server: LoopbackServer) -> dict[str, bytes]:
    files = {}
    for f in sample_site(server.base_url, now=NOW):
        server.add(f.path, f.body, content_type=f.content_type)
        files[f.path] = f.body
    return files


def test_summary_feed_yields_full_articles(tmp_path: Path, server: LoopbackServer) -> None:
    serve_samples(server)
    cfg = make_mirror(tmp_path / "m", [("晨光", "morning", server.url("/feeds/morning.xml"))], defaults=AUTO)
    report = run(cfg, now=NOW)
    (src,) = report.sources
    assert src.count(OutcomeKind.NEW) == 8 and not src.error
    assert all(o.reason == "" for o in src.outcomes)
    for post in (cfg.root / "_posts").glob("*.md"):
        rec = parse_post(post.read_text(encoding="utf-8"))
        art = rec.to_article()
        assert art.origin == "page", post.name
        # the page's article: more than the one-sentence summary, and none of its chrome
        assert len(rec.text) > 150, post.name
        for chrome in ("相关新闻", "分享到", "Cookie", "版权所有"):
            assert chrome not in rec.text, (post.name, chrome)
    # A second run does not fetch the pages again.
    pages_before = sum(n for p, n in server.hits.items() if p.startswith("/news/"))
    again = run(cfg, now=NOW)
    assert again.total(OutcomeKind.NEW) == 0 and again.total(OutcomeKind.UPDATED) == 0
    assert sum(n for p, n in server.hits.items() if p.startswith("/news/")) == pages_before


def test_failing_pages_keep_feed_content(tmp_path: Path, server: LoopbackServer) -> None:
    files = serve_samples(server)
    for path in files:
        if path.startswith("/news/"):
            server.add(path, b"gone", status=404)
    cfg = make_mirror(tmp_path / "m", [("晨光", "morning", server.url("/feeds/morning.xml"))], defaults=AUTO)
    report = run(cfg, now=NOW)
    (src,) = report.sources
    assert src.count(OutcomeKind.NEW) == 8
    assert {o.reason for o in src.outcomes} == {"fulltext_failed"}
    assert all("http_404" in o.detail for o in src.outcomes)
    for post in (cfg.root / "_posts").glob("*.md"):
        rec = parse_post(post.read_text(encoding="utf-8"))
        assert rec.to_article().origin == "feed" and rec.text.strip()
    # The pages come back: the next run captures them in full (a revision).
    serve_samples(server)
    later = run(cfg, now=parse_ts("2026-11-28T09:00:00.000Z"))
    assert later.total(OutcomeKind.UPDATED) == 8


def test_fulltext_feed_mode_never_fetches_pages(tmp_path: Path, server: LoopbackServer) -> None:
    serve_samples(server)
    cfg = make_mirror(tmp_path / "m", [("晨光", "morning", server.url("/feeds/morning.xml"))])
    run(cfg, now=NOW)
    assert not [p for p in server.hits if p.startswith("/news/")]
