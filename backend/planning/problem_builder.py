"""Turn a post office's day (booked appointments, results waiting at desks, handover batches, couriers on
shift) into a ``routing.Problem``.

Stops carry stable keys so a re-plan and the stored plan speak about the same stop:
``A:<appointment id>`` (a home visit), ``R:<result item id>`` (collect a result at a desk for a same-day home
delivery, paired with the delivery visit), ``H:<handover id>`` (carry a batch from the post office to a desk).
"""

import uuid
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.booking.windows import parse_hours
from backend.catalogue import courier_shifts as courier_versions
from backend.catalogue.shift_rules import shifts_on
from backend.lib.osrm import OsrmMatrix
from backend.planning import clock
from backend.settings import get_settings
from routing import (
    Break,
    Depot,
    HaversineMatrix,
    Location,
    MatrixProvider,
    PickupDelivery,
    Problem,
    Stop,
    TimeWindow,
    Vehicle,
)
from schemas.accounts import CourierProfile, StaffUser
from schemas.booking import DEFAULT_SERVICE_MINUTES, Appointment, AppointmentStatus, BookingSettings
from schemas.dossiers import CustodianKind, Dossier, Handover, HandoverItem, HandoverStatus, ResultItem
from schemas.enums import Role
from schemas.orgs import Organisation
from schemas.planning import StopKind
from schemas.vntime import vn_day_start

# A dossier folder or a result envelope; a handover batch weighs its items.
ITEM_WEIGHT_G = 300
DESK_SERVICE_S = 5 * 60
HANDOVER_SERVICE_S = 10 * 60
# Post offices close 11:30-13:30 (OFFICE_HOURS); a courier whose shift spans it takes one hour in there.
LUNCH = Break(duration=3600, earliest_start=clock.hhmm_secs("11:30"), latest_start=clock.hhmm_secs("12:30"))
PROFILES = {"motorbike": "motorbike", "bicycle": "bicycle", "car": "car", "van": "car"}


@dataclass(frozen=True)
class StopInfo:
    key: str
    kind: StopKind
    lat: float
    lon: float
    window_start: datetime | None
    window_end: datetime | None
    service_s: int
    items: int = 1
    weight_g: int = ITEM_WEIGHT_G
    skills: frozenset[str] = frozenset()
    appointment_id: uuid.UUID | None = None
    dossier_id: uuid.UUID | None = None
    result_item_id: uuid.UUID | None = None
    handover_id: uuid.UUID | None = None
    org_id: uuid.UUID | None = None
    pair_key: str | None = None
    pinned_courier: uuid.UUID | None = None
    # Who is visited where (one visit per household, issue 20: ``services.households`` merges the visits of one
    # citizen at one address into one stop whose ``members`` are the items; empty for a stop of one item).
    citizen_id: uuid.UUID | None = None
    address: str | None = None
    members: tuple["StopInfo", ...] = ()

    @property
    def routing_kind(self) -> str:
        """What the load does: home pickups ride back to the office; the rest leave the office with the
        courier (a desk pickup's load is carried to its paired delivery)."""
        return (
            "pickup"
            if self.kind in (StopKind.pickup, StopKind.assisted, StopKind.desk_pickup)
            else "delivery"
        )


@dataclass(frozen=True)
class CourierInfo:
    courier_id: uuid.UUID
    name: str
    profile: str
    shift_start: datetime
    shift_end: datetime
    start_lat: float
    start_lon: float
    end_lat: float
    end_lon: float
    capacity_items: int | None
    capacity_weight_g: int | None
    skills: frozenset[str]
    breaks: tuple[Break, ...] = ()


@dataclass(frozen=True)
class Excluded:
    """A stop that cannot even be put to the solver (e.g. the desk is closed that day)."""

    stop: StopInfo
    reason: str


