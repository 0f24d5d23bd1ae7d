"""The operations commands: ``publish``, ``watch`` and ``status``.

``cli.py`` calls :func:`register` on its app. Exit status follows cli.py:
0 when the work was done, 1 when it failed (or, for ``status
--fail-if-stale``, when a source is stale), 2 for usage and configuration
errors. Nothing printed here ever holds a credential (see publish.redact).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from .cli_common import ConfigOpt, err, load_or_exit, out
from .config import CONFIG_NAME
from .errors import LockedError, NewsmirrorError


def _say(line: str) -> None:
    err.print(line, markup=False)


def publish_cmd(
    config: ConfigOpt = Path(CONFIG_NAME),
    remote: Annotated[
        list[str] | None,
        typer.Option("--remote", "-r", help="Push to this git remote (name or URL; repeatable)."),
    ] = None,
    branch: Annotated[
        str | None, typer.Option(help="Branch to push to (default: the current one).")
    ] = None,
    push: Annotated[bool, typer.Option("--push/--no-push", help="Push after committing.")] = True,
    json_out: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Commit the mirror and push it to its git remotes (rebasing, never forcing)."""
    from dataclasses import replace

    from .publish import PublishSettings, publish, redact

    cfg = load_or_exit(config)
    settings = getattr(cfg, "publish", None) or PublishSettings()
    if remote:
        settings = replace(settings, remotes=tuple(remote))
    if branch:
        settings = replace(settings, branch=branch)
    try:
        result = publish(
            cfg.root,
            settings,
            posts_dir=cfg.mirror.posts_dir,
            push=push,
            log=None if json_out else _say,
        )
    except LockedError as e:
        err.print(f"newsmirror: {e}", markup=False)
        raise typer.Exit(1) from None
    except NewsmirrorError as e:
        err.print(f"newsmirror: publish: {redact(str(e))}", markup=False)
        raise typer.Exit(1) from None
    if json_out:
        data = {
            "commit": result.commit,
            "message": result.message,
            "branch": result.branch,
            "pushed": list(result.pushed),
            "up_to_date": list(result.up_to_date),
            "rebases": result.rebases,
        }
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
    elif result.commit:
        out.print(f"published {result.commit[:10]}: {result.message.splitlines()[0]}", markup=False)
    else:
        out.print("nothing to publish", markup=False)


def watch_cmd(
    config: ConfigOpt = Path(CONFIG_NAME),
    every: Annotated[
        str, typer.Option(help="Time between the starts of two runs: 30m, 1h, 90s …")
    ] = "30m",
    jitter: Annotated[
        str | None,
        typer.Option(help="Largest random extra wait (default: 10% of --every, at most 5m)."),
    ] = None,
    publish: Annotated[
        bool, typer.Option("--publish/--no-publish", help="Publish after every run.")
    ] = True,
    max_runs: Annotated[
        int, typer.Option(min=0, help="Stop after this many runs (0: run until stopped).")
    ] = 0,
) -> None:
    """Run (and publish) on a schedule until SIGTERM or Ctrl-C; one run at a time."""
    from .watch import WatchSettings, parse_interval, watch

    load_or_exit(config)  # fail fast on a bad file; the watch re-reads it before every run
    try:
        settings = WatchSettings(
            every=parse_interval(every),
            jitter=None if jitter is None else parse_interval(jitter, allow_zero=True),
            publish=publish,
            max_runs=max_runs,
        )
    except ValueError as e:
        err.print(f"newsmirror: {e}", markup=False)
        raise typer.Exit(2) from None
    _say(f"watching {config}: a run every {every}" + (" then publish" if publish else ""))

    def stamped(line: str) -> None:
        _say(f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} {line}")

    watcher = watch(config, settings, log=stamped)
    _say(f"stopped after {watcher.runs} runs ({watcher.failures} failed)")


def status_cmd(
    config: ConfigOpt = Path(CONFIG_NAME),
    json_out: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
    fail_if_stale: Annotated[
        float | None,
        typer.Option(
            "--fail-if-stale",
            metavar="HOURS",
            min=0,
            help="Exit 1 naming every source with no new article for HOURS (for alerting).",
        ),
    ] = None,
    size: Annotated[
        bool, typer.Option("--size/--no-size", help="Report the repository's size.")
    ] = True,
) -> None:
    """Source health (last success and new article, failures, next try, items a day) and size."""
    from .health import BackoffPolicy, gather_health, health_json, print_health, repo_usage, stale
    from .pipeline import now_utc
    from .store import Store

    cfg = load_or_exit(config)
    now = now_utc()
    policy = getattr(cfg, "health", None) or BackoffPolicy()
    with Store(cfg.store_target) as store:
        rows = gather_health(store, cfg.sources, now, policy)
    usage = repo_usage(cfg.root, cfg.mirror.posts_dir) if size else None
    stale_rows = None if fail_if_stale is None else stale(rows, now, fail_if_stale)
    if json_out:
        typer.echo(health_json(rows, usage, now, stale_rows))
    else:
        print_health(rows, usage, now, out)
    if stale_rows:
        names = "; ".join(f"{slug}: {why}" for slug, why in stale_rows)
        err.print(f"newsmirror: stale sources ({len(stale_rows)}): {names}", markup=False)
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``publish``, ``watch`` and ``status`` to the ``newsmirror`` app."""
    app.command("publish")(publish_cmd)
    app.command("watch")(watch_cmd)
    app.command("status")(status_cmd)
