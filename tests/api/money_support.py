"""Helpers of the money tests: fresh staff accounts, visits on a published route written straight into the
tables (a plan's solve is not what these tests are about), dossiers with their deciding agency."""

import random
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from backend.db import session_factory
from backend.planning import clock
from schemas import s10
from schemas.base import utcnow
from schemas.booking import Appointment, AppointmentKind
from schemas.catalogue import Procedure
from schemas.dossiers import Dossier
from schemas.money import LedgerLine, LedgerTxn
from schemas.planning import Plan, PlanRoute, PlanStatus, PlanStop
from tests.conftest import staff_headers

FEES = {"postal": 20000, "fee": 10000, "charge": 15000, "total": 45000, "currency": "VND"}
_days: set[date] = set()


@dataclass
class Staff:
    id: str
    headers: dict[str, str]


@dataclass
class Office:
    index: int
    code: str
    org_id: uuid.UUID
    couriers: list[Staff] = field(default_factory=list)
    dispatcher: Staff | None = None


async def account(client: httpx.AsyncClient, role: str, org: str | None) -> Staff:
    admin = await staff_headers(client, "admin")
    username, password = f"money-{role}-{uuid.uuid4().hex[:8]}", "money-" + uuid.uuid4().hex
    body = {"username": username, "full_name": f"Thu Tiền {role}", "role": role, "password": password}
    if org:
        body["organisation"] = org
    r = await client.post("/api/v1/staff", json=body, headers=admin)
    assert r.status_code in (200, 201), r.text
    user_id = str(r.json()["id"])
    if role == "courier":
        r = await client.put(f"/api/v1/couriers/{user_id}/profile", json={"shifts": {}}, headers=admin)
        assert r.status_code == 200, r.text
    r = await client.post("/api/v1/auth/staff/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return Staff(user_id, {"Authorization": f"Bearer {r.json()['access_token']}"})


async def office(client: httpx.AsyncClient, demo: Any, index: int, couriers: int = 2) -> Office:
    po = demo.post_offices[index]
    out = Office(index, po.code, po.id)
    for _ in range(couriers):
        out.couriers.append(await account(client, "courier", po.code))
    out.dispatcher = await account(client, "dispatcher", po.code)
    return out


def _free_day() -> date:
    while True:
        d = clock.vn_date(utcnow()) + timedelta(days=random.randint(400, 4000))
        if d not in _days:
            _days.add(d)
            return d


async def visits(
    engine: AsyncEngine,
    demo: Any,
    off: Office,
    courier_id: str,
    n: int,
    *,
    kind: str = "pickup",
    fees: dict[str, Any] | None = None,
    citizen_index: int = 0,
    citizen_id: uuid.UUID | None = None,
) -> list[uuid.UUID]:
    """``n`` booked visits of a demo citizen (or ``citizen_id``) on the courier's route of a published plan (of
    its own day)."""
    day = _free_day()
    who = citizen_id or demo.citizens[citizen_index % len(demo.citizens)].id
    ids = []
    async with session_factory(engine)() as session:
        proc = (await session.exec(select(Procedure).where(Procedure.postal_pickup).limit(1))).one()
        po = demo.post_offices[off.index]
        plan = Plan(post_office_id=off.org_id, service_date=day, status=PlanStatus.published)
        session.add(plan)
        await session.flush()
        start = clock.at(day, 8 * 3600)
        route = PlanRoute(
            plan_id=plan.id,
            courier_id=uuid.UUID(courier_id),
            shift_start=start,
            shift_end=start + timedelta(hours=8),
            start_lat=po.lat,
            start_lon=po.lon,
            end_lat=po.lat,
            end_lon=po.lon,
        )
        session.add(route)
        await session.flush()
        for i in range(n):
            appt = Appointment(
                citizen_id=who,
                post_office_id=off.org_id,
                province_code=po.province_code,
                commune_code=po.commune_code,
                kind=AppointmentKind(kind),
                start=start,
                end=start + timedelta(hours=2),
                cost_minutes=20,
                lat=po.lat,
                lon=po.lon,
                fees=dict(fees or FEES),
                booked_by_role="citizen",
                booked_by_id=who,
                procedure_id=proc.id,
            )
            session.add(appt)
            await session.flush()
            session.add(
                PlanStop(
                    plan_id=plan.id,
                    route_id=route.id,
                    seq=i + 1,
                    key=f"a{i}",
                    kind=kind,
                    appointment_id=appt.id,
                    lat=po.lat,
                    lon=po.lon,
                    planned_eta=start,
                    eta=start,
                    service_start=start,
                    departure=start,
                )
            )
            ids.append(appt.id)
        await session.commit()
    return ids


async def dossier_for(
    engine: AsyncEngine, appointment_id: uuid.UUID, agency_id: uuid.UUID, citizen_id: uuid.UUID
) -> uuid.UUID:
    """A dossier picked up at the visit, decided by the agency."""
    async with session_factory(engine)() as session:
        appt = await session.get(Appointment, appointment_id)
        assert appt is not None
        d = Dossier(
            item_id=s10.make("HS", random.randint(0, 10**8 - 1)),
            procedure_id=appt.procedure_id,
            citizen_id=citizen_id,
            channel="home_pickup",
            postal_pickup=True,
            status="at_post_office",
            custodian_kind="post_office",
            custodian_org_id=appt.post_office_id,
            post_office_id=appt.post_office_id,
            agency_id=agency_id,
            appointment_id=appointment_id,
        )
        session.add(d)
        await session.commit()
        return d.id


async def ledger_snapshot(engine: AsyncEngine) -> tuple[int, int, int]:
    """(transactions, lines, sum of all lines): a refusal must leave the first two unchanged, the third is 0."""
    async with session_factory(engine)() as session:
        txns = (await session.exec(select(func.count()).select_from(LedgerTxn))).one()
        lines = (await session.exec(select(func.count()).select_from(LedgerLine))).one()
        total = (await session.exec(select(func.coalesce(func.sum(LedgerLine.amount_vnd), 0)))).one()
    return int(txns), int(lines), int(total)


async def balance_of(engine: AsyncEngine, account: str) -> int:
    from backend.money.ledger import balance

    async with session_factory(engine)() as session:
        return await balance(session, account)
