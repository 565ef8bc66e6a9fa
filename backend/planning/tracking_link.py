"""Live tracking links (issue 22): a short signed link sent with "courier on the way" that opens a public page
(no app, no sign-in) showing the visit's window, the expected arrival, the stops before it and, only while the
courier is heading to this visit, the courier's position snapped to a ~100 m grid.

**Token.** 16 bytes in base64url without padding (RFC 4648 §5), 22 characters: a 6-byte random link id and the
first 10 bytes of HMAC-SHA256 (RFC 2104) over it, keyed by a key derived from ``SECRET_KEY`` for this purpose
only. A stored row rather than a stateless token: 22 characters cannot carry a 128-bit appointment id plus a
MAC; the link must be revocable and its issue recorded (who, when); and the visit's end is read from the
visit itself, so the link expires with it whatever the token says. The MAC is checked (in constant time)
before the database is read, so forged or mistyped tokens cost no query; a database copy alone opens no page
(the table keeps ids, never tokens). 80 bits of MAC plus 48 of id: unguessable at any rate limit.

**Position.** Latitude is cut into rows of 100 m (1° ≈ 111.32 km); each row into cells of 100 m of longitude
at the row's centre latitude; the answer is the cell's centre. Every point in a cell gives the same answer, so
movements inside a cell, the courier's exact path, speed and heading are never shown (rounding decimals would
leak less evenly: 0.001° of longitude is ~110 m at the equator, less further north). Shown only while the
courier's next stop is this visit, on the plan's own day (Vietnam time) once the courier has acted on a stop of
the route that day (set off, done or failed), and the position is under 30 minutes old (Decree 13/2023/NĐ-CP:
the least personal data for the purpose).
"""

import base64
import functools
import hashlib
import hmac
import math
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.lib.auth import Principal
from backend.lib.problems import Problem
from backend.lib.ttlcache import TtlCache
from backend.planning import eta
from backend.planning.problem_builder import matrix_provider
from backend.planning.services.appointments import bump_appointment
from backend.settings import Settings
from schemas.booking import Appointment, AppointmentStatus
from schemas.orgs import Organisation
from schemas.planning import CourierPosition, Plan, PlanRoute, PlanStatus, PlanStop, StopStatus
from schemas.tracking_links import TrackingLink
from schemas.vntime import vn_date

ID_BYTES = 6
MAC_BYTES = 10
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{22}")
CELL_M = 100
M_PER_DEG_LAT = 111_320.0
FRESH_POSITION = timedelta(minutes=30)
REFRESH_S = 15
PATH = "/v"  # the page: {PUBLIC_BASE_URL}/v/{token}
OPEN = (StopStatus.planned, StopStatus.started)
# ETA from a position: one matrix lookup per (stop, position), not per poll (OSRM when configured).
_ETAS: TtlCache[tuple[uuid.UUID, uuid.UUID], datetime] = TtlCache(ttl_s=300, max_entries=2048)


