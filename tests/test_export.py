"""The archive for other tools: the JSON Lines export round-trips into a fresh
mirror (posts, kept revisions and index alike), and captured responses make a
WARC file that warcio's own checker passes."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
from argparse import Namespace
from pathlib import Path

import httpx
import pytest
import typer
from typer.testing import CliRunner
from warcio.archiveiterator import ArchiveIterator
from warcio.checker import Checker

from newsmirror.cli_archive import register
from newsmirror.config import Config
from newsmirror.errors import StoreError
from newsmirror.export import Capture, import_jsonl, iter_export, write_jsonl
from newsmirror.fsutil import MirrorFiles
from newsmirror.loopback import LoopbackServer
from newsmirror.pipeline import run
from newsmirror.postfile_record import parse_post
from newsmirror.store import Store, parse_ts

from .helpers import FIXED_NOW, make_mirror, snapshot
from .test_pipeline import feed

app = typer.Typer()  # the command on an app of its own (cli.py registers it on the real one)
register(app)


@app.callback()
def _group() -> None:
    """Keep ``export`` a named subcommand."""


runner = CliRunner()
NOW = parse_ts("2026-11-28T08:00:00.000Z")
LATER = parse_ts("2026-11-28T09:30:00.000Z")


def edited_mirror(root: Path, server: LoopbackServer) -> Config:
    """Three articles, one edited once (a kept revision), odd titles and Liquid-like text."""
    items = [
        ("市議會通過預算案", "http://example.org/a/1", "<p>第一版：預算共計三億元。</p>"),
        ('標題有"引號"與 {{ 雙括號 }}', "http://example.org/a/2",
         '<p>內文 {% raw %} 與圖片</p><img src="http://example.org/p.png" alt="圖">'),
        ("--- 看似分隔線", "http://example.org/a/3", "<p>第三則：天氣晴。</p>"),
    ]  # fmt: skip
    server.add("/f.xml", feed(*items), content_type="application/rss+xml")
    cfg = make_mirror(root, [("測試源", "t", server.url("/f.xml"))])
    run(cfg, now=NOW)
    items[0] = (items[0][0], items[0][1], "<p>第二版：預算修正為三億五千萬元。</p>")
    server.add("/f.xml", feed(*items), content_type="application/rss+xml")
    run(cfg, now=LATER)
    return cfg


def export_text(cfg: Config) -> str:
    path = cfg.root.parent / f"{cfg.root.name}.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        write_jsonl(cfg, fh)
    return path.read_text(encoding="utf-8")


def test_jsonl_holds_every_article_and_revision(tmp_path: Path, server: LoopbackServer) -> None:
    cfg = edited_mirror(tmp_path / "m", server)
    lines = export_text(cfg).splitlines()
    recs = [json.loads(line) for line in lines]
    assert len(recs) == 3
    by_title = {r["title"]: r for r in recs}
    edited = by_title["市議會通過預算案"]
    assert edited["revision"] == 2 and "第二版" in edited["content"] and "第二版" in edited["text"]
    (rev,) = edited["revisions"]
    assert rev["revision"] == 1 and rev["path"].startswith("_revisions/")
    assert "第一版" in rev["post"]["content"] and rev["content_hash"] == rev["post"]["content_hash"]
    assert rev["content_hash"] != edited["content_hash"]
    liquid = by_title['標題有"引號"與 {{ 雙括號 }}']
    assert "{% raw %}" in liquid["content"] and liquid["revisions"] == []
    for r in recs:  # the post file's body, times in UTC with milliseconds
        post = parse_post((cfg.root / r["path"]).read_text(encoding="utf-8"))
        assert r["content"] == post.content and r["published"].endswith("Z")
        assert r["missing"] is False and set(r["index"]) == {"guid_key", "fp"}


def test_jsonl_round_trips_into_a_fresh_mirror(tmp_path: Path, server: LoopbackServer) -> None:
    cfg = edited_mirror(tmp_path / "a", server)
    first = export_text(cfg)
    fresh = make_mirror(tmp_path / "b", [("測試源", "t", server.url("/f.xml"))])
    exported = tmp_path / "a.jsonl"
    rep = import_jsonl(exported, fresh)
    assert (rep.articles, rep.revisions) == (3, 1)
    assert export_text(fresh) == first  # line for line
    with Store(cfg.index_path) as a, Store(fresh.index_path) as b:
        assert a.dump() == b.dump()
    keep = ("_posts", "_revisions")
    assert {k: v for k, v in snapshot(fresh.root).items() if k.startswith(keep)} == {
        k: v for k, v in snapshot(cfg.root).items() if k.startswith(keep)
    }

    with pytest.raises(StoreError, match="fresh mirror"):  # never merged into a full index
        import_jsonl(exported, fresh)


def test_import_names_the_bad_line(tmp_path: Path, server: LoopbackServer) -> None:
    cfg = edited_mirror(tmp_path / "a", server)
    good = export_text(cfg).splitlines()
    bad = tmp_path / "bad.jsonl"
    bad.write_text(good[0] + "\n" + "{not json\n", encoding="utf-8")
    fresh = make_mirror(tmp_path / "b", [("測試源", "t", server.url("/f.xml"))])
    with pytest.raises(StoreError) as e:
        import_jsonl(bad, fresh)
    assert e.value.reason == "bad_export" and "line 2" in str(e.value)
    with Store(fresh.index_path) as store:
        assert store.count() == 0  # all or nothing in the index


def test_missing_post_file_is_marked_not_invented(tmp_path: Path, server: LoopbackServer) -> None:
    cfg = edited_mirror(tmp_path / "m", server)
    rec = next(r for r in iter_export(cfg) if r["title"] == "--- 看似分隔線")
    (cfg.root / rec["path"]).unlink()
    again = next(r for r in iter_export(cfg) if r["title"] == "--- 看似分隔線")
    assert again["missing"] is True and again["content"] == "" and again["key"] == rec["key"]


# ------------------------------------------------------------------------ CLI


def cli(*args: str) -> tuple[int, str, str]:
    res = runner.invoke(app, list(args), env={"NEWSMIRROR_NOW": FIXED_NOW})
    return res.exit_code, res.stdout, res.stderr


def test_cli_export_jsonl_to_stdout_and_file(tmp_path: Path, server: LoopbackServer) -> None:
    cfg = edited_mirror(tmp_path / "m", server)
    conf = str(cfg.root / "newsmirror.toml")
    code, out, _ = cli("export", "--config", conf)
    assert code == 0 and out == export_text(cfg)
    target = tmp_path / "out" / "archive.jsonl"
    code, out, err = cli("export", "--format", "jsonl", "--out", str(target), "--config", conf)
    assert code == 0 and out == "" and "wrote 3 articles" in err
    assert target.read_text(encoding="utf-8") == export_text(cfg)
    assert [p.name for p in target.parent.iterdir()] == ["archive.jsonl"]  # no temporary left


def test_cli_export_errors(tmp_path: Path, server: LoopbackServer) -> None:
    cfg = edited_mirror(tmp_path / "m", server)
    conf = str(cfg.root / "newsmirror.toml")
    code, _, err = cli("export", "--format", "xml", "--config", conf)
    assert code == 2 and "jsonl or warc" in err
    target = tmp_path / "a.warc.gz"
    code, _, err = cli("export", "--format", "warc", "--out", str(target), "--config", conf)
    assert code == 1 and "[capture] warc = true" in err and not target.exists()
    assert len(err.strip().splitlines()) == 1


# ----------------------------------------------------------------------- WARC


def capture_some(root: Path, server: LoopbackServer, paths: list[str]) -> Path:
    """Fetch ``paths`` with httpx (as the fetch stage does: Content-Encoding
    undone) and hand each response to a Capture, as the fetch hook will."""
    cap = Capture(root, now=NOW)
    with httpx.Client() as client:
        for p in paths:
            r = client.get(server.url(p))
            cap.record(str(r.url), r.status_code, r.headers.multi_items(), r.content,
                       reason=r.reason_phrase, http_version=r.http_version, when=NOW)  # fmt: skip
    assert cap.records == len(paths)
    out = cap.close()
    assert out is not None
    return out


def serve_pages(server: LoopbackServer) -> None:
    server.add("/feed.xml", feed(("測試", "http://example.org/x", "<p>內容</p>")),
               content_type="application/rss+xml; charset=utf-8", gzip=True)  # fmt: skip
    server.add("/page.html", "<html><body><p>新聞頁面</p></body></html>".encode(),
               content_type="text/html; charset=utf-8",
               headers={"X-Note": "中文標頭".encode().decode("latin-1")})  # fmt: skip
    server.add("/pic.png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)), content_type="image/png")


def warc_ok(path: Path) -> list[tuple[str, str, bytes]]:
    """warcio's checker passes; return (type, target URI, payload) of every record."""
    assert Checker(Namespace(inputs=[str(path)], verbose=False)).process_all() == 0
    if shutil.which("warcio"):
        proc = subprocess.run(["warcio", "check", "-v", str(path)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "digest pass" in proc.stdout and "fail" not in proc.stdout.lower()
    out = []
    with path.open("rb") as fh:
        for rec in ArchiveIterator(fh, check_digests=True):
            uri = rec.rec_headers.get_header("WARC-Target-URI") or ""
            out.append((rec.rec_type, uri, rec.content_stream().read()))
            if rec.rec_type == "response":
                assert rec.digest_checker.passed is True
    return out


def test_capture_writes_a_valid_warc_per_run(tmp_path: Path, server: LoopbackServer) -> None:
    serve_pages(server)
    root = tmp_path / "m"
    warc = capture_some(root, server, ["/feed.xml", "/page.html", "/pic.png"])
    assert warc.parent == root / ".newsmirror" / "capture" and warc.name.endswith(".warc.gz")
    assert not list((root / ".newsmirror" / "tmp").iterdir())
    recs = warc_ok(warc)
    assert [t for t, _, _ in recs] == ["warcinfo", "response", "response", "response"]
    bodies = {uri.rpartition("/")[2]: body for t, uri, body in recs if t == "response"}
    assert bodies["page.html"] == server.routes["/page.html"].body
    assert bodies["feed.xml"] == gzip.decompress(server.routes["/feed.xml"].body)  # decoded
    assert bodies["pic.png"].startswith(b"\x89PNG")
    with warc.open("rb") as fh:
        feed_rec = [r for r in ArchiveIterator(fh) if r.rec_type == "response"][0]
        http = feed_rec.http_headers
        assert http.get_statuscode() == "200" and http.get_header("Content-Encoding") is None
        assert http.get_header("X-Archive-Orig-Content-Encoding") == "gzip"


def test_killed_capture_leaves_no_partial_file(tmp_path: Path, server: LoopbackServer) -> None:
    serve_pages(server)
    root = tmp_path / "m"
    cap = Capture(root, now=NOW)
    cap.record(server.url("/pic.png"), 200, {"Content-Type": "image/png"}, b"\x89PNG")
    assert not (root / ".newsmirror" / "capture").exists()  # not published before close
    assert MirrorFiles(root).sweep() == 1  # what the next run does with the leftover
    assert Capture(root).close() is None  # nothing captured: no file at all


def test_cli_export_warc_concatenates_captures(tmp_path: Path, server: LoopbackServer) -> None:
    serve_pages(server)
    cfg = make_mirror(tmp_path / "m", [("測試源", "t", server.url("/feed.xml"))])
    capture_some(cfg.root, server, ["/feed.xml", "/page.html"])
    capture_some(cfg.root, server, ["/pic.png"])  # same second: its own file all the same
    target = tmp_path / "all.warc.gz"
    code, _, err = cli(
        "export", "-f", "warc", "-o", str(target), "-c", str(cfg.root / "newsmirror.toml")
    )
    assert code == 0 and "wrote 2 capture files" in err
    recs = warc_ok(target)
    assert [t for t, _, _ in recs].count("response") == 3
    assert [t for t, _, _ in recs].count("warcinfo") == 2


def test_corpus_mirror_round_trips(tmp_path: Path, server: LoopbackServer, corpus: Path) -> None:
    from .test_pipeline import corpus_sources

    every = corpus_sources(server, corpus)
    sources = [s for s in every if s[1].startswith("greatfire") and s[1].endswith("-xml")]
    cfg = make_mirror(tmp_path / "a", sources)
    run(cfg, now=NOW)
    first = export_text(cfg)
    assert first.count("\n") > 40
    fresh = make_mirror(tmp_path / "b", sources)
    import_jsonl(tmp_path / "a.jsonl", fresh)
    assert export_text(fresh) == first
    with Store(cfg.index_path) as a, Store(fresh.index_path) as b:
        assert a.dump() == b.dump()
    posts = {k: v for k, v in snapshot(cfg.root).items() if k.startswith("_posts")}
    assert {k: v for k, v in snapshot(fresh.root).items() if k.startswith("_posts")} == posts
