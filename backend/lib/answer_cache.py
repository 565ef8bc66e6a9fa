"""Rendered answers cached per process until an event changes them (issue 24: reads at the speed of the framework).

An answer is stored as it goes on the wire: the encoded JSON bytes and a strong ``ETag`` (a hash of the bytes,
``backend.lib.etag.entity_tag``, so every process gives the same tag for the same answer). Entries are keyed by
``(database, key)`` (``backend.db.engine_key``: two apps on two databases in one process never share) and carry
*tags*, strings naming what the answer was made from; ``invalidate(tag)`` drops at once every entry carrying it.

Tags in use (``dossier_tag``, ``table_tag``):

* ``dossier:<uuid>``: a dossier's row or its events (``GET /track/{id}``).
* ``table:<name>``: any row of that table (reference reads: ``table:procedure``, ``table:organisation``...).

How an entry is dropped:

* PostgreSQL, listener up (``pgnotify.listening(db)``): triggers of migration 0029 send ``NOTIFY hoso_answers``
  with the tag at commit (``dossier:<id>`` per changed dossier or dossier event, ``table:<name>`` once per
  statement on the reference tables), whoever wrote (another process, another machine, a migration, psql).
  Entries then live up to ``LISTEN_TTL_S`` (or the ``ttl_s`` given). The listener connecting or dropping
  clears that database's entries (what changed meanwhile is unknown).
* Always, in this process: ``install()`` hooks SQLAlchemy's ``Session`` so that a commit that flushed a
  ``Dossier``/``DossierEvent`` (or any row of a table) invalidates its tags right after the commit. Writers
  that bypass the ORM (``insert()`` statements) may call ``invalidate`` themselves.
* SQLite file (no NOTIFY): ``backend.lib.sqlite_watch`` asks the file's ``PRAGMA data_version`` at most every
  ``sqlite_watch.POLL_S`` (20 ms), on the lookups themselves. While nothing commits, entries live up to
  ``WATCH_TTL_S``. Another connection committed and this process did not: that database's entries are dropped
  at once (another process's change shows within ``POLL_S``). This process committed too (its own changes are
  already dropped by tag): entries loaded before live ``SHORT_TTL_S`` at most (someone else's change in the
  same moment shows within that). After either, entries stored during ``SETTLE_S`` (12 s) live ``SHORT_TTL_S``
  too: an answer made from another per-process cache (booking's: 10 s TTLs on SQLite) then shows another
  process's change within that cache's TTL plus ``SHORT_TTL_S``, as before. The file cannot be asked:
  ``SHORT_TTL_S``. The first answer of the file (and the first after it could not be asked) resets every
  per-process cache of the database, as PostgreSQL's listener connecting does (``pgnotify.on_reset``). So while
  the file is written to (every ``SETTLE_S`` or more often) answers live as short as before; while it is only
  read, long.
* Listener down, SQLite in memory (or not watched): entries live ``SHORT_TTL_S`` (1.5 s), so another
  process's change shows within that; this process's own changes show at once (the hook above).

Each entry lives a share of its TTL drawn between ``1 - LIFE_SPREAD`` and 1 (never longer than the bounds
above): answers stored together (a warm-up, a cleared store) then expire spread out, not in one wave of loads.

A load that started before an invalidation of one of its tags is never stored after it (a sequence number is
taken before the load and compared with the tags' last invalidation at store time, and with what the SQLite
watch last found at lookup time), so a stale read cannot outlive the change that made it stale. Concurrent
misses of one key share one load. The store is bounded (``MAX_ENTRIES`` answers and ``MAX_BYTES`` of bodies per
process, the oldest dropped first).

API (H5 and others reuse it)::

    from backend.lib import answer_cache

    @get("/things/{id:str}", exclude_from_auth=True, **answer_cache.public("public, no-cache"))
    async def thing(self, request: Request[Any, Any, Any], db_session: ..., id: str) -> Response[Thing]:
        async def load() -> tuple[Thing, Iterable[str]]:
            row = await read(db_session, id)                 # a Problem raised here is answered as usual
            return Thing(...), [answer_cache.table_tag("thing")]
        return await answer_cache.serve(request, load)       # 200 + ETag + Cache-Control, or 304

* ``public(policy)``: route keyword arguments. The answer is the same for everyone: keyed by the request's path
  and query string, so ``PublicReadMiddleware`` (first of the app's middleware) answers a repeated request from
  the store before authentication, dependencies or the handler run; it also applies the per-client limit
  (``PUBLIC_RATE_PER_S`` requests a second per client IP with bursts of ``PUBLIC_RATE_BURST``, a 429 problem
  with ``Retry-After`` beyond) to every public read, cached or not. ``limited()`` is the limit alone.
* ``serve(request, load, key=None, private=False, policy=None, ttl_s=None)``: the answer from the store, else
  ``load()`` → ``(content, tags)`` rendered by the app's response class (times shown in Vietnam time) and
  stored. ``private=True`` keys the entry by the caller too (pass ``key`` including the principal's id, e.g.
  ``("inbox", principal.id, ...)``); private entries are never served by the middleware and their policy must
  say ``private``. Never cache a per-user answer under a shared key.
* ``invalidate(*tags)``: drop entries with any of the tags, in every database of this process (writers of
  this process, for changes the ORM hook cannot see). ``clear(db=None)``: drop everything (of one database).
* ``lookup(db, key)``, ``store(...)`` / ``sequence()``: the lower level, for callers that render by themselves.

The per-client limit (a token bucket per client IP, ``backend.lib.clientip``: ``X-Forwarded-For`` only from
``TRUSTED_PROXIES``) is ``backend.lib.client_limit``: shared by every process through Redis when ``REDIS_URL``
is set, in chunks of tokens so that most requests never wait for Redis; in this process's memory otherwise, and
while Redis is down.
"""

