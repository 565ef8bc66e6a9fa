"""Couriers' shifts with effective dates (issue 23): a change from next week shows in next week's windows at once
and not in this week's, booking and planning read the same, cancelling puts it back, each change is an event;
on PostgreSQL a version written by another process reaches the listing through NOTIFY.

The test works at a post office of its own (made through the catalogue API) that serves, for the test's
length, one commune borrowed from demo office 1 (given back at the end)."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from backend.catalogue import editing_changes
from backend.db import session_factory
from backend.planning.problem_builder import couriers_on_shift
from schemas.base import utcnow
from schemas.catalogue_edits import CatalogueEvent
from schemas.courier_shifts import CourierShiftVersion
from schemas.orgs import Organisation
from schemas.vntime import to_vn, vn_date
from tests.api.test_booking_flow import PICKUP_CODE
from tests.api.test_catalogue_edits import BASIS, at
from tests.conftest import citizen_headers, staff_headers
from tests.support.listener import listener_up

LENDER = 1  # demo office lending a commune
MORNINGS = {str(d): [["07:30", "11:30"]] for d in range(1, 7)}
AFTERNOONS = {str(d): [["13:30", "17:00"]] for d in range(1, 6)}
PASSWORD = "mat-khau-ca-truc-1"


@dataclass
class Office:
    code: str
    lat: float
    lon: float
    courier_id: str
    courier: dict[str, str]  # headers
    dispatcher: dict[str, str]


async def _login(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    r = await client.post("/api/v1/auth/staff/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def _staff(client: httpx.AsyncClient, admin: dict[str, str], role: str, office: str) -> tuple[str, str]:
    name = f"h3-{role}-{uuid.uuid4().hex[:6]}"
    body = {"username": name, "full_name": "Nhân viên thử", "role": role, "organisation": office}
    r = await client.post("/api/v1/staff", json={**body, "password": PASSWORD}, headers=admin)
    assert r.status_code == 201, r.text
    return name, r.json()["id"]


@pytest_asyncio.fixture(loop_scope="session")
async def office(client: httpx.AsyncClient, demo: Any) -> AsyncIterator[Office]:
    admin = await staff_headers(client, "admin")
    lender = demo.post_offices[LENDER]
    served = list(demo.served[lender.id])
    assert len(served) >= 3
    code = next(c for c in served[1:-1] if c != lender.commune_code)
    commune = next(c for c in demo.communes if c.code == code)
    office = "82-BD-H" + uuid.uuid4().hex[:4].upper()
    body = {
        "code": office,
        "kind": "post_office",
        "name": "Bưu cục thử ca trực",
        "commune_code": code,
        "lat": commune.lat,
        "lon": commune.lon,
    }
    r = await client.post("/api/v1/catalogue/organisations", json=body, headers=admin)
    assert r.status_code == 201, r.text
    courier, courier_id = await _staff(client, admin, "courier", office)
    dispatcher, _ = await _staff(client, admin, "dispatcher", office)
    r = await client.put(f"/api/v1/couriers/{courier_id}/profile", json={"shifts": MORNINGS}, headers=admin)
    assert r.status_code == 200, r.text
    area = {"communes": [code], "basis": BASIS, "effective_from": at(timedelta(0))}
    r = await client.put(f"/api/v1/catalogue/post-offices/{office}/service-area", json=area, headers=admin)
    assert r.status_code == 200, r.text
    try:
        yield Office(
            office,
            commune.lat,
            commune.lon,
            courier_id,
            await _login(client, courier),
            await _login(client, dispatcher),
        )
    finally:
        back = {"communes": served, "basis": BASIS, "effective_from": at(timedelta(0))}
        r = await client.put(
            f"/api/v1/catalogue/post-offices/{lender.code}/service-area", json=back, headers=admin
        )
        assert r.status_code == 200, r.text
        r = await client.post(
            f"/api/v1/catalogue/organisations/{office}/changes",
            json={"active": False, "basis": BASIS, "effective_from": at(timedelta(0))},
            headers=admin,
        )
        assert r.status_code == 201, r.text


def _day(item: dict[str, Any]) -> date:
    return datetime.fromisoformat(item["start"]).date()


def _morning(item: dict[str, Any]) -> bool:
    return datetime.fromisoformat(item["start"]).hour < 12


async def _items(client: httpx.AsyncClient, o: Office) -> list[dict[str, Any]]:
    r = await client.get("/api/v1/slots", params={"kind": "pickup", "lat": o.lat, "lon": o.lon})
    assert r.status_code == 200, r.text
    assert r.json()["post_office"]["code"] == o.code
    return list(r.json()["items"])


def _pattern(items: list[dict[str, Any]], start: date) -> tuple[set[bool], set[bool]]:
    """Which halves of the day (True: morning) have room before ``start`` and from ``start`` on (weekdays)."""
    weekdays = [i for i in items if _day(i).isoweekday() <= 5]
    before = {_morning(i) for i in weekdays if _day(i) < start and i["remaining"] > 0}
    after = {_morning(i) for i in weekdays if _day(i) >= start and i["remaining"] > 0}
    return before, after


async def _shift_start(engine: AsyncEngine, code: str, day: date) -> str:
    async with session_factory(engine)() as session:
        org = (await session.exec(select(Organisation).where(Organisation.code == code))).one()
        (info,) = await couriers_on_shift(session, org, day)
    return to_vn(info.shift_start).strftime("%H:%M")


def _weekday_from(day: date) -> date:
    while day.isoweekday() > 5:
        day += timedelta(days=1)
    return day


async def test_shifts_from_next_week_change_next_weeks_windows_only(
    client: httpx.AsyncClient, engine: AsyncEngine, office: Office
) -> None:
    o = office
    admin = await staff_headers(client, "admin")
    url = f"/api/v1/couriers/{o.courier_id}/shift-versions"
    today = vn_date(utcnow())
    start = _weekday_from(today + timedelta(days=7))
    assert _pattern(await _items(client, o), start) == ({True}, {True})  # mornings only, both weeks

    r = await client.post(
        url,
        json={"effective_from": start.isoformat(), "shifts": AFTERNOONS, "basis": BASIS},
        headers=o.dispatcher,
    )
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "scheduled" and r.json()["applied_at"] is None
    # the very next read: next week afternoons, this week still mornings
    items = await _items(client, o)
    assert _pattern(items, start) == ({True}, {False})
    # the profile still shows the shifts in force today
    profile = (await client.get(f"/api/v1/couriers/{o.courier_id}/profile", headers=admin)).json()
    assert profile["shifts"] == MORNINGS
    # booking reads the same: an afternoon from the change's day has room, a morning none
    later = [i for i in items if _day(i) >= start and _day(i).isoweekday() <= 5]
    afternoon = next(i["start"] for i in later if not _morning(i))
    morning = next(i["start"] for i in later if _morning(i))
    h = await citizen_headers(client, "+84920000031")
    visit = {"kind": "pickup", "lat": o.lat, "lon": o.lon, "procedure": PICKUP_CODE}
    r = await client.post("/api/v1/appointments", json={**visit, "start": morning}, headers=h)
    assert r.status_code == 409 and r.json()["code"] == "window_full", r.text
    r = await client.post("/api/v1/appointments", json={**visit, "start": afternoon}, headers=h)
    assert r.status_code == 201, r.text
    # so does planning
    assert await _shift_start(engine, o.code, start) == "13:30"
    assert await _shift_start(engine, o.code, _weekday_from(today + timedelta(days=1))) == "07:30"

    # refusals, nothing stored
    body = {"effective_from": start.isoformat(), "shifts": MORNINGS}
    r = await client.post(url, json=body, headers=admin)
    assert r.status_code == 409 and r.json()["code"] == "catalogue_version_overlap"
    r = await client.post(
        url, json={**body, "effective_from": (today - timedelta(days=1)).isoformat()}, headers=admin
    )
    assert r.status_code == 422 and r.json()["code"] == "catalogue_version_in_past"
    r = await client.post(
        url,
        json={**body, "effective_from": (start + timedelta(days=1)).isoformat(), "shifts": {"9": []}},
        headers=admin,
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_shifts"
    r = await client.post(url, json={**body, "effective_from": "2099-01-05"}, headers=admin)
    assert r.status_code == 422 and r.json()["code"] == "date_out_of_range"  # years ahead
    assert (await client.post(url, json=body, headers=o.courier)).status_code == 403
    other = await staff_headers(client, "dispatcher01")
    assert (await client.post(url, json=body, headers=other)).status_code == 404
    assert (await client.get(url, headers=other)).status_code == 404
    listed = (await client.get(url, headers=o.courier)).json()
    assert [(i["effective_from"], i["status"]) for i in listed["items"]] == [(start.isoformat(), "scheduled")]

    # cancelled: next week is mornings again at once; cancelling again changes nothing
    r = await client.post(f"{url}/cancel", json={"effective_from": start.isoformat()}, headers=o.dispatcher)
    assert r.status_code == 200, r.text
    assert [i["status"] for i in r.json()["items"]] == ["cancelled"]
    assert _pattern(await _items(client, o), start) == ({True}, {True})
    r = await client.post(f"{url}/cancel", json={"effective_from": start.isoformat()}, headers=admin)
    assert r.status_code == 200 and r.json()["total"] == 1
    assert await _shift_start(engine, o.code, start) == "07:30"

    # from today: the profile's shifts at once, history that cannot be cancelled
    r = await client.post(
        url, json={"effective_from": today.isoformat(), "shifts": AFTERNOONS}, headers=admin
    )
    assert r.status_code == 201 and r.json()["status"] == "applied", r.text
    profile = (await client.get(f"/api/v1/couriers/{o.courier_id}/profile", headers=admin)).json()
    assert profile["shifts"] == AFTERNOONS
    assert _pattern(await _items(client, o), start) == ({False}, {False})
    r = await client.post(f"{url}/cancel", json={"effective_from": today.isoformat()}, headers=admin)
    assert r.status_code == 422 and r.json()["code"] == "catalogue_version_in_past"
    listed = (await client.get(url, headers=admin)).json()
    assert [i["status"] for i in listed["items"]] == ["applied", "cancelled"]

    async with session_factory(engine)() as session:
        events = (
            await session.exec(
                select(CatalogueEvent)
                .where(CatalogueEvent.type.startswith("courier_shifts_"))  # type: ignore[attr-defined]
                .where(CatalogueEvent.data["courier_id"].as_string() == o.courier_id)  # type: ignore[index]
            )
        ).all()
    assert sorted(e.type for e in events) == [
        "courier_shifts_applied",  # the one from today, by the service as its day had come
        "courier_shifts_cancelled",
        "courier_shifts_scheduled",
        "courier_shifts_scheduled",
    ]
    people = [e for e in events if e.type != "courier_shifts_applied"]
    assert all(
        e.actor_id and e.actor_role in ("admin", "dispatcher") and e.client_ip and e.at for e in people
    )
    (applied,) = [e for e in events if e.type == "courier_shifts_applied"]
    assert applied.actor_role == "system" and applied.actor_id is None and applied.at
    assert {e.province_code for e in events} == {"82"}


async def test_the_sweep_applies_a_due_version_with_its_event_in_one_transaction(
    client: httpx.AsyncClient, engine: AsyncEngine, office: Office
) -> None:
    """A version whose day has come (written here as another process would) is applied by the catalogue
    sweep's body (``editing_changes.apply_due``, then commit) with a ``courier_shifts_applied`` event: who (the
    system), when, where (the province); rolled back, neither the profile nor the event stays."""
    o = office
    admin = await staff_headers(client, "admin")
    courier = uuid.UUID(o.courier_id)
    factory = session_factory(engine)
    async with factory() as session:
        row = CourierShiftVersion(courier_id=courier, effective_from=vn_date(utcnow()), shifts=AFTERNOONS)
        session.add(row)
        await session.commit()
        version = str(row.id)

    def applied_events() -> Any:
        return select(CatalogueEvent).where(
            CatalogueEvent.type == "courier_shifts_applied",
            CatalogueEvent.data["version"].as_string() == version,  # type: ignore[index]
        )

    async with factory() as session:  # the sweep's body, rolled back: nothing of it stays
        assert await editing_changes.apply_due(session) >= 1
        assert len((await session.exec(applied_events())).all()) == 1
        await session.rollback()
    async with factory() as session:
        assert (await session.exec(applied_events())).all() == []
        assert (await session.get(CourierShiftVersion, uuid.UUID(version))).applied_at is None  # type: ignore[union-attr]

    before = utcnow()
    async with factory() as session:  # the sweep's body as ``editing_changes.run`` runs it
        await editing_changes.apply_due(session)
        await session.commit()
    async with factory() as session:
        (event,) = (await session.exec(applied_events())).all()
        assert (await session.get(CourierShiftVersion, uuid.UUID(version))).applied_at is not None  # type: ignore[union-attr]
    assert event.actor_role == "system" and event.actor_id is None and event.client_ip is None
    assert event.province_code == "82" and event.at >= before - timedelta(seconds=1)
    assert event.data == {
        "courier_id": o.courier_id,
        "from": vn_date(utcnow()).isoformat(),
        "version": version,
    }
    async with factory() as session:  # applied once: a second sweep writes nothing more
        await editing_changes.apply_due(session)
        await session.commit()
        assert len((await session.exec(applied_events())).all()) == 1
    profile = (await client.get(f"/api/v1/couriers/{o.courier_id}/profile", headers=admin)).json()
    assert profile["shifts"] == AFTERNOONS


async def test_a_version_written_by_another_process_reaches_the_listing(
    client: httpx.AsyncClient, engine: AsyncEngine, office: Office
) -> None:
    """PostgreSQL: the table's trigger NOTIFYs and every process drops its rosters (no app code ran here).
    SQLite has no NOTIFY: there the rosters' 10 s TTL bounds it, which this test does not wait for."""
    if engine.dialect.name != "postgresql":
        return
    await listener_up(engine)
    o = office
    start = _weekday_from(vn_date(utcnow()) + timedelta(days=8))
    assert _pattern(await _items(client, o), start) == ({True}, {True})
    async with session_factory(engine)() as session:
        session.add(
            CourierShiftVersion(courier_id=uuid.UUID(o.courier_id), effective_from=start, shifts=AFTERNOONS)
        )
        await session.commit()
    seen: tuple[set[bool], set[bool]] = (set(), set())
    for _ in range(100):
        seen = _pattern(await _items(client, o), start)
        if seen == ({True}, {False}):
            break
        await asyncio.sleep(0.05)
    assert seen == ({True}, {False})
