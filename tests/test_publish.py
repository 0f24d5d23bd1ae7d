"""newsmirror publish with real git: a bare repository as the remote, clones as runners."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys
import threading
from datetime import datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
import yaml

from newsmirror.config import Config
from newsmirror.loopback import LoopbackServer
from newsmirror.publish import (
    PublishError,
    PublishSettings,
    ensure_repo,
    publish,
    redact,
)
from newsmirror.scaffold import render_scaffold
from newsmirror.store import parse_ts

from .helpers import make_mirror

T0 = parse_ts("2026-11-28T08:00:00.000Z")
assert T0 is not None
ARTICLES = {  # synthetic news, written for these tests
    "a1": (
        "青松市開通環城輕軌　首日載客三萬人次",
        "青松市環城輕軌今晨通車，市府表示首日載客逾三萬人次。",
    ),
    "a2": (
        "白鷺港颱風過境　漁船全數回港避風",
        "颱風白鷺昨夜掠過港區，漁會說明所有漁船已提前回港。",
    ),
    "a3": (
        "銀杏縣圖書館夜間開放　試辦三個月",
        "銀杏縣立圖書館自下月起延長開放至晚間十時，試辦三個月。",
    ),
    "b1": (
        "紫藤大學公布新校區規劃　預計五年完工",
        "紫藤大學今日公布新校區藍圖，第一期工程預計五年完工。",
    ),
    "b2": (
        "北岸農會推廣有機稻米　收購價提高一成",
        "北岸農會宣布有機稻米收購價提高一成，鼓勵農友轉作。",
    ),
}


def rss(keys: list[str], base: str = "https://news.example.org") -> bytes:
    """A small RSS 2.0 feed with full text for the given ARTICLES keys."""
    items = []
    for i, key in enumerate(keys):
        title, text = ARTICLES[key]
        when = format_datetime(T0 - timedelta(hours=i + 1))
        body = f"<p>{text}</p><p>{text}（完）</p>"
        items.append(
            f"<item><title>{title}</title><link>{base}/news/{key}.html</link>"
            f"<guid>{base}/news/{key}.html</guid><pubDate>{when}</pubDate>"
            f"<content:encoded><![CDATA[{body}]]></content:encoded></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        f"<title>測試新聞</title><link>{base}/</link><description>測試</description>"
        + "".join(items)
        + "</channel></rss>"
    ).encode()


def git(cwd: Path, *args: str, check: bool = True) -> str:
    r = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if check and r.returncode != 0:
        raise AssertionError(f"git {' '.join(args)}: {r.stderr}")
    return r.stdout.strip()


@pytest.fixture(autouse=True)
def clean_git_env(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No global or system git configuration, no credentials from the machine."""
    empty = tmp_path_factory.mktemp("gitcfg") / "config"
    empty.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for k in list(os.environ):
        if k.startswith(("GIT_AUTHOR", "GIT_COMMITTER")) or k == "NEWSMIRROR_GIT_TOKEN":
            monkeypatch.delenv(k)


def bare_remote(tmp: Path) -> Path:
    remote = tmp / "remote.git"
    git(tmp, "init", "-q", "--bare", str(remote))
    git(remote, "symbolic-ref", "HEAD", "refs/heads/main")
    # Any force push would be refused: the test would see it fail.
    git(remote, "config", "receive.denyNonFastForwards", "true")
    git(remote, "config", "receive.denyDeletes", "true")
    return remote


def clone(remote: Path, dest: Path, who: str) -> Path:
    git(remote.parent, "clone", "-q", str(remote), str(dest))
    git(dest, "config", "user.name", who)
    git(dest, "config", "user.email", f"{who}@example.org")
    return dest


def seeded(tmp: Path, server: LoopbackServer) -> tuple[Path, Config]:
    """A remote holding a mirror's configuration (two sources), no posts yet."""
    remote = bare_remote(tmp)
    seed = clone(remote, tmp / "seed", "seed")
    cfg = make_mirror(
        seed,
        [("甲報", "alpha", server.url("/alpha.xml")), ("乙報", "beta", server.url("/beta.xml"))],
    )
    (seed / ".gitignore").write_text(".newsmirror/\n_site/\n")
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "seed")
    git(seed, "push", "-q", "origin", "HEAD:refs/heads/main")
    return remote, cfg


