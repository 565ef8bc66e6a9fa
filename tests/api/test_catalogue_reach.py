"""Catalogue edits reach the public reads at once (issue 23): a province's postal eligibility in the slot listing
as in booking (preview and booking agree), a procedure's fee in the next quote, deactivated organisations out
of listings, booking and routing, and (on PostgreSQL) a change made by another process."""

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from backend.custody.services.creation import default_desk
from backend.db import session_factory
from backend.lib import pgnotify
from schemas.base import utcnow
from schemas.catalogue import Procedure
from schemas.catalogue_edits import ProcedureEligibility
from schemas.orgs import Organisation
from schemas.pricing import ProcedureFee
from tests.api.test_booking_flow import PICKUP_CODE, place_of
from tests.api.test_catalogue_edits import BASIS, at, book, create, new_code
from tests.conftest import staff_headers

PO = 7  # read-only here: no booking of these tests succeeds at it


async def _slots(client: httpx.AsyncClient, lat: float, lon: float, **q: Any) -> httpx.Response:
    return await client.get("/api/v1/slots", params={"kind": "pickup", "lat": lat, "lon": lon, **q})


async def _eligibility(
    client: httpx.AsyncClient, admin: dict[str, str], code: str, province: str, pickup: bool, start: str
) -> None:
    body = {
        "province_code": province,
        "postal_pickup": pickup,
        "postal_return": True,
        "basis": BASIS,
        "effective_from": start,
    }
    r = await client.post(f"/api/v1/catalogue/procedures/{code}/eligibility", json=body, headers=admin)
    assert r.status_code == 201, r.text


async def test_slots_follow_the_provinces_postal_list_as_booking_does(
    client: httpx.AsyncClient, demo: Any
) -> None:
    admin = await staff_headers(client, "admin")
    code = new_code()
    await create(client, admin, code)
    lat, lon = place_of(demo, PO)
    province = demo.post_offices[PO].province_code
    r = await _slots(client, lat, lon, procedure=code)
    assert r.status_code == 200, r.text
    windows = [s["start"] for s in r.json()["items"] if s["remaining"] > 0]
    assert len(windows) >= 3

    # not by post in this province from now: the listing is the booking's 422, with the same code
    await _eligibility(client, admin, code, province, False, at(timedelta(0)))
    r = await _slots(client, lat, lon, procedure=code)
    assert r.status_code == 422 and r.json()["code"] == "procedure_not_postal", r.text
    assert r.json()["province"] == province
    r = await book(client, "+84920000030", lat, lon, windows[0], code)
    assert r.status_code == 422 and r.json()["code"] == "procedure_not_postal", r.text

    # allowed again a moment later, then not from a later window on: the listing offers none from then,
    # booking refuses that window
    await _eligibility(client, admin, code, province, True, at(timedelta(seconds=1)))
    await asyncio.sleep(1.2)
    cut = datetime.fromisoformat(windows[-1]) - timedelta(minutes=1)
    await _eligibility(client, admin, code, province, False, cut.isoformat())
    items = (await _slots(client, lat, lon, procedure=code)).json()["items"]
    late = [s for s in items if datetime.fromisoformat(s["start"]) >= cut]
    early = [s for s in items if s["start"] == windows[0]]
    assert late and all(s["remaining"] == 0 for s in late)
    assert early and early[0]["remaining"] > 0
    r = await book(client, "+84920000030", lat, lon, windows[-1], code)
    assert r.status_code == 422 and r.json()["code"] == "procedure_not_postal", r.text

    # a listing without a procedure, or for a delivery, is not the procedure's business
    assert (await _slots(client, lat, lon)).status_code == 200
    r = await client.get(
        "/api/v1/slots", params={"kind": "delivery", "lat": lat, "lon": lon, "procedure": code}
    )
    assert r.status_code == 200, r.text


async def _org(
    client: httpx.AsyncClient, admin: dict[str, str], kind: str, commune: Any, suffix: str = ""
) -> str:
    code = f"82-{kind[:2].upper()}-H" + uuid.uuid4().hex[:5].upper() + suffix
    body = {
        "code": code,
        "kind": kind,
        "name": "Đơn vị thử ngừng hoạt động",
        "commune_code": commune.code,
        "lat": commune.lat,
        "lon": commune.lon,
    }
    r = await client.post("/api/v1/catalogue/organisations", json=body, headers=admin)
    assert r.status_code == 201, r.text
    return code


