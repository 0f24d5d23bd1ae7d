"""Big mirrors of classic posts for the reindex (d) and build (e) scenarios, made fast.

Posts are written directly with newsmirror's own ``render_post`` (so they are
exactly what a run would have written), from synthetic stories whose
paragraphs come from a shared pool (``textgen.paragraph_pool``). A finished
mirror is cached under the temp folder, keyed by seed, size and layout, and
reused by later benchmark runs.

``hugo_site`` lays the same posts out as a Hugo site (hard links, no copies)
with a minimal theme: post pages, a home page and per-source list pages.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from pathlib import Path

from corpus import BASE_TIME
from textgen import item_rng, make_story, outlet_name, paragraph_pool

from newsmirror.article import content_hash
from newsmirror.models import Article
from newsmirror.postfile import post_filename, render_post

GENERATOR_VERSION = 1
DONE_MARK = ".bench-complete"
SOURCES = 20


def cache_root() -> Path:
    return Path(tempfile.gettempdir()) / "newsmirror-bench-cache"


def mirror_sources(seed: int) -> list[tuple[str, str]]:
    """(name, slug) of the sources the generated posts belong to."""
    return [(outlet_name(seed, 900 + k), f"arc{k + 1:02d}") for k in range(SOURCES)]


def write_posts(
    root: Path,
    *,
    seed: int,
    count: int,
    lo: int = 0,
    hi: int | None = None,
    archive_after_days: int = 0,
    span_days: int = 3 * 365,
) -> int:
    """Write posts number ``lo`` … ``hi - 1`` of ``count`` under ``root/_posts`` (older
    ones in ``_archive`` when ``archive_after_days``), the newest dated just before the
    bench clock. Returns the bytes written."""
    pool = paragraph_pool(seed)
    sources = mirror_sources(seed)
    step = timedelta(days=span_days) / max(count, 1)
    posts = root / "_posts"
    archive = posts / "_archive"
    archive.mkdir(parents=True, exist_ok=True)
    total = 0
    for k in range(lo, count if hi is None else min(hi, count)):
        rng = item_rng(seed, "post", k)
        story = make_story(rng, rng.randint(1500, 6500), pool)
        name, slug = sources[k % SOURCES]
        published = BASE_TIME - step * (k + 1)
        old = archive_after_days and published < BASE_TIME - timedelta(days=archive_after_days)
        folder = archive if old else posts
        link = f"https://news.example.invalid/{slug}/{k:07d}.html"
        text = story.text()
        art = Article(
            key=link,
            guid=link,
            source=slug,
            source_name=name,
            title=story.title,
            link=link,
            published=published,
            fetched=published + timedelta(minutes=rng.randint(5, 90)),
            content=story.body_html("https://img.example.invalid"),
            text=text,
            content_hash=content_hash(story.title, text),
            categories=(story.section,),
            authors=(story.author,),
        )
        for suffix in ("", f"{k:x}"):  # a title seen the same day gets the post's number
            path = folder / post_filename(published, story.title, suffix=suffix)
            rel = path.relative_to(root).as_posix()
            data = render_post(dataclasses.replace(art, path=rel)).encode()
            try:
                with open(path, "xb") as f:
                    f.write(data)
                break
            except FileExistsError:
                continue
        total += len(data)
    return total


def _write_chunk(args: tuple[Path, int, int, int, int, int]) -> int:
    root, seed, count, lo, hi, archive = args
    return write_posts(root, seed=seed, count=count, lo=lo, hi=hi, archive_after_days=archive)


def write_posts_parallel(root: Path, *, seed: int, count: int, archive_after_days: int = 0) -> int:
    """``write_posts`` for all ``count`` posts, split over every core."""
    chunk = 2000
    jobs = [
        (root, seed, count, lo, lo + chunk, archive_after_days) for lo in range(0, count, chunk)
    ]
    if len(jobs) <= 1:
        return sum(map(_write_chunk, jobs))
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as ex:
        return sum(ex.map(_write_chunk, jobs))


def cached_mirror(seed: int, count: int, *, archive_after_days: int = 0) -> Path:
    """A mirror folder holding ``count`` generated posts, made once and then reused."""
    key = f"posts-v{GENERATOR_VERSION}-s{seed}-n{count}-a{archive_after_days}"
    root = cache_root() / key
    if (root / DONE_MARK).exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    tmp = root.with_name(key + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    write_posts_parallel(tmp, seed=seed, count=count, archive_after_days=archive_after_days)
    (tmp / DONE_MARK).write_text("ok\n")
    tmp.rename(root)
    return root


def iter_post_files(root: Path) -> list[Path]:
    return sorted(p for p in (root / "_posts").rglob("*.md") if p.is_file())


_HUGO_CONFIG = """baseURL = "http://bench.example.invalid/"
languageCode = "zh-tw"
title = "bench mirror"
disableKinds = ["sitemap", "robotsTXT", "404"]
paginate = 100
rssLimit = 50
[taxonomies]
  category = "categories"
[markup.goldmark.renderer]
  unsafe = true
"""
_HEAD = '<!DOCTYPE html><html lang="zh-Hant"><head><meta charset="utf-8"><title>{{ .Title }}</title></head><body>'
_SINGLE = (
    _HEAD + '<article><h1>{{ .Title }}</h1><p><time>{{ .Date.Format "2006-01-02 15:04" }}</time> '
    "{{ .Params.author }}</p>{{ .Content }}"
    '<p><a href="{{ .Params.from }}">原文</a></p></article></body></html>\n'
)
_LIST = (
    _HEAD + "<h1>{{ .Title }}</h1><ul>{{ range .Paginator.Pages }}"
    '<li>{{ .Date.Format "1-2" }} <a href="{{ .RelPermalink }}">{{ .Title }}</a></li>{{ end }}</ul>'
    '{{ with .Paginator.Next }}<a href="{{ .URL }}">下一頁</a>{{ end }}</body></html>\n'
)
_TERMS = (
    _HEAD
    + '<h1>{{ .Title }}</h1><ul>{{ range .Data.Terms.ByCount }}<li><a href="{{ .Page.RelPermalink }}">'
    "{{ .Page.Title }}</a> ({{ .Count }})</li>{{ end }}</ul></body></html>\n"
)


def hugo_site(mirror: Path, site: Path) -> Path:
    """A Hugo site whose content is the mirror's posts (hard-linked); returns ``site``."""
    for rel, text in (
        ("hugo.toml", _HUGO_CONFIG),
        ("layouts/_default/single.html", _SINGLE),
        ("layouts/_default/post.html", _SINGLE),
        ("layouts/_default/list.html", _LIST),
        ("layouts/index.html", _LIST),
        ("layouts/_default/terms.html", _TERMS),
    ):
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_text(text, encoding="utf-8")
    hugo_sync(mirror, site)
    return site


def hugo_sync(mirror: Path, site: Path) -> int:
    """Link into the Hugo content folder every post it does not have yet; returns how many."""
    content = site / "content" / "posts"
    content.mkdir(parents=True, exist_ok=True)
    added = 0
    for p in iter_post_files(mirror):
        dst = content / p.name
        if not dst.exists():
            os.link(p, dst)
            added += 1
    return added