import random
import time
from collections.abc import Awaitable, Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response
from litestar.middleware import ASGIMiddleware
from litestar.serialization import get_serializer
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from backend.db import engine_key
from backend.lib import etag, pgnotify, sqlite_watch
from backend.lib.client_limit import ClientLimiter, SharedClientLimiter
from backend.lib.clientip import request_client_ip
from backend.lib.problems import Problem
from backend.lib.single_flight import SingleFlight
from backend.lib.sqlite_watch import Change

CHANNEL = "hoso_answers"  # NOTIFY channel of migration 0029; payload: a tag
SHORT_TTL_S = 1.5  # nobody listens (SQLite, listener down): another process's change shows within this
LISTEN_TTL_S = 300.0  # listener up: changes arrive as notifications; this bounds anything they miss
WATCH_TTL_S = 300.0  # SQLite file watched (sqlite_watch): every commit is seen; this bounds anything missed
# After a change to a watched SQLite file, answers stored live SHORT_TTL_S for this long: per-process caches an
# answer may be made from (booking's offices, rules, rosters, plans, tariffs: 10 s TTLs on SQLite) can still hold
# what was there before another process's change; past their TTL, they have read it again.
SETTLE_S = 12.0
LIFE_SPREAD = 0.25  # an entry lives between 75 % and 100 % of its TTL (drawn when stored)
MAX_ENTRIES = 20_000
MAX_BYTES = 64 * 1024 * 1024  # the bodies kept per process, whatever queries clients vary
MAX_TAG_MARKS = 50_000
OPT = (
    "answer_cache"  # route opt: "public" (served by the middleware) or "limited" (the per-client limit only)
)
NO_CACHE = "public, no-cache"  # clients revalidate every time (304 when unchanged)


def dossier_tag(dossier_id: Any) -> str:
    return f"dossier:{dossier_id}"


def table_tag(table: str) -> str:
    return f"table:{table}"


@dataclass(slots=True)
class Entry:
    body: bytes
    etag: str
    policy: str
    tags: frozenset[str]
    stored: float
    ttl_s: float | None
    private: bool
    media_type: str = "application/json"
    since: int = -1  # the sequence number its load started at (set by ``store``)
    share: float = 1.0  # the share of its TTL it lives (drawn by ``store``)
    short: bool = False  # lives SHORT_TTL_S at most (set by ``store``: see SETTLE_S)

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [(b"etag", self.etag.encode()), (b"cache-control", self.policy.encode())]


