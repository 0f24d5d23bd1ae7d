"""The article and day pages written out in Python (``Pages.article``, ``Pages.day``)
against the Jinja templates they stand for (``article.html``, ``day.html`` in
``base.html``), branch by branch; and
article pages claimed on the manifest alone in folders nothing touched."""

from __future__ import annotations

import itertools
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from newsmirror.config_schema import parse_tz
from newsmirror.site import build_site
from newsmirror.site_files import record_stat
from newsmirror.site_pages import Item, Pages, article_href, make_trees
from newsmirror.site_text import Clock

from .test_site import article_pages, fill, make_config, settings

PUBLISHED = datetime(2026, 3, 1, 22, 5, tzinfo=UTC)


# (script variants, base URL, site title): the sites both pages are compared in
SITES = pytest.mark.parametrize(
    ("variants", "base_url", "title"),
    [
        ((), "", "newsmirror"),
        (("zh-Hans", "zh-Hant"), "https://m.example/a&b/", "港灣渡輪"),
        (("zh-Hant",), "", '北港 & <"日報">'),
    ],
)


def _item(clock: Clock, *, updated: bool, revision: int, deleted: bool, odd: bool) -> Item:
    key = "https://tw.example/n/1.html?a=1&b=<2>" if odd else "https://tw.example/n/1.html"
    href = article_href(key, PUBLISHED, clock)
    return Item(
        key, 'tw&"x"' if odd else "tw", "北港日報", "港灣 <渡輪> & '颱風'" if odd else "港灣渡輪",
        key, PUBLISHED, PUBLISHED + timedelta(hours=3) if updated else None, revision,
        "zh-Hant", "deleted" if deleted else "", href, href[2:12].replace("/", "-"),
        "_posts/x.md", "0" * 32,
    )  # fmt: skip


@SITES
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


@SITES
def test_the_day_page_is_what_the_templates_make(
    variants: tuple[str, ...], base_url: str, title: str
) -> None:
    clock = Clock(parse_tz("+08:00"))
    pages = Pages(title, base_url, clock, make_trees(variants), images="local")
    items = [_item(clock, updated=u, revision=r, deleted=d, odd=o)
             for u, r, d, o in itertools.product((False, True), (1, 3), (False, True), (False, True))]  # fmt: skip
    items[3].lang = "zh-Hans"
    day = items[0].day
    for prev_day, next_day in itertools.product(("", "2026-02-27"), ("", "2026-03-04")):
        for some in (items, items[:1], []):
            for tree in pages.trees:
                kw: dict[str, Any] = dict(lang=tree.variant or "zh-Hant", page_title=day, day=day,
                                          items=some, prev_day=prev_day, next_day=next_day)  # fmt: skip
                rel = f"d/{day}.html"
                assert pages.day(tree, rel, **kw) == pages.render("day", tree, rel, **kw)


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
    monkeypatch.setattr(site_text, "_kinds", None)
    learn_han_kinds(kept)
    assert site_text._table == table and han_kinds() == kept
    assert detect_lang("這個軟體的發展與國家經濟的關係" * 3) == "zh-Hant"
    assert detect_lang("这个软件的发展与国家经济的关系" * 3) == "zh-Hans"
    monkeypatch.setattr(site_text, "_table", None)
    learn_han_kinds({**kept, "opencc": "0.0.1"})  # another OpenCC's table: not taken
    assert site_text._table is None and han_kinds() == {}


def test_han_table_converts_each_character_alone() -> None:
    """The table is made with one conversion call per OpenCC config (the characters
    kept apart by a separator): it says what converting each character alone says."""
    import opencc

    from newsmirror import han

    t2s, s2t = opencc.OpenCC("t2s"), opencc.OpenCC("s2t")
    one_by_one: dict[int, str] = {}
    for lo, hi in han.HAN_RANGES:
        for code in range(lo, hi + 1):
            c = chr(code)
            t, s = t2s.convert(c) != c, s2t.convert(c) != c
            if t or s:
                one_by_one[code] = "B" if t and s else "T" if t else "S"
    table = han.han_table()
    assert table == one_by_one and {"T", "S"} <= set(table.values())
    assert han.from_kept(han.to_kept(table)) == table


