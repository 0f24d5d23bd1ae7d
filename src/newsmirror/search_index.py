"""The search index's data: tokens and posting lists, and the indexing process
that makes a segment's shard files (``search_shards``) for the site's search
page (``templates/site/search.js``). Pure functions over numpy arrays, and
``Collector``; ``site_search`` decides what to index and writes the files.

Why our own index and not Pagefind: Pagefind's Chinese segmentation costs about
4.5 ms of CPU per article page (1.5 ms for the same text as English), 45 s for
10,000 articles, where Hugo builds the whole site in 8 s; this index costs
about 0.2 ms per article, in a process of its own beside the build
(``python bench/build_site.py``).

Tokens (the search page makes the same from a query):

* text is lower-cased, full-width letters and digits made ASCII;
* a run of CJK characters (Han, kana, Hangul) gives every pair of neighbours
  (``中國人`` → ``中國``, ``國人``) plus its last character alone, so that a
  one-character query is the range of tokens starting with it;
* a word of Latin, Greek or Cyrillic letters and digits is one token, by its
  CRC-32.

A token is a number below 2**41: ``first << 21 | second`` for CJK (``second``
0 for a run's last character), ``2**40 + crc32(word)`` for words. A posting
key is ``token << 13 | doc`` (a segment holds fewer than 8,192 articles).

A segment's postings are written as shard files by ``search_shards``.
"""

from __future__ import annotations

import html
import json
import queue
import re
import threading
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .search_shards import (
    DOC_BITS,
    MAX_DOCS,
    Encoded,
    encode_keys,
    pack,
    shard_files,
    shard_keys,
    unpack,
)

WORD_BASE = 1 << 40
_U64 = np.uint64
_WORD = re.compile(r"[0-9a-z\u00b5\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff]+")
# CJK: kana, CJK extension A and unified ideographs, Hangul syllables,
# compatibility ideographs, and the supplementary ideograph planes.
_CJK_RANGES = ((0x3040, 0x30FF), (0x3400, 0x9FFF), (0xAC00, 0xD7AF), (0xF900, 0xFAFF),
               (0x20000, 0x3FFFF))  # fmt: skip


_WIDE = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")
_NARROW = {c: c - 0xFEE0 for c in range(0xFF10, 0xFF5B)}


def normalise(text: str) -> str:
    """Lower-cased, full-width letters and digits made ASCII (what ``search.js``
    does to a query; cheaper than NFKC, which re-composes every Chinese text)."""
    text = text.lower()
    if _WIDE.search(text):
        text = text.translate(_NARROW).lower()
    return text


def _cjk(a: np.ndarray) -> np.ndarray:
    out = np.zeros(a.shape, dtype=bool)
    for lo, hi in _CJK_RANGES:
        out |= (a >= lo) & (a <= hi)
    return out


def word_tokens(text: str) -> list[int]:
    """The word tokens of normalised ``text`` (distinct, any order)."""
    return [WORD_BASE + zlib.crc32(w.encode("utf-8")) for w in set(_WORD.findall(text))]


_WORD_RANGES = ((0x30, 0x39), (0x61, 0x7A), (0xB5, 0xB5), (0xC0, 0x24F), (0x370, 0x3FF),
                (0x400, 0x4FF))  # the characters of ``_WORD``  # fmt: skip


def _word_keys(joined: str, a: np.ndarray, doc: np.ndarray) -> np.ndarray:
    """The word posting keys of ``joined`` (texts joined by NULs; ``a`` its code
    points, ``doc`` the document of each): the keys of ``word_tokens`` of each
    text, found with numpy (a regular expression over every character of a Chinese
    text is most of the cost), each word's CRC once. Any order, repeats."""
    cand = np.flatnonzero(a < 0x500)
    v = a[cand]
    is_word = np.zeros(len(v), dtype=bool)
    for lo, hi in _WORD_RANGES:
        is_word |= (v >= lo) & (v <= hi)
    pos = cand[is_word]
    if not len(pos):
        return np.zeros(0, dtype=_U64)
    cut = np.flatnonzero(np.diff(pos) != 1)
    starts = np.concatenate((pos[:1], pos[cut + 1]))
    ends = np.concatenate((pos[cut], pos[-1:])) + 1
    words = [joined[b:e] for b, e in zip(starts.tolist(), ends.tolist(), strict=True)]
    tokens = {w: WORD_BASE + zlib.crc32(w.encode("utf-8")) for w in set(words)}
    keys = np.array([tokens[w] for w in words], dtype=_U64)
    keys <<= _U64(DOC_BITS)
    keys |= doc[starts]
    return keys


