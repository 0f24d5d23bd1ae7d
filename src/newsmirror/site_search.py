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
  loads a few bundles, about ``FANOUT`` per level, however large the archive.

The layout is kept in the manifest; sealed boundaries never move, so a late
article only re-indexes the one shard whose hours contain it. The search page
merges the bundles (``pagefind.mergeIndex``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import NewsmirrorError
from .site_files import SiteFiles, signature

FANOUT = 4
UI_FILES = ("-ui.", "-highlight.", "playground")  # Pagefind's own UI: the site has its own


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


def plan(
    units: Sequence[tuple[str, int]], sealed: Sequence[Shard], shard_size: int
) -> tuple[list[Shard], Shard | None]:
    """The shard layout for ``units`` (hour, articles), oldest first, given the sealed
    shards of the previous build. Returns (sealed shards, open shard or None)."""
    out = [s for s in sealed if s.level >= 0]
    out.sort(key=lambda s: s.first)
    last = out[-1].last if out else ""
    first_open, n = "", 0
    prev = ""
    for unit, count in units:
        if unit <= last:
            continue
        first_open = first_open or unit
        n += count
        prev = unit
        if n >= shard_size:
            out.append(Shard(first_open, unit, 0))
            first_open, n, last = "", 0, unit
            while len(out) >= FANOUT and len({s.level for s in out[-FANOUT:]}) == 1:
                group = out[-FANOUT:]
                del out[-FANOUT:]
                out.append(Shard(group[0].first, group[-1].last, group[0].level + 1))
    open_shard = Shard(first_open, prev, -1) if first_open else None
    return out, open_shard


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


@dataclass
class SearchBuilder:
    """Builds the Pagefind bundles of one tree of the site."""

    files: SiteFiles
    tmp_root: Path
    binary: str
    manifest_pages: dict[str, str]
    bundles_listing: dict[str, list[str]]  # bundle folder -> its files (from the manifest)
    build_sig: str
    ran: int = 0

    def build(
        self, prefix: str, shards: Sequence[Shard], members: dict[str, list[tuple[str, str]]]
    ) -> list[dict[str, str]]:
        """Make (or keep) each shard's bundle under ``<prefix>pagefind/<name>/``.
        ``members`` maps a shard name to its (unit, digest) pairs. Returns the
        bundle descriptions the search page needs, oldest shard first."""
        out: list[dict[str, str]] = []
        for shard in shards:
            units = members.get(shard.name, [])
            if not units:
                continue
            folder = f"{prefix}pagefind/{shard.name}/"
            base = common_dir(shard.first, shard.last)
            sig = signature(self.build_sig, shard.first, shard.last, units)
            key = "search:" + folder
            listing = self.bundles_listing.get(folder, [])
            kept = (
                self.manifest_pages.get(key) == sig
                and listing
                and all(self.files.keep(rel) for rel in listing)
            )
            if not kept:
                listing = self._index(prefix, base, shard, [u for u, _ in units], folder)
                self.manifest_pages[key] = sig
            self.bundles_listing[folder] = listing
            out.append({"path": folder[len(prefix) :], "base": base})
        return out

    def _index(
        self, prefix: str, base: str, shard: Shard, units: list[str], folder: str
    ) -> list[str]:
        site = self.files.out / (prefix + base)
        self.tmp_root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=self.tmp_root, prefix="pagefind-"))
        cmd = [
            self.binary, "--site", str(site), "--glob", shard_glob(shard, units),
            "--output-path", str(tmp), "--force-language", "zh", "--silent",
        ]  # fmt: skip
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
            if proc.returncode != 0 or not (tmp / "pagefind-entry.json").exists():
                why = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
                raise NewsmirrorError(
                    f"search index for {folder} failed: {why[0]}", reason="site_search"
                )
            self.ran += 1
            found = [
                Path(d) / n for d, _, names in os.walk(tmp) for n in names
                if not any(m in n for m in UI_FILES)
            ]  # fmt: skip
            # The entry file last: it names the others, so readers never see it early.
            found.sort(key=lambda p: (p.name == "pagefind-entry.json", p.as_posix()))
            listing = []
            for path in found:
                rel = folder + path.relative_to(tmp).as_posix()
                self.files.write(rel, path.read_bytes())
                listing.append(rel)
            return sorted(listing)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