_entries: dict[tuple[str, Hashable], Entry] = {}
_by_tag: dict[str, set[tuple[str, Hashable]]] = {}
_loading: SingleFlight[tuple[str, Hashable], Entry] = SingleFlight()  # concurrent misses of a key: one load
_bytes = 0  # the size of the bodies in _entries
_seq = 0  # moves on every invalidation
_marks: dict[str, int] = {}  # tag -> the sequence number of its last invalidation
_floor = 0  # loads that started before this are never stored (marks were forgotten, or everything cleared)


class _Caps:
    """The last change to a SQLite file that may have been another connection's (at ``changed_at``, sequence
    ``changed_seq``): loads that began before it live ``SHORT_TTL_S`` at most, and so do those stored within
    ``SETTLE_S`` of it."""

    __slots__ = ("changed_seq", "changed_at")

    def __init__(self) -> None:
        self.changed_seq = 0
        self.changed_at = float("-inf")


_caps: dict[str, _Caps] = {}


def sequence() -> int:
    """Take it before loading; pass it to ``store(since=...)``."""
    return _seq


def _watched_ttl(db: str, now: float) -> float | None:
    """The TTL of a watched SQLite database after acting on what its watch found; None when not watched."""
    watch = sqlite_watch.get(db)
    if watch is None:
        return None
    change = watch.poll(now)
    caps = _caps.get(db)
    if change is Change.FIRST:
        # What changed before is unknown: as when a PostgreSQL listener connects, every per-process cache of the
        # database forgets it (booking's, accounts', plans', these answers). Once per process, or per outage.
        for reset in pgnotify.subscriptions().get("reset", ()):
            reset(db)
        clear(db)
    elif change is Change.FOREIGN or change is Change.AMBIGUOUS:
        global _seq
        _seq += 1
        caps = _caps.setdefault(db, _Caps())
        caps.changed_seq, caps.changed_at = _seq, now
        if change is Change.FOREIGN:
            clear(db)  # someone else wrote: these answers at once; the other caches keep their own TTLs
    if not watch.healthy or (caps is not None and now - caps.changed_at < SETTLE_S):
        return SHORT_TTL_S
    return WATCH_TTL_S


def _ttl(db: str, now: float) -> float:
    """How long ``db``'s entries live now (asking a SQLite watch first, so a load after this starts after
    what it found)."""
    if pgnotify.listening(db):
        return LISTEN_TTL_S
    watched = _watched_ttl(db, now)
    return SHORT_TTL_S if watched is None else watched


def lookup(db: str, key: Hashable) -> Entry | None:
    now = time.monotonic()
    limit = _ttl(db, now)
    entry = _entries.get((db, key))
    if entry is None:
        return None
    caps = _caps.get(db)
    if caps is not None and entry.since < caps.changed_seq:
        limit = SHORT_TTL_S
    if entry.short:
        limit = min(limit, SHORT_TTL_S)
    if entry.ttl_s is not None:
        limit = min(limit, entry.ttl_s)
    if now - entry.stored >= limit * entry.share:
        return None
    return entry


def _drop(full: tuple[str, Hashable]) -> None:
    global _bytes
    entry = _entries.pop(full, None)
    if entry is None:
        return
    _bytes -= len(entry.body)
    for tag in entry.tags:
        keys = _by_tag.get(tag)
        if keys is not None:
            keys.discard(full)
            if not keys:
                del _by_tag[tag]


def store(db: str, key: Hashable, entry: Entry, *, since: int) -> Entry:
    """Keep ``entry`` unless one of its tags was invalidated after ``since`` (it is returned either way)."""
    entry.since = since
    entry.share = random.uniform(1.0 - LIFE_SPREAD, 1.0)  # not for security: spreads expiries
    entry.short = _ttl(db, time.monotonic()) <= SHORT_TTL_S  # stored while a change settles: short for good
    if since < _floor:
        return entry
    if any(_marks.get(tag, -1) > since for tag in entry.tags):
        return entry
    global _bytes
    full = (db, key)
    _drop(full)
    if len(entry.body) > MAX_BYTES // 16:
        return entry  # too big to keep: served, not stored
    while _entries and (len(_entries) >= MAX_ENTRIES or _bytes + len(entry.body) > MAX_BYTES):
        _drop(next(iter(_entries)))  # the oldest stored first
    _entries[full] = entry
    _bytes += len(entry.body)
    for tag in entry.tags:
        _by_tag.setdefault(tag, set()).add(full)
    return entry


