"""The back-off for failing sources: after ``n`` failures in a row a source is
tried again ``base * 2**(n-1)`` later, capped, and never given up for good
(:func:`due`, called by the pipeline when it picks sources). ``health`` (the
``status`` report) re-exports all of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .store import FeedHealth, Store

__all__ = ["EARLY_MAX", "BackoffPolicy", "due", "is_due", "next_attempt"]

EARLY_MAX = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """How long a failing source rests before the next attempt.

    ``backoff_early`` lets a source be tried that fraction of its delay (at most
    15 minutes) ahead of time:
    scheduled runs drift (GitHub starts hourly jobs minutes late or early), and
    a source due at 11:23 should not wait a whole extra hour for a run at 11:21.
    """

    backoff_base_minutes: float = 30.0  # rest after the first failure, doubled after each next
    backoff_cap_hours: float = 24.0  # the longest rest: a dead source is still tried daily
    backoff_early: float = 0.1

    def delay(self, failures: int) -> timedelta:
        if failures <= 0:
            return timedelta(0)
        minutes = self.backoff_base_minutes * 2 ** min(failures - 1, 30)
        return timedelta(minutes=min(minutes, self.backoff_cap_hours * 60))


def next_attempt(h: FeedHealth | None, policy: BackoffPolicy = BackoffPolicy()) -> datetime | None:
    """When a failing source is tried again; None when it is not backing off."""
    if h is None or h.failures <= 0 or h.last_attempt is None:
        return None
    return h.last_attempt + policy.delay(h.failures)


def is_due(
    h: FeedHealth | None,
    now: datetime,
    policy: BackoffPolicy = BackoffPolicy(),
    *,
    url: str | None = None,
) -> bool:
    """Whether a source with this health should be fetched at ``now``."""
    nxt = next_attempt(h, policy)
    if h is None or nxt is None:
        return True
    if url is not None and h.url != url:
        return True  # the URL was changed (fixed?): try it at once
    delay = policy.delay(h.failures)
    if nxt - now > delay:
        return True  # last attempt lies in the future: the clock moved back
    return now + min(delay * policy.backoff_early, EARLY_MAX) >= nxt


def due(
    store: Store,
    slug: str,
    now: datetime,
    *,
    url: str | None = None,
    policy: BackoffPolicy = BackoffPolicy(),
) -> bool:
    """Whether source ``slug`` should be fetched at ``now`` (False while it backs off)."""
    return is_due(store.feed(slug), now, policy, url=url)
