"""`newsmirror extract` and `newsmirror sources test`: the operator's loop."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from newsmirror.cli import app
from newsmirror.loopback import LoopbackServer
from newsmirror.samples import sample_site

from .helpers import make_mirror

runner = CliRunner()


def serve(server: LoopbackServer) -> None:
    for f in sample_site(server.base_url):
        server.add(f.path, f.body, content_type=f.content_type)


def test_extract_page_url_as_text_html_json(server: LoopbackServer) -> None:
    serve(server)
    page = next(p for p in server.routes if p.startswith("/news/demo-morning/"))
    url = server.url(page)
    text = runner.invoke(app, ["extract", url, "--format", "text"])
    assert text.exit_code == 0, text.stderr
    assert len(text.stdout) > 150 and "<" not in text.stdout
    assert "相关新闻" not in text.stdout and "分享" not in text.stdout
    html = runner.invoke(app, ["extract", url])
    assert html.stdout.lstrip().startswith("<") and "<script" not in html.stdout
    data = json.loads(runner.invoke(app, ["extract", url, "-f", "json"]).stdout)
    assert data["origin"] == "page" and data["text"].strip() == text.stdout.strip()


def test_extract_feed_file_takes_its_first_item(tmp_path: Path) -> None:
    files = {f.path: f.body for f in sample_site("http://127.0.0.1:9")}
    feed = tmp_path / "cna.xml"
    feed.write_bytes(files["/feeds/cna.xml"])
    res = runner.invoke(app, ["extract", str(feed), "-f", "json"])
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["origin"] == "feed" and data["title"] and data["text"]
    assert "更多文章" not in data["text"]  # the feed's chrome is gone


def test_extract_errors_are_one_line(tmp_path: Path) -> None:
    res = runner.invoke(app, ["extract", str(tmp_path / "missing.html")])
    assert res.exit_code == 1 and "cannot read" in res.stderr and "Traceback" not in res.stderr
    res = runner.invoke(app, ["extract", "x", "--format", "pdf"])
    assert res.exit_code == 2


def test_sources_test_explains_items(tmp_path: Path, server: LoopbackServer) -> None:
    serve(server)
    cfg = make_mirror(
        tmp_path / "m",
        [("示範", "demo-cna", server.url("/feeds/cna.xml")),
         ("晨光", "demo-morning", server.url("/feeds/morning.xml"))],
        defaults='[defaults]\nfulltext = "auto"\n',
    )  # fmt: skip
    conf = str(cfg.root / "newsmirror.toml")
    res = runner.invoke(app, ["sources", "test", "demo-cna", "-n", "3", "--config", conf])
    assert res.exit_code == 0, res.stderr
    assert res.stdout.count("(feed, ") == 3
    assert "removed " in res.stdout  # the CNA-like keyword and more-articles blocks
    res = runner.invoke(app, ["sources", "test", "demo-morning", "-n", "2", "--config", conf])
    assert res.stdout.count("(page, ") == 2
    for path in list(server.routes):
        if path.startswith("/news/demo-morning/"):
            server.add(path, b"", status=404)
    res = runner.invoke(app, ["sources", "test", "demo-morning", "-n", "2", "--config", conf])
    assert res.stdout.count("full text failed, feed text kept: http_404") == 2
    assert res.stdout.count("looks truncated") == 2