def postings(docs: Sequence[tuple[int, str]]) -> np.ndarray:
    """The distinct posting keys ``token << 13 | doc`` of ``(doc, text)`` pairs
    (doc < 8,192; texts already normalised), sorted."""
    if not docs:
        return np.zeros(0, dtype=_U64)
    joined = "\x00".join(t for _, t in docs) + "\x00"
    a = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    lens = np.fromiter((len(t) + 1 for _, t in docs), dtype=np.int64, count=len(docs))
    ids = np.fromiter((d for d, _ in docs), dtype=np.uint16, count=len(docs))
    return _distinct(_keys(joined, a, np.repeat(ids, lens)))


_ODD = 0xFFFFFFFF  # (in ``_norm_table``: normalised by its neighbours, or longer)
_norm: np.ndarray | None = None


def _norm_table() -> np.ndarray:
    """Each code point of the BMP to the one ``normalise`` makes of it alone; ``_ODD``
    for those it does not make one alone: Σ (final or not, by its neighbours), İ
    (two characters)."""
    global _norm
    if _norm is None:
        lower = [chr(c).lower() for c in range(0x10000)]
        t = np.array([ord(x) if len(x) == 1 else _ODD for x in lower], dtype=np.uint32)
        for c in range(0xFF10, 0xFF5B):  # full width
            x = normalise(chr(c))
            t[c] = ord(x) if len(x) == 1 else _ODD
        t[0x3A3] = _ODD
        _norm = t
    return _norm


SUB = 128  # texts whose code points are held at once (the indexer's peak memory)


def text_postings(texts: Sequence[str]) -> np.ndarray:
    """``postings`` of ``texts`` not normalised yet, numbered 0, 1, …: normalised here
    a code point at a time (``_norm_table``), where that gives what ``normalise``
    gives each text (else each text is normalised on its own); ``SUB`` texts at a
    time, their keys gathered in one array, sorted at the end."""
    out = np.empty(sum(map(len, texts)), dtype=_U64)  # (a key a character at most)
    n = 0
    for i in range(0, len(texts), SUB):
        got = _text_keys(texts[i : i + SUB], i)
        if n + len(got) > len(out):  # (normalised texts grew longer: İ)
            out = np.concatenate((out[:n], np.empty(len(got), dtype=_U64)))
        out[n : n + len(got)] = got
        n += len(got)
    return _distinct(out[:n])


def _text_keys(texts: Sequence[str], base: int) -> np.ndarray:
    """The posting keys of ``texts`` numbered ``base``, ``base + 1``, … (``_keys``)."""
    joined = "\x00".join(texts) + "\x00"
    a = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    odd = False
    if int(a.max()) < 0x10000:
        a = _norm_table()[a]
    else:  # beyond the BMP: kept as they are, unless one of them has cases (odd)
        beyond = a >= 0x10000
        odd = any(chr(x).lower() != chr(x) for x in np.unique(a[beyond]).tolist())
        a = np.where(beyond, a, _norm_table()[np.where(beyond, 0, a)])
    if odd or (a == _ODD).any():
        texts = [normalise(t) for t in texts]
        joined = "\x00".join(texts) + "\x00"
        a = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    else:
        joined = a.tobytes().decode("utf-32-le")
    lens = np.fromiter((len(t) + 1 for t in texts), dtype=np.int64, count=len(texts))
    doc = np.repeat(np.arange(base, base + len(texts), dtype=np.uint16), lens)
    return _keys(joined, a, doc)


def _keys(joined: str, a: np.ndarray, doc: np.ndarray) -> np.ndarray:
    """The posting keys of normalised texts joined by NULs (``a``: their code points,
    ``doc``: the document of each), in no order, with repeats. (Code points are held
    as 32-bit numbers, 64-bit ones only for the keys.)"""
    c = _cjk(a)
    second = np.zeros_like(a)
    second[:-1] = a[1:]
    second[:-1][~c[1:]] = 0  # (a run's last character: 0)
    words = _word_keys(joined, a, doc)
    keys = np.empty(int(c.sum()) + len(words), dtype=_U64)
    cjk = keys[: len(keys) - len(words)]
    cjk[:] = a[c]
    cjk <<= _U64(21)
    cjk |= second[c]
    del second
    cjk <<= _U64(DOC_BITS)
    cjk |= doc[c]
    keys[len(cjk) :] = words
    return keys


def _distinct(keys: np.ndarray) -> np.ndarray:
    """``keys`` sorted (in place), each once."""
    keys.sort(kind="stable")
    if len(keys) > 1:
        keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
    return keys


def query_tokens(query: str) -> list[tuple[int, int]]:
    """The token ranges ``(low, high)`` (inclusive) a query asks for, all of which
    an article must hold: what ``search.js`` does, for tests and tools."""
    text = normalise(query)
    out: list[tuple[int, int]] = []
    run: list[int] = []

    def flush() -> None:
        if len(run) == 1:
            out.append((run[0] << 21, (run[0] << 21) | ((1 << 21) - 1)))
        for x, y in zip(run, run[1:], strict=False):
            out.append(((x << 21) | y,) * 2)
        run.clear()

    for ch in text:
        cp = ord(ch)
        if any(lo <= cp <= hi for lo, hi in _CJK_RANGES):
            run.append(cp)
        else:
            flush()
    flush()
    out.extend((t, t) for t in sorted(word_tokens(text)))
    return out


