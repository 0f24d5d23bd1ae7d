"""``newsmirror run`` and ``build``'s work, and the command's entry point (``main``).

A scheduled ``newsmirror run`` (then ``build``) is the command run most, and when
its feeds are unchanged most of its time would be the start: Typer and Click
alone take longer to import than the pass itself. So ``main`` reads the plain
forms of ``run`` (``--config``/``-c``, ``--source``/``-s``, ``--json``,
``--strict``, ``--quiet``/``-q``) and ``build`` (``--config``/``-c``,
``--out``/``-o``, ``--quiet``/``-q``) itself, each option once (``--source``
may repeat) and values not starting with ``-``, and does the same work the Typer
commands do (``run_command``, ``build_command``, with Click's exit codes); any
other command line, help included, goes to the Typer app in ``cli.py`` unchanged.

The consoles are made at first use (``LazyConsole``): a ``--json`` run that
succeeds prints nothing through them and never imports Rich.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, NoReturn

from .config import CONFIG_NAME, Config, load_config
from .errors import ConfigError, LockedError, NewsmirrorError

if TYPE_CHECKING:
    from rich.console import Console

    from .models import RunReport


@contextlib.contextmanager
def importing() -> Iterator[None]:
    """Around the imports of a command's modules: importing makes many long-lived
    objects and little garbage, so no collector passes meanwhile, and the modules'
    objects are kept out of later ones (``gc.freeze``)."""
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


class LazyConsole:
    """A Rich ``Console(**options)`` made at its first use; every attribute is the
    console's (``real`` is the console itself, for code that needs the object)."""

    __slots__ = ("_options", "_console")

    def __init__(self, **options: Any) -> None:
        object.__setattr__(self, "_options", options)
        object.__setattr__(self, "_console", None)

    @property
    def real(self) -> Console:
        console = self._console
        if console is None:
            from rich.console import Console

            console = Console(**self._options)
            object.__setattr__(self, "_console", console)
        return console

    def print(self, *objects: Any, **kwargs: Any) -> None:
        """``Console.print``; a plain line (one string, ``markup=False``, no tab) to a
        stream that is not a terminal is written as Rich would write it (control codes
        BEL, BS, VT, FF and CR dropped), without loading Rich for it."""
        if (
            self._console is None
            and kwargs == {"markup": False}
            and len(objects) == 1
            and isinstance(text := objects[0], str)
            and "\t" not in text
        ):
            stream = sys.stderr if self._options.get("stderr") else sys.stdout
            if not stream.isatty():
                stream.write(text.translate(_RICH_DROPS) + "\n")
                return
        self.real.print(*objects, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.real, name, value)


_RICH_DROPS = dict.fromkeys((7, 8, 11, 12, 13))  # (rich.control.STRIP_CONTROL_CODES)

# (emoji=False: a source's name or a URL with ":fire:" in it is printed as it is)
out = LazyConsole(highlight=False, soft_wrap=True, emoji=False)
err = LazyConsole(stderr=True, highlight=False, soft_wrap=True, emoji=False)


def load_checked(path: Path) -> Config | None:
    """The validated configuration; on problems, print each with its path, return None."""
    try:
        return load_config(path)
    except ConfigError as e:
        err.print(f"newsmirror: {e.path or path}: invalid configuration", markup=False)
        for p in e.problems:
            err.print(f"  {p}", markup=False)
        return None


def failed(message: str, code: int = 2) -> int:
    """Print ``newsmirror: message`` to stderr; return the exit status ``code``."""
    err.print(f"newsmirror: {message}", markup=False)
    return code


def _run_with_progress(
    config: Config, only: list[str], quiet: bool, on_source: Callable[[Any], None] | None = None
) -> RunReport:
    from .pipeline import run, select_sources

    names = [s.slug for s in select_sources(config, only)]
    if quiet:  # counts and failed items are all the table shows
        return run(config, only=only, on_source=on_source, keep_items=False)
    if not err.is_terminal:

        def plain(slug: str, phase: str, done: int, total: int) -> None:
            if phase == "done":
                err.print(f"{slug}: done", markup=False)

        return run(config, only=only, progress=plain)
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err.real, transient=True,
    ) as bar:  # fmt: skip
        tasks = {n: bar.add_task(n, total=None) for n in names}

        def rich(slug: str, phase: str, done: int, total: int) -> None:
            t = tasks.get(slug)
            if t is None:
                return
            if phase == "items":
                bar.update(t, completed=done, total=total)
            elif phase == "done":
                bar.update(t, completed=1, total=1) if bar.tasks[t].total is None else None

        return run(config, only=only, progress=rich)


