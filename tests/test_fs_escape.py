"""Nothing is ever written outside the mirror's folder: titles, source names, GUIDs and
image names built to escape (``../``, absolute paths, NUL, control characters, Windows
reserved names, 1,000-byte names) go through a real run, ``reindex`` and a site build
in a child process whose every write-like file operation is audited (``sys.addaudithook``);
plus properties of the name functions for any string, and a symlink planted in the
mirror that points outside.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import unicodedata
import zlib
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from newsmirror.config import sources_toml
from newsmirror.fsutil import MirrorFiles, PathEscapeError
from newsmirror.loopback import LoopbackServer
from newsmirror.mirror import revision_path
from newsmirror.models import OutcomeKind
from newsmirror.pipeline import run
from newsmirror.postfile import full_list_filename, list_filename, post_filename

from .faults import RSS_TYPE, rss
from .helpers import FIXED_NOW, OFFLINE, make_mirror

ESCAPES = [
    "../../../../../../tmp/escaped", "/etc/newsmirror-escaped", "..\\..\\windows\\system32\\x",
    "a/../../b", "./../c", "..", ".", "...", "~", "~/x", "-", "_config", "_posts", ".git",
    ".newsmirror", "index.sqlite", "CON", "con.txt", "NUL", "COM1", "LPT9.md", "aux",
    "CONIN$", "x\x00y", "\x01\x02ctrl\x7f\x9b", "名\u202eexe.md", "%2e%2e%2fpct", "..%2f..%2fp",
    "\u2215div\u2215slash", "／全形／", "a:b*c?d\"e<f>g|h", "trailing dot.", "trailing space ",
    "\n\nnewline", "測" * 340, "A" * 1000, "🜁" * 260, "e\u0301" * 300, "\ufeffbom", "\udc80lone",
]  # fmt: skip


def png() -> bytes:
    """A valid 1x1 PNG (so the image is kept, named by its hash)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")
        )

    ihdr = (1).to_bytes(4, "big") * 2 + b"\x08\x02\x00\x00\x00"
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


IMAGE_PATHS = ["/img/..%2f..%2f..%2fescape.png", "/img/%2e%2e/%2e%2e/up.png", "/img/CON.png",
               "/img/" + "a" * 1000 + ".png", "/img/x%00y.png", "/img/..\\..\\w.png"]  # fmt: skip


def escape_feed(base: str) -> bytes:
    items = []
    for i, name in enumerate(ESCAPES):
        clean = "".join(c for c in name if c >= " " and c not in "\x7f\ufffe\uffff" and not 0xD800 <= ord(c) <= 0xDFFF)  # fmt: skip
        imgs = "".join(f'<img src="{base}{p}">' for p in IMAGE_PATHS[i % 2 :: 2])
        items.append((clean or f"空{i}", f"{base}/e/{i}?n={clean[:40]}", f"<p>第{i}則</p>{imgs}"))
    doc = rss(items)
    for i, name in enumerate(ESCAPES):  # GUIDs built to escape as well
        safe = name.replace("&", "&amp;").replace("<", "&lt;")
        safe = "".join(c for c in safe if c >= " " and not 0xD800 <= ord(c) <= 0xDFFF)
        doc = doc.replace(f"<guid>{base}/e/{i}?", f"<guid>{safe or i}|{base}/e/{i}?", 1)
    return doc.encode("utf-8")


AUDIT = r"""
import json, os, sys
root = os.path.realpath(sys.argv[1])
outside, inside = [], [0]
EVENTS = {"os.rename": (0, 1), "os.replace": (0, 1), "os.remove": (0,), "os.mkdir": (0,),
          "os.rmdir": (0,), "os.truncate": (0,), "shutil.copyfile": (1,), "shutil.copytree": (1,),
          "shutil.move": (1,), "os.chmod": (0,), "os.symlink": (1,), "os.link": (1,),
          "os.utime": (0,)}
def note(event, path):
    if isinstance(path, int):
        return
    p = os.path.realpath(os.fsdecode(path))
    if p == root or p.startswith(root + os.sep):
        inside[0] += 1
    elif not p.startswith(("/dev/", "/proc/")):
        outside.append(f"{event} {p}")
def hook(event, args):
    if event == "open":
        path, mode, flags = args
        w = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
        if w and path is not None:
            note(event, path)
    elif event in EVENTS:
        for i in EVENTS[event]:
            if i < len(args) and isinstance(args[i], (str, bytes, os.PathLike)):
                note(event, args[i])
sys.addaudithook(hook)
from newsmirror.config import load_config
from newsmirror.pipeline import run
from newsmirror.reindex import reindex
from newsmirror.store import parse_ts
cfg = load_config(os.path.join(root, "newsmirror.toml"))
report = run(cfg, now=parse_ts(sys.argv[2]))
reindex(cfg)
try:
    from newsmirror.site import SiteSettings, build_site
except ImportError:
    built = False
else:
    build_site(cfg, settings=SiteSettings(search=False))
    built = True
print(json.dumps({"outside": outside, "inside": inside[0], "built": built,
                  "new": sum(1 for s in report.sources for o in s.outcomes if o.kind.value == "new"),
                  "errors": [s.error for s in report.sources if s.error]}))
"""