LEAD = 120  # characters of text shown under a result
_TAGS = re.compile(r"<[^>]+>")
Segment = tuple[list[tuple[int, bytes]], list[str]]  # (shards, lead of each document)


def plain_text(content: str) -> str:
    """The text of an article's page content (HTML), for the index and the lead
    (whitespace runs made one space: ``str.split`` takes what ``\\s`` matches)."""
    return " ".join(html.unescape(_TAGS.sub(" ", content)).split())


RANGES = 8  # key ranges a segment is made in, one at a time


class Collector:
    """Texts in, posting keys of numbered documents out; documents are kept by
    their number (``seq``, any int) until ``build`` places them in segments. Each
    batch's keys are kept packed (``pack``) until then, cut in ``RANGES`` ranges
    of tokens (the same for every batch: ``cuts``, from the first batch's keys) so
    that a segment is made a range at a time, holding a range's keys only."""

    BATCH = 512

    def __init__(self) -> None:
        self.pending: list[tuple[int, str]] = []
        self.parts: list[tuple[np.ndarray, list[np.ndarray]]] = []  # (seqs, packed ranges)
        self.leads: dict[int, str] = {}
        self.cuts: np.ndarray | None = None  # the first key of each range but the first

    def add(self, items: Iterable[tuple[int, str, str]]) -> None:
        """``(seq, title, page content)`` of articles (HTML content, the title apart)."""
        for seq, title, content in items:
            text = plain_text(content)
            self.leads[seq] = text[:LEAD]
            self.pending.append((seq, title + "\n" + text))
            if len(self.pending) >= self.BATCH:
                self._flush()

    def _flush(self) -> None:
        if not self.pending:
            return
        seqs = np.fromiter((s for s, _ in self.pending), dtype=np.int64, count=len(self.pending))
        keys = text_postings([t for _, t in self.pending])
        self.parts.append((seqs, self._ranges(keys)))
        self.pending = []

    def _ranges(self, keys: np.ndarray) -> list[np.ndarray]:
        """Sorted keys packed, a range at a time."""
        if self.cuts is None:  # token boundaries at quantiles: ranges of about equal size
            at = (np.arange(1, RANGES) * len(keys)) // RANGES
            self.cuts = np.unique(keys[at] & ~_U64(MAX_DOCS - 1)) if len(keys) else keys[:0]
        return [pack(r) for r in np.split(keys, np.searchsorted(keys, self.cuts))]

    def reuse(self, base: int, files: Sequence[str]) -> None:
        """The documents of an earlier segment, numbered ``base``, ``base + 1``, …
        from its files (``i*.bin`` shards in order, ``d*.json`` result lines)."""
        self._flush()
        keys, rows = [], []
        for path in files:
            with open(path, "rb") as fh:
                raw = fh.read()
            if path.endswith(".bin"):
                keys.append(shard_keys(raw))
            else:
                rows.extend(json.loads(raw))
        for k, row in enumerate(rows):
            self.leads[base + k] = row[4] if len(row) > 4 else ""
        joined = np.concatenate(keys) if keys else np.zeros(0, dtype=_U64)
        del keys
        self.parts.append((np.arange(base, base + len(rows), dtype=np.int64), self._ranges(joined)))

    def build(self, segments: Sequence[Sequence[int]]) -> Iterator[Segment]:
        """The shards of each segment in turn, and the leads of its documents;
        segments given as the seqs of their documents in order (every one added
        before; each document in one build only): ``make(take(segments))``."""
        return self.make(self.take(segments))

    def take(self, segments: Sequence[Sequence[int]]) -> Taken:
        """What a build of ``segments`` needs, taken out of the collector (quick:
        ``make`` does the work, and may do it in another thread while more texts
        are added). A batch with documents for a later build stays."""
        self._flush()
        where: dict[int, tuple[int, int]] = {}
        for si, seqs in enumerate(segments):
            if len(seqs) > MAX_DOCS:
                raise ValueError(f"a search segment of {len(seqs)} articles (at most {MAX_DOCS})")
            for local, seq in enumerate(seqs):
                where[seq] = (si, local)
        # (segment and local number of each batch document, packed ranges, last segment)
        parts = []
        kept = []  # batches with documents for a later build
        for seqs, ranges in self.parts:
            at = [where.get(s, (-1, 0)) for s in seqs.tolist()]
            seg = np.array([x[0] for x in at], dtype=np.int64)
            loc = np.array([x[1] for x in at], dtype=_U64)
            if (seg < 0).any():
                kept.append((seqs, ranges))
            if (seg >= 0).any():
                parts.append((seg, loc, ranges, int(seg.max())))
        self.parts = kept
        leads = [[self.leads.pop(seq, "") for seq in seqs] for seqs in segments]
        return Taken(len(segments), parts, leads)

    @staticmethod
    def make(taken: Taken) -> Iterator[Segment]:
        """The segments of ``take``, each made a range of tokens at a time (the keys
        of one range of one segment held at once); a batch is dropped after the last
        segment it has documents in."""
        low = _U64(MAX_DOCS - 1)
        for si in range(taken.segments):
            mine = [p for p in taken.parts if (p[0] == si).any()]
            encoded: Encoded = []
            for r in range(len(mine[0][2]) if mine else 0):
                got = []
                for seg, loc, ranges, _last in mine:
                    keys = unpack(ranges[r])
                    doc = (keys & low).astype(np.int64)
                    if (seg[doc] != si).any():
                        keys, doc = keys[seg[doc] == si], doc[seg[doc] == si]
                    got.append((keys & ~low) | loc[doc])
                    del keys, doc
                keys = np.concatenate(got) if got else np.zeros(0, dtype=_U64)
                del got
                keys.sort(kind="stable")
                encoded += encode_keys(keys, int(encoded[-1][1][-1]) if encoded else 0)
                del keys
            del mine
            taken.parts = [p for p in taken.parts if p[3] > si]
            yield shard_files(encoded), taken.leads[si]
            taken.leads[si] = []


