"""Configuration records whose working code is heavy to import.

``config`` builds a ``Config`` for every command, so what it needs at import time must
stay light: the records of ``[images]`` and ``[capture]`` and the list of OpenCC
conversions live here, not beside the image downloader (httpx, the post renderer),
the WARC writer (warcio) or the cleaner (lxml, nh3). Those modules re-export them;
a command imports them only when it does their work.
"""

from __future__ import annotations

from dataclasses import dataclass

import opencc

__all__ = ["CONVERSIONS", "CaptureSettings", "ImageSettings"]

_MiB = 1024 * 1024

_KNOWN_CONVERSIONS = (
    "s2t", "t2s", "s2tw", "tw2s", "s2hk", "hk2s", "s2twp", "tw2sp", "t2tw", "tw2t", "t2hk",
    "hk2t", "t2jp", "jp2t", "s2hkp", "hk2sp",
)  # fmt: skip
_AVAILABLE = {c.removesuffix(".json") for c in getattr(opencc, "CONFIGS", ())}
#: Valid values of ``convert`` ("none" = no conversion), for config validation.
CONVERSIONS: tuple[str, ...] = ("none",) + tuple(
    c for c in _KNOWN_CONVERSIONS if not _AVAILABLE or c in _AVAILABLE
)


@dataclass(frozen=True, slots=True)
class ImageSettings:
    """``[images]`` in newsmirror.toml."""

    enabled: bool = True
    max_bytes: int = 5 * _MiB  # one image
    run_max_bytes: int = 200 * _MiB  # all images accepted in one run
    max_tries: int = 5  # failed attempts before an image keeps its original URL for good


@dataclass(frozen=True, slots=True)
class CaptureSettings:
    """``[capture]`` in newsmirror.toml."""

    warc: bool = False  # keep every fetched response as WARC records
