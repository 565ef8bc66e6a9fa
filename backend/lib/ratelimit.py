"""Sign-in rate limits: per client IP and per account, each route group in its own buckets (issue 17).

* Per client IP and minute (``AUTH_RATE_PER_MINUTE``), apart for staff login, OTP send, OTP verify and the
  Firebase exchange (and the rest of ``/auth/*``): a proxy's address is never the client
  (``backend.lib.clientip``, ``TRUSTED_PROXIES``).
* Per phone number (OTP send, OTP verify) and per staff username (login) and hour
  (``AUTH_ACCOUNT_RATE_PER_HOUR``), whatever the IP: spreading guesses over many addresses does not help.

Counters live in the app's ``rate_limit`` store (Litestar's stores: memory embedded, Redis when ``REDIS_URL``
is set, so every process shares them), fixed windows like Litestar's own rate limit middleware. Account keys
are hashed: no phone number or username sits in the store (Decree 13/2023/NĐ-CP, least personal data).
Over the limit: a 429 problem with ``Retry-After``.

When the shared store fails (Redis down or unreachable: found by the fault drills, ``bench/drills``, where every
sign-in answered 500), limits fail open to a per-process memory store, so the service keeps serving and still
limits each process: ``hit`` counts there for ``SHARED_RETRY_S`` seconds, then tries the shared store again.
A limit then holds per process (``WEB_CONCURRENCY`` processes allow up to that many times the limit), which is
logged once per outage.
"""

import asyncio
import hashlib
import logging
import time
from collections.abc import Sequence
from typing import Any

from litestar import Litestar
from litestar.middleware import ASGIMiddleware
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.types import ASGIApp, Receive, Scope, Send

from backend.lib.clientip import Network, request_client_ip
from backend.lib.problems import Problem

AUTH_PREFIX = "/api/v1/auth/"
STORE = "rate_limit"
GROUPS = {
    "staff/login": "login",
    "citizen/otp": "otp_send",
    "citizen/verify": "otp_verify",
    "firebase": "firebase",
}
# One lock per store (stores cannot be weakly referenced; there are a handful per process).
_LOCKS: dict[int, asyncio.Lock] = {}
# A shared store that failed is left alone this long (seconds) before it is tried again.
SHARED_RETRY_S = 5.0
# Per shared store: the process's own counters while it is down, and until when it is left alone.
_FALLBACK: dict[int, MemoryStore] = {}
_DOWN_UNTIL: dict[int, float] = {}
# What a failing store raises: redis-py's errors (ConnectionError, TimeoutError...) and the OS's.
try:
    from redis.exceptions import RedisError

    STORE_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError)
except ImportError:  # pragma: no cover - redis is a dependency
    STORE_ERRORS = (OSError,)
log = logging.getLogger(__name__)


def auth_group(path: str) -> str | None:
    """The bucket group of a path under /api/v1/auth/ (``auth`` for the others), None outside it."""
    if not path.startswith(AUTH_PREFIX):
        return None
    return GROUPS.get(path[len(AUTH_PREFIX) :].strip("/"), "auth")


def too_many(retry_after: int) -> Problem:
    return Problem(
        429,
        "Quá nhiều lần thử, vui lòng thử lại sau / Too many attempts, please retry later",
        code="rate_limited",
        extra={"retry_after": retry_after},
        headers={"Retry-After": str(retry_after)},
    )


async def hit(store: Store, key: str, limit: int, window_s: int) -> None:
    """Count one request against ``key``'s fixed window; a 429 problem beyond ``limit``. The read and the
    write are one step for this process (a lock per store, as Litestar's middleware does). If ``store`` fails,
    the count goes to this process's memory (fail open, see the module's docstring)."""
    sid = id(store)
    if time.monotonic() >= _DOWN_UNTIL.get(sid, 0.0):
        try:
            await _count(store, key, limit, window_s)
        except STORE_ERRORS as exc:
            if sid not in _DOWN_UNTIL:
                log.warning("rate limit store unavailable (%s): limits now count per process", exc)
            _DOWN_UNTIL[sid] = time.monotonic() + SHARED_RETRY_S
        else:
            if _DOWN_UNTIL.pop(sid, None) is not None:
                log.warning("rate limit store available again: limits shared again")
                _FALLBACK.pop(sid, None)
            return
    fallback = _FALLBACK.get(sid)
    if fallback is None:
        fallback = _FALLBACK[sid] = MemoryStore()
    await _count(fallback, key, limit, window_s)


def shared_store_down(store: Store) -> bool:
    """Whether ``hit`` counts ``store``'s keys in this process's memory right now."""
    return time.monotonic() < _DOWN_UNTIL.get(id(store), 0.0)


async def _count(store: Store, key: str, limit: int, window_s: int) -> None:
    lock = _LOCKS.get(id(store))
    if lock is None:
        lock = _LOCKS[id(store)] = asyncio.Lock()
    now = int(time.time())
    async with lock:
        raw = await store.get(key)
        count, reset = 0, now + window_s
        if raw:
            text = raw.decode() if isinstance(raw, bytes) else str(raw)
            seen, _, ends = text.partition(":")
            if int(ends) > now:
                count, reset = int(seen), int(ends)
        if count >= limit:
            raise too_many(max(1, reset - now))
        await store.set(key, f"{count + 1}:{reset}", expires_in=max(1, reset - now))


def _store(app: Litestar) -> Store:
    return app.stores.get(STORE)


async def limit_account(app: Litestar, group: str, account: str) -> None:
    """Count a sign-in request for a phone number or a username (normalised by the caller)."""
    digest = hashlib.sha256(f"{group}:{account}".encode()).hexdigest()[:32]
    await hit(_store(app), f"acct:{group}:{digest}", app.state.settings.auth_account_rate_per_hour, 3600)


class AuthRateLimitMiddleware(ASGIMiddleware):
    """Per client IP and minute, each group of /api/v1/auth/ routes in its own bucket."""

    scopes = ("http",)  # type: ignore[assignment]

    def __init__(self, per_minute: int, proxies: Sequence[Network]) -> None:
        self.per_minute = per_minute
        self.proxies = tuple(proxies)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        group = auth_group(str(scope["path"]))
        if group is not None and scope.get("method") != "OPTIONS":
            app: Any = scope["litestar_app"]
            ip = request_client_ip(app.request_class(scope), self.proxies)
            await hit(_store(app), f"ip:{group}:{ip}", self.per_minute, 60)
        await next_app(scope, receive, send)
