"""Politeness shared by every worker: a per-host concurrency limit and backoff
kept in Redis, so ``[fetch] per_host`` holds for the whole fleet, not per
process.

A host's slots are a sorted set of leases (token → expiry, by the Redis
server's clock): a fetch takes a slot when fewer than ``limit`` unexpired
leases exist, and gives it back when done. A worker killed mid-fetch cannot
leak its slot: the lease expires (``lease`` seconds, longer than a fetch may
take). A host that answered 429/503 is cooled down for everyone: no worker
starts a request to it until the cool-down key expires.

The fetcher takes a gate through ``Fetcher(gate=…)``; without one it uses
its own in-process semaphores.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import AsyncIterator
from typing import Any, Protocol

# KEYS[1] leases, KEYS[2] cool-down; ARGV: limit, lease ms, token.
# Returns 0 when the slot is taken, else how many ms to wait before asking again.
_ACQUIRE = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local cool = redis.call('PTTL', KEYS[2])
if cool > 0 then return cool end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
  return 0
end
return -1
"""

# KEYS[1] cool-down; ARGV: ms. Extends, never shortens, a cool-down.
_COOL = """
local left = redis.call('PTTL', KEYS[1])
if left < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], '1', 'PX', ARGV[1]) end
return 1
"""


class HostGate(Protocol):
    def slot(self, host: str) -> contextlib.AbstractAsyncContextManager[None]: ...
    async def cool(self, host: str, seconds: float) -> None: ...


class RedisHostGate:
    """``limit`` requests in flight per host across every process using ``url``."""

    def __init__(
        self, url: str, *, limit: int, lease: float, prefix: str = "newsmirror:host"
    ) -> None:
        import redis.asyncio  # optional dependency: only the celery engine needs it

        self.client: Any = redis.asyncio.Redis.from_url(url)
        self.limit = limit
        self.lease_ms = max(1000, int(lease * 1000))
        self.prefix = prefix
        self._acquire = self.client.register_script(_ACQUIRE)
        self._cool = self.client.register_script(_COOL)
        self._rng = random.Random()

    def _keys(self, host: str) -> tuple[str, str]:
        return f"{self.prefix}:{host}:leases", f"{self.prefix}:{host}:cool"

    @contextlib.asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        leases, cool = self._keys(host)
        token = uuid.uuid4().hex
        wait = 0.005
        while True:
            answer = int(
                await self._acquire(keys=[leases, cool], args=[self.limit, self.lease_ms, token])
            )
            if answer == 0:
                break
            if answer > 0:  # cooling down: sleep it out (with a little jitter)
                await asyncio.sleep(answer / 1000 + self._rng.uniform(0, 0.05))
                continue
            await asyncio.sleep(wait + self._rng.uniform(0, wait))
            wait = min(wait * 2, 0.1)
        try:
            yield
        finally:
            with contextlib.suppress(Exception):  # the lease expires anyway
                await asyncio.shield(self.client.zrem(leases, token))

    async def cool(self, host: str, seconds: float) -> None:
        """Nobody starts a request to ``host`` for ``seconds``."""
        if seconds > 0:
            await self._cool(keys=[self._keys(host)[1]], args=[int(seconds * 1000)])

    async def aclose(self) -> None:
        await self.client.aclose()


__all__ = ["HostGate", "RedisHostGate"]