@dataclass
class DayInput:
    post_office: Organisation
    day: date
    stops: dict[str, StopInfo] = field(default_factory=dict)
    couriers: list[CourierInfo] = field(default_factory=list)
    pairs: list[tuple[str, str]] = field(default_factory=list)
    committed: dict[uuid.UUID, list[str]] = field(default_factory=dict)
    initial_routes: dict[uuid.UUID, list[str]] = field(default_factory=dict)
    excluded: list[Excluded] = field(default_factory=list)

    def to_problem(self, provider: MatrixProvider | None = None) -> Problem:
        po = self.post_office
        depot = Depot(id=str(po.id), location=Location(lat=po.lat, lon=po.lon))
        day = self.day
        vehicles = [
            Vehicle(
                id=str(c.courier_id),
                depot_id=depot.id,
                start_location=Location(lat=c.start_lat, lon=c.start_lon),
                end_location=Location(lat=c.end_lat, lon=c.end_lon),
                shift_start=clock.secs(day, c.shift_start),
                shift_end=clock.secs(day, c.shift_end),
                breaks=c.breaks,
                capacity_items=c.capacity_items,
                capacity_weight=c.capacity_weight_g,
                skills=c.skills,
                profile=c.profile,
                committed=tuple(self.committed.get(c.courier_id, ())),
            )
            for c in self.couriers
        ]
        stops = [to_routing_stop(day, s) for s in self.stops.values()]
        keys = set(self.stops)
        initial = {str(cid): [k for k in ks if k in keys] for cid, ks in self.initial_routes.items() if ks}
        return Problem(
            depots=[depot],
            vehicles=vehicles,
            stops=stops,
            pairs=[PickupDelivery(p, d) for p, d in self.pairs],
            initial_routes={v: ks for v, ks in initial.items() if ks},
            matrix_provider=provider or matrix_provider(),
        )


def to_routing_stop(day: date, s: StopInfo) -> Stop:
    window = None
    if s.window_start is not None and s.window_end is not None:
        window = TimeWindow(clock.secs(day, s.window_start), clock.secs(day, s.window_end))
    return Stop(
        id=s.key,
        location=Location(lat=s.lat, lon=s.lon),
        window=window,
        service_time=s.service_s,
        kind="pickup" if s.routing_kind == "pickup" else "delivery",
        items=s.items,
        weight=s.weight_g,
        skills=s.skills,
        pinned_vehicle=str(s.pinned_courier) if s.pinned_courier else None,
    )


def matrix_provider(osrm_url: str | None = None) -> MatrixProvider:
    """OSRM road times when ``OSRM_URL`` is configured, else haversine × circuity at motorbike speed."""
    url = osrm_url if osrm_url is not None else get_settings().osrm_url
    return OsrmMatrix(url=url) if url else HaversineMatrix()


def fees_total(fees: dict[str, Any] | None) -> int:
    """VND the courier collects at the door, read from the booking's fee breakdown."""
    if not fees:
        return 0
    for key in ("total_vnd", "total", "amount_vnd", "collect_vnd"):
        value = fees.get(key)
        if isinstance(value, int | float):
            return int(value)
    total = 0
    for value in fees.values():
        if isinstance(value, dict):
            amount = value.get("amount_vnd", value.get("amount"))
            if isinstance(amount, int | float):
                total += int(amount)
        elif isinstance(value, int | float):
            total += int(value)
    return total


def opening_span(org: Organisation, day: date) -> tuple[datetime, datetime] | None:
    """The first opening and last closing time of ``org`` on ``day`` (None when closed all day)."""
    hours = (org.opening_hours or {}).get(str(day.isoweekday())) or []
    spans = [(clock.hhmm_secs(a), clock.hhmm_secs(b)) for a, b in hours]
    if not spans:
        return None
    return clock.at(day, min(a for a, _ in spans)), clock.at(day, max(b for _, b in spans))


async def service_seconds(session: AsyncSession, post_office_id: uuid.UUID) -> dict[str, int]:
    row = await session.get(BookingSettings, post_office_id)
    minutes = dict(DEFAULT_SERVICE_MINUTES)
    if row is not None:
        minutes.update({k: int(v) for k, v in (row.service_minutes or {}).items()})
    return {k: v * 60 for k, v in minutes.items()}


def shift_spans(raw: Any) -> list[tuple[int, int]]:
    """A day's shift as sorted (start, end) seconds of the day, from either stored form: one span
    ``["07:30", "17:00"]`` or several ``[["07:30", "11:30"], ["13:30", "17:00"]]`` (what the profile API
    writes); empty spans are dropped. The same reading as booking's capacity (``parse_hours``)."""
    return [(t.hour * 3600 + t.minute * 60, u.hour * 3600 + u.minute * 60) for t, u in parse_hours(raw)]


