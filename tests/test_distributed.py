"""The distributed run: real Celery workers (subprocesses) on a real Redis, the
index on a real PostgreSQL, feeds on loopback. Its mirror must be the
embedded run's, byte for byte, and a worker killed mid-run must cost nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from newsmirror.config import Config
from newsmirror.loopback import LoopbackServer
from newsmirror.models import OutcomeKind, RunReport
from newsmirror.pipeline import run
from newsmirror.samples import sample_site, sample_sources
from newsmirror.store import Store, parse_ts

from .helpers import make_mirror, snapshot
from .servers import Workers
from .test_assets import png
from .test_pipeline import corpus_sources

NOW = parse_ts("2026-11-28T08:00:00.000Z")
SKIP = (".newsmirror", "newsmirror.toml")


def engine_toml(redis: str, *, visibility: int = 3600) -> str:
    return (
        f'[engine]\nkind = "celery"\nbroker = "{redis}"\nvisibility_timeout = {visibility}\n'
        "task_time_limit = 120\n\n"
    )


@pytest.fixture
def workers(tmp_path: Path, redis_url: str) -> Iterator[Callable[..., Workers]]:
    made: list[Workers] = []

    def start(n: int, *, visibility: int = 3600, concurrency: int = 1) -> Workers:
        folder = tmp_path / f"workers{len(made)}"
        cfg = make_mirror(folder, [], extra=engine_toml(redis_url, visibility=visibility))
        w = Workers(cfg.path)  # type: ignore[arg-type]
        made.append(w)
        w.start(n, concurrency=concurrency)
        return w

    yield start
    for w in made:
        w.stop()


def relaxed(cfg: Config) -> Config:
    """The same mirror with patient fetch settings: these tests compare two runs
    on a loaded machine, and a timeout in one of them is not what they test."""
    from newsmirror.config import load_config

    assert cfg.path is not None
    text = cfg.path.read_text(encoding="utf-8").replace(
        "retries = 0\nconnect_timeout = 3\nread_timeout = 5\ntotal_timeout = 10",
        "retries = 1\nconnect_timeout = 10\nread_timeout = 30\ntotal_timeout = 60",
    )
    assert "total_timeout = 60" in text
    cfg.path.write_text(text, encoding="utf-8")
    return load_config(cfg.path)


def errors(report: RunReport) -> list[tuple[str, str]]:
    return [(r.slug, r.error) for r in report.sources]


def outcomes(report: RunReport) -> list[tuple[str, str, str]]:
    return sorted((o.source, o.url, o.kind.value) for r in report.sources for o in r.outcomes)


def test_two_workers_over_the_corpus_make_the_embedded_mirror(
    tmp_path: Path,
    server: LoopbackServer,
    corpus: Path,
    redis_url: str,
    postgres_url: str,
    workers: Callable[..., Workers],
) -> None:
    sources = corpus_sources(server, corpus)
    embedded = relaxed(make_mirror(tmp_path / "embedded", sources))
    dist = relaxed(
        make_mirror(
            tmp_path / "dist",
            sources,
            extra=engine_toml(redis_url) + f'[store]\nurl = "{postgres_url}"\n',
        )
    )
    workers(2)
    one = run(embedded, now=NOW)
    two = run(dist, now=NOW)
    assert errors(two) == errors(one) and not any(e for _, e in errors(one)), (errors(one), errors(two))
    assert [r.outcomes for r in two.sources] == [r.outcomes for r in one.sources]
    assert two.total(OutcomeKind.NEW) > 100
    assert snapshot(dist.root, skip=SKIP) == snapshot(embedded.root, skip=SKIP)
    with Store(embedded.store_target) as a, Store(dist.store_target) as b:
        assert a.dump() == b.dump()
    # The validators went back to the workers: the second run is all 304s.
    server.conditional_hits.clear()
    again = run(dist, now=NOW)
    assert all(r.not_modified for r in again.sources)
    assert sum(server.conditional_hits.values()) == len(sources)


def serve_samples(server: LoopbackServer, *, delay: float = 0.0) -> list[tuple[str, str, str]]:
    for i, f in enumerate(sample_site(server.base_url, items_per_feed=12)):
        slow = delay if "/feeds/" not in f.path and f.path.endswith(".html") else 0.0
        if f.path.endswith(".svg"):  # SVG is never kept: serve a picture the mirror keeps
            server.add(f.path, png((i * 40 % 256, 90, 200)), content_type="image/png")
            continue
        server.add(f.path, f.body, content_type=f.content_type, delay=slow)
    return [(s["name"], s["slug"], s["url"]) for s in sample_sources(server.base_url)]


# Pages and images fetched: the per-item tasks and the run's own image step.
PAGES = '[images]\nenabled = true\n\n[defaults]\nfulltext = "auto"\n\n'


def mirror(root: Path, sources: list[tuple[str, str, str]], extra: str = "") -> Config:
    return relaxed(make_mirror(root, sources, extra=extra, defaults=PAGES))


def test_pages_and_images_through_workers_match_the_embedded_run(
    tmp_path: Path, server: LoopbackServer, redis_url: str, workers: Callable[..., Workers]
) -> None:
    sources = serve_samples(server)
    embedded = mirror(tmp_path / "embedded", sources)
    dist = mirror(tmp_path / "dist", sources, engine_toml(redis_url))
    workers(2)
    one = run(embedded, now=NOW)
    pages_before = sum(n for p, n in server.hits.items() if p.endswith(".html"))
    seen: list[tuple[str, str, int, int]] = []
    two = run(dist, now=NOW, progress=lambda *a: seen.append(a))
    pages = sum(n for p, n in server.hits.items() if p.endswith(".html")) - pages_before
    # The usual progress: items per source as they come back and are written, then done.
    assert [a[0] for a in seen if a[1] == "done"] == [slug for _, slug, _ in sources]
    for slug in (s for _, s, _ in sources):
        mine = [a for a in seen if a[0] == slug and a[1] == "items"]
        assert mine and mine[-1][2] == mine[-1][3], slug
    assert pages > 10  # the workers fetched article pages
    assert [r.outcomes for r in two.sources] == [r.outcomes for r in one.sources]
    assert snapshot(dist.root, skip=SKIP) == snapshot(embedded.root, skip=SKIP)
    assert any(p.startswith("assets/") for p in snapshot(dist.root))


def test_a_worker_killed_mid_run_loses_and_duplicates_nothing(
    tmp_path: Path, server: LoopbackServer, redis_url: str, workers: Callable[..., Workers]
) -> None:
    sources = serve_samples(server)
    embedded = mirror(tmp_path / "embedded", sources)
    expected = run(embedded, now=NOW)
    serve_samples(server, delay=0.1)  # now pages are slow: the kill lands mid-page
    dist = mirror(tmp_path / "dist", sources, engine_toml(redis_url, visibility=4))
    pool = workers(2, visibility=4)
    server.reset()
    box: dict[str, RunReport | BaseException] = {}

    def go() -> None:
        try:
            box["report"] = run(dist, now=NOW)
        except BaseException as e:  # noqa: BLE001 - handed to the test thread
            box["report"] = e

    t = threading.Thread(target=go)
    t.start()
    # Kill one worker while pages are being fetched.
    deadline = time.monotonic() + 60
    while sum(n for p, n in server.hits.items() if p.endswith(".html")) < 4:
        assert time.monotonic() < deadline and t.is_alive(), "the run never reached the pages"
        time.sleep(0.02)
    pool.kill(0)
    t.join(240)
    assert not t.is_alive(), "the run did not finish after a worker was killed"
    report = box["report"]
    assert isinstance(report, RunReport), report
    assert outcomes(report) == outcomes(expected)  # every item once, none failed extra
    assert [r.outcomes for r in report.sources] == [r.outcomes for r in expected.sources]
    assert snapshot(dist.root, skip=SKIP) == snapshot(embedded.root, skip=SKIP)
