"""The per-client limit of public reads (issue 24): ``PUBLIC_RATE_PER_S`` a second per client IP, bursts of
``PUBLIC_RATE_BURST`` (``backend.settings``), for every process of the service together when ``REDIS_URL`` is
set.

``ClientLimiter`` is a token bucket per client in this process's memory. Alone, ``WEB_CONCURRENCY`` N processes
let a client through at N times the rate. ``SharedClientLimiter`` keeps the bucket in Redis instead, without a
Redis round trip per request (a cached answer costs less than one): a process takes tokens from the shared
bucket in chunks (``chunk_size``: a tenth of the burst and a fifth of a second's rate, at most ``MAX_CHUNK``; one
token for tiny limits) with one atomic script call (``TAKE``: refill by Redis's own clock, grant what is there,
or say how long until a token is), then serves the chunk locally. So:

* a client is limited at the shared rate, give or take one chunk per process (tokens a process took and did not
  use are dropped after ``HOLD_S``, so it cannot save them up);
* at most one Redis call per chunk per client and process (concurrent requests of one client wait for one call,
  which asks for a token for each of them when they are more than a chunk);
* a refused client is refused locally until the time Redis gave, without asking again.

The bucket's key holds the client's address for as long as the bucket takes to refill (``PUBLIC_RATE_BURST`` /
``PUBLIC_RATE_PER_S`` plus a second: 5 s by default), like the sign-in limits' per-IP keys.

Redis down or unreachable (any ``RedisError`` or ``OSError``, a ``TIMEOUT_S`` connect/read timeout): the process
limits with its own ``ClientLimiter`` (per process, as before) for ``SHARED_RETRY_S``, then asks Redis again;
logged once per outage (like the sign-in limits, ``backend.lib.ratelimit``). Never a 500.
"""

import asyncio
import logging
import time
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

MAX_CHUNK = 100  # tokens one call takes at most: the shared limit holds within this per process
CHUNK_OF_BURST = 0.1
CHUNK_OF_SECOND = 0.2
HOLD_S = 10.0  # tokens taken and not used within this are dropped (they were this client's rate then)
SHARED_RETRY_S = 5.0  # Redis failed: per process this long, then asked again
TIMEOUT_S = 0.25  # connect and read: what a read may wait for an unreachable Redis, every SHARED_RETRY_S
PREFIX = "hoso-public-rate:"  # one hash per client: tokens, at (Redis's clock, seconds)

# KEYS[1] the client's bucket; ARGV rate, burst, wanted, ttl (ms). Returns {granted, seconds to wait (a string:
# Lua numbers come back as integers)}. Redis's TIME is the clock of every process (Redis >= 5 replicates the
# script's effects, so reading it before writing is allowed).
TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate, burst, want = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local got = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(got[1]), tonumber(got[2])
if tokens == nil or at == nil then tokens, at = burst, now end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local granted = math.min(want, math.floor(tokens))
tokens = tokens - granted
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
if granted > 0 then return {granted, '0'} end
return {0, tostring((1 - tokens) / rate)}
"""


class _Bucket:
    __slots__ = ("tokens", "at")

    def __init__(self, tokens: float, at: float) -> None:
        self.tokens = tokens
        self.at = at


class ClientLimiter:
    """A token bucket per client in this process: ``rate`` a second, bursts of ``burst``."""

    def __init__(self, rate: float, burst: int, max_clients: int = 100_000) -> None:
        self.rate = rate
        self.burst = float(max(1, burst))
        self.max_clients = max_clients
        self._buckets: dict[str, _Bucket] = {}

    def take(self, client: str) -> float:
        """0 when the request may go, else the seconds until it could."""
        now = time.monotonic()
        bucket = self._buckets.get(client)
        if bucket is None:
            if len(self._buckets) >= self.max_clients:
                self._buckets.clear()
            bucket = self._buckets[client] = _Bucket(self.burst, now)
        else:
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate if self.rate > 0 else 60.0

    async def acquire(self, client: str) -> float:
        return self.take(client)


def chunk_size(rate: float, burst: float) -> int:
    return max(1, min(MAX_CHUNK, int(burst * CHUNK_OF_BURST), int(rate * CHUNK_OF_SECOND)))


class _Grant:
    """What this process holds of one client's shared bucket."""

    __slots__ = ("tokens", "until", "refused_until", "waiting")

    def __init__(self) -> None:
        self.tokens = 0
        self.until = 0.0  # the tokens are dropped then
        self.refused_until = 0.0  # Redis said no token before then
        self.waiting = 0  # requests of this client waiting for a call to Redis


class SharedClientLimiter:
    """The same limit for every process sharing ``redis_url`` (see the module's docstring)."""

    def __init__(self, local: ClientLimiter, redis_url: str, redis: Any = None) -> None:
        self.local = local  # the fallback while Redis is down
        self.rate = local.rate
        self.burst = local.burst
        self.chunk = chunk_size(local.rate, local.burst)
        self.ttl_ms = max(1000, int(local.burst / local.rate * 1000) + 1000) if local.rate > 0 else 3_600_000
        self.redis_url = redis_url
        self._redis = redis
        self._script: Any = None
        self._grants: dict[str, _Grant] = {}
        self._calls: dict[str, asyncio.Future[None]] = {}
        self._down_until = 0.0
        self.down = False  # logged once per outage
        self.calls = 0  # Redis calls made (for tests and benchmarks)

    def _client(self) -> Any:
        if self._script is None:
            if self._redis is None:
                self._redis = Redis.from_url(
                    self.redis_url, socket_connect_timeout=TIMEOUT_S, socket_timeout=TIMEOUT_S
                )
            self._script = self._redis.register_script(TAKE)
        return self._script

    async def acquire(self, client: str) -> float:
        """0 when the request may go, else the seconds until it could."""
        grant = self._grants.get(client)
        if grant is None:
            if len(self._grants) >= self.local.max_clients:
                self._grants.clear()
            grant = self._grants[client] = _Grant()
        while True:
            now = time.monotonic()
            if grant.tokens >= 1 and now < grant.until:
                grant.tokens -= 1
                return 0.0
            if now < grant.refused_until:
                return grant.refused_until - now
            if now < self._down_until:
                return self.local.take(client)
            call = self._calls.get(client)
            if call is None:
                call = self._calls[client] = asyncio.ensure_future(self._take(client, grant))
            grant.waiting += 1
            try:
                await asyncio.shield(call)
            finally:
                grant.waiting -= 1

    async def _take(self, client: str, grant: _Grant) -> None:
        """One call to Redis for a chunk (or as many tokens as requests are waiting); never raises."""
        try:
            want = min(int(self.burst), max(self.chunk, grant.waiting))  # every request queued gets one
            self.calls += 1
            granted, wait = await self._client()(
                keys=[PREFIX + client], args=[self.rate, self.burst, want, self.ttl_ms]
            )
        except (TimeoutError, RedisError, OSError) as exc:
            self._down_until = time.monotonic() + SHARED_RETRY_S
            if not self.down:
                self.down = True
                log.warning("public read limit store unavailable (%s): limits now count per process", exc)
        else:
            if self.down:
                self.down = False
                log.warning("public read limit store available again: limits shared again")
            now = time.monotonic()
            grant.tokens, grant.until = int(granted), now + HOLD_S
            if not grant.tokens:
                grant.refused_until = now + float(wait)
        finally:
            self._calls.pop(client, None)

    async def aclose(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis, self._script = None, None
