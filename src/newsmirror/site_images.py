"""The mirror's own image copies in the built site.

Posts show a kept image as ``<img src="/assets/ab/<sha256>.png">`` (see
``assets.py``); the built site serves the same file at ``assets/ab/<sha256>.png``
of its output folder, linked relatively from every page (so it works under any
base path), and in feeds by ``site.base_url`` when set.

While a page is rendered, an image's ``src`` is written as :data:`MARK` followed
by its path in the output folder; the builder replaces the mark with the way
back to the output folder's root from the page (or feed) that shows it
(:func:`resolve_marks`). Images are not per tree: every script variant shows
the same files.

Copies are incremental: the files are content-addressed, so a file already in
the output folder with the size and mtime the manifest recorded is left alone;
a new one is hard-linked from the mirror when both folders are on the same file
system, else copied, in both cases through a temporary name renamed into place
(atomic). Files an earlier build placed and no page shows any more are removed;
nothing else in the output folder is touched. The manifest keeps, per article,
the images its page shows (an article page that is not rendered again still
claims its images).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil

from .site_files import SiteFiles
from .site_text import ImageMap

MARK = "\ue001"  # private use: never in article text (sanitized) nor in a URL


def resolve_marks(text: str, root: str) -> str:
    """``text`` with every image mark replaced by ``root`` (the way from the page to the
    output folder's root: ``../../``, or the site's base URL)."""
    return text.replace(MARK, root) if MARK in text else text


class SiteImages:
    """The image copies of one build (see the module's docstring)."""

    def __init__(self, mirror_root: str, files: SiteFiles) -> None:
        self.src_root = mirror_root.rstrip("/") + "/"
        self.files = files
        self.out = str(files.out) + "/"
        extra = files.manifest.extra
        self.by_article: dict[str, list[str]] = dict(extra.get("images", {}))
        self.placed: dict[str, list[int]] = dict(extra.get("image_files", {}))
        self.live: set[str] = set()
        self._exists: dict[str, bool] = {}
        self._tmp = itertools.count()
        self.copied = self.linked = self.removed = 0

    # --------------------------------------------------------------- per page

    def mapper(self, found: list[str]) -> ImageMap:
        """An ``ImageMap`` for ``site_text.page_content``: a post's local src to the
        marked site path when the mirror has the file; each path found is added to
        ``found`` (see ``site_content.image_mapper``)."""
        from .site_content import image_mapper

        return image_mapper(self.src_root, self._exists)(found)

    def set(self, key: str, rels: list[str]) -> None:
        """The images the freshly rendered page of article ``key`` shows."""
        uniq = sorted(set(rels))
        if uniq:
            self.by_article[key] = uniq
        else:
            self.by_article.pop(key, None)
        self.live.update(uniq)

    def keep(self, key: str) -> None:
        """Article ``key``'s page is unchanged: it still shows the same images."""
        got = self.by_article.get(key)
        if got:
            self.live.update(got)

    # --------------------------------------------------------------- the end

    def finish(self, articles: set[str] | None = None) -> None:
        """Place the images shown and not in the output folder yet; remove those
        placed by an earlier build and shown no more. ``articles``: the keys still in
        the site (the records of the others are dropped)."""
        if articles is not None:
            for key in [k for k in self.by_article if k not in articles]:
                del self.by_article[key]
        for rel in sorted(self.live):
            rec = self.placed.get(rel)
            try:
                st = os.stat(self.out + rel)
                if rec is not None and [st.st_size, st.st_mtime_ns] == rec:
                    continue
            except FileNotFoundError:
                pass
            st = self._place(rel)
            if st is not None:
                self.placed[rel] = [st.st_size, st.st_mtime_ns]
        for rel in sorted(set(self.placed) - self.live):
            path = self.out + rel
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            with contextlib.suppress(OSError):
                os.rmdir(os.path.dirname(path))  # its ab/ folder, when left empty
            del self.placed[rel]
            self.removed += 1
        extra = self.files.manifest.extra
        extra["images"] = dict(sorted(self.by_article.items()))
        extra["image_files"] = dict(sorted(self.placed.items()))

    def _place(self, rel: str) -> os.stat_result | None:
        """Hard-link (same file system) or copy the mirror's file to ``rel``, through a
        temporary name renamed into place."""
        src, dst = self.src_root + rel, self.files.path(rel)
        folder = os.path.dirname(dst)
        os.makedirs(folder, exist_ok=True)
        tmp = f"{folder}/.nm-img-{os.getpid()}-{next(self._tmp)}"
        try:
            try:
                os.link(src, tmp)
                linked = True
            except OSError:  # another file system, or links not allowed
                shutil.copyfile(src, tmp)
                os.chmod(tmp, 0o644)
                linked = False
            os.replace(tmp, dst)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            return None  # the mirror's file vanished meanwhile: the next build tries again
        if linked:
            self.linked += 1
        else:
            self.copied += 1
        self.files.written += 1
        return os.stat(dst)
