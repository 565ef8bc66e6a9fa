"""``GET /slots``: the windows a place may book, with what each has left, the fees and the checklist."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.booking import capacity, ledger_cache
from backend.booking.geocoding import Geocoder, NoGeocoder
from backend.booking.services.caches import (
    FrameWindow,
    cached_calendar,
    cached_office,
    cached_postal_procedure,
    window_frame,
)
from backend.booking.services.common import Office, parse_kind
from backend.booking.services.fees import fees_for
from backend.booking.services.locate import geocode_first, resolve_point
from backend.booking.windows import bookable_windows, last_bookable_day, remaining
from backend.catalogue import editing_store, places, tariff_store
from backend.lib.problems import Problem
from schemas.base import utcnow
from schemas.booking import AppointmentKind
from schemas.vntime import vn_date


@dataclass(frozen=True)
class SlotListing:
    """The listing as ``GET /slots`` sends it, and the office it was made for (what a stored answer is tagged
    and timed by)."""

    body: dict[str, Any]
    office: Office


async def list_slots(
    session: AsyncSession,
    *,
    kind: str,
    lat: float | None,
    lon: float | None,
    address: str | None,
    first: date | None,
    last: date | None,
    procedure_code: str | None,
    geocoder: Geocoder | None = None,
    now: datetime | None = None,
) -> SlotListing:
    now = now or utcnow()
    k = parse_kind(kind)
    geocoder = await geocode_first(geocoder, lat, lon, address)  # before the first read opens a transaction
    proc = await cached_postal_procedure(session, procedure_code) if procedure_code else None
    area = await places.served_area(session)
    lat_, lon_, source = await resolve_point(session, area, geocoder or NoGeocoder(), lat, lon, address)
    place = places.served_place(area, lat_, lon_)
    assert place.post_office_id is not None
    off = await cached_office(session, place.post_office_id)
    today = vn_date(now)
    first = first or today
    last = last or today + timedelta(days=off.rules.horizon_days)
    if last < first:
        raise Problem(422, "'to' phải sau 'from' / 'to' must not be before 'from'", code="invalid_range")
    policy = capacity.get_policy()
    # The same clamping as bookable_windows, so the cached frame is keyed by the days actually listed.
    first, last = max(first, today), min(last, last_bookable_day(off.rules, now))
    earliest = now + timedelta(minutes=off.rules.min_notice_minutes)
    if isinstance(policy, capacity.CourierShiftPolicy):
        frame = [f for f in await window_frame(session, off, first, last) if f.window.start >= earliest]
    else:
        cal = await cached_calendar(session)
        windows = bookable_windows(cal, off.org.opening_hours, off.rules, now, first, last)
        caps = await policy.capacity(session, off.org.id, windows)
        frame = [FrameWindow.of(w, caps.get(w.start, 0)) for w in windows]
    booked = await ledger_cache.CACHE.booked(session, off.org.id, [f.window.start for f in frame])
    cost = off.rules.cost(k.value)
    left = [remaining(f.capacity, booked.get(f.window.start, 0), cost) for f in frame]
    if proc is not None and k in (AppointmentKind.pickup, AppointmentKind.assisted):
        left = await _postal_only(session, proc.code, off.org.province_code, frame, left, now)
    narrow = getattr(policy, "admitted_windows", None)
    if narrow is not None:
        # Route-aware capacity: on a day that already has a plan, offer only windows the plan can absorb.
        open_windows = [(f.window.start, f.window.end) for f, n in zip(frame, left, strict=True) if n > 0]
        admitted = await narrow(session, off.org.id, open_windows, lat_, lon_, cost * 60)
        left = [n if n > 0 and f.window.start in admitted else 0 for f, n in zip(frame, left, strict=True)]
    # Plain dicts with the times already in Vietnam time: two weeks of windows is the hottest answer we give.
    kind_value, code = k.value, off.org.code  # read once: both are descriptors (enum, ORM attribute)
    items = [
        {"start": f.start_vn, "end": f.end_vn, "kind": kind_value, "remaining": n, "post_office": code}
        for f, n in zip(frame, left, strict=True)
    ]
    distance = places.distance_km(off.org.lat, off.org.lon, lat_, lon_)
    body = {
        "items": items,
        "total": len(items),
        "limit": len(items),
        "offset": 0,
        "post_office": {"code": off.org.code, "name": off.org.name, "lat": off.org.lat, "lon": off.org.lon},
        "commune": {"code": place.commune_code, "name": place.commune_name},
        "place": {"lat": lat_, "lon": lon_, "source": source},
        "fees": fees_for(
            k,
            distance,
            proc,
            await tariff_store.price_book(session, now),
            province_code=off.org.province_code,
        ),
        "documents": proc.documents if proc is not None else None,
    }
    return SlotListing(body, off)


async def _postal_only(
    session: AsyncSession, code: str, province: str, frame: list[FrameWindow], left: list[int], now: datetime
) -> list[int]:
    """The province's postal list in force at each window's start, as a booking of it checks
    (``draft``): a window where the post may not collect ``code`` takes no booking; when none may (or none
    is listed and not even now), 422 ``procedure_not_postal``, the answer a booking gets."""
    allowed = await editing_store.pickup_allowed(
        session, code, province, [f.window.start for f in frame] or [now]
    )
    if not any(allowed):
        raise editing_store.not_postal(code, province)
    return [n if ok else 0 for n, ok in zip(left, allowed, strict=False)]
