"""Article → files and index: the one place that decides new / updated /
unchanged and writes posts, kept revisions, list pages and the archive rotation.

Order of writes, so a run killed at any instant loses nothing and the next
run converges on the same tree:

1. a changed article's previous post is copied to ``_revisions/`` (first copy
   wins, so a rerun never replaces a kept version with a newer one);
2. the post is written atomically;
3. the index rows are committed (by the caller, one transaction per source).

A post on disk the index does not know yet (written before a crash) is
recognised by its ``key`` and overwritten in place, never duplicated.
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from .article import Keys, derive_keys
from .errors import ItemError
from .fsutil import MirrorFiles
from .models import Article, ItemOutcome, OutcomeKind, Source
from .postfile import (
    full_list_filename,
    list_filename,
    post_filename,
    render_full_list,
    render_list,
    render_post,
)
from .postfile_record import PostRecord, parse_post
from .store import Store
from .urls import short_hash

if TYPE_CHECKING:  # the config module imports export, which reads posts through this one
    from .config import Config

REVISIONS_DIR = "_revisions"


def revision_path(post_path: str, revision: int) -> str:
    """Where revision ``revision`` of a post is kept: ``_revisions/<stem>/<n>.md``."""
    stem = PurePosixPath(post_path).stem
    return f"{REVISIONS_DIR}/{stem}/{revision}.md"


def read_post(files: MirrorFiles, rel: str) -> PostRecord | None:
    """The post at ``rel`` as written; None when there is none or it cannot be read."""
    text = files.read_text(rel)
    if text is None:
        return None
    try:
        return parse_post(text, path=rel)
    except ItemError:
        return None


class MirrorWriter:
    """Writes articles of one run into the mirror's files and index."""

    def __init__(self, config: Config, store: Store, files: MirrorFiles) -> None:
        self.config = config
        self.store = store
        self.files = files
        self.posts_dir = config.mirror.posts_dir.strip("/")
        self._claimed: dict[str, str] = {}  # path -> key, claimed in this run
        self._seen: dict[str, str] = {}  # key -> source slug that kept it in this run

    def _file_key(self, rel: str) -> str | None:
        """The ``key`` of the post at ``rel``; None when no file is there."""
        text = self.files.read_text(rel)
        if text is None:
            return None
        try:
            return parse_post(text, path=rel).key
        except ItemError:
            return ""  # a file we cannot read is someone else's: never overwrite it

    def assign_path(self, art: Article) -> str:
        """A post path for a new article: the title's name, with a short hash when
        another article (in the index or on disk) already has that name."""
        for length in (0, 6, 12):  # (the hashes are made only when a name is taken)
            suffix = short_hash(art.key, length) if length else ""
            name = post_filename(art.published, art.title, suffix=suffix)
            rel = f"{self.posts_dir}/{name}"
            owner = self._claimed.get(rel) or self.store.path_owner(rel)
            if owner is not None and owner != art.key:
                continue
            on_disk = self._file_key(rel)
            if on_disk is not None and on_disk != art.key:
                continue
            return rel
        raise ItemError("no free file name for this title", reason="render", url=art.link)

    def keep(self, art: Article, keys: Keys, *, post: str = "") -> ItemOutcome:
        """Store one article; return its outcome. ``post``: ``art``'s post file as a
        new post (``render_post`` of it first seen at its fetch time), when the
        caller has it already."""

        def outcome(kind: OutcomeKind, path: str, reason: str = "") -> ItemOutcome:
            return ItemOutcome(
                source=art.source, url=art.link or art.key, kind=kind, reason=reason, path=path
            )

        known = self.store.find(keys.key, keys.guid_key, keys.fp)
        if known is None:
            path = self.assign_path(art)  # (from the title, date and key only)
            art = replace(art, first_seen=art.fetched, path=path)
            self.files.write(path, post or render_post(art))  # (the path is not in it)
            self.store.put(art, guid_key=keys.guid_key, fp=keys.fp)
            self._claimed[path] = art.key
            self._seen[art.key] = art.source
            return outcome(OutcomeKind.NEW, path)

        old = known.article
        if old.source != art.source or self._seen.get(old.key, art.source) != art.source:
            # The same article reached through another feed: it stays with the
            # source that first kept it, and another feed's copy is not an edit.
            return outcome(OutcomeKind.UNCHANGED, old.path, "duplicate")
        self._seen[old.key] = art.source
        if old.content_hash == art.content_hash:
            if not self.files.exists(old.path):  # nothing lost: put a vanished post back
                self.files.write(old.path, render_post(self._merged(old, art, changed=False)))
            return outcome(OutcomeKind.UNCHANGED, old.path)
        if old.origin == "page" and art.origin == "feed":
            # Captured from its page (or moved there by a re-check): the page is the
            # text of record and re-checks follow its edits; the feed's copy is no edit.
            return outcome(OutcomeKind.UNCHANGED, old.path, "page_kept")
        if not self._is_edit(old, art):  # whitespace, tracking parameters, image CDN queries
            return outcome(OutcomeKind.UNCHANGED, old.path, "insignificant")

        # A new revision: keep the previous post file, then rewrite the post in place.
        rev_rel = revision_path(old.path, old.revision)
        self.files.copy_once(old.path, rev_rel)
        self.store.add_revision(
            old.key, old.revision, old.content_hash, old.title, old.changed or old.first_seen
            or old.fetched, rev_rel,
        )  # fmt: skip
        new = self._merged(old, art, changed=True)
        self.files.write(new.path, render_post(new))
        new_keys = derive_keys(new)
        self.store.put(new, guid_key=new_keys.guid_key, fp=new_keys.fp)
        return outcome(OutcomeKind.UPDATED, new.path)

    def _is_edit(self, old: Article, art: Article) -> bool:
        """True when ``art`` differs from the kept post in a way a reader would see."""
        post = read_post(self.files, old.path)
        if post is None:
            return True
        from .textdiff import is_meaningful_change  # (difflib, unicodedata: edits only)

        return is_meaningful_change(post.title, post.content, art.title, art.content)

    @staticmethod
    def _merged(old: Article, art: Article, *, changed: bool) -> Article:
        """This run's content under the known article's identity, date and path."""
        return replace(
            art,
            key=old.key,
            guid=old.guid or art.guid,
            source_name=old.source_name,
            published=old.published,
            fetched=art.fetched if changed else old.fetched,
            first_seen=old.first_seen,
            changed=art.fetched if changed else old.changed,
            revision=old.revision + 1 if changed else old.revision,
            path=old.path,
            deleted=old.deleted,  # marks are the business of re-checks, not of feeds
            deletions=old.deletions,
        )

    def write_list(self, source: Source) -> bool:
        """Rewrite ``lists/<name>.md`` (newest items) and ``lists/all/<name>.html``
        (every item, listed by Jekyll) when their text differs from what is on disk."""
        lists = self.config.mirror.lists_dir.strip("/")
        full = full_list_filename(source.name)
        items = self.store.newest(source.slug, self.config.mirror.list_limit)
        text = render_list(source.name, items, tz=self.config.mirror.tz, full_list_link=full)
        wrote = self.files.write(f"{lists}/{list_filename(source.name)}", text, if_changed=True)
        wrote_full = self.files.write(
            f"{lists}/{full}", render_full_list(source.name), if_changed=True
        )
        return wrote or wrote_full

    def rotate(self, now: datetime) -> int:
        """Move posts older than ``archive_after_days`` into ``_posts/_archive/``."""
        days = self.config.mirror.archive_after_days
        if days <= 0:
            return 0
        moved = 0
        archive = f"{self.posts_dir}/_archive"
        with self.store.batch():
            for key, path in self.store.older_than(now - timedelta(days=days), self.posts_dir):
                dest = f"{archive}/{PurePosixPath(path).name}"
                src_abs = self.files.resolve(path)
                if os.path.exists(src_abs):
                    self.files.move(path, dest)
                elif not self.files.exists(dest):
                    continue  # the file is gone: leave the index as it is
                self.store.set_path(key, dest)
                moved += 1
        return moved
