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

Personal-data audit (Decree 13/2023/NĐ-CP): each 200 writes what it shows to the audit, served from the store
or not (the audited reads are kept beside the entry); a 304 sends nothing, so it writes no row.
"""

import time
from collections.abc import Hashable
from datetime import date, timedelta
from typing import Any

from litestar import Request, Response
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.audit import services as audit
from backend.lib import answer_cache, etag
from backend.lib.auth import Principal
from backend.planning import courier
from backend.planning.answer_tags import plan_tag
from schemas.base import utcnow
from schemas.plan_answers import CourierRoute
from schemas.vntime import vn_date, vn_day_start

POLICY = "private, no-cache"
MAX_AGE_S = 60.0
MAX_READS = 20_000
# (database, key, ETag) -> the audit reads of that answer; an entry without them is loaded again.
_reads: dict[tuple[str, Hashable, str], list[courier.AuditRead]] = {}


async def answer(
    request: Request[Any, Any, Any], session: AsyncSession, principal: Principal, day: date | None
) -> Response[Any]:
    now = utcnow()
    today = vn_date(now)
    day = day or today
    db = answer_cache.db_of(request.app)
    key = ("route", principal.id, day, today)
    access = audit.access_of(request)
    hit = answer_cache.lookup(db, key)
    reads = _reads.get((db, key, hit.etag)) if hit is not None and hit.private else None
    if hit is not None and reads is not None:
        response = answer_cache.respond(request, hit)
        if response.status_code != 304:  # a 304 sends nothing (the 200 may not name its status yet)
            audit.record(session, principal, access, reads)
        return response
    since = answer_cache.sequence()
    shown: list[courier.AuditRead] = []
    route = await courier.my_route(session, principal, day, now=now, access=access, shown=shown)
    body = answer_cache.render(request, CourierRoute.model_validate(route))
    tags = {answer_cache.table_tag("plan")}
    if route["plan_id"] is not None:
        tags.add(plan_tag(route["plan_id"]))
    else:  # no route yet: a dispatcher moving a stop to this courier gives one without touching the plan row
        tags.update(answer_cache.table_tag(t) for t in ("plan_route", "plan_stop"))
    midnight = (vn_day_start(today + timedelta(days=1)) - now).total_seconds()
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
    if len(_reads) >= MAX_READS:
        _reads.clear()  # bounded; an entry whose reads are gone is loaded (and audited) afresh
    _reads[(db, key, entry.etag)] = shown
    return answer_cache.respond(request, entry)