def runner(remote: Path, dest: Path, who: str) -> Config:
    from newsmirror.config import load_config

    clone(remote, dest, who)
    return load_config(dest / "newsmirror.toml")


def serve(server: LoopbackServer, alpha: list[str], beta: list[str]) -> None:
    server.add("/alpha.xml", rss(alpha), content_type="application/rss+xml")
    server.add("/beta.xml", rss(beta), content_type="application/rss+xml")


def post_titles(root: Path) -> set[str]:
    out = set()
    for p in (root / "_posts").rglob("*.md"):
        front = p.read_text(encoding="utf-8").split("\n---", 1)[0].removeprefix("---\n")
        out.add(" ".join(yaml.safe_load(front)["title"].split()))
    return out


def titles(keys: str) -> set[str]:
    return {" ".join(ARTICLES[k][0].split()) for k in keys.split()}


# -- two runners ----------------------------------------------------------------


def test_two_clones_publish_concurrently_and_both_runs_land(
    tmp_path: Path, server: LoopbackServer
) -> None:
    from newsmirror.pipeline import run

    remote, _ = seeded(tmp_path, server)
    a = runner(remote, tmp_path / "a", "runner-a")
    b = runner(remote, tmp_path / "b", "runner-b")
    # The feeds move on between the two runs: each runner has articles the other lacks,
    # and both wrote the same list pages and the shared posts (real conflicts).
    serve(server, ["a1", "a2"], ["b1"])
    run(a, now=T0)
    serve(server, ["a2", "a3"], ["b1", "b2"])
    run(b, now=T0 + timedelta(minutes=20))
    assert post_titles(a.root) == titles("a1 a2 b1")
    assert post_titles(b.root) == titles("a2 a3 b1 b2")

    results: dict[str, object] = {}
    start = threading.Barrier(2)

    def go(name: str, cfg: Config, when: datetime) -> None:
        start.wait()
        try:
            results[name] = publish(cfg.root, now=when)
        except Exception as e:  # pragma: no cover - reported by the asserts below
            results[name] = e

    threads = [
        threading.Thread(target=go, args=("a", a, T0 + timedelta(minutes=1))),
        threading.Thread(target=go, args=("b", b, T0 + timedelta(minutes=21))),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    ra, rb = results["a"], results["b"]
    assert not isinstance(ra, Exception), ra
    assert not isinstance(rb, Exception), rb
    assert ra.pushed == ("origin",) and rb.pushed == ("origin",)  # type: ignore[union-attr]
    assert ra.rebases + rb.rebases >= 1  # type: ignore[union-attr]
    assert re.match(
        r"newsmirror: 3 new \(alpha 2, beta 1\) 2026-11-28 08:01 UTC\n",
        ra.message,  # type: ignore[union-attr]
    )
    assert "alpha: 2 new, 0 updated" in ra.message  # type: ignore[union-attr]

    check = clone(remote, tmp_path / "check", "check")
    assert post_titles(check) == titles("a1 a2 a3 b1 b2")
    # Linear history: seed plus one commit per runner, no merges, every step a fast-forward.
    assert git(check, "rev-list", "--count", "HEAD") == "3"
    assert git(check, "rev-list", "--merges", "--count", "HEAD") == "0"
    subjects = git(check, "log", "--format=%s").splitlines()
    assert subjects[-1] == "seed" and all(s.startswith("newsmirror: ") for s in subjects[:2])
    assert git(check, "rev-parse", "HEAD") in (ra.commit, rb.commit)  # type: ignore[union-attr]
    for r in (a.root, b.root):
        assert not (r / ".git" / "rebase-merge").exists()
        assert git(r, "status", "--porcelain", "--untracked-files=no") == ""
    assert not git(check, "ls-files", ".newsmirror")  # the index is never committed

    # Nothing new: no commit, nothing pushed, the remote unchanged.
    head = git(check, "rev-parse", "HEAD")
    again = publish(b.root, now=T0 + timedelta(hours=1))
    assert again.commit == "" and again.pushed == () and again.message == ""
    assert git(remote, "rev-parse", "main") == head


def test_rejected_push_is_rebased_and_a_post_is_never_dropped(tmp_path: Path) -> None:
    """A runner that archived (moved) a post while the other updated it, and a
    runner that updated a post the other archived: both files survive."""
    remote = bare_remote(tmp_path)
    seed = clone(remote, tmp_path / "seed", "seed")
    posts = seed / "_posts"
    posts.mkdir()
    (posts / "2026-01-01-舊聞甲.md").write_text("---\nsource: alpha\n---\n舊版\n", encoding="utf-8")
    (posts / "2026-01-02-舊聞乙.md").write_text("---\nsource: beta\n---\n舊版\n", encoding="utf-8")
    (seed / "notes").mkdir()
    (seed / "notes" / "丙.md").write_text("丙 原文\n", encoding="utf-8")
    (seed / "notes" / "丁.md").write_text("丁 原文\n", encoding="utf-8")
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "seed")
    git(seed, "push", "-q", "origin", "HEAD:main")
    a = clone(remote, tmp_path / "a", "a")
    b = clone(remote, tmp_path / "b", "b")
    # Modify/delete conflicts: whichever side still has the file, it is kept.
    (a / "notes" / "丙.md").unlink()
    (a / "notes" / "丁.md").write_text("丁 甲方改過\n", encoding="utf-8")
    (b / "notes" / "丙.md").write_text("丙 乙方改過\n", encoding="utf-8")
    (b / "notes" / "丁.md").unlink()
    # a: updates 甲, archives 乙, adds a new post.
    (a / "_posts/2026-01-01-舊聞甲.md").write_text(
        "---\nsource: alpha\n---\n甲新版\n", encoding="utf-8"
    )
    (a / "_posts/_archive").mkdir()
    (a / "_posts/2026-01-02-舊聞乙.md").rename(a / "_posts/_archive/2026-01-02-舊聞乙.md")
    (a / "_posts/2026-11-28-新聞丙.md").write_text(
        "---\nsource: alpha\n---\n丙\n", encoding="utf-8"
    )
    # b: archives 甲, updates 乙, adds another new post.
    (b / "_posts/_archive").mkdir()
    (b / "_posts/2026-01-01-舊聞甲.md").rename(b / "_posts/_archive/2026-01-01-舊聞甲.md")
    (b / "_posts/2026-01-02-舊聞乙.md").write_text(
        "---\nsource: beta\n---\n乙新版\n", encoding="utf-8"
    )
    (b / "_posts/2026-11-28-新聞丁.md").write_text("---\nsource: beta\n---\n丁\n", encoding="utf-8")

    ra = publish(a, now=T0)
    assert ra.rebases == 0 and ra.pushed == ("origin",)
    assert ra.message.startswith("newsmirror: 1 new, 1 updated, 1 archived (alpha 2) ")
    rb = publish(b, now=T0)  # rejected at first: a pushed meanwhile
    assert rb.rebases == 1 and rb.pushed == ("origin",)

    check = clone(remote, tmp_path / "check", "check")
    files = {p.relative_to(check / "_posts").as_posix(): p.read_text(encoding="utf-8")
             for p in (check / "_posts").rglob("*.md")}  # fmt: skip
    assert "丙" in files["2026-11-28-新聞丙.md"] and "丁" in files["2026-11-28-新聞丁.md"]
    # Every version of every post is still somewhere: nothing was dropped.
    texts = "\n".join(files.values())
    assert "甲新版" in texts and "乙新版" in texts
    assert (check / "notes" / "丙.md").read_text(encoding="utf-8") == "丙 乙方改過\n"
    assert (check / "notes" / "丁.md").read_text(encoding="utf-8") == "丁 甲方改過\n"
    assert git(check, "rev-list", "--merges", "--count", "HEAD") == "0"
    assert git(check, "rev-list", "--count", "HEAD") == "3"


