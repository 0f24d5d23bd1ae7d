"""The command line: exit codes, one-line errors, JSON, and the offline demo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from newsmirror.cli import app
from newsmirror.loopback import LoopbackServer

from .helpers import FIXED_NOW, make_mirror
from .test_pipeline import feed

runner = CliRunner()


def cli(*args: str) -> tuple[int, str, str]:
    res = runner.invoke(app, list(args), env={"NEWSMIRROR_NOW": FIXED_NOW})
    return res.exit_code, res.stdout, res.stderr


def test_missing_config_is_exit_2_one_line(tmp_path: Path) -> None:
    code, out, err = cli("run", "--config", str(tmp_path / "newsmirror.toml"))
    assert code == 2
    assert "no configuration file" in err and "Traceback" not in err + out


def test_bad_config_lists_every_problem(tmp_path: Path) -> None:
    p = tmp_path / "newsmirror.toml"
    p.write_text(
        '[fetch]\nretrys = 1\n[[sources]]\nname = "x"\nslug = "X"\nurl = "nope"\n', encoding="utf-8"
    )
    code, _, err = cli("run", "--config", str(p))
    assert code == 2
    assert "fetch.retrys: unknown key (did you mean 'retries'?)" in err
    assert "sources[0].slug" in err and "sources[0].url" in err


def test_unknown_option_is_usage_error() -> None:
    code, _, _ = cli("run", "--frobnicate")
    assert code == 2


def test_run_json_and_exit_codes(tmp_path: Path, server: LoopbackServer) -> None:
    server.add("/good.xml", feed(("一則新聞", "http://example.org/n1", "<p>內容</p>")),
               content_type="application/rss+xml")  # fmt: skip
    server.add("/gone.xml", b"", status=404)
    cfg = make_mirror(
        tmp_path / "m",
        [("好", "good", server.url("/good.xml")), ("缺", "gone", server.url("/gone.xml"))],
    )
    path = str(cfg.root / "newsmirror.toml")
    code, out, _ = cli("run", "--json", "--config", path)
    assert code == 0  # one source failed, the run did its work
    data = json.loads(out)
    assert data["totals"]["new"] == 1 and data["totals"]["sources_failed"] == 1
    gone = next(s for s in data["sources"] if s["slug"] == "gone")
    assert gone["error_reason"] == "http_404" and server.url("/gone.xml") in gone["error"]
    code, out, _ = cli("run", "--config", path)
    assert code == 0 and "skipped gone: backoff" in out  # a failing source rests
    code, out, _ = cli("run", "--strict", "-s", "good", "-s", "gone", "--config", path)
    assert code == 1
    assert "failed gone: " + server.url("/gone.xml") in out
    code, _, _ = cli("run", "--source", "gone", "--config", path)
    assert code == 1  # every source (of this run) failed
    code, _, err = cli("run", "--source", "nope", "--config", path)
    assert code == 2 and "nope" in err
    code, out, _ = cli("status", "--json", "--config", path)
    status = {s["slug"]: s for s in json.loads(out)["sources"]}
    assert status["good"]["articles"] == 1 and status["gone"]["failures_in_row"] == 3
    assert status["good"]["items_per_day"][-1] == 1  # in the last 24 hours


def test_init_then_sources_import(tmp_path: Path) -> None:
    root = tmp_path / "mirror"
    code, out, _ = cli("init", str(root))
    assert code == 0 and (root / "newsmirror.toml").exists() and (root / "_config.yml").exists()
    subs = tmp_path / "subs.json"
    subs.write_text(json.dumps([{"site": "示例", "url": "https://example.org/rss"},
                                {"site": "CNA again", "url": "https://feedx.net/rss/cna.xml"}]),
                    encoding="utf-8")  # fmt: skip
    code, out, err = cli("sources", "import", str(subs), "--config", str(root / "newsmirror.toml"))
    assert code == 0, err
    assert "imported 1 sources (1 already present)" in out
    code, out, _ = cli("sources", "list", "--config", str(root / "newsmirror.toml"))
    assert "example\t示例\thttps://example.org/rss" in out


def test_demo_offline_twice(tmp_path: Path) -> None:
    """The README's first command, as a real process: works, and a second run is all 304s."""
    env = {**os.environ, "NEWSMIRROR_NOW": FIXED_NOW}
    demo = tmp_path / "demo"
    first = subprocess.run([sys.executable, "-m", "newsmirror", "demo", str(demo)],
                           capture_output=True, text=True, env=env, timeout=300)  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert "Posts:" in first.stdout
    posts = list((demo / "_posts").glob("*.md"))
    assert len(posts) >= 70
    second = subprocess.run([sys.executable, "-m", "newsmirror", "demo", str(demo)],
                            capture_output=True, text=True, env=env, timeout=300)  # fmt: skip
    assert second.returncode == 0, second.stderr
    assert len(list((demo / "_posts").glob("*.md"))) == len(posts)
    total = [line for line in second.stdout.splitlines() if line.strip("│ ").startswith("total")]
    assert total, second.stdout
    cells = [c.strip() for c in total[0].split("│") if c.strip()]
    assert cells[1] == "0" and cells[-1] == "10", cells  # no new posts, all ten feeds 304


@pytest.mark.parametrize("command", ["status", "reindex", "sources"])
def test_help_works(command: str) -> None:
    code, out, _ = cli(command, "--help")
    assert code == 0 and "Usage" in out
