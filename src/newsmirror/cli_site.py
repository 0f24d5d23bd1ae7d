"""``newsmirror build`` and ``newsmirror serve``: the mirror's own static site.

``register(app)`` adds both commands to the main Typer app (cli.py).
"""

from __future__ import annotations

import contextlib
import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .cli_common import ConfigOpt, err, load_or_exit, out
from .cli_run import build_command
from .config import CONFIG_NAME

if TYPE_CHECKING:
    import http.server

OutOpt = Annotated[
    Path | None,
    typer.Option("--out", "-o", help="Output folder (default: site.out, _site in the mirror)."),
]


@functools.cache
def _handler() -> type[http.server.SimpleHTTPRequestHandler]:
    """The preview server's request handler (http.server is imported by ``serve`` only)."""
    import http.server

    class Handler(http.server.SimpleHTTPRequestHandler):
        """Static files; the site's own 404 page for anything missing."""

        def send_error(
            self, code: int, message: str | None = None, explain: str | None = None
        ) -> None:
            page = Path(self.directory) / "404.html"
            if code != 404 or not page.is_file():
                super().send_error(code, message, explain)
                return
            body = page.read_bytes()
            self.send_response(404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            if os.environ.get("NEWSMIRROR_SERVE_LOG"):
                super().log_message(format, *args)

    Handler.extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
        ".json": "application/json",
        ".xml": "application/xml",
        ".bin": "application/octet-stream",
    }
    return Handler


def make_server(
    directory: Path, port: int = 8000, host: str = "127.0.0.1"
) -> http.server.ThreadingHTTPServer:
    """A preview server for a built site (port 0: any free port)."""
    import http.server

    handler = functools.partial(_handler(), directory=str(directory))
    return http.server.ThreadingHTTPServer((host, port), handler)


def register(app: typer.Typer) -> None:
    """Add ``build`` and ``serve`` to the newsmirror command."""

    @app.command()
    def build(
        config: ConfigOpt = Path(CONFIG_NAME),
        out_dir: OutOpt = None,
        quiet: Annotated[
            bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")
        ] = False,
    ) -> None:
        """The mirror's own static site: pages, feeds, search; only what changed is written."""
        code = build_command(config, out_dir, quiet=quiet)
        if code:
            raise typer.Exit(code)

    @app.command()
    def serve(
        config: ConfigOpt = Path(CONFIG_NAME),
        out_dir: OutOpt = None,
        port: Annotated[int, typer.Option("--port", "-p", help="Port on 127.0.0.1.")] = 8000,
    ) -> None:
        """Preview the built site on http://127.0.0.1:PORT/ (Ctrl-C stops)."""
        from .site import SiteSettings

        cfg = load_or_exit(config)
        directory = out_dir or cfg.root / SiteSettings.from_config(cfg).out
        if not (directory / "index.html").is_file():
            err.print(
                f"newsmirror: no built site in {directory} (run `newsmirror build`)", markup=False
            )
            raise typer.Exit(1)
        try:
            server = make_server(directory, port)
        except OSError as e:
            err.print(f"newsmirror: cannot listen on 127.0.0.1:{port}: {e.strerror}", markup=False)
            raise typer.Exit(1) from None
        out.print(
            f"Serving {directory} on http://127.0.0.1:{server.server_address[1]}/", markup=False
        )
        with contextlib.suppress(KeyboardInterrupt), server:
            server.serve_forever()
