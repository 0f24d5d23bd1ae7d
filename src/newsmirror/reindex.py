"""Rebuild the index from the mirror's files alone: the repository is the backup.

Posts (``_posts/``, ``_archive`` included) give the articles table; kept
versions under ``_revisions/`` give the revisions table. Files are streamed one
at a time, so memory stays flat however large the archive.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .article import derive_keys
from .assets import index_post_images
from .config import Config
from .errors import ItemError
from .fsutil import MirrorFiles, MirrorLock, iter_posts
from .mirror import REVISIONS_DIR
from .models import Article
from .postfile import parse_post
from .store import Store


@dataclass(frozen=True, slots=True)
class ReindexReport:
    posts: int
    revisions: int
    skipped: tuple[str, ...]  # "path: cause" for files that could not be read


def _read(path: Path, root: Path, skipped: list[str]) -> Article | None:
    rel = path.relative_to(root).as_posix()
    try:
        art = parse_post(path.read_text(encoding="utf-8"), path=rel).to_article()
    except (ItemError, UnicodeDecodeError, OSError) as e:
        skipped.append(f"{rel}: {e}")
        return None
    return art


def _posts(config: Config, skipped: list[str]) -> Iterator[Article]:
    root = config.root
    for path in iter_posts(root / config.mirror.posts_dir):
        art = _read(path, root, skipped)
        if art is not None and art.key:
            yield art


def reindex(config: Config) -> ReindexReport:
    """Replace the index's articles and revisions with what the files say."""
    root = config.root
    skipped: list[str] = []
    posts = revisions = 0
    files = MirrorFiles(root)
    with MirrorLock(root), Store(config.store_target) as store, store.batch():
        store.clear_articles()
        for art in _posts(config, skipped):
            keys = derive_keys(art)
            if store.find(art.key) is not None:
                skipped.append(f"{art.path}: same key as another post ({art.key})")
                continue
            store.put(art, guid_key=keys.guid_key, fp=keys.fp)
            index_post_images(store, files, art.key, art.content, art.changed or art.fetched)
            posts += 1
        for path in iter_posts(root / REVISIONS_DIR):
            old = _read(path, root, skipped)
            if old is None:
                continue
            stored = old.changed or old.first_seen or old.fetched
            store.add_revision(old.key, old.revision, old.content_hash, old.title, stored, old.path)
            revisions += 1
    return ReindexReport(posts=posts, revisions=revisions, skipped=tuple(skipped))