def test_not_a_repository_and_unknown_remote(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "x.md").write_text("x")
    with pytest.raises(PublishError) as e:
        publish(plain)
    assert e.value.reason == "not_a_repo" and "not a git repository" in str(e.value)
    assert ensure_repo(plain) is True
    assert ensure_repo(plain) is False  # already one
    assert git(plain, "symbolic-ref", "--short", "HEAD") == "main"
    git(plain, "config", "user.name", "x")
    git(plain, "config", "user.email", "x@example.org")
    with pytest.raises(PublishError) as e:
        publish(plain, now=T0)  # no origin: the commit is kept, the error says so
    assert e.value.reason == "no_remote" and "origin" in str(e.value)
    assert git(plain, "log", "--format=%s") == "newsmirror: 1 file changed 2026-11-28 08:00 UTC"
    done = publish(plain, push=False)
    assert done.commit == "" and done.pushed == ()
    sub = plain / "inner"
    sub.mkdir()
    assert ensure_repo(sub) is False  # inside a repository already


def test_several_remotes_and_a_path_as_remote(tmp_path: Path) -> None:
    origin = bare_remote(tmp_path)
    backup = tmp_path / "backup.git"
    git(tmp_path, "init", "-q", "--bare", str(backup))
    work = clone(origin, tmp_path / "w", "w")
    git(work, "remote", "add", "backup", str(backup))
    (work / "a.md").write_text("甲")
    r = publish(work, PublishSettings(remotes=("origin", "backup"), branch="main"), now=T0)
    assert r.pushed == ("origin", "backup") and r.branch == "main"
    assert git(origin, "rev-parse", "main") == git(backup, "rev-parse", "main") == r.commit
    third = tmp_path / "third.git"
    git(tmp_path, "init", "-q", "--bare", str(third))
    again = publish(work, PublishSettings(remotes=("origin", str(third))))
    assert again.commit == "" and again.up_to_date == ("origin",)
    assert again.pushed == (str(third),)
    assert git(third, "rev-parse", "main") == r.commit


