"""``newsmirror run`` read without Typer (cli_run.py): the same behaviour as the Typer
command, and a run whose feeds all answer 304 imports none of the heavy code."""

from __future__ import annotations

import json
import os
import re
import ssl
import subprocess
import sys
from pathlib import Path

import pytest

from newsmirror.cli_run import BuildArgs, RunArgs, parse_plain, parse_run
from newsmirror.loopback import LoopbackServer

from .helpers import FIXED_NOW, make_mirror, snapshot
from .test_pipeline import feed

ENV = {**os.environ, "NEWSMIRROR_NOW": FIXED_NOW}
TYPER = "import sys; from newsmirror.cli import main; sys.argv[0] = 'newsmirror'; main()"


@pytest.mark.parametrize(
    ("argv", "want"),
    [
        (["run"], RunArgs()),
        (["run", "--json", "-q", "--strict"], RunArgs(json_out=True, quiet=True, strict=True)),
        (["run", "-c", "a.toml", "-s", "x", "--source=y"],
         RunArgs(config=Path("a.toml"), source=["x", "y"])),
        (["run", "--config=b/c.toml", "--quiet"], RunArgs(config=Path("b/c.toml"), quiet=True)),
    ],
)  # fmt: skip
def test_plain_run_lines_are_read(argv: list[str], want: RunArgs) -> None:
    assert parse_run(argv) == want


@pytest.mark.parametrize(
    "argv",
    [
        [], ["--version"], ["build"], ["run", "--help"], ["run", "--frobnicate"], ["run", "x"],
        ["run", "--config"], ["run", "-c", "--json"], ["run", "--config="], ["run", "-qs", "x"],
        ["run", "--json", "--json"], ["run", "-c", "a", "--config", "b"], ["run", "--"],
        ["run", "--json=1"], ["sources", "run"],
    ],
)  # fmt: skip
def test_anything_else_goes_to_typer(argv: list[str]) -> None:
    assert parse_run(argv) is None


def test_plain_build_lines_are_read() -> None:
    assert parse_plain(["build"]) == BuildArgs()
    assert parse_plain(["build", "-q", "-o", "out", "--config=m/n.toml"]) == BuildArgs(
        config=Path("m/n.toml"), out_dir=Path("out"), quiet=True
    )
    for other in (["build", "--json"], ["build", "-s", "x"], ["build", "-o", "a", "--out", "b"]):
        assert parse_plain(other) is None