@dataclass(slots=True)
class Taken:
    """A build's share of a ``Collector`` (``take``), until ``make`` has made it."""

    segments: int
    parts: list[tuple[np.ndarray, np.ndarray, list[np.ndarray], int]]
    leads: list[list[str]]


def serve(conn: Any) -> None:
    """The indexing process: ``("add", [(seq, title, content), …])`` (title and
    content UTF-8 encoded, see ``site_search._Worker.add``), ``("reuse",
    (base, files))`` and ``("build", [[seq, …], …])`` in any order, each build
    answered with ``("segment", (shards, leads))`` for each segment in turn, then
    ``("done", None)``; or ``("error", why)`` once something could not be done
    (every later build gets the same answer).

    Builds are made by a thread of their own, in order, while this one goes on
    reading (a big segment takes a while: the build must not wait on a full socket
    meanwhile); sorting and encoding are numpy's, mostly without the GIL."""
    col = Collector()
    failed = ""  # the first text or build request that could not be taken
    jobs: queue.SimpleQueue[tuple[Taken | None, str] | None] = queue.SimpleQueue()
    builder = threading.Thread(target=_builder, args=(conn, jobs), daemon=True)
    builder.start()
    try:
        while True:
            try:
                msg, arg = conn.recv()
            except (EOFError, OSError):
                return
            if msg == "build":
                try:
                    jobs.put((None, failed) if failed else (col.take(arg), ""))
                except Exception as e:  # noqa: BLE001 - reported to the build, which goes on
                    failed = f"{type(e).__name__}: {e}"
                    jobs.put((None, failed))
            elif msg in ("add", "reuse"):
                try:
                    if msg == "add":
                        col.add((seq, t.decode(errors="surrogatepass"),
                                 c.decode(errors="surrogatepass")) for seq, t, c in arg)  # fmt: skip
                    else:
                        col.reuse(*arg)
                except Exception as e:  # noqa: BLE001 - said when the build asks
                    failed = failed or f"{type(e).__name__}: {e}"
            else:
                return
    finally:
        jobs.put(None)
        builder.join()


def _builder(conn: Any, jobs: queue.SimpleQueue[tuple[Taken | None, str] | None]) -> None:
    """Make each build taken (``serve``; or its error, the first thing that failed
    before it was asked for) and send its segments, in order."""
    failed = ""  # a build that could not be made: every later one is told so
    while (job := jobs.get()) is not None:
        taken, why = job
        try:
            if taken is None or failed:
                conn.send(("error", failed or why))
                continue
            for made in Collector.make(taken):  # no I/O: an OSError is the socket's
                conn.send(("segment", made))
            conn.send(("done", None))
        except OSError:  # the build is gone
            return
        except Exception as e:  # noqa: BLE001 - reported to the build, which goes on
            failed = f"{type(e).__name__}: {e}"
            try:
                conn.send(("error", failed))
            except OSError:
                return


def main() -> None:
    """``python -m newsmirror.search_index FD``: serve on the socket ``FD``."""
    import socket
    import sys
    from multiprocessing.connection import Connection

    sock = socket.socket(fileno=int(sys.argv[1]))
    serve(Connection(sock.detach()))


if __name__ == "__main__":
    main()
