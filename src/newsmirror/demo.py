"""``newsmirror demo``: the whole pipeline offline, in seconds.

An embedded server on 127.0.0.1 serves our synthetic sample feeds (every
format and charset the parser handles) and their article pages; a mirror is
made with ``init``, pointed at those feeds, and run once. Running the demo
again in the same folder is a second run: it shows conditional requests and
nothing rewritten.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
from pathlib import Path

from rich.console import Console

from .config import CONFIG_NAME, load_config, sources_toml
from .fsutil import MirrorFiles
from .loopback import LoopbackServer
from .models import RunReport
from .pipeline import run
from .report import print_report
from .samples import sample_site, sample_sources
from .samples_news import DEMO_FILTER_CATEGORY
from .scaffold import init_mirror
from .site import build_site

DEMO_PORT = 48123  # a fixed port keeps article URLs (and so their identity) stable across demos


def _server() -> LoopbackServer:
    for port in (DEMO_PORT, 0):
        with contextlib.suppress(OSError):
            return LoopbackServer(port=port)
    raise OSError(errno.EADDRINUSE, "no free loopback port")


def run_demo(directory: Path, *, console: Console) -> RunReport:
    directory = Path(directory)
    with _server() as server:
        base = server.base_url
        for f in sample_site(base):
            etag = '"' + hashlib.sha256(f.body).hexdigest()[:16] + '"'
            server.add(f.path, f.body, content_type=f.content_type, etag=etag)
        triples = [(s["name"], s["slug"], s["url"]) for s in sample_sources(base)]
        config_text = (
            "# The demo mirror: sample feeds served by newsmirror itself on 127.0.0.1.\n"
            "[fetch]\nretries = 1\nconnect_timeout = 5\n\n"
            "[defaults]\n# Sponsored items are kept out: they show up as `filtered` in the report.\n"
            f'exclude_categories = "^({DEMO_FILTER_CATEGORY}|Sponsored)$"\n\n'
            + sources_toml(triples)
        )
        cfg_path = directory / CONFIG_NAME
        init_mirror(directory, config_text=config_text)
        # A previous demo may have run on another port: point the config at this one.
        MirrorFiles(directory).write(CONFIG_NAME, config_text, if_changed=True)
        config = load_config(cfg_path)
        console.print(f"Serving {len(triples)} sample feeds on {base}", highlight=False)
        report = run(config)
    print_report(report, console)
    site = build_site(config)
    posts = config.root / config.mirror.posts_dir
    console.print(
        f"\nPosts:      {posts}\nList pages: {config.root / config.mirror.lists_dir}\n"
        f"Index:      {config.index_path}\n"
        f"Site:       {site.out} ({site.written} files written; "
        f"preview: cd {directory} && newsmirror serve)\n"
        f"Jekyll:     cd {directory} && jekyll build -d _jekyll   (not into _site: that is ours)\n"
        f"Run the demo again to see a second run: conditional requests, nothing rewritten.",
        highlight=False,
    )
    return report