def _both(args: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess[str], ...]:
    fast = subprocess.run([sys.executable, "-m", "newsmirror", *args], cwd=cwd, env=ENV,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    slow = subprocess.run([sys.executable, "-c", TYPER, *args], cwd=cwd, env=ENV,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    return fast, slow


def _without_times(report: str) -> object:
    data = json.loads(report)
    for s in data["sources"]:
        s.pop("seconds")
    return data


def test_the_fast_path_answers_as_the_typer_command(tmp_path: Path, server: LoopbackServer) -> None:
    # Errors: the same lines and exit status.
    for args in (
        ["run", "--config", str(tmp_path / "none.toml")],
        ["run", "--json", "--source", "nope", "--config", str(tmp_path / "m1" / "newsmirror.toml")],
    ):
        make_mirror(tmp_path / "m1", [("好", "good", server.url("/good.xml"))])
        fast, slow = _both(args, tmp_path)
        assert (fast.returncode, fast.stdout, fast.stderr) == (
            slow.returncode, slow.stdout, slow.stderr,
        )  # fmt: skip
        assert fast.returncode == 2 and fast.stderr.startswith("newsmirror: ")
    # A real run (into two like mirrors): the same report and exit status, JSON or table.
    server.add("/good.xml", feed(("一則新聞", "http://example.org/n1", "<p>內容</p>")),
               content_type="application/rss+xml", etag='"v1"')  # fmt: skip
    server.add("/gone.xml", b"", status=404)
    sources = [("好", "good", server.url("/good.xml")), ("缺", "gone", server.url("/gone.xml"))]
    fast_m = make_mirror(tmp_path / "fast", sources).root / "newsmirror.toml"
    slow_m = make_mirror(tmp_path / "slow", sources).root / "newsmirror.toml"
    for flags in (["--json", "--strict"], ["--json"], ["-q"]):  # then "gone" rests
        fast = subprocess.run([sys.executable, "-m", "newsmirror", "run", *flags, "-c", str(fast_m)],
                              env=ENV, capture_output=True, text=True, timeout=120)  # fmt: skip
        slow = subprocess.run([sys.executable, "-c", TYPER, "run", *flags, "-c", str(slow_m)],
                              env=ENV, capture_output=True, text=True, timeout=120)  # fmt: skip
        assert fast.returncode == slow.returncode == (1 if "--strict" in flags else 0)
        if "--json" in flags:
            assert _without_times(fast.stdout) == _without_times(slow.stdout)
        else:
            secs = re.compile(r"\d+\.\d+")  # the table's seconds column
            assert secs.sub("s", fast.stdout) == secs.sub("s", slow.stdout)
            assert "skipped gone: backoff" in fast.stdout
        assert fast.stderr == slow.stderr
    # build: the same summary and warnings, the same site.
    fast = subprocess.run([sys.executable, "-m", "newsmirror", "build", "-c", str(fast_m)],
                          env=ENV, capture_output=True, text=True, timeout=300)  # fmt: skip
    slow = subprocess.run([sys.executable, "-c", TYPER, "build", "-c", str(slow_m)],
                          env=ENV, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert fast.returncode == slow.returncode == 0, fast.stderr + slow.stderr
    same = re.compile(r"/(fast|slow)/|\d+\.\d+ s")
    assert same.sub("", fast.stdout) == same.sub("", slow.stdout) != ""
    assert same.sub("", fast.stderr) == same.sub("", slow.stderr)
    site = {m: snapshot(m.parent / "_site", skip=("search",)) for m in (fast_m, slow_m)}
    assert site[fast_m] == site[slow_m] != {}  # (the search index's names hold the path)


WATCH = """
import atexit, runpy, sys
heavy = sys.argv.pop(1).split()
out = sys.argv.pop(1)
def report():
    with open(out, "w") as f:
        f.write(" ".join(m for m in heavy if sys.modules.get(m) is not None))
atexit.register(report)
if sys.argv.pop(1) == "script":  # the console script's way in
    from newsmirror.cli_run import main

    main()
else:
    runpy.run_module("newsmirror", run_name="__main__", alter_sys=True)
"""

#: What a run whose feeds all answer 304 never needs (each is imported where used).
NOT_ON_THE_RUN_PATH = (
    "typer", "click", "rich", "pygments", "httpx._main", "http.server", "multiprocessing",
    "concurrent.futures.process", "h2", "socksio", "opencc", "lxml", "yaml", "jinja2", "nh3", "warcio",
    "newsmirror.cli", "newsmirror.cli_common", "newsmirror.publish", "newsmirror.textdiff",
    "newsmirror.frontmatter", "newsmirror.parse", "newsmirror.clean", "newsmirror.resolve",
    "newsmirror.extract", "newsmirror.assets", "newsmirror.recheck", "newsmirror.site",
)  # fmt: skip


def test_an_unchanged_run_imports_none_of_the_heavy_code(
    tmp_path: Path, server: LoopbackServer
) -> None:
    server.add("/f.xml", feed(("一則新聞", "http://example.org/n1", "<p>內容</p>")),
               content_type="application/rss+xml", etag='"v1"')  # fmt: skip
    cfg = make_mirror(tmp_path / "m", [("好", "f", server.url("/f.xml"))],
                      extra="[recheck]\nenabled = false\n")  # fmt: skip
    args = ["run", "--json", "--config", str(cfg.root / "newsmirror.toml")]
    seen = tmp_path / "modules.txt"

    def run_watching(heavy: tuple[str, ...], how: str = "-m") -> list[str]:
        done = subprocess.run(
            [sys.executable, "-c", WATCH, " ".join(heavy), str(seen), how, *args],
            env=ENV, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return seen.read_text().split()

    # The first run parses (the check sees what a run imports)...
    assert run_watching(("newsmirror.parse", "typer")) == ["newsmirror.parse"]
    # ...the second gets a 304 and needs none of it.
    assert run_watching(NOT_ON_THE_RUN_PATH) == []
    assert run_watching(NOT_ON_THE_RUN_PATH, "script") == []
    assert server.conditional_hits["/f.xml"] == 2


#: What the main process of a first run never imports when its workers clean every item.
CLEANING_CODE = ("newsmirror.clean", "newsmirror.parse", "lxml", "nh3", "opencc")


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: a run has no workers")
def test_a_first_run_leaves_the_cleaning_code_to_its_workers(
    tmp_path: Path, server: LoopbackServer
) -> None:
    """A new mirror of two sources starts its workers at once; they parse and clean
    every item, so the run's own process never imports that code (about 25 ms of
    its CPU), and the posts are written all the same."""
    body = "".join(f"<p>第{k}段：河川市議會今天審議港口擴建計畫，多名議員提出質詢。</p>" for k in range(8))
    sources = []
    for slug in ("a", "b"):
        items = [(f"{slug}新聞{j}", f"http://example.org/{slug}/{j}", body) for j in range(3)]
        server.add(f"/{slug}.xml", feed(*items), content_type="application/rss+xml")
        sources.append((slug, slug, server.url(f"/{slug}.xml")))
    cfg = make_mirror(tmp_path / "m", sources, extra="[recheck]\nenabled = false\n")
    seen = tmp_path / "modules.txt"
    args = ["run", "--json", "--config", str(cfg.root / "newsmirror.toml")]
    done = subprocess.run(
        [sys.executable, "-c", WATCH, " ".join(CLEANING_CODE), str(seen), "-m", *args],
        env=ENV, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert [s["new"] for s in report["sources"]] == [3, 3]
    assert seen.read_text().split() == []


def test_tls_context_loads_its_certificates_at_the_first_connection() -> None:
    import httpx

    from newsmirror.fetch_client import _ssl_context

    cert_file = os.environ.get("SSL_CERT_FILE")
    _ssl_context.cache_clear()  # (a TLS test before this one loaded the shared context's)
    ctx = _ssl_context(None, None, False)
    want = ssl.create_default_context(cafile=__import__("certifi").where())
    assert ctx.cert_store_stats()["x509_ca"] == 0  # nothing loaded yet
    for attr in ("verify_mode", "check_hostname", "options", "minimum_version", "verify_flags"):
        assert getattr(ctx, attr) == getattr(want, attr)
    ctx.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="example.org")
    assert ctx.get_ca_certs() == want.get_ca_certs() != []
    if cert_file:  # the environment's bundle, as httpx reads it
        mine = _ssl_context(cert_file, None, False)
        mine.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="example.org")
        assert mine.get_ca_certs() == httpx.create_ssl_context(trust_env=True).get_ca_certs()


def test_conversions_are_listed_without_importing_opencc() -> None:
    import opencc

    from newsmirror.settings import opencc_configs

    assert sorted(opencc_configs()) == sorted(opencc.CONFIGS)


def test_lazy_patterns_compile_at_first_use_and_take_the_name() -> None:
    ns: dict[str, object] = {"__name__": "somewhere", "re": re}  # a module's globals
    exec("from newsmirror.lazyre import lazy_re\nX = lazy_re(r'a+', re.I)\n", ns)
    stand_in = ns["X"]
    assert not isinstance(stand_in, re.Pattern)
    assert stand_in.fullmatch("aAa")  # type: ignore[attr-defined]
    assert isinstance(ns["X"], re.Pattern) and ns["X"].flags & re.I  # type: ignore[attr-defined]
    assert stand_in.sub("b", "xAAx") == "xbx"  # type: ignore[attr-defined]  (a kept reference)


@pytest.mark.parametrize(
    "text",
    ["warning: site.base_url is not set: feeds use relative URLs",
     "名稱 :fire: 與 [b]粗[/b] http://例.org/a:b:", "a\x07b\x08c\x0bd\x0ce\rf\ng", ""],
)  # fmt: skip
@pytest.mark.parametrize("to_stderr", [True, False])
def test_a_plain_line_is_written_as_rich_writes_it(text: str, to_stderr: bool) -> None:
    """A console that is not made yet writes a plain line itself, byte for byte as its
    Rich console does (on a stream that is not a terminal)."""
    import io

    from newsmirror.cli_run import LazyConsole

    def written(use_rich: bool) -> tuple[str, bool]:
        stream = io.StringIO()
        lazy = LazyConsole(stderr=to_stderr, highlight=False, soft_wrap=True, emoji=False)
        saved = sys.stderr, sys.stdout
        sys.stderr = sys.stdout = stream
        try:
            if use_rich:
                lazy.real  # noqa: B018 (made now: the line goes through Rich)
            lazy.print(text, markup=False)
        finally:
            sys.stderr, sys.stdout = saved
        return stream.getvalue(), lazy._console is not None

    plain, rich = written(False), written(True)
    assert plain == (rich[0], False) and rich[1]
