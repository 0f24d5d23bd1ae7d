"""Images kept in the mirror: found in clean article HTML, downloaded once, served
from the mirror's own folder.

- Files are content-addressed: ``assets/<sha256[:2]>/<sha256>.<ext>``, one copy
  per distinct image whatever the URLs it came from.
- Only JPEG, PNG, GIF, WebP and AVIF are kept, recognised by their bytes (never
  by extension or Content-Type). SVG is refused, not sanitized: it is a document
  that can carry script, event handlers and references to other hosts, and opened
  directly from the mirror's origin its script would run there. A refused image
  keeps its original URL.
- Resizing proxies seen in real mirrors (``images.weserv.nl/?url=…``, Jetpack's
  ``i0.wp.com/<host>/<path>``, DuckDuckGo, Google's gadget proxy, GitHub camo,
  Cloudflare ``/cdn-cgi/image/``) are unwrapped; the original is fetched. A
  scheme-less inner URL (weserv's usual form) is taken as https.
- The article's ``<img src>`` becomes the site-absolute path ``/assets/…`` and the
  original URL stays beside it in ``data-orig-src`` (and in the index). One
  spelling serves everything: it does not depend on where the post sits
  (``_posts/_archive`` rotation) or on the permalink; the Jekyll post layout
  prefixes it with the site's ``baseurl`` (:data:`JEKYLL_CONTENT`), which makes
  GitHub Pages project sites under ``/<repo>/`` work.
- An image that fails keeps its original URL and is tried again on later runs
  (:func:`retry_images`, up to ``max_tries`` failures; a deferral by the run's
  byte cap is not a failure); when it arrives, the posts that show it are patched.

Rewriting an image's ``src`` changes neither the title nor the text, so the
content hash (title + text) is unchanged: a downloaded image is never an edit.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urljoin, urlsplit

from .errors import ItemError, NewsmirrorError, TooLargeError
from .fsutil import MirrorFiles
from .models import Article
from .postfile import render_post
from .postfile_record import parse_post
from .settings import FetchSettings, ImageSettings
from .store import Store

if TYPE_CHECKING:  # the fetcher (httpx) is the caller's: building a site needs none
    import asyncio

    from .fetch import Fetcher

MiB = 1024 * 1024
ASSETS_DIR = "assets"
LOCAL_PREFIX = "/" + ASSETS_DIR + "/"
ORIG_ATTR = "data-orig-src"
MEDIA_TYPES = {
    "jpg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp",
    "avif": "image/avif",
}  # fmt: skip

#: The post layout's ``{{ content }}`` for Jekyll: ``/assets/…`` images prefixed
#: with the site's baseurl (works with Jekyll 3 on GitHub Pages and Jekyll 4).
JEKYLL_CONTENT = (
    "{%- capture nm_src -%}src=\"{{ '/assets/' | relative_url }}{%- endcapture -%}\n"
    "{{ content | replace: 'src=\"/assets/', nm_src }}"
)


class ImageRefused(NewsmirrorError):
    """Bytes that are not an accepted image (reason ``not_an_image`` or ``svg``)."""

    reason = "not_an_image"


# ------------------------------------------------------------------ pure parts

_IMG_TAG = re.compile(r"<img\b(?:[^>\"']|\"[^\"]*\"|'[^']*')*>", re.I)
_SRC = re.compile(r"""(?<![\w-])src\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))""", re.I)
_ORIG = re.compile(rf"(?<![\w-]){ORIG_ATTR}\s*=", re.I)
_LOCAL = re.compile(r"^/assets/([0-9a-f]{2})/\1[0-9a-f]{62}\.(?:jpg|png|gif|webp|avif)$")


def _src_of(tag: str) -> tuple[str, re.Match[str]] | None:
    m = _SRC.search(tag)
    if m is None:
        return None
    raw = next(g for g in m.groups() if g is not None)
    return html.unescape(raw).strip(), m


def find_image_urls(content: str) -> list[str]:
    """The http(s) ``src`` of every ``<img>``, unescaped, first occurrence order."""
    seen: dict[str, None] = {}
    for tag in _IMG_TAG.finditer(content):
        got = _src_of(tag.group())
        if got and got[0].lower().startswith(("http://", "https://")):
            seen.setdefault(got[0], None)
    return list(seen)


def rewrite_images(content: str, mapping: Mapping[str, str]) -> str:
    """``<img src>`` values found in ``mapping`` (original URL → local src) replaced,
    the original kept in ``data-orig-src``; everything else left byte for byte."""
    if not mapping:
        return content

    def fix(tag_m: re.Match[str]) -> str:
        tag = tag_m.group()
        got = _src_of(tag)
        if got is None or got[0] not in mapping:
            return tag
        url, m = got
        new = f'src="{html.escape(mapping[url])}"'
        if not _ORIG.search(tag):
            new += f' {ORIG_ATTR}="{html.escape(url)}"'
        return tag[: m.start()] + new + tag[m.end() :]

    return _IMG_TAG.sub(fix, content)


def local_images(content: str) -> list[tuple[str, str]]:
    """(asset path, original URL) of every image already served from the mirror,
    e.g. to rebuild the images index from the posts."""
    out = []
    for tag in _IMG_TAG.finditer(content):
        got = _src_of(tag.group())
        if got and _LOCAL.match(got[0]):
            orig = re.search(rf"""{ORIG_ATTR}\s*=\s*(?:"([^"]*)"|'([^']*)')""", tag.group())
            url = html.unescape(next(g for g in orig.groups() if g is not None)) if orig else ""
            out.append((got[0][1:], url))
    return out


