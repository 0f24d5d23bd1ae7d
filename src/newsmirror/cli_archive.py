"""``newsmirror export`` (the archive for other tools) and ``newsmirror recheck``
(edits and deletions at the sources). ``cli.py`` calls :func:`register`.

Exit status follows cli.py: 0 done, 1 when the export failed (or, for
``recheck --strict``, any re-check failed), 2 for usage and configuration errors. Without ``--out`` the archive goes to standard output;
with it, the file appears whole or not at all (temporary file, then rename).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO, Annotated

import typer

from .cli_common import ConfigOpt, err, load_or_exit
from .config import CONFIG_NAME, Config
from .errors import ConfigError, LockedError, NewsmirrorError
from .fsutil import atomic_file

FORMATS = ("jsonl", "warc")


def _write(cfg: Config, fmt: str, fh: IO) -> int:  # type: ignore[type-arg]
    from .export import write_jsonl, write_warc

    return write_jsonl(cfg, fh) if fmt == "jsonl" else write_warc(cfg, fh)


def export_cmd(
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="jsonl (articles and revisions) or warc.")
    ] = "jsonl",
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write here instead of standard output.")
    ] = None,
    config: ConfigOpt = Path(CONFIG_NAME),
) -> None:
    """Write the archive for other tools: JSON Lines of every article with its
    revisions, or the WARC records of fetched responses ([capture] warc = true)."""
    if fmt not in FORMATS:
        err.print(f"newsmirror: --format must be jsonl or warc, not {fmt!r}", markup=False)
        raise typer.Exit(2)
    cfg = load_or_exit(config)
    binary = fmt == "warc"
    try:
        if out is not None:
            with atomic_file(out.resolve(), text=not binary, prefix=f".{out.name}.") as fh:
                n = _write(cfg, fmt, fh)
            what = "articles" if fmt == "jsonl" else "capture files"
            err.print(f"wrote {n} {what} to {out}", markup=False)
        else:
            fh = sys.stdout.buffer if binary else sys.stdout
            _write(cfg, fmt, fh)
            fh.flush()
    except LockedError as e:
        err.print(f"newsmirror: {e}", markup=False)
        raise typer.Exit(1) from None
    except NewsmirrorError as e:
        err.print(f"newsmirror: export: {e}", markup=False)
        raise typer.Exit(1) from None
    except OSError as e:
        err.print(f"newsmirror: export: {e.strerror}: {e.filename or out}", markup=False)
        raise typer.Exit(1) from None


def recheck_cmd(
    every: Annotated[
        bool, typer.Option("--all", help="Re-check every article now (no schedule, no budget).")
    ] = False,
    source: Annotated[
        list[str] | None, typer.Option("--source", "-s", help="Only this source (repeatable).")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 when a re-check failed.")] = False,
    config: ConfigOpt = Path(CONFIG_NAME),
) -> None:
    """Only the re-checks: fetch the due articles' pages again (--all: every article)
    to keep edits as revisions and mark articles deleted at their source."""
    from .models import OutcomeKind
    from .recheck import recheck
    from .report import print_report, report_json

    cfg = load_or_exit(config)
    try:
        report = recheck(cfg, every=every, only=source or [])
    except LockedError as e:
        err.print(f"newsmirror: {e}", markup=False)
        raise typer.Exit(1) from None
    except NewsmirrorError as e:
        err.print(f"newsmirror: recheck: {e}", markup=False)
        raise typer.Exit(2 if isinstance(e, ConfigError) else 1) from None
    if json_out:
        typer.echo(report_json(report))
    else:
        from .cli_common import out as console

        print_report(report, console)
    if strict and any(o.kind is OutcomeKind.FAILED for o in report.rechecks):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``export`` and ``recheck`` to the ``newsmirror`` app."""
    app.command("export")(export_cmd)
    app.command("recheck")(recheck_cmd)
