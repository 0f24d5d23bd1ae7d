"""Extraction quality: word-level F1 of our extract_page(...).text against hand-checked
reference text, next to plain ``trafilatura.extract(body)`` (default settings) on the same pages.

    python bench/extract_quality.py [--quiet]

Pages: the real pages of shared/corpus/pages (references: tests/extract_refs.py selectors,
computed from the page at run time) and the synthetic pages of tests/fixtures/pages.
Tokens: CJK characters one each, other text split on whitespace and punctuation.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from extract_refs import REFS, corpus_dir, reference_text, synthetic_pages, word_f1  # noqa: E402
from newsmirror.extract import extract_page  # noqa: E402


@dataclass(frozen=True, slots=True)
class Score:
    page: str
    group: str  # "corpus" | "synthetic"
    ours: float
    trafilatura: float
    method: str


def pages() -> list[tuple[str, str, bytes, str]]:
    """(name, group, body, reference text) for every page available."""
    out: list[tuple[str, str, bytes, str]] = []
    corpus = corpus_dir()
    if corpus is not None:
        for ref in REFS:
            body = (corpus / "pages" / ref.path).read_bytes()
            out.append((ref.path, "corpus", body, reference_text(body.decode("utf-8"), ref)))
    for page, ref_text in synthetic_pages():
        out.append((page.name, "synthetic", page.read_bytes(), ref_text))
    return out


def measure() -> list[Score]:
    import trafilatura

    scores = []
    for name, group, body, ref in pages():
        ours = extract_page(body, url=f"https://example.com/{name}")
        plain = trafilatura.extract(body) or ""
        scores.append(Score(name, group, word_f1(ours.text, ref), word_f1(plain, ref), ours.method))
    return scores


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quiet", action="store_true", help="only the means")
    args = ap.parse_args()
    start = time.perf_counter()
    scores = measure()
    if not args.quiet:
        print(f"{'page':46s} {'ours':>6s} {'traf.':>6s}  method")
        for s in scores:
            print(f"{s.page:46s} {s.ours:6.3f} {s.trafilatura:6.3f}  {s.method}")
    print()
    for group in ("corpus", "synthetic"):
        part = [s for s in scores if s.group == group]
        if part:
            print(
                f"{group:10s} pages={len(part):3d}  mean F1 ours={mean([s.ours for s in part]):.4f}"
                f"  trafilatura={mean([s.trafilatura for s in part]):.4f}"
            )
    print(f"({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