def local_asset(src: str) -> str | None:
    """``assets/ab/<sha256>.png`` for a src written by :func:`rewrite_images`, else
    None (for site builders that serve the mirror's images under another prefix)."""
    return src[1:] if _LOCAL.match(src) else None


def _inner_url(value: str) -> str | None:
    """A proxy's inner URL made absolute: ``ssl:host/x``, ``//host/x`` and ``host/x``
    become https; another scheme (``javascript:``, ``data:``) gives None."""
    v = value.strip()
    scheme = re.match(r"(?i)^([a-z][a-z0-9+.-]*):(?!\d)", v)
    name = scheme.group(1).lower() if scheme else ""
    if name == "ssl":
        return "https://" + v[4:].lstrip("/")
    if name in ("http", "https"):
        return v
    if name:
        return None
    return "https:" + v if v.startswith("//") else "https://" + v


def _unwrap_once(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    query = parse_qs(parts.query)

    def arg(name: str) -> str | None:
        values = query.get(name)
        return _inner_url(values[0]) if values and values[0].strip() else None

    path = parts.path
    if host in ("images.weserv.nl", "wsrv.nl", "images.wsrv.nl"):
        return arg("url")
    if re.fullmatch(r"i[0-3]\.wp\.com", host) and path.count("/") >= 2:
        return "https://" + path.lstrip("/")
    if host in ("external-content.duckduckgo.com", "proxy.duckduckgo.com") and path == "/iu/":
        return arg("u")
    if host.endswith(".googleusercontent.com") and path.endswith("/gadgets/proxy"):
        return arg("url")
    if host == "camo.githubusercontent.com":
        hexed = path.rstrip("/").rpartition("/")[2]
        try:
            return bytes.fromhex(hexed).decode("utf-8") if path.count("/") >= 2 else arg("url")
        except (ValueError, UnicodeDecodeError):
            return arg("url")
    if path.startswith("/cdn-cgi/image/"):
        rest = path[len("/cdn-cgi/image/") :].partition("/")[2]
        if rest:
            base = f"{parts.scheme}://{parts.netloc}/"
            inner = rest if re.match(r"(?i)^https?:/", rest) else urljoin(base, rest)
            return re.sub(r"(?i)^(https?):/(?!/)", r"\1://", inner)
    return None


def unwrap_proxy(url: str) -> str:
    """The original image URL behind resizing proxies (nested ones too); ``url``
    itself when it is no known proxy or the inner URL is not http(s)."""
    for _ in range(5):
        inner = _unwrap_once(url)
        if not inner:
            break
        try:
            p = urlsplit(inner)
        except ValueError:
            break
        if p.scheme.lower() not in ("http", "https") or not p.hostname:
            break
        url = inner
    return url


def _avif(data: bytes) -> bool:
    if data[4:8] != b"ftyp":
        return False
    size = int.from_bytes(data[:4], "big")
    box = data[8 : min(max(size, 16), 256)]
    brands = {box[0:4]} | {box[i : i + 4] for i in range(8, len(box) - 3, 4)}
    return bool(brands & {b"avif", b"avis"})


def sniff_image(data: bytes) -> str:
    """The file extension for ``data`` judged by its bytes: jpg, png, gif, webp or
    avif. Raises :class:`ImageRefused` for anything else (reason ``svg`` for SVG)."""
    if data[:3] == b"\xff\xd8\xff":
        return "jpg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if _avif(data):
        return "avif"
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<svg", b"<?xml", b"<!--", b"<!doctype svg")) and b"<svg" in head:
        raise ImageRefused("SVG is not kept (it can carry script)", reason="svg")
    what = "HTML" if b"<html" in head or b"<!doctype html" in head else "not an accepted image"
    raise ImageRefused(f"{what} (first bytes {data[:8].hex() or 'none'})")


def asset_path(data: bytes, ext: str) -> tuple[str, str]:
    """(sha256 hex, ``assets/<sha[:2]>/<sha>.<ext>``) for an image's bytes."""
    digest = hashlib.sha256(data).hexdigest()
    return digest, f"{ASSETS_DIR}/{digest[:2]}/{digest}.{ext}"


# ------------------------------------------------------------ settings, run state


@dataclass(frozen=True, slots=True)
class ImageResult:
    url: str  # as in the HTML
    fetch_url: str  # proxy unwrapped
    path: str = ""  # assets/… relative to the mirror root; "" when not kept
    sha256: str = ""
    size: int = 0
    reason: str = ""  # why not kept: http_404, timeout, too_large, not_an_image, svg, run_cap, …
    error: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.path)

    @property
    def counts(self) -> bool:
        """Whether this result is a failed try (a run-cap deferral is not)."""
        return not self.ok and self.reason != "run_cap"

    @property
    def src(self) -> str:
        return "/" + self.path