@functools.lru_cache(maxsize=4)  # one secret per app: derived once, not on every request
def link_key(secret_key: str) -> bytes:
    """The links' own key, derived from ``SECRET_KEY`` (a tracking token never verifies as anything else)."""
    return hmac.new(secret_key.encode(), b"hoso-buudien/tracking-link/v1", hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _mac(key: bytes, ident: bytes) -> bytes:
    return hmac.new(key, b"v1:" + ident, hashlib.sha256).digest()[:MAC_BYTES]


def new_link_id() -> str:
    return _b64(secrets.token_bytes(ID_BYTES))


def sign(key: bytes, link_id: str) -> str:
    """The token of a link id (22 characters)."""
    ident = base64.urlsafe_b64decode(link_id)
    if len(ident) != ID_BYTES:
        raise ValueError("not a link id")
    return _b64(ident + _mac(key, ident))


def verify(key: bytes, token: str) -> str | None:
    """The link id a token was signed for, or None (malformed, non-canonical or a wrong MAC)."""
    if not TOKEN_RE.fullmatch(token):
        return None
    raw = base64.urlsafe_b64decode(token + "==")
    if len(raw) != ID_BYTES + MAC_BYTES or _b64(raw) != token:  # one spelling per token
        return None
    ident, mac = raw[:ID_BYTES], raw[ID_BYTES:]
    if not hmac.compare_digest(mac, _mac(key, ident)):
        return None
    return _b64(ident)


def link_url(settings: Settings, token: str) -> str:
    """``{PUBLIC_BASE_URL}/v/{token}``; without a public address, the service's own host and port."""
    base = settings.public_base_url or f"http://{settings.host}:{settings.port}"
    return f"{base}{PATH}/{token}"


def snap(lat: float, lon: float, cell_m: int = CELL_M) -> tuple[float, float]:
    """The centre of the ~``cell_m`` grid cell holding (lat, lon) (see the module's docstring)."""
    lat_step = cell_m / M_PER_DEG_LAT
    centre_lat = (math.floor(lat / lat_step) + 0.5) * lat_step
    lon_step = cell_m / (M_PER_DEG_LAT * math.cos(math.radians(centre_lat)))
    centre_lon = (math.floor(lon / lon_step) + 0.5) * lon_step
    return round(centre_lat, 6), round(centre_lon, 6)


async def issue(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    appt: Appointment,
    stop: PlanStop,
    now: datetime,
) -> tuple[TrackingLink, str]:
    """The visit's link and its URL: the live one already issued for the appointment, else a new row (added to
    the caller's transaction, which records who issued it and when)."""
    key = link_key(settings.secret_key)
    live = (
        await session.exec(
            select(TrackingLink)
            .where(
                TrackingLink.appointment_id == appt.id,
                col(TrackingLink.revoked_at).is_(None),
                col(TrackingLink.expires_at) > now,
            )
            .order_by(col(TrackingLink.issued_at).desc())
            .limit(1)
        )
    ).first()
    if live is not None:
        return live, link_url(settings, sign(key, live.id))
    link = TrackingLink(
        id=new_link_id(),
        appointment_id=appt.id,
        stop_id=stop.id,
        issued_at=now,
        issued_by_id=principal.id,
        issued_by_role=str(principal.role),
        expires_at=now + timedelta(hours=settings.tracking_link_max_hours),
    )
    session.add(link)
    return link, link_url(settings, sign(key, link.id))


async def revoke(session: AsyncSession, principal: Principal, appt: Appointment, at: datetime) -> int:
    """Stop every live link of a visit now, recording who did (no commit); how many were live. On a visit still
    booked the appointment's history gets a ``tracking_revoked`` event too."""
    result = await session.exec(
        update(TrackingLink)
        .where(col(TrackingLink.appointment_id) == appt.id, col(TrackingLink.revoked_at).is_(None))
        .values(revoked_at=at, revoked_by_id=principal.id, revoked_by_role=str(principal.role))
    )
    count = int(result.rowcount or 0)
    if count and appt.status == AppointmentStatus.booked:
        await bump_appointment(session, appt, "tracking_revoked", principal, at=at, data={"links": count})
    return count


def not_found() -> Problem:
    return Problem(
        404,
        "Liên kết theo dõi không hợp lệ / This tracking link is not valid",
        code="tracking_link_not_found",
    )


def ended() -> Problem:
    return Problem(
        410,
        "Chuyến thăm này đã kết thúc / This visit has ended",
        code="tracking_link_ended",
    )


async def find(session: AsyncSession, settings: Settings, token: str) -> TrackingLink:
    """The link of a token, or a 404 problem (the MAC is checked first: no query for a forged token)."""
    link_id = verify(link_key(settings.secret_key), token)
    link = await session.get(TrackingLink, link_id) if link_id is not None else None
    if link is None:
        raise not_found()
    return link


async def count_view(session: AsyncSession, link: TrackingLink) -> None:
    """One more page open: a single UPDATE of a counter (nothing about the viewer)."""
    await session.exec(
        update(TrackingLink).where(col(TrackingLink.id) == link.id).values(views=col(TrackingLink.views) + 1)
    )
    await session.commit()


@dataclass(frozen=True)
class Progress:
    stop: PlanStop
    route: PlanRoute
    heading: bool
    before: int
    # The courier is out on this plan's day: it is the plan's own day in Vietnam and the courier has acted on a
    # stop of the route (set off, done or failed one). Before that, a position is where they are, not their way.
    under_way: bool = False


async def _progress(session: AsyncSession, appt: Appointment, now: datetime) -> Progress | None:
    """Where the visit stands on the latest published plan that has it; None when it is not open there."""
    row = (
        await session.exec(
            select(PlanStop, PlanRoute, col(Plan.service_date))
            .join(PlanRoute, col(PlanRoute.id) == col(PlanStop.route_id))
            .join(Plan, col(Plan.id) == col(PlanStop.plan_id))
            .where(PlanStop.appointment_id == appt.id, Plan.status == PlanStatus.published)
            .order_by(col(Plan.published_at).desc())
            .limit(1)
        )
    ).first()
    if row is None or row[0].status not in OPEN:
        return None
    stop, route, service_date = row
    stops = (
        await session.exec(
            select(PlanStop)
            .where(PlanStop.route_id == route.id, col(PlanStop.status).in_(OPEN))
            .order_by(col(PlanStop.seq))
        )
    ).all()
    started = [s for s in stops if s.status == StopStatus.started]
    # The courier's next stop: the one set off to (the latest, if several), else the first still planned.
    following = max(started, key=lambda s: (s.started_at or s.eta, s.seq)) if started else stops[0]
    # A household visit's items (one visit key) are one stop: heading to any of them is heading to this one.
    same = {s.id for s in stops if s.id == stop.id or (stop.visit_key and s.visit_key == stop.visit_key)}
    heading = following.id in same
    before = 0
    if not heading:
        ahead = [
            s for s in stops if s.id not in same and (s.seq < stop.seq or s.status == StopStatus.started)
        ]
        before = len({s.visit_key or s.id for s in ahead})
    under_way = vn_date(now) == service_date and (
        bool(started)
        or (
            await session.exec(
                select(PlanStop.id)
                .where(PlanStop.route_id == route.id, col(PlanStop.started_at).is_not(None))
                .limit(1)
            )
        ).first()
        is not None
    )
    return Progress(stop, route, heading, before, under_way)


async def _position(session: AsyncSession, courier_id: uuid.UUID, now: datetime) -> CourierPosition | None:
    return (
        await session.exec(
            select(CourierPosition)
            .where(
                CourierPosition.courier_id == courier_id,
                col(CourierPosition.at) >= now - FRESH_POSITION,
                col(CourierPosition.at) <= now + timedelta(minutes=5),
            )
            .order_by(col(CourierPosition.at).desc())
            .limit(1)
        )
    ).first()


def _eta_from(pos: CourierPosition, stop: PlanStop, profile: str) -> datetime:
    cached = _ETAS.get((stop.id, pos.id))
    if cached is not None:
        return cached
    since = _ETAS.generation
    timing = eta.recompute(
        matrix_provider(), profile, (pos.lat, pos.lon), pos.at, [eta.Leg(stop.lat, stop.lon, None, 0)]
    )
    return _ETAS.put((stop.id, pos.id), timing[0].arrival, since=since)


def _minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


async def visit(session: AsyncSession, link: TrackingLink, now: datetime) -> dict[str, Any]:
    """What the page shows (``TrackedVisit``), or a 410 problem once the visit ended (done, failed, missed,
    cancelled, no longer on a published plan), the link was revoked or it reached its hard expiry."""
    if link.revoked_at is not None or now >= link.expires_at:
        raise ended()
    appt = await session.get(Appointment, link.appointment_id)
    if appt is None or appt.status != AppointmentStatus.booked:
        raise ended()
    progress = await _progress(session, appt, now)
    if progress is None:
        raise ended()
    stop, route = progress.stop, progress.route
    arrival = stop.eta
    position = None
    live = progress.heading and progress.under_way
    pos = await _position(session, route.courier_id, now) if live else None
    if pos is not None:
        lat, lon = snap(pos.lat, pos.lon)
        position = {"lat": lat, "lon": lon, "cell_m": CELL_M, "at": _minute(pos.at)}
        arrival = _eta_from(pos, stop, route.profile)
    office = await session.get(Organisation, appt.post_office_id)
    return {
        "visit_kind": str(appt.kind),
        "post_office": office.name if office else "",
        "window_start": appt.start,
        "window_end": appt.end,
        "eta": _minute(max(arrival, now) + timedelta(seconds=59)),
        "heading_to_you": progress.heading,
        "stops_before": progress.before,
        "position": position,
        "expires_at": link.expires_at,
        "refresh_s": REFRESH_S,
    }