def run_command(
    config: Path, source: list[str], *, json_out: bool, strict: bool, quiet: bool
) -> int:
    """``newsmirror run``: one ingest pass; the exit status (see cli.py)."""
    from .report import JsonReport, print_report

    cfg = load_checked(config)
    if cfg is None:
        return 2
    prestart_workers(cfg, source)
    with importing():
        from . import pipeline  # noqa: F401  # (while the workers start)
    doc = JsonReport(sys.stdout) if json_out else None  # written source by source
    try:
        report = _run_with_progress(
            cfg, source, quiet or json_out, on_source=doc.source if doc else None
        )
    except ConfigError as e:
        return failed(str(e))
    except (LockedError, NewsmirrorError) as e:
        if doc is not None:
            doc.abort(str(e))
        return failed(str(e), 1)
    finally:
        from .procpool import take_prestarted

        if (unused := take_prestarted()) is not None:  # (the run ended before its pool)
            unused.close()
    if doc is not None:
        doc.finish(report)
    else:
        print_report(report, out)
    return 1 if report.all_failed or (strict and report.any_failed) else 0


def prestart_workers(cfg: Config, only: list[str]) -> None:
    """Start the run's workers at once when it is the mirror's first (no index yet:
    every item is new, so they will be needed) and it runs two sources or more,
    while this process imports the run's modules and fetches the feeds; later runs
    start them when a feed or page needs them (``resolve.route_feed``), and a run
    whose feeds are unchanged never does."""
    if cfg.engine.distributed or cfg.store_url or len(only or cfg.sources) < 2:
        return
    if cfg.index_path.exists():
        return
    from .procpool import PAGE_JOB, prestart

    prestart(PAGE_JOB)


def build_command(config: Path, out_dir: Path | None, *, quiet: bool) -> int:
    """``newsmirror build``: the mirror's static site; the exit status (see cli_site.py)."""
    from . import prestart
    from .config import SiteSettings
    from .site_files import manifest_path, site_dir

    cfg = load_checked(config)
    if cfg is None:
        return 2
    s = SiteSettings.from_config(cfg)
    prestart.start(search=s.search, manifest=manifest_path(cfg, site_dir(cfg, out_dir, s)))
    with importing():
        from .site import build_site  # (while the helper starts)
        from .site_rows import RowReader

    rows: RowReader | None = None
    try:
        rows = RowReader.for_site(cfg, out_dir)
        rep = build_site(cfg, out_dir, rows=rows,
                         progress=None if quiet else lambda m: err.print(m, markup=False))  # fmt: skip
    except ConfigError as e:
        return failed(str(e))
    except NewsmirrorError as e:
        return failed(str(e), 1)
    finally:
        if rows is not None:
            rows.close()
        prestart.reap()
    for w in rep.warnings:
        err.print(f"warning: {w}", markup=False)
    if not quiet:
        out.print(
            f"{rep.out}: {rep.articles} articles, {rep.rendered} rendered; "
            f"{rep.written} files written, {rep.kept} unchanged, {rep.removed} removed; "
            f"{rep.search_runs} search segments indexed; {rep.seconds:.2f} s",
            markup=False,
        )
    return 0


class RunArgs(SimpleNamespace):
    """A ``run`` command line as the Typer command would read it. (Plain classes, not
    dataclasses: making a dataclass at import costs more than reading the line.)"""

    config: Path
    source: list[str]
    json_out: bool
    strict: bool
    quiet: bool

    def __init__(
        self, config: Path = Path(CONFIG_NAME), source: list[str] | None = None,
        json_out: bool = False, strict: bool = False, quiet: bool = False,
    ) -> None:  # fmt: skip
        super().__init__(
            config=config, source=source or [], json_out=json_out, strict=strict, quiet=quiet
        )


class BuildArgs(SimpleNamespace):
    """A ``build`` command line as the Typer command would read it."""

    config: Path
    out_dir: Path | None
    quiet: bool

    def __init__(
        self, config: Path = Path(CONFIG_NAME), out_dir: Path | None = None, quiet: bool = False
    ) -> None:
        super().__init__(config=config, out_dir=out_dir, quiet=quiet)


