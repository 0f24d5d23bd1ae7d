"""Benchmark results: one ``Row`` per (scenario, tool), goals, the printed table and JSON.

Ratios are always *newsmirror's speed relative to the row's tool*: the tool's
median seconds divided by newsmirror's on the same scenario in the same run
(so "5.0×" means newsmirror did the same work five times as fast). Scenario
(c) is the exception: its ratio is the cost of the unchanged run as a share of
the first run of the same tool.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

NA = "n/a"


@dataclass
class Row:
    scenario: str  # "a", "b", "c", "d", "e"
    label: str  # what was run, e.g. "full-text 50×40, first run"
    tool: str
    items: int  # items (or posts) of work per run
    seconds: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    # per run: exact ru_maxrss (GNU time), sampled VmHWM, sampled tree sum (MB)
    rss_readings: list[tuple[float, float, float]] = field(default_factory=list)
    status: str = "ok"  # "ok", or why there is no number: "n/a (feature missing)", "failed: …"
    note: str = ""
    ratio: float | None = None
    ratio_text: str = ""
    goal: str = ""
    met: bool | None = None
    capped: bool = False  # one run took so long that no more repetitions were made

    @property
    def ok(self) -> bool:
        return self.status == "ok" and bool(self.seconds)

    @property
    def median(self) -> float | None:
        return statistics.median(self.seconds) if self.ok else None

    @property
    def items_per_s(self) -> float | None:
        m = self.median
        return self.items / m if m else None

    @property
    def peak_rss_mb(self) -> float | None:
        return max(self.rss_mb) if self.ok and self.rss_mb else None

    def add(self, seconds: float, rss_mb: float, readings: tuple[float, float, float]) -> None:
        self.seconds.append(seconds)
        self.rss_mb.append(rss_mb)
        self.rss_readings.append(tuple(round(x, 1) for x in readings))  # type: ignore[arg-type]

    def fail(self, status: str) -> None:
        if self.status == "ok":
            self.status = status

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(median_s=self.median, items_per_s=self.items_per_s, peak_rss_mb=self.peak_rss_mb)
        return d


def speedup(newsmirror: Row, other: Row) -> float | None:
    """How many times as fast newsmirror was as ``other`` (median against median)."""
    if newsmirror.median and other.median:
        return other.median / newsmirror.median
    return None


def set_goal(row: Row, goal: str, met: bool | None) -> None:
    row.goal, row.met = goal, met


def compare(row: Row, newsmirror: Row, *, goal: str = "", at_least: float | None = None) -> None:
    """Put newsmirror's speed relative to ``row`` on ``row`` (and judge ``at_least``)."""
    r = speedup(newsmirror, row)
    row.ratio = r
    row.ratio_text = f"{r:.2f}×" if r is not None else NA
    if goal:
        set_goal(row, goal, None if r is None or at_least is None else r >= at_least)


def _fmt(v: float | None, spec: str) -> str:
    return NA if v is None else format(v, spec)


def _met(v: bool | None, row: Row) -> str:
    if not row.goal:
        return ""
    return NA if v is None else ("yes" if v else "NO")


HEADERS = ("scenario", "tool", "median s", "items/s", "peak RSS MB", "newsmirror ×", "goal", "met?")


def render(rows: list[Row]) -> str:
    """The results as a fixed-width text table (notes and statuses below it)."""
    body = []
    for r in rows:
        if r.ok:
            cells = [_fmt(r.median, ".3f"), _fmt(r.items_per_s, ",.0f"), _fmt(r.peak_rss_mb, ".0f")]
        else:
            cells = [r.status, "", ""]
        body.append(
            (f"({r.scenario}) {r.label}", r.tool, *cells, r.ratio_text, r.goal, _met(r.met, r))
        )
    widths = [max(len(str(x[i])) for x in (HEADERS, *body)) for i in range(len(HEADERS))]
    lines = []
    for k, cols in enumerate((HEADERS, *body)):
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(cols, widths, strict=True)).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    notes = [f"  ({r.scenario}) {r.tool}: {r.note}" for r in rows if r.note]
    if notes:
        lines += ["", "notes:", *notes]
    return "\n".join(lines)


def write_json(path: Path, rows: list[Row], meta: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {**meta, "rows": [r.to_json() for r in rows]}
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