def gaps_as_breaks(spans: list[tuple[int, int]]) -> tuple[Break, ...]:
    """A split shift's gaps are breaks fixed in time: the courier is off between the spans."""
    return tuple(
        Break(duration=nxt - end, earliest_start=end, latest_start=end)
        for (_, end), (nxt, _) in zip(spans, spans[1:], strict=False)
        if nxt > end
    )


async def couriers_on_shift(session: AsyncSession, post_office: Organisation, day: date) -> list[CourierInfo]:
    rows = (
        await session.exec(
            select(StaffUser, CourierProfile)
            .join(CourierProfile, col(CourierProfile.user_id) == col(StaffUser.id))
            .where(
                StaffUser.organisation_id == post_office.id,
                StaffUser.role == Role.courier,
                col(StaffUser.active).is_(True),
            )
            .order_by(col(StaffUser.username))
        )
    ).all()
    scheduled = await courier_versions.pending(session, [user.id for user, _ in rows])
    out: list[CourierInfo] = []
    for user, profile in rows:
        week = shifts_on(profile.shifts or {}, scheduled.get(user.id, ()), day)  # the day's, as booking reads
        spans = shift_spans(week.get(str(day.isoweekday())))
        if not spans:
            continue
        start, end, breaks = spans[0][0], spans[-1][1], gaps_as_breaks(spans)
        if not breaks and start <= LUNCH.earliest_start and end >= LUNCH.latest_start + 2 * 3600:
            breaks = (LUNCH,)
        out.append(
            CourierInfo(
                courier_id=user.id,
                name=user.full_name,
                profile=PROFILES.get(str(profile.vehicle), "motorbike"),
                shift_start=clock.at(day, start),
                shift_end=clock.at(day, end),
                start_lat=post_office.lat,
                start_lon=post_office.lon,
                end_lat=post_office.lat,
                end_lon=post_office.lon,
                capacity_items=profile.capacity_items,
                capacity_weight_g=int(profile.capacity_kg * 1000),
                skills=frozenset(profile.skills or []),
                breaks=breaks,
            )
        )
    return out


async def build_day(session: AsyncSession, post_office: Organisation, day: date) -> DayInput:
    """Everything the couriers of ``post_office`` should do on ``day`` (Vietnam time)."""
    out = DayInput(post_office=post_office, day=day)
    out.couriers = await couriers_on_shift(session, post_office, day)
    service = await service_seconds(session, post_office.id)
    lo, hi = vn_day_start(day), clock.at(day, 24 * 3600)
    appointments = (
        await session.exec(
            select(Appointment)
            .where(
                Appointment.post_office_id == post_office.id,
                Appointment.status == AppointmentStatus.booked,
                col(Appointment.start) >= lo,
                col(Appointment.start) < hi,
            )
            .order_by(col(Appointment.start), col(Appointment.id))
        )
    ).all()
    dossiers = await _delivered_dossiers(session, list(appointments))
    desks = await _orgs(session, {d.custodian_org_id for d, _ in dossiers.values() if d.custodian_org_id})
    for a in appointments:
        stop = _visit_stop(a, service)
        pair = dossiers.get(a.dossier_item_id or "")
        kept = _with_result(out, stop, pair, desks) if pair is not None else stop
        if kept is not None:
            out.stops[kept.key] = kept
    await _handovers(session, out, hi)
    return out


def _visit_stop(a: Appointment, service: dict[str, int]) -> StopInfo:
    kind = StopKind(str(a.kind))
    skills = {"assisted"} if kind == StopKind.assisted else set()
    if fees_total(a.fees) > 0:
        skills.add("fees")  # cash handling (receipt issued at the door)
    return StopInfo(
        key=f"A:{a.id}",
        kind=kind,
        lat=a.lat,
        lon=a.lon,
        window_start=a.start,
        window_end=a.end,
        service_s=service.get(str(a.kind), 600),
        items=1,
        weight_g=ITEM_WEIGHT_G,
        skills=frozenset(skills),
        appointment_id=a.id,
        citizen_id=a.citizen_id,
        address=a.address,
    )


