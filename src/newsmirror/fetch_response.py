"""What a response becomes: its body, read within a size cap with its
Content-Encoding undone, and the :class:`~newsmirror.models.FeedResponse` made of it.

Content-Encoding is undone here, not by httpx: httpx inflates a whole network
chunk at once (64 KiB of gzip can become 64 MB); BodyDecoder emits bounded pieces,
so :func:`read_body` stops a compression bomb at the cap on the decoded body.
"""

from __future__ import annotations

import email.message
import functools
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from .errors import FetchError, TooLargeError
from .models import FeedResponse, FeedState
from .settings import MiB

try:
    import brotli
except ImportError:  # pragma: no cover - installed with httpx[brotli]
    brotli = None

ACCEPT_ENCODING = "gzip, deflate, br" if brotli is not None else "gzip, deflate"
_PIECE = 64 * 1024  # largest decoded piece held at once beyond the body itself
_DECODE_ERRORS = (zlib.error,) if brotli is None else (zlib.error, brotli.error)


async def read_body(response: httpx.Response, cap: int) -> bytes:
    """Stream the body, undoing Content-Encoding, stopping past ``cap`` bytes."""
    too_large = TooLargeError(f"body over {_size(cap)}")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise too_large
    coding = response.headers.get("content-encoding", "")
    decoder = BodyDecoder(coding)
    body = bytearray()

    def keep(pieces: Iterator[bytes]) -> None:
        for piece in pieces:
            body.extend(piece)
            if len(body) > cap:
                raise too_large

    try:
        async for chunk in response.aiter_raw():
            if response.num_bytes_downloaded > cap:
                raise too_large
            keep(decoder.feed(chunk))
        keep(decoder.finish())
    except _DECODE_ERRORS as exc:
        raise FetchError(
            f"could not decode the {coding.strip()} body: {exc}", reason="bad_encoding"
        ) from None
    return bytes(body)


class _ZlibStage:
    """gzip or deflate (zlib-wrapped, falling back to raw deflate as browsers do)."""

    def __init__(self, gzip: bool) -> None:
        self._may_fall_back = not gzip
        self._d = zlib.decompressobj(zlib.MAX_WBITS | 32 if gzip else zlib.MAX_WBITS)

    def feed(self, data: bytes) -> Iterator[bytes]:
        try:
            out = self._d.decompress(data, _PIECE)
        except zlib.error:
            if not self._may_fall_back:
                raise
            self._d = zlib.decompressobj(-zlib.MAX_WBITS)
            out = self._d.decompress(data, _PIECE)
        self._may_fall_back = False
        while out:
            yield out
            out = self._d.decompress(self._d.unconsumed_tail, _PIECE)

    def finish(self) -> Iterator[bytes]:
        yield self._d.flush(_PIECE)


class _BrotliStage:
    def __init__(self) -> None:
        assert brotli is not None
        self._d = brotli.Decompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        out = self._d.process(data, output_buffer_limit=_PIECE)
        while out:
            yield out
            if self._d.is_finished():
                return
            out = self._d.process(b"", output_buffer_limit=_PIECE)

    def finish(self) -> Iterator[bytes]:
        return iter(())


class BodyDecoder:
    """Undo a Content-Encoding header ("gzip", "br", "deflate, gzip", …) in bounded pieces.

    Unknown codings are passed through, as httpx does.
    """

    def __init__(self, content_encoding: str) -> None:
        self.stages: list[_ZlibStage | _BrotliStage] = []
        for coding in reversed([c.strip().lower() for c in content_encoding.split(",")]):
            if coding in ("gzip", "x-gzip"):
                self.stages.append(_ZlibStage(gzip=True))
            elif coding == "deflate":
                self.stages.append(_ZlibStage(gzip=False))
            elif coding == "br" and brotli is not None:
                self.stages.append(_BrotliStage())

    def feed(self, data: bytes) -> Iterator[bytes]:
        return self._through(0, data)

    def finish(self) -> Iterator[bytes]:
        for i, stage in enumerate(self.stages):
            for piece in stage.finish():
                yield from self._through(i + 1, piece)

    def _through(self, i: int, data: bytes) -> Iterator[bytes]:
        if i == len(self.stages):
            if data:
                yield data
            return
        for piece in self.stages[i].feed(data):
            yield from self._through(i + 1, piece)


def to_response(
    url: str, response: httpx.Response, state: FeedState, body: bytes = b""
) -> FeedResponse:
    h = response.headers
    if response.status_code == 304:  # keep what we had unless the server sent fresher validators
        new_state = FeedState(
            etag=h.get("etag") or state.etag,
            last_modified=h.get("last-modified") or state.last_modified,
        )
    else:
        new_state = FeedState(etag=h.get("etag", ""), last_modified=h.get("last-modified", ""))
    ctype = h.get("content-type", "")
    return FeedResponse(
        url=url,
        final_url=str(response.url),
        status=response.status_code,
        body=body,
        content_type=ctype.partition(";")[0].strip().lower(),
        charset=_charset(ctype),
        state=new_state,
    )


@functools.lru_cache(maxsize=256)
def _charset(content_type: str) -> str:
    """The charset parameter of a Content-Type header, lower-cased; "" if none
    (a server sends the same few headers: each is parsed once)."""
    msg = email.message.Message()
    msg["content-type"] = content_type
    return msg.get_content_charset("") or ""


def status_text(response: httpx.Response) -> str:
    code = response.status_code
    phrase = httpx.codes.get_reason_phrase(code) or response.reason_phrase
    return f"HTTP {code} {phrase}".strip()


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if absent."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _size(n: int) -> str:
    if n % MiB == 0:
        return f"{n // MiB} MiB"
    if n % 1024 == 0:
        return f"{n // 1024} KiB"
    return f"{n} bytes"
