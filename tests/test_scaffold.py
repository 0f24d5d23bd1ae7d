"""Tests for newsmirror.scaffold: the files `newsmirror init` writes, and a real Jekyll build."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote

import lxml.html
import pytest
import yaml

from newsmirror.errors import ConfigError
from newsmirror.scaffold import (
    DEFAULT_TIMEZONE,
    init_mirror,
    jekyll_available,
    jekyll_env,
    render_scaffold,
)

CONFIG = (
    '[[sources]]\nname = "(臺)測試通訊社"\nslug = "test"\nurl = "https://feeds.example.com/t.xml"\n'
)

EXPECTED = {
    "newsmirror.toml",
    "_config.yml",
    "_layouts/default.html",
    "_layouts/post.html",
    "index.html",
    "Gemfile",
    ".gitignore",
    ".github/workflows/newsmirror.yml",
    "README.md",
}

TEMPLATES = Path(__file__).resolve().parents[1] / "src" / "newsmirror" / "templates" / "mirror"


def _rel(root: Path, paths: list[Path]) -> set[str]:
    return {p.relative_to(root).as_posix() for p in paths}


def _workflow(root: Path) -> dict:
    return yaml.safe_load((root / ".github/workflows/newsmirror.yml").read_text("utf-8"))


# ---------------------------------------------------------------- the files


def test_init_writes_every_file(tmp_path: Path) -> None:
    root = tmp_path / "new" / "mirror"  # parents are created
    written = init_mirror(root, config_text=CONFIG)
    assert _rel(root, written) == EXPECTED
    assert all(p.is_file() for p in written)
    assert (root / "newsmirror.toml").read_text("utf-8") == CONFIG
    assert written[-1].name == "newsmirror.toml"  # written last: its presence means a full init
    # nothing else: no temporary files, no template names leaking through
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert on_disk == EXPECTED
    assert oct((root / "_config.yml").stat().st_mode & 0o777) == oct(0o644)


def test_gitignore_keeps_state_and_output_out(tmp_path: Path) -> None:
    init_mirror(tmp_path, config_text=CONFIG)
    lines = (tmp_path / ".gitignore").read_text("utf-8").splitlines()
    for entry in (".newsmirror/", "_site/", ".jekyll-cache/", ".sass-cache/", "vendor/"):
        assert entry in lines


def test_second_init_keeps_existing_files(tmp_path: Path) -> None:
    init_mirror(tmp_path, config_text=CONFIG)
    cfg = tmp_path / "_config.yml"
    cfg.write_text("title: mine\n", "utf-8")
    (tmp_path / "index.html").unlink()
    (tmp_path / "newsmirror.toml").write_text("# edited\n", "utf-8")

    again = init_mirror(tmp_path, config_text=CONFIG)
    assert _rel(tmp_path, again) == {"index.html"}  # only the missing one
    assert cfg.read_text("utf-8") == "title: mine\n"
    assert (tmp_path / "newsmirror.toml").read_text("utf-8") == "# edited\n"

    forced = init_mirror(tmp_path, config_text=CONFIG, force=True)
    assert _rel(tmp_path, forced) == {"_config.yml", "newsmirror.toml"}  # identical ones untouched
    assert "title: mine" not in cfg.read_text("utf-8")
    assert init_mirror(tmp_path, config_text=CONFIG, force=True) == []


def test_templates_ship_as_package_data() -> None:
    # setuptools' "templates/**/*" glob skips dot files: the tree must hold none.
    names = [p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*")]
    assert names
    assert not [n for n in names if any(part.startswith(".") for part in n.split("/"))]


def test_unknown_timezone_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Mars/Olympus"):
        init_mirror(tmp_path, config_text=CONFIG, timezone="Mars/Olympus")
    assert not list(tmp_path.iterdir())  # nothing half-written


# ---------------------------------------------------------------- YAML


def test_config_yml_parses_and_is_pages_safe(tmp_path: Path) -> None:
    init_mirror(tmp_path, config_text=CONFIG)
    cfg = yaml.safe_load((tmp_path / "_config.yml").read_text("utf-8"))
    assert cfg["timezone"] == DEFAULT_TIMEZONE == "Etc/GMT-8"
    assert cfg["markdown"] == "kramdown"
    assert cfg["permalink"] == "/:year/:month/:day/:title:output_ext"
    assert cfg["excerpt_separator"] == ""
    for entry in (
        "newsmirror.toml",
        ".newsmirror/",
        "_revisions/",
        "Gemfile",
        "vendor/",
        "README.md",
    ):
        assert entry in cfg["exclude"]
    assert not {"theme", "remote_theme", "plugins", "gems"} & set(cfg)


def test_title_survives_yaml(tmp_path: Path) -> None:
    title = "新聞 \"鏡像\": [測試] --- #1 'x' {y}"
    init_mirror(tmp_path, config_text=CONFIG, title=title, timezone="Asia/Taipei")
    cfg = yaml.safe_load((tmp_path / "_config.yml").read_text("utf-8"))
    assert cfg["title"] == title
    assert cfg["timezone"] == "Asia/Taipei"
    assert (tmp_path / "README.md").read_text("utf-8").startswith(f"# {title}\n")


def test_layouts_load_nothing_from_other_hosts() -> None:
    for name in ("_layouts/default.html", "_layouts/post.html", "index.html"):
        text = (TEMPLATES / name).read_text("utf-8")
        assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", text), name
        assert "@import" not in text and "url(" not in text, name
    default = (TEMPLATES / "_layouts/default.html").read_text("utf-8")
    assert '<meta name="referrer" content="no-referrer">' in default
    assert "prefers-color-scheme:dark" in default
    assert "<html lang=" in default


def test_jekyll_available_matches_path() -> None:
    assert jekyll_available() is (shutil.which("jekyll") is not None)
    assert jekyll_env()["JEKYLL_NO_BUNDLER_REQUIRE"] == "true"


def test_render_scaffold_is_pure() -> None:
    files = render_scaffold(config_text=CONFIG)
    assert set(files) == EXPECTED
    assert b"<<" not in files["_config.yml"] and b"<%" not in files["README.md"]
    # the Liquid of the layouts and the ${{ }} of the workflow pass through untouched
    assert b"{{ content }}" in files["_layouts/default.html"]
    assert b"${{ github.ref }}" in files[".github/workflows/newsmirror.yml"]


# ---------------------------------------------------------------- real Jekyll

needs_jekyll = pytest.mark.skipif(shutil.which("jekyll") is None, reason="needs jekyll")

POST_ZH = """\
---
layout: post
title: "杭州測試標題：「合成」新聞 第一則"
date: 2023-01-11T07:04:03.000Z
author: (臺)測試通訊社
from: https://news.example.com/news/acn/202301110001.aspx
tags: [ (臺)測試通訊社 ]
comments: True
categories: [ (臺)測試通訊社 ]
---
<!--1673420643000-->
[杭州測試標題：「合成」新聞 第一則](https://news.example.com/news/acn/202301110001.aspx)
------

<div>
<div><p>（測試社台北11日電）這是第一段合成文字，用來確認鏡像頁面能完整顯示。</p><p>第二段提到西湖邊的晨霧與早市，僅供測試。</p></div>
</div>
"""

# 20:30 UTC is already the next day in UTC+8: the URL must say 2023/01/12.
POST_LATE = """\
---
layout: post
title: "深夜快訊: 測試 \\"引號\\" 與 [括號]"
date: 2023-01-11T20:30:00.000Z
author: 測試電台
from: https://radio.example.org/zh/a/2.html
tags: [ 測試電台 ]
comments: True
categories: [ 測試電台 ]
---
<!--1673469000000-->
[深夜快訊: 測試 "引號" 與 [括號]](https://radio.example.org/zh/a/2.html)
------

<div>
<p>深夜段落：凌晨時分的合成報導文字。</p>
</div>
"""

POST_ARCHIVED = """\
---
layout: post
title: "封存測試文章"
date: 2022-12-01T01:00:00.000Z
author: 測試電台
from: https://radio.example.org/zh/a/1.html
---
<!--1669856400000-->
[封存測試文章](https://radio.example.org/zh/a/1.html)
------

<div>
<p>封存段落：這篇文章放在封存資料夾內。</p>
</div>
"""

LIST_PAGE = """\
---
title: (臺)測試通訊社
---
(臺)測試通訊社
------
1-11 [杭州測試標題：「合成」新聞 第一則](https://news.example.com/news/acn/202301110001.aspx)
1-12 [深夜快訊](https://radio.example.org/zh/a/2.html)
"""

EXTERNAL = re.compile(r"^\s*(https?:)?//", re.I)


def _jekyll_build(mirror: Path, dest: Path) -> str:
    proc = subprocess.run(
        ["jekyll", "build", "--safe", "--destination", str(dest)],
        cwd=mirror,
        env=jekyll_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert not re.search(r"warn|error|deprecat", output, re.I), output
    return output


def _page(path: Path) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(path.read_bytes())


def _external_loads(page: lxml.html.HtmlElement) -> list[str]:
    """src/href/srcset of everything that loads (not <a>) and points at another host."""
    found = []
    for el in page.iter():
        if not isinstance(el.tag, str) or el.tag == "a":
            continue
        for attr in ("src", "href", "srcset", "poster", "data"):
            value = el.get(attr)
            if value and EXTERNAL.match(value):
                found.append(f"<{el.tag} {attr}={value}>")
    for style in page.iter("style"):
        if "url(" in (style.text or "") or "@import" in (style.text or ""):
            found.append("<style> with url()/@import")
    return found


@needs_jekyll
@pytest.mark.jekyll
@pytest.mark.timeout(180)
def test_jekyll_builds_the_mirror(tmp_path: Path) -> None:
    mirror, site = tmp_path / "mirror", tmp_path / "site"
    init_mirror(mirror, config_text=CONFIG)
    posts = mirror / "_posts"
    (posts / "_archive").mkdir(parents=True)
    (posts / "2023-01-11-杭州測試標題.md").write_text(POST_ZH, "utf-8")
    (posts / "2023-01-11-深夜快訊.md").write_text(POST_LATE, "utf-8")
    (posts / "_archive" / "2022-12-01-封存測試文章.md").write_text(POST_ARCHIVED, "utf-8")
    (mirror / "lists").mkdir()
    (mirror / "lists" / "test.md").write_text(LIST_PAGE, "utf-8")
    (mirror / ".newsmirror").mkdir()
    (mirror / ".newsmirror" / "index.sqlite").write_bytes(b"state")
    (mirror / "_revisions").mkdir()
    (mirror / "_revisions" / "r.md").write_text("---\ntitle: r\n---\nold\n", "utf-8")

    _jekyll_build(mirror, site)
    assert not (mirror / "Gemfile.lock").exists()  # Bundler stayed out of it

    built = sorted(p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file())
    # Chinese file names give Chinese URLs; the date part is in UTC+8.
    assert built == [
        "2023/01/11/杭州測試標題.html",
        "2023/01/12/深夜快訊.html",
        "index.html",
        "lists/test.html",
    ]  # excluded: newsmirror.toml, README.md, Gemfile, .newsmirror/, _revisions/
    # and _posts/_archive/: Jekyll skips "_"-prefixed folders inside _posts.

    post = _page(site / "2023/01/11/杭州測試標題.html")
    assert post.get("lang") == "zh"
    assert post.findtext(".//h1") == "杭州測試標題：「合成」新聞 第一則"
    assert "這是第一段合成文字，用來確認鏡像頁面能完整顯示。" in post.text_content()
    assert post.find(".//time").get("datetime") == "2023-01-11T15:04:03+08:00"
    assert post.find('.//p[@class="meta"]//span[@class="src"]').text == "(臺)測試通訊社"
    (original,) = [a for a in post.iter("a") if a.text == "原文"]
    assert original.get("href") == "https://news.example.com/news/acn/202301110001.aspx"

    late = _page(site / "2023/01/12/深夜快訊.html")
    assert late.findtext(".//h1") == '深夜快訊: 測試 "引號" 與 [括號]'
    assert "深夜段落：凌晨時分的合成報導文字。" in late.text_content()

    index = _page(site / "index.html")
    links = {a.text_content(): a.get("href") for a in index.iter("a")}
    assert links["杭州測試標題：「合成」新聞 第一則"].startswith("/2023/01/11/%E6%9D%AD")
    for title in ("杭州測試標題：「合成」新聞 第一則", '深夜快訊: 測試 "引號" 與 [括號]'):
        assert (site / unquote(links[title]).lstrip("/")).is_file()
    assert "封存測試文章" not in links
    titles = [li.find("a").text for li in index.iterfind('.//ul[@class="posts"]/li')]
    assert titles[0].startswith("深夜快訊")  # newest first
    assert links["(臺)測試通訊社"] == "/lists/test.html"

    listing = _page(site / "lists/test.html")
    assert listing.findtext(".//h2") == "(臺)測試通訊社"
    assert len(listing.findall(".//p/br")) == 1  # hard_wrap: one item per line

    pages = list(site.rglob("*.html"))
    assert len(pages) == 4
    for page in pages:
        assert _external_loads(_page(page)) == [], page
        assert b"archive" not in page.read_bytes().lower()


def _corpus() -> Path | None:
    env = os.environ.get("NEWSMIRROR_CORPUS")
    path = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "corpus"
    return path if (path / "classic-post.md").is_file() else None


@needs_jekyll
@pytest.mark.jekyll
@pytest.mark.timeout(180)
def test_jekyll_builds_the_real_classic_post(tmp_path: Path) -> None:
    corpus = _corpus()
    if corpus is None:
        pytest.skip("corpus not found")
    mirror, site = tmp_path / "mirror", tmp_path / "site"
    init_mirror(mirror, config_text=CONFIG)
    (mirror / "_posts").mkdir()
    name = "2023-01-11-杭州市與阿里巴巴簽訂深化戰略協議-赴螞蟻研調.md"
    shutil.copyfile(corpus / "classic-post.md", mirror / "_posts" / name)
    _jekyll_build(mirror, site)
    page = site / "2023/01/11/杭州市與阿里巴巴簽訂深化戰略協議-赴螞蟻研調.html"
    text = _page(page).text_content()
    assert "阿里巴巴創辦人馬雲放棄螞蟻的控制權後" in text
    assert "2023-01-11 15:04" in text  # 07:04:03Z shown in UTC+8
