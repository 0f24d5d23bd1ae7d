"""Configuration records whose working code is heavy to import (``[fetch]``,
``[images]``, ``[capture]``, ``[publish]``).

``config`` builds a ``Config`` for every command, so what it needs at import time must
stay light: the records of ``[images]`` and ``[capture]`` and the list of OpenCC
conversions live here, not beside the image downloader (httpx, the post renderer),
the WARC writer (warcio) or the cleaner (lxml, nh3). Those modules re-export them;
a command imports them only when it does their work.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass

from .errors import ConfigError

__all__ = [
    "CONVERSIONS", "DEFAULT_USER_AGENT", "PROXY_SCHEMES", "CaptureSettings", "FetchSettings",
    "ImageSettings", "MiB", "PublishSettings", "TOKEN_ENV",
]  # fmt: skip

MiB = _MiB = 1024 * 1024
DEFAULT_USER_AGENT = "newsmirror/0.1 (+https://github.com/newsmirror)"
PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")

_KNOWN_CONVERSIONS = (
    "s2t", "t2s", "s2tw", "tw2s", "s2hk", "hk2s", "s2twp", "tw2sp", "t2tw", "tw2t", "t2hk",
    "hk2t", "t2jp", "jp2t", "s2hkp", "hk2sp",
)  # fmt: skip


def opencc_configs() -> list[str]:
    """``opencc.CONFIGS`` (the conversion files the installed OpenCC ships), found as
    opencc finds them but without importing it (and its C library): every command
    builds a Config, few convert text."""
    spec = importlib.util.find_spec("opencc")
    if spec is None or not spec.submodule_search_locations:
        return []
    here = os.path.abspath(next(iter(spec.submodule_search_locations)))
    share = os.path.join(here, "clib", "share", "opencc")
    data = os.path.join(os.path.abspath(os.path.join(here, "..", "..")), "data", "config")
    for folder in (share, data):
        if os.path.isdir(folder):
            return [f for f in os.listdir(folder) if f.endswith(".json")]
    return []


_AVAILABLE = {c.removesuffix(".json") for c in opencc_configs()}
#: Valid values of ``convert`` ("none" = no conversion), for config validation.
CONVERSIONS: tuple[str, ...] = ("none",) + tuple(
    c for c in _KNOWN_CONVERSIONS if not _AVAILABLE or c in _AVAILABLE
)


TOKEN_ENV = "NEWSMIRROR_GIT_TOKEN"


@dataclass(frozen=True, slots=True)
class PublishSettings:
    """``[publish]`` in newsmirror.toml (publish.py pushes; git and hashing stay there)."""

    remotes: tuple[str, ...] = ()  # remote names or URLs; empty = origin
    branch: str = ""  # empty = the current branch
    attempts: int = 5  # pushes per remote; each rejected one fetches and rebases
    token_env: str = TOKEN_ENV  # environment variable that may hold an HTTPS token
    timeout: float = 600.0  # seconds for one git command


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


@dataclass(frozen=True, slots=True)
class FetchSettings:
    """How the fetcher behaves. Times are seconds; ``proxy=""`` honours the env vars."""

    user_agent: str = DEFAULT_USER_AGENT
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    total_timeout: float = 60.0  # one fetch() call: every attempt, redirect and backoff
    retries: int = 3  # extra attempts after the first
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    max_bytes: int = 20 * MiB
    concurrency: int = 8
    per_host: int = 2
    proxy: str = ""  # http://, https://, socks5://, socks5h://
    http2: bool = False
    max_redirects: int = 10
    allow_private: bool = False  # may redirects and feed links reach private addresses?

    def __post_init__(self) -> None:
        positive = "connect_timeout read_timeout total_timeout max_bytes concurrency per_host"
        not_negative = "retries backoff_base backoff_max max_redirects"
        problems = [
            f"fetch.{name}: must be positive, got {getattr(self, name)!r}"
            for name in positive.split()
            if not getattr(self, name) > 0
        ] + [
            f"fetch.{name}: must not be negative, got {getattr(self, name)!r}"
            for name in not_negative.split()
            if getattr(self, name) < 0
        ]
        if self.proxy and self.proxy.partition("://")[0].lower() not in PROXY_SCHEMES:
            problems.append(
                f"fetch.proxy: {self.proxy!r} must start with http://, https://, socks5:// or socks5h://"
            )
        if problems:
            raise ConfigError(problems)
