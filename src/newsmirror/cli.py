"""The ``newsmirror`` command: a thin shell over the library.

Exit status: 0 when the work was done (failed sources are reported), 1 when
every source failed (or anything failed with ``--strict``), 2 for usage and
configuration errors. Errors are one line naming the source, URL and cause.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from . import __version__
from .cli_common import ConfigOpt, err, load_or_exit, out
from .cli_run import run_command
from .config import (
    CONFIG_NAME,
    default_config_text,
    import_subscriptions,
    sources_toml,
)
from .errors import ConfigError, LockedError, NewsmirrorError
from .models import Source
from .settings import FetchSettings

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Keep durable, readable mirrors of news sources.",
    pretty_exceptions_enable=False,
)
sources_app = typer.Typer(no_args_is_help=True, help="Manage the mirror's sources.")
app.add_typer(sources_app, name="sources")


def fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"newsmirror: {message}", markup=False)
    return typer.Exit(code)


@app.command()
def run(
    config: ConfigOpt = Path(CONFIG_NAME),
    source: Annotated[
        list[str] | None, typer.Option("--source", "-s", help="Only this source (repeatable).")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 when anything failed.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")] = False,
) -> None:
    """One ingest pass over all (or --source) sources: posts and list pages."""
    code = run_command(config, source or [], json_out=json_out, strict=strict, quiet=quiet)
    if code:
        raise typer.Exit(code)


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Folder of the new mirror.")] = Path("."),
    force: Annotated[bool, typer.Option(help="Overwrite existing scaffolding files.")] = False,
) -> None:
    """Make a ready mirror: newsmirror.toml with the default sources, Jekyll files, CI workflow."""
    from .publish import ensure_repo
    from .scaffold import init_mirror

    written = init_mirror(directory, config_text=default_config_text(), force=force)
    for p in written:
        out.print(f"wrote {p}", markup=False)
    try:
        if ensure_repo(directory):
            out.print("initialised a git repository (branch main)", markup=False)
    except NewsmirrorError as e:
        err.print(f"newsmirror: warning: no git repository: {e}", markup=False)
    out.print(f"Mirror ready in {directory}. Next: cd {directory} && newsmirror run", markup=False)


@app.command()
def reindex(config: ConfigOpt = Path(CONFIG_NAME)) -> None:
    """Rebuild the index from the mirror's files alone."""
    from .reindex import reindex as do_reindex

    cfg = load_or_exit(config)
    try:
        rep = do_reindex(cfg)
    except LockedError as e:
        raise fail(str(e), 1) from None
    for s in rep.skipped:
        err.print(f"skipped {s}", markup=False)
    out.print(f"indexed {rep.posts} posts and {rep.revisions} kept revisions", markup=False)


@app.command()
def demo(
    directory: Annotated[Path, typer.Argument(help="Folder for the demo mirror.")] = Path(
        "newsmirror-demo"
    ),
) -> None:
    """The whole pipeline offline: a loopback server with sample feeds, a run, and where to look."""
    from .demo import run_demo

    try:
        report = run_demo(directory, console=out)
    except NewsmirrorError as e:
        raise fail(str(e), 1) from None
    if report.all_failed:
        raise typer.Exit(1)


@sources_app.command("list")
def sources_list(config: ConfigOpt = Path(CONFIG_NAME)) -> None:
    """The configured sources."""
    cfg = load_or_exit(config)
    for s in cfg.sources:
        flag = "" if s.rules.enabled else "  (disabled)"
        typer.echo(f"{s.slug}\t{s.name}\t{s.url}{flag}")


