"""``GET /slots`` as rendered bytes kept until an event changes them (issue 24: reads at the speed of the framework).

A listing for one place is the same for everyone who asks with the same query until a booking changes its
office's ledger, a plan of its days changes, reference data it was made from changes, or time moves a window
past its notice. So the answer is kept by ``backend.lib.answer_cache`` under the request's path and query (the
public middleware then answers repeats before authentication, dependencies or this handler run; ``ETag`` and
``If-None-Match`` give 304), with these tags:

* ``ledger_cache.ledger_tag(office)``: dropped with the office's booked minutes (this process's commit at once;
  another process's through the ledger's ``NOTIFY hoso_ledger``, migration 0002; no migration of its own);
* ``caches.REFERENCE_TAG``: dropped whenever the booking's reference caches are (offices, rules, rosters,
  calendar, procedures, prices, eligibility; every ``hoso_reference`` change but plans);
* ``table:plan``, ``table:plan_stop``, ``table:plan_route``: route-aware capacity (a plan solved, published, a
  stop moved or done; ``backend/planning/answer_tags.py`` notifies stop and route changes across processes).

An entry also expires when the first listed window passes its notice (it would leave the list), at Vietnam's
midnight (the default days move) and after ``MAX_AGE_S`` (anything else time-dependent: prices taking effect).
While PostgreSQL's listener is down entries live 1.5 s (``answer_cache.SHORT_TTL_S``); on SQLite as long as the
file is unchanged by other connections and 1.5 s while this process writes (``backend.lib.sqlite_watch``).

A listing stays advisory: the booking takes the window's minutes with the ledger's conditional update, so a
stale answer can show a window a moment too long, never overbook.
"""

import time
from datetime import date, datetime, timedelta
from typing import Any

from litestar import Request, Response
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.booking import ledger_cache
from backend.booking import services as booking_services
from backend.booking.geocoding import Geocoder
from backend.booking.services import caches
from backend.lib import answer_cache, etag
from schemas.base import utcnow
from schemas.vntime import vn_date, vn_day_start

POLICY = answer_cache.NO_CACHE  # public, revalidated every time (304 while unchanged)
MAX_AGE_S = 60.0
PLAN_TAGS = tuple(answer_cache.table_tag(t) for t in ("plan", "plan_stop", "plan_route"))
# The reference rows a listing is made from: this process's own commit of one drops the answers at once (the
# session hooks of backend.lib.answer_hooks), before the booking caches hear of it; e.g. a day off set by an
# admin closes that day's windows in the very next listing, on SQLite too.
REFERENCE_TABLE_TAGS = tuple(
    answer_cache.table_tag(t)
    for t in (
        "calendar_override",
        "booking_settings",
        "organisation",
        "post_office_commune",
        "courier_profile",
        "courier_shift_version",
        "procedure",
        "procedure_version",
        "procedure_eligibility",
    )
)


async def answer(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    *,
    kind: str,
    lat: float | None,
    lon: float | None,
    address: str | None,
    first: date | None,
    last: date | None,
    procedure: str | None,
    geocoder: Geocoder | None,
) -> Response[Any]:
    """The stored answer (200 or 304), else the listing made, stored and sent."""
    db = answer_cache.db_of(request.app)
    key = answer_cache.public_key(request.scope)
    hit = answer_cache.lookup(db, key)
    if hit is not None:
        return answer_cache.respond(request, hit)
    since = answer_cache.sequence()
    now = utcnow()
    listing = await booking_services.list_slots(
        session,
        kind=kind,
        lat=lat,
        lon=lon,
        address=address,
        first=first,
        last=last,
        procedure_code=procedure,
        geocoder=geocoder,
        now=now,
    )
    office_id, rules = listing.office.org.id, listing.office.rules
    body = answer_cache.render(request, listing.body)
    entry = answer_cache.Entry(
        body=body,
        etag=etag.entity_tag(body),
        policy=POLICY,
        tags=frozenset(
            (ledger_cache.ledger_tag(office_id), caches.REFERENCE_TAG, *PLAN_TAGS, *REFERENCE_TABLE_TAGS)
        ),
        stored=time.monotonic(),
        ttl_s=valid_for(listing.body["items"], rules.min_notice_minutes, now),
        private=False,
    )
    answer_cache.store(db, key, entry, since=since)
    return answer_cache.respond(request, entry)


def valid_for(items: list[dict[str, Any]], min_notice_minutes: int, now: datetime) -> float:
    """Seconds the listing made at ``now`` stays what a new one would show as far as time goes: until its
    first window passes its notice, Vietnam's next midnight, at most ``MAX_AGE_S``."""
    limits = [MAX_AGE_S, (vn_day_start(vn_date(now) + timedelta(days=1)) - now).total_seconds()]
    if items:
        first_start = datetime.fromisoformat(items[0]["start"])
        limits.append((first_start - timedelta(minutes=min_notice_minutes) - now).total_seconds())
    return max(0.0, min(limits))
