"""Full-text search: Pagefind (extended build, with Chinese word segmentation)
run at build time over the article pages, in shards.

Pagefind indexes a whole set of pages at once; there is no adding to an
index. To keep a build after a run short, the articles are split into
shards by their local publish hour (article pages live at
``a/YYYY/MM/DD/HHMM-…``, so a shard is a file glob), and a build re-indexes
only the shards whose articles changed:

* new articles go to the *open* shard (everything after the last sealed one);
  when it holds ``shard_size`` articles it is sealed;
* when the last ``FANOUT`` sealed shards have the same level they are merged
  into one shard of the next level (a log-structured merge), so a search
  loads a few bundles, about ``FANOUT`` per level;
* but no shard grows past ``MAX_SHARD`` articles: a Pagefind run holds its
  whole shard in memory (about 0.3 MB per page with Chinese segmentation),
  so the largest shard sets the build's peak memory.

The layout is kept in the manifest; sealed boundaries never move, so a late
article only re-indexes the one shard whose hours contain it. The search page
merges the bundles (``pagefind.mergeIndex``).

Pagefind runs in background threads while the build goes on (one large shard
at a time, two small ones side by side): a shard that can no longer change (at
the top level, its hours all streamed by) starts during the pass over the
articles, the shards of the new articles before it, the rest at its end.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from .errors import NewsmirrorError
from .site_files import SiteFiles, digest, signature

FANOUT = 4
MAX_SHARD = 500  # articles in one Pagefind run, at most (merges stop below it)
RUN_BASE = 200  # a Pagefind process's own memory, in pages (~0.3 MB each; ~70 MB)
UI_FILES = ("-ui.", "-highlight.", "playground")  # Pagefind's own UI: the site has its own
Units = dict[str, list]  # hour unit "YYYY/MM/DD/HH" -> [article count, [article sigs]]


@dataclass(frozen=True, slots=True)
class Shard:
    first: str  # unit "YYYY/MM/DD/HH"
    last: str
    level: int  # -1 for the open shard

    @property
    def name(self) -> str:
        if self.level < 0:
            return "open"
        return self.first.replace("/", "") + "-" + self.last.replace("/", "")


def pagefind_binary() -> str | None:
    """The Pagefind executable (extended build preferred), or None when not installed."""
    with contextlib.suppress(ImportError, FileNotFoundError):
        import pagefind_bin_extended

        return str(pagefind_bin_extended.get_executable())
    with contextlib.suppress(ImportError, FileNotFoundError):
        import pagefind_bin

        return str(pagefind_bin.get_executable())
    return shutil.which("pagefind_extended") or shutil.which("pagefind")


def top_level(shard_size: int, cap: int = MAX_SHARD) -> int:
    """The highest merge level: shards of it hold about ``shard_size × FANOUT**level``
    articles, at most ``cap`` (level 0 when even one shard is larger)."""
    level = 0
    while shard_size * FANOUT ** (level + 1) <= cap:
        level += 1
    return level


class Planner:
    """The shard layout, planned as the hour units stream by, oldest first (the
    sealed shards of the previous build are kept; new units go after them)."""

    def __init__(self, sealed: Sequence[Shard], shard_size: int, cap: int = MAX_SHARD) -> None:
        self.size, self.top = shard_size, top_level(shard_size, cap)
        self.sealed = sorted((s for s in sealed if s.level >= 0), key=lambda s: s.first)
        if any(s.level > self.top for s in self.sealed):  # larger shards: planned anew
            self.sealed = []
        self.last = self.sealed[-1].last if self.sealed else ""
        self.first_open, self.n, self.prev = "", 0, ""

    def add(self, unit: str, count: int) -> None:
        """The next unit (hour) and its article count."""
        if unit <= self.last:
            return
        self.first_open = self.first_open or unit
        self.n += count
        self.prev = unit
        if self.n < self.size:
            return
        out = self.sealed
        out.append(Shard(self.first_open, unit, 0))
        self.first_open, self.n, self.last = "", 0, unit
        while len(out) >= FANOUT and len({s.level for s in out[-FANOUT:]}) == 1:
            if out[-1].level >= self.top:
                break
            group = out[-FANOUT:]
            del out[-FANOUT:]
            out.append(Shard(group[0].first, group[-1].last, group[0].level + 1))

    @property
    def open(self) -> Shard | None:
        return Shard(self.first_open, self.prev, -1) if self.first_open else None


def plan(
    units: Sequence[tuple[str, int]], sealed: Sequence[Shard], shard_size: int, cap: int = MAX_SHARD
) -> tuple[list[Shard], Shard | None]:
    """The shard layout for ``units`` (hour, articles), oldest first, given the sealed
    shards of the previous build. Returns (sealed shards, open shard or None)."""
    p = Planner(sealed, shard_size, cap)
    for unit, count in units:
        p.add(unit, count)
    return p.sealed, p.open


def common_dir(first: str, last: str) -> str:
    """The deepest ``a/…/`` folder holding every article of the hour range."""
    a, b = first.split("/")[:3], last.split("/")[:3]
    common: list[str] = []
    for x, y in zip(a, b, strict=True):
        if x != y:
            break
        common.append(x)
    return "a/" + "".join(c + "/" for c in common)


def shard_glob(shard: Shard, units: Sequence[str]) -> str:
    """A glob (relative to the shard's common folder) for the units in the shard."""
    base = common_dir(shard.first, shard.last)[2:]
    by_day: dict[str, list[str]] = {}
    for u in units:
        by_day.setdefault(u[:10], []).append(u[11:13])
    alts = []
    for day, hours in sorted(by_day.items()):
        rel_day = day[len(base) :] if len(base) <= len(day) else ""
        pre = (rel_day + "/") if rel_day else ""
        alts.extend(f"{pre}{h}*.html" for h in hours)
    return "{" + ",".join(alts) + "}" if len(alts) > 1 else alts[0]


def drop_bundles(files: SiteFiles) -> int:
    """Remove every bundle an earlier build made (a build without search); the
    number of their files."""
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


class _Budget:
    """Pagefind runs at once, within a memory budget counted in pages: a run of a
    large shard runs alone; small ones (a sealed shard and the new open one) run
    side by side, where one run would mostly wait for Pagefind's start-up."""

    def __init__(self, cap: int) -> None:
        self.cap, self.used = cap, 0
        self.cond = threading.Condition()

    @contextlib.contextmanager
    def taken(self, weight: int) -> Iterator[None]:
        with self.cond:
            while self.used and self.used + weight > self.cap:
                self.cond.wait()
            self.used += weight
        try:
            yield
        finally:
            with self.cond:
                self.used -= weight
                self.cond.notify_all()


@dataclass(frozen=True, slots=True)
class _Job:
    folder: str  # the bundle, relative to the output folder: "<prefix>pagefind/<name>/"
    key: str  # its manifest entry
    sig: str  # what it indexes


Bundle = dict[str, Any]  # what the manifest keeps of a bundle folder (see SearchIndex)


class SearchIndex:
    """The Pagefind bundles of every tree of one build: a shard whose articles are
    unchanged keeps its bundle; the others are indexed again in background threads
    (see ``_Budget``), each into a temporary folder then swapped in.

    A bundle is Pagefind's and is only ever replaced whole, so the manifest keeps
    not its files (hundreds each) but its folders' modification times (a file
    added or removed by hand changes them), its entry file's size and mtime and
    its file count."""

    def __init__(
        self,
        files: SiteFiles,
        binary: str,
        build_sig: str,
        prefixes: Sequence[str],
        shard_size: int,
        units: Units,
    ) -> None:
        self.files, self.binary, self.build_sig = files, binary, build_sig
        self.m = files.manifest
        self.root = str(files.out) + "/"
        self.prefixes, self.size, self.units = tuple(prefixes), shard_size, units
        prev = [Shard(*x) for x in self.m.extra.get("search", {}).get("sealed", [])]
        self.planner = Planner(prev, shard_size)
        self.prev = prev
        self.fed = 0  # units given to the planner
        stored = self.m.extra.get("bundles", {})
        self.bundles: dict[str, Bundle] = {  # older manifests listed the files: indexed anew
            k: v if isinstance(v, dict) else {"dirs": {}, "entry": None, "files": len(v)}
            for k, v in stored.items()
        }
        self.started: set[str] = set()  # shard names looked at
        self.jobs: list[tuple[_Job, Future[Bundle]]] = []
        self.pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="pagefind")
        self.budget = _Budget(MAX_SHARD + RUN_BASE)
        self.ran = 0
        self.shards: list[Shard] = []
        self.sealed: list[Shard] = []
        for prefix in self.prefixes:
            folder = self.root + prefix + "pagefind"
            with contextlib.suppress(FileNotFoundError):
                for name in os.listdir(folder):  # temporary folders of an interrupted build
                    if name.startswith(".nm-"):
                        shutil.rmtree(os.path.join(folder, name), ignore_errors=True)
        # Bundle files are not the manifest's files (older manifests listed them).
        for rel in [r for r in self.m.files if "pagefind/" in r]:
            if any(rel.startswith(p + "pagefind/") for p in self.prefixes):
                del self.m.files[rel]

    def _members(self, shard: Shard, units: Units | None = None) -> list[tuple[str, str]]:
        last = shard.last if shard.level >= 0 else "\uffff"
        return [(u, digest("".join(v[1]))) for u, v in sorted((units or self.units).items())
                if shard.first <= u <= last]  # fmt: skip

    @property
    def sealed_until(self) -> str:
        """The last unit of the previous build's sealed shards ("" when none)."""
        return self.planner.last if self.fed == 0 else ""

    def start_region(self, units: Units) -> None:
        """``units``: every unit after ``sealed_until``, each complete (its pages
        written) before the pass over all the articles. Start the shards made of
        them alone: new articles are indexed while the rest of the build goes on."""
        p = Planner(self.prev, self.size)
        for unit in sorted(units):
            p.add(unit, units[unit][0])
        shards = p.sealed + ([p.open] if p.open else [])
        for shard in shards:
            if shard.first > self.planner.last:
                self._start(shard, units)

    def complete(self, before: str) -> None:
        """Every unit before ``before`` is complete (all its pages written): start
        the shards that can no longer change (at the top level)."""
        units = list(self.units)
        while self.fed < len(units) and units[self.fed] < before:
            unit = units[self.fed]
            self.planner.add(unit, self.units[unit][0])
            self.fed += 1
        for shard in self.planner.sealed:
            if shard.level == self.planner.top and shard.last < before:
                self._start(shard)

    def _intact(self, folder: str, rec: Bundle | None) -> bool:
        if rec is None:
            return False
        try:
            for d, mtime in rec["dirs"].items():
                if os.stat(self.root + folder + d).st_mtime_ns != mtime:
                    return False
            st = os.stat(self.root + folder + "pagefind-entry.json")
        except (OSError, TypeError, AttributeError):
            return False
        return [st.st_size, st.st_mtime_ns] == rec.get("entry")

    def _start(self, shard: Shard, units: Units | None = None) -> None:
        if shard.name in self.started:
            return
        self.started.add(shard.name)
        members = self._members(shard, units)
        if not members:
            return
        sig = signature(self.build_sig, shard.first, shard.last, members)
        base = common_dir(shard.first, shard.last)
        glob = shard_glob(shard, [u for u, _ in members])
        for prefix in self.prefixes:
            folder = f"{prefix}pagefind/{shard.name}/"
            job = _Job(folder, "search:" + folder, sig)
            if self.m.pages.get(job.key) == sig and self._intact(folder, self.bundles.get(folder)):
                self.files.kept += self.bundles[folder]["files"]
                continue
            site = self.root + prefix + base
            pages = sum(self.units[u][0] if units is None else units[u][0] for u, _ in members)
            run = self.pool.submit(self._index, site, glob, prefix, folder, pages)
            self.jobs.append((job, run))

    def start_all(self) -> None:
        """Every article page is written: start every shard not started yet."""
        units = sorted((u, v[0]) for u, v in self.units.items())
        sealed, open_shard = plan(units, self.prev, self.size)
        self.shards = sealed + ([open_shard] if open_shard else [])
        self.sealed = sealed
        for shard in self.shards:
            self._start(shard)

    def finish(self) -> tuple[dict[str, list[dict[str, str]]], int]:
        """Wait for every run and record its bundle. Returns, for each tree prefix,
        the bundles its search page merges, oldest first; and the number of files
        of the bundles no longer made (removed)."""
        if not self.shards:
            self.start_all()
        shards, sealed = self.shards, self.sealed
        try:
            for job, fut in self.jobs:
                self.bundles[job.folder] = rec = fut.result()
                self.files.written += rec["files"]
                self.m.pages[job.key] = job.sig
                self.ran += 1
        finally:
            self.close()
        out: dict[str, list[dict[str, str]]] = {p: [] for p in self.prefixes}
        live: set[str] = set()
        for shard in shards:
            if not self._members(shard):
                continue
            for prefix in self.prefixes:
                folder = f"{prefix}pagefind/{shard.name}/"
                live.add(folder)
                out[prefix].append({"path": folder[len(prefix) :],
                                    "base": common_dir(shard.first, shard.last)})  # fmt: skip
        removed = 0
        for folder in [f for f in self.bundles if f not in live]:
            shutil.rmtree(self.root + folder, ignore_errors=True)
            removed += self.bundles.pop(folder)["files"]
        self.m.extra["bundles"] = dict(sorted(self.bundles.items()))
        self.m.extra["search"] = {"sealed": [[s.first, s.last, s.level] for s in sealed]}
        for key in [k for k in self.m.pages if k.startswith("search:")]:
            if key[len("search:") :] not in live:
                del self.m.pages[key]
        return out, removed

    def close(self) -> None:
        """Wait for a run under way; drop those not started (also after a failure)."""
        self.pool.shutdown(wait=True, cancel_futures=True)

    def _index(self, site: str, glob: str, prefix: str, folder: str, pages: int) -> Bundle:
        """One Pagefind run (in a worker thread): the bundle ``folder`` made anew."""
        with self.budget.taken(pages + RUN_BASE):
            return self._run(site, glob, prefix, folder)

    def _run(self, site: str, glob: str, prefix: str, folder: str) -> Bundle:
        parent = self.root + prefix + "pagefind"
        os.makedirs(parent, exist_ok=True)
        tmp = tempfile.mkdtemp(dir=parent, prefix=".nm-")
        cmd = [
            self.binary, "--site", site, "--glob", glob, "--output-path", tmp,
            "--force-language", "zh", "--silent",
        ]  # fmt: skip
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
            if proc.returncode != 0 or not os.path.exists(tmp + "/pagefind-entry.json"):
                why = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
                raise NewsmirrorError(
                    f"search index for {folder} failed: {why[0]}", reason="site_search"
                )
            for name in os.listdir(tmp):
                if any(m in name for m in UI_FILES):
                    path = os.path.join(tmp, name)
                    shutil.rmtree(path) if os.path.isdir(path) else os.unlink(path)
            final = self.root + folder.rstrip("/")
            old = ""
            if os.path.exists(final):
                old = tmp + "-old"
                os.rename(final, old)
            os.rename(tmp, final)
            if old:
                shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        dirs: dict[str, int] = {}
        count = 0
        for dirpath, _dirs, names in os.walk(final):
            rel = dirpath[len(final) + 1 :]
            dirs[rel + "/" if rel else ""] = os.stat(dirpath).st_mtime_ns
            count += len(names)
        st = os.stat(final + "/pagefind-entry.json")
        return {"dirs": dict(sorted(dirs.items())), "entry": [st.st_size, st.st_mtime_ns],
                "files": count}  # fmt: skip
