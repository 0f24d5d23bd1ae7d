"""The README stays true: its two commands, and every setting and command named."""

from __future__ import annotations

import re
from pathlib import Path

from newsmirror.cli import app
from newsmirror.config_schema import (
    ENGINE,
    FETCH,
    HEALTH,
    MIRROR,
    PUBLISH,
    RECHECK,
    RULES,
    SITE,
    SOURCE,
    STORE,
)

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
CI = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text(encoding="utf-8")


def test_readme_starts_with_the_two_commands() -> None:
    first_block = README.split("```sh", 1)[1].split("```", 1)[0]
    lines = [ln.split("#", 1)[0].strip() for ln in first_block.strip().splitlines()]
    assert lines[0] == "pip install . && newsmirror demo"
    assert lines[1] == "pip install -e '.[test]' && python -m pytest"
    assert "pip install -q -e '.[test]'" in CI and "python -m pytest" in CI


def test_every_setting_is_in_the_reference() -> None:
    for settings in (MIRROR, FETCH, PUBLISH, HEALTH, SITE, RULES, SOURCE, RECHECK, STORE, ENGINE):
        for s in settings:
            assert f"`{s.name}`" in README, s.name


def test_every_command_is_in_the_reference() -> None:
    names = {c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands}
    names |= {g.name for g in app.registered_groups if g.name}
    for name in names:
        assert re.search(rf"`newsmirror {name}\b", README), name
