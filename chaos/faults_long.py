"""The long form of tests/test_faults.py: every fault in one run with the 100,000-item
feed kept in full (no ``max_items_per_feed``), in a child process.

    python chaos/faults_long.py [--items 100000] [--total 4]

Prints one line per source (outcome counts, seconds, the error line) and the child's
wall time and peak memory (its ``ru_maxrss``).
Exit status 1 when a good source lost an article or the child crashed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.faults import FaultServer, fault_config, install_faults  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--total", type=float, default=4.0, help="fetch.total_timeout")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="nm-faults-"))
    secret = work / "secret.txt"
    secret.write_text("NEWSMIRROR-SECRET-LONG\n", encoding="utf-8")
    root = work / "m"
    root.mkdir()
    with FaultServer() as server:
        faults = install_faults(server, secret, big=args.items)
        (root / "newsmirror.toml").write_text(
            fault_config(server, faults, total=args.total), encoding="utf-8"
        )
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        start = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "tests.faults", "run", str(root / "newsmirror.toml")],
            cwd=ROOT, env=env, capture_output=True, text=True,
        )  # fmt: skip
        wall = time.monotonic() - start
    peak = next((ln for ln in proc.stderr.splitlines() if ln.startswith("PEAK ")), "")
    if not peak or "CRASH" in proc.stderr:
        print(proc.stderr[-3000:])
        return 1
    usage = json.loads(peak[5:])
    report = json.loads(proc.stdout)
    for s in report["sources"]:
        print(f"{s['slug']:16} new {s['new']:6} filtered {s['filtered']:6} failed {s['failed']:3} "
              f"{s['seconds']:7.2f}s  {s['error'] or '; '.join(s['warnings'])[:100]}")  # fmt: skip
    leaked = any(
        b"NEWSMIRROR-SECRET-LONG" in p.read_bytes() for p in root.rglob("*") if p.is_file()
    )
    print(f"wall {wall:.1f}s, peak {usage['peak_kib'] / 1024:.0f} MiB, refused connects "
          f"{usage['refused']}, local file leaked: {leaked}; mirror at {root}")  # fmt: skip
    good = [s for s in report["sources"] if s["slug"].startswith("good")]
    return 1 if leaked or any(s["new"] != 4 for s in good) else 0


if __name__ == "__main__":
    sys.exit(main())
