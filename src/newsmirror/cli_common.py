"""What every command module shares: the consoles, the --config option, and
loading the configuration with every problem printed (exit 2)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .cli_run import err, load_checked, out
from .config import Config

__all__ = ["ConfigOpt", "err", "load_or_exit", "out"]

ConfigOpt = Annotated[
    Path, typer.Option("--config", "-c", help="Path of newsmirror.toml.", show_default=True)
]


def load_or_exit(path: Path) -> Config:
    """The validated configuration; on problems, print each with its path and exit 2."""
    cfg = load_checked(path)
    if cfg is None:
        raise typer.Exit(2)
    return cfg
