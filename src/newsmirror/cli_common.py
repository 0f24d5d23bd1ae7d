"""What every command module shares: the consoles, the --config option, and
loading the configuration with every problem printed (exit 2)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from .config import Config, load_config
from .errors import ConfigError

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

ConfigOpt = Annotated[
    Path, typer.Option("--config", "-c", help="Path of newsmirror.toml.", show_default=True)
]


def load_or_exit(path: Path) -> Config:
    """The validated configuration; on problems, print each with its path and exit 2."""
    try:
        return load_config(path)
    except ConfigError as e:
        err.print(f"newsmirror: {e.path or path}: invalid configuration", markup=False)
        for p in e.problems:
            err.print(f"  {p}", markup=False)
        raise typer.Exit(2) from None
