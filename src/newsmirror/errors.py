"""The one error family of newsmirror.

::

    NewsmirrorError                 every error the tool raises on purpose
    ├── ConfigError                 bad newsmirror.toml (may hold many problems)
    ├── LockedError                 another run holds the mirror's lock
    ├── FetchError                  a URL could not be fetched
    │   ├── HTTPStatusError         4xx/5xx after retries        reason: http_<code>
    │   ├── FetchTimeoutError       connect/read/total timeout   reason: timeout
    │   ├── ConnectError            DNS, refused, reset, TLS     reason: dns | connect
    │   ├── TooLargeError           body over the size cap      reason: too_large
    │   └── BlockedURLError         scheme/host not allowed      reason: blocked_url
    ├── ParseError                  bytes that are not a usable feed
    │   ├── NotAFeedError           an HTML page or other text   reason: not_a_feed
    │   └── InvalidFeedError        broken beyond recovery       reason: invalid_xml | invalid_json
    ├── ItemError                   one item could not be kept   reason: no_link | clean | render
    └── StoreError                  the index could not be read or written

Every error carries the source slug, the URL and a short reason code, and
``str(err)`` is one line naming all three and the cause. Nothing returns
``None`` for failure: stages raise one of these.
"""

from __future__ import annotations


class NewsmirrorError(Exception):
    reason: str = "error"

    def __init__(
        self, message: str, *, source: str = "", url: str = "", reason: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = " ".join(str(message).split())  # always one line
        self.source = source
        self.url = url
        if reason is not None:
            self.reason = reason

    def __str__(self) -> str:
        parts = [p for p in (self.source, self.url) if p]
        where = ": ".join(parts)
        return f"{where}: {self.message}" if where else self.message

    def with_context(self, *, source: str = "", url: str = "") -> NewsmirrorError:
        """Fill in source/URL where the raiser did not know them."""
        if source and not self.source:
            self.source = source
        if url and not self.url:
            self.url = url
        return self


class ConfigError(NewsmirrorError):
    """Configuration problems; ``problems`` lists every one as ``key.path: what is wrong``."""

    reason = "config"

    def __init__(self, problems: list[str] | str, *, path: str = "") -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        self.path = path
        head = f"{path}: " if path else ""
        super().__init__(head + "; ".join(self.problems))

    def __str__(self) -> str:
        return self.message


class LockedError(NewsmirrorError):
    reason = "locked"


class FetchError(NewsmirrorError):
    reason = "fetch"


class HTTPStatusError(FetchError):
    def __init__(self, message: str, *, status: int, source: str = "", url: str = "") -> None:
        super().__init__(message, source=source, url=url, reason=f"http_{status}")
        self.status = status


class FetchTimeoutError(FetchError):
    reason = "timeout"


class ConnectError(FetchError):
    reason = "connect"


class TooLargeError(FetchError):
    reason = "too_large"


class BlockedURLError(FetchError):
    reason = "blocked_url"


class ParseError(NewsmirrorError):
    reason = "parse"


class NotAFeedError(ParseError):
    reason = "not_a_feed"


class InvalidFeedError(ParseError):
    reason = "invalid_xml"


class ItemError(NewsmirrorError):
    reason = "item"


class StoreError(NewsmirrorError):
    reason = "store"
