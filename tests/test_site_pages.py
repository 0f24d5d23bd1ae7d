"""The article page written out in Python (``Pages.article``) against the Jinja
templates it stands for (``article.html`` in ``base.html``), branch by branch; and
article pages claimed on the manifest alone in folders nothing touched."""

from __future__ import annotations

import itertools
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newsmirror.config import parse_tz
from newsmirror.site import build_site
from newsmirror.site_pages import Item, Pages, article_href, make_trees
from newsmirror.site_text import Clock

from .test_site import article_pages, fill, make_config, settings

PUBLISHED = datetime(2026, 3, 1, 22, 5, tzinfo=UTC)


def _item(clock: Clock, *, updated: bool, revision: int, deleted: bool, odd: bool) -> Item:
    key = "https://tw.example/n/1.html?a=1&b=<2>" if odd else "https://tw.example/n/1.html"
    href = article_href(key, PUBLISHED, clock)
    return Item(
        key, 'tw&"x"' if odd else "tw", "北港日報", "港灣 <渡輪> & '颱風'" if odd else "港灣渡輪",
        key, PUBLISHED, PUBLISHED + timedelta(hours=3) if updated else None, revision,
        "zh-Hant", "deleted" if deleted else "", href, href[2:12].replace("/", "-"),
        "_posts/x.md", "0" * 32,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("variants", "base_url", "title"),
    [
        ((), "", "newsmirror"),
        (("zh-Hans", "zh-Hant"), "https://m.example/a&b/", "港灣渡輪"),
        (("zh-Hant",), "", '北港 & <"日報">'),
    ],
)
def test_the_article_page_is_what_the_templates_make(
    variants: tuple[str, ...], base_url: str, title: str
) -> None:
    clock = Clock(parse_tz("+08:00"))
    pages = Pages(title, base_url, clock, make_trees(variants), images="local")
    deleted_at = PUBLISHED + timedelta(days=2)
    flags = itertools.product((False, True), (1, 3), (False, True), (False, True), (False, True))
    for updated, revision, deleted, at, odd in flags:
        it = _item(clock, updated=updated, revision=revision, deleted=deleted, odd=odd)
        for tree in pages.trees:
            kw = dict(lang=tree.lang(it.lang), page_title=tree.text(it.title), it=it,
                      title=tree.text(it.title), source_name=tree.text(it.source_name),
                      content="<p>內文 &amp; <b>粗體</b></p>", deleted_at=deleted_at if at else None)  # fmt: skip
            want = pages.render("article", tree, it.href, **kw)  # type: ignore[arg-type]
            assert pages.article(tree, it.href, **kw) == want  # type: ignore[arg-type]


def _age_folders(out: Path) -> None:
    """Date every folder of the site an hour back (as if the build were long ago)."""
    old = time.time_ns() - 3600 * 10**9
    for folder in [out, *(p for p in out.rglob("*") if p.is_dir())]:
        os.utime(folder, ns=(old, old))


def test_pages_in_settled_folders_are_claimed_without_a_stat_but_deletions_are_seen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = make_config(tmp_path / "m")
    fill(cfg, 12)
    out, s = tmp_path / "site", settings(variants=("zh-Hans",))
    build_site(cfg, out, settings=s)
    _age_folders(out)
    build_site(cfg, out, settings=s)  # records the folders, now settled
    stats: list[str] = []
    real_stat = os.stat
    monkeypatch.setattr(
        os, "stat", lambda p, *a, **kw: stats.append(str(p)) or real_stat(p, *a, **kw)
    )
    rep = build_site(cfg, out, settings=s)
    monkeypatch.undo()
    assert rep.rendered == 0 and rep.written == 0
    pages = article_pages(out) + article_pages(out, "zh-hans")
    assert len(pages) == 24 and not {str(p) for p in pages} & set(stats)
    victim = pages[5]
    good = victim.read_bytes()
    victim.unlink()  # the folder's mtime moves: its pages are checked again
    rep = build_site(cfg, out, settings=s)
    assert victim.read_bytes() == good and rep.written == 1


def test_han_table_is_kept_between_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Han script kinds that tell page languages are OpenCC's, made once and then
    taken from the manifest (no OpenCC dictionary loaded) while OpenCC's version holds."""
    from newsmirror import site_text
    from newsmirror.site_text import detect_lang, han_kinds, han_table, learn_han_kinds

    table = han_table()
    assert table[ord("這")] == "T" and table[ord("这")] == "S" and ord("中") not in table
    assert site_text._han_table_apart() == table  # (made by a child process)
    monkeypatch.setattr(site_text, "_table", None)
    site_text.start_han_table()  # (started early, taken when needed)
    started = site_text._pending
    assert started is not None and site_text._han_table_apart() == table
    assert site_text._pending is None and started.returncode == 0
    monkeypatch.setattr(site_text, "_table", table)
    monkeypatch.setattr(site_text, "_table_kept", None)
    kept = han_kinds()
    assert set(kept["T"]) >= set("這個發與國經關") and "这" in kept["S"]

    def no_opencc() -> dict[int, str]:
        raise AssertionError("the table was made again")

    monkeypatch.setattr(site_text, "han_table", no_opencc)
    monkeypatch.setattr(site_text, "_table", None)
    monkeypatch.setattr(site_text, "_KINDS", site_text._Kinds())
    learn_han_kinds(kept)
    assert site_text._table == table and han_kinds() == kept
    assert detect_lang("這個軟體的發展與國家經濟的關係" * 3) == "zh-Hant"
    assert detect_lang("这个软件的发展与国家经济的关系" * 3) == "zh-Hans"
    monkeypatch.setattr(site_text, "_table", None)
    learn_han_kinds({**kept, "opencc": "0.0.1"})  # another OpenCC's table: not taken
    assert site_text._table is None and han_kinds() == {}
