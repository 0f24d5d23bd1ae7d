"""The fast front-matter reader (frontmatter.py) and the row it gives ``reindex``
(reindex_rows.py) agree with PyYAML and ``parse_post``: over every post a corpus run
writes, the golden posts, the real classic post, and generated posts from
``render_post``; anything not in newsmirror's own layout falls back to PyYAML."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from newsmirror.errors import ItemError
from newsmirror.frontmatter import as_yaml, plain_ok, read_block, split_post
from newsmirror.models import Article
from newsmirror.pipeline import run
from newsmirror.postfile import render_post
from newsmirror.postfile_record import _FRONT, parse_post
from newsmirror.reindex_rows import (
    bytes_row,
    fast_row,
    file_post_row,
    file_revision_row,
    may_show_images,
    may_show_images_in,
    post_row,
    post_text,
    read_post_text,
    read_rows,
    revision_row,
    slow_row,
)
from newsmirror.store import parse_ts

from .helpers import make_mirror
from .test_pipeline import corpus_sources

LOADERS: list[Any] = list(
    dict.fromkeys([getattr(yaml, "CSafeLoader", yaml.SafeLoader), yaml.SafeLoader])
)
GOLDEN = Path(__file__).parent / "golden"
NOW = parse_ts("2026-11-28T08:00:00.000Z")
SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def block_of(text: str) -> str:
    m = _FRONT.match(text.replace("\r\n", "\n"))
    assert m is not None
    return m.group(1)


def check_post(text: str, rel: str = "_posts/x.md", *, ours: bool) -> None:
    """The fast reader, when it reads the post, says what PyYAML says, and its row is
    the row ``parse_post`` gives; posts newsmirror writes are always read fast."""
    block = block_of(text)
    fast = read_block(block)
    if ours:
        assert fast is not None, block
    if fast is not None:
        for loader in LOADERS:
            assert as_yaml(fast) == yaml.load(block, Loader=loader)
        assert parse_post(text, path=rel) == _yaml_parse(text, rel)
    row = fast_row(text, rel)
    if ours and fast is not None:
        early = any(  # a year before 1000 (stored unpadded): left to the slow path
            str(fast.get(k, "x"))[0] == "0"
            for k in ("date", "fetched", "first_seen", "changed", "updated")
        )
        assert (row is None) == early
    if row is not None:
        assert row == slow_row(text, rel)
    if "\r" not in text:  # the row read from the file's bytes is the same
        assert bytes_row(text.encode("utf-8"), rel) == row


def _yaml_parse(text: str, rel: str) -> Any:
    """parse_post with the fast reader switched off."""
    import newsmirror.postfile_record as pf

    real = pf.read_block
    pf.read_block = lambda block: None  # type: ignore[assignment]
    try:
        return pf.parse_post(text, path=rel)
    finally:
        pf.read_block = real


# ---- posts from a real run, golden and corpus posts ------------------------------------


@pytest.fixture(scope="module")
def corpus_mirror(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from newsmirror.loopback import LoopbackServer

    from .conftest import corpus_path

    corpus = corpus_path()
    if not corpus.is_dir():
        pytest.skip("corpus absent")
    with LoopbackServer() as server:
        cfg = make_mirror(tmp_path_factory.mktemp("fm") / "m", corpus_sources(server, corpus))
        run(cfg, now=NOW)
    return cfg.root


def test_every_post_of_a_corpus_run_reads_fast_and_the_same(corpus_mirror: Path) -> None:
    posts = sorted((corpus_mirror / "_posts").rglob("*.md"))
    assert len(posts) > 100
    for p in posts:
        rel = p.relative_to(corpus_mirror).as_posix()
        text = read_post_text(str(p))
        assert text == p.read_text(encoding="utf-8")
        check_post(text, rel, ours=True)
        assert fast_row(text, rel) is not None


def test_golden_and_classic_posts() -> None:
    from .conftest import corpus_path

    golden = sorted(GOLDEN.glob("*.md"))
    assert golden
    for p in golden:
        check_post(p.read_text(encoding="utf-8"), ours=False)
    classic = corpus_path() / "classic-post.md"
    if classic.is_file():
        check_post(classic.read_text(encoding="utf-8"), ours=False)


# ---- generated posts -------------------------------------------------------------------

TEXT = st.text(max_size=60)
NAME = st.one_of(TEXT, st.sampled_from(["(臺)中央社CNA", "BBC 中文", "null", "- x", "a: b", "#x"]))
INSTANT = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
)


@st.composite
def articles(draw: st.DrawFn) -> Article:
    fetched = draw(INSTANT)
    published = min(draw(INSTANT), fetched)
    return Article(
        key=draw(TEXT), guid=draw(TEXT), source=draw(NAME), source_name=draw(NAME),
        title=draw(TEXT), link=draw(st.one_of(TEXT, st.just("https://example.org/a?b=1#c"))),
        published=published, fetched=fetched,
        content=draw(st.sampled_from(["", "<p>x</p>", '<img src="/assets/ab/x.png">', "{{ x }}"])),
        text="", content_hash=draw(TEXT), updated=draw(st.none() | INSTANT),
        categories=tuple(draw(st.lists(NAME, max_size=3))),
        authors=tuple(draw(st.lists(NAME, max_size=3))), revision=draw(st.integers(-2, 99)),
        origin=draw(st.sampled_from(["feed", "page"])),
        first_seen=draw(st.none() | INSTANT), changed=draw(st.none() | INSTANT),
    )  # fmt: skip


@SETTINGS
@given(articles())
@example(Article(key="", guid="", source="", source_name="", title='"\\\n\x85\u2028\ufeff', link="",
                 published=datetime(999, 1, 1, tzinfo=UTC), fetched=datetime(2020, 1, 1, tzinfo=UTC),
                 content="", text="", content_hash=""))  # fmt: skip
def test_rendered_posts_read_fast_and_the_same(art: Article) -> None:
    check_post(render_post(art), "_posts/2020-01-01-x.md", ours=True)
    assert revision_row(render_post(art), "_revisions/x/1.md")[0] == (art.key or art.link)
    data = render_post(art).encode("utf-8")
    assert file_revision_row(data, "_revisions/x/1.md") == revision_row(
        render_post(art), "_revisions/x/1.md"
    )


@SETTINGS
@given(st.text(max_size=40))
def test_plain_ok_is_sound(s: str) -> None:
    """What plain_ok lets through reads back as itself, plain, for both PyYAML readers."""
    for flow in (False, True):
        if not plain_ok(s, flow=flow):
            continue
        doc, want = (f"k: [ {s}, {s} ]", [s, s]) if flow else (f"k: {s}", s)
        for loader in LOADERS:
            assert yaml.load(doc, Loader=loader) == {"k": want}


# ---- anything else goes to PyYAML ------------------------------------------------------

T0 = datetime(2023, 1, 11, 7, 4, 3, tzinfo=UTC)
BASE = render_post(
    Article(key="https://a.example/1", guid="g1", source="cna", source_name="中央社",
            title="標題", link="https://a.example/1", published=T0, fetched=T0 + timedelta(hours=1),
            content="<p>內文</p>", text="內文", content_hash="sha256:00")
)  # fmt: skip


@pytest.mark.parametrize(
    "edit",
    [
        lambda t: t.replace('title: "標題"', "title: 標題"),  # plain title
        lambda t: t.replace('title: "標題"', "title: '標題'"),  # single-quoted
        lambda t: t.replace("source: cna\n", "source: cna # comment\n"),
        lambda t: t.replace("source: cna\n", "extra: 1\nsource: cna\n"),  # unknown key
        lambda t: t.replace('guid: "g1"\n', "").replace(
            "source: cna\n",
            'guid: "g1"\nsource: cna\n',  # out of order
        ),
        lambda t: t.replace("source: cna\n", "source: cna\nsource: other\n"),  # twice
        lambda t: t.replace("comments: True", "comments: true"),
        lambda t: t.replace("date: 2023-01-11T07:04:03.000Z", "date: 2023-01-11 07:04:03"),
        lambda t: t.replace("date: 2023-01-11T07:04:03.000Z", "date: 2023-13-11T07:04:03.000Z"),
        lambda t: t.replace("author: 中央社", "author:  中央社"),
        lambda t: t.replace("author: 中央社", "author: yes"),
        lambda t: t.replace("author: 中央社", "author: 12"),
        lambda t: t.replace("tags: [ 中央社 ]", "tags: [中央社]"),
        lambda t: t.replace("tags: [ 中央社 ]", "tags:\n  - 中央社"),
        lambda t: t.replace('title: "標題"', 'title: "標\\e題"'),  # an escape we never write
        lambda t: t.replace('title: "標題"', 'title: "標\\ud800題"'),
        lambda t: t.replace('title: "標題"', 'title: "標\t題"'),  # a raw tab
        lambda t: t.replace("\n", "\r\n"),
        lambda t: "\ufeff" + t,
        lambda t: t.replace("hash:", "hash :"),
    ],
)
def test_other_layouts_fall_back_to_pyyaml(edit: Any) -> None:
    text = edit(BASE)
    assert text != BASE
    assert split_post(text) is None
    try:
        want = _yaml_parse(text, "_posts/x.md")
    except Exception as e:  # noqa: BLE001 - whatever PyYAML says, parse_post says the same
        with pytest.raises(type(e)):
            parse_post(text, path="_posts/x.md")
        return
    assert parse_post(text, path="_posts/x.md") == want
    assert fast_row(text, "_posts/x.md") is None


def test_base_reads_fast() -> None:
    got = split_post(BASE)
    assert got is not None and got[0]["source"] == "cna" and got[0]["key"] == "https://a.example/1"
    assert fast_row(BASE, "_posts/x.md") == slow_row(BASE, "_posts/x.md")


# ---- rows from a file's bytes ----------------------------------------------------------

IMAGE = '<img src="/assets/ab/ab{}.png" data-orig-src="https://a.example/x.png">'.format("0" * 62)


def _text_path(data: bytes, rel: str) -> Any:
    """The row as read from the file's whole text, or the error that gives."""
    try:
        return post_row(post_text(data), rel)
    except (UnicodeDecodeError, ItemError) as e:
        return type(e), str(e)


