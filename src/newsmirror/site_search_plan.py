"""The layout of the search segments (see :mod:`newsmirror.site_search`): which hours
of articles each segment indexes, planned as the hours stream by, oldest first.

* new articles go to the *open* segment (everything after the last sealed one);
  when it holds ``shard_size`` articles it is sealed;
* when the last ``FANOUT`` sealed segments have the same level they are merged
  into one of the next level (a log-structured merge), so a search reads a few
  segments, about ``FANOUT`` per level;
* no segment grows past ``MAX_SHARD`` articles, so a late or edited article
  re-indexes at most that many.

The sealed segments of the previous build are kept as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["FANOUT", "MAX_SHARD", "Planner", "Shard", "plan", "top_level"]

FANOUT = 4
MAX_SHARD = 6400  # articles in one segment, about (merges stop below it)


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


def top_level(shard_size: int, cap: int) -> int:
    """The highest merge level: shards of it hold about ``shard_size × FANOUT**level``
    articles, at most ``cap`` (level 0 when even one shard is larger)."""
    level = 0
    while shard_size * FANOUT ** (level + 1) <= cap:
        level += 1
    return level


class Planner:
    """The shard layout, planned as the hour units stream by, oldest first (the
    sealed shards of the previous build are kept; new units go after them)."""

    def __init__(self, sealed: Sequence[Shard], shard_size: int, cap: int = 0) -> None:
        self.size, self.top = shard_size, top_level(shard_size, cap or MAX_SHARD)
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
    units: Sequence[tuple[str, int]], sealed: Sequence[Shard], shard_size: int, cap: int = 0
) -> tuple[list[Shard], Shard | None]:
    """The shard layout for ``units`` (hour, articles), oldest first, given the sealed
    shards of the previous build. Returns (sealed shards, open shard or None)."""
    p = Planner(sealed, shard_size, cap)
    for unit, count in units:
        p.add(unit, count)
    return p.sealed, p.open