def invalidate(*tags: str) -> None:
    """Drop every entry carrying one of ``tags``, in every database (cheap when none does)."""
    global _seq, _floor
    _seq += 1
    for tag in tags:
        _marks[tag] = _seq
        for full in list(_by_tag.get(tag, ())):
            _drop(full)
            _loading.forget(full)  # later callers load afresh instead of waiting for a stale load
    if len(_marks) > MAX_TAG_MARKS:
        _marks.clear()
        _floor = _seq


def clear(db: str | None = None) -> None:
    global _seq, _floor
    _seq += 1
    _floor = _seq
    for full in [k for k in _entries if db is None or k[0] == db]:
        _drop(full)
    _loading.forget_where(lambda full: db is None or full[0] == db)


def render(request: Request[Any, Any, Any], content: Any) -> bytes:
    """The bytes the app would send for ``content`` (its response class: times in Vietnam time)."""
    response = (request.app.response_class or Response)(content=content)
    return response.render(
        content, "application/json", get_serializer(request.route_handler.resolve_type_encoders())
    )


def db_of(app: Any) -> str:
    db: str | None = getattr(app.state, "answer_db", None)
    if db is None:
        engine = app.state.engine.sync_engine
        db = app.state.answer_db = engine_key(engine)
        if sqlite_watch.watch(db, engine.url) is not None:
            _ttl(db, time.monotonic())  # its first answer, before anything of this app is stored
    return db


def public_key(scope: Scope) -> tuple[str, str, bytes]:
    return ("public", str(scope["path"]), bytes(scope.get("query_string", b"")))


def not_modified(scope: Scope, entry: Entry) -> bool:
    for name, value in scope["headers"]:
        if name.lower() == b"if-none-match":
            return etag.matches(value.decode("latin-1"), entry.etag)
    return False


def respond(request: Request[Any, Any, Any], entry: Entry) -> Response[Any]:
    """A 200 with the stored bytes, ETag and Cache-Control, or a 304 when ``If-None-Match`` names the tag."""
    headers = {"ETag": entry.etag, "Cache-Control": entry.policy}
    if not_modified(request.scope, entry):
        return Response(content=b"", status_code=304, headers=headers)
    return Response(content=entry.body, media_type=entry.media_type, headers=headers)


async def send_entry(scope: Scope, send: Send, entry: Entry) -> None:
    """Sends ``entry`` on the wire as ``respond`` would (200 with its bytes, or 304 when ``If-None-Match`` names
    it; no body for HEAD), for the middleware that answer before the handler runs."""
    if not_modified(scope, entry):
        await send({"type": "http.response.start", "status": 304, "headers": entry.headers()})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return
    start: Message = {
        "type": "http.response.start",
        "status": 200,
        "headers": [
            (b"content-type", entry.media_type.encode()),
            (b"content-length", str(len(entry.body)).encode()),
            *entry.headers(),
        ],
    }
    await send(start)
    body = b"" if scope.get("method") == "HEAD" else entry.body
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def entry_for(
    request: Request[Any, Any, Any],
    load: Callable[[], Awaitable[tuple[Any, Iterable[str]]]],
    *,
    key: Hashable | None = None,
    private: bool = False,
    policy: str | None = None,
    ttl_s: float | None = None,
) -> Entry:
    """The stored entry for ``key`` (the request's path and query when public and None), else loaded."""
    if private and key is None:
        raise ValueError("a private answer needs a key naming its caller")
    db = db_of(request.app)
    full_key = key if key is not None else public_key(request.scope)
    hit = lookup(db, full_key)
    if hit is not None:
        return hit
    chosen = policy or request.route_handler.opt.get(etag.OPT) or NO_CACHE

    async def loaded() -> Entry:
        since = sequence()
        content, tags = await load()
        body = render(request, content)
        entry = Entry(
            body=body,
            etag=etag.entity_tag(body),
            policy=chosen,
            tags=frozenset(tags),
            stored=time.monotonic(),
            ttl_s=ttl_s,
            private=private,
        )
        return store(db, full_key, entry, since=since)

    return await _loading.run((db, full_key), loaded)


