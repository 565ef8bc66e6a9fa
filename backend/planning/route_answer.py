"""The courier's "my route today" as rendered bytes kept per courier until the route changes (issue 24).

The couriers' app polls its route with ``If-None-Match``. The answer is the caller's own and shows citizens'
data, so it is kept by ``backend.lib.answer_cache`` as a *private* entry under
``("route", courier id, day, today)``: never under a shared key, never served by the public middleware, never
to another account (the key names the signed-in courier; ``today`` because what a stop shows, such as its
``tel:`` link, depends on the day it is read). Tags:

* ``plan:<plan id>`` of the route shown: a stop started, finished, failed or moved, a route changed
  (``backend.planning.answer_tags``: this process at once, every other through NOTIFY);
* ``table:plan``: a plan published (or any plan row changed) may give the courier another route;
* ``table:plan_route`` and ``table:plan_stop`` while the courier has no route that day: a stop moved to them
  gives them one.

An entry lives at most ``MAX_AGE_S`` and never past Vietnam's midnight (anything the tags do not see, such as a
citizen's details edited, shows within that).

Personal-data audit (Decree 13/2023/NĐ-CP). Art. 27 asks for a record (a system log) of the processing of
personal data, and art. 3 limits processing to its purpose and makes the controller accountable: able to show
who was given which citizen's data, when, why and from where. What this answer discloses is its bytes, named by
its ETag. So:

* a 200 writes one ``personal_data_access`` row per citizen shown (``backend.audit.services.write``: one
  multi-row insert) and commits it *before* the answer is returned: if the audit cannot be written the route
  is not sent (a 503 problem, fail closed);
* a 200 that re-sends to the same account (same role and office), from the same client address, for the same
  operation and stated purpose, the exact answer (same ETag) that this process already sent that audience and
  recorded, while that stored answer lives, writes nothing more: the rows already say that this account was
  shown these fields of these citizens from that address for that purpose, at most ``MAX_AGE_S`` earlier
  (the entry lives no longer, and is dropped at any change of the route). A repeat of the same disclosure is
  not a new one; logging it again would only make the record larger, not more complete (art. 3: keep no more
  than the purpose needs);
* anything else records again: a new ETag (a stop changed), another client address or purpose, or the stored
  answer expired, evicted, dropped, or held by another process (each process remembers only its own). So a
  disclosure is recorded at least once, never fewer. Concurrent misses of one route in one process share
  one load: the first records its audience, the others wait for it and record theirs unless it is the same;
* a 304 sends nothing, so it writes no row.

A repeat that may be sent as is (a 304, or a 200 already recorded for its audience) is sent by
``backend.lib.private_reads`` before the handler runs (``stored``), once the token is verified and the guards
admit the caller; anything else reaches ``answer``.
"""

import time
import uuid
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from litestar import Request, Response
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.audit import services as audit
from backend.lib import answer_cache, etag, private_reads
from backend.lib.auth import Principal
from backend.lib.problems import Problem
from backend.lib.single_flight import SingleFlight
from backend.planning import courier
from backend.planning.answer_tags import plan_tag
from schemas.base import utcnow
from schemas.plan_answers import CourierRoute
from schemas.vntime import vn_date, vn_day_start

POLICY = "private, no-cache"
MAX_AGE_S = 60.0
MAX_SHOWN = 20_000
MAX_AUDIENCES = 64  # per stored answer: beyond, forget them (each records again: more rows, never fewer)
AUDIT_FAILED = (
    "Không ghi được nhật ký truy cập dữ liệu cá nhân nên lộ trình không được gửi, vui lòng thử lại / The "
    "personal-data audit could not be written, so the route was not sent; please retry"
)

# Who an answer was sent to and recorded for: the account as signed in (id, role, office, token version) and
# where and why it read (operation, purpose, client address).
Audience = tuple[Principal, audit.Access]


@dataclass(slots=True)
class _Shown:
    """What a stored answer shows (its audit reads) and whom this process has sent it to and recorded."""

    etag: str
    stored: float  # with the ETag, names the very entry (not its bytes, which the store may evict meanwhile)
    reads: list[courier.AuditRead]
    recorded: set[Audience] = field(default_factory=set)

    def describes(self, entry: answer_cache.Entry) -> bool:
        return entry.etag == self.etag and entry.stored == self.stored


# (database, answer key) -> the stored answer it describes; used only while that very entry is the one stored.
_shown: dict[tuple[str, Hashable], _Shown] = {}
# (database, answer key) -> a load in progress: concurrent misses of one route share it (one load, one audit
# write for its audience) instead of each loading the route and writing its rows.
_loading: SingleFlight[tuple[str, Hashable], Response[Any]] = SingleFlight()