def _bytes_path(data: bytes, rel: str) -> Any:
    try:
        return file_post_row(data, rel)
    except (UnicodeDecodeError, ItemError) as e:
        return type(e), str(e)


BYTES_CASES = {
    "ours": BASE.encode(),
    "crlf": BASE.replace("\n", "\r\n").encode(),
    "lone cr": BASE.replace("<p>", "\r<p>").encode(),
    "cr in front matter only": BASE.replace("source: cna\n", "source: cna\r\n").encode(),
    "bom": ("\ufeff" + BASE).encode(),
    "unknown key": BASE.replace("source: cna\n", "extra: 1\nsource: cna\n").encode(),
    "bad yaml": b"---\ntitle: [x\n---\nbody\n",
    "no front matter": "只有內文\n".encode(),
    "no end of front matter": BASE.replace("\n---\n", "\n--\n").encode(),
    "empty": b"",
    "not utf-8 in the front matter": BASE.encode().replace("標題".encode(), b"\xe6\xa8"),
    "not utf-8 in the key": BASE.encode().replace(b"cna\n", b"cn\xff\n"),
    "not utf-8 with a cr": BASE.replace("\n", "\r\n").encode() + b"\xc0\xaf",
    "not utf-8 without our front matter": b"---\ntitle: x\n---\n\xff\xfe",
    "not utf-8 in a body with an image": BASE.replace("<p>內文</p>", IMAGE).encode() + b"\xff",
    "image": BASE.replace("<p>內文</p>", IMAGE).encode(),
    "image, liquid": BASE.replace("<p>內文</p>", IMAGE + "&#123;x&#125;")
    .replace(
        "fetched: 2023-01-11T08:04:03.000Z\n",
        "fetched: 2023-01-11T08:04:03.000Z\nliquid_escaped: true\n",
    )
    .encode(),
    "entities": BASE.replace("<p>內文</p>", '<IMG src="&#47;assets/ab/x.png">').encode(),
    "dotless i": BASE.replace("<p>內文</p>", '<ımg src="&#47;assets/ab/x.png">').encode(),
    "year 999": BASE.replace("date: 2023", "date: 0999").encode(),
}


