"""MirrorFiles' lookups after a folder has been listed (see fsutil._Folder): the same
answers as asking the file system, symlinks included."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsmirror.fsutil import MirrorFiles, PathEscapeError, _Folder


def _listed(files: MirrorFiles, folder: str) -> None:
    """Look in ``folder`` until MirrorFiles lists it."""
    for i in range(_Folder.LIST_AFTER):
        files.exists(f"{folder}/probe-{i}.md")
    assert files._dirs[folder].names is not None


def test_a_listed_folder_answers_like_the_file_system(tmp_path: Path) -> None:
    root = tmp_path / "m"
    (root / "_posts").mkdir(parents=True)
    (root / "_posts" / "old.md").write_text("old", encoding="utf-8")
    files = MirrorFiles(root)
    _listed(files, "_posts")
    assert files.read_text("_posts/old.md") == "old"
    assert files.exists("_posts/old.md") and not files.exists("_posts/new.md")
    assert files.read_text("_posts/new.md") is None
    assert files.write("_posts/new.md", "new")
    assert files.read_text("_posts/new.md") == "new" and files.exists("_posts/new.md")
    assert not files.write("_posts/new.md", "new", if_changed=True)
    assert files.copy_once("_posts/new.md", "_posts/copy.md")
    assert not files.copy_once("_posts/old.md", "_posts/copy.md")  # first copy wins
    assert files.read_text("_posts/copy.md") == "new"
    files.move("_posts/old.md", "_posts/_archive/old.md")
    assert not files.exists("_posts/old.md") and files.read_text("_posts/old.md") is None
    _listed(files, "_posts/_archive")
    assert files.read_text("_posts/_archive/old.md") == "old"
    files.move("_posts/_archive/old.md", "_posts/old.md")
    assert files.read_text("_posts/old.md") == "old"
    assert not files.exists("_posts/_archive/old.md")


def test_a_planted_symlink_is_still_never_followed_out(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.md").write_text("secret", encoding="utf-8")
    root = tmp_path / "m"
    (root / "_posts").mkdir(parents=True)
    (root / "_posts" / "a.md").symlink_to(outside / "secret.md")
    (root / "_posts" / "b.md").symlink_to(outside / "gone.md")
    (root / "_posts" / "c.md").symlink_to(root / "_posts" / "real.md")
    (root / "_posts" / "real.md").write_text("real", encoding="utf-8")
    files = MirrorFiles(root)
    _listed(files, "_posts")
    for rel in ("_posts/a.md", "_posts/b.md"):
        with pytest.raises(PathEscapeError):
            files.read_text(rel)
        with pytest.raises(PathEscapeError):
            files.write(rel, "x")
        with pytest.raises(PathEscapeError):
            files.exists(rel)
    assert (outside / "secret.md").read_text(encoding="utf-8") == "secret"
    assert sorted(p.name for p in outside.iterdir()) == ["secret.md"]
    # A symlink that stays inside the mirror is followed, as before the listing.
    assert files.read_text("_posts/c.md") == "real"
    assert files.write("_posts/c.md", "via link")
    assert (root / "_posts" / "real.md").read_text(encoding="utf-8") == "via link"
    assert (root / "_posts" / "c.md").is_symlink()


def test_a_folder_made_after_its_listing(tmp_path: Path) -> None:
    files = MirrorFiles(tmp_path / "m")
    _listed(files, "lists")  # (does not exist yet: an empty listing)
    assert not files.exists("lists/a.md")
    assert files.write("lists/a.md", "a")
    assert files.read_text("lists/a.md") == "a"