async def _recorded(
    session: AsyncSession,
    principal: Principal,
    access: audit.Access,
    reads: list[courier.AuditRead] | None,
) -> None:
    """Writes ``reads`` (None: already added to the session) and commits them before the answer leaves; if
    either fails, no route (a 503 problem) and the request's end rolls back."""
    try:
        if reads is not None:
            await audit.write(session, principal, access, reads)
        await session.commit()
    except SQLAlchemyError as exc:
        raise Problem(503, AUDIT_FAILED, code="service_unavailable", headers={"Retry-After": "1"}) from exc


def _remember(shown: _Shown, audience: Audience) -> None:
    if len(shown.recorded) >= MAX_AUDIENCES:
        shown.recorded.clear()
    shown.recorded.add(audience)


def _key(principal: Principal, day: date | None, now: datetime) -> tuple[str, uuid.UUID, date, date]:
    today = vn_date(now)
    return ("route", principal.id, day or today, today)


def _stored(db: str, key: Hashable) -> tuple[answer_cache.Entry, _Shown] | None:
    """The stored answer under ``key`` with what it shows, when this process still knows both."""
    hit = answer_cache.lookup(db, key)
    shown = _shown.get((db, key)) if hit is not None and hit.private else None
    if hit is None or shown is None or not shown.describes(hit):
        return None
    return hit, shown


def stored(request: Request[Any, Any, Any], principal: Principal) -> answer_cache.Entry | None:
    """The stored answer this request may be sent as is, before the handler runs
    (``backend.lib.private_reads``): a 304, or a 200 this audience was already recorded for; else None (the
    handler answers, recording what it must)."""
    query = private_reads.plain_query(request.scope, ("date", "purpose"))
    if query is None:
        return None
    day = None
    if "date" in query:
        day = private_reads.plain_day(query["date"])
        if day is None:
            return None
    found = _stored(answer_cache.db_of(request.app), _key(principal, day, utcnow()))
    if found is None:
        return None
    hit, shown = found
    if answer_cache.not_modified(request.scope, hit):
        return hit
    return hit if (principal, audit.access_of(request)) in shown.recorded else None


async def answer(
    request: Request[Any, Any, Any], session: AsyncSession, principal: Principal, day: date | None
) -> Response[Any]:
    now = utcnow()
    db = answer_cache.db_of(request.app)
    key = _key(principal, day, now)
    access = audit.access_of(request)
    audience = (principal, access)
    found = _stored(db, key)
    if found is None and await _loading.waited((db, key)):  # being loaded: its answer, not another load
        found = _stored(db, key)
    if found is not None:
        hit, shown = found
        response = answer_cache.respond(request, hit)
        if response.status_code != 304 and audience not in shown.recorded:
            await _recorded(session, principal, access, shown.reads)
            _remember(shown, audience)
        return response
    # Stored and recorded (or refused) when it ends: callers that waited look it up, and record their audience.
    # join=False: a response (and its audit) is this caller's own, never another's.
    load = partial(_load, request, session, principal, key[2], now, (db, key), audience)
    return await _loading.run((db, key), load, join=False)


async def _load(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    principal: Principal,
    day: date,
    now: datetime,
    full_key: tuple[str, Hashable],
    audience: Audience,
) -> Response[Any]:
    db, key = full_key
    since = answer_cache.sequence()
    reads: list[courier.AuditRead] = []
    # my_route adds the audit rows of what it shows to the session (committed below, with a 200 only).
    route = await courier.my_route(session, principal, day, now=now, access=audience[1], shown=reads)
    body = answer_cache.render(request, CourierRoute.model_validate(route))
    tags = {answer_cache.table_tag("plan")}
    if route["plan_id"] is not None:
        tags.add(plan_tag(route["plan_id"]))
    else:  # no route yet: a dispatcher moving a stop to this courier gives one without touching the plan row
        tags.update(answer_cache.table_tag(t) for t in ("plan_route", "plan_stop"))
    midnight = (vn_day_start(vn_date(now) + timedelta(days=1)) - now).total_seconds()
    entry = answer_cache.Entry(
        body=body,
        etag=etag.entity_tag(body),
        policy=POLICY,
        tags=frozenset(tags),
        stored=time.monotonic(),
        ttl_s=max(0.0, min(MAX_AGE_S, midnight)),
        private=True,
    )
    answer_cache.store(db, key, entry, since=since)
    if len(_shown) >= MAX_SHOWN:
        _shown.clear()  # bounded; an entry without its reads is loaded (and audited) afresh
    shown = _shown[full_key] = _Shown(entry.etag, entry.stored, reads)
    response = answer_cache.respond(request, entry)
    if response.status_code == 304:
        session.expunge_all()  # nothing sent, nothing recorded: the rows my_route added are dropped
        return response
    await _recorded(session, principal, audience[1], None)
    _remember(shown, audience)
    return response
