"""Shared helpers for the end-to-end tests: make a mirror, snapshot its tree."""

from __future__ import annotations

import hashlib
from pathlib import Path

from newsmirror.config import Config, load_config, sources_toml

FIXED_NOW = "2026-11-28T08:00:00Z"


# Tests never touch the internet: article pages are fetched only where a test
# serves them itself (fulltext = "auto"/"page" set explicitly).
OFFLINE = '[images]\nenabled = false\n\n[defaults]\nfulltext = "feed"\n\n'


def make_mirror(
    root: Path, sources: list[tuple[str, str, str]], extra: str = "", defaults: str = OFFLINE
) -> Config:
    root.mkdir(parents=True, exist_ok=True)
    text = (
        "[fetch]\nretries = 0\nconnect_timeout = 3\nread_timeout = 5\ntotal_timeout = 10\n\n"
        + defaults
        + extra
        + "\n"
        + sources_toml(sources)
    )
    (root / "newsmirror.toml").write_text(text, encoding="utf-8")
    return load_config(root / "newsmirror.toml")


def snapshot(root: Path, *, skip: tuple[str, ...] = (".newsmirror",)) -> dict[str, str]:
    """relative path -> sha256 of every file under root (minus state folders)."""
    out: dict[str, str] = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_file() and not rel.startswith(skip):
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def mtimes(root: Path) -> dict[str, int]:
    return {
        p.relative_to(root).as_posix(): p.stat().st_mtime_ns
        for p in root.rglob("*")
        if p.is_file() and ".newsmirror" not in p.parts
    }
