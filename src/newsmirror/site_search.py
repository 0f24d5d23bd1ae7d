"""Full-text search, built with the site: a static index of our own
(``search_index``) that the search page reads with a small script of our own
(``templates/site/search.js``); no server.

The articles are split into segments by their local publish hour (as the
article pages are, ``a/YYYY/MM/DD/HHMM-…``), laid out by
:mod:`newsmirror.site_search_plan` (a log-structured merge, so a search reads a few
segments), and a build indexes again only the segments whose articles changed.

The layout is kept in the manifest; sealed boundaries never move. A segment is
named by what it indexes, so an unchanged one keeps its files. Indexing runs in
a process of its own (numpy), fed with each article's text as the build renders
it; the unchanged articles of a segment made again are taken from the files of
the earlier segment that held them (all of its articles unchanged, new ones
between them or not), else read from their post files. The segments are made
while the build writes the listings and feeds.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import subprocess
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from . import prestart
from .site_files import SiteFiles, signature
from .site_pages import Item, Tree
from .site_search_plan import Planner, Shard

MAX_DOCS = 8192  # articles in one segment, at most (search_shards.MAX_DOCS)
META_CHUNK = 256  # articles per file of result titles
BATCH = 256  # texts sent to the indexing process at once
Made = tuple[list[tuple[int, bytes]], list[str]]  # (shards, lead of each article)


def drop_bundles(files: SiteFiles) -> int:
    """Remove what an earlier build's Pagefind search left (its bundle folders were
    not the manifest's files); the number of their files."""
    m, removed = files.manifest, 0
    for folder, rec in m.extra.pop("bundles", {}).items():
        shutil.rmtree(files.path(folder), ignore_errors=True)
        removed += rec["files"] if isinstance(rec, dict) else len(rec)
        with contextlib.suppress(OSError):  # the pagefind/ folder, when left empty
            os.rmdir(os.path.dirname(files.path(folder.rstrip("/"))))
    m.extra.pop("search", None)
    for key in [k for k in m.pages if k.startswith("search:")]:
        del m.pages[key]
    return removed


class _Worker:
    """The indexing process (``python -m newsmirror.search_index``), started at once
    so that its start overlaps the build. Texts are sent in batches as they come;
    its answers are read by a thread into ``answers`` as they come (so neither side
    ever waits on a full socket). It ends when told, or when its socket closes (the
    build ended, or was killed); the reading thread closes the socket then."""

    command = prestart.INDEXER

    def __init__(self) -> None:
        got = prestart.take_indexer() if self.command == prestart.INDEXER else None
        self.proc, ours = got or prestart.start_indexer(self.command)
        self.conn = Connection(ours.detach())
        self.batch: list[tuple[int, bytes, bytes]] = []
        self.gone = self.used = False
        self.answers: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                msg = self.conn.recv()
            except (EOFError, OSError):
                self.answers.put(("ended", self._ended()))
                self.conn.close()
                return
            self.answers.put(msg)

    def _ended(self) -> str:
        try:
            code = self.proc.wait(5)
        except subprocess.TimeoutExpired:
            return "the indexing process stopped answering"
        return f"the indexing process ended (exit status {code})"

    def _send(self, msg: tuple[str, Any]) -> None:
        if self.gone:
            return
        try:
            self.conn.send(msg)
        except OSError:  # it died: the build goes on, and says so at the end
            self.gone = True

    def add(self, seq: int, title: str, content: str) -> None:
        # (as UTF-8: pickling a str would keep a UTF-8 copy of it inside the str, in
        # this process, for as long as the str lives: the content of feed entries, the
        # titles of a segment's result lines)
        self.batch.append((seq, title.encode(errors="surrogatepass"),
                           content.encode(errors="surrogatepass")))  # fmt: skip
        if len(self.batch) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if self.batch:
            self.used = True
            self._send(("add", self.batch))
            self.batch = []

    def reuse(self, base: int, files: list[str]) -> None:
        """Articles ``base``, ``base + 1``, … are those of an earlier segment, whose
        files (shards and result lines) are ``files``."""
        self.flush()
        self.used = True
        self._send(("reuse", (base, files)))

    def build(self, segments: list[list[int]]) -> None:
        self.flush()
        self.used = True
        self._send(("build", segments))

    def close(self) -> None:
        """Stop the process: at once when it was given nothing (it may still be
        starting up, and holds nothing), else when it has read its last message;
        it is reaped in the background (the build does not wait for it to end)."""
        if not self.used:
            self.proc.kill()
        self._send(("stop", None))
        self.gone = True