def test_identity_falls_back_when_none_is_configured(tmp_path: Path) -> None:
    remote = bare_remote(tmp_path)
    work = tmp_path / "w"
    git(tmp_path, "clone", "-q", str(remote), str(work))
    (work / "a.md").write_text("a")
    env = {k: v for k, v in os.environ.items() if k not in ("EMAIL",)}
    env["GIT_CONFIG_GLOBAL"] = os.devnull
    r = publish(work, PublishSettings(branch="main"), now=T0, env=env)
    assert r.pushed == ("origin",)
    assert git(remote, "log", "-1", "--format=%an <%ae>", "main") in (
        "newsmirror <newsmirror@localhost>",
        git(work, "log", "-1", "--format=%an <%ae>"),
    )


# -- credentials ----------------------------------------------------------------

URL_TOKEN = "ghp_URLtoken0123456789abcdef"
ENV_TOKEN = "ghp_ENVtoken9876543210fedcba"


def test_redact() -> None:
    text = (
        f"fatal: unable to access 'https://x-access-token:{URL_TOKEN}@github.com/o/r.git/'\n"
        f"> Authorization: Basic {base64.b64encode(b'u:p').decode()}\n"
        f"token {ENV_TOKEN} and https://{URL_TOKEN}@example.org/x"
    )
    out = redact(text, [ENV_TOKEN])
    assert URL_TOKEN not in out and ENV_TOKEN not in out and "dTpw" not in out
    assert "https://***@github.com/o/r.git/" in out and "Authorization: Basic ***" in out