async def _deactivate(client: httpx.AsyncClient, admin: dict[str, str], code: str) -> None:
    body = {"active": False, "basis": BASIS, "effective_from": at(timedelta(0))}
    r = await client.post(f"/api/v1/catalogue/organisations/{code}/changes", json=body, headers=admin)
    assert r.status_code == 201 and r.json()["applied_at"] is not None, r.text


async def _listed(client: httpx.AsyncClient, commune: str, code: str) -> bool:
    r = await client.get("/api/v1/organisations", params={"commune": commune, "limit": 100})
    assert r.status_code == 200, r.text
    return code in {o["code"] for o in r.json()["items"]}


async def test_a_deactivated_agency_or_desk_takes_no_new_dossier_and_keeps_its_own(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    admin = await staff_headers(client, "admin")
    desk = await staff_headers(client, "desk02")
    commune = demo.communes[-1]
    agency = await _org(client, admin, "agency", commune)
    assert await _listed(client, commune.code, agency)
    body = {"channel": "direct", "procedure": PICKUP_CODE, "citizen_phone": "+84920000032", "agency": agency}
    r = await client.post("/api/v1/dossiers", json=body, headers=desk)
    assert r.status_code == 201, r.text
    item = r.json()["item_id"]

    await _deactivate(client, admin, agency)
    assert not await _listed(client, commune.code, agency)  # the public listing: in service only
    r = await client.post("/api/v1/dossiers", json=body, headers=desk)
    assert r.status_code == 422 and r.json()["code"] == "unknown_org", r.text
    r = await client.get(f"/api/v1/dossiers/{item}", headers=desk)  # its dossier keeps working
    assert r.status_code == 200, r.text
    assert (await client.get(f"/api/v1/organisations/{agency}")).status_code == 200

    # routing of new dossiers: a provincial centre receives provincial dossiers while in service only
    centre = await _org(client, admin, "desk", commune, suffix="TTPVHCC")  # ranks before 82-TTPVHCC
    try:
        async with session_factory(engine)() as session:
            proc = (await session.exec(select(Procedure).where(Procedure.level == "province"))).first()
            assert proc is not None
            assert (await default_desk(session, proc, None)).code == centre
    finally:
        await _deactivate(client, admin, centre)
    async with session_factory(engine)() as session:
        assert (await default_desk(session, proc, None)).code == demo.provincial_desk.code


async def test_a_deactivated_post_office_is_offered_nowhere(client: httpx.AsyncClient, demo: Any) -> None:
    admin = await staff_headers(client, "admin")
    lender = demo.post_offices[2]
    served = list(demo.served[lender.id])
    code = next(c for c in served[1:-1] if c != lender.commune_code)
    commune = next(c for c in demo.communes if c.code == code)
    office = await _org(client, admin, "post_office", commune)
    area = {"communes": [code], "basis": BASIS, "effective_from": at(timedelta(0))}
    r = await client.put(f"/api/v1/catalogue/post-offices/{office}/service-area", json=area, headers=admin)
    assert r.status_code == 200, r.text
    try:
        r = await _slots(client, commune.lat, commune.lon)
        assert r.status_code == 200 and r.json()["post_office"]["code"] == office, r.text
        assert await _listed(client, code, office)
        await _deactivate(client, admin, office)
        # the very next reads: not listed, no windows, no booking at it
        assert not await _listed(client, code, office)
        r = await _slots(client, commune.lat, commune.lon)
        assert r.status_code == 422 and r.json()["code"] == "commune_not_served", r.text
        start = (utcnow() + timedelta(days=2)).isoformat()
        r = await book(client, "+84920000033", commune.lat, commune.lon, start, PICKUP_CODE)
        assert r.status_code == 422 and r.json()["code"] == "commune_not_served", r.text
    finally:
        back = {"communes": served, "basis": BASIS, "effective_from": at(timedelta(0))}
        r = await client.put(
            f"/api/v1/catalogue/post-offices/{lender.code}/service-area", json=back, headers=admin
        )
        assert r.status_code == 200, r.text
    r = await _slots(client, commune.lat, commune.lon)
    assert r.status_code == 200 and r.json()["post_office"]["code"] == lender.code


async def _until(check: Any, seconds: float = 5.0) -> Any:
    """``check()``'s last answer once truthy, polling for at most ``seconds``."""
    got = None
    for _ in range(int(seconds / 0.05)):
        got = await check()
        if got:
            break
        await asyncio.sleep(0.05)
    return got


async def test_changes_written_by_another_process_reach_the_next_reads(
    client: httpx.AsyncClient, demo: Any, engine: AsyncEngine
) -> None:
    """A fee changed through the API is in the very next quote. On PostgreSQL, rows written behind the app's
    back (another process: no app code runs here) reach quotes, checks and the served area through the tables'
    NOTIFY triggers; SQLite has no NOTIFY (the caches' TTLs bound it there, which this test does not wait for)."""
    admin = await staff_headers(client, "admin")
    code = new_code()
    await create(client, admin, code)
    lat, lon = place_of(demo, PO)
    province = demo.post_offices[PO].province_code

    async def charge() -> int:
        r = await _slots(client, lat, lon, procedure=code)
        return int(r.json()["fees"]["charge"]) if r.status_code == 200 else -1

    assert await charge() == 15000
    # through the API: the very next quote (both databases)
    fee = {"procedure_code": code, "fee_vnd": 0, "charge_vnd": 21000, "effective_from": at(timedelta(0))}
    r = await client.post("/api/v1/prices/procedure-fees", json={**fee, "basis": BASIS}, headers=admin)
    assert r.status_code == 201, r.text
    assert await charge() == 21000
    if engine.dialect.name != "postgresql":
        return
    db = str(engine.url)
    assert await _until(lambda: _true(pgnotify.listening(db)))
    async with session_factory(engine)() as session:
        session.add(
            ProcedureFee(
                procedure_code=code, fee_vnd=0, charge_vnd=27000, effective_from=utcnow(), basis=BASIS
            )
        )
        await session.commit()
    assert await _until(lambda: _eq(charge(), 27000))  # the fee: the next quote

    async with session_factory(engine)() as session:
        session.add(
            ProcedureEligibility(
                procedure_code=code,
                province_code=province,
                postal_pickup=False,
                postal_return=True,
                basis=BASIS,
                effective_from=utcnow(),
            )
        )
        await session.commit()
    assert await _until(lambda: _eq(charge(), -1))  # eligibility: the listing refuses, as booking does
    r = await _slots(client, lat, lon, procedure=code)
    assert r.status_code == 422 and r.json()["code"] == "procedure_not_postal"

    # a post office deactivated in the table only (its communes' links still there): offered nowhere
    lender = demo.post_offices[2]
    served = list(demo.served[lender.id])
    commune = next(
        c for c in demo.communes if c.code == next(x for x in served[1:-1] if x != lender.commune_code)
    )
    office = await _org(client, admin, "post_office", commune)
    area = {"communes": [commune.code], "basis": BASIS, "effective_from": at(timedelta(0))}
    r = await client.put(f"/api/v1/catalogue/post-offices/{office}/service-area", json=area, headers=admin)
    assert r.status_code == 200, r.text

    async def serving() -> str:
        r = await _slots(client, commune.lat, commune.lon)
        return str(r.json()["post_office"]["code"]) if r.status_code == 200 else str(r.json()["code"])

    try:
        assert await serving() == office
        async with session_factory(engine)() as session:
            org = (await session.exec(select(Organisation).where(Organisation.code == office))).one()
            org.active = False
            session.add(org)
            await session.commit()
        assert await _until(lambda: _eq(serving(), "commune_not_served"))
    finally:
        back = {"communes": served, "basis": BASIS, "effective_from": at(timedelta(0))}
        r = await client.put(
            f"/api/v1/catalogue/post-offices/{lender.code}/service-area", json=back, headers=admin
        )
        assert r.status_code == 200, r.text
    assert await serving() == lender.code


async def _true(value: Any) -> Any:
    return value


async def _eq(got: Any, want: Any) -> bool:
    return bool(await got == want)