@dataclass(slots=True)
class _Segment:
    items: list[Item]  # emptied once its files are written
    names: dict[str, str]  # tree prefix -> segment name
    build: list[str]  # the prefixes whose files are made anew
    n: int = 0  # articles
    head: str = ""  # the key of its first article
    listed: dict[str, list[str]] = field(default_factory=dict)  # prefix -> its files


class SearchIndex:
    """The search segments of every tree of one build. ``see`` every article in
    the pass, ``feed`` those rendered in it: a segment that can no longer change
    (at the top level, its days all passed) is made during the pass, so only a
    few segments' articles are held at a time; ``start`` after the pass asks for
    the others, ``finish`` writes what is left."""

    def __init__(
        self,
        files: SiteFiles,
        build_sig: str,
        trees: Sequence[Tree],
        shard_size: int,
        content_of: Callable[[Item], str],
    ) -> None:
        self.files, self.build_sig, self.trees = files, build_sig, tuple(trees)
        self.m = files.manifest
        self.content_of = content_of
        if "bundles" in self.m.extra:  # a Pagefind index of an earlier version
            drop_bundles(files)
        state = self.m.extra.get("index", {})
        if state.get("build") != build_sig:
            state = {}
        self.planner = Planner([Shard(*x) for x in state.get("sealed", [])], shard_size)
        self.had: dict[str, dict[str, list[str]]] = state.get(
            "trees", {}
        )  # prefix -> name -> files
        # prefix -> key of a segment's first article -> (its name, its article count)
        self.heads: dict[str, dict[str, tuple[str, int]]] = {
            p: {k: (name, n) for name, (k, n) in segs.items()}
            for p, segs in state.get("heads", {}).items()
        }
        self.units: dict[str, list[Item]] = {}  # hour -> its articles (not yet in a segment)
        self.unit = ""  # the hour being seen
        self.made: set[tuple[str, str]] = set()  # (first, last) of shards made into segments
        self.seq: dict[tuple[str, str], int] = {}  # (prefix, key) -> number in the process
        self.next_seq = 0
        self.meta: dict[tuple[str, str], list[str]] = {}  # (prefix, key) -> result line
        self.worker: _Worker | None = _Worker()
        self.segments: list[_Segment] = []
        self.pending: deque[tuple[_Segment, str]] = deque()  # asked for, in answer order
        self.ran = 0
        self.failed = ""
        self.warnings: list[str] = []

    # ------------------------------------------------------------ the pass

    def see(self, item: Item) -> None:
        """Every article of the site, oldest first."""
        unit = item.href[2:15]
        if unit > self.unit:
            if self.unit:
                self._unit_done(self.unit, unit)
            self.unit = unit
        self.units.setdefault(unit, []).append(item)

    def feed(self, tree: Tree, item: Item, content: str) -> None:
        """An article rendered in this build: its page content in ``tree``."""
        title = tree.text(item.title)
        seq = self.next_seq
        self.next_seq += 1
        self.seq[tree.prefix, item.key] = seq
        if self.worker is not None:
            self.worker.add(seq, title, content)
        self._meta(tree, item, title)

    def _meta(self, tree: Tree, item: Item, title: str = "") -> None:
        title = title or tree.text(item.title)
        self.meta[tree.prefix, item.key] = [item.href, title, tree.text(item.source_name), item.day]

    def _unit_done(self, unit: str, next_unit: str) -> None:
        """Every article of ``unit`` was seen: plan it; make the top-level shards
        whose days are all behind (a repeated hour, at a clock change, stays in
        its day); write the segments made meanwhile."""
        self.planner.add(unit, len(self.units.get(unit, ())))
        if unit[:10] != next_unit[:10]:  # (before a new day, no shard's days are all behind
            # that were not at the day before: the shards are made, in order, as they were)
            for shard in self.planner.sealed:
                top, behind = shard.level == self.planner.top, shard.last[:10] < next_unit[:10]
                if top and behind and (shard.first, shard.last) not in self.made:
                    self._make([shard])
        self._collect(block=False)

    # ------------------------------------------------------------ segments

    def start(self) -> None:
        """Every article was seen: make every segment not made yet (while the
        build writes the listings and feeds)."""
        if self.unit:
            self.planner.add(self.unit, len(self.units.get(self.unit, ())))
        p = self.planner
        rest = [s for s in p.sealed if (s.first, s.last) not in self.made]
        self._make(rest + ([p.open] if p.open else []))

    def _make(self, shards: Sequence[Shard]) -> None:
        """Plan the segments of ``shards`` and ask for those whose articles changed."""
        order = sorted(self.units)
        new: list[_Segment] = []
        for shard in shards:
            self.made.add((shard.first, shard.last))
            last = shard.last if shard.level >= 0 else "\uffff"
            units = [u for u in order if shard.first <= u <= last]
            items = [i for u in units for i in self.units.pop(u)]
            for k in range(0, len(items), MAX_DOCS):  # an hour of thousands (an import)
                new.append(self._segment(items[k : k + MAX_DOCS]))
        todo = [(s, p) for s in new for p in s.build]
        for seg in new:
            if not seg.build:
                seg.items = []
        if not todo or self.worker is None:
            return
        for seg, prefix in todo:
            self._gather(seg, next(t for t in self.trees if t.prefix == prefix))
        self.worker.build([[self.seq[p, i.key] for i in s.items] for s, p in todo])
        self.pending.extend(todo)

    def _segment(self, items: list[Item]) -> _Segment:
        seg = _Segment(items, {}, [], len(items), items[0].key)
        sigs = [i.sig for i in items]
        for tree in self.trees:
            name = signature(self.build_sig, tree.prefix, sigs)[:16]
            seg.names[tree.prefix] = name
            had = self.had.get(tree.prefix, {}).get(name)
            if had is None or not all(self.files.keep(r) for r in had):
                seg.build.append(tree.prefix)
            else:
                seg.listed[tree.prefix] = had
        self.segments.append(seg)
        return seg

    def _gather(self, seg: _Segment, tree: Tree) -> None:
        """Give the indexing process every article of a segment to make that it
        does not have: the articles of an earlier segment (intact, every one of
        them here and unchanged: a run, or with new articles between them), from
        that segment's files; any other, read again from its post file."""
        prefix, items, j = tree.prefix, seg.items, 0
        heads = self.heads.get(prefix, {})
        by_href: dict[str, Item] | None = None
        while j < len(items):
            item = items[j]
            if (prefix, item.key) in self.seq:
                j += 1
                continue
            old = heads.get(item.key)
            if old is not None:
                name, n = old
                run = items[j : j + n]
                files = self.had[prefix].get(name, [])
                if (
                    len(run) == n
                    and signature(self.build_sig, prefix, [i.sig for i in run])[:16] == name
                    and self._intact(files)
                    and not any((prefix, i.key) in self.seq for i in run)
                ):
                    self._reuse(tree, run, files)
                    j += n
                    continue
                if by_href is None:
                    by_href = {i.href: i for i in items}
                got = self._members(prefix, name, n, files, by_href)
                if got is not None:
                    self._reuse(tree, got, files)
                    continue  # items[j] is one of them
            self.feed(tree, item, tree.html(self.content_of(item)))
            j += 1

    def _members(
        self, prefix: str, name: str, n: int, files: Sequence[str], by_href: dict[str, Item]
    ) -> list[Item] | None:
        """The articles of the earlier segment ``name`` (``n`` of them, in its order)
        when each of them is among ``by_href`` (this segment's), unchanged and not
        given yet, and its files are intact; else None."""
        if not self._intact(files):
            return None
        rows: list[Any] = []
        try:
            for rel in files:
                if rel.endswith(".json"):
                    with open(self.files.path(rel), "rb") as fh:
                        rows.extend(json.loads(fh.read()))
        except (OSError, ValueError):
            return None
        got = [by_href.get(r[0]) if isinstance(r, list) and r else None for r in rows]
        if len(got) != n or None in got:
            return None
        members: list[Item] = got  # type: ignore[assignment]
        if any((prefix, i.key) in self.seq for i in members):
            return None
        if signature(self.build_sig, prefix, [i.sig for i in members])[:16] != name:
            return None
        return members

    def _reuse(self, tree: Tree, members: Sequence[Item], files: Sequence[str]) -> None:
        """Number ``members`` (an earlier segment's articles, in its order) as the
        indexing process will read them from that segment's ``files``."""
        base = self.next_seq
        self.next_seq += len(members)
        for k, i in enumerate(members):
            self.seq[tree.prefix, i.key] = base + k
            self._meta(tree, i)
        assert self.worker is not None
        self.worker.reuse(base, [self.files.path(f) for f in files])

    def _intact(self, rels: Sequence[str]) -> bool:
        """The files are as this build's manifest says (not claimed: see ``keep``)."""
        return bool(rels) and all(self.files.intact(rel) for rel in rels)

    def _collect(self, *, block: bool) -> None:
        """Write the segments the indexing process has made (all asked for, when
        ``block``), then forget their articles."""
        while self.pending and self.worker is not None and not self.failed:
            try:
                kind, got = self.worker.answers.get(block=block)
            except queue.Empty:
                return
            if kind == "done":
                continue
            if kind != "segment":
                self.failed = str(got)
                return
            seg, prefix = self.pending.popleft()
            seg.listed[prefix] = self._write(prefix, seg.names[prefix], seg, got)
            self.ran += 1
            if len(seg.listed) == len(seg.names):
                for i in seg.items:
                    for t in self.trees:
                        self.seq.pop((t.prefix, i.key), None)
                        self.meta.pop((t.prefix, i.key), None)
                seg.items = []

    def finish(self) -> dict[str, list[dict[str, Any]]]:
        """Write the segments left; for each tree prefix, the segments its search
        page reads, newest first."""
        self._collect(block=True)
        if self.failed:
            self.warnings.append(f"search index not made: {self.failed}")
        self.close()
        trees: dict[str, dict[str, list[str]]] = {t.prefix: {} for t in self.trees}
        heads: dict[str, dict[str, list[Any]]] = {t.prefix: {} for t in self.trees}
        out: dict[str, list[dict[str, Any]]] = {t.prefix: [] for t in self.trees}
        for seg in self.segments:
            for prefix, listed in seg.listed.items():
                name = seg.names[prefix]
                trees[prefix][name] = listed
                heads[prefix][name] = [seg.head, seg.n]
                firsts = json.loads(self.m.pages.get(f"index:{prefix}{name}", "[]"))
                out[prefix].append({"p": f"search/{name}/", "n": seg.n, "s": firsts})
        self.m.extra["index"] = {
            "build": self.build_sig,
            "sealed": [[s.first, s.last, s.level] for s in self.planner.sealed],
            "trees": trees,
            "heads": heads,
        }
        live = {f"index:{p}{n}" for p, names in trees.items() for n in names}
        for key in [k for k in self.m.pages if k.startswith("index:") and k not in live]:
            del self.m.pages[key]
        return {p: segs[::-1] for p, segs in out.items()}

    def _write(self, prefix: str, name: str, seg: _Segment, made: Made) -> list[str]:
        shards, leads = made
        folder = f"{prefix}search/{name}/"
        listed: list[str] = []
        for k, (_first, raw) in enumerate(shards):
            listed.append(f"{folder}i{k}.bin")
            self.files.write(listed[-1], raw)
        for k in range(0, len(seg.items), META_CHUNK):
            rows = [
                [*self.meta[prefix, i.key], lead]
                for i, lead in zip(
                    seg.items[k : k + META_CHUNK], leads[k : k + META_CHUNK], strict=True
                )
            ]
            listed.append(f"{folder}d{k // META_CHUNK}.json")
            self.files.write(
                listed[-1], json.dumps(rows, ensure_ascii=False, separators=(",", ":"))
            )
        self.m.pages[f"index:{prefix}{name}"] = json.dumps([f for f, _ in shards])
        return listed

    def close(self) -> None:
        if self.worker is not None:
            self.worker.close()
            self.worker = None