#: The options of each command read here: flags, and options with a value (-> field).
_OPTIONS: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "run": (
        {"--json": "json_out", "--strict": "strict", "--quiet": "quiet", "-q": "quiet"},
        {"--config": "config", "-c": "config", "--source": "source", "-s": "source"},
    ),
    "build": (
        {"--quiet": "quiet", "-q": "quiet"},
        {"--config": "config", "-c": "config", "--out": "out_dir", "-o": "out_dir"},
    ),
}


def parse_plain(argv: list[str]) -> RunArgs | BuildArgs | None:
    """``argv`` (without the program) as a plain ``run`` or ``build`` command line;
    None for anything else, which the Typer app reads (help, errors, other commands,
    any form this parser does not know: the same option twice, ``-qc``, ``--``…)."""
    if not argv or argv[0] not in _OPTIONS:
        return None
    flags, values = _OPTIONS[argv[0]]
    args: RunArgs | BuildArgs = RunArgs() if argv[0] == "run" else BuildArgs()
    seen: set[str] = set()
    rest = iter(argv[1:])
    for arg in rest:
        name, eq, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if name in flags and not eq:
            dest = flags[name]
            if dest in seen:
                return None
            seen.add(dest)
            setattr(args, dest, True)
            continue
        dest = values.get(name, "")
        if not dest:
            return None
        if not eq:
            value = next(rest, "")
        if not value or value.startswith("-"):
            return None
        if isinstance(args, RunArgs) and dest == "source":
            args.source.append(value)
        elif dest in seen:
            return None
        else:
            seen.add(dest)
            setattr(args, dest, Path(value))
    return args


def parse_run(argv: list[str]) -> RunArgs | None:
    """``argv`` as a plain ``run`` command line (see parse_plain); else None."""
    args = parse_plain(argv)
    return args if isinstance(args, RunArgs) else None


def _completing() -> bool:
    """Is this a shell-completion request (``_<PROG>_COMPLETE`` set)? Typer answers it."""
    return any(k.startswith("_") and k.endswith("_COMPLETE") and v for k, v in os.environ.items())


def fast_args(argv: list[str]) -> RunArgs | BuildArgs | None:
    """``argv`` as a command this module does itself; None when Typer is to read it."""
    args = parse_plain(argv)
    return None if args is None or _completing() else args


def fast_run(args: RunArgs | BuildArgs) -> NoReturn:
    """Do a plain ``run`` or ``build`` command line (``fast_args``) and exit as Typer
    would (Click's standalone mode: exit status, Ctrl-C → 130, a closed pipe → 1)."""
    try:
        if isinstance(args, RunArgs):
            code = run_command(
                args.config, args.source, json_out=args.json_out, strict=args.strict,
                quiet=args.quiet,
            )  # fmt: skip
        else:
            code = build_command(args.config, args.out_dir, quiet=args.quiet)
    except EOFError:
        from typer import core

        print(file=sys.stderr)
        if core.HAS_RICH and core.DEFAULT_MARKUP_MODE is not None:
            from typer import rich_utils

            rich_utils.rich_abort_error()
        else:
            print("Aborted!", file=sys.stderr)
        code = 1
    except KeyboardInterrupt:
        code = 130
    except OSError as e:
        import errno

        if e.errno != errno.EPIPE:
            raise
        from typer._click.utils import PacifyFlushWrapper

        sys.stdout = PacifyFlushWrapper(sys.stdout)  # type: ignore[assignment]
        sys.stderr = PacifyFlushWrapper(sys.stderr)  # type: ignore[assignment]
        code = 1
    sys.exit(code)


def main() -> None:
    """The ``newsmirror`` command (the console script and ``python -m newsmirror``).

    It is a whole process of ours: optional imports no command uses are skipped
    (httpcore imports trio for trio support, newsmirror runs on asyncio; httpx
    imports its own command-line tool, with click, rich and pygments, when those are
    installed); its imports go without collector passes (:func:`importing`)."""
    for unused in ("trio", "httpx._main"):
        sys.modules.setdefault(unused, None)  # type: ignore[arg-type]
    argv = sys.argv[1:]
    with importing():
        fast = fast_args(argv)
        if fast is None:
            from .cli import main as typer_main
    if fast is not None:
        fast_run(fast)
    typer_main()