def test_a_first_build_makes_the_han_table_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a table learned from a manifest, the first text with Han characters has
    the table made (in a child process) once; later texts use it."""
    from newsmirror import site_text

    made: list[int] = []

    def apart() -> dict[int, str]:
        made.append(1)
        return {ord("這"): "T"}

    monkeypatch.setattr(site_text, "_table", None)
    monkeypatch.setattr(site_text, "_kinds", None)
    monkeypatch.setattr(site_text, "_han_table_apart", apart)
    assert site_text.detect_lang("這這這") == "zh-Hant" and site_text._table == {ord("這"): "T"}
    assert site_text.detect_lang("這個這個") == "zh-Hant" and made == [1]


def _lang_by_hand(text: str, table: dict[int, str], default: str = "zh") -> str:
    """``detect_lang`` as a plain loop over characters (what its table must give)."""
    n = dict.fromkeys("TSBHKGL", 0)
    for c in text[:600]:
        code = ord(c)
        if any(lo <= code <= hi for lo, hi in ((0x3400, 0x4DBF), (0x4E00, 0x9FFF),
                                                (0xF900, 0xFAFF))):  # fmt: skip
            n[table.get(code, "H")] += 1
        elif 0x3040 <= code <= 0x30FF:
            n["K"] += 1
        elif 0xAC00 <= code <= 0xD7AF or 0x1100 <= code <= 0x11FF:
            n["G"] += 1
        elif c.isascii() and c.isalpha():
            n["L"] += 1
    trad, simp = n["T"] + n["B"], n["S"] + n["B"]
    cjk = trad + simp - n["B"] + n["H"]
    if n["K"] > 5 and n["K"] * 5 > cjk:
        return "ja"
    if n["G"] > 5 and n["G"] > cjk:
        return "ko"
    if cjk == 0:
        return "en" if n["L"] > 10 else default
    return "zh-Hant" if trad > simp else "zh-Hans" if simp > trad else "zh"


def test_only_texts_opencc_converts_are_remembered() -> None:
    """A site without variants shows every title as it is: no title is held by the
    conversion cache (up to 65,536 titles and their keys, all build long)."""
    import sys

    from newsmirror.site_text import convert

    title = "".join(["第", "9號颱風逼近 港灣渡輪停駛"])  # (a str of its own)
    held = sys.getrefcount(title)
    assert convert(title, "") is title and convert("Latin only", "t2s") == "Latin only"
    assert sys.getrefcount(title) == held
    assert convert(title, "t2s") == "第9号台风逼近 港湾渡轮停驶"
    assert sys.getrefcount(title) > held  # (a text OpenCC converts is remembered)


def test_detect_lang_counts_every_kind() -> None:
    """The translate table of ``detect_lang`` gives each character its kind: Han of
    each script, kana, hangul, Latin letters; anything else (digits, punctuation,
    characters beyond the BMP such as emoji, or letters like T, S, B) counts for none."""
    import random

    from newsmirror import site_text
    from newsmirror.site_text import detect_lang

    table = site_text._han_table()
    rng = random.Random(4)
    pools = ["這個發與國經關", "这个发与国经关", "中人日月山", "ひらがなカタカナ", "한국어ᄀ",
             "TSBHKGLabcxyz", "0123 ,.!?—「」", "😀𠀀𝐀\U0010fffd", "\ud800\uffff\u00e9\u0410",
             # each kind's first and last characters, and those just outside
             "\u3040\u30ff\u3400\u4dbf\u4e00\u9fff\uf900\ufaff\uac00\ud7af\u1100\u11ff",
             "\u303f\u3100\u33ff\u4dc0\ufb00\uf8ff\u10ff\u1200\uabff\ud7b0@[`{AZaz"]
    texts = ["", "Hello world, this is English text", "TTTTTTTTTTTTTSSSSSSSSSBBBBB😀😀"]
    for _ in range(400):
        weights = [rng.random() ** 3 for _ in pools]
        texts.append("".join(rng.choice(rng.choices(pools, weights)[0])
                             for _ in range(rng.randrange(1, 700))))  # fmt: skip
    for text in texts:
        assert detect_lang(text, "xx") == _lang_by_hand(text, table, "xx"), text


def test_plain_blocks_are_what_the_sanitizer_leaves_as_they_are() -> None:
    """A page skips nh3 for content of plain blocks only: for each such content
    (every code point inside a paragraph, a heading, bold, an image's attributes;
    texts of many; random shapes of blocks, bold and figures), ``sanitize`` gives it
    back unchanged; whatever ``sanitize`` would change is never taken for plain."""
    import random

    from newsmirror.sanitize import sanitize
    from newsmirror.site_text import page_content, plain_blocks

    def same(content: str) -> bool:
        try:
            return sanitize(content) == content
        except (UnicodeEncodeError, ValueError):  # (lone surrogates)
            return False

    codes = [*range(0x10000), *range(0x10000, 0x110000, 97), 0x1FFFE, 0x1FFFF, 0x10FFFF]
    for code in codes:
        c = chr(code)
        content = f"<p>a{c}b</p><p>{c}</p><h2>{c}<b>{c}</b></h2><p><strong>a<em>{c}</em></strong></p>"
        if plain_blocks(content):
            assert same(content), hex(code)
        elif not (0xD800 <= code <= 0xDFFF):
            assert code in (0, 0x0A, 0x0D, 0x26, 0x3C, 0x3E, 0xA0), hex(code)  # (not taken)
    rng = random.Random(7)
    pieces = ["<p>", "</p>", "<p></p>", "中文", "a b", " ", "\t", "&amp;", "<br>", "<b>x</b>",
              "\xa0", "\n", "\u3000", "</p> <p>", "<P>", "<p >", "&", "😀", "/", "p>", "<"]
    plain = 0
    for _ in range(3000):
        content = "".join(rng.choice(pieces) for _ in range(rng.randrange(0, 12)))
        if rng.random() < 0.5:  # (more of the shape taken for plain)
            content = "<p>" + content.replace("<p>", "").replace("</p>", "</p><p>") + "</p>"
        if plain_blocks(content):
            plain += 1
            assert same(content), content
    assert plain > 100
    tags = ["p", "h1", "h2", "h3", "h6", "b", "i", "em", "strong", "a", "div", "br", "span"]
    texts = ["中文", "x y", " ", "", "&", "<", ">", "\n", "\xa0", "'\"", "\u3000", "😀", "/"]
    blocks = 0
    for _ in range(4000):  # random shapes: nested, misnested, blocks in bold, text between
        content, open_ = "", []
        for _ in range(rng.randrange(1, 14)):
            r = rng.random()
            if r < 0.4 and open_ and rng.random() < 0.9:
                content += f"</{open_.pop()}>"
            elif r < 0.75:
                tag = rng.choice(tags[:5] if not open_ or rng.random() < 0.1 else tags)
                content += f"<{tag}>"
                open_.append(tag)
            else:
                content += rng.choice(texts)
        if rng.random() < 0.7:
            content += "".join(f"</{t}>" for t in reversed(open_))
        if plain_blocks(content):
            blocks += 1
            assert same(content), content
    assert blocks > 300
    for content in ["<p>中文</p><p> x </p><p></p>", "<p>一</p>", "<h2>題</h2><p>a<b>b<i>c</i></b></p>",
                    "<h1><strong></strong></h1><p><em>x</em> y</p>"]:  # fmt: skip
        assert plain_blocks(content) and same(content)
    for content in ["", "<p>", "<p>a</p> ", " <p>a</p>", "<p>a<p>b</p></p>", "<p>a</p>b<p>c</p>",
                    "<p>a&amp;b</p>", "<div>a</div>", "<p>a\nb</p>", "<p>\ud800</p>",
                    "<b>a</b>", "<p><h2>a</h2></p>", "<p><b>a</p></b>", "<h2>a</h3>",
                    "<p><b>a</b></p>x", "<p><a>a</a></p>", "<p><b >a</b></p>", "<P>a</P>"]:  # fmt: skip
        assert not plain_blocks(content), content
    # Figures of one image: every code point in its attributes, then random shapes.
    for code in codes:
        c = chr(code)
        content = (f'<p>x</p><figure><img src="https://a.example/{c}.jpg" alt="{c}" width="{c}"'
                   f' height="1"><figcaption>{c}</figcaption></figure>')  # fmt: skip
        if plain_blocks(content):
            assert same(content), hex(code)
        elif not (0xD800 <= code <= 0xDFFF):
            assert code in (0, 0x0A, 0x0D, 0x22, 0x26, 0x3C, 0x3E, 0xA0), hex(code)
    values = ["https://a.example/x.jpg", "http://a.example/b?c=1&amp;d=2", "/assets/a.jpg",
              "//cdn.example/x.jpg", "javascript:alert(1)", "data:image/gif;base64,R0lGOD",
              "a.jpg", "HTTPS://A.EXAMPLE/Y", "", "中文 說明", "&", "&lt;", "&amp", "<", ">",
              "'", "x80", "100", " ", "\xa0", "\n", "a=b"]  # fmt: skip
    names = ["src", "alt", "width", "height", "title", "class", "SRC", "src"]
    inner = ["<img{}>", "<figcaption>說明</figcaption>", "<figcaption><b>x</b>y</figcaption>",
             "<figcaption></figcaption>", "<img{}>", "文字", "<p>a</p>", "<figcaption>&</figcaption>"]  # fmt: skip
    figures = 0
    for _ in range(4000):
        attrs = "".join(f' {n}="{rng.choice(values)}"' if rng.random() < 0.95 else f" {n}={rng.choice(values)}"
                        for n in rng.sample(names, rng.randrange(0, 5)))  # fmt: skip
        if rng.random() < 0.5:  # (more of the shape taken for plain)
            attrs = "".join(f' {n}="{rng.choice(values[:4] if n == "src" else values)}"'
                            for n in ("src", "alt", "width", "height") if rng.random() < 0.8)  # fmt: skip
        body = "".join(rng.choice(inner) for _ in range(rng.randrange(0, 4)))
        if rng.random() < 0.6:
            body = "<img{}>" + ("<figcaption>說明</figcaption>" if rng.random() < 0.7 else "")
        content = "<p>前</p><figure>" + body.replace("{}", attrs) + "</figure>"
        content += rng.choice(["", "<p>後</p>", "<figure><img></figure>", " "])
        if plain_blocks(content):
            figures += 1
            assert same(content), content
            # (the page of plain content is the page of the same content sanitized)
            page = page_content(content + "<hr>", link="", legacy=False, images="original")
            assert page == page_content(content, link="", legacy=False, images="original") + "<hr>"
    assert figures > 600
    raw = "<p>那個\u3000段落 one &lt;</p>"  # (not plain: sanitized, the same as ever)
    assert page_content(raw, link="", legacy=False, images="original") == sanitize(raw)


def test_site_files_are_0644_whatever_the_umask(tmp_path: Path) -> None:
    """Pages are world-readable (0o644) under any umask; no chmod when the umask
    leaves them so (read from /proc, not by setting it)."""
    import os

    from newsmirror import site_writer
    from newsmirror.site_files import Manifest, SiteFiles

    old = os.umask(0o077)
    try:
        assert site_writer.umask() in (0o077, 0o777)
        files = SiteFiles(tmp_path / "a", Manifest(tmp_path / "m.bin", tmp_path / "a"))
        files.write("x/p.html", "<p>一</p>")
        os.umask(0o022)
        assert site_writer.umask() in (0o022, 0o777)
        files = SiteFiles(tmp_path / "b", Manifest(tmp_path / "m.bin", tmp_path / "b"))
        files.write("x/p.html", "<p>一</p>")
    finally:
        os.umask(old)
    for folder in ("a", "b"):
        assert (tmp_path / folder / "x" / "p.html").stat().st_mode & 0o777 == 0o644


def _files_written(tmp_path: Path, name: str, after: int) -> Any:
    from newsmirror.site_files import Manifest, SiteFiles

    out = tmp_path / name
    (out / "d").mkdir(parents=True)
    (out / "d" / "same.html").write_bytes("<p>同</p>".encode())  # (not in the manifest)
    (out / "d" / "other.html").write_bytes(b"old bytes")
    files = SiteFiles(out, Manifest(tmp_path / f"{name}.bin", out))
    files.writer_after = after
    for k in range(150):
        files.write(f"a/{k % 7}/p{k}.html", f"<p>第 {k} 篇</p>" * (k * 37 % 500))
    files.write("d/same.html", "<p>同</p>")
    files.write("d/other.html", b"new bytes")
    files.prune()
    return files


def test_writer_process_writes_what_the_build_would(tmp_path: Path) -> None:
    """New files given to the writer process are on disk, in the manifest and counted
    exactly as when the build writes them itself: same bytes, 0o644, no temporary
    file left; a file already there with the same bytes is kept, another replaced."""
    import os

    mine = _files_written(tmp_path, "mine", after=10**9)
    theirs = _files_written(tmp_path, "theirs", after=5)
    assert theirs._writer is None and not theirs._pending and theirs._created == 5
    assert (mine.written, mine.kept) == (theirs.written, theirs.kept) == (151, 1)
    recs = theirs.manifest.files
    assert {r: v[:16] for r, v in recs.items()} == {r: v[:16] for r, v in mine.manifest.files.items()}
    for rel, rec in recs.items():
        size, mtime = record_stat(rec)
        st = os.stat(tmp_path / "theirs" / rel)
        assert (st.st_size, st.st_mtime_ns, st.st_mode & 0o777) == (size, mtime, 0o644)
        assert (tmp_path / "theirs" / rel).read_bytes() == (tmp_path / "mine" / rel).read_bytes()
    assert not [p for p in (tmp_path / "theirs").rglob(".nm-*")]


def test_writer_process_that_ends_too_soon(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A writer process that ends (or never starts) leaves the build to write its
    files itself, those it was given and not answered for too."""
    import sys

    from newsmirror.site_writer import Writer

    monkeypatch.setattr(Writer, "command", (sys.executable, "-c", "import os; os.read(0, 3000)"))
    files = _files_written(tmp_path, "gone", after=5)
    assert (files.written, files.kept) == (151, 1) and files._no_writer
    for k in range(150):
        want = f"<p>第 {k} 篇</p>" * (k * 37 % 500)
        assert (tmp_path / "gone" / f"a/{k % 7}/p{k}.html").read_text() == want
    monkeypatch.setattr(Writer, "command", ("/nonexistent/python",))
    files = _files_written(tmp_path, "never", after=5)
    assert (files.written, files.kept) == (151, 1) and files._no_writer


