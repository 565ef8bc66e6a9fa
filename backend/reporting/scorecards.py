"""Courier and desk scorecards of a province (issue 23): home visits, on-time visits, failed visits, ratings.

* A **visit** is a booked home visit (appointment) finished in the period on a courier's route: its stop done
  or failed (``plan_stop.finished_at`` in the period, Vietnam days). An appointment counts once however many
  plans carried it (re-plans copy stops).
* **On time**: done by the end of the booked window (``finished_at <= window_end``; no window: on time).
* **Failed**: the stop failed (the citizen absent, documents missing, ... ``STOP_FAILURE_REASONS``).
* A courier's visits are those on its routes; a desk's those whose dossier is the desk's (the appointment's
  dossier item id), the visits the desk sends couriers on.
* **Ratings** (backend/feedback, SIPAS criteria 1-5): the number of ratings of visits in the period and the
  mean of their four criteria, by ``rating.courier_id`` or ``rating.desk_id``.

Every courier of the province's post offices and every desk of the province is listed, with zeros.
Couriers by username and office, never their names or phones (least personal data).
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.reporting.definitions import Period, percent
from backend.reporting.leadership import ProvinceScope
from schemas.accounts import StaffUser
from schemas.base import utcnow
from schemas.booking import Appointment
from schemas.dossiers import Dossier
from schemas.enums import OrgKind, Role
from schemas.feedback import Rating
from schemas.leadership import ScorecardKind
from schemas.orgs import Organisation
from schemas.planning import Plan, PlanRoute, PlanStop, StopStatus


@dataclass
class Card:
    key: str
    name: str
    office: str | None
    visits: int = 0
    on_time: int = 0
    failed: int = 0
    ratings: int | None = 0
    rating_mean: float | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "office": self.office,
            "visits": self.visits,
            "on_time": self.on_time,
            "failed": self.failed,
            "on_time_rate": percent(self.on_time, self.visits),
            "ratings": self.ratings,
            "rating_mean": self.rating_mean,
        }


@dataclass
class ScorecardResult:
    period: Period
    province: ProvinceScope
    kind: ScorecardKind
    generated_at: datetime
    cards: list[Card]


def _visit_counts(owner: Any) -> list[Any]:
    appt = col(PlanStop.appointment_id)
    done = col(PlanStop.status) == StopStatus.done.value
    on_time = sa.and_(
        done,
        sa.or_(col(PlanStop.window_end).is_(None), col(PlanStop.finished_at) <= col(PlanStop.window_end)),
    )
    failed = col(PlanStop.status) == StopStatus.failed.value
    return [
        owner.label("owner"),
        func.count(sa.distinct(appt)).label("visits"),
        func.count(sa.distinct(sa.case((on_time, appt)))).label("on_time"),
        func.count(sa.distinct(sa.case((failed, appt)))).label("failed"),
    ]


def _finished_in(period: Period) -> list[Any]:
    ts = DateTimeUTC(timezone=True)
    return [
        col(PlanStop.appointment_id).is_not(None),
        col(PlanStop.status).in_([StopStatus.done.value, StopStatus.failed.value]),
        col(PlanStop.finished_at) >= sa.literal(period.start, ts),
        col(PlanStop.finished_at) < sa.literal(period.end, ts),
    ]


async def _units(session: AsyncSession, province: str, kind: ScorecardKind) -> dict[uuid.UUID, Card]:
    if kind is ScorecardKind.courier:
        rows = await session.exec(
            select(StaffUser.id, StaffUser.username, Organisation.code, Organisation.name)
            .join(Organisation, col(StaffUser.organisation_id) == col(Organisation.id))
            .where(StaffUser.role == Role.courier, Organisation.province_code == province)
            .order_by(col(StaffUser.username))
        )
        return {i: Card(key=u, name=n, office=c) for i, u, c, n in rows.all()}
    orgs = await session.exec(
        select(Organisation.id, Organisation.code, Organisation.name)
        .where(Organisation.kind == OrgKind.desk, Organisation.province_code == province)
        .order_by(col(Organisation.code))
    )
    return {i: Card(key=c, name=n, office=None) for i, c, n in orgs.all()}


async def scorecards(
    session: AsyncSession, period: Period, province: ProvinceScope, kind: ScorecardKind
) -> ScorecardResult:
    cards = await _units(session, province.code, kind)
    frm: Any = sa.join(PlanStop, PlanRoute, col(PlanStop.route_id) == col(PlanRoute.id)).join(
        Plan, col(PlanStop.plan_id) == col(Plan.id)
    )
    if kind is ScorecardKind.courier:
        owner: Any = col(PlanRoute.courier_id)
        rating_owner: Any = col(Rating.courier_id)
    else:
        frm = frm.join(Appointment, col(PlanStop.appointment_id) == col(Appointment.id)).join(
            Dossier, col(Appointment.dossier_item_id) == col(Dossier.item_id)
        )
        owner, rating_owner = col(Dossier.desk_id), col(Rating.desk_id)
    ids = list(cards)
    if ids:
        stmt = (
            sa.select(*_visit_counts(owner))
            .select_from(frm)
            .where(*_finished_in(period), owner.in_(ids))
            .group_by(owner)
        )
        for r in (await session.execute(stmt)).all():
            card = cards[r.owner]
            card.visits, card.on_time, card.failed = int(r.visits), int(r.on_time), int(r.failed)
        await _ratings(session, period, cards, rating_owner)
    return ScorecardResult(period, province, kind, utcnow(), list(cards.values()))


async def _ratings(session: AsyncSession, period: Period, cards: dict[uuid.UUID, Card], owner: Any) -> None:
    ts = DateTimeUTC(timezone=True)
    score = (col(Rating.attitude) + col(Rating.timeliness) + col(Rating.fees) + col(Rating.result)) / 4.0
    stmt = (
        sa.select(owner.label("owner"), func.count().label("n"), func.avg(score).label("mean"))
        .where(
            owner.in_(list(cards)),
            col(Rating.visit_at) >= sa.literal(period.start, ts),
            col(Rating.visit_at) < sa.literal(period.end, ts),
        )
        .group_by(owner)
    )
    for r in (await session.execute(stmt)).all():
        card = cards[r.owner]
        card.ratings, card.rating_mean = int(r.n), round(float(r.mean), 2)
