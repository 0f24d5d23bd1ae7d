"""CI smoke test of the speed benchmarks: ``python bench/run.py --quick`` runs end to end.

Nothing here asserts a time: only that every part of the bench ran and reported
(the table on stdout, the same rows in the JSON file, the workload verified).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_quick_bench_prints_its_table(tmp_path: Path) -> None:
    out = tmp_path / "latest.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--json", str(out)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert lines[0].split()[:2] == ["scenario", "tool"]
    assert "goal" in lines[0] and "met?" in lines[0]
    table = "\n".join(lines)
    for needle in (
        "(a) full-text 5×10, first run",
        "(b) summary+pages 5×10, first run",
        "(c) full-text 5×10, unchanged",
        "(d) reindex 2,000 posts",
        "(e) build 500 posts, full",
    ):
        assert needle in table, needle

    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["mode"] == "quick" and doc["sizes"]["feeds"] == 5
    rows = {(r["scenario"], r["tool"], r["label"]): r for r in doc["rows"]}
    first = "full-text 5×10, first run"
    for tool in ("newsmirror", "feedparser", "lxml floor", "nh3 floor"):
        row = rows[("a", tool, first)]
        assert row["status"] == "ok", row
        assert row["items"] == 50 and len(row["seconds"]) == 1
        assert row["median_s"] > 0 and row["peak_rss_mb"] > 5
        assert not row["note"], row["note"]  # every tool wrote all 50 items
    # the ratios printed are the medians' quotient, measured in this same run
    nm, fp = rows[("a", "newsmirror", first)], rows[("a", "feedparser", first)]
    assert fp["ratio"] == pytest.approx(fp["median_s"] / nm["median_s"])
    assert fp["goal"] == "≥5×" and fp["met"] == (fp["ratio"] >= 5)
    # the unchanged run was answered from conditional GET
    again = rows[("c", "newsmirror", "full-text 5×10, unchanged")]
    assert again["status"] == "ok" and not again["note"], again
    trafilatura = rows[("b", "feedparser+trafilatura", "summary+pages 5×10, first run")]
    assert trafilatura["status"] == "ok" and not trafilatura["note"], trafilatura
    reindex = rows[("d", "newsmirror", "reindex 2,000 posts")]
    assert reindex["status"] == "ok" and not reindex["note"], reindex


@pytest.mark.slow
def test_distributed_bench_runs_and_the_shared_limit_holds(tmp_path: Path) -> None:
    import shutil

    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    pytest.importorskip("celery")
    env = {**__import__("os").environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "distributed.py"), "--quick", "--workers", "1,2"],
        cwd=tmp_path, capture_output=True, text=True, timeout=400, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    rows = [line.split() for line in proc.stdout.splitlines()[1:4]]
    assert [r[0] for r in rows] == ["embedded", "celery,", "celery,"]
    for r in rows:
        assert r[-1] == "ok" and r[-2] in ("1/2", "2/2"), r  # the same posts; never over per_host
    # Requests do overlap up to the limit somewhere (on a loaded machine the workers
    # may not always have two in flight at once).
    assert any(r[-2] == "2/2" for r in rows), rows