def test_tokens_never_appear_in_any_output(tmp_path: Path, server: LoopbackServer) -> None:
    """A token in the remote URL and one in the environment; git tracing that would
    print them; an HTTP remote that refuses both. Nothing shown carries either."""
    for path in ("/mirror.git/info/refs", "/other.git/info/refs"):
        server.add(path, b"no", status=401, headers={"WWW-Authenticate": 'Basic realm="t"'})
    work = tmp_path / "m"
    make_mirror(work, [("甲報", "alpha", server.url("/alpha.xml"))])
    ensure_repo(work)
    host = server.base_url.split("://", 1)[1]
    git(work, "remote", "add", "origin", f"http://x-access-token:{URL_TOKEN}@{host}/mirror.git")
    askpass = tmp_path / "askpass.sh"
    askpass.write_text(f"#!/bin/sh\necho {ENV_TOKEN}\n")
    askpass.chmod(0o755)
    env = {**os.environ, "NEWSMIRROR_GIT_TOKEN": ENV_TOKEN, "GIT_ASKPASS": str(askpass),
           "GIT_TRACE": "1", "GIT_CURL_VERBOSE": "1", "GIT_TRACE_REDACT": "0",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}  # fmt: skip
    secrets = [URL_TOKEN, ENV_TOKEN, base64.b64encode(f"x-access-token:{URL_TOKEN}".encode()).decode(),
               base64.b64encode(f"x-access-token:{ENV_TOKEN}".encode()).decode()]  # fmt: skip

    logged: list[str] = []
    for remotes in ((), (f"{server.base_url}/other.git",)):
        with pytest.raises(PublishError) as e:
            publish(work, PublishSettings(remotes=remotes), now=T0, env=env, log=logged.append)
        shown = "\n".join([str(e.value), repr(e.value), e.value.url, *logged])
        assert "401" in shown or "Authentication failed" in shown or "could not read" in shown
        for s in secrets:
            assert s not in shown
    # The tokens really went to the server (the test would catch a leak).
    sent = [r.headers.get("authorization", "") for r in server.requests]
    decoded = " ".join(base64.b64decode(h.split()[1]).decode() for h in sent if h)
    assert URL_TOKEN in decoded and ENV_TOKEN in decoded

    # The command line: every byte of stdout and stderr.
    script = (
        "import sys, typer\nfrom newsmirror.cli_ops import register\n"
        "app = typer.Typer()\n@app.callback()\ndef main() -> None: pass\n"
        "register(app)\napp(sys.argv[1:])\n"
    )
    for extra in ([], ["--remote", f"{server.base_url}/other.git", "--json"]):
        proc = subprocess.run(
            [sys.executable, "-c", script, "publish", "-c", str(work / "newsmirror.toml"), *extra],
            capture_output=True, text=True, env=env, timeout=60, check=False,
        )  # fmt: skip
        assert proc.returncode == 1, proc.stderr
        assert "newsmirror: publish:" in proc.stderr
        for s in secrets:
            assert s not in proc.stdout + proc.stderr


# -- the workflow init writes ---------------------------------------------------


def test_workflow_has_the_steps_and_passes_actionlint(tmp_path: Path) -> None:
    files = render_scaffold(config_text="")
    text = files[".github/workflows/newsmirror.yml"].decode()
    wf = yaml.safe_load(text)
    on = wf[True]  # YAML 1.1 reads the key `on` as true
    assert on["schedule"][0]["cron"].endswith("* * * *") and "workflow_dispatch" in on
    steps = wf["jobs"]["mirror"]["steps"]
    runs = [s.get("run", "") for s in steps]
    uses = [s.get("uses", "") for s in steps]
    assert any(u.startswith("actions/setup-python@") for u in uses)
    cache = next(s for s in steps if s.get("uses", "").startswith("actions/cache@"))
    assert cache["with"]["path"] == ".newsmirror"
    order = [r for r in runs if r.startswith("newsmirror ")]
    assert order == ["newsmirror run", "newsmirror build", "newsmirror publish"]
    upload = next(
        s for s in steps if s.get("uses", "").startswith("actions/upload-pages-artifact@")
    )
    assert upload["with"]["path"] == "_site"
    deploy = wf["jobs"]["deploy"]
    assert deploy["needs"] == "mirror" and deploy["permissions"]["pages"] == "write"
    assert deploy["steps"][0]["uses"].startswith("actions/deploy-pages@")
    assert "--force" not in text and "push -f" not in text

    exe = shutil.which("actionlint")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("actionlint is not installed (the test extras should bring it)")
        pytest.skip("actionlint is not installed")
    wf_dir = tmp_path / ".github" / "workflows"
    wf_dir.mkdir(parents=True)
    (wf_dir / "newsmirror.yml").write_text(text)
    proc = subprocess.run(
        [exe, "-no-color", ".github/workflows/newsmirror.yml"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