async def serve(
    request: Request[Any, Any, Any],
    load: Callable[[], Awaitable[tuple[Any, Iterable[str]]]],
    *,
    key: Hashable | None = None,
    private: bool = False,
    policy: str | None = None,
    ttl_s: float | None = None,
) -> Response[Any]:
    """The answer (200 or 304) from the store, else from ``load()``; see the module's docstring."""
    entry = await entry_for(request, load, key=key, private=private, policy=policy, ttl_s=ttl_s)
    return respond(request, entry)


def public(policy: str = NO_CACHE) -> dict[str, Any]:
    """Route keyword arguments of a public cached read: ``policy`` as its Cache-Control (documented with its
    ETag, If-None-Match and 304 by ``backend.lib.openapi.finish_document``), the middleware's fast path and the
    per-client limit."""
    return {"opt": {etag.OPT: policy, OPT: "public"}}


def limited() -> dict[str, Any]:
    """Route keyword arguments of a public operation under the per-client limit only (nothing cached)."""
    return {"opt": {OPT: "limited"}}


def too_many(retry_after: int) -> Problem:
    return Problem(
        429,
        "Quá nhiều yêu cầu, vui lòng thử lại sau / Too many requests, please retry later",
        code="rate_limited",
        extra={"retry_after": retry_after},
        headers={"Retry-After": str(retry_after)},
    )


class PublicReadMiddleware(ASGIMiddleware):
    """First of the app's middleware: the per-client limit of public reads, then their stored answers."""

    scopes = ("http",)  # type: ignore[assignment]

    def __init__(self, limiter: ClientLimiter, proxies: Any) -> None:
        self.limiter = limiter
        self.proxies = tuple(proxies)
        self.shared: ClientLimiter | SharedClientLimiter | None = None  # made on the first request

    def _shared(self, app: Any) -> ClientLimiter | SharedClientLimiter:
        """The limit shared through Redis when the app's settings name one (``REDIS_URL``), else this process's."""
        redis_url = getattr(getattr(app.state, "settings", None), "redis_url", "")
        self.shared = SharedClientLimiter(self.limiter, redis_url) if redis_url else self.limiter
        return self.shared

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        handler = scope.get("route_handler")
        mode = handler.opt.get(OPT) if handler is not None else None
        if mode is None or scope.get("method") == "OPTIONS":
            await next_app(scope, receive, send)
            return
        app: Any = scope["litestar_app"]
        limiter = self.shared or self._shared(app)
        wait = await limiter.acquire(request_client_ip(app.request_class(scope), self.proxies))
        if wait > 0:
            raise too_many(max(1, int(wait + 0.999)))
        if mode != "public" or scope.get("method") not in ("GET", "HEAD"):
            await next_app(scope, receive, send)
            return
        entry = lookup(db_of(app), public_key(scope))
        if entry is None or entry.private:  # a private answer never leaves here (fail closed)
            await next_app(scope, receive, send)
            return
        await send_entry(scope, send, entry)


def _on_notify(payload: str) -> None:
    invalidate(payload)


def _on_reference(table: str) -> None:
    invalidate(table_tag(table))


def install() -> None:
    """Subscribe to the change notifications and hook the ORM's commits (idempotent; ``create_app`` calls it)."""
    from backend.lib import answer_hooks

    pgnotify.subscribe(CHANNEL, _on_notify)
    pgnotify.subscribe(pgnotify.REFERENCE, _on_reference)
    pgnotify.on_reset(clear)
    sqlite_watch.install()
    answer_hooks.install(invalidate)
