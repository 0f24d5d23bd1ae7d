"""``site_rows``: the index rows of a build with their signatures, read by a forked
child; the same rows as read in the build's own process, whatever happens to it."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from newsmirror import site_rows
from newsmirror.config import Config
from newsmirror.site import SiteSettings, build_site
from newsmirror.site_rows import RowReader, sign, signed_rows_here
from newsmirror.store import Store
from tests.test_site import fill, make_config


@pytest.fixture
def mirror(tmp_path: Path) -> Config:
    cfg = make_config(tmp_path / "m")
    fill(cfg, 700)  # more than two batches
    return cfg


def _here(cfg: Config) -> list[tuple[object, ...]]:
    with Store(cfg.store_target) as store:
        return [sign(row, str(cfg.root) + "/") for row in store.site_rows()]


def test_the_child_gives_the_rows_read_here(mirror: Config) -> None:
    reader = RowReader(mirror.store_target, str(mirror.root) + "/")
    assert reader.pid > 0  # (a forked child, on this platform)
    got = list(reader)
    assert got == _here(mirror) and len(got) == 700
    assert reader.pid == 0 and reader.fd == -1  # reaped, pipe closed
    assert len({r[11] for r in got}) == 700


def test_a_failing_child_is_taken_over(mirror: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    parent = os.getpid()
    real = site_rows.signed_rows_here

    def dying(target: Path | str, root: str, skip: int = 0):  # type: ignore[no-untyped-def]
        for n, row in enumerate(real(target, root, skip)):
            if os.getpid() != parent and n == 300:
                raise RuntimeError("the child dies")
            yield row

    monkeypatch.setattr(site_rows, "signed_rows_here", dying)
    got = list(RowReader(mirror.store_target, str(mirror.root) + "/"))
    assert got == _here(mirror)


def test_an_unread_reader_ends_its_child(mirror: Config) -> None:
    reader = RowReader(mirror.store_target, str(mirror.root) + "/")
    it = iter(reader)
    next(it)
    pid = reader.pid
    reader.close()  # (the build failed early): the child may be blocked on a full pipe
    assert reader.pid == 0
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reaped


def test_signature_follows_the_post_file(mirror: Config) -> None:
    root = str(mirror.root) + "/"
    row = next(iter(signed_rows_here(mirror.store_target, root)))
    path = Path(root + row[10])
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert sign(row[:11], root)[11] != row[11]
    path.unlink()
    assert sign(row[:11], root)[11] != row[11]


def test_a_post_edited_by_hand_is_rendered_again(tmp_path: Path) -> None:
    cfg = make_config(tmp_path / "m")
    fill(cfg, 6)
    s = SiteSettings(title="t", search=False)
    out = tmp_path / "site"
    build_site(cfg, out, settings=s)
    with Store(cfg.store_target) as store:
        key, path = next((r[0], r[10]) for r in store.site_rows())
    post = cfg.root / path
    text = post.read_text(encoding="utf-8")
    post.write_text(text.replace("\n</div>", "<p>手改的一段</p>\n</div>", 1), encoding="utf-8")
    rep = build_site(cfg, out, settings=s)
    assert rep.rendered == 1
    assert any("手改的一段" in p.read_text(encoding="utf-8") for p in (out / "a").rglob("*.html"))
    assert key


def test_without_fork(mirror: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "fork")
    reader = RowReader(mirror.store_target, str(mirror.root) + "/")
    assert reader.pid == 0
    assert list(reader) == _here(mirror)


@pytest.mark.parametrize("hold", [0, 1 << 24])
def test_a_child_ahead_of_the_build_holds_or_waits(
    mirror: Config, monkeypatch: pytest.MonkeyPatch, hold: int
) -> None:
    monkeypatch.setattr(site_rows, "HOLD", hold)  # 0: it waits on the pipe at once
    monkeypatch.setattr(site_rows, "BATCH", 16)
    reader = RowReader(mirror.store_target, str(mirror.root) + "/")
    time.sleep(0.5)  # (the child runs ahead meanwhile)
    assert list(reader) == _here(mirror)


def test_the_child_prepares_only_rows_the_manifest_does_not_know(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from newsmirror.site_content import image_mapper, prepare
    from newsmirror.site_files import manifest_path, read_head

    cfg = make_config(tmp_path / "m")
    fill(cfg, 12, images_every=3)
    s = SiteSettings(title="t", search=False)
    out = (tmp_path / "site").resolve()
    root = str(cfg.root) + "/"
    first = list(RowReader.for_site(cfg, out, s))
    assert [len(r) for r in first] == [13] * 12  # no manifest yet: every row prepared
    mapper = image_mapper(root, {})
    assert [r[12] for r in first] == [prepare(r, root, s.images, s.lang, mapper) for r in first]
    build_site(cfg, out, settings=s)
    assert manifest_path(cfg, out).is_file()
    fill(cfg, 4, first=12)
    rows = list(RowReader.for_site(cfg, out, s))
    assert [len(r) for r in rows] == [12] * 16  # fewer new rows than PREPARE_AFTER
    monkeypatch.setattr(site_rows, "PREPARE_AFTER", 2)
    again = RowReader.for_site(cfg, out, s)
    rows = list(again)
    assert [len(r) for r in rows] == [12] * 14 + [13] * 2  # the 3rd and 4th new ones
    path = manifest_path(cfg, out)
    first, files_at = read_head(path.read_bytes())
    kept = first["extra"]["han"]
    assert kept and again.han == kept  # the child took the table of the manifest
    # The child reads the manifest's first part only: the file records (the larger
    # part of a big site's manifest) follow it, and it needs none of them.
    assert "files" not in first and files_at < path.stat().st_size
    path.write_bytes(path.read_bytes()[:files_at])  # (as if they were not there)
    assert site_rows._known(path) == (first["articles"], kept) and len(first["articles"]) == 12


def test_rows_prepared_for_other_settings_are_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(site_rows, "PREPARE_AFTER", 0)
    cfg = make_config(tmp_path / "m")
    fill(cfg, 10, images_every=2)
    s = SiteSettings(title="t", search=False, images="link")
    out_a, out_b = (tmp_path / "a").resolve(), (tmp_path / "b").resolve()
    other = RowReader.for_site(cfg, out_a, SiteSettings(title="t", search=False))
    build_site(cfg, out_a, settings=s, rows=other)
    assert other.han  # (it did prepare rows)
    build_site(cfg, out_b, settings=s)
    files_a = sorted(p.relative_to(out_a) for p in out_a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(out_b) for p in out_b.rglob("*") if p.is_file())
    assert files_a == files_b
    assert all((out_a / f).read_bytes() == (out_b / f).read_bytes() for f in files_a)
    assert "img-link" in "".join((out_a / f).read_text() for f in files_a if f.suffix == ".html")


def test_prepared_rows_make_the_same_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = make_config(tmp_path / "m")
    fill(cfg, 24, images_every=3)
    s = SiteSettings(title="t", search=True, variants=("zh-Hans",))
    out_a, out_b = (tmp_path / "a").resolve(), (tmp_path / "b").resolve()
    build_site(cfg, out_a, settings=s)  # (a first build: the child prepares every row)
    with monkeypatch.context() as m:
        m.delattr(os, "fork")  # the build prepares every row itself
        build_site(cfg, out_b, settings=s)
    files_a = sorted(p.relative_to(out_a) for p in out_a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(out_b) for p in out_b.rglob("*") if p.is_file())
    assert files_a == files_b and len(files_a) > 60
    assert all((out_a / f).read_bytes() == (out_b / f).read_bytes() for f in files_a)


def test_no_fork_beside_other_threads(mirror: Config) -> None:
    import threading

    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        reader = RowReader(mirror.store_target, str(mirror.root) + "/")
        assert reader.pid == 0
        assert list(reader) == _here(mirror)
    finally:
        stop.set()
        t.join()


def test_a_child_with_nothing_to_prepare_imports_no_cleaning(tmp_path: Path) -> None:
    import subprocess
    import sys
    import textwrap

    cfg = make_config(tmp_path / "m")
    fill(cfg, 5)
    out = (tmp_path / "site").resolve()
    build_site(cfg, out, settings=SiteSettings(title="t", search=False))
    code = textwrap.dedent("""
        import marshal, sys
        from pathlib import Path
        from newsmirror.config import load_config
        import newsmirror.site_rows as r

        put = r._Outbox.put

        def spy(self, kind, payload):  # the END message: the modules the child imported
            if kind == r._END:
                heavy = ("lxml", "opencc", "jinja2")
                payload = marshal.dumps(sorted(m for m in sys.modules if m.startswith(heavy)))
            put(self, kind, payload)

        r._Outbox.put = spy
        reader = r.RowReader.for_site(load_config(Path(sys.argv[1])), Path(sys.argv[2]))
        assert reader.pid and len(list(reader)) == 5
        print(reader.han)
    """)
    got = subprocess.run([sys.executable, "-c", code, str(cfg.root / "newsmirror.toml"), str(out)],
                         capture_output=True, text=True, check=True)  # fmt: skip
    assert got.stdout.strip() == "[]"
