"""Real Jekyll builds a mirror made from the corpus feeds (and the demo feeds):
zero errors, and every built post page holds its article's first paragraph."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from lxml import html as lxml_html

from newsmirror.config import load_config, sources_toml
from newsmirror.loopback import LoopbackServer
from newsmirror.pipeline import run
from newsmirror.postfile_record import parse_post
from newsmirror.samples import sample_site, sample_sources
from newsmirror.scaffold import init_mirror, jekyll_available, jekyll_env
from newsmirror.store import parse_ts

from .helpers import OFFLINE
from .test_pipeline import corpus_sources

pytestmark = pytest.mark.jekyll
NOW = parse_ts("2026-11-28T08:00:00.000Z")


def jekyll_build(root: Path, dest: Path) -> str:
    if not jekyll_available():
        pytest.skip("jekyll is not installed")
    proc = subprocess.run(
        ["jekyll", "build", "--safe", "--destination", str(dest)],
        cwd=root,
        env=jekyll_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    lowered = output.lower()
    assert "error" not in lowered and "warning" not in lowered, output
    return output


def norm(s: str) -> str:
    return "".join(s.split())


def first_paragraph(content: str) -> str:
    """The first text block of the article (a <p>, or the first text at all)."""
    if not content.strip():
        return ""
    tree = lxml_html.fragment_fromstring(content, create_parent="div")
    for p in tree.iter("p"):
        t = norm(p.text_content())
        if len(t) >= 4:
            return t[:40]
    return norm(tree.text_content())[:40]


def built_pages(dest: Path) -> dict[str, list[str]]:
    """title of the built post page -> normalized texts of the pages with that title."""
    pages: dict[str, list[str]] = {}
    for f in dest.rglob("*.html"):
        doc = lxml_html.fromstring(f.read_bytes())
        h1 = doc.find(".//article/h1")
        if h1 is not None:
            pages.setdefault(norm(h1.text_content()), []).append(norm(doc.text_content()))
    return pages


def check_posts(root: Path, dest: Path) -> int:
    pages = built_pages(dest)
    posts = sorted((root / "_posts").glob("*.md"))
    assert posts
    missing = []
    for p in posts:
        rec = parse_post(p.read_text(encoding="utf-8"))
        para = first_paragraph(rec.content)
        texts = pages.get(norm(rec.title), [])
        if not texts or not any(para in t for t in texts):
            missing.append(f"{p.name}: {para!r}")
    assert not missing, f"{len(missing)} posts without their first paragraph: {missing[:5]}"
    return len(posts)


def make(root: Path, triples: list[tuple[str, str, str]]) -> None:
    init_mirror(root, config_text="[fetch]\nretries = 0\n\n" + OFFLINE + sources_toml(triples))


def test_jekyll_builds_the_corpus_mirror(
    tmp_path: Path, server: LoopbackServer, corpus: Path
) -> None:
    root = tmp_path / "m"
    make(root, corpus_sources(server, corpus))
    run(load_config(root / "newsmirror.toml"), now=NOW)
    jekyll_build(root, tmp_path / "site")
    assert check_posts(root, tmp_path / "site") > 100
    assert list((tmp_path / "site" / "lists").glob("*.html"))


def test_jekyll_builds_the_demo_mirror(tmp_path: Path) -> None:
    with LoopbackServer() as server:
        for f in sample_site(server.base_url, now=NOW):
            server.add(f.path, f.body, content_type=f.content_type)
        triples = [(s["name"], s["slug"], s["url"]) for s in sample_sources(server.base_url)]
        root = tmp_path / "m"
        make(root, triples)
        run(load_config(root / "newsmirror.toml"), now=NOW)
    jekyll_build(root, tmp_path / "site")
    assert check_posts(root, tmp_path / "site") >= 70