def test_nothing_is_written_outside_the_mirror(tmp_path: Path, server: LoopbackServer) -> None:
    server.add("/escape.xml", escape_feed(server.base_url), content_type=RSS_TYPE)
    for p in IMAGE_PATHS:
        server.add(p, png(), content_type="image/png")
    names = [
        n for n in ESCAPES if "\x00" not in n and not any(0xD800 <= ord(c) <= 0xDFFF for c in n)
    ]
    triples = [(n.strip() or f"空{i}", f"s{i}", server.url("/escape.xml") + f"?s={i}")
               for i, n in enumerate(names[:12])]  # fmt: skip
    root = tmp_path / "jail" / "m"
    root.mkdir(parents=True)
    (root / "newsmirror.toml").write_text(
        "[fetch]\nretries = 0\n\n" + OFFLINE + sources_toml(triples), encoding="utf-8"
    )
    proc = subprocess.run([sys.executable, "-c", AUDIT, str(root), FIXED_NOW],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["errors"] == []
    assert result["new"] == len(ESCAPES)  # every hostile item kept (once: the feeds repeat)
    assert result["inside"] > len(ESCAPES)  # the audit saw the mirror's own writes
    assert result["outside"] == [], result["outside"][:10]
    assert sorted(p.name for p in (tmp_path / "jail").iterdir()) == ["m"]
    assert not Path("/etc/newsmirror-escaped").exists() and not Path("/tmp/escaped").exists()
    names_on_disk = [p.name for p in root.rglob("*")]
    assert all(len(n.encode()) <= 255 and "\x00" not in n for n in names_on_disk)
    for asset in (root / "assets").rglob("*.*") if (root / "assets").is_dir() else []:
        assert re.fullmatch(r"[0-9a-f]{64}\.(?:png|jpg|gif|webp|avif)", asset.name), asset


def test_a_symlink_out_of_the_mirror_is_never_followed(
    tmp_path: Path, server: LoopbackServer
) -> None:
    server.add("/f.xml", rss([("標題", f"{server.base_url}/a/1", "<p>內文</p>")]).encode(),
               content_type=RSS_TYPE)  # fmt: skip
    outside = tmp_path / "outside"
    outside.mkdir()
    cfg = make_mirror(tmp_path / "m", [("源", "src", server.url("/f.xml"))])
    (cfg.root / "_posts").symlink_to(outside, target_is_directory=True)
    report = run(cfg, now=datetime(2026, 11, 28, tzinfo=UTC))
    (src,) = report.sources
    assert [o.kind for o in src.outcomes] == [OutcomeKind.FAILED]
    assert src.outcomes[0].reason == "path_escape"
    assert list(outside.iterdir()) == []


def test_resolve_refuses_every_escape(tmp_path: Path) -> None:
    files = MirrorFiles(tmp_path / "m")
    for rel in ["../x", "/etc/passwd", "a/../../x", "_posts/../../x", "x\x00y", "//etc/x"]:
        try:
            files.resolve(rel)
        except PathEscapeError:
            continue
        raise AssertionError(f"{rel!r} was allowed")
    assert files.resolve("_posts/../lists/x.md") == files.root / "lists" / "x.md"


WHEN = datetime(2026, 11, 28, tzinfo=UTC)
RESERVED = {"con", "prn", "aux", "nul", "conin$", "conout$"} | {
    f"{d}{i}" for d in ("com", "lpt") for i in "0123456789¹²³"
}


def check_component(name: str) -> None:
    assert name and name not in (".", "..") and not name.startswith((".", "-"))
    assert not any(c in name for c in '/\\\x00:*?"<>|')
    assert not any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") for c in name)
    assert len(name.encode("utf-8")) <= 255  # NAME_MAX of every common file system
    assert name.split(".")[0].lower().rstrip(" ") not in RESERVED


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_every_title_and_name_gives_one_safe_component(text: str) -> None:
    post = post_filename(WHEN, text)
    check_component(post)
    assert len(post.encode("utf-8")) <= 200  # the documented bound of post names
    check_component(list_filename(text))
    full = full_list_filename(text)
    assert full.startswith("all/")
    check_component(full[4:])
    rev = revision_path(f"_posts/{post}", 3)
    assert rev.startswith("_revisions/") and ".." not in rev.split("/")
    files = MirrorFiles(Path("/nonexistent-root/m"))
    for rel in (f"_posts/{post}", f"lists/{full}", rev):
        assert files.root in files.resolve(rel).parents


def test_escape_names_give_safe_components() -> None:
    for text in ESCAPES:
        check_component(post_filename(WHEN, text))
        check_component(list_filename(text))
    assert os.sep == "/"