@pytest.mark.parametrize("name", list(BYTES_CASES))
def test_rows_from_bytes_are_the_rows_of_the_text(name: str) -> None:
    """A file's row read from its bytes (only the front matter made text) is its row
    read from its whole text; bytes that are not UTF-8 in its front matter (or in a
    body that may show images, or in a file not in our layout) give the same error."""
    data = BYTES_CASES[name]
    got = _bytes_path(data, "_posts/x.md")
    assert got == _text_path(data, "_posts/x.md")
    if "utf-8" in name:
        assert got[0] is UnicodeDecodeError and "can't decode" in got[1]
    if name == "ours":
        assert bytes_row(data, "_posts/x.md") == got
    if name.startswith("image"):
        assert got[1] and bytes_row(data, "_posts/x.md") == got
    if name == "image, liquid":
        assert "{x}" in got[1]
    if name in ("crlf", "lone cr", "bom", "year 999"):  # left to the text's reading
        assert bytes_row(data, "_posts/x.md") is None
        assert got == slow_row(post_text(data), "_posts/x.md")


BAD_BODIES = {
    "not utf-8": BASE.encode().replace("內文".encode(), b"\xff\xfe"),
    "truncated at the end": BASE.encode() + "文".encode()[:2],
    "surrogate bytes": BASE.encode() + b"\xed\xa0\x80",
    "latin-1": BASE.encode().replace("<p>內文</p>".encode(), "<p>café</p>".encode("latin-1")),
}