def test_writer_process_error_ends_the_build(tmp_path: Path) -> None:
    from newsmirror.errors import NewsmirrorError
    from newsmirror.site_files import Manifest, SiteFiles

    out = tmp_path / "out"
    (out / "x" / "dir.html").mkdir(parents=True)  # (a folder where a page goes)
    files = SiteFiles(out, Manifest(tmp_path / "m.bin", out))
    files.writer_after = 0
    files.write("x/dir.html", "<p>一</p>")
    with pytest.raises(NewsmirrorError, match="cannot write x/dir.html"):
        files.prune()


def test_clock_local_is_astimezone() -> None:
    from datetime import UTC, datetime, timedelta, timezone
    from zoneinfo import ZoneInfo

    from newsmirror.site_text import Clock

    ny = ZoneInfo("America/New_York")
    times = [datetime(2026, 11, 1, 1, 30, fold=f, tzinfo=ny) for f in (0, 1)]  # (ambiguous)
    times += [datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, 8, tzinfo=timezone(timedelta(hours=8)))]
    for tz in (UTC, timezone(timedelta(hours=8)), ny):
        clock = Clock(tz)
        for _ in range(2):
            for dt in times:
                got = clock.local(dt)
                assert (got, got.tzinfo, got.fold) == (dt.astimezone(tz), tz, dt.astimezone(tz).fold)
    assert Clock(UTC).local(times[0]) != Clock(UTC).local(times[1])
