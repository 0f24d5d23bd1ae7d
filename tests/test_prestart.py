"""``prestart``: the helpers ``newsmirror build`` starts before it imports the site's
modules are the ones the build then talks to (none is started twice, whichever
process takes it), and none outlives the build."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from newsmirror import prestart
from newsmirror.cli_run import build_command
from tests.test_site import fill, make_config


def _logged(monkeypatch: pytest.MonkeyPatch, log: Path, name: str) -> None:
    """Log each call of ``prestart.<name>`` (with its process: the row reader's
    child is forked, so a file, not a counter)."""
    real = getattr(prestart, name)

    def logged(*args: Any, **kwargs: Any) -> Any:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"{name} {'build' if os.getpid() == parent else 'child'}\n")
        return real(*args, **kwargs)

    parent = os.getpid()
    monkeypatch.setattr(prestart, name, logged)


def _children() -> set[int]:
    """The processes this one started that have not been reaped."""
    path = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children")
    return {int(p) for p in path.read_text().split()} if path.exists() else set()


def test_the_build_uses_the_helpers_started_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = make_config(tmp_path / "m")
    fill(cfg, 300)
    log = tmp_path / "started.log"
    for name in ("start_han", "start_indexer"):
        _logged(monkeypatch, log, name)
    before = _children()
    # A first build: the Han table's maker is started first, and the row reader's
    # child (which prepares the pages) reads the table from it; the indexer is
    # started when the build needs it.
    assert build_command(cfg.root / "newsmirror.toml", None, quiet=True) == 0
    assert log.read_text().splitlines() == ["start_han build", "start_indexer build"]
    assert prestart._han is None and prestart._indexer is None
    pages = [p.read_text(encoding="utf-8") for p in (cfg.root / "_site" / "a").rglob("*.html")]
    assert len(pages) == 300
    assert {
        lang: sum(f'<html lang="{lang}"' in p for p in pages) for lang in ("zh-Hant", "zh-Hans")
    } == {"zh-Hant": 100, "zh-Hans": 100}  # (the sources tw and cn: the table was used)
    # A build after it (a manifest now): the indexer is started first, and used.
    log.unlink()
    fill(cfg, 5, first=300)
    assert build_command(cfg.root / "newsmirror.toml", None, quiet=True) == 0
    assert log.read_text().splitlines() == ["start_indexer build"]
    assert prestart._han is None and prestart._indexer is None
    # No helper is left running or unreaped (the indexer is reaped in the background).
    for _ in range(200):
        if _children() <= before:
            break
        time.sleep(0.05)
    assert _children() <= before


def test_a_helper_nobody_takes_is_stopped(tmp_path: Path) -> None:
    prestart.start(search=True, manifest=tmp_path / "none.bin")
    assert prestart._indexer is None
    proc = prestart._han
    assert proc is not None
    prestart.reap()
    assert prestart._han is None and prestart._indexer is None
    assert proc.wait(10) == -signal.SIGKILL
    prestart.reap()
    assert proc not in prestart._procs