@dataclass
class ImageRun:
    """One run's image work, shared by every article: the byte budget, and each URL
    fetched at most once per run."""

    settings: ImageSettings = field(default_factory=ImageSettings)
    used: int = 0  # bytes accepted so far
    results: dict[str, ImageResult] = field(default_factory=dict)
    recorded: set[str] = field(default_factory=set)  # URLs already written to the index
    _tasks: dict[str, asyncio.Task[ImageResult]] = field(default_factory=dict, repr=False)

    def full(self) -> bool:
        return self.used >= self.settings.run_max_bytes

    def take(self, n: int) -> bool:
        if self.used + n > self.settings.run_max_bytes:
            return False
        self.used += n
        return True


def image_fetch_settings(base: FetchSettings, settings: ImageSettings) -> FetchSettings:
    """The run's fetch settings with the per-image cap, so that an oversized image
    stops downloading at the cap (use them for the images' own Fetcher)."""
    return replace(base, max_bytes=min(base.max_bytes, settings.max_bytes))


# ------------------------------------------------------------------- downloads


async def _fetch_one(
    url: str, fetcher: Fetcher, files: MirrorFiles, run: ImageRun, via: str
) -> ImageResult:
    target = unwrap_proxy(url)
    cap = run.settings.max_bytes
    if run.full():
        return ImageResult(url, target, reason="run_cap", error="the run's image bytes are spent")
    try:
        resp = await (fetcher.fetch(target, via=via) if via else fetcher.fetch(target))
        body = resp.body
        if len(body) > cap:
            raise TooLargeError(f"image over {cap} bytes")
        ext = sniff_image(body)
    except NewsmirrorError as e:
        return ImageResult(url, target, reason=e.reason, error=e.message)
    if not run.take(len(body)):
        return ImageResult(url, target, reason="run_cap", error="the run's image bytes are spent")
    digest, rel = asset_path(body, ext)
    try:
        if not files.exists(rel):
            files.write(rel, body)
    except (OSError, NewsmirrorError) as e:
        run.used -= len(body)
        return ImageResult(url, target, reason="write", error=str(e))
    return ImageResult(url, target, path=rel, sha256=digest, size=len(body))


async def fetch_images(
    urls: Iterable[str], fetcher: Fetcher, files: MirrorFiles, *, run: ImageRun, via: str = ""
) -> dict[str, ImageResult]:
    """Download each URL (concurrently, within the fetcher's limits and the run's
    byte cap) into ``assets/``; one result per URL, never an exception for one
    image. ``via``: the page the images were found on (the fetcher's SSRF rule)."""
    import asyncio  # here: building a site reads this module and needs no event loop

    mine: dict[str, asyncio.Task[ImageResult]] = {}
    for url in dict.fromkeys(urls):
        if url in run.results:
            continue
        task = run._tasks.get(url)
        if task is None:
            task = run._tasks[url] = asyncio.create_task(_fetch_one(url, fetcher, files, run, via))
        mine[url] = task
    for url, task in mine.items():
        run.results[url] = await task
        run._tasks.pop(url, None)
    return {u: run.results[u] for u in dict.fromkeys(urls) if u in run.results}


def _record(store: Store, results: Iterable[ImageResult], run: ImageRun, now: datetime) -> None:
    for r in results:
        if r.url in run.recorded:
            continue
        run.recorded.add(r.url)
        if r.ok:
            ctype = MEDIA_TYPES[r.path.rpartition(".")[2]]
            store.image_ok(r.url, r.fetch_url, r.sha256, r.path, ctype, r.size, now)
        else:
            store.image_failed(r.url, r.fetch_url, r.error, r.reason, now, count=r.counts)


