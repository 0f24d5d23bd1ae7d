"""The site's search index: what the search page finds (the same lookup as
``search.js``, over the built files), its segments made again from their own
files, its shard format, and a failed indexing process."""

from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from lxml import html

from newsmirror import site_render
from newsmirror.config import Config
from newsmirror.search_index import Collector, query_tokens
from newsmirror.search_shards import encode_keys, read_shard, shard_files, shard_keys
from newsmirror.site import build_site

from .helpers import snapshot
from .test_site import article_pages, fill, make_config, settings


@pytest.fixture
def mirror(tmp_path: Path) -> Config:
    cfg = make_config(tmp_path / "m")
    fill(cfg, 30, images_every=5)
    return cfg


def test_a_failed_search_index_is_one_warning_and_made_next_time(
    mirror: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from newsmirror import site_search

    out = tmp_path / "site"
    s = settings(search=True, search_shard_size=8)
    with monkeypatch.context() as mp:  # the indexing process dies at once
        mp.setattr(site_search._Worker, "command", (sys.executable, "-c", "raise SystemExit(3)"))
        rep = build_site(mirror, out, settings=s)
    assert [w for w in rep.warnings if "search" in w] == [
        "search index not made: the indexing process ended (exit status 3)"
    ]
    assert rep.search_runs == 0 and not (out / "search").exists()
    assert len(article_pages(out)) == 30  # the rest of the site is there
    rep = build_site(mirror, out, settings=s)
    assert rep.search_runs >= 2 and not rep.warnings[1:]
    assert search_site(out, "港灣")


def search_site(out: Path, query: str) -> list[str]:
    """What the search page lists for ``query``, newest first: the same lookup as
    search.js, over the files of the built site."""
    page = html.fromstring((out / "search.html").read_bytes())
    found: list[str] = []
    for seg in json.loads(page.cssselect("#search")[0].get("data-index")):
        folder = out / seg["p"]
        postings: dict[int, list[int]] = {}
        for shard in sorted(folder.glob("i*.bin")):
            postings.update(read_shard(shard.read_bytes()))
        docs: set[int] | None = None
        for lo, hi in query_tokens(query):
            have = {d for t, ds in postings.items() if lo <= t <= hi for d in ds}
            docs = have if docs is None else docs & have
        rows = [r for k in range(len(list(folder.glob("d*.json"))))
                for r in json.loads((folder / f"d{k}.json").read_text(encoding="utf-8"))]  # fmt: skip
        found += [rows[d][0] for d in sorted(docs or (), reverse=True)]
    return found


def test_search_finds_every_article_by_a_word_of_its_text(mirror: Config, tmp_path: Path) -> None:
    out = tmp_path / "site"
    build_site(
        mirror, out, settings=settings(search=True, search_shard_size=8, variants=("zh-Hans",))
    )
    pages = article_pages(out)
    assert len(pages) == 30
    for page in pages:
        doc = html.fromstring(page.read_bytes())
        text = "".join(doc.cssselect("div.content")[0].itertext())
        word = next(m.group() for m in re.finditer("[\u4e00-\u9fff]{4}|[A-Za-z]{5,}", text))
        href = page.relative_to(out).as_posix()
        assert href in search_site(out, word), (word, href)
        assert href in search_site(out, word.upper()), "any case"
        if not word.isascii():
            assert href in search_site(out, word[1]), "one character: every article holding it"
    hans = search_site(out / "zh-hans", "港湾")  # the tree's own script
    assert hans and all((out / "zh-hans" / h).exists() for h in hans)
    assert search_site(out, "不存在的詞語組合") == []


def test_shard_files_read_back_to_their_keys() -> None:
    rng = np.random.default_rng(7)
    tokens = np.unique(rng.integers(1, 1 << 41, 3000, dtype=np.uint64))
    keys = np.unique(
        (rng.choice(tokens, 40000) << np.uint64(13)) | rng.integers(0, 8192, 40000, dtype=np.uint64)
    )
    shards = shard_files(encode_keys(keys))
    assert len(shards) > 1  # several shards, cut at token boundaries
    back = np.concatenate([shard_keys(raw) for _, raw in shards])
    assert np.array_equal(back, keys)
    ref = {t: d for _, raw in shards for t, d in read_shard(raw).items()}
    assert sum(map(len, ref.values())) == len(keys)
    assert [first for first, _ in shards] == sorted(first for first, _ in shards)


def test_collector_segments_are_their_documents_postings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Segments of documents from several batches (and one earlier segment reused),
    in any order and some left for a later build: each segment's shards hold exactly
    the postings of its documents, numbered in its order."""
    from newsmirror import search_index, search_shards
    from newsmirror.search_index import normalise, plain_text, postings

    monkeypatch.setattr(Collector, "BATCH", 7)
    monkeypatch.setattr(search_shards, "CHUNK", 50)  # several encoding chunks a segment
    rng = random.Random(5)
    words = ["中華", "民國", "台灣", "經濟", "news", "taipei", "2026年", "發展"]
    docs = {s: ("t", "<p>" + " ".join(rng.choices(words, k=12)) + "</p>") for s in range(40)}
    col = Collector()
    col.add([(s, *docs[s]) for s in range(30)])
    ((old, _),) = col.build([list(range(5))])  # an earlier segment: 0-4 as 100-104
    col.reuse(100, [])  # (no files: nothing)
    col.add([(s, *docs[s]) for s in range(30, 40)])
    segments = [[39, 5, 17, 6], list(range(20, 30)) + [8, 9], [10, 31, 11]]
    made = list(col.build(segments))
    assert len(made) == 3
    for seqs, (shards, leads) in zip(segments, made, strict=True):
        want = postings([(k, normalise(docs[s][0] + "\n" + plain_text(docs[s][1])))
                         for k, s in enumerate(seqs)])  # fmt: skip
        got = np.concatenate([shard_keys(raw) for _, raw in shards])
        assert np.array_equal(got, want)
        assert leads == [plain_text(docs[s][1])[: search_index.LEAD] for s in seqs]
    ((later, _),) = col.build([[12, 13, 30]])  # the documents left are still there
    assert len(later) == 1 and old


def test_the_indexing_process_answers_builds_in_order_while_it_reads() -> None:
    """``serve``: builds are made by a thread while texts keep coming; each build is
    answered in the order asked, with the same segments as the collector makes them;
    once one fails, every later build gets the same error."""
    import threading
    from multiprocessing import Pipe

    from newsmirror.search_index import serve

    ours, theirs = Pipe()
    done = threading.Thread(target=serve, args=(theirs,))
    done.start()
    texts = [(s, "標題", f"<p>中華民國{s}年 經濟發展 news{s % 3}</p>") for s in range(12)]
    docs = [(s, title.encode(), content.encode()) for s, title, content in texts]  # as sent
    ours.send(("add", docs[:6]))
    ours.send(("build", [[0, 1, 2], [3]]))
    ours.send(("add", docs[6:]))  # (sent while the first build may be made)
    ours.send(("build", [[4, 5, 6, 7, 8, 9, 10, 11]]))
    ours.send(("build", [list(range(9000))]))  # too big for a segment
    ours.send(("build", [[4]]))
    answers = [ours.recv() for _ in range(7)]
    ours.send(("stop", None))
    done.join(10)
    assert not done.is_alive()
    col = Collector()
    col.add(texts)
    want = [*col.build([[0, 1, 2], [3]]), *col.build([[4, 5, 6, 7, 8, 9, 10, 11]])]
    assert [k for k, _ in answers] == ["segment", "segment", "done", "segment", "done",
                                       "error", "error"]  # fmt: skip
    got = [a for k, a in answers if k == "segment"]
    assert [[raw for _, raw in shards] for shards, _ in got] == [
        [raw for _, raw in shards] for shards, _ in want
    ]
    assert [leads for _, leads in got] == [leads for _, leads in want]
    assert "9000 articles" in answers[5][1] and answers[6][1] == answers[5][1]


def test_texts_sent_to_the_indexing_process_keep_their_size_in_the_build() -> None:
    """Pickling a str keeps a UTF-8 copy of it inside the str: the titles and the
    content the build holds on to (result lines, feed entries) would grow by half
    again in its memory. They are sent encoded."""
    from multiprocessing import Pipe

    from newsmirror.site_search import _Worker

    ours, theirs = Pipe()
    worker = _Worker.__new__(_Worker)  # (its connection only: no indexing process)
    worker.conn, worker.batch, worker.gone, worker.used = ours, [], False, False
    title, content = "".join(["經濟發展標題"] * 5), "".join(["<p>中華民國經濟發展</p>"] * 50)
    sizes = sys.getsizeof(title), sys.getsizeof(content)
    worker.add(7, title, content)
    worker.flush()
    assert (sys.getsizeof(title), sys.getsizeof(content)) == sizes
    assert theirs.recv() == ("add", [(7, title.encode(), content.encode())])


def test_text_postings_are_the_postings_of_each_text_normalised() -> None:
    """The collector normalises a batch of texts at once, a code point at a time: the
    same keys as normalising each text (lower case in context: Σ; İ made two
    characters; full-width letters; cased scripts beyond the BMP; emoji)."""
    from newsmirror.search_index import normalise, postings, text_postings

    rng = random.Random(11)
    pools = ["中文台灣", "ABCxyz 2026", "ＡＢＣａｂｃ０１２", "ΟΔΟΣ ΣΟΦΙΑ σς", "İstanbul İ", "ПРИВЕТ мир",
             "K Å µ ß ẞ", "😀🇹🇼", "𐐀𐐨 Deseret", "ǅ ǈ ǋ", " ,.\u3000「」", "\U00020000\U0002a6d6"]  # fmt: skip
    for _ in range(300):
        texts = ["".join(rng.choice(rng.choice(pools)) for _ in range(rng.randrange(0, 40)))
                 for _ in range(rng.randrange(1, 6))]  # fmt: skip
        want = postings([(i, normalise(t)) for i, t in enumerate(texts)])
        assert np.array_equal(text_postings(texts), want), texts
    assert len(text_postings(["中文 ABC"])) and not len(text_postings([]))


def test_query_tokens_are_the_index_tokens() -> None:
    col = Collector()
    col.add([(0, "標題", "<p>中華民國 Taiwan ＡＢＣ 2026年</p>"), (1, "", "<p>民國 taiwanese</p>")])
    ((shards, leads),) = col.build([[0, 1]])
    post = {t: d for _, raw in shards for t, d in read_shard(raw).items()}

    def find(q: str) -> set[int]:
        got = [
            {d for t, ds in post.items() if lo <= t <= hi for d in ds} for lo, hi in query_tokens(q)
        ]
        return set.intersection(*got) if got else set()

    assert find("中華民國") == {0} and find("民國") == {0, 1} and find("華") == {0}
    assert find("TAIWAN") == {0} and find("abc") == {0} and find("2026") == {0}
    assert find("國") == {0, 1}  # a run's last character too
    assert find("台灣") == set() and leads == ["中華民國 Taiwan ＡＢＣ 2026年", "民國 taiwanese"]


def count_post_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The keys of the articles whose post the build reads and renders from now on."""
    reads: list[str] = []
    real = site_render.Builder._content_once

    def counted(self: site_render.Builder, item: object) -> str:
        reads.append(getattr(item, "key", ""))
        return real(self, item)  # type: ignore[arg-type]

    monkeypatch.setattr(site_render.Builder, "_content_once", counted)
    return reads


def test_merged_segments_are_made_from_their_files(
    mirror: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = settings(search=True, search_shard_size=4)
    inc, fresh = tmp_path / "inc", tmp_path / "fresh"
    build_site(mirror, inc, settings=s)
    reads = count_post_reads(monkeypatch)
    for k in range(4):  # new articles seal segments, and sealed ones merge
        fill(mirror, 3, first=30 + 3 * k)
        rep = build_site(mirror, inc, settings=s)
        assert rep.search_runs >= 1
    assert reads == []  # every article not rendered came from a segment's files
    build_site(mirror, fresh, settings=s)
    rng = random.Random(3)
    for page in rng.sample(article_pages(fresh), 12):
        text = "".join(html.fromstring(page.read_bytes()).cssselect("div.content")[0].itertext())
        word = next(m.group() for m in re.finditer("[\\u4e00-\\u9fff]{3}|[A-Za-z]{5,}", text))
        assert search_site(inc, word) == search_site(fresh, word), word


def test_new_articles_between_a_segments_articles_reuse_its_files(
    mirror: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Articles published between those of an earlier segment: the segment is made
    again from its own files and the new articles' texts, the same as afresh."""
    from datetime import timedelta

    from .test_site import START

    s = settings(search=True, search_shard_size=4)
    inc, fresh = tmp_path / "inc", tmp_path / "fresh"
    build_site(mirror, inc, settings=s)
    reads = count_post_reads(monkeypatch)
    # (the articles are 20 minutes apart from START: these fall between 20 and 23)
    new = fill(mirror, 6, first=100, start=START - timedelta(minutes=290), step_minutes=7)
    rep = build_site(mirror, inc, settings=s)
    assert rep.rendered == 6 and rep.search_runs >= 1
    assert reads == []  # the earlier segments' articles came from their files
    build_site(mirror, fresh, settings=s)
    skip = (".newsmirror", "search")  # its segments: the sealed ones of each build stay
    assert snapshot(inc, skip=skip) == snapshot(fresh, skip=skip)
    for art in new[:2]:
        word = next(m.group() for m in re.finditer("[\\u4e00-\\u9fff]{3}|[A-Za-z]{5,}", art.text))
        assert search_site(inc, word) == search_site(fresh, word) != []


def test_final_segments_are_made_during_the_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A top-level segment whose days are all behind is made while the pass goes on,
    and its articles forgotten: the index holds a few segments' articles at a time."""
    from newsmirror import site_search, site_search_plan

    cfg = make_config(tmp_path / "m")
    fill(cfg, 40, step_minutes=180)  # 8 a day over 5 days
    held: list[tuple[int, int]] = []
    real = site_search.SearchIndex.start

    def start(self: site_search.SearchIndex) -> None:
        held.append((len(self.segments), sum(len(v) for v in self.units.values())))
        real(self)

    monkeypatch.setattr(site_search.SearchIndex, "start", start)
    s = settings(search=True, search_shard_size=2)
    monkeypatch.setattr(site_search_plan, "MAX_SHARD", 8)  # top level: segments of ~8
    early = build_site(cfg, tmp_path / "early", settings=s)
    monkeypatch.setattr(site_search_plan, "MAX_SHARD", 6400)
    build_site(cfg, tmp_path / "late", settings=s)
    (made, left), _ = held
    assert made >= 2 and left <= 24, held  # made during the pass; the rest held
    assert early.search_runs > made and not early.warnings[1:]
    for page in article_pages(tmp_path / "late")[::4]:
        text = "".join(html.fromstring(page.read_bytes()).cssselect("div.content")[0].itertext())
        word = next(m.group() for m in re.finditer("[\\u4e00-\\u9fff]{3}|[A-Za-z]{5,}", text))
        assert search_site(tmp_path / "early", word) == search_site(tmp_path / "late", word)
        assert page.relative_to(tmp_path / "late").as_posix() in search_site(
            tmp_path / "early", word
        )


def test_postings_words_are_word_tokens_of_each_text() -> None:
    """The word keys of ``postings`` are those of ``word_tokens`` of each text (found
    another way), and ``plain_text`` folds whitespace as a regular expression would."""
    import random
    import re

    from newsmirror.search_index import WORD_BASE, normalise, plain_text, postings, word_tokens
    from newsmirror.search_shards import DOC_BITS, MAX_DOCS

    rng = random.Random(11)
    pool = ["news", "Ab", "9", "x1", "µ", "Àé", "ɏ", "Ωμέγα", "ϿЀ", "Ӿ", "ԀԐ", "中文", "の",
            " ", "\u3000", "-", "_", "\n", "\t", "ǅ", "İ", "ß", "😀", "Ａｂ１", "/", "\x85"]
    docs = []
    for d in range(300):
        text = "".join(rng.choice(pool) for _ in range(rng.randrange(0, 40)))
        docs.append((d, normalise(text)))
    keys = [int(k) for k in postings(docs) if (int(k) >> DOC_BITS) >= WORD_BASE]
    want = sorted({(tok << DOC_BITS) | d for d, t in docs for tok in word_tokens(t)})
    assert keys == want and len(want) > 500
    assert {k & (MAX_DOCS - 1) for k in keys} > {1, 2, 3}
    for _ in range(300):
        html = "".join(rng.choice(["<p>", "</p>", " ", "\u3000", "\n", "a", "中", "&amp;",
                                   "\xa0", "\u2028", "\x1c", "<br>"]) for _ in range(20))  # fmt: skip
        want_text = re.sub(r"\s+", " ", __import__("html").unescape(
            re.sub(r"<[^>]+>", " ", html))).strip()  # fmt: skip
        assert plain_text(html) == want_text


def test_varints_of_every_length() -> None:
    """Varint byte counts at each boundary (the float-exponent count and the one by
    comparisons beyond 2**53), and back."""
    import numpy as np

    from newsmirror.search_shards import _unvarints, _varints

    edges = [1, 2, 127, 128, 129, 255, 256]
    for bits in range(7, 63, 7):
        edges += [(1 << bits) - 1, 1 << bits, (1 << bits) + 1]
    for top in (1 << 53, 1 << 62):
        gaps = np.array([g for g in edges if g < top] * 3, dtype=np.int64)
        data, end = _varints(gaps)
        sizes = np.diff(np.concatenate(([0], end)))
        assert sizes.tolist() == [max(1, (int(g).bit_length() + 6) // 7) for g in gaps]
        assert _unvarints(data).astype(np.int64).tolist() == gaps.tolist()