@pytest.mark.parametrize("name", list(BAD_BODIES))
def test_a_body_that_is_not_utf8_keeps_its_row(name: str) -> None:
    """Bytes that are not UTF-8 in the body of a post in newsmirror's layout (which
    cannot show a local image) do not keep its row out of the index: no value of the
    row comes from there (reading the whole text refused the post)."""
    data = BAD_BODIES[name]
    with pytest.raises(UnicodeDecodeError):
        post_text(data)
    assert file_post_row(data, "_posts/x.md") == post_row(BASE, "_posts/x.md")
    assert read_rows("post", [("/nonexistent/x.md", "_posts/x.md")], None) == [
        "_posts/x.md: [Errno 2] No such file or directory: '/nonexistent/x.md'"
    ]


PIECE = st.sampled_from(
    ["<", "i", "I", "ı", "İ", "m", "M", "g", "G", "&", "/assets/", "x", "文", "\n", "<img", "<ımg",
     "<İMG", "<iMg"]
)  # fmt: skip


@SETTINGS
@given(st.lists(PIECE, max_size=20).map("".join), st.integers(0, 40))
@example("文&<ımg", 1)
@example("<İmg&", 0)
def test_the_image_filter_on_bytes_keeps_what_the_text_filter_keeps(body: str, start: int) -> None:
    data = body.encode()
    start = min(start, len(body))
    at = len(body[:start].encode())
    assert may_show_images_in(data, at) == may_show_images(body, start)


def test_read_rows_says_which_file_cannot_be_read_and_why(tmp_path: Path) -> None:
    """Each file gives its row, or one line naming it and the cause."""
    folder = tmp_path / "_posts"
    folder.mkdir()
    names = sorted(f"{i:02d}.md" for i in range(len(BYTES_CASES)))
    for name, data in zip(names, BYTES_CASES.values(), strict=True):
        (folder / name).write_bytes(data)
    rels = [f"_posts/{n}" for n in [*names, "missing.md"]]
    got = read_rows("post", rels, f"{tmp_path}/")
    assert len(got) == len(rels)
    for rel, row in zip(rels, got, strict=False):
        if rel.endswith("missing.md"):
            assert row.startswith(f"{rel}: [Errno 2] No such file or directory:")
            continue
        want = _bytes_path((tmp_path / rel).read_bytes(), rel)
        if isinstance(want, tuple) and want and isinstance(want[0], type):
            assert row == f"{rel}: {want[1]}"
        else:
            assert row == want
    bad = [r for r in got if isinstance(r, str)]
    assert len(bad) == 10 and sum("codec can't decode" in r for r in bad) == 5


_OLD_PLAIN_BAD = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]|: |:$| #|\s$")


def _old_plain_ok(s: str, flow: bool) -> bool:
    """plain_ok as first written (one pattern): the faster checks say the same."""
    from newsmirror.frontmatter import _FLOW_BAD, _PLAIN_BAD_START, _YAML_WORDS

    return not (
        not s
        or s[0] in _PLAIN_BAD_START
        or s[0].isspace()
        or s.lower() in _YAML_WORDS
        or _OLD_PLAIN_BAD.search(s)
        or (flow and _FLOW_BAD.search(s))
    )


def test_plain_ok_says_what_its_first_pattern_said() -> None:
    for c in map(chr, range(0x10000)):
        for s in (c, "a" + c, c + "a", "a" + c + "\n", "a" + c + "b", "a" + c + " b"):
            for flow in (False, True):
                assert plain_ok(s, flow=flow) == _old_plain_ok(s, flow), (s, flow)


@SETTINGS
@given(st.text(max_size=20))
def test_plain_ok_says_what_its_first_pattern_said_generated(s: str) -> None:
    for flow in (False, True):
        assert plain_ok(s, flow=flow) == _old_plain_ok(s, flow)
