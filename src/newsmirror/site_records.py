"""The site's record of change: a revision history page for every edited article
and the deletions page, made during the build pass (see ``site_render``).

- ``h/YYYY/MM/DD/HHMM-<hash>.html`` (beside the article's ``a/…`` path): every
  version of the article, oldest first, with its time and title, and for each
  version after the first its difference from the one before, at word level for
  Latin script and character level for Chinese (``site_history``). The versions
  are the index's ``revisions`` rows (their kept files ``_revisions/<stem>/<n>.md``)
  and the post itself. Kept revisions are written once and never change, so a
  history page is made again only when its article's signature changes (a new
  revision changes the index row and the post file).
- ``deleted.html``: the articles whose post carries ``deleted: <time>`` (marked
  deleted at the source), newest deletion first, linked from the home page.

Both exist in every tree (script variant), have no script, and are rebuilt only
when their inputs change.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .site_files import signature
from .site_history import diff, diff_counts, diff_html, diff_inline, html_text
from .site_pages import Item, rel_link
from .site_text import majority_lang
from .store import Store, parse_ts

if TYPE_CHECKING:
    from .site_render import Builder

DELETIONS = "deleted.html"
_NEVER = datetime(1, 1, 1, tzinfo=UTC)  # a deletion of unknown time sorts last


def history_href(article_href: str) -> str:
    """``h/…`` for the article page ``a/…``."""
    return "h/" + article_href[2:]


class Records:
    """History pages and the deletions page of one build."""

    def __init__(self, builder: Builder, store: Store) -> None:
        self.b, self.store = builder, store
        self.m = builder.m
        self.at: dict[str, str] = dict(self.m.extra.get("deleted", {}))  # key -> deleted at
        self.deleted: list[tuple[str, Item]] = []
        self.histories = 0  # history pages rendered in this build

    @property
    def count(self) -> int:
        return len(self.deleted)

    def rendered(self, key: str, deleted_at: str) -> None:
        """Article ``key``'s page was rendered; ``deleted_at`` from its post ("" when none)."""
        if deleted_at:
            self.at[key] = deleted_at
        else:
            self.at.pop(key, None)

    def see(self, item: Item, row: tuple[Any, ...]) -> None:
        """An article of the pass (rendered or kept)."""
        if item.mark == "deleted":
            self.deleted.append((self.at.get(item.key, ""), item))
        if item.revision > 1:
            self._history(item, row)

    # ------------------------------------------------------------ history

    def _history(self, item: Item, row: tuple[Any, ...]) -> None:
        b = self.b
        rel = history_href(item.href)
        sig = signature(b.build_sig, item.sig)
        when = item.updated or item.published
        b.sitemap.append((rel, when.date().isoformat()))
        if self.m.pages.get("page:" + rel) == sig and b.files.keep_in(b.prefixes, rel):
            return
        versions = self._versions(item, row)
        for tree in b.trees:
            vs = [{**v, "title": tree.text(v["title"]), "title_diff": tree.html(v["title_diff"]),
                   "body_diff": tree.html(v["body_diff"])} for v in versions]  # fmt: skip
            page = b.pages.render(
                "history", tree, rel, lang=tree.lang(item.lang),
                page_title=f"{tree.text(item.title)} · {b.pages._labels[tree.variant]['history']}",
                it=item, title=tree.text(item.title), source_name=tree.text(item.source_name),
                versions=vs, article=rel_link(rel, item.href),
            )  # fmt: skip
            b.files.write(tree.prefix + rel, page)
        self.m.pages["page:" + rel] = sig
        self.histories += 1

    def _versions(self, item: Item, row: tuple[Any, ...]) -> list[dict[str, Any]]:
        """Every version, oldest first: n, title, when, current, and (after the first)
        title_diff, body_diff, removed, added."""
        found: list[tuple[int, str, datetime, str]] = []
        for n, _hash, title, stored, path in self.store.revisions_of(item.key):
            if n < item.revision:
                found.append((n, title, stored or item.published, path))
        changed = parse_ts(row[7]) if row[7] else None
        found.append((item.revision, item.title, changed or item.updated or item.published,
                      item.path))  # fmt: skip
        folded = self.b.pages._labels[""]["folded"]
        out: list[dict[str, Any]] = []
        prev_title, prev_text = "", ""
        for k, (n, title, when, path) in enumerate(found):
            text = html_text(self.b._read_post(path)[0])
            v: dict[str, Any] = {"n": n, "title": title, "when": when,
                                 "current": k == len(found) - 1, "title_diff": "",
                                 "body_diff": "", "removed": 0, "added": 0}  # fmt: skip
            if k:
                if title != prev_title:
                    v["title_diff"] = diff_inline(prev_title, title)
                if text != prev_text:
                    v["body_diff"] = diff_html(prev_text, text, folded=folded)
                    v["removed"], v["added"] = diff_counts(diff(prev_text, text))
            out.append(v)
            prev_title, prev_text = title, text
        return out

    # ------------------------------------------------------------ deletions

    def finish(self) -> None:
        """The deletions page (every tree); forget the marks of articles gone."""
        b = self.b
        keys = {i.key for _, i in self.deleted}
        self.m.extra["deleted"] = {k: v for k, v in sorted(self.at.items()) if k in keys}
        when = {at: parse_ts(at) for at, _ in self.deleted}
        items = sorted(self.deleted, key=lambda x: (when[x[0]] or _NEVER, x[1].key), reverse=True)
        sig = signature(b.build_sig, [(at, i.sig) for at, i in items])
        b.sitemap.append((DELETIONS, ""))
        if self.m.pages.get("page:" + DELETIONS) == sig and all(
            b.files.keep(t.prefix + DELETIONS) for t in b.trees
        ):
            return
        shown = [(when[at], i) for at, i in items]
        for tree in b.trees:
            lang = tree.variant or majority_lang((i.lang for _, i in items), b.s.lang)
            page = b.pages.render(
                "deleted", tree, DELETIONS, lang=lang,
                page_title=b.pages._labels[tree.variant]["deletions"], items=shown,
            )  # fmt: skip
            b.files.write(tree.prefix + DELETIONS, page)
        self.m.pages["page:" + DELETIONS] = sig
