"""The archive for other tools: JSON Lines of every article and revision, and WARC
records of the fetched responses.

JSON Lines (``newsmirror export --format jsonl``): one article per line, its
index row and its content from the post file, with every kept revision inside::

    {"key": …, "guid": …, "source": …, "source_name": …, "title": …, "link": …,
     "published": "2024-01-02T03:04:05.000Z", "fetched": …, "content": "<p>…</p>",
     "text": …, "content_hash": "sha256:…", "revision": 2, "path": "_posts/…",
     …every other Article field…,
     "index": {"guid_key": …, "fp": …},
     "revisions": [{"revision": 1, "content_hash": …, "title": …, "stored": …,
                    "path": "_revisions/…/1.md", "post": {…Article fields…} | null}]}

Times are UTC with milliseconds, as in the posts. :func:`import_jsonl` turns such
a file back into a mirror (posts, kept revisions, index) whose own export is the
same, line for line.

WARC: :class:`Capture` is the fetch stage's hook; it appends one ``response``
record per fetched response to a file under ``.newsmirror/tmp/`` and renames it
into ``.newsmirror/capture/`` when the run ends, so a killed run leaves no partial
capture (the temporary file is swept by the next run). ``export --format warc``
concatenates the captures (gzip members concatenate into a valid ``.warc.gz``).
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import secrets
import threading
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, get_type_hints

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from . import __version__
from .article import derive_keys
from .clean_text import html_to_text
from .errors import NewsmirrorError, StoreError
from .fsutil import MirrorFiles, MirrorLock
from .mirror import read_post
from .models import Article
from .postfile import render_post
from .settings import CaptureSettings as CaptureSettings  # re-exported (config)
from .store import Store, parse_ts, ts

if TYPE_CHECKING:
    from .config import Config

CAPTURE_DIR = ".newsmirror/capture"
_HINTS = get_type_hints(Article)
_FIELDS = tuple(f.name for f in dataclasses.fields(Article))


# -------------------------------------------------------------------- JSON Lines


def _is_time(name: str) -> bool:
    return datetime in getattr(_HINTS[name], "__args__", (_HINTS[name],))


def article_json(art: Article) -> dict[str, Any]:
    """Every field of ``art`` as JSON values (times as ISO 8601 UTC, tuples as lists)."""
    out: dict[str, Any] = {}
    for name in _FIELDS:
        v = getattr(art, name)
        out[name] = ts(v) if isinstance(v, datetime) else list(v) if isinstance(v, tuple) else v
    return out


def article_from_json(data: Mapping[str, Any]) -> Article:
    """The inverse of :func:`article_json` (unknown keys ignored, missing ones defaulted)."""
    kw: dict[str, Any] = {}
    for name in _FIELDS:
        if name not in data:
            continue
        v = data[name]
        if _is_time(name):
            v = parse_ts(v)
        elif isinstance(v, list):
            v = tuple(v)
        kw[name] = v
    return Article(**kw)


def iter_export(config: Config) -> Iterator[dict[str, Any]]:
    """One JSON-ready record per article (index row + post content + revisions)."""
    files = MirrorFiles(config.root)
    with Store(config.store_target) as store:
        for known in store.iter_known():
            art = known.article
            post = read_post(files, art.path)
            content = post.content if post is not None else ""
            art = dataclasses.replace(art, content=content, text=html_to_text(content))
            rec = article_json(art)
            rec["missing"] = post is None
            rec["index"] = {"guid_key": known.guid_key, "fp": known.fp}
            revs = []
            for n, chash, title, stored, rel in store.revisions_of(art.key):
                old = read_post(files, rel)
                kept = None
                if old is not None:
                    kept = article_json(
                        dataclasses.replace(old.to_article(), text=html_to_text(old.content))
                    )
                revs.append({"revision": n, "content_hash": chash, "title": title,
                             "stored": ts(stored), "path": rel, "post": kept})  # fmt: skip
            rec["revisions"] = revs
            yield rec


def write_jsonl(config: Config, out: IO[str]) -> int:
    """Write the JSON Lines export to ``out``; return the number of articles."""
    n = 0
    for rec in iter_export(config):
        out.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")
        n += 1
    return n


@dataclasses.dataclass(frozen=True, slots=True)
class ImportReport:
    articles: int
    revisions: int


def _bad(path: Path, line: int, why: str) -> StoreError:
    return StoreError(f"line {line}: {why}", url=str(path), reason="bad_export")


def import_jsonl(path: Path, config: Config) -> ImportReport:
    """Restore a JSON Lines export into the mirror of ``config``: its post files, kept
    revisions and index rows. The index must hold no article yet (a fresh mirror)."""
    path = Path(path)
    files = MirrorFiles(config.root)
    articles = revisions = 0
    with MirrorLock(config.root), Store(config.store_target) as store, store.batch():
        if store.count():
            raise StoreError("the index already holds articles: import into a fresh mirror",
                             url=str(config.index_path))  # fmt: skip
        files.sweep()
        with path.open(encoding="utf-8") as fh:
            for i, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                    art = article_from_json(rec)
                except (ValueError, TypeError, AttributeError) as e:
                    raise _bad(path, i, f"not an exported article ({e})") from None
                if not art.key or not art.path:
                    raise _bad(path, i, "no key or path")
                if not rec.get("missing"):
                    files.write(art.path, render_post(art), if_changed=True)
                index = rec.get("index") or {}
                keys = derive_keys(art)
                store.put(art, guid_key=index.get("guid_key", keys.guid_key),
                          fp=index.get("fp", keys.fp))  # fmt: skip
                articles += 1
                for rev in rec.get("revisions") or []:
                    if rev.get("post"):
                        files.write(rev["path"], render_post(article_from_json(rev["post"])),
                                    if_changed=True)  # fmt: skip
                    store.add_revision(art.key, rev["revision"], rev["content_hash"],
                                       rev["title"], parse_ts(rev["stored"]) or art.fetched,
                                       rev["path"])  # fmt: skip
                    revisions += 1
    return ImportReport(articles=articles, revisions=revisions)


# -------------------------------------------------------------------------- WARC

_DROP = ("content-encoding", "transfer-encoding", "content-length")


class Capture:
    """Fetched responses → WARC ``response`` records, one ``.warc.gz`` per run.

    The fetch stage calls :meth:`record` for every response it read in full;
    :meth:`close` (or leaving the ``with`` block) publishes the file. Records hold
    the body as newsmirror used it (Content-Encoding undone), so the encoding
    headers are kept only as ``X-Archive-Orig-…`` and Content-Length is the
    body's. Thread-safe.
    """

    def __init__(self, root: Path, *, now: datetime | None = None) -> None:
        self.root = Path(root)
        self.when = now or datetime.now(UTC)
        stamp = self.when.astimezone(UTC).strftime("%Y%m%dT%H%M%S")
        self.name = f"{stamp}-{os.getpid()}-{secrets.token_hex(4)}.warc.gz"  # never clobbers
        self.records = 0
        self._tmp = self.root / ".newsmirror" / "tmp" / f".capture-{self.name}"
        self._fh: IO[bytes] | None = None
        self._writer: WARCWriter | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> Capture:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _open(self) -> WARCWriter:
        if self._writer is None:
            self._tmp.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self._tmp.open("wb")
            self._writer = WARCWriter(self._fh, gzip=True)
            info = {"software": f"newsmirror/{__version__}", "format": "WARC File Format 1.0"}
            self._writer.write_record(self._writer.create_warcinfo_record(self.name, info))
        return self._writer

    def record(
        self,
        url: str,
        status: int,
        headers: Mapping[str, str] | Iterable[tuple[str, str]],
        body: bytes,
        *,
        reason: str = "",
        http_version: str = "HTTP/1.1",
        when: datetime | None = None,
    ) -> None:
        """Append one response record (``headers`` as received, body decoded)."""
        pairs = list(headers.items() if isinstance(headers, Mapping) else headers)
        kept = [(k, v) for k, v in pairs if k.lower() not in _DROP]
        kept += [(f"X-Archive-Orig-{k}", v) for k, v in pairs if k.lower() in _DROP]
        kept.append(("Content-Length", str(len(body))))
        status_line = f"{status} {reason}".strip()
        http = StatusAndHeaders(status_line, kept, protocol=http_version.upper())
        date = (when or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        with self._lock:
            writer = self._open()
            rec = writer.create_warc_record(url, "response", payload=io.BytesIO(body),
                                            length=len(body), http_headers=http,
                                            warc_headers_dict={"WARC-Date": date})  # fmt: skip
            writer.write_record(rec)
            self.records += 1

    def close(self) -> Path | None:
        """Publish the capture file into ``.newsmirror/capture/``; None when empty."""
        with self._lock:
            if self._fh is None:
                return None
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
            self._fh = self._writer = None
            dest = self.root / CAPTURE_DIR / self.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self._tmp, dest)
            return dest


def capture_files(config: Config) -> list[Path]:
    folder = config.root / CAPTURE_DIR
    return sorted(folder.glob("*.warc.gz")) if folder.is_dir() else []


def write_warc(config: Config, out: IO[bytes]) -> int:
    """Concatenate every capture file into ``out``; return how many files."""
    found = capture_files(config)
    if not found:
        raise NewsmirrorError(
            "no captured responses: set [capture] warc = true and run newsmirror run",
            url=str(config.root / CAPTURE_DIR),
            reason="no_capture",
        )
    for p in found:
        with p.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                out.write(chunk)
    return len(found)
