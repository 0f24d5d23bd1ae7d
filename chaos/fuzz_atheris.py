"""Coverage-guided fuzzing (atheris / libFuzzer) of the feed parser and the HTML cleaner.

    python chaos/fuzz_atheris.py --minutes 10 [--target parse|clean|both] [--jobs 1]

Needs ``pip install atheris``. The harness runs libFuzzer in a child for the given
time, seeded with small documents (synthetic feeds, the hostile vectors of
tests/test_hostile.py, and the real corpus feeds when ``shared/corpus`` is beside the
checkout), then prints the iterations run and the crashes found. A crash is any
exception other than the stage's own error (ParseError for parse, ItemError for
clean), or cleaner output that is not inert or not a fixed point; its input is kept
under ``chaos/crashes/``. Exit status: 0 without crashes, 1 with.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CRASHES = ROOT / "chaos" / "crashes"
ACTIVE_TAGS = frozenset(
    ["script", "style", "iframe", "object", "embed", "svg", "math", "base", "meta", "form", "link"]
)


def not_inert(out: str) -> str:
    """Why the cleaner's output could act in a browser ("" when it is inert): read as
    a browser-like parser would (lxml), never by pattern over escaped text."""
    from lxml import html as lxml_html

    if "\n" in out:
        return "raw newline"
    if not out:
        return ""
    for el in lxml_html.fragment_fromstring(out, create_parent="div").iter():
        if isinstance(el.tag, str) and el.tag.lower() in ACTIVE_TAGS:
            return f"<{el.tag}>"
        for name, value in el.attrib.items():
            v = re.sub(r"[\x00-\x20]", "", value).lower()
            if name.lower().startswith("on") or name in ("style", "srcdoc"):
                return f"{el.tag}@{name}"
            if v.startswith(("javascript:", "vbscript:", "data:text")):
                return f"{el.tag}@{name}={value[:40]}"
    return ""


def seeds(folder: Path) -> int:
    """Write the seed inputs; return how many."""
    sys.path.insert(0, str(ROOT))
    from tests.faults import entity_bomb, good_feed, rss
    from tests.test_hostile import hostile_atom, hostile_json, hostile_rss, vectors

    base = "http://127.0.0.1:9"
    vs = vectors()
    docs = [good_feed(base, "s"), entity_bomb(), hostile_rss(base, vs[:20]), hostile_atom(base, vs),
            hostile_json(base, vs), rss([("標題", f"{base}/a", "<p>內文</p>")], decl="big5").encode()]  # fmt: skip
    docs += [v.encode() for _, _, v in vs]
    corpus = ROOT.parent / "shared" / "corpus" / "feeds"
    if corpus.is_dir():
        docs += [p.read_bytes()[:65536] for p in sorted(corpus.rglob("*")) if p.is_file()]
    for i, d in enumerate(docs):
        (folder / f"seed-{i:03d}").write_bytes(d)
    return len(docs)


def worker(target: str, argv: list[str]) -> None:
    """The libFuzzer process: instrument newsmirror, then fuzz one input at a time."""
    import atheris

    with atheris.instrument_imports(include=["newsmirror"]):
        from newsmirror.clean import CleanOptions, clean_html
        from newsmirror.clean_text import html_to_text
        from newsmirror.errors import ItemError, ParseError
        from newsmirror.parse import parse_feed

    opts = CleanOptions(base_url="http://127.0.0.1/a/1")

    def fuzz_parse(data: bytes) -> None:
        try:
            feed = parse_feed(data, source="fz", url="http://127.0.0.1/feed")
        except ParseError:
            return
        for e in feed.entries:
            if "\n" in e.title:
                raise AssertionError(f"multi-line title {e.title!r}")

    def fuzz_clean(data: bytes) -> None:
        text = atheris.FuzzedDataProvider(data).ConsumeUnicodeNoSurrogates(len(data))
        try:
            out = clean_html(text, opts)
        except ItemError:
            return
        why = not_inert(out)
        if why:
            raise AssertionError(f"not inert ({why}): {out[:300]!r}")
        if clean_html(out, opts) != out:
            raise AssertionError(f"not a fixed point: {out[:300]!r}")
        html_to_text(out)

    def one(data: bytes) -> None:
        if target == "parse":
            fuzz_parse(data)
        elif target == "clean":
            fuzz_clean(data)
        elif data[:1] and data[0] & 1:
            fuzz_clean(data[1:])
        else:
            fuzz_parse(data[1:])

    atheris.Setup(argv, one)
    atheris.Fuzz()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--target", choices=("parse", "clean", "both"), default="both")
    ap.add_argument("--max-len", type=int, default=65536)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args, rest = ap.parse_known_args()
    if args.worker:
        worker(args.target, [sys.argv[0], *rest])
        return 0
    try:
        import atheris  # noqa: F401
    except ImportError:
        print("atheris is not installed: pip install atheris", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="nm-fuzz-"))
    (work / "corpus").mkdir()
    n_seeds = seeds(work / "corpus")
    CRASHES.mkdir(parents=True, exist_ok=True)
    seconds = max(1, int(args.minutes * 60))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--target", args.target,
           f"-max_total_time={seconds}", f"-max_len={args.max_len}", "-rss_limit_mb=2048",
           "-timeout=20", f"-artifact_prefix={CRASHES}/", "-print_final_stats=1",
           str(work / "corpus")]  # fmt: skip
    started = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    log = proc.stdout + proc.stderr
    (work / "fuzz.log").write_text(log, encoding="utf-8")
    runs = re.findall(r"stat::number_of_executed_units:\s*(\d+)", log) or re.findall(
        r"Done (\d+) runs", log
    )
    iterations = int(runs[-1]) if runs else 0
    if not iterations:  # stopped early (a crash): the last status line says how far it got
        found = re.findall(r"#(\d+)\s", log)
        iterations = int(found[-1]) if found else 0
    crashed = proc.returncode != 0 or "Uncaught Python exception" in log
    artifacts = re.findall(r"Test unit written to (\S+)", log)
    print(f"target {args.target}: {iterations} iterations in {time.monotonic() - started:.0f}s "
          f"({n_seeds} seeds), {1 if crashed else 0} crash(es)")  # fmt: skip
    if crashed:
        tail = (
            log[log.find("Uncaught Python exception") :][:3000]
            if "Uncaught" in log
            else log[-3000:]
        )
        print(tail)
        for a in artifacts:
            print(f"crash input kept: {a}")
    shutil.rmtree(work, ignore_errors=True)
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