async def _delivered_dossiers(
    session: AsyncSession, appointments: list[Appointment]
) -> dict[str, tuple[Dossier, ResultItem | None]]:
    """The dossiers (and their results) the delivery visits bring, by item id."""
    deliveries = [a.dossier_item_id for a in appointments if a.kind == "delivery" and a.dossier_item_id]
    if not deliveries:
        return {}
    rows = (
        await session.exec(
            select(Dossier, ResultItem)
            .join(ResultItem, col(ResultItem.dossier_id) == col(Dossier.id), isouter=True)
            .where(col(Dossier.item_id).in_(deliveries))
        )
    ).all()
    return {d.item_id: (d, r) for d, r in rows}


def _with_result(
    out: DayInput,
    stop: StopInfo,
    pair: tuple[Dossier, ResultItem | None],
    desks: dict[uuid.UUID, Organisation],
) -> StopInfo | None:
    """A delivery visit with its result: pinned to the courier who holds it, or paired with collecting it at
    the desk first (added to ``out``). None when the desk is closed that day (the visit is then excluded)."""
    dossier, result = pair
    stop = replace(stop, dossier_id=dossier.id, result_item_id=result.id if result else None)
    if dossier.custodian_kind == CustodianKind.courier and dossier.custodian_user_id is not None:
        # The result is already in a courier's bag: that courier delivers it.
        stop = replace(stop, pinned_courier=dossier.custodian_user_id)
    desk = desks.get(dossier.custodian_org_id) if dossier.custodian_org_id else None
    at_desk = dossier.custodian_kind in (CustodianKind.desk, CustodianKind.agency)
    if not at_desk or desk is None or desk.id == out.post_office.id:
        return stop
    # The result still waits at the desk: collect it there first, same courier, same day.
    span = opening_span(desk, out.day)
    pickup_key = f"R:{result.id if result else dossier.id}"
    pickup = StopInfo(
        key=pickup_key,
        kind=StopKind.desk_pickup,
        lat=desk.lat,
        lon=desk.lon,
        window_start=span[0] if span else None,
        window_end=span[1] if span else None,
        service_s=DESK_SERVICE_S,
        dossier_id=dossier.id,
        result_item_id=result.id if result else None,
        org_id=desk.id,
        pair_key=stop.key,
    )
    stop = replace(stop, pair_key=pickup_key)
    if span is None:
        out.excluded.append(Excluded(stop, "desk_closed"))
        return None
    out.stops[pickup_key] = pickup
    out.pairs.append((pickup_key, stop.key))
    return stop


async def _orgs(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, Organisation]:
    if not ids:
        return {}
    rows = (await session.exec(select(Organisation).where(col(Organisation.id).in_(ids)))).all()
    return {o.id: o for o in rows}


async def _handovers(session: AsyncSession, out: DayInput, before: datetime) -> None:
    """Batches this post office sent to a desk or agency and nobody has confirmed yet: a courier takes them."""
    po = out.post_office
    rows = (
        await session.exec(
            select(Handover).where(
                Handover.from_org_id == po.id,
                Handover.status == HandoverStatus.pending,
                col(Handover.to_kind).in_([CustodianKind.desk, CustodianKind.agency]),
                col(Handover.to_org_id).is_not(None),
                col(Handover.created_at) < before,
            )
        )
    ).all()
    if not rows:
        return
    targets = await _orgs(session, {h.to_org_id for h in rows if h.to_org_id})
    for h in rows:
        org = targets.get(h.to_org_id) if h.to_org_id else None
        if org is None or org.id == po.id:
            continue
        n = len((await session.exec(select(HandoverItem.id).where(HandoverItem.handover_id == h.id))).all())
        span = opening_span(org, out.day)
        stop = StopInfo(
            key=f"H:{h.id}",
            kind=StopKind.handover,
            lat=org.lat,
            lon=org.lon,
            window_start=span[0] if span else None,
            window_end=span[1] if span else None,
            service_s=HANDOVER_SERVICE_S,
            items=max(n, 1),
            weight_g=max(n, 1) * ITEM_WEIGHT_G,
            handover_id=h.id,
            org_id=org.id,
        )
        if span is None:
            out.excluded.append(Excluded(stop, "desk_closed"))
        else:
            out.stops[stop.key] = stop