async def localize_images(
    article: Article,
    *,
    fetcher: Fetcher,
    files: MirrorFiles,
    store: Store,
    caps: ImageRun,
    via: str,
    now: datetime | None = None,
) -> Article:
    """The article with its images served from the mirror: known copies reused,
    new URLs downloaded, failures left at their original URL (and recorded for
    :func:`retry_images`). Title, text and content hash are unchanged. ``via``: the
    feed the article came from (the fetcher's private-address rule: an image URL
    a feed supplied may be private only on the feed's own host)."""
    urls = find_image_urls(article.content)
    if not urls or not caps.settings.enabled:
        return article
    now = now or datetime.now(UTC)
    mapping: dict[str, str] = {}
    todo: list[str] = []
    for url in urls:
        row = store.image(url)
        if row is not None and row.status == "ok" and files.exists(row.path):
            mapping[url] = "/" + row.path
        elif row is None or row.status == "ok" or row.tries < caps.settings.max_tries:
            todo.append(url)
    results = await fetch_images(todo, fetcher, files, run=caps, via=via)
    with store.batch():
        _record(store, results.values(), caps, now)
        store.add_image_refs(article.key, urls)
    mapping.update({u: r.src for u, r in results.items() if r.ok})
    return replace(article, content=rewrite_images(article.content, mapping))


@dataclass(frozen=True, slots=True)
class RetryReport:
    fetched: int  # images that arrived in this pass
    failed: int  # images that failed again (or were deferred)
    patched: int  # post files rewritten to show local copies


async def retry_images(
    *,
    store: Store,
    fetcher: Fetcher,
    files: MirrorFiles,
    caps: ImageRun,
    via: Callable[[str], str],
    now: datetime | None = None,
) -> RetryReport:
    """Try failed images again (those not tried in this run, under ``max_tries``),
    then patch every post that still shows an original URL the mirror now has."""
    now = now or datetime.now(UTC)
    fetched = failed = 0
    if caps.settings.enabled:
        rows = [
            r for r in store.pending_images(caps.settings.max_tries) if r.url not in caps.results
        ]
        by_via: dict[str, list[str]] = {}
        for r in rows:  # each image is fetched under the rule of the feed it came from
            by_via.setdefault(via(r.url), []).append(r.url)
        results = {}
        for anchor, urls in by_via.items():
            results.update(await fetch_images(urls, fetcher, files, run=caps, via=anchor))
        with store.batch():
            _record(store, results.values(), caps, now)
        fetched = sum(r.ok for r in results.values())
        failed = len(results) - fetched
    return RetryReport(fetched=fetched, failed=failed, patched=apply_local_images(store, files))


def apply_local_images(store: Store, files: MirrorFiles) -> int:
    """Rewrite posts whose images arrived after the post was written; return how
    many files changed. Idempotent: a post already showing its copies is only marked."""
    patched = 0
    for key, post, assets in store.unapplied_image_posts():
        text = files.read_text(post)
        if text is None:
            continue  # not written yet (a killed run): the next pass sees it
        try:
            rec = parse_post(text, path=post)
        except ItemError:
            continue
        mapping = {url: "/" + path for url, path in assets.items() if files.exists(path)}
        content = rewrite_images(rec.content, mapping)
        with store.batch():
            if content != rec.content:
                art = replace(rec.to_article(), content=content)
                patched += files.write(post, render_post(art), if_changed=True)
            store.mark_image_refs_applied(key, list(mapping))
    return patched


def index_post_images(
    store: Store, files: MirrorFiles, key: str, content: str, when: datetime
) -> int:
    """Put the images a post already shows from the mirror back into the index
    (for ``reindex``: the posts carry ``src`` and ``data-orig-src``). Returns how many."""
    found = [(path, url) for path, url in local_images(content) if url and files.exists(path)]
    for path, url in found:
        name = path.rpartition("/")[2]
        digest, _, ext = name.partition(".")
        size = files.resolve(path).stat().st_size
        store.image_ok(url, unwrap_proxy(url), digest, path, MEDIA_TYPES[ext], size, when)
    urls = [url for _, url in found]
    store.add_image_refs(key, urls)
    store.mark_image_refs_applied(key, urls)
    return len(found)


__all__ = [
    "ASSETS_DIR", "JEKYLL_CONTENT", "ImageRefused", "ImageResult", "ImageRun", "ImageSettings",
    "RetryReport", "apply_local_images", "asset_path", "fetch_images", "find_image_urls",
    "image_fetch_settings", "index_post_images", "local_asset", "local_images", "localize_images", "retry_images",
    "rewrite_images", "sniff_image", "unwrap_proxy",
]  # fmt: skip