@sources_app.command("import")
def sources_import(
    file: Annotated[Path, typer.Argument(help='JSON list [{"site": NAME, "url": URL}, …].')],
    config: ConfigOpt = Path(CONFIG_NAME),
) -> None:
    """Append the sources of an older JSON subscription list to newsmirror.toml."""
    try:
        triples = import_subscriptions(file.read_text(encoding="utf-8"))
    except OSError as e:
        raise fail(f"{file}: {e.strerror}") from None
    except ConfigError as e:
        raise fail(f"{file}: {e}") from None
    existing = load_or_exit(config) if config.exists() else None
    used = {s.slug for s in existing.sources} if existing else set()
    urls = {s.url for s in existing.sources} if existing else set()
    from .config import make_slug

    fresh = []
    for name, slug, url in triples:
        if url in urls:
            continue
        if slug in used:
            slug = make_slug(url, used)
        used.add(slug)
        fresh.append((name, slug, url))
    text = config.read_text(encoding="utf-8") if config.exists() else ""
    from .fsutil import MirrorFiles

    MirrorFiles(config.resolve().parent).write(
        config.resolve().name, text.rstrip("\n") + ("\n\n" if text else "") + sources_toml(fresh)
    )
    load_or_exit(config)  # what we wrote must validate
    out.print(f"imported {len(fresh)} sources ({len(triples) - len(fresh)} already present)")


def _source_or_default(config: Path, slug: str | None) -> tuple[Source, FetchSettings]:
    """The rules of ``--source`` (from the config), or the defaults when none is named."""
    if slug is None:
        cfg = load_or_exit(config) if config.exists() else None
        return Source(name="", slug="extract", url=""), (cfg.fetch if cfg else FetchSettings())
    cfg = load_or_exit(config)
    try:
        return cfg.source(slug), cfg.fetch
    except ConfigError as e:
        raise fail(str(e)) from None


@app.command()
def extract(
    target: Annotated[
        str, typer.Argument(help="An article URL, a saved page, or a feed (its first item).")
    ],
    fmt: Annotated[str, typer.Option("--format", "-f", help="html, text or json.")] = "html",
    source: Annotated[
        str | None, typer.Option("--source", "-s", help="Apply this source's rules.")
    ] = None,
    config: ConfigOpt = Path(CONFIG_NAME),
) -> None:
    """Resolve + extract + clean one page or feed item and print the result."""
    import json

    from .store import ts
    from .tools import extract_target

    if fmt not in ("html", "text", "json"):
        raise fail(f"--format must be html, text or json, not {fmt!r}")
    src, settings = _source_or_default(config, source)
    try:
        ex = extract_target(target, src, settings)
    except NewsmirrorError as e:
        raise fail(str(e), 1) from None
    if fmt == "text":
        typer.echo(ex.text)
    elif fmt == "html":
        typer.echo(ex.html)
    else:
        typer.echo(json.dumps({"url": ex.url, "title": ex.title, "origin": ex.origin,
                               "author": ex.author, "published": ts(ex.published),
                               "html": ex.html, "text": ex.text}, ensure_ascii=False, indent=2))  # fmt: skip


@sources_app.command("test")
def sources_test(
    slug: Annotated[str, typer.Argument(help="The source to try.")],
    items: Annotated[int, typer.Option("--items", "-n", help="How many items to show.")] = 5,
    config: ConfigOpt = Path(CONFIG_NAME),
) -> None:
    """Fetch one source and show, per item: where the full text came from, its length,
    the chrome removed, and a warning when it looks truncated or empty."""
    from .tools import test_source

    src, settings = _source_or_default(config, slug)
    try:
        reports = test_source(src, settings, items=items)
    except NewsmirrorError as e:
        raise fail(str(e), 1) from None
    from rich.text import Text

    for r in reports:
        out.print(Text.assemble((r.title, "bold"), f"  ({r.origin}, {r.chars} chars)"))
        out.print(f"  {r.url}", markup=False)
        for c in r.chrome:
            out.print(f"  removed {c}", markup=False)
        for w in r.warnings:
            out.print(Text.assemble("  ", ("warning", "yellow"), f" {w}"))
    if not reports:
        out.print("the feed has no items")


from .cli_archive import register as _register_archive  # noqa: E402
from .cli_dist import register as _register_dist  # noqa: E402
from .cli_ops import register as _register_ops  # noqa: E402  (commands defined elsewhere)
from .cli_site import register as _register_site  # noqa: E402

_register_ops(app)
_register_site(app)
_register_archive(app)
_register_dist(app)


def version_callback(value: bool) -> None:
    if value:
        out.print(f"newsmirror {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[
        bool, typer.Option("--version", callback=version_callback, is_eager=True)
    ] = False,
) -> None:
    """newsmirror: feeds in, a durable mirror out."""


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err.print("newsmirror: interrupted")
        sys.exit(130)
