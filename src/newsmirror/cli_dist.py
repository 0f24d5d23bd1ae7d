"""The ``worker`` command: a Celery worker for ``[engine] kind = "celery"``.

``cli.py`` calls :func:`register` on its app. The worker reads the same
``newsmirror.toml`` as the run (its ``[engine]`` broker) and does the fetch
and extract tasks the run enqueues; it writes nothing to the mirror.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .cli_common import ConfigOpt, err, load_or_exit
from .config import CONFIG_NAME


def worker_cmd(
    config: ConfigOpt = Path(CONFIG_NAME),
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=1, help="Worker processes (tasks at once).")
    ] = 2,
    queues: Annotated[
        str, typer.Option("--queues", "-Q", help="Queues to serve: fetch, extract or both.")
    ] = "fetch,extract",
) -> None:
    """Start a Celery worker for distributed runs ([engine] kind = "celery")."""
    cfg = load_or_exit(config)
    if not cfg.engine.distributed:
        err.print(
            'newsmirror: [engine] kind = "celery" and a broker are needed for workers', markup=False
        )
        raise typer.Exit(2)
    try:
        from .dist_tasks import start_worker
    except ImportError as e:
        err.print(
            f"newsmirror: {e.name} is not installed (pip install 'newsmirror[dist]')", markup=False
        )
        raise typer.Exit(2) from None
    names = [q.strip() for q in queues.split(",") if q.strip()]
    start_worker(cfg.engine, concurrency=concurrency, queues=names)


def register(app: typer.Typer) -> None:
    app.command("worker")(worker_cmd)
